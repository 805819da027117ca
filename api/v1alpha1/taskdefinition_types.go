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
// +kubebuilder:validation:XValidation:rule="!(self.networkMode in ['host', 'awsvpc']) || self.containerDefinitions.all(c, !has(c.hostname))",message="hostname is not supported with networkMode host or awsvpc"
// +kubebuilder:validation:XValidation:rule="self.containerDefinitions.all(c, !has(c.dependsOn) || c.dependsOn.all(d, d.containerName != c.name && self.containerDefinitions.exists(o, o.name == d.containerName)))",message="dependsOn must name another container of this task definition"
// +kubebuilder:validation:XValidation:rule="self.containerDefinitions.all(c, !has(c.dependsOn) || c.dependsOn.all(d, !(d.condition in ['COMPLETE', 'SUCCESS']) || !self.containerDefinitions.exists(o, o.name == d.containerName && o.essential)))",message="dependsOn condition COMPLETE or SUCCESS needs a non-essential target container: an essential container that exits stops the task"
// +kubebuilder:validation:XValidation:rule="self.containerDefinitions.all(c, !has(c.dependsOn) || c.dependsOn.all(d, d.condition != 'HEALTHY' || !self.containerDefinitions.exists(o, o.name == d.containerName && !has(o.healthCheck))))",message="dependsOn condition HEALTHY needs a target container with a healthCheck"
// +kubebuilder:validation:XValidation:rule="self.containerDefinitions.all(c, !has(c.mountPoints) || c.mountPoints.all(m, has(self.volumes) && self.volumes.exists(v, v.name == m.sourceVolume)))",message="mountPoints.sourceVolume must name a volume in volumes"
// +kubebuilder:validation:XValidation:rule="self.containerDefinitions.all(c, !has(c.volumesFrom) || c.volumesFrom.all(f, f.sourceContainer != c.name && self.containerDefinitions.exists(o, o.name == f.sourceContainer)))",message="volumesFrom.sourceContainer must name another container of this task definition"
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
	// pidMode shares the process namespace with the host ("host"; the
	// Cluster must allow privileged tasks). Unset: each container has its
	// own. ECS's "task" (shared among the task's containers) is not
	// supported yet and is refused here rather than at run time.
	// +optional
	// +kubebuilder:validation:Enum=host;task
	// +kubebuilder:validation:XValidation:rule="self == 'host'",message="pidMode task is not supported yet: use host or leave pidMode unset"
	PidMode string `json:"pidMode,omitempty"`
	// ipcMode shares the IPC namespace with the host ("host"; the Cluster
	// must allow privileged tasks). Unset: each container has its own.
	// ECS's "task" and "none" are not supported yet and are refused here
	// rather than at run time.
	// +optional
	// +kubebuilder:validation:Enum=host;task;none
	// +kubebuilder:validation:XValidation:rule="self == 'host'",message="ipcMode task and none are not supported yet: use host or leave ipcMode unset"
	IpcMode string `json:"ipcMode,omitempty"`
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
	// Secrets in the task's namespace; valueFrom is "<secret>:<key>".
	// Values are never logged.
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
}

// RepositoryCredentials name the credentials for a private registry.
type RepositoryCredentials struct {
	// credentialsParameter is the name of a kubernetes.io/dockerconfigjson
	// Secret in the task's namespace.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$`
	CredentialsParameter string `json:"credentialsParameter"`
}

// ContainerSecret is an environment variable read from a Secret.
type ContainerSecret struct {
	// name of the environment variable.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=255
	Name string `json:"name"`
	// valueFrom is "<secret name>:<key>" of a Secret in the task's namespace.
	// +required
	// +kubebuilder:validation:MaxLength=320
	// +kubebuilder:validation:XValidation:rule="self.matches('^[a-z0-9]([-a-z0-9.]*[a-z0-9])?:[-._a-zA-Z0-9]+$')",message="valueFrom must be \"<secret name>:<key>\" of a Secret in the task's namespace"
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
// +kubebuilder:validation:Enum=json-file;none
type LogDriver string

const (
	// LogDriverJSONFile writes rotated files on the instance.
	LogDriverJSONFile LogDriver = "json-file"
	// LogDriverNone discards the output.
	LogDriverNone LogDriver = "none"
)

// LogConfiguration is an ECS log configuration.
type LogConfiguration struct {
	// logDriver is json-file or none.
	// +required
	LogDriver LogDriver `json:"logDriver"`
	// options of json-file: max-size and max-file, as in Docker's
	// json-file driver. Other options are refused.
	// +optional
	Options *LogOptions `json:"options,omitempty"`
}

// LogOptions are the supported options of the json-file log driver.
type LogOptions struct {
	// max-size of one log file before it is rotated: a number with an
	// optional unit k, m or g (e.g. "10m"). Default 10m.
	// +optional
	// +kubebuilder:validation:MaxLength=16
	// +kubebuilder:validation:XValidation:rule="self.matches('^[1-9][0-9]*[kmg]?$')",message="max-size must be a size such as 10m, 512k or 1g"
	MaxSize string `json:"max-size,omitempty"`
	// max-file is how many rotated files to keep, 1 to 999. Default 5.
	// +optional
	// +kubebuilder:validation:MaxLength=3
	// +kubebuilder:validation:XValidation:rule="self.matches('^[1-9][0-9]{0,2}$')",message="max-file must be a number from 1 to 999"
	MaxFile string `json:"max-file,omitempty"`
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
}

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
// +kubebuilder:validation:XValidation:rule="(has(self.host) ? 1 : 0) + (has(self.secret) ? 1 : 0) + (has(self.configMap) ? 1 : 0) <= 1",message="a volume takes at most one of host, secret and configMap"
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
}

// HostVolume is a host path volume.
type HostVolume struct {
	// sourcePath is the absolute path on the instance.
	// +required
	// +kubebuilder:validation:MaxLength=4096
	// +kubebuilder:validation:XValidation:rule="self.startsWith('/')",message="host.sourcePath must be an absolute path"
	SourcePath string `json:"sourcePath"`
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
	// conditions: Valid, Ready.
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
type TaskDefinition struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is the task definition (ECS RegisterTaskDefinition).
	// +required
	Spec TaskDefinitionSpec `json:"spec"`
	// status is observed by the manager.
	// +optional
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
