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
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/snapshots"
	"github.com/containerd/containerd/v2/pkg/namespaces"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ecsv1 "github.com/longshore-io/longshore/api/v1alpha1"
	"github.com/longshore-io/longshore/internal/imagebuild"
	"github.com/longshore-io/longshore/internal/network"
	"github.com/longshore-io/longshore/test/integration/framework"
)

const (
	testImage     = "localhost/longshore/busybox:latest"
	ctrdNamespace = "longshore-test"
	bridgeName    = "lsn-br0"
	taskBridge    = "lsn-vpc0"
	bridgeCIDR    = "10.253.0.0/24"
	taskCIDR      = "10.254.0.0/24"
)

var (
	agentBinOnce sync.Once
	agentBin     string
	agentBinErr  error
)

// node is one instance: a private containerd with the test image, and the
// real longshore-agent binary, registered as ContainerInstance Name.
type node struct {
	t        *testing.T
	Name     string
	Sock     string
	Dir      string
	NS       string // the Kubernetes namespace of the test's objects
	agent    *framework.Process
	args     []string
	ctrd     *containerd.Client
	LogDir   string
	NetNSDir string
	StateDir string
	// RunDir is the agent's --run-dir (FireLens sockets): short, as Unix
	// socket paths must be.
	RunDir string
	// earlierLogs of agents killed during the test.
	earlierLogs []string
	// HostNetNS, when set, is the network namespace the agent runs in as
	// its host (multihost_test.go); command runs ip and iptables there.
	HostNetNS string
	// Cluster is the agent's --cluster when a test sets one (inCluster);
	// the tasks of task() are in it.
	Cluster string
	// HostEndpoints and Introspection are the agent's task endpoint
	// listener of host-mode tasks and its introspection endpoint (free
	// ports of the loopback: several agents run side by side).
	HostEndpoints, Introspection string
}

// nodeOption changes how newNode sets an instance up.
type nodeOption func(n *node, args *[]string)

// inHostNetNS runs the agent in the network namespace at path, as if it
// were a host of its own: it reaches the API server through a forwarder on
// that namespace's loopback, and its bridges, routes and rules are there.
func inHostNetNS(path string) nodeOption {
	return func(n *node, _ *[]string) { n.HostNetNS = path }
}

// inCluster joins the agent to Cluster name, whose manager (the test's)
// assigns its task subnet: no --task-cidr.
func inCluster(name string) nodeOption {
	return func(n *node, args *[]string) {
		n.Cluster = name
		out := []string{"--cluster", name}
		for i := 0; i < len(*args); i++ {
			if (*args)[i] == "--task-cidr" {
				i++
				continue
			}
			out = append(out, (*args)[i])
		}
		*args = out
	}
}

// command runs ip, iptables-save or another host tool in the node's host
// network namespace.
func (n *node) command(name string, args ...string) *exec.Cmd {
	if n.HostNetNS == "" {
		return exec.Command(name, args...)
	}
	return exec.Command("nsenter", append([]string{"--net=" + n.HostNetNS, "--", name}, args...)...)
}

func buildAgent(t *testing.T) string {
	agentBinOnce.Do(func() {
		dir, err := os.MkdirTemp("", "lsagent-bin-")
		if err != nil {
			agentBinErr = err
			return
		}
		agentBin = filepath.Join(dir, "longshore-agent")
		// The agent with its logger and init next to it, as `make build` lays them out.
		for bin, pkg := range map[string]string{"longshore-agent": "./cmd/agent", "longshore-logger": "./cmd/logger", "longshore-init": "./cmd/init"} {
			cmd := exec.Command("go", "build", "-o", filepath.Join(dir, bin), pkg)
			cmd.Dir = framework.RepoRoot()
			cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
			if out, err := cmd.CombinedOutput(); err != nil {
				agentBinErr = fmt.Errorf("go build %s: %v\n%s", pkg, err, out)
				return
			}
		}
	})
	if agentBinErr != nil {
		t.Fatal(agentBinErr)
	}
	return agentBin
}

