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
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	ecsv1 "github.com/longshore-io/longshore/api/v1alpha1"
	lsruntime "github.com/longshore-io/longshore/internal/runtime"
)

// observing builds an observation of task "t1" of revision web:1 with
// the given container definitions.
type observing struct{ o *observation }

func observe(defs ...ecsv1.ContainerDefinition) *observing {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	task := &ecsv1.Task{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "t1", UID: "u1"},
		Spec:   ecsv1.TaskSpec{TaskDefinition: "web:1", ContainerInstance: "inst", Cluster: "default"},
		Status: ecsv1.TaskStatus{LastStatus: ecsv1.TaskPending, TaskDefinitionRevision: "web:1"}}
	rev := &ecsv1.TaskDefinitionRevision{Spec: ecsv1.TaskDefinitionRevisionSpec{Family: "web", Revision: 1,
		TaskDefinition: ecsv1.TaskDefinitionSpec{NetworkMode: ecsv1.NetworkModeAWSVPC, ContainerDefinitions: defs}}}
	return &observing{o: &observation{Task: task, Rev: rev, Cluster: &ecsv1.Cluster{},
		Containers: map[string]lsruntime.ContainerStatus{}, Health: map[string]ecsv1.HealthStatus{}, Now: now}}
}

// started: the task pulled, has the agent's finalizer and began starting
// a minute ago.
func (b *observing) started() *observing {
	at := metav1.NewTime(b.o.Now.Add(-time.Minute))
	b.o.Task.Finalizers = []string{ecsv1.FinalizerAgent}
	b.o.Task.Status.PullStartedAt, b.o.Task.Status.PullStoppedAt = &at, &at
	b.o.Cluster = nil
	b.o.ActivatingSince = at.Time
	return b
}

// container adds attempt n of a container in state, reported started
// ranFor before now (exited now when stopped).
func (b *observing) container(name string, n int, state lsruntime.State, exit int32, ranFor time.Duration) *observing {
	id := lsruntime.ContainerID("u1", name, n)
	c := lsruntime.ContainerStatus{ID: id, State: state, ExitCode: exit,
		Labels: map[string]string{lsruntime.LabelContainer: name, lsruntime.LabelAttempt: strconv.Itoa(n)}}
	if state == lsruntime.StateStopped {
		c.ExitedAt = b.o.Now
	}
	b.o.Containers[name] = c
	b.o.All = append(b.o.All, c)
	at := metav1.NewTime(b.o.Now.Add(-ranFor))
	b.o.Task.Status.Containers = append(b.o.Task.Status.Containers, ecsv1.ContainerStatus{Name: name, RuntimeID: id, StartedAt: &at})
	return b
}

func (b *observing) with(f func(o *observation)) *observing { f(b.o); return b }

func ctr(name string, essential bool, deps ...string) ecsv1.ContainerDefinition {
	d := *def(name, essential, deps...)
	d.Image = name + ":1"
	return d
}

