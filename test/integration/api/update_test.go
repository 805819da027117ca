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

package api

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ecsv1 "github.com/longshore-io/longshore/api/v1alpha1"
)

// TestImmutableFieldsAreEnforced creates a valid object, changes one field
// the API says may not change, and expects the apiserver to refuse.
func TestImmutableFieldsAreEnforced(t *testing.T) {
	ns := newNamespace(t)
	set := func(path string, value any) func(*unstructured.Unstructured) {
		return func(u *unstructured.Unstructured) {
			if err := unstructured.SetNestedField(u.Object, value, strings.Split(path, ".")...); err != nil {
				panic(err)
			}
		}
	}
	remove := func(path string) func(*unstructured.Unstructured) {
		return func(u *unstructured.Unstructured) {
			unstructured.RemoveNestedField(u.Object, strings.Split(path, ".")...)
		}
	}
	revision := manifest("TaskDefinitionRevision", "web-1", "family: web\nrevision: 1\ntaskDefinition:\n  containerDefinitions:\n  - {name: a, image: x, memory: 8}")
	bound := manifest("Task", "bound", "taskDefinition: web:1\ncontainerInstance: host-a\nstartedBy: me\ngroup: g\noverrides: {cpu: \"256\"}\nplacementStrategy: [{type: random}]")
	cases := []struct {
		name     string
		manifest string
		status   bool // the change goes through the status subresource
		before   func(*unstructured.Unstructured)
		change   func(*unstructured.Unstructured)
		want     string
	}{
		{name: "task taskDefinition", manifest: bound, change: set("spec.taskDefinition", "web:2"), want: "taskDefinition is immutable"},
		{name: "task containerInstance changed", manifest: bound, change: set("spec.containerInstance", "host-b"), want: "containerInstance is immutable once set"},
		{name: "task containerInstance removed", manifest: bound, change: remove("spec.containerInstance"), want: "containerInstance is immutable once set"},
		{name: "task cluster", manifest: bound, change: set("spec.cluster", "other"), want: "cluster is immutable"},
		{name: "task startedBy", manifest: bound, change: set("spec.startedBy", "you"), want: "startedBy is immutable"},
		{name: "task startedBy removed", manifest: bound, change: remove("spec.startedBy"), want: "startedBy is immutable"},
		{name: "task group", manifest: bound, change: set("spec.group", "h"), want: "group is immutable once set"},
		{name: "task overrides", manifest: bound, change: set("spec.overrides.cpu", "512"), want: "overrides are immutable"},
		{name: "task overrides removed", manifest: bound, change: remove("spec.overrides"), want: "overrides are immutable"},
		{name: "task placementStrategy", manifest: bound, change: set("spec.placementStrategy", []any{map[string]any{"type": "binpack", "field": "cpu"}}), want: "placementStrategy is immutable"},
		{name: "task restarted after stop", manifest: bound, before: set("spec.desiredStatus", "STOPPED"), change: set("spec.desiredStatus", "RUNNING"), want: "a stopped task cannot be started again"},
		{name: "task stop without desiredStatus STOPPED", manifest: bound, change: set("spec.stop", map[string]any{"reason": "why"}), want: "stop needs desiredStatus: STOPPED"},
		{name: "task stop reason changed", manifest: bound, before: func(u *unstructured.Unstructured) {
			set("spec.desiredStatus", "STOPPED")(u)
			set("spec.stop", map[string]any{"reason": "first"})(u)
		}, change: set("spec.stop.reason", "second"), want: "stop is immutable once set"},
		{name: "task stop removed", manifest: bound, before: func(u *unstructured.Unstructured) {
			set("spec.desiredStatus", "STOPPED")(u)
			set("spec.stop", map[string]any{"reason": "first"})(u)
		}, change: remove("spec.stop"), want: "stop is immutable once set"},
		{name: "task stop code", manifest: bound, before: set("spec.desiredStatus", "STOPPED"), change: set("spec.stop", map[string]any{"code": "InfrastructureHealth"}), want: "stop.code must be UserInitiated or ServiceSchedulerInitiated"},
		{name: "task lastStatus backwards", manifest: bound, status: true, before: set("status.lastStatus", "RUNNING"), change: set("status.lastStatus", "PENDING"), want: "lastStatus cannot move backwards from RUNNING to PENDING"},
		{name: "revision spec", manifest: revision, change: set("spec.taskDefinition.containerDefinitions", []any{map[string]any{"name": "a", "image": "y", "memory": int64(8)}}), want: "a TaskDefinitionRevision is immutable"},
		{name: "revision number", manifest: revision, change: set("spec.revision", int64(2)), want: "a TaskDefinitionRevision is immutable"},
		{name: "revision deregistered with another spec", manifest: revision, change: func(u *unstructured.Unstructured) {
			set("spec.state", "INACTIVE")(u)
			set("spec.family", "api")(u)
		}, want: "a TaskDefinitionRevision is immutable: change the TaskDefinition to mint a new revision (only spec.state may change, from ACTIVE to INACTIVE: ECS DeregisterTaskDefinition)"},
		{name: "revision reactivated", manifest: revision, before: set("spec.state", "INACTIVE"), change: set("spec.state", "ACTIVE"),
			want: "spec.state: an INACTIVE (deregistered) revision cannot be made ACTIVE again, as in ECS: change the TaskDefinition to register a new revision"},
		{name: "revision state removed after deregistration", manifest: revision, before: set("spec.state", "INACTIVE"), change: remove("spec.state"),
			want: "spec.state: an INACTIVE (deregistered) revision cannot be made ACTIVE again"},
		{name: "revision state unknown", manifest: revision, change: set("spec.state", "DELETE_IN_PROGRESS"), want: `spec.state: Unsupported value: "DELETE_IN_PROGRESS"`},
		{name: "cluster taskNetwork cidr", manifest: manifest("Cluster", "immutable-cidr", "taskNetwork: {cidr: 10.50.0.0/16}"), change: set("spec.taskNetwork.cidr", "10.60.0.0/16"), want: "taskNetwork.cidr is immutable"},
		{name: "instance cluster", manifest: manifest("ContainerInstance", "immutable-ci", "cluster: a"), change: set("spec.cluster", "b"), want: "cluster is immutable"},
		{name: "service schedulingStrategy", manifest: manifest("Service", "immutable-svc", "taskDefinition: web\ndesiredCount: 1"), change: func(u *unstructured.Unstructured) {
			unstructured.RemoveNestedField(u.Object, "spec", "desiredCount")
			set("spec.schedulingStrategy", "DAEMON")(u)
		}, want: "schedulingStrategy is immutable"},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			y := tc.manifest
			if !strings.Contains(y, "kind: Cluster") && !strings.Contains(y, "kind: ContainerInstance") {
				y = strings.Replace(y, "name: ", fmt.Sprintf("name: c%d-", i), 1)
			}
			obj, err := create(t, ns, y)
			if err != nil {
				t.Fatalf("creating the valid object: %v", err)
			}
			update := func(u *unstructured.Unstructured, status bool) error {
				if status {
					return env.Client.Status().Update(ctx(t), u)
				}
				return env.Client.Update(ctx(t), u)
			}
			if tc.before != nil {
				tc.before(obj)
				if err := update(obj, tc.status); err != nil {
					t.Fatalf("the allowed first change was refused: %v", err)
				}
			}
			tc.change(obj)
			err = update(obj, tc.status)
			if err == nil {
				t.Fatalf("update accepted, want %q", tc.want)
			}
			if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("want Invalid with %q, got: %v", tc.want, err)
			}
		})
	}
}

