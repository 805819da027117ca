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

package agent

import (
	"fmt"
	"slices"
	"time"

	ecsv1 "github.com/longshore-io/longshore/api/v1alpha1"
	lsruntime "github.com/longshore-io/longshore/internal/runtime"
)

// This file is the pure part of the task state machine: from what was
// observed of a task (observe.go) it computes one plan, taskActions, of
// what the sync (sync.go) carries out in a fixed order. It knows no
// client, runtime, file system or clock (like the kubelet's
// computePodActions → SyncPod).

// taskActions is the plan of one sync of one task. The sync carries it out
// in this order: finalizer, then either the stop (StopGroups, cleanup,
// finalizer release) or pull, network, restarts, creates, starts; then it
// reports the status in one write.
type taskActions struct {
	// Wait: nothing to do until the manager resolves the revision.
	Wait bool
	// Finish: the task is STOPPED; remove whatever it left on the host
	// (Cleanup) and let a deletion proceed.
	Finish  bool
	Cleanup bool
	// Stop, when set, stops the task with this stop code and reason (unless
	// one is recorded already); Fail makes it a failure (a Warning Event).
	Stop *stopDecision
	Fail bool
	// StopGroups are the containers to stop, group after group (the
	// containers of a group stop in parallel).
	StopGroups [][]string

	// AddFinalizer: add the agent's finalizer before allocating anything.
	AddFinalizer bool
	// Pull the images (once: pullStoppedAt marks them done).
	Pull bool
	// Restart are exited containers whose restart policy replaces them.
	Restart []restartAction
	// Create are the containers to create, with their attempt number.
	Create []createAction
	// Start are the containers to start once created.
	Start []string
	// Waiting are the containers that wait for a dependency.
	Waiting []string
	// RequeueAfter is when a startTimeout passes (0: none).
	RequeueAfter time.Duration
}

// restartAction replaces the exited attempt ID of container Name by
// attempt Next.
type restartAction struct {
	Name     string
	ID       string
	Next     int
	ExitCode int32
}

type createAction struct {
	Name    string
	Attempt int
}

