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

package controlplane

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ecsv1 "github.com/longshore-io/longshore/api/v1alpha1"
	"github.com/longshore-io/longshore/test/integration/framework"
	"github.com/longshore-io/longshore/test/integration/simagent"
)

func web(memory int32) ecsv1.TaskDefinitionSpec {
	return ecsv1.TaskDefinitionSpec{NetworkMode: ecsv1.NetworkModeAWSVPC, ContainerDefinitions: []ecsv1.ContainerDefinition{{
		Name: "web", Image: "busybox", Memory: ptr.To(memory), CPU: 256}}}
}

func TestDefaultClusterExists(t *testing.T) {
	framework.Eventually(t, 20*time.Second, "default Cluster", func() error {
		return env.Client.Get(t.Context(), client.ObjectKey{Name: "default"}, &ecsv1.Cluster{})
	})
}

func TestPlacementHonoursConstraintsAndResolvesFamily(t *testing.T) {
	ns := newNamespace(t)
	newCluster(t, "cp-place", nil)
	for _, az := range []string{"a", "b", "c"} {
		agentFor(t, "place-"+az, simagent.Options{Cluster: "cp-place", AvailabilityZone: az})
	}
	family(t, ns, "web", web(128))
	task := newTask(t, ns, "in-b", ecsv1.TaskSpec{Cluster: "cp-place", TaskDefinition: "web",
		PlacementConstraints: []ecsv1.PlacementConstraint{{Type: ecsv1.PlacementConstraintMemberOf, Expression: "attribute:ecs.availability-zone == b"}}})
	got := waitTask(t, task, 20*time.Second, "RUNNING", running)
	if got.Spec.ContainerInstance != "place-b" {
		t.Errorf("placed on %q, want place-b", got.Spec.ContainerInstance)
	}
	if got.Status.TaskDefinitionRevision != "web:1" || got.Status.Group != "family:web" {
		t.Errorf("revision %q group %q", got.Status.TaskDefinitionRevision, got.Status.Group)
	}
	if got.Labels[ecsv1.LabelContainerInstance] != "place-b" || got.Labels[ecsv1.LabelFamily] != "web" {
		t.Errorf("labels %v", got.Labels)
	}
	if c := apimeta.FindStatusCondition(got.Status.Conditions, ecsv1.ConditionScheduled); c == nil || c.Status != metav1.ConditionTrue {
		t.Errorf("Scheduled = %+v", c)
	}

	// distinctInstance spreads a group over the three instances.
	seen := map[string]bool{}
	for i := range 3 {
		tk := newTask(t, ns, fmt.Sprintf("distinct-%d", i), ecsv1.TaskSpec{Cluster: "cp-place", TaskDefinition: "web:1", Group: "distinct",
			PlacementConstraints: []ecsv1.PlacementConstraint{{Type: ecsv1.PlacementConstraintDistinctInstance}}})
		g := waitTask(t, tk, 20*time.Second, "RUNNING", running)
		seen[g.Spec.ContainerInstance] = true
	}
	if len(seen) != 3 {
		t.Errorf("distinctInstance tasks landed on %v, want 3 different instances", seen)
	}
	fourth := newTask(t, ns, "distinct-3", ecsv1.TaskSpec{Cluster: "cp-place", TaskDefinition: "web:1", Group: "distinct",
		PlacementConstraints: []ecsv1.PlacementConstraint{{Type: ecsv1.PlacementConstraintDistinctInstance}}})
	waitTask(t, fourth, 20*time.Second, "Unplaceable", func(tk *ecsv1.Task) error {
		c := apimeta.FindStatusCondition(tk.Status.Conditions, ecsv1.ConditionScheduled)
		if c == nil || c.Status != metav1.ConditionFalse || tk.Spec.ContainerInstance != "" || tk.Status.LastStatus != ecsv1.TaskProvisioning {
			return fmt.Errorf("scheduled %+v, instance %q, lastStatus %s", c, tk.Spec.ContainerInstance, tk.Status.LastStatus)
		}
		return nil
	})
}