// TestAllowedChanges checks the changes the API must keep possible: binding
// a task once, stopping it, moving lastStatus forward, editing a family.
func TestAllowedChanges(t *testing.T) {
	ns := newNamespace(t)
	c := env.Client
	task := &ecsv1.Task{}
	task.Name, task.Namespace = "allowed", ns
	task.Spec.TaskDefinition = "web"
	if err := c.Create(ctx(t), task); err != nil {
		t.Fatal(err)
	}
	task.Spec.ContainerInstance = "host-a"
	if err := c.Update(ctx(t), task); err != nil {
		t.Fatalf("binding an unbound task: %v", err)
	}
	for _, phase := range ecsv1.TaskPhases {
		task.Status.LastStatus = phase
		if err := c.Status().Update(ctx(t), task); err != nil {
			t.Fatalf("lastStatus forward to %s: %v", phase, err)
		}
	}
	task.Spec.DesiredStatus = ecsv1.DesiredStopped
	if err := c.Update(ctx(t), task); err != nil {
		t.Fatalf("stopping a task: %v", err)
	}
	// StopTask's reason may come with the stop or after it, once.
	task.Spec.Stop = &ecsv1.TaskStop{Reason: "scaling down for the night"}
	if err := c.Update(ctx(t), task); err != nil {
		t.Fatalf("giving a stopped task its stop reason: %v", err)
	}
	if task.Spec.Stop.Code != ecsv1.StopCodeUserInitiated {
		t.Errorf("spec.stop.code defaulted to %q, want UserInitiated", task.Spec.Stop.Code)
	}

	td := &ecsv1.TaskDefinition{}
	td.Name, td.Namespace = "editable", ns
	td.Spec.ContainerDefinitions = []ecsv1.ContainerDefinition{{Name: "a", Image: "x", Memory: ptr.To[int32](8)}}
	if err := c.Create(ctx(t), td); err != nil {
		t.Fatal(err)
	}
	td.Spec.ContainerDefinitions[0].Image = "y"
	td.Spec.NetworkMode = ecsv1.NetworkModeAWSVPC
	if err := c.Update(ctx(t), td); err != nil {
		t.Fatalf("editing a TaskDefinition in place: %v", err)
	}
}

