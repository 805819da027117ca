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
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
	"k8s.io/utils/ptr"

	ecsv1 "github.com/longshore-io/longshore/api/v1alpha1"
	lsruntime "github.com/longshore-io/longshore/internal/runtime"
)

// TestTaskPIDAndIPCNamespaces: with pidMode and ipcMode task the containers
// of a task see each other's processes and share System V IPC, in
// namespaces held by the task's holder (PID 1 of the task, the init
// binary's pause), and one /dev/shm (POSIX shared memory); after an agent
// restart, a container its restart policy replaces joins the same
// namespaces and /dev/shm; nothing is left once the task stops (the leak
// checks: no container, no snapshot, no task directory; no mount).
func TestTaskPIDAndIPCNamespaces(t *testing.T) {
	if testing.Short() {
		t.Skip("needs the 60 s minimum restartAttemptPeriod")
	}
	n := newNode(t, "node-pidipc")
	a := container("a", "sleep", "3600")
	b := container("b", "sh", "-c", "sleep 61; exit 2")
	b.Essential = ptr.To(false)
	b.RestartPolicy = &ecsv1.RestartPolicy{Enabled: true, RestartAttemptPeriod: 60}
	task := n.task("pidipc", ecsv1.TaskDefinitionSpec{NetworkMode: ecsv1.NetworkModeNone, PidMode: "task", IpcMode: "task",
		ContainerDefinitions: []ecsv1.ContainerDefinition{a, b}})
	got := n.wait(task, 60*time.Second, "RUNNING", phase(ecsv1.TaskRunning))

	holder := n.holderID(t)
	holderPID := n.containerPID(holder)
	if holderPID == "" {
		t.Fatalf("the namespace holder %s runs no process", holder)
	}
	aPID := n.containerPID(runtimeID(got, "a"))

	// b sees a's sleep, and PID 1 is the holder's pause.
	sees := func(tk *ecsv1.Task, when string) {
		t.Helper()
		// (ctr's own warnings come with the output: look for the line.)
		out, err := n.exec(tk, "b", "cat", "/proc/1/cmdline")
		if err != nil || !strings.Contains(out, "\n/.longshore/init\x00pause\x00") && !strings.HasPrefix(out, "/.longshore/init\x00pause\x00") {
			t.Errorf("%s: PID 1 of the task is %q (%v), want the holder's pause", when, out, err)
		}
		out, err = n.exec(tk, "b", "sh", "-c", "cat /proc/[0-9]*/cmdline")
		if err != nil || !strings.Contains(out, "sleep\x003600\x00") {
			t.Errorf("%s: container b does not see container a's sleep 3600 (%v): %q", when, err, out)
		}
	}
	sees(got, "started")

	// A System V shared memory segment made in a's IPC namespace is b's.
	shmid := shmInNamespace(t, "/proc/"+aPID+"/ns/ipc")
	hasSegment := func(tk *ecsv1.Task, when string) {
		t.Helper()
		out, err := n.exec(tk, "b", "cat", "/proc/sysvipc/shm")
		if err != nil || !hasShmID(out, shmid) {
			t.Errorf("%s: container b does not see the shared memory segment %d made in a's IPC namespace (%v):\n%s", when, shmid, err, out)
		}
	}
	hasSegment(got, "started")

	// A file a writes in /dev/shm is b's: one tmpfs for the task, 64 MiB.
	if out, err := n.exec(got, "a", "sh", "-c", "echo from-a > /dev/shm/longshore-shm"); err != nil {
		t.Fatalf("writing /dev/shm in a: %v %q", err, out)
	}
	sharesShm := func(tk *ecsv1.Task, when string) {
		t.Helper()
		out, err := n.exec(tk, "b", "cat", "/dev/shm/longshore-shm")
		if err != nil || !strings.Contains(out, "from-a") {
			t.Errorf("%s: container b does not see the file a wrote in /dev/shm (%v): %q", when, err, out)
		}
	}
	sharesShm(got, "started")
	if m := hostMounts(t, n.StateDir); len(m) != 1 || !strings.Contains(m[0], "/volumes/~shm ") || !strings.Contains(m[0], "size=65536k") {
		t.Errorf("the task's mounts on the host: %q, want its one shared /dev/shm of 64 MiB", m)
	}
	if host, err := os.ReadFile("/proc/sysvipc/shm"); err != nil || hasShmID(string(host), shmid) {
		t.Errorf("the host's IPC namespace has segment %d (%v): the task's is not its own", shmid, err)
	}

	// The agent restarts while b runs; b's restart (after 61 s) joins
	// the namespaces the holder still holds.
	n.killAgent()
	time.Sleep(2 * time.Second)
	n.startAgent()
	got = n.wait(task, 120*time.Second, "b restarted once", func(tk *ecsv1.Task) error {
		c := containerStatus(tk, "b")
		if c == nil || c.RestartCount != 1 || c.LastStatus != ecsv1.ContainerRunning {
			return fmt.Errorf("b: %+v, task %s", c, tk.Status.LastStatus)
		}
		return nil
	})
	if now := n.containerPID(holder); now != holderPID {
		t.Errorf("the holder's PID is %s after the agent restart, %s before: the namespaces were made again", now, holderPID)
	}
	sees(got, "after the agent restart and b's restart")
	hasSegment(got, "after the agent restart and b's restart")
	sharesShm(got, "after the agent restart and b's restart")

	got, _ = n.stop(got, "")
	if got.Status.StopCode != ecsv1.StopCodeUserInitiated {
		t.Errorf("stopCode %q (%s)", got.Status.StopCode, got.Status.StoppedReason)
	}
	if id := n.findHolder(t); id != "" {
		t.Errorf("the namespace holder %s outlived its task", id)
	}
	if m := hostMounts(t, n.StateDir); len(m) > 0 {
		t.Errorf("mounts outlived the task: %q", m)
	}
}