// newNode starts containerd and the agent; everything is removed, and
// checked for leaks, when the test ends.
func newNode(t *testing.T, name string, opts ...nodeOption) *node {
	t.Helper()
	ctx := t.Context()
	n := &node{t: t, Name: name}
	n.Sock = startContainerd(t)
	n.Dir = t.TempDir()
	n.LogDir, n.NetNSDir, n.StateDir = filepath.Join(n.Dir, "logs"), filepath.Join(n.Dir, "netns"), filepath.Join(n.Dir, "state")
	n.RunDir = filepath.Join("/run", "lstest-"+name)
	t.Cleanup(func() { _ = os.RemoveAll(n.RunDir) })

	c, err := containerd.New(n.Sock, containerd.WithDefaultNamespace(ctrdNamespace))
	if err != nil {
		t.Fatal(err)
	}
	n.ctrd = c
	t.Cleanup(func() { _ = c.Close() })
	img, err := imagebuild.Build(imagebuild.BusyboxSpec(testImage))
	if err != nil {
		t.Fatal(err)
	}
	if err := imagebuild.Import(namespaces.WithNamespace(ctx, ctrdNamespace), c, img); err != nil {
		t.Fatal(err)
	}

	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "node-"}}
	if err := env.Client.Create(ctx, ns); err != nil {
		t.Fatal(err)
	}
	n.NS = ns.Name
	if err := env.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "longshore-system"}}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	n.args = []string{"--kubeconfig", env.AdminKubeconfig(t),
		"--instance-name", name, "--availability-zone", "a",
		"--containerd-address", n.Sock, "--containerd-namespace", ctrdNamespace,
		"--state-dir", n.StateDir, "--run-dir", n.RunDir, "--log-dir", n.LogDir, "--netns-dir", n.NetNSDir,
		"--bridge-name", bridgeName, "--bridge-cidr", bridgeCIDR,
		"--task-bridge-name", taskBridge, "--task-cidr", taskCIDR,
		"--image-pull-behavior", "prefer-cached",
		"--lease-namespace", "longshore-system", "--lease-renew-interval", "1s", "--lease-duration", "5s",
		"--metrics-bind-address", "0", "--health-probe-bind-address", fmt.Sprintf("127.0.0.1:%d", framework.FreePort(t)),
		"--agent-api-bind-address", fmt.Sprintf("127.0.0.1:%d", framework.FreePort(t)),
	}
	n.HostEndpoints = fmt.Sprintf("127.0.0.1:%d", framework.FreePort(t))
	n.Introspection = fmt.Sprintf("127.0.0.1:%d", framework.FreePort(t))
	n.args = append(n.args, "--task-endpoints-host-address", n.HostEndpoints, "--introspection-bind-address", n.Introspection,
		"--ecs-region", "eu-west-3", "--ecs-account-id", "123456789012")
	for _, o := range opts {
		o(n, &n.args)
	}
	if n.HostNetNS != "" {
		forwardAPIServer(t, n.HostNetNS)
	}
	n.startAgent()
	// Cleanups run last-in first-out: leaks are checked while the (latest)
	// agent still runs, then it stops.
	t.Cleanup(func() { n.agent.StopAndReport(t) })
	t.Cleanup(n.checkNoLeaks)
	// Registered: the ContainerInstance exists.
	framework.Eventually(t, 30*time.Second, "agent registered", func() error {
		return env.Client.Get(ctx, client.ObjectKey{Name: name}, &ecsv1.ContainerInstance{})
	})
	return n
}

func (n *node) startAgent() {
	if n.agent != nil {
		// Keep the output of the previous run for the failure report.
		b, _ := os.ReadFile(n.agent.Log)
		n.earlierLogs = append(n.earlierLogs, string(b))
	}
	if n.HostNetNS != "" {
		// nsenter enters the namespace and execs the agent: same PID.
		n.agent = framework.StartUnmanaged(n.t, "nsenter", append([]string{"--net=" + n.HostNetNS, "--", buildAgent(n.t)}, n.args...)...)
		return
	}
	n.agent = framework.StartUnmanaged(n.t, buildAgent(n.t), n.args...)
}

// killAgent kills the agent with SIGKILL, as a crash would.
func (n *node) killAgent() {
	_ = n.agent.Cmd.Process.Kill()
	_, _ = n.agent.Cmd.Process.Wait()
}

