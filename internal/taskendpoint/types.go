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

// Package taskendpoint serves the HTTP endpoints ECS gives the containers
// of every task: the task metadata endpoint, versions 4
// (${ECS_CONTAINER_METADATA_URI_V4}) and 3 (${ECS_CONTAINER_METADATA_URI}),
// with the container's and the task's metadata and Docker-style stats,
// and the agent API's task scale-in protection
// (${ECS_AGENT_URI}/task-protection/v1/state); and, on the instance, the
// agent introspection endpoint (/v1/metadata, /v1/tasks).
//
// A task with a network namespace of its own (awsvpc, none, and each
// container of a bridge-mode task) gets a listener made inside that
// namespace, on 169.254.170.2:80: whatever connects to it is in that
// namespace, so it is that task, and it reaches no other task's data.
// Host-mode tasks share the host's namespace: they reach one listener on
// the host's loopback (127.0.0.1:51679 by default), and an unguessable
// per-container id in the path tells their requests apart. The agent
// process serves every listener; it opens them again for the tasks it
// adopts after a restart.
package taskendpoint

import "time"

// The JSON shapes below are those the ECS container agent answers with
// (ECS documentation, "Task metadata v4 JSON response"; the agent's v2/v4
// response types). Field names and JSON types are ECS's; fields ECS
// documents that have no meaning outside AWS (VPCID, ClockDrift,
// EphemeralStorageMetrics, TaskTags, ContainerInstanceTags) are left out.

// ContainerResponse is a container's metadata (GET ${ECS_CONTAINER_METADATA_URI_V4}).
type ContainerResponse struct {
	DockerID      string            `json:"DockerId"`
	Name          string            `json:"Name"`
	DockerName    string            `json:"DockerName"`
	Image         string            `json:"Image"`
	ImageID       string            `json:"ImageID"`
	Ports         []PortResponse    `json:"Ports,omitempty"`
	Labels        map[string]string `json:"Labels,omitempty"`
	DesiredStatus string            `json:"DesiredStatus"`
	KnownStatus   string            `json:"KnownStatus"`
	ExitCode      *int              `json:"ExitCode,omitempty"`
	Limits        LimitsResponse    `json:"Limits"`
	CreatedAt     *time.Time        `json:"CreatedAt,omitempty"`
	StartedAt     *time.Time        `json:"StartedAt,omitempty"`
	FinishedAt    *time.Time        `json:"FinishedAt,omitempty"`
	Type          string            `json:"Type"`
	LogDriver     string            `json:"LogDriver,omitempty"`
	LogOptions    map[string]string `json:"LogOptions,omitempty"`
	ContainerARN  string            `json:"ContainerARN,omitempty"`
	Health        *HealthResponse   `json:"Health,omitempty"`
	Networks      []NetworkResponse `json:"Networks,omitempty"`
	RestartCount  *int              `json:"RestartCount,omitempty"`
}

// LimitsResponse are CPU (vCPUs for a task, CPU units for a container)
// and memory (MiB) limits.
type LimitsResponse struct {
	CPU    *float64 `json:"CPU,omitempty"`
	Memory *int64   `json:"Memory,omitempty"`
}

// PortResponse is a published port.
type PortResponse struct {
	ContainerPort uint16 `json:"ContainerPort,omitempty"`
	Protocol      string `json:"Protocol,omitempty"`
	HostPort      uint16 `json:"HostPort,omitempty"`
	HostIP        string `json:"HostIp,omitempty"`
}

// HealthResponse is a container's health check status.
type HealthResponse struct {
	Status string     `json:"status,omitempty"`
	Since  *time.Time `json:"statusSince,omitempty"`
}

// NetworkResponse is one network of a container. The fields after
// IPv4Addresses are version 4's (awsvpc only, as in ECS).
type NetworkResponse struct {
	NetworkMode              string   `json:"NetworkMode,omitempty"`
	IPv4Addresses            []string `json:"IPv4Addresses,omitempty"`
	AttachmentIndex          *int     `json:"AttachmentIndex,omitempty"`
	MACAddress               string   `json:"MACAddress,omitempty"`
	IPv4SubnetCIDRBlock      string   `json:"IPv4SubnetCIDRBlock,omitempty"`
	DomainNameServers        []string `json:"DomainNameServers,omitempty"`
	DomainNameSearchList     []string `json:"DomainNameSearchList,omitempty"`
	PrivateDNSName           string   `json:"PrivateDNSName,omitempty"`
	SubnetGatewayIPv4Address string   `json:"SubnetGatewayIpv4Address,omitempty"`
}

