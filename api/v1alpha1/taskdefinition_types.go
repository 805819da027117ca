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
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// NetworkMode is the ECS network mode of a task.
// +kubebuilder:validation:Enum=bridge;host;awsvpc;none
type NetworkMode string

const (
	// NetworkModeBridge gives each container its own network namespace on a
	// host-local masqueraded bridge; ports are published on the host.
	NetworkModeBridge NetworkMode = "bridge"
	// NetworkModeHost runs containers in the host's network namespace.
	NetworkModeHost NetworkMode = "host"
	// NetworkModeAWSVPC gives the task one network namespace and IP address
	// from the instance's task subnet; all its containers share it.
	NetworkModeAWSVPC NetworkMode = "awsvpc"
	// NetworkModeNone gives the task a network namespace with loopback only.
	NetworkModeNone NetworkMode = "none"
)

// TaskDefinitionSpec is the body of an ECS RegisterTaskDefinition call.
//
// +kubebuilder:validation:XValidation:rule="self.containerDefinitions.exists(c, c.essential)",message="at least one container must be essential"
// +kubebuilder:validation:XValidation:rule="has(self.memory) || self.containerDefinitions.all(c, has(c.memory) || has(c.memoryReservation))",message="every container needs memory or memoryReservation unless the task-level memory is set"
// +kubebuilder:validation:XValidation:rule="self.networkMode != 'none' || self.containerDefinitions.all(c, !has(c.portMappings) || size(c.portMappings) == 0)",message="portMappings are not allowed with networkMode none"
// +kubebuilder:validation:XValidation:rule="!(self.networkMode in ['host', 'awsvpc']) || self.containerDefinitions.all(c, !has(c.portMappings) || c.portMappings.all(p, !has(p.hostPort) || p.hostPort == p.containerPort))",message="with networkMode host or awsvpc, hostPort must be omitted or equal to containerPort"
// +kubebuilder:validation:XValidation:rule="!(self.networkMode in ['bridge', 'awsvpc']) || self.containerDefinitions.all(c, !has(c.portMappings) || c.portMappings.all(p, !has(p.containerPort) || p.containerPort != 51679 || (has(p.protocol) && p.protocol == 'udp')))",message="containerPort 51679 (tcp) is taken in the task's network namespace with networkMode bridge or awsvpc: the task metadata and agent endpoints listen on 169.254.170.2:51679 there (ECS_CONTAINER_METADATA_URI_V4, ECS_AGENT_URI); use another port"
// +kubebuilder:validation:XValidation:rule="!(self.networkMode in ['host', 'awsvpc']) || self.containerDefinitions.all(c, !has(c.hostname))",message="hostname is not supported with networkMode host or awsvpc"
// +kubebuilder:validation:XValidation:rule="self.containerDefinitions.all(c, !has(c.dependsOn) || c.dependsOn.all(d, d.containerName != c.name && self.containerDefinitions.exists(o, o.name == d.containerName)))",message="dependsOn must name another container of this task definition"
// +kubebuilder:validation:XValidation:rule="self.containerDefinitions.all(c, !has(c.dependsOn) || c.dependsOn.all(d, !(d.condition in ['COMPLETE', 'SUCCESS']) || !self.containerDefinitions.exists(o, o.name == d.containerName && o.essential)))",message="dependsOn condition COMPLETE or SUCCESS needs a non-essential target container: an essential container that exits stops the task"
// +kubebuilder:validation:XValidation:rule="self.containerDefinitions.all(c, !has(c.dependsOn) || c.dependsOn.all(d, d.condition != 'HEALTHY' || !self.containerDefinitions.exists(o, o.name == d.containerName && !has(o.healthCheck))))",message="dependsOn condition HEALTHY needs a target container with a healthCheck"
// +kubebuilder:validation:XValidation:rule="self.containerDefinitions.all(c, !has(c.mountPoints) || c.mountPoints.all(m, has(self.volumes) && self.volumes.exists(v, v.name == m.sourceVolume)))",message="mountPoints.sourceVolume must name a volume in volumes"
// +kubebuilder:validation:XValidation:rule="self.containerDefinitions.all(c, !has(c.volumesFrom) || c.volumesFrom.all(f, f.sourceContainer != c.name && self.containerDefinitions.exists(o, o.name == f.sourceContainer)))",message="volumesFrom.sourceContainer must name another container of this task definition"
// +kubebuilder:validation:XValidation:rule="self.containerDefinitions.filter(c, has(c.firelensConfiguration)).size() <= 1",message="at most one container may have firelensConfiguration: a task has one log router"
// +kubebuilder:validation:XValidation:rule="!self.containerDefinitions.exists(c, has(c.logConfiguration) && c.logConfiguration.logDriver == 'awsfirelens') || self.containerDefinitions.exists(c, has(c.firelensConfiguration))",message="logDriver awsfirelens sends a container's output to the task's log router, and this task has none: add a container with firelensConfiguration (Fluent Bit or Fluentd)"
// +kubebuilder:validation:XValidation:rule="self.containerDefinitions.all(c, !has(c.logConfiguration) || c.logConfiguration.logDriver != 'awsfirelens' || !has(c.logConfiguration.options) || c.logConfiguration.options.all(k, k in ['include-pattern', 'exclude-pattern', 'log-driver-buffer-limit']) || self.containerDefinitions.all(r, !has(r.firelensConfiguration) || (r.firelensConfiguration.type == 'fluentbit' ? 'Name' : '@type') in c.logConfiguration.options || (has(c.logConfiguration.secretOptions) && c.logConfiguration.secretOptions.exists(s, s.name == (r.firelensConfiguration.type == 'fluentbit' ? 'Name' : '@type')))))",message="awsfirelens options configure an output plugin of the log router, which must be named (in options or secretOptions): Name for a Fluent Bit router, @type for a Fluentd router"
// +kubebuilder:validation:XValidation:rule="!has(self.proxyConfiguration) || self.networkMode == 'awsvpc'",message="proxyConfiguration (App Mesh) needs networkMode awsvpc, as in ECS: the redirect is set up in the task's network namespace"
// +kubebuilder:validation:XValidation:rule="!has(self.proxyConfiguration) || self.containerDefinitions.exists(c, c.name == self.proxyConfiguration.containerName)",message="proxyConfiguration.containerName must name a container of this task definition (the proxy)"
// +kubebuilder:validation:XValidation:rule="!has(self.inferenceAccelerators) || size(self.inferenceAccelerators) == 0",message="inferenceAccelerators: Elastic Inference accelerators exist only in AWS (and were retired there): remove them"
// +kubebuilder:validation:XValidation:rule="!has(self.enableFaultInjection) || !self.enableFaultInjection",message="enableFaultInjection is not supported yet: remove it or set it to false"
// +kubebuilder:validation:XValidation:rule="self.networkMode == 'bridge' || self.containerDefinitions.all(c, !has(c.links) || size(c.links) == 0)",message="links work with networkMode bridge only; with awsvpc the containers of a task reach each other on localhost"
// +kubebuilder:validation:XValidation:rule="self.containerDefinitions.all(c, !has(c.links) || c.links.all(l, self.containerDefinitions.exists(o, o.name != c.name && (l == o.name || l.startsWith(o.name + ':')))))",message="links must name another container of this task definition (name or name:alias)"
// +kubebuilder:validation:XValidation:rule="self.networkMode == 'bridge' || self.containerDefinitions.all(c, !has(c.disableNetworking) || !c.disableNetworking)",message="disableNetworking works with networkMode bridge only; with awsvpc or host the container shares the task's or the host's network (networkMode none gives a task loopback only)"
// +kubebuilder:validation:XValidation:rule="self.networkMode != 'host' || self.containerDefinitions.all(c, !has(c.systemControls) || c.systemControls.all(s, !s.namespace.startsWith('net.')))",message="systemControls net.* would change the host's own network settings with networkMode host: use bridge or awsvpc, or set them on the host"
type TaskDefinitionSpec struct {
	// networkMode is bridge (default), host, awsvpc or none.
	// +optional
	// +kubebuilder:default=bridge
	NetworkMode NetworkMode `json:"networkMode,omitempty"`
	// cpu is the task-level CPU, as in ECS: CPU units ("256") or vCPUs
	// ("0.25 vCPU"). Containers share it inside the task's cgroup.
	// +optional
	// +kubebuilder:validation:MaxLength=32
	// +kubebuilder:validation:XValidation:rule="self.matches('^([0-9]+|[0-9]+([.][0-9]+)? ?[vV][cC][pP][uU])$')",message="cpu must be CPU units such as \"256\" or vCPUs such as \"0.25 vCPU\""
	CPU string `json:"cpu,omitempty"`
	// memory is the task-level memory limit, as in ECS: MiB ("512") or GB
	// ("1 GB", "0.5GB").
	// +optional
	// +kubebuilder:validation:MaxLength=32
	// +kubebuilder:validation:XValidation:rule="self.matches('^([0-9]+|[0-9]+([.][0-9]+)? ?[gG][bB])$')",message="memory must be MiB such as \"512\" or GB such as \"1 GB\""
	Memory string `json:"memory,omitempty"`
	// containerDefinitions are the containers of the task (1 to 10).
	// +required
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=10
	ContainerDefinitions []ContainerDefinition `json:"containerDefinitions"`
	// volumes the containers can mount: a task-scoped scratch directory
	// (name only), a host path (host.sourcePath, when the Cluster allows
	// it), or a Secret or ConfigMap as read-only files (Longshore extension).
	// +optional
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=20
	Volumes []Volume `json:"volumes,omitempty"`
	// placementConstraints are memberOf constraints every task of this
	// definition must satisfy.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=10
	// +kubebuilder:validation:XValidation:rule="self.all(c, c.type == 'memberOf')",message="a task definition takes only memberOf placement constraints (distinctInstance belongs on the Task or Service)"
	PlacementConstraints []PlacementConstraint `json:"placementConstraints,omitempty"`
	// pidMode "task": the task's containers share one process namespace
	// (they see each other's processes), held by a namespace holder the
	// agent runs for the task; "host": they share the host's (the Cluster
	// must allow privileged tasks). Unset: each container has its own
	// (also ""; exports write it).
	// +optional
	// +kubebuilder:validation:Enum=host;task;""
	PidMode string `json:"pidMode,omitempty"`
	// ipcMode "task": the task's containers share one IPC namespace
	// (System V shared memory, semaphores, message queues), held by the
	// task's namespace holder; "host": they share the host's (the Cluster
	// must allow privileged tasks); "none": each container has its own and
	// no /dev/shm (Docker's ipc none). Unset or "": each container has its
	// own, with its own /dev/shm.
	// +optional
	// +kubebuilder:validation:Enum=host;task;none;""
	IpcMode string `json:"ipcMode,omitempty"`
	// family is the ECS family as written in ECS. Optional: metadata.name is
	// the family; when given (a pasted export, or a family with upper-case
	// letters or '_', which a Kubernetes name cannot hold) it must be
	// metadata.name lower-cased with '_' as '-'.
	// +optional
	// +kubebuilder:validation:MaxLength=255
	Family string `json:"family,omitempty"`
	// taskRoleArn is the IAM role of the task's containers. Mapped: recorded
	// and reported; Longshore serves no AWS credentials to the task.
	// +optional
	// +kubebuilder:validation:MaxLength=2048
	TaskRoleArn string `json:"taskRoleArn,omitempty"`
	// executionRoleArn is the IAM role the ECS agent uses for pulls, logs
	// and secrets. Mapped: recorded; the agent pulls with
	// repositoryCredentials and reads secrets from Kubernetes Secrets.
	// +optional
	// +kubebuilder:validation:MaxLength=2048
	ExecutionRoleArn string `json:"executionRoleArn,omitempty"`
	// requiresCompatibilities are the launch types the task definition is
	// validated for. EC2 and EXTERNAL are honoured; FARGATE and
	// MANAGED_INSTANCES are mapped: the task runs on a ContainerInstance.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=4
	RequiresCompatibilities []Compatibility `json:"requiresCompatibilities,omitempty"`
	// runtimePlatform is mapped to a placement requirement on the instance
	// attributes ecs.os-type and ecs.cpu-architecture: a task for another
	// platform stays unplaced with a reason that says so.
	// +optional
	RuntimePlatform *RuntimePlatform `json:"runtimePlatform,omitempty"`
	// ephemeralStorage is Fargate's task storage size. Mapped: recorded;
	// containers write to the instance's disk, which it does not limit.
	// +optional
	EphemeralStorage *EphemeralStorage `json:"ephemeralStorage,omitempty"`
	// tags of the task definition, as in ECS (also readable as labels
	// would be: they are kept in the revision).
	// +optional
	// +listType=map
	// +listMapKey=key
	// +kubebuilder:validation:MaxItems=50
	Tags []Tag `json:"tags,omitempty"`
	// proxyConfiguration is the App Mesh proxy configuration. Not supported
	// yet: refused.
	// +optional
	ProxyConfiguration *ProxyConfiguration `json:"proxyConfiguration,omitempty"`
	// inferenceAccelerators are Elastic Inference accelerators, which exist
	// only in AWS (and were retired there): refused.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=8
	InferenceAccelerators []InferenceAccelerator `json:"inferenceAccelerators,omitempty"`
	// enableFaultInjection turns on ECS's fault injection endpoints. Not
	// supported yet: true is refused.
	// +optional
	EnableFaultInjection *bool `json:"enableFaultInjection,omitempty"`
	// trustedExecutionConfiguration is how tasks are isolated from each
	// other on an instance. isolationMode SHARED (ECS's default: tasks
	// share the instance) is what Longshore does; ISOLATED_SANDBOX (a
	// Nitro sandbox) exists only in AWS and is refused.
	// +optional
	TrustedExecutionConfiguration *TrustedExecutionConfiguration `json:"trustedExecutionConfiguration,omitempty"`

	// Fields that describe-task-definition and the console export but that
	// RegisterTaskDefinition does not take. They are accepted, so that an
	// export pastes as it is, and ignored: they take no part in a revision
	// (admission warns about them).

	// taskDefinitionArn of an exported task definition. Ignored.
	// +optional
	// +kubebuilder:validation:MaxLength=2048
	TaskDefinitionArn string `json:"taskDefinitionArn,omitempty"`
	// revision of an exported task definition. Ignored: Longshore numbers
	// revisions itself.
	// +optional
	Revision *int64 `json:"revision,omitempty"`
	// status of an exported task definition. Ignored.
	// +optional
	// +kubebuilder:validation:MaxLength=32
	Status string `json:"status,omitempty"`
	// compatibilities of an exported task definition. Ignored.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=8
	// +kubebuilder:validation:items:MaxLength=32
	Compatibilities []string `json:"compatibilities,omitempty"`
	// requiresAttributes of an exported task definition. Ignored: Longshore
	// derives the requirements itself.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=100
	RequiresAttributes []ExportedAttribute `json:"requiresAttributes,omitempty"`
	// registeredAt of an exported task definition (a timestamp string or
	// epoch seconds). Ignored.
	// +optional
	// +kubebuilder:validation:Schemaless
	// +kubebuilder:pruning:PreserveUnknownFields
	RegisteredAt *apiextensionsv1.JSON `json:"registeredAt,omitempty"`
	// registeredBy of an exported task definition. Ignored.
	// +optional
	// +kubebuilder:validation:MaxLength=2048
	RegisteredBy string `json:"registeredBy,omitempty"`
	// deregisteredAt of an exported task definition. Ignored.
	// +optional
	// +kubebuilder:validation:Schemaless
	// +kubebuilder:pruning:PreserveUnknownFields
	DeregisteredAt *apiextensionsv1.JSON `json:"deregisteredAt,omitempty"`
	// deleteRequestedAt of an exported task definition. Ignored.
	// +optional
	// +kubebuilder:validation:Schemaless
	// +kubebuilder:pruning:PreserveUnknownFields
	DeleteRequestedAt *apiextensionsv1.JSON `json:"deleteRequestedAt,omitempty"`

	// revisionHistoryLimit is how many old revisions to keep when no Task or
	// Service references them (Longshore extension).
	// +optional
	// +kubebuilder:default=10
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=1000
	RevisionHistoryLimit *int32 `json:"revisionHistoryLimit,omitempty"`
}

