/*
Copyright 2026 The Longshore Authors.

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

package service

import (
	"cmp"
	"slices"
	"strings"

	ecsv1 "github.com/longshore-io/longshore/api/v1alpha1"
)

// bounds are the ECS deployment bounds for desired tasks: at least
// minimumHealthyPercent of them healthy (rounded up), at most
// maximumPercent of them RUNNING or PENDING (rounded down). When rounding
// leaves no room to replace a task (desired 1, minimum 50 %, maximum
// 150 %: 1 and 1), one task may be stopped before its replacement is
// healthy, as a Kubernetes Deployment does with maxUnavailable 0 and
// maxSurge 0.
func bounds(desired int32, cfg ecsv1.DeploymentConfiguration) (minHealthy, maxTasks int32) {
	minPct, maxPct := int64(100), int64(200)
	if cfg.MinimumHealthyPercent != nil {
		minPct = int64(*cfg.MinimumHealthyPercent)
	}
	if cfg.MaximumPercent != nil {
		maxPct = int64(*cfg.MaximumPercent)
	}
	d := int64(desired)
	minHealthy = int32((d*minPct + 99) / 100)
	maxTasks = int32(d * maxPct / 100)
	if desired > 0 && maxTasks <= minHealthy {
		minHealthy = maxTasks - 1
	}
	return minHealthy, maxTasks
}

// stopReq is a task to stop, with the stop code and reason it gets.
type stopReq struct {
	ti     *taskInfo
	code   ecsv1.StopCode
	reason string
}

// createReq is a task to start for a deployment, on an instance
// (DAEMON) or wherever the scheduler places it.
type createReq struct {
	deploymentID   string
	taskDefinition string
	instance       string
}

func (p *pass) stop(ti *taskInfo, code ecsv1.StopCode, reason string) {
	p.stops = append(p.stops, stopReq{ti: ti, code: code, reason: reason})
	ti.stopping = true
}

func (p *pass) create(d *ecsv1.Deployment, instance string) {
	p.creates = append(p.creates, createReq{deploymentID: d.ID, taskDefinition: d.TaskDefinition, instance: instance})
}

// liveTasks are the tasks that are neither STOPPED nor stopping.
func (p *pass) liveTasks() []*taskInfo {
	var out []*taskInfo
	for _, ti := range p.tasks {
		if ti.live() {
			out = append(out, ti)
		}
	}
	return out
}

// nonStopped counts the tasks not STOPPED: what maximumPercent bounds
// (tasks on their way down still hold their resources).
func (p *pass) nonStopped() int {
	n := 0
	for _, ti := range p.tasks {
		if !ti.stopped {
			n++
		}
	}
	return n
}

// planCommon completes interrupted stops and replaces unhealthy tasks.
func (p *pass) planCommon() {
	for _, ti := range p.tasks {
		if ti.finishStop {
			p.stops = append(p.stops, stopReq{ti: ti, code: ti.t.Status.StopCode, reason: ti.t.Status.StoppedReason})
		}
	}
	for _, ti := range p.liveTasks() {
		if ti.unhealthy {
			p.log.Info("Replacing a task that fails its health checks", "task", ti.t.Name)
			p.stop(ti, ecsv1.StopCodeServiceSchedulerInitiated, ecsv1.StoppedReasonFailedHealthChecks)
		}
	}
}

// planReplica plans a REPLICA service: the primary deployment keeps
// desiredCount tasks; tasks of older deployments, and primary tasks on
// DRAINING instances, are replaced. New tasks start while RUNNING plus
// PENDING stay within maximumPercent; replaced tasks stop while the tasks
// that hold the minimum (holdsMinimum) stay at or above
// minimumHealthyPercent. Scale in stops the primary's extra tasks in ECS
// order.
func (p *pass) planReplica() {
	prim := p.primary()
	desired := p.desired
	minHealthy, maxTasks := bounds(desired, p.svc.Spec.DeploymentConfiguration)
	total := p.nonStopped()
	p.planCommon()

	var primLive, replaceable []*taskInfo
	for _, ti := range p.liveTasks() {
		if prim != nil && ti.dep == prim.ID && !ti.draining {
			primLive = append(primLive, ti)
		} else {
			replaceable = append(replaceable, ti)
		}
	}
	sel := p.stopSelector()
	if excess := len(primLive) - int(desired); excess > 0 {
		// In ECS order, skipping the tasks protected from scale-in: those
		// that would have stopped, had they not been protected, hold the
		// scale in up if too few others are left.
		var kept []*taskInfo
		stopped := 0
		for _, ti := range sel.pick(primLive, len(primLive), p.liveTasks()) {
			if stopped == excess {
				break
			}
			if ti.t.Status.Protection.Protected(p.now) && !p.deleting {
				kept = append(kept, ti)
				continue
			}
			p.stop(ti, ecsv1.StopCodeServiceSchedulerInitiated, scalingReason(prim.ID))
			stopped++
		}
		for i := 0; stopped+i < excess && i < len(kept); i++ {
			p.keep(kept[i])
		}
		primLive = slices.DeleteFunc(primLive, func(ti *taskInfo) bool { return !ti.live() })
	}
	holding := int32(0)
	for _, ti := range p.liveTasks() {
		if p.holdsMinimum(ti, prim) {
			holding++
		}
	}
	primFailed := prim == nil || prim.RolloutState == ecsv1.RolloutFailed
	switch {
	case desired == 0 || p.deleting:
		for _, ti := range replaceable {
			if p.keep(ti) {
				continue
			}
			p.stop(ti, ecsv1.StopCodeServiceSchedulerInitiated, scalingReason(depOr(ti.dep, prim)))
		}
	case !primFailed:
		// A failed primary starts no task: the older deployments keep theirs.
		for _, ti := range sel.pick(replaceable, len(replaceable), p.liveTasks()) {
			if p.keep(ti) {
				continue // it holds the deployment up until its protection ends
			}
			if p.holdsMinimum(ti, prim) {
				if holding-1 < minHealthy {
					continue
				}
				holding--
			}
			p.stop(ti, ecsv1.StopCodeServiceSchedulerInitiated, scalingReason(depOr(ti.dep, prim)))
		}
	}
	p.protectionEvent()
	if primFailed || p.deleting {
		return
	}
	start := min(int(desired)-len(primLive), int(maxTasks)-total)
	if start > 0 && p.throttled(prim) {
		return
	}
	for range max(start, 0) {
		p.create(prim, "")
	}
}

// throttled tells whether the launch backoff of a failing deployment
// holds its next launch (and schedules the pass that launches it).
func (p *pass) throttled(prim *ecsv1.Deployment) bool {
	if d := p.r.launchDelay(p.key, prim.ID, p.now); d > 0 {
		p.log.V(1).Info("Deployment tasks keep failing: delaying the next launch", "deployment", prim.ID, "delay", d.String())
		p.requeueAfter(d)
		return true
	}
	return false
}

func depOr(id string, prim *ecsv1.Deployment) string {
	if id == "" && prim != nil {
		return prim.ID
	}
	return id
}

// stopSelector orders tasks for stopping.
type stopSelector struct {
	// fields to keep balanced, most important first: the attributes of
	// the service's spread strategies, then the instance.
	fields  []string
	valueOf func(ti *taskInfo, field string) string
	// rank of a deployment: older deployments stop first, but the tasks
	// of a FAILED deployment that a rollback replaces and of deployments
	// the status does not know (rank 0) before all.
	rank map[string]int
}

func (p *pass) stopSelector() *stopSelector {
	s := &stopSelector{rank: map[string]int{}}
	for _, st := range p.svc.Spec.PlacementStrategy {
		if st.Type != ecsv1.PlacementStrategySpread {
			continue
		}
		f := strings.TrimPrefix(st.Field, "attribute:")
		if f == "host" {
			f = "instanceId"
		}
		if !slices.Contains(s.fields, f) {
			s.fields = append(s.fields, f)
		}
	}
	if !slices.Contains(s.fields, "instanceId") {
		s.fields = append(s.fields, "instanceId")
	}
	s.valueOf = func(ti *taskInfo, field string) string {
		if field == "instanceId" {
			return ti.instance
		}
		return attribute(p.instances[ti.instance], field)
	}
	deps := slices.Clone(p.st.Deployments)
	slices.SortStableFunc(deps, func(a, b ecsv1.Deployment) int { return createdAt(&a).Compare(createdAt(&b).Time) })
	for i, d := range deps {
		s.rank[d.ID] = i + 1
		if d.RolloutState == ecsv1.RolloutFailed && d.Status != ecsv1.DeploymentPrimary {
			s.rank[d.ID] = 0 // what a rollback replaces goes first
		}
	}
	return s
}

// pick returns up to n of cands in the order ECS stops them: unplaced
// tasks first, then tasks not yet RUNNING, then unhealthy ones, then
// healthy ones; older deployments first (a FAILED one that a rollback
// replaces before all); then from the value (zone, …, instance) with the
// most tasks of the service among live, so that the spread stays
// balanced; then the newest task.
func (s *stopSelector) pick(cands []*taskInfo, n int, live []*taskInfo) []*taskInfo {
	if n <= 0 || len(cands) == 0 {
		return nil
	}
	counts := make([]map[string]int, len(s.fields))
	for f, field := range s.fields {
		counts[f] = map[string]int{}
		for _, ti := range live {
			counts[f][s.valueOf(ti, field)]++
		}
	}
	before := func(a, b *taskInfo) bool {
		if ca, cb := a.stopCategory(), b.stopCategory(); ca != cb {
			return ca < cb
		}
		if ra, rb := s.rank[a.dep], s.rank[b.dep]; ra != rb {
			return ra < rb
		}
		for f, field := range s.fields {
			if ca, cb := counts[f][s.valueOf(a, field)], counts[f][s.valueOf(b, field)]; ca != cb {
				return ca > cb
			}
		}
		if c := a.t.CreationTimestamp.Compare(b.t.CreationTimestamp.Time); c != 0 {
			return c > 0
		}
		return cmp.Compare(a.t.Name, b.t.Name) > 0
	}
	rest := slices.Clone(cands)
	out := make([]*taskInfo, 0, min(n, len(rest)))
	for len(out) < n && len(rest) > 0 {
		best := 0
		for i := 1; i < len(rest); i++ {
			if before(rest[i], rest[best]) {
				best = i
			}
		}
		c := rest[best]
		out = append(out, c)
		rest = slices.Delete(rest, best, best+1)
		for f, field := range s.fields {
			counts[f][s.valueOf(c, field)]--
		}
	}
	return out
}
