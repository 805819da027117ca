//go:build node

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

package node

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
	"time"

	"k8s.io/utils/ptr"

	ecsv1 "github.com/longshore-io/longshore/api/v1alpha1"
	"github.com/longshore-io/longshore/test/integration/framework"
)

// TestStatsThroughTheAgent: kubectl ecs stats reads a task's containers'
// figures from the agent that runs them — a busy loop's CPU, a memory
// limit as the container's cgroup has it, the processes — as JSON in the
// Docker stats shape and as docker stats' table.
func TestStatsThroughTheAgent(t *testing.T) {
	n := newNode(t, "node-stats")
	burner := container("burner", "sh", "-c", "while :; do :; done")
	idle := container("idle", "sleep", "3600")
	idle.Memory = ptr.To[int32](64)
	task := n.task("stats", ecsv1.TaskDefinitionSpec{NetworkMode: ecsv1.NetworkModeNone,
		ContainerDefinitions: []ecsv1.ContainerDefinition{burner, idle}})
	n.wait(task, 60*time.Second, "RUNNING", phase(ecsv1.TaskRunning))
	plugin := framework.BuildBinary(t, "./cmd/kubectl-ecs")
	kubeconfig := pluginKubeconfig(t, admin(t))

	type cpu struct {
		Usage struct {
			Total uint64 `json:"total_usage"`
		} `json:"cpu_usage"`
		System uint64 `json:"system_cpu_usage"`
		Online uint32 `json:"online_cpus"`
	}
	var stats map[string]*struct {
		ID     string `json:"id"`
		CPU    cpu    `json:"cpu_stats"`
		PreCPU cpu    `json:"precpu_stats"`
		Memory struct {
			Usage uint64 `json:"usage"`
			Limit uint64 `json:"limit"`
		} `json:"memory_stats"`
		Pids struct {
			Current uint64 `json:"current"`
		} `json:"pids_stats"`
	}
	start := time.Now()
	b, err := exec.Command(plugin, "stats", "--kubeconfig", kubeconfig, "-n", n.NS, task.Name, "-o", "json").CombinedOutput()
	if err != nil {
		t.Fatalf("kubectl ecs stats -o json: %v\n%s", err, b)
	}
	t.Logf("kubectl ecs stats -o json answered in %v", time.Since(start).Round(time.Millisecond))
	if err := json.Unmarshal(b, &stats); err != nil {
		t.Fatalf("%v\n%s", err, b)
	}
	percent := func(name string) float64 {
		s := stats[name]
		if s == nil {
			t.Fatalf("no stats of %s: %s", name, b)
		}
		cpuDelta := float64(s.CPU.Usage.Total) - float64(s.PreCPU.Usage.Total)
		sysDelta := float64(s.CPU.System) - float64(s.PreCPU.System)
		if sysDelta <= 0 {
			t.Fatalf("%s: no system CPU time between the two samples: %s", name, b)
		}
		return cpuDelta / sysDelta * float64(s.CPU.Online) * 100
	}
	burnerCPU, idleCPU := percent("burner"), percent("idle")
	t.Logf("CPU: burner %.1f%%, idle %.1f%%", burnerCPU, idleCPU)
	// A busy loop takes a CPU when it can: whatever else runs here, far
	// more than a sleeping process.
	if burnerCPU < 10 || idleCPU > 5 || idleCPU >= burnerCPU {
		t.Fatalf("CPU: burner %.1f%%, idle %.1f%%\n%s", burnerCPU, idleCPU, b)
	}
	if l := stats["idle"].Memory.Limit; l != 64<<20 {
		t.Fatalf("idle's memory limit %d, want 64 MiB (its memory: 64)", l)
	}
	for name, s := range stats {
		if s.Pids.Current < 1 || s.Memory.Usage == 0 || len(s.ID) != 64 {
			t.Fatalf("%s: pids %d, memory %d, id %q", name, s.Pids.Current, s.Memory.Usage, s.ID)
		}
	}

	// docker stats' table, one line a container; -c selects one.
	b, err = exec.Command(plugin, "stats", "--kubeconfig", kubeconfig, "-n", n.NS, task.Name).CombinedOutput()
	if err != nil {
		t.Fatalf("kubectl ecs stats: %v\n%s", err, b)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "CONTAINER") || !strings.HasPrefix(lines[1], "burner ") ||
		!strings.HasPrefix(lines[2], "idle ") || !strings.Contains(lines[2], "/ 64MiB") {
		t.Fatalf("kubectl ecs stats:\n%s", b)
	}
	t.Logf("kubectl ecs stats:\n%s", b)
	b, err = exec.Command(plugin, "stats", "--kubeconfig", kubeconfig, "-n", n.NS, task.Name, "-c", "nope").CombinedOutput()
	if err == nil || !strings.Contains(string(b), `no container "nope" with stats; its containers: burner, idle`) {
		t.Fatalf("kubectl ecs stats -c nope: %v %s", err, b)
	}
}