// TestDefaults checks the ECS defaults the schema fills in.
func TestDefaults(t *testing.T) {
	ns := newNamespace(t)
	c := env.Client
	td := &ecsv1.TaskDefinition{}
	td.Name, td.Namespace = "defaults", ns
	td.Spec.ContainerDefinitions = []ecsv1.ContainerDefinition{{
		Name: "a", Image: "x", Memory: ptr.To[int32](8),
		PortMappings: []ecsv1.PortMapping{{ContainerPort: 80}},
		HealthCheck:  &ecsv1.HealthCheck{HTTPGet: &ecsv1.HTTPGetProbe{Port: 80}},
	}}
	if err := c.Create(ctx(t), td); err != nil {
		t.Fatal(err)
	}
	got := td.Spec
	want := ecsv1.TaskDefinitionSpec{
		NetworkMode:          ecsv1.NetworkModeBridge,
		RevisionHistoryLimit: ptr.To[int32](10),
		ContainerDefinitions: []ecsv1.ContainerDefinition{{
			Name: "a", Image: "x", Memory: ptr.To[int32](8),
			Essential:    ptr.To(true),
			StopTimeout:  ptr.To[int32](30),
			PortMappings: []ecsv1.PortMapping{{ContainerPort: 80, Protocol: ecsv1.ProtocolTCP}},
			HealthCheck: &ecsv1.HealthCheck{
				HTTPGet:  &ecsv1.HTTPGetProbe{Path: "/", Port: 80},
				Interval: 30, Timeout: 5, Retries: 3,
			},
		}},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("TaskDefinition defaults (-want +got):\n%s", d)
	}

	svc := &ecsv1.Service{}
	svc.Name, svc.Namespace = "defaults", ns
	svc.Spec.TaskDefinition = "defaults"
	svc.Spec.DesiredCount = ptr.To[int32](2)
	if err := c.Create(ctx(t), svc); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(ecsv1.ServiceSpec{
		Cluster: "default", TaskDefinition: "defaults", DesiredCount: ptr.To[int32](2),
		SchedulingStrategy: ecsv1.SchedulingReplica,
		DeploymentConfiguration: ecsv1.DeploymentConfiguration{
			MinimumHealthyPercent: ptr.To[int32](100), MaximumPercent: ptr.To[int32](200),
		},
	}, svc.Spec); d != "" {
		t.Errorf("Service defaults (-want +got):\n%s", d)
	}

	cl := &ecsv1.Cluster{}
	cl.Name = "defaults"
	if err := c.Create(ctx(t), cl); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Delete(ctx(t), cl) })
	if cl.Spec.TaskNetwork.CIDR != "10.222.0.0/16" || cl.Spec.TaskNetwork.InstanceMaskSize != 24 ||
		cl.Spec.BridgeNetwork.CIDR != "172.29.0.0/16" || cl.Spec.StoppedTaskRetention == nil ||
		cl.Spec.StoppedTaskRetention.Hours() != 24 {
		t.Errorf("Cluster defaults: %+v", cl.Spec)
	}

	task := &ecsv1.Task{}
	task.Name, task.Namespace = "defaults", ns
	task.Spec.TaskDefinition = "defaults:1"
	if err := c.Create(ctx(t), task); err != nil {
		t.Fatal(err)
	}
	if task.Spec.Cluster != "default" || task.Spec.DesiredStatus != ecsv1.DesiredRunning {
		t.Errorf("Task defaults: %+v", task.Spec)
	}
}

