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

package ecsapi

import (
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ecsv1 "github.com/longshore-io/longshore/api/v1alpha1"
	"github.com/longshore-io/longshore/internal/ecsarn"
	"github.com/longshore-io/longshore/test/integration/framework"
	"github.com/longshore-io/longshore/test/integration/managertest"
	"github.com/longshore-io/longshore/test/integration/simagent"
)

func TestContainerInstances(t *testing.T) {
	k := user(t)
	ctx := t.Context()
	cluster := "ci-" + k.Namespace
	env.NewCluster(t, cluster, nil)
	name := "host-" + k.Namespace
	simagent.ForTest(t, env.Client, name, simagent.Options{Cluster: cluster, Cores: 2, MemoryMiB: 2048, LeaseNamespace: managertest.LeaseNamespace})
	ci := &ecsv1.ContainerInstance{}
	if err := env.Client.Get(ctx, client.ObjectKey{Name: name}, ci); err != nil {
		t.Fatal(err)
	}
	ciARN := arn("container-instance/" + cluster + "/" + ecsarn.TaskID(string(ci.UID)))

	list, err := k.ECS.ListContainerInstances(ctx, &ecs.ListContainerInstancesInput{Cluster: aws.String(cluster)})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{ciARN}, list.ContainerInstanceArns); diff != "" {
		t.Errorf("ListContainerInstances (-want +got):\n%s", diff)
	}
	var desc *ecs.DescribeContainerInstancesOutput
	eventually(t, "the instance reports connected with its resources", func() error {
		desc, err = k.ECS.DescribeContainerInstances(ctx, &ecs.DescribeContainerInstancesInput{Cluster: aws.String(cluster),
			ContainerInstances: []string{ciARN, name, "0123456789abcdef0123456789abcdef"}})
		if err != nil {
			return err
		}
		if len(desc.ContainerInstances) != 2 || !desc.ContainerInstances[0].AgentConnected {
			return errorf("instances %+v", desc.ContainerInstances)
		}
		return nil
	})
	got := desc.ContainerInstances[0]
	if aws.ToString(got.ContainerInstanceArn) != ciARN || aws.ToString(got.Ec2InstanceId) != name || aws.ToString(got.Status) != "ACTIVE" || got.RegisteredAt == nil {
		t.Errorf("DescribeContainerInstances: arn %s ec2InstanceId %s status %s registeredAt %v", aws.ToString(got.ContainerInstanceArn),
			aws.ToString(got.Ec2InstanceId), aws.ToString(got.Status), got.RegisteredAt)
	}
	res := map[string]int32{}
	for _, r := range got.RegisteredResources {
		res[aws.ToString(r.Name)] = r.IntegerValue
	}
	if res["CPU"] != 2048 || res["MEMORY"] == 0 {
		t.Errorf("registeredResources %+v, want CPU 2048 and the memory", res)
	}
	wantFail := []types.Failure{{Arn: aws.String(arn("container-instance/" + cluster + "/0123456789abcdef0123456789abcdef")), Reason: aws.String("MISSING")}}
	if diff := cmp.Diff(wantFail, desc.Failures, tdUnexported); diff != "" {
		t.Errorf("DescribeContainerInstances failures (-want +got):\n%s", diff)
	}

	up, err := k.ECS.UpdateContainerInstancesState(ctx, &ecs.UpdateContainerInstancesStateInput{Cluster: aws.String(cluster),
		ContainerInstances: []string{ciARN}, Status: types.ContainerInstanceStatusDraining})
	if err != nil {
		t.Fatal(err)
	}
	if len(up.ContainerInstances) != 1 || aws.ToString(up.ContainerInstances[0].Status) != "DRAINING" {
		t.Errorf("UpdateContainerInstancesState DRAINING: %+v", up.ContainerInstances)
	}
	if err := env.Client.Get(ctx, client.ObjectKey{Name: name}, ci); err != nil || ci.Spec.State != ecsv1.ContainerInstanceDraining {
		t.Errorf("the ContainerInstance's spec.state is %q (%v), want DRAINING", ci.Spec.State, err)
	}
	list, err = k.ECS.ListContainerInstances(ctx, &ecs.ListContainerInstancesInput{Cluster: aws.String(cluster), Status: types.ContainerInstanceStatusActive})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.ContainerInstanceArns) != 0 {
		t.Errorf("ListContainerInstances ACTIVE of a draining instance: %v", list.ContainerInstanceArns)
	}
	if _, err := k.ECS.TagResource(ctx, &ecs.TagResourceInput{ResourceArn: aws.String(ciARN), Tags: []types.Tag{{Key: aws.String("rack"), Value: aws.String("r1")}}}); err != nil {
		t.Fatal(err)
	}
	desc, err = k.ECS.DescribeContainerInstances(ctx, &ecs.DescribeContainerInstancesInput{Cluster: aws.String(cluster), ContainerInstances: []string{name},
		Include: []types.ContainerInstanceField{types.ContainerInstanceFieldTags}})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]types.Tag{{Key: aws.String("rack"), Value: aws.String("r1")}}, desc.ContainerInstances[0].Tags, tdUnexported); diff != "" {
		t.Errorf("a container instance's tags (-want +got):\n%s", diff)
	}
	_, err = k.ECS.UpdateContainerInstancesState(ctx, &ecs.UpdateContainerInstancesStateInput{Cluster: aws.String(cluster),
		ContainerInstances: []string{ciARN}, Status: types.ContainerInstanceStatusRegistering})
	wantError(t, "UpdateContainerInstancesState REGISTERING", err, "InvalidParameterException", "want ACTIVE or DRAINING")
}

