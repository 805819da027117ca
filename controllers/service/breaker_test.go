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
	"sync"
	"testing"
	"time"

	ecsv1 "github.com/longshore-io/longshore/api/v1alpha1"
	"github.com/longshore-io/longshore/test/integration/framework"
	"github.com/longshore-io/longshore/test/integration/simagent"
)

func deploymentOf(svc *ecsv1.Service, revision string) *ecsv1.Deployment {
	for i := range svc.Status.Deployments {
		if svc.Status.Deployments[i].TaskDefinition == revision {
			return &svc.Status.Deployments[i]
		}
	}
	return nil
}

func TestCircuitBreakerFailsAndRollsBack(t *testing.T) {
	t.Parallel()
	ns := newNamespace(t)
	newCluster(t, "svc-breaker")
	// Revision 2 of the family crashes as soon as it runs.
	failing := func(tk *ecsv1.Task) bool { return tk.Status.TaskDefinitionRevision == "app:2" }
	agentFor(t, "breaker-a", simagent.Options{Cluster: "svc-breaker", Fail: failing})
	agentFor(t, "breaker-b", simagent.Options{Cluster: "svc-breaker", Fail: failing})
	waitConnected(t, "breaker-a", "breaker-b")
	family(t, ns, "app", tdSpec("app:v1", 64, 32))
	spec := replica("app", 4)
	spec.Cluster = "svc-breaker"
	spec.DeploymentConfiguration.DeploymentCircuitBreaker = &ecsv1.DeploymentCircuitBreaker{Enable: true, Rollback: true}
	svc := newService(t, ns, "web", spec)
	first := waitSteady(t, svc, "app:1", 4, 30*time.Second).Status.Deployments[0]

	newRevision(t, ns, "app", "app:broken", 2)
	var failed ecsv1.Deployment
	framework.Eventually(t, 60*time.Second, "revision 2 FAILED", func() error {
		got := getService(t, svc)
		d := deploymentOf(got, "app:2")
		if d == nil || d.RolloutState != ecsv1.RolloutFailed {
			return fmt.Errorf("deployments %+v", got.Status.Deployments)
		}
		failed = *d
		return nil
	})
	// The threshold of desiredCount 4 is 3; at most the 4 tasks in flight
	// (maximumPercent 200) fail on top of it.
	if failed.FailedTasks < 3 || failed.FailedTasks > 7 || failed.RolloutStateReason != "ECS deployment circuit breaker: tasks failed to start." {
		t.Errorf("failed deployment %+v: want failedTasks >= 3 (threshold of desiredCount 4) and the ECS reason", failed)
	}
	got := waitSteady(t, svc, "app:1", 4, 60*time.Second)
	prim := got.Status.Deployments[0]
	if prim.ID == first.ID || prim.ID == failed.ID {
		t.Errorf("the rollback is not a new deployment: %+v", got.Status.Deployments)
	}
	if prim.RolloutStateReason != fmt.Sprintf("ECS deployment %s completed.", prim.ID) {
		t.Errorf("rollback deployment reason %q", prim.RolloutStateReason)
	}
	waitEvent(t, svc, fmt.Sprintf("(service web) deployment %s deployment failed: tasks failed to start.", failed.ID))
	waitEvent(t, svc, fmt.Sprintf("(service web) rolling back to deployment %s.", first.ID))

	// The failed revision is not tried again while the Service still
	// follows the family whose latest revision it is.
	time.Sleep(3 * time.Second)
	got = getService(t, svc)
	tasks, _ := tasksOf(t.Context(), svc)
	for _, tk := range liveTasks(tasks) {
		if tk.Spec.TaskDefinition != "app:1" {
			t.Errorf("task %s of %s after the rollback", tk.Name, tk.Spec.TaskDefinition)
		}
	}
	if got.Status.Deployments[0].ID != prim.ID || got.Status.TaskDefinition != "app:1" {
		t.Errorf("deployments moved after the rollback: %+v", got.Status.Deployments)
	}
	if d := deploymentOf(got, "app:2"); d == nil || d.FailedTasks > failed.FailedTasks+failed.RunningCount+failed.PendingCount ||
		d.Status == ecsv1.DeploymentPrimary || d.RolloutState != ecsv1.RolloutFailed {
		t.Errorf("failed deployment now %+v (was %+v)", d, failed)
	}

	// A fixed revision deploys normally.
	newRevision(t, ns, "app", "app:v3", 3)
	waitSteady(t, svc, "app:3", 4, 60*time.Second)
}

