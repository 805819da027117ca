//go:build cluster

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

// Package cluster installs Longshore the way a user with a Kubernetes
// cluster does: `kubectl apply -k config/default` into a real cluster
// (hack/cluster.sh: kube-apiserver, kube-controller-manager, kube-scheduler,
// and a node of containerd with CRI, a kubelet and kube-proxy), with the
// images `make images` builds imported into the node. Everything is checked
// from outside, with kubectl, containerd's client and the host's network
// state. It runs as root (`make test-cluster`) and not at the same time as
// the e2e layer or `make dev`.
package cluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/go-logr/logr"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	ecsv1 "github.com/longshore-io/longshore/api/v1alpha1"
	"github.com/longshore-io/longshore/internal/kube"
	"github.com/longshore-io/longshore/test/integration/framework"
)

const (
	agentNamespace = "longshore" // the DaemonSet's --containerd-namespace
	systemNS       = "longshore-system"
	taskName       = "web-in-cluster"
	logLine        = "hello from the cluster layer"
	webPort        = 8080
	// Where config/agent keeps task network namespaces and logs on the host.
	netnsDir = "/run/longshore/netns"
	// Where the agent installs its logger and init, one directory a version.
	helpersDir = "/var/lib/longshore/agent/bin"
	logDir     = "/var/log/longshore/tasks"
	// The image a rolling update moves the agent to.
	rolloutImage = "longshore/agent:rollout"
)

// env is the running cluster, set up once by TestMain.
var env struct {
	root    string
	kubectl framework.Kubectl
	node    string
	sock    string
	c       client.Client
	ctrd    *containerd.Client
	report  []string
}

func report(format string, args ...any) {
	env.report = append(env.report, fmt.Sprintf(format, args...))
}

func TestMain(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) int {
	if os.Geteuid() != 0 {
		fmt.Fprintln(os.Stderr, "test/cluster needs root: it runs a kubelet, containerd and kube-proxy (make test-cluster as root)")
		return 1
	}
	ctrllog.SetLogger(logr.Discard())
	env.root = framework.RepoRoot()
	vars, err := clusterEnv()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	env.kubectl = framework.Kubectl{Bin: filepath.Join(vars["K8S_BIN"], "kubectl"), Kubeconfig: vars["KUBECONFIG"]}
	env.node, env.sock = vars["NODE_NAME"], vars["CONTAINERD_SOCK"]

	_ = script("cluster.sh", "purge") // what an interrupted run left
	start := time.Now()
	if err := script("cluster.sh", "up"); err != nil {
		fmt.Fprintf(os.Stderr, "hack/cluster.sh up: %v (logs: %s/logs)\n", err, vars["CLUSTER_DIR"])
		_ = script("cluster.sh", "down")
		return 1
	}
	report("hack/cluster.sh up (control plane, containerd, kubelet, kube-proxy; node Ready): %.1f s", time.Since(start).Seconds())

	code := func() int {
		start := time.Now()
		if err := script("images.sh", "import", env.sock); err != nil {
			fmt.Fprintln(os.Stderr, "hack/images.sh import:", err)
			return 1
		}
		report("make images + import into the node: %.1f s", time.Since(start).Seconds())
		// The tasks' image, in the agent's containerd namespace.
		if err := goRun("./hack/imagebuild", "--address", env.sock, "--namespace", agentNamespace); err != nil {
			fmt.Fprintln(os.Stderr, "importing the sample image:", err)
			return 1
		}
		cfg, err := clientcmd.BuildConfigFromFlags("", env.kubectl.Kubeconfig)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		if env.c, err = client.New(cfg, client.Options{Scheme: kube.Scheme()}); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		if env.ctrd, err = containerd.New(env.sock); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer func() { _ = env.ctrd.Close() }()
		return m.Run()
	}()
	fmt.Printf("\ncluster layer timings:\n  %s\n\n", strings.Join(env.report, "\n  "))
	if code != 0 {
		fmt.Fprintf(os.Stderr, "cluster layer failed: the cluster is stopped, its logs are in %s/logs\n", vars["CLUSTER_DIR"])
		_ = script("cluster.sh", "down")
		return code
	}
	if err := script("cluster.sh", "purge"); err != nil {
		fmt.Fprintln(os.Stderr, "hack/cluster.sh purge:", err)
		return 1
	}
	return 0
}

