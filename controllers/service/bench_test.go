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

package service_test

import (
	"bufio"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ecsv1 "github.com/longshore-io/longshore/api/v1alpha1"
	"github.com/longshore-io/longshore/test/integration/framework"
	"github.com/longshore-io/longshore/test/integration/simagent"
)

// writeCounts are the API server's write requests (POST, PUT, PATCH,
// DELETE) on tasks.ecs.longshore.io, from its own /metrics, by verb and
// subresource ("PATCH status", "POST", ...): every client's.
type writeCounts map[string]float64

func taskWrites(t *testing.T) writeCounts {
	t.Helper()
	cfg := rest.CopyConfig(env.Env.Config)
	cfg.GroupVersion = nil
	cfg.NegotiatedSerializer = nil
	rc, err := rest.UnversionedRESTClientFor(withSerializer(cfg))
	if err != nil {
		t.Fatal(err)
	}
	body, err := rc.Get().AbsPath("/metrics").DoRaw(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	out := writeCounts{}
	s := bufio.NewScanner(strings.NewReader(string(body)))
	s.Buffer(make([]byte, 1<<20), 1<<20)
	for s.Scan() {
		line := s.Text()
		if !strings.HasPrefix(line, "apiserver_request_total{") || !strings.Contains(line, `group="ecs.longshore.io"`) ||
			!strings.Contains(line, `resource="tasks"`) {
			continue
		}
		verb := label(line, "verb")
		if verb != "POST" && verb != "PUT" && verb != "PATCH" && verb != "DELETE" {
			continue
		}
		key := verb
		if sub := label(line, "subresource"); sub != "" {
			key += " " + sub
		}
		f := strings.Fields(line)
		v, _ := strconv.ParseFloat(f[len(f)-1], 64)
		out[key] += v
	}
	return out
}

func label(line, name string) string {
	_, rest, ok := strings.Cut(line, name+`="`)
	if !ok {
		return ""
	}
	v, _, _ := strings.Cut(rest, `"`)
	return v
}

// since is the writes made after before, per task.
func (w writeCounts) since(before writeCounts, tasks int) string {
	keys := make([]string, 0, len(w))
	total := 0.0
	for k, v := range w {
		if d := v - before[k]; d > 0 {
			keys = append(keys, k)
			total += d
		}
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %.2f", k, (w[k]-before[k])/float64(tasks)))
	}
	return fmt.Sprintf("%.2f (%s)", total/float64(tasks), strings.Join(parts, ", "))
}

// runStandalone is the floor of the scale-out: the same client creates n
// Tasks of the same family in the same cluster (ECS RunTask, no Service),
// and the same simulated agents run them; it returns the time until every
// one is RUNNING and the writes per task until then. The tasks stay.
func runStandalone(t *testing.T, ns, cluster string, n int) (time.Duration, string) {
	t.Helper()
	w0 := taskWrites(t)
	start := time.Now()
	for i := range n {
		task := &ecsv1.Task{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("floor-%04d", i)},
			Spec: ecsv1.TaskSpec{Cluster: cluster, TaskDefinition: "web:1"}}
		if err := env.Client.Create(t.Context(), task); err != nil {
			t.Fatal(err)
		}
	}
	framework.Eventually(t, 15*time.Minute, fmt.Sprintf("%d standalone tasks RUNNING", n), func() error {
		var l ecsv1.TaskList
		if err := env.Client.List(t.Context(), &l, client.InNamespace(ns)); err != nil {
			return err
		}
		running := 0
		for _, task := range l.Items {
			if strings.HasPrefix(task.Name, "floor-") && task.Status.LastStatus == ecsv1.TaskRunning {
				running++
			}
		}
		if running < n {
			return fmt.Errorf("%d of %d RUNNING", running, n)
		}
		return nil
	})
	took := time.Since(start)
	return took, taskWrites(t).since(w0, n)
}

