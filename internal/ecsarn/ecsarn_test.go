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

package ecsarn

import (
	"regexp"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws/arn"
)

func TestARNs(t *testing.T) {
	c := Config{Region: "eu-west-3", AccountID: "123456789012"}
	const uid = "cd189a93-3e58-49da-a933-86466019ab50"
	for got, want := range map[string]string{
		c.Cluster("prod"):                "arn:aws:ecs:eu-west-3:123456789012:cluster/prod",
		c.Task("prod", uid):              "arn:aws:ecs:eu-west-3:123456789012:task/prod/cd189a933e5849daa93386466019ab50",
		c.TaskDefinition("web", 7):       "arn:aws:ecs:eu-west-3:123456789012:task-definition/web:7",
		c.ContainerInstance("prod", uid): "arn:aws:ecs:eu-west-3:123456789012:container-instance/prod/cd189a933e5849daa93386466019ab50",
		c.Service("prod", "web"):         "arn:aws:ecs:eu-west-3:123456789012:service/prod/web",
		Config{}.Cluster("default"):      "arn:aws:ecs:us-east-1:000000000000:cluster/default",
	} {
		if got != want {
			t.Errorf("got %s, want %s", got, want)
		}
	}
	// Every ARN parses as one (the AWS SDK's parser), with ECS's parts.
	for _, s := range []string{c.Cluster("prod"), c.Task("prod", uid), c.Container("prod", uid, "web"), c.Service("prod", "web")} {
		a, err := arn.Parse(s)
		if err != nil || a.Service != "ecs" || a.Region != "eu-west-3" || a.AccountID != "123456789012" || a.Partition != "aws" {
			t.Errorf("%s: %+v, %v", s, a, err)
		}
	}
	id := ContainerID(uid, "web")
	if !regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`).MatchString(id) {
		t.Errorf("container id %q is not a UUID", id)
	}
	if id != ContainerID(uid, "web") || id == ContainerID(uid, "web2") {
		t.Error("container ids are not stable per task and container")
	}
	if got := c.Container("prod", uid, "web"); got != "arn:aws:ecs:eu-west-3:123456789012:container/prod/cd189a933e5849daa93386466019ab50/"+id {
		t.Errorf("container ARN %s", got)
	}
}

func TestValidate(t *testing.T) {
	for _, ok := range []Config{{}, {Region: "eu-west-3", AccountID: "123456789012"}, {Partition: "aws-cn", Region: "cn-north-1"}, {Region: "us-gov-west-1", Partition: "aws-us-gov"}} {
		if err := ok.Validate(); err != nil {
			t.Errorf("%+v: %v", ok, err)
		}
	}
	for _, bad := range []Config{{Region: "Paris"}, {AccountID: "12345"}, {AccountID: "12345678901a"}, {Partition: "gcp"}} {
		if err := bad.Validate(); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}
