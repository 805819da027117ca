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
	"math/rand/v2"
	"testing"

	"github.com/google/go-cmp/cmp"

	ecsv1 "github.com/longshore-io/longshore/api/v1alpha1"
)

// instanceBuilder builds test instances: ACTIVE, connected, 4096 CPU
// units and 4096 MiB unless told otherwise.
type instanceBuilder struct{ in *Instance }

func mkInstance(name string) instanceBuilder {
	return instanceBuilder{&Instance{Name: name, State: ecsv1.ContainerInstanceActive, Connected: true,
		Attributes: map[string]string{}, Registered: ecsv1.Resources{CPU: 4096, Memory: 4096}}}
}

func (b instanceBuilder) cpu(total, used int64) instanceBuilder {
	b.in.Registered.CPU, b.in.UsedCPU = total, used
	return b
}

func (b instanceBuilder) mem(total, used int64) instanceBuilder {
	b.in.Registered.Memory, b.in.UsedMemory = total, used
	return b
}

func (b instanceBuilder) attr(k, v string) instanceBuilder {
	b.in.Attributes[k] = v
	return b
}

func (b instanceBuilder) az(zone string) instanceBuilder {
	return b.attr("ecs.availability-zone", zone)
}

func (b instanceBuilder) draining() instanceBuilder {
	b.in.State = ecsv1.ContainerInstanceDraining
	return b
}

func (b instanceBuilder) disconnected() instanceBuilder {
	b.in.Connected = false
	return b
}

func (b instanceBuilder) reserved(tcp ...int32) instanceBuilder {
	b.in.Registered.Ports = append(b.in.Registered.Ports, tcp...)
	return b
}

func (b instanceBuilder) usedTCP(ports ...int32) instanceBuilder {
	if b.in.UsedTCP == nil {
		b.in.UsedTCP = map[int32]bool{}
	}
	for _, p := range ports {
		b.in.UsedTCP[p] = true
	}
	return b
}

func (b instanceBuilder) usedUDP(ports ...int32) instanceBuilder {
	if b.in.UsedUDP == nil {
		b.in.UsedUDP = map[int32]bool{}
	}
	for _, p := range ports {
		b.in.UsedUDP[p] = true
	}
	return b
}

func (b instanceBuilder) dynamicRange(lo, hi int32) instanceBuilder {
	b.in.DynamicPortRange = PortRange{Min: lo, Max: hi}
	return b
}

// tasks records n non-stopped tasks of group (without resources).
func (b instanceBuilder) tasks(group string, n int) instanceBuilder {
	if b.in.Groups == nil {
		b.in.Groups = map[string]int{}
	}
	b.in.Groups[group] += n
	b.in.RunningTasks += n
	return b
}

func (b instanceBuilder) obj() *Instance { return b.in }

func instances(bs ...instanceBuilder) []*Instance {
	out := make([]*Instance, len(bs))
	for i, b := range bs {
		out[i] = b.obj()
	}
	return out
}

const prefix = "was unable to place a task because no container instance met all of its requirements. "

func memberOf(expr string) ecsv1.PlacementConstraint {
	return ecsv1.PlacementConstraint{Type: ecsv1.PlacementConstraintMemberOf, Expression: expr}
}

var distinct = ecsv1.PlacementConstraint{Type: ecsv1.PlacementConstraintDistinctInstance}

func spread(field string) ecsv1.PlacementStrategy {
	return ecsv1.PlacementStrategy{Type: ecsv1.PlacementStrategySpread, Field: field}
}

func binpack(field string) ecsv1.PlacementStrategy {
	return ecsv1.PlacementStrategy{Type: ecsv1.PlacementStrategyBinpack, Field: field}
}

var random = ecsv1.PlacementStrategy{Type: ecsv1.PlacementStrategyRandom}