// TestTaskFieldSelector checks the selectable field agents watch with.
func TestTaskFieldSelector(t *testing.T) {
	ns := newNamespace(t)
	for _, b := range []struct{ name, instance string }{{"t1", "host-a"}, {"t2", "host-b"}, {"t3", "host-a"}, {"t4", ""}} {
		task := &ecsv1.Task{}
		task.Name, task.Namespace = b.name, ns
		task.Spec.TaskDefinition = "web"
		task.Spec.ContainerInstance = b.instance
		if err := env.Client.Create(ctx(t), task); err != nil {
			t.Fatal(err)
		}
	}
	var list ecsv1.TaskList
	if err := env.Client.List(ctx(t), &list, client.InNamespace(ns),
		client.MatchingFieldsSelector{Selector: fields.OneTermEqualSelector("spec.containerInstance", "host-a")}); err != nil {
		t.Fatalf("listing with a field selector on spec.containerInstance: %v", err)
	}
	var names []string
	for _, i := range list.Items {
		names = append(names, i.Name)
	}
	if d := cmp.Diff([]string{"t1", "t3"}, names); d != "" {
		t.Errorf("tasks on host-a (-want +got):\n%s", d)
	}
}

// TestServiceScaleSubresource checks what `kubectl scale` uses.
func TestServiceScaleSubresource(t *testing.T) {
	ns := newNamespace(t)
	svc := &ecsv1.Service{}
	svc.Name, svc.Namespace = "scaled", ns
	svc.Spec.TaskDefinition = "web"
	svc.Spec.DesiredCount = ptr.To[int32](1)
	if err := env.Client.Create(ctx(t), svc); err != nil {
		t.Fatal(err)
	}
	scale := &autoscalingv1.Scale{}
	if err := env.Client.SubResource("scale").Get(ctx(t), svc, scale); err != nil {
		t.Fatalf("get scale: %v", err)
	}
	if scale.Spec.Replicas != 1 {
		t.Errorf("scale.spec.replicas = %d, want 1", scale.Spec.Replicas)
	}
	scale.Spec.Replicas = 5
	if err := env.Client.SubResource("scale").Update(ctx(t), svc, client.WithSubResourceBody(scale)); err != nil {
		t.Fatalf("update scale: %v", err)
	}
	if err := env.Client.Get(ctx(t), client.ObjectKeyFromObject(svc), svc); err != nil {
		t.Fatal(err)
	}
	if got := ptr.Deref(svc.Spec.DesiredCount, -1); got != 5 {
		t.Errorf("desiredCount after scale = %d, want 5", got)
	}
}
