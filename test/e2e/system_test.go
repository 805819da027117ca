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

// Package e2e tests the whole system as a user meets it: hack/dev.sh up
// (the code path of `make dev`: etcd, kube-apiserver, containerd, a local
// registry, the manager and two agents), the real kubectl, and assertions
// from the outside: HTTP answers from tasks, the processes in containerd,
// the host's network state. It runs as root (`make test-e2e`).
package e2e

import (
	"bytes"
	"context"
	"encoding/json"
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
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ecsv1 "github.com/longshore-io/longshore/api/v1alpha1"
	"github.com/longshore-io/longshore/internal/kube"
	"github.com/longshore-io/longshore/test/integration/framework"
)

// The system under test lives apart from `make dev`'s (/var/lib/longshore/dev)
// but uses its ports, bridges and subnets: the two can't run at once, and
// hack/dev.sh up refuses to start when the ports are taken.
const (
	devDir = "/var/lib/longshore/e2e"
	// Short enough to test failover in a reasonable time, long enough that
	// a busy machine does not lose an instance by accident.
	instanceLostTimeout = 20 * time.Second
	agentGrace          = 10 * time.Second // the manager's --agent-grace default
)

var agents = []string{"a", "b"}

// sys is the running system, set up once by TestMain.
var sys struct {
	root       string
	kubectlBin string
	kubeconfig string
	c          client.Client
	ctrd       *containerd.Client
	report     []string // the timings, printed at the end
	mu         sync.Mutex
}

func TestMain(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) int {
	if os.Geteuid() != 0 {
		fmt.Fprintln(os.Stderr, "test/e2e needs root: it runs containerd, network namespaces and CNI (make test-e2e as root)")
		return 1
	}
	sys.root = framework.RepoRoot()
	_ = os.Setenv("LONGSHORE_DEV_DIR", devDir)
	_ = os.Setenv("LONGSHORE_DEV_MANAGER_FLAGS", "--instance-lost-timeout "+instanceLostTimeout.String())
	// What an interrupted earlier run left behind.
	_ = dev("purge")
	start := time.Now()
	if err := dev("up"); err != nil {
		fmt.Fprintf(os.Stderr, "hack/dev.sh up: %v (logs: %s/logs)\n", err, devDir)
		_ = dev("down")
		return 1
	}
	upTime := time.Since(start)
	code := func() int {
		lib := exec.Command("bash", "-c", "source hack/lib.sh && echo $K8S_BIN")
		lib.Dir = sys.root
		out, err := lib.Output()
		if err != nil {
			fmt.Fprintln(os.Stderr, "finding kubectl:", err)
			return 1
		}
		sys.kubectlBin = filepath.Join(strings.TrimSpace(string(out)), "kubectl")
		sys.kubeconfig = filepath.Join(devDir, "admin.kubeconfig")
		cfg, err := clientcmd.BuildConfigFromFlags("", sys.kubeconfig)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		cfg.QPS, cfg.Burst = 50, 100
		if sys.c, err = client.New(cfg, client.Options{Scheme: kube.Scheme()}); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		if sys.ctrd, err = containerd.New(filepath.Join(devDir, "containerd", "containerd.sock")); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer func() { _ = sys.ctrd.Close() }()
		addReport("hack/dev.sh up (etcd, kube-apiserver, kube-controller-manager, containerd, registry, images, manager, 2 agents): %.1f s", upTime.Seconds())
		return m.Run()
	}()
	fmt.Printf("\nend-to-end timings:\n  %s\n\n", strings.Join(sys.report, "\n  "))
	if code != 0 {
		fmt.Fprintf(os.Stderr, "e2e failed: the system is stopped, its logs are in %s/logs\n", devDir)
		_ = dev("down")
		return code
	}
	if err := dev("purge"); err != nil {
		fmt.Fprintln(os.Stderr, "hack/dev.sh purge:", err)
		return 1
	}
	return code
}

func addReport(format string, args ...any) {
	sys.mu.Lock()
	defer sys.mu.Unlock()
	sys.report = append(sys.report, fmt.Sprintf(format, args...))
}

// dev runs hack/dev.sh with the e2e environment, its output on stderr.
func dev(args ...string) error {
	cmd := exec.Command(filepath.Join(framework.RepoRoot(), "hack", "dev.sh"), args...)
	cmd.Dir = framework.RepoRoot()
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	return cmd.Run()
}

