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
)

func webInput(image string, tags ...types.Tag) *ecs.RegisterTaskDefinitionInput {
	return &ecs.RegisterTaskDefinitionInput{
		Family:      aws.String("web"),
		NetworkMode: types.NetworkModeBridge,
		Cpu:         aws.String("256"),
		Memory:      aws.String("512"),
		ContainerDefinitions: []types.ContainerDefinition{{
			Name: aws.String("app"), Image: aws.String(image), Essential: aws.Bool(true), Memory: aws.Int32(128), Cpu: 64,
			PortMappings: []types.PortMapping{{ContainerPort: aws.Int32(80), HostPort: aws.Int32(0), Protocol: types.TransportProtocolTcp}},
			Environment:  []types.KeyValuePair{{Name: aws.String("MODE"), Value: aws.String("prod")}},
			Command:      []string{"httpd", "-f"},
			HealthCheck:  &types.HealthCheck{Command: []string{"CMD-SHELL", "true"}, Interval: aws.Int32(10), Retries: aws.Int32(3), Timeout: aws.Int32(5)},
		}},
		Tags: tags,
	}
}

var tdUnexported = cmpopts.IgnoreUnexported(types.TaskDefinition{}, types.ContainerDefinition{}, types.PortMapping{},
	types.KeyValuePair{}, types.HealthCheck{}, types.Tag{}, types.Failure{})