// TestPlaceEligibility covers each eligibility rule, with the placement
// it allows or the ECS-worded reason it refuses.
func TestPlaceEligibility(t *testing.T) {
	small := Requirements{CPU: 256, Memory: 512}
	cases := map[string]struct {
		policy    Policy
		instances []*Instance
		task      Task
		want      string // instance, when placed
		wantErr   *Unplaceable
	}{
		"fits": {
			instances: instances(mkInstance("i-a")),
			task:      Task{Requirements: small},
			want:      "i-a",
		},
		"empty state counts as ACTIVE": {
			instances: []*Instance{{Name: "i-a", Connected: true, Registered: ecsv1.Resources{CPU: 1024, Memory: 1024}}},
			task:      Task{Requirements: small},
			want:      "i-a",
		},
		"no instances": {
			task: Task{Requirements: small},
			wantErr: &Unplaceable{Causes: []Cause{CauseNoInstances},
				Reason: "was unable to place a task because no container instances are registered in the cluster."},
		},
		"privileged forbidden": {
			instances: instances(mkInstance("i-a")),
			task:      Task{Requirements: Requirements{Privileged: true}},
			wantErr: &Unplaceable{Causes: []Cause{CausePolicy},
				Reason: prefix + "Reason: Cluster security forbids privileged containers (security.allowPrivileged is false)."},
		},
		"host pid forbidden": {
			policy:    Policy{Security: ecsv1.ClusterSecurity{AllowHostNetwork: true}},
			instances: instances(mkInstance("i-a")),
			task:      Task{Requirements: Requirements{HostPID: true}},
			wantErr: &Unplaceable{Causes: []Cause{CausePolicy},
				Reason: prefix + "Reason: Cluster security forbids pidMode and ipcMode host, which share the host's processes (security.allowPrivileged is false)."},
		},
		"host ipc allowed when privileged is": {
			policy:    Policy{Security: ecsv1.ClusterSecurity{AllowPrivileged: true}},
			instances: instances(mkInstance("i-a")),
			task:      Task{Requirements: Requirements{HostIPC: true}},
			want:      "i-a",
		},
		"privileged allowed": {
			policy:    Policy{Security: ecsv1.ClusterSecurity{AllowPrivileged: true}},
			instances: instances(mkInstance("i-a")),
			task:      Task{Requirements: Requirements{Privileged: true}},
			want:      "i-a",
		},
		"host network forbidden": {
			policy:    Policy{Security: ecsv1.ClusterSecurity{AllowPrivileged: true}},
			instances: instances(mkInstance("i-a")),
			task:      Task{Requirements: Requirements{HostNetwork: true}},
			wantErr: &Unplaceable{Causes: []Cause{CausePolicy},
				Reason: prefix + "Reason: Cluster security forbids networkMode host (security.allowHostNetwork is false)."},
		},
		"host network allowed": {
			policy:    Policy{Security: ecsv1.ClusterSecurity{AllowHostNetwork: true}},
			instances: instances(mkInstance("i-a")),
			task:      Task{Requirements: Requirements{HostNetwork: true, TCPPorts: []int32{80}}},
			want:      "i-a",
		},
		"capability forbidden": {
			policy:    Policy{Security: ecsv1.ClusterSecurity{AllowedCapabilities: []ecsv1.Capability{"NET_ADMIN"}}},
			instances: instances(mkInstance("i-a")),
			task:      Task{Requirements: Requirements{Capabilities: []string{"NET_ADMIN", "SYS_ADMIN"}}},
			wantErr: &Unplaceable{Causes: []Cause{CausePolicy},
				Reason: prefix + "Reason: Cluster security forbids adding capability SYS_ADMIN (not in security.allowedCapabilities)."},
		},
		"capabilities allowed, spelled differently": {
			policy:    Policy{Security: ecsv1.ClusterSecurity{AllowedCapabilities: []ecsv1.Capability{"CAP_NET_ADMIN", "sys_admin"}}},
			instances: instances(mkInstance("i-a")),
			task:      Task{Requirements: Requirements{Capabilities: []string{"NET_ADMIN", "SYS_ADMIN"}}},
			want:      "i-a",
		},
		"ALL allows every capability": {
			policy:    Policy{Security: ecsv1.ClusterSecurity{AllowedCapabilities: []ecsv1.Capability{"ALL"}}},
			instances: instances(mkInstance("i-a")),
			task:      Task{Requirements: Requirements{Capabilities: []string{"SYS_ADMIN"}}},
			want:      "i-a",
		},
		"host path volumes forbidden": {
			instances: instances(mkInstance("i-a")),
			task:      Task{Requirements: Requirements{HostPathVolumes: true}},
			wantErr: &Unplaceable{Causes: []Cause{CausePolicy},
				Reason: prefix + "Reason: Cluster security forbids host path volumes (security.allowHostPathVolumes is false)."},
		},
		"host path volumes allowed": {
			policy:    Policy{Security: ecsv1.ClusterSecurity{AllowHostPathVolumes: true}},
			instances: instances(mkInstance("i-a")),
			task:      Task{Requirements: Requirements{HostPathVolumes: true}},
			want:      "i-a",
		},
		"host device forbidden": {
			policy:    Policy{Security: ecsv1.ClusterSecurity{AllowedDevices: []string{"/dev/fuse"}}},
			instances: instances(mkInstance("i-a")),
			task:      Task{Requirements: Requirements{Devices: []string{"/dev/fuse", "/dev/kvm"}}},
			wantErr: &Unplaceable{Causes: []Cause{CausePolicy},
				Reason: prefix + "Reason: Cluster security forbids the host device /dev/kvm (not in security.allowedDevices)."},
		},
		"host devices allowed": {
			policy:    Policy{Security: ecsv1.ClusterSecurity{AllowedDevices: []string{"/dev/fuse", "/dev/kvm"}}},
			instances: instances(mkInstance("i-a")),
			task:      Task{Requirements: Requirements{Devices: []string{"/dev/fuse", "/dev/kvm"}}},
			want:      "i-a",
		},
		"namespace not allowed": {
			policy:    Policy{Namespaces: []string{"prod", "staging"}},
			instances: instances(mkInstance("i-a")),
			task:      Task{Namespace: "dev", Requirements: small},
			wantErr: &Unplaceable{Causes: []Cause{CauseNamespace},
				Reason: prefix + `Reason: the cluster does not allow tasks of namespace "dev" (spec.namespaces: prod, staging).`},
		},
		"namespace allowed": {
			policy:    Policy{Namespaces: []string{"prod", "staging"}},
			instances: instances(mkInstance("i-a")),
			task:      Task{Namespace: "staging", Requirements: small},
			want:      "i-a",
		},
		"policy is checked before there are instances": {
			task: Task{Requirements: Requirements{Privileged: true}},
			wantErr: &Unplaceable{Causes: []Cause{CausePolicy},
				Reason: prefix + "Reason: Cluster security forbids privileged containers (security.allowPrivileged is false)."},
		},
		"draining": {
			instances: instances(mkInstance("i-a").draining()),
			task:      Task{Requirements: small},
			wantErr: &Unplaceable{Instance: "i-a", Causes: []Cause{CauseDraining},
				Reason: prefix + "The closest matching container instance i-a is DRAINING."},
		},
		"agent disconnected": {
			instances: instances(mkInstance("i-a").disconnected()),
			task:      Task{Requirements: small},
			wantErr: &Unplaceable{Instance: "i-a", Causes: []Cause{CauseDisconnected},
				Reason: prefix + "The closest matching container instance i-a has its agent disconnected."},
		},
		"draining instances are skipped": {
			instances: instances(mkInstance("i-a").draining(), mkInstance("i-b").disconnected(), mkInstance("i-c")),
			task:      Task{Requirements: small},
			want:      "i-c",
		},
		"insufficient memory": {
			instances: instances(mkInstance("i-a").mem(1024, 768)),
			task:      Task{Requirements: small},
			wantErr: &Unplaceable{Instance: "i-a", Causes: []Cause{CauseMemory},
				Reason: prefix + "The closest matching container instance i-a has insufficient memory available (needs 512 MiB, has 256 MiB)."},
		},
		"memory exactly enough": {
			instances: instances(mkInstance("i-a").mem(1024, 512)),
			task:      Task{Requirements: small},
			want:      "i-a",
		},
		"insufficient cpu": {
			instances: instances(mkInstance("i-a").cpu(1024, 1000)),
			task:      Task{Requirements: small},
			wantErr: &Unplaceable{Instance: "i-a", Causes: []Cause{CauseCPU},
				Reason: prefix + "The closest matching container instance i-a has insufficient CPU units available (needs 256, has 24)."},
		},
		"over-committed instance reports 0 left": {
			instances: instances(mkInstance("i-a").cpu(1024, 2048)),
			task:      Task{Requirements: small},
			wantErr: &Unplaceable{Instance: "i-a", Causes: []Cause{CauseCPU},
				Reason: prefix + "The closest matching container instance i-a has insufficient CPU units available (needs 256, has 0)."},
		},
		"static port used by a task": {
			instances: instances(mkInstance("i-a").usedTCP(8080)),
			task:      Task{Requirements: Requirements{TCPPorts: []int32{8080}}},
			wantErr: &Unplaceable{Instance: "i-a", Causes: []Cause{CausePort},
				Reason: prefix + "The closest matching container instance i-a has port 8080/tcp already in use."},
		},
		"static port reserved": {
			instances: instances(mkInstance("i-a").reserved(22, 8080)),
			task:      Task{Requirements: Requirements{TCPPorts: []int32{22, 80}}},
			wantErr: &Unplaceable{Instance: "i-a", Causes: []Cause{CausePort},
				Reason: prefix + "The closest matching container instance i-a has port 22/tcp (reserved) already in use."},
		},
		"several ports": {
			instances: instances(mkInstance("i-a").reserved(22).usedUDP(53)),
			task:      Task{Requirements: Requirements{TCPPorts: []int32{22}, UDPPorts: []int32{53}}},
			wantErr: &Unplaceable{Instance: "i-a", Causes: []Cause{CausePort},
				Reason: prefix + "The closest matching container instance i-a has ports 22/tcp (reserved), 53/udp already in use."},
		},
		"udp and tcp ports are separate": {
			instances: instances(mkInstance("i-a").usedTCP(53).usedUDP(8080)),
			task:      Task{Requirements: Requirements{TCPPorts: []int32{8080}, UDPPorts: []int32{53}}},
			want:      "i-a",
		},
		"port free elsewhere": {
			instances: instances(mkInstance("i-a").usedTCP(8080), mkInstance("i-b")),
			task:      Task{Requirements: Requirements{TCPPorts: []int32{8080}}},
			want:      "i-b",
		},
		"not enough dynamic ports": {
			// 3 ports in range: 50001 reserved, 50002 used by a static mapping.
			instances: instances(mkInstance("i-a").dynamicRange(50000, 50002).reserved(50001).usedTCP(50002, 80)),
			task:      Task{Requirements: Requirements{DynamicPorts: 2}},
			wantErr: &Unplaceable{Instance: "i-a", Causes: []Cause{CauseDynamicPorts},
				Reason: prefix + "The closest matching container instance i-a has not enough dynamic host ports available (needs 2, has 1 free in 50000-50002)."},
		},
		"dynamic ports just enough": {
			instances: instances(mkInstance("i-a").dynamicRange(50000, 50002).reserved(50001)),
			task:      Task{Requirements: Requirements{DynamicPorts: 2}},
			want:      "i-a",
		},
		"dynamic ports held by tasks": {
			instances: []*Instance{func() *Instance {
				in := mkInstance("i-a").dynamicRange(50000, 50002).obj()
				in.UsedDynamicPorts = 2
				return in
			}()},
			task: Task{Requirements: Requirements{DynamicPorts: 2}},
			wantErr: &Unplaceable{Instance: "i-a", Causes: []Cause{CauseDynamicPorts},
				Reason: prefix + "The closest matching container instance i-a has not enough dynamic host ports available (needs 2, has 1 free in 50000-50002)."},
		},
		"default dynamic range": {
			instances: instances(mkInstance("i-a")),
			task:      Task{Requirements: Requirements{DynamicPorts: 65535 - 49153 + 2}},
			wantErr: &Unplaceable{Instance: "i-a", Causes: []Cause{CauseDynamicPorts},
				Reason: prefix + "The closest matching container instance i-a has not enough dynamic host ports available (needs 16384, has 16383 free in 49153-65535)."},
		},
		"distinctInstance refuses an instance running the group": {
			instances: instances(mkInstance("i-a").tasks("service:web", 1)),
			task:      Task{Group: "service:web", Requirements: small, Constraints: []ecsv1.PlacementConstraint{distinct}},
			wantErr: &Unplaceable{Instance: "i-a", Causes: []Cause{CauseConstraint},
				Reason: prefix + "The closest matching container instance i-a does not meet placement constraint distinctInstance (it already runs a task of group service:web)."},
		},
		"distinctInstance picks the instance without the group": {
			instances: instances(mkInstance("i-a").tasks("service:web", 1), mkInstance("i-b").tasks("service:db", 3), mkInstance("i-c").tasks("service:web", 2)),
			task:      Task{Group: "service:web", Requirements: small, Constraints: []ecsv1.PlacementConstraint{distinct}},
			want:      "i-b",
		},
		"memberOf not met": {
			instances: instances(mkInstance("i-a").az("a")),
			task:      Task{Requirements: small, Constraints: []ecsv1.PlacementConstraint{memberOf("attribute:ecs.availability-zone == b")}},
			wantErr: &Unplaceable{Instance: "i-a", Causes: []Cause{CauseConstraint},
				Reason: prefix + "The closest matching container instance i-a does not meet placement constraint memberOf(attribute:ecs.availability-zone == b)."},
		},
		"memberOf selects": {
			instances: instances(mkInstance("i-a").az("a"), mkInstance("i-b").az("b")),
			task:      Task{Requirements: small, Constraints: []ecsv1.PlacementConstraint{memberOf("attribute:ecs.availability-zone == b")}},
			want:      "i-b",
		},
		"every memberOf must hold": {
			instances: instances(mkInstance("i-a").az("a").attr("gpu", "1"), mkInstance("i-b").az("b"), mkInstance("i-c").az("b").attr("gpu", "1")),
			task: Task{Requirements: small, Constraints: []ecsv1.PlacementConstraint{
				memberOf("attribute:ecs.availability-zone == b"), memberOf("attribute:gpu exists")}},
			want: "i-c",
		},
		"closest: an ACTIVE connected instance before a draining one": {
			instances: instances(mkInstance("i-a").draining(), mkInstance("i-b").mem(4096, 4000).cpu(1024, 1000)),
			task:      Task{Requirements: small},
			wantErr: &Unplaceable{Instance: "i-b", Causes: []Cause{CauseCPU, CauseMemory},
				Reason: prefix + "The closest matching container instance i-b has insufficient CPU units available (needs 256, has 24) and has insufficient memory available (needs 512 MiB, has 96 MiB)."},
		},
		"closest: fewest failed checks": {
			instances: instances(mkInstance("i-a").mem(4096, 4000).cpu(1024, 1000), mkInstance("i-b").mem(4096, 4000).usedTCP(80)),
			task:      Task{Requirements: Requirements{CPU: 256, Memory: 512, TCPPorts: []int32{80}}},
			wantErr: &Unplaceable{Instance: "i-a", Causes: []Cause{CauseCPU, CauseMemory},
				Reason: prefix + "The closest matching container instance i-a has insufficient CPU units available (needs 256, has 24) and has insufficient memory available (needs 512 MiB, has 96 MiB)."},
		},
		"closest: then most free memory": {
			instances: instances(mkInstance("i-a").mem(4096, 3900), mkInstance("i-b").mem(4096, 3800), mkInstance("i-c").mem(4096, 4000)),
			task:      Task{Requirements: small},
			wantErr: &Unplaceable{Instance: "i-b", Causes: []Cause{CauseMemory},
				Reason: prefix + "The closest matching container instance i-b has insufficient memory available (needs 512 MiB, has 296 MiB)."},
		},
		"closest: three reasons listed": {
			instances: instances(mkInstance("i-a").disconnected().mem(100, 0).az("a")),
			task:      Task{Requirements: small, Constraints: []ecsv1.PlacementConstraint{memberOf("attribute:ecs.availability-zone != a")}},
			wantErr: &Unplaceable{Instance: "i-a", Causes: []Cause{CauseDisconnected, CauseMemory, CauseConstraint},
				Reason: prefix + "The closest matching container instance i-a has its agent disconnected, has insufficient memory available (needs 512 MiB, has 100 MiB) and does not meet placement constraint memberOf(attribute:ecs.availability-zone != a)."},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			s := NewSnapshot(tc.policy, tc.instances)
			got, err := s.Place(tc.task, rand.New(rand.NewPCG(1, 2)))
			if tc.wantErr != nil {
				var u *Unplaceable
				if !errors.As(err, &u) {
					t.Fatalf("Place = %v, %v; want *Unplaceable", got, err)
				}
				if diff := cmp.Diff(tc.wantErr, u); diff != "" {
					t.Errorf("Unplaceable (-want +got):\n%s", diff)
				}
				if u.Error() != tc.wantErr.Reason {
					t.Errorf("Error() = %q, want the reason", u.Error())
				}
				return
			}
			if err != nil {
				t.Fatalf("Place: %v", err)
			}
			if got.Instance != tc.want {
				t.Errorf("placed on %s, want %s", got.Instance, tc.want)
			}
		})
	}
}