// ContainerDefinition is an ECS container definition.
//
// +kubebuilder:validation:XValidation:rule="!has(self.memory) || !has(self.memoryReservation) || self.memory > self.memoryReservation",message="memory (the hard limit) must be greater than memoryReservation (the soft limit)"
// +kubebuilder:validation:XValidation:rule="!has(self.portMappings) || self.portMappings.all(p, self.portMappings.exists_one(q, q.containerPort == p.containerPort && q.protocol == p.protocol))",message="portMappings must not repeat a containerPort and protocol"
// +kubebuilder:validation:XValidation:rule="!has(self.portMappings) || self.portMappings.all(p, !has(p.hostPort) || p.hostPort == 0 || self.portMappings.exists_one(q, has(q.hostPort) && q.hostPort == p.hostPort && q.protocol == p.protocol))",message="portMappings must not repeat a hostPort and protocol"
// +kubebuilder:validation:XValidation:rule="!has(self.disableNetworking) || !self.disableNetworking || !has(self.portMappings) || size(self.portMappings) == 0",message="a container with disableNetworking has no network to publish portMappings on"
// +kubebuilder:validation:XValidation:rule="!has(self.resourceRequirements) || self.resourceRequirements.all(r, r.type != 'InferenceAccelerator')",message="resourceRequirements InferenceAccelerator: Elastic Inference exists only in AWS (and was retired there): remove it"
// +kubebuilder:validation:XValidation:rule="!has(self.resourceRequirements) || self.resourceRequirements.all(r, r.type != 'GPU' || r.value.matches('^[1-9][0-9]{0,2}$'))",message="resourceRequirements GPU: value is the number of GPUs, 1 to 999"
// +kubebuilder:validation:XValidation:rule="!has(self.resourceRequirements) || self.resourceRequirements.all(r, !has(r.sharingStrategy))",message="resourceRequirements sharingStrategy is not supported: each GPU goes to one task"
// +kubebuilder:validation:XValidation:rule="!has(self.interactive) || !self.interactive || (has(self.pseudoTerminal) && self.pseudoTerminal)",message="interactive without pseudoTerminal is not supported yet (the output goes through the log store, which gives the process no stdin): set pseudoTerminal: true as well, and stdin is the TTY"
// +kubebuilder:validation:XValidation:rule="!has(self.linuxParameters) || !has(self.linuxParameters.maxSwap) || has(self.memory)",message="linuxParameters.maxSwap needs the container's memory (the hard limit): memory plus swap is limited to memory + maxSwap, as Docker does"
// +kubebuilder:validation:XValidation:rule="!has(self.firelensConfiguration) || !has(self.logConfiguration) || self.logConfiguration.logDriver != 'awsfirelens'",message="the log router (the container with firelensConfiguration) cannot use logDriver awsfirelens itself: give it json-file or awslogs"
// +kubebuilder:validation:XValidation:rule="!has(self.credentialSpecs) || size(self.credentialSpecs) == 0",message="credentialSpecs need an Active Directory (gMSA) that Longshore cannot provide: remove them"
// +kubebuilder:validation:XValidation:rule="!has(self.dockerSecurityOptions) || self.dockerSecurityOptions.all(o, o == 'no-new-privileges' || o == 'no-new-privileges:true')",message="dockerSecurityOptions: only no-new-privileges is supported; SELinux, AppArmor and seccomp labels are not"
type ContainerDefinition struct {
	// name of the container, unique in the task.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-zA-Z0-9][a-zA-Z0-9_-]*$`
	Name string `json:"name"`
	// image reference, e.g. registry.example:5000/web:1.2 or busybox@sha256:….
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=1024
	Image string `json:"image"`
	// repositoryCredentials name the registry credentials for a private image.
	// +optional
	RepositoryCredentials *RepositoryCredentials `json:"repositoryCredentials,omitempty"`
	// command replaces the image's CMD.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=256
	// +kubebuilder:validation:items:MaxLength=32768
	Command []string `json:"command,omitempty"`
	// entryPoint replaces the image's ENTRYPOINT.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=256
	// +kubebuilder:validation:items:MaxLength=32768
	EntryPoint []string `json:"entryPoint,omitempty"`
	// environment variables of the container.
	// +optional
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=1000
	Environment []KeyValuePair `json:"environment,omitempty"`
	// secrets are environment variables whose values come from Kubernetes
	// Secrets in the task's namespace; valueFrom is "<secret>:<key>" or an
	// ECS reference (ARN or parameter name) mapped onto a Secret. Values
	// are never logged.
	// +optional
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=100
	Secrets []ContainerSecret `json:"secrets,omitempty"`
	// portMappings are the ports the container exposes. bridge: hostPort 0
	// or omitted takes a dynamic host port; host and awsvpc: hostPort
	// omitted or equal to containerPort; none: not allowed.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=100
	PortMappings []PortMapping `json:"portMappings,omitempty"`
	// cpu is the container's CPU units (1024 per core), used as cgroup
	// shares and counted by the scheduler.
	// +optional
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=262144
	CPU int32 `json:"cpu,omitempty"`
	// memory is the hard memory limit in MiB: the container is killed above it.
	// +optional
	// +kubebuilder:validation:Minimum=6
	// +kubebuilder:validation:Maximum=16777216
	Memory *int32 `json:"memory,omitempty"`
	// memoryReservation is the soft memory limit in MiB, reserved by the
	// scheduler.
	// +optional
	// +kubebuilder:validation:Minimum=6
	// +kubebuilder:validation:Maximum=16777216
	MemoryReservation *int32 `json:"memoryReservation,omitempty"`
	// essential: when an essential container exits, the task stops.
	// +optional
	// +kubebuilder:default=true
	Essential *bool `json:"essential,omitempty"`
	// dependsOn orders start-up: this container starts once each named
	// container reached the condition.
	// +optional
	// +listType=map
	// +listMapKey=containerName
	// +kubebuilder:validation:MaxItems=10
	DependsOn []ContainerDependency `json:"dependsOn,omitempty"`
	// healthCheck of the container.
	// +optional
	HealthCheck *HealthCheck `json:"healthCheck,omitempty"`
	// stopTimeout is the seconds between SIGTERM and SIGKILL when the
	// container stops.
	// +optional
	// +kubebuilder:default=30
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=3600
	StopTimeout *int32 `json:"stopTimeout,omitempty"`
	// startTimeout is the seconds the containers this one depends on may
	// take to reach their condition before the task fails to start.
	// +optional
	// +kubebuilder:validation:Minimum=2
	// +kubebuilder:validation:Maximum=3600
	StartTimeout *int32 `json:"startTimeout,omitempty"`
	// restartPolicy restarts the container in place when it exits.
	// +optional
	RestartPolicy *RestartPolicy `json:"restartPolicy,omitempty"`
	// mountPoints mount task volumes into the container.
	// +optional
	// +listType=map
	// +listMapKey=containerPath
	// +kubebuilder:validation:MaxItems=64
	MountPoints []MountPoint `json:"mountPoints,omitempty"`
	// volumesFrom mounts every mount point of another container.
	// +optional
	// +listType=map
	// +listMapKey=sourceContainer
	// +kubebuilder:validation:MaxItems=10
	VolumesFrom []VolumeFrom `json:"volumesFrom,omitempty"`
	// logConfiguration says how stdout and stderr are kept.
	// +optional
	LogConfiguration *LogConfiguration `json:"logConfiguration,omitempty"`
	// user runs the container as user, user:group, uid or uid:gid.
	// +optional
	// +kubebuilder:validation:MaxLength=255
	User string `json:"user,omitempty"`
	// workingDirectory of the container's process.
	// +optional
	// +kubebuilder:validation:MaxLength=4096
	// +kubebuilder:validation:XValidation:rule="self.startsWith('/')",message="workingDirectory must be an absolute path"
	WorkingDirectory string `json:"workingDirectory,omitempty"`
	// ulimits of the container.
	// +optional
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=16
	Ulimits []Ulimit `json:"ulimits,omitempty"`
	// linuxParameters: capabilities, init process, shared memory, tmpfs.
	// +optional
	LinuxParameters *LinuxParameters `json:"linuxParameters,omitempty"`
	// privileged gives the container every capability and device. The
	// Cluster must allow it (security.allowPrivileged).
	// +optional
	Privileged bool `json:"privileged,omitempty"`
	// readonlyRootFilesystem mounts the container's root filesystem read-only.
	// +optional
	ReadonlyRootFilesystem bool `json:"readonlyRootFilesystem,omitempty"`
	// hostname of the container (bridge and none modes).
	// +optional
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-zA-Z0-9]([-a-zA-Z0-9]*[a-zA-Z0-9])?$`
	Hostname string `json:"hostname,omitempty"`
	// dnsServers replace the nameservers in the container's /etc/resolv.conf.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=3
	// +kubebuilder:validation:items:MaxLength=45
	// +kubebuilder:validation:XValidation:rule="self.all(s, isIP(s))",message="dnsServers must be IP addresses"
	DNSServers []string `json:"dnsServers,omitempty"`
	// extraHosts are added to the container's /etc/hosts.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=64
	ExtraHosts []HostEntry `json:"extraHosts,omitempty"`
	// dockerLabels are set as labels on the container.
	// +optional
	// +kubebuilder:validation:MaxProperties=64
	// +kubebuilder:validation:XValidation:rule="self.all(k, !k.startsWith('ecs.longshore.io/'))",message="dockerLabels under ecs.longshore.io/ are reserved for the agent"
	DockerLabels map[string]string `json:"dockerLabels,omitempty"`
	// links (bridge mode) let the container reach other containers of the
	// task by name: "name" or "name:alias" puts the linked container's
	// address under its name and alias in this container's /etc/hosts.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=10
	// +kubebuilder:validation:items:MaxLength=255
	// +kubebuilder:validation:items:Pattern=`^[a-zA-Z0-9][a-zA-Z0-9_-]*(:[a-zA-Z0-9][a-zA-Z0-9_.-]*)?$`
	Links []string `json:"links,omitempty"`
	// environmentFiles are S3 objects of variables. Mapped: each names a
	// ConfigMap of the task's namespace (see EnvironmentFileConfigMap)
	// whose keys are the variables; later files override earlier ones and
	// environment overrides them all, as in ECS.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=10
	EnvironmentFiles []EnvironmentFile `json:"environmentFiles,omitempty"`
	// disableNetworking gives the container a network namespace with
	// loopback only (bridge mode).
	// +optional
	DisableNetworking *bool `json:"disableNetworking,omitempty"`
	// dnsSearchDomains are the search domains of the container's
	// /etc/resolv.conf.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=6
	// +kubebuilder:validation:items:MaxLength=253
	// +kubebuilder:validation:items:Pattern=`^[a-zA-Z0-9]([-a-zA-Z0-9.]*[a-zA-Z0-9])?$`
	DNSSearchDomains []string `json:"dnsSearchDomains,omitempty"`
	// dockerSecurityOptions: "no-new-privileges" is honoured; SELinux,
	// AppArmor and seccomp labels are refused.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=8
	// +kubebuilder:validation:items:MaxLength=1024
	DockerSecurityOptions []string `json:"dockerSecurityOptions,omitempty"`
	// interactive keeps the process's stdin open (it reads nothing, as
	// nobody attaches), instead of it reading end of file at once. It
	// needs pseudoTerminal (stdin is then the TTY).
	// +optional
	Interactive *bool `json:"interactive,omitempty"`
	// pseudoTerminal gives the process a TTY: its output is all stdout,
	// with "\r\n" line ends.
	// +optional
	PseudoTerminal *bool `json:"pseudoTerminal,omitempty"`
	// systemControls are namespaced kernel parameters (sysctls) set in the
	// container: net.* (not with networkMode host), kernel.msgmax,
	// kernel.msgmnb, kernel.msgmni, kernel.sem, kernel.shmall,
	// kernel.shmmax, kernel.shmmni, kernel.shm_rmid_forced, fs.mqueue.*.
	// Host-wide ones are refused.
	// +optional
	// +listType=map
	// +listMapKey=namespace
	// +kubebuilder:validation:MaxItems=32
	SystemControls []SystemControl `json:"systemControls,omitempty"`
	// resourceRequirements ask for GPUs: the task is placed only on an
	// instance with that many GPUs free (ContainerInstance
	// registeredResources.gpu); until one has them it stays PROVISIONING
	// with a reason that says so. Elastic Inference accelerators are
	// refused.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=2
	ResourceRequirements []ResourceRequirement `json:"resourceRequirements,omitempty"`
	// firelensConfiguration makes this container the task's log router.
	// Not supported yet: refused.
	// +optional
	FirelensConfiguration *FirelensConfiguration `json:"firelensConfiguration,omitempty"`
	// credentialSpecs are Active Directory (gMSA) credential specs, which
	// Longshore cannot provide: refused.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=1
	// +kubebuilder:validation:items:MaxLength=2048
	CredentialSpecs []string `json:"credentialSpecs,omitempty"`
	// versionConsistency is whether ECS pins the image digest for all the
	// tasks of a deployment. Mapped: each task resolves its image when it
	// pulls (status.containers[].imageDigest says what ran).
	// +optional
	// +kubebuilder:validation:Enum=enabled;disabled
	VersionConsistency string `json:"versionConsistency,omitempty"`
}

// TrustedExecutionConfiguration is ECS's task isolation setting.
type TrustedExecutionConfiguration struct {
	// isolationMode is SHARED or ISOLATED_SANDBOX.
	// +optional
	// +kubebuilder:validation:Enum=SHARED;ISOLATED_SANDBOX
	// +kubebuilder:validation:XValidation:rule="self == 'SHARED'",message="trustedExecutionConfiguration.isolationMode ISOLATED_SANDBOX: Nitro sandboxes exist only in AWS; tasks on Longshore share their instance (SHARED)"
	IsolationMode string `json:"isolationMode,omitempty"`
	// attestationPolicy of the sandbox: refused, as there is none.
	// +optional
	// +kubebuilder:validation:MaxLength=2048
	// +kubebuilder:validation:XValidation:rule="false",message="trustedExecutionConfiguration.attestationPolicy: there is no sandbox to attest outside AWS: remove it"
	AttestationPolicy string `json:"attestationPolicy,omitempty"`
}

// Compatibility is an ECS launch type.
// +kubebuilder:validation:Enum=EC2;FARGATE;EXTERNAL;MANAGED_INSTANCES
type Compatibility string

// RuntimePlatform is the platform a task needs.
type RuntimePlatform struct {
	// cpuArchitecture is X86_64 or ARM64.
	// +optional
	// +kubebuilder:validation:Enum=X86_64;ARM64
	CPUArchitecture string `json:"cpuArchitecture,omitempty"`
	// operatingSystemFamily is LINUX or a Windows Server family.
	// +optional
	// +kubebuilder:validation:Enum=LINUX;WINDOWS_SERVER_2016_FULL;WINDOWS_SERVER_2019_FULL;WINDOWS_SERVER_2019_CORE;WINDOWS_SERVER_2022_FULL;WINDOWS_SERVER_2022_CORE;WINDOWS_SERVER_2025_FULL;WINDOWS_SERVER_2025_CORE;WINDOWS_SERVER_2004_CORE;WINDOWS_SERVER_20H2_CORE
	OperatingSystemFamily string `json:"operatingSystemFamily,omitempty"`
}

// EphemeralStorage is Fargate's task storage.
type EphemeralStorage struct {
	// sizeInGiB, 21 to 200.
	// +required
	// +kubebuilder:validation:Minimum=21
	// +kubebuilder:validation:Maximum=200
	SizeInGiB int32 `json:"sizeInGiB"`
}

// Tag is an ECS resource tag.
type Tag struct {
	// key of the tag.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=128
	Key string `json:"key"`
	// value of the tag.
	// +optional
	// +kubebuilder:validation:MaxLength=256
	Value string `json:"value,omitempty"`
}

// ProxyConfiguration is an ECS App Mesh proxy configuration: the agent
// redirects the task's TCP through the proxy container with iptables in
// the task's network namespace, as ECS's aws-appmesh CNI plugin does.
//
// +kubebuilder:validation:XValidation:rule="has(self.properties) && self.properties.all(p, p.name in ['IgnoredUID', 'IgnoredGID', 'AppPorts', 'ProxyIngressPort', 'ProxyEgressPort', 'EgressIgnoredPorts', 'EgressIgnoredIPs'])",message="proxyConfiguration properties are IgnoredUID, IgnoredGID, AppPorts, ProxyIngressPort, ProxyEgressPort, EgressIgnoredPorts and EgressIgnoredIPs"
// +kubebuilder:validation:XValidation:rule="has(self.properties) && ['AppPorts', 'ProxyIngressPort', 'ProxyEgressPort'].all(n, self.properties.exists(p, p.name == n)) && self.properties.exists(p, p.name in ['IgnoredUID', 'IgnoredGID'])",message="proxyConfiguration needs AppPorts, ProxyIngressPort, ProxyEgressPort, and IgnoredUID or IgnoredGID (the proxy's own traffic is not redirected)"
// +kubebuilder:validation:XValidation:rule="!has(self.properties) || self.properties.all(p, !(p.name in ['IgnoredUID', 'IgnoredGID']) || p.value.matches('^[0-9]{1,10}$'))",message="IgnoredUID and IgnoredGID are numeric ids (the proxy container's user)"
// +kubebuilder:validation:XValidation:rule="!has(self.properties) || self.properties.all(p, !(p.name in ['ProxyIngressPort', 'ProxyEgressPort']) || p.value.matches('^[1-9][0-9]{0,4}$'))",message="ProxyIngressPort and ProxyEgressPort are port numbers"
// +kubebuilder:validation:XValidation:rule="!has(self.properties) || self.properties.all(p, !(p.name in ['AppPorts', 'EgressIgnoredPorts']) || p.value.matches('^[1-9][0-9]{0,4}( *, *[1-9][0-9]{0,4})*$'))",message="AppPorts and EgressIgnoredPorts are comma-separated port numbers"
type ProxyConfiguration struct {
	// type is APPMESH.
	// +optional
	// +kubebuilder:validation:Enum=APPMESH
	Type string `json:"type,omitempty"`
	// containerName of the proxy.
	// +required
	// +kubebuilder:validation:MaxLength=255
	ContainerName string `json:"containerName"`
	// properties of the proxy, as ECS names them.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=16
	Properties []ProxyProperty `json:"properties,omitempty"`
}

// ProxyProperty is a property of an App Mesh proxy configuration.
type ProxyProperty struct {
	// name of the property.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=64
	Name string `json:"name"`
	// value of the property.
	// +optional
	// +kubebuilder:validation:MaxLength=4096
	Value string `json:"value,omitempty"`
}

// InferenceAccelerator is an Elastic Inference accelerator.
type InferenceAccelerator struct {
	// deviceName of the accelerator.
	// +required
	// +kubebuilder:validation:MaxLength=255
	DeviceName string `json:"deviceName"`
	// deviceType of the accelerator.
	// +required
	// +kubebuilder:validation:MaxLength=255
	DeviceType string `json:"deviceType"`
}

// ExportedAttribute is an entry of an exported requiresAttributes.
type ExportedAttribute struct {
	// name of the attribute.
	// +required
	// +kubebuilder:validation:MaxLength=255
	Name string `json:"name"`
	// value of the attribute.
	// +optional
	// +kubebuilder:validation:MaxLength=255
	Value string `json:"value,omitempty"`
	// targetType of the attribute.
	// +optional
	// +kubebuilder:validation:MaxLength=64
	TargetType string `json:"targetType,omitempty"`
	// targetId of the attribute.
	// +optional
	// +kubebuilder:validation:MaxLength=2048
	TargetID string `json:"targetId,omitempty"`
}

// EnvironmentFile is an S3 object of environment variables.
type EnvironmentFile struct {
	// value is the S3 object's ARN, arn:aws:s3:::<bucket>/<key>.
	// +required
	// +kubebuilder:validation:MaxLength=2048
	// +kubebuilder:validation:XValidation:rule="self.matches('^arn:aws[a-z-]*:s3:::[^/]+/.+$')",message="environmentFiles value must be the ARN of an S3 object, arn:aws:s3:::<bucket>/<key>"
	Value string `json:"value"`
	// type is s3.
	// +required
	// +kubebuilder:validation:Enum=s3
	Type string `json:"type"`
}

// SystemControl is a namespaced kernel parameter.
type SystemControl struct {
	// namespace is the sysctl name, e.g. net.ipv4.tcp_keepalive_time.
	// +required
	// +kubebuilder:validation:MaxLength=255
	// +kubebuilder:validation:XValidation:rule="self.startsWith('net.') || self.startsWith('fs.mqueue.') || self in ['kernel.msgmax', 'kernel.msgmnb', 'kernel.msgmni', 'kernel.sem', 'kernel.shmall', 'kernel.shmmax', 'kernel.shmmni', 'kernel.shm_rmid_forced']",message="systemControls takes only namespaced sysctls (net.*, fs.mqueue.*, kernel.msgmax, kernel.msgmnb, kernel.msgmni, kernel.sem, kernel.shmall, kernel.shmmax, kernel.shmmni, kernel.shm_rmid_forced): a host-wide one belongs in the host's own configuration"
	Namespace string `json:"namespace"`
	// value of the sysctl.
	// +required
	// +kubebuilder:validation:MaxLength=1024
	Value string `json:"value"`
}

// ResourceRequirement asks for GPUs or accelerators.
type ResourceRequirement struct {
	// type is GPU or InferenceAccelerator.
	// +required
	// +kubebuilder:validation:Enum=GPU;InferenceAccelerator
	Type string `json:"type"`
	// value is the number of GPUs, or the accelerator's deviceName.
	// +required
	// +kubebuilder:validation:MaxLength=255
	Value string `json:"value"`
	// sharingStrategy of the GPUs.
	// +optional
	// +kubebuilder:validation:Schemaless
	// +kubebuilder:pruning:PreserveUnknownFields
	// +kubebuilder:validation:Type=object
	SharingStrategy *apiextensionsv1.JSON `json:"sharingStrategy,omitempty"`
}

// FirelensConfiguration configures a FireLens log router container.
type FirelensConfiguration struct {
	// type is fluentd or fluentbit.
	// +required
	// +kubebuilder:validation:Enum=fluentd;fluentbit
	Type string `json:"type"`
	// options of the router: enable-ecs-log-metadata ("true", the
	// default, or "false"), config-file-type ("file": a path in the
	// router's image or volumes; "s3": an S3 object's ARN, read from the
	// ConfigMap it maps onto as environmentFiles do, key the object's file
	// name) and config-file-value.
	// +optional
	// +kubebuilder:validation:MaxProperties=16
	// +kubebuilder:validation:XValidation:rule="self.all(k, k in ['enable-ecs-log-metadata', 'config-file-type', 'config-file-value'])",message="firelensConfiguration options are enable-ecs-log-metadata, config-file-type and config-file-value"
	// +kubebuilder:validation:XValidation:rule="!('enable-ecs-log-metadata' in self) || self['enable-ecs-log-metadata'] in ['true', 'false']",message="enable-ecs-log-metadata must be true or false"
	// +kubebuilder:validation:XValidation:rule="('config-file-type' in self) == ('config-file-value' in self)",message="config-file-type and config-file-value go together"
	// +kubebuilder:validation:XValidation:rule="!('config-file-type' in self) || self['config-file-type'] in ['file', 's3']",message="config-file-type must be file or s3"
	// +kubebuilder:validation:XValidation:rule="!('config-file-type' in self) || self['config-file-type'] != 'file' || (self['config-file-value'].startsWith('/') && !self['config-file-value'].contains('\\n'))",message="config-file-type file: config-file-value must be an absolute path inside the router container"
	// +kubebuilder:validation:XValidation:rule="!('config-file-type' in self) || self['config-file-type'] != 's3' || self['config-file-value'].matches('^arn:aws[a-z-]*:s3:::[^/]+/.+$')",message="config-file-type s3: config-file-value must be the ARN of an S3 object, arn:aws:s3:::<bucket>/<key>"
	Options map[string]OptionValue `json:"options,omitempty"`
}

// RepositoryCredentials name the credentials for a private registry.
type RepositoryCredentials struct {
	// credentialsParameter names a kubernetes.io/dockerconfigjson Secret in
	// the task's namespace: its name, or a Secrets Manager ARN or name that
	// maps onto one (see SecretName; docs/ecs-field-support.md).
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=2048
	CredentialsParameter string `json:"credentialsParameter"`
}

// ContainerSecret is an environment variable read from a Secret.
type ContainerSecret struct {
	// name of the environment variable.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=255
	Name string `json:"name"`
	// valueFrom is "<secret name>:<key>" of a Secret in the task's
	// namespace, or a Secrets Manager or SSM Parameter Store ARN or name,
	// which maps onto one (see SecretKeyRef; docs/ecs-field-support.md).
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=2048
	ValueFrom string `json:"valueFrom"`
}

// TransportProtocol is tcp or udp.
// +kubebuilder:validation:Enum=tcp;udp
type TransportProtocol string

const (
	// ProtocolTCP is TCP.
	ProtocolTCP TransportProtocol = "tcp"
	// ProtocolUDP is UDP.
	ProtocolUDP TransportProtocol = "udp"
)

// PortMapping is an ECS port mapping.
type PortMapping struct {
	// containerPort is the port the container listens on.
	// +required
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=65535
	ContainerPort int32 `json:"containerPort"`
	// hostPort is the port on the host. bridge: 0 or omitted takes a
	// dynamic port from the agent's range.
	// +optional
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=65535
	HostPort *int32 `json:"hostPort,omitempty"`
	// protocol is tcp (default) or udp.
	// +optional
	// +kubebuilder:default=tcp
	Protocol TransportProtocol `json:"protocol,omitempty"`
	// name of the port mapping.
	// +optional
	// +kubebuilder:validation:MaxLength=64
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	Name string `json:"name,omitempty"`
	// appProtocol is http, http2 or grpc (ECS Service Connect). Mapped:
	// recorded; Longshore has no Service Connect proxy. "" (as exports
	// write it) is the same as unset.
	// +optional
	// +kubebuilder:validation:Enum=http;http2;grpc;""
	AppProtocol string `json:"appProtocol,omitempty"`
	// containerPortRange is a range of container ports, "first-last". Not
	// supported yet: refused.
	// +optional
	// +kubebuilder:validation:MaxLength=16
	// +kubebuilder:validation:XValidation:rule="false",message="containerPortRange is not supported yet: list the ports as separate portMappings"
	ContainerPortRange string `json:"containerPortRange,omitempty"`
}

// DependencyCondition is the state a dependency must reach.
// +kubebuilder:validation:Enum=START;COMPLETE;SUCCESS;HEALTHY
type DependencyCondition string

const (
	// DependencyStart waits until the container started.
	DependencyStart DependencyCondition = "START"
	// DependencyComplete waits until the container exited, with any code.
	DependencyComplete DependencyCondition = "COMPLETE"
	// DependencySuccess waits until the container exited with code 0.
	DependencySuccess DependencyCondition = "SUCCESS"
	// DependencyHealthy waits until the container's health check passes.
	DependencyHealthy DependencyCondition = "HEALTHY"
)

// ContainerDependency is one dependsOn entry.
type ContainerDependency struct {
	// containerName is the container depended on.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	ContainerName string `json:"containerName"`
	// condition is START, COMPLETE, SUCCESS or HEALTHY.
	// +required
	Condition DependencyCondition `json:"condition"`
}

// HealthCheck is an ECS container health check, plus the Longshore httpGet
// and tcpSocket probes that the agent runs from the task's network
// namespace (no curl needed in the image).
//
// +kubebuilder:validation:XValidation:rule="(has(self.command) ? 1 : 0) + (has(self.httpGet) ? 1 : 0) + (has(self.tcpSocket) ? 1 : 0) == 1",message="a healthCheck needs exactly one of command, httpGet or tcpSocket"
// +kubebuilder:validation:XValidation:rule="!has(self.command) || (size(self.command) >= 2 && self.command[0] in ['CMD', 'CMD-SHELL'])",message="healthCheck.command must be CMD or CMD-SHELL followed by the command, e.g. [\"CMD-SHELL\", \"wget -qO- http://localhost/ || exit 1\"]"
type HealthCheck struct {
	// command is ["CMD", exe, args…] or ["CMD-SHELL", "shell command"], run
	// inside the container; exit 0 is healthy.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:items:MaxLength=4096
	Command []string `json:"command,omitempty"`
	// httpGet probes http://<task address>:<port><path>; 2xx and 3xx are
	// healthy. Longshore extension.
	// +optional
	HTTPGet *HTTPGetProbe `json:"httpGet,omitempty"`
	// tcpSocket probes that <task address>:<port> accepts a connection.
	// Longshore extension.
	// +optional
	TCPSocket *TCPSocketProbe `json:"tcpSocket,omitempty"`
	// interval is the seconds between checks.
	// +optional
	// +kubebuilder:default=30
	// +kubebuilder:validation:Minimum=5
	// +kubebuilder:validation:Maximum=300
	Interval int32 `json:"interval,omitempty"`
	// timeout is the seconds a check may take before it counts as failed.
	// +optional
	// +kubebuilder:default=5
	// +kubebuilder:validation:Minimum=2
	// +kubebuilder:validation:Maximum=120
	Timeout int32 `json:"timeout,omitempty"`
	// retries is how many consecutive failures make the container UNHEALTHY.
	// +optional
	// +kubebuilder:default=3
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=10
	Retries int32 `json:"retries,omitempty"`
	// startPeriod is the seconds after start during which failures do not count.
	// +optional
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=300
	StartPeriod int32 `json:"startPeriod,omitempty"`
}

// HTTPGetProbe is an HTTP GET health check.
type HTTPGetProbe struct {
	// path to request.
	// +optional
	// +kubebuilder:default="/"
	// +kubebuilder:validation:MaxLength=2048
	// +kubebuilder:validation:XValidation:rule="self.startsWith('/')",message="httpGet.path must start with /"
	Path string `json:"path,omitempty"`
	// port to connect to.
	// +required
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=65535
	Port int32 `json:"port"`
}

// TCPSocketProbe is a TCP connect health check.
type TCPSocketProbe struct {
	// port to connect to.
	// +required
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=65535
	Port int32 `json:"port"`
}

// RestartPolicy restarts a container in place when it exits (ECS container
// restart policy).
type RestartPolicy struct {
	// enabled turns restarts on.
	// +required
	Enabled bool `json:"enabled"`
	// ignoredExitCodes do not cause a restart.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=50
	IgnoredExitCodes []int32 `json:"ignoredExitCodes,omitempty"`
	// restartAttemptPeriod is the seconds a container must have run before
	// it may be restarted again.
	// +optional
	// +kubebuilder:default=300
	// +kubebuilder:validation:Minimum=60
	// +kubebuilder:validation:Maximum=1800
	RestartAttemptPeriod int32 `json:"restartAttemptPeriod,omitempty"`
}

// MountPoint mounts a task volume into a container.
type MountPoint struct {
	// sourceVolume names a volume of the task definition.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=255
	SourceVolume string `json:"sourceVolume"`
	// containerPath is where the volume appears in the container.
	// +required
	// +kubebuilder:validation:MaxLength=4096
	// +kubebuilder:validation:XValidation:rule="self.startsWith('/') && self != '/'",message="containerPath must be an absolute path other than /"
	ContainerPath string `json:"containerPath"`
	// readOnly mounts the volume read-only. Secret and ConfigMap volumes are
	// always read-only.
	// +optional
	ReadOnly bool `json:"readOnly,omitempty"`
}

// VolumeFrom mounts the mount points of another container.
type VolumeFrom struct {
	// sourceContainer is the container whose mount points are mounted.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	SourceContainer string `json:"sourceContainer"`
	// readOnly mounts them read-only.
	// +optional
	ReadOnly bool `json:"readOnly,omitempty"`
}

// LogDriver is how container output is kept.
// +kubebuilder:validation:Enum=json-file;none;awslogs;fluentd;gelf;syslog;splunk;journald;awsfirelens
type LogDriver string

const (
	// LogDriverJSONFile writes rotated files on the instance.
	LogDriverJSONFile LogDriver = "json-file"
	// LogDriverNone discards the output.
	LogDriverNone LogDriver = "none"
	// LogDriverAWSFireLens routes the output to the task's FireLens log
	// router (and keeps it in the local store too).
	LogDriverAWSFireLens LogDriver = "awsfirelens"
)

// OptionValue is the value of a driver option.
// +kubebuilder:validation:MaxLength=4096
type OptionValue string

// IsLocalStore reports whether output under this driver goes to the
// instance's log store: json-file honoured, and the drivers whose sinks
// exist only elsewhere (awslogs, fluentd, gelf, syslog, splunk,
// journald) mapped onto it.
// awsfirelens keeps it there too, besides sending it to the router.
func (d LogDriver) IsLocalStore() bool { return d != LogDriverNone }

// LogConfiguration is an ECS log configuration.
//
// +kubebuilder:validation:XValidation:rule="self.logDriver != 'json-file' || !has(self.options) || self.options.all(k, k in ['max-size', 'max-file'])",message="json-file takes the options max-size and max-file only"
// +kubebuilder:validation:XValidation:rule="self.logDriver != 'json-file' || !has(self.options) || !('max-size' in self.options) || self.options['max-size'].matches('^[1-9][0-9]*[kmg]?$')",message="max-size must be a size such as 10m, 512k or 1g"
// +kubebuilder:validation:XValidation:rule="self.logDriver != 'json-file' || !has(self.options) || !('max-file' in self.options) || self.options['max-file'].matches('^[1-9][0-9]{0,2}$')",message="max-file must be a number from 1 to 999"
// +kubebuilder:validation:XValidation:rule="self.logDriver != 'awsfirelens' || !has(self.options) || self.options.all(k, !k.contains(' ') && !k.contains('\\n') && !self.options[k].contains('\\n'))",message="awsfirelens options become lines of the router's configuration: keys must be single words and values a single line"
// +kubebuilder:validation:XValidation:rule="self.logDriver != 'awsfirelens' || !has(self.options) || !('log-driver-buffer-limit' in self.options) || self.options['log-driver-buffer-limit'].matches('^[1-9][0-9]{0,8}$')",message="log-driver-buffer-limit is the number of log records held for the router, a positive integer"
type LogConfiguration struct {
	// logDriver: json-file (honoured) or none; awslogs, fluentd, gelf,
	// syslog, splunk and journald are mapped: the output lands in the
	// instance's log store as with json-file (default rotation), and their
	// options are kept and reported.
	// +required
	LogDriver LogDriver `json:"logDriver"`
	// options of the driver. json-file: max-size (default 10m) and
	// max-file (default 5), as in Docker's json-file driver.
	// +optional
	// +kubebuilder:validation:MaxProperties=64
	Options map[string]OptionValue `json:"options,omitempty"`
	// secretOptions are driver options read from Secrets (kept with the
	// mapped drivers' options; never logged).
	// +optional
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=16
	SecretOptions []ContainerSecret `json:"secretOptions,omitempty"`
}

// UlimitName is a resource limit name.
// +kubebuilder:validation:Enum=core;cpu;data;fsize;locks;memlock;msgqueue;nice;nofile;nproc;rss;rtprio;rttime;sigpending;stack
type UlimitName string

// Ulimit is a resource limit of a container.
// +kubebuilder:validation:XValidation:rule="self.softLimit <= self.hardLimit",message="softLimit must not exceed hardLimit"
type Ulimit struct {
	// name of the limit.
	// +required
	Name UlimitName `json:"name"`
	// softLimit of the limit.
	// +required
	// +kubebuilder:validation:Minimum=0
	SoftLimit int64 `json:"softLimit"`
	// hardLimit of the limit.
	// +required
	// +kubebuilder:validation:Minimum=0
	HardLimit int64 `json:"hardLimit"`
}

// Capability is a Linux capability without the CAP_ prefix, or ALL.
// +kubebuilder:validation:Enum=ALL;AUDIT_CONTROL;AUDIT_WRITE;BLOCK_SUSPEND;CHOWN;DAC_OVERRIDE;DAC_READ_SEARCH;FOWNER;FSETID;IPC_LOCK;IPC_OWNER;KILL;LEASE;LINUX_IMMUTABLE;MAC_ADMIN;MAC_OVERRIDE;MKNOD;NET_ADMIN;NET_BIND_SERVICE;NET_BROADCAST;NET_RAW;SETFCAP;SETGID;SETPCAP;SETUID;SYS_ADMIN;SYS_BOOT;SYS_CHROOT;SYS_MODULE;SYS_NICE;SYS_PACCT;SYS_PTRACE;SYS_RAWIO;SYS_RESOURCE;SYS_TIME;SYS_TTY_CONFIG;SYSLOG;WAKE_ALARM
type Capability string

// LinuxParameters are Linux-specific container options.
type LinuxParameters struct {
	// capabilities added to or dropped from the default set.
	// +optional
	Capabilities *KernelCapabilities `json:"capabilities,omitempty"`
	// initProcessEnabled runs an init process as PID 1 that reaps zombies
	// and forwards signals.
	// +optional
	InitProcessEnabled bool `json:"initProcessEnabled,omitempty"`
	// sharedMemorySize is the size of /dev/shm in MiB.
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=1048576
	SharedMemorySize *int32 `json:"sharedMemorySize,omitempty"`
	// tmpfs mounts.
	// +optional
	// +listType=map
	// +listMapKey=containerPath
	// +kubebuilder:validation:MaxItems=16
	Tmpfs []Tmpfs `json:"tmpfs,omitempty"`
	// devices of the host given to the container (each hostPath must be in
	// the Cluster's security.allowedDevices).
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=16
	Devices []Device `json:"devices,omitempty"`
	// maxSwap is the swap in MiB the container may use besides its memory
	// (0: none); without it the container uses the instance's swap
	// configuration. It needs the container's memory (hard limit).
	// +optional
	// +kubebuilder:validation:Minimum=0
	MaxSwap *int32 `json:"maxSwap,omitempty"`
	// swappiness of the container's memory, 0 to 100 (default 60); used
	// only with maxSwap, as in ECS.
	// +optional
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=100
	Swappiness *int32 `json:"swappiness,omitempty"`
}

// Device is a host device.
type Device struct {
	// hostPath of the device, under /dev.
	// +required
	// +kubebuilder:validation:MaxLength=4096
	// +kubebuilder:validation:XValidation:rule="self.startsWith('/dev/') && !self.contains('/../')",message="devices hostPath must be a device under /dev"
	HostPath string `json:"hostPath"`
	// containerPath of the device (default: hostPath).
	// +optional
	// +kubebuilder:validation:MaxLength=4096
	// +kubebuilder:validation:XValidation:rule="self.startsWith('/')",message="devices containerPath must be an absolute path"
	ContainerPath string `json:"containerPath,omitempty"`
	// permissions: read, write, mknod (default: all three, as Docker).
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=3
	Permissions []DevicePermission `json:"permissions,omitempty"`
}

// DevicePermission is a device cgroup permission.
// +kubebuilder:validation:Enum=read;write;mknod
type DevicePermission string

// KernelCapabilities are capabilities to add and drop.
type KernelCapabilities struct {
	// add these capabilities. The Cluster must allow them
	// (security.allowedCapabilities).
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=64
	Add []Capability `json:"add,omitempty"`
	// drop these capabilities.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=64
	Drop []Capability `json:"drop,omitempty"`
}

// Tmpfs is a tmpfs mount.
type Tmpfs struct {
	// containerPath is where the tmpfs is mounted.
	// +required
	// +kubebuilder:validation:MaxLength=4096
	// +kubebuilder:validation:XValidation:rule="self.startsWith('/') && self != '/'",message="tmpfs containerPath must be an absolute path other than /"
	ContainerPath string `json:"containerPath"`
	// size in MiB.
	// +required
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=1048576
	Size int32 `json:"size"`
	// mountOptions such as noexec, nosuid, nodev, ro, mode=1777.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=16
	// +kubebuilder:validation:items:MaxLength=64
	// +kubebuilder:validation:items:Pattern=`^(defaults|ro|rw|suid|nosuid|dev|nodev|exec|noexec|sync|async|dirsync|remount|mand|nomand|atime|noatime|diratime|nodiratime|relatime|norelatime|strictatime|nostrictatime|mode=[0-7]{3,4}|uid=[0-9]+|gid=[0-9]+|nr_inodes=[0-9]+[kmg]?|nr_blocks=[0-9]+[kmg]?|mpol=[a-z:0-9,-]+)$`
	MountOptions []string `json:"mountOptions,omitempty"`
}

// HostEntry is an /etc/hosts entry.
type HostEntry struct {
	// hostname to resolve.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-zA-Z0-9]([-a-zA-Z0-9.]*[a-zA-Z0-9])?$`
	Hostname string `json:"hostname"`
	// ipAddress it resolves to.
	// +required
	// +kubebuilder:validation:MaxLength=45
	// +kubebuilder:validation:XValidation:rule="isIP(self)",message="ipAddress must be an IP address"
	IPAddress string `json:"ipAddress"`
}

