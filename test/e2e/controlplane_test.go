//go:build e2e

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

package e2e

// make dev as a control plane: its own ports reserved on every instance,
// the supervisor restarting what exits, kube-controller-manager deleting
// namespaces and garbage-collecting owned objects.

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/pkg/namespaces"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ecsv1 "github.com/longshore-io/longshore/api/v1alpha1"
	lsruntime "github.com/longshore-io/longshore/internal/runtime"
	"github.com/longshore-io/longshore/test/integration/framework"
)

// component is one line of `hack/dev.sh status`.
type component struct {
	state    string
	pid      int
	restarts int
	lastExit string
}

var statusLine = regexp.MustCompile(`^(\S+)\s+(running|restarting|unsupervised|stopped)\s+(\S+)\s+(\d+)\s+(\S+)\s+(.*)$`)

// devStatus runs `hack/dev.sh status` and parses its component table.
func devStatus(t *testing.T) map[string]component {
	t.Helper()
	cmd := exec.Command(filepath.Join(sys.root, "hack", "dev.sh"), "status")
	cmd.Dir = sys.root
	var errb bytes.Buffer
	cmd.Stderr = &errb
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("hack/dev.sh status: %v: %s", err, errb.String())
	}
	comps := map[string]component{}
	for _, line := range strings.Split(string(out), "\n") {
		m := statusLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		pid, _ := strconv.Atoi(m[3])
		n, _ := strconv.Atoi(m[4])
		comps[m[1]] = component{state: m[2], pid: pid, restarts: n, lastExit: strings.TrimSpace(m[6])}
	}
	for _, c := range []string{"etcd", "kube-apiserver", "kube-controller-manager", "containerd", "registry", "manager", "agent-a", "agent-b"} {
		if _, ok := comps[c]; !ok {
			t.Fatalf("hack/dev.sh status shows no line for %s:\n%s", c, out)
		}
	}
	return comps
}

// pidOf reads a component's pid file.
func pidOf(t *testing.T, name string) int {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(devDir, "run", name+".pid"))
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatalf("pid file of %s: %q", name, b)
	}
	return pid
}

// restartedOnce waits until the supervisor has restarted name once more
// than before (restart count, a new live pid, running) and returns the
// elapsed time.
func restartedOnce(t *testing.T, name string, before component, timeout time.Duration) time.Duration {
	t.Helper()
	return framework.Eventually(t, timeout, name+" restarted by its supervisor", func() error {
		c := devStatus(t)[name]
		if c.restarts != before.restarts+1 || c.state != "running" || c.pid == before.pid {
			return fmt.Errorf("%s %s pid %d, %d restarts (before: pid %d, %d restarts)", name, c.state, c.pid, c.restarts, before.pid, before.restarts)
		}
		return nil
	})
}

// listeningPorts maps each TCP port a process of make dev listens on to the
// component, read from `ss` and the pid files.
func listeningPorts(t *testing.T) map[int32]string {
	t.Helper()
	owner := map[int]string{}
	files, _ := filepath.Glob(filepath.Join(devDir, "run", "*.pid"))
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".pid")
		if strings.HasSuffix(name, ".supervisor") {
			continue
		}
		owner[pidOf(t, name)] = name
	}
	out, err := exec.Command("ss", "-Hltnp").CombinedOutput()
	if err != nil {
		t.Fatalf("ss -Hltnp: %v: %s", err, out)
	}
	pidRe := regexp.MustCompile(`pid=(\d+),`)
	ports := map[int32]string{}
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) < 6 {
			continue
		}
		addr := f[3]
		p, err := strconv.Atoi(addr[strings.LastIndex(addr, ":")+1:])
		if err != nil {
			continue
		}
		for _, m := range pidRe.FindAllStringSubmatch(line, -1) {
			pid, _ := strconv.Atoi(m[1])
			if name, ok := owner[pid]; ok {
				ports[int32(p)] = name
			}
		}
	}
	return ports
}

