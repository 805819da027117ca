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
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/types"

	lsruntime "github.com/longshore-io/longshore/internal/runtime"
)

// orphanStopTimeout is how long a container of a task that no longer
// exists gets between its stop signal and SIGKILL.
const orphanStopTimeout = 10 * time.Second

// cleanupTask removes everything task uid has on this host, whatever of it
// exists: its containers (stopped first if they still run, their health
// checkers ended), network attachments, cgroup, task directory (volumes
// unmounted), FireLens and stdin directories, task endpoint listeners.
// The host helper binaries its containers referred to are free for
// garbage collection once the containers are gone. Every step is
// idempotent, so a crash in between is finished by the next call. The stop
// path and garbage collection both clean up with it; containers are what
// the caller observed.
func (r *TaskReconciler) cleanupTask(ctx context.Context, uid types.UID, containers []lsruntime.ContainerStatus) error {
	ctx = context.WithoutCancel(ctx)
	// The task's endpoint listeners first: they hold its namespaces.
	r.closeEndpoints(uid)
	// The namespace holder (pidMode/ipcMode task) last: its end kills
	// whatever still runs in the PID namespace it holds.
	containers = slices.Clone(containers)
	slices.SortStableFunc(containers, func(a, b lsruntime.ContainerStatus) int {
		return boolIndex(isHolder(a)) - boolIndex(isHolder(b))
	})
	for _, c := range containers {
		r.health.Stop(c.ID)
		if c.State == lsruntime.StateRunning {
			if err := r.Runtime.Stop(ctx, c.ID, c.StopSignal(), orphanStopTimeout); err != nil {
				return err
			}
		}
		if err := r.Runtime.Delete(ctx, c.ID); err != nil {
			return err
		}
	}
	atts, err := r.Network.List(ctx)
	if err != nil {
		return err
	}
	for _, a := range atts {
		if a.ID == string(uid) || strings.HasPrefix(a.ID, string(uid)+"-") {
			if err := r.Network.Teardown(ctx, a.ID); err != nil {
				return fmt.Errorf("tearing down network %s: %w", a.ID, err)
			}
		}
	}
	if err := os.RemoveAll(r.fireLensDir(uid)); err != nil {
		return fmt.Errorf("removing the task's FireLens directory: %w", err)
	}
	if err := os.RemoveAll(r.stdinDir(uid)); err != nil {
		return fmt.Errorf("removing the task's stdin FIFOs: %w", err)
	}
	for _, cg := range []string{cgroupParent(uid), legacyCgroupParent(uid)} {
		if err := r.Cgroups.Remove(cg); err != nil {
			return err
		}
	}
	// The task directory goes last: it is created first (before the
	// cgroup and the run directories), so while anything of the task is
	// left, garbage collection finds the task by it.
	if err := unmountTaskVolumes(r.taskDir(uid)); err != nil {
		return err
	}
	if err := os.RemoveAll(r.taskDir(uid)); err != nil {
		return fmt.Errorf("removing the task directory: %w", err)
	}
	return nil
}

func boolIndex(b bool) int {
	if b {
		return 1
	}
	return 0
}
