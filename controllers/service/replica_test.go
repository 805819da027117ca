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
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ecsv1 "github.com/longshore-io/longshore/api/v1alpha1"
	"github.com/longshore-io/longshore/controllers/service"
	"github.com/longshore-io/longshore/test/integration/framework"
	"github.com/longshore-io/longshore/test/integration/simagent"
)

var taskNameRE = regexp.MustCompile(`^web-[0-9]{5}-[0-9]+$`)

// perInstance counts the live tasks per instance.
func perInstance(tasks []ecsv1.Task) map[string]int {
	out := map[string]int{}
	for _, tk := range liveTasks(tasks) {
		out[tk.Spec.ContainerInstance]++
	}
	return out
}

// leveled is dist after removing n tasks, one at a time, from the
// instance with the most (ties: any, the counts are the same).
func leveled(dist map[string]int, n int) map[string]int {
	out := maps.Clone(dist)
	for range n {
		best := ""
		for k, v := range out {
			if best == "" || v > out[best] || (v == out[best] && k < best) {
				best = k
			}
		}
		out[best]--
		if out[best] == 0 {
			delete(out, best)
		}
	}
	return out
}

// counts are the values of dist, sorted.
func counts(dist map[string]int) []int { return slices.Sorted(maps.Values(dist)) }

func TestScaleOutAndInThroughSpecAndScaleSubresource(t *testing.T) {
	t.Parallel()
	ns := newNamespace(t)
	newCluster(t, "svc-scale")
	for _, az := range []string{"a", "b", "c"} {
		agentFor(t, "scale-"+az, simagent.Options{Cluster: "svc-scale", AvailabilityZone: az})
	}
	waitConnected(t, "scale-a", "scale-b", "scale-c")
	family(t, ns, "nginx", tdSpec("busybox", 128, 64))
	spec := replica("nginx", 3)
	spec.Cluster = "svc-scale"
	svc := newService(t, ns, "web", spec)

	got := waitSteady(t, svc, "nginx:1", 3, 30*time.Second)
	dep := got.Status.Deployments[0]
	if !strings.HasPrefix(dep.ID, service.DeploymentIDPrefix) || len(dep.ID) != len(service.DeploymentIDPrefix)+19 {
		t.Errorf("deployment id %q, want ecs-svc/<19 digits>", dep.ID)
	}
	if got.Status.TaskDefinition != "nginx:1" || got.Status.DesiredCount != 3 || got.Status.Selector != ecsv1.LabelService+"=web" {
		t.Errorf("status taskDefinition %q desiredCount %d selector %q", got.Status.TaskDefinition, got.Status.DesiredCount, got.Status.Selector)
	}
	if !slices.Contains(got.Finalizers, ecsv1.FinalizerServiceDrain) {
		t.Errorf("finalizers %v", got.Finalizers)
	}
	tasks, err := tasksOf(t.Context(), svc)
	if err != nil {
		t.Fatal(err)
	}
	for _, tk := range tasks {
		if !taskNameRE.MatchString(tk.Name) || !strings.HasPrefix(tk.Name, "web-"+dep.ID[len(dep.ID)-5:]+"-") {
			t.Errorf("task name %q (deployment %s)", tk.Name, dep.ID)
		}
		if tk.Spec.StartedBy != dep.ID || tk.Spec.Group != "service:web" || tk.Spec.TaskDefinition != "nginx:1" || tk.Spec.Cluster != "svc-scale" {
			t.Errorf("task %s spec %+v", tk.Name, tk.Spec)
		}
		if tk.Labels[ecsv1.LabelService] != "web" || "ecs-svc/"+tk.Labels[ecsv1.LabelDeployment] != dep.ID {
			t.Errorf("task %s labels %v", tk.Name, tk.Labels)
		}
		if ref := metav1.GetControllerOf(&tk); ref == nil || ref.Kind != "Service" || ref.UID != got.UID {
			t.Errorf("task %s controller %+v", tk.Name, ref)
		}
	}
	waitEvent(t, svc, "(service web) has started 3 tasks: (task web-")
	waitEvent(t, svc, "(service web) has reached a steady state.")

	// kubectl scale: the scale subresource.
	scale := &autoscalingv1.Scale{}
	if err := env.Client.SubResource("scale").Get(t.Context(), got, scale); err != nil {
		t.Fatal(err)
	}
	if scale.Spec.Replicas != 3 || scale.Status.Replicas != 3 || scale.Status.Selector != ecsv1.LabelService+"=web" {
		t.Errorf("scale %+v", scale)
	}
	scale.Spec.Replicas = 6
	if err := env.Client.SubResource("scale").Update(t.Context(), got, client.WithSubResourceBody(scale)); err != nil {
		t.Fatal(err)
	}
	waitSteady(t, svc, "nginx:1", 6, 30*time.Second)
	tasks, _ = tasksOf(t.Context(), svc)
	// Placement is the task controller's; scale in must level what it did.
	want := leveled(perInstance(tasks), 3)
	if got := getService(t, svc); got.Status.Deployments[0].ID != dep.ID {
		t.Errorf("scaling started a deployment: %+v", got.Status.Deployments)
	}

	// Scale in keeps the spread balanced and stops with ServiceSchedulerInitiated.
	patchService(t, svc, func(s *ecsv1.Service) { s.Spec.DesiredCount = ptr.To[int32](3) })
	waitSteady(t, svc, "nginx:1", 3, 30*time.Second)
	tasks, _ = tasksOf(t.Context(), svc)
	if got := perInstance(tasks); !slices.Equal(counts(got), counts(want)) {
		t.Errorf("after scale in the tasks per instance are %v, want %v (always stop on the instance with the most)", got, want)
	}
	stopped := 0
	for _, tk := range tasks {
		if tk.Status.LastStatus != ecsv1.TaskStopped {
			continue
		}
		stopped++
		if tk.Status.StopCode != ecsv1.StopCodeServiceSchedulerInitiated ||
			tk.Status.StoppedReason != fmt.Sprintf("Scaling activity initiated by (deployment %s)", dep.ID) {
			t.Errorf("stopped task %s: stopCode %q reason %q", tk.Name, tk.Status.StopCode, tk.Status.StoppedReason)
		}
	}
	if stopped == 0 || stopped > stoppedToKeep {
		t.Errorf("%d stopped tasks kept, want 1..%d", stopped, stoppedToKeep)
	}
	waitEvent(t, svc, "(service web) has stopped 3 running tasks: (task web-")

	// To zero and back.
	patchService(t, svc, func(s *ecsv1.Service) { s.Spec.DesiredCount = ptr.To[int32](0) })
	waitSteady(t, svc, "nginx:1", 0, 30*time.Second)
	patchService(t, svc, func(s *ecsv1.Service) { s.Spec.DesiredCount = ptr.To[int32](2) })
	waitSteady(t, svc, "nginx:1", 2, 30*time.Second)
	framework.Eventually(t, 10*time.Second, "old stopped tasks deleted", func() error {
		tasks, err := tasksOf(t.Context(), svc)
		if err != nil {
			return err
		}
		n := 0
		for _, tk := range tasks {
			if tk.Status.LastStatus == ecsv1.TaskStopped {
				n++
			}
		}
		if n > stoppedToKeep {
			return fmt.Errorf("%d stopped tasks", n)
		}
		return nil
	})
}

