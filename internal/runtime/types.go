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

package runtime

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/url"
	"strings"
	"syscall"
	"time"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/moby/sys/signal"
)

// Labels on every containerd container the agent creates. They are the
// source of truth after an agent restart: the agent re-adopts containers by
// these labels and never by parsing IDs.
const (
	LabelTaskUID       = "ecs.longshore.io/task-uid"
	LabelTaskNamespace = "ecs.longshore.io/task-namespace"
	LabelTaskName      = "ecs.longshore.io/task-name"
	LabelContainer     = "ecs.longshore.io/container"
	LabelAttempt       = "ecs.longshore.io/attempt"
	LabelRevision      = "ecs.longshore.io/revision"
	// LabelStopSignal is containerd's label for the image's STOPSIGNAL
	// (SIGTERM when the image has none), set when the container is created:
	// the signal the agent sends first when it stops the container.
	LabelStopSignal = containerd.StopSignalLabel
)

// ContainerID is the deterministic containerd ID of attempt n of a task's
// container: 64 hexadecimal digits (a SHA-256 of the task UID, the
// container's name and the attempt), the form of a Docker container id,
// which is what ECS shows as a container's DockerId and what the tools
// that read it from the container's cgroup path (/ecs/<task id>/<id>, the
// OpenTelemetry and Datadog ECS integrations) expect. The agent finds its
// containers by their labels, never by parsing IDs; the containers of an
// earlier agent version, whose IDs were "<16 hex of the task UID>-<name>-<n>",
// are adopted as they are.
func ContainerID(taskUID, container string, attempt int) string {
	sum := sha256.Sum256([]byte(fmt.Sprintf("%s/%s/%d", taskUID, container, attempt)))
	return hex.EncodeToString(sum[:])
}

// Mount is a bind or tmpfs mount of a container.
type Mount struct {
	Type        string // "bind" or "tmpfs"
	Source      string
	Destination string
	Options     []string
}

// Rlimit is a process resource limit.
type Rlimit struct {
	Type string // e.g. RLIMIT_NOFILE
	Soft uint64
	Hard uint64
}

// ContainerSpec is everything needed to create one container.
type ContainerSpec struct {
	ID     string
	Image  string
	Labels map[string]string
	// Entrypoint and Command replace the image's when non-nil (ECS semantics).
	Entrypoint []string
	Command    []string
	Env        []string // KEY=VALUE, appended to the image's
	User       string
	WorkingDir string
	Hostname   string
	// NetNSPath is the network namespace to join; empty means the host's.
	NetNSPath string
	// PIDNSPath and IPCNSPath join another namespace ("" = own), such as
	// /proc/<pid>/ns/pid of a task's namespace holder; HostPID / HostIPC
	// use the host's.
	PIDNSPath, IPCNSPath string
	HostPID, HostIPC     bool
	// Pause makes the container a namespace holder: its only process is
	// the init binary's pause (internal/initproc), whatever the image
	// runs.
	Pause  bool
	Mounts []Mount
	// CPUShares are cgroup cpu shares (ECS cpu units); 0 leaves the default.
	CPUShares uint64
	// MemoryLimit is the hard limit in bytes (0 = none); MemoryReservation
	// the soft limit.
	MemoryLimit, MemoryReservation int64
	// MemorySwap, when set, is the limit of memory plus swap in bytes
	// (Docker's --memory-swap; ECS memory + maxSwap); it needs MemoryLimit.
	MemorySwap int64
	// Swappiness, when set, is the cgroup's memory.swappiness (0-100).
	Swappiness *uint64
	// Devices of the host given to the container.
	Devices []Device
	// CgroupParent is the task's cgroup; the container's cgroup is
	// CgroupParent/ID.
	CgroupParent   string
	Privileged     bool
	ReadonlyRootfs bool
	CapAdd         []string // without the CAP_ prefix; "ALL" allowed
	CapDrop        []string
	Init           bool
	ShmSizeBytes   int64
	// NoDevShm leaves /dev/shm unmounted (ipcMode none, as Docker's).
	NoDevShm bool
	Rlimits  []Rlimit
	// Sysctls are namespaced kernel parameters set in the container's
	// namespaces (ECS systemControls).
	Sysctls map[string]string
	// NoNewPrivileges stops the process from gaining privileges (setuid
	// binaries, file capabilities): dockerSecurityOptions no-new-privileges.
	NoNewPrivileges bool
	// LogURI is the logging binary the shim starts for stdout/stderr; nil
	// discards output.
	LogURI *url.URL
	// Terminal gives the process a pseudo-terminal (ECS pseudoTerminal):
	// its output all comes as stdout, with "\r\n" line ends.
	Terminal bool
	// StdinFIFO, when set, is a FIFO (absolute path, created by the caller)
	// that the shim opens as the process's stdin, so that stdin stays open
	// (ECS interactive) instead of reading end of file from /dev/null.
	StdinFIFO string
}

// Device is a host device node made available in a container, with the
// cgroup permissions to use it.
type Device struct {
	HostPath, ContainerPath string
	// Permissions are cgroup device access letters: r, w, m.
	Permissions string
}

