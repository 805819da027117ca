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
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ecsv1 "github.com/longshore-io/longshore/api/v1alpha1"
	lsruntime "github.com/longshore-io/longshore/internal/runtime"
)

// TestNamespaceHolderWithFakes: a pidMode/ipcMode task gets its holder
// before its first container, every container joins the holder's
// namespaces and mounts the task's one /dev/shm (of the largest
// sharedMemorySize), the holder is never reported, and the stop removes it
// after the containers.
func TestNamespaceHolderWithFakes(t *testing.T) {
	ctx := t.Context()
	f := newWithFakes(t, ecsv1.TaskDefinitionSpec{NetworkMode: ecsv1.NetworkModeNone, PidMode: "task", IpcMode: "task",
		ContainerDefinitions: []ecsv1.ContainerDefinition{
			{Name: "app", Image: "app:1", Essential: ptr.To(true), Memory: ptr.To[int32](32)},
			{Name: "side", Image: "side:1", Essential: ptr.To(true), Memory: ptr.To[int32](32),
				LinuxParameters: &ecsv1.LinuxParameters{SharedMemorySize: ptr.To[int32](128)}}}}, nil)
	c, rt, r, task, reconcile, uid := f.c, f.rt, f.r, f.task, f.reconcile, f.task.UID
	got := reconcile()
	if got.Status.LastStatus != ecsv1.TaskRunning || len(got.Status.Containers) != 2 {
		t.Fatalf("lastStatus %s, containers %+v; want RUNNING with app and side only", got.Status.LastStatus, got.Status.Containers)
	}
	holder := holderID(uid)
	hs, ok := rt.Spec(holder)
	if !ok || !hs.Pause || hs.Labels[lsruntime.LabelContainer] != holderContainer || hs.Labels[lsruntime.LabelTaskUID] != string(uid) ||
		hs.Image != "app:1" || !slices.Equal(hs.CapDrop, []string{"ALL"}) || !hs.NoNewPrivileges || hs.CgroupParent != cgroupParent(uid) {
		t.Fatalf("holder spec %+v (found %v)", hs, ok)
	}
	calls := rt.Calls()
	first := slices.IndexFunc(calls, func(s string) bool { return strings.HasPrefix(s, "Create ") })
	if first < 0 || calls[first] != "Create "+holder {
		t.Errorf("the holder is not created first: %v", calls)
	}
	shm := filepath.Join(r.taskDir(uid), "volumes", sharedShmVolume)
	if diff := cmp.Diff(map[string]string{shm: "size=128m,mode=1777"}, f.mnt.tmpfs); diff != "" {
		t.Errorf("tmpfs mounts (-want +got):\n%s", diff)
	}
	for _, name := range []string{"app", "side"} {
		s, _ := rt.Spec(lsruntime.ContainerID(string(uid), name, 0))
		if s.PIDNSPath != "/proc/4242/ns/pid" || s.IPCNSPath != "/proc/4242/ns/ipc" {
			t.Errorf("%s joins PID %q and IPC %q, want the holder's (/proc/4242/ns/…)", name, s.PIDNSPath, s.IPCNSPath)
		}
		i := slices.IndexFunc(s.Mounts, func(m lsruntime.Mount) bool { return m.Destination == "/dev/shm" })
		if i < 0 || s.Mounts[i].Source != shm || s.Mounts[i].Type != "bind" || s.ShmSizeBytes != 0 {
			t.Errorf("%s: /dev/shm is not the task's shared one (%s): mounts %+v, shm size %d", name, shm, s.Mounts, s.ShmSizeBytes)
		}
	}

	// A sync after the agent restarted (a new reconciler, same runtime)
	// adopts the running holder: nothing created again.
	r2 := &TaskReconciler{Client: c, APIReader: c, Runtime: rt, Network: r.Network, InstanceName: "inst",
		StateDir: r.StateDir, RunDir: r.RunDir, PullPolicy: lsruntime.PullPreferCached, Clock: r.Clock, Cgroups: &noCgroups{}, Mounts: f.mnt}
	r2.init()
	before := len(rt.Calls())
	if _, err := r2.Reconcile(ctx, ctrl.Request{NamespacedName: client.ObjectKeyFromObject(task)}); err != nil {
		t.Fatal(err)
	}
	for _, call := range rt.Calls()[before:] {
		if strings.HasPrefix(call, "Create ") || strings.HasPrefix(call, "Start ") {
			t.Errorf("the restarted agent did %s", call)
		}
	}

	// Stop: the containers, then the holder.
	patch := client.MergeFrom(got.DeepCopy())
	got.Spec.DesiredStatus = ecsv1.DesiredStopped
	if err := c.Patch(ctx, got, patch); err != nil {
		t.Fatal(err)
	}
	if got = reconcile(); got.Status.LastStatus != ecsv1.TaskStopped {
		t.Fatalf("lastStatus %s, want STOPPED", got.Status.LastStatus)
	}
	calls = rt.Calls()
	holderDelete := slices.Index(calls, "Delete "+holder)
	for _, name := range []string{"app", "side"} {
		id := lsruntime.ContainerID(string(uid), name, 0)
		if d := slices.Index(calls, "Delete "+id); d < 0 || holderDelete < d {
			t.Errorf("%s deleted at %d, the holder at %d: the holder must go last (%v)", name, d, holderDelete, calls)
		}
	}
	if left, _ := rt.List(ctx, map[string]string{lsruntime.LabelTaskUID: string(uid)}); len(left) > 0 {
		t.Errorf("containers left: %v", left)
	}
}

// TestHolderProblems: a task whose holder exited, or vanished while its
// containers run, stops; one that has neither yet starts.
func TestHolderProblems(t *testing.T) {
	td := &ecsv1.TaskDefinitionSpec{PidMode: "task"}
	task := &ecsv1.Task{ObjectMeta: metav1.ObjectMeta{UID: "u1"}}
	app := lsruntime.ContainerStatus{ID: "u1-app-0", State: lsruntime.StateRunning}
	for name, tc := range map[string]struct {
		o    *observation
		td   *ecsv1.TaskDefinitionSpec
		want string
	}{
		"no holder yet":      {o: &observation{Task: task}, td: td},
		"holder runs":        {o: &observation{Task: task, Holder: &lsruntime.ContainerStatus{ID: "u1.ns", State: lsruntime.StateRunning}, Containers: map[string]lsruntime.ContainerStatus{"app": app}}, td: td},
		"holder exited":      {o: &observation{Task: task, Holder: &lsruntime.ContainerStatus{ID: "u1.ns", State: lsruntime.StateStopped}}, td: td, want: "namespace holder u1.ns (pidMode \"task\", ipcMode \"\") exited"},
		"holder disappeared": {o: &observation{Task: task, Containers: map[string]lsruntime.ContainerStatus{"app": app}}, td: td, want: "disappeared from the container runtime"},
		"no shared namespace": {o: &observation{Task: task, Containers: map[string]lsruntime.ContainerStatus{"app": app}},
			td: &ecsv1.TaskDefinitionSpec{PidMode: "host"}},
	} {
		got := holderProblem(tc.o, tc.td)
		if (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
			t.Errorf("%s: %q, want %q", name, got, tc.want)
		}
	}
}
