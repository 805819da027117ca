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
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"k8s.io/apimachinery/pkg/api/meta"

	ecsv1 "github.com/longshore-io/longshore/api/v1alpha1"
	"github.com/longshore-io/longshore/internal/ecsarn"
	"github.com/longshore-io/longshore/internal/scheduler"
)

// resourcesOf writes Longshore's resources as ECS's list of resources.
func resourcesOf(r *ecsv1.Resources) []types.Resource {
	if r == nil {
		return []types.Resource{}
	}
	ports := func(ps []int32) []string {
		out := make([]string, 0, len(ps))
		for _, p := range ps {
			out = append(out, strconv.Itoa(int(p)))
		}
		return out
	}
	out := []types.Resource{
		{Name: aws.String("CPU"), Type: aws.String("INTEGER"), IntegerValue: int32(r.CPU)},
		{Name: aws.String("MEMORY"), Type: aws.String("INTEGER"), IntegerValue: int32(r.Memory)},
		{Name: aws.String("PORTS"), Type: aws.String("STRINGSET"), StringSetValue: ports(r.Ports)},
		{Name: aws.String("PORTS_UDP"), Type: aws.String("STRINGSET"), StringSetValue: ports(r.PortsUDP)},
	}
	if r.GPU > 0 {
		out = append(out, types.Resource{Name: aws.String("GPU"), Type: aws.String("INTEGER"), IntegerValue: int32(r.GPU)})
	}
	return out
}

// containerInstanceOf is the ECS view of a ContainerInstance.
func (s *Server) containerInstanceOf(ci *ecsv1.ContainerInstance, withTags bool) (types.ContainerInstance, *Error) {
	cluster := ecsv1.ClusterName(ci.Spec.Cluster)
	state := string(ci.Spec.State)
	if state == "" {
		state = string(ecsv1.ContainerInstanceActive)
	}
	if !ci.DeletionTimestamp.IsZero() {
		state = "DEREGISTERING"
	}
	out := types.ContainerInstance{
		ContainerInstanceArn: aws.String(s.o.ARN.ContainerInstance(cluster, string(ci.UID))),
		Ec2InstanceId:        aws.String(ci.Name),
		Status:               aws.String(state),
		AgentConnected:       ci.Status.AgentConnected != nil && *ci.Status.AgentConnected,
		RunningTasksCount:    ci.Status.RunningTasksCount,
		PendingTasksCount:    ci.Status.PendingTasksCount,
		RegisteredResources:  resourcesOf(ci.Status.RegisteredResources),
		RemainingResources:   resourcesOf(ci.Status.RemainingResources),
		Version:              ci.Generation,
		VersionInfo:          &types.VersionInfo{AgentVersion: aws.String(ci.Status.AgentVersion), DockerVersion: aws.String(ci.Status.RuntimeVersion)},
		Attributes:           []types.Attribute{},
	}
	if ci.Status.RegisteredAt != nil {
		out.RegisteredAt = aws.Time(ci.Status.RegisteredAt.Time)
	}
	for _, a := range append(slices.Clone(ci.Status.Attributes), ci.Spec.Attributes...) {
		at := types.Attribute{Name: aws.String(a.Name)}
		if a.Value != "" {
			at.Value = aws.String(a.Value)
		}
		out.Attributes = append(out.Attributes, at)
	}
	if withTags {
		tags, err := readTags(ci.Annotations)
		if err != nil {
			return out, serverError("container instance %s: %v", ci.Name, err)
		}
		out.Tags = tags
		if out.Tags == nil {
			out.Tags = []types.Tag{}
		}
	}
	return out, nil
}

// instancesOf lists the ContainerInstances of cluster.
func (s *Server) instancesOf(c *call, cluster string) ([]ecsv1.ContainerInstance, *Error) {
	var list ecsv1.ContainerInstanceList
	if err := c.c.List(c.ctx, &list); err != nil {
		return nil, kubeError(err, "listing container instances")
	}
	out := list.Items[:0]
	for _, ci := range list.Items {
		if ecsv1.ClusterName(ci.Spec.Cluster) == cluster {
			out = append(out, ci)
		}
	}
	return out, nil
}