// TestBenchService (`make bench-services`): a Service scaled from 0 to 500
// tasks over 50 simulated instances, against its floor (the same 500 tasks
// run standalone, with no Service), and a rolling update of 200 tasks at
// 100/200 %, with the API writes per task of each. It prints its figures.
func TestBenchService(t *testing.T) {
	ns := newNamespace(t)
	newCluster(t, "bench-svc")
	var names []string
	for i := range 50 {
		name := fmt.Sprintf("bench-svc-%02d", i)
		names = append(names, name)
		agentFor(t, name, simagent.Options{Cluster: "bench-svc", Cores: 64, MemoryMiB: 1 << 20, Poll: 500 * time.Millisecond})
	}
	waitConnected(t, names...)
	family(t, ns, "web", tdSpec("web:1", 10, 64))

	w0 := taskWrites(t)
	start := time.Now()
	// Pinned to web:1, so that only the second Service rolls below.
	spec := replica("web:1", 500)
	spec.Cluster = "bench-svc"
	svc := newService(t, ns, "scale", spec)
	waitSteady(t, svc, "web:1", 500, 15*time.Minute)
	scaleTook := time.Since(start)
	if err := env.Client.Delete(t.Context(), svc); err != nil { // its tasks' stops are not the roll's
		t.Fatal(err)
	}
	framework.Eventually(t, 10*time.Minute, "the first Service and its tasks gone", func() error {
		var l ecsv1.TaskList
		if err := env.Client.List(t.Context(), &l, client.InNamespace(ns)); err != nil {
			return err
		}
		if len(l.Items) > 0 {
			return fmt.Errorf("%d tasks left", len(l.Items))
		}
		return nil
	})
	scaleWrites := taskWrites(t).since(w0, 500)

	spec2 := replica("web", 200)
	spec2.Cluster = "bench-svc"
	spec2.DeploymentConfiguration = ecsv1.DeploymentConfiguration{MinimumHealthyPercent: ptr.To[int32](100), MaximumPercent: ptr.To[int32](200)}
	roll := newService(t, ns, "roll", spec2)
	waitSteady(t, roll, "web:1", 200, 15*time.Minute)
	w0 = taskWrites(t)
	start = time.Now()
	newRevision(t, ns, "web", "web:2", 2)
	framework.Eventually(t, 15*time.Minute, "roll COMPLETED", func() error {
		got := getService(t, roll)
		for _, d := range got.Status.Deployments {
			if d.Status == ecsv1.DeploymentPrimary && d.TaskDefinition == "web:2" && d.RolloutState == ecsv1.RolloutCompleted {
				return nil
			}
		}
		return fmt.Errorf("deployments %+v", got.Status.Deployments)
	})
	rollTook := time.Since(start)
	rollWrites := taskWrites(t).since(w0, 200)
	// Last, so that no other phase's writes overlap it: the same 500 tasks
	// standalone (the roll's 200 keep running beside them).
	floor, floorWrites := runStandalone(t, ns, "bench-svc", 500)
	fmt.Printf("\nlongshore service benchmark (simulated agents, envtest; task writes are every client's, per task)\n")
	fmt.Printf("  floor: 500 standalone tasks over 50 instances, all RUNNING after %.1f s; writes %s\n", floor.Seconds(), floorWrites)
	fmt.Printf("  scale 0 → 500 tasks: all RUNNING and steady after %.1f s = %.2f× the floor; writes %s\n",
		scaleTook.Seconds(), scaleTook.Seconds()/floor.Seconds(), scaleWrites)
	fmt.Printf("  rolling update of 200 tasks at 100/200 %%: COMPLETED after %.1f s (includes the 2 s healthy rule per task); writes per replaced task (its replacement's creation, run and the old one's stop and deletion) %s\n\n",
		rollTook.Seconds(), rollWrites)
}

func withSerializer(cfg *rest.Config) *rest.Config {
	cfg.NegotiatedSerializer = scheme.Codecs.WithoutConversion()
	return cfg
}
