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
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// DesiredStatus is what the user wants of a task.
// +kubebuilder:validation:Enum=RUNNING;STOPPED
type DesiredStatus string

const (
	// DesiredRunning asks for the task to run.
	DesiredRunning DesiredStatus = "RUNNING"
	// DesiredStopped stops the task (ECS StopTask). It cannot be undone.
	DesiredStopped DesiredStatus = "STOPPED"
)

// TaskStatusPhase is the ECS lastStatus of a task. It only moves forward:
// PROVISIONING → PENDING → ACTIVATING → RUNNING → DEACTIVATING → STOPPING →
// DEPROVISIONING → STOPPED.
// +kubebuilder:validation:Enum=PROVISIONING;PENDING;ACTIVATING;RUNNING;DEACTIVATING;STOPPING;DEPROVISIONING;STOPPED
// +kubebuilder:validation:MaxLength=16
type TaskStatusPhase string

// Task lifecycle phases, in order.
const (
	TaskProvisioning   TaskStatusPhase = "PROVISIONING"
	TaskPending        TaskStatusPhase = "PENDING"
	TaskActivating     TaskStatusPhase = "ACTIVATING"
	TaskRunning        TaskStatusPhase = "RUNNING"
	TaskDeactivating   TaskStatusPhase = "DEACTIVATING"
	TaskStopping       TaskStatusPhase = "STOPPING"
	TaskDeprovisioning TaskStatusPhase = "DEPROVISIONING"
	TaskStopped        TaskStatusPhase = "STOPPED"
)

// TaskPhases lists the task phases in lifecycle order.
var TaskPhases = []TaskStatusPhase{TaskProvisioning, TaskPending, TaskActivating, TaskRunning,
	TaskDeactivating, TaskStopping, TaskDeprovisioning, TaskStopped}

// HealthStatus is an ECS health status.
// +kubebuilder:validation:Enum=HEALTHY;UNHEALTHY;UNKNOWN
type HealthStatus string

// Health statuses.
const (
	HealthHealthy   HealthStatus = "HEALTHY"
	HealthUnhealthy HealthStatus = "UNHEALTHY"
	HealthUnknown   HealthStatus = "UNKNOWN"
)

// StopCode says why a task stopped.
// +kubebuilder:validation:Enum=TaskFailedToStart;EssentialContainerExited;UserInitiated;ServiceSchedulerInitiated;InfrastructureHealth
type StopCode string

// Stop codes, as in ECS.
const (
	StopCodeTaskFailedToStart         StopCode = "TaskFailedToStart"
	StopCodeEssentialContainerExited  StopCode = "EssentialContainerExited"
	StopCodeUserInitiated             StopCode = "UserInitiated"
	StopCodeServiceSchedulerInitiated StopCode = "ServiceSchedulerInitiated"
	StopCodeInfrastructureHealth      StopCode = "InfrastructureHealth"
)

// ContainerStatusPhase is the ECS lastStatus of a container.
// +kubebuilder:validation:Enum=PENDING;RUNNING;STOPPED
type ContainerStatusPhase string

// Container phases.
const (
	ContainerPending ContainerStatusPhase = "PENDING"
	ContainerRunning ContainerStatusPhase = "RUNNING"
	ContainerStopped ContainerStatusPhase = "STOPPED"
)