func TestRevisionResolutionFailures(t *testing.T) {
	ns := newNamespace(t)
	task := newTask(t, ns, "nofamily", ecsv1.TaskSpec{TaskDefinition: "absent"})
	got := waitTask(t, task, 20*time.Second, "STOPPED", func(tk *ecsv1.Task) error {
		if tk.Status.LastStatus != ecsv1.TaskStopped {
			return fmt.Errorf("lastStatus %s", tk.Status.LastStatus)
		}
		return nil
	})
	if got.Status.StopCode != ecsv1.StopCodeTaskFailedToStart || !strings.Contains(got.Status.StoppedReason, "TaskDefinition absent has no ACTIVE revision") {
		t.Errorf("stopCode %q reason %q", got.Status.StopCode, got.Status.StoppedReason)
	}
	task2 := newTask(t, ns, "norevision", ecsv1.TaskSpec{TaskDefinition: "absent:4"})
	got = waitTask(t, task2, 20*time.Second, "STOPPED", func(tk *ecsv1.Task) error {
		if tk.Status.LastStatus != ecsv1.TaskStopped {
			return fmt.Errorf("lastStatus %s", tk.Status.LastStatus)
		}
		return nil
	})
	if !strings.Contains(got.Status.StoppedReason, "TaskDefinition absent:4 not found") {
		t.Errorf("reason %q", got.Status.StoppedReason)
	}
}

// TestTaskBeforeItsTaskDefinition: a Task applied before its
// TaskDefinition (one GitOps apply, any order) waits and then runs.
func TestTaskBeforeItsTaskDefinition(t *testing.T) {
	ns := newNamespace(t)
	newCluster(t, "cp-order", nil)
	agentFor(t, "order-a", simagent.Options{Cluster: "cp-order"})
	task := newTask(t, ns, "early", ecsv1.TaskSpec{Cluster: "cp-order", TaskDefinition: "late"})
	waitTask(t, task, 10*time.Second, "waiting for its TaskDefinition", func(tk *ecsv1.Task) error {
		c := apimeta.FindStatusCondition(tk.Status.Conditions, ecsv1.ConditionScheduled)
		if c == nil || c.Reason != ecsv1.ReasonRevisionNotFound || tk.Status.LastStatus != ecsv1.TaskProvisioning {
			return fmt.Errorf("scheduled %+v lastStatus %s", c, tk.Status.LastStatus)
		}
		return nil
	})
	family(t, ns, "late", web(64))
	got := waitTask(t, task, 20*time.Second, "RUNNING", running)
	if got.Status.TaskDefinitionRevision != "late:1" {
		t.Errorf("revision %q", got.Status.TaskDefinitionRevision)
	}
}

func TestUnplaceableTaskIsPlacedWhenCapacityArrives(t *testing.T) {
	ns := newNamespace(t)
	newCluster(t, "cp-capacity", nil)
	agentFor(t, "small", simagent.Options{Cluster: "cp-capacity", MemoryMiB: 1024})
	family(t, ns, "big", web(4000))
	task := newTask(t, ns, "big", ecsv1.TaskSpec{Cluster: "cp-capacity", TaskDefinition: "big"})
	got := waitTask(t, task, 20*time.Second, "Unplaceable", func(tk *ecsv1.Task) error {
		c := apimeta.FindStatusCondition(tk.Status.Conditions, ecsv1.ConditionScheduled)
		if c == nil || c.Status != metav1.ConditionFalse {
			return fmt.Errorf("scheduled %+v", c)
		}
		return nil
	})
	msg := apimeta.FindStatusCondition(got.Status.Conditions, ecsv1.ConditionScheduled).Message
	if !strings.Contains(msg, "small") || !strings.Contains(strings.ToLower(msg), "memory") {
		t.Errorf("unplaceable message %q should name the closest instance and the missing memory", msg)
	}
	agentFor(t, "large", simagent.Options{Cluster: "cp-capacity", MemoryMiB: 8192})
	got = waitTask(t, task, 20*time.Second, "RUNNING", running)
	if got.Spec.ContainerInstance != "large" {
		t.Errorf("placed on %q", got.Spec.ContainerInstance)
	}
}

