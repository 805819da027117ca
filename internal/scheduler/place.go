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
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"

	ecsv1 "github.com/longshore-io/longshore/api/v1alpha1"
	"github.com/longshore-io/longshore/internal/taskpolicy"
)

// Task is a task to place.
type Task struct {
	// Namespace of the Task, checked against Policy.Namespaces.
	Namespace string
	// Group of the task ("family:<family>" or "service:<name>"): what
	// distinctInstance and spread count.
	Group string
	// Requirements computed by TaskRequirements.
	Requirements Requirements
	// Constraints are the task's (or service's) placement constraints plus
	// the task definition's memberOf constraints.
	Constraints []ecsv1.PlacementConstraint
	// Strategies apply in order, each breaking the ties of the one before.
	// None means spread on instanceId (see Place).
	Strategies []ecsv1.PlacementStrategy
}

// Placement is where a task goes.
type Placement struct {
	// Instance is the name of the chosen container instance.
	Instance string
}

// Cause classifies why a task could not be placed.
type Cause = taskpolicy.Cause

// Causes of Unplaceable.
const (
	// CauseNoInstances: the cluster has no container instance.
	CauseNoInstances Cause = "NoContainerInstances"
	// CausePolicy: the Cluster's security policy forbids the task.
	CausePolicy = taskpolicy.CausePolicy
	// CauseNamespace: the Cluster does not take tasks of the namespace.
	CauseNamespace = taskpolicy.CauseNamespace
	// CauseDraining: the instance is not ACTIVE.
	CauseDraining Cause = "InstanceDraining"
	// CauseDisconnected: the instance's agent is disconnected.
	CauseDisconnected Cause = "AgentDisconnected"
	// CauseCPU: not enough CPU units left.
	CauseCPU Cause = "InsufficientCPU"
	// CauseMemory: not enough memory left.
	CauseMemory Cause = "InsufficientMemory"
	// CauseGPU: not enough GPUs left.
	CauseGPU Cause = "InsufficientGPU"
	// CausePort: a static host port is reserved or in use.
	CausePort Cause = "PortInUse"
	// CauseDynamicPorts: not enough free ports in the dynamic range.
	CauseDynamicPorts Cause = "InsufficientDynamicPorts"
	// CauseConstraint: a distinctInstance or memberOf constraint fails.
	CauseConstraint Cause = "PlacementConstraint"
)

// reasonPrefix starts every Unplaceable reason, as ECS words its service
// event ("service web was unable to place a task because …").
const reasonPrefix = "was unable to place a task because no container instance met all of its requirements."

// Unplaceable is the error of Place when no instance can take the task.
type Unplaceable struct {
	// Reason in ECS wording, e.g. "was unable to place a task because no
	// container instance met all of its requirements. The closest matching
	// container instance i-a has insufficient memory available (needs 512
	// MiB, has 256 MiB)."
	Reason string
	// Instance is the closest matching instance named in Reason, empty
	// when the task was refused before looking at instances.
	Instance string
	// Causes are what the closest instance lacks (or the one cluster-level
	// cause), in the order Reason lists them.
	Causes []Cause
}

// Error returns Reason.
func (u *Unplaceable) Error() string { return u.Reason }

// maxCachedExprs bounds the parsed expression cache of a snapshot.
const maxCachedExprs = 512

// defaultStrategies apply when a task names none.
var defaultStrategies = []ecsv1.PlacementStrategy{{Type: ecsv1.PlacementStrategySpread, Field: "instanceId"}}

// constraint is a placement constraint ready to evaluate.
type constraint struct {
	distinct bool   // distinctInstance
	expr     Expr   // memberOf
	text     string // memberOf expression as written
}

