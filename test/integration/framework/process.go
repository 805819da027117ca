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

package framework

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// BuildBinary compiles the main package pkg (e.g. "./cmd/agent") into a
// temporary directory and returns the binary's path.
func BuildBinary(t *testing.T, pkg string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), filepath.Base(pkg))
	cmd := exec.Command("go", "build", "-o", out, pkg)
	cmd.Dir = RepoRoot()
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, b)
	}
	return out
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = l.Close() }()
	return l.Addr().(*net.TCPAddr).Port
}

// AdminKubeconfig writes a kubeconfig of a system:masters user of the
// envtest apiserver and returns its path.
func (e *Env) AdminKubeconfig(t *testing.T) string {
	t.Helper()
	u, err := e.Env.AddUser(envtest.User{Name: "test-admin", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := u.KubeConfig()
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// Process is a binary started by a test, with its output in a log file that
// is printed when the test fails.
type Process struct {
	Cmd  *exec.Cmd
	Log  string
	done chan error
}

// StartProcess runs bin with args; the test's cleanup stops it.
func StartProcess(t *testing.T, bin string, args ...string) *Process {
	t.Helper()
	p := StartUnmanaged(t, bin, args...)
	t.Cleanup(func() { p.StopAndReport(t) })
	return p
}

// StopAndReport stops the process and, if the test failed, logs the tail of
// its output.
func (p *Process) StopAndReport(t *testing.T) {
	_ = p.Stop(10 * time.Second)
	if t.Failed() {
		b, _ := os.ReadFile(p.Log)
		t.Logf("%s output:\n%s", filepath.Base(p.Cmd.Path), tail(string(b), 60))
	}
}

// StartUnmanaged runs bin with args; the caller stops it (StopAndReport).
func StartUnmanaged(t *testing.T, bin string, args ...string) *Process {
	t.Helper()
	logPath := filepath.Join(t.TempDir(), filepath.Base(bin)+".log")
	f, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", bin, err)
	}
	p := &Process{Cmd: cmd, Log: logPath, done: make(chan error, 1)}
	go func() { p.done <- cmd.Wait(); _ = f.Close() }()
	return p
}

// Stop sends SIGTERM and waits up to grace for the exit; then SIGKILL.
// It returns the process's exit error (nil for exit code 0).
func (p *Process) Stop(grace time.Duration) error {
	if p.Cmd.ProcessState != nil {
		return nil
	}
	_ = p.Cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.done:
		p.done <- err
		return err
	case <-time.After(grace):
		_ = p.Cmd.Process.Kill()
		return fmt.Errorf("did not exit within %s of SIGTERM", grace)
	}
}

// Exited reports whether the process ended, and how.
func (p *Process) Exited() (bool, error) {
	select {
	case err := <-p.done:
		p.done <- err
		return true, err
	default:
		return false, nil
	}
}

func tail(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// HTTPGet fetches url and returns the status code and body.
func HTTPGet(ctx context.Context, url string) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// GetOK fetches url within timeout and returns the body of a 200 answer;
// any other status is an error.
func GetOK(url string, timeout time.Duration) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	code, body, err := HTTPGet(ctx, url)
	if err == nil && code != http.StatusOK {
		err = fmt.Errorf("GET %s: HTTP %d", url, code)
	}
	return body, err
}

// Eventually polls cond every 100 ms until it returns nil, and returns
// how long that took; it fails the test with cond's last error once
// timeout passes.
func Eventually(t *testing.T, timeout time.Duration, what string, cond func() error) time.Duration {
	t.Helper()
	start := time.Now()
	deadline := start.Add(timeout)
	for {
		err := cond()
		if err == nil {
			return time.Since(start)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not true after %s: %v", what, timeout, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
