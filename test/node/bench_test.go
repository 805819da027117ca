//go:build node && bench

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
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/pkg/cio"
	"github.com/containerd/containerd/v2/pkg/namespaces"
	"github.com/containerd/containerd/v2/pkg/oci"
	"github.com/go-logr/logr"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ecsv1 "github.com/longshore-io/longshore/api/v1alpha1"
	"github.com/longshore-io/longshore/internal/network"
	"github.com/longshore-io/longshore/test/integration/framework"
)

// The agent benchmark (`make bench-agent`): apply→RUNNING latency of a
// one-container awsvpc task with a pre-pulled image, against a baseline of
// the same work done directly with the containerd client and CNI in the
// same run; 50 tasks at once; the agent's memory. It prints its figures;
// it asserts nothing about speed.

func benchN() int {
	if v, err := strconv.Atoi(os.Getenv("LONGSHORE_BENCH_TASKS")); err == nil && v > 0 {
		return v
	}
	return 100
}

func percentile(d []time.Duration, p float64) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	i := int(float64(len(s)-1) * p)
	return s[i]
}

// baseline: pinned netns + CNI ADD (awsvpc bridge) + containerd create +
// start of one container, timed until Start returns.
func baseline(t *testing.T, n *node, count int) []time.Duration {
	ctx := namespaces.WithNamespace(context.Background(), ctrdNamespace)
	dir := t.TempDir()
	cni, err := network.New(network.Config{StateDir: filepath.Join(dir, "state"), NetNSDir: filepath.Join(dir, "netns"),
		BridgeName: "lsb-br0", BridgeCIDR: "10.248.0.0/24", TaskBridgeName: "lsb-vpc0", TaskCIDR: "10.249.0.0/24"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cni.GC(context.Background(), nil)
		for _, br := range []string{"lsb-br0", "lsb-vpc0"} {
			_ = runIP("link", "delete", br)
		}
	})
	img, err := n.ctrd.GetImage(ctx, testImage)
	if err != nil {
		t.Fatal(err)
	}
	var out []time.Duration
	for i := range count {
		id := fmt.Sprintf("baseline-%d", i)
		start := time.Now()
		att, err := cni.Setup(ctx, network.SetupRequest{ID: id, Mode: network.ModeAWSVPC})
		if err != nil {
			t.Fatal(err)
		}
		c, err := n.ctrd.NewContainer(ctx, id, containerd.WithImage(img), containerd.WithNewSnapshot(id, img),
			containerd.WithNewSpec(oci.WithImageConfig(img), oci.WithProcessArgs("sleep", "3600"),
				oci.WithLinuxNamespace(specs.LinuxNamespace{Type: specs.NetworkNamespace, Path: att.NetNSPath})))
		if err != nil {
			t.Fatal(err)
		}
		task, err := c.NewTask(ctx, cio.NullIO)
		if err != nil {
			t.Fatal(err)
		}
		exitC, err := task.Wait(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := task.Start(ctx); err != nil {
			t.Fatal(err)
		}
		out = append(out, time.Since(start))
		_ = task.Kill(ctx, syscall.SIGKILL)
		<-exitC
		_, _ = task.Delete(ctx)
		_ = c.Delete(ctx, containerd.WithSnapshotCleanup)
		if err := cni.Teardown(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// watchRunning creates tasks through the API and returns, per task, the
// time from Create to the watch event that shows it RUNNING.
type taskWatcher struct {
	w       watch.Interface
	running map[string]time.Time
}

func newWatcher(t *testing.T, ns string) *taskWatcher {
	cw, err := client.NewWithWatch(env.Env.Config, client.Options{Scheme: env.Scheme})
	if err != nil {
		t.Fatal(err)
	}
	w, err := cw.Watch(t.Context(), &ecsv1.TaskList{}, client.InNamespace(ns))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)
	return &taskWatcher{w: w, running: map[string]time.Time{}}
}

// waitRunning consumes events until every name is RUNNING.
func (tw *taskWatcher) waitRunning(t *testing.T, names []string, timeout time.Duration) {
	deadline := time.After(timeout)
	for {
		done := true
		for _, name := range names {
			if _, ok := tw.running[name]; !ok {
				done = false
			}
		}
		if done {
			return
		}
		select {
		case ev := <-tw.w.ResultChan():
			if task, ok := ev.Object.(*ecsv1.Task); ok && task.Status.LastStatus == ecsv1.TaskRunning {
				if _, seen := tw.running[task.Name]; !seen {
					tw.running[task.Name] = time.Now()
				}
			}
		case <-deadline:
			t.Fatalf("tasks not RUNNING after %s", timeout)
		}
	}
}

// rss is a process's resident set in MiB from /proc/PID/smaps_rollup:
// private is Private_Clean+Private_Dirty (pages no other process maps),
// shared Shared_Clean+Shared_Dirty (pages other processes map too: the
// file mapping of a binary or library another process runs). Private
// includes the clean pages of the agent's own binary, which only it maps;
// anon is the anonymous part (heap, stacks), which no file backs.
type rss struct{ total, private, shared, anon float64 }

func (r rss) String() string {
	return fmt.Sprintf("%.1f MiB (private %.1f MiB of which anonymous %.1f MiB, shared %.1f MiB)", r.total, r.private, r.anon, r.shared)
}

func rssMiB(pid int) rss {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/smaps_rollup", pid))
	var out rss
	for _, line := range strings.Split(string(b), "\n") {
		key, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		mib, _ := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 64)
		mib /= 1024
		switch key {
		case "Rss":
			out.total = mib
		case "Private_Clean", "Private_Dirty":
			out.private += mib
		case "Shared_Clean", "Shared_Dirty":
			out.shared += mib
		case "Anonymous":
			out.anon = mib
		}
	}
	return out
}

func TestBenchAgent(t *testing.T) {
	count := benchN()
	ctrl.SetLogger(logr.Discard()) // the baseline calls internal/network, which logs
	n := newNode(t, "node-bench")
	ctx := t.Context()
	spec := ecsv1.TaskDefinitionSpec{NetworkMode: ecsv1.NetworkModeAWSVPC,
		ContainerDefinitions: []ecsv1.ContainerDefinition{container("main", "sleep", "3600")}}
	rev := &ecsv1.TaskDefinitionRevision{ObjectMeta: metav1.ObjectMeta{Namespace: n.NS, Name: "bench-1"},
		Spec: ecsv1.TaskDefinitionRevisionSpec{Family: "bench", Revision: 1, TaskDefinition: spec}}
	if err := env.Client.Create(ctx, rev); err != nil {
		t.Fatal(err)
	}
	floorRSS := libraryFloorRSS(t)
	time.Sleep(2 * time.Second)
	idleRSS := rssMiB(n.agent.Cmd.Process.Pid)

	base := baseline(t, n, count)

	tw := newWatcher(t, n.NS)
	var agent []time.Duration
	for i := range count {
		name := fmt.Sprintf("seq-%d", i)
		task := &ecsv1.Task{ObjectMeta: metav1.ObjectMeta{Namespace: n.NS, Name: name},
			Spec: ecsv1.TaskSpec{TaskDefinition: "bench:1", ContainerInstance: n.Name}}
		start := time.Now()
		if err := env.Client.Create(ctx, task); err != nil {
			t.Fatal(err)
		}
		tw.waitRunning(t, []string{name}, 60*time.Second)
		agent = append(agent, tw.running[name].Sub(start))
		n.deleteTask(task)
	}

	// 50 at once.
	const burst = 50
	var names []string
	start := time.Now()
	for i := range burst {
		name := fmt.Sprintf("burst-%d", i)
		names = append(names, name)
		task := &ecsv1.Task{ObjectMeta: metav1.ObjectMeta{Namespace: n.NS, Name: name},
			Spec: ecsv1.TaskSpec{TaskDefinition: "bench:1", ContainerInstance: n.Name}}
		if err := env.Client.Create(ctx, task); err != nil {
			t.Fatal(err)
		}
	}
	tw.waitRunning(t, names, 5*time.Minute)
	var last time.Time
	for _, name := range names {
		if tw.running[name].After(last) {
			last = tw.running[name]
		}
	}
	allRunning := last.Sub(start)
	time.Sleep(5 * time.Second) // settle: health of the event loop, GC
	busyRSS := rssMiB(n.agent.Cmd.Process.Pid)

	b50, b99 := percentile(base, 0.5), percentile(base, 0.99)
	a50, a99 := percentile(agent, 0.5), percentile(agent, 0.99)
	fmt.Printf("\nlongshore agent benchmark (%d sequential tasks, awsvpc, pre-pulled image)\n", count)
	fmt.Printf("  baseline  netns+CNI ADD+containerd create+start:  p50 %6.1f ms  p99 %6.1f ms\n", ms(b50), ms(b99))
	fmt.Printf("  agent     Task create → watch sees RUNNING:        p50 %6.1f ms  p99 %6.1f ms\n", ms(a50), ms(a99))
	fmt.Printf("  ratio     agent/baseline:                          p50 %6.2fx    p99 %6.2fx   (targets 1.5x, 2x)\n",
		float64(a50)/float64(b50), float64(a99)/float64(b99))
	fmt.Printf("  %d tasks created at once: all RUNNING after %.2f s\n", burst, allRunning.Seconds())
	fmt.Printf("  RSS floor, the agent's libraries linked and initialised, nothing else (test/node/rssfloor): %s\n", floorRSS)
	fmt.Printf("  agent RSS idle: %s\n  agent RSS with %d running tasks: %s\n", idleRSS, burst, busyRSS)
	fmt.Printf("  ratio     agent with %d tasks / floor: %.2fx total, %.2fx private, %.2fx anonymous\n\n", burst,
		busyRSS.total/floorRSS.total, busyRSS.private/floorRSS.private, busyRSS.anon/floorRSS.anon)
	// The agent's log, for the durations of its sync steps ("Task running").
	if p := os.Getenv("LONGSHORE_BENCH_AGENT_LOG"); p != "" {
		if b, err := os.ReadFile(n.agent.Log); err == nil {
			_ = os.WriteFile(p, b, 0o644)
		}
	}
}

// libraryFloorRSS builds and runs test/node/rssfloor, which links the
// agent's libraries and does nothing, and returns its resident set after
// its initialisation: the part of the agent's RSS that its own code can't
// remove.
func libraryFloorRSS(t *testing.T) rss {
	bin := filepath.Join(t.TempDir(), "rssfloor")
	build := exec.Command("go", "build", "-o", bin, "./test/node/rssfloor")
	build.Dir = framework.RepoRoot()
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build rssfloor: %v\n%s", err, out)
	}
	cmd := exec.Command(bin)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	time.Sleep(2 * time.Second)
	return rssMiB(cmd.Process.Pid)
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func runIP(args ...string) error {
	return exec.Command("ip", args...).Run()
}
