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

package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ContainerInstanceState is the ECS container instance state a user sets.
// +kubebuilder:validation:Enum=ACTIVE;DRAINING
type ContainerInstanceState string

const (
	// ContainerInstanceActive instances receive new tasks.
	ContainerInstanceActive ContainerInstanceState = "ACTIVE"
	// ContainerInstanceDraining instances receive no new tasks; Services
	// move their tasks elsewhere (ECS UpdateContainerInstancesState).
	ContainerInstanceDraining ContainerInstanceState = "DRAINING"
)

// Attribute is an ECS container instance attribute, matched by memberOf
// constraints (attribute:<name>) and spread strategies.
type Attribute struct {
	// name of the attribute: letters, digits, '-', '_', '.', '/' and ':'.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=128
	// +kubebuilder:validation:Pattern=`^[a-zA-Z0-9_./:\-]+$`
	Name string `json:"name"`
	// value of the attribute; empty for a flag.
	// +optional
	// +kubebuilder:validation:MaxLength=128
	// +kubebuilder:validation:Pattern=`^[a-zA-Z0-9_./:@ \-]*$`
	Value string `json:"value,omitempty"`
}

// ContainerInstanceSpec is what a user may edit on an instance.
type ContainerInstanceSpec struct {
	// cluster is the Cluster this instance serves. Immutable.
	// +optional
	// +kubebuilder:default="default"
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="cluster is immutable: restart the agent with another --cluster to move the host"
	Cluster string `json:"cluster,omitempty"`
	// state is ACTIVE or DRAINING. DRAINING instances receive no new tasks.
	// +optional
	// +kubebuilder:default=ACTIVE
	State ContainerInstanceState `json:"state,omitempty"`
	// attributes are custom attributes for placement. Names starting with
	// "ecs." are reserved for the agent-detected ones in status.attributes.
	// +optional
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:XValidation:rule="self.all(a, !a.name.startsWith('ecs.'))",message="attribute names starting with 'ecs.' are reserved for agent-detected attributes"
	Attributes []Attribute `json:"attributes,omitempty"`
}

// ContainerInstanceStatus is written by the agent (registration) and the
// manager (health and accounting), one writer per field.
type ContainerInstanceStatus struct {
	// observedGeneration is the spec generation the manager last acted on.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// conditions: Ready (agent connected, and ACTIVE or drained),
	// Reconciling (DRAINING with tasks left), Stalled (lost). Manager-owned.
	// +optional
	// +listType=map
	// +listMapKey=type
	// +kubebuilder:validation:MaxItems=16
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// registeredResources are the resources the host offers: cpu units
	// (cores x 1024), memory in MiB minus the agent's reserve, reserved
	// ports. Agent-owned.
	// +optional
	RegisteredResources *Resources `json:"registeredResources,omitempty"`
	// attributes detected by the agent: ecs.os-type, ecs.cpu-architecture,
	// ecs.availability-zone, ecs.instance-id, hostname. Agent-owned.
	// +optional
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=64
	Attributes []Attribute `json:"attributes,omitempty"`
	// agentVersion is the version of longshore-agent. Agent-owned.
	// +optional
	// +kubebuilder:validation:MaxLength=128
	AgentVersion string `json:"agentVersion,omitempty"`
	// runtimeVersion is the version of containerd. Agent-owned.
	// +optional
	// +kubebuilder:validation:MaxLength=128
	RuntimeVersion string `json:"runtimeVersion,omitempty"`
	// hostAddress is the IPv4 address other instances reach this host at:
	// the next hop (host-gateway) or tunnel end (vxlan) of the routes to
	// its task subnet. The agent's --host-address, else the source address
	// of its default route. Agent-owned.
	// +optional
	// +kubebuilder:validation:MaxLength=15
	// +kubebuilder:validation:XValidation:rule="isIP(self) && ip(self).family() == 4",message="hostAddress must be an IPv4 address"
	HostAddress string `json:"hostAddress,omitempty"`
	// registeredAt is when the agent first registered this instance. Agent-owned.
	// +optional
	RegisteredAt *metav1.Time `json:"registeredAt,omitempty"`
	// agentEndpoint is where the agent serves the logs of and exec into
	// its tasks (kubectl ecs logs, kubectl ecs exec), and the certificate
	// that clients pin. Agent-owned: only this instance's agent may write
	// it (agent confinement). Longshore extension.
	// +optional
	AgentEndpoint *AgentEndpoint `json:"agentEndpoint,omitempty"`

	// agentConnected is true while the agent's Lease is fresh, false once
	// it is not. Manager-owned.
	// +optional
	AgentConnected *bool `json:"agentConnected,omitempty"`
	// remainingResources is what is left after the resources of the tasks
	// bound here. Manager-owned.
	// +optional
	RemainingResources *Resources `json:"remainingResources,omitempty"`
	// runningTasksCount counts the RUNNING tasks here. Manager-owned.
	// +optional
	RunningTasksCount int32 `json:"runningTasksCount,omitempty"`
	// pendingTasksCount counts the tasks bound here and not yet RUNNING. Manager-owned.
	// +optional
	PendingTasksCount int32 `json:"pendingTasksCount,omitempty"`
	// taskCIDR is this instance's subnet of the Cluster's taskNetwork.cidr,
	// from which its awsvpc tasks take addresses. Manager-owned.
	// +optional
	// +kubebuilder:validation:MaxLength=18
	TaskCIDR string `json:"taskCIDR,omitempty"`
}

