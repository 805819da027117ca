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
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/containerd/containerd/v2/pkg/namespaces"
	"k8s.io/utils/ptr"

	ecsv1 "github.com/longshore-io/longshore/api/v1alpha1"
	"github.com/longshore-io/longshore/internal/imagebuild"
	"github.com/longshore-io/longshore/test/integration/framework"
)

func health(t *ecsv1.Task) map[string]ecsv1.HealthStatus {
	out := map[string]ecsv1.HealthStatus{}
	for _, c := range t.Status.Containers {
		out[c.Name] = c.HealthStatus
	}
	return out
}

func TestHealthChecksOfEveryKind(t *testing.T) {
	n := newNode(t, "node-health")
	app := container("app", "httpd", "-f", "-p", "8080", "-h", "/www")
	app.HealthCheck = &ecsv1.HealthCheck{HTTPGet: &ecsv1.HTTPGetProbe{Path: "/", Port: 8080}, Interval: 5, Timeout: 2, Retries: 2}
	tcp := container("tcp", "httpd", "-f", "-p", "8081", "-h", "/www")
	tcp.HealthCheck = &ecsv1.HealthCheck{TCPSocket: &ecsv1.TCPSocketProbe{Port: 8081}, Interval: 5, Timeout: 2, Retries: 2}
	shell := container("shell", "sleep", "3600")
	shell.HealthCheck = &ecsv1.HealthCheck{Command: []string{"CMD-SHELL", "test -f /www/index.html && exit 0"}, Interval: 5, Timeout: 2, Retries: 2}
	failing := container("failing", "sleep", "3600")
	failing.Essential = ptr.To(false)
	failing.HealthCheck = &ecsv1.HealthCheck{Command: []string{"CMD", "false"}, Interval: 5, Timeout: 2, Retries: 1}
	side := container("side", "sleep", "3600")
	side.Essential = ptr.To(false)
	side.DependsOn = []ecsv1.ContainerDependency{{ContainerName: "app", Condition: ecsv1.DependencyHealthy}}
	task := n.task("health", ecsv1.TaskDefinitionSpec{NetworkMode: ecsv1.NetworkModeNone,
		ContainerDefinitions: []ecsv1.ContainerDefinition{app, tcp, shell, failing, side}})

	got := n.wait(task, 60*time.Second, "healthy and running", func(tk *ecsv1.Task) error {
		h := health(tk)
		if tk.Status.LastStatus != ecsv1.TaskRunning || tk.Status.HealthStatus != ecsv1.HealthHealthy ||
			h["app"] != ecsv1.HealthHealthy || h["tcp"] != ecsv1.HealthHealthy || h["shell"] != ecsv1.HealthHealthy ||
			h["failing"] != ecsv1.HealthUnhealthy {
			return fmt.Errorf("lastStatus %s health %s containers %v", tk.Status.LastStatus, tk.Status.HealthStatus, h)
		}
		return nil
	})
	var appStarted, sideStarted time.Time
	for _, c := range got.Status.Containers {
		switch c.Name {
		case "app":
			appStarted = c.StartedAt.Time
		case "side":
			if c.StartedAt == nil || c.LastStatus != ecsv1.ContainerRunning {
				t.Fatalf("side not running: %+v", c)
			}
			sideStarted = c.StartedAt.Time
		}
	}
	// side waited for app's first successful probe (about a second).
	if !sideStarted.After(appStarted) {
		t.Errorf("side started at %v, not after app (%v) became HEALTHY", sideStarted, appStarted)
	}
	n.deleteTask(task)
}

func TestOutOfMemoryIsReported(t *testing.T) {
	n := newNode(t, "node-oom")
	c := container("hog", "dd", "if=/dev/zero", "of=/dev/null", "bs=64M", "count=1")
	c.Memory = ptr.To[int32](16)
	task := n.task("oom", ecsv1.TaskDefinitionSpec{NetworkMode: ecsv1.NetworkModeNone, ContainerDefinitions: []ecsv1.ContainerDefinition{c}})
	got := n.wait(task, 60*time.Second, "STOPPED", phase(ecsv1.TaskStopped))
	want := "OutOfMemoryError: Container killed due to memory usage"
	if got.Status.StoppedReason != want || got.Status.Containers[0].Reason != want {
		t.Errorf("task reason %q, container reason %q; want %q", got.Status.StoppedReason, got.Status.Containers[0].Reason, want)
	}
	if ec := got.Status.Containers[0].ExitCode; ec == nil || *ec != 137 {
		t.Errorf("exit code %v, want 137", ec)
	}
}

// containerPID asks containerd for the PID of a task's container.
func (n *node) containerPID(id string) string {
	out, err := exec.Command(filepath.Join(containerdBin(n.t), "ctr"), "--address", n.Sock, "-n", ctrdNamespace, "tasks", "ls").Output()
	if err != nil {
		n.t.Fatal(err)
	}
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) >= 3 && f[0] == id {
			return f[1]
		}
	}
	return ""
}

