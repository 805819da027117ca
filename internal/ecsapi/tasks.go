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
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ecsv1 "github.com/longshore-io/longshore/api/v1alpha1"
	"github.com/longshore-io/longshore/internal/ecsarn"
)

// LabelClientToken on a Task is a hash of the RunTask clientToken that
// created it: RunTask again with the same token returns those tasks
// instead of starting more (the SDKs fill the token in and retry with it).
const LabelClientToken = "ecs.longshore.io/client-token"

func tokenLabel(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])[:40]
}

// taskOf is the ECS view of a Task.
// lookups caches, for one call, what the task views read besides the
// Tasks: their instances and revisions.
type lookups struct {
	instances map[string]*instanceInfo
	revisions map[string]*ecsv1.TaskDefinitionRevision
}

type instanceInfo struct{ arn, zone string }

func newLookups() *lookups {
	return &lookups{instances: map[string]*instanceInfo{}, revisions: map[string]*ecsv1.TaskDefinitionRevision{}}
}

// instance is the ARN and availability zone of a task's instance; nil when
// it is unbound, gone, or the key may not read ContainerInstances (the ARN
// needs the instance's UID: such a key gets tasks without it, logged).
func (lk *lookups) instance(c *call, s *Server, name string) *instanceInfo {
	if name == "" {
		return nil
	}
	if v, ok := lk.instances[name]; ok {
		return v
	}
	obj := &ecsv1.ContainerInstance{}
	var v *instanceInfo
	if err := c.c.Get(c.ctx, client.ObjectKey{Name: name}, obj); err == nil {
		v = &instanceInfo{arn: s.o.ARN.ContainerInstance(ecsv1.ClusterName(obj.Spec.Cluster), string(obj.UID))}
		for _, a := range obj.Status.Attributes {
			if a.Name == "ecs.availability-zone" {
				v.zone = a.Value
			}
		}
	} else if !apierrors.IsNotFound(err) {
		c.log.V(1).Info("Leaving out a task's containerInstanceArn", "containerInstance", name, "reason", err.Error())
	}
	lk.instances[name] = v
	return v
}

// revision is the revision "family:n" of the key's namespace, nil when
// unknown or unreadable.
func (lk *lookups) revision(c *call, ref string) *ecsv1.TaskDefinitionRevision {
	family, n, ok := strings.Cut(ref, ":")
	if !ok {
		return nil
	}
	if v, ok := lk.revisions[ref]; ok {
		return v
	}
	rev := &ecsv1.TaskDefinitionRevision{}
	if err := c.c.Get(c.ctx, client.ObjectKey{Namespace: c.ns, Name: family + "-" + n}, rev); err != nil {
		if !apierrors.IsNotFound(err) {
			c.log.V(1).Info("Leaving out what a task's revision says", "revision", ref, "reason", err.Error())
		}
		rev = nil
	}
	lk.revisions[ref] = rev
	return rev
}

// containerPhase is the phase a container not yet reported has: PENDING,
// or STOPPED once its task is.
func containerPhase(task *string) ecsv1.ContainerStatusPhase {
	if aws.ToString(task) == string(ecsv1.TaskStopped) {
		return ecsv1.ContainerStopped
	}
	return ecsv1.ContainerPending
}

func imageOf(defs map[string]ecsv1.ContainerDefinition, name string) *string {
	if d, ok := defs[name]; ok && d.Image != "" {
		return aws.String(d.Image)
	}
	return nil
}

