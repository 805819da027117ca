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
	"strconv"
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

// TestOneWritePerChangeWithFakes: the sync that starts every container
// writes PENDING → RUNNING at once, and a sync that changes nothing (an
// exited non-essential container reported already) writes nothing.
func TestOneWritePerChangeWithFakes(t *testing.T) {
	ctx := t.Context()
	rev := &ecsv1.TaskDefinitionRevision{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "web-1"},
		Spec: ecsv1.TaskDefinitionRevisionSpec{Family: "web", Revision: 1, TaskDefinition: ecsv1.TaskDefinitionSpec{
			NetworkMode: ecsv1.NetworkModeBridge,
			ContainerDefinitions: []ecsv1.ContainerDefinition{
				{Name: "success", Image: "app:1", Essential: ptr.To(true), DependsOn: []ecsv1.ContainerDependency{{ContainerName: "dep", Condition: ecsv1.DependencySuccess}}},
				{Name: "dep", Image: "app:1", Essential: ptr.To(false)},
			}}}}
	task := &ecsv1.Task{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "t1", UID: "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"},
		Spec: ecsv1.TaskSpec{TaskDefinition: "web:1", ContainerInstance: "inst"}}
	c := fake.NewClientBuilder().WithScheme(kube.Scheme()).WithStatusSubresource(&ecsv1.Task{}).WithObjects(rev, task).Build()
	rt := lsruntime.NewFakeContainers()
	r := &TaskReconciler{Client: c, APIReader: c, Runtime: rt, Network: network.NewFake(), InstanceName: "inst",
		StateDir: t.TempDir(), RunDir: t.TempDir(), PullPolicy: lsruntime.PullPreferCached, Clock: clocktesting.NewFakeClock(time.Now()), Cgroups: &noCgroups{}}
	r.init()
	req := ctrl.Request{NamespacedName: client.ObjectKeyFromObject(task)}
	get := func() *ecsv1.Task {
		got := &ecsv1.Task{}
		if err := c.Get(ctx, req.NamespacedName, got); err != nil {
			t.Fatal(err)
		}
		return got
	}
	reconcile := func() {
		t.Helper()
		if _, err := r.Reconcile(ctx, req); err != nil {
			t.Fatal(err)
		}
	}
	reconcile() // dep runs; success waits for its SUCCESS
	if got := get(); got.Status.LastStatus != ecsv1.TaskActivating {
		t.Fatalf("lastStatus %s, want ACTIVATING", got.Status.LastStatus)
	}
	rt.Exit(lsruntime.ContainerID(string(task.UID), "dep", 0), 0)
	before := get().ResourceVersion
	reconcile() // success starts: RUNNING, one status write
	running := get()
	if running.Status.LastStatus != ecsv1.TaskRunning {
		t.Fatalf("lastStatus %s, want RUNNING", running.Status.LastStatus)
	}
	if b, a := atoi(t, before), atoi(t, running.ResourceVersion); a != b+1 {
		t.Errorf("resourceVersion %d → %d: want one write", b, a)
	}
	reconcile()
	if rv := get().ResourceVersion; rv != running.ResourceVersion {
		t.Errorf("a sync that changed nothing wrote the Task (resourceVersion %s → %s)", running.ResourceVersion, rv)
	}
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}
