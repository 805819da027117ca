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

// Package network gives tasks their network through CNI: a pinned network
// namespace per task (awsvpc, none) or per container (bridge), CNI ADD/DEL
// through go-cni, dynamic host ports, and garbage collection of whatever
// belongs to no task. Host mode needs nothing from this package.
//
// All CNI calls are serialized (plugins race on iptables chains). Every
// attachment is recorded in a state file before CNI ADD and removed after a
// successful DEL, so an agent restarted at any point can finish a teardown
// or find leaks.
package network

import (
	"context"
)

// Mode is the network mode of an attachment.
type Mode string

const (
	// ModeBridge is one namespace per container on the host-local bridge,
	// with published host ports (portmap).
	ModeBridge Mode = "bridge"
	// ModeAWSVPC is one namespace per task with an address from the
	// instance's task subnet (or the Cluster's CNI config).
	ModeAWSVPC Mode = "awsvpc"
	// ModeNone is one namespace per task with loopback only.
	ModeNone Mode = "none"
)

// PortMapping asks for a host port. HostPort 0 takes a dynamic port.
type PortMapping struct {
	ContainerPort int32
	HostPort      int32
	Protocol      string // "tcp" or "udp"
	HostIP        string // empty: all addresses
}

// SetupRequest describes one attachment.
type SetupRequest struct {
	// ID is deterministic and unique per attachment: the task UID (awsvpc,
	// none) or "<task UID>-<container>" (bridge). Setup is idempotent by ID.
	ID   string
	Mode Mode
	// PortMappings to publish (bridge mode).
	PortMappings []PortMapping
	// CNIConfig, for awsvpc, names a conflist in the CNI config directory to
	// use instead of the built-in bridge (Cluster.spec.taskNetwork.cniConfig).
	CNIConfig string
	// Labels are free-form facts kept in the state file (task namespace/name)
	// so that an operator can tell what an attachment belongs to.
	Labels map[string]string
	// Proxy, for awsvpc, redirects the task's TCP through an App Mesh
	// proxy container (see ProxyRedirect).
	Proxy *ProxyRedirect
}

// Binding is a published port.
type Binding struct {
	HostIP        string
	HostPort      int32
	ContainerPort int32
	Protocol      string
}

// Attachment is the result of Setup.
type Attachment struct {
	ID        string
	Mode      Mode
	NetNSPath string // containers join this namespace by path
	Interface string // e.g. eth0 (empty for none)
	IPv4      string // e.g. 10.222.3.7 (empty for none)
	Subnet    string // e.g. 10.222.3.0/24
	Gateway   string
	MAC       string
	Bindings  []Binding
}

// Network is what the agent needs from the network layer. The CNI
// implementation needs root; Fake records calls for unit tests.
type Network interface {
	// Setup creates the attachment's namespace and runs CNI ADD, or returns
	// the existing attachment when one with this ID is set up already.
	// Errors name the cause a user can act on (e.g. "host port 8080/tcp is
	// already in use").
	Setup(ctx context.Context, req SetupRequest) (*Attachment, error)
	// Teardown runs CNI DEL with the recorded configuration, removes the
	// namespace, releases ports and forgets the attachment. Idempotent:
	// tearing down an unknown ID succeeds.
	Teardown(ctx context.Context, id string) error
	// NetNSPath is the path the namespace of attachment id is pinned at
	// (once Setup made it): callers may create containers that join it by
	// path while Setup runs.
	NetNSPath(id string) string
	// List returns every attachment recorded in the state directory.
	List(ctx context.Context) ([]Attachment, error)
	// GC tears down every recorded attachment whose ID is not in keep, and
	// asks the CNI plugins (libcni GC) to release what no attachment holds.
	GC(ctx context.Context, keep map[string]bool) error
}
