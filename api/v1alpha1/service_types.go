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

// SchedulingStrategy is how a Service places its tasks.
// +kubebuilder:validation:Enum=REPLICA;DAEMON
type SchedulingStrategy string

const (
	// SchedulingReplica keeps desiredCount tasks placed by the strategies.
	SchedulingReplica SchedulingStrategy = "REPLICA"
	// SchedulingDaemon runs one task on every ACTIVE instance that meets
	// the constraints.
	SchedulingDaemon SchedulingStrategy = "DAEMON"
)

// DeploymentStatus is the ECS status of a Service deployment.
// +kubebuilder:validation:Enum=PRIMARY;ACTIVE;INACTIVE
type DeploymentStatus string

// Deployment statuses.
const (
	DeploymentPrimary  DeploymentStatus = "PRIMARY"
	DeploymentActive   DeploymentStatus = "ACTIVE"
	DeploymentInactive DeploymentStatus = "INACTIVE"
)

// RolloutState is the ECS rollout state of a deployment.
// +kubebuilder:validation:Enum=IN_PROGRESS;COMPLETED;FAILED
type RolloutState string

// Rollout states.
const (
	RolloutInProgress RolloutState = "IN_PROGRESS"
	RolloutCompleted  RolloutState = "COMPLETED"
	RolloutFailed     RolloutState = "FAILED"
)

// ServiceSpec is an ECS CreateService/UpdateService.
//
// +kubebuilder:validation:XValidation:rule="self.schedulingStrategy == 'DAEMON' || has(self.desiredCount)",message="desiredCount is required for a REPLICA service"
// +kubebuilder:validation:XValidation:rule="self.schedulingStrategy != 'DAEMON' || !has(self.desiredCount)",message="a DAEMON service runs one task per instance and takes no desiredCount"
// +kubebuilder:validation:XValidation:rule="self.schedulingStrategy != 'DAEMON' || !has(self.placementStrategy)",message="a DAEMON service takes no placementStrategy"
type ServiceSpec struct {
	// cluster the service runs in. Immutable.
	// +optional
	// +kubebuilder:default="default"
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="cluster is immutable"
	Cluster string `json:"cluster,omitempty"`
	// taskDefinition is "family" (follow the latest ACTIVE revision: a new
	// revision rolls out automatically) or "family:revision" (pinned).
	// +required
	// +kubebuilder:validation:MaxLength=74
	// +kubebuilder:validation:XValidation:rule="self.matches('^[a-z0-9]([-a-z0-9.]{0,61}[a-z0-9])?(:[1-9][0-9]{0,8})?$')",message="taskDefinition must be \"family\" or \"family:revision\" with a revision of 1 or more"
	TaskDefinition string `json:"taskDefinition"`
	// desiredCount is the number of tasks to keep running (REPLICA only).
	// +optional
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=100000
	DesiredCount *int32 `json:"desiredCount,omitempty"`
	// schedulingStrategy is REPLICA (default) or DAEMON. Immutable.
	// +optional
	// +kubebuilder:default=REPLICA
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="schedulingStrategy is immutable"
	SchedulingStrategy SchedulingStrategy `json:"schedulingStrategy,omitempty"`
	// deploymentConfiguration bounds the tasks during a deployment.
	// +optional
	// +kubebuilder:default={}
	DeploymentConfiguration DeploymentConfiguration `json:"deploymentConfiguration,omitempty"`
	// placementConstraints for the service's tasks.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=10
	PlacementConstraints []PlacementConstraint `json:"placementConstraints,omitempty"`
	// placementStrategy for the service's tasks, applied in order.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=5
	PlacementStrategy []PlacementStrategy `json:"placementStrategy,omitempty"`
	// healthCheckGracePeriodSeconds is how long after RUNNING a task
	// counts as healthy whatever its health checks say.
	// +optional
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=2147483647
	HealthCheckGracePeriodSeconds *int32 `json:"healthCheckGracePeriodSeconds,omitempty"`
}

// DeploymentConfiguration is an ECS deployment configuration.
// +kubebuilder:validation:XValidation:rule="!has(self.maximumPercent) || !has(self.minimumHealthyPercent) || self.maximumPercent > self.minimumHealthyPercent",message="maximumPercent must be greater than minimumHealthyPercent, or no task could ever be replaced"
type DeploymentConfiguration struct {
	// minimumHealthyPercent of desiredCount that must stay healthy during a
	// deployment (rounded up).
	// +optional
	// +kubebuilder:default=100
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=100
	MinimumHealthyPercent *int32 `json:"minimumHealthyPercent,omitempty"`
	// maximumPercent of desiredCount that may run or be pending during a
	// deployment (rounded down).
	// +optional
	// +kubebuilder:default=200
	// +kubebuilder:validation:Minimum=100
	// +kubebuilder:validation:Maximum=1000
	MaximumPercent *int32 `json:"maximumPercent,omitempty"`
	// deploymentCircuitBreaker fails a deployment whose tasks keep failing.
	// +optional
	DeploymentCircuitBreaker *DeploymentCircuitBreaker `json:"deploymentCircuitBreaker,omitempty"`
}

// DeploymentCircuitBreaker is the ECS deployment circuit breaker.
type DeploymentCircuitBreaker struct {
	// enable the circuit breaker.
	// +required
	Enable bool `json:"enable"`
	// rollback, when it trips, to the newest deployment that completed or
	// ran its tasks without failures.
	// +required
	Rollback bool `json:"rollback"`
}

