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
	"bufio"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"

	ecsv1 "github.com/longshore-io/longshore/api/v1alpha1"
	"github.com/longshore-io/longshore/internal/agentapi/agentclient"
	"github.com/longshore-io/longshore/internal/logs"
	lsruntime "github.com/longshore-io/longshore/internal/runtime"
)

// timestampFormat is how timestamps=true prefixes lines: RFC 3339 with
// nine fractional digits, as the kubelet does.
const timestampFormat = "2006-01-02T15:04:05.000000000Z07:00"

// drainGrace is how long a followed log is read after its container
// exited: the logging binary writes what the pipes still held.
const drainGrace = 500 * time.Millisecond

func (s *Server) serveLog(w http.ResponseWriter, r *http.Request, t target) {
	opts, err := agentclient.ParseLogOptions(r.URL.Query())
	if err != nil {
		writeStatus(w, apierrors.NewBadRequest(err.Error()).ErrStatus)
		return
	}
	file, err := logs.Path(s.LogRoot, t.task.Namespace, t.task.Name, t.container)
	if err != nil {
		writeStatus(w, apierrors.NewBadRequest(err.Error()).ErrStatus)
		return
	}
	ro := logs.ReadOptions{Tail: opts.Tail, Since: opts.SinceTime, Follow: opts.Follow, Poll: s.LogPoll}
	if opts.SinceSeconds > 0 {
		ro.Since = time.Now().Add(-time.Duration(opts.SinceSeconds) * time.Second)
	}
	cur, running, err := s.current(r.Context(), t)
	if err != nil {
		writeStatus(w, apierrors.NewInternalError(err).ErrStatus)
		return
	}
	running = running && cur.State == lsruntime.StateRunning
	if opts.Previous {
		if s.PreviousAttempt == nil {
			writeStatus(w, apierrors.NewBadRequest("this agent keeps no record of previous attempts").ErrStatus)
			return
		}
		started, exited, ok, err := s.PreviousAttempt(t.task.UID, t.container)
		if err != nil {
			writeStatus(w, apierrors.NewInternalError(err).ErrStatus)
			return
		}
		if !ok {
			writeStatus(w, apierrors.NewBadRequest(fmt.Sprintf("previous attempt of container %q in task %s/%s not found: its restart policy has not restarted it",
				t.container, t.task.Namespace, t.task.Name)).ErrStatus)
			return
		}
		if ro.Since.Before(started) {
			ro.Since = started
		}
		// Until the next attempt was created: what its logger drained
		// after the exit belongs to it.
		ro.Until = exited.Add(drainGrace)
		if cur.CreatedAt.After(exited) {
			ro.Until = cur.CreatedAt
		}
	}
	if opts.Follow {
		done := make(chan struct{})
		ro.Done = done
		go s.watchExit(r.Context(), cur.ID, running, done)
	}

	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	bw := bufio.NewWriterSize(w, 32<<10)
	rc := http.NewResponseController(w)
	wrote := false
	emit := func(l logs.Line) error {
		if !wrote {
			w.WriteHeader(http.StatusOK)
			wrote = true
		}
		if opts.Timestamps {
			_, _ = bw.WriteString(l.Time.UTC().Format(timestampFormat))
			_ = bw.WriteByte(' ')
		}
		if _, err := bw.WriteString(l.Log); err != nil {
			return err
		}
		if opts.Follow {
			if err := bw.Flush(); err != nil {
				return err
			}
			return rc.Flush()
		}
		return nil
	}
	// A followed log ends when the agent stops, as abruptly as a crash
	// would end it: the client must not take it for the container's end.
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	stop := context.AfterFunc(s.ctx, cancel)
	defer stop()
	if opts.Follow && !wrote {
		// Headers now: the client knows the stream is open before the
		// first line comes.
		w.WriteHeader(http.StatusOK)
		wrote = true
		_ = rc.Flush()
	}
	err = logs.Read(ctx, file, ro, emit)
	if errors.Is(err, fs.ErrNotExist) && !wrote {
		writeStatus(w, apierrors.NewNotFound(schema.GroupResource{Group: ecsv1.GroupVersion.Group, Resource: "tasks/log"},
			fmt.Sprintf("%s/%s container %s (no log file: the container has not started, or its logConfiguration keeps none)",
				t.task.Namespace, t.task.Name, t.container)).ErrStatus)
		return
	}
	if err != nil && !wrote {
		writeStatus(w, apierrors.NewInternalError(err).ErrStatus)
		return
	}
	if s.ctx.Err() != nil {
		panic(http.ErrAbortHandler)
	}
	if err != nil {
		s.log.Error(err, "Streaming a log", "task", t.task.Namespace+"/"+t.task.Name, "container", t.container)
		panic(http.ErrAbortHandler)
	}
	if !wrote {
		w.WriteHeader(http.StatusOK)
	}
	_ = bw.Flush()
}

// watchExit closes done once the container id no longer runs (after
// drainGrace), or at once when it was not running.
func (s *Server) watchExit(ctx context.Context, id string, running bool, done chan<- struct{}) {
	defer close(done)
	for running {
		select {
		case <-ctx.Done():
			return
		case <-time.After(500 * time.Millisecond):
		}
		st, err := s.Runtime.Status(ctx, id)
		if (err == nil && st.State == lsruntime.StateRunning) || (err != nil && !errors.Is(err, lsruntime.ErrNotFound)) {
			continue // running, or containerd not answering for a moment
		}
		break
	}
	select {
	case <-ctx.Done():
	case <-time.After(drainGrace):
	}
}
