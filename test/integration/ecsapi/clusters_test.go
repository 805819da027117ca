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

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ecsv1 "github.com/longshore-io/longshore/api/v1alpha1"
)

var ignoreUnexported = cmpopts.IgnoreUnexported(types.Cluster{}, types.Tag{}, types.Failure{}, types.KeyValuePair{}, types.ClusterSetting{})

func TestClusters(t *testing.T) {
	k := user(t)
	ctx := t.Context()
	name := "c-" + k.Namespace
	t.Cleanup(func() { _ = env.Client.Delete(ctx, &ecsv1.Cluster{ObjectMeta: objectMeta(name)}) })

	created, err := k.ECS.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String(name),
		Tags: []types.Tag{{Key: aws.String("team"), Value: aws.String("web")}}})
	if err != nil {
		t.Fatal(err)
	}
	want := types.Cluster{ClusterArn: aws.String(arn("cluster/" + name)), ClusterName: aws.String(name), Status: aws.String("ACTIVE"),
		Tags: []types.Tag{{Key: aws.String("team"), Value: aws.String("web")}}}
	if diff := cmp.Diff(want, *created.Cluster, ignoreUnexported); diff != "" {
		t.Errorf("CreateCluster (-want +got):\n%s", diff)
	}
	cl := &ecsv1.Cluster{}
	if err := env.Client.Get(ctx, client.ObjectKey{Name: name}, cl); err != nil {
		t.Fatalf("CreateCluster made no Cluster: %v", err)
	}

	// As ECS: creating it again returns it.
	again, err := k.ECS.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, *again.Cluster, ignoreUnexported); diff != "" {
		t.Errorf("CreateCluster again (-want +got):\n%s", diff)
	}

	desc, err := k.ECS.DescribeClusters(ctx, &ecs.DescribeClustersInput{
		Clusters: []string{name, arn("cluster/" + name), "nope-" + k.Namespace},
		Include:  []types.ClusterField{types.ClusterFieldTags, types.ClusterFieldStatistics}})
	if err != nil {
		t.Fatal(err)
	}
	stats := []types.KeyValuePair{}
	for _, s := range []string{"runningEC2TasksCount", "runningFargateTasksCount", "pendingEC2TasksCount", "pendingFargateTasksCount",
		"activeEC2ServiceCount", "activeFargateServiceCount", "drainingEC2ServiceCount", "drainingFargateServiceCount"} {
		stats = append(stats, types.KeyValuePair{Name: aws.String(s), Value: aws.String("0")})
	}
	withStats := want
	withStats.Statistics = stats
	if diff := cmp.Diff([]types.Cluster{withStats, withStats}, desc.Clusters, ignoreUnexported); diff != "" {
		t.Errorf("DescribeClusters (-want +got):\n%s", diff)
	}
	wantFail := []types.Failure{{Arn: aws.String(arn("cluster/nope-" + k.Namespace)), Reason: aws.String("MISSING")}}
	if diff := cmp.Diff(wantFail, desc.Failures, ignoreUnexported); diff != "" {
		t.Errorf("DescribeClusters failures (-want +got):\n%s", diff)
	}
	// Without include: no tags.
	desc, err = k.ECS.DescribeClusters(ctx, &ecs.DescribeClustersInput{Clusters: []string{name}})
	if err != nil {
		t.Fatal(err)
	}
	if len(desc.Clusters) != 1 || desc.Clusters[0].Tags != nil {
		t.Errorf("DescribeClusters without include: %+v, want the cluster without tags", desc.Clusters)
	}

	_, err = k.ECS.DescribeClusters(ctx, &ecs.DescribeClustersInput{Clusters: []string{"arn:aws:ecs:eu-west-1:000000000000:cluster/x"}})
	wantError(t, "DescribeClusters of another region's ARN", err, "InvalidParameterException", "is not of this endpoint", "region us-east-1")
	_, err = k.ECS.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("Not_A_Name")})
	wantError(t, "CreateCluster Not_A_Name", err, "InvalidParameterException", `cluster name "Not_A_Name"`)
	_, err = k.ECS.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String(name), CapacityProviders: []string{"FARGATE"}})
	wantError(t, "CreateCluster with capacity providers", err, "InvalidParameterException", "capacityProviders", "no capacity providers")

	deleted, err := k.ECS.DeleteCluster(ctx, &ecs.DeleteClusterInput{Cluster: aws.String(arn("cluster/" + name))})
	if err != nil {
		t.Fatal(err)
	}
	if got := aws.ToString(deleted.Cluster.Status); got != "INACTIVE" {
		t.Errorf("DeleteCluster: status %q, want INACTIVE", got)
	}
	desc, err = k.ECS.DescribeClusters(ctx, &ecs.DescribeClustersInput{Clusters: []string{name}})
	if err != nil {
		t.Fatal(err)
	}
	if len(desc.Clusters) != 0 || len(desc.Failures) != 1 || aws.ToString(desc.Failures[0].Reason) != "MISSING" {
		t.Errorf("DescribeClusters after DeleteCluster: %+v %+v, want MISSING", desc.Clusters, desc.Failures)
	}
	_, err = k.ECS.DeleteCluster(ctx, &ecs.DeleteClusterInput{Cluster: aws.String(name)})
	var nf *types.ClusterNotFoundException
	if !errorsAs(err, &nf) {
		t.Errorf("DeleteCluster of a deleted cluster: %v, want ClusterNotFoundException", err)
	}
}

