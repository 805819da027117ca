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
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ecsv1 "github.com/longshore-io/longshore/api/v1alpha1"
	"github.com/longshore-io/longshore/test/integration/managertest"
	"github.com/longshore-io/longshore/test/integration/simagent"
)

func stable(t *testing.T, c *ecs.Client, cluster string, services ...string) {
	t.Helper()
	err := ecs.NewServicesStableWaiter(c, func(o *ecs.ServicesStableWaiterOptions) { o.MinDelay, o.MaxDelay = 200*time.Millisecond, time.Second }).
		Wait(t.Context(), &ecs.DescribeServicesInput{Cluster: aws.String(cluster), Services: services}, 60*time.Second)
	if err != nil {
		d, _ := c.DescribeServices(t.Context(), &ecs.DescribeServicesInput{Cluster: aws.String(cluster), Services: services})
		if d != nil {
			for _, s := range d.Services {
				t.Logf("service %s: status %s desired %d running %d deployments %d", aws.ToString(s.ServiceName), aws.ToString(s.Status), s.DesiredCount, s.RunningCount, len(s.Deployments))
			}
		}
		t.Fatalf("services-stable: %v", err)
	}
}

func TestServices(t *testing.T) {
	k := user(t)
	ctx := t.Context()
	cluster := "svc-" + k.Namespace
	env.NewCluster(t, cluster, nil)
	simagent.ForTest(t, env.Client, "svc-ci-"+k.Namespace, simagent.Options{Cluster: cluster, Cores: 4, MemoryMiB: 8192, LeaseNamespace: managertest.LeaseNamespace,
		Health: func(*ecsv1.Task) ecsv1.HealthStatus { return ecsv1.HealthHealthy }}) // webInput's container has a health check
	if _, err := k.ECS.RegisterTaskDefinition(ctx, webInput("busybox:1")); err != nil {
		t.Fatal(err)
	}
	in := &ecs.CreateServiceInput{
		Cluster: aws.String(cluster), ServiceName: aws.String("web"), TaskDefinition: aws.String("web"), DesiredCount: aws.Int32(2),
		DeploymentConfiguration: &types.DeploymentConfiguration{MinimumHealthyPercent: aws.Int32(50), MaximumPercent: aws.Int32(200),
			DeploymentCircuitBreaker: &types.DeploymentCircuitBreaker{Enable: true, Rollback: true}},
		PlacementStrategy: []types.PlacementStrategy{{Type: types.PlacementStrategyTypeSpread, Field: aws.String("instanceId")}},
		Tags:              []types.Tag{{Key: aws.String("team"), Value: aws.String("web")}},
	}
	created, err := k.ECS.CreateService(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	svcARN := arn("service/" + cluster + "/web")
	got := []string{aws.ToString(created.Service.ServiceArn), aws.ToString(created.Service.Status), aws.ToString(created.Service.ClusterArn), string(created.Service.SchedulingStrategy)}
	if diff := cmp.Diff([]string{svcARN, "ACTIVE", arn("cluster/" + cluster), "REPLICA"}, got); diff != "" {
		t.Errorf("CreateService (-want +got):\n%s", diff)
	}
	svc := &ecsv1.Service{}
	if err := env.Client.Get(ctx, client.ObjectKey{Namespace: k.Namespace, Name: "web"}, svc); err != nil {
		t.Fatalf("CreateService made no Service: %v", err)
	}
	if svc.Spec.DesiredCount == nil || *svc.Spec.DesiredCount != 2 || svc.Spec.DeploymentConfiguration.DeploymentCircuitBreaker == nil || len(svc.Spec.PlacementStrategy) != 1 {
		t.Errorf("the Service's spec: %+v", svc.Spec)
	}
	// The same request again returns it; another one is refused.
	if _, err := k.ECS.CreateService(ctx, in); err != nil {
		t.Errorf("CreateService again: %v", err)
	}
	other := *in
	other.DesiredCount = aws.Int32(5)
	_, err = k.ECS.CreateService(ctx, &other)
	wantError(t, "CreateService of another definition", err, "InvalidParameterException", "Creation of service was not idempotent")

	stable(t, k.ECS, cluster, "web")
	d, err := k.ECS.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(cluster), Services: []string{svcARN, "nope"}, Include: []types.ServiceField{types.ServiceFieldTags}})
	if err != nil {
		t.Fatal(err)
	}
	s := d.Services[0]
	if s.RunningCount != 2 || s.DesiredCount != 2 || len(s.Deployments) != 1 || aws.ToString(s.Deployments[0].Status) != "PRIMARY" ||
		aws.ToString(s.TaskDefinition) != arn("task-definition/web:1") || len(s.Events) == 0 || len(s.Tags) != 1 {
		t.Errorf("DescribeServices: running %d desired %d deployments %+v taskDefinition %s events %d tags %v", s.RunningCount, s.DesiredCount,
			s.Deployments, aws.ToString(s.TaskDefinition), len(s.Events), s.Tags)
	}
	if s.Deployments[0].CreatedAt == nil || s.Deployments[0].RolloutState == "" {
		t.Errorf("the deployment: rolloutState %q createdAt %v", s.Deployments[0].RolloutState, s.Deployments[0].CreatedAt)
	}
	// Stable (one deployment, running = desired) comes before COMPLETED,
	// as in ECS: the tasks must prove healthy first.
	waitFor(t, 60*time.Second, "the deployment COMPLETED", func() error {
		d, err := k.ECS.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(cluster), Services: []string{"web"}})
		if err != nil {
			return err
		}
		if st := d.Services[0].Deployments[0].RolloutState; st != types.DeploymentRolloutStateCompleted {
			return errorf("rolloutState %s", st)
		}
		return nil
	})
	wantFail := []types.Failure{{Arn: aws.String(arn("service/" + cluster + "/nope")), Reason: aws.String("MISSING")}}
	if diff := cmp.Diff(wantFail, d.Failures, tdUnexported); diff != "" {
		t.Errorf("DescribeServices failures (-want +got):\n%s", diff)
	}
	tasks, err := k.ECS.ListTasks(ctx, &ecs.ListTasksInput{Cluster: aws.String(cluster), ServiceName: aws.String("web")})
	if err != nil || len(tasks.TaskArns) != 2 {
		t.Errorf("ListTasks serviceName web: %v %v", tasks, err)
	}
	list, err := k.ECS.ListServices(ctx, &ecs.ListServicesInput{Cluster: aws.String(cluster)})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{svcARN}, list.ServiceArns); diff != "" {
		t.Errorf("ListServices (-want +got):\n%s", diff)
	}

	// A new image: register, update, wait stable again.
	if _, err := k.ECS.RegisterTaskDefinition(ctx, webInput("busybox:2")); err != nil {
		t.Fatal(err)
	}
	up, err := k.ECS.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String(cluster), Service: aws.String("web"), TaskDefinition: aws.String("web:2"), DesiredCount: aws.Int32(3)})
	if err != nil {
		t.Fatal(err)
	}
	// As ECS: the answer has the new task definition and its PRIMARY
	// deployment already, so a waiter started now waits for it.
	if got := aws.ToString(up.Service.TaskDefinition); got != arn("task-definition/web:2") || len(up.Service.Deployments) == 0 ||
		aws.ToString(up.Service.Deployments[0].TaskDefinition) != got || aws.ToString(up.Service.Deployments[0].Status) != "PRIMARY" {
		t.Errorf("UpdateService web:2 answered taskDefinition %s, deployments %+v; want web:2 and its PRIMARY deployment", got, up.Service.Deployments)
	}
	stable(t, k.ECS, cluster, "web")
	d, err = k.ECS.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(cluster), Services: []string{"web"}})
	if err != nil {
		t.Fatal(err)
	}
	s = d.Services[0]
	if s.RunningCount != 3 || len(s.Deployments) != 1 || aws.ToString(s.Deployments[0].TaskDefinition) != arn("task-definition/web:2") {
		t.Errorf("after UpdateService web:2 desiredCount 3: running %d deployments %+v", s.RunningCount, s.Deployments)
	}
	first := aws.ToString(s.Deployments[0].Id)
	up, err = k.ECS.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String(cluster), Service: aws.String("web"), ForceNewDeployment: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(up.Service.Deployments) == 0 || aws.ToString(up.Service.Deployments[0].Id) == first {
		t.Errorf("forceNewDeployment: UpdateService answered deployments %+v; want a new PRIMARY one, not %s", up.Service.Deployments, first)
	}
	stable(t, k.ECS, cluster, "web")
	d, err = k.ECS.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(cluster), Services: []string{"web"}})
	if err != nil {
		t.Fatal(err)
	}
	if id := aws.ToString(d.Services[0].Deployments[0].Id); id == first {
		t.Errorf("forceNewDeployment: the deployment is still %s", id)
	}

	_, err = k.ECS.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String(cluster), Service: aws.String("nope")})
	wantError(t, "UpdateService of a missing service", err, "ServiceNotFoundException")
	_, err = k.ECS.CreateService(ctx, &ecs.CreateServiceInput{Cluster: aws.String(cluster), ServiceName: aws.String("lb"), TaskDefinition: aws.String("web"),
		DesiredCount: aws.Int32(1), LoadBalancers: []types.LoadBalancer{{ContainerName: aws.String("app"), ContainerPort: aws.Int32(80), TargetGroupArn: aws.String("arn:aws:elasticloadbalancing:x")}}})
	wantError(t, "CreateService with a load balancer", err, "InvalidParameterException", "loadBalancers")

	_, err = k.ECS.DeleteService(ctx, &ecs.DeleteServiceInput{Cluster: aws.String(cluster), Service: aws.String("web")})
	wantError(t, "DeleteService of a scaled service", err, "InvalidParameterException", "The service cannot be stopped while it is scaled above 0")
	del, err := k.ECS.DeleteService(ctx, &ecs.DeleteServiceInput{Cluster: aws.String(cluster), Service: aws.String("web"), Force: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(del.Service.Status) != "DRAINING" {
		t.Errorf("DeleteService: status %s, want DRAINING", aws.ToString(del.Service.Status))
	}
	inactiveSoon(t, k.ECS, cluster, "web")
}
