//go:build integration

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

package deployments

import (
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ecsv1 "github.com/longshore-io/longshore/api/v1alpha1"
	"github.com/longshore-io/longshore/controllers/taskdefinition"
	"github.com/longshore-io/longshore/test/integration/framework"
	"github.com/longshore-io/longshore/test/integration/simagent"
)

// TestDeregisteredRevision walks ECS DeregisterTaskDefinition and
// DeleteTaskDefinitions with the whole manager and a simulated agent: the
// tasks of a deregistered revision keep running, the Service that uses it
// keeps scaling (INACTIVE, then DELETE_IN_PROGRESS) and moves on to a newer
// ACTIVE revision only, a new Task of it is refused at apply time, a Task
// of the family fails when none of its revisions is ACTIVE, and the deleted
// revision goes when its last user does.
func TestDeregisteredRevision(t *testing.T) {
	ctx := t.Context()
	const cl = "dereg"
	ns := env.NewNamespace(t, cl)
	env.NewCluster(t, cl, nil)
	simagent.ForTest(t, env.Client, cl+"-a", simagent.Options{Cluster: cl, Poll: 150 * time.Millisecond})
	framework.Eventually(t, 20*time.Second, "instance connected", func() error {
		ci := &ecsv1.ContainerInstance{}
		if err := env.Client.Get(ctx, client.ObjectKey{Name: cl + "-a"}, ci); err != nil {
			return err
		}
		if !ci.Status.Connected() {
			return fmt.Errorf("not connected")
		}
		return nil
	})
	spec := func(image string) ecsv1.TaskDefinitionSpec {
		return ecsv1.TaskDefinitionSpec{NetworkMode: ecsv1.NetworkModeAWSVPC, ContainerDefinitions: []ecsv1.ContainerDefinition{
			{Name: "web", Image: image, Memory: ptr.To[int32](32), CPU: 64}}}
	}
	env.NewFamily(t, ns, "app", spec("app:1"))

	svc := &ecsv1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "web"},
		Spec: ecsv1.ServiceSpec{TaskDefinition: "app", Cluster: cl, DesiredCount: ptr.To[int32](2)}}
	if err := env.Client.Create(ctx, svc); err != nil {
		t.Fatal(err)
	}
	newTask := func(name, ref string) (*ecsv1.Task, error) {
		tk := &ecsv1.Task{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Spec: ecsv1.TaskSpec{TaskDefinition: ref, Cluster: cl}}
		return tk, env.Client.Create(ctx, tk)
	}
	solo, err := newTask("solo", "app:1")
	if err != nil {
		t.Fatal(err)
	}
	running := func(revision string, want int) {
		t.Helper()
		framework.Eventually(t, 60*time.Second, fmt.Sprintf("%d tasks of service web RUNNING on %s", want, revision), func() error {
			n, other := serviceTasks(t, ns, revision)
			if n != want || other != 0 {
				return fmt.Errorf("%d RUNNING on %s, %d others not STOPPED", n, revision, other)
			}
			return nil
		})
	}
	running("app:1", 2)
	waitTask(t, solo, ecsv1.TaskRunning)

	// Deregister app:1, as kubectl ecs deregister-task-definition does.
	rev := &ecsv1.TaskDefinitionRevision{}
	if err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "app-1"}, rev); err != nil {
		t.Fatal(err)
	}
	patch := client.MergeFrom(rev.DeepCopy())
	rev.Spec.State = ecsv1.RevisionStateInactive
	if err := env.Client.Patch(ctx, rev, patch); err != nil {
		t.Fatal(err)
	}
	waitRevisionStatus(t, ns, "app-1", ecsv1.RevisionInactive)
	waitStatusMap(t, ns, map[string]string{"app-1": "INACTIVE"})

	// A new Task of app:1 is refused when it is applied.
	framework.Eventually(t, 30*time.Second, "a new Task of app:1 refused", func() error {
		_, err := newTask("late", "app:1")
		const want = "task definition app:1 is INACTIVE: new tasks need an ACTIVE revision"
		if err == nil {
			return fmt.Errorf("admitted")
		}
		if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), want) {
			t.Fatalf("want Invalid with %q, got %v", want, err)
		}
		return nil
	})
	// A Task of the family: none of its revisions is ACTIVE.
	fam, err := newTask("family", "app")
	if err != nil {
		t.Fatal(err)
	}
	got := waitTask(t, fam, ecsv1.TaskStopped)
	if got.Status.StopCode != ecsv1.StopCodeTaskFailedToStart || got.Status.StoppedReason != "TaskDefinition app has no ACTIVE revision in namespace "+ns {
		t.Errorf("the family's task stopped with %s %q", got.Status.StopCode, got.Status.StoppedReason)
	}

	// What runs keeps running; the Service scales with its INACTIVE revision
	// and starts no deployment.
	consistently(t, 2*time.Second, "the tasks of app:1 keep running", func() error {
		if n, other := serviceTasks(t, ns, "app:1"); n != 2 || other != 0 {
			return fmt.Errorf("%d RUNNING, %d others", n, other)
		}
		if tk := getTask(t, solo); tk.Status.LastStatus != ecsv1.TaskRunning {
			return fmt.Errorf("solo is %s", tk.Status.LastStatus)
		}
		return nil
	})
	scale(t, svc, 3)
	running("app:1", 3)
	if s := getService(t, svc); len(s.Status.Deployments) != 1 || s.Status.Deployments[0].TaskDefinition != "app:1" {
		t.Errorf("deployments %+v, want the one of app:1", s.Status.Deployments)
	}

	// Delete it: DELETE_IN_PROGRESS while the Service and solo use it; the
	// Service still scales.
	if err := env.Client.Delete(ctx, rev); err != nil {
		t.Fatalf("deleting the INACTIVE app:1: %v", err)
	}
	waitRevisionStatus(t, ns, "app-1", ecsv1.RevisionDeleteInProgress)
	waitStatusMap(t, ns, map[string]string{"app-1": "DELETE_IN_PROGRESS"})
	scale(t, svc, 4)
	running("app:1", 4)

	// A new ACTIVE revision: the Service moves on to it.
	td := &ecsv1.TaskDefinition{}
	if err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "app"}, td); err != nil {
		t.Fatal(err)
	}
	tdPatch := client.MergeFrom(td.DeepCopy())
	td.Spec = spec("app:2")
	if err := env.Client.Patch(ctx, td, tdPatch); err != nil {
		t.Fatal(err)
	}
	running("app:2", 4)

	// The last user of app:1 stops: it goes, and leaves the map.
	soloNow := getTask(t, solo)
	stopPatch := client.MergeFrom(soloNow.DeepCopy())
	soloNow.Spec.DesiredStatus = ecsv1.DesiredStopped
	if err := env.Client.Patch(ctx, soloNow, stopPatch); err != nil {
		t.Fatal(err)
	}
	framework.Eventually(t, 30*time.Second, "app-1 deleted", func() error {
		err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "app-1"}, &ecsv1.TaskDefinitionRevision{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("still there (%v)", err)
	})
	waitStatusMap(t, ns, map[string]string{})
}

