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
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ecsv1 "github.com/longshore-io/longshore/api/v1alpha1"
	"github.com/longshore-io/longshore/internal/inactive"
	"github.com/longshore-io/longshore/test/integration/managertest"
	"github.com/longshore-io/longshore/test/integration/simagent"
)

// inactiveRetention is the suite manager's --inactive-service-retention:
// long enough for the waiter and a re-creation, short enough to see the
// record pruned.
const inactiveRetention = 15 * time.Second

// inactiveSoon waits, with the SDK's services-inactive waiter, for the
// services to read INACTIVE.
func inactiveSoon(t *testing.T, c *ecs.Client, cluster string, services ...string) {
	t.Helper()
	err := ecs.NewServicesInactiveWaiter(c, func(o *ecs.ServicesInactiveWaiterOptions) { o.MinDelay, o.MaxDelay = 200*time.Millisecond, time.Second }).
		Wait(t.Context(), &ecs.DescribeServicesInput{Cluster: aws.String(cluster), Services: services}, 60*time.Second)
	if err != nil {
		t.Fatalf("services-inactive %v: %v", services, err)
	}
}

// record is the manager's record of the deleted Service name ("" when
// there is none).
func record(t *testing.T, ns, name string) (inactive.Record, bool) {
	t.Helper()
	cm := &corev1.ConfigMap{}
	if err := env.Client.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: inactive.ConfigMapName}, cm); err != nil {
		if apierrors.IsNotFound(err) {
			return inactive.Record{}, false
		}
		t.Fatal(err)
	}
	v, ok := cm.Data[name]
	if !ok {
		return inactive.Record{}, false
	}
	r, err := inactive.Decode(name, v)
	if err != nil {
		t.Fatal(err)
	}
	return r, true
}

func describeOne(t *testing.T, c *ecs.Client, cluster, name string) *ecs.DescribeServicesOutput {
	t.Helper()
	d, err := c.DescribeServices(t.Context(), &ecs.DescribeServicesInput{Cluster: aws.String(cluster), Services: []string{name, "nope"},
		Include: []types.ServiceField{types.ServiceFieldTags}})
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Failures) != 1 || aws.ToString(d.Failures[0].Reason) != "MISSING" || aws.ToString(d.Failures[0].Arn) != arn("service/"+cluster+"/nope") {
		t.Fatalf("DescribeServices nope: failures %+v", d.Failures)
	}
	return d
}