// TestCluster runs the scenarios in order on one cluster, each building on
// the one before; the first failure ends the run.
func TestCluster(t *testing.T) {
	before := iptablesRules(t)
	for _, s := range []struct {
		name string
		f    func(*testing.T)
	}{
		{"kubectl apply -k config/default: the manager is Available and leader-elected", testInstall},
		{"the agent pod registers its node as a ContainerInstance", testRegistration},
		{"a task runs on the node's containerd beside the kubelet's pods and answers", testTask},
		{"config/ecs-api: the AWS SDK registers, runs and stops a task on the node through the ECS API", testECSAPI},
		{"the agent acts as its node's own identity, confined to its instance and its tasks' Secrets", testAgentIdentity},
		{"kubectl delete pod of the agent keeps the task's containers", testAgentPodDeleted},
		{"a rolling update of the agent DaemonSet keeps them too", testAgentRollout},
		{"the new agent stops the task and cleans up", testTaskStop},
		{"a restarted agent removes the old version's logger and init once no container uses them", testOldHelpersRemoved},
		{"kubectl delete -k config/default leaves nothing behind", func(t *testing.T) { testUninstall(t, before) }},
	} {
		if !t.Run(s.name, s.f) {
			return
		}
	}
}

var installed time.Time

func testInstall(t *testing.T) {
	// The Cluster first, with subnets of its own: an agent that registers
	// into a missing Cluster gets the defaults, and taskNetwork is
	// immutable once instances hold subnets of it.
	mustKubectl(t, "", "apply", "-k", "config/crd")
	mustKubectl(t, "", "wait", "--for", "condition=Established", "--timeout", "60s", "crd/clusters.ecs.longshore.io")
	mustKubectl(t, clusterYAML, "apply", "-f", "-")
	installed = time.Now()
	mustKubectl(t, "", "apply", "-k", "config/default")
	mustKubectl(t, "", "-n", systemNS, "wait", "--for", "condition=Available", "--timeout", "180s", "deployment/longshore-manager")
	report("apply -k → manager Deployment Available: %.1f s", time.Since(installed).Seconds())

	// One of the two replicas holds the lease; the other stands by.
	pods := podsOf(t, "longshore-manager")
	if len(pods) != 2 {
		t.Fatalf("%d manager pods, want the Deployment's 2", len(pods))
	}
	framework.Eventually(t, 60*time.Second, "a manager pod holds the leader lease", func() error {
		var lease coordinationv1.Lease
		if err := env.c.Get(context.Background(), client.ObjectKey{Namespace: systemNS, Name: "longshore-manager"}, &lease); err != nil {
			return err
		}
		holder := ""
		if lease.Spec.HolderIdentity != nil {
			holder = *lease.Spec.HolderIdentity
		}
		for _, p := range pods {
			if strings.HasPrefix(holder, p.Name) {
				return nil
			}
		}
		return fmt.Errorf("lease held by %q, which is none of the manager pods", holder)
	})
}

func testRegistration(t *testing.T) {
	mustKubectl(t, "", "-n", systemNS, "rollout", "status", "daemonset/longshore-agent", "--timeout", "120s")
	ci := waitInstance(t, func(ci *ecsv1.ContainerInstance) error {
		if !ci.Status.Connected() {
			return errors.New("agent not connected")
		}
		return nil
	})
	report("apply -k → ContainerInstance %s connected: %.1f s", ci.Name, time.Since(installed).Seconds())
	if ci.Status.AgentVersion == "" {
		t.Errorf("ContainerInstance %s reports no agent version", ci.Name)
	}
}

// clusterYAML keeps the awsvpc subnets clear of make dev's, which uses the
// samples' Cluster.
const clusterYAML = `apiVersion: ecs.longshore.io/v1alpha1
kind: Cluster
metadata:
  name: default
spec:
  taskNetwork:
    cidr: 172.27.0.0/16
    instanceMaskSize: 24
`

const taskYAML = `apiVersion: ecs.longshore.io/v1alpha1
kind: TaskDefinition
metadata:
  name: web-in-cluster
spec:
  networkMode: awsvpc
  cpu: "0.25 vCPU"
  memory: "128"
  containerDefinitions:
    - name: web
      image: localhost/longshore/busybox:latest
      command: ["sh", "-c", "echo '` + logLine + `'; exec httpd -f -v -p 8080 -h /www"]
      linuxParameters:
        initProcessEnabled: true
      portMappings:
        - containerPort: 8080
---
apiVersion: ecs.longshore.io/v1alpha1
kind: Task
metadata:
  name: ` + taskName + `
spec:
  taskDefinition: web-in-cluster
`