// serviceTasks counts the RUNNING tasks of Service web on revision, and the
// others that are not STOPPED.
func serviceTasks(t *testing.T, ns, revision string) (running, others int) {
	var list ecsv1.TaskList
	if err := env.Client.List(t.Context(), &list, client.InNamespace(ns), client.MatchingLabels{ecsv1.LabelService: "web"}); err != nil {
		t.Fatal(err)
	}
	for i := range list.Items {
		tk := &list.Items[i]
		switch {
		case live(tk) && tk.Status.LastStatus == ecsv1.TaskRunning && revisionOf(tk) == revision:
			running++
		case tk.Status.LastStatus != ecsv1.TaskStopped:
			others++
		}
	}
	return running, others
}

func getTask(t *testing.T, tk *ecsv1.Task) *ecsv1.Task {
	t.Helper()
	got := &ecsv1.Task{}
	if err := env.Client.Get(t.Context(), client.ObjectKeyFromObject(tk), got); err != nil {
		t.Fatal(err)
	}
	return got
}

func waitTask(t *testing.T, tk *ecsv1.Task, phase ecsv1.TaskStatusPhase) *ecsv1.Task {
	t.Helper()
	var got *ecsv1.Task
	framework.Eventually(t, 30*time.Second, "task "+tk.Name+" "+string(phase), func() error {
		got = getTask(t, tk)
		if got.Status.LastStatus != phase {
			return fmt.Errorf("%s (%s)", got.Status.LastStatus, got.Status.StoppedReason)
		}
		return nil
	})
	return got
}

func getService(t *testing.T, svc *ecsv1.Service) *ecsv1.Service {
	t.Helper()
	got := &ecsv1.Service{}
	if err := env.Client.Get(t.Context(), client.ObjectKeyFromObject(svc), got); err != nil {
		t.Fatal(err)
	}
	return got
}

func scale(t *testing.T, svc *ecsv1.Service, n int32) {
	t.Helper()
	s := getService(t, svc)
	patch := client.MergeFrom(s.DeepCopy())
	s.Spec.DesiredCount = ptr.To(n)
	if err := env.Client.Patch(t.Context(), s, patch); err != nil {
		t.Fatalf("scaling to %d: %v", n, err)
	}
}

func waitRevisionStatus(t *testing.T, ns, name string, want ecsv1.RevisionStatus) {
	t.Helper()
	framework.Eventually(t, 20*time.Second, name+" "+string(want), func() error {
		rev := &ecsv1.TaskDefinitionRevision{}
		if err := env.Client.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: name}, rev); err != nil {
			return err
		}
		if rev.Status.Status != want {
			return fmt.Errorf("status %q", rev.Status.Status)
		}
		return nil
	})
}

// waitStatusMap waits until the namespace's revision status map (the
// admission policy's param) holds want.
func waitStatusMap(t *testing.T, ns string, want map[string]string) {
	t.Helper()
	framework.Eventually(t, 20*time.Second, fmt.Sprintf("revision status map %v", want), func() error {
		cm := &corev1.ConfigMap{}
		if err := env.Client.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: taskdefinition.RevisionStatusConfigMapName}, cm); err != nil {
			return err
		}
		if fmt.Sprint(cm.Data) != fmt.Sprint(want) && (len(cm.Data) != 0 || len(want) != 0) {
			return fmt.Errorf("data %v", cm.Data)
		}
		return nil
	})
}

func consistently(t *testing.T, d time.Duration, what string, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if err := cond(); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
