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

// Package agent is the node agent: it registers its host as a
// ContainerInstance, heartbeats through a Lease, and (in later parts) turns
// the Tasks bound to it into containers.
package agent

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ecsv1 "github.com/longshore-io/longshore/api/v1alpha1"
	lsruntime "github.com/longshore-io/longshore/internal/runtime"
	"github.com/longshore-io/longshore/internal/version"
)

// FieldOwner is the server-side apply field manager of everything the agent
// writes, so the API server itself enforces one writer per field.
const FieldOwner = "longshore-agent"

// Config is the agent's registration configuration.
type Config struct {
	// InstanceName is the ContainerInstance name (default: the hostname).
	InstanceName string
	// Cluster the instance joins.
	Cluster string
	// AvailabilityZone is reported as attribute ecs.availability-zone.
	AvailabilityZone string
	// MemoryReserveMiB is kept back from the host's memory for the system.
	MemoryReserveMiB int64
	// ReservedPorts are TCP host ports tasks may never take.
	ReservedPorts []int32
	// ReservedPortsUDP are UDP host ports tasks may never take.
	ReservedPortsUDP []int32
	// HostAddress is where other instances reach this host (the next hop
	// or tunnel end of the routes to its task subnet); empty: none.
	HostAddress string
	// AgentEndpoint is the agent's logs and exec endpoint (internal/agentapi); nil: none.
	AgentEndpoint *ecsv1.AgentEndpoint
}

// Registrar creates or updates the agent's ContainerInstance and reports
// the host's resources, attributes and versions.
type Registrar struct {
	Client  client.Client
	Runtime lsruntime.Runtime
	Host    HostInfo
	Config  Config
	Clock   clock.PassiveClock

	mu         sync.Mutex
	registered bool
}

// Registered reports whether a registration succeeded.
func (r *Registrar) Registered() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.registered
}

// Start implements manager.Runnable: register, retrying with backoff until
// it works or ctx ends (the API server or containerd may come up later).
func (r *Registrar) Start(ctx context.Context) error {
	log := ctrl.LoggerFrom(ctx).WithName("registration").WithValues("instance", r.Config.InstanceName)
	backoff := time.Second
	for {
		err := r.Register(ctx)
		if err == nil {
			log.Info("Registered container instance", "cluster", r.Config.Cluster)
			<-ctx.Done()
			return nil
		}
		if conflict := (*conflictError)(nil); errors.As(err, &conflict) {
			return err
		}
		log.Error(err, "Registration failed; retrying", "in", backoff.String())
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 30*time.Second)
	}
}

// conflictError is a registration that retrying cannot fix.
type conflictError struct{ msg string }

func (e *conflictError) Error() string { return e.msg }

// Register creates the ContainerInstance if it does not exist and applies
// the agent-owned status fields.
func (r *Registrar) Register(ctx context.Context) error {
	runtimeVersion, err := r.Runtime.Version(ctx)
	if err != nil {
		return err
	}
	ci := &ecsv1.ContainerInstance{}
	err = r.Client.Get(ctx, client.ObjectKey{Name: r.Config.InstanceName}, ci)
	switch {
	case apierrors.IsNotFound(err):
		ci = &ecsv1.ContainerInstance{
			ObjectMeta: metav1.ObjectMeta{Name: r.Config.InstanceName},
			Spec:       ecsv1.ContainerInstanceSpec{Cluster: r.Config.Cluster},
		}
		if err := r.Client.Create(ctx, ci); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("creating ContainerInstance %s: %w", r.Config.InstanceName, err)
		}
		if err := r.Client.Get(ctx, client.ObjectKey{Name: r.Config.InstanceName}, ci); err != nil {
			return err
		}
	case err != nil:
		return fmt.Errorf("reading ContainerInstance %s: %w", r.Config.InstanceName, err)
	}
	if ci.Spec.Cluster != r.Config.Cluster {
		return &conflictError{fmt.Sprintf("ContainerInstance %s belongs to cluster %q but the agent was started with --cluster=%q: "+
			"delete the ContainerInstance (after draining it) or start the agent with --cluster=%s",
			ci.Name, ci.Spec.Cluster, r.Config.Cluster, ci.Spec.Cluster)}
	}

	registeredAt := ci.Status.RegisteredAt
	if registeredAt == nil {
		now := metav1.NewTime(r.Clock.Now())
		registeredAt = &now
	}
	status := r.agentStatus(runtimeVersion, registeredAt)
	obj, err := runtime.DefaultUnstructuredConverter.ToUnstructured(&status)
	if err != nil {
		return err
	}
	u := &unstructured.Unstructured{Object: map[string]any{"status": obj}}
	u.SetGroupVersionKind(ecsv1.GroupVersion.WithKind("ContainerInstance"))
	u.SetName(ci.Name)
	if err := r.Client.Status().Apply(ctx, client.ApplyConfigurationFromUnstructured(u),
		client.FieldOwner(FieldOwner), client.ForceOwnership); err != nil {
		return fmt.Errorf("reporting ContainerInstance %s status: %w", ci.Name, err)
	}
	r.mu.Lock()
	r.registered = true
	r.mu.Unlock()
	return nil
}

// agentStatus is the part of ContainerInstance.status the agent owns.
func (r *Registrar) agentStatus(runtimeVersion string, registeredAt *metav1.Time) ecsv1.ContainerInstanceStatus {
	mem := max(r.Host.MemoryMiB-r.Config.MemoryReserveMiB, 0)
	attrs := []ecsv1.Attribute{
		{Name: "ecs.os-type", Value: r.Host.OS},
		{Name: "ecs.cpu-architecture", Value: r.Host.Arch},
		{Name: "ecs.instance-id", Value: r.Config.InstanceName},
		{Name: "ecs.hostname", Value: r.Host.Hostname},
	}
	if r.Config.AvailabilityZone != "" {
		attrs = append(attrs, ecsv1.Attribute{Name: "ecs.availability-zone", Value: r.Config.AvailabilityZone})
	}
	sort.Slice(attrs, func(i, j int) bool { return attrs[i].Name < attrs[j].Name })
	return ecsv1.ContainerInstanceStatus{
		RegisteredResources: &ecsv1.Resources{
			CPU:      int64(r.Host.CPUCores) * 1024,
			Memory:   mem,
			Ports:    sortedUnique(r.Config.ReservedPorts),
			PortsUDP: sortedUnique(r.Config.ReservedPortsUDP),
			GPU:      int64(len(r.Host.GPUs)),
		},
		Attributes:     attrs,
		AgentVersion:   version.Version,
		RuntimeVersion: runtimeVersion,
		HostAddress:    r.Config.HostAddress,
		RegisteredAt:   registeredAt,
		AgentEndpoint:  r.Config.AgentEndpoint,
	}
}

func sortedUnique(p []int32) []int32 {
	out := slices.Clone(p)
	slices.Sort(out)
	return slices.Compact(out)
}
