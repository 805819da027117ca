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
	"container/heap"
	"context"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/clock"
)

// Backoff of a task that could not be placed or bound: InitialBackoff
// after the first failure, doubling up to MaxBackoff.
const (
	InitialBackoff = 500 * time.Millisecond
	MaxBackoff     = 10 * time.Second
	// MaxUnschedulableWait is how long an unplaceable task waits for an
	// event that may make it placeable before it is tried again anyway (a
	// safety net: every such event flushes the wait).
	MaxUnschedulableWait = 30 * time.Second
)

// queue holds the tasks to schedule, as kube-scheduler's scheduling queue
// does: an active FIFO that Pop takes from; a backoff heap of tasks that
// failed, each ready again after its backoff; and the unschedulable set of
// tasks no instance can take, which wait for Flush (an event that may make
// them placeable: an instance added or changed, capacity freed, the
// cluster policy changed) or MaxUnschedulableWait.
//
// A key is in at most one of active, backoff, unschedulable and
// processing (popped, its outcome not reported yet). Add of a key being
// processed is remembered and takes effect when its outcome is reported.
type queue struct {
	clock clock.PassiveClock

	mu   sync.Mutex
	cond *sync.Cond

	items  map[types.NamespacedName]*queueItem
	active []types.NamespacedName
	// backoff is a min-heap on readyAt.
	backoff backoffHeap
	// flushes counts Flush calls: a task popped before a Flush and found
	// unplaceable after it goes to backoff, not to the unschedulable set,
	// lest it miss the event.
	flushes uint64
	closed  bool
}

type itemState int

const (
	stateActive itemState = iota
	stateBackoff
	stateUnschedulable
	stateProcessing
)

type queueItem struct {
	req      Request
	state    itemState
	attempts int
	// readyAt: when a backed-off item may be tried again; since: when it
	// became unschedulable.
	readyAt, since time.Time
	// poppedAt is the flush count when the item was popped.
	poppedAt uint64
	// again: Add while processing; gone: Delete while processing.
	again, gone bool
	heapIndex   int
}

func newQueue(clk clock.PassiveClock) *queue {
	q := &queue{clock: clk, items: map[types.NamespacedName]*queueItem{}}
	q.cond = sync.NewCond(&q.mu)
	return q
}

// Add queues req, or updates the request of a task already queued (its
// place in the queue and its backoff unchanged).
func (q *queue) Add(req Request) {
	q.mu.Lock()
	defer q.mu.Unlock()
	it, ok := q.items[req.Key]
	if !ok {
		q.items[req.Key] = &queueItem{req: req, state: stateActive}
		q.pushActive(req.Key)
		return
	}
	it.req = req
	if it.state == stateProcessing {
		it.again, it.gone = true, false
	}
}

// Delete removes the task from the queue.
func (q *queue) Delete(key types.NamespacedName) {
	q.mu.Lock()
	defer q.mu.Unlock()
	it, ok := q.items[key]
	if !ok {
		return
	}
	switch it.state {
	case stateProcessing:
		it.gone, it.again = true, false
		return
	case stateBackoff:
		heap.Remove(&q.backoff, it.heapIndex)
	case stateActive:
		// Left in q.active; Pop skips keys that are not active.
	}
	delete(q.items, key)
}

func (q *queue) pushActive(key types.NamespacedName) {
	q.active = append(q.active, key)
	q.cond.Signal()
}

// Pop waits for an active task and marks it processing; false once the
// queue is closed.
func (q *queue) Pop() (Request, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for {
		for len(q.active) > 0 {
			key := q.active[0]
			q.active[0] = types.NamespacedName{}
			q.active = q.active[1:]
			it, ok := q.items[key]
			if !ok || it.state != stateActive {
				continue
			}
			it.state, it.poppedAt = stateProcessing, q.flushes
			return it.req, true
		}
		if q.closed {
			return Request{}, false
		}
		q.cond.Wait()
	}
}

// Done reports a popped task finished with: bound, or not to schedule.
// It is queued again if it was added while processing.
func (q *queue) Done(key types.NamespacedName) {
	q.mu.Lock()
	defer q.mu.Unlock()
	it, ok := q.items[key]
	if !ok || it.state != stateProcessing {
		return
	}
	if it.again && !it.gone {
		it.again, it.attempts, it.state = false, 0, stateActive
		q.pushActive(key)
		return
	}
	delete(q.items, key)
}