func TestAgentCrashRestartsNothing(t *testing.T) {
	n := newNode(t, "node-crash")
	long := container("long", "sleep", "3600")
	short := container("short", "sh", "-c", "sleep 6; exit 4") // exits while the agent is down
	keep := n.task("keep", ecsv1.TaskDefinitionSpec{NetworkMode: ecsv1.NetworkModeAWSVPC, ContainerDefinitions: []ecsv1.ContainerDefinition{long}})
	dies := n.task("dies", ecsv1.TaskDefinitionSpec{NetworkMode: ecsv1.NetworkModeNone, ContainerDefinitions: []ecsv1.ContainerDefinition{short}})
	k := n.wait(keep, 60*time.Second, "RUNNING", phase(ecsv1.TaskRunning))
	n.wait(dies, 60*time.Second, "RUNNING", phase(ecsv1.TaskRunning))
	id := k.Status.Containers[0].RuntimeID
	pid := n.containerPID(id)
	if pid == "" {
		t.Fatalf("no PID for %s", id)
	}

	n.killAgent()
	time.Sleep(8 * time.Second) // "short" exits meanwhile
	n.startAgent()

	// The surviving task is re-adopted: same process, still RUNNING.
	got := n.wait(dies, 60*time.Second, "STOPPED after the restart", phase(ecsv1.TaskStopped))
	if got.Status.StopCode != ecsv1.StopCodeEssentialContainerExited {
		t.Errorf("dies: stopCode %q", got.Status.StopCode)
	}
	if ec := got.Status.Containers[0].ExitCode; ec == nil || *ec != 4 {
		t.Errorf("dies: exit code %v, want 4", ec)
	}
	k = n.wait(keep, 10*time.Second, "RUNNING", phase(ecsv1.TaskRunning))
	if now := n.containerPID(id); now != pid {
		t.Errorf("container %s PID %s before the agent crash, %s after: it was restarted", id, pid, now)
	}
	// And it still obeys: stopping it works.
	n.stop(k, "")
}

func TestRestartPolicy(t *testing.T) {
	if testing.Short() {
		t.Skip("needs the 60 s minimum restartAttemptPeriod")
	}
	n := newNode(t, "node-restart")
	c := container("flaky", "sh", "-c", "sleep 61; exit 2")
	c.RestartPolicy = &ecsv1.RestartPolicy{Enabled: true, RestartAttemptPeriod: 60, IgnoredExitCodes: []int32{0}}
	task := n.task("restart", ecsv1.TaskDefinitionSpec{NetworkMode: ecsv1.NetworkModeNone, ContainerDefinitions: []ecsv1.ContainerDefinition{c}})
	got := n.wait(task, 120*time.Second, "restarted once", func(tk *ecsv1.Task) error {
		if len(tk.Status.Containers) == 0 || tk.Status.Containers[0].RestartCount != 1 || tk.Status.Containers[0].LastStatus != ecsv1.ContainerRunning {
			return fmt.Errorf("containers %+v, lastStatus %s", tk.Status.Containers, tk.Status.LastStatus)
		}
		return nil
	})
	if got.Status.LastStatus != ecsv1.TaskRunning {
		t.Errorf("task %s, want RUNNING after an in-place restart", got.Status.LastStatus)
	}
	if ec := got.Status.Containers[0].ExitCode; ec == nil || *ec != 2 {
		t.Errorf("last exit code %v, want 2", ec)
	}
	n.deleteTask(task)
}

// TestInitProcess: with initProcessEnabled the agent's init is PID 1, and
// it forwards SIGTERM, so a plain `sleep` (which as PID 1 would ignore it)
// stops at once instead of after stopTimeout.
func TestInitProcess(t *testing.T) {
	n := newNode(t, "node-init")
	c := container("main", "sleep", "3600")
	c.StopTimeout = ptr.To[int32](30)
	c.LinuxParameters = &ecsv1.LinuxParameters{InitProcessEnabled: true}
	task := n.task("init", ecsv1.TaskDefinitionSpec{NetworkMode: ecsv1.NetworkModeNone, ContainerDefinitions: []ecsv1.ContainerDefinition{c}})
	got := n.wait(task, 60*time.Second, "RUNNING", phase(ecsv1.TaskRunning))
	out, err := n.exec(got, "main", "cat", "/proc/1/cmdline")
	if err != nil || !strings.Contains(out, "/.longshore/init") {
		t.Fatalf("PID 1 is %q (%v), want the init", out, err)
	}
	got, took := n.stop(got, "")
	if took > 15*time.Second {
		t.Errorf("stop took %s: SIGTERM was not forwarded", took)
	}
	if ec := got.Status.Containers[0].ExitCode; ec == nil || *ec != 143 {
		t.Errorf("exit code %v, want 143 (the child's SIGTERM)", ec)
	}
}

