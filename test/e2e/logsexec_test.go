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

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/tools/clientcmd"

	"github.com/longshore-io/longshore/test/integration/framework"
)

// logsExecTasks are two talkers, one on each instance (ECS StartTask).
const logsExecTasks = `apiVersion: ecs.longshore.io/v1alpha1
kind: TaskDefinition
metadata: {name: talker}
spec:
  networkMode: none
  containerDefinitions:
    - name: talk
      image: localhost/longshore/busybox:latest
      command: ["sh", "-c", "i=0; while true; do echo \"talk $i\"; i=$((i+1)); sleep 0.2; done"]
      memory: 32
---
apiVersion: ecs.longshore.io/v1alpha1
kind: Task
metadata: {name: talker-a}
spec: {taskDefinition: talker, containerInstance: dev-a}
---
apiVersion: ecs.longshore.io/v1alpha1
kind: Task
metadata: {name: talker-b}
spec: {taskDefinition: talker, containerInstance: dev-b}
`

// logsExecReader may read Tasks and ContainerInstances, and nothing of
// tasks/log or tasks/exec.
const logsExecReader = `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: e2e-ecs-reader}
rules:
  - apiGroups: ["ecs.longshore.io"]
    resources: ["tasks", "containerinstances"]
    verbs: ["get"]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: e2e-ecs-reader}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: e2e-ecs-reader}
subjects:
  - {kind: ServiceAccount, name: e2e-viewer, namespace: default}
`

// plugin runs bin/kubectl-ecs as `kubectl ecs` (kubectl finds it on PATH).
func plugin(kubeconfig string, args ...string) *exec.Cmd {
	cmd := exec.Command(sys.kubectlBin, append([]string{"ecs"}, args...)...)
	cmd.Dir = sys.root
	cmd.Env = append(os.Environ(), "KUBECONFIG="+kubeconfig, "PATH="+filepath.Join(sys.root, "bin")+":"+os.Getenv("PATH"))
	return cmd
}

