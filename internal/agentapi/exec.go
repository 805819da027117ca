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
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cri-streaming/pkg/streaming/remotecommand"
	utilexec "k8s.io/utils/exec"

	ecsv1 "github.com/longshore-io/longshore/api/v1alpha1"
	"github.com/longshore-io/longshore/internal/agentapi/agentclient"
	lsruntime "github.com/longshore-io/longshore/internal/runtime"
)

// maxEventCommand bounds the command as an Event quotes it.
const maxEventCommand = 768

func (s *Server) serveExec(w http.ResponseWriter, r *http.Request, t target) {
	cmd := r.URL.Query()[agentclient.ExecCommandParam]
	if len(cmd) == 0 || cmd[0] == "" {
		writeStatus(w, apierrors.NewBadRequest("no command: give it as command=ARG, one per argument").ErrStatus)
		return
	}
	streamOpts, err := remotecommand.NewOptions(r)
	if err != nil {
		writeStatus(w, apierrors.NewBadRequest(err.Error()).ErrStatus)
		return
	}
	cur, ok, err := s.current(r.Context(), t)
	if err != nil {
		writeStatus(w, apierrors.NewInternalError(err).ErrStatus)
		return
	}
	if !ok || cur.State != lsruntime.StateRunning {
		state := string(cur.State)
		if !ok {
			state = "no container in the runtime; task status " + orDash(string(containerPhase(t.task, t.container)))
		}
		writeStatus(w, apierrors.NewConflict(taskResource, t.task.Namespace+"/"+t.task.Name,
			fmt.Errorf("container %s is not running (%s): exec needs a running container", t.container, state)).ErrStatus)
		return
	}
	who := t.user.GetName()
	quoted := quoteCommand(cmd)
	mode := "non-interactive"
	switch {
	case streamOpts.Stdin && streamOpts.TTY:
		mode = "interactive, with a terminal"
	case streamOpts.Stdin:
		mode = "interactive"
	case streamOpts.TTY:
		mode = "with a terminal"
	}
	// As ECS Exec logs its sessions: who, where, what — before it runs.
	s.log.Info("Exec into a container", "user", who, "task", t.task.Namespace+"/"+t.task.Name, "container", t.container,
		"command", cmd, "stdin", streamOpts.Stdin, "tty", streamOpts.TTY)
	s.recordExec(r.Context(), t.task, fmt.Sprintf("User %s ran %s in container %s (%s)", who, quoted, t.container, mode))
	idle := s.StreamIdleTimeout
	if idle <= 0 {
		idle = 4 * time.Hour
	}
	ex := &executor{s: s, id: cur.ID}
	remotecommand.ServeExec(w, r, ex, t.task.Name, string(t.task.UID), t.container, cmd, streamOpts,
		idle, remotecommand.DefaultStreamCreationTimeout, remotecommand.SupportedStreamingProtocols)
}

// recordExec writes an Event of its own for one exec: an event recorder
// would fold the execs of a task into one series and keep the first
// note only.
func (s *Server) recordExec(ctx context.Context, task *ecsv1.Task, note string) {
	if s.Events == nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	now := metav1.NowMicro()
	ev := &eventsv1.Event{
		ObjectMeta: metav1.ObjectMeta{Namespace: task.Namespace, GenerateName: task.Name + ".exec-"},
		EventTime:  now, Type: corev1.EventTypeNormal, Reason: ecsv1.EventExecuteCommand, Action: "Exec", Note: note,
		ReportingController: "longshore-agent", ReportingInstance: truncate("longshore-agent-"+s.Instance, 128),
		Regarding: corev1.ObjectReference{APIVersion: ecsv1.GroupVersion.String(), Kind: "Task",
			Namespace: task.Namespace, Name: task.Name, UID: task.UID, ResourceVersion: task.ResourceVersion},
	}
	if err := s.Events.Create(ctx, ev); err != nil {
		s.log.Error(err, "Recording an exec as an Event", "task", task.Namespace+"/"+task.Name, "note", note)
	}
}

func containerPhase(task *ecsv1.Task, name string) ecsv1.ContainerStatusPhase {
	for _, c := range task.Status.Containers {
		if c.Name == name {
			return c.LastStatus
		}
	}
	return ""
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// quoteCommand writes a command as a shell would read it back, bounded.
func quoteCommand(cmd []string) string {
	parts := make([]string, len(cmd))
	for i, a := range cmd {
		if a != "" && !strings.ContainsAny(a, " \t\n\"'\\$`;&|<>*?()[]{}!#~") {
			parts[i] = a
			continue
		}
		parts[i] = strconv.Quote(a)
	}
	q := strings.Join(parts, " ")
	if len(q) > maxEventCommand {
		q = q[:maxEventCommand] + "…"
	}
	return "[" + q + "]"
}

// executor runs ServeExec's command in the container id.
type executor struct {
	s  *Server
	id string
}

// ExecInContainer implements remotecommand.Executor. The command is killed
// when the agent stops or the client goes (its stream breaks); the
// container itself is not touched.
func (e *executor) ExecInContainer(ctx context.Context, _, _, _ string, cmd []string, in io.Reader, out, errw io.WriteCloser,
	tty bool, resize <-chan remotecommand.TerminalSize, _ time.Duration) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(e.s.ctx, cancel)
	defer stop()

	streams := lsruntime.ExecStreams{TTY: tty}
	if in != nil {
		streams.Stdin = &brokenReader{r: in, broken: cancel}
	}
	if out != nil {
		streams.Stdout = &brokenWriter{w: out, broken: cancel}
	}
	if errw != nil {
		streams.Stderr = &brokenWriter{w: errw, broken: cancel}
	}
	if resize != nil {
		sizes := make(chan lsruntime.TerminalSize)
		streams.Resize = sizes
		go func() {
			defer close(sizes)
			for {
				select {
				case <-ctx.Done():
					return
				case sz, ok := <-resize:
					if !ok {
						return
					}
					select {
					case sizes <- lsruntime.TerminalSize{Width: sz.Width, Height: sz.Height}:
					case <-ctx.Done():
						return
					}
				}
			}
		}()
	}
	code, err := e.s.Runtime.ExecStream(ctx, e.id, cmd, streams)
	if e.s.ctx.Err() != nil {
		return fmt.Errorf("the agent is stopping: the command was killed")
	}
	if err != nil {
		return err
	}
	if code != 0 {
		return utilexec.CodeExitError{Err: fmt.Errorf("command terminated with exit code %d", code), Code: code}
	}
	return nil
}

// brokenReader cancels the command when the client's stream breaks (an
// error other than its end).
type brokenReader struct {
	r      io.Reader
	broken func()
}

func (b *brokenReader) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err != nil && err != io.EOF {
		b.broken()
	}
	return n, err
}

// brokenWriter cancels the command when the client can no longer be
// written to.
type brokenWriter struct {
	mu     sync.Mutex
	w      io.Writer
	broken func()
}

func (b *brokenWriter) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	n, err := b.w.Write(p)
	if err != nil {
		b.broken()
	}
	return n, err
}