func testTask(t *testing.T) {
	start := time.Now()
	mustKubectl(t, taskYAML, "apply", "-f", "-")
	task := waitTask(t, func(task *ecsv1.Task) error {
		if task.Status.LastStatus != ecsv1.TaskRunning {
			return fmt.Errorf("lastStatus %s (%s)", task.Status.LastStatus, task.Status.StoppedReason)
		}
		return nil
	})
	if task.Spec.ContainerInstance != env.node {
		t.Errorf("task placed on %q, want the node's instance %q", task.Spec.ContainerInstance, env.node)
	}
	url := fmt.Sprintf("http://%s:%d/", taskIP(t, task), webPort)
	framework.Eventually(t, 30*time.Second, "the task answers "+url, func() error {
		_, err := framework.GetOK(url, 2*time.Second)
		return err
	})
	report("apply Task → RUNNING and answering HTTP: %.1f s", time.Since(start).Seconds())

	// Beside the kubelet's pods: Longshore's namespace and CRI's in one containerd.
	nss, err := env.ctrd.NamespaceService().List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(nss, "k8s.io") || !slices.Contains(nss, agentNamespace) {
		t.Errorf("containerd namespaces %v, want k8s.io (the kubelet's) and %s (the agent's)", nss, agentNamespace)
	}
	if n := len(pids(t)); n != 1 {
		t.Errorf("%d containers in namespace %s, want the task's 1", n, agentNamespace)
	}
	// Its output on the host, where the agent's log directory is.
	logFile := filepath.Join(logDir, "default", taskName, "web.log")
	framework.Eventually(t, 30*time.Second, "the task's output in "+logFile, func() error {
		b, err := os.ReadFile(logFile)
		if err != nil {
			return err
		}
		if !bytes.Contains(b, []byte(logLine)) {
			return fmt.Errorf("%s holds %q", logFile, b)
		}
		return nil
	})
}

// testAgentIdentity checks the DaemonSet agent's per-node identity on a
// real node: the ServiceAccount longshore-agents/<node> it bootstraps from
// its node-bound pod token, the Secrets it may read (those of its tasks,
// while they run) and a write for another instance, refused.
func testAgentIdentity(t *testing.T) {
	ctx := context.Background()
	user := "system:serviceaccount:longshore-agents:" + env.node
	var sa corev1.ServiceAccount
	framework.Eventually(t, 30*time.Second, "ServiceAccount longshore-agents/"+env.node+" owned by its Node", func() error {
		if err := env.c.Get(ctx, client.ObjectKey{Namespace: "longshore-agents", Name: env.node}, &sa); err != nil {
			return err
		}
		for _, o := range sa.OwnerReferences {
			if o.Kind == "Node" && o.Name == env.node {
				return nil
			}
		}
		return fmt.Errorf("owner references %v", sa.OwnerReferences)
	})

	canGet := func(secret string) string {
		out, _ := env.kubectl.Run("", "auth", "can-i", "get", "secret/"+secret, "-n", "default", "--as", user)
		return strings.TrimSpace(out)
	}
	mustKubectl(t, "", "apply", "-f", "config/samples/50-task-secret.yaml")
	framework.Eventually(t, 120*time.Second, "task reads-secret RUNNING (its agent read the Secret)", func() error {
		var task ecsv1.Task
		if err := env.c.Get(ctx, client.ObjectKey{Namespace: "default", Name: "reads-secret"}, &task); err != nil {
			return err
		}
		if task.Status.LastStatus != ecsv1.TaskRunning {
			return fmt.Errorf("lastStatus %s (%s)", task.Status.LastStatus, task.Status.StoppedReason)
		}
		return nil
	})
	if got := canGet("db-credentials"); got != "yes" {
		t.Errorf("can %s get secret/db-credentials while its task runs: %q, want yes", user, got)
	}
	if got := canGet("some-other-secret"); got != "no" {
		t.Errorf("can %s get a Secret no task of its uses: %q, want no", user, got)
	}

	// With the node identity's own token: a write for another instance is refused.
	token := strings.TrimSpace(mustKubectl(t, "", "-n", "longshore-agents", "create", "token", env.node,
		"--bound-object-kind", "Node", "--bound-object-name", env.node, "--duration", "10m"))
	base, err := clientcmd.BuildConfigFromFlags("", env.kubectl.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	cfg := rest.AnonymousClientConfig(base)
	cfg.BearerToken = token
	agentClient, err := client.New(cfg, client.Options{Scheme: kube.Scheme()})
	if err != nil {
		t.Fatal(err)
	}
	other := &ecsv1.ContainerInstance{ObjectMeta: metav1.ObjectMeta{Name: "not-" + env.node}}
	if err := env.c.Create(ctx, other); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = env.c.Delete(ctx, other) }()
	patch := client.MergeFrom(other.DeepCopy())
	other.Status.AgentVersion = "forged"
	err = agentClient.Status().Patch(ctx, other, patch)
	if err == nil || !strings.Contains(err.Error(), "may only write its own ContainerInstance "+env.node) {
		t.Errorf("the node identity patching ContainerInstance %s: %v, want a refusal naming the rule", other.Name, err)
	}

	mustKubectl(t, "", "delete", "-f", "config/samples/50-task-secret.yaml", "--timeout", "60s")
	framework.Eventually(t, 60*time.Second, "the read of db-credentials revoked", func() error {
		if got := canGet("db-credentials"); got != "no" {
			return fmt.Errorf("can-i says %q", got)
		}
		return nil
	})
}

