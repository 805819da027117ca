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

package network

import (
	"context"
	"fmt"
	"maps"
	"net"
	"path"
	"slices"
	"sort"
	"sync"
	"syscall"
)

// FakeOp names a Network method in Fake's call record and failure table.
type FakeOp string

// The operations of Network.
const (
	FakeSetup    FakeOp = "Setup"
	FakeTeardown FakeOp = "Teardown"
	FakeList     FakeOp = "List"
	FakeGC       FakeOp = "GC"
)

// FakeCall is one call recorded by Fake.
type FakeCall struct {
	Op FakeOp
	// ID is the attachment of Setup and Teardown.
	ID string
	// Request is the argument of Setup.
	Request SetupRequest
	// Keep is the argument of GC.
	Keep map[string]bool
}

// Fake is an in-memory Network for the agent's unit tests. It records every
// call, hands out deterministic addresses (bridge 172.29.0.2, .3, …; awsvpc
// 10.222.3.2, .3, … in call order, never reused) and dynamic host ports
// (49153 upwards), checks host ports like the real implementation, and can
// be told to fail. The zero value is not usable: call NewFake.
type Fake struct {
	// NetNSDir prefixes the fake namespace paths. Default DefaultNetNSDir.
	NetNSDir string

	mu          sync.Mutex
	calls       []FakeCall
	attachments map[string]*Attachment
	ports       *portAllocator
	hostPorts   map[portKey]bool
	fail        map[FakeOp]error
	failOnce    map[FakeOp][]error
	failID      map[string]error
	nextBridge  int
	nextTask    int
}

var _ Network = (*Fake)(nil)

// NewFake returns an empty Fake.
func NewFake() *Fake {
	f := &Fake{
		NetNSDir:    DefaultNetNSDir,
		attachments: map[string]*Attachment{},
		hostPorts:   map[portKey]bool{},
		fail:        map[FakeOp]error{},
		failOnce:    map[FakeOp][]error{},
		failID:      map[string]error{},
	}
	f.ports = newPortAllocator(DefaultPortRangeMin, DefaultPortRangeMax, nil, f.probe)
	return f
}

// probe reports the ports marked with OccupyHostPort as taken; f.mu is held.
func (f *Fake) probe(proto, _ string, port int32) error {
	if f.hostPorts[portKey{proto: proto, port: port}] {
		return syscall.EADDRINUSE
	}
	return nil
}

// Fail makes every call of op return err until Fail(op, nil).
func (f *Fake) Fail(op FakeOp, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err == nil {
		delete(f.fail, op)
		return
	}
	f.fail[op] = err
}

// FailOnce makes the next call of op return err (queued: several FailOnce
// calls fail that many calls, in order).
func (f *Fake) FailOnce(op FakeOp, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failOnce[op] = append(f.failOnce[op], err)
}

// FailID makes Setup and Teardown of one attachment return err until
// FailID(id, nil).
func (f *Fake) FailID(id string, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err == nil {
		delete(f.failID, id)
		return
	}
	f.failID[id] = err
}

// OccupyHostPort pretends that a process on the host holds a port, so that
// a static mapping of it fails and no dynamic one picks it.
func (f *Fake) OccupyHostPort(protocol string, port int32) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.hostPorts[portKey{proto: protocol, port: port}] = true
}

// Calls returns a copy of the calls so far, in order.
func (f *Fake) Calls() []FakeCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

// Attachment returns the attachment with this ID, if set up.
func (f *Fake) Attachment(id string) (Attachment, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	a, ok := f.attachments[id]
	if !ok {
		return Attachment{}, false
	}
	return copyAttachment(a), true
}

// Add records an attachment as if it had been set up earlier (e.g. before
// an agent restart) without recording a call.
func (f *Fake) Add(a Attachment) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := copyAttachment(&a)
	f.attachments[a.ID] = &c
	var ps []portState
	for _, b := range a.Bindings {
		ps = append(ps, portState{HostPort: b.HostPort, ContainerPort: b.ContainerPort, Protocol: b.Protocol, HostIP: b.HostIP})
	}
	f.ports.hold(a.ID, ps)
}

// injected returns the configured failure of a call, consuming a
// FailOnce. f.mu is held.
func (f *Fake) injected(op FakeOp, id string) error {
	if q := f.failOnce[op]; len(q) > 0 {
		f.failOnce[op] = q[1:]
		return q[0]
	}
	if err := f.fail[op]; err != nil {
		return err
	}
	if id != "" && (op == FakeSetup || op == FakeTeardown) {
		return f.failID[id]
	}
	return nil
}

