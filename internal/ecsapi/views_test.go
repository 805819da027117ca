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

package ecsapi

import (
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/go-logr/logr"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	ecsv1 "github.com/longshore-io/longshore/api/v1alpha1"
	"github.com/longshore-io/longshore/controllers/taskdefinition"
	"github.com/longshore-io/longshore/internal/ecsarn"
	"github.com/longshore-io/longshore/internal/kube"
)

var viewUnexported = cmpopts.IgnoreUnexported(types.Service{}, types.Deployment{}, types.DeploymentConfiguration{},
	types.DeploymentCircuitBreaker{}, types.DeploymentController{}, types.PlacementStrategy{}, types.TaskDefinition{},
	types.ContainerDefinition{}, types.KeyValuePair{}, types.Tag{})

func TestServiceOf(t *testing.T) {
	s := &Server{o: Options{ARN: ecsarn.Config{}.WithDefaults()}}
	created := metav1.NewTime(time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC))
	svc := &ecsv1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "team-a", Generation: 3, CreationTimestamp: created,
			Annotations: map[string]string{AnnotationTags: `[{"key":"team","value":"a"}]`}},
		Spec: ecsv1.ServiceSpec{Cluster: "prod", TaskDefinition: "web", DesiredCount: ptr.To[int32](4),
			DeploymentConfiguration: ecsv1.DeploymentConfiguration{MaximumPercent: ptr.To[int32](200),
				DeploymentCircuitBreaker: &ecsv1.DeploymentCircuitBreaker{Enable: true}},
			PlacementStrategy: []ecsv1.PlacementStrategy{{Type: "spread", Field: "instanceId"}}},
		Status: ecsv1.ServiceStatus{ObservedGeneration: 2, DesiredCount: 2, RunningCount: 2, TaskDefinition: "web:7",
			Deployments: []ecsv1.Deployment{
				{ID: "ecs-svc/2", Status: ecsv1.DeploymentPrimary, TaskDefinition: "web:7", DesiredCount: 2, RunningCount: 1, RolloutState: ecsv1.RolloutInProgress, CreatedAt: &created},
				{ID: "ecs-svc/1", Status: ecsv1.DeploymentActive, TaskDefinition: "web:6", RunningCount: 1, RolloutState: ecsv1.RolloutCompleted},
				{ID: "ecs-svc/0", Status: ecsv1.DeploymentInactive, TaskDefinition: "web:5"},
			}},
	}
	got, e := s.serviceOf(svc, true, nil)
	if e != nil {
		t.Fatal(e)
	}
	want := types.Service{
		ServiceArn: aws.String("arn:aws:ecs:us-east-1:000000000000:service/prod/web"), ServiceName: aws.String("web"),
		ClusterArn: aws.String("arn:aws:ecs:us-east-1:000000000000:cluster/prod"), Status: aws.String("ACTIVE"),
		DesiredCount: 4, // asked, not yet observed by the manager
		RunningCount: 2, TaskDefinition: aws.String("arn:aws:ecs:us-east-1:000000000000:task-definition/web:7"),
		LaunchType: types.LaunchTypeEc2, SchedulingStrategy: types.SchedulingStrategyReplica, CreatedAt: aws.Time(created.Time),
		DeploymentController: &types.DeploymentController{Type: types.DeploymentControllerTypeEcs},
		DeploymentConfiguration: &types.DeploymentConfiguration{MaximumPercent: aws.Int32(200),
			DeploymentCircuitBreaker: &types.DeploymentCircuitBreaker{Enable: true}},
		PlacementStrategy:    []types.PlacementStrategy{{Type: types.PlacementStrategyTypeSpread, Field: aws.String("instanceId")}},
		PlacementConstraints: []types.PlacementConstraint{}, LoadBalancers: []types.LoadBalancer{}, ServiceRegistries: []types.ServiceRegistry{},
		Events: []types.ServiceEvent{},
		Deployments: []types.Deployment{
			{Id: aws.String("ecs-svc/2"), Status: aws.String("PRIMARY"), TaskDefinition: aws.String("arn:aws:ecs:us-east-1:000000000000:task-definition/web:7"),
				DesiredCount: 2, RunningCount: 1, RolloutState: types.DeploymentRolloutStateInProgress, LaunchType: types.LaunchTypeEc2, CreatedAt: aws.Time(created.Time)},
			{Id: aws.String("ecs-svc/1"), Status: aws.String("ACTIVE"), TaskDefinition: aws.String("arn:aws:ecs:us-east-1:000000000000:task-definition/web:6"),
				RunningCount: 1, RolloutState: types.DeploymentRolloutStateCompleted, LaunchType: types.LaunchTypeEc2},
		},
		Tags: []types.Tag{{Key: aws.String("team"), Value: aws.String("a")}},
	}
	if diff := cmp.Diff(want, got, viewUnexported, cmpopts.IgnoreUnexported(types.PlacementConstraint{}, types.LoadBalancer{}, types.ServiceRegistry{}, types.ServiceEvent{})); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}

	svc.DeletionTimestamp = &created
	svc.Status.ObservedGeneration = 3
	got, _ = s.serviceOf(svc, false, nil)
	if aws.ToString(got.Status) != "DRAINING" || got.DesiredCount != 2 || got.Tags != nil {
		t.Errorf("a deleted, observed service: status %s desiredCount %d tags %v, want DRAINING, the manager's 2, no tags", aws.ToString(got.Status), got.DesiredCount, got.Tags)
	}
}

