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

// Package managertest runs the manager's controllers in-process against the
// integration test control plane, wired as cmd/manager wires them, with the
// short timeouts tests need.
package managertest

import (
	"context"
	"fmt"
	"os"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/longshore-io/longshore/controllers/agentaccess"
	"github.com/longshore-io/longshore/controllers/cluster"
	"github.com/longshore-io/longshore/controllers/service"
	"github.com/longshore-io/longshore/controllers/task"
	"github.com/longshore-io/longshore/controllers/taskdefinition"
	"github.com/longshore-io/longshore/test/integration/framework"
)

// LeaseNamespace is where simulated agents renew their Leases.
const LeaseNamespace = "longshore-system"

// Options are the test timings.
type Options struct {
	AgentGrace, InstanceLostTimeout, ResolveGrace time.Duration
	// Service, when set, runs the Service controller with these settings
	// (Client, Recorder and Clock are filled in).
	Service *service.Reconciler
	// Config is the manager's identity; default the suite's admin
	// (env.Env.Config).
	Config *rest.Config
	// NoLeaseNamespace leaves the lease namespace to the caller.
	NoLeaseNamespace bool
}

// cacheByObject is cmd/manager's: Leases of the lease namespace, the
// agents' Secret and ConfigMap grants of Roles and RoleBindings.
func cacheByObject() map[client.Object]cache.ByObject {
	by := agentaccess.CacheByObject()
	by[&coordinationv1.Lease{}] = cache.ByObject{Namespaces: map[string]cache.Config{LeaseNamespace: {}}}
	return by
}

// Start creates the lease namespace and runs the cluster, task,
// taskdefinition and agentaccess controllers (and the Service controller if
// asked) until ctx ends, as o.Config (default: the suite's admin). Set
// LONGSHORE_TEST_LOG to see their logs.
func Start(ctx context.Context, env *framework.Env, o Options) error {
	if os.Getenv("LONGSHORE_TEST_LOG") != "" {
		ctrl.SetLogger(zap.New(zap.UseDevMode(true)))
	}
	if !o.NoLeaseNamespace {
		if err := env.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: LeaseNamespace}}); err != nil {
			return err
		}
	}
	cfg := o.Config
	if cfg == nil {
		cfg = env.Env.Config
	}
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:  env.Scheme,
		Metrics: metricsserver.Options{BindAddress: "0"},
		Cache:   cache.Options{ByObject: cacheByObject()},
	})
	if err != nil {
		return err
	}
	if err := cluster.SetupIndexes(ctx, mgr); err != nil {
		return err
	}
	if err := taskdefinition.SetupIndexes(ctx, mgr); err != nil {
		return err
	}
	if err := agentaccess.SetupIndexes(ctx, mgr); err != nil {
		return err
	}
	clk := clock.RealClock{}
	rec := mgr.GetEventRecorder("longshore-manager")
	if err := (&cluster.Reconciler{Client: mgr.GetClient(), Recorder: rec, Clock: clk, LeaseNamespace: LeaseNamespace,
		AgentGrace: o.AgentGrace, InstanceLostTimeout: o.InstanceLostTimeout}).SetupWithManager(mgr); err != nil {
		return err
	}
	if err := mgr.Add(&cluster.EnsureDefaultCluster{Client: mgr.GetClient(), Reader: mgr.GetAPIReader()}); err != nil {
		return err
	}
	if err := (&task.Reconciler{Client: mgr.GetClient(), Recorder: rec, Clock: clk, ResolveGrace: o.ResolveGrace}).SetupWithManager(mgr); err != nil {
		return err
	}
	if err := (&taskdefinition.Reconciler{Client: mgr.GetClient(), Recorder: rec, MaxConcurrentReconciles: 2}).SetupWithManager(mgr); err != nil {
		return err
	}
	if err := (&taskdefinition.RevisionReconciler{Client: mgr.GetClient(), Recorder: rec}).SetupWithManager(mgr); err != nil {
		return err
	}
	if err := (&agentaccess.Reconciler{Client: mgr.GetClient()}).SetupWithManager(mgr); err != nil {
		return err
	}
	if o.Service != nil {
		if err := service.SetupIndexes(ctx, mgr); err != nil {
			return err
		}
		o.Service.Client, o.Service.Recorder, o.Service.Clock = mgr.GetClient(), rec, clk
		if err := o.Service.SetupWithManager(mgr); err != nil {
			return err
		}
	}
	go func() {
		if err := mgr.Start(ctx); err != nil {
			fmt.Fprintln(os.Stderr, "manager:", err)
		}
	}()
	return nil
}

// Setup starts the integration control plane and the manager's
// controllers: the whole of a suite's TestMain but m.Run. stop ends both.
func Setup(o Options) (env *framework.Env, stop func(), err error) {
	env, err = framework.Start()
	if err != nil {
		return nil, nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := Start(ctx, env, o); err != nil {
		cancel()
		_ = env.Stop()
		return nil, nil, err
	}
	return env, func() { cancel(); _ = env.Stop() }, nil
}