// task creates a TaskDefinitionRevision "<family>-1" with spec and a Task
// bound to this node that runs it (ECS StartTask).
func (n *node) task(name string, spec ecsv1.TaskDefinitionSpec) *ecsv1.Task {
	n.t.Helper()
	ctx := n.t.Context()
	family := name
	rev := &ecsv1.TaskDefinitionRevision{ObjectMeta: metav1.ObjectMeta{Namespace: n.NS, Name: family + "-1"},
		Spec: ecsv1.TaskDefinitionRevisionSpec{Family: family, Revision: 1, TaskDefinition: spec}}
	if err := env.Client.Create(ctx, rev); err != nil {
		n.t.Fatalf("creating revision: %v", err)
	}
	task := &ecsv1.Task{ObjectMeta: metav1.ObjectMeta{Namespace: n.NS, Name: name},
		Spec: ecsv1.TaskSpec{Cluster: n.Cluster, TaskDefinition: family + ":1", ContainerInstance: n.Name}}
	if err := env.Client.Create(ctx, task); err != nil {
		n.t.Fatalf("creating task: %v", err)
	}
	return task
}

// wait polls the task until cond holds.
func (n *node) wait(task *ecsv1.Task, timeout time.Duration, what string, cond func(*ecsv1.Task) error) *ecsv1.Task {
	n.t.Helper()
	got := &ecsv1.Task{}
	framework.Eventually(n.t, timeout, task.Name+": "+what, func() error {
		if err := env.Client.Get(n.t.Context(), client.ObjectKeyFromObject(task), got); err != nil {
			return err
		}
		return cond(got)
	})
	return got
}

func phase(p ecsv1.TaskStatusPhase) func(*ecsv1.Task) error {
	return func(t *ecsv1.Task) error {
		if t.Status.LastStatus != p {
			return fmt.Errorf("lastStatus %s (stopCode %q, reason %q)", t.Status.LastStatus, t.Status.StopCode, t.Status.StoppedReason)
		}
		return nil
	}
}

