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
*/package agent

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ecsv1 "github.com/longshore-io/longshore/api/v1alpha1"
	"github.com/longshore-io/longshore/internal/kube"
	lsruntime "github.com/longshore-io/longshore/internal/runtime"
)

// This file turns what a sync observed and did into the Task's status,
// written once at the end of the sync (and once more before a stop that
// waits for running containers), and into Events.

// now is the time to record, at the second precision the API server
// keeps: a status rebuilt from the same facts then equals the one written,
// and is not written again.
func (t *taskSync) now() *metav1.Time {
	n := metav1.NewTime(t.r.Clock.Now()).Rfc3339Copy()
	return &n
}

// advance moves lastStatus forward (never backwards).
func (t *taskSync) advance(p ecsv1.TaskStatusPhase) {
	if ecsv1.PhaseIndex(p) > ecsv1.PhaseIndex(t.status.LastStatus) {
		t.status.LastStatus = p
	}
}

func (t *taskSync) setStopReason(code ecsv1.StopCode, reason string) {
	if t.status.StopCode == "" {
		t.status.StopCode = code
		t.status.StoppedReason = reason
	}
}

func (r *TaskReconciler) event(task *ecsv1.Task, typ, reason, msg string) {
	if r.Recorder != nil {
		r.Recorder.Eventf(task, nil, typ, reason, "Run", "%s", msg)
	}
}

// markStarted records a container's start time.
func (t *taskSync) markStarted(name string) {
	for i := range t.status.Containers {
		if t.status.Containers[i].Name == name {
			t.status.Containers[i].StartedAt = t.now()
			return
		}
	}
	t.status.Containers = append(t.status.Containers, ecsv1.ContainerStatus{Name: name, StartedAt: t.now()})
}

// reportContainers rebuilds status.containers from the observation,
// keeping the times the agent recorded.
func (t *taskSync) reportContainers(o *observation) {
	var defs map[string]*ecsv1.ContainerDefinition
	var names []string
	if o.Rev != nil {
		defs = byNameDefs(o.Rev.Spec.TaskDefinition.ContainerDefinitions)
		for _, d := range o.Rev.Spec.TaskDefinition.ContainerDefinitions {
			names = append(names, d.Name)
		}
	} else {
		for n := range o.Containers {
			names = append(names, n)
		}
	}
	prev := map[string]ecsv1.ContainerStatus{}
	for _, c := range t.status.Containers {
		prev[c.Name] = c
	}
	out := make([]ecsv1.ContainerStatus, 0, len(names))
	for _, name := range names {
		cs := prev[name]
		cs.Name = name
		if cs.LastStatus == "" {
			cs.LastStatus = ecsv1.ContainerPending
		}
		if c, ok := o.Containers[name]; ok {
			cs.RuntimeID = c.ID
			cs.ImageDigest = c.ImageDigest
			cs.RestartCount = int32(attempt(c))
			switch c.State {
			case lsruntime.StateRunning:
				cs.LastStatus = ecsv1.ContainerRunning
				if cs.StartedAt == nil {
					cs.StartedAt = t.now()
				}
			case lsruntime.StateStopped:
				cs.LastStatus = ecsv1.ContainerStopped
				code := c.ExitCode
				cs.ExitCode = &code
				if !c.ExitedAt.IsZero() {
					at := metav1.NewTime(c.ExitedAt).Rfc3339Copy()
					cs.FinishedAt = &at
				} else if cs.FinishedAt == nil {
					cs.FinishedAt = t.now()
				}
				switch {
				case c.OOMKilled:
					cs.Reason = "OutOfMemoryError: Container killed due to memory usage"
				case cs.Reason == "" && code != 0:
					cs.Reason = fmt.Sprintf("Exited with code %d", code)
				}
			}
			if d := defs[name]; d != nil && d.HealthCheck != nil && c.State == lsruntime.StateRunning {
				cs.HealthStatus = o.Health[c.ID]
				if cs.HealthStatus == "" {
					cs.HealthStatus = ecsv1.HealthUnknown
				}
			}
		} else if ecsv1.PhaseIndex(t.status.LastStatus) >= ecsv1.PhaseIndex(ecsv1.TaskDeactivating) {
			cs.LastStatus = ecsv1.ContainerStopped
		}
		if why := o.StartFailed[name]; why != "" {
			cs.LastStatus, cs.Reason, cs.ExitCode = ecsv1.ContainerStopped, why, nil
		}
		out = append(out, cs)
	}
	t.status.Containers = out
}