// kubectl runs the real kubectl against the system; stdin may be empty.
func kubectl(stdin string, args ...string) (string, error) {
	cmd := exec.Command(sys.kubectlBin, append([]string{"--kubeconfig", sys.kubeconfig}, args...)...)
	cmd.Dir = sys.root
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if err != nil {
		return out.String() + errb.String(), fmt.Errorf("kubectl %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(errb.String()))
	}
	return out.String(), nil
}

func mustKubectl(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	out, err := kubectl(stdin, args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// getTask reads a Task with kubectl, as a user would.
func getTask(t *testing.T, name string) *ecsv1.Task {
	t.Helper()
	out := mustKubectl(t, "", "get", "ecstask", name, "-o", "json")
	var task ecsv1.Task
	if err := json.Unmarshal([]byte(out), &task); err != nil {
		t.Fatalf("decoding task %s: %v", name, err)
	}
	return &task
}

// waitTask waits until the Task (read through the API) satisfies cond.
func waitTask(t *testing.T, name string, timeout time.Duration, cond func(*ecsv1.Task) error) *ecsv1.Task {
	t.Helper()
	var task ecsv1.Task
	framework.Eventually(t, timeout, "task "+name, func() error {
		if err := sys.c.Get(context.Background(), client.ObjectKey{Namespace: "default", Name: name}, &task); err != nil {
			return err
		}
		return cond(&task)
	})
	return &task
}

func isRunning(task *ecsv1.Task) error {
	if task.Status.LastStatus == ecsv1.TaskStopped {
		return fmt.Errorf("STOPPED: %s %s", task.Status.StopCode, task.Status.StoppedReason)
	}
	if task.Status.LastStatus != ecsv1.TaskRunning {
		return fmt.Errorf("lastStatus %q", task.Status.LastStatus)
	}
	return nil
}

func isStopped(task *ecsv1.Task) error {
	if task.Status.LastStatus != ecsv1.TaskStopped {
		return fmt.Errorf("lastStatus %q", task.Status.LastStatus)
	}
	return nil
}

func taskIP(task *ecsv1.Task) string {
	for _, a := range task.Status.Attachments {
		if a.Details.IPv4Address != "" {
			return a.Details.IPv4Address
		}
	}
	return ""
}

// get fetches url and returns the body of a 200 answer.
func get(url string) (string, error) { return framework.GetOK(url, 2*time.Second) }

// serviceTasks lists the Tasks of a Service that are not STOPPED.
func serviceTasks(svc string) ([]ecsv1.Task, error) {
	var l ecsv1.TaskList
	if err := sys.c.List(context.Background(), &l, client.InNamespace("default"),
		client.MatchingLabels{ecsv1.LabelService: svc}); err != nil {
		return nil, err
	}
	var out []ecsv1.Task
	for _, task := range l.Items {
		if task.Status.LastStatus != ecsv1.TaskStopped {
			out = append(out, task)
		}
	}
	return out, nil
}

// answering counts the tasks whose IP answers HTTP on port.
func answering(tasks []ecsv1.Task, port int) int {
	var wg sync.WaitGroup
	var mu sync.Mutex
	n := 0
	for _, task := range tasks {
		ip := taskIP(&task)
		if ip == "" {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := get(fmt.Sprintf("http://%s:%d/", ip, port)); err == nil {
				mu.Lock()
				n++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return n
}

// containerPIDs maps the container IDs of one agent's containerd namespace
// to the PIDs of their processes (0: no running process).
func containerPIDs(t *testing.T, x string) map[string]uint32 {
	t.Helper()
	return framework.ContainerPIDs(t, sys.ctrd, "longshore-"+x)
}

// leaks lists what is left of tasks on the host: containers, active
// snapshots, pinned namespaces, task directories, interfaces on the
// bridges, IPAM reservations and iptables rules of the task subnets.
func leaks(t *testing.T) []string {
	t.Helper()
	var out []string
	for _, x := range agents {
		ctx := namespaces.WithNamespace(context.Background(), "longshore-"+x)
		for id := range containerPIDs(t, x) {
			out = append(out, "container "+x+"/"+id)
		}
		_ = sys.ctrd.SnapshotService("overlayfs").Walk(ctx, func(_ context.Context, info snapshots.Info) error {
			if info.Kind == snapshots.KindActive {
				out = append(out, "active snapshot "+x+"/"+info.Name)
			}
			return nil
		})
		if entries, _ := os.ReadDir(filepath.Join("/run/longshore-e2e", "netns-"+x)); len(entries) > 0 {
			out = append(out, fmt.Sprintf("%d network namespaces of agent %s", len(entries), x))
		}
		if entries, _ := os.ReadDir(filepath.Join(devDir, "agent-"+x, "tasks")); len(entries) > 0 {
			out = append(out, fmt.Sprintf("%d task directories of agent %s", len(entries), x))
		}
		for _, br := range []string{"ls-" + x + "-br", "ls-" + x + "-vpc"} {
			b, _ := exec.Command("ip", "-o", "link", "show", "master", br).CombinedOutput()
			if s := strings.TrimSpace(string(b)); s != "" && !strings.Contains(s, "does not exist") {
				out = append(out, "interfaces on "+br+": "+s)
			}
		}
		_ = filepath.WalkDir(filepath.Join(devDir, "agent-"+x, "network", "ipam"), func(p string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() && strings.Count(filepath.Base(p), ".") == 3 {
				out = append(out, "IP reservation "+p)
			}
			return nil
		})
	}
	b, _ := exec.Command("iptables-save").CombinedOutput()
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "-A") && (strings.Contains(line, "10.222.") || strings.Contains(line, "172.29.1.") ||
			strings.Contains(line, "172.29.2.")) {
			out = append(out, "iptables rule "+line)
		}
	}
	return out
}