// State is a container's runtime state.
type State string

// Container states.
const (
	StateCreated State = "created" // container exists, no process started
	StateRunning State = "running"
	StateStopped State = "stopped" // process exited
	StateUnknown State = "unknown"
)

// ContainerStatus is what the runtime knows of one container.
type ContainerStatus struct {
	ID          string
	Labels      map[string]string
	Image       string
	ImageDigest string
	State       State
	Pid         uint32
	ExitCode    int32
	StartedAt   time.Time
	ExitedAt    time.Time
	// CreatedAt is when the container (this attempt) was created.
	CreatedAt time.Time
	// OOMKilled is set when the kernel killed a process of the container for
	// memory (from the cgroup's OOM-kill counter and /tasks/oom events).
	OOMKilled bool
}

// StopSignal is the signal that stops the container first: its image's
// STOPSIGNAL ("SIGQUIT", "QUIT" or "3", recorded in LabelStopSignal when
// it was created), SIGTERM when there is none or it names no signal.
func (c ContainerStatus) StopSignal() syscall.Signal {
	s, err := signal.ParseSignal(strings.TrimSpace(c.Labels[LabelStopSignal]))
	if err != nil || s < 1 || s > 64 {
		return syscall.SIGTERM
	}
	return s
}

// RegistryAuth are credentials for one registry host.
type RegistryAuth struct {
	Username, Password string
}

// PullPolicy is the ECS image pull behaviour.
type PullPolicy string

const (
	// PullDefault pulls; if that fails, a cached image is used (ECS "default").
	PullDefault PullPolicy = "default"
	// PullAlways always pulls and fails when the pull fails.
	PullAlways PullPolicy = "always"
	// PullOnce pulls only when no cached image exists (ECS "once").
	PullOnce PullPolicy = "once"
	// PullPreferCached uses a cached image when there is one, else pulls.
	PullPreferCached PullPolicy = "prefer-cached"
)

// ImageInfo describes a local image.
type ImageInfo struct {
	Ref    string
	Digest string
	// StopSignal of the image config ("" = SIGTERM).
	StopSignal string
	// Pulled is false when a cached image was used.
	Pulled bool
}

// EventType is a runtime event.
type EventType string

// Event types the agent reacts to.
const (
	EventExit EventType = "exit"
	EventOOM  EventType = "oom"
)

// Event is a container event, with the container's ownership labels.
type Event struct {
	Type        EventType
	ContainerID string
	Labels      map[string]string
}

// ExecResult is the outcome of a command run in a container.
type ExecResult struct {
	ExitCode int
	Output   string // combined stdout and stderr, truncated
}

// ExecStreams are the stdio of a command run by ExecStream.
type ExecStreams struct {
	// Stdin, when set, is copied to the command's standard input, which
	// is closed when Stdin ends; nil: no standard input.
	Stdin io.Reader
	// Stdout and Stderr receive the command's output; nil discards it.
	// With TTY all output comes on Stdout.
	Stdout, Stderr io.Writer
	// TTY gives the command a pseudo-terminal.
	TTY bool
	// Resize, with TTY, delivers the terminal's sizes.
	Resize <-chan TerminalSize
}

// TerminalSize is the size of a pseudo-terminal in characters.
type TerminalSize struct {
	Width, Height uint16
}

// Containers is the container side of Runtime.
type Containers interface {
	// EnsureImage makes ref available locally according to policy.
	EnsureImage(ctx context.Context, ref string, policy PullPolicy, auth func(host string) (RegistryAuth, bool)) (ImageInfo, error)
	// Create creates a container; an existing container with the ID is left as is.
	Create(ctx context.Context, spec ContainerSpec) error
	// Start starts the container's process (or does nothing if it runs).
	Start(ctx context.Context, id string) error
	// Stop sends signal (default SIGTERM), waits up to timeout, then kills
	// every process of the container. Stopping a stopped container succeeds.
	Stop(ctx context.Context, id string, signal syscall.Signal, timeout time.Duration) error
	// Delete removes the container's process, the container and its snapshot.
	// Deleting an unknown container succeeds.
	Delete(ctx context.Context, id string) error
	// List returns the containers whose labels include every pair of selector.
	List(ctx context.Context, selector map[string]string) ([]ContainerStatus, error)
	// Status returns one container's status.
	Status(ctx context.Context, id string) (ContainerStatus, error)
	// Exec runs args in the running container with its environment and
	// user, and waits up to timeout.
	Exec(ctx context.Context, id string, args []string, timeout time.Duration) (ExecResult, error)
	// ExecStream runs args in the running container with its environment
	// and user, its stdio connected to streams, until it exits (its exit
	// code) or ctx ends (it is killed). See [ExecStreams].
	ExecStream(ctx context.Context, id string, args []string, streams ExecStreams) (int, error)
	// Events delivers exit and OOM events until ctx ends. The channel is
	// closed when the subscription breaks (e.g. containerd restarts); call
	// again to resubscribe.
	Events(ctx context.Context) (<-chan Event, error)
}

// ErrNotFound is returned for an unknown container.
var ErrNotFound = fmt.Errorf("container not found")
