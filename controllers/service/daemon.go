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
	"context"
	"slices"

	"sigs.k8s.io/controller-runtime/pkg/client"

	ecsv1 "github.com/longshore-io/longshore/api/v1alpha1"
	"github.com/longshore-io/longshore/controllers/cluster"
	"github.com/longshore-io/longshore/internal/scheduler"
)

// computeEligible sets p.eligible to the instances a DAEMON service runs
// on: ACTIVE, agent connected, not being deleted, and matching the
// service's memberOf constraints and those of the primary's task
// definition. p.desired becomes their number.
func (p *pass) computeEligible(ctx context.Context) error {
	p.eligible = map[string]bool{}
	constraints := slices.Clone(p.svc.Spec.PlacementConstraints)
	if prim := p.primary(); prim != nil {
		ri, err := p.revision(ctx, prim.TaskDefinition)
		if err != nil {
			return err
		}
		constraints = append(constraints, ri.constraints...)
	}
	var exprs []scheduler.Expr
	for _, c := range constraints {
		if c.Type != ecsv1.PlacementConstraintMemberOf {
			continue // distinctInstance: a daemon runs one task per instance anyway
		}
		e, err := scheduler.ParseExpression(c.Expression)
		if err != nil {
			p.specProblem = err.Error()
			p.desired = 0
			return nil
		}
		exprs = append(exprs, e)
	}
	// runningTasksCount and task:group look at the other tasks of the
	// instance (not the service's own: its task would make the instance
	// ineligible for itself).
	running := map[string]int{}
	groups := map[string]map[string]int{}
	if len(exprs) > 0 {
		var tasks ecsv1.TaskList
		if err := p.r.Client.List(ctx, &tasks, client.MatchingFields{cluster.IndexTaskCluster: ecsv1.ClusterName(p.svc.Spec.Cluster)}); err != nil {
			return err
		}
		for i := range tasks.Items {
			t := &tasks.Items[i]
			if t.Spec.ContainerInstance == "" || t.Status.LastStatus == ecsv1.TaskStopped ||
				(t.Namespace == p.svc.Namespace && controllingService(t) == p.svc.Name) {
				continue
			}
			running[t.Spec.ContainerInstance]++
			if groups[t.Spec.ContainerInstance] == nil {
				groups[t.Spec.ContainerInstance] = map[string]int{}
			}
			groups[t.Spec.ContainerInstance][t.Status.Group]++
		}
	}
	for name, ci := range p.instances {
		if ci.DeletionTimestamp != nil || !ci.Status.Connected() ||
			(ci.Spec.State != ecsv1.ContainerInstanceActive && ci.Spec.State != "") {
			continue
		}
		in := &scheduler.Instance{Name: name, State: ci.Spec.State, Connected: true, Attributes: map[string]string{},
			RunningTasks: running[name], Groups: groups[name]}
		for _, a := range ci.Status.Attributes {
			in.Attributes[a.Name] = a.Value
		}
		for _, a := range ci.Spec.Attributes {
			in.Attributes[a.Name] = a.Value
		}
		ok := true
		for _, e := range exprs {
			if !e.Match(in) {
				ok = false
				break
			}
		}
		if ok {
			p.eligible[name] = true
		}
	}
	p.desired = int32(len(p.eligible))
	return nil
}

