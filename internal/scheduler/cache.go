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
	"maps"
	"slices"
	"sync"

	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/types"

	ecsv1 "github.com/longshore-io/longshore/api/v1alpha1"
)

// binding is a task's claim on an instance: what Assume accounts.
type binding struct {
	instance string
	group    string
	req      Requirements
}

func (b binding) equal(o binding) bool {
	return b.instance == o.instance && b.group == o.group && b.req.CPU == o.req.CPU && b.req.Memory == o.req.Memory &&
		b.req.GPU == o.req.GPU && b.req.DynamicPorts == o.req.DynamicPorts &&
		slices.Equal(b.req.TCPPorts, o.req.TCPPorts) && slices.Equal(b.req.UDPPorts, o.req.UDPPorts)
}

// clusterState is the cache's view of one cluster.
type clusterState struct {
	policy Policy
	// instances are the cluster's instances as the informer shows them,
	// with no usage: Snapshot copies them.
	instances map[string]*Instance
	// bound are the tasks the informer shows bound here and not STOPPED;
	// assumed those the scheduler placed whose bind the informer has not
	// shown yet.
	bound, assumed map[types.NamespacedName]binding
	// snap is the snapshot Place works on, kept up to date by assume and
	// rebuilt after any other change (nil: rebuild before the next Place).
	snap *Snapshot
}

// cache is the scheduler's picture of the clusters, fed by informer
// events, with the placements it assumed (kube-scheduler's assume/forget):
// a task placed is assumed at once, so the next placement sees it while
// its bind is written; a failed bind is forgotten (its capacity released);
// the informer's view of the bind confirms it.
type cache struct {
	mu       sync.Mutex
	clusters map[string]*clusterState
	// taskCluster is the cluster of each task bound or assumed.
	taskCluster map[types.NamespacedName]string
	// instanceCluster is the cluster of each instance.
	instanceCluster map[string]string
	// rebuilds counts snapshot rebuilds.
	rebuilds int
}

func newCache() *cache {
	return &cache{clusters: map[string]*clusterState{}, taskCluster: map[types.NamespacedName]string{},
		instanceCluster: map[string]string{}}
}

func (c *cache) cluster(name string) *clusterState {
	cs, ok := c.clusters[name]
	if !ok {
		cs = &clusterState{instances: map[string]*Instance{}, bound: map[types.NamespacedName]binding{},
			assumed: map[types.NamespacedName]binding{}}
		c.clusters[name] = cs
	}
	return cs
}

// setPolicy records a Cluster's policy; it reports whether it changed.
func (c *cache) setPolicy(cluster string, p Policy) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	cs := c.cluster(cluster)
	if apiequality.Semantic.DeepEqual(cs.policy.Security, p.Security) && slices.Equal(cs.policy.Namespaces, p.Namespaces) {
		return false
	}
	cs.policy = p
	if cs.snap != nil {
		cs.snap.Policy = p
	}
	return true
}

// policy returns a cluster's policy.
// instanceIn is the cluster of a registered instance, false when the
// cache knows no instance of that name.
func (c *cache) instanceIn(name string) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	cl, ok := c.instanceCluster[name]
	return cl, ok
}

func (c *cache) policy(cluster string) Policy {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cluster(cluster).policy
}

// setInstance records an instance (nil: deleted); it reports whether what
// placement looks at changed.
func (c *cache) setInstance(name, cluster string, in *Instance) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := c.instanceCluster[name]; ok && (old != cluster || in == nil) {
		cs := c.cluster(old)
		delete(cs.instances, name)
		cs.snap = nil
		delete(c.instanceCluster, name)
		if in == nil {
			return true
		}
	}
	if in == nil {
		return false
	}
	cs := c.cluster(cluster)
	if old, ok := cs.instances[name]; ok && sameInstance(old, in) {
		return false
	}
	cs.instances[name] = in
	c.instanceCluster[name] = cluster
	cs.snap = nil
	return true
}

func sameInstance(a, b *Instance) bool {
	return a.Name == b.Name && a.State == b.State && a.Connected == b.Connected && maps.Equal(a.Attributes, b.Attributes) &&
		a.Registered.CPU == b.Registered.CPU && a.Registered.Memory == b.Registered.Memory && a.Registered.GPU == b.Registered.GPU &&
		slices.Equal(a.Registered.Ports, b.Registered.Ports) && slices.Equal(a.Registered.PortsUDP, b.Registered.PortsUDP) &&
		a.DynamicPortRange == b.DynamicPortRange
}

