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

// Package simagent is a simulated Longshore agent for control-plane tests:
// it registers a ContainerInstance (with the real registration code and a
// fake runtime), renews its Lease, and moves the Tasks bound to it the way
// the agent would (PENDING → RUNNING; STOPPED on request, releasing the
// finalizer). It can be silenced to simulate a lost instance.
package simagent

import (
	"context"
	"sync"
	"testing"
	"time"

	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	ecsv1 "github.com/longshore-io/longshore/api/v1alpha1"
	"github.com/longshore-io/longshore/internal/agent"
	lsruntime "github.com/longshore-io/longshore/internal/runtime"
)

// Options describe the simulated host.
type Options struct {
	Cluster          string
	AvailabilityZone string
	Cores            int
	MemoryMiB        int64
	// GPUs the simulated host registers.
	GPUs           int
	LeaseNamespace string
	// Poll is how often bound Tasks are looked at (default 100 ms).
	Poll time.Duration
	// Hold, when set, keeps tasks PENDING instead of moving them to RUNNING.
	Hold func(*ecsv1.Task) bool
	// Health, when set, is the healthStatus reported for a RUNNING task
	// (as the agent rolls up essential containers' health checks); unset,
	// RUNNING tasks report UNKNOWN.
	Health func(*ecsv1.Task) ecsv1.HealthStatus
	// Fail, when set and true for a task, stops the task right after it
	// reached RUNNING (on the next poll), as an essential container that
	// exits would: stopCode EssentialContainerExited.
	Fail func(*ecsv1.Task) bool
	// Complete, when set and true for a task, stops the task right after
	// it reached RUNNING as a one-off job that ran to completion: every
	// container of its revision exits 0 (stopCode EssentialContainerExited).
	Complete func(*ecsv1.Task) bool
}

// Agent is one simulated instance.
type Agent struct {
	Name   string
	c      client.Client
	opts   Options
	mu     sync.Mutex
	paused bool
	cancel context.CancelFunc
	done   chan struct{}
}

// Start registers the instance and runs the heartbeat and the task loop
// until Stop.
func Start(ctx context.Context, c client.Client, name string, opts Options) (*Agent, error) {
	if opts.Cluster == "" {
		opts.Cluster = ecsv1.DefaultClusterName
	}
	if opts.Cores == 0 {
		opts.Cores = 2
	}
	if opts.MemoryMiB == 0 {
		opts.MemoryMiB = 4096
	}
	if opts.LeaseNamespace == "" {
		opts.LeaseNamespace = "longshore-system"
	}
	if opts.Poll == 0 {
		opts.Poll = 100 * time.Millisecond
	}
	reg := &agent.Registrar{Client: c, Runtime: &lsruntime.Fake{VersionStr: "containerd sim"}, Clock: clock.RealClock{},
		Host: agent.HostInfo{Hostname: name, CPUCores: opts.Cores, MemoryMiB: opts.MemoryMiB, OS: "linux", Arch: "x86_64",
			GPUs: make([]string, opts.GPUs)},
		Config: agent.Config{InstanceName: name, Cluster: opts.Cluster, AvailabilityZone: opts.AvailabilityZone}}
	if err := reg.Register(ctx); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	a := &Agent{Name: name, c: c, opts: opts, cancel: cancel, done: make(chan struct{})}
	hb := &agent.Heartbeat{Client: c, Namespace: opts.LeaseNamespace, InstanceName: name,
		Interval: 500 * time.Millisecond, Duration: 5 * time.Second, Clock: clock.RealClock{}}
	if err := hb.Renew(ctx); err != nil {
		cancel()
		return nil, err
	}
	go a.loop(ctx, hb)
	return a, nil
}

// Pause stops heartbeats and task handling, as a dead agent would.
func (a *Agent) Pause() { a.mu.Lock(); a.paused = true; a.mu.Unlock() }

// Resume undoes Pause.
func (a *Agent) Resume() { a.mu.Lock(); a.paused = false; a.mu.Unlock() }

// Stop ends the simulation.
func (a *Agent) Stop() { a.cancel(); <-a.done }

func (a *Agent) loop(ctx context.Context, hb *agent.Heartbeat) {
	defer close(a.done)
	t := time.NewTicker(a.opts.Poll)
	defer t.Stop()
	lastBeat := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		a.mu.Lock()
		paused := a.paused
		a.mu.Unlock()
		if paused {
			continue
		}
		if time.Since(lastBeat) >= 500*time.Millisecond {
			_ = hb.Renew(ctx)
			lastBeat = time.Now()
		}
		a.syncTasks(ctx)
	}
}

