//go:build node

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

package node

import (
	"fmt"
	"strings"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ecsv1 "github.com/longshore-io/longshore/api/v1alpha1"
	lsruntime "github.com/longshore-io/longshore/internal/runtime"
	"github.com/longshore-io/longshore/test/integration/framework"
)

// TestContainerdVersion talks to the containerd built at the pinned version.
func TestContainerdVersion(t *testing.T) {
	sock := startContainerd(t)
	rt, err := lsruntime.NewContainerd(sock, "longshore")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = rt.Close() }()
	v, err := rt.Version(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if want := "containerd " + pinned(t, "CONTAINERD_VERSION"); v != want {
		t.Errorf("Version = %q, want %q (the daemon must match the Go client in go.mod)", v, want)
	}
}

// TestAgentBinaryRegistersAndHeartbeats runs bin/longshore-agent against
// envtest and a real containerd: it registers its ContainerInstance with the
// runtime's version, renews its Lease, turns ready, serves metrics, and
// exits cleanly on SIGTERM.
func TestAgentBinaryRegistersAndHeartbeats(t *testing.T) {
	ctx := t.Context()
	sock := startContainerd(t)
	if err := env.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "longshore-system"}}); err != nil {
		t.Fatal(err)
	}
	bin := framework.BuildBinary(t, "./cmd/agent")
	metrics, probes := framework.FreePort(t), framework.FreePort(t)
	agent := framework.StartProcess(t, bin, "--kubeconfig", env.AdminKubeconfig(t),
		"--instance-name", "node-test", "--availability-zone", "z1",
		"--containerd-address", sock, "--containerd-namespace", "longshore-test",
		"--lease-namespace", "longshore-system", "--lease-renew-interval", "500ms", "--lease-duration", "2s",
		"--metrics-bind-address", fmt.Sprintf("127.0.0.1:%d", metrics),
		"--health-probe-bind-address", fmt.Sprintf("127.0.0.1:%d", probes))

	framework.Eventually(t, 30*time.Second, "agent ready", func() error {
		code, body, err := framework.HTTPGet(ctx, fmt.Sprintf("http://127.0.0.1:%d/readyz", probes))
		if err != nil || code != 200 {
			return fmt.Errorf("%d %s %v", code, body, err)
		}
		return nil
	})
	ci := &ecsv1.ContainerInstance{}
	if err := env.Client.Get(ctx, client.ObjectKey{Name: "node-test"}, ci); err != nil {
		t.Fatal(err)
	}
	if want := "containerd " + pinned(t, "CONTAINERD_VERSION"); ci.Status.RuntimeVersion != want {
		t.Errorf("runtimeVersion = %q, want %q", ci.Status.RuntimeVersion, want)
	}
	if r := ci.Status.RegisteredResources; r == nil || r.CPU < 1024 || r.CPU%1024 != 0 || r.Memory <= 0 {
		t.Errorf("registeredResources = %+v, want whole cores x1024 and some memory", r)
	}

	lease := &coordinationv1.Lease{}
	key := client.ObjectKey{Namespace: "longshore-system", Name: "node-test"}
	if err := env.Client.Get(ctx, key, lease); err != nil {
		t.Fatal(err)
	}
	first := lease.Spec.RenewTime.Time
	framework.Eventually(t, 5*time.Second, "lease renewed", func() error {
		if err := env.Client.Get(ctx, key, lease); err != nil {
			return err
		}
		if !lease.Spec.RenewTime.After(first) {
			return fmt.Errorf("renewTime still %v", first)
		}
		return nil
	})

	_, body, err := framework.HTTPGet(ctx, fmt.Sprintf("http://127.0.0.1:%d/metrics", metrics))
	if err != nil || !strings.Contains(body, "go_goroutines") {
		t.Errorf("metrics endpoint: %v", err)
	}
	if err := agent.Stop(10 * time.Second); err != nil {
		t.Errorf("agent did not exit cleanly on SIGTERM: %v", err)
	}
}
