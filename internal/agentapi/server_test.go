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

package agentapi

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apiserver/pkg/authentication/authenticator"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/remotecommand"
	utilexec "k8s.io/client-go/util/exec"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	ecsv1 "github.com/longshore-io/longshore/api/v1alpha1"
	"github.com/longshore-io/longshore/internal/agentapi/agentclient"
	"github.com/longshore-io/longshore/internal/kube"
	"github.com/longshore-io/longshore/internal/logs"
	lsruntime "github.com/longshore-io/longshore/internal/runtime"
	"github.com/longshore-io/longshore/internal/taskendpoint"
)

const instance = "i-1"

// fixture is a Server on a real TLS listener, with fake authentication
// (the bearer token is the user name), an authorizer that allows what
// allowed holds, a fake runtime with one running container, and its log.
type fixture struct {
	t        *testing.T
	srv      *Server
	rt       *lsruntime.FakeContainers
	client   client.Client
	task     *ecsv1.Task
	logFile  string
	writer   *logs.StreamWriter
	addr     string
	cert     []byte
	allowed  map[string]bool // "user verb subresource"
	previous func(types.UID, string) (time.Time, time.Time, bool, error)
	cancel   context.CancelFunc
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{t: t, allowed: map[string]bool{}}
	task := &ecsv1.Task{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "web", UID: "0f1e2d3c-0000-0000-0000-000000000001"},
		Spec:       ecsv1.TaskSpec{TaskDefinition: "web:1", ContainerInstance: instance},
		Status:     ecsv1.TaskStatus{Containers: []ecsv1.ContainerStatus{{Name: "app"}, {Name: "sidecar"}}},
	}
	other := &ecsv1.Task{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "elsewhere", UID: "0f1e2d3c-0000-0000-0000-000000000002"},
		Spec:       ecsv1.TaskSpec{TaskDefinition: "web:1", ContainerInstance: "i-2"},
		Status:     ecsv1.TaskStatus{Containers: []ecsv1.ContainerStatus{{Name: "app"}}},
	}
	f.task = task
	c := fake.NewClientBuilder().WithScheme(kube.Scheme()).WithObjects(task, other).Build()
	f.rt = lsruntime.NewFakeContainers()
	id := lsruntime.ContainerID(string(task.UID), "app", 0)
	ctx := context.Background()
	if err := f.rt.Create(ctx, lsruntime.ContainerSpec{ID: id, Image: "busybox", Labels: map[string]string{
		lsruntime.LabelTaskUID: string(task.UID), lsruntime.LabelContainer: "app", lsruntime.LabelAttempt: "0",
	}}); err != nil {
		t.Fatal(err)
	}
	if err := f.rt.Start(ctx, id); err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	file, err := logs.Path(root, "ns", "web", "app")
	if err != nil {
		t.Fatal(err)
	}
	w, err := logs.NewWriter(file, logs.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = w.Close() })
	f.logFile, f.writer = file, w.Stream(logs.StreamStdout)
	f.client = c
	cert, certPEM, err := ServingCertificate(t.TempDir(), instance, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	f.cert = certPEM
	f.srv = &Server{
		Addr: "127.0.0.1:0", Instance: instance, Certificate: cert,
		Authenticator: authenticator.RequestFunc(func(r *http.Request) (*authenticator.Response, bool, error) {
			tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
			if !ok || tok == "" {
				return nil, false, nil
			}
			return &authenticator.Response{User: &user.DefaultInfo{Name: tok}}, true, nil
		}),
		Authorizer: authorizer.AuthorizerFunc(func(_ context.Context, a authorizer.Attributes) (authorizer.Decision, string, error) {
			if a.GetAPIGroup() == ecsv1.GroupVersion.Group && a.GetResource() == "tasks" &&
				f.allowed[a.GetUser().GetName()+" "+a.GetVerb()+" "+a.GetSubresource()] {
				return authorizer.DecisionAllow, "", nil
			}
			return authorizer.DecisionNoOpinion, "no RBAC rule", nil
		}),
		Tasks: c, Runtime: f.rt, LogRoot: root, Events: c, LogPoll: 5 * time.Millisecond,
		PreviousAttempt: func(uid types.UID, c string) (time.Time, time.Time, bool, error) {
			if f.previous == nil {
				return time.Time{}, time.Time{}, false, nil
			}
			return f.previous(uid, c)
		},
	}
	// Serve on a free port the way Start does.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f.addr = ln.Addr().String()
	_ = ln.Close()
	f.srv.Addr = f.addr
	sctx, cancel := context.WithCancel(context.Background())
	f.cancel = cancel
	done := make(chan error, 1)
	go func() { done <- f.srv.Start(sctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Start: %v", err)
		}
	})
	// Listening?
	deadline := time.Now().Add(5 * time.Second)
	for {
		conn, err := tls.Dial("tcp", f.addr, &tls.Config{InsecureSkipVerify: true}) // probing only
		if err == nil {
			_ = conn.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the server does not listen: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return f
}

// target reaches the fixture's agent as user, as kubectl ecs does.
func (f *fixture) target(userName, container string) *agentclient.Target {
	cfg := agentclient.ClientConfig(&rest.Config{BearerToken: userName}, instance,
		ecsv1.AgentEndpoint{Address: f.addr, Certificate: string(f.cert)})
	return &agentclient.Target{Namespace: "ns", Task: "web", Container: container, Instance: instance, Address: f.addr, Config: cfg}
}

func (f *fixture) write(lines ...string) {
	for _, l := range lines {
		if _, err := f.writer.Write([]byte(l)); err != nil {
			f.t.Fatal(err)
		}
	}
}

func statusOf(t *testing.T, err error) metav1.Status {
	t.Helper()
	var ae *agentclient.AgentError
	if !errors.As(err, &ae) {
		t.Fatalf("want an AgentError, got %v", err)
	}
	return ae.Status
}

func TestLogsAuthentication(t *testing.T) {
	f := newFixture(t)
	err := f.target("", "app").Logs(t.Context(), agentclient.LogOptions{Tail: -1}, io.Discard)
	if st := statusOf(t, err); st.Code != http.StatusUnauthorized {
		t.Fatalf("want 401, got %+v", st)
	}
}

func TestLogsAuthorization(t *testing.T) {
	f := newFixture(t)
	f.write("hello\n")
	err := f.target("bob", "app").Logs(t.Context(), agentclient.LogOptions{Tail: -1}, io.Discard)
	st := statusOf(t, err)
	want := `User "bob" cannot get resource "tasks/log" in API group "ecs.longshore.io" in the namespace "ns"`
	if st.Code != http.StatusForbidden || !strings.Contains(st.Message, want) {
		t.Fatalf("want 403 with %q, got %+v", want, st)
	}
	// exec rights do not give logs, nor logs rights exec.
	f.allowed["bob create exec"] = true
	if err := f.target("bob", "app").Logs(t.Context(), agentclient.LogOptions{Tail: -1}, io.Discard); statusOf(t, err).Code != http.StatusForbidden {
		t.Fatalf("exec rights gave logs: %v", err)
	}
	f.allowed["bob get log"] = true
	var out bytes.Buffer
	if err := f.target("bob", "app").Logs(t.Context(), agentclient.LogOptions{Tail: -1}, &out); err != nil {
		t.Fatal(err)
	}
	if out.String() != "hello\n" {
		t.Fatalf("got %q", out.String())
	}
}

func TestLogsConfinedToOwnTasks(t *testing.T) {
	f := newFixture(t)
	f.allowed["alice get log"] = true
	tg := f.target("alice", "app")
	tg.Task = "elsewhere"
	st := statusOf(t, tg.Logs(t.Context(), agentclient.LogOptions{Tail: -1}, io.Discard))
	if st.Code != http.StatusNotFound || !strings.Contains(st.Message, "not bound to container instance i-1") {
		t.Fatalf("got %+v", st)
	}
	st = statusOf(t, f.target("alice", "nope").Logs(t.Context(), agentclient.LogOptions{Tail: -1}, io.Discard))
	if st.Code != http.StatusBadRequest || !strings.Contains(st.Message, `no container "nope"; its containers: app, sidecar`) {
		t.Fatalf("got %+v", st)
	}
	st = statusOf(t, f.target("alice", "sidecar").Logs(t.Context(), agentclient.LogOptions{Tail: -1}, io.Discard))
	if st.Code != http.StatusNotFound || !strings.Contains(st.Message, "no log file") {
		t.Fatalf("got %+v", st)
	}
}

func TestLogsTailSinceTimestamps(t *testing.T) {
	f := newFixture(t)
	f.allowed["alice get log"] = true
	f.write("one\n", "two\n")
	time.Sleep(20 * time.Millisecond)
	mark := time.Now()
	f.write("three\n")
	for name, c := range map[string]struct {
		opts agentclient.LogOptions
		want string
	}{
		"all":    {agentclient.LogOptions{Tail: -1}, "one\ntwo\nthree\n"},
		"tail 2": {agentclient.LogOptions{Tail: 2}, "two\nthree\n"},
		"tail 0": {agentclient.LogOptions{Tail: 0}, ""},
		"since":  {agentclient.LogOptions{Tail: -1, SinceTime: mark}, "three\n"},
	} {
		var out bytes.Buffer
		if err := f.target("alice", "app").Logs(t.Context(), c.opts, &out); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if out.String() != c.want {
			t.Errorf("%s: got %q, want %q", name, out.String(), c.want)
		}
	}
	var out bytes.Buffer
	if err := f.target("alice", "app").Logs(t.Context(), agentclient.LogOptions{Tail: 1, Timestamps: true}, &out); err != nil {
		t.Fatal(err)
	}
	ts, line, ok := strings.Cut(out.String(), " ")
	if _, err := time.Parse(time.RFC3339Nano, ts); !ok || err != nil || line != "three\n" || len(ts) != len("2006-01-02T15:04:05.000000000Z") {
		t.Fatalf("timestamps: got %q", out.String())
	}
}

func TestLogsBadQuery(t *testing.T) {
	f := newFixture(t)
	f.allowed["alice get log"] = true
	st := statusOf(t, f.target("alice", "app").Logs(t.Context(), agentclient.LogOptions{Tail: -1, Follow: true, Previous: true}, io.Discard))
	if st.Code != http.StatusBadRequest || !strings.Contains(st.Message, "previous and follow exclude each other") {
		t.Fatalf("got %+v", st)
	}
}

// syncBuffer is a bytes.Buffer safe for a writer and a reader goroutine.
type syncBuffer struct {
	mu  chan struct{}
	buf bytes.Buffer
}

func newSyncBuffer() *syncBuffer { return &syncBuffer{mu: make(chan struct{}, 1)} }

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu <- struct{}{}
	defer func() { <-b.mu }()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu <- struct{}{}
	defer func() { <-b.mu }()
	return b.buf.String()
}

