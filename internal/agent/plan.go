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
// observed of a task's containers it computes what to do next. It knows no
// client, runtime or clock; the task controller observes, calls plan, and
// carries the plan out (like the kubelet's computePodActions → SyncPod).

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
