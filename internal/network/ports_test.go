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
	"net"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// fakeHost is a probe that reports the listed ports as held on the host.
func fakeHost(held ...portKey) probeFunc {
	m := map[portKey]bool{}
	for _, k := range held {
		m[k] = true
	}
	return func(proto, _ string, port int32) error {
		if m[portKey{proto, port}] {
			return syscall.EADDRINUSE
		}
		return nil
	}
}

func TestPortAllocatorAssign(t *testing.T) {
	tcp := func(p int32) portKey { return portKey{"tcp", p} }
	udp := func(p int32) portKey { return portKey{"udp", p} }
	type held struct {
		owner string
		ports []portState
	}
	cases := map[string]struct {
		min, max  int32
		reserved  []int32
		host      []portKey
		held      []held
		mappings  []PortMapping
		want      []portState
		wantErr   string
		wantIs    error
		wantInUse []portKey // after the call
	}{
		"static port is free": {
			mappings:  []PortMapping{{ContainerPort: 80, HostPort: 8080, Protocol: "tcp"}},
			want:      []portState{{ContainerPort: 80, HostPort: 8080, Protocol: "tcp"}},
			wantInUse: []portKey{tcp(8080)},
		},
		"static port held by another attachment": {
			held:      []held{{"other", []portState{{HostPort: 8080, Protocol: "tcp"}}}},
			mappings:  []PortMapping{{ContainerPort: 80, HostPort: 8080, Protocol: "tcp"}},
			wantErr:   "host port 8080/tcp is already in use by attachment other",
			wantIs:    ErrPortInUse,
			wantInUse: []portKey{tcp(8080)},
		},
		"static port bound on the host": {
			host:     []portKey{tcp(8080)},
			mappings: []PortMapping{{ContainerPort: 80, HostPort: 8080, Protocol: "tcp"}},
			wantErr:  "host port 8080/tcp is already in use on the host",
			wantIs:   ErrPortInUse,
		},
		"same port number, other protocol": {
			held:      []held{{"other", []portState{{HostPort: 53, Protocol: "udp"}}}},
			mappings:  []PortMapping{{ContainerPort: 53, HostPort: 53, Protocol: "tcp"}},
			want:      []portState{{ContainerPort: 53, HostPort: 53, Protocol: "tcp"}},
			wantInUse: []portKey{tcp(53), udp(53)},
		},
		"same port on two different host IPs": {
			held:      []held{{"other", []portState{{HostPort: 80, Protocol: "tcp", HostIP: "127.0.0.1"}}}},
			mappings:  []PortMapping{{ContainerPort: 80, HostPort: 80, Protocol: "tcp", HostIP: "127.0.0.2"}},
			want:      []portState{{ContainerPort: 80, HostPort: 80, Protocol: "tcp", HostIP: "127.0.0.2"}},
			wantInUse: []portKey{tcp(80)},
		},
		"specific host IP against a wildcard holder": {
			held:      []held{{"other", []portState{{HostPort: 80, Protocol: "tcp"}}}},
			mappings:  []PortMapping{{ContainerPort: 80, HostPort: 80, Protocol: "tcp", HostIP: "127.0.0.1"}},
			wantErr:   "host port 80/tcp is already in use by attachment other",
			wantIs:    ErrPortInUse,
			wantInUse: []portKey{tcp(80)},
		},
		"reserved static port": {
			reserved: []int32{22},
			mappings: []PortMapping{{ContainerPort: 22, HostPort: 22, Protocol: "tcp"}},
			wantErr:  "host port 22/tcp is reserved on this instance",
			wantIs:   ErrPortInUse,
		},
		"static port twice in one request": {
			mappings: []PortMapping{{ContainerPort: 80, HostPort: 8080, Protocol: "tcp"}, {ContainerPort: 81, HostPort: 8080, Protocol: "tcp"}},
			wantErr:  "host port 8080/tcp is mapped twice",
			wantIs:   ErrPortInUse,
		},
		"dynamic ports skip reserved, held, host-bound and this request's static ports": {
			min: 100, max: 110,
			reserved: []int32{100},
			host:     []portKey{tcp(101)},
			held:     []held{{"other", []portState{{HostPort: 102, Protocol: "tcp"}}}},
			mappings: []PortMapping{
				{ContainerPort: 80, Protocol: "tcp"},
				{ContainerPort: 81, HostPort: 103, Protocol: "tcp"},
				{ContainerPort: 82, Protocol: "tcp"},
				{ContainerPort: 53, Protocol: "udp"},
			},
			want: []portState{
				{ContainerPort: 80, HostPort: 104, Protocol: "tcp", Dynamic: true},
				{ContainerPort: 81, HostPort: 103, Protocol: "tcp"},
				{ContainerPort: 82, HostPort: 105, Protocol: "tcp", Dynamic: true},
				{ContainerPort: 53, HostPort: 101, Protocol: "udp", Dynamic: true}, // 100 reserved for both protocols; 101 is only bound for tcp
			},
			wantInUse: []portKey{tcp(102), tcp(103), tcp(104), tcp(105), udp(101)},
		},
		"range exhausted": {
			min: 100, max: 101,
			held:      []held{{"other", []portState{{HostPort: 100, Protocol: "tcp"}}}},
			host:      []portKey{tcp(101)},
			mappings:  []PortMapping{{ContainerPort: 80, Protocol: "tcp"}},
			wantErr:   "no free dynamic host port for tcp in range 100-101",
			wantIs:    ErrPortsExhausted,
			wantInUse: []portKey{tcp(100)},
		},
		"nothing held when a later mapping fails": {
			min: 100, max: 100,
			mappings: []PortMapping{{ContainerPort: 80, Protocol: "tcp"}, {ContainerPort: 81, Protocol: "tcp"}},
			wantErr:  "no free dynamic host port",
			wantIs:   ErrPortsExhausted,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if tc.min == 0 {
				tc.min, tc.max = 49153, 65535
			}
			a := newPortAllocator(tc.min, tc.max, tc.reserved, fakeHost(tc.host...))
			for _, h := range tc.held {
				a.hold(h.owner, h.ports)
			}
			got, err := a.assign("me", tc.mappings)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error = %v, want it to contain %q", err, tc.wantErr)
				}
				if tc.wantIs != nil && !errors.Is(err, tc.wantIs) {
					t.Errorf("errors.Is(%v, %v) = false", err, tc.wantIs)
				}
			} else if err != nil {
				t.Fatalf("assign: %v", err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("ports (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantInUse, a.inUse(), cmp.AllowUnexported(portKey{}), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("ports in use (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPortAllocatorRotatesAndReleases(t *testing.T) {
	a := newPortAllocator(100, 102, nil, nil)
	var got []int32
	for _, id := range []string{"a", "b", "c"} {
		ps, err := a.assign(id, []PortMapping{{ContainerPort: 80, Protocol: "tcp"}})
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, ps[0].HostPort)
	}
	if _, err := a.assign("d", []PortMapping{{ContainerPort: 80, Protocol: "tcp"}}); !errors.Is(err, ErrPortsExhausted) {
		t.Fatalf("fourth assignment: err = %v, want ErrPortsExhausted", err)
	}
	a.release("b")
	ps, err := a.assign("d", []PortMapping{{ContainerPort: 80, Protocol: "tcp"}})
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, ps[0].HostPort)
	a.release("a")
	a.release("c")
	// After 101 was handed out again, the search continues at 102 (free
	// now), not at the lowest free port.
	ps, err = a.assign("e", []PortMapping{{ContainerPort: 80, Protocol: "tcp"}})
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, ps[0].HostPort)
	if diff := cmp.Diff([]int32{100, 101, 102, 101, 102}, got); diff != "" {
		t.Errorf("ports (-want +got):\n%s", diff)
	}
}

func TestNormalizeMappings(t *testing.T) {
	cases := map[string]struct {
		in      []PortMapping
		want    []PortMapping
		wantErr string
	}{
		"defaults to tcp, lower-cases": {
			in:   []PortMapping{{ContainerPort: 80}, {ContainerPort: 53, Protocol: "UDP"}},
			want: []PortMapping{{ContainerPort: 80, Protocol: "tcp"}, {ContainerPort: 53, Protocol: "udp"}},
		},
		"sctp":              {in: []PortMapping{{ContainerPort: 80, Protocol: "sctp"}}, wantErr: `unsupported port mapping protocol "sctp"`},
		"no container port": {in: []PortMapping{{HostPort: 80}}, wantErr: "container port 0 is out of range"},
		"host port too big": {in: []PortMapping{{ContainerPort: 80, HostPort: 70000}}, wantErr: "host port 70000 is out of range"},
		"bad host IP":       {in: []PortMapping{{ContainerPort: 80, HostIP: "localhost"}}, wantErr: `host IP "localhost"`},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := normalizeMappings(tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestProbeHostPort(t *testing.T) {
	for _, proto := range []string{"tcp", "udp"} {
		t.Run(proto, func(t *testing.T) {
			var port int32
			var closeIt func() error
			if proto == "tcp" {
				l, err := net.Listen("tcp4", "0.0.0.0:0")
				if err != nil {
					t.Fatal(err)
				}
				port, closeIt = int32(l.Addr().(*net.TCPAddr).Port), l.Close
			} else {
				c, err := net.ListenPacket("udp4", "0.0.0.0:0")
				if err != nil {
					t.Fatal(err)
				}
				port, closeIt = int32(c.LocalAddr().(*net.UDPAddr).Port), c.Close
			}
			if err := probeHostPort(proto, "", port); !errors.Is(err, syscall.EADDRINUSE) {
				t.Errorf("probe of a bound port: err = %v, want EADDRINUSE", err)
			}
			if err := closeIt(); err != nil {
				t.Fatal(err)
			}
			if err := probeHostPort(proto, "127.0.0.1", port); err != nil {
				t.Errorf("probe of a released port: %v", err)
			}
		})
	}
}