// setTask records what the informer shows of a task: bound to b in
// cluster, or unbound (b nil), or gone (STOPPED or deleted). It confirms an
// assumed placement the informer shows bound; an unbound view leaves the
// assumption alone (the bind may be in flight), a gone task drops it. It
// reports whether capacity was freed.
func (c *cache) setTask(key types.NamespacedName, cluster string, b *binding, gone bool) (freed bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := c.taskCluster[key]; ok && (old != cluster || gone || b != nil) {
		cs := c.cluster(old)
		_, wasBound := cs.bound[key]
		_, wasAssumed := cs.assumed[key]
		if old != cluster || gone {
			freed = wasBound || wasAssumed
			delete(cs.bound, key)
			delete(cs.assumed, key)
			delete(c.taskCluster, key)
			if freed {
				cs.snap = nil
			}
		}
	}
	if b == nil {
		return freed
	}
	cs := c.cluster(cluster)
	c.taskCluster[key] = cluster
	if a, ok := cs.assumed[key]; ok {
		delete(cs.assumed, key)
		cs.bound[key] = *b
		if !a.equal(*b) {
			cs.snap = nil // bound elsewhere, or with other numbers, than assumed
			freed = true
		}
		return freed
	}
	if old, ok := cs.bound[key]; ok {
		if !old.equal(*b) {
			cs.bound[key] = *b
			cs.snap = nil
			freed = true
		}
		return freed
	}
	cs.bound[key] = *b
	if cs.snap != nil {
		cs.snap.Assume(b.instance, b.group, b.req)
	}
	return freed
}

// place places t in its cluster and assumes the placement.
func (c *cache) place(cluster string, key types.NamespacedName, t Task, pick func(*Snapshot, Task) (Placement, error)) (Placement, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	cs := c.cluster(cluster)
	snap := c.snapshot(cs)
	p, err := pick(snap, t)
	if err != nil {
		return p, err
	}
	c.assumeLocked(cs, cluster, key, binding{instance: p.Instance, group: t.Group, req: t.Requirements})
	return p, nil
}

// assume accounts a placement decided elsewhere (a task bound by its
// creator) until the informer shows it.
func (c *cache) assume(cluster string, key types.NamespacedName, b binding) {
	c.mu.Lock()
	defer c.mu.Unlock()
	cs := c.cluster(cluster)
	if old, ok := cs.bound[key]; ok && old.equal(b) {
		return
	}
	c.assumeLocked(cs, cluster, key, b)
}

func (c *cache) assumeLocked(cs *clusterState, cluster string, key types.NamespacedName, b binding) {
	if _, ok := cs.bound[key]; ok {
		delete(cs.bound, key)
		cs.snap = nil
	}
	if _, ok := cs.assumed[key]; ok {
		cs.snap = nil
	}
	cs.assumed[key] = b
	c.taskCluster[key] = cluster
	if cs.snap != nil {
		cs.snap.Assume(b.instance, b.group, b.req)
	}
}

// forget drops an assumed placement whose bind failed: its capacity is
// released. It reports whether there was one.
func (c *cache) forget(key types.NamespacedName) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	cluster, ok := c.taskCluster[key]
	if !ok {
		return false
	}
	cs := c.cluster(cluster)
	if _, ok := cs.assumed[key]; !ok {
		return false
	}
	delete(cs.assumed, key)
	if _, ok := cs.bound[key]; !ok {
		delete(c.taskCluster, key)
	}
	cs.snap = nil
	return true
}

// snapshot returns the cluster's snapshot, rebuilding it if needed.
func (c *cache) snapshot(cs *clusterState) *Snapshot {
	if cs.snap != nil {
		return cs.snap
	}
	c.rebuilds++
	list := make([]*Instance, 0, len(cs.instances))
	for _, in := range cs.instances {
		cp := *in
		list = append(list, &cp)
	}
	s := NewSnapshot(cs.policy, list)
	for _, b := range cs.bound {
		s.Assume(b.instance, b.group, b.req)
	}
	for _, b := range cs.assumed {
		s.Assume(b.instance, b.group, b.req)
	}
	cs.snap = s
	return s
}

// usage returns the CPU units and memory accounted on an instance (for
// tests and debugging).
func (c *cache) usage(cluster, instance string) (cpu, memory int64, tasks int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	cs := c.cluster(cluster)
	s := c.snapshot(cs)
	in := s.Instance(instance)
	if in == nil {
		return 0, 0, 0
	}
	return in.UsedCPU, in.UsedMemory, in.RunningTasks
}

// InstanceOf builds the scheduler's Instance of a ContainerInstance, with
// no task accounted on it (Assume accounts them).
func InstanceOf(ci *ecsv1.ContainerInstance) *Instance {
	attrs := make(map[string]string, len(ci.Status.Attributes)+len(ci.Spec.Attributes))
	for _, a := range ci.Status.Attributes {
		attrs[a.Name] = a.Value
	}
	for _, a := range ci.Spec.Attributes {
		attrs[a.Name] = a.Value
	}
	in := &Instance{Name: ci.Name, State: ci.Spec.State, Connected: ci.Status.Connected(), Attributes: attrs}
	if ci.Status.RegisteredResources != nil {
		in.Registered = *ci.Status.RegisteredResources
	}
	return in
}
