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

package agent

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clocktesting "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ecsv1 "github.com/longshore-io/longshore/api/v1alpha1"
	"github.com/longshore-io/longshore/internal/agent"
	lsruntime "github.com/longshore-io/longshore/internal/runtime"
	"github.com/longshore-io/longshore/test/integration/framework"
)

var env *framework.Env

func TestMain(m *testing.M) {
	var err error
	env, err = framework.Start()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	_ = env.Stop()
	os.Exit(code)
}

func registrar(name, cluster string, clk *clocktesting.FakeClock) *agent.Registrar {
	return &agent.Registrar{
		Client:  env.Client,
		Runtime: &lsruntime.Fake{VersionStr: "containerd v2.4.2"},
		Host:    agent.HostInfo{Hostname: "Host-1", CPUCores: 4, MemoryMiB: 8192, OS: "linux", Arch: "x86_64"},
		Clock:   clk,
		Config: agent.Config{
			InstanceName: name, Cluster: cluster, AvailabilityZone: "b",
			MemoryReserveMiB: 512, ReservedPorts: []int32{22, 2375, 22}, ReservedPortsUDP: []int32{53},
		},
	}
}

func TestRegistrationCreatesAndReportsTheInstance(t *testing.T) {
	ctx := t.Context()
	clk := clocktesting.NewFakeClock(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	r := registrar("host-1", "default", clk)
	if err := r.Register(ctx); err != nil {
		t.Fatal(err)
	}
	ci := &ecsv1.ContainerInstance{}
	if err := env.Client.Get(ctx, client.ObjectKey{Name: "host-1"}, ci); err != nil {
		t.Fatal(err)
	}
	if ci.Spec.Cluster != "default" || ci.Spec.State != ecsv1.ContainerInstanceActive {
		t.Errorf("spec = %+v, want cluster default, state ACTIVE", ci.Spec)
	}
	want := ecsv1.ContainerInstanceStatus{
		RegisteredResources: &ecsv1.Resources{CPU: 4096, Memory: 7680, Ports: []int32{22, 2375}, PortsUDP: []int32{53}},
		Attributes: []ecsv1.Attribute{
			{Name: "ecs.availability-zone", Value: "b"},
			{Name: "ecs.cpu-architecture", Value: "x86_64"},
			{Name: "ecs.hostname", Value: "Host-1"},
			{Name: "ecs.instance-id", Value: "host-1"},
			{Name: "ecs.os-type", Value: "linux"},
		},
		AgentVersion:   "dev",
		RuntimeVersion: "containerd v2.4.2",
		RegisteredAt:   &metav1.Time{Time: clk.Now()},
	}
	if d := cmp.Diff(want, ci.Status); d != "" {
		t.Errorf("status (-want +got):\n%s", d)
	}

	// The manager owns other status fields; re-registration must keep them
	// and keep the first registration time.
	patch := client.MergeFrom(ci.DeepCopy())
	ci.Status.AgentConnected = ptr.To(true)
	ci.Status.TaskCIDR = "10.222.7.0/24"
	ci.Status.RunningTasksCount = 3
	if err := env.Client.Status().Patch(ctx, ci, patch, client.FieldOwner("longshore-manager")); err != nil {
		t.Fatal(err)
	}
	clk.Step(time.Hour)
	r.Runtime = &lsruntime.Fake{VersionStr: "containerd v2.4.3"}
	if err := r.Register(ctx); err != nil {
		t.Fatal(err)
	}
	if err := env.Client.Get(ctx, client.ObjectKey{Name: "host-1"}, ci); err != nil {
		t.Fatal(err)
	}
	if !ci.Status.Connected() || ci.Status.TaskCIDR != "10.222.7.0/24" || ci.Status.RunningTasksCount != 3 {
		t.Errorf("re-registration clobbered manager-owned fields: %+v", ci.Status)
	}
	if ci.Status.RuntimeVersion != "containerd v2.4.3" {
		t.Errorf("runtimeVersion = %q, want the new version", ci.Status.RuntimeVersion)
	}
	if !ci.Status.RegisteredAt.Time.Equal(want.RegisteredAt.Time) {
		t.Errorf("registeredAt moved from %v to %v", want.RegisteredAt, ci.Status.RegisteredAt)
	}
	if !r.Registered() {
		t.Error("Registered() = false after a successful registration")
	}
}

func TestRegistrationRefusesAnotherClustersInstance(t *testing.T) {
	ctx := t.Context()
	ci := &ecsv1.ContainerInstance{ObjectMeta: metav1.ObjectMeta{Name: "host-2"}, Spec: ecsv1.ContainerInstanceSpec{Cluster: "blue"}}
	if err := env.Client.Create(ctx, ci); err != nil {
		t.Fatal(err)
	}
	r := registrar("host-2", "green", clocktesting.NewFakeClock(time.Now()))
	err := r.Register(ctx)
	if err == nil || !strings.Contains(err.Error(), `belongs to cluster "blue" but the agent was started with --cluster="green"`) {
		t.Fatalf("want a clear cluster conflict error, got %v", err)
	}
	// Start gives up at once on a conflict instead of retrying forever.
	startCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := r.Start(startCtx); err == nil {
		t.Fatal("Start returned nil on a cluster conflict")
	}
	if r.Registered() {
		t.Error("Registered() = true after a refused registration")
	}
}

func TestRegistrationFailsWhileTheRuntimeIsDown(t *testing.T) {
	r := registrar("host-3", "default", clocktesting.NewFakeClock(time.Now()))
	r.Runtime = &lsruntime.Fake{Err: fmt.Errorf("connection refused")}
	if err := r.Register(t.Context()); err == nil {
		t.Fatal("registered without a runtime")
	}
	if err := env.Client.Get(t.Context(), client.ObjectKey{Name: "host-3"}, &ecsv1.ContainerInstance{}); err == nil {
		t.Error("a ContainerInstance was created although the runtime did not answer")
	}
}

func TestHeartbeatRenewsTheLease(t *testing.T) {
	ctx := t.Context()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "longshore-system"}}
	if err := env.Client.Create(ctx, ns); err != nil {
		t.Fatal(err)
	}
	clk := clocktesting.NewFakeClock(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	hb := &agent.Heartbeat{Client: env.Client, Namespace: "longshore-system", InstanceName: "host-1",
		Interval: 2 * time.Second, Duration: 10 * time.Second, Clock: clk}
	if err := hb.Renew(ctx); err != nil {
		t.Fatal(err)
	}
	lease := &coordinationv1.Lease{}
	key := client.ObjectKey{Namespace: "longshore-system", Name: "host-1"}
	if err := env.Client.Get(ctx, key, lease); err != nil {
		t.Fatal(err)
	}
	if *lease.Spec.HolderIdentity != "host-1" || *lease.Spec.LeaseDurationSeconds != 10 ||
		!lease.Spec.RenewTime.Time.Equal(clk.Now()) {
		t.Errorf("lease after the first renewal: %+v", lease.Spec)
	}
	clk.Step(2 * time.Second)
	if err := hb.Renew(ctx); err != nil {
		t.Fatal(err)
	}
	if err := env.Client.Get(ctx, key, lease); err != nil {
		t.Fatal(err)
	}
	if !lease.Spec.RenewTime.Time.Equal(clk.Now()) {
		t.Errorf("renewTime = %v, want %v", lease.Spec.RenewTime, clk.Now())
	}
	if !hb.LastRenew().Equal(clk.Now()) {
		t.Errorf("LastRenew = %v, want %v", hb.LastRenew(), clk.Now())
	}
}
