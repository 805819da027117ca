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

package scheduler

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/types"
	clocktesting "k8s.io/utils/clock/testing"
)

func key(name string) types.NamespacedName { return types.NamespacedName{Namespace: "ns", Name: name} }

func req(name string) Request { return Request{Key: key(name)} }

type counts struct{ Active, Backoff, Unschedulable, Processing int }

func countsOf(q *queue) counts {
	a, b, u, p := q.counts()
	return counts{a, b, u, p}
}

func pop(t *testing.T, q *queue) string {
	t.Helper()
	if c := countsOf(q); c.Active == 0 {
		t.Fatalf("nothing active to pop: %+v", c)
	}
	r, ok := q.Pop()
	if !ok {
		t.Fatal("queue closed")
	}
	return r.Key.Name
}

func TestQueueFIFOAndDedup(t *testing.T) {
	q := newQueue(clocktesting.NewFakeClock(time.Unix(0, 0)))
	q.Add(req("a"))
	q.Add(req("b"))
	q.Add(Request{Key: key("a"), Group: "updated"})
	if got := pop(t, q); got != "a" {
		t.Fatalf("popped %s, want a", got)
	}
	if got := pop(t, q); got != "b" {
		t.Fatalf("popped %s, want b", got)
	}
	if diff := cmp.Diff(counts{Processing: 2}, countsOf(q)); diff != "" {
		t.Errorf("counts (-want +got):\n%s", diff)
	}
}

func TestQueueAddWhileProcessingRequeuesAfterDone(t *testing.T) {
	q := newQueue(clocktesting.NewFakeClock(time.Unix(0, 0)))
	q.Add(req("a"))
	pop(t, q)
	q.Add(Request{Key: key("a"), Group: "g2"})
	if diff := cmp.Diff(counts{Processing: 1}, countsOf(q)); diff != "" {
		t.Fatalf("an Add while processing must wait for the outcome (-want +got):\n%s", diff)
	}
	q.Done(key("a"))
	r, _ := q.Pop()
	if r.Group != "g2" {
		t.Errorf("requeued request has group %q, want the latest, g2", r.Group)
	}
	q.Done(key("a"))
	if diff := cmp.Diff(counts{}, countsOf(q)); diff != "" {
		t.Errorf("after Done (-want +got):\n%s", diff)
	}
}

func TestQueueDeleteWhileProcessing(t *testing.T) {
	q := newQueue(clocktesting.NewFakeClock(time.Unix(0, 0)))
	q.Add(req("a"))
	pop(t, q)
	q.Add(req("a"))
	q.Delete(key("a"))
	q.Backoff(key("a"))
	if diff := cmp.Diff(counts{}, countsOf(q)); diff != "" {
		t.Errorf("a task deleted while processing must leave the queue (-want +got):\n%s", diff)
	}
}

func TestQueueBackoff(t *testing.T) {
	clk := clocktesting.NewFakeClock(time.Unix(0, 0))
	q := newQueue(clk)
	q.Add(req("a"))
	pop(t, q)
	q.Backoff(key("a")) // 1st failure: InitialBackoff
	q.Tick()
	if diff := cmp.Diff(counts{Backoff: 1}, countsOf(q)); diff != "" {
		t.Fatalf("before the backoff (-want +got):\n%s", diff)
	}
	clk.Step(InitialBackoff)
	q.Tick()
	pop(t, q)
	q.Backoff(key("a")) // 2nd failure: twice as long
	clk.Step(InitialBackoff)
	q.Tick()
	if diff := cmp.Diff(counts{Backoff: 1}, countsOf(q)); diff != "" {
		t.Fatalf("the second backoff must be longer (-want +got):\n%s", diff)
	}
	clk.Step(InitialBackoff)
	q.Tick()
	pop(t, q)
	q.Done(key("a"))
	q.Add(req("a"))
	pop(t, q)
	q.Backoff(key("a")) // Done reset the failures
	clk.Step(InitialBackoff)
	q.Tick()
	if diff := cmp.Diff(counts{Active: 1}, countsOf(q)); diff != "" {
		t.Errorf("after Done the backoff starts again at InitialBackoff (-want +got):\n%s", diff)
	}
}

