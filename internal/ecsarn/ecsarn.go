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

// Package ecsarn writes the Amazon Resource Names of Longshore's objects in
// the form ECS gives its own ("long" ARN format), so that what reads ECS
// ARNs (the task metadata endpoint's clients, the AWS SDKs, the
// OpenTelemetry and Datadog ECS integrations) parses them: region and
// account id where ECS has them, the cluster name inside task, container,
// container instance and service ARNs. Every component that shows an ARN
// (the agent's task endpoints, the ECS API) writes it with this package,
// so one object has one ARN everywhere.
package ecsarn

import (
	"crypto/sha256"
	"fmt"
	"regexp"
	"strings"
)

// Defaults of Config: an AWS partition, a region name and a twelve-digit
// account id that name no real account.
const (
	DefaultPartition = "aws"
	DefaultRegion    = "us-east-1"
	DefaultAccountID = "000000000000"
)

// Config is what every ARN carries besides the object: the partition,
// region and account id ECS would put there. They are an operator's
// choice (e.g. the region and account a migrated workload expects).
type Config struct {
	Partition string
	Region    string
	AccountID string
}

var (
	regionRE  = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]+$`)
	accountRE = regexp.MustCompile(`^[0-9]{12}$`)
	partRE    = regexp.MustCompile(`^aws(-[a-z]+)*$`)
)

// WithDefaults fills what c leaves empty.
func (c Config) WithDefaults() Config {
	if c.Partition == "" {
		c.Partition = DefaultPartition
	}
	if c.Region == "" {
		c.Region = DefaultRegion
	}
	if c.AccountID == "" {
		c.AccountID = DefaultAccountID
	}
	return c
}

// Validate checks the region (like us-east-1), the account id (twelve
// digits) and the partition (aws, aws-cn, aws-us-gov, …).
func (c Config) Validate() error {
	c = c.WithDefaults()
	if !partRE.MatchString(c.Partition) {
		return fmt.Errorf("ARN partition %q: want aws, aws-cn, aws-us-gov or the like", c.Partition)
	}
	if !regionRE.MatchString(c.Region) {
		return fmt.Errorf("ARN region %q: want a region name like us-east-1", c.Region)
	}
	if !accountRE.MatchString(c.AccountID) {
		return fmt.Errorf("ARN account id %q: want twelve digits", c.AccountID)
	}
	return nil
}

func (c Config) arn(resource string) string {
	c = c.WithDefaults()
	return "arn:" + c.Partition + ":ecs:" + c.Region + ":" + c.AccountID + ":" + resource
}

// TaskID is a task's id as ECS writes it: the Task's UID without dashes
// (32 hexadecimal digits).
func TaskID(uid string) string { return strings.ReplaceAll(uid, "-", "") }

// Cluster is arn:aws:ecs:<region>:<account>:cluster/<cluster>.
func (c Config) Cluster(cluster string) string { return c.arn("cluster/" + cluster) }

// Task is arn:aws:ecs:<region>:<account>:task/<cluster>/<task id>; uid is
// the Task's UID.
func (c Config) Task(cluster, uid string) string {
	return c.arn("task/" + cluster + "/" + TaskID(uid))
}

// ContainerID is the id ECS gives a container of a task (a UUID), derived
// from the task's UID and the container's name so that it stays the same
// across agent restarts and restart-policy restarts.
func ContainerID(taskUID, container string) string {
	sum := sha256.Sum256([]byte(taskUID + "/" + container))
	b := sum[:16]
	b[6] = b[6]&0x0f | 0x50 // version 5 layout (name-based, SHA)
	b[8] = b[8]&0x3f | 0x80 // RFC 4122 variant
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// Container is arn:aws:ecs:<region>:<account>:container/<cluster>/<task id>/<container id>.
func (c Config) Container(cluster, taskUID, container string) string {
	return c.arn("container/" + cluster + "/" + TaskID(taskUID) + "/" + ContainerID(taskUID, container))
}

// TaskDefinition is arn:aws:ecs:<region>:<account>:task-definition/<family>:<revision>.
// ECS families are per account and region; Longshore's are per namespace,
// so two namespaces' family:n share an ARN.
func (c Config) TaskDefinition(family string, revision int64) string {
	return c.arn(fmt.Sprintf("task-definition/%s:%d", family, revision))
}

// ContainerInstance is
// arn:aws:ecs:<region>:<account>:container-instance/<cluster>/<id>; uid is
// the ContainerInstance's UID.
func (c Config) ContainerInstance(cluster, uid string) string {
	return c.arn("container-instance/" + cluster + "/" + TaskID(uid))
}

// Service is arn:aws:ecs:<region>:<account>:service/<cluster>/<service>.
func (c Config) Service(cluster, service string) string {
	return c.arn("service/" + cluster + "/" + service)
}
