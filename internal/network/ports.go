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
	"errors"
	"fmt"
	"net"
	"sort"
	"strings"
	"syscall"
)

// ErrPortInUse is wrapped by Setup errors for a static host port that
// another attachment or a process on the host already holds.
var ErrPortInUse = errors.New("host port already in use")

// ErrPortsExhausted is wrapped by Setup errors when no dynamic host port is
// left in the configured range.
var ErrPortsExhausted = errors.New("no free dynamic host port")

// portError is an error about one host port whose message a user can act
// on ("host port 8080/tcp is already in use") and which matches a sentinel
// with errors.Is.
type portError struct {
	msg  string
	kind error
}

func (e *portError) Error() string        { return e.msg }
func (e *portError) Is(target error) bool { return target == e.kind }

// portKey is a host port of one protocol.
type portKey struct {
	proto string
	port  int32
}

func (k portKey) String() string { return fmt.Sprintf("%d/%s", k.port, k.proto) }

// portUse is one holder of a host port.
type portUse struct {
	owner  string // attachment ID
	hostIP string // "" means every address
}

// probeFunc tells whether a host port can be bound right now. It returns
// nil when it can, an error wrapping syscall.EADDRINUSE when something holds
// it, or another error.
type probeFunc func(proto, hostIP string, port int32) error

// portAllocator hands out dynamic host ports and checks static ones. TCP
// and UDP are counted separately. It is not safe for concurrent use: the
// CNI implementation calls it under its lock.
type portAllocator struct {
	min, max int32
	reserved map[int32]bool
	used     map[portKey][]portUse
	next     map[string]int32 // per protocol: where the next dynamic search starts
	probe    probeFunc
}

// newPortAllocator returns an allocator for dynamic ports in [minPort, maxPort]
// that never hands out (nor accepts statically) the reserved ports. probe may
// be nil to skip checking the host.
func newPortAllocator(minPort, maxPort int32, reserved []int32, probe probeFunc) *portAllocator {
	a := &portAllocator{
		min:      minPort,
		max:      maxPort,
		reserved: map[int32]bool{},
		used:     map[portKey][]portUse{},
		next:     map[string]int32{},
		probe:    probe,
	}
	for _, p := range reserved {
		a.reserved[p] = true
	}
	return a
}

// normalizeProtocol maps "" to "tcp" and lower-cases; it rejects anything
// but tcp and udp.
func normalizeProtocol(p string) (string, error) {
	switch strings.ToLower(p) {
	case "", "tcp":
		return "tcp", nil
	case "udp":
		return "udp", nil
	default:
		return "", fmt.Errorf("unsupported port mapping protocol %q: use tcp or udp", p)
	}
}

// hostIPsOverlap tells whether two bindings of the same port would clash:
// they do unless both name different specific addresses.
func hostIPsOverlap(a, b string) bool {
	if isWildcard(a) || isWildcard(b) {
		return true
	}
	return net.ParseIP(a).Equal(net.ParseIP(b))
}

func isWildcard(ip string) bool {
	if ip == "" {
		return true
	}
	p := net.ParseIP(ip)
	return p != nil && p.IsUnspecified()
}

// conflict returns the holder that clashes with a binding of k on hostIP,
// if any.
func (a *portAllocator) conflict(k portKey, hostIP string) (portUse, bool) {
	for _, u := range a.used[k] {
		if hostIPsOverlap(u.hostIP, hostIP) {
			return u, true
		}
	}
	return portUse{}, false
}

// hold records ports as used by owner (state loaded at start, or a
// successful assignment).
func (a *portAllocator) hold(owner string, ports []portState) {
	for _, p := range ports {
		k := portKey{proto: p.Protocol, port: p.HostPort}
		a.used[k] = append(a.used[k], portUse{owner: owner, hostIP: p.HostIP})
	}
}

// release forgets every port held by owner.
func (a *portAllocator) release(owner string) {
	for k, uses := range a.used {
		kept := uses[:0]
		for _, u := range uses {
			if u.owner != owner {
				kept = append(kept, u)
			}
		}
		if len(kept) == 0 {
			delete(a.used, k)
		} else {
			a.used[k] = kept
		}
	}
}

// inUse returns the held ports, sorted, for tests and diagnostics.
func (a *portAllocator) inUse() []portKey {
	keys := make([]portKey, 0, len(a.used))
	for k := range a.used {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].proto != keys[j].proto {
			return keys[i].proto < keys[j].proto
		}
		return keys[i].port < keys[j].port
	})
	return keys
}

