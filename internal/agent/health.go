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
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"runtime"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sys/unix"
	"k8s.io/utils/clock"

	ecsv1 "github.com/longshore-io/longshore/api/v1alpha1"
	lsruntime "github.com/longshore-io/longshore/internal/runtime"
)

// healthTarget says where a container's probes go.
type healthTarget struct {
	ContainerID string
	// NetNSPath is the namespace httpGet and tcpSocket probes dial from
	// ("" = the host's); they connect to 127.0.0.1:<port> inside it.
	NetNSPath string
}

// healthManager runs one health checker per running container with a
// healthCheck and remembers each container's last health. It calls notify
// (task namespace/name) when a health status changes.
type healthManager struct {
	runtime lsruntime.Containers
	clock   clock.Clock
	notify  func(namespace, name string)

	mu       sync.Mutex
	checkers map[string]*checker // by container ID
}

type checker struct {
	cancel context.CancelFunc
	mu     sync.Mutex
	status ecsv1.HealthStatus
	output string
}

func newHealthManager(rt lsruntime.Containers, clk clock.Clock, notify func(namespace, name string)) *healthManager {
	return &healthManager{runtime: rt, clock: clk, notify: notify, checkers: map[string]*checker{}}
}

// Ensure starts a checker for the container unless one runs.
func (h *healthManager) Ensure(ctx context.Context, task *ecsv1.Task, hc *ecsv1.HealthCheck, target healthTarget) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.checkers[target.ContainerID]; ok {
		return
	}
	cctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	c := &checker{cancel: cancel, status: ecsv1.HealthUnknown}
	h.checkers[target.ContainerID] = c
	ns, name := task.Namespace, task.Name
	go h.run(cctx, c, hc.DeepCopy(), target, func() { h.notify(ns, name) })
}

// Status is the container's last health (UNKNOWN without a checker).
func (h *healthManager) Status(containerID string) ecsv1.HealthStatus {
	h.mu.Lock()
	c, ok := h.checkers[containerID]
	h.mu.Unlock()
	if !ok {
		return ecsv1.HealthUnknown
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.status
}

// Stop ends the container's checker.
func (h *healthManager) Stop(containerID string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if c, ok := h.checkers[containerID]; ok {
		c.cancel()
		delete(h.checkers, containerID)
	}
}

func (h *healthManager) run(ctx context.Context, c *checker, hc *ecsv1.HealthCheck, target healthTarget, changed func()) {
	start := h.clock.Now()
	interval := time.Duration(max(hc.Interval, 1)) * time.Second
	timeout := time.Duration(max(hc.Timeout, 1)) * time.Second
	retries := int(max(hc.Retries, 1))
	startPeriod := time.Duration(hc.StartPeriod) * time.Second
	failures := 0
	// The first probe runs a second after start rather than one interval
	// later, so that HEALTHY dependencies are not held back needlessly.
	wait := time.Second
	for {
		select {
		case <-ctx.Done():
			return
		case <-h.clock.After(wait):
		}
		wait = interval
		ok, out := h.probe(ctx, hc, target, timeout)
		if ctx.Err() != nil {
			return
		}
		c.mu.Lock()
		prev := c.status
		c.output = out
		switch {
		case ok:
			failures = 0
			c.status = ecsv1.HealthHealthy
		case h.clock.Since(start) < startPeriod:
			// Failures during the start period do not count.
		default:
			failures++
			if failures >= retries {
				c.status = ecsv1.HealthUnhealthy
			}
		}
		now := c.status
		c.mu.Unlock()
		if now != prev {
			changed()
		}
	}
}

func (h *healthManager) probe(ctx context.Context, hc *ecsv1.HealthCheck, target healthTarget, timeout time.Duration) (bool, string) {
	switch {
	case len(hc.Command) >= 2:
		args := hc.Command[1:]
		if hc.Command[0] == "CMD-SHELL" {
			args = []string{"/bin/sh", "-c", joinShell(hc.Command[1:])}
		}
		res, err := h.runtime.Exec(ctx, target.ContainerID, args, timeout)
		if err != nil {
			return false, err.Error()
		}
		return res.ExitCode == 0, res.Output
	case hc.HTTPGet != nil:
		err := inNetNS(target.NetNSPath, func() error {
			return httpProbe(ctx, hc.HTTPGet.Port, hc.HTTPGet.Path, timeout)
		})
		return err == nil, errString(err)
	case hc.TCPSocket != nil:
		err := inNetNS(target.NetNSPath, func() error {
			conn, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(int(hc.TCPSocket.Port))), timeout)
			if err != nil {
				return err
			}
			return conn.Close()
		})
		return err == nil, errString(err)
	}
	return false, "health check has no probe"
}

func joinShell(parts []string) string {
	out := ""
	for i, p := range parts {
		if i > 0 {
			out += " "
		}
		out += p
	}
	return out
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func httpProbe(ctx context.Context, port int32, path string, timeout time.Duration) error {
	if path == "" {
		path = "/"
	}
	// Dial here, on the (namespace-switched) thread: an http.Transport would
	// dial from another goroutine, hence possibly another namespace.
	conn, err := (&net.Dialer{Timeout: timeout}).DialContext(ctx, "tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(int(port))))
	if err != nil {
		return err
	}
	defer func() { _ = conn.Close() }()
	_ = conn.SetDeadline(time.Now().Add(timeout))
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("http://127.0.0.1:%d%s", port, path), nil)
	if err != nil {
		return err
	}
	req.Header.Set("User-Agent", "longshore-agent-healthcheck")
	req.Close = true
	if err := req.Write(conn); err != nil {
		return err
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), req)
	if err != nil {
		return err
	}
	_ = resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode >= 400 {
		return fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	return nil
}

// inNetNS runs fn on a thread switched into the network namespace at path
// ("" runs it in place), then switches the thread back. If it cannot switch
// back, the thread stays locked and dies with the goroutine, so no other
// goroutine ever runs in the task's namespace. (Merely never unlocking is
// not enough: a goroutine on the main thread parks it instead of ending it,
// keeping the namespace alive.)
func inNetNS(path string, fn func() error) error {
	if path == "" {
		return fn()
	}
	errC := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := unix.Open(fmt.Sprintf("/proc/self/task/%d/ns/net", unix.Gettid()), unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			runtime.UnlockOSThread()
			errC <- fmt.Errorf("opening this thread's network namespace: %w", err)
			return
		}
		defer func() { _ = unix.Close(orig) }()
		fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			runtime.UnlockOSThread()
			errC <- fmt.Errorf("opening network namespace %s: %w", path, err)
			return
		}
		err = unix.Setns(fd, unix.CLONE_NEWNET)
		_ = unix.Close(fd)
		if err != nil {
			runtime.UnlockOSThread()
			errC <- fmt.Errorf("entering network namespace %s: %w", path, err)
			return
		}
		res := fn()
		if unix.Setns(orig, unix.CLONE_NEWNET) == nil {
			runtime.UnlockOSThread()
		}
		errC <- res
	}()
	return <-errC
}
