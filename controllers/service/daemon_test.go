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
	"maps"
	"slices"
	"testing"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	ecsv1 "github.com/longshore-io/longshore/api/v1alpha1"
	"github.com/longshore-io/longshore/test/integration/framework"
	"github.com/longshore-io/longshore/test/integration/simagent"
)

// waitDaemon waits until the DAEMON service runs exactly one RUNNING task
// of revision on each of instances, and nothing else.
func waitDaemon(t *testing.T, svc *ecsv1.Service, revision string, instances ...string) {
	t.Helper()
	slices.Sort(instances)
	framework.Eventually(t, 40*time.Second, fmt.Sprintf("daemon %s on %v", revision, instances), func() error {
		tasks, err := tasksOf(t.Context(), svc)
		if err != nil {
			return err
		}
		on := map[string]int{}
		for _, tk := range tasks {
			if tk.Status.LastStatus == ecsv1.TaskStopped {
				continue
			}
			if tk.Status.LastStatus != ecsv1.TaskRunning || tk.Spec.TaskDefinition != revision || tk.Spec.DesiredStatus == ecsv1.DesiredStopped {
				return fmt.Errorf("task %s on %s: %s desired %s %s", tk.Name, tk.Spec.ContainerInstance, tk.Status.LastStatus, tk.Spec.DesiredStatus, tk.Spec.TaskDefinition)
			}
			on[tk.Spec.ContainerInstance]++
		}
		got := slices.Sorted(maps.Keys(on))
		if !slices.Equal(got, instances) {
			return fmt.Errorf("tasks on %v", on)
		}
		for inst, n := range on {
			if n != 1 {
				return fmt.Errorf("%d tasks on %s", n, inst)
			}
		}
		s := getService(t, svc)
		if s.Status.DesiredCount != int32(len(instances)) || s.Status.RunningCount != int32(len(instances)) || !conditionTrue(s, ecsv1.ConditionSteadyState) {
			return fmt.Errorf("status desired %d running %d conditions %+v", s.Status.DesiredCount, s.Status.RunningCount, s.Status.Conditions)
		}
		return nil
	})
}

func setState(t *testing.T, name string, state ecsv1.ContainerInstanceState) {
	t.Helper()
	ci := &ecsv1.ContainerInstance{}
	if err := env.Client.Get(t.Context(), client.ObjectKey{Name: name}, ci); err != nil {
		t.Fatal(err)
	}
	patch := client.MergeFrom(ci.DeepCopy())
	ci.Spec.State = state
	if err := env.Client.Patch(t.Context(), ci, patch); err != nil {
		t.Fatal(err)
	}
}

func TestDaemonFollowsInstances(t *testing.T) {
	t.Parallel()
	ns := newNamespace(t)
	newCluster(t, "svc-daemon")
	agentFor(t, "daemon-a", simagent.Options{Cluster: "svc-daemon", AvailabilityZone: "a"})
	agentFor(t, "daemon-b", simagent.Options{Cluster: "svc-daemon", AvailabilityZone: "b"})
	// Not eligible: the memberOf constraint excludes zone x.
	agentFor(t, "daemon-x", simagent.Options{Cluster: "svc-daemon", AvailabilityZone: "x"})
	waitConnected(t, "daemon-a", "daemon-b", "daemon-x")
	family(t, ns, "agent", tdSpec("agent:v1", 64, 32))
	svc := newService(t, ns, "logs", ecsv1.ServiceSpec{Cluster: "svc-daemon", TaskDefinition: "agent", SchedulingStrategy: ecsv1.SchedulingDaemon,
		PlacementConstraints: []ecsv1.PlacementConstraint{{Type: ecsv1.PlacementConstraintMemberOf, Expression: "attribute:ecs.availability-zone != x"}}})
	waitDaemon(t, svc, "agent:1", "daemon-a", "daemon-b")
	tasks, _ := tasksOf(t.Context(), svc)
	for _, tk := range tasks {
		if tk.Spec.Group != "service:logs" || tk.Labels[ecsv1.LabelService] != "logs" {
			t.Errorf("task %s group %q labels %v", tk.Name, tk.Spec.Group, tk.Labels)
		}
	}

	// An instance joins.
	c := agentFor(t, "daemon-c", simagent.Options{Cluster: "svc-daemon", AvailabilityZone: "c"})
	waitDaemon(t, svc, "agent:1", "daemon-a", "daemon-b", "daemon-c")

	// DRAINING stops the daemon task there; ACTIVE again starts one.
	setState(t, "daemon-b", ecsv1.ContainerInstanceDraining)
	waitDaemon(t, svc, "agent:1", "daemon-a", "daemon-c")
	setState(t, "daemon-b", ecsv1.ContainerInstanceActive)
	waitDaemon(t, svc, "agent:1", "daemon-a", "daemon-b", "daemon-c")

	// A new revision replaces the task of every instance.
	newRevision(t, ns, "agent", "agent:v2", 2)
	waitDaemon(t, svc, "agent:2", "daemon-a", "daemon-b", "daemon-c")
	got := getService(t, svc)
	if got.Status.Deployments[0].RolloutState != ecsv1.RolloutCompleted || got.Status.Deployments[0].TaskDefinition != "agent:2" {
		t.Errorf("deployments %+v", got.Status.Deployments)
	}

	// An instance leaves (its agent stops): no more task there.
	c.Stop()
	waitDaemon(t, svc, "agent:2", "daemon-a", "daemon-b")
}
