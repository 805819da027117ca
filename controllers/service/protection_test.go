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

package service_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ecsv1 "github.com/longshore-io/longshore/api/v1alpha1"
	"github.com/longshore-io/longshore/test/integration/framework"
	"github.com/longshore-io/longshore/test/integration/simagent"
)

// protect records a scale-in protection on the task until at, as its agent
// does when a container PUTs $ECS_AGENT_URI/task-protection/v1/state.
func protect(t *testing.T, tk *ecsv1.Task, at time.Time) {
	t.Helper()
	framework.Eventually(t, 10*time.Second, "protection of "+tk.Name+" recorded", func() error {
		cur := &ecsv1.Task{}
		if err := env.Client.Get(t.Context(), client.ObjectKeyFromObject(tk), cur); err != nil {
			return err
		}
		patch := client.MergeFromWithOptions(cur.DeepCopy(), client.MergeFromWithOptimisticLock{})
		cur.Status.Protection = &ecsv1.TaskProtection{Enabled: true, ExpiresAt: &metav1.Time{Time: at}}
		return env.Client.Status().Patch(t.Context(), cur, patch)
	})
}

// stopAsked tells whether the Service asked the task to stop.
func stopAsked(tk *ecsv1.Task) bool {
	return tk.Spec.DesiredStatus == ecsv1.DesiredStopped || tk.Status.LastStatus == ecsv1.TaskStopped
}

// keptUntil checks that task name is not asked to stop before until, then
// waits until it is (within a few seconds after).
func keptUntil(t *testing.T, svc *ecsv1.Service, name string, until time.Time) {
	t.Helper()
	for time.Now().Before(until.Add(-300 * time.Millisecond)) {
		tk := &ecsv1.Task{}
		if err := env.Client.Get(t.Context(), client.ObjectKey{Namespace: svc.Namespace, Name: name}, tk); err != nil {
			t.Fatal(err)
		}
		if stopAsked(tk) {
			t.Fatalf("protected task %s asked to stop %s before its protection expires (%s, stop %q)", name,
				time.Until(until).Round(time.Millisecond), tk.Status.StoppedReason, tk.Spec.DesiredStatus)
		}
		time.Sleep(100 * time.Millisecond)
	}
	framework.Eventually(t, 15*time.Second, name+" stopped once its protection expired", func() error {
		tk := &ecsv1.Task{}
		if err := env.Client.Get(t.Context(), client.ObjectKey{Namespace: svc.Namespace, Name: name}, tk); err != nil {
			return err
		}
		if !stopAsked(tk) {
			return fmt.Errorf("still %s, desired %s", tk.Status.LastStatus, tk.Spec.DesiredStatus)
		}
		if tk.Status.StopCode != ecsv1.StopCodeServiceSchedulerInitiated {
			return fmt.Errorf("stop code %q", tk.Status.StopCode)
		}
		return nil
	})
}

// protectionService runs Service name of count tasks of family (image
// <family>:v1) in a namespace and Cluster svc-<prefix> of their own, on
// one simulated agent, and returns it steady with its tasks.
func protectionService(t *testing.T, prefix, fam, name string, count int32) (*ecsv1.Service, []ecsv1.Task) {
	t.Helper()
	ns := newNamespace(t)
	newCluster(t, "svc-"+prefix)
	agentFor(t, prefix+"-a", simagent.Options{Cluster: "svc-" + prefix})
	waitConnected(t, prefix+"-a")
	family(t, ns, fam, tdSpec(fam+":v1", 64, 32))
	spec := replica(fam, count)
	spec.Cluster = "svc-" + prefix
	svc := newService(t, ns, name, spec)
	waitSteady(t, svc, fam+":1", int(count), 30*time.Second)
	tasks, err := tasksOf(t.Context(), svc)
	if err != nil {
		t.Fatal(err)
	}
	return svc, tasks
}