func testAgentPodDeleted(t *testing.T) {
	before := pids(t)
	old := podsOf(t, "longshore-agent")
	if len(old) != 1 {
		t.Fatalf("%d agent pods, want 1", len(old))
	}
	mustKubectl(t, "", "-n", systemNS, "delete", "pod", old[0].Name, "--wait=true", "--timeout", "60s")
	waitNewAgent(t, old[0].Name)
	assertSamePIDs(t, before)
	assertTaskAnswers(t)
}

func testAgentRollout(t *testing.T) {
	before := pids(t)
	oldHelpers := helperDirs(t)
	if len(oldHelpers) != 1 {
		t.Fatalf("helper directories %v, want the running agent's one", oldHelpers)
	}
	old := podsOf(t, "longshore-agent")
	version := "cluster-rollout"
	cmd := exec.Command(filepath.Join(env.root, "hack", "images.sh"), "import", env.sock)
	cmd.Dir = env.root
	cmd.Env = append(os.Environ(), "IMG_AGENT="+rolloutImage, "VERSION="+version)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("building the new agent image: %v", err)
	}
	start := time.Now()
	mustKubectl(t, "", "-n", systemNS, "set", "image", "daemonset/longshore-agent", "agent="+rolloutImage)
	mustKubectl(t, "", "-n", systemNS, "rollout", "status", "daemonset/longshore-agent", "--timeout", "180s")
	waitNewAgent(t, old[0].Name)
	waitInstance(t, func(ci *ecsv1.ContainerInstance) error {
		if ci.Status.AgentVersion != version || !ci.Status.Connected() {
			return fmt.Errorf("agent version %q connected %v, want %q connected", ci.Status.AgentVersion, ci.Status.Connected(), version)
		}
		return nil
	})
	report("agent rolling update → new agent connected: %.1f s", time.Since(start).Seconds())
	assertSamePIDs(t, before)
	assertTaskAnswers(t)
	// The new version's logger and init beside the old ones, which the
	// task's container (created by the old agent) still uses.
	if dirs := helperDirs(t); len(dirs) != 2 || !slices.Contains(dirs, oldHelpers[0]) {
		t.Errorf("helper directories %v after the update, want the old %s and a new one", dirs, oldHelpers[0])
	}
}

func testOldHelpersRemoved(t *testing.T) {
	old := podsOf(t, "longshore-agent")
	mustKubectl(t, "", "-n", systemNS, "delete", "pod", old[0].Name, "--wait=true", "--timeout", "60s")
	waitNewAgent(t, old[0].Name)
	framework.Eventually(t, 60*time.Second, "one helper directory, the running agent's", func() error {
		if dirs := helperDirs(t); len(dirs) != 1 {
			return fmt.Errorf("helper directories %v", dirs)
		}
		return nil
	})
}