// Volume is a task volume. With no source it is a scratch directory that
// lives as long as the task.
//
// +kubebuilder:validation:XValidation:rule="(has(self.host) ? 1 : 0) + (has(self.secret) ? 1 : 0) + (has(self.configMap) ? 1 : 0) + (has(self.dockerVolumeConfiguration) ? 1 : 0) <= 1",message="a volume takes at most one of host, dockerVolumeConfiguration, secret and configMap"
// +kubebuilder:validation:XValidation:rule="!has(self.efsVolumeConfiguration)",message="efsVolumeConfiguration: Amazon EFS exists only in AWS; mount the file system (NFS) on the instances and use host.sourcePath"
// +kubebuilder:validation:XValidation:rule="!has(self.fsxWindowsFileServerVolumeConfiguration)",message="fsxWindowsFileServerVolumeConfiguration: FSx for Windows exists only in AWS, and Longshore runs Linux containers"
// +kubebuilder:validation:XValidation:rule="!has(self.s3filesVolumeConfiguration)",message="s3filesVolumeConfiguration: Amazon S3 Files exists only in AWS; mount the file system on the instances and use host.sourcePath"
// +kubebuilder:validation:XValidation:rule="!has(self.configuredAtLaunch) || !self.configuredAtLaunch",message="configuredAtLaunch: EBS volumes attached at launch exist only in AWS; use host.sourcePath on a disk of the instance"
type Volume struct {
	// name of the volume, used by mountPoints.sourceVolume.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=255
	// +kubebuilder:validation:Pattern=`^[a-zA-Z0-9][a-zA-Z0-9_-]*$`
	Name string `json:"name"`
	// host binds a path of the instance. The Cluster must allow it
	// (security.allowHostPathVolumes).
	// +optional
	Host *HostVolume `json:"host,omitempty"`
	// secret mounts a Secret of the task's namespace as read-only files,
	// one per key. Longshore extension.
	// +optional
	Secret *SecretVolume `json:"secret,omitempty"`
	// configMap mounts a ConfigMap of the task's namespace as read-only
	// files, one per key. Longshore extension.
	// +optional
	ConfigMap *ConfigMapVolume `json:"configMap,omitempty"`
	// dockerVolumeConfiguration is a Docker volume of the local driver,
	// managed by the agent: scope task (a directory created for the task
	// and removed with it) or shared (kept on the instance under its name
	// and reused by every task that names it; autoprovision creates it).
	// driverOpts type tmpfs (device tmpfs, o with tmpfs options) mounts a
	// tmpfs there.
	// +optional
	DockerVolumeConfiguration *DockerVolumeConfiguration `json:"dockerVolumeConfiguration,omitempty"`
	// efsVolumeConfiguration is an Amazon EFS file system: refused.
	// +optional
	// +kubebuilder:validation:Schemaless
	// +kubebuilder:pruning:PreserveUnknownFields
	// +kubebuilder:validation:Type=object
	EFSVolumeConfiguration *apiextensionsv1.JSON `json:"efsVolumeConfiguration,omitempty"`
	// fsxWindowsFileServerVolumeConfiguration is an FSx for Windows file
	// system: refused.
	// +optional
	// +kubebuilder:validation:Schemaless
	// +kubebuilder:pruning:PreserveUnknownFields
	// +kubebuilder:validation:Type=object
	FSxWindowsFileServerVolumeConfiguration *apiextensionsv1.JSON `json:"fsxWindowsFileServerVolumeConfiguration,omitempty"`
	// s3filesVolumeConfiguration is an Amazon S3 Files file system: refused.
	// +optional
	// +kubebuilder:validation:Schemaless
	// +kubebuilder:pruning:PreserveUnknownFields
	// +kubebuilder:validation:Type=object
	S3FilesVolumeConfiguration *apiextensionsv1.JSON `json:"s3filesVolumeConfiguration,omitempty"`
	// configuredAtLaunch: an EBS volume attached when the task starts:
	// refused.
	// +optional
	ConfiguredAtLaunch *bool `json:"configuredAtLaunch,omitempty"`
}