func TestComputeTaskActions(t *testing.T) {
	restarting := ctr("app", true)
	restarting.RestartPolicy = &ecsv1.RestartPolicy{Enabled: true, IgnoredExitCodes: []int32{0}, RestartAttemptPeriod: 60}
	timed := ctr("side", false, "app:HEALTHY")
	timed.StartTimeout = ptr.To[int32](120)
	oneGroup := [][]string{{"app"}}
	cases := map[string]struct {
		o    *observation
		want taskActions
	}{
		"a new task: finalizer, pull, create everything, start what has no dependency": {
			o: observe(ctr("app", true), ctr("side", false, "app:START")).o,
			want: taskActions{AddFinalizer: true, Pull: true,
				Create: []createAction{{Name: "app"}, {Name: "side"}}, Start: []string{"app"}, Waiting: []string{"side"}},
		},
		"a task whose first container runs: start the one that waited for it": {
			o:    observe(ctr("app", true), ctr("side", false, "app:START")).started().container("app", 0, running, 0, time.Second).o,
			want: taskActions{Create: []createAction{{Name: "side"}}, Start: []string{"side"}},
		},
		"a running task: nothing to do": {
			o:    observe(ctr("app", true)).started().container("app", 0, running, 0, time.Second).o,
			want: taskActions{},
		},
		"the manager has not resolved the revision: wait": {
			o:    observe(ctr("app", true)).with(func(o *observation) { o.Rev, o.RevErr = nil, &revisionError{wait: true, msg: "waiting"} }).o,
			want: taskActions{Wait: true},
		},
		"a revision that does not exist fails the task": {
			o: observe(ctr("app", true)).with(func(o *observation) {
				o.Rev, o.RevErr = nil, &revisionError{msg: "TaskDefinitionRevision web-1 not found"}
			}).o,
			want: taskActions{Stop: &stopDecision{Code: ecsv1.StopCodeTaskFailedToStart, Reason: "TaskDefinitionRevision web-1 not found"},
				Fail: true},
		},
		"the Cluster's policy refuses the task before anything is pulled": {
			o: observe(func() ecsv1.ContainerDefinition { d := ctr("app", true); d.Privileged = true; return d }()).o,
			want: taskActions{Stop: &stopDecision{Code: ecsv1.StopCodeTaskFailedToStart,
				Reason: "Cluster default refuses the task: Cluster security forbids privileged containers (security.allowPrivileged is false)"},
				Fail: true, StopGroups: oneGroup},
		},
		"deletion stops the task, dependents first": {
			o: observe(ctr("app", true), ctr("side", false, "app:START")).started().
				container("app", 0, running, 0, time.Second).container("side", 0, running, 0, time.Second).
				with(func(o *observation) { o.Task.DeletionTimestamp = &metav1.Time{Time: o.Now} }).o,
			want: taskActions{Stop: &stopDecision{Code: ecsv1.StopCodeUserInitiated, Reason: "Task stopped by user"},
				StopGroups: [][]string{{"side"}, {"app"}}},
		},
		"an essential container exited: the task stops": {
			o: observe(ctr("app", true)).started().container("app", 0, stopped, 1, time.Second).o,
			want: taskActions{Stop: &stopDecision{Code: ecsv1.StopCodeEssentialContainerExited, Reason: "Essential container in task exited"},
				Fail: true, StopGroups: oneGroup},
		},
		"a container vanished from the runtime: the task stops": {
			o: observe(ctr("app", true)).started().container("app", 0, running, 0, time.Second).
				with(func(o *observation) { delete(o.Containers, "app"); o.All = nil }).o,
			want: taskActions{Stop: &stopDecision{Code: ecsv1.StopCodeInfrastructureHealth,
				Reason: "Container app (" + lsruntime.ContainerID("u1", "app", 0) + ") disappeared from the container runtime (host or containerd restart)"},
				Fail: true, StopGroups: oneGroup},
		},
		"a recorded restart whose new attempt is missing: create and start it": {
			o: observe(ctr("app", true)).started().container("app", 0, running, 0, time.Second).
				with(func(o *observation) { delete(o.Containers, "app"); o.All = nil; o.Restarts = map[string]int{"app": 1} }).o,
			want: taskActions{Create: []createAction{{Name: "app", Attempt: 1}}, Start: []string{"app"}},
		},
		"the restart policy replaces a container that ran its restartAttemptPeriod": {
			o: observe(restarting).started().container("app", 0, stopped, 3, 2*time.Minute).o,
			want: taskActions{Restart: []restartAction{{Name: "app", ID: lsruntime.ContainerID("u1", "app", 0), Next: 1, ExitCode: 3}},
				Create: []createAction{{Name: "app", Attempt: 1}}, Start: []string{"app"}},
		},
		"the restart policy does not restart a container that exited sooner: the task stops": {
			o: observe(restarting).started().container("app", 0, stopped, 3, 10*time.Second).o,
			want: taskActions{Stop: &stopDecision{Code: ecsv1.StopCodeEssentialContainerExited, Reason: "Essential container in task exited"},
				Fail: true, StopGroups: oneGroup},
		},
		"the restart policy ignores an exit code: the task stops": {
			o: observe(restarting).started().container("app", 0, stopped, 0, 2*time.Minute).o,
			want: taskActions{Stop: &stopDecision{Code: ecsv1.StopCodeEssentialContainerExited, Reason: "Essential container in task exited"},
				Fail: true, StopGroups: oneGroup},
		},
		"waiting for a HEALTHY dependency: come back when startTimeout passes": {
			o:    observe(*withHealthCheck(ptr.To(ctr("app", true))), timed).started().container("app", 0, running, 0, time.Second).o,
			want: taskActions{Create: []createAction{{Name: "side"}}, Waiting: []string{"side"}, RequeueAfter: time.Minute},
		},
		"a HEALTHY dependency not met within startTimeout fails the task": {
			o: observe(*withHealthCheck(ptr.To(ctr("app", true))), timed).started().container("app", 0, running, 0, time.Second).
				with(func(o *observation) { o.ActivatingSince = o.Now.Add(-3 * time.Minute) }).o,
			want: taskActions{Stop: &stopDecision{Code: ecsv1.StopCodeTaskFailedToStart,
				Reason: "CannotStartContainerError: container side: dependencies not met within startTimeout (120s)"},
				Fail: true, StopGroups: [][]string{{"side"}, {"app"}}},
		},
		"STOPPED with leftovers: clean them up": {
			o: observe(ctr("app", true)).started().container("app", 0, stopped, 0, time.Second).
				with(func(o *observation) { o.Task.Status.LastStatus = ecsv1.TaskStopped }).o,
			want: taskActions{Finish: true, Cleanup: true},
		},
		"STOPPED and nothing left: only let a deletion proceed": {
			o: observe(ctr("app", true)).started().
				with(func(o *observation) { o.Task.Status.LastStatus = ecsv1.TaskStopped }).o,
			want: taskActions{Finish: true},
		},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			got := computeTaskActions(c.o)
			if diff := cmp.Diff(c.want, got, cmp.AllowUnexported(taskActions{})); diff != "" {
				t.Errorf("plan (-want +got):\n%s", diff)
			}
		})
	}
}
