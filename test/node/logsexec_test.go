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
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/client-go/tools/remotecommand"
	utilexec "k8s.io/client-go/util/exec"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ecsv1 "github.com/longshore-io/longshore/api/v1alpha1"
	"github.com/longshore-io/longshore/internal/agentapi/agentclient"
	"github.com/longshore-io/longshore/test/integration/framework"
)

// ticker prints "tick N" every 100 ms, forever, padded so that a small
// max-size rotates its log every few lines.
func ticker(name string) ecsv1.ContainerDefinition {
	c := container(name, "sh", "-c", `i=0; while true; do echo "tick $i ................................................"; i=$((i+1)); sleep 0.1; done`)
	c.LogConfiguration = &ecsv1.LogConfiguration{LogDriver: ecsv1.LogDriverJSONFile,
		Options: map[string]ecsv1.OptionValue{"max-size": "1k", "max-file": "3"}}
	return c
}

// admin is an administrator with a client certificate, as make dev's
// admin kubeconfig.
func admin(t *testing.T) *rest.Config {
	t.Helper()
	cfg, err := env.UserConfig("longshore-admin", "system:masters")
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func resolve(t *testing.T, n *node, cfg *rest.Config, task, container string) *agentclient.Target {
	t.Helper()
	tg, err := agentclient.Resolve(t.Context(), env.Client, cfg, n.NS, task, container)
	if err != nil {
		t.Fatal(err)
	}
	return tg
}

// lockedBuffer collects a stream read by the test while it is written,
// and when its first bytes came.
type lockedBuffer struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	first time.Time
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.first.IsZero() && len(p) > 0 {
		b.first = time.Now()
	}
	return b.buf.Write(p)
}

