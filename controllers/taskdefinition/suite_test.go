//go:build integration

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

package taskdefinition_test

import (
	"context"
	"fmt"
	"os"
	"testing"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/longshore-io/longshore/controllers/taskdefinition"
	"github.com/longshore-io/longshore/test/integration/framework"
)

var (
	env *framework.Env
	// cached is the manager's client: reads come from its cache, with the
	// package's field indexes.
	cached client.Client
	// direct is a second Reconciler, over the same cache, that tests call
	// by hand.
	direct *taskdefinition.Reconciler
)

func TestMain(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) int {
	ctrl.SetLogger(zap.New(zap.WriteTo(os.Stderr), zap.UseDevMode(true)))
	var err error
	env, err = framework.Start()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() { _ = env.Stop() }()

	mgr, err := ctrl.NewManager(env.Env.Config, ctrl.Options{
		Scheme:  env.Scheme,
		Metrics: metricsserver.Options{BindAddress: "0"},
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := setup(ctx, mgr); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	if !mgr.GetCache().WaitForCacheSync(ctx) {
		fmt.Fprintln(os.Stderr, "the manager's cache did not sync")
		return 1
	}
	cached = mgr.GetClient()
	direct = &taskdefinition.Reconciler{Client: mgr.GetClient(), APIReader: mgr.GetAPIReader()}

	code := m.Run()
	cancel()
	if err := <-done; err != nil {
		fmt.Fprintln(os.Stderr, "manager:", err)
		code = 1
	}
	return code
}

func setup(ctx context.Context, mgr ctrl.Manager) error {
	if err := taskdefinition.SetupIndexes(ctx, mgr); err != nil {
		return err
	}
	if err := (&taskdefinition.Reconciler{
		Client:   mgr.GetClient(),
		Recorder: mgr.GetEventRecorder("taskdefinition-controller"),
		// Families of one namespace race on the counter ConfigMap.
		MaxConcurrentReconciles: 4,
	}).SetupWithManager(mgr); err != nil {
		return err
	}
	return (&taskdefinition.RevisionReconciler{
		Client:   mgr.GetClient(),
		Recorder: mgr.GetEventRecorder("taskdefinition-controller"),
	}).SetupWithManager(mgr)
}
