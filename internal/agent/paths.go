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
	"errors"
	"os"
	"path/filepath"
	"strings"

	"k8s.io/apimachinery/pkg/types"
)

// The host paths of a task, all derived from its UID, so that a task that
// no longer exists can be cleaned up from what it left.

// taskDir is the task's directory under the state directory: volumes,
// Secret files, /etc files, the sync's records.
func (r *TaskReconciler) taskDir(uid types.UID) string {
	return filepath.Join(r.StateDir, "tasks", string(uid))
}

// runDir is the agent's run directory (short paths, gone at reboot).
func (r *TaskReconciler) runDir() string {
	if r.RunDir == "" {
		return DefaultRunDir
	}
	return r.RunDir
}

// stdinDir holds the stdin FIFOs of the task's interactive containers.
func (r *TaskReconciler) stdinDir(uid types.UID) string {
	return filepath.Join(r.runDir(), "stdin", taskIDOf(uid))
}

// fireLensDir is the task's FireLens directory on the host: under the
// agent's run directory, not its state directory, so that the socket's
// path stays within the 107 bytes a Unix socket path may have.
func (r *TaskReconciler) fireLensDir(uid types.UID) string {
	return filepath.Join(r.runDir(), "firelens", taskIDOf(uid))
}

// cgroupParent is the task's cgroup (cgroupfs path), laid out as ECS's
// agent lays its own out (/ecs/<task id>/<container id>) under
// /longshore: a container's cgroup path ends with /ecs/<task id>/<its
// 64-hex id>, where the ECS integrations that read /proc/self/cgroup find
// the container id.
func cgroupParent(uid types.UID) string {
	return "/longshore/ecs/" + taskIDOf(uid)
}

// legacyCgroupParent is where an earlier agent version put the task's
// cgroup; the cleanup removes it too.
func legacyCgroupParent(uid types.UID) string {
	return "/longshore/" + taskIDOf(uid)
}

// taskIDOf is a task's id as ECS writes it: 32 hexadecimal digits (the
// Task's UID without dashes).
func taskIDOf(uid types.UID) string { return strings.ReplaceAll(string(uid), "-", "") }

// taskDirs are the UIDs of the task directories under the state directory.
func (r *TaskReconciler) taskDirs() ([]types.UID, error) {
	entries, err := os.ReadDir(filepath.Join(r.StateDir, "tasks"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	out := make([]types.UID, 0, len(entries))
	for _, e := range entries {
		if e.IsDir() {
			out = append(out, types.UID(e.Name()))
		}
	}
	return out, nil
}