func (b *lockedBuffer) firstAt() time.Time {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.first
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// ticks are the numbers of the "tick N" lines of out, in order.
func ticks(out string) []int {
	var n []int
	for _, l := range strings.Split(out, "\n") {
		f := strings.Fields(l)
		for i := 0; i+1 < len(f); i++ {
			if f[i] == "tick" {
				if v, err := strconv.Atoi(f[i+1]); err == nil {
					n = append(n, v)
				}
			}
		}
	}
	return n
}

// consecutive reports the first gap or repeat in ns.
func consecutive(ns []int) error {
	for i := 1; i < len(ns); i++ {
		if ns[i] != ns[i-1]+1 {
			return fmt.Errorf("tick %d follows tick %d", ns[i], ns[i-1])
		}
	}
	return nil
}

func TestLogsThroughTheAgent(t *testing.T) {
	n := newNode(t, "node-logs")
	task := n.task("logs", ecsv1.TaskDefinitionSpec{NetworkMode: ecsv1.NetworkModeNone,
		ContainerDefinitions: []ecsv1.ContainerDefinition{ticker("talker")}})
	n.wait(task, 60*time.Second, "RUNNING", phase(ecsv1.TaskRunning))
	tg := resolve(t, n, admin(t), task.Name, "") // the only container
	if tg.Container != "talker" {
		t.Fatalf("default container %q", tg.Container)
	}
	// Enough ticks for the 1k files to have rotated more than max-file
	// times (about 8 lines a file): the first ticks are gone.
	framework.Eventually(t, 30*time.Second, "rotated logs", func() error {
		var out bytes.Buffer
		if err := tg.Logs(t.Context(), agentclient.LogOptions{Tail: -1}, &out); err != nil {
			return err
		}
		if all := ticks(out.String()); len(all) == 0 || all[0] == 0 {
			return fmt.Errorf("the first tick is still kept: %v", all)
		}
		return nil
	})
	if _, err := os.Stat(filepath.Join(n.LogDir, n.NS, task.Name, "talker.log.2")); err != nil {
		t.Fatal(err)
	}

	// --tail across the rotated files: the last 12 lines, consecutive.
	var out bytes.Buffer
	if err := tg.Logs(t.Context(), agentclient.LogOptions{Tail: 12}, &out); err != nil {
		t.Fatal(err)
	}
	tail := ticks(out.String())
	if len(tail) != 12 || consecutive(tail) != nil {
		t.Fatalf("tail 12: %d lines, %v: %v", len(tail), consecutive(tail), tail)
	}

	// --since-time, --timestamps: every line stamped at or after it.
	since := time.Now()
	time.Sleep(time.Second)
	out.Reset()
	if err := tg.Logs(t.Context(), agentclient.LogOptions{Tail: -1, SinceTime: since, Timestamps: true}, &out); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) < 5 {
		t.Fatalf("since: only %d lines in a second: %q", len(lines), out.String())
	}
	for _, l := range lines {
		ts, _, _ := strings.Cut(l, " ")
		at, err := time.Parse(time.RFC3339Nano, ts)
		if err != nil || at.Before(since) {
			t.Fatalf("since %s: line %q (%v)", since.Format(time.RFC3339Nano), l, err)
		}
	}

	// -f across rotations: every tick, none twice, first byte measured;
	// the stream ends when the task stops.
	followed := &lockedBuffer{}
	errC := make(chan error, 1)
	start := time.Now()
	go func() { errC <- tg.Logs(context.Background(), agentclient.LogOptions{Tail: 1, Follow: true}, followed) }()
	framework.Eventually(t, 10*time.Second, "first followed line", func() error {
		if followed.String() == "" {
			return errors.New("nothing yet")
		}
		return nil
	})
	t.Logf("followed log (--tail 1 -f): first byte %s after the request", followed.firstAt().Sub(start))
	framework.Eventually(t, 30*time.Second, "three rotations followed", func() error {
		if got := ticks(followed.String()); len(got) < 60 {
			return fmt.Errorf("%d ticks", len(got))
		}
		return nil
	})
	got := n.wait(task, 10*time.Second, "RUNNING", phase(ecsv1.TaskRunning))
	n.stop(got, "")
	select {
	case err := <-errC:
		if err != nil {
			t.Fatalf("the followed log of a stopped task ends cleanly, got %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the followed log did not end when the task stopped")
	}
	all := ticks(followed.String())
	if err := consecutive(all); err != nil {
		t.Fatalf("followed %d ticks in %s: %v", len(all), time.Since(start), err)
	}
	t.Logf("followed %d consecutive ticks across rotations", len(all))

	// The stopped task's log is still served (its file stays).
	out.Reset()
	if err := tg.Logs(t.Context(), agentclient.LogOptions{Tail: 3}, &out); err != nil {
		t.Fatal(err)
	}
	if len(ticks(out.String())) != 3 {
		t.Fatalf("after stop: %q", out.String())
	}
}

// TestLogsPrevious: a restart-policy restart keeps the attempt it replaced
// readable with --previous, apart from the current one.
func TestLogsPrevious(t *testing.T) {
	if testing.Short() {
		t.Skip("needs the 60 s minimum restartAttemptPeriod")
	}
	n := newNode(t, "node-prev")
	c := container("flaky", "sh", "-c", `n=$(cat /data/n 2>/dev/null || echo 0); n=$((n+1)); echo $n > /data/n; echo "attempt $n"; sleep 61; echo "attempt $n exits"; exit 2`)
	c.RestartPolicy = &ecsv1.RestartPolicy{Enabled: true, RestartAttemptPeriod: 60}
	c.MountPoints = []ecsv1.MountPoint{{SourceVolume: "data", ContainerPath: "/data"}}
	task := n.task("prev", ecsv1.TaskDefinitionSpec{NetworkMode: ecsv1.NetworkModeNone,
		Volumes: []ecsv1.Volume{{Name: "data"}}, ContainerDefinitions: []ecsv1.ContainerDefinition{c}})
	n.wait(task, 60*time.Second, "RUNNING", phase(ecsv1.TaskRunning))
	tg := resolve(t, n, admin(t), task.Name, "flaky")
	err := tg.Logs(t.Context(), agentclient.LogOptions{Tail: -1, Previous: true}, io.Discard)
	if err == nil || !strings.Contains(err.Error(), `previous attempt of container "flaky" in task `+n.NS+`/prev not found`) {
		t.Fatalf("before a restart: %v", err)
	}
	n.wait(task, 120*time.Second, "restarted once", func(tk *ecsv1.Task) error {
		if len(tk.Status.Containers) == 0 || tk.Status.Containers[0].RestartCount != 1 || tk.Status.Containers[0].LastStatus != ecsv1.ContainerRunning {
			return fmt.Errorf("containers %+v", tk.Status.Containers)
		}
		return nil
	})
	framework.Eventually(t, 10*time.Second, "the second attempt's output", func() error {
		var cur bytes.Buffer
		if err := tg.Logs(t.Context(), agentclient.LogOptions{Tail: -1}, &cur); err != nil {
			return err
		}
		if !strings.HasSuffix(cur.String(), "attempt 2\n") {
			return fmt.Errorf("log %q", cur.String())
		}
		return nil
	})
	var prev bytes.Buffer
	if err := tg.Logs(t.Context(), agentclient.LogOptions{Tail: -1, Previous: true}, &prev); err != nil {
		t.Fatal(err)
	}
	if prev.String() != "attempt 1\nattempt 1 exits\n" {
		t.Fatalf("--previous: %q", prev.String())
	}
}

// sizeQueue is a TerminalSizeQueue the test feeds.
type sizeQueue chan remotecommand.TerminalSize

func (q sizeQueue) Next() *remotecommand.TerminalSize {
	sz, ok := <-q
	if !ok {
		return nil
	}
	return &sz
}

func TestExecThroughTheAgent(t *testing.T) {
	n := newNode(t, "node-exec")
	task := n.task("exec", ecsv1.TaskDefinitionSpec{NetworkMode: ecsv1.NetworkModeNone,
		ContainerDefinitions: []ecsv1.ContainerDefinition{container("app", "sleep", "3600"), func() ecsv1.ContainerDefinition {
			c := container("side", "sleep", "3600")
			c.Essential = ptr.To(false)
			return c
		}()}})
	got := n.wait(task, 60*time.Second, "RUNNING", phase(ecsv1.TaskRunning))
	if _, err := agentclient.Resolve(t.Context(), env.Client, admin(t), n.NS, task.Name, ""); err == nil ||
		!strings.Contains(err.Error(), "has 2 containers (app, side): choose one with -c CONTAINER") {
		t.Fatalf("no container named: %v", err)
	}
	tg := resolve(t, n, admin(t), task.Name, "app")

	// Exit code, stdout and stderr apart; round trip measured.
	var stdout, stderr bytes.Buffer
	start := time.Now()
	err := tg.Exec(t.Context(), []string{"sh", "-c", "echo out; echo err >&2; exit 3"}, remotecommand.StreamOptions{Stdout: &stdout, Stderr: &stderr})
	took := time.Since(start)
	var exit utilexec.CodeExitError
	if !errors.As(err, &exit) || exit.Code != 3 {
		t.Fatalf("want exit code 3, got %v", err)
	}
	if stdout.String() != "out\n" || stderr.String() != "err\n" {
		t.Fatalf("stdout %q stderr %q", stdout.String(), stderr.String())
	}
	t.Logf("exec round trip (sh -c, exit 3): %s", took)
	if err := tg.Exec(t.Context(), []string{"true"}, remotecommand.StreamOptions{Stdout: io.Discard}); err != nil {
		t.Fatalf("exit 0: %v", err)
	}

	// Stdin, closed at its end: cat sees EOF and exits.
	stdout.Reset()
	if err := tg.Exec(t.Context(), []string{"sh", "-c", "cat; echo done"}, remotecommand.StreamOptions{
		Stdin: strings.NewReader("line one\nline two\n"), Stdout: &stdout, Stderr: io.Discard}); err != nil {
		t.Fatal(err)
	}
	if stdout.String() != "line one\nline two\ndone\n" {
		t.Fatalf("stdin: %q", stdout.String())
	}

	// A TTY: the size given at start, then a resize, as stty reads them.
	pr, pw := io.Pipe()
	q := make(sizeQueue, 4)
	q <- remotecommand.TerminalSize{Width: 100, Height: 30}
	tty := &lockedBuffer{}
	errC := make(chan error, 1)
	go func() {
		errC <- tg.Exec(context.Background(), []string{"sh"}, remotecommand.StreamOptions{Stdin: pr, Stdout: tty, Tty: true, TerminalSizeQueue: q})
	}()
	send := func(s string) {
		if _, err := io.WriteString(pw, s); err != nil {
			t.Fatal(err)
		}
	}
	framework.Eventually(t, 10*time.Second, "initial size", func() error {
		send("stty size\n")
		if !strings.Contains(tty.String(), "30 100") {
			return fmt.Errorf("terminal so far: %q", tty.String())
		}
		return nil
	})
	q <- remotecommand.TerminalSize{Width: 132, Height: 43}
	framework.Eventually(t, 10*time.Second, "resized", func() error {
		send("stty size\n")
		if !strings.Contains(tty.String(), "43 132") {
			return fmt.Errorf("terminal so far: %q", tty.String())
		}
		return nil
	})
	send("tty; exit 7\n")
	select {
	case err := <-errC:
		if !errors.As(err, &exit) || exit.Code != 7 {
			t.Fatalf("tty session: want exit code 7, got %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the tty session did not end")
	}
	close(q)
	if !strings.Contains(tty.String(), "/dev/pts/") || !strings.Contains(tty.String(), "\r\n") {
		t.Fatalf("no terminal: %q", tty.String())
	}

	// Every exec is an Event on the task: who, which container, the command.
	framework.Eventually(t, 10*time.Second, "exec events", func() error {
		var evs corev1.EventList
		if err := env.Client.List(t.Context(), &evs, client.InNamespace(n.NS)); err != nil {
			return err
		}
		var msgs []string
		for _, e := range evs.Items {
			if e.Reason == ecsv1.EventExecuteCommand && e.InvolvedObject.Name == task.Name {
				msgs = append(msgs, e.Message)
			}
		}
		joined := strings.Join(msgs, "\n")
		for _, want := range []string{
			`User longshore-admin ran [sh -c "echo out; echo err >&2; exit 3"] in container app (non-interactive)`,
			`User longshore-admin ran [sh] in container app (interactive, with a terminal)`,
		} {
			if !strings.Contains(joined, want) {
				return fmt.Errorf("no event %q in %q", want, joined)
			}
		}
		return nil
	})

	// The kubectl plugin: the command's exit code is its own.
	kc := pluginKubeconfig(t, admin(t))
	plugin := framework.BuildBinary(t, "./cmd/kubectl-ecs")
	cmd := exec.Command(plugin, "exec", "--kubeconfig", kc, "-n", n.NS, task.Name, "-c", "side", "--", "sh", "-c", "echo from-side; exit 4")
	b, err := cmd.CombinedOutput()
	if cmd.ProcessState.ExitCode() != 4 || strings.TrimSpace(string(b)) != "from-side" {
		t.Fatalf("kubectl ecs exec: exit %d (%v), output %q", cmd.ProcessState.ExitCode(), err, b)
	}
	b, err = exec.Command(plugin, "exec", "--kubeconfig", kc, "-n", n.NS, task.Name, "-c", "nope", "--", "true").CombinedOutput()
	if err == nil || !strings.Contains(string(b), `has no container "nope"; its containers: app, side`) {
		t.Fatalf("unknown container: %v %q", err, b)
	}

	// A stopped container: a clear refusal.
	n.stop(got, "")
	err = tg.Exec(t.Context(), []string{"true"}, remotecommand.StreamOptions{Stdout: io.Discard})
	if err == nil || !strings.Contains(err.Error(), "container app is not running (no container in the runtime; task status STOPPED)") {
		t.Fatalf("stopped: %v", err)
	}
}

// pluginKubeconfig writes a kubeconfig of cfg's user (a client certificate).
func pluginKubeconfig(t *testing.T, cfg *rest.Config) string {
	t.Helper()
	kc := clientcmdapi.NewConfig()
	kc.Clusters["c"] = &clientcmdapi.Cluster{Server: cfg.Host, CertificateAuthorityData: cfg.CAData}
	kc.AuthInfos["u"] = &clientcmdapi.AuthInfo{ClientCertificateData: cfg.CertData, ClientKeyData: cfg.KeyData, Token: cfg.BearerToken}
	kc.Contexts["c"] = &clientcmdapi.Context{Cluster: "c", AuthInfo: "u"}
	kc.CurrentContext = "c"
	p := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*kc, p); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestLogsAndExecRefusedWithoutRBAC: a client certificate user and a
// ServiceAccount token without the roles are refused logs, exec and stats
// with the RBAC verb and subresource named; config/rbac's roles, bound,
// let them in (the logs role gives the stats too).
func TestLogsAndExecRefusedWithoutRBAC(t *testing.T) {
	n := newNode(t, "node-rbac")
	task := n.task("rbac", ecsv1.TaskDefinitionSpec{NetworkMode: ecsv1.NetworkModeNone,
		ContainerDefinitions: []ecsv1.ContainerDefinition{container("app", "sh", "-c", "echo hello; sleep 3600")}})
	n.wait(task, 60*time.Second, "RUNNING", phase(ecsv1.TaskRunning))
	ctx := t.Context()

	// Reading the Task and the ContainerInstance is not what is checked:
	// let the user do that, and nothing more.
	reader := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{GenerateName: "ecs-reader-"},
		Rules: []rbacv1.PolicyRule{{APIGroups: []string{ecsv1.GroupVersion.Group}, Resources: []string{"tasks", "containerinstances"}, Verbs: []string{"get"}}}}
	if err := env.Client.Create(ctx, reader); err != nil {
		t.Fatal(err)
	}
	certUser, err := env.UserConfig("carol")
	if err != nil {
		t.Fatal(err)
	}
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: n.NS, Name: "deployer"}}
	if err := env.Client.Create(ctx, sa); err != nil {
		t.Fatal(err)
	}
	cs, err := kubernetes.NewForConfig(env.Env.Config)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := cs.CoreV1().ServiceAccounts(n.NS).CreateToken(ctx, "deployer", &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](3600)}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	tokenUser := &rest.Config{Host: env.Env.Config.Host, BearerToken: tr.Status.Token, TLSClientConfig: rest.TLSClientConfig{CAData: env.Env.Config.CAData}}
	saName := "system:serviceaccount:" + n.NS + ":deployer"
	for _, s := range []rbacv1.Subject{{Kind: "User", Name: "carol"}, {Kind: "ServiceAccount", Name: "deployer", Namespace: n.NS}} {
		if err := env.Client.Create(ctx, &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{GenerateName: "ecs-reader-"},
			RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: reader.Name}, Subjects: []rbacv1.Subject{s}}); err != nil {
			t.Fatal(err)
		}
	}

	for _, u := range []struct {
		name string
		cfg  *rest.Config
	}{{"carol", certUser}, {saName, tokenUser}} {
		tg := resolve(t, n, u.cfg, task.Name, "app")
		err := tg.Logs(ctx, agentclient.LogOptions{Tail: -1}, io.Discard)
		want := fmt.Sprintf(`User %q cannot get resource "tasks/log" in API group "ecs.longshore.io" in the namespace %q`, u.name, n.NS)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("%s logs: want %q, got %v", u.name, want, err)
		}
		err = tg.Exec(ctx, []string{"true"}, remotecommand.StreamOptions{Stdout: io.Discard})
		want = fmt.Sprintf(`User %q cannot create resource "tasks/exec" in API group "ecs.longshore.io" in the namespace %q`, u.name, n.NS)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("%s exec: want %q, got %v", u.name, want, err)
		}
	}
	for _, u := range []struct {
		name string
		cfg  *rest.Config
	}{{"carol", certUser}, {saName, tokenUser}} {
		tg, err := agentclient.ResolveTask(ctx, env.Client, u.cfg, n.NS, task.Name)
		if err != nil {
			t.Fatal(err)
		}
		_, err = tg.Stats(ctx)
		want := fmt.Sprintf(`User %q cannot get resource "tasks/stats" in API group "ecs.longshore.io" in the namespace %q`, u.name, n.NS)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("%s stats: want %q, got %v", u.name, want, err)
		}
	}
	// The plugin says the same, and exits 1.
	plugin := framework.BuildBinary(t, "./cmd/kubectl-ecs")
	b, err := exec.Command(plugin, "logs", "--kubeconfig", pluginKubeconfig(t, certUser), "-n", n.NS, task.Name).CombinedOutput()
	if err == nil || !strings.Contains(string(b), `cannot get resource "tasks/log"`) {
		t.Fatalf("kubectl ecs logs without RBAC: %v %q", err, b)
	}

	// config/rbac's roles, bound in the task's namespace: carol reads
	// logs, the ServiceAccount execs.
	roles, err := os.ReadFile(filepath.Join(framework.RepoRoot(), "config", "rbac", "task_access_roles.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	objs, err := framework.DecodeYAML(roles)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range objs {
		if err := env.Client.Create(ctx, o); err != nil && !strings.Contains(err.Error(), "already exists") {
			t.Fatal(err)
		}
	}
	bind := func(role string, s rbacv1.Subject) {
		if err := env.Client.Create(ctx, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: n.NS, GenerateName: role + "-"},
			RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role}, Subjects: []rbacv1.Subject{s}}); err != nil {
			t.Fatal(err)
		}
	}
	bind("longshore-task-logs", rbacv1.Subject{Kind: "User", Name: "carol"})
	bind("longshore-task-exec", rbacv1.Subject{Kind: "ServiceAccount", Name: "deployer", Namespace: n.NS})
	tgCarol, tgSA := resolve(t, n, certUser, task.Name, "app"), resolve(t, n, tokenUser, task.Name, "app")
	// Denials are cached for a few seconds.
	framework.Eventually(t, 20*time.Second, "carol reads the log", func() error {
		var out bytes.Buffer
		if err := tgCarol.Logs(ctx, agentclient.LogOptions{Tail: -1}, &out); err != nil {
			return err
		}
		if out.String() != "hello\n" {
			return fmt.Errorf("log %q", out.String())
		}
		return nil
	})
	framework.Eventually(t, 20*time.Second, "the ServiceAccount execs", func() error {
		var out bytes.Buffer
		if err := tgSA.Exec(ctx, []string{"echo", "in"}, remotecommand.StreamOptions{Stdout: &out}); err != nil {
			return err
		}
		if out.String() != "in\n" {
			return fmt.Errorf("output %q", out.String())
		}
		return nil
	})
	// The logs role gives the stats too (as view gives pods/log and metrics).
	tgCarolTask, err := agentclient.ResolveTask(ctx, env.Client, certUser, n.NS, task.Name)
	if err != nil {
		t.Fatal(err)
	}
	framework.Eventually(t, 20*time.Second, "carol reads the stats", func() error {
		stats, err := tgCarolTask.Stats(ctx)
		if err != nil {
			return err
		}
		if len(stats["app"]) == 0 || string(stats["app"]) == "null" {
			return fmt.Errorf("stats %v", stats)
		}
		return nil
	})
	// Each only what it was given.
	if err := tgCarol.Exec(ctx, []string{"true"}, remotecommand.StreamOptions{Stdout: io.Discard}); err == nil || !strings.Contains(err.Error(), "forbidden") {
		t.Fatalf("carol exec with the logs role only: %v", err)
	}
	if err := tgSA.Logs(ctx, agentclient.LogOptions{Tail: -1}, io.Discard); err == nil || !strings.Contains(err.Error(), "forbidden") {
		t.Fatalf("the ServiceAccount read logs with the exec role only: %v", err)
	}
	tgSATask, err := agentclient.ResolveTask(ctx, env.Client, tokenUser, n.NS, task.Name)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tgSATask.Stats(ctx); err == nil || !strings.Contains(err.Error(), "forbidden") {
		t.Fatalf("the ServiceAccount read stats with the exec role only: %v", err)
	}
}

