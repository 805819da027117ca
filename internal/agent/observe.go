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
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ecsv1 "github.com/longshore-io/longshore/api/v1alpha1"
	lsruntime "github.com/longshore-io/longshore/internal/runtime"
)

// This file reads what a sync decides from: the Task object, its
// revision, the task's containerd containers (their labels are the source
// of truth), the records in its task directory and the health checkers.
// It decides nothing and changes nothing.

// observation is one task as the agent sees it at the start of a sync.
type observation struct {
	Task *ecsv1.Task
	// Rev is the task's revision; nil with RevErr set when there is none
	// (yet).
	Rev    *ecsv1.TaskDefinitionRevision
	RevErr *revisionError
	// Cluster is the task's Cluster when the plan needs it (the security
	// policy of a task that has not started pulling); nil otherwise.
	Cluster *ecsv1.Cluster
	// All are every container of the task, every attempt.
	All []lsruntime.ContainerStatus
	// Containers are the newest attempt of each container, by name.
	Containers map[string]lsruntime.ContainerStatus
	// Holder is the task's namespace holder (pidMode/ipcMode task,
	// nsholder.go), nil when there is none; in All, not in Containers.
	Holder *lsruntime.ContainerStatus
	// Health is the last health of each running container, by ID.
	Health map[string]ecsv1.HealthStatus
	// TaskDir tells whether the task directory exists.
	TaskDir bool
	// Restarts are the restart-policy restarts recorded between the
	// removal of an exited attempt and the creation of the next one:
	// container → attempt to create.
	Restarts map[string]int
	// StartFailed are the non-essential containers that could not start,
	// with the reason.
	StartFailed map[string]string
	// ActivatingSince is when the agent began starting the task's
	// containers (zero before), for startTimeout.
	ActivatingSince time.Time
	Now             time.Time
}

// observe reads the task's world.
func (r *TaskReconciler) observe(ctx context.Context, task *ecsv1.Task) (*observation, error) {
	o := &observation{Task: task, Now: r.Clock.Now()}
	if err := r.observeContainers(ctx, o); err != nil {
		return nil, err
	}
	if err := r.observeTaskDir(o); err != nil {
		return nil, err
	}
	if v, ok := r.activating.Load(string(task.UID)); ok {
		o.ActivatingSince = v.(time.Time)
	}
	if stopping(task) {
		// The stop path reads the revision for stop timeouts, if any.
		o.Rev, _ = r.revision(ctx, task)
		return o, nil
	}
	rev, err := r.revision(ctx, task)
	var re *revisionError
	switch {
	case errors.As(err, &re):
		o.RevErr = re
	case err != nil:
		return nil, err
	}
	o.Rev = rev
	if rev != nil && task.Status.PullStartedAt == nil {
		if o.Cluster, err = r.cluster(ctx, task); err != nil {
			return nil, err
		}
	}
	return o, nil
}

// stopping tells whether the task is to stop or stops already.
func stopping(task *ecsv1.Task) bool {
	return task.DeletionTimestamp != nil || task.Spec.DesiredStatus == ecsv1.DesiredStopped ||
		ecsv1.PhaseIndex(task.Status.LastStatus) >= ecsv1.PhaseIndex(ecsv1.TaskDeactivating)
}

// observeContainers lists the task's containers, keeping the newest attempt
// of each container name, and their health.
func (r *TaskReconciler) observeContainers(ctx context.Context, o *observation) error {
	list, err := r.Runtime.List(ctx, map[string]string{lsruntime.LabelTaskUID: string(o.Task.UID)})
	if err != nil {
		return err
	}
	o.All = list
	o.Containers = make(map[string]lsruntime.ContainerStatus, len(list))
	o.Health = make(map[string]ecsv1.HealthStatus, len(list))
	o.Holder = nil
	for _, c := range list {
		if isHolder(c) {
			o.Holder = &c
			continue
		}
		name := c.Labels[lsruntime.LabelContainer]
		if prev, ok := o.Containers[name]; ok && attempt(prev) > attempt(c) {
			continue
		}
		o.Containers[name] = c
	}
	for _, c := range o.Containers {
		if c.State == lsruntime.StateRunning {
			o.Health[c.ID] = r.health.Status(c.ID)
		}
	}
	return nil
}