func (s *Server) taskOf(c *call, t *ecsv1.Task, withTags bool, lk *lookups) (types.Task, *Error) {
	cluster := ecsv1.ClusterName(t.Spec.Cluster)
	out := types.Task{
		TaskArn:       aws.String(s.o.ARN.Task(cluster, string(t.UID))),
		ClusterArn:    aws.String(s.o.ARN.Cluster(cluster)),
		LastStatus:    aws.String(string(t.Status.LastStatus)),
		DesiredStatus: aws.String(string(t.Spec.DesiredStatus)),
		HealthStatus:  types.HealthStatus(t.Status.HealthStatus),
		CreatedAt:     aws.Time(t.CreationTimestamp.Time),
		LaunchType:    types.LaunchTypeEc2,
		StopCode:      types.TaskStopCode(t.Status.StopCode),
		Version:       t.Generation,
		Group:         aws.String(t.Status.Group),
	}
	if out.LastStatus == nil || *out.LastStatus == "" {
		out.LastStatus = aws.String(string(ecsv1.TaskProvisioning))
	}
	if aws.ToString(out.DesiredStatus) == "" {
		out.DesiredStatus = aws.String("RUNNING")
	}
	if out.HealthStatus == "" {
		out.HealthStatus = types.HealthStatusUnknown
	}
	if t.Spec.StartedBy != "" {
		out.StartedBy = aws.String(t.Spec.StartedBy)
	}
	if t.Status.StoppedReason != "" {
		out.StoppedReason = aws.String(t.Status.StoppedReason)
	}
	ref := t.Status.TaskDefinitionRevision
	if ref == "" {
		ref = t.Spec.TaskDefinition
	}
	family, rev, _ := strings.Cut(ref, ":")
	if rev != "" {
		out.TaskDefinitionArn = aws.String(s.o.ARN.TaskDefinition(family, parseRevision(rev)))
	} else {
		// Not resolved yet: the family ARN without a revision, as a hint.
		out.TaskDefinitionArn = aws.String(strings.TrimSuffix(s.o.ARN.TaskDefinition(family, 0), ":0"))
	}
	if aws.ToString(out.Group) == "" {
		if t.Spec.Group != "" {
			out.Group = aws.String(t.Spec.Group)
		} else {
			out.Group = aws.String("family:" + family)
		}
	}
	setTime := func(src *metav1.Time) *time.Time {
		if src == nil {
			return nil
		}
		v := src.Time
		return &v
	}
	out.StartedAt, out.StoppingAt, out.StoppedAt = setTime(t.Status.StartedAt), setTime(t.Status.StoppingAt), setTime(t.Status.StoppedAt)
	out.ExecutionStoppedAt, out.PullStartedAt, out.PullStoppedAt = setTime(t.Status.ExecutionStoppedAt), setTime(t.Status.PullStartedAt), setTime(t.Status.PullStoppedAt)
	if ci := lk.instance(c, s, t.Spec.ContainerInstance); ci != nil {
		out.ContainerInstanceArn = aws.String(ci.arn)
		if ci.zone != "" {
			out.AvailabilityZone = aws.String(ci.zone)
		}
	}
	// What the revision says: the task's cpu and memory (as overridden),
	// the containers' images.
	var defs map[string]ecsv1.ContainerDefinition
	if rev := lk.revision(c, t.Status.TaskDefinitionRevision); rev != nil {
		td := rev.Spec.TaskDefinition
		if td.CPU != "" {
			out.Cpu = aws.String(td.CPU)
		}
		if td.Memory != "" {
			out.Memory = aws.String(td.Memory)
		}
		defs = map[string]ecsv1.ContainerDefinition{}
		for _, d := range td.ContainerDefinitions {
			defs[d.Name] = d
		}
	}
	if o := t.Spec.Overrides; o != nil {
		if o.CPU != "" {
			out.Cpu = aws.String(o.CPU)
		}
		if o.Memory != "" {
			out.Memory = aws.String(o.Memory)
		}
	}
	// Every container of the revision, as ECS lists them from the start
	// (PENDING until the agent reports them), then any the status has
	// that the revision does not (none, normally).
	statuses := map[string]ecsv1.ContainerStatus{}
	for _, cs := range t.Status.Containers {
		statuses[cs.Name] = cs
	}
	var containers []ecsv1.ContainerStatus
	if rev := lk.revision(c, t.Status.TaskDefinitionRevision); rev != nil {
		for _, d := range rev.Spec.TaskDefinition.ContainerDefinitions {
			cs, ok := statuses[d.Name]
			if !ok {
				cs = ecsv1.ContainerStatus{Name: d.Name, LastStatus: containerPhase(out.LastStatus)}
			}
			delete(statuses, d.Name)
			containers = append(containers, cs)
		}
	}
	for _, cs := range t.Status.Containers {
		if _, ok := statuses[cs.Name]; ok {
			containers = append(containers, cs)
		}
	}
	for _, cs := range containers {
		ct := types.Container{
			Image:        imageOf(defs, cs.Name),
			Name:         aws.String(cs.Name),
			ContainerArn: aws.String(s.o.ARN.Container(cluster, string(t.UID), cs.Name)),
			TaskArn:      out.TaskArn,
			LastStatus:   aws.String(string(cs.LastStatus)),
			ExitCode:     cs.ExitCode,
			HealthStatus: types.HealthStatus(cs.HealthStatus),
		}
		if cs.Reason != "" {
			ct.Reason = aws.String(cs.Reason)
		}
		if cs.RuntimeID != "" {
			ct.RuntimeId = aws.String(cs.RuntimeID)
		}
		if cs.ImageDigest != "" {
			ct.ImageDigest = aws.String(cs.ImageDigest)
		}
		for _, nb := range cs.NetworkBindings {
			ct.NetworkBindings = append(ct.NetworkBindings, types.NetworkBinding{BindIP: aws.String(nb.BindIP),
				ContainerPort: aws.Int32(nb.ContainerPort), HostPort: aws.Int32(nb.HostPort), Protocol: types.TransportProtocol(nb.Protocol)})
		}
		for _, at := range t.Status.Attachments {
			if at.Details.IPv4Address != "" {
				ct.NetworkInterfaces = append(ct.NetworkInterfaces, types.NetworkInterface{AttachmentId: aws.String(ecsarn.TaskID(string(t.UID))),
					PrivateIpv4Address: aws.String(at.Details.IPv4Address)})
			}
		}
		out.Containers = append(out.Containers, ct)
	}
	for _, at := range t.Status.Attachments {
		a := types.Attachment{Id: aws.String(ecsarn.TaskID(string(t.UID))), Type: aws.String(attachmentType(at.Type)), Status: aws.String(at.Status)}
		kv := func(k, v string) {
			if v != "" {
				a.Details = append(a.Details, types.KeyValuePair{Name: aws.String(k), Value: aws.String(v)})
			}
		}
		kv("privateIPv4Address", at.Details.IPv4Address)
		kv("macAddress", at.Details.MACAddress)
		kv("networkInterfaceId", at.Details.InterfaceName)
		kv("subnetId", at.Details.Subnet)
		kv("gateway", at.Details.Gateway)
		out.Attachments = append(out.Attachments, a)
	}
	if o := t.Spec.Overrides; o != nil {
		ov := &types.TaskOverride{}
		if o.CPU != "" {
			ov.Cpu = aws.String(o.CPU)
		}
		if o.Memory != "" {
			ov.Memory = aws.String(o.Memory)
		}
		for _, co := range o.ContainerOverrides {
			x := types.ContainerOverride{Name: aws.String(co.Name), Command: co.Command, Cpu: co.CPU, Memory: co.Memory, MemoryReservation: co.MemoryReservation}
			for _, e := range co.Environment {
				x.Environment = append(x.Environment, types.KeyValuePair{Name: aws.String(e.Name), Value: aws.String(e.Value)})
			}
			ov.ContainerOverrides = append(ov.ContainerOverrides, x)
		}
		out.Overrides = ov
	} else {
		out.Overrides = &types.TaskOverride{ContainerOverrides: []types.ContainerOverride{}}
	}
	if withTags {
		tags, err := readTags(t.Annotations)
		if err != nil {
			return out, serverError("task %s: %v", t.Name, err)
		}
		out.Tags = tags
		if out.Tags == nil {
			out.Tags = []types.Tag{}
		}
	}
	return out, nil
}

