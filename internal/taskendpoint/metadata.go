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

package taskendpoint

import (
	"fmt"
	"net/netip"
	"strconv"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	ecsv1 "github.com/longshore-io/longshore/api/v1alpha1"
	"github.com/longshore-io/longshore/internal/ecsarn"
	lsruntime "github.com/longshore-io/longshore/internal/runtime"
)

// TaskRef names a task the endpoints serve.
type TaskRef struct {
	Namespace, Name string
	UID             types.UID
}

// Snapshot is a task as the agent knows it when a request comes: the
// Task, its revision, and its containers as the runtime has them.
type Snapshot struct {
	Task     *ecsv1.Task
	Revision *ecsv1.TaskDefinitionRevision
	// Containers are the newest attempt of each container, by name.
	Containers map[string]lsruntime.ContainerStatus
	// BridgeIPs are the addresses of a bridge-mode task's containers.
	BridgeIPs map[string]string
}

// Instance is what the responses say of the instance.
type Instance struct {
	Cluster          string
	AvailabilityZone string
	// ARN of the ContainerInstance ("" until it is registered).
	ARN string
}

// LaunchType is what Longshore's tasks report as their launch type: they
// run on instances the user manages, as ECS's EC2 launch type does.
const LaunchType = "EC2"

// containerType is the Type of every container: ECS's NORMAL (the
// agent's own containers, such as ECS's pause container, are not shown).
const containerType = "NORMAL"

// builder turns snapshots into responses.
type builder struct {
	arn      ecsarn.Config
	instance Instance
}

func (b builder) cluster(t *ecsv1.Task) string {
	if t.Spec.Cluster != "" {
		return t.Spec.Cluster
	}
	return ecsv1.DefaultClusterName
}

// taskResponse is the task's metadata; v4 adds the network properties.
func (b builder) taskResponse(s *Snapshot, v4 bool) TaskResponse {
	t, td := s.Task, &s.Revision.Spec.TaskDefinition
	out := TaskResponse{
		Cluster:            b.arn.Cluster(b.cluster(t)),
		TaskARN:            b.arn.Task(b.cluster(t), string(t.UID)),
		Family:             s.Revision.Spec.Family,
		Revision:           strconv.FormatInt(int64(s.Revision.Spec.Revision), 10),
		DesiredStatus:      taskDesired(t),
		KnownStatus:        taskKnown(t),
		PullStartedAt:      timeOf(t.Status.PullStartedAt),
		PullStoppedAt:      timeOf(t.Status.PullStoppedAt),
		ExecutionStoppedAt: timeOf(t.Status.ExecutionStoppedAt),
		AvailabilityZone:   b.instance.AvailabilityZone,
		LaunchType:         LaunchType,
		ServiceName:        t.Labels[ecsv1.LabelService],
	}
	cpu, mem := td.CPU, td.Memory
	if ov := t.Spec.Overrides; ov != nil {
		if ov.CPU != "" {
			cpu = ov.CPU
		}
		if ov.Memory != "" {
			mem = ov.Memory
		}
	}
	var lim LimitsResponse
	if units, err := ecsv1.ParseTaskCPU(cpu); err == nil && cpu != "" {
		v := float64(units) / 1024
		lim.CPU = &v
	}
	if mib, err := ecsv1.ParseTaskMemory(mem); err == nil && mem != "" {
		lim.Memory = &mib
	}
	if lim.CPU != nil || lim.Memory != nil {
		out.Limits = &lim
	}
	for i := range td.ContainerDefinitions {
		out.Containers = append(out.Containers, b.containerResponse(s, td.ContainerDefinitions[i].Name, v4))
	}
	return out
}

