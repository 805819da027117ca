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
	"slices"
	"strings"

	ecsv1 "github.com/longshore-io/longshore/api/v1alpha1"
)

// PortRange is an inclusive range of host ports.
type PortRange struct {
	Min, Max int32
}

// DefaultDynamicPortRange is the range bridge-mode tasks take dynamic host
// ports from, the agent's --dynamic-port-range default (and Docker's, which
// ECS uses).
var DefaultDynamicPortRange = PortRange{Min: 49153, Max: 65535}

func (r PortRange) contains(p int32) bool { return p >= r.Min && p <= r.Max }

func (r PortRange) size() int {
	if r.Max < r.Min {
		return 0
	}
	return int(r.Max-r.Min) + 1
}

// Instance is one container instance as the scheduler sees it.
type Instance struct {
	// Name is the ContainerInstance name (ECS: the instance id, matched by
	// ec2InstanceId in memberOf expressions).
	Name string
	// State is ACTIVE or DRAINING; empty counts as ACTIVE (the API's
	// default).
	State ecsv1.ContainerInstanceState
	// Connected is the manager's agentConnected: the agent's Lease is fresh.
	Connected bool
	// Attributes are the agent-detected (ecs.*) and custom attributes, merged.
	Attributes map[string]string
	// Registered are the resources the agent registered: cpu units, memory
	// in MiB and the reserved TCP and UDP ports.
	Registered ecsv1.Resources
	// DynamicPortRange is the agent's dynamic host port range; zero means
	// DefaultDynamicPortRange (49153–65535).
	DynamicPortRange PortRange

	// The fields below account for the tasks bound here. Either fill them
	// before NewSnapshot or, preferably, leave them empty and call Assume
	// for every bound task that is not STOPPED — not both.

	// UsedCPU and UsedMemory are the CPU units and MiB of the tasks here;
	// UsedGPU their GPUs.
	UsedCPU, UsedMemory, UsedGPU int64
	// UsedTCP and UsedUDP are the host ports the tasks here hold.
	UsedTCP, UsedUDP map[int32]bool
	// UsedDynamicPorts counts dynamic host ports held by tasks here whose
	// numbers are not in UsedTCP/UsedUDP (Assume adds
	// Requirements.DynamicPorts: the number is only known once the agent
	// picks it).
	UsedDynamicPorts int
	// RunningTasks counts the non-stopped tasks here (runningTasksCount).
	RunningTasks int
	// Groups counts the non-stopped tasks here per task group.
	Groups map[string]int
}

// Snapshot is the state of a cluster's instances at one moment, on which
// tasks are placed one after the other: Place chooses an instance, Assume
// accounts the task there so that the next Place sees it.
//
// A Snapshot is not safe for concurrent use. After NewSnapshot, change
// the instances only through Assume: the snapshot keeps indexes of them.
type Snapshot struct {
	// Policy of the Cluster.
	Policy Policy
	// Instances sorted by name.
	Instances []*Instance

	byName map[string]int
	meta   []instanceMeta
	attrs  map[string]*attrIndex // spread attribute:<name> indexes, built on first use

	exprs map[string]Expr // parsed memberOf expressions

	// Buffers reused by Place so that a placement allocates nothing in
	// proportion to the number of instances.
	cand       []int32
	scores     []int64
	valueCount []int64
	cons       []constraint
}

// instanceMeta is what the snapshot derives from an instance.
type instanceMeta struct {
	live bool // ACTIVE and connected: its tasks count for spread by attribute
	// dynamic port accounting: the range, and how many distinct ports of
	// it are reserved or used, per protocol.
	dynRange           PortRange
	takenTCP, takenUDP int
}

// attrIndex counts, per value of one attribute, the non-stopped tasks of
// each group on live instances with that value. Instances lacking the
// attribute share the value "".
type attrIndex struct {
	valueOf []int32 // instance index → value id
	values  []string
	counts  []map[string]int // value id → group → tasks
}

// NewSnapshot returns a snapshot of instances (sorted by name; the slice
// is copied, the instances are not) under the cluster policy. Instances
// with a duplicate name after the first are dropped.
func NewSnapshot(policy Policy, instances []*Instance) *Snapshot {
	list := slices.Clone(instances)
	list = slices.DeleteFunc(list, func(in *Instance) bool { return in == nil })
	slices.SortStableFunc(list, func(a, b *Instance) int { return strings.Compare(a.Name, b.Name) })
	list = slices.CompactFunc(list, func(a, b *Instance) bool { return a.Name == b.Name })
	s := &Snapshot{
		Policy:    policy,
		Instances: list,
		byName:    make(map[string]int, len(list)),
		meta:      make([]instanceMeta, len(list)),
		attrs:     map[string]*attrIndex{},
		exprs:     map[string]Expr{},
	}
	for i, in := range list {
		s.byName[in.Name] = i
		m := &s.meta[i]
		m.live = isActive(in) && in.Connected
		m.dynRange = in.DynamicPortRange
		if m.dynRange == (PortRange{}) {
			m.dynRange = DefaultDynamicPortRange
		}
		m.takenTCP = countTaken(m.dynRange, in.Registered.Ports, in.UsedTCP)
		m.takenUDP = countTaken(m.dynRange, in.Registered.PortsUDP, in.UsedUDP)
	}
	return s
}