// A task protected from scale-in is kept when the Service scales in (the
// unprotected ones go), even to zero, until its protection expires.
func TestProtectedTaskIsKeptOnScaleIn(t *testing.T) {
	t.Parallel()
	svc, tasks := protectionService(t, "protect-in", "worker", "queue", 3)
	// Protect the newest task (the one ECS's order stops first on scale in).
	kept := liveTasks(tasks)[0]
	for _, tk := range liveTasks(tasks) {
		if tk.CreationTimestamp.After(kept.CreationTimestamp.Time) || tk.CreationTimestamp.Equal(&kept.CreationTimestamp) && tk.Name > kept.Name {
			kept = tk
		}
	}
	until := time.Now().Add(8 * time.Second).Truncate(time.Second)
	protect(t, &kept, until)

	// 3 → 1: two unprotected tasks stop, the protected one stays.
	patchService(t, svc, func(s *ecsv1.Service) { one := int32(1); s.Spec.DesiredCount = &one })
	framework.Eventually(t, 20*time.Second, "scaled in to the protected task", func() error {
		tasks, err := tasksOf(t.Context(), svc)
		if err != nil {
			return err
		}
		live := liveTasks(tasks)
		if len(live) != 1 || live[0].Name != kept.Name {
			names := []string{}
			for _, tk := range live {
				names = append(names, tk.Name)
			}
			return fmt.Errorf("live %v, want only %s", names, kept.Name)
		}
		return nil
	})

	// 1 → 0: the protected task holds the scale in up until it expires.
	patchService(t, svc, func(s *ecsv1.Service) { zero := int32(0); s.Spec.DesiredCount = &zero })
	waitEvent(t, svc, fmt.Sprintf("(service queue) is unable to stop 1 task protected from scale-in: %s until %s", kept.Name, until.UTC().Format(time.RFC3339)))
	// The Event is recorded during the pass, its status written at the
	// end of it: the condition follows (CI once read it in between).
	framework.Eventually(t, 5*time.Second, "SteadyState False while the protected task holds the scale in", func() error {
		for _, c := range getService(t, svc).Status.Conditions {
			if c.Type == ecsv1.ConditionSteadyState && (c.Status != metav1.ConditionFalse || !strings.Contains(c.Message, "protected from scale-in")) {
				return fmt.Errorf("%+v", c)
			}
		}
		return nil
	})
	keptUntil(t, svc, kept.Name, until)
	waitSteady(t, svc, "worker:1", 0, 20*time.Second)
}

// A deployment starts the new tasks but does not stop a protected old one
// until its protection expires; then it completes.
func TestProtectedTaskHoldsADeploymentUntilItExpires(t *testing.T) {
	t.Parallel()
	svc, tasks := protectionService(t, "protect-dep", "batch", "jobs", 2)
	ns := svc.Namespace
	kept := liveTasks(tasks)[0]
	until := time.Now().Add(10 * time.Second).Truncate(time.Second)
	protect(t, &kept, until)

	newRevision(t, ns, "batch", "batch:v2", 2)
	// The new deployment's tasks start and become healthy; the
	// unprotected old task is replaced, the protected one waits.
	framework.Eventually(t, 30*time.Second, "two healthy tasks of batch:2 beside the protected one", func() error {
		tasks, err := tasksOf(t.Context(), svc)
		if err != nil {
			return err
		}
		newOK, oldLive := 0, 0
		for _, tk := range liveTasks(tasks) {
			switch {
			case tk.Spec.TaskDefinition == "batch:2" && healthy(&tk, time.Now()):
				newOK++
			case tk.Spec.TaskDefinition == "batch:1":
				oldLive++
				if tk.Name != kept.Name {
					return fmt.Errorf("unprotected old task %s still live", tk.Name)
				}
			}
		}
		if newOK != 2 || oldLive != 1 {
			return fmt.Errorf("%d healthy new tasks, %d old", newOK, oldLive)
		}
		return nil
	})
	got := getService(t, svc)
	if d := got.Status.Deployments[0]; d.RolloutState != ecsv1.RolloutInProgress {
		t.Errorf("deployment %s while a protected old task runs: %s", d.ID, d.RolloutState)
	}
	waitEvent(t, svc, "(service jobs) is unable to stop 1 task protected from scale-in: "+kept.Name)
	keptUntil(t, svc, kept.Name, until)
	got = waitSteady(t, svc, "batch:2", 2, 30*time.Second)
	waitEvent(t, svc, fmt.Sprintf("(service jobs) deployment %s deployment completed.", got.Status.Deployments[0].ID))
}