// monitor polls the Service's tasks every 50 ms during a rollout and
// records the most tasks not STOPPED and the fewest healthy ones.
type monitor struct {
	stop          chan struct{}
	done          chan struct{}
	maxNonStopped int
	minHealthy    int
	observations  int
	err           error
}

func watchRollout(t *testing.T, svc *ecsv1.Service) *monitor {
	m := &monitor{stop: make(chan struct{}), done: make(chan struct{}), minHealthy: 1 << 30}
	go func() {
		defer close(m.done)
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-m.stop:
				return
			case <-tick.C:
			}
			tasks, err := tasksOf(t.Context(), svc)
			if err != nil {
				m.err = err
				return
			}
			now := time.Now()
			nonStopped, h := 0, 0
			for i := range tasks {
				if tasks[i].Status.LastStatus != ecsv1.TaskStopped {
					nonStopped++
				}
				if healthy(&tasks[i], now) {
					h++
				}
			}
			m.maxNonStopped = max(m.maxNonStopped, nonStopped)
			m.minHealthy = min(m.minHealthy, h)
			m.observations++
		}
	}()
	return m
}

func (m *monitor) finish(t *testing.T) {
	t.Helper()
	close(m.stop)
	<-m.done
	if m.err != nil {
		t.Fatal(m.err)
	}
}

