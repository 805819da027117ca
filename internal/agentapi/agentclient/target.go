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

package agentclient

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/httpstream" //nolint:staticcheck // client-go's spdy.Upgrader is in this package's types
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/remotecommand"
	"k8s.io/client-go/transport/spdy"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ecsv1 "github.com/longshore-io/longshore/api/v1alpha1"
)

// Target is a container of a Task, and how to reach the agent that runs it.
type Target struct {
	Namespace, Task, Container string
	// Instance is the ContainerInstance the Task is bound to.
	Instance string
	// Address is the agent endpoint's address.
	Address string
	// Config reaches the agent with the user's credentials.
	Config *rest.Config
}

// Resolve finds where container of Task namespace/task runs, reading the
// Task and its ContainerInstance with c, and returns a Target that reaches
// its agent with user's credentials. An empty container is the task's
// only one. Its errors say what is missing: the task, its placement, the
// container, the instance's endpoint.
func Resolve(ctx context.Context, c client.Reader, user *rest.Config, namespace, task, container string) (*Target, error) {
	return resolve(ctx, c, user, namespace, task, container, true)
}

// ResolveTask finds the agent that runs Task namespace/task, for the
// routes of a whole task (stats): its Target has no Container.
func ResolveTask(ctx context.Context, c client.Reader, user *rest.Config, namespace, task string) (*Target, error) {
	return resolve(ctx, c, user, namespace, task, "", false)
}

func resolve(ctx context.Context, c client.Reader, user *rest.Config, namespace, task, container string, oneContainer bool) (*Target, error) {
	t := &ecsv1.Task{}
	if err := c.Get(ctx, client.ObjectKey{Namespace: namespace, Name: task}, t); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, fmt.Errorf("task %s not found in namespace %s", task, namespace)
		}
		return nil, fmt.Errorf("reading task %s/%s: %w", namespace, task, err)
	}
	if t.Spec.ContainerInstance == "" {
		return nil, fmt.Errorf("task %s/%s is not placed on a container instance yet (lastStatus %s): it has no containers to reach",
			namespace, task, orNone(string(t.Status.LastStatus)))
	}
	names := make([]string, 0, len(t.Status.Containers))
	for _, cs := range t.Status.Containers {
		names = append(names, cs.Name)
	}
	switch {
	case len(names) == 0:
		return nil, fmt.Errorf("task %s/%s is bound to %s but its agent has not reported its containers yet (lastStatus %s)",
			namespace, task, t.Spec.ContainerInstance, orNone(string(t.Status.LastStatus)))
	case !oneContainer:
	case container == "" && len(names) == 1:
		container = names[0]
	case container == "":
		return nil, fmt.Errorf("task %s/%s has %d containers (%s): choose one with -c CONTAINER",
			namespace, task, len(names), strings.Join(names, ", "))
	case !slices.Contains(names, container):
		return nil, fmt.Errorf("task %s/%s has no container %q; its containers: %s", namespace, task, container, strings.Join(names, ", "))
	}
	ci := &ecsv1.ContainerInstance{}
	if err := c.Get(ctx, client.ObjectKey{Name: t.Spec.ContainerInstance}, ci); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, fmt.Errorf("task %s/%s is bound to container instance %s, which does not exist (deregistered?)", namespace, task, t.Spec.ContainerInstance)
		}
		return nil, fmt.Errorf("reading container instance %s: %w", t.Spec.ContainerInstance, err)
	}
	ep := ci.Status.AgentEndpoint
	if ep == nil || ep.Address == "" || ep.Certificate == "" {
		return nil, fmt.Errorf("container instance %s publishes no logs and exec endpoint (status.agentEndpoint): its agent is older, "+
			"was started with --agent-api-bind-address 0, or could not read the cluster's client CA (see its log)", ci.Name)
	}
	return &Target{
		Namespace: namespace, Task: task, Container: container, Instance: ci.Name, Address: ep.Address,
		Config: ClientConfig(user, ci.Name, *ep),
	}, nil
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// AgentError is a refusal of the agent, with the Status it answered.
type AgentError struct {
	Instance string
	Status   metav1.Status
}

func (e *AgentError) Error() string {
	return fmt.Sprintf("the agent of container instance %s answered %d %s: %s", e.Instance, e.Status.Code, e.Status.Reason, e.Status.Message)
}

// ErrStreamBroken is wrapped by the error of a followed log that ended
// without its end: the agent stopped or the connection broke.
var ErrStreamBroken = errors.New("the stream from the agent broke")