func TestBackoffFor(t *testing.T) {
	for n, want := range map[int]time.Duration{1: InitialBackoff, 2: 2 * InitialBackoff, 3: 4 * InitialBackoff, 30: MaxBackoff} {
		if got := backoffFor(n); got != want {
			t.Errorf("backoffFor(%d) = %s, want %s", n, got, want)
		}
	}
}

func TestQueueUnschedulableWaitsForFlush(t *testing.T) {
	clk := clocktesting.NewFakeClock(time.Unix(0, 0))
	q := newQueue(clk)
	q.Add(req("a"))
	pop(t, q)
	q.Unschedulable(key("a"))
	clk.Step(5 * time.Second)
	q.Tick()
	q.Add(req("a")) // a reconcile of the task: no retry
	if diff := cmp.Diff(counts{Unschedulable: 1}, countsOf(q)); diff != "" {
		t.Fatalf("an unschedulable task waits for an event (-want +got):\n%s", diff)
	}
	q.Flush() // its backoff since its attempt has passed
	if diff := cmp.Diff(counts{Active: 1}, countsOf(q)); diff != "" {
		t.Fatalf("after a flush (-want +got):\n%s", diff)
	}
	pop(t, q)
	q.Unschedulable(key("a"))
	q.Flush() // at once: the second attempt's backoff has not passed
	if diff := cmp.Diff(counts{Backoff: 1}, countsOf(q)); diff != "" {
		t.Fatalf("a flush right after an attempt (-want +got):\n%s", diff)
	}
	clk.Step(backoffFor(2))
	q.Tick()
	if diff := cmp.Diff(counts{Active: 1}, countsOf(q)); diff != "" {
		t.Errorf("after its backoff (-want +got):\n%s", diff)
	}
}

func TestQueueFlushWhileProcessingIsNotMissed(t *testing.T) {
	clk := clocktesting.NewFakeClock(time.Unix(0, 0))
	q := newQueue(clk)
	q.Add(req("a"))
	pop(t, q)
	q.Flush() // e.g. an instance registered while the task was being placed
	q.Unschedulable(key("a"))
	if diff := cmp.Diff(counts{Backoff: 1}, countsOf(q)); diff != "" {
		t.Fatalf("a task found unplaceable after a flush goes to backoff (-want +got):\n%s", diff)
	}
	clk.Step(InitialBackoff)
	q.Tick()
	if diff := cmp.Diff(counts{Active: 1}, countsOf(q)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestQueueUnschedulableSafetyNet(t *testing.T) {
	clk := clocktesting.NewFakeClock(time.Unix(0, 0))
	q := newQueue(clk)
	q.Add(req("a"))
	pop(t, q)
	q.Unschedulable(key("a"))
	clk.Step(MaxUnschedulableWait - time.Second)
	q.Tick()
	if diff := cmp.Diff(counts{Unschedulable: 1}, countsOf(q)); diff != "" {
		t.Fatalf("(-want +got):\n%s", diff)
	}
	clk.Step(time.Second)
	q.Tick()
	if diff := cmp.Diff(counts{Active: 1}, countsOf(q)); diff != "" {
		t.Errorf("after MaxUnschedulableWait without an event (-want +got):\n%s", diff)
	}
}

func TestQueueCloseWakesPop(t *testing.T) {
	q := newQueue(clocktesting.NewFakeClock(time.Unix(0, 0)))
	done := make(chan bool)
	go func() { _, ok := q.Pop(); done <- ok }()
	q.Close()
	if ok := <-done; ok {
		t.Error("Pop after Close returned a task")
	}
}
