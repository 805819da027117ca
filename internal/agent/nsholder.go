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
	"strings"

	"k8s.io/apimachinery/pkg/types"

	ecsv1 "github.com/longshore-io/longshore/api/v1alpha1"
	lsruntime "github.com/longshore-io/longshore/internal/runtime"
)

// The namespace holder of a task with ECS pidMode or ipcMode "task": the
// task's containers share one PID and/or IPC namespace, as ECS's pause
// container makes them share Docker's. A PID namespace lives only as long
// as its first process (its PID 1), so a container of the task cannot
// hold it (its exit, or a restart-policy restart, would kill the others):
// the holder is a container of its own, made before the task's first
// container, whose only process is the init binary's pause
// (internal/initproc), which reaps the processes orphaned into the
// namespace. The other containers join its namespaces by path,
// /proc/<pid>/ns/pid and /proc/<pid>/ns/ipc.
//
// It is a containerd container like the task's others, labelled as the
// task's (LabelTaskUID) under the container name holderContainer, so that
// a restarted agent finds it again with them (observe.go keeps it apart,
// in observation.Holder) and a restart-policy restart after an agent
// restart joins the same namespaces. It is no container of the task
// definition: never reported, never stopped before the task's containers;
// the one cleanup (cleanup.go) stops and removes it after them.

// holderContainer is the holder's container name label: not a valid ECS
// container name, so no container definition can take it.
const holderContainer = "~namespaces"

// holderID is the holder's containerd ID, "<first 16 hex of the task
// UID>.ns": the '.' keeps it apart from every ContainerID.
func holderID(uid types.UID) string {
	id := strings.ReplaceAll(string(uid), "-", "")
	if len(id) > 16 {
		id = id[:16]
	}
	return id + ".ns"
}

// isHolder tells a task's namespace holder from its containers.
func isHolder(c lsruntime.ContainerStatus) bool {
	return c.Labels[lsruntime.LabelContainer] == holderContainer
}

// needsHolder: the task's containers share a PID or IPC namespace.
func needsHolder(td *ecsv1.TaskDefinitionSpec) bool {
	return td.PidMode == "task" || td.IpcMode == "task"
}

// holderProblem is why a task that needs a holder cannot go on with the
// one observed ("" when it can): a holder that exited took the shared
// namespaces (and, for pidMode task, every process in them) with it; a
// holder missing while containers exist cannot be made again with the
// same namespaces.
func holderProblem(o *observation, td *ecsv1.TaskDefinitionSpec) string {
	if !needsHolder(td) {
		return ""
	}
	switch {
	case o.Holder != nil && o.Holder.State == lsruntime.StateStopped:
		return fmt.Sprintf("The task's namespace holder %s (pidMode %q, ipcMode %q) exited: its containers lost the namespaces they share",
			o.Holder.ID, td.PidMode, td.IpcMode)
	case o.Holder == nil && len(o.Containers) > 0:
		return fmt.Sprintf("The task's namespace holder %s (pidMode %q, ipcMode %q) disappeared from the container runtime (host or containerd restart)",
			holderID(o.Task.UID), td.PidMode, td.IpcMode)
	}
	return ""
}

// holderNamespaces are the namespace paths the task's containers join.
type holderNamespaces struct {
	PID, IPC string
}

// ensureHolder makes the task's holder run (creating and starting it when
// it does not exist yet) and returns the paths of the namespaces the
// task's containers join. The holder runs the first container's image
// (pulled already: the runtime needs an image for a root file system; its
// own command is never run) with nothing but the pause process, no
// capability and no privilege, in the task's cgroup.
func (t *taskSync) ensureHolder(ctx context.Context, td *ecsv1.TaskDefinitionSpec) (holderNamespaces, error) {
	r, task := t.r, t.task
	if !needsHolder(td) {
		return holderNamespaces{}, nil
	}
	id := holderID(task.UID)
	st := t.obs.Holder
	if st == nil {
		t.log.Info("Creating the task's namespace holder", "pidMode", td.PidMode, "ipcMode", td.IpcMode, "holder", id)
		spec := lsruntime.ContainerSpec{
			ID:              id,
			Image:           td.ContainerDefinitions[0].Image,
			Labels:          ownershipLabels(task, holderContainer, t.status.TaskDefinitionRevision, 0),
			Pause:           true,
			CgroupParent:    cgroupParent(task.UID),
			ReadonlyRootfs:  true,
			CapDrop:         []string{"ALL"},
			NoNewPrivileges: true,
		}
		t.changed = true
		if err := r.Runtime.Create(ctx, spec); err != nil {
			return holderNamespaces{}, fmt.Errorf("creating the task's namespace holder: %w", err)
		}
		created := lsruntime.ContainerStatus{ID: id, State: lsruntime.StateCreated}
		st = &created
	}
	if st.State == lsruntime.StateStopped {
		return holderNamespaces{}, fail(ecsv1.StopCodeInfrastructureHealth, holderProblem(t.obs, td))
	}
	if st.State != lsruntime.StateRunning || st.Pid == 0 {
		t.changed = true
		if err := r.Runtime.Start(ctx, id); err != nil {
			return holderNamespaces{}, fmt.Errorf("starting the task's namespace holder: %w", err)
		}
		now, err := r.Runtime.Status(ctx, id)
		if err != nil {
			return holderNamespaces{}, err
		}
		st = &now
	}
	if st.Pid == 0 {
		return holderNamespaces{}, fmt.Errorf("the task's namespace holder %s runs no process", id)
	}
	t.obs.Holder = st
	var ns holderNamespaces
	if td.PidMode == "task" {
		ns.PID = fmt.Sprintf("/proc/%d/ns/pid", st.Pid)
	}
	if td.IpcMode == "task" {
		ns.IPC = fmt.Sprintf("/proc/%d/ns/ipc", st.Pid)
	}
	return ns, nil
}
