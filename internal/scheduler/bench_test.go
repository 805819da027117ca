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
	"testing"

	ecsv1 "github.com/longshore-io/longshore/api/v1alpha1"
)

// benchInstances builds n instances over three zones and two instance
// types, a few draining or disconnected, some already loaded.
func benchInstances(n int) []*Instance {
	rnd := rand.New(rand.NewPCG(42, 42))
	zones := []string{"us-east-1a", "us-east-1b", "us-east-1c"}
	types := []string{"m5.large", "c5.xlarge"}
	out := make([]*Instance, n)
	for i := range out {
		in := &Instance{
			Name:      fmt.Sprintf("i-%06d", i),
			State:     ecsv1.ContainerInstanceActive,
			Connected: true,
			Attributes: map[string]string{
				"ecs.availability-zone": zones[i%len(zones)],
				"ecs.instance-type":     types[i%len(types)],
				"ecs.os-type":           "linux",
				"ecs.instance-id":       fmt.Sprintf("i-%06d", i),
			},
			Registered: ecsv1.Resources{CPU: 8192, Memory: 32768, Ports: []int32{22, 2375, 2376, 51678, 51679}},
			UsedTCP:    map[int32]bool{},
			UsedUDP:    map[int32]bool{},
			Groups:     map[string]int{},
		}
		switch {
		case i%97 == 0:
			in.State = ecsv1.ContainerInstanceDraining
		case i%89 == 0:
			in.Connected = false
		}
		// Some existing load.
		for range rnd.IntN(4) {
			in.UsedCPU += 512
			in.UsedMemory += 2048
			in.RunningTasks++
			in.Groups["service:legacy"]++
		}
		out[i] = in
	}
	return out
}

// benchTasks are the mixed tasks the benchmark cycles through.
func benchTasks() []Task {
	return []Task{
		{ // a web service spread over zones, packed by memory, with a dynamic port
			Namespace: "prod", Group: "service:web",
			Requirements: Requirements{CPU: 256, Memory: 512, DynamicPorts: 1},
			Constraints:  []ecsv1.PlacementConstraint{memberOf("attribute:ecs.os-type == linux and runningTasksCount < 40")},
			Strategies:   []ecsv1.PlacementStrategy{spread("attribute:ecs.availability-zone"), binpack("memory")},
		},
		{ // one api task per instance, on m5 instances, spread over instances
			Namespace: "prod", Group: "service:api",
			Requirements: Requirements{CPU: 512, Memory: 1024, TCPPorts: []int32{8080}},
			Constraints:  []ecsv1.PlacementConstraint{distinct, memberOf(`attribute:ecs.instance-type =~ "m5\..*"`)},
			Strategies:   []ecsv1.PlacementStrategy{spread("instanceId")},
		},
		{ // batch jobs packed by cpu in two zones, away from the api
			Namespace: "batch", Group: "family:batch",
			Requirements: Requirements{CPU: 1024, Memory: 256},
			Constraints:  []ecsv1.PlacementConstraint{memberOf("attribute:ecs.availability-zone in [us-east-1a, us-east-1b] and not(task:group == service:api)")},
			Strategies:   []ecsv1.PlacementStrategy{binpack("cpu"), random},
		},
		{ // default strategy
			Namespace: "dev", Group: "family:tool",
			Requirements: Requirements{CPU: 128, Memory: 128},
		},
	}
}

// BenchmarkPlace places and Assumes mixed tasks on snapshots of 100, 1000
// and 5000 instances, rebuilding the snapshot (untimed) every n
// placements so that it never fills up.
func BenchmarkPlace(b *testing.B) {
	for _, n := range []int{100, 1000, 5000} {
		b.Run(fmt.Sprintf("instances=%d", n), func(b *testing.B) {
			tasks := benchTasks()
			policy := Policy{Namespaces: []string{"prod", "batch", "dev"}}
			rnd := rand.New(rand.NewPCG(1, 2))
			s := NewSnapshot(policy, benchInstances(n))
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if i > 0 && i%n == 0 {
					b.StopTimer()
					s = NewSnapshot(policy, benchInstances(n))
					b.StartTimer()
				}
				task := tasks[i%len(tasks)]
				p, err := s.Place(task, rnd)
				if err != nil {
					b.Fatalf("placement %d: %v", i, err)
				}
				s.Assume(p.Instance, task.Group, task.Requirements)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "placements/s")
		})
	}
}

// BenchmarkPlaceUnplaceable measures the slow path that explains a refusal.
func BenchmarkPlaceUnplaceable(b *testing.B) {
	s := NewSnapshot(Policy{}, benchInstances(5000))
	task := Task{Group: "g", Requirements: Requirements{Memory: 1 << 20}}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Place(task, nil); err == nil {
			b.Fatal("placed an impossible task")
		}
	}
}