func TestRegisterAndDescribeTaskDefinition(t *testing.T) {
	k := user(t)
	ctx := t.Context()
	before := time.Now().Add(-2 * time.Second)
	tag := types.Tag{Key: aws.String("team"), Value: aws.String("web")}
	r1, err := k.ECS.RegisterTaskDefinition(ctx, webInput("busybox:1", tag))
	if err != nil {
		t.Fatal(err)
	}
	got := r1.TaskDefinition
	if got.RegisteredAt == nil || got.RegisteredAt.Before(before) || got.RegisteredAt.After(time.Now().Add(2*time.Second)) {
		t.Errorf("registeredAt %v, want about now", got.RegisteredAt)
	}
	want := &types.TaskDefinition{
		TaskDefinitionArn: aws.String(arn("task-definition/web:1")), Family: aws.String("web"), Revision: 1,
		Status: types.TaskDefinitionStatusActive, NetworkMode: types.NetworkModeBridge, Cpu: aws.String("256"), Memory: aws.String("512"),
		Compatibilities: []types.Compatibility{types.CompatibilityEc2}, RegisteredAt: got.RegisteredAt,
		ContainerDefinitions: []types.ContainerDefinition{{
			Name: aws.String("app"), Image: aws.String("busybox:1"), Essential: aws.Bool(true), Memory: aws.Int32(128), Cpu: 64,
			PortMappings: []types.PortMapping{{ContainerPort: aws.Int32(80), HostPort: aws.Int32(0), Protocol: types.TransportProtocolTcp}},
			Environment:  []types.KeyValuePair{{Name: aws.String("MODE"), Value: aws.String("prod")}},
			Command:      []string{"httpd", "-f"},
			HealthCheck:  &types.HealthCheck{Command: []string{"CMD-SHELL", "true"}, Interval: aws.Int32(10), Retries: aws.Int32(3), Timeout: aws.Int32(5)},
		}},
	}
	// What the CRD defaults (e.g. a health check's startPeriod) may add
	// is not compared: the fields given must arrive.
	opts := cmp.Options{tdUnexported, cmpopts.IgnoreFields(types.HealthCheck{}, "StartPeriod"), cmpopts.IgnoreFields(types.ContainerDefinition{}, "StopTimeout"),
		cmpopts.IgnoreFields(types.PortMapping{}, "Name", "AppProtocol", "ContainerPortRange")}
	if diff := cmp.Diff(want, got, opts); diff != "" {
		t.Errorf("RegisterTaskDefinition (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]types.Tag{tag}, r1.Tags, tdUnexported); diff != "" {
		t.Errorf("RegisterTaskDefinition tags (-want +got):\n%s", diff)
	}
	td := &ecsv1.TaskDefinition{}
	if err := env.Client.Get(ctx, client.ObjectKey{Namespace: k.Namespace, Name: "web"}, td); err != nil {
		t.Fatalf("RegisterTaskDefinition made no TaskDefinition in the key's namespace: %v", err)
	}

	// The same body again is a new revision, as in ECS; another body too.
	r2, err := k.ECS.RegisterTaskDefinition(ctx, webInput("busybox:1", tag))
	if err != nil {
		t.Fatal(err)
	}
	r3, err := k.ECS.RegisterTaskDefinition(ctx, webInput("busybox:2"))
	if err != nil {
		t.Fatal(err)
	}
	if a, b := aws.ToString(r2.TaskDefinition.TaskDefinitionArn), aws.ToString(r3.TaskDefinition.TaskDefinitionArn); a != arn("task-definition/web:2") || b != arn("task-definition/web:3") {
		t.Errorf("registering the same body, then another: %s, %s, want web:2, web:3", a, b)
	}

	for ref, wantRev := range map[string]int32{"web": 3, "web:1": 1, arn("task-definition/web:2"): 2} {
		d, err := k.ECS.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(ref), Include: []types.TaskDefinitionField{types.TaskDefinitionFieldTags}})
		if err != nil {
			t.Errorf("DescribeTaskDefinition %s: %v", ref, err)
			continue
		}
		if d.TaskDefinition.Revision != wantRev {
			t.Errorf("DescribeTaskDefinition %s: revision %d, want %d", ref, d.TaskDefinition.Revision, wantRev)
		}
		wantTags := []types.Tag{tag}
		if wantRev == 3 {
			wantTags = []types.Tag{}
		}
		if diff := cmp.Diff(wantTags, d.Tags, tdUnexported); diff != "" {
			t.Errorf("DescribeTaskDefinition %s include TAGS (-want +got):\n%s", ref, diff)
		}
	}
	d, err := k.ECS.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String("web:1")})
	if err != nil {
		t.Fatal(err)
	}
	if d.Tags != nil {
		t.Errorf("DescribeTaskDefinition without include: tags %v", d.Tags)
	}
	if diff := cmp.Diff(want, d.TaskDefinition, opts); diff != "" {
		t.Errorf("DescribeTaskDefinition web:1 (-want +got):\n%s", diff)
	}

	_, err = k.ECS.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String("web:9")})
	wantError(t, "DescribeTaskDefinition web:9", err, "ClientException", "Unable to describe task definition")
	_, err = k.ECS.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String("nope")})
	wantError(t, "DescribeTaskDefinition nope", err, "ClientException", "Unable to describe task definition", "no ACTIVE revision")
	_, err = k.ECS.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(arn("cluster/web"))})
	wantError(t, "DescribeTaskDefinition of a cluster ARN", err, "InvalidParameterException", "is not a task definition ARN")
}

func TestRegisterTaskDefinitionRefused(t *testing.T) {
	k := user(t)
	ctx := t.Context()
	in := webInput("busybox:1")
	in.ContainerDefinitions[0].Memory = aws.Int32(1024) // above the task's 512
	_, err := k.ECS.RegisterTaskDefinition(ctx, in)
	wantError(t, "a container above the task's memory", err, "ClientException", "task definition web is invalid")
	in = webInput("busybox:1")
	in.ContainerDefinitions[0].Image = nil
	_, err = k.ECS.RegisterTaskDefinition(ctx, in)
	wantError(t, "a container without an image", err, "InvalidParameterException", "spec.containerDefinitions[0].image")
	in = webInput("busybox:1")
	in.Tags = []types.Tag{{Key: aws.String("aws:x"), Value: aws.String("y")}}
	_, err = k.ECS.RegisterTaskDefinition(ctx, in)
	wantError(t, "an aws: tag", err, "InvalidParameterException", "reserved")
}