// containerResponse is one container's metadata.
func (b builder) containerResponse(s *Snapshot, name string, v4 bool) ContainerResponse {
	t, td := s.Task, &s.Revision.Spec.TaskDefinition
	var def *ecsv1.ContainerDefinition
	for i := range td.ContainerDefinitions {
		if td.ContainerDefinitions[i].Name == name {
			def = &td.ContainerDefinitions[i]
		}
	}
	var st ecsv1.ContainerStatus
	for _, cs := range t.Status.Containers {
		if cs.Name == name {
			st = cs
		}
	}
	rc, hasRC := s.Containers[name]
	cluster := b.cluster(t)
	out := ContainerResponse{
		DockerID:      rc.ID,
		Name:          name,
		DockerName:    dockerName(s, name, rc.ID),
		Image:         def.Image,
		ImageID:       st.ImageDigest,
		DesiredStatus: taskDesired(t),
		KnownStatus:   "NONE",
		Type:          containerType,
		ContainerARN:  b.arn.Container(cluster, string(t.UID), name),
		StartedAt:     timeOf(st.StartedAt),
		FinishedAt:    timeOf(st.FinishedAt),
		Labels: map[string]string{
			"com.amazonaws.ecs.cluster":                 cluster,
			"com.amazonaws.ecs.container-name":          name,
			"com.amazonaws.ecs.task-arn":                b.arn.Task(cluster, string(t.UID)),
			"com.amazonaws.ecs.task-definition-family":  s.Revision.Spec.Family,
			"com.amazonaws.ecs.task-definition-version": strconv.FormatInt(int64(s.Revision.Spec.Revision), 10),
		},
	}
	for k, v := range def.DockerLabels {
		out.Labels[k] = v
	}
	if hasRC {
		switch rc.State {
		case lsruntime.StateCreated:
			out.KnownStatus = "CREATED"
		case lsruntime.StateRunning:
			out.KnownStatus = "RUNNING"
		case lsruntime.StateStopped:
			out.KnownStatus = "STOPPED"
			code := int(rc.ExitCode)
			out.ExitCode = &code
		}
		if n := st.RestartCount; n > 0 || (def.RestartPolicy != nil && def.RestartPolicy.Enabled) {
			c := int(n)
			out.RestartCount = &c
		}
	} else if out.DesiredStatus == "STOPPED" && st.RuntimeID != "" {
		out.KnownStatus = "STOPPED"
	}
	if out.ExitCode == nil && st.ExitCode != nil && out.KnownStatus == "STOPPED" {
		code := int(*st.ExitCode)
		out.ExitCode = &code
	}
	var lim LimitsResponse
	cpu := float64(def.CPU)
	lim.CPU = &cpu
	if def.Memory != nil {
		m := int64(*def.Memory)
		lim.Memory = &m
	} else if def.MemoryReservation != nil {
		m := int64(*def.MemoryReservation)
		lim.Memory = &m
	}
	out.Limits = lim
	for _, nb := range st.NetworkBindings {
		out.Ports = append(out.Ports, PortResponse{ContainerPort: uint16(nb.ContainerPort), HostPort: uint16(nb.HostPort),
			Protocol: string(nb.Protocol), HostIP: nb.BindIP})
	}
	if lc := def.LogConfiguration; lc != nil {
		out.LogDriver = string(lc.LogDriver)
		if len(lc.Options) > 0 {
			out.LogOptions = map[string]string{}
			for k, v := range lc.Options {
				out.LogOptions[k] = string(v)
			}
			// ECS names the awslogs stream <prefix>/<container>/<task id>.
			if lc.LogDriver == "awslogs" && out.LogOptions["awslogs-stream-prefix"] != "" && out.LogOptions["awslogs-stream"] == "" {
				out.LogOptions["awslogs-stream"] = out.LogOptions["awslogs-stream-prefix"] + "/" + name + "/" + ecsarn.TaskID(string(t.UID))
			}
		}
	}
	if def.HealthCheck != nil && st.HealthStatus != "" {
		out.Health = &HealthResponse{Status: string(st.HealthStatus)}
	}
	out.Networks = b.networks(s, name, def, v4)
	return out
}

// networks are the container's networks: the task's address (awsvpc),
// the container's own (bridge), or the mode alone (host, none).
func (b builder) networks(s *Snapshot, name string, def *ecsv1.ContainerDefinition, v4 bool) []NetworkResponse {
	mode := s.Revision.Spec.TaskDefinition.NetworkMode
	switch mode {
	case ecsv1.NetworkModeHost, ecsv1.NetworkModeNone:
		return []NetworkResponse{{NetworkMode: string(mode)}}
	case ecsv1.NetworkModeAWSVPC:
		n := NetworkResponse{NetworkMode: string(mode)}
		if len(s.Task.Status.Attachments) > 0 {
			d := s.Task.Status.Attachments[0].Details
			if d.IPv4Address != "" {
				n.IPv4Addresses = []string{d.IPv4Address}
			}
			if v4 {
				idx := 0
				n.AttachmentIndex = &idx
				n.MACAddress = d.MACAddress
				n.IPv4SubnetCIDRBlock = d.Subnet
				n.SubnetGatewayIPv4Address = d.Gateway
				if p, err := netip.ParsePrefix(d.Subnet); err == nil && d.Gateway != "" {
					n.SubnetGatewayIPv4Address = d.Gateway + "/" + strconv.Itoa(p.Bits())
				}
				n.DomainNameServers = def.DNSServers
				n.DomainNameSearchList = def.DNSSearchDomains
			}
		}
		return []NetworkResponse{n}
	default:
		n := NetworkResponse{NetworkMode: string(ecsv1.NetworkModeBridge)}
		if ip := s.BridgeIPs[name]; ip != "" {
			n.IPv4Addresses = []string{ip}
		}
		return []NetworkResponse{n}
	}
}

// taskDesired is ECS's desired status: RUNNING until the task is asked to stop.
func taskDesired(t *ecsv1.Task) string {
	if t.DeletionTimestamp != nil || t.Spec.DesiredStatus == ecsv1.DesiredStopped ||
		ecsv1.PhaseIndex(t.Status.LastStatus) >= ecsv1.PhaseIndex(ecsv1.TaskDeactivating) {
		return "STOPPED"
	}
	return "RUNNING"
}

// taskKnown is ECS's known status of the task: PENDING until it runs,
// RUNNING until it is STOPPED.
func taskKnown(t *ecsv1.Task) string {
	switch {
	case t.Status.LastStatus == ecsv1.TaskStopped:
		return "STOPPED"
	case ecsv1.PhaseIndex(t.Status.LastStatus) >= ecsv1.PhaseIndex(ecsv1.TaskRunning):
		return "RUNNING"
	default:
		return "PENDING"
	}
}

func timeOf(t *metav1.Time) *time.Time {
	if t == nil {
		return nil
	}
	v := t.UTC()
	return &v
}

// dockerName is the name ECS gives a container,
// ecs-<family>-<revision>-<container>-<first 20 digits of its id>.
func dockerName(s *Snapshot, container, id string) string {
	if id == "" {
		return ""
	}
	return fmt.Sprintf("ecs-%s-%d-%s-%s", s.Revision.Spec.Family, s.Revision.Spec.Revision, container, id[:min(20, len(id))])
}
