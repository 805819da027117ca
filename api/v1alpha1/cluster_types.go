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

// ClusterSpec is a pool of capacity and the policy for it.
type ClusterSpec struct {
	// taskNetwork is the address space of awsvpc-mode tasks. The manager
	// hands each ContainerInstance its own subnet of it (status.taskCIDR).
	// +optional
	// +kubebuilder:default={}
	TaskNetwork TaskNetwork `json:"taskNetwork,omitempty"`
	// bridgeNetwork is the host-local, masqueraded network of bridge-mode
	// tasks, the same on every instance (ECS's docker0).
	// +optional
	// +kubebuilder:default={}
	BridgeNetwork BridgeNetwork `json:"bridgeNetwork,omitempty"`
	// security says what tasks in this cluster may ask for. Tasks that need
	// more are refused at scheduling with a reason.
	// +optional
	// +kubebuilder:default={}
	Security ClusterSecurity `json:"security,omitempty"`
	// namespaces, when set, are the only namespaces whose Tasks and Services
	// may run in this cluster. Empty allows every namespace.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=256
	// +kubebuilder:validation:items:MaxLength=63
	// +kubebuilder:validation:items:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	Namespaces []string `json:"namespaces,omitempty"`
	// stoppedTaskRetention is how long STOPPED tasks are kept before they are
	// deleted (Longshore extension; ECS keeps them about an hour).
	// +optional
	// +kubebuilder:default="24h"
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:XValidation:rule="self.matches('^([0-9]+(\\\\.[0-9]+)?(ns|us|ms|s|m|h))+$')",message="stoppedTaskRetention must be a duration such as 24h, 90m or 1h30m"
	StoppedTaskRetention *metav1.Duration `json:"stoppedTaskRetention,omitempty"`
}

// TaskNetwork is the address space of awsvpc-mode tasks.
// +kubebuilder:validation:XValidation:rule="!has(self.cidr) || !has(self.instanceMaskSize) || cidr(self.cidr).prefixLength() < self.instanceMaskSize",message="instanceMaskSize must be longer than the prefix of cidr, so that each instance gets a subnet of it"
type TaskNetwork struct {
	// cidr is the IPv4 range awsvpc tasks take their addresses from.
	// Immutable: instances hold subnets of it.
	// +optional
	// +kubebuilder:default="10.222.0.0/16"
	// +kubebuilder:validation:MaxLength=18
	// +kubebuilder:validation:XValidation:rule="isCIDR(self) && cidr(self).ip().family() == 4",message="cidr must be an IPv4 CIDR such as 10.222.0.0/16"
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="taskNetwork.cidr is immutable: container instances already hold subnets of it"
	CIDR string `json:"cidr,omitempty"`
	// instanceMaskSize is the prefix length of the subnet each instance gets.
	// +optional
	// +kubebuilder:default=24
	// +kubebuilder:validation:Minimum=8
	// +kubebuilder:validation:Maximum=29
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="taskNetwork.instanceMaskSize is immutable: container instances already hold subnets of this size"
	InstanceMaskSize int32 `json:"instanceMaskSize,omitempty"`
	// cniConfig is the name of a CNI network configuration list present on
	// every instance, used for awsvpc tasks instead of the built-in bridge
	// (how Calico, Cilium or macvlan plug in). Longshore extension.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-zA-Z0-9][a-zA-Z0-9_.\-]*$`
	CNIConfig string `json:"cniConfig,omitempty"`
	// routing is how each instance's task subnet is made reachable from the
	// other instances (and their tasks): host-gateway routes it through the
	// instance's host address (the instances share an L2 network);
	// vxlan encapsulates it between host addresses (any IP network between
	// them, 50 bytes less MTU); none leaves task addresses host-local (a
	// cniConfig network that routes them itself, or one host). The agents
	// keep the routes from the instances' status.taskCIDR and
	// status.hostAddress. Longshore extension.
	// +optional
	// +kubebuilder:default=host-gateway
	Routing TaskRouting `json:"routing,omitempty"`
}

// TaskRouting is how task subnets are reached across instances.
// +kubebuilder:validation:Enum=host-gateway;vxlan;none
type TaskRouting string

// The task routing modes.
const (
	TaskRoutingHostGateway TaskRouting = "host-gateway"
	TaskRoutingVXLAN       TaskRouting = "vxlan"
	TaskRoutingNone        TaskRouting = "none"
)