// assign checks the static host ports of mappings and chooses dynamic ones
// for HostPort 0, then holds all of them for owner. Mappings must be
// normalized (see normalizeMappings). Nothing is held when it fails.
func (a *portAllocator) assign(owner string, mappings []PortMapping) ([]portState, error) {
	out := make([]portState, 0, len(mappings))
	// Static ports first so that a dynamic choice never takes a port that a
	// later static mapping of the same request asks for.
	taken := map[portKey][]string{} // chosen in this request → host IPs
	clashInRequest := func(k portKey, hostIP string) bool {
		for _, ip := range taken[k] {
			if hostIPsOverlap(ip, hostIP) {
				return true
			}
		}
		return false
	}
	for _, m := range mappings {
		if m.HostPort == 0 {
			continue
		}
		k := portKey{proto: m.Protocol, port: m.HostPort}
		if a.reserved[m.HostPort] {
			return nil, &portError{msg: fmt.Sprintf("host port %s is reserved on this instance", k), kind: ErrPortInUse}
		}
		if clashInRequest(k, m.HostIP) {
			return nil, &portError{msg: fmt.Sprintf("host port %s is mapped twice", k), kind: ErrPortInUse}
		}
		if u, ok := a.conflict(k, m.HostIP); ok {
			return nil, &portError{msg: fmt.Sprintf("host port %s is already in use by attachment %s", k, u.owner), kind: ErrPortInUse}
		}
		if a.probe != nil {
			if err := a.probe(m.Protocol, m.HostIP, m.HostPort); err != nil {
				if errors.Is(err, syscall.EADDRINUSE) {
					return nil, &portError{msg: fmt.Sprintf("host port %s is already in use on the host", k), kind: ErrPortInUse}
				}
				return nil, fmt.Errorf("host port %s cannot be bound: %w", k, err)
			}
		}
		taken[k] = append(taken[k], m.HostIP)
	}
	next := map[string]int32{}
	for proto, n := range a.next {
		next[proto] = n
	}
	for _, m := range mappings {
		ps := portState{ContainerPort: m.ContainerPort, HostPort: m.HostPort, Protocol: m.Protocol, HostIP: m.HostIP}
		if m.HostPort == 0 {
			port, err := a.pick(m.Protocol, m.HostIP, next, clashInRequest)
			if err != nil {
				return nil, err
			}
			ps.HostPort = port
			ps.Dynamic = true
			k := portKey{proto: m.Protocol, port: port}
			taken[k] = append(taken[k], m.HostIP)
		}
		out = append(out, ps)
	}
	a.next = next
	a.hold(owner, out)
	return out, nil
}

// pick chooses a dynamic port for proto, starting after the last one handed
// out (so a port just released is not reused at once) and wrapping around.
func (a *portAllocator) pick(proto, hostIP string, next map[string]int32, clashInRequest func(portKey, string) bool) (int32, error) {
	size := a.max - a.min + 1
	start := next[proto]
	if start < a.min || start > a.max {
		start = a.min
	}
	for i := int32(0); i < size; i++ {
		port := a.min + (start-a.min+i)%size
		k := portKey{proto: proto, port: port}
		if a.reserved[port] || clashInRequest(k, hostIP) {
			continue
		}
		if _, ok := a.conflict(k, hostIP); ok {
			continue
		}
		if a.probe != nil && a.probe(proto, hostIP, port) != nil {
			continue
		}
		n := port + 1
		if n > a.max {
			n = a.min
		}
		next[proto] = n
		return port, nil
	}
	return 0, &portError{
		msg:  fmt.Sprintf("no free dynamic host port for %s in range %d-%d", proto, a.min, a.max),
		kind: ErrPortsExhausted,
	}
}

// probeHostPort binds proto on hostIP:port (all IPv4 addresses when hostIP
// is empty) and closes it again at once.
func probeHostPort(proto, hostIP string, port int32) error {
	family := "4"
	if hostIP == "" {
		hostIP = "0.0.0.0"
	} else if ip := net.ParseIP(hostIP); ip != nil && ip.To4() == nil {
		family = "6"
	}
	addr := net.JoinHostPort(hostIP, fmt.Sprint(port))
	switch proto {
	case "udp":
		c, err := net.ListenPacket("udp"+family, addr)
		if err != nil {
			return err
		}
		return c.Close()
	default:
		l, err := net.Listen("tcp"+family, addr)
		if err != nil {
			return err
		}
		return l.Close()
	}
}

// normalizeMappings validates port mappings and fills defaults (protocol tcp).
func normalizeMappings(in []PortMapping) ([]PortMapping, error) {
	out := make([]PortMapping, 0, len(in))
	for _, m := range in {
		proto, err := normalizeProtocol(m.Protocol)
		if err != nil {
			return nil, err
		}
		if m.ContainerPort < 1 || m.ContainerPort > 65535 {
			return nil, fmt.Errorf("container port %d is out of range 1-65535", m.ContainerPort)
		}
		if m.HostPort < 0 || m.HostPort > 65535 {
			return nil, fmt.Errorf("host port %d is out of range 1-65535", m.HostPort)
		}
		if m.HostIP != "" && net.ParseIP(m.HostIP) == nil {
			return nil, fmt.Errorf("host IP %q of port mapping %d/%s is not an IP address", m.HostIP, m.ContainerPort, proto)
		}
		m.Protocol = proto
		out = append(out, m)
	}
	return out, nil
}
