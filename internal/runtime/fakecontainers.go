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
	"fmt"
	"io"
	"maps"
	"slices"
	"sync"
	"syscall"
	"time"
)

// FakeContainers is an in-memory Containers for the agent's unit tests: it
// keeps containers in a map, records every call, and lets a test make a
// container exit (Exit) or an image unpullable (PullErr).
type FakeContainers struct {
	mu         sync.Mutex
	containers map[string]*ContainerStatus
	specs      map[string]ContainerSpec
	calls      []string
	// PullErr, when set, fails EnsureImage for these refs.
	PullErr map[string]error
	// ExecResult answers Exec (and gives ExecStream its exit code).
	ExecResult ExecResult
	// ExecStreamFunc, when set, answers ExecStream.
	ExecStreamFunc func(ctx context.Context, id string, args []string, s ExecStreams) (int, error)
	events         chan Event
}

// NewFakeContainers returns an empty fake.
func NewFakeContainers() *FakeContainers {
	return &FakeContainers{containers: map[string]*ContainerStatus{}, specs: map[string]ContainerSpec{}, events: make(chan Event, 64)}
}

func (f *FakeContainers) record(format string, a ...any) {
	f.calls = append(f.calls, fmt.Sprintf(format, a...))
}

// Calls returns the recorded calls, e.g. "Create 0f1e-web-0".
func (f *FakeContainers) Calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

// Spec returns the spec a container was created with.
func (f *FakeContainers) Spec(id string) (ContainerSpec, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s, ok := f.specs[id]
	return s, ok
}

// Exit makes a running container exit with code.
func (f *FakeContainers) Exit(id string, code int32) {
	f.mu.Lock()
	c, ok := f.containers[id]
	if ok {
		c.State, c.ExitCode, c.ExitedAt = StateStopped, code, time.Now()
	}
	var labels map[string]string
	if ok {
		labels = maps.Clone(c.Labels)
	}
	f.mu.Unlock()
	if ok {
		f.events <- Event{Type: EventExit, ContainerID: id, Labels: labels}
	}
}

// EnsureImage implements Containers.
func (f *FakeContainers) EnsureImage(_ context.Context, ref string, _ PullPolicy, _ func(string) (RegistryAuth, bool)) (ImageInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record("EnsureImage %s", ref)
	if err := f.PullErr[ref]; err != nil {
		return ImageInfo{}, err
	}
	return ImageInfo{Ref: ref, Digest: "sha256:fake"}, nil
}

// Create implements Containers.
func (f *FakeContainers) Create(_ context.Context, spec ContainerSpec) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record("Create %s", spec.ID)
	if _, ok := f.containers[spec.ID]; ok {
		return nil
	}
	f.containers[spec.ID] = &ContainerStatus{ID: spec.ID, Labels: maps.Clone(spec.Labels), Image: spec.Image, ImageDigest: "sha256:fake", State: StateCreated, CreatedAt: time.Now()}
	f.specs[spec.ID] = spec
	return nil
}

// Start implements Containers.
func (f *FakeContainers) Start(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record("Start %s", id)
	c, ok := f.containers[id]
	if !ok {
		return fmt.Errorf("%s: %w", id, ErrNotFound)
	}
	if c.State != StateRunning {
		c.State, c.Pid = StateRunning, 4242
	}
	return nil
}

// Stop implements Containers.
func (f *FakeContainers) Stop(_ context.Context, id string, sig syscall.Signal, timeout time.Duration) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record("Stop %s %s %s", id, sig, timeout)
	if c, ok := f.containers[id]; ok && c.State == StateRunning {
		c.State, c.ExitCode, c.ExitedAt = StateStopped, 143, time.Now()
	}
	return nil
}

// Delete implements Containers.
func (f *FakeContainers) Delete(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record("Delete %s", id)
	delete(f.containers, id)
	return nil
}

// List implements Containers.
func (f *FakeContainers) List(_ context.Context, selector map[string]string) ([]ContainerStatus, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []ContainerStatus
	for _, id := range slices.Sorted(maps.Keys(f.containers)) {
		c := f.containers[id]
		match := true
		for k, v := range selector {
			if c.Labels[k] != v {
				match = false
			}
		}
		if match {
			cp := *c
			cp.Labels = maps.Clone(c.Labels)
			out = append(out, cp)
		}
	}
	return out, nil
}

// Status implements Containers.
func (f *FakeContainers) Status(_ context.Context, id string) (ContainerStatus, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, ok := f.containers[id]
	if !ok {
		return ContainerStatus{}, fmt.Errorf("%s: %w", id, ErrNotFound)
	}
	return *c, nil
}

// Exec implements Containers.
func (f *FakeContainers) Exec(_ context.Context, id string, args []string, _ time.Duration) (ExecResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record("Exec %s %v", id, args)
	return f.ExecResult, nil
}

// ExecStream implements Containers: ExecStreamFunc answers, else the
// command's standard input is copied to its output and it exits with
// ExecResult.ExitCode. A container that is not running refuses.
func (f *FakeContainers) ExecStream(ctx context.Context, id string, args []string, s ExecStreams) (int, error) {
	f.mu.Lock()
	f.record("ExecStream %s %v tty=%t", id, args, s.TTY)
	c, ok := f.containers[id]
	running := ok && c.State == StateRunning
	fn, code := f.ExecStreamFunc, f.ExecResult.ExitCode
	f.mu.Unlock()
	switch {
	case !ok:
		return -1, fmt.Errorf("%s: %w", id, ErrNotFound)
	case !running:
		return -1, fmt.Errorf("container %s has no running process", id)
	case fn != nil:
		return fn(ctx, id, args, s)
	}
	if s.Stdin != nil && s.Stdout != nil {
		if _, err := io.Copy(s.Stdout, s.Stdin); err != nil {
			return -1, err
		}
	}
	return code, nil
}

// Events implements Containers.
func (f *FakeContainers) Events(ctx context.Context) (<-chan Event, error) {
	out := make(chan Event)
	go func() {
		defer close(out)
		for {
			select {
			case <-ctx.Done():
				return
			case ev := <-f.events:
				select {
				case out <- ev:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	return out, nil
}

var _ Containers = (*FakeContainers)(nil)