// computeTaskActions decides what one sync does from what was observed.
func computeTaskActions(o *observation) taskActions {
	task := o.Task
	var a taskActions
	if task.Status.LastStatus == ecsv1.TaskStopped {
		a.Finish = true
		a.Cleanup = len(o.All) > 0 || o.TaskDir
		return a
	}
	if stopping(task) {
		// Who asked, and why: spec.stop (a Service's ServiceSchedulerInitiated),
		// else UserInitiated (StopTask, or the Task deleted).
		code, reason := task.RequestedStop()
		a.Stop = &stopDecision{Code: code, Reason: reason}
		a.StopGroups = stopGroups(o)
		return a
	}
	if o.RevErr != nil {
		if o.RevErr.wait {
			a.Wait = true
			return a
		}
		return stopPlan(o, ecsv1.StopCodeTaskFailedToStart, o.RevErr.Error())
	}
	a.AddFinalizer = !slices.Contains(task.Finalizers, ecsv1.FinalizerAgent)
	td := withFireLensDependencies(&o.Rev.Spec.TaskDefinition)
	defs := td.ContainerDefinitions

	// A container the runtime no longer has (host reboot, containerd state
	// wiped) is not silently re-created: the task stops; unless the agent
	// stopped between removing an exited attempt for its restart policy
	// and creating the next one: that one is created now.
	next := map[string]int{}
	for _, cs := range task.Status.Containers {
		if _, ok := o.Containers[cs.Name]; ok || cs.RuntimeID == "" {
			continue
		}
		if n, ok := o.Restarts[cs.Name]; ok {
			next[cs.Name] = n
			continue
		}
		return stopPlan(o, ecsv1.StopCodeInfrastructureHealth,
			fmt.Sprintf("Container %s (%s) disappeared from the container runtime (host or containerd restart)", cs.Name, cs.RuntimeID))
	}

	// The shared namespaces of pidMode/ipcMode task live in the holder.
	if msg := holderProblem(o, td); msg != "" {
		return stopPlan(o, ecsv1.StopCodeInfrastructureHealth, msg)
	}

	// The Cluster's security policy, before anything is pulled or created.
	// The scheduler checked it for the tasks it placed; a task bound by its
	// creator (ECS StartTask) meets it here first. A task that already
	// started is not stopped by a policy changed since.
	if task.Status.PullStartedAt == nil && o.Cluster != nil {
		if msg := policyViolation(o.Cluster, task, td); msg != "" {
			return stopPlan(o, ecsv1.StopCodeTaskFailedToStart, msg)
		}
	}
	a.Pull = task.Status.PullStoppedAt == nil

	// Restart what the restart policy restarts, create what is missing; the
	// plan of the starts sees them as created.
	projected := make(map[string]lsruntime.ContainerStatus, len(o.Containers))
	for name, c := range o.Containers {
		projected[name] = c
	}
	for i := range defs {
		d := &defs[i]
		c, ok := o.Containers[d.Name]
		if ok && restartDue(d, c, startedAt(task, d.Name), o.Now) {
			a.Restart = append(a.Restart, restartAction{Name: d.Name, ID: c.ID, Next: attempt(c) + 1, ExitCode: c.ExitCode})
			next[d.Name] = attempt(c) + 1
			ok = false
		}
		if !ok {
			a.Create = append(a.Create, createAction{Name: d.Name, Attempt: next[d.Name]})
			projected[d.Name] = lsruntime.ContainerStatus{State: lsruntime.StateCreated}
		}
	}
	since := o.ActivatingSince
	if since.IsZero() {
		since = o.Now
	}
	p := planStart(observedContainers(defs, projected, o.Health, o.StartFailed), since, o.Now)
	if p.Stop != nil {
		return stopPlan(o, p.Stop.Code, p.Stop.Reason)
	}
	a.Start, a.Waiting = p.Start, p.Waiting
	for _, name := range p.Waiting {
		if d := byNameDefs(defs)[name]; d.StartTimeout != nil {
			left := time.Duration(*d.StartTimeout)*time.Second - o.Now.Sub(since)
			a.RequeueAfter = max(left, time.Second)
			break
		}
	}
	return a
}

// stopPlan is the plan that stops the task for a failure.
func stopPlan(o *observation, code ecsv1.StopCode, reason string) taskActions {
	return taskActions{Stop: &stopDecision{Code: code, Reason: reason}, Fail: true, StopGroups: stopGroups(o)}
}

// stopGroups orders the task's containers for shutdown: containers the
// revision does not name (all, without a revision) first, then in reverse
// dependency order.
func stopGroups(o *observation) [][]string {
	var defs []ecsv1.ContainerDefinition
	if o.Rev != nil {
		defs = withFireLensDependencies(&o.Rev.Spec.TaskDefinition).ContainerDefinitions
	}
	byName := byNameDefs(defs)
	var unknown []string
	for name := range o.Containers {
		if byName[name] == nil {
			unknown = append(unknown, name)
		}
	}
	slices.Sort(unknown)
	groups := stopOrder(defs)
	if len(unknown) > 0 {
		groups = append([][]string{unknown}, groups...)
	}
	return groups
}

// restartDue applies a container's restartPolicy (ECS rules): an exited
// container is replaced when its exit code is not ignored and it ran at
// least restartAttemptPeriod (one restart per period at most; a container
// that exits sooner is not restarted).
func restartDue(d *ecsv1.ContainerDefinition, c lsruntime.ContainerStatus, started *time.Time, now time.Time) bool {
	rp := d.RestartPolicy
	if rp == nil || !rp.Enabled || c.State != lsruntime.StateStopped || slices.Contains(rp.IgnoredExitCodes, c.ExitCode) {
		return false
	}
	period := time.Duration(max(rp.RestartAttemptPeriod, 60)) * time.Second
	exited := c.ExitedAt
	if exited.IsZero() {
		exited = now
	}
	return started != nil && exited.Sub(*started) >= period
}

// startedAt is when the agent reported the container started.
func startedAt(task *ecsv1.Task, name string) *time.Time {
	for _, cs := range task.Status.Containers {
		if cs.Name == name && cs.StartedAt != nil {
			return &cs.StartedAt.Time
		}
	}
	return nil
}