// findInstance finds the instance a reference names in cluster: a
// container instance ARN, its id (the UID without dashes) or its name.
func (s *Server) findInstance(instances []ecsv1.ContainerInstance, ref, cluster string) (*ecsv1.ContainerInstance, string, *Error) {
	kind, rest, isARN, e := s.parseARN(ref)
	if e != nil {
		return nil, "", e
	}
	id := ref
	if isARN {
		cl, rid, ok := strings.Cut(rest, "/")
		if kind != "container-instance" || !ok {
			return nil, "", invalidParameter("%q is not a container instance ARN (%s)", ref, s.o.ARN.ContainerInstance("<cluster>", "<id>"))
		}
		if cl != cluster {
			return nil, "", invalidParameter("container instance %q is of cluster %s, not %s", ref, cl, cluster)
		}
		id = rid
	}
	for i := range instances {
		ci := &instances[i]
		if ecsarn.TaskID(string(ci.UID)) == id || (!isARN && ci.Name == id) {
			return ci, s.o.ARN.ContainerInstance(cluster, string(ci.UID)), nil
		}
	}
	return nil, s.o.ARN.ContainerInstance(cluster, id), nil
}

func (s *Server) listContainerInstances(c *call, body []byte) (any, *Error) {
	var in ecs.ListContainerInstancesInput
	if e := decode(body, &in); e != nil {
		return nil, e
	}
	var filter scheduler.Expr
	if f := aws.ToString(in.Filter); f != "" {
		x, err := scheduler.ParseExpression(f)
		if err != nil {
			return nil, invalidParameter("filter: %v", strings.Replace(err.Error(), "memberOf expression", "cluster query language expression", 1))
		}
		filter = x
	}
	cluster, e := s.requireCluster(c, aws.ToString(in.Cluster))
	if e != nil {
		return nil, e
	}
	switch in.Status {
	case "", types.ContainerInstanceStatusActive, types.ContainerInstanceStatusDraining, types.ContainerInstanceStatusDeregistering,
		types.ContainerInstanceStatusRegistering, types.ContainerInstanceStatusRegistrationFailed:
	default:
		return nil, invalidParameter("status %q: want ACTIVE, DRAINING, REGISTERING, DEREGISTERING or REGISTRATION_FAILED", in.Status)
	}
	instances, e := s.instancesOf(c, cluster)
	if e != nil {
		return nil, e
	}
	if filter != nil {
		if instances, e = s.filterInstances(c, cluster, instances, filter); e != nil {
			return nil, e
		}
	}
	var items []keyedARN
	for i := range instances {
		v, e := s.containerInstanceOf(&instances[i], false)
		if e != nil {
			return nil, e
		}
		if in.Status != "" && aws.ToString(v.Status) != string(in.Status) {
			continue
		}
		items = append(items, keyedARN{ecsarn.TaskID(string(instances[i].UID)), aws.ToString(v.ContainerInstanceArn)})
	}
	arns, next, e := pageARNs(items, in.NextToken, in.MaxResults)
	if e != nil {
		return nil, e
	}
	return &ecs.ListContainerInstancesOutput{ContainerInstanceArns: arns, NextToken: next}, nil
}

func (s *Server) describeContainerInstances(c *call, body []byte) (any, *Error) {
	var in ecs.DescribeContainerInstancesInput
	if e := decode(body, &in); e != nil {
		return nil, e
	}
	if len(in.ContainerInstances) == 0 || len(in.ContainerInstances) > 100 {
		return nil, invalidParameter("containerInstances: give 1 to 100, not %d", len(in.ContainerInstances))
	}
	withTags, withHealth := false, false
	for _, f := range in.Include {
		switch f {
		case types.ContainerInstanceFieldTags:
			withTags = true
		case types.ContainerInstanceFieldContainerInstanceHealth:
			withHealth = true
		default:
			return nil, invalidParameter("include %q: want TAGS or CONTAINER_INSTANCE_HEALTH", f)
		}
	}
	cluster, e := s.requireCluster(c, aws.ToString(in.Cluster))
	if e != nil {
		return nil, e
	}
	instances, e := s.instancesOf(c, cluster)
	if e != nil {
		return nil, e
	}
	out := &ecs.DescribeContainerInstancesOutput{ContainerInstances: []types.ContainerInstance{}, Failures: []types.Failure{}}
	for _, ref := range in.ContainerInstances {
		ci, arn, e := s.findInstance(instances, ref, cluster)
		if e != nil {
			return nil, e
		}
		if ci == nil {
			out.Failures = append(out.Failures, types.Failure{Arn: aws.String(arn), Reason: aws.String("MISSING")})
			continue
		}
		v, e := s.containerInstanceOf(ci, withTags)
		if e != nil {
			return nil, e
		}
		if withHealth {
			v.HealthStatus = healthOf(ci)
		}
		out.ContainerInstances = append(out.ContainerInstances, v)
	}
	return out, nil
}