// TestAgentRestartDuringLogsAndExec: an agent that stops (SIGTERM) or
// crashes (SIGKILL) in the middle of a followed log or an exec session
// gives its client a clean error; the container runs on, and the restarted
// agent serves it again with the same pinned certificate.
func TestAgentRestartDuringLogsAndExec(t *testing.T) {
	n := newNode(t, "node-api-restart")
	task := n.task("restart", ecsv1.TaskDefinitionSpec{NetworkMode: ecsv1.NetworkModeNone,
		ContainerDefinitions: []ecsv1.ContainerDefinition{ticker("talker")}})
	got := n.wait(task, 60*time.Second, "RUNNING", phase(ecsv1.TaskRunning))
	pid := containerPID(t, n, got, "talker")
	tg := resolve(t, n, admin(t), task.Name, "talker")

	for _, sig := range []string{"TERM", "KILL"} {
		// A followed log and an exec session, both streaming.
		followed := &lockedBuffer{}
		logErr := make(chan error, 1)
		go func() {
			logErr <- tg.Logs(context.Background(), agentclient.LogOptions{Tail: 1, Follow: true}, followed)
		}()
		session := &lockedBuffer{}
		execErr := make(chan error, 1)
		go func() {
			execErr <- tg.Exec(context.Background(), []string{"sh", "-c", "while true; do echo session; sleep 0.1; done"},
				remotecommand.StreamOptions{Stdout: session, Stderr: io.Discard})
		}()
		framework.Eventually(t, 10*time.Second, "both streaming", func() error {
			if len(ticks(followed.String())) < 3 || strings.Count(session.String(), "session") < 3 {
				return fmt.Errorf("log %d ticks, exec %d lines", len(ticks(followed.String())), strings.Count(session.String(), "session"))
			}
			return nil
		})
		if sig == "KILL" {
			n.killAgent()
		} else if err := n.agent.Stop(10 * time.Second); err != nil {
			t.Logf("agent stop: %v", err)
		}
		for what, c := range map[string]chan error{"followed log": logErr, "exec session": execErr} {
			select {
			case err := <-c:
				var exit utilexec.CodeExitError
				switch {
				case err == nil:
					t.Fatalf("SIG%s: the %s ended as if it were done; want an error", sig, what)
				case errors.As(err, &exit):
					t.Fatalf("SIG%s: the %s reported an exit code (%v); want a broken stream", sig, what, err)
				}
				t.Logf("SIG%s: the %s ended with: %v", sig, what, err)
			case <-time.After(15 * time.Second):
				t.Fatalf("SIG%s: the %s did not end when the agent went", sig, what)
			}
		}
		if now := containerPID(t, n, got, "talker"); now != pid {
			t.Fatalf("SIG%s: the container's process changed (%d, then %d)", sig, pid, now)
		}
		n.startAgent()
		// The restarted agent serves the same container, at the same
		// address, with the certificate the client pinned before.
		framework.Eventually(t, 30*time.Second, "logs again", func() error {
			var out bytes.Buffer
			if err := tg.Logs(t.Context(), agentclient.LogOptions{Tail: 5}, &out); err != nil {
				return err
			}
			if len(ticks(out.String())) != 5 {
				return fmt.Errorf("log %q", out.String())
			}
			return nil
		})
	}
	got = n.wait(task, 10*time.Second, "RUNNING", phase(ecsv1.TaskRunning))
	if now := containerPID(t, n, got, "talker"); now != pid {
		t.Fatalf("the container's process changed (%d, then %d)", pid, now)
	}
	n.stop(got, "")
}

// containerPID is the PID of a task container's process, from containerd.
func containerPID(t *testing.T, n *node, task *ecsv1.Task, name string) uint32 {
	t.Helper()
	for _, c := range task.Status.Containers {
		if c.Name != name {
			continue
		}
		cont, err := n.ctrd.LoadContainer(namespacesCtx(t), c.RuntimeID)
		if err != nil {
			t.Fatal(err)
		}
		tk, err := cont.Task(namespacesCtx(t), nil)
		if err != nil {
			t.Fatal(err)
		}
		return tk.Pid()
	}
	t.Fatalf("task %s has no container %s", task.Name, name)
	return 0
}
