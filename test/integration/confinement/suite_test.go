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

// Package confinement tests agent confinement against the real
// kube-apiserver: the admission policies of config/policy and the roles of
// config/rbac (read at run time), the manager's controllers under the
// manager's own identity, and agents under theirs (real client
// certificates, and the DaemonSet's node-bound ServiceAccount tokens).
package confinement

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/rest"
	"k8s.io/utils/clock"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"k8s.io/apimachinery/pkg/fields"

	ecsv1 "github.com/longshore-io/longshore/api/v1alpha1"
	"github.com/longshore-io/longshore/internal/agent"
	"github.com/longshore-io/longshore/internal/network"
	lsruntime "github.com/longshore-io/longshore/internal/runtime"
	"github.com/longshore-io/longshore/test/integration/framework"
	"github.com/longshore-io/longshore/test/integration/managertest"
)

var (
	env *framework.Env
	// managerCfg is the manager's own identity (make dev's certificate).
	managerCfg *rest.Config
)

func TestMain(m *testing.M) {
	if err := setup(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		if env != nil {
			_ = env.Stop()
		}
		os.Exit(1)
	}
	code := m.Run()
	_ = env.Stop()
	os.Exit(code)
}

func setup() error {
	// The agents' and the manager's logs: LONGSHORE_TEST_LOG=1 (managertest).
	if os.Getenv("LONGSHORE_TEST_LOG") == "" {
		ctrl.SetLogger(logr.Discard())
	}
	var err error
	if env, err = framework.Start(); err != nil {
		return err
	}
	ctx := context.Background()
	if err := framework.InstallRBAC(ctx, env.Client); err != nil {
		return err
	}
	if managerCfg, err = env.UserConfig("longshore-manager", "longshore:managers"); err != nil {
		return err
	}
	// The manager's controllers run as the manager, with the RBAC of
	// config/rbac/manager: what it cannot do, they cannot.
	return managertest.Start(ctx, env, managertest.Options{Config: managerCfg, NoLeaseNamespace: true,
		AgentGrace: 10 * time.Second, InstanceLostTimeout: time.Hour, ResolveGrace: time.Second})
}

// testAgent is a real agent (registration, heartbeat, the task
// reconciler) under its own identity, with the fake runtime and network.
type testAgent struct {
	name string
	// c is a client of the agent's identity, for the probes.
	c  client.Client
	rt *lsruntime.FakeContainers
}

type noCgroups struct{}

func (noCgroups) Ensure(string, int64, int64) error { return nil }
func (noCgroups) Remove(string) error               { return nil }

// startAgent wires an agent as cmd/agent does (its cache holds only its
// own Tasks and ContainerInstance; registration and heartbeat use a direct
// client) and runs it until the test ends.
func startAgent(t *testing.T, name string, cfg *rest.Config) *testAgent {
	t.Helper()
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:  env.Scheme,
		Metrics: metricsserver.Options{BindAddress: "0"},
		Cache: cache.Options{ByObject: map[client.Object]cache.ByObject{
			&ecsv1.Task{}:              {Field: fields.OneTermEqualSelector("spec.containerInstance", name)},
			&ecsv1.ContainerInstance{}: {Field: fields.OneTermEqualSelector("metadata.name", name)},
		}},
		// Several agents (and the manager) in one process.
		Controller: config.Controller{SkipNameValidation: ptr.To(true)},
	})
	if err != nil {
		t.Fatal(err)
	}
	direct, err := client.New(cfg, client.Options{Scheme: env.Scheme})
	if err != nil {
		t.Fatal(err)
	}
	a := &testAgent{name: name, c: direct, rt: lsruntime.NewFakeContainers()}
	reg := &agent.Registrar{Client: direct, Runtime: &lsruntime.Fake{VersionStr: "containerd fake"}, Clock: clock.RealClock{},
		Host:   agent.HostInfo{Hostname: name, CPUCores: 4, MemoryMiB: 8192, OS: "linux", Arch: "x86_64"},
		Config: agent.Config{InstanceName: name, Cluster: ecsv1.DefaultClusterName}}
	hb := &agent.Heartbeat{Client: direct, Namespace: managertest.LeaseNamespace, InstanceName: name,
		Interval: time.Second, Duration: 5 * time.Second, Clock: clock.RealClock{}}
	tasks := &agent.TaskReconciler{Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), Runtime: a.rt, Network: network.NewFake(),
		InstanceName: name, StateDir: t.TempDir(), RunDir: shortDir(t), PullPolicy: lsruntime.PullPreferCached,
		Recorder: mgr.GetEventRecorder("longshore-agent"), Clock: clock.RealClock{}, Cgroups: noCgroups{}, MaxConcurrentReconciles: 2}
	if err := tasks.SetupWithManager(mgr); err != nil {
		t.Fatal(err)
	}
	for _, r := range []interface {
		Start(context.Context) error
	}{reg, hb} {
		if err := mgr.Add(r); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("agent %s: %v", name, err)
		}
	})
	framework.Eventually(t, 20*time.Second, "agent "+name+" registered", func() error {
		if !reg.Registered() || hb.LastRenew().IsZero() {
			return fmt.Errorf("registered %v, lease renewed at %v", reg.Registered(), hb.LastRenew())
		}
		return nil
	})
	return a
}

// shortDir is a run directory short enough for Unix socket paths.
func shortDir(t *testing.T) string {
	d, err := os.MkdirTemp("", "ls-run-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(d) })
	return d
}

// refused runs write first as a dry run until the API server refuses it
// with a message containing want (admission policies load asynchronously;
// a dry run changes nothing while they do), then for real, which must be
// refused the same way. It returns the message.
func refused(t *testing.T, what, want string, write func(dryRun bool) error) string {
	t.Helper()
	framework.Eventually(t, 20*time.Second, what+" refused (dry run)", func() error {
		err := write(true)
		if err == nil {
			return fmt.Errorf("accepted")
		}
		if !strings.Contains(err.Error(), want) {
			return fmt.Errorf("refused, but with %q", err.Error())
		}
		return nil
	})
	err := write(false)
	if err == nil {
		t.Fatalf("%s: accepted", what)
	}
	if !strings.Contains(err.Error(), want) {
		t.Fatalf("%s: refused with %q, want it to contain %q", what, err, want)
	}
	if !apierrors.IsForbidden(err) {
		t.Errorf("%s: refused with %v, want 403 Forbidden", what, err)
	}
	t.Logf("%s: refused: %s", what, err)
	return err.Error()
}

func dryRun(yes bool) []client.PatchOption {
	if yes {
		return []client.PatchOption{client.DryRunAll}
	}
	return nil
}