// observedContainers pairs the definitions with what runs.
func observedContainers(defs []ecsv1.ContainerDefinition, conts map[string]lsruntime.ContainerStatus,
	health map[string]ecsv1.HealthStatus, startFailed map[string]string) []observed {
	out := make([]observed, 0, len(defs))
	for i := range defs {
		o := observed{Def: &defs[i], Health: ecsv1.HealthUnknown, StartFailed: startFailed[defs[i].Name]}
		if c, ok := conts[defs[i].Name]; ok {
			o.Exists, o.State, o.ExitCode, o.OOMKilled = true, c.State, c.ExitCode, c.OOMKilled
			if h, ok := health[c.ID]; ok {
				o.Health = h
			}
		}
		out = append(out, o)
	}
	return out
}

func byNameDefs(defs []ecsv1.ContainerDefinition) map[string]*ecsv1.ContainerDefinition {
	m := make(map[string]*ecsv1.ContainerDefinition, len(defs))
	for i := range defs {
		m[defs[i].Name] = &defs[i]
	}
	return m
}

// observed is one container of a task as the runtime and the health
// checkers see it.
type observed struct {
	Def *ecsv1.ContainerDefinition
	// Exists: the containerd container exists.
	Exists bool
	State  lsruntime.State
	// ExitCode and OOMKilled are valid when State is stopped.
	ExitCode  int32
	OOMKilled bool
	Health    ecsv1.HealthStatus
	// StartFailed is why a non-essential container could not start (its
	// process could not be created): it is done, never to run, and what
	// depends on it can never start.
	StartFailed string
}

func (o observed) started() bool {
	return o.StartFailed == "" && (o.State == lsruntime.StateRunning || o.State == lsruntime.StateStopped)
}

// startPlan is the outcome of planStart.
type startPlan struct {
	// Start are the containers whose dependencies are satisfied.
	Start []string
	// Waiting are the containers still waiting for a dependency.
	Waiting []string
	// Running is true when every container that should run has started and
	// the essential ones still run: the task is RUNNING.
	Running bool
	// Stop, when set, stops the task.
	Stop *stopDecision
	// Health is the task's health from its essential containers.
	Health ecsv1.HealthStatus
}

// stopDecision says why a task must stop.
type stopDecision struct {
	Code   ecsv1.StopCode
	Reason string
}

// planStart decides which containers to start, whether the task runs, and
// whether it must stop. waitingSince is when the task began starting
// containers (for startTimeout); now is the current time.
func planStart(cs []observed, waitingSince, now time.Time) startPlan {
	byName := make(map[string]observed, len(cs))
	for _, c := range cs {
		byName[c.Def.Name] = c
	}
	var p startPlan
	// An essential container that exited stops the task.
	for _, c := range cs {
		if c.Def.IsEssential() && c.State == lsruntime.StateStopped {
			reason := "Essential container in task exited"
			if c.OOMKilled {
				reason = "OutOfMemoryError: Container killed due to memory usage"
			}
			p.Stop = &stopDecision{Code: ecsv1.StopCodeEssentialContainerExited, Reason: reason}
			return p
		}
	}
	allStarted := true
	for _, c := range cs {
		if c.started() || c.StartFailed != "" {
			continue
		}
		allStarted = false
		ok, failed := dependenciesMet(c.Def, byName)
		if failed != "" {
			p.Stop = &stopDecision{Code: ecsv1.StopCodeTaskFailedToStart,
				Reason: fmt.Sprintf("CannotStartContainerError: container %s: %s", c.Def.Name, failed)}
			return p
		}
		if ok {
			p.Start = append(p.Start, c.Def.Name)
			continue
		}
		if c.Def.StartTimeout != nil && !waitingSince.IsZero() &&
			now.Sub(waitingSince) > time.Duration(*c.Def.StartTimeout)*time.Second {
			p.Stop = &stopDecision{Code: ecsv1.StopCodeTaskFailedToStart,
				Reason: fmt.Sprintf("CannotStartContainerError: container %s: dependencies not met within startTimeout (%ds)", c.Def.Name, *c.Def.StartTimeout)}
			return p
		}
		p.Waiting = append(p.Waiting, c.Def.Name)
	}
	p.Running = allStarted
	p.Health = taskHealth(cs)
	return p
}