// Place chooses an instance for t, or explains why none fits with an
// *Unplaceable error. Any other error is a bad constraint expression (a
// *ParseError inside) or an unknown constraint or strategy.
//
// Cluster-level checks come first and refuse the task outright:
//   - Cluster security: a privileged container needs
//     security.allowPrivileged, networkMode host needs allowHostNetwork,
//     each added capability must be in allowedCapabilities (or ALL be), a
//     host path volume needs allowHostPathVolumes, each host device
//     (linuxParameters.devices) must be in allowedDevices.
//   - The task's namespace must be in Policy.Namespaces when that is set.
//   - There must be at least one instance.
//
// An instance is eligible when all of these hold:
//   - its state is ACTIVE (not DRAINING) and its agent is connected;
//   - registered minus used CPU units and memory cover the task's;
//   - none of the task's static host ports is reserved by the instance
//     or used by a task there;
//   - its dynamic port range has at least DynamicPorts free ports;
//   - distinctInstance: it runs no non-stopped task of the task's group;
//   - every memberOf expression matches it.
//
// Strategies then narrow the eligible instances, in order, to the
// best-scoring ones; the next strategy breaks their ties and a random
// choice (with rnd) breaks what ties remain, as ECS does:
//   - random: one eligible instance at random (later strategies then have
//     nothing left to break).
//   - spread instanceId (or host, the same here): the instances running
//     the fewest non-stopped tasks of the task's group.
//   - spread attribute:<name>: the instances whose attribute value has the
//     fewest tasks of the group, counted over all ACTIVE, connected
//     instances with that value (whether or not they can take this task:
//     the spread is of the group, and tasks on DRAINING or lost instances
//     are about to move). Instances lacking the attribute share the
//     value "".
//   - binpack cpu or memory: the instances with the least of that resource
//     left after placing the task.
//
// With no strategy Place spreads on instanceId and then picks at random:
// tasks of a group fan out over instances deterministically, where ECS
// RunTask's random default only does so on average. rnd may be nil for the
// global random source.
//
// When nothing fits, the reason names the closest matching instance: among
// ACTIVE, connected instances (or all, when none is) the one failing the
// fewest checks, then the one with the most free memory, then by name.
func (s *Snapshot) Place(t Task, rnd *rand.Rand) (Placement, error) {
	s.ensureIndexed()
	if u := s.checkPolicy(&t); u != nil {
		return Placement{}, u
	}
	if len(s.Instances) == 0 {
		return Placement{}, &Unplaceable{
			Reason: "was unable to place a task because no container instances are registered in the cluster.",
			Causes: []Cause{CauseNoInstances},
		}
	}
	cons, err := s.compileConstraints(t.Constraints)
	if err != nil {
		return Placement{}, err
	}
	strategies := t.Strategies
	if len(strategies) == 0 {
		strategies = defaultStrategies
	}
	if err := validateStrategies(strategies); err != nil {
		return Placement{}, err
	}

	cand := s.cand[:0]
	for i := range s.Instances {
		if s.evaluate(i, &t, cons, false, nil) == 0 {
			cand = append(cand, int32(i))
		}
	}
	s.cand = cand
	if len(cand) == 0 {
		return Placement{}, s.unplaceable(&t, cons)
	}

	for _, st := range strategies {
		if len(cand) == 1 {
			break
		}
		if st.Type == ecsv1.PlacementStrategyRandom {
			k := pick(rnd, len(cand))
			cand = cand[k : k+1]
			break
		}
		cand = s.narrow(cand, st, &t)
	}
	k := 0
	if len(cand) > 1 {
		k = pick(rnd, len(cand))
	}
	return Placement{Instance: s.Instances[cand[k]].Name}, nil
}

func pick(rnd *rand.Rand, n int) int {
	if rnd == nil {
		return rand.IntN(n)
	}
	return rnd.IntN(n)
}

// narrow keeps the candidates with the lowest score under strategy st
// (spread: tasks of the group; binpack: resource left).
func (s *Snapshot) narrow(cand []int32, st ecsv1.PlacementStrategy, t *Task) []int32 {
	scores := slices.Grow(s.scores[:0], len(cand))[:len(cand)]
	s.scores = scores
	switch {
	case st.Type == ecsv1.PlacementStrategyBinpack && st.Field == "cpu":
		for j, i := range cand {
			in := s.Instances[i]
			scores[j] = in.Registered.CPU - in.UsedCPU - t.Requirements.CPU
		}
	case st.Type == ecsv1.PlacementStrategyBinpack:
		for j, i := range cand {
			in := s.Instances[i]
			scores[j] = in.Registered.Memory - in.UsedMemory - t.Requirements.Memory
		}
	case st.Field == "instanceId" || st.Field == "host":
		for j, i := range cand {
			scores[j] = int64(s.Instances[i].Groups[t.Group])
		}
	default: // spread attribute:<name>, validated
		idx := s.attrIndex(strings.TrimPrefix(st.Field, "attribute:"))
		vc := slices.Grow(s.valueCount[:0], len(idx.values))[:len(idx.values)]
		s.valueCount = vc
		for v := range vc {
			vc[v] = -1
		}
		for j, i := range cand {
			v := idx.valueOf[i]
			if vc[v] < 0 {
				vc[v] = int64(idx.counts[v][t.Group])
			}
			scores[j] = vc[v]
		}
	}
	best := slices.Min(scores)
	out := cand[:0]
	for j, i := range cand {
		if scores[j] == best {
			out = append(out, i)
		}
	}
	return out
}

