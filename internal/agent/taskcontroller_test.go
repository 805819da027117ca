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
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clocktesting "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	ecsv1 "github.com/longshore-io/longshore/api/v1alpha1"
	"github.com/longshore-io/longshore/internal/kube"
	"github.com/longshore-io/longshore/internal/network"
	lsruntime "github.com/longshore-io/longshore/internal/runtime"
)

// TestTaskLifecycleWithFakes drives the task reconciler with the fake
// runtime and network: start in dependsOn order, essential exit, reverse
// order stop, cleanup, finalizer. No root, no containerd.
func TestTaskLifecycleWithFakes(t *testing.T) {
	ctx := t.Context()
	f := newWithFakes(t, ecsv1.TaskDefinitionSpec{NetworkMode: ecsv1.NetworkModeAWSVPC, CPU: "512", Memory: "256",
		ContainerDefinitions: []ecsv1.ContainerDefinition{
			{Name: "app", Image: "app:1", Essential: ptr.To(true), StopTimeout: ptr.To[int32](7)},
			{Name: "side", Image: "side:1", Essential: ptr.To(false),
				DependsOn: []ecsv1.ContainerDependency{{ContainerName: "app", Condition: ecsv1.DependencyStart}}},
		}}, nil)
	c, rt, netw, cg, task, get, reconcile := f.c, f.rt, f.netw, f.cg, f.task, f.get, f.reconcile
	appID := lsruntime.ContainerID(string(task.UID), "app", 0)
	sideID := lsruntime.ContainerID(string(task.UID), "side", 0)

	// First pass: pull, network, create both, start app only (side waits for START).
	reconcile()
	got := get()
	if !slices.Contains(got.Finalizers, ecsv1.FinalizerAgent) {
		t.Error("no agent finalizer")
	}
	calls := rt.Calls()
	if !slices.Contains(calls, "Start "+appID) || slices.Contains(calls, "Start "+sideID) {
		t.Errorf("first pass calls %v: want app started, side not yet", calls)
	}
	if got.Status.LastStatus != ecsv1.TaskActivating {
		t.Errorf("lastStatus %s, want ACTIVATING while side waits", got.Status.LastStatus)
	}
	if len(got.Status.Attachments) != 1 || got.Status.Attachments[0].Details.IPv4Address == "" {
		t.Errorf("attachments %+v", got.Status.Attachments)
	}
	if len(cg.ensured) != 1 || !strings.HasPrefix(cg.ensured[0], "/longshore/") {
		t.Errorf("task cgroup %v", cg.ensured)
	}
	spec, _ := rt.Spec(appID)
	if spec.NetNSPath == "" || spec.CgroupParent != cg.ensured[0] {
		t.Errorf("app spec netns %q cgroup %q", spec.NetNSPath, spec.CgroupParent)
	}

	// Second pass: side starts; the task runs.
	reconcile()
	got = get()
	if got.Status.LastStatus != ecsv1.TaskRunning || got.Status.StartedAt == nil {
		t.Fatalf("lastStatus %s, want RUNNING", got.Status.LastStatus)
	}

	// The essential container exits: the task stops, side first.
	rt.Exit(appID, 2)
	reconcile()
	got = get()
	if got.Status.LastStatus != ecsv1.TaskStopped || got.Status.StopCode != ecsv1.StopCodeEssentialContainerExited {
		t.Fatalf("lastStatus %s stopCode %s", got.Status.LastStatus, got.Status.StopCode)
	}
	calls = rt.Calls()
	iSide, iApp := slices.Index(calls, "Stop "+sideID+" terminated 30s"), slices.Index(calls, "Stop "+appID+" terminated 7s")
	if iSide < 0 || iApp < 0 || iSide > iApp {
		t.Errorf("stop calls %v: want side (30s) before app (7s stopTimeout)", calls)
	}
	if !slices.Contains(calls, "Delete "+appID) || !slices.Contains(calls, "Delete "+sideID) {
		t.Errorf("containers not deleted: %v", calls)
	}
	if _, ok := netw.Attachment(string(task.UID)); ok {
		t.Error("network attachment left")
	}
	if !slices.Equal(cg.removed, []string{cgroupParent(task.UID), legacyCgroupParent(task.UID)}) {
		t.Errorf("task cgroup not removed (and the earlier versions' place): %v", cg.removed)
	}
	for _, cs := range got.Status.Containers {
		if cs.Name == "app" && (cs.ExitCode == nil || *cs.ExitCode != 2) {
			t.Errorf("app exit code %v, want 2", cs.ExitCode)
		}
	}

	// Deletion releases the finalizer.
	if err := c.Delete(ctx, got); err != nil {
		t.Fatal(err)
	}
	if reconcile() != nil {
		t.Error("task still there: finalizer not released")
	}
}