func TestPlaceBadInput(t *testing.T) {
	cases := map[string]struct {
		task    Task
		wantErr string
	}{
		"bad expression": {
			task:    Task{Constraints: []ecsv1.PlacementConstraint{memberOf("attribute:a ==")}},
			wantErr: `memberOf expression "attribute:a ==": at position 14: expected a value`,
		},
		"unknown constraint": {
			task:    Task{Constraints: []ecsv1.PlacementConstraint{{Type: "sameHost"}}},
			wantErr: `unknown placement constraint type "sameHost": want distinctInstance or memberOf`,
		},
		"unknown strategy": {
			task:    Task{Strategies: []ecsv1.PlacementStrategy{{Type: "fill"}}},
			wantErr: `unknown placement strategy type "fill": want random, spread or binpack`,
		},
		"binpack on ports": {
			task:    Task{Strategies: []ecsv1.PlacementStrategy{binpack("ports")}},
			wantErr: `placement strategy binpack needs field cpu or memory, got "ports"`,
		},
		"spread on nothing": {
			task:    Task{Strategies: []ecsv1.PlacementStrategy{spread("attribute:")}},
			wantErr: `placement strategy spread needs field instanceId, host or attribute:<name>, got "attribute:"`,
		},
		"random with a field": {
			task:    Task{Strategies: []ecsv1.PlacementStrategy{{Type: ecsv1.PlacementStrategyRandom, Field: "cpu"}}},
			wantErr: `placement strategy random takes no field, got "cpu"`,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			s := NewSnapshot(Policy{}, instances(mkInstance("i-a")))
			_, err := s.Place(tc.task, nil)
			if err == nil || err.Error() != tc.wantErr {
				t.Fatalf("Place error = %v, want %q", err, tc.wantErr)
			}
			var u *Unplaceable
			if errors.As(err, &u) {
				t.Errorf("a bad task must not be reported as Unplaceable")
			}
		})
	}
	s := NewSnapshot(Policy{}, instances(mkInstance("i-a")))
	_, err := s.Place(Task{Constraints: []ecsv1.PlacementConstraint{memberOf("x ==")}}, nil)
	var pe *ParseError
	if !errors.As(err, &pe) || pe.Pos != 4 {
		t.Errorf("Place error = %v, want a *ParseError at position 4", err)
	}
}