// TestServiceInactive: a deleted Service reads DRAINING while its tasks
// stop, then INACTIVE (the services-inactive waiter succeeds), as ECS,
// whether DeleteService or a plain Kubernetes delete removed it; the name
// can be created again (ACTIVE); the record goes after the retention.
func TestServiceInactive(t *testing.T) {
	k := user(t)
	ctx := t.Context()
	cluster := "inact-" + k.Namespace
	env.NewCluster(t, cluster, nil)
	agent := simagent.ForTest(t, env.Client, "inact-ci-"+k.Namespace, simagent.Options{Cluster: cluster, Cores: 4, MemoryMiB: 8192, LeaseNamespace: managertest.LeaseNamespace,
		Health: func(*ecsv1.Task) ecsv1.HealthStatus { return ecsv1.HealthHealthy }})
	if _, err := k.ECS.RegisterTaskDefinition(ctx, webInput("busybox:1")); err != nil {
		t.Fatal(err)
	}
	in := &ecs.CreateServiceInput{Cluster: aws.String(cluster), ServiceName: aws.String("web"), TaskDefinition: aws.String("web"), DesiredCount: aws.Int32(2),
		Tags: []types.Tag{{Key: aws.String("team"), Value: aws.String("web")}}}
	created, err := k.ECS.CreateService(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	stable(t, k.ECS, cluster, "web")
	first := &ecsv1.Service{}
	if err := env.Client.Get(ctx, client.ObjectKey{Namespace: k.Namespace, Name: "web"}, first); err != nil {
		t.Fatal(err)
	}

	// The agent holds the tasks: the drain cannot end.
	agent.Pause()
	del, err := k.ECS.DeleteService(ctx, &ecs.DeleteServiceInput{Cluster: aws.String(cluster), Service: aws.String("web"), Force: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	if st := aws.ToString(del.Service.Status); st != "DRAINING" {
		t.Errorf("DeleteService: status %s, want DRAINING", st)
	}
	time.Sleep(time.Second) // the manager's passes over the deleted Service
	if st := aws.ToString(describeOne(t, k.ECS, cluster, "web").Services[0].Status); st != "DRAINING" {
		t.Errorf("DescribeServices while the tasks stop: status %s, want DRAINING", st)
	}
	if _, ok := record(t, k.Namespace, "web"); ok {
		t.Error("a record while the Service drains")
	}
	list, err := k.ECS.ListServices(ctx, &ecs.ListServicesInput{Cluster: aws.String(cluster)})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.ServiceArns) != 0 {
		t.Errorf("ListServices while DRAINING: %v, want none (ECS lists ACTIVE services)", list.ServiceArns)
	}
	_, err = k.ECS.CreateService(ctx, in)
	wantError(t, "CreateService of a DRAINING name", err, "InvalidParameterException", "Creation of service was not idempotent")
	agent.Resume()
	inactiveSoon(t, k.ECS, cluster, "web")

	d := describeOne(t, k.ECS, cluster, "web")
	if len(d.Services) != 1 {
		t.Fatalf("DescribeServices: %d services", len(d.Services))
	}
	s := d.Services[0]
	got := []any{aws.ToString(s.ServiceArn), aws.ToString(s.ServiceName), aws.ToString(s.ClusterArn), aws.ToString(s.Status), aws.ToString(s.TaskDefinition),
		s.DesiredCount, s.RunningCount, s.PendingCount, string(s.SchedulingStrategy), string(s.LaunchType), len(s.Deployments), len(s.Tags),
		aws.ToTime(s.CreatedAt).Unix()}
	want := []any{arn("service/" + cluster + "/web"), "web", arn("cluster/" + cluster), "INACTIVE", arn("task-definition/web:1"),
		int32(0), int32(0), int32(0), "REPLICA", "EC2", 0, 0, aws.ToTime(created.Service.CreatedAt).Unix()}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("DescribeServices of the INACTIVE service (-want +got):\n%s", diff)
	}
	rec, ok := record(t, k.Namespace, "web")
	if !ok || rec.UID != string(first.UID) || rec.Cluster != cluster || rec.TaskDefinition != "web:1" || rec.DeletedAt.IsZero() {
		t.Errorf("the record: %+v (present %v), want the UID %s", rec, ok, first.UID)
	}
	if got := rec.ExpiresAt.Sub(rec.InactiveAt); got != inactiveRetention {
		t.Errorf("the record expires %v after the drain, want %v", got, inactiveRetention)
	}
	if err := env.Client.Get(ctx, client.ObjectKey{Namespace: k.Namespace, Name: "web"}, &ecsv1.Service{}); !apierrors.IsNotFound(err) {
		t.Errorf("the Service after the drain: %v, want gone", err)
	}
	_, err = k.ECS.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String(cluster), Service: aws.String("web"), DesiredCount: aws.Int32(1)})
	wantError(t, "UpdateService of an INACTIVE service", err, "ServiceNotActiveException", "Service was not ACTIVE")
	again, err := k.ECS.DeleteService(ctx, &ecs.DeleteServiceInput{Cluster: aws.String(cluster), Service: aws.String("web")})
	if err != nil || aws.ToString(again.Service.Status) != "INACTIVE" {
		t.Errorf("DeleteService of an INACTIVE service: %v, want it INACTIVE", err)
	}
	list, err = k.ECS.ListServices(ctx, &ecs.ListServicesInput{Cluster: aws.String(cluster)})
	if err != nil || len(list.ServiceArns) != 0 {
		t.Errorf("ListServices with an INACTIVE service: %v %v, want none", list, err)
	}

	// The same name again: ACTIVE, the live Service wins over the record.
	in.DesiredCount = aws.Int32(1)
	re, err := k.ECS.CreateService(ctx, in)
	if err != nil {
		t.Fatalf("CreateService of an INACTIVE name: %v", err)
	}
	if st := aws.ToString(re.Service.Status); st != "ACTIVE" {
		t.Errorf("CreateService again: status %s", st)
	}
	stable(t, k.ECS, cluster, "web")
	if s := describeOne(t, k.ECS, cluster, "web").Services[0]; aws.ToString(s.Status) != "ACTIVE" || s.RunningCount != 1 || len(s.Tags) != 1 {
		t.Errorf("DescribeServices of the re-created service: status %s running %d tags %v", aws.ToString(s.Status), s.RunningCount, s.Tags)
	}
	if _, ok := record(t, k.Namespace, "web"); !ok {
		t.Error("the first service's record went with the re-creation; it should last its retention")
	}

	// A Kubernetes delete (kubectl, GitOps): the same path.
	second := &ecsv1.Service{}
	if err := env.Client.Get(ctx, client.ObjectKey{Namespace: k.Namespace, Name: "web"}, second); err != nil {
		t.Fatal(err)
	}
	if err := env.Client.Delete(ctx, second); err != nil {
		t.Fatal(err)
	}
	inactiveSoon(t, k.ECS, cluster, "web")
	rec, ok = record(t, k.Namespace, "web")
	if !ok || rec.UID != string(second.UID) {
		t.Fatalf("the record after a Kubernetes delete: %+v (present %v), want the UID %s", rec, ok, second.UID)
	}

	// Past the retention: MISSING, and the record pruned.
	waitFor(t, inactiveRetention+30*time.Second, "the record pruned", func() error {
		if _, ok := record(t, k.Namespace, "web"); ok {
			return errorf("the record is still there")
		}
		return nil
	})
	if time.Now().Before(rec.ExpiresAt) {
		t.Errorf("the record was pruned before it expired at %v", rec.ExpiresAt)
	}
	d, err = k.ECS.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(cluster), Services: []string{"web"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Services) != 0 || len(d.Failures) != 1 || aws.ToString(d.Failures[0].Reason) != "MISSING" {
		t.Errorf("DescribeServices past the retention: services %v failures %v, want MISSING", d.Services, d.Failures)
	}
	_, err = k.ECS.DeleteService(ctx, &ecs.DeleteServiceInput{Cluster: aws.String(cluster), Service: aws.String("web")})
	wantError(t, "DeleteService past the retention", err, "ServiceNotFoundException")
}