func TestListAndDeregisterTaskDefinitions(t *testing.T) {
	k := user(t)
	ctx := t.Context()
	for _, f := range []string{"api", "api", "api", "worker"} {
		in := webInput("busybox:1")
		in.Family = aws.String(f)
		if _, err := k.ECS.RegisterTaskDefinition(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	dereg, err := k.ECS.DeregisterTaskDefinition(ctx, &ecs.DeregisterTaskDefinitionInput{TaskDefinition: aws.String("api:1")})
	if err != nil {
		t.Fatal(err)
	}
	if dereg.TaskDefinition.Status != types.TaskDefinitionStatusInactive {
		t.Errorf("DeregisterTaskDefinition: status %s, want INACTIVE", dereg.TaskDefinition.Status)
	}
	_, err = k.ECS.DeregisterTaskDefinition(ctx, &ecs.DeregisterTaskDefinitionInput{TaskDefinition: aws.String("api")})
	wantError(t, "DeregisterTaskDefinition without a revision", err, "ClientException", "names no revision")
	_, err = k.ECS.DeregisterTaskDefinition(ctx, &ecs.DeregisterTaskDefinitionInput{TaskDefinition: aws.String("api:7")})
	wantError(t, "DeregisterTaskDefinition api:7", err, "ClientException", "does not exist")

	list := func(in *ecs.ListTaskDefinitionsInput) []string {
		t.Helper()
		var all []string
		for pages := 0; pages < 20; pages++ {
			out, err := k.ECS.ListTaskDefinitions(ctx, in)
			if err != nil {
				t.Fatal(err)
			}
			if in.MaxResults != nil && int32(len(out.TaskDefinitionArns)) > *in.MaxResults {
				t.Fatalf("maxResults %d gave %d", *in.MaxResults, len(out.TaskDefinitionArns))
			}
			all = append(all, out.TaskDefinitionArns...)
			if out.NextToken == nil {
				return all
			}
			in.NextToken = out.NextToken
		}
		t.Fatal("ListTaskDefinitions never ends")
		return nil
	}
	td := func(s ...string) []string {
		for i := range s {
			s[i] = arn("task-definition/" + s[i])
		}
		return s
	}
	for name, tc := range map[string]struct {
		in   *ecs.ListTaskDefinitionsInput
		want []string
	}{
		"ACTIVE, by default":       {&ecs.ListTaskDefinitionsInput{}, td("api:2", "api:3", "worker:1")},
		"INACTIVE":                 {&ecs.ListTaskDefinitionsInput{Status: types.TaskDefinitionStatusInactive}, td("api:1")},
		"DESC, pages of 1":         {&ecs.ListTaskDefinitionsInput{Sort: types.SortOrderDesc, MaxResults: aws.Int32(1)}, td("worker:1", "api:3", "api:2")},
		"familyPrefix, pages of 1": {&ecs.ListTaskDefinitionsInput{FamilyPrefix: aws.String("ap"), MaxResults: aws.Int32(1)}, td("api:2", "api:3")},
		"a prefix nothing matches": {&ecs.ListTaskDefinitionsInput{FamilyPrefix: aws.String("zzz")}, []string{}},
	} {
		if diff := cmp.Diff(tc.want, list(tc.in), cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("ListTaskDefinitions %s (-want +got):\n%s", name, diff)
		}
	}
	_, err = k.ECS.ListTaskDefinitions(ctx, &ecs.ListTaskDefinitionsInput{Status: "GONE"})
	wantError(t, "ListTaskDefinitions status GONE", err, "InvalidParameterException", "status")

	fam, err := k.ECS.ListTaskDefinitionFamilies(ctx, &ecs.ListTaskDefinitionFamiliesInput{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"api", "worker"}, fam.Families); diff != "" {
		t.Errorf("ListTaskDefinitionFamilies (-want +got):\n%s", diff)
	}
	if _, err := k.ECS.DeregisterTaskDefinition(ctx, &ecs.DeregisterTaskDefinitionInput{TaskDefinition: aws.String("worker:1")}); err != nil {
		t.Fatal(err)
	}
	for st, want := range map[types.TaskDefinitionFamilyStatus][]string{
		types.TaskDefinitionFamilyStatusActive: {"api"}, types.TaskDefinitionFamilyStatusInactive: {"worker"}, types.TaskDefinitionFamilyStatusAll: {"api", "worker"},
	} {
		fam, err := k.ECS.ListTaskDefinitionFamilies(ctx, &ecs.ListTaskDefinitionFamiliesInput{Status: st})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, fam.Families); diff != "" {
			t.Errorf("ListTaskDefinitionFamilies %s (-want +got):\n%s", st, diff)
		}
	}
	fam, err = k.ECS.ListTaskDefinitionFamilies(ctx, &ecs.ListTaskDefinitionFamiliesInput{Status: types.TaskDefinitionFamilyStatusAll, MaxResults: aws.Int32(1)})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"api"}, fam.Families); diff != "" || fam.NextToken == nil {
		t.Errorf("ListTaskDefinitionFamilies page 1 (-want +got):\n%s (nextToken %v)", diff, fam.NextToken)
	}

	del, err := k.ECS.DeleteTaskDefinitions(ctx, &ecs.DeleteTaskDefinitionsInput{TaskDefinitions: []string{"api:1", arn("task-definition/api:2"), "api:9"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(del.TaskDefinitions) != 1 || del.TaskDefinitions[0].Status != types.TaskDefinitionStatusDeleteInProgress || del.TaskDefinitions[0].Revision != 1 {
		t.Errorf("DeleteTaskDefinitions: %+v, want api:1 DELETE_IN_PROGRESS", del.TaskDefinitions)
	}
	wantFail := []types.Failure{
		{Arn: aws.String(arn("task-definition/api:2")), Reason: aws.String("The specified task definition is not in the INACTIVE state"), Detail: aws.String("task definition api:2 is ACTIVE: deregister it first")},
		{Arn: aws.String(arn("task-definition/api:9")), Reason: aws.String("MISSING"), Detail: aws.String("task definition api:9 does not exist in namespace " + k.Namespace)},
	}
	if diff := cmp.Diff(wantFail, del.Failures, tdUnexported); diff != "" {
		t.Errorf("DeleteTaskDefinitions failures (-want +got):\n%s", diff)
	}
	eventually(t, "api:1 is gone", func() error {
		rev := &ecsv1.TaskDefinitionRevision{}
		err := env.Client.Get(ctx, client.ObjectKey{Namespace: k.Namespace, Name: "api-1"}, rev)
		if err == nil {
			return errorf("api-1 is still there (%s)", rev.EffectiveStatus())
		}
		return client.IgnoreNotFound(err)
	})
}

// TestConcurrentRegistrations: RegisterTaskDefinition calls of one family
// at once each get a revision of their own, as in ECS.
func TestConcurrentRegistrations(t *testing.T) {
	k := user(t)
	const n = 4
	type result struct {
		rev int32
		err error
	}
	results := make(chan result, n)
	for i := 0; i < n; i++ {
		go func() {
			in := webInput("busybox:1")
			in.Family = aws.String("conc")
			out, err := k.ECS.RegisterTaskDefinition(t.Context(), in)
			if err != nil {
				results <- result{err: err}
				return
			}
			results <- result{rev: out.TaskDefinition.Revision}
		}()
	}
	var got []int32
	for i := 0; i < n; i++ {
		r := <-results
		if r.err != nil {
			t.Errorf("RegisterTaskDefinition: %v", r.err)
			continue
		}
		got = append(got, r.rev)
	}
	slices.Sort(got)
	if diff := cmp.Diff([]int32{1, 2, 3, 4}, got); diff != "" {
		t.Errorf("the revisions the calls returned (-want +got):\n%s", diff)
	}
}
