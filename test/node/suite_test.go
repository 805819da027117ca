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

// Package node holds the node test layer: the real agent against a real
// containerd + runc (+ CNI later), started by the project's own scripts. It
// needs root; `make test-node` runs it.
package node

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	ecsv1 "github.com/longshore-io/longshore/api/v1alpha1"
	"github.com/longshore-io/longshore/test/integration/framework"
)

var env *framework.Env

func TestMain(m *testing.M) {
	if os.Geteuid() != 0 {
		fmt.Fprintln(os.Stderr, "node tests need root (containerd, runc, network namespaces): run `make test-node` as root")
		os.Exit(1)
	}
	var err error
	env, err = framework.Start()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	// The Cluster of the tests' tasks: the agent applies its security
	// policy to the tasks bound to it; the host-mode tests need host
	// networking.
	if err := env.Client.Create(context.Background(), &ecsv1.Cluster{ObjectMeta: metav1.ObjectMeta{Name: ecsv1.DefaultClusterName},
		Spec: ecsv1.ClusterSpec{Security: ecsv1.ClusterSecurity{AllowHostNetwork: true}}}); err != nil {
		fmt.Fprintln(os.Stderr, "creating the default Cluster:", err)
		_ = env.Stop()
		os.Exit(1)
	}
	code := m.Run()
	_ = env.Stop()
	if agentBin != "" {
		_ = os.RemoveAll(filepath.Dir(agentBin)) // the binaries built for the tests
	}
	os.Exit(code)
}

// pinned reads a version from hack/versions.env.
func pinned(t *testing.T, key string) string {
	t.Helper()
	f, err := os.Open(filepath.Join(framework.RepoRoot(), "hack", "versions.env"))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if v, ok := strings.CutPrefix(s.Text(), key+"="); ok {
			return v
		}
	}
	t.Fatalf("%s not in hack/versions.env", key)
	return ""
}

// startContainerd starts a private containerd with hack/containerd.sh and
// stops it (containers, shims, mounts) when the test ends. It returns the
// socket path.
func startContainerd(t *testing.T) string {
	t.Helper()
	// A short directory: unix socket paths are limited to 108 bytes.
	dir, err := os.MkdirTemp("/tmp", "lsnode-")
	if err != nil {
		t.Fatal(err)
	}
	script := filepath.Join(framework.RepoRoot(), "hack", "containerd.sh")
	if out, err := exec.Command(script, "start", dir).CombinedOutput(); err != nil {
		t.Fatalf("starting containerd: %v\n%s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command(script, "stop", dir).CombinedOutput(); err != nil {
			t.Errorf("stopping containerd: %v\n%s", err, out)
		}
		if t.Failed() {
			b, _ := os.ReadFile(filepath.Join(dir, "containerd.log"))
			t.Logf("containerd log:\n%s", b)
		}
		_ = os.RemoveAll(dir)
	})
	return filepath.Join(dir, "containerd.sock")
}
