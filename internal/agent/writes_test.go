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

package agent

import (
	"strconv"
	"testing"

	"k8s.io/utils/ptr"

	ecsv1 "github.com/longshore-io/longshore/api/v1alpha1"
	lsruntime "github.com/longshore-io/longshore/internal/runtime"
)

// TestOneWritePerChangeWithFakes: the sync that starts every container
// writes PENDING → RUNNING at once, and a sync that changes nothing (an
// exited non-essential container reported already) writes nothing.
func TestOneWritePerChangeWithFakes(t *testing.T) {
	f := newWithFakes(t, ecsv1.TaskDefinitionSpec{NetworkMode: ecsv1.NetworkModeBridge,
		ContainerDefinitions: []ecsv1.ContainerDefinition{
			{Name: "success", Image: "app:1", Essential: ptr.To(true), DependsOn: []ecsv1.ContainerDependency{{ContainerName: "dep", Condition: ecsv1.DependencySuccess}}},
			{Name: "dep", Image: "app:1", Essential: ptr.To(false)},
		}}, nil)
	rt, task, get, reconcile := f.rt, f.task, f.get, f.reconcile
	reconcile() // dep runs; success waits for its SUCCESS
	if got := get(); got.Status.LastStatus != ecsv1.TaskActivating {
		t.Fatalf("lastStatus %s, want ACTIVATING", got.Status.LastStatus)
	}
	rt.Exit(lsruntime.ContainerID(string(task.UID), "dep", 0), 0)
	before := get().ResourceVersion
	reconcile() // success starts: RUNNING, one status write
	running := get()
	if running.Status.LastStatus != ecsv1.TaskRunning {
		t.Fatalf("lastStatus %s, want RUNNING", running.Status.LastStatus)
	}
	if b, a := atoi(t, before), atoi(t, running.ResourceVersion); a != b+1 {
		t.Errorf("resourceVersion %d → %d: want one write", b, a)
	}
	reconcile()
	if rv := get().ResourceVersion; rv != running.ResourceVersion {
		t.Errorf("a sync that changed nothing wrote the Task (resourceVersion %s → %s)", running.ResourceVersion, rv)
	}
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}
