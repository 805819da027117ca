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
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	clocktesting "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"
	kstatus "sigs.k8s.io/cli-utils/pkg/kstatus/status"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	ecsv1 "github.com/longshore-io/longshore/api/v1alpha1"
	"github.com/longshore-io/longshore/internal/argocdhealth"
	"github.com/longshore-io/longshore/internal/kube"
	"github.com/longshore-io/longshore/internal/network"
	lsruntime "github.com/longshore-io/longshore/internal/runtime"
)

// TestTaskGitOpsHealthWithFakes drives a task through the agent (fake
// runtime and network) and reads, after each pass, what kstatus and the
// Argo CD health check of config/argocd say of the status the agent wrote:
// InProgress while the sidecar waits, Current once RUNNING, and at the end
// Current for a job whose essential container exits 0 (the non-essential
// sidecar's 143, from the agent's SIGTERM, does not count) or Failed for
// one that exits 2 — also on a later pass, after the revision is gone.
func TestTaskGitOpsHealthWithFakes(t *testing.T) {
	for name, tc := range map[string]struct {
		exit       int32
		want       kstatus.Status
		wantReason string
	}{
		"ran to completion":     {exit: 0, want: kstatus.CurrentStatus, wantReason: ecsv1.ReasonCompleted},
		"essential exit code 2": {exit: 2, want: kstatus.FailedStatus, wantReason: string(ecsv1.StopCodeEssentialContainerExited)},
	} {
		t.Run(name, func(t *testing.T) {
			ctx := t.Context()
			rev := &ecsv1.TaskDefinitionRevision{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "job-1"},
				Spec: ecsv1.TaskDefinitionRevisionSpec{Family: "job", Revision: 1, TaskDefinition: ecsv1.TaskDefinitionSpec{
					NetworkMode: ecsv1.NetworkModeNone, ContainerDefinitions: []ecsv1.ContainerDefinition{
						{Name: "app", Image: "app:1", Essential: ptr.To(true)},
						{Name: "side", Image: "side:1", Essential: ptr.To(false),
							DependsOn: []ecsv1.ContainerDependency{{ContainerName: "app", Condition: ecsv1.DependencyStart}}},
					}}}}
			task := &ecsv1.Task{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "t1", UID: types.UID("7d0c5e2a-1b3c-4d5e-8f90-a1b2c3d4e5f6"), Generation: 2},
				Spec:   ecsv1.TaskSpec{TaskDefinition: "job:1", ContainerInstance: "inst", DesiredStatus: ecsv1.DesiredRunning},
				Status: ecsv1.TaskStatus{LastStatus: ecsv1.TaskPending, TaskDefinitionRevision: "job:1"}}
			c := fake.NewClientBuilder().WithScheme(kube.Scheme()).WithStatusSubresource(&ecsv1.Task{}).WithObjects(rev, task).Build()
			rt := lsruntime.NewFakeContainers()
			r := &TaskReconciler{Client: c, APIReader: c, Runtime: rt, Network: network.NewFake(), InstanceName: "inst",
				StateDir: t.TempDir(), Clock: clocktesting.NewFakeClock(time.Now()), Cgroups: &noCgroups{}}
			r.init()
			req := ctrl.Request{NamespacedName: client.ObjectKeyFromObject(task)}
			pass := func(want kstatus.Status, wantHealth string) *ecsv1.Task {
				t.Helper()
				if _, err := r.Reconcile(ctx, req); err != nil {
					t.Fatal(err)
				}
				got := &ecsv1.Task{}
				if err := c.Get(ctx, req.NamespacedName, got); err != nil {
					t.Fatal(err)
				}
				if got.Status.ObservedGeneration != got.Generation {
					t.Errorf("%s: observedGeneration %d, generation %d", got.Status.LastStatus, got.Status.ObservedGeneration, got.Generation)
				}
				u := toUnstructured(t, got)
				res, err := kstatus.Compute(u)
				if err != nil {
					t.Fatal(err)
				}
				if res.Status != want {
					t.Errorf("%s: kstatus %s (%s), want %s; conditions %+v", got.Status.LastStatus, res.Status, res.Message, want, got.Status.Conditions)
				}
				h, err := argocdhealth.Evaluate(filepath.Join("..", "..", "config", "argocd", "resource_customizations"), u)
				if err != nil {
					t.Fatal(err)
				}
				if h.Status != wantHealth {
					t.Errorf("%s: Argo CD health %+v, want %s", got.Status.LastStatus, h, wantHealth)
				}
				return got
			}

			if got := pass(kstatus.InProgressStatus, argocdhealth.Progressing); got.Status.LastStatus != ecsv1.TaskActivating {
				t.Fatalf("lastStatus %s, want ACTIVATING while side waits for app", got.Status.LastStatus)
			}
			if got := pass(kstatus.CurrentStatus, argocdhealth.Healthy); got.Status.LastStatus != ecsv1.TaskRunning {
				t.Fatalf("lastStatus %s, want RUNNING", got.Status.LastStatus)
			}
			rt.Exit(lsruntime.ContainerID(string(task.UID), "app", 0), tc.exit)
			wantHealth, _ := argocdhealth.FromKstatus(tc.want)
			got := pass(tc.want, wantHealth)
			if got.Status.LastStatus != ecsv1.TaskStopped {
				t.Fatalf("lastStatus %s, want STOPPED", got.Status.LastStatus)
			}
			if r := findCondition(got, ecsv1.ConditionReady); r == nil || r.Reason != tc.wantReason {
				t.Errorf("Ready %+v, want reason %s", r, tc.wantReason)
			}

			// A later pass, with the revision deleted and forgotten: the
			// outcome decided at the stop stays.
			if err := c.Delete(ctx, rev); err != nil {
				t.Fatal(err)
			}
			r.revisions.Clear()
			pass(tc.want, wantHealth)
		})
	}
}

func findCondition(task *ecsv1.Task, typ string) *metav1.Condition {
	for i := range task.Status.Conditions {
		if task.Status.Conditions[i].Type == typ {
			return &task.Status.Conditions[i]
		}
	}
	return nil
}

func toUnstructured(t *testing.T, task *ecsv1.Task) *unstructured.Unstructured {
	t.Helper()
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(task)
	if err != nil {
		t.Fatal(err)
	}
	u := &unstructured.Unstructured{Object: m}
	u.SetGroupVersionKind(ecsv1.GroupVersion.WithKind("Task"))
	return u
}