// hostMounts are the lines of the host's mount table (/proc/self/mountinfo)
// of mounts under dir.
func hostMounts(t *testing.T, dir string) []string {
	t.Helper()
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) > 4 && strings.HasPrefix(f[4], dir+"/") {
			out = append(out, l)
		}
	}
	return out
}

// TestIPCModeNone: with ipcMode none a container has an IPC namespace of
// its own and no /dev/shm, as Docker's ipc none; with pidMode task beside
// it, the containers still share the holder's PID namespace.
func TestIPCModeNone(t *testing.T) {
	n := newNode(t, "node-ipcnone")
	task := n.task("ipcnone", ecsv1.TaskDefinitionSpec{NetworkMode: ecsv1.NetworkModeNone, PidMode: "task", IpcMode: "none",
		ContainerDefinitions: []ecsv1.ContainerDefinition{container("a", "sleep", "3600"), container("b", "sleep", "3601")}})
	got := n.wait(task, 60*time.Second, "RUNNING", phase(ecsv1.TaskRunning))
	out, err := n.exec(got, "a", "cat", "/proc/mounts")
	if err != nil || !strings.Contains(out, " /proc ") {
		t.Fatalf("reading a's mounts: %v %q", err, out)
	}
	if strings.Contains(out, " /dev/shm ") {
		t.Errorf("ipcMode none: a has a /dev/shm:\n%s", out)
	}
	host, err := os.Readlink("/proc/self/ns/ipc")
	if err != nil {
		t.Fatal(err)
	}
	ns := map[string]bool{}
	for _, c := range []string{"a", "b"} {
		l, err := os.Readlink("/proc/" + n.containerPID(runtimeID(got, c)) + "/ns/ipc")
		if err != nil || l == host {
			t.Errorf("%s's IPC namespace %q (%v), the host's %q: want one of its own", c, l, err, host)
		}
		ns[l] = true
	}
	if len(ns) != 2 {
		t.Errorf("a and b share an IPC namespace (%v): ipcMode none gives each its own", ns)
	}
	if out, err := n.exec(got, "b", "sh", "-c", "cat /proc/[0-9]*/cmdline"); err != nil || !strings.Contains(out, "sleep\x003600\x00") {
		t.Errorf("pidMode task beside ipcMode none: b does not see a's sleep (%v): %q", err, out)
	}
	n.stop(got, "")
}

// holderID is the ID of the one namespace holder on the node.
func (n *node) holderID(t *testing.T) string {
	t.Helper()
	id := n.findHolder(t)
	if id == "" {
		t.Fatal("no namespace holder container")
	}
	return id
}

func (n *node) findHolder(t *testing.T) string {
	t.Helper()
	conts, err := n.ctrd.Containers(namespacesCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range conts {
		labels, err := c.Labels(namespacesCtx(t))
		if err == nil && labels[lsruntime.LabelContainer] == "~namespaces" {
			return c.ID()
		}
	}
	return ""
}

func runtimeID(task *ecsv1.Task, container string) string {
	if c := containerStatus(task, container); c != nil {
		return c.RuntimeID
	}
	return ""
}

// shmInNamespace creates a System V shared memory segment in the IPC
// namespace at path, from a thread of its own that enters it (and ends
// with its goroutine: a thread locked when its goroutine returns is not
// reused).
func shmInNamespace(t *testing.T, path string) int {
	t.Helper()
	type result struct {
		id  int
		err error
	}
	done := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			done <- result{err: err}
			return
		}
		defer func() { _ = unix.Close(fd) }()
		if err := unix.Setns(fd, unix.CLONE_NEWIPC); err != nil {
			done <- result{err: fmt.Errorf("setns %s: %w", path, err)}
			return
		}
		id, err := unix.SysvShmGet(0x4c53, 4096, unix.IPC_CREAT|unix.IPC_EXCL|0o600)
		done <- result{id: id, err: err}
	}()
	r := <-done
	if r.err != nil {
		t.Fatalf("creating a shared memory segment in %s: %v", path, r.err)
	}
	return r.id
}

// hasShmID tells whether /proc/sysvipc/shm lists segment id (its second
// column).
func hasShmID(table string, id int) bool {
	for _, line := range strings.Split(table, "\n") {
		f := strings.Fields(line)
		if len(f) > 1 && f[1] == fmt.Sprint(id) {
			return true
		}
	}
	return false
}
