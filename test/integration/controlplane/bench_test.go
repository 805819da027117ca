//go:build integration && bench

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

package controlplane

import (
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ecsv1 "github.com/longshore-io/longshore/api/v1alpha1"
	"github.com/longshore-io/longshore/test/integration/simagent"
)

// TestBenchBinding (`make bench-manager`): N Tasks created at once through
// the API server against simulated instances; time until every one is
// bound to an instance, and tasks/s. It prints its figures.
func TestBenchBinding(t *testing.T) {
	count := 1000
	if v, err := strconv.Atoi(os.Getenv("LONGSHORE_BENCH_TASKS")); err == nil && v > 0 {
		count = v
	}
	const instances = 20
	ns := newNamespace(t)
	newCluster(t, "cp-bench", nil)
	for i := range instances {
		// Tasks stay PENDING: only binding is measured.
		agentFor(t, fmt.Sprintf("bench-%02d", i), simagent.Options{Cluster: "cp-bench", Cores: 64, MemoryMiB: 1 << 20,
			Poll: time.Second, Hold: func(*ecsv1.Task) bool { return true }})
	}
	family(t, ns, "web", web(64))
	time.Sleep(2 * time.Second) // instances connected
	start := time.Now()
	for i := range count {
		task := &ecsv1.Task{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("b%04d", i)},
			Spec: ecsv1.TaskSpec{Cluster: "cp-bench", TaskDefinition: "web"}}
		if err := env.Client.Create(t.Context(), task); err != nil {
			t.Fatal(err)
		}
	}
	created := time.Since(start)
	deadline := time.Now().Add(5 * time.Minute)
	perInstance := map[string]int{}
	for {
		var list ecsv1.TaskList
		if err := env.Client.List(t.Context(), &list, client.InNamespace(ns)); err != nil {
			t.Fatal(err)
		}
		bound := 0
		clear(perInstance)
		for _, tk := range list.Items {
			if tk.Spec.ContainerInstance != "" {
				bound++
				perInstance[tk.Spec.ContainerInstance]++
			}
		}
		if bound == count {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d bound after 5 minutes", bound, count)
		}
		time.Sleep(100 * time.Millisecond)
	}
	took := time.Since(start)
	minN, maxN := count, 0
	for _, n := range perInstance {
		minN, maxN = min(minN, n), max(maxN, n)
	}
	fmt.Printf("\nlongshore manager binding benchmark: %d tasks created at once (creates took %.2f s), %d simulated instances\n", count, created.Seconds(), instances)
	fmt.Printf("  all bound after %.2f s: %.0f tasks/s; per instance min %d max %d (default spread by instanceId)\n\n",
		took.Seconds(), float64(count)/took.Seconds(), minN, maxN)
}