func TestRollingUpdateStaysWithinMinimumAndMaximum(t *testing.T) {
	t.Parallel()
	ns := newNamespace(t)
	newCluster(t, "svc-roll")
	agentFor(t, "roll-a", simagent.Options{Cluster: "svc-roll"})
	agentFor(t, "roll-b", simagent.Options{Cluster: "svc-roll"})
	waitConnected(t, "roll-a", "roll-b")
	family(t, ns, "app", tdSpec("app:v1", 64, 32))
	spec := replica("app", 4)
	spec.Cluster = "svc-roll"
	spec.DeploymentConfiguration = ecsv1.DeploymentConfiguration{MinimumHealthyPercent: ptr.To[int32](50), MaximumPercent: ptr.To[int32](150)}
	svc := newService(t, ns, "web", spec)
	first := waitSteady(t, svc, "app:1", 4, 30*time.Second).Status.Deployments[0]

	// A new revision of the family rolls out: min 50 % = 2 healthy, max 150 % = 6.
	m := watchRollout(t, svc)
	newRevision(t, ns, "app", "app:v2", 2)
	got := waitSteady(t, svc, "app:2", 4, 60*time.Second)
	m.finish(t)
	t.Logf("rollout 1: %d observations, at most %d tasks not stopped, at least %d healthy", m.observations, m.maxNonStopped, m.minHealthy)
	if m.maxNonStopped > 6 {
		t.Errorf("%d tasks RUNNING or PENDING during the rollout, maximumPercent allows 6", m.maxNonStopped)
	}
	if m.minHealthy < 2 {
		t.Errorf("%d healthy tasks during the rollout, minimumHealthyPercent wants 2", m.minHealthy)
	}
	if m.maxNonStopped <= 4 || m.minHealthy >= 4 {
		t.Errorf("the rollout used neither bound (max %d, min healthy %d): the test proves nothing", m.maxNonStopped, m.minHealthy)
	}
	if m.observations < 20 {
		t.Errorf("only %d observations", m.observations)
	}
	if len(got.Status.Deployments) != 2 || got.Status.Deployments[1].ID != first.ID ||
		got.Status.Deployments[1].Status != ecsv1.DeploymentInactive || got.Status.Deployments[0].ID == first.ID {
		t.Errorf("deployments %+v", got.Status.Deployments)
	}
	second := got.Status.Deployments[0]
	waitEvent(t, svc, fmt.Sprintf("(service web) deployment %s deployment completed.", second.ID))

	// Pinning spec.taskDefinition rolls back to revision 1, with min 100 % = 4 and max 200 % = 8.
	m = watchRollout(t, svc)
	patchService(t, svc, func(s *ecsv1.Service) {
		s.Spec.TaskDefinition = "app:1"
		s.Spec.DeploymentConfiguration = ecsv1.DeploymentConfiguration{MinimumHealthyPercent: ptr.To[int32](100), MaximumPercent: ptr.To[int32](200)}
	})
	got = waitSteady(t, svc, "app:1", 4, 60*time.Second)
	m.finish(t)
	t.Logf("rollout 2: %d observations, at most %d tasks not stopped, at least %d healthy", m.observations, m.maxNonStopped, m.minHealthy)
	if m.maxNonStopped > 8 || m.minHealthy < 4 {
		t.Errorf("rollout 2: %d tasks not stopped (max 8), %d healthy (min 4)", m.maxNonStopped, m.minHealthy)
	}
	if m.maxNonStopped <= 4 {
		t.Errorf("rollout 2 never started a new task before stopping an old one (max %d)", m.maxNonStopped)
	}
	if got.Status.Deployments[0].ID == first.ID || got.Status.Deployments[0].ID == second.ID {
		t.Errorf("a pinned revision made no new deployment: %+v", got.Status.Deployments)
	}
}