// helperDirs lists the agent's installed helper versions.
func helperDirs(t *testing.T) []string {
	t.Helper()
	entries, err := os.ReadDir(helpersDir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		if e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
			out = append(out, e.Name())
		}
	}
	return out
}

func testTaskStop(t *testing.T) {
	mustKubectl(t, "", "delete", "task.ecs.longshore.io", taskName, "--timeout", "60s")
	framework.Eventually(t, 60*time.Second, "the task's containers and network namespace are gone", func() error {
		if n := len(pids(t)); n > 0 {
			return fmt.Errorf("%d containers left", n)
		}
		if entries, _ := os.ReadDir(netnsDir); len(entries) > 0 {
			return fmt.Errorf("%d network namespaces left in %s", len(entries), netnsDir)
		}
		return nil
	})
}

func testUninstall(t *testing.T, before []string) {
	// What the manager must still be there for: revisions keep a finalizer
	// that it removes once they are unused (docs/operating.md, uninstall).
	mustKubectl(t, "", "delete", "taskdefinitions.ecs.longshore.io", "--all", "--all-namespaces", "--timeout", "60s")
	framework.Eventually(t, 60*time.Second, "the task definitions' revisions are gone", func() error {
		var revs ecsv1.TaskDefinitionRevisionList
		if err := env.c.List(context.Background(), &revs); err != nil {
			return err
		}
		if len(revs.Items) > 0 {
			return fmt.Errorf("%d revisions left", len(revs.Items))
		}
		return nil
	})
	start := time.Now()
	mustKubectl(t, "", "delete", "-k", "config/default", "--timeout", "180s")
	framework.Eventually(t, 120*time.Second, "namespace "+systemNS+" is gone", func() error {
		var ns corev1.Namespace
		err := env.c.Get(context.Background(), client.ObjectKey{Name: systemNS}, &ns)
		if apierrors.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("namespace %s: %v (phase %s)", systemNS, err, ns.Status.Phase)
	})
	framework.Eventually(t, 60*time.Second, "namespace longshore-agents and the agents' Roles are gone", func() error {
		var ns corev1.Namespace
		if err := env.c.Get(context.Background(), client.ObjectKey{Name: "longshore-agents"}, &ns); !apierrors.IsNotFound(err) {
			return fmt.Errorf("namespace longshore-agents: %v (phase %s)", err, ns.Status.Phase)
		}
		out := mustKubectl(t, "", "get", "roles,rolebindings", "-A", "-l", "ecs.longshore.io/agent-access", "-o", "name")
		if strings.TrimSpace(out) != "" {
			return fmt.Errorf("left: %s", out)
		}
		return nil
	})
	if out := mustKubectl(t, "", "get", "crd", "-o", "name"); strings.Contains(out, "ecs.longshore.io") {
		t.Errorf("CRDs left: %s", out)
	}
	report("delete -k → namespace gone: %.1f s", time.Since(start).Seconds())
	framework.Eventually(t, 60*time.Second, "nothing of Longshore's is left on the host", func() error {
		var left []string
		for id := range pids(t) {
			left = append(left, "container "+id)
		}
		if entries, _ := os.ReadDir(netnsDir); len(entries) > 0 {
			left = append(left, fmt.Sprintf("%d network namespaces in %s", len(entries), netnsDir))
		}
		for _, br := range []string{"ls-br0", "ls-vpc0"} {
			if _, err := os.Stat("/sys/class/net/" + br); err == nil {
				left = append(left, "link "+br)
			}
		}
		after := iptablesRules(t)
		for _, r := range after {
			if !slices.Contains(before, r) {
				left = append(left, "iptables "+r)
			}
		}
		if len(left) > 0 {
			return errors.New(strings.Join(left, "; "))
		}
		return nil
	})
}

// ---- helpers ------------------------------------------------------------------

func clusterEnv() (map[string]string, error) {
	cmd := exec.Command(filepath.Join(framework.RepoRoot(), "hack", "cluster.sh"), "env")
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("hack/cluster.sh env: %w", err)
	}
	vars := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok {
			vars[k] = v
		}
	}
	return vars, nil
}

// script runs hack/NAME with its output on stderr.
func script(name string, args ...string) error {
	cmd := exec.Command(filepath.Join(env.root, "hack", name), args...)
	cmd.Dir = env.root
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	return cmd.Run()
}

func goRun(args ...string) error {
	cmd := exec.Command("go", append([]string{"run"}, args...)...)
	cmd.Dir = env.root
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	return cmd.Run()
}