// ensureIndexed builds the indexes of a Snapshot made without
// NewSnapshot (a struct literal).
func (s *Snapshot) ensureIndexed() {
	if s.byName == nil || len(s.meta) != len(s.Instances) {
		*s = *NewSnapshot(s.Policy, s.Instances)
	}
}

func isActive(in *Instance) bool {
	return in.State == ecsv1.ContainerInstanceActive || in.State == ""
}

// countTaken counts the distinct ports of r that are reserved or used.
func countTaken(r PortRange, reserved []int32, used map[int32]bool) int {
	n := 0
	for p, u := range used {
		if u && r.contains(p) {
			n++
		}
	}
	for i, p := range reserved {
		if r.contains(p) && !used[p] && !slices.Contains(reserved[:i], p) {
			n++
		}
	}
	return n
}

// Instance returns the named instance, or nil.
func (s *Snapshot) Instance(name string) *Instance {
	s.ensureIndexed()
	if i, ok := s.byName[name]; ok {
		return s.Instances[i]
	}
	return nil
}

// Assume accounts a task of group with requirements r on instance: one
// just placed, or one already bound there and not STOPPED. It adds the
// task's CPU, memory, static and dynamic ports, and counts it in
// RunningTasks and Groups. An unknown instance is ignored (a task bound to
// an instance that is gone takes nothing from the others).
func (s *Snapshot) Assume(instance string, group string, r Requirements) {
	s.ensureIndexed()
	i, ok := s.byName[instance]
	if !ok {
		return
	}
	in, m := s.Instances[i], &s.meta[i]
	in.UsedCPU += r.CPU
	in.UsedMemory += r.Memory
	in.UsedGPU += r.GPU
	for _, p := range r.TCPPorts {
		if in.UsedTCP == nil {
			in.UsedTCP = map[int32]bool{}
		}
		if !in.UsedTCP[p] && m.dynRange.contains(p) && !slices.Contains(in.Registered.Ports, p) {
			m.takenTCP++
		}
		in.UsedTCP[p] = true
	}
	for _, p := range r.UDPPorts {
		if in.UsedUDP == nil {
			in.UsedUDP = map[int32]bool{}
		}
		if !in.UsedUDP[p] && m.dynRange.contains(p) && !slices.Contains(in.Registered.PortsUDP, p) {
			m.takenUDP++
		}
		in.UsedUDP[p] = true
	}
	in.UsedDynamicPorts += r.DynamicPorts
	in.RunningTasks++
	if in.Groups == nil {
		in.Groups = map[string]int{}
	}
	in.Groups[group]++
	if m.live {
		for _, idx := range s.attrs {
			c := idx.counts[idx.valueOf[i]]
			c[group]++
		}
	}
}

// attrIndex returns the index of attribute name, building it on first use.
func (s *Snapshot) attrIndex(name string) *attrIndex {
	if idx, ok := s.attrs[name]; ok {
		return idx
	}
	idx := &attrIndex{valueOf: make([]int32, len(s.Instances))}
	ids := map[string]int32{}
	for i, in := range s.Instances {
		v := in.Attributes[name] // "" when absent
		id, ok := ids[v]
		if !ok {
			id = int32(len(idx.values))
			ids[v] = id
			idx.values = append(idx.values, v)
			idx.counts = append(idx.counts, map[string]int{})
		}
		idx.valueOf[i] = id
		if s.meta[i].live {
			for g, n := range in.Groups {
				if n > 0 {
					idx.counts[id][g] += n
				}
			}
		}
	}
	s.attrs[name] = idx
	return idx
}

// freeDynamicPorts is how many more dynamic host ports instance i can
// hand out. TCP and UDP are allocated separately by the agent but a
// requirement only counts mappings, so the scarcer protocol bounds it.
func (s *Snapshot) freeDynamicPorts(i int) int {
	in, m := s.Instances[i], &s.meta[i]
	n := m.dynRange.size() - max(m.takenTCP, m.takenUDP) - in.UsedDynamicPorts
	return max(n, 0)
}