// DockerVolumeConfiguration is an ECS Docker volume.
//
// +kubebuilder:validation:XValidation:rule="!has(self.autoprovision) || !self.autoprovision || (has(self.scope) && self.scope == 'shared')",message="dockerVolumeConfiguration.autoprovision needs scope shared (a task-scoped volume is always created)"
// +kubebuilder:validation:XValidation:rule="!has(self.driverOpts) || self.driverOpts.all(k, k in ['type', 'device', 'o'])",message="dockerVolumeConfiguration.driverOpts of the local driver are type, device and o"
// +kubebuilder:validation:XValidation:rule="!has(self.driverOpts) || !('type' in self.driverOpts) || (self.driverOpts['type'] == 'tmpfs' && (!('device' in self.driverOpts) || self.driverOpts['device'] == 'tmpfs'))",message="dockerVolumeConfiguration.driverOpts: only type tmpfs (device tmpfs) is supported; mount other file systems on the instance and use host.sourcePath"
// +kubebuilder:validation:XValidation:rule="!has(self.driverOpts) || !('o' in self.driverOpts) || self.driverOpts['o'].matches('^((size|nr_blocks|nr_inodes)=[0-9]+[kmgKMG%]?|mode=[0-7]{3,4}|uid=[0-9]+|gid=[0-9]+|noexec|nosuid|nodev|ro|rw)(,((size|nr_blocks|nr_inodes)=[0-9]+[kmgKMG%]?|mode=[0-7]{3,4}|uid=[0-9]+|gid=[0-9]+|noexec|nosuid|nodev|ro|rw))*$')",message="dockerVolumeConfiguration.driverOpts.o takes tmpfs options: size, nr_blocks, nr_inodes, mode, uid, gid, noexec, nosuid, nodev, ro, rw"
type DockerVolumeConfiguration struct {
	// scope is task (default: removed with the task) or shared (kept on
	// the instance, reused by name).
	// +optional
	// +kubebuilder:validation:Enum=task;shared
	Scope string `json:"scope,omitempty"`
	// autoprovision creates a shared volume that does not exist.
	// +optional
	Autoprovision *bool `json:"autoprovision,omitempty"`
	// driver of the volume: local (the default), the only one an instance
	// has.
	// +optional
	// +kubebuilder:validation:MaxLength=255
	// +kubebuilder:validation:XValidation:rule="self == 'local'",message="dockerVolumeConfiguration.driver: only the local driver exists on Longshore instances; mount other storage on the instance and use host.sourcePath"
	Driver string `json:"driver,omitempty"`
	// driverOpts of the local driver: type, device, o.
	// +optional
	// +kubebuilder:validation:MaxProperties=3
	DriverOpts map[string]OptionValue `json:"driverOpts,omitempty"`
	// labels of the volume. Mapped: recorded only.
	// +optional
	// +kubebuilder:validation:MaxProperties=32
	Labels map[string]string `json:"labels,omitempty"`
}

