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
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ecsv1 "github.com/longshore-io/longshore/api/v1alpha1"
	"github.com/longshore-io/longshore/controllers/service"
	"github.com/longshore-io/longshore/test/integration/framework"
	"github.com/longshore-io/longshore/test/integration/managertest"
	"github.com/longshore-io/longshore/test/integration/simagent"
)

var env *framework.Env

const (
	agentGrace  = 2 * time.Second
	lostTimeout = 3 * time.Second
	// healthyAfter replaces the 40 s of the health rule. Task timestamps
	// have a resolution of one second, so it must be above one second for
	// a task that exits at once to count as never healthy.
	healthyAfter = 2 * time.Second
	// stoppedToKeep is the Reconciler's StoppedTasksToKeep.
	stoppedToKeep = 5
)

func TestMain(m *testing.M) {
	var stop func()
	var err error
	env, stop, err = managertest.Setup(managertest.Options{AgentGrace: agentGrace, InstanceLostTimeout: lostTimeout,
		ResolveGrace: 2 * time.Second, Service: &service.Reconciler{HealthyAfter: healthyAfter,
			StoppedTasksToKeep: stoppedToKeep, MaxConcurrentReconciles: 4}})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	stop()
	os.Exit(code)
}

func newNamespace(t *testing.T) string { return env.NewNamespace(t, "svc") }

func newCluster(t *testing.T, name string) { env.NewCluster(t, name, nil) }

func agentFor(t *testing.T, name string, opts simagent.Options) *simagent.Agent {
	return simagent.ForTest(t, env.Client, name, opts)
}

// waitConnected waits until the manager counts the instances connected.
func waitConnected(t *testing.T, names ...string) {
	t.Helper()
	framework.Eventually(t, 20*time.Second, fmt.Sprintf("instances %v connected", names), func() error {
		for _, n := range names {
			ci := &ecsv1.ContainerInstance{}
			if err := env.Client.Get(t.Context(), client.ObjectKey{Name: n}, ci); err != nil {
				return err
			}
			if !ci.Status.Connected() {
				return fmt.Errorf("%s not connected", n)
			}
		}
		return nil
	})
}

func tdSpec(image string, cpu int32, memory int32) ecsv1.TaskDefinitionSpec {
	return ecsv1.TaskDefinitionSpec{NetworkMode: ecsv1.NetworkModeAWSVPC, ContainerDefinitions: []ecsv1.ContainerDefinition{{
		Name: "web", Image: image, Memory: ptr.To(memory), CPU: cpu}}}
}

func family(t *testing.T, ns, name string, spec ecsv1.TaskDefinitionSpec) {
	env.NewFamily(t, ns, name, spec)
}

func waitRevision(t *testing.T, ns, fam string, n int32) { env.WaitRevision(t, ns, fam, n) }

// newRevision edits the TaskDefinition (its image) and waits for revision n.
func newRevision(t *testing.T, ns, fam, image string, n int32) {
	t.Helper()
	td := &ecsv1.TaskDefinition{}
	if err := env.Client.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: fam}, td); err != nil {
		t.Fatal(err)
	}
	patch := client.MergeFrom(td.DeepCopy())
	td.Spec.ContainerDefinitions[0].Image = image
	if err := env.Client.Patch(t.Context(), td, patch); err != nil {
		t.Fatal(err)
	}
	waitRevision(t, ns, fam, n)
}

func newService(t *testing.T, ns, name string, spec ecsv1.ServiceSpec) *ecsv1.Service {
	t.Helper()
	svc := &ecsv1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Spec: spec}
	if err := env.Client.Create(t.Context(), svc); err != nil {
		t.Fatal(err)
	}
	return svc
}

func getService(t *testing.T, svc *ecsv1.Service) *ecsv1.Service {
	t.Helper()
	got := &ecsv1.Service{}
	if err := env.Client.Get(t.Context(), client.ObjectKeyFromObject(svc), got); err != nil {
		t.Fatal(err)
	}
	return got
}

func patchService(t *testing.T, svc *ecsv1.Service, mutate func(*ecsv1.Service)) {
	t.Helper()
	got := getService(t, svc)
	patch := client.MergeFrom(got.DeepCopy())
	mutate(got)
	if err := env.Client.Patch(t.Context(), got, patch); err != nil {
		t.Fatal(err)
	}
}