func TestDrainingInstanceGetsNoTasks(t *testing.T) {
	ns := newNamespace(t)
	newCluster(t, "cp-drain", nil)
	agentFor(t, "drain-a", simagent.Options{Cluster: "cp-drain"})
	agentFor(t, "drain-b", simagent.Options{Cluster: "cp-drain"})
	ci := &ecsv1.ContainerInstance{}
	if err := env.Client.Get(t.Context(), client.ObjectKey{Name: "drain-a"}, ci); err != nil {
		t.Fatal(err)
	}
	patch := client.MergeFrom(ci.DeepCopy())
	ci.Spec.State = ecsv1.ContainerInstanceDraining
	if err := env.Client.Patch(t.Context(), ci, patch); err != nil {
		t.Fatal(err)
	}
	family(t, ns, "web", web(64))
	for i := range 4 {
		tk := newTask(t, ns, fmt.Sprintf("t%d", i), ecsv1.TaskSpec{Cluster: "cp-drain", TaskDefinition: "web"})
		if g := waitTask(t, tk, 20*time.Second, "RUNNING", running); g.Spec.ContainerInstance != "drain-b" {
			t.Errorf("task %s placed on DRAINING %s", tk.Name, g.Spec.ContainerInstance)
		}
	}
}

// TestStartTaskOnAnotherClustersInstance: a Task bound at creation to an
// instance of another Cluster is refused, as ECS StartTask refuses it.
func TestStartTaskOnAnotherClustersInstance(t *testing.T) {
	ns := newNamespace(t)
	newCluster(t, "cp-own", nil)
	newCluster(t, "cp-other", nil)
	agentFor(t, "own-a", simagent.Options{Cluster: "cp-own", Cores: 2, MemoryMiB: 2048})
	family(t, ns, "web", web(256))
	waitTask(t, newTask(t, ns, "same", ecsv1.TaskSpec{Cluster: "cp-own", TaskDefinition: "web", ContainerInstance: "own-a"}),
		20*time.Second, "RUNNING", running)
	got := waitTask(t, newTask(t, ns, "other", ecsv1.TaskSpec{Cluster: "cp-other", TaskDefinition: "web", ContainerInstance: "own-a"}),
		20*time.Second, "STOPPED", func(tk *ecsv1.Task) error {
			if tk.Status.LastStatus != ecsv1.TaskStopped {
				return fmt.Errorf("lastStatus %s", tk.Status.LastStatus)
			}
			return nil
		})
	want := "Container instance own-a is in cluster cp-own, not in the task's cluster cp-other"
	if got.Status.StopCode != ecsv1.StopCodeTaskFailedToStart || got.Status.StoppedReason != want {
		t.Errorf("stopCode %q reason %q, want TaskFailedToStart %q", got.Status.StopCode, got.Status.StoppedReason, want)
	}
}

func TestInstanceAccountingAndSubnets(t *testing.T) {
	ns := newNamespace(t)
	newCluster(t, "cp-acct", func(c *ecsv1.Cluster) { c.Spec.TaskNetwork.CIDR = "10.90.0.0/16" })
	agentFor(t, "acct-a", simagent.Options{Cluster: "cp-acct", Cores: 2, MemoryMiB: 2048})
	agentFor(t, "acct-b", simagent.Options{Cluster: "cp-acct", Cores: 2, MemoryMiB: 2048})
	family(t, ns, "web", web(256))
	tk := newTask(t, ns, "one", ecsv1.TaskSpec{Cluster: "cp-acct", TaskDefinition: "web", ContainerInstance: "acct-a"})
	waitTask(t, tk, 20*time.Second, "RUNNING", running)
	framework.Eventually(t, 20*time.Second, "instance status", func() error {
		ci := &ecsv1.ContainerInstance{}
		if err := env.Client.Get(t.Context(), client.ObjectKey{Name: "acct-a"}, ci); err != nil {
			return err
		}
		s := ci.Status
		if !s.Connected() || s.RunningTasksCount != 1 || s.RemainingResources == nil ||
			s.RemainingResources.CPU != 2048-256 || s.RemainingResources.Memory != 2048-256 {
			return fmt.Errorf("status %+v remaining %+v", s, s.RemainingResources)
		}
		return nil
	})
	var cidrs []string
	for _, name := range []string{"acct-a", "acct-b"} {
		ci := &ecsv1.ContainerInstance{}
		framework.Eventually(t, 10*time.Second, name+" subnet", func() error {
			if err := env.Client.Get(t.Context(), client.ObjectKey{Name: name}, ci); err != nil {
				return err
			}
			if ci.Status.TaskCIDR == "" {
				return fmt.Errorf("no taskCIDR")
			}
			return nil
		})
		p, err := netip.ParsePrefix(ci.Status.TaskCIDR)
		if err != nil || p.Bits() != 24 || !netip.MustParsePrefix("10.90.0.0/16").Contains(p.Addr()) {
			t.Errorf("%s taskCIDR %q, want a /24 of 10.90.0.0/16", name, ci.Status.TaskCIDR)
		}
		cidrs = append(cidrs, ci.Status.TaskCIDR)
	}
	if cidrs[0] == cidrs[1] {
		t.Errorf("both instances got %s", cidrs[0])
	}
	framework.Eventually(t, 20*time.Second, "cluster status", func() error {
		cl := &ecsv1.Cluster{}
		if err := env.Client.Get(t.Context(), client.ObjectKey{Name: "cp-acct"}, cl); err != nil {
			return err
		}
		s := cl.Status
		if s.RegisteredContainerInstancesCount != 2 || s.ActiveContainerInstancesCount != 2 || s.RunningTasksCount != 1 ||
			!apimeta.IsStatusConditionTrue(s.Conditions, ecsv1.ConditionReady) {
			return fmt.Errorf("cluster status %+v", s)
		}
		return nil
	})
}