func TestRollingRestartWithTheRestartedAtAnnotation(t *testing.T) {
	t.Parallel()
	ns := newNamespace(t)
	newCluster(t, "svc-restart")
	agentFor(t, "restart-a", simagent.Options{Cluster: "svc-restart"})
	waitConnected(t, "restart-a")
	family(t, ns, "app", tdSpec("app", 64, 32))
	spec := replica("app:1", 2)
	spec.Cluster = "svc-restart"
	svc := newService(t, ns, "web", spec)
	before := waitSteady(t, svc, "app:1", 2, 30*time.Second)
	oldTasks, _ := tasksOf(t.Context(), svc)

	patchService(t, svc, func(s *ecsv1.Service) {
		s.Annotations = map[string]string{ecsv1.AnnotationRestartedAt: time.Now().Format(time.RFC3339)}
	})
	framework.Eventually(t, 30*time.Second, "a new deployment of the same revision", func() error {
		got := getService(t, svc)
		if len(got.Status.Deployments) < 2 || got.Status.Deployments[0].ID == before.Status.Deployments[0].ID {
			return fmt.Errorf("deployments %+v", got.Status.Deployments)
		}
		return nil
	})
	after := waitSteady(t, svc, "app:1", 2, 30*time.Second)
	tasks, _ := tasksOf(t.Context(), svc)
	for _, tk := range liveTasks(tasks) {
		for _, o := range oldTasks {
			if o.UID == tk.UID {
				t.Errorf("task %s survived the restart", tk.Name)
			}
		}
		if tk.Spec.StartedBy != after.Status.Deployments[0].ID {
			t.Errorf("task %s started by %s, want %s", tk.Name, tk.Spec.StartedBy, after.Status.Deployments[0].ID)
		}
	}
	// Nothing more happens while the annotation stays.
	time.Sleep(2 * time.Second)
	if got := getService(t, svc); got.Status.Deployments[0].ID != after.Status.Deployments[0].ID {
		t.Errorf("another deployment without a change: %+v", got.Status.Deployments)
	}
}

func TestInstanceLossReplacesTasksElsewhere(t *testing.T) {
	t.Parallel()
	ns := newNamespace(t)
	newCluster(t, "svc-loss")
	agents := map[string]*simagent.Agent{}
	for _, n := range []string{"loss-a", "loss-b", "loss-c"} {
		agents[n] = agentFor(t, n, simagent.Options{Cluster: "svc-loss"})
	}
	waitConnected(t, "loss-a", "loss-b", "loss-c")
	family(t, ns, "app", tdSpec("app", 64, 32))
	spec := replica("app", 2)
	spec.Cluster = "svc-loss"
	svc := newService(t, ns, "web", spec)
	waitSteady(t, svc, "app:1", 2, 30*time.Second)
	tasks, _ := tasksOf(t.Context(), svc)
	victim := liveTasks(tasks)[0]
	lost := victim.Spec.ContainerInstance
	agents[lost].Pause()
	t.Cleanup(agents[lost].Resume)

	framework.Eventually(t, 30*time.Second, "the lost task replaced", func() error {
		tasks, err := tasksOf(t.Context(), svc)
		if err != nil {
			return err
		}
		running := 0
		for _, tk := range liveTasks(tasks) {
			if tk.Spec.ContainerInstance == lost {
				return fmt.Errorf("task %s still on the lost instance %s", tk.Name, lost)
			}
			if tk.Status.LastStatus == ecsv1.TaskRunning {
				running++
			}
		}
		if running != 2 {
			return fmt.Errorf("%d running tasks", running)
		}
		return nil
	})
	// The lost task says STOPPED twice, as ECS shows it: lastStatus (the
	// manager) and desiredStatus (the Service, which owns its tasks' spec).
	framework.Eventually(t, 10*time.Second, "the lost task STOPPED in status and spec", func() error {
		got := &ecsv1.Task{}
		if err := env.Client.Get(t.Context(), client.ObjectKeyFromObject(&victim), got); err != nil {
			return client.IgnoreNotFound(err) // deleted: kept only StoppedTasksToKeep
		}
		if got.Status.StopCode != ecsv1.StopCodeInfrastructureHealth || got.Spec.DesiredStatus != ecsv1.DesiredStopped {
			return fmt.Errorf("stopCode %q, desiredStatus %q", got.Status.StopCode, got.Spec.DesiredStatus)
		}
		return nil
	})
	s := getService(t, svc)
	if s.Status.Deployments[0].FailedTasks != 0 {
		t.Errorf("a lost instance counted as a failed task: %+v", s.Status.Deployments[0])
	}
}

func TestDeletionDrainsTasksFirst(t *testing.T) {
	t.Parallel()
	ns := newNamespace(t)
	newCluster(t, "svc-delete")
	agentFor(t, "delete-a", simagent.Options{Cluster: "svc-delete", Poll: 300 * time.Millisecond})
	waitConnected(t, "delete-a")
	family(t, ns, "app", tdSpec("app", 64, 32))
	spec := replica("app", 3)
	spec.Cluster = "svc-delete"
	svc := newService(t, ns, "web", spec)
	waitSteady(t, svc, "app:1", 3, 30*time.Second)
	if err := env.Client.Delete(t.Context(), svc); err != nil {
		t.Fatal(err)
	}
	sawDraining := false
	framework.Eventually(t, 30*time.Second, "the Service gone", func() error {
		got := &ecsv1.Service{}
		err := env.Client.Get(t.Context(), client.ObjectKeyFromObject(svc), got)
		tasks, lerr := tasksOf(t.Context(), svc)
		if lerr != nil {
			return lerr
		}
		if err == nil {
			if len(tasks) > 0 {
				sawDraining = true
			}
			return fmt.Errorf("still there with %d tasks, conditions %+v", len(tasks), got.Status.Conditions)
		}
		if len(tasks) != 0 {
			t.Fatalf("the Service went before its %d tasks", len(tasks))
		}
		return client.IgnoreNotFound(err)
	})
	if !sawDraining {
		t.Error("never saw the Service waiting for its tasks")
	}
}

