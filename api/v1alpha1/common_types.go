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

// KeyValuePair is an ECS name/value pair (environment variables).
type KeyValuePair struct {
	// name of the variable.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=255
	Name string `json:"name"`
	// value of the variable.
	// +optional
	// +kubebuilder:validation:MaxLength=32768
	Value string `json:"value,omitempty"`
}

// PlacementConstraintType is an ECS placement constraint type.
// +kubebuilder:validation:Enum=distinctInstance;memberOf
type PlacementConstraintType string

const (
	// PlacementConstraintDistinctInstance places each task of the group on a different instance.
	PlacementConstraintDistinctInstance PlacementConstraintType = "distinctInstance"
	// PlacementConstraintMemberOf places tasks on instances matching a cluster query language expression.
	PlacementConstraintMemberOf PlacementConstraintType = "memberOf"
)

// PlacementConstraint is an ECS placement constraint.
// +kubebuilder:validation:XValidation:rule="self.type != 'memberOf' || (has(self.expression) && size(self.expression) > 0)",message="a memberOf constraint needs an expression, e.g. \"attribute:ecs.availability-zone in [a, b]\""
// +kubebuilder:validation:XValidation:rule="self.type != 'distinctInstance' || !has(self.expression)",message="a distinctInstance constraint takes no expression"
type PlacementConstraint struct {
	// type is distinctInstance or memberOf.
	// +required
	Type PlacementConstraintType `json:"type"`
	// expression is a cluster query language expression (memberOf only):
	// attribute:<name>, ec2InstanceId (the instance name), runningTasksCount,
	// task:group with the operators == != > >= < <= in !in =~ !~, and, or,
	// and parentheses.
	// +optional
	// +kubebuilder:validation:MaxLength=2000
	Expression string `json:"expression,omitempty"`
}

// PlacementStrategyType is an ECS placement strategy type.
// +kubebuilder:validation:Enum=random;spread;binpack
type PlacementStrategyType string

const (
	// PlacementStrategyRandom places tasks randomly.
	PlacementStrategyRandom PlacementStrategyType = "random"
	// PlacementStrategySpread spreads tasks evenly over the values of field.
	PlacementStrategySpread PlacementStrategyType = "spread"
	// PlacementStrategyBinpack packs tasks on the instance with the least of field left.
	PlacementStrategyBinpack PlacementStrategyType = "binpack"
)

// PlacementStrategy is an ECS placement strategy. Strategies apply in order,
// each breaking the ties of the one before.
// +kubebuilder:validation:XValidation:rule="self.type != 'random' || !has(self.field)",message="the random strategy takes no field"
// +kubebuilder:validation:XValidation:rule="self.type != 'spread' || (has(self.field) && (self.field in ['instanceId', 'host'] || (self.field.startsWith('attribute:') && size(self.field) > 10)))",message="the spread strategy needs field instanceId, host or attribute:<name>"
// +kubebuilder:validation:XValidation:rule="self.type != 'binpack' || (has(self.field) && self.field in ['cpu', 'memory'])",message="the binpack strategy needs field cpu or memory"
type PlacementStrategy struct {
	// type is random, spread or binpack.
	// +required
	Type PlacementStrategyType `json:"type"`
	// field: for spread instanceId, host or attribute:<name>; for binpack
	// cpu or memory; none for random.
	// +optional
	// +kubebuilder:validation:MaxLength=255
	Field string `json:"field,omitempty"`
}

// Resources are the resources of a container instance or cluster: CPU units
// (1024 per core), memory in MiB, and the reserved or used host ports.
type Resources struct {
	// cpu in CPU units (1024 per core).
	// +optional
	CPU int64 `json:"cpu,omitempty"`
	// memory in MiB.
	// +optional
	Memory int64 `json:"memory,omitempty"`
	// ports are TCP host ports reserved or in use.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=65535
	Ports []int32 `json:"ports,omitempty"`
	// portsUDP are UDP host ports reserved or in use.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=65535
	PortsUDP []int32 `json:"portsUDP,omitempty"`
	// gpu is the number of GPUs (ECS resourceRequirements GPU).
	// +optional
	GPU int64 `json:"gpu,omitempty"`
}