// TestPullFailureWithFakes: an unpullable image stops the task with
// CannotPullContainerError and allocates nothing.
func TestPullFailureWithFakes(t *testing.T) {
	f := newWithFakes(t, ecsv1.TaskDefinitionSpec{NetworkMode: ecsv1.NetworkModeBridge,
		ContainerDefinitions: []ecsv1.ContainerDefinition{{Name: "app", Image: "nope:1", Essential: ptr.To(true)}}}, nil)
	f.rt.PullErr = map[string]error{"nope:1": errors.New("manifest unknown")}
	got := f.reconcile()
	if got.Status.LastStatus != ecsv1.TaskStopped || got.Status.StopCode != ecsv1.StopCodeTaskFailedToStart ||
		got.Status.StoppedReason != "CannotPullContainerError: nope:1: manifest unknown" {
		t.Errorf("status %s %s %q", got.Status.LastStatus, got.Status.StopCode, got.Status.StoppedReason)
	}
	for _, call := range f.netw.Calls() {
		if call.Op == network.FakeSetup {
			t.Errorf("network set up for a task that cannot pull: %+v", call)
		}
	}
}

// TestClusterPolicyOfBoundTasksWithFakes: a task bound by its creator (ECS
// StartTask) never met the scheduler; the agent applies the Cluster's
// security policy before it pulls or creates anything.
func TestClusterPolicyOfBoundTasksWithFakes(t *testing.T) {
	for name, c := range map[string]struct {
		cluster *ecsv1.Cluster
		def     ecsv1.TaskDefinitionSpec
		want    string // stoppedReason; "" = starts
	}{
		"privileged without a Cluster (strictest)": {
			def: ecsv1.TaskDefinitionSpec{NetworkMode: ecsv1.NetworkModeNone,
				ContainerDefinitions: []ecsv1.ContainerDefinition{{Name: "app", Image: "app:1", Essential: ptr.To(true), Privileged: true}}},
			want: "Cluster default refuses the task: Cluster security forbids privileged containers (security.allowPrivileged is false)",
		},
		"host network refused": {
			cluster: &ecsv1.Cluster{ObjectMeta: metav1.ObjectMeta{Name: "default"}},
			def: ecsv1.TaskDefinitionSpec{NetworkMode: ecsv1.NetworkModeHost,
				ContainerDefinitions: []ecsv1.ContainerDefinition{{Name: "app", Image: "app:1", Essential: ptr.To(true)}}},
			want: "Cluster default refuses the task: Cluster security forbids networkMode host (security.allowHostNetwork is false)",
		},
		"pidMode host refused": {
			cluster: &ecsv1.Cluster{ObjectMeta: metav1.ObjectMeta{Name: "default"},
				Spec: ecsv1.ClusterSpec{Security: ecsv1.ClusterSecurity{AllowHostNetwork: true}}},
			def: ecsv1.TaskDefinitionSpec{NetworkMode: ecsv1.NetworkModeNone, PidMode: "host",
				ContainerDefinitions: []ecsv1.ContainerDefinition{{Name: "app", Image: "app:1", Essential: ptr.To(true)}}},
			want: "Cluster default refuses the task: Cluster security forbids pidMode and ipcMode host, which share the host's processes (security.allowPrivileged is false)",
		},
		"host network allowed": {
			cluster: &ecsv1.Cluster{ObjectMeta: metav1.ObjectMeta{Name: "default"},
				Spec: ecsv1.ClusterSpec{Security: ecsv1.ClusterSecurity{AllowHostNetwork: true}}},
			def: ecsv1.TaskDefinitionSpec{NetworkMode: ecsv1.NetworkModeHost,
				ContainerDefinitions: []ecsv1.ContainerDefinition{{Name: "app", Image: "app:1", Essential: ptr.To(true)}}},
		},
	} {
		t.Run(name, func(t *testing.T) {
			rev := &ecsv1.TaskDefinitionRevision{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "web-1"},
				Spec: ecsv1.TaskDefinitionRevisionSpec{Family: "web", Revision: 1, TaskDefinition: c.def}}
			task := &ecsv1.Task{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "t1", UID: "u1"},
				Spec: ecsv1.TaskSpec{TaskDefinition: "web:1", ContainerInstance: "inst", Cluster: "default"}}
			objs := []client.Object{rev, task}
			if c.cluster != nil {
				objs = append(objs, c.cluster)
			}
			cl := fake.NewClientBuilder().WithScheme(kube.Scheme()).WithStatusSubresource(&ecsv1.Task{}).WithObjects(objs...).Build()
			rt := lsruntime.NewFakeContainers()
			r := &TaskReconciler{Client: cl, APIReader: cl, Runtime: rt, Network: network.NewFake(), InstanceName: "inst",
				StateDir: t.TempDir(), Clock: clocktesting.NewFakeClock(time.Now()), Cgroups: &noCgroups{}}
			r.init()
			if _, err := r.Reconcile(t.Context(), ctrl.Request{NamespacedName: client.ObjectKeyFromObject(task)}); err != nil {
				t.Fatal(err)
			}
			got := &ecsv1.Task{}
			if err := cl.Get(t.Context(), client.ObjectKeyFromObject(task), got); err != nil {
				t.Fatal(err)
			}
			if c.want == "" {
				if got.Status.LastStatus == ecsv1.TaskStopped {
					t.Fatalf("stopped: %s", got.Status.StoppedReason)
				}
				return
			}
			if got.Status.LastStatus != ecsv1.TaskStopped || got.Status.StopCode != ecsv1.StopCodeTaskFailedToStart ||
				got.Status.StoppedReason != c.want {
				t.Errorf("status %s %s %q, want STOPPED TaskFailedToStart %q", got.Status.LastStatus, got.Status.StopCode, got.Status.StoppedReason, c.want)
			}
			if calls := rt.Calls(); len(calls) > 0 {
				t.Errorf("runtime called for a refused task: %v", calls)
			}
		})
	}
}