// TestListContainerInstancesFilter: ListContainerInstances' filter in the
// cluster query language, evaluated as memberOf placement constraints are:
// attributes, ec2InstanceId, runningTasksCount and task:group, with and,
// in, =~; a bad expression refused with where it is wrong.
func TestListContainerInstancesFilter(t *testing.T) {
	k := user(t)
	ctx := t.Context()
	cluster := "cif-" + k.Namespace
	env.NewCluster(t, cluster, nil)
	arns := map[string]string{}
	agents := map[string]*simagent.Agent{}
	for _, zone := range []string{"zone-a", "zone-b"} {
		name := "host-" + zone + "-" + k.Namespace
		agents[zone] = simagent.ForTest(t, env.Client, name, simagent.Options{Cluster: cluster, Cores: 2, MemoryMiB: 2048,
			LeaseNamespace: managertest.LeaseNamespace, AvailabilityZone: zone})
		ci := &ecsv1.ContainerInstance{}
		if err := env.Client.Get(ctx, client.ObjectKey{Name: name}, ci); err != nil {
			t.Fatal(err)
		}
		arns[zone] = arn("container-instance/" + cluster + "/" + ecsarn.TaskID(string(ci.UID)))
		arns[zone+"-name"] = name
	}
	list := func(filter string) ([]string, error) {
		out, err := k.ECS.ListContainerInstances(ctx, &ecs.ListContainerInstancesInput{Cluster: aws.String(cluster), Filter: aws.String(filter)})
		if err != nil {
			return nil, err
		}
		slices.Sort(out.ContainerInstanceArns)
		return out.ContainerInstanceArns, nil
	}
	both := []string{arns["zone-a"], arns["zone-b"]}
	slices.Sort(both)
	eventually(t, "the instances report their zones", func() error {
		got, err := list("attribute:ecs.availability-zone exists")
		if err == nil && len(got) != 2 {
			err = errorf("%v", got)
		}
		return err
	})
	for _, c := range []struct {
		filter string
		want   []string
	}{
		{"attribute:ecs.availability-zone == zone-a", []string{arns["zone-a"]}},
		{"attribute:ecs.availability-zone =~ zone-.* and runningTasksCount == 0", both},
		{"ec2InstanceId in [" + arns["zone-b-name"] + ", nope]", []string{arns["zone-b"]}},
		{"not(attribute:ecs.availability-zone == zone-a)", []string{arns["zone-b"]}},
		{"attribute:ecs.os-type == windows", nil},
	} {
		got, err := list(c.filter)
		if err != nil {
			t.Errorf("filter %q: %v", c.filter, err)
			continue
		}
		if diff := cmp.Diff(c.want, got, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("filter %q (-want +got):\n%s", c.filter, diff)
		}
	}

	// A task in zone-a: its instance has a running task of group family:web.
	if _, err := k.ECS.RegisterTaskDefinition(ctx, webInput("busybox:1")); err != nil {
		t.Fatal(err)
	}
	if _, err := k.ECS.RunTask(ctx, &ecs.RunTaskInput{Cluster: aws.String(cluster), TaskDefinition: aws.String("web"),
		PlacementConstraints: []types.PlacementConstraint{{Type: types.PlacementConstraintTypeMemberOf, Expression: aws.String("attribute:ecs.availability-zone == zone-a")}}}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "runningTasksCount and task:group see the task on zone-a's instance", func() error {
		for _, f := range []string{"runningTasksCount > 0", "task:group == family:web"} {
			got, err := list(f)
			if err != nil {
				return err
			}
			if !slices.Equal(got, []string{arns["zone-a"]}) {
				return errorf("filter %q: %v", f, got)
			}
		}
		return nil
	})

	_, err := list("attribute:ecs.availability-zone ==")
	wantError(t, "ListContainerInstances with a bad filter", err, "InvalidParameterException", "filter", "cluster query language expression", "expected a value")

	// CONTAINER_INSTANCE_HEALTH: OK while the agent renews its Lease,
	// IMPAIRED once it stops, OK again when it is back.
	health := func(want types.InstanceHealthCheckState) func() error {
		return func() error {
			d, err := k.ECS.DescribeContainerInstances(ctx, &ecs.DescribeContainerInstancesInput{Cluster: aws.String(cluster),
				ContainerInstances: []string{arns["zone-b"]}, Include: []types.ContainerInstanceField{types.ContainerInstanceFieldContainerInstanceHealth}})
			if err != nil {
				return err
			}
			h := d.ContainerInstances[0].HealthStatus
			if h == nil || h.OverallStatus != want || len(h.Details) != 1 || h.Details[0].Type != types.InstanceHealthCheckTypeContainerRuntime ||
				h.Details[0].Status != want || h.Details[0].LastStatusChange == nil {
				return errorf("health %+v, want %s with its CONTAINER_RUNTIME check", h, want)
			}
			return nil
		}
	}
	framework.Eventually(t, 30*time.Second, "zone-b's instance OK", health(types.InstanceHealthCheckStateOk))
	agents["zone-b"].Pause()
	framework.Eventually(t, 60*time.Second, "zone-b's instance IMPAIRED with its agent gone", health(types.InstanceHealthCheckStateImpaired))
	agents["zone-b"].Resume()
	framework.Eventually(t, 30*time.Second, "zone-b's instance OK again", health(types.InstanceHealthCheckStateOk))
	_, err = k.ECS.DescribeContainerInstances(ctx, &ecs.DescribeContainerInstancesInput{Cluster: aws.String(cluster),
		ContainerInstances: []string{arns["zone-b"]}, Include: []types.ContainerInstanceField{"RESOURCES"}})
	wantError(t, "DescribeContainerInstances include RESOURCES", err, "InvalidParameterException", "want TAGS or CONTAINER_INSTANCE_HEALTH")
}