// TaskSpec is an ECS RunTask (or StartTask, with containerInstance set).
// +kubebuilder:validation:XValidation:rule="!has(self.stop) || self.desiredStatus == 'STOPPED'",message="stop needs desiredStatus: STOPPED"
// +kubebuilder:validation:XValidation:rule="!has(oldSelf.stop) || (has(self.stop) && self.stop == oldSelf.stop)",message="stop is immutable once set"
type TaskSpec struct {
	// cluster the task runs in. Immutable.
	// +optional
	// +kubebuilder:default="default"
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="cluster is immutable"
	Cluster string `json:"cluster,omitempty"`
	// taskDefinition is "family" (the latest ACTIVE revision) or
	// "family:revision". Immutable.
	// +required
	// +kubebuilder:validation:MaxLength=74
	// +kubebuilder:validation:XValidation:rule="self.matches('^[a-z0-9]([-a-z0-9.]{0,61}[a-z0-9])?(:[1-9][0-9]{0,8})?$')",message="taskDefinition must be \"family\" or \"family:revision\" with a revision of 1 or more"
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="taskDefinition is immutable: run a new Task for another revision"
	TaskDefinition string `json:"taskDefinition"`
	// overrides change container settings for this task only. Immutable.
	// +optional
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="overrides are immutable"
	Overrides *TaskOverride `json:"overrides,omitempty"`
	// desiredStatus is RUNNING (default) or STOPPED. Setting STOPPED stops
	// the task (ECS StopTask); a stopped task cannot be started again.
	// +optional
	// +kubebuilder:default=RUNNING
	// +kubebuilder:validation:XValidation:rule="oldSelf != 'STOPPED' || self == 'STOPPED'",message="a stopped task cannot be started again: create a new Task"
	DesiredStatus DesiredStatus `json:"desiredStatus,omitempty"`
	// stop says who asks the task to stop and why (ECS StopTask's reason),
	// with desiredStatus STOPPED. The agent records it as status.stopCode
	// and status.stoppedReason unless the task stopped by itself first.
	// Without it, a stop is UserInitiated, "Task stopped by user".
	// Immutable once set.
	// +optional
	Stop *TaskStop `json:"stop,omitempty"`
	// startedBy is a free-form tag, e.g. the deployment id of a Service.
	// Immutable.
	// +optional
	// +kubebuilder:validation:MaxLength=128
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="startedBy is immutable"
	StartedBy string `json:"startedBy,omitempty"`
	// group of the task for spread and task:group placement; the manager
	// uses "family:<family>" when empty. Immutable once set.
	// +optional
	// +kubebuilder:validation:MaxLength=255
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="group is immutable once set"
	Group string `json:"group,omitempty"`
	// placementConstraints for this task, on top of the task definition's.
	// Immutable.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=10
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="placementConstraints are immutable"
	PlacementConstraints []PlacementConstraint `json:"placementConstraints,omitempty"`
	// placementStrategy for this task, applied in order. Immutable.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=5
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="placementStrategy is immutable"
	PlacementStrategy []PlacementStrategy `json:"placementStrategy,omitempty"`
	// containerInstance the task is bound to. Empty lets the scheduler
	// place it; set by a user it means ECS StartTask (no scheduling).
	// Immutable once set.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	ContainerInstance string `json:"containerInstance,omitempty"`
}

// TaskStop is a request to stop a task: who asks, and why.
type TaskStop struct {
	// code is UserInitiated (ECS StopTask, the default) or
	// ServiceSchedulerInitiated (a Service's scale-in, replacement or
	// deployment).
	// +optional
	// +kubebuilder:default=UserInitiated
	// +kubebuilder:validation:XValidation:rule="self in ['UserInitiated', 'ServiceSchedulerInitiated']",message="stop.code must be UserInitiated or ServiceSchedulerInitiated: the other stop codes say what happened to the task, not who asked"
	Code StopCode `json:"code,omitempty"`
	// reason, shown as status.stoppedReason (ECS StopTask's reason).
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	Reason string `json:"reason,omitempty"`
}

// RequestedStop is the stop code and reason of a stop request: spec.stop,
// else UserInitiated with StoppedReasonByUser (desiredStatus STOPPED set
// without one, or the Task deleted).
func (t *Task) RequestedStop() (StopCode, string) {
	code, reason := StopCodeUserInitiated, StoppedReasonByUser
	if s := t.Spec.Stop; s != nil {
		if s.Code != "" {
			code = s.Code
		}
		if s.Reason != "" {
			reason = s.Reason
		}
	}
	return code, reason
}

// MarkStopped records that a task stopped at now: lastStatus STOPPED, the
// stop code and reason unless a stop is recorded already (the first cause
// wins, as in ECS), stoppingAt when the stop had none, and stoppedAt. The
// manager stamps with it the tasks no agent will report on (stopped before
// they were bound, or on a lost instance); an agent reports every phase of
// its tasks' stops itself.
func (st *TaskStatus) MarkStopped(code StopCode, reason string, now metav1.Time) {
	st.LastStatus = TaskStopped
	if st.StopCode == "" {
		st.StopCode, st.StoppedReason = code, reason
	}
	if st.StoppingAt == nil {
		st.StoppingAt = &now
	}
	st.StoppedAt = &now
}

