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
	"errors"
	"testing"

	ecsv1 "github.com/longshore-io/longshore/api/v1alpha1"
)

// oneTaskInstance is an instance with room for exactly one task of
// oneTask.
func oneTaskInstance(name string) *Instance {
	return &Instance{Name: name, Connected: true, Registered: ecsv1.Resources{CPU: 1024, Memory: 1024}}
}

var oneTask = Task{Namespace: "ns", Group: "family:web", Requirements: Requirements{CPU: 1024, Memory: 512}}

func placeIn(c *cache, name string) (Placement, error) {
	return c.place("c", key(name), oneTask, func(s *Snapshot, t Task) (Placement, error) { return s.Place(t, nil) })
}

func wantUnplaceable(t *testing.T, err error) {
	t.Helper()
	var u *Unplaceable
	if !errors.As(err, &u) {
		t.Fatalf("got %v, want an *Unplaceable", err)
	}
}

func TestCacheAssumedPlacementIsSeenByTheNext(t *testing.T) {
	c := newCache()
	c.setInstance("i-1", "c", oneTaskInstance("i-1"))
	if p, err := placeIn(c, "a"); err != nil || p.Instance != "i-1" {
		t.Fatalf("first placement: %v, %v", p, err)
	}
	_, err := placeIn(c, "b")
	wantUnplaceable(t, err)
	if c.rebuilds != 1 {
		t.Errorf("snapshot rebuilt %d times, want once: an assumed placement updates it in place", c.rebuilds)
	}
}

func TestCacheForgetReleasesCapacity(t *testing.T) {
	c := newCache()
	c.setInstance("i-1", "c", oneTaskInstance("i-1"))
	if _, err := placeIn(c, "a"); err != nil {
		t.Fatal(err)
	}
	// The informer shows the task still unbound while its bind is in
	// flight: the assumption holds.
	if freed := c.setTask(key("a"), "c", nil, false); freed {
		t.Error("an unbound view of a task being bound freed its capacity")
	}
	_, err := placeIn(c, "b")
	wantUnplaceable(t, err)
	if !c.forget(key("a")) {
		t.Fatal("forget found no assumed placement")
	}
	if c.forget(key("a")) {
		t.Error("a second forget found one")
	}
	if _, err := placeIn(c, "b"); err != nil {
		t.Errorf("after the failed bind is forgotten: %v", err)
	}
}

func TestCacheConfirmKeepsTheSnapshot(t *testing.T) {
	c := newCache()
	c.setInstance("i-1", "c", oneTaskInstance("i-1"))
	c.setInstance("i-2", "c", oneTaskInstance("i-2"))
	p, err := placeIn(c, "a")
	if err != nil {
		t.Fatal(err)
	}
	// The informer shows the bind, with what was assumed.
	if freed := c.setTask(key("a"), "c", &binding{instance: p.Instance, group: oneTask.Group, req: oneTask.Requirements}, false); freed {
		t.Error("confirming the assumed bind freed capacity")
	}
	if c.forget(key("a")) {
		t.Error("a confirmed bind can still be forgotten")
	}
	if _, err := placeIn(c, "b"); err != nil {
		t.Fatal(err)
	}
	_, err = placeIn(c, "c")
	wantUnplaceable(t, err)
	if c.rebuilds != 1 {
		t.Errorf("snapshot rebuilt %d times, want once", c.rebuilds)
	}
	// Stopped: its capacity is free again.
	if freed := c.setTask(key("a"), "c", nil, true); !freed {
		t.Error("a task that stopped freed nothing")
	}
	if p2, err := placeIn(c, "c"); err != nil || p2.Instance != p.Instance {
		t.Errorf("after the stop: %v, %v; want %s", p2, err, p.Instance)
	}
}

func TestCacheTaskBoundElsewhere(t *testing.T) {
	c := newCache()
	c.setInstance("i-1", "c", oneTaskInstance("i-1"))
	c.setInstance("i-2", "c", oneTaskInstance("i-2"))
	p, err := placeIn(c, "a")
	if err != nil {
		t.Fatal(err)
	}
	other := "i-1"
	if p.Instance == "i-1" {
		other = "i-2"
	}
	// Someone else bound it first, elsewhere: the informer wins.
	c.setTask(key("a"), "c", &binding{instance: other, group: oneTask.Group, req: oneTask.Requirements}, false)
	if cpu, _, n := c.usage("c", p.Instance); cpu != 0 || n != 0 {
		t.Errorf("%s still accounts %d CPU units of %d tasks", p.Instance, cpu, n)
	}
	if cpu, _, n := c.usage("c", other); cpu != 1024 || n != 1 {
		t.Errorf("%s accounts %d CPU units of %d tasks, want 1024 of 1", other, cpu, n)
	}
}

func TestCacheInstanceChanges(t *testing.T) {
	c := newCache()
	if !c.setInstance("i-1", "c", oneTaskInstance("i-1")) {
		t.Error("a new instance is no change")
	}
	if c.setInstance("i-1", "c", oneTaskInstance("i-1")) {
		t.Error("the same instance again is a change")
	}
	disconnected := oneTaskInstance("i-1")
	disconnected.Connected = false
	if !c.setInstance("i-1", "c", disconnected) {
		t.Error("a disconnected agent is no change")
	}
	_, err := placeIn(c, "a")
	wantUnplaceable(t, err)
	if !c.setInstance("i-1", "c", oneTaskInstance("i-1")) {
		t.Error("a reconnected agent is no change")
	}
	if _, err := placeIn(c, "a"); err != nil {
		t.Errorf("after the agent reconnected: %v", err)
	}
	if !c.setInstance("i-1", "c", nil) {
		t.Error("a deleted instance is no change")
	}
	if c.setInstance("i-1", "c", nil) {
		t.Error("deleting it twice is a change")
	}
}

func TestCachePolicy(t *testing.T) {
	c := newCache()
	c.setInstance("i-1", "c", oneTaskInstance("i-1"))
	priv := oneTask
	priv.Requirements.Privileged = true
	pl := func() error {
		_, err := c.place("c", key("p"), priv, func(s *Snapshot, t Task) (Placement, error) { return s.Place(t, nil) })
		return err
	}
	wantUnplaceable(t, pl())
	if !c.setPolicy("c", Policy{Security: ecsv1.ClusterSecurity{AllowPrivileged: true}}) {
		t.Fatal("a policy change is no change")
	}
	if c.setPolicy("c", Policy{Security: ecsv1.ClusterSecurity{AllowPrivileged: true}}) {
		t.Error("the same policy again is a change")
	}
	if err := pl(); err != nil {
		t.Errorf("after the policy allows it: %v", err)
	}
}
