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
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ecsv1 "github.com/longshore-io/longshore/api/v1alpha1"
	"github.com/longshore-io/longshore/test/integration/managertest"
	"github.com/longshore-io/longshore/test/integration/simagent"
)

func TestRunDescribeListStopTasks(t *testing.T) {
	k := user(t)
	ctx := t.Context()
	cluster := "run-" + k.Namespace
	env.NewCluster(t, cluster, nil)
	simagent.ForTest(t, env.Client, "ci-"+k.Namespace, simagent.Options{Cluster: cluster, Cores: 4, MemoryMiB: 4096, LeaseNamespace: managertest.LeaseNamespace, AvailabilityZone: "zone-a"})
	if _, err := k.ECS.RegisterTaskDefinition(ctx, webInput("busybox:1", types.Tag{Key: aws.String("team"), Value: aws.String("web")})); err != nil {
		t.Fatal(err)
	}

	run, err := k.ECS.RunTask(ctx, &ecs.RunTaskInput{
		Cluster: aws.String(cluster), TaskDefinition: aws.String("web"), Count: aws.Int32(2),
		StartedBy: aws.String("ci-job-7"), Group: aws.String("batch"), PropagateTags: types.PropagateTagsTaskDefinition,
		Tags: []types.Tag{{Key: aws.String("run"), Value: aws.String("7")}},
		Overrides: &types.TaskOverride{ContainerOverrides: []types.ContainerOverride{{Name: aws.String("app"), Command: []string{"sleep", "60"},
			Environment: []types.KeyValuePair{{Name: aws.String("EXTRA"), Value: aws.String("1")}}}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(run.Tasks) != 2 || len(run.Failures) != 0 {
		t.Fatalf("RunTask count 2: %d tasks, failures %+v", len(run.Tasks), run.Failures)
	}
	var arns []string
	for _, tk := range run.Tasks {
		arns = append(arns, aws.ToString(tk.TaskArn))
		if !strings.HasPrefix(aws.ToString(tk.TaskArn), arn("task/"+cluster+"/")) {
			t.Errorf("task ARN %s is not of cluster %s", aws.ToString(tk.TaskArn), cluster)
		}
		got := []string{aws.ToString(tk.TaskDefinitionArn), aws.ToString(tk.ClusterArn), aws.ToString(tk.DesiredStatus), aws.ToString(tk.StartedBy), aws.ToString(tk.Group), string(tk.LaunchType)}
		want := []string{arn("task-definition/web:1"), arn("cluster/" + cluster), "RUNNING", "ci-job-7", "batch", "EC2"}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("RunTask task (-want +got):\n%s", diff)
		}
		wantTags := []types.Tag{{Key: aws.String("run"), Value: aws.String("7")}, {Key: aws.String("team"), Value: aws.String("web")}}
		if diff := cmp.Diff(wantTags, tk.Tags, tdUnexported, cmpopts.SortSlices(func(a, b types.Tag) bool { return aws.ToString(a.Key) < aws.ToString(b.Key) })); diff != "" {
			t.Errorf("RunTask tags, propagated from the task definition (-want +got):\n%s", diff)
		}
		if tk.CreatedAt == nil || time.Since(*tk.CreatedAt) > time.Minute {
			t.Errorf("createdAt %v, want about now", tk.CreatedAt)
		}
	}
	var tasks ecsv1.TaskList
	if err := env.Client.List(ctx, &tasks, client.InNamespace(k.Namespace)); err != nil {
		t.Fatal(err)
	}
	if len(tasks.Items) != 2 || tasks.Items[0].Spec.Overrides == nil || tasks.Items[0].Spec.Overrides.ContainerOverrides[0].Command[1] != "60" {
		t.Fatalf("RunTask made %d Tasks in the key's namespace, want 2 with the overrides: %+v", len(tasks.Items), tasks.Items)
	}

	// The SDK's own waiter, as scripts use it (aws ecs wait tasks-running).
	if err := ecs.NewTasksRunningWaiter(k.ECS, func(o *ecs.TasksRunningWaiterOptions) { o.MinDelay, o.MaxDelay = 200*time.Millisecond, time.Second }).
		Wait(ctx, &ecs.DescribeTasksInput{Cluster: aws.String(cluster), Tasks: arns}, 30*time.Second); err != nil {
		var now ecsv1.TaskList
		_ = env.Client.List(ctx, &now, client.InNamespace(k.Namespace))
		for _, tk := range now.Items {
			t.Logf("task %s: %s %+v", tk.Name, tk.Status.LastStatus, tk.Status.Conditions)
		}
		t.Fatalf("tasks-running: %v", err)
	}
	desc, err := k.ECS.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String(cluster), Tasks: append(arns, "0123456789abcdef0123456789abcdef"), Include: []types.TaskField{types.TaskFieldTags}})
	if err != nil {
		t.Fatal(err)
	}
	if len(desc.Tasks) != 2 {
		t.Fatalf("DescribeTasks: %d tasks", len(desc.Tasks))
	}
	for _, tk := range desc.Tasks {
		if aws.ToString(tk.LastStatus) != "RUNNING" || tk.StartedAt == nil || !strings.HasPrefix(aws.ToString(tk.ContainerInstanceArn), arn("container-instance/"+cluster+"/")) {
			t.Errorf("DescribeTasks: %s lastStatus %s startedAt %v containerInstanceArn %s, want RUNNING with both", aws.ToString(tk.TaskArn),
				aws.ToString(tk.LastStatus), tk.StartedAt, aws.ToString(tk.ContainerInstanceArn))
		}
		if len(tk.Tags) != 2 {
			t.Errorf("DescribeTasks include TAGS: %+v", tk.Tags)
		}
		if got := []string{aws.ToString(tk.Cpu), aws.ToString(tk.Memory), aws.ToString(tk.AvailabilityZone)}; !cmp.Equal(got, []string{"256", "512", "zone-a"}) {
			t.Errorf("DescribeTasks cpu, memory, availabilityZone: %q, want the revision's and the instance's", got)
		}
		for _, ct := range tk.Containers {
			// The simulated agent reports no container statuses: the
			// revision's containers are listed, PENDING, as ECS lists them.
			if aws.ToString(ct.Name) != "app" || aws.ToString(ct.Image) != "busybox:1" || aws.ToString(ct.LastStatus) != "PENDING" ||
				!strings.HasPrefix(aws.ToString(ct.ContainerArn), arn("container/"+cluster+"/")) {
				t.Errorf("DescribeTasks container %s: image %s lastStatus %s arn %s", aws.ToString(ct.Name), aws.ToString(ct.Image),
					aws.ToString(ct.LastStatus), aws.ToString(ct.ContainerArn))
			}
		}
		if len(tk.Containers) != 1 {
			t.Errorf("DescribeTasks: %d containers, want the revision's 1", len(tk.Containers))
		}
	}
	wantFail := []types.Failure{{Arn: aws.String(arn("task/" + cluster + "/0123456789abcdef0123456789abcdef")), Reason: aws.String("MISSING")}}
	if diff := cmp.Diff(wantFail, desc.Failures, tdUnexported); diff != "" {
		t.Errorf("DescribeTasks failures (-want +got):\n%s", diff)
	}

	list := func(in *ecs.ListTasksInput) []string {
		t.Helper()
		in.Cluster = aws.String(cluster)
		var all []string
		for pages := 0; pages < 10; pages++ {
			out, err := k.ECS.ListTasks(ctx, in)
			if err != nil {
				t.Fatal(err)
			}
			all = append(all, out.TaskArns...)
			if out.NextToken == nil {
				return all
			}
			in.NextToken = out.NextToken
		}
		t.Fatal("ListTasks never ends")
		return nil
	}
	sorted := cmpopts.SortSlices(func(a, b string) bool { return a < b })
	if diff := cmp.Diff(arns, list(&ecs.ListTasksInput{MaxResults: aws.Int32(1)}), sorted); diff != "" {
		t.Errorf("ListTasks in pages of 1 (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(arns, list(&ecs.ListTasksInput{Family: aws.String("web"), StartedBy: aws.String("ci-job-7")}), sorted); diff != "" {
		t.Errorf("ListTasks family web startedBy ci-job-7 (-want +got):\n%s", diff)
	}
	if got := list(&ecs.ListTasksInput{StartedBy: aws.String("someone-else")}); len(got) != 0 {
		t.Errorf("ListTasks startedBy someone-else: %v", got)
	}

	stop, err := k.ECS.StopTask(ctx, &ecs.StopTaskInput{Cluster: aws.String(cluster), Task: aws.String(arns[0]), Reason: aws.String("done with it")})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(stop.Task.DesiredStatus) != "STOPPED" {
		t.Errorf("StopTask: desiredStatus %s", aws.ToString(stop.Task.DesiredStatus))
	}
	if err := ecs.NewTasksStoppedWaiter(k.ECS, func(o *ecs.TasksStoppedWaiterOptions) { o.MinDelay, o.MaxDelay = 200*time.Millisecond, time.Second }).
		Wait(ctx, &ecs.DescribeTasksInput{Cluster: aws.String(cluster), Tasks: arns[:1]}, 30*time.Second); err != nil {
		t.Fatalf("tasks-stopped: %v", err)
	}
	desc, err = k.ECS.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String(cluster), Tasks: arns[:1]})
	if err != nil {
		t.Fatal(err)
	}
	if got := []string{string(desc.Tasks[0].StopCode), aws.ToString(desc.Tasks[0].StoppedReason)}; !cmp.Equal(got, []string{"UserInitiated", "done with it"}) {
		t.Errorf("a stopped task: stopCode, stoppedReason %q", got)
	}
	if diff := cmp.Diff(arns[:1], list(&ecs.ListTasksInput{DesiredStatus: types.DesiredStatusStopped})); diff != "" {
		t.Errorf("ListTasks desiredStatus STOPPED (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(arns[1:], list(&ecs.ListTasksInput{})); diff != "" {
		t.Errorf("ListTasks after StopTask (-want +got):\n%s", diff)
	}

	// The same clientToken returns the tasks it started, not new ones.
	again := &ecs.RunTaskInput{Cluster: aws.String(cluster), TaskDefinition: aws.String("web:1"), ClientToken: aws.String("retry-" + k.Namespace)}
	first, err := k.ECS.RunTask(ctx, again)
	if err != nil {
		t.Fatal(err)
	}
	second, err := k.ECS.RunTask(ctx, again)
	if err != nil {
		t.Fatal(err)
	}
	if len(first.Tasks) != 1 || len(second.Tasks) != 1 || aws.ToString(first.Tasks[0].TaskArn) != aws.ToString(second.Tasks[0].TaskArn) {
		t.Errorf("RunTask twice with one clientToken: %d then %d tasks, ARNs differ or missing", len(first.Tasks), len(second.Tasks))
	}

	// StartTask: on the instance named, bound at creation.
	started, err := k.ECS.StartTask(ctx, &ecs.StartTaskInput{Cluster: aws.String(cluster), TaskDefinition: aws.String("web:1"),
		ContainerInstances: []string{"ci-" + k.Namespace}, StartedBy: aws.String("start")})
	if err != nil {
		t.Fatal(err)
	}
	if len(started.Tasks) != 1 || !strings.HasPrefix(aws.ToString(started.Tasks[0].ContainerInstanceArn), arn("container-instance/"+cluster+"/")) {
		t.Fatalf("StartTask: %+v", started.Tasks)
	}
	if err := ecs.NewTasksRunningWaiter(k.ECS, func(o *ecs.TasksRunningWaiterOptions) { o.MinDelay, o.MaxDelay = 200*time.Millisecond, time.Second }).
		Wait(ctx, &ecs.DescribeTasksInput{Cluster: aws.String(cluster), Tasks: []string{aws.ToString(started.Tasks[0].TaskArn)}}, 30*time.Second); err != nil {
		t.Fatalf("tasks-running after StartTask: %v", err)
	}
	_, err = k.ECS.StartTask(ctx, &ecs.StartTaskInput{Cluster: aws.String(cluster), TaskDefinition: aws.String("web:1"), ContainerInstances: []string{"elsewhere"}})
	wantError(t, "StartTask on an instance of no cluster", err, "InvalidParameterException", "is not a container instance of cluster "+cluster)

	_, err = k.ECS.RunTask(ctx, &ecs.RunTaskInput{Cluster: aws.String("nope-" + k.Namespace), TaskDefinition: aws.String("web")})
	wantError(t, "RunTask in a missing cluster", err, "ClusterNotFoundException")
	_, err = k.ECS.RunTask(ctx, &ecs.RunTaskInput{Cluster: aws.String(cluster), TaskDefinition: aws.String("web"), LaunchType: types.LaunchTypeFargate})
	wantError(t, "RunTask FARGATE", err, "InvalidParameterException", "launchType FARGATE")
	_, err = k.ECS.RunTask(ctx, &ecs.RunTaskInput{Cluster: aws.String(cluster), TaskDefinition: aws.String("web:4")})
	wantError(t, "RunTask web:4", err, "ClientException", "TaskDefinition not found")
	_, err = k.ECS.RunTask(ctx, &ecs.RunTaskInput{Cluster: aws.String(cluster), TaskDefinition: aws.String("web"), Count: aws.Int32(11)})
	wantError(t, "RunTask count 11", err, "InvalidParameterException", "count must be 1 to 10")
	_, err = k.ECS.StopTask(ctx, &ecs.StopTaskInput{Cluster: aws.String(cluster), Task: aws.String("0123456789abcdef0123456789abcdef")})
	wantError(t, "StopTask of a missing task", err, "InvalidParameterException", "The referenced task was not found")
	_, err = k.ECS.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String("nope-" + k.Namespace), Tasks: arns})
	wantError(t, "DescribeTasks in a missing cluster", err, "ClusterNotFoundException")
}