// TaskOverride changes container settings for one task.
type TaskOverride struct {
	// containerOverrides, one per container to change.
	// +optional
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=10
	ContainerOverrides []ContainerOverride `json:"containerOverrides,omitempty"`
	// cpu replaces the task-level cpu ("256", "0.25 vCPU").
	// +optional
	// +kubebuilder:validation:MaxLength=32
	// +kubebuilder:validation:XValidation:rule="self.matches('^([0-9]+|[0-9]+([.][0-9]+)? ?[vV][cC][pP][uU])$')",message="cpu must be CPU units such as \"256\" or vCPUs such as \"0.25 vCPU\""
	CPU string `json:"cpu,omitempty"`
	// memory replaces the task-level memory ("512", "1 GB").
	// +optional
	// +kubebuilder:validation:MaxLength=32
	// +kubebuilder:validation:XValidation:rule="self.matches('^([0-9]+|[0-9]+([.][0-9]+)? ?[gG][bB])$')",message="memory must be MiB such as \"512\" or GB such as \"1 GB\""
	Memory string `json:"memory,omitempty"`
}

// ContainerOverride changes one container for one task.
// +kubebuilder:validation:XValidation:rule="!has(self.memory) || !has(self.memoryReservation) || self.memory > self.memoryReservation",message="memory (the hard limit) must be greater than memoryReservation (the soft limit)"
type ContainerOverride struct {
	// name of the container in the task definition.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	Name string `json:"name"`
	// command replaces the container's command.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=256
	// +kubebuilder:validation:items:MaxLength=32768
	Command []string `json:"command,omitempty"`
	// environment variables added to or replacing the container's.
	// +optional
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=1000
	Environment []KeyValuePair `json:"environment,omitempty"`
	// cpu replaces the container's CPU units.
	// +optional
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=262144
	CPU *int32 `json:"cpu,omitempty"`
	// memory replaces the container's hard limit (MiB).
	// +optional
	// +kubebuilder:validation:Minimum=6
	// +kubebuilder:validation:Maximum=16777216
	Memory *int32 `json:"memory,omitempty"`
	// memoryReservation replaces the container's soft limit (MiB).
	// +optional
	// +kubebuilder:validation:Minimum=6
	// +kubebuilder:validation:Maximum=16777216
	MemoryReservation *int32 `json:"memoryReservation,omitempty"`
}

// TaskStatus is written by the manager up to PENDING and by the agent
// bound to the task from then on (see docs/concepts.md).
type TaskStatus struct {
	// observedGeneration is the spec generation the status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// conditions: Scheduled, Ready (RUNNING and healthy, or STOPPED as
	// asked), Reconciling (starting or stopping), Stalled (STOPPED on a
	// failure).
	// +optional
	// +listType=map
	// +listMapKey=type
	// +kubebuilder:validation:MaxItems=16
	Conditions []metav1.Condition `json:"conditions,omitempty"`
	// lastStatus is the lifecycle phase; it never moves backwards.
	// +optional
	// +kubebuilder:validation:XValidation:rule="{'PROVISIONING': 0, 'PENDING': 1, 'ACTIVATING': 2, 'RUNNING': 3, 'DEACTIVATING': 4, 'STOPPING': 5, 'DEPROVISIONING': 6, 'STOPPED': 7}[self] >= {'PROVISIONING': 0, 'PENDING': 1, 'ACTIVATING': 2, 'RUNNING': 3, 'DEACTIVATING': 4, 'STOPPING': 5, 'DEPROVISIONING': 6, 'STOPPED': 7}[oldSelf]",messageExpression="'lastStatus cannot move backwards from ' + oldSelf + ' to ' + self"
	LastStatus TaskStatusPhase `json:"lastStatus,omitempty"`
	// taskDefinitionRevision is the resolved "family:revision".
	// +optional
	// +kubebuilder:validation:MaxLength=74
	TaskDefinitionRevision string `json:"taskDefinitionRevision,omitempty"`
	// group is the effective group ("family:<family>" unless spec.group is set).
	// +optional
	// +kubebuilder:validation:MaxLength=255
	Group string `json:"group,omitempty"`
	// healthStatus rolls up the essential containers' health.
	// +optional
	HealthStatus HealthStatus `json:"healthStatus,omitempty"`
	// stopCode says why the task stopped.
	// +optional
	StopCode StopCode `json:"stopCode,omitempty"`
	// stoppedReason explains the stop in ECS wording, e.g. "Essential
	// container in task exited".
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	StoppedReason string `json:"stoppedReason,omitempty"`
	// containers report each container of the task.
	// +optional
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=10
	Containers []ContainerStatus `json:"containers,omitempty"`
	// attachments are the task's network interfaces (awsvpc).
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=4
	Attachments []Attachment `json:"attachments,omitempty"`
	// pullStartedAt is when the first image pull started.
	// +optional
	PullStartedAt *metav1.Time `json:"pullStartedAt,omitempty"`
	// pullStoppedAt is when the last image pull finished.
	// +optional
	PullStoppedAt *metav1.Time `json:"pullStoppedAt,omitempty"`
	// startedAt is when the task reached RUNNING.
	// +optional
	StartedAt *metav1.Time `json:"startedAt,omitempty"`
	// stoppingAt is when the task began to stop.
	// +optional
	StoppingAt *metav1.Time `json:"stoppingAt,omitempty"`
	// executionStoppedAt is when the last essential container exited.
	// +optional
	ExecutionStoppedAt *metav1.Time `json:"executionStoppedAt,omitempty"`
	// stoppedAt is when the task reached STOPPED.
	// +optional
	StoppedAt *metav1.Time `json:"stoppedAt,omitempty"`
	// protection is the task's scale-in protection (ECS
	// UpdateTaskProtection), asked for from inside the task through
	// $ECS_AGENT_URI/task-protection/v1/state and recorded by the agent.
	// A Service does not stop a protected task to scale in nor to replace
	// it in a deployment until the protection is removed or expires.
	// +optional
	Protection *TaskProtection `json:"protection,omitempty"`
}