// planDaemon plans a DAEMON service: one task of the primary deployment on
// every eligible instance. Tasks on instances that are no longer eligible
// (DRAINING, attributes changed, deleted) stop; tasks on instances whose
// agent is disconnected are left to the cluster controller, which stops
// them when the instance is lost. A new deployment replaces the task of
// each instance in turn: the old task stops first (a daemon cannot run
// twice on an instance: ports, host paths), at most as many instances at
// once as minimumHealthyPercent allows (at least one; an instance is up
// while one of its tasks holds the minimum, see holdsMinimum), and the new
// task starts once the old one is STOPPED.
func (p *pass) planDaemon() {
	prim := p.primary()
	primFailed := prim == nil || prim.RolloutState == ecsv1.RolloutFailed
	if p.specProblem != "" && !p.deleting {
		return // a bad memberOf expression: change nothing until it is fixed
	}
	p.planCommon()

	busy := map[string]bool{} // instances with a task not STOPPED
	for _, ti := range p.tasks {
		if !ti.stopped {
			busy[ti.instance] = true
		}
	}
	byInstance := map[string][]*taskInfo{}
	for _, ti := range p.liveTasks() {
		reason := scalingReason(depOr(ti.dep, prim))
		switch {
		case p.deleting || ti.instance == "":
			p.stop(ti, ecsv1.StopCodeServiceSchedulerInitiated, reason)
		case !p.eligible[ti.instance]:
			ci := p.instances[ti.instance]
			if ci == nil || ci.DeletionTimestamp != nil || ci.Status.Connected() {
				p.log.Info("Stopping a daemon task on an instance that is no longer eligible", "task", ti.t.Name, "instance", ti.instance)
				p.stop(ti, ecsv1.StopCodeServiceSchedulerInitiated, reason)
			}
		default:
			byInstance[ti.instance] = append(byInstance[ti.instance], ti)
		}
	}
	if p.deleting {
		return
	}
	minHealthy, _ := bounds(p.desired, ecsv1.DeploymentConfiguration{MinimumHealthyPercent: p.svc.Spec.DeploymentConfiguration.MinimumHealthyPercent})
	maxDown := max(1, int(p.desired-minHealthy))
	down := 0
	instances := make([]string, 0, len(p.eligible))
	for name := range p.eligible {
		instances = append(instances, name)
		if !slices.ContainsFunc(byInstance[name], func(ti *taskInfo) bool { return p.holdsMinimum(ti, prim) }) {
			down++
		}
	}
	slices.Sort(instances)
	for _, name := range instances {
		var mine, old []*taskInfo
		for _, ti := range byInstance[name] {
			if prim != nil && ti.dep == prim.ID {
				mine = append(mine, ti)
			} else {
				old = append(old, ti)
			}
		}
		if len(mine) > 1 {
			// Keep one: healthy, then RUNNING, then the oldest.
			slices.SortStableFunc(mine, func(a, b *taskInfo) int {
				if a.healthy != b.healthy {
					return boolRank(a.healthy)
				}
				if a.running() != b.running() {
					return boolRank(a.running())
				}
				return a.t.CreationTimestamp.Compare(b.t.CreationTimestamp.Time)
			})
			for _, ti := range mine[1:] {
				p.stop(ti, ecsv1.StopCodeServiceSchedulerInitiated, scalingReason(prim.ID))
			}
			mine = mine[:1]
		}
		if len(mine) == 1 {
			if mine[0].healthy {
				for _, ti := range old {
					p.stop(ti, ecsv1.StopCodeServiceSchedulerInitiated, scalingReason(depOr(ti.dep, prim)))
				}
			}
			continue
		}
		if primFailed {
			continue
		}
		// Tasks that hold no minimum first: stopping them costs nothing.
		slices.SortStableFunc(old, func(a, b *taskInfo) int {
			if ha, hb := p.holdsMinimum(a, prim), p.holdsMinimum(b, prim); ha != hb {
				return boolRank(!ha)
			}
			return 0
		})
		for _, ti := range old {
			if p.holdsMinimum(ti, prim) {
				if down >= maxDown {
					break
				}
				down++
			}
			p.stop(ti, ecsv1.StopCodeServiceSchedulerInitiated, scalingReason(depOr(ti.dep, prim)))
		}
		if !busy[name] && !p.throttled(prim) {
			p.create(prim, name)
		}
	}
}

// boolRank sorts true first.
func boolRank(b bool) int {
	if b {
		return -1
	}
	return 1
}
