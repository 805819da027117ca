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
	"sigs.k8s.io/controller-runtime/pkg/client"

	ecsv1 "github.com/longshore-io/longshore/api/v1alpha1"
	"github.com/longshore-io/longshore/internal/ecsconvert"
	"github.com/longshore-io/longshore/internal/logs"
	"github.com/longshore-io/longshore/test/integration/framework"
)

// corpusSpec reads a task definition of ../shared/ecs-corpus/ (written by
// other people) and converts it as `kubectl ecs convert --image-map` does,
// every image swapped for the local test image.
func corpusSpec(t *testing.T, file string) ecsv1.TaskDefinitionSpec {
	t.Helper()
	return corpusSpecWith(t, file, nil, nil)
}

// corpusSpecWith is corpusSpec with the placeholders that the file's own
// harness fills in replaced (render) and some images swapped for others
// than the test image (images).
func corpusSpecWith(t *testing.T, file string, render, images map[string]string) ecsv1.TaskDefinitionSpec {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(framework.ECSCorpusDir(t), file))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range render {
		data = []byte(strings.ReplaceAll(string(data), k, v))
	}
	first, err := ecsconvert.Convert(data, ecsconvert.Options{})
	if err != nil {
		t.Fatal(err)
	}
	imageMap := map[string]string{}
	for _, c := range first.TaskDefinition.Spec.ContainerDefinitions {
		imageMap[c.Image] = testImage
		if img, ok := images[c.Image]; ok {
			imageMap[c.Image] = img
		}
	}
	res, err := ecsconvert.Convert(data, ecsconvert.Options{ImageMap: imageMap})
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

func fmtCode(c *int32) string {
	if c == nil {
		return "none"
	}
	return fmt.Sprint(*c)
}

func containerStatus(task *ecsv1.Task, name string) *ecsv1.ContainerStatus {
	for i := range task.Status.Containers {
		if task.Status.Containers[i].Name == name {
			return &task.Status.Containers[i]
		}
	}
	return nil
}