func (s *Server) updateContainerInstancesState(c *call, body []byte) (any, *Error) {
	var in ecs.UpdateContainerInstancesStateInput
	if e := decode(body, &in); e != nil {
		return nil, e
	}
	var state ecsv1.ContainerInstanceState
	switch in.Status {
	case types.ContainerInstanceStatusActive:
		state = ecsv1.ContainerInstanceActive
	case types.ContainerInstanceStatusDraining:
		state = ecsv1.ContainerInstanceDraining
	default:
		return nil, invalidParameter("status %q: want ACTIVE or DRAINING", in.Status)
	}
	if len(in.ContainerInstances) == 0 || len(in.ContainerInstances) > 10 {
		return nil, invalidParameter("containerInstances: give 1 to 10, not %d", len(in.ContainerInstances))
	}
	cluster, e := s.requireCluster(c, aws.ToString(in.Cluster))
	if e != nil {
		return nil, e
	}
	instances, e := s.instancesOf(c, cluster)
	if e != nil {
		return nil, e
	}
	out := &ecs.UpdateContainerInstancesStateOutput{ContainerInstances: []types.ContainerInstance{}, Failures: []types.Failure{}}
	for _, ref := range in.ContainerInstances {
		ci, arn, e := s.findInstance(instances, ref, cluster)
		if e != nil {
			return nil, e
		}
		if ci == nil {
			out.Failures = append(out.Failures, types.Failure{Arn: aws.String(arn), Reason: aws.String("MISSING")})
			continue
		}
		if e := patch(c, ci, "setting container instance "+ci.Name+" "+string(state), func() (bool, *Error) {
			if ci.Spec.State == state {
				return false, nil
			}
			ci.Spec.State = state
			c.log.Info("Changing a container instance's state", "containerInstance", ci.Name, "state", state)
			return true, nil
		}); e != nil {
			return nil, e
		}
		v, e := s.containerInstanceOf(ci, false)
		if e != nil {
			return nil, e
		}
		out.ContainerInstances = append(out.ContainerInstances, v)
	}
	return out, nil
}

// filterInstances keeps the instances that match a cluster query language
// expression, evaluated as the scheduler evaluates memberOf placement
// constraints (attribute:<name>, ec2InstanceId — the instance name —,
// runningTasksCount, task:group). runningTasksCount is the instance's own
// count (every namespace's tasks); task:group sees the groups of the tasks
// of the key's namespace, the only ones its identity may read.
func (s *Server) filterInstances(c *call, cluster string, instances []ecsv1.ContainerInstance, filter scheduler.Expr) ([]ecsv1.ContainerInstance, *Error) {
	groups := map[string]map[string]int{}
	tasks, e := s.tasksOf(c, cluster)
	if e != nil {
		return nil, e
	}
	for _, t := range tasks {
		if t.Spec.ContainerInstance == "" || t.Status.LastStatus == ecsv1.TaskStopped || t.Status.Group == "" {
			continue
		}
		if groups[t.Spec.ContainerInstance] == nil {
			groups[t.Spec.ContainerInstance] = map[string]int{}
		}
		groups[t.Spec.ContainerInstance][t.Status.Group]++
	}
	out := instances[:0]
	for i := range instances {
		in := scheduler.InstanceOf(&instances[i])
		in.RunningTasks = int(instances[i].Status.RunningTasksCount)
		in.Groups = groups[instances[i].Name]
		if filter.Match(in) {
			out = append(out, instances[i])
		}
	}
	return out, nil
}

// healthOf is an instance's health as ECS's CONTAINER_INSTANCE_HEALTH
// shows it, from what the manager records of its agent: INITIALIZING
// before the first heartbeat was judged, OK while its Lease is fresh,
// IMPAIRED once it is not. The one check is CONTAINER_RUNTIME (ECS's
// only type): the agent, which drives the instance's containerd, renews
// the Lease. Both times are the last change of the agent's connection
// (the Ready condition's transition): the manager does not write every
// heartbeat into the object.
func healthOf(ci *ecsv1.ContainerInstance) *types.ContainerInstanceHealthStatus {
	state := types.InstanceHealthCheckStateInitializing
	switch {
	case ci.Status.AgentConnected == nil:
	case *ci.Status.AgentConnected:
		state = types.InstanceHealthCheckStateOk
	default:
		state = types.InstanceHealthCheckStateImpaired
	}
	check := types.InstanceHealthCheckResult{Type: types.InstanceHealthCheckTypeContainerRuntime, Status: state}
	if c := meta.FindStatusCondition(ci.Status.Conditions, ecsv1.ConditionReady); c != nil &&
		(c.Reason == ecsv1.ReasonAgentConnected || c.Reason == ecsv1.ReasonAgentDisconnected) {
		check.LastStatusChange = aws.Time(c.LastTransitionTime.Time)
		check.LastUpdated = aws.Time(c.LastTransitionTime.Time)
	}
	return &types.ContainerInstanceHealthStatus{OverallStatus: state, Details: []types.InstanceHealthCheckResult{check}}
}