// TaskResponse is a task's metadata (GET ${ECS_CONTAINER_METADATA_URI_V4}/task).
type TaskResponse struct {
	Cluster               string              `json:"Cluster"`
	TaskARN               string              `json:"TaskARN"`
	Family                string              `json:"Family"`
	Revision              string              `json:"Revision"`
	DesiredStatus         string              `json:"DesiredStatus"`
	KnownStatus           string              `json:"KnownStatus"`
	Containers            []ContainerResponse `json:"Containers,omitempty"`
	Limits                *LimitsResponse     `json:"Limits,omitempty"`
	PullStartedAt         *time.Time          `json:"PullStartedAt,omitempty"`
	PullStoppedAt         *time.Time          `json:"PullStoppedAt,omitempty"`
	ExecutionStoppedAt    *time.Time          `json:"ExecutionStoppedAt,omitempty"`
	AvailabilityZone      string              `json:"AvailabilityZone,omitempty"`
	LaunchType            string              `json:"LaunchType,omitempty"`
	ServiceName           string              `json:"ServiceName,omitempty"`
	FaultInjectionEnabled bool                `json:"FaultInjectionEnabled"`
}

// StatsResponse is a container's stats in the shape of Docker's
// ContainerStats (API v1.30), as ECS answers ${ECS_CONTAINER_METADATA_URI_V4}/stats.
type StatsResponse struct {
	Read         time.Time               `json:"read"`
	PreRead      time.Time               `json:"preread"`
	PidsStats    PidsStats               `json:"pids_stats"`
	BlkioStats   BlkioStats              `json:"blkio_stats"`
	NumProcs     uint32                  `json:"num_procs"`
	StorageStats struct{}                `json:"storage_stats"`
	CPUStats     CPUStats                `json:"cpu_stats"`
	PreCPUStats  CPUStats                `json:"precpu_stats"`
	MemoryStats  MemoryStats             `json:"memory_stats"`
	Name         string                  `json:"name"`
	ID           string                  `json:"id"`
	Networks     map[string]NetworkStats `json:"networks,omitempty"`
	// NetworkRateStats is version 4's: bytes per second since the
	// previous read.
	NetworkRateStats *NetworkRateStats `json:"network_rate_stats,omitempty"`
}

// PidsStats counts the container's processes.
type PidsStats struct {
	Current uint64 `json:"current,omitempty"`
	Limit   uint64 `json:"limit,omitempty"`
}

// BlkioStats are block I/O counters.
type BlkioStats struct {
	IoServiceBytesRecursive []BlkioStatEntry `json:"io_service_bytes_recursive"`
	IoServicedRecursive     []BlkioStatEntry `json:"io_serviced_recursive"`
	IoQueuedRecursive       []BlkioStatEntry `json:"io_queue_recursive"`
	IoServiceTimeRecursive  []BlkioStatEntry `json:"io_service_time_recursive"`
	IoWaitTimeRecursive     []BlkioStatEntry `json:"io_wait_time_recursive"`
	IoMergedRecursive       []BlkioStatEntry `json:"io_merged_recursive"`
	IoTimeRecursive         []BlkioStatEntry `json:"io_time_recursive"`
	SectorsRecursive        []BlkioStatEntry `json:"sectors_recursive"`
}

// BlkioStatEntry is one device's counter.
type BlkioStatEntry struct {
	Major uint64 `json:"major"`
	Minor uint64 `json:"minor"`
	Op    string `json:"op"`
	Value uint64 `json:"value"`
}

// CPUStats are CPU counters, in nanoseconds.
type CPUStats struct {
	CPUUsage       CPUUsage       `json:"cpu_usage"`
	SystemUsage    uint64         `json:"system_cpu_usage"`
	OnlineCPUs     uint32         `json:"online_cpus"`
	ThrottlingData ThrottlingData `json:"throttling_data"`
}