// progress sums the containers up for the status: running when every
// container started (or, non-essential, could not start) and no essential
// one exited; waiting are those not started yet.
func progress(cs []observed) (running bool, waiting []string) {
	running = true
	for _, c := range cs {
		if c.Def.IsEssential() && c.State == lsruntime.StateStopped {
			running = false
		}
		if !c.started() && c.StartFailed == "" {
			running = false
			waiting = append(waiting, c.Def.Name)
		}
	}
	return running, waiting
}

// dependenciesMet reports whether c may start; failed explains a
// dependency that can never be met.
func dependenciesMet(def *ecsv1.ContainerDefinition, byName map[string]observed) (ok bool, failed string) {
	ok = true
	for _, d := range def.DependsOn {
		dep, found := byName[d.ContainerName]
		if !found {
			return false, fmt.Sprintf("dependsOn names unknown container %s", d.ContainerName)
		}
		if dep.StartFailed != "" {
			return false, fmt.Sprintf("dependency %s could not start (%s), condition %s cannot be met", dep.Def.Name, dep.StartFailed, d.Condition)
		}
		switch d.Condition {
		case ecsv1.DependencyStart:
			ok = ok && dep.started()
		case ecsv1.DependencyComplete:
			ok = ok && dep.State == lsruntime.StateStopped
		case ecsv1.DependencySuccess:
			if dep.State == lsruntime.StateStopped && dep.ExitCode != 0 {
				return false, fmt.Sprintf("dependency %s exited with code %d, condition SUCCESS needs 0", dep.Def.Name, dep.ExitCode)
			}
			ok = ok && dep.State == lsruntime.StateStopped
		case ecsv1.DependencyHealthy:
			if dep.State == lsruntime.StateStopped {
				return false, fmt.Sprintf("dependency %s exited before it became HEALTHY", dep.Def.Name)
			}
			ok = ok && dep.Health == ecsv1.HealthHealthy
		default:
			return false, fmt.Sprintf("unknown dependsOn condition %q", d.Condition)
		}
	}
	return ok, ""
}

// taskHealth rolls up the essential containers' health as ECS does: any
// UNHEALTHY makes the task UNHEALTHY; all essential containers with a
// health check HEALTHY make it HEALTHY; otherwise UNKNOWN.
func taskHealth(cs []observed) ecsv1.HealthStatus {
	checked := 0
	healthy := 0
	for _, c := range cs {
		if !c.Def.IsEssential() || c.Def.HealthCheck == nil {
			continue
		}
		checked++
		switch c.Health {
		case ecsv1.HealthUnhealthy:
			return ecsv1.HealthUnhealthy
		case ecsv1.HealthHealthy:
			healthy++
		}
	}
	if checked > 0 && healthy == checked {
		return ecsv1.HealthHealthy
	}
	return ecsv1.HealthUnknown
}

// stopOrder groups containers for shutdown, in reverse dependency order:
// a container stops only after every container that depends on it. The
// containers of one group stop in parallel.
func stopOrder(defs []ecsv1.ContainerDefinition) [][]string {
	dependents := map[string]int{} // how many not-yet-stopped containers depend on it
	for _, d := range defs {
		for _, dep := range d.DependsOn {
			dependents[dep.ContainerName]++
		}
	}
	done := map[string]bool{}
	var groups [][]string
	for len(done) < len(defs) {
		var group []string
		for _, d := range defs {
			if !done[d.Name] && dependents[d.Name] == 0 {
				group = append(group, d.Name)
			}
		}
		if len(group) == 0 {
			// A cycle (refused at admission): stop the rest together.
			for _, d := range defs {
				if !done[d.Name] {
					group = append(group, d.Name)
				}
			}
		}
		for _, name := range group {
			done[name] = true
			i := slices.IndexFunc(defs, func(d ecsv1.ContainerDefinition) bool { return d.Name == name })
			for _, dep := range defs[i].DependsOn {
				dependents[dep.ContainerName]--
			}
		}
		groups = append(groups, group)
	}
	return groups
}