func validateStrategies(strategies []ecsv1.PlacementStrategy) error {
	for _, st := range strategies {
		switch st.Type {
		case ecsv1.PlacementStrategyRandom:
			if st.Field != "" {
				return fmt.Errorf("placement strategy random takes no field, got %q", st.Field)
			}
		case ecsv1.PlacementStrategySpread:
			if st.Field != "instanceId" && st.Field != "host" &&
				(!strings.HasPrefix(st.Field, "attribute:") || st.Field == "attribute:") {
				return fmt.Errorf("placement strategy spread needs field instanceId, host or attribute:<name>, got %q", st.Field)
			}
		case ecsv1.PlacementStrategyBinpack:
			if st.Field != "cpu" && st.Field != "memory" {
				return fmt.Errorf("placement strategy binpack needs field cpu or memory, got %q", st.Field)
			}
		default:
			return fmt.Errorf("unknown placement strategy type %q: want random, spread or binpack", st.Type)
		}
	}
	return nil
}

// compileConstraints parses the memberOf expressions (cached by text) into
// the reused constraint buffer.
func (s *Snapshot) compileConstraints(in []ecsv1.PlacementConstraint) ([]constraint, error) {
	cons := s.cons[:0]
	for _, c := range in {
		switch c.Type {
		case ecsv1.PlacementConstraintDistinctInstance:
			cons = append(cons, constraint{distinct: true})
		case ecsv1.PlacementConstraintMemberOf:
			e, ok := s.exprs[c.Expression]
			if !ok {
				var err error
				if e, err = ParseExpression(c.Expression); err != nil {
					return nil, err
				}
				if len(s.exprs) >= maxCachedExprs {
					clear(s.exprs)
				}
				s.exprs[c.Expression] = e
			}
			cons = append(cons, constraint{expr: e, text: c.Expression})
		default:
			return nil, fmt.Errorf("unknown placement constraint type %q: want distinctInstance or memberOf", c.Type)
		}
	}
	s.cons = cons
	return cons, nil
}

// checkPolicy applies the cluster-level rules: security and namespaces.
func (s *Snapshot) checkPolicy(t *Task) *Unplaceable {
	if c, msg := s.Policy.Check(t.Namespace, &t.Requirements); msg != "" {
		return &Unplaceable{Reason: reasonPrefix + " Reason: " + msg + ".", Causes: []Cause{c}}
	}
	return nil
}

