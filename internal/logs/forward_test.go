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
	"fmt"
	"net"
	neturl "net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/longshore-io/longshore/internal/logs/forwardtest"
)

// router is a Fluent forward receiver on a Unix socket, as a FireLens log
// router's socket input is.
type router struct {
	mu     sync.Mutex
	events []forwardtest.Event
	errs   []error
	l      net.Listener
	done   chan struct{}
}

func startRouter(t *testing.T, socket string) *router {
	t.Helper()
	l, err := net.Listen("unix", socket)
	if err != nil {
		t.Fatal(err)
	}
	r := &router{l: l, done: make(chan struct{})}
	go func() {
		defer close(r.done)
		_ = forwardtest.Serve(l, func(e forwardtest.Event) {
			r.mu.Lock()
			r.events = append(r.events, e)
			r.mu.Unlock()
		}, func(err error) {
			r.mu.Lock()
			r.errs = append(r.errs, err)
			r.mu.Unlock()
		})
	}()
	t.Cleanup(r.stop)
	return r
}

func (r *router) stop() {
	_ = r.l.Close()
	<-r.done
}

func (r *router) snapshot() ([]forwardtest.Event, []error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]forwardtest.Event(nil), r.events...), append([]error(nil), r.errs...)
}

func forwardURI(t *testing.T, file, socket string) *neturl.URL {
	t.Helper()
	opts := DefaultOptions()
	opts.Forward = &Forward{Socket: socket, Tag: "app-firelens-0123abcd", ContainerID: "c1", ContainerName: "/ecs-web-1-app"}
	u, err := LoggerURI(testBinary(t), file, opts)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// TestLoggerForwardsToRouter: every record of the log file also reaches
// the router, in order, in the shape of Docker's fluentd driver, split
// lines numbered as partial messages.
func TestLoggerForwardsToRouter(t *testing.T) {
	dir := t.TempDir()
	socket := filepath.Join(dir, "fluent.sock")
	r := startRouter(t, socket)
	file := filepath.Join(dir, "app.log")
	l := startLogger(t, forwardURI(t, file, socket))
	l.waitReady(t)

	long := strings.Repeat("L", 40000)
	for i := range 100 {
		writeAll(t, l.stdout, fmt.Sprintf("out %d\n", i))
	}
	writeAll(t, l.stderr, "an error\n")
	writeAll(t, l.stdout, long+"\n")
	writeAll(t, l.stdout, "unfinished")
	_ = l.stdout.Close()
	_ = l.stderr.Close()
	if code := l.wait(t, 30*time.Second); code != 0 {
		t.Fatalf("logger exit code %d; it says %q", code, l.output.String())
	}
	if l.output.Len() != 0 {
		t.Errorf("logger wrote to stderr: %q", l.output.String())
	}
	r.stop()
	events, errs := r.snapshot()
	if len(errs) > 0 {
		t.Fatalf("the router could not read what the logger sent: %v", errs)
	}
	// Within a stream the router gets the records in the file's order
	// (stdout and stderr are copied concurrently: across them, no order).
	records := readRecords(t, file)
	if len(events) != len(records) {
		t.Fatalf("the router got %d events, the log file has %d records", len(events), len(records))
	}
	byStreamEvents := map[string][]forwardtest.Event{}
	for _, e := range events {
		if e.Tag != "app-firelens-0123abcd" || e.Record["container_id"] != "c1" || e.Record["container_name"] != "/ecs-web-1-app" {
			t.Fatalf("event: tag %q record %v", e.Tag, e.Record)
		}
		src, _ := e.Record["source"].(string)
		byStreamEvents[src] = append(byStreamEvents[src], e)
	}
	fileByStream := map[string][]Line{}
	for _, rec := range records {
		fileByStream[rec.Stream] = append(fileByStream[rec.Stream], rec)
	}
	for stream, recs := range fileByStream {
		evs := byStreamEvents[stream]
		if len(evs) != len(recs) {
			t.Fatalf("%s: the router got %d events, the file has %d", stream, len(evs), len(recs))
		}
		for i, rec := range recs {
			e := evs[i]
			if e.Record["log"] != strings.TrimSuffix(rec.Log, "\n") {
				t.Fatalf("%s event %d: %v, the file has %+v", stream, i, e.Record, rec)
			}
			if d := e.Time.Sub(rec.Time); d < -time.Microsecond || d > time.Microsecond {
				t.Errorf("%s event %d at %v, record at %v: want the same time (sub-second)", stream, i, e.Time, rec.Time)
			}
		}
	}
	stdout := byStreamEvents[StreamStdout]
	// The long line: three parts of one partial_id, ordinals 1-3, the
	// third last; then the unfinished line as a whole record.
	parts := stdout[100:103]
	id := parts[0].Record["partial_id"]
	for k, p := range parts {
		want := map[string]any{"partial_message": "true", "partial_id": id, "partial_ordinal": fmt.Sprint(k + 1), "partial_last": fmt.Sprint(k == 2)}
		for key, v := range want {
			if p.Record[key] != v {
				t.Errorf("part %d: %s = %v, want %v (record %v)", k+1, key, p.Record[key], v, p.Record)
			}
		}
	}
	if s, _ := id.(string); len(s) != 32 {
		t.Errorf("partial_id %q", id)
	}
	if last := stdout[103]; last.Record["log"] != "unfinished" || last.Record["partial_message"] != nil {
		t.Errorf("unfinished last line: %v", last.Record)
	}
	if stdout[0].Record["partial_message"] != nil {
		t.Errorf("a whole line is not a partial message: %v", stdout[0].Record)
	}
}

// TestLoggerForwardWaitsForTheRouter: a router that starts after the
// container (or restarts) gets the records written meanwhile; a router
// that never comes costs the log file nothing, and the logger still exits.
func TestLoggerForwardWaitsForTheRouter(t *testing.T) {
	dir := t.TempDir()
	socket := filepath.Join(dir, "fluent.sock")
	file := filepath.Join(dir, "app.log")
	l := startLogger(t, forwardURI(t, file, socket))
	l.waitReady(t)
	writeAll(t, l.stdout, "before the router\n")
	time.Sleep(300 * time.Millisecond)
	r := startRouter(t, socket)
	writeAll(t, l.stdout, "after the router\n")
	_ = l.stdout.Close()
	_ = l.stderr.Close()
	if code := l.wait(t, 30*time.Second); code != 0 {
		t.Fatalf("logger exit code %d; it says %q", code, l.output.String())
	}
	r.stop()
	events, _ := r.snapshot()
	var got []string
	for _, e := range events {
		got = append(got, fmt.Sprint(e.Record["log"]))
	}
	equal(t, "forwarded", got, []string{"before the router", "after the router"})

	// No router at all: the file has everything, the logger says what it
	// could not forward and exits 0 after its drain time.
	file2 := filepath.Join(dir, "alone.log")
	l = startLogger(t, forwardURI(t, file2, filepath.Join(dir, "nobody.sock")))
	l.waitReady(t)
	writeAll(t, l.stdout, "one\ntwo\n")
	_ = l.stdout.Close()
	_ = l.stderr.Close()
	// It gives up on its own (after forwardDrain): the wait is only a
	// guard against a hang, not a measure of speed.
	if code := l.wait(t, 30*time.Second); code != 0 {
		t.Fatalf("logger exit code %d; it says %q", code, l.output.String())
	}
	if !strings.Contains(l.output.String(), "2 of 2 records were not forwarded") {
		t.Errorf("logger stderr %q, want it to count the records not forwarded", l.output.String())
	}
	equal(t, "file", logs(readRecords(t, file2)), []string{"one\n", "two\n"})
}