func waitOutput(t *testing.T, b *syncBuffer, want string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for b.String() != want {
		if time.Now().After(deadline) {
			t.Fatalf("got %q, want %q", b.String(), want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestLogsFollowEndsWithTheContainer(t *testing.T) {
	f := newFixture(t)
	f.allowed["alice get log"] = true
	f.write("before\n")
	out := newSyncBuffer()
	errC := make(chan error, 1)
	go func() {
		errC <- f.target("alice", "app").Logs(t.Context(), agentclient.LogOptions{Tail: -1, Follow: true}, out)
	}()
	waitOutput(t, out, "before\n")
	f.write("after\n")
	waitOutput(t, out, "before\nafter\n")
	f.rt.Exit(lsruntime.ContainerID(string(f.task.UID), "app", 0), 0)
	f.write("drained\n")
	select {
	case err := <-errC:
		if err != nil {
			t.Fatalf("a followed log of a container that stopped ends cleanly, got %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the followed log did not end with its container")
	}
	if got := out.String(); got != "before\nafter\ndrained\n" {
		t.Fatalf("got %q", got)
	}
}

func TestLogsFollowBreaksWhenTheAgentStops(t *testing.T) {
	f := newFixture(t)
	f.allowed["alice get log"] = true
	f.write("before\n")
	out := newSyncBuffer()
	errC := make(chan error, 1)
	go func() {
		errC <- f.target("alice", "app").Logs(t.Context(), agentclient.LogOptions{Tail: -1, Follow: true}, out)
	}()
	waitOutput(t, out, "before\n")
	f.cancel() // the agent stops
	select {
	case err := <-errC:
		if !errors.Is(err, agentclient.ErrStreamBroken) {
			t.Fatalf("want ErrStreamBroken, got %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the followed log did not end with the agent")
	}
}

func TestLogsPrevious(t *testing.T) {
	f := newFixture(t)
	f.allowed["alice get log"] = true
	f.write("attempt 0\n")
	time.Sleep(10 * time.Millisecond)
	started0, exited0 := time.Now().Add(-time.Second), time.Now()
	// The fake's current attempt is older than that exit: the previous
	// attempt ends drainGrace after it.
	time.Sleep(drainGrace + 100*time.Millisecond)
	f.write("attempt 1\n")
	st := statusOf(t, f.target("alice", "app").Logs(t.Context(), agentclient.LogOptions{Tail: -1, Previous: true}, io.Discard))
	if st.Code != http.StatusBadRequest || !strings.Contains(st.Message, "restart policy has not restarted it") {
		t.Fatalf("got %+v", st)
	}
	f.previous = func(types.UID, string) (time.Time, time.Time, bool, error) { return started0, exited0, true, nil }
	var out bytes.Buffer
	if err := f.target("alice", "app").Logs(t.Context(), agentclient.LogOptions{Tail: -1, Previous: true}, &out); err != nil {
		t.Fatal(err)
	}
	if out.String() != "attempt 0\n" {
		t.Fatalf("previous: got %q", out.String())
	}
}

// sizes is a TerminalSizeQueue fed by a test.
type sizes chan remotecommand.TerminalSize

func (s sizes) Next() *remotecommand.TerminalSize {
	sz, ok := <-s
	if !ok {
		return nil
	}
	return &sz
}

func TestExec(t *testing.T) {
	f := newFixture(t)
	id := lsruntime.ContainerID(string(f.task.UID), "app", 0)
	// Refused without create tasks/exec, even with get tasks/log.
	f.allowed["alice get log"] = true
	err := f.target("alice", "app").Exec(t.Context(), []string{"sh"}, remotecommand.StreamOptions{Stdout: io.Discard})
	want := `User "alice" cannot create resource "tasks/exec" in API group "ecs.longshore.io" in the namespace "ns"`
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("want %q, got %v", want, err)
	}
	f.allowed["alice create exec"] = true

	// The fake echoes stdin and exits 3; the exit code reaches the client.
	f.rt.ExecResult.ExitCode = 3
	var out bytes.Buffer
	err = f.target("alice", "app").Exec(t.Context(), []string{"cat", "-"}, remotecommand.StreamOptions{
		Stdin: strings.NewReader("ping\n"), Stdout: &out, Stderr: io.Discard})
	var exit utilexec.CodeExitError
	if !errors.As(err, &exit) || exit.Code != 3 {
		t.Fatalf("want exit code 3, got %v", err)
	}
	if out.String() != "ping\n" {
		t.Fatalf("stdout: got %q", out.String())
	}
	var evs eventsv1.EventList
	if err := f.client.List(t.Context(), &evs); err != nil {
		t.Fatal(err)
	}
	if len(evs.Items) != 1 || evs.Items[0].Reason != ecsv1.EventExecuteCommand || evs.Items[0].Regarding.Name != "web" ||
		evs.Items[0].Note != "User alice ran [cat -] in container app (interactive)" {
		t.Fatalf("events: %+v", evs.Items)
	}

	// TTY: resizes reach the runtime; stdout and stderr are one stream.
	got := make(chan lsruntime.TerminalSize, 4)
	f.rt.ExecStreamFunc = func(ctx context.Context, _ string, _ []string, s lsruntime.ExecStreams) (int, error) {
		if !s.TTY || s.Resize == nil {
			return 1, fmt.Errorf("want a TTY with resizes, got %+v", s)
		}
		for range 2 {
			select {
			case sz := <-s.Resize:
				got <- sz
			case <-ctx.Done():
				return 1, ctx.Err()
			}
		}
		_, _ = io.WriteString(s.Stdout, "resized\r\n")
		return 0, nil
	}
	q := make(sizes, 2)
	q <- remotecommand.TerminalSize{Width: 80, Height: 24}
	q <- remotecommand.TerminalSize{Width: 120, Height: 40}
	out.Reset()
	if err := f.target("alice", "app").Exec(t.Context(), []string{"sh"}, remotecommand.StreamOptions{
		Stdin: strings.NewReader(""), Stdout: &out, Tty: true, TerminalSizeQueue: q}); err != nil {
		t.Fatal(err)
	}
	close(q)
	if a, b := <-got, <-got; a != (lsruntime.TerminalSize{Width: 80, Height: 24}) || b != (lsruntime.TerminalSize{Width: 120, Height: 40}) {
		t.Fatalf("resizes: %v %v", a, b)
	}
	if out.String() != "resized\r\n" {
		t.Fatalf("tty output: %q", out.String())
	}

	// A container that does not run: a clear refusal.
	f.rt.Exit(id, 0)
	err = f.target("alice", "app").Exec(t.Context(), []string{"sh"}, remotecommand.StreamOptions{Stdout: io.Discard})
	if err == nil || !strings.Contains(err.Error(), "container app is not running (stopped)") {
		t.Fatalf("got %v", err)
	}
}

func TestServingCertificateKept(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	_, a, err := ServingCertificate(dir, "i-1", now)
	if err != nil {
		t.Fatal(err)
	}
	_, b, err := ServingCertificate(dir, "i-1", now.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Fatal("a restarted agent must keep its certificate: clients pin it")
	}
	_, c, err := ServingCertificate(dir, "i-2", now)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(a, c) {
		t.Fatal("a certificate for another instance name was reused")
	}
	_, d, err := ServingCertificate(dir, "i-2", now.Add(certValidity))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(c, d) {
		t.Fatal("an expiring certificate was not renewed")
	}
}

func TestStats(t *testing.T) {
	f := newFixture(t)
	tg := f.target("bob", "")
	// Without a stats source: 501, after authorisation.
	f.allowed["bob get stats"] = true
	if st := statusOf(t, func() error { _, err := tg.Stats(t.Context()); return err }()); st.Code != http.StatusNotImplemented {
		t.Fatalf("no stats source: got %+v", st)
	}
	var asked []string
	f.srv.Stats = func(_ context.Context, task *ecsv1.Task) (map[string]*taskendpoint.StatsResponse, error) {
		asked = append(asked, task.Namespace+"/"+task.Name)
		return map[string]*taskendpoint.StatsResponse{"app": {ID: "abc", PidsStats: taskendpoint.PidsStats{Current: 3}}, "sidecar": nil}, nil
	}
	delete(f.allowed, "bob get stats")
	// Logs and exec rights do not give stats.
	f.allowed["bob get log"], f.allowed["bob create exec"] = true, true
	_, err := tg.Stats(t.Context())
	st := statusOf(t, err)
	want := `User "bob" cannot get resource "tasks/stats" in API group "ecs.longshore.io" in the namespace "ns"`
	if st.Code != http.StatusForbidden || !strings.Contains(st.Message, want) {
		t.Fatalf("want 403 with %q, got %+v", want, st)
	}
	f.allowed["bob get stats"] = true
	stats, err := tg.Stats(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var app taskendpoint.StatsResponse
	if err := json.Unmarshal(stats["app"], &app); err != nil {
		t.Fatal(err)
	}
	if app.ID != "abc" || app.PidsStats.Current != 3 || string(stats["sidecar"]) != "null" || len(stats) != 2 {
		t.Fatalf("got %s", stats)
	}
	// Only this instance's tasks.
	tg.Task = "elsewhere"
	if _, err := tg.Stats(t.Context()); statusOf(t, err).Code != http.StatusNotFound {
		t.Fatalf("another instance's task: %v", err)
	}
	if diff := cmp.Diff([]string{"ns/web"}, asked); diff != "" {
		t.Fatalf("stats asked of (-want +got):\n%s", diff)
	}
	// A task the agent no longer runs.
	f.srv.Stats = func(context.Context, *ecsv1.Task) (map[string]*taskendpoint.StatsResponse, error) {
		return nil, taskendpoint.ErrNotFound
	}
	tg.Task = "web"
	if _, err := tg.Stats(t.Context()); statusOf(t, err).Code != http.StatusNotFound {
		t.Fatalf("a task the agent does not run: %v", err)
	}
}