// HostVolume is a host path volume. Without sourcePath ("host": {}) it is,
// as in ECS, a volume the runtime manages: a scratch directory that lives
// as long as the task.
type HostVolume struct {
	// sourcePath is the absolute path on the instance.
	// +optional
	// +kubebuilder:validation:MaxLength=4096
	// +kubebuilder:validation:XValidation:rule="self.startsWith('/')",message="host.sourcePath must be an absolute path"
	SourcePath string `json:"sourcePath,omitempty"`
}

// SecretVolume mounts a Secret.
type SecretVolume struct {
	// secretName is the Secret in the task's namespace.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	SecretName string `json:"secretName"`
}

// ConfigMapVolume mounts a ConfigMap.
type ConfigMapVolume struct {
	// name of the ConfigMap in the task's namespace.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`
}

// TaskDefinitionStatus is observed by the manager.
type TaskDefinitionStatus struct {
	// observedGeneration is the spec generation the latest revision was minted from.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// conditions: Valid, Ready (the newest revision holds the spec and is
	// ACTIVE), Reconciling (registering it), Stalled (no revision can hold
	// the spec without a change of it).
	// +optional
	// +listType=map
	// +listMapKey=type
	// +kubebuilder:validation:MaxItems=16
	Conditions []metav1.Condition `json:"conditions,omitempty"`
	// latestRevision is the newest revision number of this family.
	// +optional
	LatestRevision int32 `json:"latestRevision,omitempty"`
	// activeRevisions counts the ACTIVE revisions of this family.
	// +optional
	ActiveRevisions int32 `json:"activeRevisions,omitempty"`
	// mappedFields are the fields of the spec that Longshore maps to a
	// local equivalent rather than honouring with the ECS meaning, and what
	// each became (docs/ecs-field-support.md).
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=256
	MappedFields []MappedField `json:"mappedFields,omitempty"`
}