// BridgeNetwork is the network of bridge-mode tasks.
type BridgeNetwork struct {
	// cidr is the IPv4 range of the bridge on every instance.
	// +optional
	// +kubebuilder:default="172.29.0.0/16"
	// +kubebuilder:validation:MaxLength=18
	// +kubebuilder:validation:XValidation:rule="isCIDR(self) && cidr(self).ip().family() == 4",message="cidr must be an IPv4 CIDR such as 172.29.0.0/16"
	CIDR string `json:"cidr,omitempty"`
}

// ClusterSecurity says what tasks in a cluster may ask for.
type ClusterSecurity struct {
	// allowPrivileged lets containers run with privileged: true, and tasks
	// use pidMode or ipcMode host (they share the host's processes).
	// +optional
	AllowPrivileged bool `json:"allowPrivileged,omitempty"`
	// allowHostNetwork lets tasks use networkMode host.
	// +optional
	AllowHostNetwork bool `json:"allowHostNetwork,omitempty"`
	// allowedCapabilities are the Linux capabilities containers may add.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=64
	AllowedCapabilities []Capability `json:"allowedCapabilities,omitempty"`
	// allowHostPathVolumes lets tasks mount host paths (volumes[].host).
	// +optional
	AllowHostPathVolumes bool `json:"allowHostPathVolumes,omitempty"`
	// allowedDevices are the host devices containers may be given
	// (linuxParameters.devices[].hostPath), such as /dev/fuse.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:items:MaxLength=4096
	AllowedDevices []string `json:"allowedDevices,omitempty"`
}

// ClusterStatus is observed by the manager.
type ClusterStatus struct {
	// observedGeneration is the spec generation the status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// conditions: Ready (an ACTIVE instance with a connected agent) and
	// Stalled (a taskNetwork that cannot give every instance a subnet).
	// +optional
	// +listType=map
	// +listMapKey=type
	// +kubebuilder:validation:MaxItems=16
	Conditions []metav1.Condition `json:"conditions,omitempty"`
	// registeredContainerInstancesCount counts the instances of this cluster.
	// +optional
	RegisteredContainerInstancesCount int32 `json:"registeredContainerInstancesCount,omitempty"`
	// activeContainerInstancesCount counts the ACTIVE, connected instances.
	// +optional
	ActiveContainerInstancesCount int32 `json:"activeContainerInstancesCount,omitempty"`
	// runningTasksCount counts the RUNNING tasks.
	// +optional
	RunningTasksCount int32 `json:"runningTasksCount,omitempty"`
	// pendingTasksCount counts the tasks between PROVISIONING and ACTIVATING.
	// +optional
	PendingTasksCount int32 `json:"pendingTasksCount,omitempty"`
	// activeServicesCount counts the Services of this cluster.
	// +optional
	ActiveServicesCount int32 `json:"activeServicesCount,omitempty"`
	// registeredResources totals the instances' registered resources.
	// +optional
	RegisteredResources *Resources `json:"registeredResources,omitempty"`
	// remainingResources totals what the instances have left.
	// +optional
	RemainingResources *Resources `json:"remainingResources,omitempty"`
}

// Cluster is an ECS cluster: a pool of container instances and the policy
// for the tasks that run on them. Cluster-scoped; Tasks, Services and
// ContainerInstances name it in spec.cluster (default "default").
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Cluster,shortName=ecscluster,categories=ecs
// +kubebuilder:printcolumn:name="Instances",type=integer,JSONPath=`.status.activeContainerInstancesCount`,description="ACTIVE, connected container instances"
// +kubebuilder:printcolumn:name="Running",type=integer,JSONPath=`.status.runningTasksCount`
// +kubebuilder:printcolumn:name="Pending",type=integer,JSONPath=`.status.pendingTasksCount`
// +kubebuilder:printcolumn:name="Services",type=integer,JSONPath=`.status.activeServicesCount`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type Cluster struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is the desired state of the cluster.
	// +optional
	// +kubebuilder:default={}
	Spec ClusterSpec `json:"spec,omitempty"`
	// status is observed by the manager.
	// Until first written it reads {observedGeneration: 0}, which GitOps
	// tools (kstatus, Argo CD) read as not reconciled yet.
	// +optional
	// +kubebuilder:default={observedGeneration: 0}
	Status ClusterStatus `json:"status,omitempty"`
}

// ClusterList is a list of Clusters.
// +kubebuilder:object:root=true
type ClusterList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Cluster `json:"items"`
}

func init() {
	register(&Cluster{}, &ClusterList{})
}
