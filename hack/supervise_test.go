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

// Package hack_test tests the scripts of hack/ that can run without root:
// the supervisor of `make dev`'s components (supervise.sh).
package hack_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// supervisor is one hack/supervise.sh run in a temporary directory.
type supervisor struct {
	t    *testing.T
	name string
	run  string
	logs string
	cmd  *exec.Cmd
}

// supervise starts hack/supervise.sh NAME with a fast back-off: min ms
// doubling to max ms, reset after resetS seconds up.
func supervise(t *testing.T, minMS, maxMS, resetS int, command ...string) *supervisor {
	t.Helper()
	dir := t.TempDir()
	s := &supervisor{t: t, name: "comp", run: filepath.Join(dir, "run"), logs: filepath.Join(dir, "logs")}
	if err := os.MkdirAll(s.run, 0o755); err != nil {
		t.Fatal(err)
	}
	return s.start(minMS, maxMS, resetS, command...)
}

func (s *supervisor) start(minMS, maxMS, resetS int, command ...string) *supervisor {
	s.t.Helper()
	args := append([]string{"supervise.sh", s.name, s.run, s.logs, "--"}, command...)
	s.cmd = exec.Command("bash", args...)
	s.cmd.Env = append(os.Environ(),
		"LONGSHORE_SUPERVISE_BACKOFF_MIN_MS="+strconv.Itoa(minMS),
		"LONGSHORE_SUPERVISE_BACKOFF_MAX_MS="+strconv.Itoa(maxMS),
		"LONGSHORE_SUPERVISE_RESET_S="+strconv.Itoa(resetS))
	s.cmd.Stdout, s.cmd.Stderr = os.Stderr, os.Stderr
	if err := s.cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = s.cmd.Wait(); close(done) }()
	s.t.Cleanup(func() {
		_ = s.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = s.cmd.Process.Kill()
		}
		if pid := s.childPID(); pid > 0 {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	})
	return s
}