// evaluate counts the checks instance i fails for t. With all false it
// stops at the first failure (the fast path of Place, which must not
// allocate); with why set it records the cause and phrase of every failure.
func (s *Snapshot) evaluate(i int, t *Task, cons []constraint, all bool, why *explanation) int {
	if !all && !s.meta[i].live {
		return 1 // DRAINING or disconnected: the common refusal, decided from the dense meta slice
	}
	in, r := s.Instances[i], &t.Requirements
	failed := 0
	if !isActive(in) {
		if why != nil {
			why.add(CauseDraining, "is "+string(in.State))
		}
		if failed++; !all {
			return failed
		}
	}
	if !in.Connected {
		if why != nil {
			why.add(CauseDisconnected, "has its agent disconnected")
		}
		if failed++; !all {
			return failed
		}
	}
	if free := in.Registered.CPU - in.UsedCPU; r.CPU > free {
		if why != nil {
			why.add(CauseCPU, fmt.Sprintf("has insufficient CPU units available (needs %d, has %d)", r.CPU, max(free, 0)))
		}
		if failed++; !all {
			return failed
		}
	}
	if free := in.Registered.GPU - in.UsedGPU; r.GPU > free {
		if why != nil {
			why.add(CauseGPU, fmt.Sprintf("has insufficient GPUs available (needs %d, has %d)", r.GPU, max(free, 0)))
		}
		if failed++; !all {
			return failed
		}
	}
	if free := in.Registered.Memory - in.UsedMemory; r.Memory > free {
		if why != nil {
			why.add(CauseMemory, fmt.Sprintf("has insufficient memory available (needs %d MiB, has %d MiB)", r.Memory, max(free, 0)))
		}
		if failed++; !all {
			return failed
		}
	}
	if portsBusy(in, r, why) {
		if why != nil {
			why.add(CausePort, "has "+why.busyPorts()+" already in use")
		}
		if failed++; !all {
			return failed
		}
	}
	if r.DynamicPorts > 0 {
		if free := s.freeDynamicPorts(i); r.DynamicPorts > free {
			if why != nil {
				m := &s.meta[i]
				why.add(CauseDynamicPorts, fmt.Sprintf("has not enough dynamic host ports available (needs %d, has %d free in %d-%d)",
					r.DynamicPorts, free, m.dynRange.Min, m.dynRange.Max))
			}
			if failed++; !all {
				return failed
			}
		}
	}
	for k := range cons {
		c := &cons[k]
		if c.distinct {
			if in.Groups[t.Group] == 0 {
				continue
			}
			if why != nil {
				why.add(CauseConstraint, "does not meet placement constraint distinctInstance (it already runs a task of group "+t.Group+")")
			}
		} else {
			if c.expr.Match(in) {
				continue
			}
			if why != nil {
				why.add(CauseConstraint, "does not meet placement constraint memberOf("+c.text+")")
			}
		}
		if failed++; !all {
			return failed
		}
	}
	return failed
}

// portsBusy reports whether a static port of r is reserved or used on in;
// with why set it records every such port.
func portsBusy(in *Instance, r *Requirements, why *explanation) bool {
	busy := false
	check := func(ports []int32, reserved []int32, used map[int32]bool, proto string) {
		for _, p := range ports {
			res := slices.Contains(reserved, p)
			if res || used[p] {
				busy = true
				if why == nil {
					return
				}
				note := ""
				if res {
					note = " (reserved)"
				}
				why.ports = append(why.ports, strconv.Itoa(int(p))+"/"+proto+note)
			}
		}
	}
	check(r.TCPPorts, in.Registered.Ports, in.UsedTCP, "tcp")
	if busy && why == nil {
		return true
	}
	check(r.UDPPorts, in.Registered.PortsUDP, in.UsedUDP, "udp")
	return busy
}

// explanation collects why one instance does not fit.
type explanation struct {
	causes  []Cause
	phrases []string
	ports   []string
}

func (e *explanation) add(c Cause, phrase string) {
	e.causes = append(e.causes, c)
	e.phrases = append(e.phrases, phrase)
}

func (e *explanation) busyPorts() string {
	if len(e.ports) == 1 {
		return "port " + e.ports[0]
	}
	return "ports " + strings.Join(e.ports, ", ")
}

// unplaceable explains why no instance fits t, naming the closest one.
func (s *Snapshot) unplaceable(t *Task, cons []constraint) *Unplaceable {
	best, bestLive, bestFailed, bestFree := -1, false, 0, int64(0)
	for i, in := range s.Instances {
		live := s.meta[i].live
		failed := s.evaluate(i, t, cons, true, nil)
		free := in.Registered.Memory - in.UsedMemory
		better := best < 0 ||
			(live && !bestLive) ||
			(live == bestLive && (failed < bestFailed || (failed == bestFailed && free > bestFree)))
		if better {
			best, bestLive, bestFailed, bestFree = i, live, failed, free
		}
	}
	why := &explanation{}
	s.evaluate(best, t, cons, true, why)
	name := s.Instances[best].Name
	return &Unplaceable{
		Reason:   fmt.Sprintf("%s The closest matching container instance %s %s.", reasonPrefix, name, joinPhrases(why.phrases)),
		Instance: name,
		Causes:   why.causes,
	}
}

// joinPhrases joins "a", "b", "c" as "a, b and c".
func joinPhrases(p []string) string {
	switch len(p) {
	case 0:
		return "fits" // not reached: unplaceable is called when nothing fits
	case 1:
		return p[0]
	}
	return strings.Join(p[:len(p)-1], ", ") + " and " + p[len(p)-1]
}
