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
	"strconv"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"

	ecsv1 "github.com/longshore-io/longshore/api/v1alpha1"
	"github.com/longshore-io/longshore/test/integration/framework"
	"github.com/longshore-io/longshore/test/integration/simagent"
)

// taskWrites sums the API server's write requests (POST, PUT, PATCH,
// DELETE) on tasks.ecs.longshore.io, from its own /metrics.
func taskWrites(t *testing.T) float64 {
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
	var sum float64
	s := bufio.NewScanner(strings.NewReader(string(body)))
	s.Buffer(make([]byte, 1<<20), 1<<20)
	for s.Scan() {
		line := s.Text()
		if !strings.HasPrefix(line, "apiserver_request_total{") || !strings.Contains(line, `group="ecs.longshore.io"`) ||
			!strings.Contains(line, `resource="tasks"`) {
			continue
		}
		if !strings.Contains(line, `verb="POST"`) && !strings.Contains(line, `verb="PUT"`) &&
			!strings.Contains(line, `verb="PATCH"`) && !strings.Contains(line, `verb="DELETE"`) {
			continue
		}
		f := strings.Fields(line)
		v, _ := strconv.ParseFloat(f[len(f)-1], 64)
		sum += v
	}
	return sum
}

// TestBenchService (`make bench-services`): a Service scaled from 0 to 500
// tasks over 50 simulated instances, and a rolling update of 200 tasks at
// 100/200 %. It prints its figures.
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
	spec := replica("web", 500)
	spec.Cluster = "bench-svc"
	svc := newService(t, ns, "scale", spec)
	waitSteady(t, svc, "web:1", 500, 15*time.Minute)
	scaleTook := time.Since(start)
	writes := taskWrites(t) - w0

	spec2 := replica("web", 200)
	spec2.Cluster = "bench-svc"
	spec2.DeploymentConfiguration = ecsv1.DeploymentConfiguration{MinimumHealthyPercent: ptr.To[int32](100), MaximumPercent: ptr.To[int32](200)}
	roll := newService(t, ns, "roll", spec2)
	waitSteady(t, roll, "web:1", 200, 15*time.Minute)
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
	fmt.Printf("\nlongshore service benchmark (simulated agents, envtest)\n")
	fmt.Printf("  scale 0 → 500 tasks over 50 instances: all RUNNING and steady after %.1f s; %.1f task writes per task (all clients)\n",
		scaleTook.Seconds(), writes/500)
	fmt.Printf("  rolling update of 200 tasks at 100/200 %%: COMPLETED after %.1f s (includes the 2 s healthy rule per task)\n\n", rollTook.Seconds())
}

func withSerializer(cfg *rest.Config) *rest.Config {
	cfg.NegotiatedSerializer = scheme.Codecs.WithoutConversion()
	return cfg
}
