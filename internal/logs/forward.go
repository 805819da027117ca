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

package logs

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/fluent/fluent-logger-golang/fluent"
)

// DefaultForwardBufferLimit is how many records a forwarding logger holds
// while the router is slow or away, when the task does not set
// log-driver-buffer-limit. Records past it are dropped from the forward
// (never from the log file).
const DefaultForwardBufferLimit = 8192

// forwardDrain bounds how long a logger whose streams ended waits for the
// router to take what it still holds.
var forwardDrain = 5 * time.Second

// Forward makes a logger send every record to a Fluent forward-protocol
// endpoint as well as to its log file: a FireLens log router. The records
// have the shape Docker's fluentd log driver gives them (with the same
// client library), which is what a FireLens router expects:
//
//	tag  <container>-firelens-<task id>
//	{"container_id": …, "container_name": …, "source": "stdout", "log": "line without newline"}
//
// and, for a line longer than MaxLineSize split into records,
// partial_message "true", partial_id, partial_ordinal (from 1) and
// partial_last ("true" on the record that ends the line).
type Forward struct {
	// Socket is the router's Unix socket (absolute path).
	Socket string
	// Tag of every record.
	Tag string
	// ContainerID and ContainerName go into every record.
	ContainerID, ContainerName string
	// BufferLimit is how many records are held for the router; 0 means
	// DefaultForwardBufferLimit.
	BufferLimit int
}

// Validate reports whether f can be used.
func (f *Forward) Validate() error {
	switch {
	case !filepath.IsAbs(f.Socket):
		return fmt.Errorf("forward socket %q is not an absolute path", f.Socket)
	case len(f.Socket) > 107:
		return fmt.Errorf("forward socket %q is longer than a Unix socket path may be (107 bytes)", f.Socket)
	case f.Tag == "":
		return errors.New("forward tag is empty")
	case f.BufferLimit < 0:
		return fmt.Errorf("forward buffer limit must not be negative, got %d", f.BufferLimit)
	}
	return nil
}

// The logger argument keys of a Forward.
const (
	argForwardSocket = "forward-socket"
	argForwardTag    = "forward-tag"
	argForwardID     = "forward-container-id"
	argForwardName   = "forward-container-name"
	argForwardBuffer = "forward-buffer-limit"
)

func (f *Forward) addArgs(v url.Values) {
	v.Set(argForwardSocket, f.Socket)
	v.Set(argForwardTag, f.Tag)
	v.Set(argForwardID, f.ContainerID)
	v.Set(argForwardName, f.ContainerName)
	v.Set(argForwardBuffer, strconv.Itoa(f.BufferLimit))
}

func isForwardArg(k string) bool {
	switch k {
	case argForwardSocket, argForwardTag, argForwardID, argForwardName, argForwardBuffer:
		return true
	}
	return false
}

func parseForwardArgs(q url.Values) (*Forward, error) {
	if q.Get(argForwardSocket) == "" {
		for k := range q {
			if isForwardArg(k) {
				return nil, fmt.Errorf("%s without %s", k, argForwardSocket)
			}
		}
		return nil, nil
	}
	f := &Forward{Socket: q.Get(argForwardSocket), Tag: q.Get(argForwardTag),
		ContainerID: q.Get(argForwardID), ContainerName: q.Get(argForwardName)}
	if s := q.Get(argForwardBuffer); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			return nil, fmt.Errorf("%s: %q is not a decimal integer", argForwardBuffer, s)
		}
		f.BufferLimit = n
	}
	return f, f.Validate()
}

// forwarder sends records to the router without ever blocking the
// container: the client library queues them and sends them from its own
// goroutine, reconnecting as needed; a full queue drops the record from
// the forward.
type forwarder struct {
	cfg                           Forward
	client                        *fluent.Fluent
	posted, sent, failed, dropped atomic.Int64
}

func newForwarder(cfg Forward) (*forwarder, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	limit := cfg.BufferLimit
	if limit == 0 {
		limit = DefaultForwardBufferLimit
	}
	fw := &forwarder{cfg: cfg}
	client, err := fluent.New(fluent.Config{
		FluentNetwork:    "unix",
		FluentSocketPath: cfg.Socket,
		Async:            true, // never block the container on the router
		BufferLimit:      limit,
		// A router that restarts is waited for about two minutes
		// (30 tries, 0.5 s doubling to 5 s) before a record is given up.
		RetryWait:          500,
		MaxRetryWait:       5000,
		MaxRetry:           30,
		SubSecondPrecision: true,
		// Close cancels what is still queued once forwardDrain passed.
		ForceStopAsyncSend: true,
		AsyncResultCallback: func(_ []byte, err error) {
			if err != nil {
				fw.failed.Add(1)
			} else {
				fw.sent.Add(1)
			}
		},
	})
	if err != nil {
		return nil, err
	}
	fw.client = client
	return fw, nil
}

// post queues one record. partial describes a line split into several
// records (nil for a whole line).
func (fw *forwarder) post(stream string, log []byte, t time.Time, partial *partialLine) {
	// Docker's fluentd driver sends the line without its newline.
	if n := len(log); n > 0 && log[n-1] == '\n' {
		log = log[:n-1]
	}
	rec := map[string]string{
		"container_id":   fw.cfg.ContainerID,
		"container_name": fw.cfg.ContainerName,
		"source":         stream,
		"log":            string(log),
	}
	if partial != nil {
		rec["partial_message"] = "true"
		rec["partial_id"] = partial.id
		rec["partial_ordinal"] = strconv.Itoa(partial.ordinal)
		rec["partial_last"] = strconv.FormatBool(partial.last)
	}
	fw.posted.Add(1)
	if err := fw.client.PostWithTime(fw.cfg.Tag, t, rec); err != nil {
		fw.posted.Add(-1)
		fw.dropped.Add(1)
	}
}

// close waits up to forwardDrain for the queued records to be sent, then
// stops the client, and says on stderr what could not be forwarded. A
// router that is away is not the logger's failure: the log file has every
// record, so close never fails.
func (fw *forwarder) close() {
	deadline := time.Now().Add(forwardDrain)
	for fw.sent.Load()+fw.failed.Load() < fw.posted.Load() && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if fw.sent.Load()+fw.failed.Load() == fw.posted.Load() {
		// Nothing queued: a plain close, which does not announce that
		// it discards anything.
		fw.client.ForceStopAsyncSend = false
	}
	_ = fw.client.Close()
	if lost := fw.posted.Load() - fw.sent.Load() + fw.dropped.Load(); lost > 0 {
		fmt.Fprintf(os.Stderr, "%d of %d records were not forwarded to %s (%d for a full buffer); the log file has them all\n",
			lost, fw.posted.Load()+fw.dropped.Load(), fw.cfg.Socket, fw.dropped.Load())
	}
}

// partialLine numbers the records of one line split by MaxLineSize.
type partialLine struct {
	id      string
	ordinal int
	last    bool
}

func newPartialID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