// Backoff reports a popped task failed (a bind or a write): it is tried
// again after its backoff.
func (q *queue) Backoff(key types.NamespacedName) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if it, ok := q.finish(key); ok {
		q.toBackoff(it)
	}
}

// Unschedulable reports a popped task no instance can take: it waits for
// Flush, or goes to backoff if a Flush came while it was processed.
func (q *queue) Unschedulable(key types.NamespacedName) {
	q.mu.Lock()
	defer q.mu.Unlock()
	it, ok := q.finish(key)
	if !ok {
		return
	}
	if it.poppedAt != q.flushes {
		q.toBackoff(it)
		return
	}
	it.attempts++
	it.state, it.since = stateUnschedulable, q.clock.Now()
}

// finish ends the processing of key; false if it is no longer queued.
func (q *queue) finish(key types.NamespacedName) (*queueItem, bool) {
	it, ok := q.items[key]
	if !ok || it.state != stateProcessing {
		return nil, false
	}
	if it.gone {
		delete(q.items, key)
		return nil, false
	}
	it.again = false
	return it, true
}

func (q *queue) toBackoff(it *queueItem) {
	it.attempts++
	it.state, it.readyAt = stateBackoff, q.clock.Now().Add(backoffFor(it.attempts))
	heap.Push(&q.backoff, it)
}

// backoffFor is the wait after the n-th failure in a row.
func backoffFor(n int) time.Duration {
	d := InitialBackoff
	for i := 1; i < n && d < MaxBackoff; i++ {
		d *= 2
	}
	return min(d, MaxBackoff)
}

// Flush moves the unschedulable tasks to backoff: something changed that
// may make them placeable. Each is tried once its backoff since its last
// attempt has passed.
func (q *queue) Flush() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.flushes++
	for _, it := range q.items {
		if it.state != stateUnschedulable {
			continue
		}
		it.state, it.readyAt = stateBackoff, it.since.Add(backoffFor(it.attempts))
		heap.Push(&q.backoff, it)
	}
	q.promote()
}

// Tick moves to active the backed-off tasks that are ready and the
// unschedulable ones that waited MaxUnschedulableWait.
func (q *queue) Tick() {
	q.mu.Lock()
	defer q.mu.Unlock()
	now := q.clock.Now()
	for key, it := range q.items {
		if it.state == stateUnschedulable && now.Sub(it.since) >= MaxUnschedulableWait {
			it.state = stateActive
			q.pushActive(key)
		}
	}
	q.promote()
}

// promote moves the ready backed-off tasks to active.
func (q *queue) promote() {
	now := q.clock.Now()
	for len(q.backoff) > 0 && !q.backoff[0].readyAt.After(now) {
		it := heap.Pop(&q.backoff).(*queueItem)
		it.state = stateActive
		q.pushActive(it.req.Key)
	}
}

// Close wakes Pop for good.
func (q *queue) Close() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.closed = true
	q.cond.Broadcast()
}

// Run ticks the queue every period until ctx ends, then closes it.
func (q *queue) Run(ctx context.Context, clk clock.WithTicker, period time.Duration) {
	t := clk.NewTicker(period)
	defer t.Stop()
	defer q.Close()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C():
			q.Tick()
		}
	}
}

// counts returns how many tasks are active, backed off, unschedulable
// and processing.
func (q *queue) counts() (active, backoff, unschedulable, processing int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, it := range q.items {
		switch it.state {
		case stateActive:
			active++
		case stateBackoff:
			backoff++
		case stateUnschedulable:
			unschedulable++
		case stateProcessing:
			processing++
		}
	}
	return
}

type backoffHeap []*queueItem

func (h backoffHeap) Len() int           { return len(h) }
func (h backoffHeap) Less(i, j int) bool { return h[i].readyAt.Before(h[j].readyAt) }
func (h backoffHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].heapIndex, h[j].heapIndex = i, j
}
func (h *backoffHeap) Push(x any) {
	it := x.(*queueItem)
	it.heapIndex = len(*h)
	*h = append(*h, it)
}
func (h *backoffHeap) Pop() any {
	old := *h
	it := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	it.heapIndex = -1
	return it
}