// childPID is the pid in NAME.pid (0: none yet).
func (s *supervisor) childPID() int {
	b, err := os.ReadFile(filepath.Join(s.run, s.name+".pid"))
	if err != nil {
		return 0
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return pid
}

// restarts returns the lines of restarts.log.
func (s *supervisor) restarts() []string {
	b, _ := os.ReadFile(filepath.Join(s.logs, "restarts.log"))
	return strings.FieldsFunc(string(b), func(r rune) bool { return r == '\n' })
}

// state returns the fields of NAME.restarts: count, time, last exit.
func (s *supervisor) state() []string {
	b, _ := os.ReadFile(filepath.Join(s.run, s.name+".restarts"))
	return strings.Split(strings.TrimRight(string(b), "\n"), "\t")
}

func eventually(t *testing.T, timeout time.Duration, what string, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not true after %s: %v", what, timeout, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func alive(pid int) bool { return pid > 0 && syscall.Kill(pid, 0) == nil }

var restartLine = regexp.MustCompile(`^\S+ comp \(pid (\d+)\) exited with (.*) after (\d+)s up; restart (\d+) in (\d+) ms$`)

// parse splits a restarts.log line into its status, restart number and delay.
func parse(t *testing.T, line string) (status string, n, delayMS int) {
	t.Helper()
	m := restartLine.FindStringSubmatch(line)
	if m == nil {
		t.Fatalf("restarts.log line %q is not in the expected form", line)
	}
	n, _ = strconv.Atoi(m[4])
	delayMS, _ = strconv.Atoi(m[5])
	return m[2], n, delayMS
}

func TestSuperviseRestartsWithBackoff(t *testing.T) {
	s := supervise(t, 100, 400, 60, "sh", "-c", "echo started; exit 3")
	eventually(t, 10*time.Second, "five restarts", func() error {
		if n := len(s.restarts()); n < 5 {
			return fmt.Errorf("%d restarts", n)
		}
		return nil
	})
	lines := s.restarts()
	for i, want := range []int{100, 200, 400, 400, 400} {
		status, n, delay := parse(t, lines[i])
		if status != "status 3" || n != i+1 || delay != want {
			t.Errorf("restart %d: %q; want status 3, restart %d in %d ms", i+1, lines[i], i+1, want)
		}
	}
	log, _ := os.ReadFile(filepath.Join(s.logs, "comp.log"))
	if c := strings.Count(string(log), "started\n"); c < 5 {
		t.Errorf("the component's output shows %d starts, want at least 5:\n%s", c, log)
	}
	if !strings.Contains(string(log), "==> supervisor ") || !strings.Contains(string(log), "exited with status 3 after 0s up; restart 1 in 0.100s") {
		t.Errorf("the component's log does not record the restarts:\n%s", log)
	}
	st := s.state()
	if n, _ := strconv.Atoi(st[0]); len(st) != 3 || n < 5 || !strings.HasPrefix(st[2], "status 3 after ") {
		t.Errorf("state file %q: want a count of at least 5 and the last exit", st)
	}
}

func TestSuperviseResetsBackoffAfterUptime(t *testing.T) {
	// Up for more than a second each time; the reset is one second.
	s := supervise(t, 50, 400, 1, "sh", "-c", "sleep 1.2; exit 0")
	eventually(t, 15*time.Second, "three restarts", func() error {
		if n := len(s.restarts()); n < 3 {
			return fmt.Errorf("%d restarts", n)
		}
		return nil
	})
	for _, line := range s.restarts()[:3] {
		if status, _, delay := parse(t, line); status != "status 0" || delay != 50 {
			t.Errorf("%q: want status 0 and the minimal delay (50 ms) after a long enough run", line)
		}
	}
}

func TestSuperviseDescribesSignals(t *testing.T) {
	s := supervise(t, 100, 400, 60, "sleep", "30")
	var first int
	eventually(t, 5*time.Second, "the component running", func() error {
		if first = s.childPID(); !alive(first) {
			return fmt.Errorf("pid %d", first)
		}
		return nil
	})
	if err := syscall.Kill(first, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "a new pid", func() error {
		if pid := s.childPID(); pid == first || !alive(pid) {
			return fmt.Errorf("pid %d", pid)
		}
		return nil
	})
	lines := s.restarts()
	if len(lines) != 1 {
		t.Fatalf("restarts.log: %q, want one line", lines)
	}
	if status, n, _ := parse(t, lines[0]); status != "status 137 (killed by SIGKILL)" || n != 1 {
		t.Errorf("%q: want status 137 (killed by SIGKILL), restart 1", lines[0])
	}
}

// SIGTERM ends the supervisor alone: the component keeps running and is
// not restarted, so hack/dev.sh can stop it as it likes (stop-agent KILL).
func TestSuperviseTermLeavesComponent(t *testing.T) {
	s := supervise(t, 100, 400, 60, "sleep", "30")
	var pid int
	eventually(t, 5*time.Second, "the component running", func() error {
		if pid = s.childPID(); !alive(pid) {
			return fmt.Errorf("pid %d", pid)
		}
		return nil
	})
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	eventually(t, 2*time.Second, "the supervisor gone", func() error {
		if alive(s.cmd.Process.Pid) {
			// Reaped by the goroutine in start once it exits.
			return fmt.Errorf("supervisor %d runs", s.cmd.Process.Pid)
		}
		return nil
	})
	if !alive(pid) {
		t.Fatalf("the component (pid %d) ended with its supervisor", pid)
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	if l := s.restarts(); len(l) != 0 || s.childPID() != pid {
		t.Errorf("restarted after its supervisor was stopped: %q, pid %d (was %d)", l, s.childPID(), pid)
	}
}

// A component already running when the supervisor starts is watched, not
// started twice; once it exits, the supervisor starts it.
func TestSuperviseAdoptsRunningComponent(t *testing.T) {
	dir := t.TempDir()
	s := &supervisor{t: t, name: "comp", run: filepath.Join(dir, "run"), logs: filepath.Join(dir, "logs")}
	if err := os.MkdirAll(s.run, 0o755); err != nil {
		t.Fatal(err)
	}
	old := exec.Command("sleep", "1")
	if err := old.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = old.Wait() }()
	if err := os.WriteFile(filepath.Join(s.run, "comp.pid"), []byte(strconv.Itoa(old.Process.Pid)+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	s.start(100, 400, 60, "sleep", "30")
	time.Sleep(300 * time.Millisecond)
	if got := s.childPID(); got != old.Process.Pid || len(s.restarts()) != 0 {
		t.Fatalf("pid %d (want the adopted %d), restarts %q", got, old.Process.Pid, s.restarts())
	}
	eventually(t, 5*time.Second, "the component started after the adopted one exited", func() error {
		if pid := s.childPID(); pid == old.Process.Pid || !alive(pid) {
			return fmt.Errorf("pid %d", pid)
		}
		return nil
	})
	lines := s.restarts()
	if len(lines) != 1 || !strings.Contains(lines[0], "exited with an unknown status (adopted") {
		t.Errorf("restarts.log %q: want one restart of unknown status", lines)
	}
}
