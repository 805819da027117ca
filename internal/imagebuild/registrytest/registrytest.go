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

// Package registrytest runs a real Docker Registry v2 for tests: Debian's
// docker-registry (distribution 2.8) on 127.0.0.1 with a free port,
// filesystem storage in a temporary directory and htpasswd (bcrypt) basic
// auth with generated credentials. It needs no root.
package registrytest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// DefaultBinary is where Debian's docker-registry package installs the
// registry.
const DefaultBinary = "/usr/bin/docker-registry"

// Options configure Start. The zero value is ready to use.
type Options struct {
	// Binary is the registry executable; DefaultBinary when empty.
	Binary string
	// Username is the only user the registry accepts; "longshore" when
	// empty.
	Username string
	// Password of Username; random when empty.
	Password string
	// Dir holds the configuration, htpasswd file, storage and log; a new
	// temporary directory, removed by Stop, when empty. A given Dir is kept.
	Dir string
	// StartTimeout bounds the wait for the registry to answer; 20s when
	// zero.
	StartTimeout time.Duration
}

// Registry is a running registry.
type Registry struct {
	// URL is the base URL, http://127.0.0.1:PORT.
	URL string
	// Host is 127.0.0.1:PORT, the registry part of an image reference.
	Host string
	// Username and Password are the credentials the registry accepts.
	Username, Password string
	// Dir holds config.yml, htpasswd, the storage (data/) and registry.log.
	Dir string

	cmd        *exec.Cmd
	exited     chan struct{}
	waitErr    error
	removeDir  bool
	stopOnce   sync.Once
	stopResult error
}

// New starts a registry for the test and stops it when the test ends. It
// fails the test when the registry cannot start (for example when
// docker-registry is not installed: `hack/install-tools.sh apt`).
func New(t testing.TB) *Registry {
	t.Helper()
	r, err := Start(context.Background(), Options{})
	if err != nil {
		t.Fatalf("starting docker-registry: %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("docker-registry log:\n%s", r.Log())
		}
		if err := r.Stop(); err != nil {
			t.Errorf("stopping docker-registry: %v", err)
		}
	})
	return r
}

// Start starts a registry and waits until it answers on /v2/. On error
// nothing is left running.
func Start(ctx context.Context, opts Options) (*Registry, error) {
	if opts.Binary == "" {
		opts.Binary = DefaultBinary
	}
	if _, err := os.Stat(opts.Binary); err != nil {
		return nil, fmt.Errorf("docker-registry is not installed (Debian package docker-registry): %w", err)
	}
	if opts.Username == "" {
		opts.Username = "longshore"
	}
	if strings.Contains(opts.Username, ":") {
		return nil, fmt.Errorf("username %q must not contain ':'", opts.Username)
	}
	if opts.Password == "" {
		opts.Password = randomHex(16)
	}
	if opts.StartTimeout == 0 {
		opts.StartTimeout = 20 * time.Second
	}
	removeDir := false
	if opts.Dir == "" {
		d, err := os.MkdirTemp("", "lsregistry-")
		if err != nil {
			return nil, err
		}
		opts.Dir, removeDir = d, true
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(opts.Password), bcrypt.MinCost)
	if err != nil {
		return nil, err
	}
	htpasswd := filepath.Join(opts.Dir, "htpasswd")
	if err := os.WriteFile(htpasswd, []byte(opts.Username+":"+string(hash)+"\n"), 0o600); err != nil {
		return nil, err
	}

	// The port is chosen by binding :0 and releasing it, so another process
	// can take it in between: try a few times.
	var lastErr error
	for range 3 {
		r, exitedEarly, err := start(ctx, opts, htpasswd, removeDir)
		if err == nil {
			return r, nil
		}
		lastErr = err
		if !exitedEarly || ctx.Err() != nil {
			break
		}
	}
	if removeDir {
		_ = os.RemoveAll(opts.Dir)
	}
	return nil, lastErr
}

// start runs the registry on a free port. exitedEarly reports that the
// process ended before it answered, as when another process took the port.
func start(ctx context.Context, opts Options, htpasswd string, removeDir bool) (r *Registry, exitedEarly bool, err error) {
	port, err := freePort()
	if err != nil {
		return nil, false, err
	}
	host := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	config := fmt.Sprintf(`version: 0.1
log:
  level: info
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: %q
  delete:
    enabled: true
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: %q
  secret: %q
auth:
  htpasswd:
    realm: longshore-test
    path: %q
`, filepath.Join(opts.Dir, "data"), host, randomHex(16), htpasswd)
	configPath := filepath.Join(opts.Dir, "config.yml")
	if err := os.WriteFile(configPath, []byte(config), 0o600); err != nil {
		return nil, false, err
	}
	logFile, err := os.OpenFile(filepath.Join(opts.Dir, "registry.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, false, err
	}
	defer func() { _ = logFile.Close() }()

	cmd := exec.Command(opts.Binary, "serve", configPath)
	// No REGISTRY_* variables from the caller's environment: they would
	// override the configuration.
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "HOME=" + opts.Dir}
	cmd.Dir = opts.Dir
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		return nil, false, fmt.Errorf("starting %s: %w", opts.Binary, err)
	}
	r = &Registry{
		URL:       "http://" + host,
		Host:      host,
		Username:  opts.Username,
		Password:  opts.Password,
		Dir:       opts.Dir,
		cmd:       cmd,
		exited:    make(chan struct{}),
		removeDir: removeDir,
	}
	go func() {
		r.waitErr = cmd.Wait()
		close(r.exited)
	}()
	if err := r.waitReady(ctx, opts.StartTimeout); err != nil {
		select {
		case <-r.exited:
			exitedEarly = true
		default:
		}
		r.kill()
		return nil, exitedEarly, fmt.Errorf("%w\nregistry log:\n%s", err, r.Log())
	}
	return r, false, nil
}

// waitReady polls /v2/ until the registry answers 401 (it demands
// credentials) or 200.
func (r *Registry) waitReady(ctx context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	client := &http.Client{Timeout: time.Second}
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.URL+"/v2/", nil)
		if err != nil {
			return err
		}
		if resp, err := client.Do(req); err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-r.exited:
			return fmt.Errorf("docker-registry exited before answering: %v", r.waitErr)
		case <-ctx.Done():
			return fmt.Errorf("docker-registry did not answer on %s/v2/: %w", r.URL, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Log returns what the registry wrote so far.
func (r *Registry) Log() string {
	b, err := os.ReadFile(filepath.Join(r.Dir, "registry.log"))
	if err != nil {
		return err.Error()
	}
	return string(b)
}

// kill ends the registry process: SIGTERM, then SIGKILL after 5s.
func (r *Registry) kill() {
	_ = r.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-r.exited:
	case <-time.After(5 * time.Second):
		_ = r.cmd.Process.Kill()
		<-r.exited
	}
}

// Stop ends the registry and removes its directory when Start created it.
// It is safe to call more than once.
func (r *Registry) Stop() error {
	r.stopOnce.Do(func() {
		r.kill()
		if r.removeDir {
			r.stopResult = os.RemoveAll(r.Dir)
		}
	})
	return r.stopResult
}

// Credentials returns the username and password for host, or empty strings
// for any other host; it fits containerd's docker.WithAuthCreds.
func (r *Registry) Credentials(host string) (string, string, error) {
	if host != r.Host {
		return "", "", nil
	}
	return r.Username, r.Password, nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer func() { _ = l.Close() }()
	addr, ok := l.Addr().(*net.TCPAddr)
	if !ok {
		return 0, errors.New("listener has no TCP address")
	}
	return addr.Port, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