// ServiceStatus is observed by the manager.
type ServiceStatus struct {
	// observedGeneration is the spec generation the status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// conditions: SteadyState, Progressing (a deployment rolls), Ready (a
	// steady state), Reconciling (converging), Stalled (a failed or rolled
	// back deployment, a spec or task definition that cannot deploy).
	// +optional
	// +listType=map
	// +listMapKey=type
	// +kubebuilder:validation:MaxItems=16
	Conditions []metav1.Condition `json:"conditions,omitempty"`
	// desiredCount is the number of tasks wanted (for DAEMON: the number of
	// eligible instances).
	// +optional
	DesiredCount int32 `json:"desiredCount,omitempty"`
	// runningCount counts RUNNING tasks.
	// +optional
	RunningCount int32 `json:"runningCount,omitempty"`
	// pendingCount counts tasks not yet RUNNING.
	// +optional
	PendingCount int32 `json:"pendingCount,omitempty"`
	// taskDefinition is the "family:revision" of the primary deployment.
	// +optional
	// +kubebuilder:validation:MaxLength=74
	TaskDefinition string `json:"taskDefinition,omitempty"`
	// selector selects the service's Tasks (for the scale subresource).
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	Selector string `json:"selector,omitempty"`
	// deployments of the service, PRIMARY first.
	// +optional
	// +listType=map
	// +listMapKey=id
	// +kubebuilder:validation:MaxItems=32
	Deployments []Deployment `json:"deployments,omitempty"`
}

// Deployment is one ECS service deployment.
type Deployment struct {
	// id of the deployment.
	// +required
	// +kubebuilder:validation:MaxLength=63
	ID string `json:"id"`
	// status is PRIMARY, ACTIVE or INACTIVE.
	// +optional
	Status DeploymentStatus `json:"status,omitempty"`
	// taskDefinition is the "family:revision" it runs.
	// +optional
	// +kubebuilder:validation:MaxLength=74
	TaskDefinition string `json:"taskDefinition,omitempty"`
	// desiredCount of this deployment.
	// +optional
	DesiredCount int32 `json:"desiredCount,omitempty"`
	// pendingCount of this deployment.
	// +optional
	PendingCount int32 `json:"pendingCount,omitempty"`
	// runningCount of this deployment.
	// +optional
	RunningCount int32 `json:"runningCount,omitempty"`
	// failedTasks counts tasks that failed to reach RUNNING or health.
	// +optional
	FailedTasks int32 `json:"failedTasks,omitempty"`
	// ranTasks is set once one of its tasks has reached RUNNING (Longshore
	// extension). The circuit breaker rolls a failed deployment back to
	// the newest deployment that COMPLETED or that ran tasks none of which
	// failed, such as one still IN_PROGRESS when the failed one replaced it.
	// +optional
	RanTasks bool `json:"ranTasks,omitempty"`
	// rolloutState is IN_PROGRESS, COMPLETED or FAILED.
	// +optional
	RolloutState RolloutState `json:"rolloutState,omitempty"`
	// rolloutStateReason explains rolloutState.
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	RolloutStateReason string `json:"rolloutStateReason,omitempty"`
	// createdAt is when the deployment was created.
	// +optional
	CreatedAt *metav1.Time `json:"createdAt,omitempty"`
	// updatedAt is when it last changed.
	// +optional
	UpdatedAt *metav1.Time `json:"updatedAt,omitempty"`
}

// Service is an ECS service: it keeps desiredCount healthy tasks of a task
// definition running and rolls them to new revisions.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:subresource:scale:specpath=.spec.desiredCount,statuspath=.status.runningCount,selectorpath=.status.selector
// +kubebuilder:resource:shortName=ecssvc,categories=ecs
// +kubebuilder:printcolumn:name="Desired",type=integer,JSONPath=`.status.desiredCount`
// +kubebuilder:printcolumn:name="Running",type=integer,JSONPath=`.status.runningCount`
// +kubebuilder:printcolumn:name="Pending",type=integer,JSONPath=`.status.pendingCount`
// +kubebuilder:printcolumn:name="Task-Definition",type=string,JSONPath=`.status.taskDefinition`
// +kubebuilder:printcolumn:name="Rollout",type=string,JSONPath=`.status.deployments[?(@.status=="PRIMARY")].rolloutState`
// +kubebuilder:printcolumn:name="Strategy",type=string,JSONPath=`.spec.schedulingStrategy`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
// +kubebuilder:validation:XValidation:rule="size(self.metadata.name) <= 63",message="a Service name must be at most 63 characters: it is used as a label value"
type Service struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is the service to keep running.
	// +required
	Spec ServiceSpec `json:"spec"`
	// status is observed by the manager.
	// Until first written it reads {observedGeneration: 0}, which GitOps
	// tools (kstatus, Argo CD) read as not reconciled yet.
	// +optional
	// +kubebuilder:default={observedGeneration: 0}
	Status ServiceStatus `json:"status,omitempty"`
}

// ServiceList is a list of Services.
// +kubebuilder:object:root=true
type ServiceList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Service `json:"items"`
}

func init() {
	register(&Service{}, &ServiceList{})
}