// TaskDefinition is one ECS task definition family; metadata.name is the
// family. It is mutable so that GitOps can edit it in place: every change of
// spec mints the next immutable TaskDefinitionRevision (1, 2, 3…, never
// reused).
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=td;taskdef,categories=ecs
// +kubebuilder:printcolumn:name="Network",type=string,JSONPath=`.spec.networkMode`
// +kubebuilder:printcolumn:name="Latest",type=integer,JSONPath=`.status.latestRevision`,description="Newest revision number"
// +kubebuilder:printcolumn:name="Active",type=integer,JSONPath=`.status.activeRevisions`,description="ACTIVE revisions"
// +kubebuilder:printcolumn:name="Valid",type=string,JSONPath=`.status.conditions[?(@.type=="Valid")].status`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
// +kubebuilder:validation:XValidation:rule="size(self.metadata.name) <= 63",message="the family name (metadata.name) must be at most 63 characters: it is used as a label value"
// +kubebuilder:validation:XValidation:rule="!has(self.spec.family) || self.spec.family.lowerAscii().replace('_', '-') == self.metadata.name",message="spec.family must be metadata.name, as written in ECS (upper-case letters and '_' allowed): the TaskDefinition's name is its family"
type TaskDefinition struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is the task definition (ECS RegisterTaskDefinition).
	// +required
	Spec TaskDefinitionSpec `json:"spec"`
	// status is observed by the manager.
	// Until first written it reads {observedGeneration: 0}, which GitOps
	// tools (kstatus, Argo CD) read as not reconciled yet.
	// +optional
	// +kubebuilder:default={observedGeneration: 0}
	Status TaskDefinitionStatus `json:"status,omitempty"`
}

// TaskDefinitionList is a list of TaskDefinitions.
// +kubebuilder:object:root=true
type TaskDefinitionList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []TaskDefinition `json:"items"`
}

func init() {
	register(&TaskDefinition{}, &TaskDefinitionList{})
}
