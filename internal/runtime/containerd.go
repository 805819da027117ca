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

// Package runtime is the agent's view of the container runtime: an
// interface, its containerd implementation and a fake for unit tests.
package runtime

import (
	"context"
	"fmt"
	"sync"
	"time"

	containerd "github.com/containerd/containerd/v2/client"
)

// Runtime is what the agent needs from the container runtime.
type Runtime interface {
	// Version is the runtime's version, e.g. "containerd v2.4.2".
	Version(ctx context.Context) (string, error)
	// Close releases the connection.
	Close() error
}

// ContainerRuntime is a Runtime that also runs containers.
type ContainerRuntime interface {
	Runtime
	Containers
}

// Containerd is the containerd implementation of Runtime. It works in its
// own containerd namespace (never k8s.io) so it cannot touch other users'
// containers.
type Containerd struct {
	client    *containerd.Client
	namespace string

	// InitBinary is mounted into containers that ask for an init process
	// (ContainerSpec.Init) and runs as their PID 1; it must be a static
	// binary that implements internal/initproc (the agent itself).
	InitBinary string

	oomMu sync.Mutex
	oom   map[string]bool // containers seen in /tasks/oom events
}

// NewContainerd connects to the containerd socket at address. It does not
// wait for the daemon: calls fail until it is up, and Ready reports it.
func NewContainerd(address, namespace string) (*Containerd, error) {
	c, err := containerd.New(address, containerd.WithDefaultNamespace(namespace), containerd.WithTimeout(10*time.Second))
	if err != nil {
		return nil, fmt.Errorf("connecting to containerd at %s: %w", address, err)
	}
	return &Containerd{client: c, namespace: namespace}, nil
}

// Version implements Runtime.
func (c *Containerd) Version(ctx context.Context) (string, error) {
	v, err := c.client.Version(ctx)
	if err != nil {
		return "", fmt.Errorf("asking containerd for its version: %w", err)
	}
	return "containerd " + v.Version, nil
}

// Close implements Runtime.
func (c *Containerd) Close() error { return c.client.Close() }

// Namespace is the containerd namespace the agent works in.
func (c *Containerd) Namespace() string { return c.namespace }