// TestPlaceStrategies checks the instance each strategy (or combination)
// chooses where no tie is left to chance.
func TestPlaceStrategies(t *testing.T) {
	web := "service:web"
	cases := map[string]struct {
		instances  []*Instance
		strategies []ecsv1.PlacementStrategy
		want       string
	}{
		"binpack memory: least memory left": {
			instances:  instances(mkInstance("i-a").mem(4096, 3000), mkInstance("i-b").mem(4096, 3500), mkInstance("i-c").mem(8192, 0)),
			strategies: []ecsv1.PlacementStrategy{binpack("memory")},
			want:       "i-b",
		},
		"binpack cpu: least cpu left": {
			instances:  instances(mkInstance("i-a").cpu(2048, 1024), mkInstance("i-b").cpu(4096, 2048), mkInstance("i-c").cpu(1024, 512)),
			strategies: []ecsv1.PlacementStrategy{binpack("cpu")},
			want:       "i-c",
		},
		"binpack only among instances that fit": {
			instances:  instances(mkInstance("i-a").mem(4096, 3800), mkInstance("i-b").mem(4096, 3000)),
			strategies: []ecsv1.PlacementStrategy{binpack("memory")},
			want:       "i-b",
		},
		"spread instanceId: fewest tasks of the group": {
			instances:  instances(mkInstance("i-a").tasks(web, 2), mkInstance("i-b").tasks(web, 1).tasks("other", 5), mkInstance("i-c").tasks(web, 3)),
			strategies: []ecsv1.PlacementStrategy{spread("instanceId")},
			want:       "i-b",
		},
		"spread host is instanceId": {
			instances:  instances(mkInstance("i-a").tasks(web, 2), mkInstance("i-b").tasks(web, 1), mkInstance("i-c").tasks(web, 3)),
			strategies: []ecsv1.PlacementStrategy{spread("host")},
			want:       "i-b",
		},
		"spread attribute: the zone with fewest tasks of the group": {
			// Zone a holds 2 tasks of web (on i-a1), zone b 1: i-b1 wins
			// although i-a2 runs none itself.
			instances: instances(mkInstance("i-a1").az("a").tasks(web, 2), mkInstance("i-a2").az("a"),
				mkInstance("i-b1").az("b").tasks(web, 1).tasks("other", 9)),
			strategies: []ecsv1.PlacementStrategy{spread("attribute:ecs.availability-zone")},
			want:       "i-b1",
		},
		"spread attribute counts tasks on instances that cannot take this one": {
			instances: instances(mkInstance("i-a1").az("a").tasks(web, 2).mem(100, 100), mkInstance("i-a2").az("a"),
				mkInstance("i-b1").az("b").tasks(web, 1)),
			strategies: []ecsv1.PlacementStrategy{spread("attribute:ecs.availability-zone")},
			want:       "i-b1",
		},
		"spread attribute ignores tasks on draining and disconnected instances": {
			instances: instances(mkInstance("i-a1").az("a").tasks(web, 2).draining(), mkInstance("i-a2").az("a"),
				mkInstance("i-a3").az("a").tasks(web, 2).disconnected(), mkInstance("i-b1").az("b").tasks(web, 1)),
			strategies: []ecsv1.PlacementStrategy{spread("attribute:ecs.availability-zone")},
			want:       "i-a2",
		},
		"spread attribute: instances lacking it share the value \"\"": {
			instances: instances(mkInstance("i-a").az("a").tasks(web, 1), mkInstance("i-x").tasks(web, 1),
				mkInstance("i-y").tasks(web, 1), mkInstance("i-z")),
			strategies: []ecsv1.PlacementStrategy{spread("attribute:ecs.availability-zone")},
			want:       "i-a",
		},
		"spread zone then binpack memory": {
			instances: instances(mkInstance("i-a1").az("a").mem(4096, 4000), mkInstance("i-a2").az("a").tasks(web, 1),
				mkInstance("i-b1").az("b").mem(4096, 1000), mkInstance("i-b2").az("b").mem(4096, 2000), mkInstance("i-b3").az("b").mem(4096, 500)),
			strategies: []ecsv1.PlacementStrategy{spread("attribute:ecs.availability-zone"), binpack("memory")},
			want:       "i-b2",
		},
		"binpack memory then spread instanceId": {
			instances: instances(mkInstance("i-a").mem(4096, 1000).tasks(web, 1), mkInstance("i-b").mem(4096, 1000),
				mkInstance("i-c").mem(4096, 1000).tasks(web, 2), mkInstance("i-d").mem(8192, 0)),
			strategies: []ecsv1.PlacementStrategy{binpack("memory"), spread("instanceId")},
			want:       "i-b",
		},
		"default is spread instanceId": {
			instances: instances(mkInstance("i-a").tasks(web, 1), mkInstance("i-b").tasks(web, 1), mkInstance("i-c"), mkInstance("i-d").tasks(web, 1)),
			want:      "i-c",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			s := NewSnapshot(Policy{}, tc.instances)
			task := Task{Group: web, Requirements: Requirements{CPU: 256, Memory: 512}, Strategies: tc.strategies}
			// The outcome must not depend on the random source.
			for seed := range uint64(20) {
				got, err := s.Place(task, rand.New(rand.NewPCG(seed, seed)))
				if err != nil {
					t.Fatalf("Place: %v", err)
				}
				if got.Instance != tc.want {
					t.Fatalf("seed %d: placed on %s, want %s", seed, got.Instance, tc.want)
				}
			}
		})
	}
}