// NetNSPath implements Network.
func (f *Fake) NetNSPath(id string) string { return path.Join(f.NetNSDir, id) }

// Setup implements Network.
func (f *Fake) Setup(_ context.Context, req SetupRequest) (*Attachment, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, FakeCall{Op: FakeSetup, ID: req.ID, Request: copyRequest(req)})
	if err := f.injected(FakeSetup, req.ID); err != nil {
		return nil, err
	}
	if !idPattern.MatchString(req.ID) {
		return nil, fmt.Errorf("network attachment ID %q is invalid", req.ID)
	}
	if a, ok := f.attachments[req.ID]; ok {
		c := copyAttachment(a)
		return &c, nil
	}
	a := &Attachment{ID: req.ID, Mode: req.Mode, NetNSPath: f.NetNSPath(req.ID)}
	switch req.Mode {
	case ModeBridge:
		mappings, err := normalizeMappings(req.PortMappings)
		if err != nil {
			return nil, err
		}
		ports, err := f.ports.assign(req.ID, mappings)
		if err != nil {
			return nil, err
		}
		f.nextBridge++
		setFakeAddress(a, net.IPv4(172, 29, 0, 0), 16, f.nextBridge)
		st := attachmentState{Ports: ports}
		a.Bindings = st.attachment().Bindings
	case ModeAWSVPC:
		f.nextTask++
		setFakeAddress(a, net.IPv4(10, 222, 3, 0), 24, f.nextTask)
	case ModeNone:
	default:
		return nil, fmt.Errorf("network mode %q is not handled by CNI (bridge, awsvpc or none)", req.Mode)
	}
	f.attachments[req.ID] = a
	c := copyAttachment(a)
	return &c, nil
}

// setFakeAddress gives a the n-th address (n ≥ 1 → .n+1) of subnet.
func setFakeAddress(a *Attachment, subnet net.IP, ones, n int) {
	base := subnet.To4()
	v := uint32(base[0])<<24 | uint32(base[1])<<16 | uint32(base[2])<<8 | uint32(base[3])
	ip := v + uint32(n) + 1
	ipb := net.IPv4(byte(ip>>24), byte(ip>>16), byte(ip>>8), byte(ip)).To4()
	a.Interface = podInterface
	a.IPv4 = ipb.String()
	a.Subnet = (&net.IPNet{IP: base, Mask: net.CIDRMask(ones, 32)}).String()
	a.Gateway = net.IPv4(base[0], base[1], base[2], base[3]+1).String()
	a.MAC = fmt.Sprintf("02:42:%02x:%02x:%02x:%02x", ipb[0], ipb[1], ipb[2], ipb[3])
}

// Teardown implements Network.
func (f *Fake) Teardown(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, FakeCall{Op: FakeTeardown, ID: id})
	if err := f.injected(FakeTeardown, id); err != nil {
		return err
	}
	f.forget(id)
	return nil
}

func (f *Fake) forget(id string) {
	delete(f.attachments, id)
	f.ports.release(id)
}

// List implements Network.
func (f *Fake) List(_ context.Context) ([]Attachment, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, FakeCall{Op: FakeList})
	if err := f.injected(FakeList, ""); err != nil {
		return nil, err
	}
	ids := slices.Sorted(maps.Keys(f.attachments))
	out := make([]Attachment, 0, len(ids))
	for _, id := range ids {
		out = append(out, copyAttachment(f.attachments[id]))
	}
	return out, nil
}

// GC implements Network: it forgets every attachment not in keep (an
// attachment whose FailID is set stays, and GC returns that error).
func (f *Fake) GC(_ context.Context, keep map[string]bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, FakeCall{Op: FakeGC, Keep: maps.Clone(keep)})
	if err := f.injected(FakeGC, ""); err != nil {
		return err
	}
	ids := make([]string, 0, len(f.attachments))
	for id := range f.attachments {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	var firstErr error
	for _, id := range ids {
		if keep[id] {
			continue
		}
		if err := f.failID[id]; err != nil {
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		f.forget(id)
	}
	return firstErr
}

func copyAttachment(a *Attachment) Attachment {
	c := *a
	c.Bindings = slices.Clone(a.Bindings)
	return c
}

func copyRequest(r SetupRequest) SetupRequest {
	r.PortMappings = slices.Clone(r.PortMappings)
	r.Labels = maps.Clone(r.Labels)
	return r
}