func TestLostInstanceTasksAreStopped(t *testing.T) {
	ns := newNamespace(t)
	newCluster(t, "cp-lost", nil)
	a := agentFor(t, "lost-a", simagent.Options{Cluster: "cp-lost"})
	family(t, ns, "web", web(64))
	tk := newTask(t, ns, "on-lost", ecsv1.TaskSpec{Cluster: "cp-lost", TaskDefinition: "web"})
	waitTask(t, tk, 20*time.Second, "RUNNING", running)
	a.Pause()
	framework.Eventually(t, 10*time.Second, "agentConnected false", func() error {
		ci := &ecsv1.ContainerInstance{}
		if err := env.Client.Get(t.Context(), client.ObjectKey{Name: "lost-a"}, ci); err != nil {
			return err
		}
		// Written as false (kubectl shows CONNECTED false), not dropped.
		if ci.Status.AgentConnected == nil || *ci.Status.AgentConnected {
			return fmt.Errorf("agentConnected %v", ci.Status.AgentConnected)
		}
		return nil
	})
	// The manager writes the status, then releases the agent's finalizer.
	got := waitTask(t, tk, 15*time.Second, "STOPPED and released by the manager", func(tk *ecsv1.Task) error {
		if tk.Status.LastStatus != ecsv1.TaskStopped {
			return fmt.Errorf("lastStatus %s", tk.Status.LastStatus)
		}
		for _, f := range tk.Finalizers {
			if f == ecsv1.FinalizerAgent {
				return fmt.Errorf("the agent finalizer is still there")
			}
		}
		return nil
	})
	if got.Status.StopCode != ecsv1.StopCodeInfrastructureHealth || got.Status.StoppedReason != "Container instance lost" {
		t.Errorf("stopCode %q reason %q", got.Status.StopCode, got.Status.StoppedReason)
	}
	// Deleting it does not wait for the dead agent.
	if err := env.Client.Delete(t.Context(), got); err != nil {
		t.Fatal(err)
	}
	framework.Eventually(t, 10*time.Second, "deleted", func() error {
		err := env.Client.Get(t.Context(), client.ObjectKeyFromObject(got), &ecsv1.Task{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("still there")
	})
}

func TestStoppedTasksAreDeletedAfterRetention(t *testing.T) {
	ns := newNamespace(t)
	newCluster(t, "cp-retain", func(c *ecsv1.Cluster) { c.Spec.StoppedTaskRetention = &metav1.Duration{Duration: 2 * time.Second} })
	agentFor(t, "retain-a", simagent.Options{Cluster: "cp-retain"})
	family(t, ns, "web", web(64))
	tk := newTask(t, ns, "short-lived", ecsv1.TaskSpec{Cluster: "cp-retain", TaskDefinition: "web"})
	got := waitTask(t, tk, 20*time.Second, "RUNNING", running)
	patch := client.MergeFrom(got.DeepCopy())
	got.Spec.DesiredStatus = ecsv1.DesiredStopped
	if err := env.Client.Patch(t.Context(), got, patch); err != nil {
		t.Fatal(err)
	}
	framework.Eventually(t, 20*time.Second, "deleted after retention", func() error {
		err := env.Client.Get(t.Context(), client.ObjectKeyFromObject(tk), &ecsv1.Task{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("still there (%v)", err)
	})
}