// TestRestartInterruptedByAgentCrashWithFakes: the agent died after it
// removed an exited container for its restart policy and before it created
// the next attempt. The next agent finishes the restart instead of stopping
// the task for a vanished container.
func TestRestartInterruptedByAgentCrashWithFakes(t *testing.T) {
	now := metav1.Now()
	f := newWithFakes(t, ecsv1.TaskDefinitionSpec{NetworkMode: ecsv1.NetworkModeNone,
		ContainerDefinitions: []ecsv1.ContainerDefinition{{Name: "app", Image: "app:1",
			Essential: ptr.To(true), RestartPolicy: &ecsv1.RestartPolicy{Enabled: true}}}}, func(task *ecsv1.Task) {
		task.UID, task.Finalizers, task.Spec.Cluster = "u1", []string{ecsv1.FinalizerAgent}, "default"
		task.Status = ecsv1.TaskStatus{LastStatus: ecsv1.TaskRunning, TaskDefinitionRevision: "web:1", PullStartedAt: &now, PullStoppedAt: &now,
			Containers: []ecsv1.ContainerStatus{{Name: "app", RuntimeID: lsruntime.ContainerID("u1", "app", 0), LastStatus: ecsv1.ContainerRunning, StartedAt: &now}}}
	})
	r, rt := f.r, f.rt
	// What the crashed agent left: the record of the restart, no container.
	record := filepath.Join(r.taskDir(f.task.UID), "restart-app")
	if err := os.MkdirAll(filepath.Dir(record), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(record, []byte("1"), 0o600); err != nil {
		t.Fatal(err)
	}
	got := f.reconcile()
	if got.Status.LastStatus == ecsv1.TaskStopped {
		t.Fatalf("task stopped: %s %s", got.Status.StopCode, got.Status.StoppedReason)
	}
	next := lsruntime.ContainerID("u1", "app", 1)
	if calls := rt.Calls(); !slices.Contains(calls, "Create "+next) || !slices.Contains(calls, "Start "+next) {
		t.Errorf("calls %v: want attempt 1 created and started", calls)
	}
	if _, err := os.Stat(record); !os.IsNotExist(err) {
		t.Errorf("restart record left behind: %v", err)
	}
}