// wantsMetricsPort is a host-mode task that asks for the manager's metrics
// port.
const wantsMetricsPort = `apiVersion: ecs.longshore.io/v1alpha1
kind: TaskDefinition
metadata:
  name: wants-18080
spec:
  networkMode: host
  containerDefinitions:
    - name: web
      image: localhost/longshore/busybox:latest
      command: ["httpd", "-f", "-p", "18080", "-h", "/www"]
      memory: 32
      portMappings:
        - containerPort: 18080
---
apiVersion: ecs.longshore.io/v1alpha1
kind: Task
metadata:
  name: wants-18080
spec:
  taskDefinition: wants-18080
`

// testReservedPorts: every port make dev listens on is reserved on both
// instances, so a host-mode task that wants one is not placed (ECS: it
// stays PROVISIONING with a reason) rather than failing on the host.
func testReservedPorts(t *testing.T) {
	listening := listeningPorts(t)
	for _, c := range []string{"etcd", "kube-apiserver", "kube-controller-manager", "registry", "manager", "agent-a", "agent-b", "ecs-api"} {
		if !slices.Contains(mapValues(listening), c) {
			t.Fatalf("found no TCP port %s listens on (ports: %v); the check below would prove nothing", c, listening)
		}
	}
	for _, name := range []string{"dev-a", "dev-b"} {
		var ci ecsv1.ContainerInstance
		if err := sys.c.Get(context.Background(), client.ObjectKey{Name: name}, &ci); err != nil {
			t.Fatal(err)
		}
		if ci.Status.RegisteredResources == nil {
			t.Fatalf("%s has no registeredResources", name)
		}
		reserved := ci.Status.RegisteredResources.Ports
		if !slices.Contains(reserved, 22) {
			t.Errorf("%s does not reserve port 22: %v", name, reserved)
		}
		for p, owner := range listening {
			if !slices.Contains(reserved, p) {
				t.Errorf("%s does not reserve port %d, on which %s listens (reserved: %v)", name, p, owner, reserved)
			}
		}
	}
	if !t.Failed() {
		addReport("make dev's %d listening ports (and 22) reserved on dev-a and dev-b", len(listening))
	}

	mustKubectl(t, wantsMetricsPort, "apply", "-f", "-")
	task := waitTask(t, "wants-18080", time.Minute, func(task *ecsv1.Task) error {
		for _, c := range task.Status.Conditions {
			if c.Type == ecsv1.ConditionScheduled && c.Status == "False" && c.Reason == ecsv1.ReasonUnplaceable {
				return nil
			}
		}
		return fmt.Errorf("conditions %+v", task.Status.Conditions)
	})
	msg := ""
	for _, c := range task.Status.Conditions {
		if c.Type == ecsv1.ConditionScheduled {
			msg = c.Message
		}
	}
	if !strings.Contains(msg, "18080/tcp (reserved)") {
		t.Errorf("Scheduled condition %q does not name port 18080/tcp as reserved", msg)
	}
	wantEvent(t, "wants-18080", "18080/tcp (reserved)")
	// Give the scheduler time to do it wrong.
	time.Sleep(3 * time.Second)
	if got := getTask(t, "wants-18080"); got.Spec.ContainerInstance != "" || got.Status.LastStatus == ecsv1.TaskStopped {
		t.Errorf("task wanting port 18080 bound to %q, lastStatus %s (%s)", got.Spec.ContainerInstance, got.Status.LastStatus, got.Status.StoppedReason)
	}
	if _, err := get("http://127.0.0.1:18081/readyz"); err != nil {
		t.Errorf("the manager's probes after the attempt: %v", err)
	}
	addReport("host-mode task wanting 18080 (the manager's metrics port): unplaceable, %q", msg)
	mustKubectl(t, wantsMetricsPort, "delete", "-f", "-", "--wait", "--timeout", "60s")
}

