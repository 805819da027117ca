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
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
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

// TestForceDeletedTaskWithFakes: a running Task whose finalizer is removed
// by hand and that is deleted leaves nothing on the host: not its
// containers, network attachment, cgroup or task directory; whether the
// agent sees the deletion (the Task's next sync finds it gone) or only
// finds the leftovers later (garbage collection after an agent restart).
func TestForceDeletedTaskWithFakes(t *testing.T) {
	for _, how := range []string{"sync", "garbage collection"} {
		t.Run(how, func(t *testing.T) {
			ctx := t.Context()
			// Another task of this instance, which must keep everything.
			other := &ecsv1.Task{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "t2", UID: "11111111-2222-3333-4444-555555555555"},
				Spec: ecsv1.TaskSpec{TaskDefinition: "web:1", ContainerInstance: "inst"}}
			f := newWithFakes(t, ecsv1.TaskDefinitionSpec{NetworkMode: ecsv1.NetworkModeAWSVPC, CPU: "256", Memory: "128",
				ContainerDefinitions: []ecsv1.ContainerDefinition{{Name: "app", Image: "app:1", Essential: ptr.To(true)}},
				Volumes:              []ecsv1.Volume{{Name: "scratch"}}}, nil, other)
			c, rt, netw, cg, r, task, uid := f.c, f.rt, f.netw, f.cg, f.r, f.task, f.task.UID
			f.reconcile(other)
			got := f.reconcile()
			if got.Status.LastStatus != ecsv1.TaskRunning {
				t.Fatalf("lastStatus %s, want RUNNING", got.Status.LastStatus)
			}
			if _, err := os.Stat(r.taskDir(uid)); err != nil {
				t.Fatalf("no task directory while running: %v", err)
			}

			// Force deletion: the finalizer removed by hand, then the Task deleted.
			patch := client.MergeFrom(got.DeepCopy())
			got.Finalizers = nil
			if err := c.Patch(ctx, got, patch); err != nil {
				t.Fatal(err)
			}
			if err := c.Delete(ctx, got); err != nil {
				t.Fatal(err)
			}
			switch how {
			case "sync":
				if _, err := r.Reconcile(ctx, ctrl.Request{NamespacedName: client.ObjectKeyFromObject(task)}); err != nil {
					t.Fatal(err)
				}
			case "garbage collection":
				gc := &GarbageCollector{Client: c, Tasks: r, Instance: "inst"}
				if err := gc.Collect(ctx); err != nil {
					t.Fatal(err)
				}
			}

			appID := lsruntime.ContainerID(string(uid), "app", 0)
			if !slices.Contains(rt.Calls(), "Stop "+appID+" terminated 10s") || !slices.Contains(rt.Calls(), "Delete "+appID) {
				t.Errorf("container not stopped and deleted: %v", rt.Calls())
			}
			if left, _ := rt.List(ctx, map[string]string{lsruntime.LabelTaskUID: string(uid)}); len(left) > 0 {
				t.Errorf("containers left: %v", left)
			}
			if _, ok := netw.Attachment(string(uid)); ok {
				t.Error("network attachment left")
			}
			if !slices.Contains(cg.removed, cgroupParent(uid)) {
				t.Errorf("cgroup %s not removed (removed %v)", cgroupParent(uid), cg.removed)
			}
			if _, err := os.Stat(r.taskDir(uid)); !os.IsNotExist(err) {
				t.Errorf("task directory left: %v", err)
			}
			// The other task keeps what it has.
			if _, ok := netw.Attachment(string(other.UID)); !ok {
				t.Error("the other task's attachment was removed")
			}
			if _, err := os.Stat(r.taskDir(other.UID)); err != nil {
				t.Errorf("the other task's directory: %v", err)
			}
			if slices.Contains(cg.removed, cgroupParent(other.UID)) {
				t.Error("the other task's cgroup was removed")
			}
		})
	}
}

// TestGarbageCollectionOfLeftoversWithFakes: a task directory (with the
// task's cgroup) that no container or attachment refers to any more, as a
// crash in the middle of a cleanup leaves it, is removed.
func TestGarbageCollectionOfLeftoversWithFakes(t *testing.T) {
	c := fake.NewClientBuilder().WithScheme(kube.Scheme()).Build()
	cg := &noCgroups{}
	r := &TaskReconciler{Client: c, APIReader: c, Runtime: lsruntime.NewFakeContainers(), Network: network.NewFake(),
		InstanceName: "inst", StateDir: t.TempDir(), RunDir: t.TempDir(), Clock: clocktesting.NewFakeClock(time.Now()), Cgroups: cg}
	r.init()
	uid := types.UID("0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0")
	for _, d := range []string{filepath.Join(r.taskDir(uid), "etc", "app"), r.fireLensDir(uid)} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	if err := (&GarbageCollector{Client: c, Tasks: r, Instance: "inst"}).Collect(t.Context()); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{r.taskDir(uid), r.fireLensDir(uid)} {
		if _, err := os.Stat(d); !os.IsNotExist(err) {
			t.Errorf("%s left: %v", d, err)
		}
	}
	if !slices.Contains(cg.removed, cgroupParent(uid)) {
		t.Errorf("cgroup not removed: %v", cg.removed)
	}
}

// TestStaleCache: a cached Task older than the agent's last write of it is
// not synced from; a newer one, another Task of the name, or a version that
// is not a number is.
func TestStaleCache(t *testing.T) {
	r := &TaskReconciler{}
	written := &ecsv1.Task{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "t1", UID: "u1", ResourceVersion: "10"}}
	r.wrote(written)
	for rv, want := range map[string]bool{"9": true, "10": false, "11": false, "x": false} {
		cached := written.DeepCopy()
		cached.ResourceVersion = rv
		if got := r.staleCache(cached); got != want {
			t.Errorf("resourceVersion %s: stale %v, want %v", rv, got, want)
		}
	}
	other := written.DeepCopy()
	other.UID, other.ResourceVersion = "u2", "9"
	if r.staleCache(other) {
		t.Error("another Task of the same name taken for stale")
	}
}