// MaxProtectionMinutes is the longest scale-in protection ECS grants
// (48 hours); DefaultProtectionMinutes is what a request without
// ExpiresInMinutes gets (2 hours).
const (
	MaxProtectionMinutes     = 2880
	DefaultProtectionMinutes = 120
)

// TaskProtection is a task's scale-in protection.
type TaskProtection struct {
	// enabled: the task asked for protection. It ends at expiresAt.
	// +required
	Enabled bool `json:"enabled"`
	// expiresAt is when the protection ends (at most 48 hours after it
	// was asked for).
	// +optional
	ExpiresAt *metav1.Time `json:"expiresAt,omitempty"`
}

// Protected tells whether the task is protected from scale in at now:
// enabled and not expired.
func (p *TaskProtection) Protected(now time.Time) bool {
	return p != nil && p.Enabled && (p.ExpiresAt == nil || now.Before(p.ExpiresAt.Time))
}

// ContainerStatus reports one container of a task.
type ContainerStatus struct {
	// name of the container.
	// +required
	// +kubebuilder:validation:MaxLength=63
	Name string `json:"name"`
	// lastStatus is PENDING, RUNNING or STOPPED.
	// +optional
	LastStatus ContainerStatusPhase `json:"lastStatus,omitempty"`
	// exitCode of the last exit.
	// +optional
	ExitCode *int32 `json:"exitCode,omitempty"`
	// reason of the last stop, e.g. "OutOfMemoryError: Container killed due
	// to memory usage" or "CannotPullContainerError: …".
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	Reason string `json:"reason,omitempty"`
	// runtimeId is the containerd container id.
	// +optional
	// +kubebuilder:validation:MaxLength=255
	RuntimeID string `json:"runtimeId,omitempty"`
	// imageDigest of the image the container runs.
	// +optional
	// +kubebuilder:validation:MaxLength=255
	ImageDigest string `json:"imageDigest,omitempty"`
	// healthStatus of the container's health check.
	// +optional
	HealthStatus HealthStatus `json:"healthStatus,omitempty"`
	// restartCount counts restarts by the restart policy.
	// +optional
	RestartCount int32 `json:"restartCount,omitempty"`
	// networkBindings are the container's published ports.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=100
	NetworkBindings []NetworkBinding `json:"networkBindings,omitempty"`
	// startedAt is when the container last started.
	// +optional
	StartedAt *metav1.Time `json:"startedAt,omitempty"`
	// finishedAt is when the container last exited.
	// +optional
	FinishedAt *metav1.Time `json:"finishedAt,omitempty"`
}

// NetworkBinding is a published port.
type NetworkBinding struct {
	// bindIP is the host address the port is bound on.
	// +optional
	// +kubebuilder:validation:MaxLength=45
	BindIP string `json:"bindIP,omitempty"`
	// containerPort is the port in the container.
	// +optional
	ContainerPort int32 `json:"containerPort,omitempty"`
	// hostPort is the port on the host.
	// +optional
	HostPort int32 `json:"hostPort,omitempty"`
	// protocol is tcp or udp.
	// +optional
	Protocol TransportProtocol `json:"protocol,omitempty"`
}