// AgentEndpoint is the agent's HTTPS endpoint (docs/logs-and-exec.md).
type AgentEndpoint struct {
	// address is host:port of the endpoint.
	// +required
	// +kubebuilder:validation:MinLength=3
	// +kubebuilder:validation:MaxLength=261
	Address string `json:"address"`
	// certificate is the endpoint's serving certificate, PEM: self-signed
	// and kept in the agent's state directory. Clients trust this
	// certificate alone, whatever address they reach it at.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=16384
	Certificate string `json:"certificate"`
}

// ContainerInstance is one host running longshore-agent. The agent creates
// and heartbeats it; a user may drain it or add attributes.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Cluster,shortName=ecsci,categories=ecs
// +kubebuilder:printcolumn:name="Cluster",type=string,JSONPath=`.spec.cluster`
// +kubebuilder:printcolumn:name="State",type=string,JSONPath=`.spec.state`
// +kubebuilder:printcolumn:name="Connected",type=boolean,JSONPath=`.status.agentConnected`
// +kubebuilder:printcolumn:name="Running",type=integer,JSONPath=`.status.runningTasksCount`
// +kubebuilder:printcolumn:name="CPU-Free",type=integer,JSONPath=`.status.remainingResources.cpu`,description="Remaining CPU units"
// +kubebuilder:printcolumn:name="Mem-Free",type=integer,JSONPath=`.status.remainingResources.memory`,description="Remaining memory (MiB)"
// +kubebuilder:printcolumn:name="Task-CIDR",type=string,JSONPath=`.status.taskCIDR`,priority=1
// +kubebuilder:printcolumn:name="Agent",type=string,JSONPath=`.status.agentVersion`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type ContainerInstance struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is what a user may edit: state and custom attributes.
	// +optional
	// +kubebuilder:default={}
	Spec ContainerInstanceSpec `json:"spec,omitempty"`
	// status is written by the agent and the manager.
	// Until first written it reads {observedGeneration: 0}, which GitOps
	// tools (kstatus, Argo CD) read as not reconciled yet.
	// +optional
	// +kubebuilder:default={observedGeneration: 0}
	Status ContainerInstanceStatus `json:"status,omitempty"`
}

// ContainerInstanceList is a list of ContainerInstances.
// +kubebuilder:object:root=true
type ContainerInstanceList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ContainerInstance `json:"items"`
}

func init() {
	register(&ContainerInstance{}, &ContainerInstanceList{})
}

// Connected tells whether the manager last saw the instance's agent
// connected (status.agentConnected).
func (s *ContainerInstanceStatus) Connected() bool {
	return s.AgentConnected != nil && *s.AgentConnected
}