// tasksOf lists the Service's tasks through the API (not a cache).
func tasksOf(ctx context.Context, svc *ecsv1.Service) ([]ecsv1.Task, error) {
	var list ecsv1.TaskList
	if err := env.Client.List(ctx, &list, client.InNamespace(svc.Namespace), client.MatchingLabels{ecsv1.LabelService: svc.Name}); err != nil {
		return nil, err
	}
	return list.Items, nil
}

// liveTasks are the tasks that are not STOPPED and not asked to stop.
func liveTasks(tasks []ecsv1.Task) []ecsv1.Task {
	var out []ecsv1.Task
	for _, t := range tasks {
		if t.Status.LastStatus != ecsv1.TaskStopped && t.Spec.DesiredStatus != ecsv1.DesiredStopped && t.Status.StopCode == "" {
			out = append(out, t)
		}
	}
	return out
}

// healthy applies the health rule for tasks without health checks.
func healthy(t *ecsv1.Task, now time.Time) bool {
	return t.Status.LastStatus == ecsv1.TaskRunning && t.Spec.DesiredStatus != ecsv1.DesiredStopped && t.Status.StopCode == "" &&
		t.Status.StartedAt != nil && now.Sub(t.Status.StartedAt.Time) >= healthyAfter
}

// waitSteady waits until the Service runs want tasks of revision, all
// RUNNING, its primary deployment COMPLETED and SteadyState True.
func waitSteady(t *testing.T, svc *ecsv1.Service, revision string, want int, timeout time.Duration) *ecsv1.Service {
	t.Helper()
	var got *ecsv1.Service
	framework.Eventually(t, timeout, fmt.Sprintf("%s steady with %d tasks of %s", svc.Name, want, revision), func() error {
		got = &ecsv1.Service{}
		if err := env.Client.Get(t.Context(), client.ObjectKeyFromObject(svc), got); err != nil {
			return err
		}
		tasks, err := tasksOf(t.Context(), svc)
		if err != nil {
			return err
		}
		n := 0
		for _, tk := range tasks {
			if tk.Status.LastStatus == ecsv1.TaskStopped {
				continue
			}
			if tk.Status.LastStatus != ecsv1.TaskRunning || tk.Spec.TaskDefinition != revision || tk.Spec.DesiredStatus == ecsv1.DesiredStopped {
				return fmt.Errorf("task %s: %s desired %s revision %s", tk.Name, tk.Status.LastStatus, tk.Spec.DesiredStatus, tk.Spec.TaskDefinition)
			}
			n++
		}
		if n != want {
			return fmt.Errorf("%d tasks, want %d", n, want)
		}
		if len(got.Status.Deployments) == 0 || got.Status.Deployments[0].Status != ecsv1.DeploymentPrimary ||
			got.Status.Deployments[0].RolloutState != ecsv1.RolloutCompleted || got.Status.Deployments[0].TaskDefinition != revision {
			return fmt.Errorf("deployments %+v", got.Status.Deployments)
		}
		if !conditionTrue(got, ecsv1.ConditionSteadyState) || got.Status.RunningCount != int32(want) {
			return fmt.Errorf("runningCount %d conditions %+v", got.Status.RunningCount, got.Status.Conditions)
		}
		if got.Status.ObservedGeneration != got.Generation {
			return fmt.Errorf("observedGeneration %d of %d", got.Status.ObservedGeneration, got.Generation)
		}
		return nil
	})
	return got
}

func conditionTrue(svc *ecsv1.Service, typ string) bool {
	for _, c := range svc.Status.Conditions {
		if c.Type == typ {
			return c.Status == metav1.ConditionTrue
		}
	}
	return false
}

// waitEvent waits for an Event on the Service whose note contains want.
func waitEvent(t *testing.T, svc *ecsv1.Service, want string) string {
	t.Helper()
	var note string
	framework.Eventually(t, 20*time.Second, fmt.Sprintf("event %q on %s", want, svc.Name), func() error {
		var list eventsv1.EventList
		if err := env.Client.List(t.Context(), &list, client.InNamespace(svc.Namespace)); err != nil {
			return err
		}
		var notes []string
		for _, e := range list.Items {
			if e.Regarding.Kind != "Service" || e.Regarding.Name != svc.Name {
				continue
			}
			if strings.Contains(e.Note, want) {
				note = e.Note
				return nil
			}
			notes = append(notes, e.Note)
		}
		slices.Sort(notes)
		return fmt.Errorf("events: %q", notes)
	})
	return note
}

func replica(td string, desired int32) ecsv1.ServiceSpec {
	return ecsv1.ServiceSpec{TaskDefinition: td, DesiredCount: ptr.To(desired), SchedulingStrategy: ecsv1.SchedulingReplica}
}