// placeCounts places n tasks (assuming each when assume is set) and counts
// where they went.
func placeCounts(t *testing.T, s *Snapshot, task Task, n int, assume bool, rnd *rand.Rand) map[string]int {
	t.Helper()
	got := map[string]int{}
	for range n {
		p, err := s.Place(task, rnd)
		if err != nil {
			t.Fatalf("Place: %v", err)
		}
		got[p.Instance]++
		if assume {
			s.Assume(p.Instance, task.Group, task.Requirements)
		}
	}
	return got
}

func TestPlaceRandom(t *testing.T) {
	s := NewSnapshot(Policy{}, instances(mkInstance("i-a"), mkInstance("i-b").draining(), mkInstance("i-c"), mkInstance("i-d"), mkInstance("i-e").mem(100, 0)))
	task := Task{Group: "g", Requirements: Requirements{Memory: 512}, Strategies: []ecsv1.PlacementStrategy{random}}
	got := placeCounts(t, s, task, 300, false, rand.New(rand.NewPCG(7, 7)))
	if len(got) != 3 || got["i-a"] < 60 || got["i-c"] < 60 || got["i-d"] < 60 {
		t.Errorf("random placements %v: want about 100 each on i-a, i-c, i-d and none elsewhere", got)
	}
	// Same seed, same choices.
	again := placeCounts(t, s, task, 300, false, rand.New(rand.NewPCG(7, 7)))
	if diff := cmp.Diff(got, again); diff != "" {
		t.Errorf("same seed, different placements (-first +second):\n%s", diff)
	}
	// A nil source uses the global one.
	if _, err := s.Place(task, nil); err != nil {
		t.Errorf("Place with nil rnd: %v", err)
	}
}