func mapValues[K comparable, V any](m map[K]V) []V {
	out := make([]V, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

// runningPIDs maps the containers of agent x whose process runs to its
// PID. Containers that exited are left out: containerd forgets an exited
// task when it restarts (the agent recorded its exit before).
func runningPIDs(t *testing.T, x string) map[string]uint32 {
	t.Helper()
	ctx := namespaces.WithNamespace(context.Background(), "longshore-"+x)
	conts, err := sys.ctrd.Containers(ctx)
	if err != nil {
		t.Fatalf("listing containers of %s: %v", x, err)
	}
	out := map[string]uint32{}
	for _, c := range conts {
		task, err := c.Task(ctx, nil)
		if err != nil {
			continue
		}
		if st, err := task.Status(ctx); err == nil && st.Status == containerd.Running {
			out[c.ID()] = task.Pid()
		}
	}
	return out
}

// afterCtrdTask is run once containerd was restarted.
const afterCtrdTask = `apiVersion: ecs.longshore.io/v1alpha1
kind: Task
metadata: {name: after-restarts}
spec: {taskDefinition: worker}
`

// testSupervisorRestarts: an agent and containerd that crash are started
// again by their supervisors, without a hand; no container is restarted or
// re-created, and the agents go on running new tasks.
func testSupervisorRestarts(t *testing.T) {
	before := map[string]map[string]uint32{}
	for _, x := range agents {
		before[x] = runningPIDs(t, x)
		if len(before[x]) == 0 {
			t.Fatalf("agent %s runs no containers", x)
		}
	}
	st := devStatus(t)
	if err := syscall.Kill(st["agent-a"].pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	d := restartedOnce(t, "agent-a", st["agent-a"], 30*time.Second)
	framework.Eventually(t, 30*time.Second, "agent a ready", func() error {
		_, err := get("http://127.0.0.1:18091/readyz")
		return err
	})
	addReport("agent a killed (SIGKILL, no hack/dev.sh) → restarted by its supervisor: %.1f s", d.Seconds())

	if err := syscall.Kill(st["containerd"].pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	d = restartedOnce(t, "containerd", st["containerd"], 30*time.Second)
	framework.Eventually(t, 30*time.Second, "containerd answering", func() error {
		_, err := sys.ctrd.Version(context.Background())
		return err
	})
	addReport("containerd killed (SIGKILL) → restarted by its supervisor: %.1f s", d.Seconds())

	// Time for an agent to get it wrong (re-create, restart, stop).
	time.Sleep(5 * time.Second)
	for _, x := range agents {
		after := runningPIDs(t, x)
		for id, pid := range before[x] {
			if after[id] != pid {
				t.Errorf("agent %s: container %s had pid %d before the restarts, %d after", x, id, pid, after[id])
			}
		}
		for id := range after {
			if _, ok := before[x][id]; !ok {
				t.Errorf("agent %s: container %s started after the restarts", x, id)
			}
		}
	}
	st2 := devStatus(t)
	for _, c := range []string{"agent-a", "containerd"} {
		if !strings.HasPrefix(st2[c].lastExit, "status 137 (killed by SIGKILL)") {
			t.Errorf("status of %s: last exit %q, want status 137 (killed by SIGKILL)", c, st2[c].lastExit)
		}
	}
	log, err := os.ReadFile(filepath.Join(devDir, "logs", "restarts.log"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []string{"agent-a", "containerd"} {
		if !regexp.MustCompile(`(?m)^\S+ ` + c + ` \(pid \d+\) exited with status 137 \(killed by SIGKILL\)`).Match(log) {
			t.Errorf("restarts.log records no SIGKILL of %s:\n%s", c, log)
		}
	}
	// The agents still work: containerd's events reach them again, new
	// tasks run, the Service answers.
	start := time.Now()
	mustKubectl(t, afterCtrdTask, "apply", "-f", "-")
	waitTask(t, "after-restarts", time.Minute, isRunning)
	addReport("a new task after the restarts → RUNNING: %.1f s", time.Since(start).Seconds())
	mustKubectl(t, afterCtrdTask, "delete", "-f", "-", "--wait", "--timeout", "60s")
	if err := steady("web", 3, "web:2", true); err != nil {
		t.Errorf("service web after the restarts: %v", err)
	}
}

// afterFreezeTask is created once the apiserver runs again.
const afterFreezeTask = `apiVersion: ecs.longshore.io/v1alpha1
kind: Task
metadata: {name: after-freeze}
spec: {taskDefinition: worker}
`

// testAPIServerFreeze: kube-apiserver stopped (SIGSTOP) until the manager
// gives up its leadership (it cannot renew the Lease within its renew
// deadline) and exits; once the apiserver runs again (SIGCONT), without any
// hand, the supervisor has started the manager again and a new task is
// placed and runs.
func testAPIServerFreeze(t *testing.T) {
	st := devStatus(t)
	apiserver := st["kube-apiserver"].pid
	if err := syscall.Kill(apiserver, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	frozen := time.Now()
	thawed := false
	thaw := func() {
		if !thawed {
			thawed = true
			_ = syscall.Kill(apiserver, syscall.SIGCONT)
		}
	}
	defer thaw()
	// The manager's lease is 15 s, its renew deadline 10 s (the defaults).
	d := framework.Eventually(t, 60*time.Second, "the manager exits while the apiserver is stopped", func() error {
		if c := devStatus(t)["manager"]; c.restarts == st["manager"].restarts {
			return fmt.Errorf("manager %s, %d restarts", c.state, c.restarts)
		}
		return nil
	})
	// A little longer, so that the restarted manager meets the stopped apiserver too.
	time.Sleep(3 * time.Second)
	thaw()
	resumed := time.Now()
	addReport("kube-apiserver stopped (SIGSTOP): the manager exited after %.1f s, apiserver resumed (SIGCONT) after %.1f s",
		d.Seconds(), resumed.Sub(frozen).Seconds())

	log, err := os.ReadFile(filepath.Join(devDir, "logs", "manager.log"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(log), `"error":"leader election lost"`) {
		t.Errorf("the manager's log does not say it lost the leader election")
	}

	mustKubectl(t, afterFreezeTask, "apply", "-f", "-")
	task := waitTask(t, "after-freeze", 2*time.Minute, isRunning)
	addReport("after SIGCONT, a new task placed (on %s) and RUNNING: %.1f s, no hand", task.Spec.ContainerInstance, time.Since(resumed).Seconds())
	after := devStatus(t)
	if m := after["manager"]; m.state != "running" || m.restarts < st["manager"].restarts+1 || !strings.HasPrefix(m.lastExit, "status 1 ") {
		t.Errorf("status of the manager: %+v; want running, a restart more than %d, last exit status 1", m, st["manager"].restarts)
	}
	for name, c := range after {
		if c.state != "running" {
			t.Errorf("%s is %s after the freeze", name, c.state)
		}
	}
	addReport("restarts during the freeze: manager %d, kube-controller-manager %d, agents %d and %d",
		after["manager"].restarts-st["manager"].restarts, after["kube-controller-manager"].restarts-st["kube-controller-manager"].restarts,
		after["agent-a"].restarts-st["agent-a"].restarts, after["agent-b"].restarts-st["agent-b"].restarts)
	mustKubectl(t, afterFreezeTask, "delete", "-f", "-", "--wait", "--timeout", "60s")
	framework.Eventually(t, time.Minute, "service web steady after the freeze", func() error {
		return steady("web", 3, "web:2", true)
	})
}

const doomedNS = "e2e-doomed"

// doomed is a namespace with a task definition, a standalone Task and a
// Service of two tasks, all awsvpc (a network namespace per task).
const doomed = `apiVersion: v1
kind: Namespace
metadata:
  name: e2e-doomed
---
apiVersion: ecs.longshore.io/v1alpha1
kind: TaskDefinition
metadata:
  name: web
  namespace: e2e-doomed
spec:
  networkMode: awsvpc
  containerDefinitions:
    - name: web
      image: localhost/longshore/busybox:latest
      command: ["httpd", "-f", "-p", "8080", "-h", "/www"]
      memory: 32
      portMappings:
        - containerPort: 8080
---
apiVersion: ecs.longshore.io/v1alpha1
kind: Task
metadata:
  name: one
  namespace: e2e-doomed
spec:
  taskDefinition: web
---
apiVersion: ecs.longshore.io/v1alpha1
kind: Service
metadata:
  name: web
  namespace: e2e-doomed
spec:
  taskDefinition: web
  desiredCount: 2
`

// testNamespaceDeletion: `kubectl delete namespace` of a namespace with
// running tasks and a Service: kube-controller-manager deletes its objects,
// the agents stop the tasks and clean up after them, and the namespace goes.
func testNamespaceDeletion(t *testing.T) {
	mustKubectl(t, doomed, "apply", "-f", "-")
	var tasks ecsv1.TaskList
	framework.Eventually(t, 2*time.Minute, "three tasks RUNNING in "+doomedNS, func() error {
		if err := sys.c.List(context.Background(), &tasks, client.InNamespace(doomedNS)); err != nil {
			return err
		}
		if len(tasks.Items) != 3 {
			return fmt.Errorf("%d tasks", len(tasks.Items))
		}
		for i := range tasks.Items {
			if err := isRunning(&tasks.Items[i]); err != nil {
				return fmt.Errorf("task %s: %v", tasks.Items[i].Name, err)
			}
		}
		return nil
	})
	if n := answering(tasks.Items, webPort); n != 3 {
		t.Errorf("%d of 3 tasks answer HTTP", n)
	}
	// What each task has on its host: containers (and their processes),
	// a network namespace, a task directory.
	type onHost struct{ uid, agent string }
	var placed []onHost
	var pids []uint32
	for _, task := range tasks.Items {
		x := strings.TrimPrefix(task.Spec.ContainerInstance, "dev-")
		placed = append(placed, onHost{string(task.UID), x})
		for _, id := range taskContainers(t, x, string(task.UID)) {
			if pid := containerPIDs(t, x)[id]; pid != 0 {
				pids = append(pids, pid)
			}
		}
		if len(netnsOf(x, string(task.UID))) == 0 {
			t.Errorf("task %s has no network namespace under %s", task.Name, netnsDir(x))
		}
	}
	if len(pids) != 3 {
		t.Fatalf("found %d container processes of the 3 tasks", len(pids))
	}

	mustKubectl(t, "", "delete", "namespace", doomedNS, "--wait=false")
	d := framework.Eventually(t, 3*time.Minute, "namespace "+doomedNS+" gone", func() error {
		_, err := kubectl("", "get", "namespace", doomedNS, "-o", "name")
		if err == nil {
			out, _ := kubectl("", "get", "namespace", doomedNS, "-o", "jsonpath={.status.phase} {.status.conditions[*].message}")
			return fmt.Errorf("namespace still there: %s", out)
		}
		return nil
	})
	addReport("kubectl delete namespace with 3 running tasks (1 standalone, 2 of a Service) → namespace gone: %.1f s", d.Seconds())
	for _, h := range placed {
		if ids := taskContainers(t, h.agent, h.uid); len(ids) > 0 {
			t.Errorf("containers of task %s left on agent %s: %v", h.uid, h.agent, ids)
		}
		if ns := netnsOf(h.agent, h.uid); len(ns) > 0 {
			t.Errorf("network namespaces of task %s left: %v", h.uid, ns)
		}
		if _, err := os.Stat(filepath.Join(devDir, "agent-"+h.agent, "tasks", h.uid)); err == nil {
			t.Errorf("task directory of %s left on agent %s", h.uid, h.agent)
		}
	}
	for _, pid := range pids {
		if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); err == nil {
			t.Errorf("the process %d of a deleted task still runs", pid)
		}
	}
	var revs ecsv1.TaskDefinitionRevisionList
	if err := sys.c.List(context.Background(), &revs, client.InNamespace(doomedNS)); err != nil {
		t.Fatal(err)
	}
	if len(revs.Items) > 0 {
		t.Errorf("%d revisions left in the deleted namespace", len(revs.Items))
	}
}

// taskContainers lists the containers of task uid in agent x's containerd namespace.
func taskContainers(t *testing.T, x, uid string) []string {
	t.Helper()
	ctx := namespaces.WithNamespace(context.Background(), "longshore-"+x)
	conts, err := sys.ctrd.Containers(ctx, fmt.Sprintf("labels.%q==%q", lsruntime.LabelTaskUID, uid))
	if err != nil {
		t.Fatalf("listing containers of task %s on %s: %v", uid, x, err)
	}
	var ids []string
	for _, c := range conts {
		ids = append(ids, c.ID())
	}
	return ids
}

func netnsDir(x string) string { return filepath.Join("/run/longshore-e2e", "netns-"+x) }

// netnsOf lists the pinned network namespaces of task uid (awsvpc: <uid>,
// bridge: <uid>-<container>).
func netnsOf(x, uid string) []string {
	entries, _ := os.ReadDir(netnsDir(x))
	var out []string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), uid) {
			out = append(out, e.Name())
		}
	}
	return out
}

// gcFamily has two revisions; a Task uses the second.
const gcFamily = `apiVersion: ecs.longshore.io/v1alpha1
kind: TaskDefinition
metadata:
  name: gc-family
spec:
  networkMode: none
  containerDefinitions:
    - name: main
      image: localhost/longshore/busybox:latest
      command: [sleep, "3600"]
      memory: %d
      stopTimeout: 2
`

const gcTask = `apiVersion: ecs.longshore.io/v1alpha1
kind: Task
metadata:
  name: gc-user
spec:
  taskDefinition: gc-family:2
`

// testTaskDefinitionGC: deleting a TaskDefinition deletes its revisions
// (owner references, followed by kube-controller-manager's garbage
// collector); a revision a running task uses stays DELETE_IN_PROGRESS
// until the task is gone.
func testTaskDefinitionGC(t *testing.T) {
	mustKubectl(t, fmt.Sprintf(gcFamily, 16), "apply", "-f", "-")
	waitRevision(t, "gc-family-1")
	mustKubectl(t, fmt.Sprintf(gcFamily, 17), "apply", "-f", "-")
	waitRevision(t, "gc-family-2")
	mustKubectl(t, gcTask, "apply", "-f", "-")
	waitTask(t, "gc-user", time.Minute, isRunning)

	mustKubectl(t, "", "delete", "td", "gc-family", "--wait", "--timeout", "60s")
	d := framework.Eventually(t, time.Minute, "gc-family-1 deleted, gc-family-2 DELETE_IN_PROGRESS", func() error {
		var rev ecsv1.TaskDefinitionRevision
		err := sys.c.Get(context.Background(), client.ObjectKey{Namespace: "default", Name: "gc-family-1"}, &rev)
		if !apierrors.IsNotFound(err) {
			return fmt.Errorf("gc-family-1: %v (status %s)", err, rev.Status.Status)
		}
		if err := sys.c.Get(context.Background(), client.ObjectKey{Namespace: "default", Name: "gc-family-2"}, &rev); err != nil {
			return fmt.Errorf("gc-family-2: %v", err)
		}
		if rev.Status.Status != ecsv1.RevisionDeleteInProgress {
			return fmt.Errorf("gc-family-2 is %s", rev.Status.Status)
		}
		return nil
	})
	addReport("kubectl delete td with 2 revisions → the unused one garbage-collected, the used one DELETE_IN_PROGRESS: %.1f s", d.Seconds())
	if err := isRunning(getTask(t, "gc-user")); err != nil {
		t.Errorf("the task using the deleted family: %v", err)
	}
	mustKubectl(t, gcTask, "delete", "-f", "-", "--wait", "--timeout", "60s")
	d = framework.Eventually(t, time.Minute, "gc-family-2 gone once its task is", func() error {
		var rev ecsv1.TaskDefinitionRevision
		if err := sys.c.Get(context.Background(), client.ObjectKey{Namespace: "default", Name: "gc-family-2"}, &rev); !apierrors.IsNotFound(err) {
			return fmt.Errorf("gc-family-2: %v (status %s)", err, rev.Status.Status)
		}
		return nil
	})
	addReport("its task deleted → the last revision gone: %.1f s", d.Seconds())
}

func waitRevision(t *testing.T, name string) {
	t.Helper()
	framework.Eventually(t, 30*time.Second, "revision "+name, func() error {
		var rev ecsv1.TaskDefinitionRevision
		return sys.c.Get(context.Background(), client.ObjectKey{Namespace: "default", Name: name}, &rev)
	})
}