// TestTaskLevelLimitsAndTakenPort: task-level cpu and memory become the
// task cgroup's limits; a host port already taken stops the task with a
// reason that names it.
func TestTaskLevelLimitsAndTakenPort(t *testing.T) {
	n := newNode(t, "node-limits")
	c := container("main", "sleep", "3600")
	c.Memory = nil
	task := n.task("limits", ecsv1.TaskDefinitionSpec{NetworkMode: ecsv1.NetworkModeNone, CPU: "0.5 vCPU", Memory: "96",
		ContainerDefinitions: []ecsv1.ContainerDefinition{c}})
	got := n.wait(task, 60*time.Second, "RUNNING", phase(ecsv1.TaskRunning))
	// The container sees the task's limit as its own cgroup's ancestor.
	out, err := n.exec(got, "main", "cat", "/proc/self/cgroup")
	parent := "/longshore/ecs/" + strings.ReplaceAll(string(got.UID), "-", "")
	if err != nil || !strings.Contains(out, parent+"/"+got.Status.Containers[0].RuntimeID) {
		t.Fatalf("container cgroup %q (%v), want %s/<its id>, as ECS lays them out", out, err, parent)
	}
	memFile := "/sys/fs/cgroup/memory" + parent + "/memory.limit_in_bytes"
	cpuFile := "/sys/fs/cgroup/cpu" + parent + "/cpu.cfs_quota_us"
	if _, err := os.Stat("/sys/fs/cgroup/cgroup.controllers"); err == nil {
		memFile, cpuFile = "/sys/fs/cgroup"+parent+"/memory.max", "/sys/fs/cgroup"+parent+"/cpu.max"
	}
	if b, _ := os.ReadFile(memFile); strings.TrimSpace(string(b)) != fmt.Sprint(96*1024*1024) {
		t.Errorf("%s = %q, want 96 MiB", memFile, b)
	}
	if b, _ := os.ReadFile(cpuFile); !strings.HasPrefix(strings.TrimSpace(string(b)), "50000") {
		t.Errorf("%s = %q, want a quota of half a CPU (50000 of 100000)", cpuFile, b)
	}
	n.deleteTask(task)
	if _, err := os.Stat(filepath.Dir(memFile)); err == nil {
		t.Errorf("task cgroup %s left behind", filepath.Dir(memFile))
	}

	l, err := net.Listen("tcp", "0.0.0.0:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = l.Close() }()
	port := l.Addr().(*net.TCPAddr).Port
	web := container("web", "httpd", "-f", "-p", fmt.Sprint(port))
	web.PortMappings = []ecsv1.PortMapping{{ContainerPort: int32(port), Protocol: ecsv1.ProtocolTCP}}
	taken := n.task("taken", ecsv1.TaskDefinitionSpec{NetworkMode: ecsv1.NetworkModeHost, ContainerDefinitions: []ecsv1.ContainerDefinition{web}})
	got = n.wait(taken, 60*time.Second, "STOPPED", phase(ecsv1.TaskStopped))
	if want := fmt.Sprintf("host port %d/tcp is already in use on the host", port); got.Status.StopCode != ecsv1.StopCodeTaskFailedToStart ||
		!strings.Contains(got.Status.StoppedReason, want) {
		t.Errorf("stopCode %q reason %q, want TaskFailedToStart naming %q", got.Status.StopCode, got.Status.StoppedReason, want)
	}
}

// TestContainerdRestartIsSurvived: containerd restarts under the agent;
// the shims keep the containers alive, and the agent reconnects, keeps
// reporting and can still stop the task.
func TestContainerdRestartIsSurvived(t *testing.T) {
	n := newNode(t, "node-ctrd")
	task := n.task("survivor", ecsv1.TaskDefinitionSpec{NetworkMode: ecsv1.NetworkModeAWSVPC,
		ContainerDefinitions: []ecsv1.ContainerDefinition{container("main", "sleep", "3600")}})
	got := n.wait(task, 60*time.Second, "RUNNING", phase(ecsv1.TaskRunning))
	id := got.Status.Containers[0].RuntimeID
	pid := n.containerPID(id)

	dir := filepath.Dir(n.Sock)
	b, err := os.ReadFile(filepath.Join(dir, "containerd.pid"))
	if err != nil {
		t.Fatal(err)
	}
	if err := exec.Command("kill", strings.TrimSpace(string(b))).Run(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second)
	if out, err := exec.Command(filepath.Join(framework.RepoRoot(), "hack", "containerd.sh"), "start", dir).CombinedOutput(); err != nil {
		t.Fatalf("restarting containerd: %v\n%s", err, out)
	}
	if now := n.containerPID(id); now != pid {
		t.Fatalf("PID %s before the containerd restart, %q after", pid, now)
	}
	got, _ = n.stop(got, "")
	if got.Status.StopCode != ecsv1.StopCodeUserInitiated {
		t.Errorf("stopCode %q reason %q", got.Status.StopCode, got.Status.StoppedReason)
	}
}

// TestImageStopSignal: the agent stops a container with its image's
// STOPSIGNAL. The image's process (PID 1, so it ignores SIGTERM without a
// handler) exits 7 on SIGUSR1; with SIGTERM it would run into stopTimeout
// and be killed (137).
func TestImageStopSignal(t *testing.T) {
	n := newNode(t, "node-stopsig")
	const ref = "localhost/longshore/stopsignal:1"
	spec := imagebuild.BusyboxSpec(ref)
	spec.Config.StopSignal = "SIGUSR1"
	spec.Config.Cmd = []string{"sh", "-c", `trap "exit 7" USR1; while true; do sleep 1 & wait $!; done`}
	img, err := imagebuild.Build(spec)
	if err != nil {
		t.Fatal(err)
	}
	if err := imagebuild.Import(namespaces.WithNamespace(t.Context(), ctrdNamespace), n.ctrd, img); err != nil {
		t.Fatal(err)
	}
	c := container("main")
	c.Image, c.StopTimeout = ref, ptr.To[int32](20)
	task := n.task("stopsig", ecsv1.TaskDefinitionSpec{NetworkMode: ecsv1.NetworkModeNone, ContainerDefinitions: []ecsv1.ContainerDefinition{c}})
	got := n.wait(task, 60*time.Second, "RUNNING", phase(ecsv1.TaskRunning))
	got, took := n.stop(got, "")
	if took > 10*time.Second {
		t.Errorf("stop took %s: the image's stop signal was not sent", took)
	}
	if ec := got.Status.Containers[0].ExitCode; ec == nil || *ec != 7 {
		t.Errorf("exit code %v, want 7 (the SIGUSR1 handler)", ptr.Deref(ec, -1))
	}
}

// TestContainerSeesItsOwnCgroup: /sys/fs/cgroup inside a container is the
// container's own cgroup, read-only, as Docker, ECS and Kubernetes show
// it: the JVM, Go's GOMAXPROCS/GOMEMLIMIT helpers, Node and .NET size
// themselves from these files.
func TestContainerSeesItsOwnCgroup(t *testing.T) {
	n := newNode(t, "node-cgroup")
	c := container("main", "sleep", "3600")
	c.Memory, c.MemoryReservation, c.CPU = ptr.To[int32](96), ptr.To[int32](48), 384
	task := n.task("cgroup", ecsv1.TaskDefinitionSpec{NetworkMode: ecsv1.NetworkModeNone, ContainerDefinitions: []ecsv1.ContainerDefinition{c}})
	got := n.wait(task, 60*time.Second, "RUNNING", phase(ecsv1.TaskRunning))
	v2 := false
	if _, err := os.Stat("/sys/fs/cgroup/cgroup.controllers"); err == nil {
		v2 = true
	}
	files := map[string]string{ // file inside the container → the value the task definition asks for
		"/sys/fs/cgroup/memory/memory.limit_in_bytes":      fmt.Sprint(96 * 1024 * 1024),
		"/sys/fs/cgroup/memory/memory.soft_limit_in_bytes": fmt.Sprint(48 * 1024 * 1024),
		"/sys/fs/cgroup/cpu/cpu.shares":                    "384",
	}
	if v2 {
		// cgroup v2: memory.low is the soft limit; cpu.weight is the
		// shares converted as runc converts them: 1 + ((shares-2)*9999)/262142.
		files = map[string]string{
			"/sys/fs/cgroup/memory.max": fmt.Sprint(96 * 1024 * 1024),
			"/sys/fs/cgroup/memory.low": fmt.Sprint(48 * 1024 * 1024),
			"/sys/fs/cgroup/cpu.weight": fmt.Sprint(1 + ((384-2)*9999)/262142),
		}
	}
	for file, want := range files {
		out, err := n.exec(got, "main", "cat", file)
		if lines := strings.Split(strings.TrimSpace(out), "\n"); err != nil || lines[len(lines)-1] != want {
			t.Errorf("inside the container %s = %q (%v), want %s", file, out, err, want)
		}
	}
	probe := "/sys/fs/cgroup/memory/longshore-probe"
	if v2 {
		probe = "/sys/fs/cgroup/longshore-probe"
	}
	if out, err := n.exec(got, "main", "mkdir", probe); err == nil {
		t.Errorf("mkdir %s inside the container worked (%q): /sys/fs/cgroup must be read-only", probe, out)
	}
	n.deleteTask(task)
}