func attempt(c lsruntime.ContainerStatus) int {
	n, _ := strconv.Atoi(c.Labels[lsruntime.LabelAttempt])
	return n
}

// The records a sync keeps in the task directory, next to the task's
// files: restart-<container> (the attempt a restart-policy restart is to
// create, written before the exited attempt is removed) and
// start-failed-<container> (why a non-essential container could not start,
// so that later syncs neither retry it nor wait for it), and
// previous-<container> (when the attempt a restart replaced started and
// exited, for its logs; see attempts.go).
const (
	restartRecordPrefix     = "restart-"
	startFailedRecordPrefix = "start-failed-"
	previousRecordPrefix    = "previous-"
)

// observeTaskDir reads the task directory's records.
func (r *TaskReconciler) observeTaskDir(o *observation) error {
	dir := r.taskDir(o.Task.UID)
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading the task directory: %w", err)
	}
	o.TaskDir = true
	for _, e := range entries {
		name := e.Name()
		switch {
		case strings.HasPrefix(name, startFailedRecordPrefix):
			b, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil {
				return err
			}
			if o.StartFailed == nil {
				o.StartFailed = map[string]string{}
			}
			o.StartFailed[strings.TrimPrefix(name, startFailedRecordPrefix)] = string(b)
		case strings.HasPrefix(name, restartRecordPrefix):
			b, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil {
				return err
			}
			if n, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && n > 0 {
				if o.Restarts == nil {
					o.Restarts = map[string]int{}
				}
				o.Restarts[strings.TrimPrefix(name, restartRecordPrefix)] = n
			}
		}
	}
	return nil
}

// revisionError is a revision that cannot be used (yet).
type revisionError struct {
	msg  string
	wait bool // the manager has not resolved the revision yet
}

func (e *revisionError) Error() string { return e.msg }

// revision returns the task's TaskDefinitionRevision: the one the manager
// resolved into status, else the one spec.taskDefinition pins. Revisions
// are immutable: each is read once.
func (r *TaskReconciler) revision(ctx context.Context, task *ecsv1.Task) (*ecsv1.TaskDefinitionRevision, error) {
	refStr := task.Status.TaskDefinitionRevision
	if refStr == "" {
		refStr = task.Spec.TaskDefinition
	}
	ref, err := ecsv1.ParseTaskDefinitionRef(refStr)
	if err != nil {
		return nil, &revisionError{msg: err.Error()}
	}
	if ref.Revision == 0 {
		return nil, &revisionError{wait: true, msg: "waiting for the manager to resolve " + refStr}
	}
	key := task.Namespace + "/" + ref.RevisionName()
	if v, ok := r.revisions.Load(key); ok {
		return v.(*ecsv1.TaskDefinitionRevision), nil
	}
	rev := &ecsv1.TaskDefinitionRevision{}
	if err := r.APIReader.Get(ctx, client.ObjectKey{Namespace: task.Namespace, Name: ref.RevisionName()}, rev); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, &revisionError{msg: fmt.Sprintf("TaskDefinitionRevision %s (%s) not found", ref.RevisionName(), ref)}
		}
		return nil, err
	}
	r.revisions.Store(key, rev)
	return rev, nil
}

// cluster reads the task's Cluster; a Cluster that does not exist is the
// defaults (the strictest policy).
func (r *TaskReconciler) cluster(ctx context.Context, task *ecsv1.Task) (*ecsv1.Cluster, error) {
	cl := &ecsv1.Cluster{}
	err := r.APIReader.Get(ctx, client.ObjectKey{Name: task.Spec.Cluster}, cl)
	if apierrors.IsNotFound(err) {
		return &ecsv1.Cluster{}, nil
	}
	return cl, err
}
