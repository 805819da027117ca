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

// Package setup wires the manager's controllers and the scheduler into a
// controller-runtime manager: the one wiring of cmd/manager and of the
// integration tests (test/integration/managertest), which differ only in
// Options.
package setup

import (
	"context"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"

	"github.com/longshore-io/longshore/controllers/agentaccess"
	"github.com/longshore-io/longshore/controllers/cluster"
	"github.com/longshore-io/longshore/controllers/service"
	"github.com/longshore-io/longshore/controllers/task"
	"github.com/longshore-io/longshore/controllers/taskdefinition"
	"github.com/longshore-io/longshore/internal/scheduler"
)

// EventSource is the reporting controller of the manager's Events.
const EventSource = "longshore-manager"

// Options are the timings and concurrency of the controllers. Zero
// values take each controller's default.
type Options struct {
	// LeaseNamespace is where agents renew their heartbeat Leases.
	LeaseNamespace string
	// AgentGrace, InstanceLostTimeout: see cluster.Reconciler.
	AgentGrace, InstanceLostTimeout time.Duration
	// ResolveGrace: see task.Reconciler.
	ResolveGrace time.Duration
	// Concurrency of the controllers.
	ClusterConcurrency, TaskConcurrency, TaskDefinitionConcurrency, AgentAccessConcurrency int
	// SchedulerBinders is how many binds the scheduler writes at once.
	SchedulerBinders int
	// Service holds the Service controller's settings (Client, Recorder
	// and Clock are filled in); nil for its defaults.
	Service *service.Reconciler
	// Clock of every controller; nil for the real clock.
	Clock clock.WithTicker
}

// CacheOptions is what the manager caches less of than everything: the
// agents' heartbeat Leases live in the lease namespace only, and of Roles
// and RoleBindings only the agents' Secret and ConfigMap grants
// (controllers/agentaccess) concern it. No object keeps its managedFields,
// which no controller reads (patches are computed between two cached
// copies, so they never carry them): with 10,000 Tasks they were a large
// part of the manager's heap.
func CacheOptions(leaseNamespace string) cache.Options {
	by := agentaccess.CacheByObject()
	by[&coordinationv1.Lease{}] = cache.ByObject{Namespaces: map[string]cache.Config{leaseNamespace: {}}}
	return cache.Options{ByObject: by, DefaultTransform: cache.TransformStripManagedFields()}
}

// SetupControllers registers the indexes, the controllers (Cluster with
// the default-Cluster runnable, TaskDefinition and its revisions, Task,
// Service, agent access) and the scheduler with mgr.
func SetupControllers(ctx context.Context, mgr ctrl.Manager, o Options) error {
	clk := o.Clock
	if clk == nil {
		clk = clock.RealClock{}
	}
	for _, setup := range []func(context.Context, ctrl.Manager) error{
		cluster.SetupIndexes, taskdefinition.SetupIndexes, service.SetupIndexes, agentaccess.SetupIndexes,
	} {
		if err := setup(ctx, mgr); err != nil {
			return err
		}
	}
	c, rec := mgr.GetClient(), mgr.GetEventRecorder(EventSource)
	if err := (&cluster.Reconciler{Client: c, Recorder: rec, Clock: clk, LeaseNamespace: o.LeaseNamespace,
		AgentGrace: o.AgentGrace, InstanceLostTimeout: o.InstanceLostTimeout,
		MaxConcurrentReconciles: o.ClusterConcurrency}).SetupWithManager(mgr); err != nil {
		return err
	}
	if err := mgr.Add(&cluster.EnsureDefaultCluster{Client: c, Reader: mgr.GetAPIReader()}); err != nil {
		return err
	}
	sched := scheduler.New(scheduler.Options{Client: c, Informers: mgr.GetCache(), Recorder: rec, Clock: clk,
		Binders: o.SchedulerBinders})
	if err := mgr.Add(sched); err != nil {
		return err
	}
	if err := (&task.Reconciler{Client: c, Recorder: rec, Clock: clk, Scheduler: sched, ResolveGrace: o.ResolveGrace,
		MaxConcurrentReconciles: o.TaskConcurrency}).SetupWithManager(mgr); err != nil {
		return err
	}
	if err := (&taskdefinition.Reconciler{Client: c, Recorder: rec,
		MaxConcurrentReconciles: o.TaskDefinitionConcurrency}).SetupWithManager(mgr); err != nil {
		return err
	}
	if err := (&taskdefinition.RevisionReconciler{Client: c, Recorder: rec}).SetupWithManager(mgr); err != nil {
		return err
	}
	svc := o.Service
	if svc == nil {
		svc = &service.Reconciler{}
	}
	svc.Client, svc.Recorder, svc.Clock = c, rec, clk
	if err := svc.SetupWithManager(mgr); err != nil {
		return err
	}
	// Each agent's Secret and ConfigMap reads: a few cached reads per
	// instance, and a write only when its tasks' references change.
	return (&agentaccess.Reconciler{Client: c, MaxConcurrentReconciles: o.AgentAccessConcurrency}).SetupWithManager(mgr)
}