func (a *Agent) syncTasks(ctx context.Context) {
	var tasks ecsv1.TaskList
	if err := a.c.List(ctx, &tasks, client.MatchingFieldsSelector{Selector: fields.OneTermEqualSelector("spec.containerInstance", a.Name)}); err != nil {
		return
	}
	for i := range tasks.Items {
		t := &tasks.Items[i]
		a.syncTask(ctx, t)
	}
}

func (a *Agent) syncTask(ctx context.Context, t *ecsv1.Task) {
	now := metav1.Now()
	st := t.Status.DeepCopy()
	stop := t.DeletionTimestamp != nil || t.Spec.DesiredStatus == ecsv1.DesiredStopped
	switch {
	case st.LastStatus == ecsv1.TaskStopped:
	case stop:
		code, reason := t.RequestedStop()
		st.MarkStopped(code, reason, now)
	case st.LastStatus == ecsv1.TaskRunning && a.opts.Fail != nil && a.opts.Fail(t):
		st.LastStatus = ecsv1.TaskStopped
		if st.StopCode == "" {
			st.StopCode, st.StoppedReason = ecsv1.StopCodeEssentialContainerExited, "Essential container in task exited"
		}
		st.ExecutionStoppedAt, st.StoppingAt, st.StoppedAt = &now, &now, &now
	case st.LastStatus == ecsv1.TaskRunning && a.opts.Complete != nil && a.opts.Complete(t):
		rev := &ecsv1.TaskDefinitionRevision{}
		ref, err := ecsv1.ParseTaskDefinitionRef(st.TaskDefinitionRevision)
		if err != nil || a.c.Get(ctx, client.ObjectKey{Namespace: t.Namespace, Name: ref.RevisionName()}, rev) != nil {
			return
		}
		st.Containers = nil
		for _, d := range rev.Spec.TaskDefinition.ContainerDefinitions {
			st.Containers = append(st.Containers, ecsv1.ContainerStatus{Name: d.Name, LastStatus: ecsv1.ContainerStopped,
				ExitCode: new(int32), FinishedAt: &now})
		}
		st.LastStatus = ecsv1.TaskStopped
		st.StopCode, st.StoppedReason = ecsv1.StopCodeEssentialContainerExited, "Essential container in task exited"
		st.ExecutionStoppedAt, st.StoppingAt, st.StoppedAt = &now, &now, &now
	case st.LastStatus == ecsv1.TaskRunning && a.opts.Health != nil:
		st.HealthStatus = a.opts.Health(t)
		ready := metav1.Condition{Type: ecsv1.ConditionReady, Status: metav1.ConditionTrue, Reason: ecsv1.ReasonRunning,
			Message: "Every container started", ObservedGeneration: t.Generation}
		if st.HealthStatus == ecsv1.HealthUnhealthy {
			ready.Status, ready.Reason, ready.Message = metav1.ConditionFalse, ecsv1.ReasonUnhealthy, "An essential container failed its health check"
		}
		apimeta.SetStatusCondition(&st.Conditions, ready)
	case ecsv1.PhaseIndex(st.LastStatus) >= ecsv1.PhaseIndex(ecsv1.TaskPending) && st.LastStatus != ecsv1.TaskRunning:
		if a.opts.Hold != nil && a.opts.Hold(t) {
			break
		}
		st.LastStatus = ecsv1.TaskRunning
		st.StartedAt = &now
		st.HealthStatus = ecsv1.HealthUnknown
		apimeta.SetStatusCondition(&st.Conditions, metav1.Condition{Type: ecsv1.ConditionReady, Status: metav1.ConditionTrue,
			Reason: ecsv1.ReasonRunning, Message: "Every container started", ObservedGeneration: t.Generation})
	}
	// As the agent does (one writer of a bound task's status): the
	// lifecycle conditions and observedGeneration with every write.
	ecsv1.SetTaskConditions(t, st, nil, now.Time)
	st.ObservedGeneration = t.Generation
	if !equality(st, &t.Status) {
		patch := client.MergeFromWithOptions(t.DeepCopy(), client.MergeFromWithOptimisticLock{})
		t.Status = *st
		if err := a.c.Status().Patch(ctx, t, patch); err != nil {
			return
		}
	}
	if t.Status.LastStatus == ecsv1.TaskStopped && t.DeletionTimestamp != nil && controllerutil.ContainsFinalizer(t, ecsv1.FinalizerAgent) {
		patch := client.MergeFrom(t.DeepCopy())
		controllerutil.RemoveFinalizer(t, ecsv1.FinalizerAgent)
		_ = a.c.Patch(ctx, t, patch)
	}
}

func equality(a, b *ecsv1.TaskStatus) bool { return apiequality.Semantic.DeepEqual(a, b) }

// ForTest starts a simulated agent for one test and stops it when the test
// ends.
func ForTest(t *testing.T, c client.Client, name string, opts Options) *Agent {
	t.Helper()
	a, err := Start(t.Context(), c, name, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Stop)
	return a
}