// reportRunning reports a task on its way up or running: its containers
// and their ports, its health, RUNNING once every container started, and
// the Ready condition.
func (t *taskSync) reportRunning(o *observation, bindings map[string][]ecsv1.NetworkBinding) {
	task := t.task
	defs := withFireLensDependencies(&o.Rev.Spec.TaskDefinition).ContainerDefinitions
	t.reportContainers(o)
	for i := range t.status.Containers {
		if b, ok := bindings[t.status.Containers[i].Name]; ok {
			t.status.Containers[i].NetworkBindings = b
		}
	}
	cs := observedContainers(defs, o.Containers, o.Health, o.StartFailed)
	running, waiting := progress(cs)
	health := taskHealth(cs)
	t.status.HealthStatus = health
	if running {
		if t.status.LastStatus != ecsv1.TaskRunning {
			t.r.event(task, corev1.EventTypeNormal, "Running", "Task is running")
			t.log.Info("Task running", append(t.steps, "sync", time.Since(t.began).Round(10*time.Microsecond).String())...)
		}
		t.advance(ecsv1.TaskRunning)
		if t.status.StartedAt == nil {
			t.status.StartedAt = t.now()
		}
	}
	ready := metav1.Condition{Type: ecsv1.ConditionReady, Status: metav1.ConditionFalse, Reason: string(t.status.LastStatus),
		Message: "Waiting for containers: " + strings.Join(waiting, ", "), ObservedGeneration: task.Generation}
	if running {
		ready.Status, ready.Reason, ready.Message = metav1.ConditionTrue, ecsv1.ReasonRunning, "Every container started"
		if health == ecsv1.HealthUnhealthy {
			ready.Status, ready.Reason, ready.Message = metav1.ConditionFalse, ecsv1.ReasonUnhealthy, "An essential container failed its health check"
		}
	}
	apimeta.SetStatusCondition(&t.status.Conditions, ready)
}

// essential tells which containers of the task are essential, from its
// revision; nil (every container counts) when the revision is unknown.
func (t *taskSync) essential() func(string) bool {
	if t.obs == nil || t.obs.Rev == nil {
		return nil
	}
	defs := byNameDefs(t.obs.Rev.Spec.TaskDefinition.ContainerDefinitions)
	return func(name string) bool {
		d := defs[name]
		return d == nil || d.IsEssential()
	}
}

// patchStatus writes the status if it changed, with optimistic locking,
// after the lifecycle conditions (Reconciling, Stalled, and Ready once
// STOPPED: ecsv1.SetTaskConditions) and observedGeneration.
func (t *taskSync) patchStatus(ctx context.Context) error {
	ecsv1.SetTaskConditions(t.task, t.status, t.essential(), t.r.Clock.Now())
	t.status.ObservedGeneration = t.task.Generation
	updated := t.task.DeepCopy()
	updated.Status = *t.status.DeepCopy()
	if wrote, err := kube.PatchStatus(ctx, t.r.Client, t.task, updated); err != nil || !wrote {
		return err
	}
	t.r.wrote(updated)
	t.task = updated
	t.status = updated.Status.DeepCopy()
	return nil
}

// writtenVersion is the resourceVersion of a write of the agent.
type writtenVersion struct {
	uid types.UID
	rv  uint64
}

// wrote remembers the resourceVersion of a write of the agent.
func (r *TaskReconciler) wrote(task *ecsv1.Task) {
	if rv, err := strconv.ParseUint(task.ResourceVersion, 10, 64); err == nil {
		r.written.Store(client.ObjectKeyFromObject(task), writtenVersion{uid: task.UID, rv: rv})
	}
}

// staleCache tells whether the cache's copy of task is older than the
// agent's last write of it. resourceVersions are opaque in general; the
// API server's are etcd revisions, and one that is not a number is never
// taken for stale.
func (r *TaskReconciler) staleCache(task *ecsv1.Task) bool {
	v, ok := r.written.Load(client.ObjectKeyFromObject(task))
	if !ok || v.(writtenVersion).uid != task.UID {
		return false
	}
	rv, err := strconv.ParseUint(task.ResourceVersion, 10, 64)
	return err == nil && rv < v.(writtenVersion).rv
}