func TestPlaceTiesBrokenAtRandom(t *testing.T) {
	s := NewSnapshot(Policy{}, instances(mkInstance("i-a").mem(4096, 1000), mkInstance("i-b").mem(4096, 1000), mkInstance("i-c").mem(4096, 0)))
	task := Task{Group: "g", Requirements: Requirements{Memory: 512}, Strategies: []ecsv1.PlacementStrategy{binpack("memory")}}
	got := placeCounts(t, s, task, 200, false, rand.New(rand.NewPCG(3, 4)))
	if len(got) != 2 || got["i-a"] < 50 || got["i-b"] < 50 {
		t.Errorf("placements %v: want the tie between i-a and i-b broken at random", got)
	}
}

// TestPlaceAndAssume places tasks one after the other, each seeing the
// ones before.
func TestPlaceAndAssume(t *testing.T) {
	t.Run("default spread evens out the group", func(t *testing.T) {
		s := NewSnapshot(Policy{}, instances(mkInstance("i-a"), mkInstance("i-b"), mkInstance("i-c")))
		got := placeCounts(t, s, Task{Group: "g", Requirements: Requirements{CPU: 100, Memory: 100}}, 9, true, rand.New(rand.NewPCG(1, 1)))
		if diff := cmp.Diff(map[string]int{"i-a": 3, "i-b": 3, "i-c": 3}, got); diff != "" {
			t.Errorf("placements (-want +got):\n%s", diff)
		}
	})
	t.Run("spread by zone evens out the zones", func(t *testing.T) {
		s := NewSnapshot(Policy{}, instances(mkInstance("i-a1").az("a"), mkInstance("i-a2").az("a"), mkInstance("i-a3").az("a"),
			mkInstance("i-b1").az("b"), mkInstance("i-c1").az("c")))
		// One task of the group already runs in zone c, accounted before
		// the index exists; the rest are accounted by Assume after.
		s.Assume("i-c1", "g", Requirements{})
		task := Task{Group: "g", Strategies: []ecsv1.PlacementStrategy{spread("attribute:ecs.availability-zone"), spread("instanceId")}}
		zones := map[string]int{}
		for name, n := range placeCounts(t, s, task, 8, true, rand.New(rand.NewPCG(1, 1))) {
			zones[s.Instance(name).Attributes["ecs.availability-zone"]] += n
		}
		if diff := cmp.Diff(map[string]int{"a": 3, "b": 3, "c": 2}, zones); diff != "" {
			t.Errorf("tasks placed per zone (-want +got):\n%s", diff)
		}
		a := []int{s.Instance("i-a1").Groups["g"], s.Instance("i-a2").Groups["g"], s.Instance("i-a3").Groups["g"]}
		if diff := cmp.Diff([]int{1, 1, 1}, a); diff != "" {
			t.Errorf("tasks on the instances of zone a (-want +got):\n%s", diff)
		}
	})
	t.Run("resources run out", func(t *testing.T) {
		s := NewSnapshot(Policy{}, instances(mkInstance("i-a").mem(1024, 0)))
		task := Task{Group: "g", Requirements: Requirements{Memory: 512}}
		placeCounts(t, s, task, 2, true, nil)
		_, err := s.Place(task, nil)
		want := prefix + "The closest matching container instance i-a has insufficient memory available (needs 512 MiB, has 0 MiB)."
		if err == nil || err.Error() != want {
			t.Errorf("third placement: %v, want %s", err, want)
		}
	})
	t.Run("static ports are taken", func(t *testing.T) {
		s := NewSnapshot(Policy{}, instances(mkInstance("i-a"), mkInstance("i-b")))
		task := Task{Group: "g", Requirements: Requirements{TCPPorts: []int32{8080}}}
		got := placeCounts(t, s, task, 2, true, nil)
		if diff := cmp.Diff(map[string]int{"i-a": 1, "i-b": 1}, got); diff != "" {
			t.Errorf("placements (-want +got):\n%s", diff)
		}
		if _, err := s.Place(task, nil); err == nil {
			t.Errorf("a third task with host port 8080 was placed")
		}
	})
	t.Run("dynamic ports are taken", func(t *testing.T) {
		s := NewSnapshot(Policy{}, instances(mkInstance("i-a").dynamicRange(50000, 50004)))
		// A static port inside the dynamic range takes one of its ports too.
		s.Assume("i-a", "other", Requirements{TCPPorts: []int32{50004}})
		task := Task{Group: "g", Requirements: Requirements{DynamicPorts: 2}}
		placeCounts(t, s, task, 2, true, nil)
		_, err := s.Place(task, nil)
		want := prefix + "The closest matching container instance i-a has not enough dynamic host ports available (needs 2, has 0 free in 50000-50004)."
		if err == nil || err.Error() != want {
			t.Errorf("third placement: %v, want %s", err, want)
		}
	})
	t.Run("distinctInstance fills every instance once", func(t *testing.T) {
		s := NewSnapshot(Policy{}, instances(mkInstance("i-a"), mkInstance("i-b"), mkInstance("i-c")))
		task := Task{Group: "g", Constraints: []ecsv1.PlacementConstraint{distinct}, Strategies: []ecsv1.PlacementStrategy{random}}
		got := placeCounts(t, s, task, 3, true, rand.New(rand.NewPCG(5, 5)))
		if diff := cmp.Diff(map[string]int{"i-a": 1, "i-b": 1, "i-c": 1}, got); diff != "" {
			t.Errorf("placements (-want +got):\n%s", diff)
		}
		var u *Unplaceable
		if _, err := s.Place(task, nil); !errors.As(err, &u) || u.Causes[0] != CauseConstraint {
			t.Errorf("fourth placement: %v, want a distinctInstance refusal", err)
		}
	})
	t.Run("runningTasksCount and task:group see assumed tasks", func(t *testing.T) {
		s := NewSnapshot(Policy{}, instances(mkInstance("i-a"), mkInstance("i-b")))
		s.Assume("i-a", "db", Requirements{})
		s.Assume("i-a", "db", Requirements{})
		near := Task{Group: "web", Constraints: []ecsv1.PlacementConstraint{memberOf("task:group == db")}}
		if p, err := s.Place(near, nil); err != nil || p.Instance != "i-a" {
			t.Errorf("task:group == db placed on %v, %v; want i-a", p, err)
		}
		quiet := Task{Group: "web", Constraints: []ecsv1.PlacementConstraint{memberOf("runningTasksCount < 2")}}
		if p, err := s.Place(quiet, nil); err != nil || p.Instance != "i-b" {
			t.Errorf("runningTasksCount < 2 placed on %v, %v; want i-b", p, err)
		}
	})
	t.Run("unknown instance is ignored", func(t *testing.T) {
		s := NewSnapshot(Policy{}, instances(mkInstance("i-a")))
		s.Assume("i-gone", "g", Requirements{CPU: 1})
		if in := s.Instance("i-a"); in.UsedCPU != 0 || in.RunningTasks != 0 {
			t.Errorf("i-a changed: %+v", in)
		}
	})
}