func (s *Server) runTask(c *call, body []byte) (any, *Error) {
	var in ecs.RunTaskInput
	if e := decode(body, &in); e != nil {
		return nil, e
	}
	return s.run(c, &in, nil)
}

// startTask is RunTask on the instances given: one Task per instance,
// bound at creation (spec.containerInstance); the manager still checks the
// instance's cluster and the cluster's policy.
func (s *Server) startTask(c *call, body []byte) (any, *Error) {
	var in ecs.StartTaskInput
	if e := decode(body, &in); e != nil {
		return nil, e
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
	var names []string
	for _, ref := range in.ContainerInstances {
		ci, arn, e := s.findInstance(instances, ref, cluster)
		if e != nil {
			return nil, e
		}
		if ci == nil {
			return nil, invalidParameter("containerInstances: %s is not a container instance of cluster %s", arn, cluster)
		}
		names = append(names, ci.Name)
	}
	run := &ecs.RunTaskInput{
		Cluster: aws.String(cluster), TaskDefinition: in.TaskDefinition, Overrides: in.Overrides, StartedBy: in.StartedBy, Group: in.Group,
		Tags: in.Tags, PropagateTags: in.PropagateTags, EnableECSManagedTags: in.EnableECSManagedTags, EnableExecuteCommand: in.EnableExecuteCommand,
		NetworkConfiguration: in.NetworkConfiguration, ReferenceId: in.ReferenceId, VolumeConfigurations: in.VolumeConfigurations,
		Count: aws.Int32(int32(len(names))),
	}
	out, e := s.run(c, run, names)
	if e != nil {
		return nil, e
	}
	ro := out.(*ecs.RunTaskOutput)
	return &ecs.StartTaskOutput{Tasks: ro.Tasks, Failures: ro.Failures}, nil
}

// run starts in.Count tasks (RunTask), or one on each of instances
// (StartTask).
func (s *Server) run(c *call, in *ecs.RunTaskInput, instances []string) (any, *Error) {
	switch {
	case in.LaunchType != "" && in.LaunchType != types.LaunchTypeEc2:
		return nil, invalidParameter("launchType %s: Longshore runs tasks on its container instances: EC2 is the only launch type", in.LaunchType)
	case len(in.CapacityProviderStrategy) > 0:
		return nil, invalidParameter("capacityProviderStrategy: Longshore has no capacity providers")
	case in.EnableECSManagedTags:
		return nil, invalidParameter("enableECSManagedTags: Longshore does not add ECS managed tags (yet)")
	case in.PropagateTags == types.PropagateTagsService:
		return nil, invalidParameter("propagateTags SERVICE: RunTask's tasks belong to no service")
	case len(in.VolumeConfigurations) > 0:
		return nil, invalidParameter("volumeConfigurations: Longshore has no EBS volumes")
	case in.NetworkConfiguration != nil && in.NetworkConfiguration.AwsvpcConfiguration != nil && in.NetworkConfiguration.AwsvpcConfiguration.AssignPublicIp == types.AssignPublicIpEnabled:
		return nil, invalidParameter("networkConfiguration.awsvpcConfiguration.assignPublicIp ENABLED: Longshore task addresses come from the cluster's taskNetwork, none is public")
	case in.ReferenceId != nil:
		return nil, invalidParameter("referenceId: Longshore does not record reference ids")
	}
	count := in.Count
	if count == nil {
		count = aws.Int32(1)
	}
	if *count < 1 || *count > 10 {
		return nil, invalidParameter("count must be 1 to 10, not %d", *count)
	}
	if e := validateTags(in.Tags); e != nil {
		return nil, e
	}
	cluster, e := s.requireCluster(c, aws.ToString(in.Cluster))
	if e != nil {
		return nil, e
	}
	if aws.ToString(in.TaskDefinition) == "" {
		return nil, invalidParameter("taskDefinition is required")
	}
	ref, e := s.taskDefinitionRef(aws.ToString(in.TaskDefinition))
	if e != nil {
		return nil, e
	}
	rev, e := s.findRevision(c, ref)
	if e != nil {
		return nil, e
	}
	if rev == nil {
		return nil, clientError("TaskDefinition not found: %s has no %s in namespace %s", ref, map[bool]string{true: "such revision", false: "ACTIVE revision"}[ref.Revision > 0], c.ns)
	}
	if rev.EffectiveStatus() != ecsv1.RevisionActive {
		return nil, clientError("TaskDefinition is inactive: %s:%d is %s", rev.Spec.Family, rev.Spec.Revision, rev.EffectiveStatus())
	}
	spec := ecsv1.TaskSpec{Cluster: cluster, TaskDefinition: ref.String(), StartedBy: aws.ToString(in.StartedBy), Group: aws.ToString(in.Group)}
	overrides, e := taskOverrides(in.Overrides)
	if e != nil {
		return nil, e
	}
	spec.Overrides = overrides
	for _, pc := range in.PlacementConstraints {
		spec.PlacementConstraints = append(spec.PlacementConstraints, ecsv1.PlacementConstraint{Type: ecsv1.PlacementConstraintType(pc.Type), Expression: aws.ToString(pc.Expression)})
	}
	for _, ps := range in.PlacementStrategy {
		spec.PlacementStrategy = append(spec.PlacementStrategy, ecsv1.PlacementStrategy{Type: ecsv1.PlacementStrategyType(ps.Type), Field: aws.ToString(ps.Field)})
	}
	tags := in.Tags
	if in.PropagateTags == types.PropagateTagsTaskDefinition {
		rt, err := revisionTags(rev)
		if err != nil {
			return nil, serverError("%v", err)
		}
		tags = mergeTags(rt, tags)
	}

	out := &ecs.RunTaskOutput{Tasks: []types.Task{}, Failures: []types.Failure{}}
	labels := map[string]string{}
	if tok := aws.ToString(in.ClientToken); tok != "" {
		labels[LabelClientToken] = tokenLabel(tok)
		var have ecsv1.TaskList
		if err := c.c.List(c.ctx, &have, client.InNamespace(c.ns), client.MatchingLabels(labels)); err != nil {
			return nil, kubeError(err, "listing tasks in namespace "+c.ns)
		}
		if len(have.Items) > 0 {
			lk := newLookups()
			for i := range have.Items {
				v, e := s.taskOf(c, &have.Items[i], true, lk)
				if e != nil {
					return nil, e
				}
				out.Tasks = append(out.Tasks, v)
			}
			return out, nil
		}
	}
	prefix := ref.Family
	if len(prefix) > 40 {
		prefix = strings.TrimRight(prefix[:40], "-.")
	}
	lk := newLookups()
	for i := int32(0); i < *count; i++ {
		t := &ecsv1.Task{
			ObjectMeta: metav1.ObjectMeta{Namespace: c.ns, GenerateName: prefix + "-", Labels: labels},
			Spec:       *spec.DeepCopy(),
		}
		if instances != nil {
			t.Spec.ContainerInstance = instances[i]
		}
		if len(tags) > 0 {
			t.Annotations = writeTags(nil, tags)
		}
		if err := c.c.Create(c.ctx, t); err != nil {
			if i == 0 {
				return nil, kubeError(err, "creating a task of "+ref.String())
			}
			out.Failures = append(out.Failures, types.Failure{Reason: aws.String("TASK_CREATION_FAILED"), Detail: aws.String(kubeError(err, "creating a task of "+ref.String()).Message)})
			continue
		}
		c.log.Info("Ran task", "task", t.Name, "taskDefinition", ref.String(), "cluster", cluster)
		v, e := s.taskOf(c, t, true, lk)
		if e != nil {
			return nil, e
		}
		if t.Status.TaskDefinitionRevision == "" {
			v.TaskDefinitionArn = aws.String(s.o.ARN.TaskDefinition(rev.Spec.Family, int64(rev.Spec.Revision)))
		}
		out.Tasks = append(out.Tasks, v)
	}
	return out, nil
}

// taskOverrides maps RunTask's overrides to the Task's; what Longshore
// cannot honour is refused, named.
func taskOverrides(o *types.TaskOverride) (*ecsv1.TaskOverride, *Error) {
	if o == nil {
		return nil, nil
	}
	switch {
	case o.TaskRoleArn != nil:
		return nil, invalidParameter("overrides.taskRoleArn: Longshore has no IAM roles (task credentials come from the task definition's local mapping)")
	case o.ExecutionRoleArn != nil:
		return nil, invalidParameter("overrides.executionRoleArn: Longshore has no IAM roles")
	case len(o.InferenceAcceleratorOverrides) > 0: //nolint:staticcheck // deprecated by ECS, still in its shape: refused, not dropped
		return nil, invalidParameter("overrides.inferenceAcceleratorOverrides: Longshore has no inference accelerators")
	case o.EphemeralStorage != nil:
		return nil, invalidParameter("overrides.ephemeralStorage: Longshore has no Fargate ephemeral storage")
	}
	out := &ecsv1.TaskOverride{CPU: aws.ToString(o.Cpu), Memory: aws.ToString(o.Memory)}
	for i, co := range o.ContainerOverrides {
		switch {
		case aws.ToString(co.Name) == "":
			return nil, invalidParameter("overrides.containerOverrides[%d].name is required", i)
		case len(co.EnvironmentFiles) > 0:
			return nil, invalidParameter("overrides.containerOverrides[%d].environmentFiles: not supported by Longshore (yet)", i)
		case len(co.ResourceRequirements) > 0:
			return nil, invalidParameter("overrides.containerOverrides[%d].resourceRequirements: not supported by Longshore (yet)", i)
		}
		x := ecsv1.ContainerOverride{Name: aws.ToString(co.Name), Command: co.Command, CPU: co.Cpu, Memory: co.Memory, MemoryReservation: co.MemoryReservation}
		for _, e := range co.Environment {
			x.Environment = append(x.Environment, ecsv1.KeyValuePair{Name: aws.ToString(e.Name), Value: aws.ToString(e.Value)})
		}
		out.ContainerOverrides = append(out.ContainerOverrides, x)
	}
	return out, nil
}

// tasksOf lists the Tasks of the key's namespace in cluster.
func (s *Server) tasksOf(c *call, cluster string) ([]ecsv1.Task, *Error) {
	var list ecsv1.TaskList
	if err := c.c.List(c.ctx, &list, client.InNamespace(c.ns)); err != nil {
		return nil, kubeError(err, "listing tasks in namespace "+c.ns)
	}
	out := list.Items[:0]
	for _, t := range list.Items {
		if ecsv1.ClusterName(t.Spec.Cluster) == cluster {
			out = append(out, t)
		}
	}
	return out, nil
}

// taskID is the id a task reference names: an id, or a task ARN (long
// form, with the cluster).
func (s *Server) taskID(ref, cluster string) (string, *Error) {
	kind, rest, isARN, e := s.parseARN(ref)
	if e != nil {
		return "", e
	}
	if !isARN {
		return ref, nil
	}
	cl, id, ok := strings.Cut(rest, "/")
	if kind != "task" || !ok {
		return "", invalidParameter("%q is not a task ARN (%s)", ref, s.o.ARN.Task("<cluster>", "<id>"))
	}
	if cl != cluster {
		return "", invalidParameter("task %q is of cluster %s, not %s", ref, cl, cluster)
	}
	return id, nil
}

func (s *Server) describeTasks(c *call, body []byte) (any, *Error) {
	var in ecs.DescribeTasksInput
	if e := decode(body, &in); e != nil {
		return nil, e
	}
	if len(in.Tasks) == 0 || len(in.Tasks) > 100 {
		return nil, invalidParameter("tasks: give 1 to 100, not %d", len(in.Tasks))
	}
	withTags := false
	for _, f := range in.Include {
		if f != types.TaskFieldTags {
			return nil, invalidParameter("include %q: want TAGS", f)
		}
		withTags = true
	}
	cluster, e := s.requireCluster(c, aws.ToString(in.Cluster))
	if e != nil {
		return nil, e
	}
	tasks, e := s.tasksOf(c, cluster)
	if e != nil {
		return nil, e
	}
	byID := make(map[string]*ecsv1.Task, len(tasks))
	for i := range tasks {
		byID[ecsarn.TaskID(string(tasks[i].UID))] = &tasks[i]
	}
	out := &ecs.DescribeTasksOutput{Tasks: []types.Task{}, Failures: []types.Failure{}}
	lk := newLookups()
	for _, ref := range in.Tasks {
		id, e := s.taskID(ref, cluster)
		if e != nil {
			return nil, e
		}
		t, ok := byID[id]
		if !ok {
			out.Failures = append(out.Failures, types.Failure{Arn: aws.String(s.o.ARN.Task(cluster, id)), Reason: aws.String("MISSING")})
			continue
		}
		v, e := s.taskOf(c, t, withTags, lk)
		if e != nil {
			return nil, e
		}
		out.Tasks = append(out.Tasks, v)
	}
	return out, nil
}

func (s *Server) listTasks(c *call, body []byte) (any, *Error) {
	var in ecs.ListTasksInput
	if e := decode(body, &in); e != nil {
		return nil, e
	}
	if in.LaunchType != "" && in.LaunchType != types.LaunchTypeEc2 {
		return nil, invalidParameter("launchType %s: Longshore tasks are all EC2", in.LaunchType)
	}
	cluster, e := s.requireCluster(c, aws.ToString(in.Cluster))
	if e != nil {
		return nil, e
	}
	desired := string(in.DesiredStatus)
	switch in.DesiredStatus {
	case "":
		desired = "RUNNING"
	case types.DesiredStatusRunning, types.DesiredStatusStopped:
	case types.DesiredStatusPending:
		// ECS's PENDING desired status: Longshore tasks desire RUNNING or
		// STOPPED only, so none.
	default:
		return nil, invalidParameter("desiredStatus %q: want RUNNING, PENDING or STOPPED", in.DesiredStatus)
	}
	var ciName string
	if ref := aws.ToString(in.ContainerInstance); ref != "" {
		kind, rest, isARN, e := s.parseARN(ref)
		if e != nil {
			return nil, e
		}
		ciName = ref
		if isARN {
			_, id, ok := strings.Cut(rest, "/")
			if kind != "container-instance" || !ok {
				return nil, invalidParameter("containerInstance %q is not a container instance ARN", ref)
			}
			var list ecsv1.ContainerInstanceList
			if err := c.c.List(c.ctx, &list); err != nil {
				return nil, kubeError(err, "listing container instances")
			}
			ciName = "\x00none"
			for _, ci := range list.Items {
				if ecsarn.TaskID(string(ci.UID)) == id {
					ciName = ci.Name
				}
			}
		}
	}
	family := ""
	if f := aws.ToString(in.Family); f != "" {
		family = familyName(f)
	}
	tasks, e := s.tasksOf(c, cluster)
	if e != nil {
		return nil, e
	}
	var items []keyedARN
	for _, t := range tasks {
		want := t.Spec.DesiredStatus
		if want == "" {
			want = ecsv1.DesiredRunning
		}
		fam, _, _ := strings.Cut(t.Spec.TaskDefinition, ":")
		switch {
		case string(want) != desired,
			family != "" && fam != family,
			in.StartedBy != nil && t.Spec.StartedBy != aws.ToString(in.StartedBy),
			in.ServiceName != nil && t.Labels[ecsv1.LabelService] != aws.ToString(in.ServiceName),
			ciName != "" && t.Spec.ContainerInstance != ciName:
			continue
		}
		id := ecsarn.TaskID(string(t.UID))
		items = append(items, keyedARN{id, s.o.ARN.Task(cluster, string(t.UID))})
	}
	arns, next, e := pageARNs(items, in.NextToken, in.MaxResults)
	if e != nil {
		return nil, e
	}
	return &ecs.ListTasksOutput{TaskArns: arns, NextToken: next}, nil
}

func (s *Server) stopTask(c *call, body []byte) (any, *Error) {
	var in ecs.StopTaskInput
	if e := decode(body, &in); e != nil {
		return nil, e
	}
	if aws.ToString(in.Task) == "" {
		return nil, invalidParameter("task is required")
	}
	if len(aws.ToString(in.Reason)) > 255 {
		return nil, invalidParameter("reason must be at most 255 characters")
	}
	cluster, e := s.requireCluster(c, aws.ToString(in.Cluster))
	if e != nil {
		return nil, e
	}
	id, e := s.taskID(aws.ToString(in.Task), cluster)
	if e != nil {
		return nil, e
	}
	tasks, e := s.tasksOf(c, cluster)
	if e != nil {
		return nil, e
	}
	var t *ecsv1.Task
	for i := range tasks {
		if ecsarn.TaskID(string(tasks[i].UID)) == id {
			t = &tasks[i]
		}
	}
	if t == nil {
		return nil, invalidParameter("The referenced task was not found: %s in cluster %s, namespace %s", id, cluster, c.ns)
	}
	if e := patch(c, t, "stopping task "+t.Name, func() (bool, *Error) {
		if t.Spec.DesiredStatus == ecsv1.DesiredStopped {
			return false, nil // stopped already (by a service, or an earlier call): as ECS, no error
		}
		t.Spec.DesiredStatus = ecsv1.DesiredStopped
		t.Spec.Stop = &ecsv1.TaskStop{Code: ecsv1.StopCodeUserInitiated, Reason: aws.ToString(in.Reason)}
		c.log.Info("Stopping task", "task", t.Name, "reason", aws.ToString(in.Reason))
		return true, nil
	}); e != nil {
		return nil, e
	}
	v, e := s.taskOf(c, t, false, newLookups())
	if e != nil {
		return nil, e
	}
	return &ecs.StopTaskOutput{Task: &v}, nil
}

func parseRevision(s string) int64 {
	n, _ := strconv.ParseInt(s, 10, 64)
	return n
}

// attachmentType is ECS's name of an attachment type: the awsvpc task's
// interface, which the Task's status calls NetworkInterface, is an
// ElasticNetworkInterface to ECS clients (scripts and tools select the
// task's address by it).
func attachmentType(t string) string {
	if t == ecsv1.AttachmentNetworkInterface {
		return "ElasticNetworkInterface"
	}
	return t
}
