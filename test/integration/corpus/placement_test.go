//go:build integration

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

package corpus

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ecsv1 "github.com/longshore-io/longshore/api/v1alpha1"
	"github.com/longshore-io/longshore/internal/ecsconvert"
	"github.com/longshore-io/longshore/test/integration/framework"
	"github.com/longshore-io/longshore/test/integration/simagent"
)

// scheduled waits for the task's Scheduled condition to have status and a
// message with want.
func scheduled(t *testing.T, task *ecsv1.Task, status metav1.ConditionStatus, want string) *ecsv1.Task {
	t.Helper()
	got := &ecsv1.Task{}
	framework.Eventually(t, 20*time.Second, fmt.Sprintf("%s Scheduled=%s with %q", task.Name, status, want), func() error {
		if err := env.Client.Get(t.Context(), client.ObjectKeyFromObject(task), got); err != nil {
			return err
		}
		c := apimeta.FindStatusCondition(got.Status.Conditions, ecsv1.ConditionScheduled)
		if c == nil || c.Status != status || !strings.Contains(c.Message, want) {
			return fmt.Errorf("scheduled %+v, instance %q", c, got.Spec.ContainerInstance)
		}
		return nil
	})
	return got
}

// TestGPUAndRuntimePlatformPlacement: the ECS agent's GPU task (corpus 16)
// stays unplaced, with the reason, until an instance registers a GPU; a
// runtimePlatform for another architecture stays unplaced with the
// constraint it became.
func TestGPUAndRuntimePlatformPlacement(t *testing.T) {
	ns := env.NewNamespace(t, "place")
	env.NewCluster(t, "corpus-place", nil)
	simagent.ForTest(t, env.Client, "place-cpu", simagent.Options{Cluster: "corpus-place"})
	data, err := os.ReadFile(filepath.Join(corpusDir(t), "16-ecsagent-nvidia-gpu.json"))
	if err != nil {
		t.Fatal(err)
	}
	res, err := ecsconvert.Convert(data, ecsconvert.Options{Namespace: ns})
	if err != nil {
		t.Fatal(err)
	}
	gpuTD := res.TaskDefinition
	if err := env.Client.Create(t.Context(), gpuTD); err != nil {
		t.Fatal(err)
	}
	env.WaitRevision(t, ns, gpuTD.Name, 1)
	task := &ecsv1.Task{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "gpu"},
		Spec: ecsv1.TaskSpec{Cluster: "corpus-place", TaskDefinition: gpuTD.Name}}
	if err := env.Client.Create(t.Context(), task); err != nil {
		t.Fatal(err)
	}
	scheduled(t, task, metav1.ConditionFalse, "has insufficient GPUs available (needs 1, has 0)")

	simagent.ForTest(t, env.Client, "place-gpu", simagent.Options{Cluster: "corpus-place", GPUs: 1})
	got := scheduled(t, task, metav1.ConditionTrue, "place-gpu")
	if got.Spec.ContainerInstance != "place-gpu" {
		t.Errorf("GPU task placed on %q", got.Spec.ContainerInstance)
	}
	// The GPU is taken: a second GPU task waits.
	second := &ecsv1.Task{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "gpu-2"},
		Spec: ecsv1.TaskSpec{Cluster: "corpus-place", TaskDefinition: gpuTD.Name}}
	if err := env.Client.Create(t.Context(), second); err != nil {
		t.Fatal(err)
	}
	scheduled(t, second, metav1.ConditionFalse, "has insufficient GPUs available (needs 1, has 0)")
	framework.Eventually(t, 20*time.Second, "place-gpu has 0 GPUs left", func() error {
		ci := &ecsv1.ContainerInstance{}
		if err := env.Client.Get(t.Context(), client.ObjectKey{Name: "place-gpu"}, ci); err != nil {
			return err
		}
		if r := ci.Status.RemainingResources; r == nil || r.GPU != 0 || ci.Status.RegisteredResources.GPU != 1 {
			return fmt.Errorf("registered %+v remaining %+v", ci.Status.RegisteredResources, r)
		}
		return nil
	})

	// runtimePlatform: ARM64 cannot go on x86_64 instances; LINUX/X86_64 can.
	for _, tc := range []struct {
		name, arch, want string
		status           metav1.ConditionStatus
	}{
		{"arm", "ARM64", "does not meet placement constraint memberOf(attribute:ecs.os-type == linux and attribute:ecs.cpu-architecture == arm64)", metav1.ConditionFalse},
		{"x86", "X86_64", "Placed on container instance", metav1.ConditionTrue},
	} {
		spec := ecsv1.TaskDefinitionSpec{NetworkMode: ecsv1.NetworkModeAWSVPC, CPU: "256", Memory: "512",
			RequiresCompatibilities: []ecsv1.Compatibility{"FARGATE"},
			RuntimePlatform:         &ecsv1.RuntimePlatform{OperatingSystemFamily: "LINUX", CPUArchitecture: tc.arch},
			ContainerDefinitions:    []ecsv1.ContainerDefinition{{Name: "app", Image: "busybox"}}}
		env.NewFamily(t, ns, tc.name, spec)
		tk := &ecsv1.Task{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: tc.name}, Spec: ecsv1.TaskSpec{Cluster: "corpus-place", TaskDefinition: tc.name}}
		if err := env.Client.Create(t.Context(), tk); err != nil {
			t.Fatal(err)
		}
		scheduled(t, tk, tc.status, tc.want)
	}
}