func TestNewSnapshot(t *testing.T) {
	in := []*Instance{mkInstance("i-c").obj(), nil, mkInstance("i-a").obj(), mkInstance("i-b").obj(), mkInstance("i-a").mem(1, 0).obj()}
	s := NewSnapshot(Policy{}, in)
	var names []string
	for _, x := range s.Instances {
		names = append(names, x.Name)
	}
	if diff := cmp.Diff([]string{"i-a", "i-b", "i-c"}, names); diff != "" {
		t.Errorf("instances (-want +got):\n%s", diff)
	}
	if s.Instance("i-a").Registered.Memory != 4096 {
		t.Errorf("the first of two instances with one name should be kept")
	}
	if in[0].Name != "i-c" {
		t.Errorf("NewSnapshot reordered the caller's slice")
	}
}

func TestPlaceDoesNotAllocate(t *testing.T) {
	var list []*Instance
	for i := range 200 {
		list = append(list, mkInstance(string(rune('a'+i%26))+"-"+string(rune('a'+i/26))).az(string(rune('a'+i%3))).attr("ecs.os-type", "linux").obj())
	}
	s := NewSnapshot(Policy{}, list)
	task := Task{Group: "service:web", Requirements: Requirements{CPU: 1, Memory: 1, DynamicPorts: 1},
		Constraints: []ecsv1.PlacementConstraint{distinct, memberOf("attribute:ecs.os-type == linux and runningTasksCount < 100")},
		Strategies:  []ecsv1.PlacementStrategy{spread("attribute:ecs.availability-zone"), binpack("memory"), spread("instanceId")}}
	rnd := rand.New(rand.NewPCG(1, 1))
	if _, err := s.Place(task, rnd); err != nil { // warm the caches
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(50, func() {
		if _, err := s.Place(task, rnd); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("Place allocates %v times per call, want 0", allocs)
	}
}

func TestSnapshotLiteral(t *testing.T) {
	s := &Snapshot{Instances: instances(mkInstance("i-b").mem(100, 0), mkInstance("i-a"))}
	p, err := s.Place(Task{Requirements: Requirements{Memory: 512}}, nil)
	if err != nil || p.Instance != "i-a" {
		t.Errorf("Place on a literal snapshot = %v, %v; want i-a", p, err)
	}
}