func TestServicesCompetingForScarceCapacityConverge(t *testing.T) {
	t.Parallel()
	ns := newNamespace(t)
	newCluster(t, "svc-scarce")
	agentFor(t, "scarce-a", simagent.Options{Cluster: "svc-scarce", Cores: 2}) // 2048 cpu units: 4 tasks of 512
	waitConnected(t, "scarce-a")
	family(t, ns, "app", tdSpec("app", 512, 32))
	specA, specB := replica("app", 3), replica("app", 3)
	specA.Cluster, specB.Cluster = "svc-scarce", "svc-scarce"
	a := newService(t, ns, "alpha", specA)
	b := newService(t, ns, "beta", specB)
	framework.Eventually(t, 30*time.Second, "the instance full", func() error {
		var n int32
		for _, s := range []*ecsv1.Service{a, b} {
			n += getService(t, s).Status.RunningCount
		}
		if n != 4 {
			return fmt.Errorf("%d running", n)
		}
		return nil
	})
	short := a
	if getService(t, b).Status.RunningCount < getService(t, a).Status.RunningCount {
		short = b
	}
	waitEvent(t, short, "("+"service "+short.Name+") was unable to place a task because no container instance met all of its requirements.")
	// One service that cannot place all its tasks does not start more.
	time.Sleep(time.Second)
	for _, s := range []*ecsv1.Service{a, b} {
		tasks, _ := tasksOf(t.Context(), s)
		if n := len(liveTasks(tasks)); n != 3 {
			t.Errorf("%s has %d live tasks, want 3", s.Name, n)
		}
	}
	patchService(t, a, func(s *ecsv1.Service) { s.Spec.DesiredCount = ptr.To[int32](1) })
	waitSteady(t, a, "app:1", 1, 30*time.Second)
	waitSteady(t, b, "app:1", 3, 30*time.Second)
}

func TestDrainingInstanceTasksMoveElsewhere(t *testing.T) {
	t.Parallel()
	ns := newNamespace(t)
	newCluster(t, "svc-drain")
	for _, n := range []string{"drain-a", "drain-b", "drain-c"} {
		agentFor(t, n, simagent.Options{Cluster: "svc-drain"})
	}
	waitConnected(t, "drain-a", "drain-b", "drain-c")
	family(t, ns, "app", tdSpec("app", 64, 32))
	spec := replica("app", 2)
	spec.Cluster = "svc-drain"
	spec.PlacementConstraints = []ecsv1.PlacementConstraint{{Type: ecsv1.PlacementConstraintDistinctInstance}}
	svc := newService(t, ns, "web", spec)
	before := waitSteady(t, svc, "app:1", 2, 30*time.Second)
	tasks, _ := tasksOf(t.Context(), svc)
	drained := liveTasks(tasks)[0].Spec.ContainerInstance
	m := watchRollout(t, svc)
	setState(t, drained, ecsv1.ContainerInstanceDraining)
	framework.Eventually(t, 30*time.Second, "the task moved off the DRAINING instance", func() error {
		tasks, err := tasksOf(t.Context(), svc)
		if err != nil {
			return err
		}
		pi := perInstance(tasks)
		if pi[drained] != 0 || len(pi) != 2 {
			return fmt.Errorf("tasks per instance %v", pi)
		}
		return nil
	})
	waitSteady(t, svc, "app:1", 2, 30*time.Second)
	m.finish(t)
	// Defaults: minimumHealthyPercent 100 (2 healthy), maximumPercent 200 (4).
	if m.maxNonStopped > 4 || m.minHealthy < 2 {
		t.Errorf("draining: %d tasks not stopped (max 4), %d healthy (min 2)", m.maxNonStopped, m.minHealthy)
	}
	if got := getService(t, svc); got.Status.Deployments[0].ID != before.Status.Deployments[0].ID {
		t.Errorf("draining started a deployment: %+v", got.Status.Deployments)
	}
}