// testLogsAndExec: kubectl ecs logs -f, kubectl ecs exec and kubectl ecs
// stats against a task on each agent, from this machine with the admin kubeconfig (client
// certificates); a ServiceAccount without the RBAC permissions is refused,
// and the view role (aggregated) lets it read logs but not exec.
func testLogsAndExec(t *testing.T) {
	mustKubectl(t, logsExecTasks, "apply", "-f", "-")
	defer func() {
		_, _ = kubectl("", "delete", "ecstask", "talker-a", "talker-b", "--wait", "--timeout", "2m")
		_, _ = kubectl("", "delete", "td", "talker", "--wait", "--timeout", "2m")
		_, _ = kubectl(logsExecReader, "delete", "-f", "-")
		_, _ = kubectl("", "delete", "serviceaccount", "e2e-viewer", "rolebinding", "e2e-viewer")
	}()
	for _, name := range []string{"talker-a", "talker-b"} {
		waitTask(t, name, 2*time.Minute, isRunning)
	}
	for _, name := range []string{"talker-a", "talker-b"} {
		// -f: lines keep coming; the first one's latency measured.
		cmd := plugin(sys.kubeconfig, "logs", name, "-f", "--tail", "1")
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		start := time.Now()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		r := bufio.NewReader(out)
		var lines []string
		var first time.Duration
		for len(lines) < 5 {
			l, err := r.ReadString('\n')
			if err != nil {
				_ = cmd.Process.Kill()
				_ = cmd.Wait()
				t.Fatalf("kubectl ecs logs -f %s: %v after %q; stderr %s", name, err, lines, stderr.String())
			}
			if first == 0 {
				first = time.Since(start)
			}
			lines = append(lines, strings.TrimSpace(l))
		}
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		var n [5]int
		for i, l := range lines {
			if _, err := fmt.Sscanf(l, "talk %d", &n[i]); err != nil || (i > 0 && n[i] != n[i-1]+1) {
				t.Fatalf("kubectl ecs logs -f %s: lines %q", name, lines)
			}
		}
		addReport("kubectl ecs logs -f %s (%s): first line after %.0f ms (process start included), 5 consecutive lines",
			name, getTask(t, name).Spec.ContainerInstance, first.Seconds()*1000)

		start = time.Now()
		b, err := plugin(sys.kubeconfig, "exec", name, "--", "sh", "-c", "echo in-$HOSTNAME; exit 5").CombinedOutput()
		took := time.Since(start)
		if code := exitCode(err); code != 5 || !strings.HasPrefix(string(b), "in-") {
			t.Fatalf("kubectl ecs exec %s: exit %d (%v), output %q", name, code, err, b)
		}
		addReport("kubectl ecs exec %s (%s): exit code 5 passed through, round trip %.0f ms (process start included)",
			name, getTask(t, name).Spec.ContainerInstance, took.Seconds()*1000)
		b, err = plugin(sys.kubeconfig, "exec", name, "-i", "--", "cat").CombinedOutput()
		_ = b
		if err != nil {
			t.Fatalf("kubectl ecs exec -i %s with empty stdin: %v %q", name, err, b)
		}
		wantEvent(t, name, "ran [sh -c \"echo in-$HOSTNAME; exit 5\"] in container talk")

		b, err = plugin(sys.kubeconfig, "stats", name).CombinedOutput()
		if lines := strings.Split(strings.TrimSpace(string(b)), "\n"); err != nil || len(lines) != 2 ||
			!strings.HasPrefix(lines[0], "CONTAINER") || !strings.HasPrefix(lines[1], "talk ") {
			t.Fatalf("kubectl ecs stats %s: %v\n%s", name, err, b)
		}
		addReport("kubectl ecs stats %s (%s): %s", name, getTask(t, name).Spec.ContainerInstance, strings.Join(strings.Fields(strings.Split(string(b), "\n")[1]), " "))
	}

	// A user without the RBAC permissions: a ServiceAccount token that may
	// read Tasks and ContainerInstances only.
	mustKubectl(t, "", "create", "serviceaccount", "e2e-viewer")
	mustKubectl(t, logsExecReader, "apply", "-f", "-")
	token := strings.TrimSpace(mustKubectl(t, "", "create", "token", "e2e-viewer", "--duration", "1h"))
	kc := tokenKubeconfig(t, token)
	b, err := plugin(kc, "logs", "talker-b", "--tail", "1").CombinedOutput()
	if exitCode(err) != 1 || !strings.Contains(string(b), `User "system:serviceaccount:default:e2e-viewer" cannot get resource "tasks/log" in API group "ecs.longshore.io" in the namespace "default"`) {
		t.Fatalf("kubectl ecs logs without RBAC: exit %d, %q", exitCode(err), b)
	}
	b, err = plugin(kc, "exec", "talker-b", "--", "true").CombinedOutput()
	if exitCode(err) != 1 || !strings.Contains(string(b), `cannot create resource "tasks/exec"`) {
		t.Fatalf("kubectl ecs exec without RBAC: exit %d, %q", exitCode(err), b)
	}
	b, err = plugin(kc, "stats", "talker-b").CombinedOutput()
	if exitCode(err) != 1 || !strings.Contains(string(b), `cannot get resource "tasks/stats"`) {
		t.Fatalf("kubectl ecs stats without RBAC: exit %d, %q", exitCode(err), b)
	}
	addReport("kubectl ecs logs / exec / stats as a ServiceAccount without tasks/log, tasks/exec, tasks/stats: refused, %q", firstLine(string(b)))
	// view, into which config/rbac aggregates get tasks/log: logs, no exec.
	mustKubectl(t, "", "create", "rolebinding", "e2e-viewer", "--clusterrole", "view", "--serviceaccount", "default:e2e-viewer")
	framework.Eventually(t, 30*time.Second, "the view role reads logs", func() error {
		b, err := plugin(kc, "logs", "talker-b", "--tail", "1").CombinedOutput()
		if err != nil || !strings.HasPrefix(string(b), "talk ") {
			return fmt.Errorf("exit %d: %q", exitCode(err), b)
		}
		return nil
	})
	b, err = plugin(kc, "exec", "talker-b", "--", "true").CombinedOutput()
	if exitCode(err) != 1 || !strings.Contains(string(b), `cannot create resource "tasks/exec"`) {
		t.Fatalf("kubectl ecs exec with view: exit %d, %q", exitCode(err), b)
	}
}

func exitCode(err error) int {
	if err == nil {
		return 0
	}
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	return -1
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}

// tokenKubeconfig is the admin kubeconfig's cluster with a bearer token.
func tokenKubeconfig(t *testing.T, token string) string {
	t.Helper()
	cfg, err := clientcmd.LoadFromFile(sys.kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	ctx := cfg.Contexts[cfg.CurrentContext]
	for name, a := range cfg.AuthInfos {
		if name == ctx.AuthInfo {
			a.ClientCertificate, a.ClientKey, a.ClientCertificateData, a.ClientKeyData = "", "", nil, nil
			a.Token = token
		}
	}
	p := filepath.Join(t.TempDir(), "token.kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, p); err != nil {
		t.Fatal(err)
	}
	return p
}