func TestCircuitBreakerWithoutRollbackStopsStartingTasks(t *testing.T) {
	t.Parallel()
	ns := newNamespace(t)
	newCluster(t, "svc-norb")
	failing := func(tk *ecsv1.Task) bool { return tk.Status.TaskDefinitionRevision == "app:2" }
	agentFor(t, "norb-a", simagent.Options{Cluster: "svc-norb", Fail: failing})
	waitConnected(t, "norb-a")
	family(t, ns, "app", tdSpec("app:v1", 64, 32))
	spec := replica("app", 2)
	spec.Cluster = "svc-norb"
	spec.DeploymentConfiguration.DeploymentCircuitBreaker = &ecsv1.DeploymentCircuitBreaker{Enable: true}
	svc := newService(t, ns, "web", spec)
	waitSteady(t, svc, "app:1", 2, 30*time.Second)
	newRevision(t, ns, "app", "app:broken", 2)
	var failed ecsv1.Deployment
	framework.Eventually(t, 60*time.Second, "revision 2 FAILED", func() error {
		got := getService(t, svc)
		if d := got.Status.Deployments[0]; d.TaskDefinition != "app:2" || d.RolloutState != ecsv1.RolloutFailed {
			return fmt.Errorf("deployments %+v", got.Status.Deployments)
		}
		failed = got.Status.Deployments[0]
		return nil
	})
	time.Sleep(3 * time.Second)
	got := getService(t, svc)
	// Tasks that were starting when it failed may fail too; no new one starts.
	inFlight := failed.RunningCount + failed.PendingCount
	if d := got.Status.Deployments[0]; d.ID != failed.ID || d.FailedTasks > failed.FailedTasks+inFlight || d.Status != ecsv1.DeploymentPrimary ||
		d.RolloutState != ecsv1.RolloutFailed {
		t.Errorf("the FAILED deployment changed: %+v, was %+v", d, failed)
	}
	tasks, _ := tasksOf(t.Context(), svc)
	old := 0
	for _, tk := range liveTasks(tasks) {
		if tk.Spec.TaskDefinition == "app:2" {
			t.Errorf("task %s of the failed revision still starting", tk.Name)
		}
		if tk.Spec.TaskDefinition == "app:1" && tk.Status.LastStatus == ecsv1.TaskRunning {
			old++
		}
	}
	if old != 2 {
		t.Errorf("%d tasks of revision 1 running, want the 2 kept", old)
	}
	for _, c := range got.Status.Conditions {
		if c.Type == ecsv1.ConditionProgressing && (c.Status != "False" || c.Reason != ecsv1.ReasonDeploymentFailed) {
			t.Errorf("Progressing %+v", c)
		}
	}
}

func TestUnhealthyTasksAreReplaced(t *testing.T) {
	t.Parallel()
	ns := newNamespace(t)
	newCluster(t, "svc-health")
	var sick sync.Map // task name → true: reported UNHEALTHY
	health := func(tk *ecsv1.Task) ecsv1.HealthStatus {
		if _, ok := sick.Load(tk.Name); ok || tk.Status.TaskDefinitionRevision == "app:2" {
			return ecsv1.HealthUnhealthy
		}
		return ecsv1.HealthHealthy
	}
	agentFor(t, "health-a", simagent.Options{Cluster: "svc-health", Health: health})
	waitConnected(t, "health-a")
	td := tdSpec("app:v1", 64, 32)
	td.ContainerDefinitions[0].HealthCheck = &ecsv1.HealthCheck{Command: []string{"CMD-SHELL", "true"}}
	family(t, ns, "app", td)
	spec := replica("app", 3)
	spec.Cluster = "svc-health"
	spec.DeploymentConfiguration.DeploymentCircuitBreaker = &ecsv1.DeploymentCircuitBreaker{Enable: true, Rollback: true}
	svc := newService(t, ns, "web", spec)
	waitSteady(t, svc, "app:1", 3, 30*time.Second)

	tasks, _ := tasksOf(t.Context(), svc)
	victim := liveTasks(tasks)[0].Name
	sick.Store(victim, true)
	framework.Eventually(t, 30*time.Second, "the unhealthy task replaced", func() error {
		tasks, err := tasksOf(t.Context(), svc)
		if err != nil {
			return err
		}
		for _, tk := range tasks {
			if tk.Name == victim {
				if tk.Status.LastStatus != ecsv1.TaskStopped || tk.Status.StoppedReason != "Task failed container health checks" ||
					tk.Status.StopCode != ecsv1.StopCodeServiceSchedulerInitiated {
					return fmt.Errorf("victim %s %s %s", tk.Status.LastStatus, tk.Status.StopCode, tk.Status.StoppedReason)
				}
				return nil
			}
		}
		return fmt.Errorf("victim %s not found", victim)
	})
	got := waitSteady(t, svc, "app:1", 3, 30*time.Second)
	if d := got.Status.Deployments[0]; d.FailedTasks != 1 || d.RolloutState != ecsv1.RolloutCompleted {
		t.Errorf("deployment %+v: want the replaced task counted as failed", d)
	}

	// A revision whose tasks never pass their health checks fails and rolls back.
	newRevision(t, ns, "app", "app:v2", 2)
	framework.Eventually(t, 60*time.Second, "revision 2 FAILED", func() error {
		got := getService(t, svc)
		if d := deploymentOf(got, "app:2"); d == nil || d.RolloutState != ecsv1.RolloutFailed {
			return fmt.Errorf("deployments %+v", got.Status.Deployments)
		}
		return nil
	})
	got = waitSteady(t, svc, "app:1", 3, 60*time.Second)
	if !strings.HasPrefix(got.Status.Deployments[0].RolloutStateReason, "ECS deployment ") {
		t.Errorf("rollback deployment %+v", got.Status.Deployments[0])
	}
}
