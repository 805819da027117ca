-- Argo CD health check of a Longshore ContainerInstance (ecs.longshore.io/v1alpha1).
-- Healthy: the agent renews its lease and the instance is ACTIVE, or
-- DRAINING with no task left. Degraded: lost (its agent gone past the
-- instance-lost timeout; its tasks were stopped). Progressing: draining,
-- or the agent disconnected within the timeout.
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