// CPUUsage is the CPU time used.
type CPUUsage struct {
	TotalUsage        uint64   `json:"total_usage"`
	PercpuUsage       []uint64 `json:"percpu_usage,omitempty"`
	UsageInKernelmode uint64   `json:"usage_in_kernelmode"`
	UsageInUsermode   uint64   `json:"usage_in_usermode"`
}

// ThrottlingData are CFS throttling counters.
type ThrottlingData struct {
	Periods          uint64 `json:"periods"`
	ThrottledPeriods uint64 `json:"throttled_periods"`
	ThrottledTime    uint64 `json:"throttled_time"`
}

// MemoryStats are memory counters, in bytes.
type MemoryStats struct {
	Usage    uint64            `json:"usage,omitempty"`
	MaxUsage uint64            `json:"max_usage,omitempty"`
	Stats    map[string]uint64 `json:"stats,omitempty"`
	Failcnt  uint64            `json:"failcnt,omitempty"`
	Limit    uint64            `json:"limit,omitempty"`
}

// NetworkStats are one interface's counters.
type NetworkStats struct {
	RxBytes   uint64 `json:"rx_bytes"`
	RxPackets uint64 `json:"rx_packets"`
	RxErrors  uint64 `json:"rx_errors"`
	RxDropped uint64 `json:"rx_dropped"`
	TxBytes   uint64 `json:"tx_bytes"`
	TxPackets uint64 `json:"tx_packets"`
	TxErrors  uint64 `json:"tx_errors"`
	TxDropped uint64 `json:"tx_dropped"`
}

// NetworkRateStats are bytes per second over every interface.
type NetworkRateStats struct {
	RxBytesPerSec float64 `json:"rx_bytes_per_sec"`
	TxBytesPerSec float64 `json:"tx_bytes_per_sec"`
}

// ProtectionRequest is the body of PUT ${ECS_AGENT_URI}/task-protection/v1/state.
type ProtectionRequest struct {
	ProtectionEnabled *bool
	ExpiresInMinutes  *int64
}

// ProtectionResponse answers task protection requests: Protection, or
// Error (with RequestID when the failure came from an API call).
type ProtectionResponse struct {
	RequestID  *string            `json:"requestID,omitempty"`
	Protection *ProtectedTask     `json:"protection,omitempty"`
	Error      *ProtectionFailure `json:"error,omitempty"`
}

// ProtectedTask is ECS's ProtectedTask.
type ProtectedTask struct {
	ExpirationDate    *time.Time `json:"ExpirationDate,omitempty"`
	ProtectionEnabled bool       `json:"ProtectionEnabled"`
	TaskArn           string     `json:"TaskArn"`
}

// ProtectionFailure is the error of a task protection request.
type ProtectionFailure struct {
	Arn     string `json:"Arn,omitempty"`
	Code    string `json:"Code"`
	Message string `json:"Message"`
}

// IntrospectionMetadata answers GET /v1/metadata of the introspection endpoint.
type IntrospectionMetadata struct {
	Cluster              string `json:"Cluster"`
	ContainerInstanceArn string `json:"ContainerInstanceArn,omitempty"`
	Version              string `json:"Version"`
}

// IntrospectionTasks answers GET /v1/tasks.
type IntrospectionTasks struct {
	Tasks []IntrospectionTask `json:"Tasks"`
}

// IntrospectionTask is one task of /v1/tasks (and GET /v1/tasks?taskarn=).
type IntrospectionTask struct {
	Arn           string                   `json:"Arn"`
	DesiredStatus string                   `json:"DesiredStatus"`
	KnownStatus   string                   `json:"KnownStatus"`
	Family        string                   `json:"Family"`
	Version       string                   `json:"Version"`
	Containers    []IntrospectionContainer `json:"Containers"`
}

// IntrospectionContainer is one container of an IntrospectionTask.
type IntrospectionContainer struct {
	DockerID   string `json:"DockerId"`
	DockerName string `json:"DockerName"`
	Name       string `json:"Name"`
}
