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
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/utils/ptr"

	ecsv1 "github.com/longshore-io/longshore/api/v1alpha1"
	"github.com/longshore-io/longshore/internal/ecsconvert"
	"github.com/longshore-io/longshore/test/integration/framework"
)

// corpusSpec reads a task definition of ../shared/ecs-corpus/ (written by
// other people) and converts it as `kubectl ecs convert --image-map` does,
// every image swapped for the local test image.
func corpusSpec(t *testing.T, file string) ecsv1.TaskDefinitionSpec {
	t.Helper()
	dir := os.Getenv("LONGSHORE_ECS_CORPUS")
	if dir == "" {
		dir = filepath.Join(framework.RepoRoot(), "..", "shared", "ecs-corpus")
	}
	data, err := os.ReadFile(filepath.Join(dir, file))
	if err != nil {
		t.Fatalf("the ECS corpus (set LONGSHORE_ECS_CORPUS): %v", err)
	}
	first, err := ecsconvert.Convert(data, ecsconvert.Options{})
	if err != nil {
		t.Fatal(err)
	}
	images := map[string]string{}
	for _, c := range first.TaskDefinition.Spec.ContainerDefinitions {
		images[c.Image] = testImage
	}
	res, err := ecsconvert.Convert(data, ecsconvert.Options{ImageMap: images})
	if err != nil {
		t.Fatal(err)
	}
	return *res.TaskDefinition.Spec.Registered()
}

func exitCode(task *ecsv1.Task, container string) *int32 {
	for _, c := range task.Status.Containers {
		if c.Name == container {
			return c.ExitCode
		}
	}
	return nil
}

