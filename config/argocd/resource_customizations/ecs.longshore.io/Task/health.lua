-- Argo CD health check of a Longshore Task (ecs.longshore.io/v1alpha1).
-- Healthy: RUNNING (and not unhealthy), or STOPPED as asked: it ran to
-- completion (its essential containers exited 0) or was stopped on
-- request. Degraded: STOPPED on a failure (it never starts again).
-- Progressing: being placed, starting, stopping, or RUNNING unhealthy.
-- The verdict is the one kstatus computes (Flux, kpt and cli-utils read the
-- same fields): status.observedGeneration, then the conditions Reconciling
-- (Progressing) and Stalled (Degraded), then Ready (Healthy when True,
-- Progressing otherwise). docs/operating.md, "GitOps health", has the table.
-- Argo CD runs it without the string library: concatenation only.
local hs = {}

local function conditionOf(conditionType)
  if obj.status == nil or obj.status.conditions == nil then
    return nil
  end
  for _, c in ipairs(obj.status.conditions) do
    if c.type == conditionType then
      return c
    end
  end
  return nil
end

local function messageOf(c)
  if c.message ~= nil and c.message ~= "" then
    return c.message
  end
  return c.reason
end

local function healthyMessage(ready)
  if obj.status.lastStatus == "RUNNING" then
    local msg = "Task is RUNNING"
    if obj.spec ~= nil and obj.spec.containerInstance ~= nil then
      msg = msg .. " on " .. obj.spec.containerInstance
    end
    if obj.status.healthStatus ~= nil then
      msg = msg .. ", health " .. obj.status.healthStatus
    end
    return msg
  end
  return messageOf(ready)
end

if obj.metadata.deletionTimestamp ~= nil then
  hs.status = "Progressing"
  hs.message = "Pending deletion"
  return hs
end
if obj.status == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for longshore-manager to report a status"
  return hs
end
local generation = obj.metadata.generation
local observed = obj.status.observedGeneration
if generation ~= nil and observed ~= nil and generation ~= observed then
  hs.status = "Progressing"
  hs.message = "Waiting for the status of generation " .. generation .. " (the status is of generation " .. observed .. ")"
  return hs
end
if obj.status.conditions ~= nil then
  for _, c in ipairs(obj.status.conditions) do
    if c.type == "Reconciling" and c.status == "True" then
      hs.status = "Progressing"
      hs.message = messageOf(c)
      return hs
    end
    if c.type == "Stalled" and c.status == "True" then
      hs.status = "Degraded"
      hs.message = messageOf(c)
      return hs
    end
  end
end
local ready = conditionOf("Ready")
if ready == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the Ready condition"
  return hs
end
if ready.status == "True" then
  hs.status = "Healthy"
  hs.message = healthyMessage(ready)
  return hs
end
hs.status = "Progressing"
hs.message = messageOf(ready)
return hs