// deleteTask deletes the task and waits until the agent let it go.
func (n *node) deleteTask(task *ecsv1.Task) {
	n.t.Helper()
	ctx := n.t.Context()
	if err := env.Client.Delete(ctx, task); err != nil && !apierrors.IsNotFound(err) {
		n.t.Fatal(err)
	}
	framework.Eventually(n.t, 60*time.Second, task.Name+" deleted", func() error {
		err := env.Client.Get(ctx, client.ObjectKeyFromObject(task), &ecsv1.Task{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("still there (%v)", err)
	})
}

// stop asks for the task to stop as ECS StopTask does (desiredStatus
// STOPPED), waits until it is STOPPED and returns it with the time taken.
func (n *node) stop(task *ecsv1.Task, reason string) (*ecsv1.Task, time.Duration) {
	n.t.Helper()
	start := time.Now()
	patch := client.MergeFrom(task.DeepCopy())
	stopping := task.DeepCopy()
	stopping.Spec.DesiredStatus = ecsv1.DesiredStopped
	if reason != "" {
		stopping.Spec.Stop = &ecsv1.TaskStop{Reason: reason}
	}
	if err := env.Client.Patch(n.t.Context(), stopping, patch); err != nil {
		n.t.Fatal(err)
	}
	got := n.wait(task, 60*time.Second, "STOPPED", phase(ecsv1.TaskStopped))
	return got, time.Since(start)
}

// checkNoLeaks deletes the test's tasks and checks that nothing is left:
// containers, snapshots, namespaces, veths, IPAM reservations, task
// directories and iptables rules of the test subnets.
func (n *node) checkNoLeaks() {
	t := n.t
	ctx := context.Background()
	var tasks ecsv1.TaskList
	if err := env.Client.List(ctx, &tasks, client.InNamespace(n.NS)); err == nil {
		for i := range tasks.Items {
			_ = env.Client.Delete(ctx, &tasks.Items[i])
		}
		framework.Eventually(t, 90*time.Second, "every task deleted", func() error {
			var l ecsv1.TaskList
			if err := env.Client.List(ctx, &l, client.InNamespace(n.NS)); err != nil {
				return err
			}
			if len(l.Items) > 0 {
				return fmt.Errorf("%d tasks left, e.g. %s (%s)", len(l.Items), l.Items[0].Name, l.Items[0].Status.LastStatus)
			}
			return nil
		})
	}
	cctx := namespaces.WithNamespace(ctx, ctrdNamespace)
	conts, err := n.ctrd.Containers(cctx)
	if err != nil {
		t.Errorf("listing containers: %v", err)
	}
	for _, c := range conts {
		t.Errorf("leak: container %s", c.ID())
	}
	var snaps []string
	_ = n.ctrd.SnapshotService("overlayfs").Walk(cctx, func(_ context.Context, info snapshots.Info) error {
		if info.Kind == snapshots.KindActive {
			snaps = append(snaps, info.Name)
		}
		return nil
	})
	for _, s := range snaps {
		t.Errorf("leak: active snapshot %s", s)
	}
	if entries, _ := os.ReadDir(n.NetNSDir); len(entries) > 0 {
		t.Errorf("leak: %d network namespaces in %s", len(entries), n.NetNSDir)
	}
	if entries, _ := os.ReadDir(filepath.Join(n.StateDir, "tasks")); len(entries) > 0 {
		t.Errorf("leak: %d task directories", len(entries))
	}
	if entries, _ := os.ReadDir(filepath.Join(n.RunDir, "firelens")); len(entries) > 0 {
		t.Errorf("leak: %d FireLens directories in %s", len(entries), n.RunDir)
	}
	for _, br := range []string{bridgeName, taskBridge} {
		out, _ := n.command("ip", "-o", "link", "show", "master", br).CombinedOutput()
		if s := strings.TrimSpace(string(out)); s != "" && !strings.Contains(s, "does not exist") {
			t.Errorf("leak: interfaces on %s:\n%s", br, s)
		}
	}
	out, _ := n.command("iptables-save").CombinedOutput()
	for _, line := range strings.Split(string(out), "\n") {
		// The routes' masquerade exemptions are the instance's, not a
		// task's (multihost_test.go checks them).
		if strings.HasPrefix(line, "-A") && !strings.HasPrefix(line, "-A "+network.NoMasqueradeChain+" ") &&
			(strings.Contains(line, "10.253.0.") || strings.Contains(line, "10.254.0.") || strings.Contains(line, "10.250.")) {
			t.Errorf("leak: iptables rule %s", line)
		}
	}
	// The bridges themselves are the test's: remove them.
	defer func() {
		for _, br := range []string{bridgeName, taskBridge} {
			_ = n.command("ip", "link", "delete", br).Run()
		}
	}()
	// Reservations of host-local IPAM.
	_ = filepath.WalkDir(filepath.Join(n.StateDir, "network", "ipam"), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.Count(filepath.Base(p), ".") == 3 {
			t.Errorf("leak: IP reservation %s", p)
		}
		return nil
	})
}

// exec runs a command in a task's container through containerd, the way an
// operator would with ctr, and returns its standard output and error.
func (n *node) exec(task *ecsv1.Task, container string, args ...string) (string, error) {
	cmd, err := n.ctrExec(task, container, args...)
	if err != nil {
		return "", err
	}
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// ctrExec is the ctr command that runs args in a task's container.
func (n *node) ctrExec(task *ecsv1.Task, container string, args ...string) (*exec.Cmd, error) {
	id := ""
	for _, c := range task.Status.Containers {
		if c.Name == container {
			id = c.RuntimeID
		}
	}
	if id == "" {
		return nil, fmt.Errorf("container %s has no runtime id yet", container)
	}
	cmd := exec.Command(filepath.Join(containerdBin(n.t), "ctr"), "--address", n.Sock, "-n", ctrdNamespace,
		"tasks", "exec", "--exec-id", fmt.Sprintf("t%d", time.Now().UnixNano()), id)
	cmd.Args = append(cmd.Args, args...)
	return cmd, nil
}

func containerdBin(t *testing.T) string {
	out, err := exec.Command(filepath.Join(framework.RepoRoot(), "hack", "containerd.sh"), "env").Output()
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimPrefix(strings.TrimSpace(string(out)), "CONTAINERD_BIN=")
}

func namespacesCtx(t *testing.T) context.Context {
	return namespaces.WithNamespace(t.Context(), ctrdNamespace)
}