// TestCorpusDockerVolumes runs the ECS agent's own functional tests for
// Docker volumes (corpus 05 and 06): a task-scoped tmpfs volume and a
// shared, autoprovisioned one, each container exiting 42 when it could
// write its file, as upstream expects.
func TestCorpusDockerVolumes(t *testing.T) {
	n := newNode(t, "node-dockervol")

	// 05: scope task, driver local, driverOpts type/device tmpfs.
	task := n.task("task-local", corpusSpec(t, "05-ecsagent-docker-volume-task-tmpfs.json"))
	got := n.wait(task, 60*time.Second, "STOPPED", phase(ecsv1.TaskStopped))
	if code := exitCode(got, "exit"); code == nil || *code != 42 {
		t.Errorf("corpus 05: container exit code %v (%s: %s), want 42: it could not write to its task volume", code, got.Status.StopCode, got.Status.StoppedReason)
	}
	n.deleteTask(task)

	// The task-scoped volume is a tmpfs of the task, gone with it.
	keep := container("main", "sleep", "3600")
	keep.MountPoints = []ecsv1.MountPoint{{SourceVolume: "scratch", ContainerPath: "/data"}}
	spec := ecsv1.TaskDefinitionSpec{NetworkMode: ecsv1.NetworkModeNone, ContainerDefinitions: []ecsv1.ContainerDefinition{keep},
		Volumes: []ecsv1.Volume{{Name: "scratch", DockerVolumeConfiguration: &ecsv1.DockerVolumeConfiguration{Scope: "task", Driver: "local",
			DriverOpts: map[string]ecsv1.OptionValue{"type": "tmpfs", "device": "tmpfs", "o": "size=8m"}}}}}
	task = n.task("tmpfs-vol", spec)
	got = n.wait(task, 60*time.Second, "RUNNING", phase(ecsv1.TaskRunning))
	out, err := n.exec(got, "main", "grep", " /data ", "/proc/mounts")
	if err != nil || !strings.Contains(out, "tmpfs /data tmpfs") || !strings.Contains(out, "size=8192k") {
		t.Errorf("/data inside the container: %q (%v), want an 8 MiB tmpfs", out, err)
	}
	volDir := filepath.Join(n.StateDir, "tasks", string(got.UID), "volumes", "scratch")
	if mounted, err := isTmpfs(volDir); err != nil || !mounted {
		t.Errorf("%s on the host: tmpfs %v (%v)", volDir, mounted, err)
	}
	n.deleteTask(task)
	if _, err := os.Stat(volDir); !os.IsNotExist(err) {
		t.Errorf("task volume %s left behind (%v)", volDir, err)
	}

	// 06: scope shared, autoprovision: the volume outlives the task.
	task = n.task("task-shared", corpusSpec(t, "06-ecsagent-docker-volume-shared.json"))
	got = n.wait(task, 60*time.Second, "STOPPED", phase(ecsv1.TaskStopped))
	if code := exitCode(got, "task-shared-vol-write"); code == nil || *code != 42 {
		t.Errorf("corpus 06: container exit code %v (%s: %s), want 42", code, got.Status.StopCode, got.Status.StoppedReason)
	}
	n.deleteTask(task)
	shared := filepath.Join(n.StateDir, "shared-volumes", "task-shared")
	if b, err := os.ReadFile(filepath.Join(shared, "success")); err != nil || string(b) != "can you read me\n" {
		t.Errorf("shared volume after its task: %q (%v)", b, err)
	}
	// Another task names it, without autoprovision: it reads what the first wrote.
	reader := container("reader", "sleep", "3600")
	reader.MountPoints = []ecsv1.MountPoint{{SourceVolume: "task-shared", ContainerPath: "/ecs", ReadOnly: true}}
	sharedVol := func(name string) []ecsv1.Volume {
		return []ecsv1.Volume{{Name: name, DockerVolumeConfiguration: &ecsv1.DockerVolumeConfiguration{Scope: "shared", Driver: "local", Autoprovision: ptr.To(false)}}}
	}
	task = n.task("shared-reader", ecsv1.TaskDefinitionSpec{NetworkMode: ecsv1.NetworkModeNone,
		ContainerDefinitions: []ecsv1.ContainerDefinition{reader}, Volumes: sharedVol("task-shared")})
	got = n.wait(task, 60*time.Second, "RUNNING", phase(ecsv1.TaskRunning))
	if out, err := n.exec(got, "reader", "cat", "/ecs/success"); err != nil || !strings.Contains(out, "can you read me") {
		t.Errorf("the second task reads %q (%v)", out, err)
	}
	n.deleteTask(task)
	// A shared volume that does not exist, without autoprovision: the task fails to start.
	missing := container("main", "true")
	missing.MountPoints = []ecsv1.MountPoint{{SourceVolume: "nowhere", ContainerPath: "/ecs"}}
	task = n.task("shared-missing", ecsv1.TaskDefinitionSpec{NetworkMode: ecsv1.NetworkModeNone,
		ContainerDefinitions: []ecsv1.ContainerDefinition{missing}, Volumes: sharedVol("nowhere")})
	got = n.wait(task, 60*time.Second, "STOPPED", phase(ecsv1.TaskStopped))
	want := fmt.Sprintf("the shared Docker volume nowhere does not exist on container instance %s and autoprovision is false", n.Name)
	if got.Status.StopCode != ecsv1.StopCodeTaskFailedToStart || !strings.Contains(got.Status.StoppedReason, want) {
		t.Errorf("stopCode %q reason %q, want TaskFailedToStart with %q", got.Status.StopCode, got.Status.StoppedReason, want)
	}
	n.deleteTask(task)
	_ = os.RemoveAll(filepath.Join(n.StateDir, "shared-volumes"))
}

// isTmpfs tells whether dir is a tmpfs mount point on the host.
func isTmpfs(dir string) (bool, error) {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return false, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) > 8 && f[4] == dir {
			for i, x := range f {
				if x == "-" && i+1 < len(f) {
					return f[i+1] == "tmpfs", nil
				}
			}
		}
	}
	return false, nil
}