// Logs copies the container's log, as opts select it, to out. A followed
// log returns nil when the container stops, an error wrapping
// ErrStreamBroken when the stream breaks first.
func (t *Target) Logs(ctx context.Context, opts LogOptions, out io.Writer) error {
	hc, err := rest.HTTPClientFor(t.Config)
	if err != nil {
		return err
	}
	u := LogURL(t.Config, t.Namespace, t.Task, t.Container, opts)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("reaching the agent of container instance %s at %s: %w", t.Instance, t.Address, err)
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return t.statusError(resp)
	}
	if _, err := io.Copy(out, resp.Body); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("%w (container instance %s at %s): %v; the container is not affected", ErrStreamBroken, t.Instance, t.Address, err)
	}
	return nil
}

func (t *Target) statusError(resp *http.Response) error {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var st metav1.Status
	if err := json.Unmarshal(body, &st); err != nil || st.Message == "" {
		st = metav1.Status{Code: int32(resp.StatusCode), Message: strings.TrimSpace(string(body))}
	}
	if st.Code == 0 {
		st.Code = int32(resp.StatusCode)
	}
	return &AgentError{Instance: t.Instance, Status: st}
}

// Stats reads the task's stats: each container's, by name, in the Docker
// stats shape of the task metadata endpoint's /task/stats (null: not
// running), as the agent answered them.
func (t *Target) Stats(ctx context.Context) (map[string]json.RawMessage, error) {
	hc, err := rest.HTTPClientFor(t.Config)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, StatsURL(t.Config, t.Namespace, t.Task).String(), nil)
	if err != nil {
		return nil, err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("reaching the agent of container instance %s at %s: %w", t.Instance, t.Address, err)
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return nil, t.statusError(resp)
	}
	out := map[string]json.RawMessage{}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 16<<20)).Decode(&out); err != nil {
		return nil, fmt.Errorf("the stats from the agent of container instance %s: %w", t.Instance, err)
	}
	return out, nil
}

// Exec runs cmd in the container with the streams of so (SPDY, the
// protocol the API server speaks to kubelets). A command that exits with
// another status than 0 returns a k8s.io/client-go/util/exec.CodeExitError.
func (t *Target) Exec(ctx context.Context, cmd []string, so remotecommand.StreamOptions) error {
	u := ExecURL(t.Config, t.Namespace, t.Task, t.Container, cmd, so.Stdin != nil, so.Stdout != nil, so.Stderr != nil && !so.Tty, so.Tty)
	transport, upgrader, err := spdy.RoundTripperFor(t.Config)
	if err != nil {
		return err
	}
	watch := &statusWatch{Upgrader: upgrader}
	ex, err := remotecommand.NewSPDYExecutorForTransports(transport, watch, http.MethodPost, u)
	if err != nil {
		return err
	}
	if err := ex.StreamWithContext(ctx, so); err != nil {
		var exit interface{ ExitStatus() int }
		if errors.As(err, &exit) {
			return err
		}
		msg := strings.TrimPrefix(err.Error(), "unable to upgrade connection: ")
		return fmt.Errorf("exec through the agent of container instance %s at %s: %s", t.Instance, t.Address, msg)
	}
	if !watch.status.Load() {
		// client-go takes an error stream that ends empty for success; the
		// agent always writes the command's status there.
		return fmt.Errorf("%w (container instance %s at %s) before the command's status came: the agent stopped or the connection broke; the container is not affected",
			ErrStreamBroken, t.Instance, t.Address)
	}
	return nil
}

// statusWatch notes whether the server wrote anything on the error
// stream of a session, where it puts the command's status (success too).
type statusWatch struct {
	spdy.Upgrader
	status atomic.Bool
}

func (w *statusWatch) NewConnection(resp *http.Response) (httpstream.Connection, error) {
	c, err := w.Upgrader.NewConnection(resp)
	if err != nil {
		return nil, err
	}
	return &watchedConn{Connection: c, w: w}, nil
}

type watchedConn struct {
	httpstream.Connection
	w *statusWatch
}

func (c *watchedConn) CreateStream(h http.Header) (httpstream.Stream, error) {
	s, err := c.Connection.CreateStream(h)
	if err != nil || h.Get("streamType") != "error" {
		return s, err
	}
	return &watchedStream{Stream: s, w: c.w}, nil
}

type watchedStream struct {
	httpstream.Stream
	w *statusWatch
}

func (s *watchedStream) Read(p []byte) (int, error) {
	n, err := s.Stream.Read(p)
	if n > 0 {
		s.w.status.Store(true)
	}
	return n, err
}