func TestDeleteClusterInUse(t *testing.T) {
	k := user(t)
	ctx := t.Context()
	name := "busy-" + k.Namespace
	env.NewCluster(t, name, nil)
	cl := &ecsv1.Cluster{}
	if err := env.Client.Get(ctx, client.ObjectKey{Name: name}, cl); err != nil {
		t.Fatal(err)
	}
	// What the manager reports of a cluster with instances.
	base := cl.DeepCopy()
	cl.Status.RegisteredContainerInstancesCount = 2
	if err := env.Client.Status().Patch(ctx, cl, client.MergeFrom(base)); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the cluster's count reaches the API", func() error {
		_, err := k.ECS.DeleteCluster(ctx, &ecs.DeleteClusterInput{Cluster: aws.String(name)})
		if code, _ := apiError(err); code != "ClusterContainsContainerInstancesException" {
			return errorf("DeleteCluster: %v", err)
		}
		return nil
	})
	if err := env.Client.Get(ctx, client.ObjectKey{Name: name}, cl); err != nil || !cl.DeletionTimestamp.IsZero() {
		t.Errorf("the cluster with instances went: %v", err)
	}
}

func TestListClustersPages(t *testing.T) {
	k := user(t)
	ctx := t.Context()
	var mine []string
	for _, n := range []string{"a", "b", "c"} {
		name := "list-" + n + "-" + k.Namespace
		env.NewCluster(t, name, nil)
		mine = append(mine, arn("cluster/"+name))
	}
	var all []string
	var token *string
	for pages := 0; ; pages++ {
		if pages > 100 {
			t.Fatal("ListClusters never ends")
		}
		out, err := k.ECS.ListClusters(ctx, &ecs.ListClustersInput{MaxResults: aws.Int32(1), NextToken: token})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.ClusterArns) > 1 {
			t.Fatalf("maxResults 1 gave %d", len(out.ClusterArns))
		}
		all = append(all, out.ClusterArns...)
		if out.NextToken == nil {
			break
		}
		token = out.NextToken
	}
	var got []string
	for _, a := range all {
		if slices.Contains(mine, a) {
			got = append(got, a)
		}
	}
	if diff := cmp.Diff(mine, got); diff != "" {
		t.Errorf("the test's clusters across pages (-want +got):\n%s", diff)
	}
	if !slices.IsSorted(all) || len(slices.Compact(slices.Clone(all))) != len(all) {
		t.Errorf("pages are not in order or repeat: %v", all)
	}
	_, err := k.ECS.ListClusters(ctx, &ecs.ListClustersInput{MaxResults: aws.Int32(101)})
	wantError(t, "ListClusters maxResults 101", err, "InvalidParameterException", "maxResults must be 1 to 100")
	_, err = k.ECS.ListClusters(ctx, &ecs.ListClustersInput{NextToken: aws.String("!!")})
	wantError(t, "ListClusters with a made-up token", err, "InvalidParameterException", "nextToken")
}
