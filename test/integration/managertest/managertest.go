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
// integration test control plane, wired by setup.SetupControllers as
// cmd/manager wires them, with the short timeouts tests need.
package managertest

import (
	"context"
	"fmt"
	"os"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/longshore-io/longshore/controllers/service"
	"github.com/longshore-io/longshore/controllers/setup"
	"github.com/longshore-io/longshore/test/integration/framework"
)

// LeaseNamespace is where simulated agents renew their Leases.
const LeaseNamespace = "longshore-system"

// Options are the test timings.
type Options struct {
	AgentGrace, InstanceLostTimeout, ResolveGrace time.Duration
	// Service holds the Service controller's settings (Client, Recorder
	// and Clock are filled in); nil for its defaults.
	Service *service.Reconciler
	// Config is the manager's identity; default the suite's admin
	// (env.Env.Config).
	Config *rest.Config
	// NoLeaseNamespace leaves the lease namespace to the caller.
	NoLeaseNamespace bool
}

// Start creates the lease namespace and runs the manager's controllers and
// scheduler, wired by setup.SetupControllers as cmd/manager wires them,
// until ctx ends, as o.Config (default: the suite's admin). Set
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
		Cache:   setup.CacheOptions(LeaseNamespace),
	})
	if err != nil {
		return err
	}
	if err := setup.SetupControllers(ctx, mgr, setup.Options{LeaseNamespace: LeaseNamespace, AgentGrace: o.AgentGrace,
		InstanceLostTimeout: o.InstanceLostTimeout, ResolveGrace: o.ResolveGrace, TaskDefinitionConcurrency: 2,
		Service: o.Service}); err != nil {
		return err
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