func mustKubectl(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	return env.kubectl.Must(t, stdin, args...)
}

func podsOf(t *testing.T, app string) []corev1.Pod {
	t.Helper()
	var pods corev1.PodList
	if err := env.c.List(context.Background(), &pods, client.InNamespace(systemNS),
		client.MatchingLabels{"app.kubernetes.io/name": app}); err != nil {
		t.Fatal(err)
	}
	var out []corev1.Pod
	for _, p := range pods.Items {
		if p.DeletionTimestamp == nil {
			out = append(out, p)
		}
	}
	return out
}

// waitNewAgent waits for an agent pod other than old to be Ready.
func waitNewAgent(t *testing.T, old string) {
	t.Helper()
	framework.Eventually(t, 120*time.Second, "a new agent pod is Ready", func() error {
		pods := podsOf(t, "longshore-agent")
		if len(pods) != 1 {
			return fmt.Errorf("%d agent pods, want 1", len(pods))
		}
		p := pods[0]
		if p.Name == old {
			return fmt.Errorf("pod %s is still there", old)
		}
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
				return nil
			}
		}
		return fmt.Errorf("pod %s is not Ready (%s)", p.Name, p.Status.Phase)
	})
}

func waitInstance(t *testing.T, cond func(*ecsv1.ContainerInstance) error) *ecsv1.ContainerInstance {
	t.Helper()
	var ci ecsv1.ContainerInstance
	framework.Eventually(t, 120*time.Second, "ContainerInstance "+env.node, func() error {
		if err := env.c.Get(context.Background(), client.ObjectKey{Name: env.node}, &ci); err != nil {
			return err
		}
		return cond(&ci)
	})
	return &ci
}

func waitTask(t *testing.T, cond func(*ecsv1.Task) error) *ecsv1.Task {
	t.Helper()
	var task ecsv1.Task
	framework.Eventually(t, 180*time.Second, "task "+taskName, func() error {
		if err := env.c.Get(context.Background(), client.ObjectKey{Namespace: "default", Name: taskName}, &task); err != nil {
			return err
		}
		return cond(&task)
	})
	return &task
}

func taskIP(t *testing.T, task *ecsv1.Task) string {
	t.Helper()
	for _, a := range task.Status.Attachments {
		if a.Details.IPv4Address != "" {
			return a.Details.IPv4Address
		}
	}
	t.Fatalf("task %s has no IP in its attachments: %+v", task.Name, task.Status.Attachments)
	return ""
}

func assertTaskAnswers(t *testing.T) {
	t.Helper()
	task := waitTask(t, func(task *ecsv1.Task) error {
		if task.Status.LastStatus != ecsv1.TaskRunning {
			return fmt.Errorf("lastStatus %s", task.Status.LastStatus)
		}
		return nil
	})
	if _, err := framework.GetOK(fmt.Sprintf("http://%s:%d/", taskIP(t, task), webPort), 5*time.Second); err != nil {
		t.Errorf("the task stopped answering: %v", err)
	}
}

// pids maps the agent's containers to the PIDs of their processes.
func pids(t *testing.T) map[string]uint32 {
	t.Helper()
	return framework.ContainerPIDs(t, env.ctrd, agentNamespace)
}

func assertSamePIDs(t *testing.T, before map[string]uint32) {
	t.Helper()
	after := pids(t)
	if !maps.Equal(before, after) {
		t.Errorf("the task's containers changed: before %v, after %v", before, after)
	}
	for id, pid := range after {
		if pid == 0 {
			t.Errorf("container %s has no running process", id)
		}
	}
}

var counters = regexp.MustCompile(`^\[\d+:\d+\] `)

// iptablesRules are the host's rules (iptables-save, without counters).
func iptablesRules(t *testing.T) []string {
	t.Helper()
	out, err := exec.Command("iptables-save").Output()
	if err != nil {
		t.Fatalf("iptables-save: %v", err)
	}
	var rules []string
	for _, line := range strings.Split(string(out), "\n") {
		line = counters.ReplaceAllString(line, "")
		if strings.HasPrefix(line, "-A ") || strings.HasPrefix(line, ":") {
			if strings.HasPrefix(line, ":") {
				line, _, _ = strings.Cut(line, " ")
			}
			rules = append(rules, line)
		}
	}
	return rules
}