// TestCorpusTasksRun runs task definitions of the corpus whose commands
// exist in the sample image (busybox) as they are, images swapped, and
// checks what their upstream tests check: most of the ECS agent's
// functional tests exit 42 when what they look at inside the container is
// right.
func TestCorpusTasksRun(t *testing.T) {
	n := newNode(t, "node-corpus")
	exits42 := func(container string) func(t *testing.T, got *ecsv1.Task) {
		return func(t *testing.T, got *ecsv1.Task) {
			if code := exitCode(got, container); code == nil || *code != 42 {
				t.Errorf("container %s exit code %s (%s: %s), want 42", container, fmtCode(code), got.Status.StopCode, got.Status.StoppedReason)
			}
		}
	}
	for _, tc := range []struct {
		file, name string
		// until is the phase to wait for; check then looks at the task.
		until ecsv1.TaskStatusPhase
		check func(t *testing.T, got *ecsv1.Task)
	}{
		// host: {} volumes, volumesFrom a container whose command is nonsense.
		// Its data-volume-source container's command is nonsense on purpose
		// (non-essential: it cannot start, and the task goes on without it).
		{"04-ecsagent-datavolume-volumesfrom.json", "datavolume", ecsv1.TaskStopped, func(t *testing.T, got *ecsv1.Task) {
			exits42("exit")(t, got)
			if got.Status.StopCode != ecsv1.StopCodeEssentialContainerExited {
				t.Errorf("stopCode %s (%s), want EssentialContainerExited: a non-essential container that cannot start must not fail the task",
					got.Status.StopCode, got.Status.StoppedReason)
			}
			if c := containerStatus(got, "data-volume-source"); c == nil || c.LastStatus != ecsv1.ContainerStopped ||
				!strings.HasPrefix(c.Reason, "CannotStartContainerError: container data-volume-source") {
				t.Errorf("data-volume-source %+v, want STOPPED with CannotStartContainerError", c)
			}
		}},
		// linuxParameters.tmpfs with size 100 and mountOptions ro, noexec.
		{"08-ecsagent-tmpfs.json", "tmpfs", ecsv1.TaskStopped, exits42("exit")},
		// disableNetworking: no address but loopback (bridge mode).
		{"13-ecsagent-disable-networking.json", "nonet", ecsv1.TaskStopped, exits42("exit")},
		// ulimits nofile 123/234.
		{"10-ecsagent-nofile-ulimit.json", "nofile", ecsv1.TaskStopped, exits42("exit")},
		// systemControls net.ipv4.conf.default.rp_filter = 0 (bridge mode).
		{"11-ecsagent-sysctl.json", "sysctl", ecsv1.TaskStopped, exits42("exit")},
		// json-file logs with max-size/max-file: the output is in the log store.
		{"12-ecsagent-json-file-logs.json", "jsonlogs", ecsv1.TaskStopped, func(t *testing.T, got *ecsv1.Task) {
			file, err := logs.Path(n.LogDir, n.NS, got.Name, "exit")
			if err != nil {
				t.Fatal(err)
			}
			framework.Eventually(t, 10*time.Second, "helloworld in "+file, func() error {
				b, err := os.ReadFile(file)
				if err != nil || !strings.Contains(string(b), `"log":"helloworld\n"`) {
					return fmt.Errorf("%q (%v)", b, err)
				}
				return nil
			})
		}},
		// A CMD-SHELL health check with startPeriod: HEALTHY.
		{"03-ecsagent-container-health.json", "health", ecsv1.TaskRunning, func(t *testing.T, got *ecsv1.Task) {
			framework.Eventually(t, 30*time.Second, "HEALTHY", func() error {
				tk := &ecsv1.Task{}
				if err := env.Client.Get(t.Context(), client.ObjectKeyFromObject(got), tk); err != nil {
					return err
				}
				if tk.Status.HealthStatus != ecsv1.HealthHealthy {
					return fmt.Errorf("health %s", tk.Status.HealthStatus)
				}
				return nil
			})
		}},
		// dependsOn SUCCESS, COMPLETE, HEALTHY: each container starts after
		// what it waits for.
		{"01-ecsagent-container-ordering.json", "ordering", ecsv1.TaskRunning, func(t *testing.T, got *ecsv1.Task) {
			framework.Eventually(t, 60*time.Second, "every container started in order", func() error {
				tk := &ecsv1.Task{}
				if err := env.Client.Get(t.Context(), client.ObjectKeyFromObject(got), tk); err != nil {
					return err
				}
				for _, pair := range [][2]string{{"success", "success-dependency"}, {"complete", "complete-dependency"}, {"healthy", "healthy-dependency"}} {
					c, dep := containerStatus(tk, pair[0]), containerStatus(tk, pair[1])
					if c == nil || dep == nil || c.StartedAt == nil || dep.StartedAt == nil {
						return fmt.Errorf("%s or %s not started yet", pair[0], pair[1])
					}
					if pair[1] != "healthy-dependency" && (dep.FinishedAt == nil || c.StartedAt.Before(dep.FinishedAt)) {
						return fmt.Errorf("%s started at %v, before %s finished (%v)", pair[0], c.StartedAt, pair[1], dep.FinishedAt)
					}
					if pair[1] == "healthy-dependency" && !dep.StartedAt.Before(c.StartedAt) {
						return fmt.Errorf("healthy started at %v, not after healthy-dependency (%v)", c.StartedAt, dep.StartedAt)
					}
				}
				if d := containerStatus(tk, "success-dependency"); d.ExitCode == nil || *d.ExitCode != 0 {
					return fmt.Errorf("success-dependency exit %v", d.ExitCode)
				}
				return nil
			})
		}},
		// Per-container stopTimeout: once the essential container exits (10
		// s), dependency1 (stopTimeout 2, traps SIGTERM) is killed about 2 s
		// later; dependency2 (stopTimeout 20) is given its 20 s (its sleep
		// ends about then, so whether it exits or is killed is a race).
		{"02-ecsagent-granular-stop-timeout.json", "stoptimeout", ecsv1.TaskStopped, func(t *testing.T, got *ecsv1.Task) {
			if got.Status.StopCode != ecsv1.StopCodeEssentialContainerExited || got.Status.StoppingAt == nil {
				t.Fatalf("stopCode %s (%s), stoppingAt %v", got.Status.StopCode, got.Status.StoppedReason, got.Status.StoppingAt)
			}
			stopping := got.Status.StoppingAt.Time
			d1, d2 := containerStatus(got, "dependency1"), containerStatus(got, "dependency2")
			if d1 == nil || d1.FinishedAt == nil || d1.ExitCode == nil || *d1.ExitCode != 137 {
				t.Fatalf("dependency1 %+v: want killed (137)", d1)
			}
			if took := d1.FinishedAt.Sub(stopping); took < time.Second || took > 8*time.Second {
				t.Errorf("dependency1 stopped %s after the task began stopping, want about its stopTimeout of 2 s", took)
			}
			if d2 == nil || d2.FinishedAt == nil {
				t.Fatalf("dependency2 %+v", d2)
			}
			if took := d2.FinishedAt.Sub(stopping); took < 15*time.Second {
				t.Errorf("dependency2 stopped %s after the task began stopping, want its stopTimeout of 20 s honoured", took)
			}
		}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			task := n.task(tc.name, corpusSpec(t, tc.file))
			got := n.wait(task, 90*time.Second, string(tc.until), phase(tc.until))
			tc.check(t, got)
			n.deleteTask(task)
		})
	}
}