// AttachmentNetworkInterface is the type of an awsvpc task's interface
// in the task's namespace (ECS's ElasticNetworkInterface).
const AttachmentNetworkInterface = "NetworkInterface"

// Attachment is a network interface of an awsvpc task.
type Attachment struct {
	// type is NetworkInterface.
	// +optional
	// +kubebuilder:validation:MaxLength=64
	Type string `json:"type,omitempty"`
	// status is ATTACHING, ATTACHED, DETACHING or DELETED.
	// +optional
	// +kubebuilder:validation:MaxLength=64
	Status string `json:"status,omitempty"`
	// details of the interface.
	// +optional
	Details AttachmentDetails `json:"details,omitempty"`
}

// AttachmentDetails describe a network interface.
type AttachmentDetails struct {
	// ipv4Address of the task.
	// +optional
	// +kubebuilder:validation:MaxLength=15
	IPv4Address string `json:"ipv4Address,omitempty"`
	// macAddress of the interface.
	// +optional
	// +kubebuilder:validation:MaxLength=17
	MACAddress string `json:"macAddress,omitempty"`
	// interfaceName inside the task's network namespace.
	// +optional
	// +kubebuilder:validation:MaxLength=15
	InterfaceName string `json:"interfaceName,omitempty"`
	// subnet the address belongs to.
	// +optional
	// +kubebuilder:validation:MaxLength=18
	Subnet string `json:"subnet,omitempty"`
	// gateway of the subnet.
	// +optional
	// +kubebuilder:validation:MaxLength=15
	Gateway string `json:"gateway,omitempty"`
}

// Task is one ECS task: the containers of a TaskDefinitionRevision running
// on one ContainerInstance.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=ecstask,categories=ecs
// +kubebuilder:selectablefield:JSONPath=`.spec.containerInstance`
// +kubebuilder:selectablefield:JSONPath=`.spec.cluster`
// +kubebuilder:printcolumn:name="Status",type=string,JSONPath=`.status.lastStatus`
// +kubebuilder:printcolumn:name="Desired",type=string,JSONPath=`.spec.desiredStatus`
// +kubebuilder:printcolumn:name="Health",type=string,JSONPath=`.status.healthStatus`
// +kubebuilder:printcolumn:name="Instance",type=string,JSONPath=`.spec.containerInstance`
// +kubebuilder:printcolumn:name="Revision",type=string,JSONPath=`.status.taskDefinitionRevision`
// +kubebuilder:printcolumn:name="IP",type=string,JSONPath=`.status.attachments[0].details.ipv4Address`,priority=1
// +kubebuilder:printcolumn:name="Stop-Code",type=string,JSONPath=`.status.stopCode`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type Task struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is the task to run.
	// +required
	// +kubebuilder:validation:XValidation:rule="!has(oldSelf.containerInstance) || (has(self.containerInstance) && self.containerInstance == oldSelf.containerInstance)",message="containerInstance is immutable once set"
	// +kubebuilder:validation:XValidation:rule="has(oldSelf.group) == has(self.group) || !has(oldSelf.group)",message="group is immutable once set"
	// +kubebuilder:validation:XValidation:rule="has(oldSelf.overrides) == has(self.overrides)",message="overrides are immutable"
	// +kubebuilder:validation:XValidation:rule="has(oldSelf.startedBy) == has(self.startedBy)",message="startedBy is immutable"
	// +kubebuilder:validation:XValidation:rule="has(oldSelf.placementConstraints) == has(self.placementConstraints) && has(oldSelf.placementStrategy) == has(self.placementStrategy)",message="placementConstraints and placementStrategy are immutable"
	Spec TaskSpec `json:"spec"`
	// status is written by the manager, then by the agent.
	// Until first written it reads {observedGeneration: 0}, which GitOps
	// tools (kstatus, Argo CD) read as not reconciled yet.
	// +optional
	// +kubebuilder:default={observedGeneration: 0}
	Status TaskStatus `json:"status,omitempty"`
}

// TaskList is a list of Tasks.
// +kubebuilder:object:root=true
type TaskList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Task `json:"items"`
}

func init() {
	register(&Task{}, &TaskList{})
}