func TestTaskDefinitionOf(t *testing.T) {
	s := &Server{o: Options{ARN: ecsarn.Config{}.WithDefaults()}}
	created := metav1.NewTime(time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC))
	deregistered := metav1.NewTime(created.Add(time.Hour))
	rev := &ecsv1.TaskDefinitionRevision{
		ObjectMeta: metav1.ObjectMeta{Name: "web-3", CreationTimestamp: created},
		Spec: ecsv1.TaskDefinitionRevisionSpec{Family: "web", Revision: 3, State: ecsv1.RevisionStateInactive,
			TaskDefinition: ecsv1.TaskDefinitionSpec{NetworkMode: "awsvpc", CPU: "256",
				ContainerDefinitions: []ecsv1.ContainerDefinition{{Name: "app", Image: "nginx", Memory: ptr.To[int32](128),
					Environment: []ecsv1.KeyValuePair{{Name: "A", Value: "1"}}}}}},
		Status: ecsv1.TaskDefinitionRevisionStatus{Status: ecsv1.RevisionInactive, Conditions: []metav1.Condition{
			{Type: ecsv1.ConditionReady, Status: metav1.ConditionTrue, Reason: ecsv1.ReasonRevisionDeregistered, LastTransitionTime: deregistered}}},
	}
	got, e := s.taskDefinitionOf(rev)
	if e != nil {
		t.Fatal(e)
	}
	want := &types.TaskDefinition{
		TaskDefinitionArn: aws.String("arn:aws:ecs:us-east-1:000000000000:task-definition/web:3"), Family: aws.String("web"), Revision: 3,
		Status: types.TaskDefinitionStatusInactive, NetworkMode: types.NetworkModeAwsvpc, Cpu: aws.String("256"),
		Compatibilities: []types.Compatibility{types.CompatibilityEc2}, RegisteredAt: aws.Time(created.Time), DeregisteredAt: aws.Time(deregistered.Time),
		ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String("app"), Image: aws.String("nginx"), Memory: aws.Int32(128),
			Environment: []types.KeyValuePair{{Name: aws.String("A"), Value: aws.String("1")}}}},
	}
	if diff := cmp.Diff(want, got, viewUnexported); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestTaskOf(t *testing.T) {
	s := &Server{o: Options{ARN: ecsarn.Config{}.WithDefaults()}}
	created := metav1.NewTime(time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC))
	rev := &ecsv1.TaskDefinitionRevision{
		ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "web-2"},
		Spec: ecsv1.TaskDefinitionRevisionSpec{Family: "web", Revision: 2, TaskDefinition: ecsv1.TaskDefinitionSpec{CPU: "512", Memory: "1024",
			ContainerDefinitions: []ecsv1.ContainerDefinition{{Name: "app", Image: "nginx:1"}, {Name: "sidecar", Image: "envoy:1"}}}},
	}
	ci := &ecsv1.ContainerInstance{ObjectMeta: metav1.ObjectMeta{Name: "host-1", UID: "11111111-2222-3333-4444-555555555555"},
		Spec:   ecsv1.ContainerInstanceSpec{Cluster: "prod"},
		Status: ecsv1.ContainerInstanceStatus{Attributes: []ecsv1.Attribute{{Name: "ecs.availability-zone", Value: "zone-b"}}}}
	task := &ecsv1.Task{
		ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "web-x", UID: "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee", CreationTimestamp: created, Generation: 2},
		Spec: ecsv1.TaskSpec{Cluster: "prod", TaskDefinition: "web", ContainerInstance: "host-1", DesiredStatus: ecsv1.DesiredRunning,
			Overrides: &ecsv1.TaskOverride{Memory: "2048"}},
		Status: ecsv1.TaskStatus{LastStatus: ecsv1.TaskRunning, TaskDefinitionRevision: "web:2", Group: "family:web", StartedAt: &created,
			Containers: []ecsv1.ContainerStatus{{Name: "app", LastStatus: ecsv1.ContainerRunning, RuntimeID: "abc"}},
			// As the agent writes an awsvpc task's interface.
			Attachments: []ecsv1.Attachment{{Type: "NetworkInterface", Status: "ATTACHED", Details: ecsv1.AttachmentDetails{
				IPv4Address: "10.1.2.3", MACAddress: "02:00:0a:01:02:03", InterfaceName: "eth0", Subnet: "10.1.2.0/24", Gateway: "10.1.2.1"}}}},
	}
	c := &call{ctx: t.Context(), ns: "team-a", log: logr.Discard(),
		c: fake.NewClientBuilder().WithScheme(kube.Scheme()).WithObjects(rev, ci).Build()}
	got, e := s.taskOf(c, task, false, newLookups())
	if e != nil {
		t.Fatal(e)
	}
	taskARN := "arn:aws:ecs:us-east-1:000000000000:task/prod/aaaaaaaabbbbccccddddeeeeeeeeeeee"
	want := types.Task{
		TaskArn: aws.String(taskARN), ClusterArn: aws.String("arn:aws:ecs:us-east-1:000000000000:cluster/prod"),
		TaskDefinitionArn:    aws.String("arn:aws:ecs:us-east-1:000000000000:task-definition/web:2"),
		ContainerInstanceArn: aws.String("arn:aws:ecs:us-east-1:000000000000:container-instance/prod/11111111222233334444555555555555"),
		AvailabilityZone:     aws.String("zone-b"), LastStatus: aws.String("RUNNING"), DesiredStatus: aws.String("RUNNING"),
		HealthStatus: types.HealthStatusUnknown, CreatedAt: aws.Time(created.Time), StartedAt: aws.Time(created.Time),
		LaunchType: types.LaunchTypeEc2, Version: 2, Group: aws.String("family:web"), Cpu: aws.String("512"), Memory: aws.String("2048"),
		Overrides: &types.TaskOverride{Memory: aws.String("2048")},
		Containers: []types.Container{
			{Name: aws.String("app"), Image: aws.String("nginx:1"), LastStatus: aws.String("RUNNING"), RuntimeId: aws.String("abc"), TaskArn: aws.String(taskARN),
				ContainerArn:      aws.String(s.o.ARN.Container("prod", string(task.UID), "app")),
				NetworkInterfaces: []types.NetworkInterface{{AttachmentId: aws.String("aaaaaaaabbbbccccddddeeeeeeeeeeee"), PrivateIpv4Address: aws.String("10.1.2.3")}}},
			{Name: aws.String("sidecar"), Image: aws.String("envoy:1"), LastStatus: aws.String("PENDING"), TaskArn: aws.String(taskARN),
				ContainerArn:      aws.String(s.o.ARN.Container("prod", string(task.UID), "sidecar")),
				NetworkInterfaces: []types.NetworkInterface{{AttachmentId: aws.String("aaaaaaaabbbbccccddddeeeeeeeeeeee"), PrivateIpv4Address: aws.String("10.1.2.3")}}},
		},
		Attachments: []types.Attachment{{Id: aws.String("aaaaaaaabbbbccccddddeeeeeeeeeeee"), Type: aws.String("ElasticNetworkInterface"), Status: aws.String("ATTACHED"),
			Details: []types.KeyValuePair{
				{Name: aws.String("privateIPv4Address"), Value: aws.String("10.1.2.3")}, {Name: aws.String("macAddress"), Value: aws.String("02:00:0a:01:02:03")},
				{Name: aws.String("networkInterfaceId"), Value: aws.String("eth0")}, {Name: aws.String("subnetId"), Value: aws.String("10.1.2.0/24")},
				{Name: aws.String("gateway"), Value: aws.String("10.1.2.1")}}}},
	}
	if diff := cmp.Diff(want, got, cmpopts.IgnoreUnexported(types.Task{}, types.Container{}, types.TaskOverride{},
		types.NetworkInterface{}, types.Attachment{}, types.KeyValuePair{})); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestRegistrationPending(t *testing.T) {
	td := func(reg string, minted bool, valid *metav1.Condition) *ecsv1.TaskDefinition {
		td := &ecsv1.TaskDefinition{ObjectMeta: metav1.ObjectMeta{Name: "web", Generation: 4, Annotations: map[string]string{}},
			Spec: ecsv1.TaskDefinitionSpec{ContainerDefinitions: []ecsv1.ContainerDefinition{{Name: "app", Image: "nginx"}}}}
		if reg != "" {
			td.Annotations[ecsv1.AnnotationRegistration] = reg
		}
		if minted {
			h, err := taskdefinition.RegistrationHash(td)
			if err != nil {
				t.Fatal(err)
			}
			td.Annotations[taskdefinition.AnnotationMintedSpecHash] = h
		} else {
			td.Annotations[taskdefinition.AnnotationMintedSpecHash] = "the hash of an earlier registration"
		}
		if valid != nil {
			td.Status.Conditions = []metav1.Condition{*valid}
		}
		return td
	}
	invalidNow := &metav1.Condition{Type: ecsv1.ConditionValid, Status: metav1.ConditionFalse, ObservedGeneration: 4}
	invalidBefore := &metav1.Condition{Type: ecsv1.ConditionValid, Status: metav1.ConditionFalse, ObservedGeneration: 3}
	for name, tc := range map[string]struct {
		td   *ecsv1.TaskDefinition
		want bool
	}{
		"no registration (kubectl apply)":                 {td("", false, nil), false},
		"a registration minted":                           {td("r1", true, nil), false},
		"a registration not minted yet":                   {td("r1", false, nil), true},
		"a registration of a spec found invalid":          {td("r1", false, invalidNow), false},
		"invalid at an earlier generation: still waiting": {td("r1", false, invalidBefore), true},
	} {
		if got := registrationPending(tc.td); got != tc.want {
			t.Errorf("%s: pending %v, want %v", name, got, tc.want)
		}
	}
}
