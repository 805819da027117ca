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

package manager

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

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

type manager struct {
	proc            *framework.Process
	metrics, probes int
}

func startManager(t *testing.T, bin, kubeconfig string) *manager {
	m := &manager{metrics: framework.FreePort(t), probes: framework.FreePort(t)}
	m.proc = framework.StartProcess(t, bin, "--kubeconfig", kubeconfig,
		"--metrics-bind-address", fmt.Sprintf("127.0.0.1:%d", m.metrics),
		"--health-probe-bind-address", fmt.Sprintf("127.0.0.1:%d", m.probes),
		"--leader-election-namespace", "longshore-system",
		"--leader-election-lease-duration", "4s", "--leader-election-renew-deadline", "3s")
	return m
}

func (m *manager) url(port int, path string) string {
	return fmt.Sprintf("http://127.0.0.1:%d%s", port, path)
}

func leaseHolder(t *testing.T) string {
	lease := &coordinationv1.Lease{}
	if err := env.Client.Get(t.Context(), client.ObjectKey{Namespace: "longshore-system", Name: "longshore-manager"}, lease); err != nil {
		return ""
	}
	if lease.Spec.HolderIdentity == nil {
		return ""
	}
	return *lease.Spec.HolderIdentity
}

// TestManagerBinary starts two longshore-manager processes: both become
// ready and serve metrics, exactly one holds the leader Lease, and when it
// stops the other takes over.
func TestManagerBinary(t *testing.T) {
	ctx := t.Context()
	if err := env.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "longshore-system"}}); err != nil {
		t.Fatal(err)
	}
	bin := framework.BuildBinary(t, "./cmd/manager")
	kubeconfig := env.AdminKubeconfig(t)

	first := startManager(t, bin, kubeconfig)
	for _, path := range []string{"/healthz", "/readyz"} {
		framework.Eventually(t, 30*time.Second, "first manager "+path, func() error {
			code, body, err := framework.HTTPGet(ctx, first.url(first.probes, path))
			if err != nil || code != 200 {
				return fmt.Errorf("%d %s %v", code, body, err)
			}
			return nil
		})
	}
	var holder string
	framework.Eventually(t, 30*time.Second, "a leader", func() error {
		if holder = leaseHolder(t); holder == "" {
			return fmt.Errorf("no holder")
		}
		return nil
	})
	framework.Eventually(t, 10*time.Second, "leader metric", func() error {
		_, body, err := framework.HTTPGet(ctx, first.url(first.metrics, "/metrics"))
		if err != nil || !strings.Contains(body, `leader_election_master_status{name="longshore-manager"} 1`) {
			return fmt.Errorf("metrics do not report leadership (%v)", err)
		}
		return nil
	})

	second := startManager(t, bin, kubeconfig)
	framework.Eventually(t, 30*time.Second, "second manager ready", func() error {
		code, _, err := framework.HTTPGet(ctx, second.url(second.probes, "/readyz"))
		if err != nil || code != 200 {
			return fmt.Errorf("%d %v", code, err)
		}
		return nil
	})
	// A standby never takes the lease while the leader renews it.
	time.Sleep(5 * time.Second)
	if got := leaseHolder(t); got != holder {
		t.Fatalf("leader changed from %q to %q while the first manager ran", holder, got)
	}
	_, body, _ := framework.HTTPGet(ctx, second.url(second.metrics, "/metrics"))
	if strings.Contains(body, `leader_election_master_status{name="longshore-manager"} 1`) {
		t.Fatal("the standby reports itself leader")
	}

	if err := first.proc.Stop(15 * time.Second); err != nil {
		t.Fatalf("first manager did not exit cleanly on SIGTERM: %v", err)
	}
	framework.Eventually(t, 20*time.Second, "the standby takes over", func() error {
		if got := leaseHolder(t); got == "" || got == holder {
			return fmt.Errorf("holder %q", got)
		}
		return nil
	})
}
