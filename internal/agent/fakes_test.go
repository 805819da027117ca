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
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	clocktesting "k8s.io/utils/clock/testing"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	ecsv1 "github.com/longshore-io/longshore/api/v1alpha1"
	"github.com/longshore-io/longshore/internal/kube"
	"github.com/longshore-io/longshore/internal/network"
	lsruntime "github.com/longshore-io/longshore/internal/runtime"
)

// noCgroups records the task cgroups the agent makes and removes.
type noCgroups struct{ ensured, removed []string }

func (n *noCgroups) Ensure(p string, _, _ int64) error { n.ensured = append(n.ensured, p); return nil }
func (n *noCgroups) Remove(p string) error             { n.removed = append(n.removed, p); return nil }

// fakeMounts records the tmpfs mounts the agent asks for, and mounts none.
type fakeMounts struct{ tmpfs map[string]string }

func (m *fakeMounts) Tmpfs(dir, opts string) error {
	if m.tmpfs == nil {
		m.tmpfs = map[string]string{}
	}
	m.tmpfs[dir] = opts
	return nil
}

// fakeUID is the UID of the Task of withFakes.
const fakeUID = types.UID("0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0")

// withFakes is the task reconciler on the fake runtime, network and
// cgroups and a fake API, holding revision web:1 (ns/web-1) of a task
// definition and Task ns/t1 of it bound to instance "inst": the agent's
// logic without root or containerd.
type withFakes struct {
	t    *testing.T
	c    client.Client
	rt   *lsruntime.FakeContainers
	netw *network.Fake
	cg   *noCgroups
	mnt  *fakeMounts
	r    *TaskReconciler
	task *ecsv1.Task
}

// newWithFakes sets the fakes up with td; edit (if not nil) changes the
// Task before the API holds it; objs are more objects the API holds (other
// Tasks, a Cluster).
func newWithFakes(t *testing.T, td ecsv1.TaskDefinitionSpec, edit func(*ecsv1.Task), objs ...client.Object) *withFakes {
	t.Helper()
	rev := &ecsv1.TaskDefinitionRevision{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "web-1"},
		Spec: ecsv1.TaskDefinitionRevisionSpec{Family: "web", Revision: 1, TaskDefinition: td}}
	task := &ecsv1.Task{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "t1", UID: fakeUID},
		Spec: ecsv1.TaskSpec{TaskDefinition: "web:1", ContainerInstance: "inst", DesiredStatus: ecsv1.DesiredRunning}}
	if edit != nil {
		edit(task)
	}
	f := &withFakes{t: t, rt: lsruntime.NewFakeContainers(), netw: network.NewFake(), cg: &noCgroups{}, mnt: &fakeMounts{}, task: task}
	f.c = fake.NewClientBuilder().WithScheme(kube.Scheme()).WithStatusSubresource(&ecsv1.Task{}).
		WithObjects(append([]client.Object{rev, task}, objs...)...).Build()
	f.r = &TaskReconciler{Client: f.c, APIReader: f.c, Runtime: f.rt, Network: f.netw, InstanceName: "inst",
		StateDir: t.TempDir(), RunDir: t.TempDir(), PullPolicy: lsruntime.PullPreferCached,
		Clock: clocktesting.NewFakeClock(time.Now()), Cgroups: f.cg, Mounts: f.mnt}
	f.r.init()
	return f
}

// reconcile syncs Task tk (none: the fakes' Task) once, and returns it as
// the API then holds it (nil: gone).
func (f *withFakes) reconcile(tk ...*ecsv1.Task) *ecsv1.Task {
	f.t.Helper()
	target := f.task
	if len(tk) > 0 {
		target = tk[0]
	}
	if _, err := f.r.Reconcile(f.t.Context(), ctrl.Request{NamespacedName: client.ObjectKeyFromObject(target)}); err != nil {
		f.t.Fatal(err)
	}
	got := &ecsv1.Task{}
	if err := f.c.Get(f.t.Context(), client.ObjectKeyFromObject(target), got); apierrors.IsNotFound(err) {
		return nil
	} else if err != nil {
		f.t.Fatal(err)
	}
	return got
}

// get reads Task tk (none: the fakes' Task) from the API.
func (f *withFakes) get(tk ...*ecsv1.Task) *ecsv1.Task {
	f.t.Helper()
	target := f.task
	if len(tk) > 0 {
		target = tk[0]
	}
	got := &ecsv1.Task{}
	if err := f.c.Get(f.t.Context(), client.ObjectKeyFromObject(target), got); err != nil {
		f.t.Fatal(err)
	}
	return got
}
