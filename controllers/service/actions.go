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

package service

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	ecsv1 "github.com/longshore-io/longshore/api/v1alpha1"
)

// act carries out the plan: stops first, then new tasks. Every write is
// recorded as an expectation.
func (p *pass) act(ctx context.Context) error {
	var errs []error
	var stopped []string
	for _, s := range p.stops {
		p.log.Info("Stopping task", "task", s.ti.t.Name, "deployment", s.ti.dep, "stopCode", s.code, "reason", s.reason)
		if err := p.r.stopTask(ctx, s.ti.t, s.code, s.reason); err != nil {
			errs = append(errs, fmt.Errorf("stopping task %s: %w", s.ti.t.Name, err))
			continue
		}
		p.r.expectTask(p.key, s.ti.t.Name, expectStopRequested)
		stopped = append(stopped, s.ti.t.Name)
	}
	if len(stopped) > 0 {
		p.event(corev1.EventTypeNormal, ecsv1.EventTasksStopped, "Stop", fmt.Sprintf("%s has stopped %d running tasks: %s.", p.who(), len(stopped), taskList(stopped)))
	}

	taken := make(map[string]bool, len(p.tasks))
	for _, ti := range p.tasks {
		taken[ti.t.Name] = true
	}
	var started []string
	for _, c := range p.creates {
		task, err := p.newTask(ctx, c, taken)
		if err != nil {
			errs = append(errs, err)
			break
		}
		taken[task.Name] = true
		p.log.Info("Starting task", "task", task.Name, "deployment", c.deploymentID, "taskDefinition", c.taskDefinition, "instance", c.instance)
		if err := p.r.Client.Create(ctx, task); err != nil {
			if apierrors.IsAlreadyExists(err) {
				continue // created by a pass the cache has not caught up with, or not ours: the next pass sees
			}
			errs = append(errs, fmt.Errorf("creating task %s: %w", task.Name, err))
			break
		}
		p.r.expectTask(p.key, task.Name, expectCreated)
		started = append(started, task.Name)
	}
	if len(started) > 0 {
		p.event(corev1.EventTypeNormal, ecsv1.EventTasksStarted, "Start", fmt.Sprintf("%s has started %d tasks: %s.", p.who(), len(started), taskList(started)))
	}
	return errors.Join(errs...)
}

func taskList(names []string) string {
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = "(task " + n + ")"
	}
	return strings.Join(parts, " ")
}

// newTask builds the next task of a deployment under the lowest free name
// "<service>-<short id>-<n>": names no task of the service holds and no
// other object in the namespace either.
func (p *pass) newTask(ctx context.Context, c createReq, taken map[string]bool) (*ecsv1.Task, error) {
	name := ""
	for n := 0; name == ""; n++ {
		cand := taskName(p.svc.Name, c.deploymentID, n)
		if taken[cand] {
			continue
		}
		err := p.r.Client.Get(ctx, client.ObjectKey{Namespace: p.svc.Namespace, Name: cand}, &ecsv1.Task{})
		switch {
		case apierrors.IsNotFound(err):
			name = cand
		case err != nil:
			return nil, err
		default:
			taken[cand] = true // someone else's task
		}
	}
	cl := ecsv1.ClusterName(p.svc.Spec.Cluster)
	task := &ecsv1.Task{
		ObjectMeta: metav1.ObjectMeta{Namespace: p.svc.Namespace, Name: name, Labels: map[string]string{
			ecsv1.LabelService:    p.svc.Name,
			ecsv1.LabelDeployment: deploymentLabel(c.deploymentID),
			ecsv1.LabelCluster:    cl,
		}},
		Spec: ecsv1.TaskSpec{
			Cluster:              cl,
			TaskDefinition:       c.taskDefinition,
			DesiredStatus:        ecsv1.DesiredRunning,
			StartedBy:            c.deploymentID,
			Group:                serviceGroup(p.svc.Name),
			PlacementConstraints: slices.Clone(p.svc.Spec.PlacementConstraints),
			PlacementStrategy:    slices.Clone(p.svc.Spec.PlacementStrategy),
			ContainerInstance:    c.instance,
		},
	}
	if err := controllerutil.SetControllerReference(p.svc, task, p.r.Client.Scheme()); err != nil {
		return nil, err
	}
	return task, nil
}

// stopTask stops a task as ECS StopTask does, in one write to the Task's
// spec (the Service owns its tasks): desiredStatus STOPPED with the stop
// request (spec.stop: the code and the reason). The agent records them in
// status as it stops the task; the Service never writes a Task's status.
func (r *Reconciler) stopTask(ctx context.Context, t *ecsv1.Task, code ecsv1.StopCode, reason string) error {
	if t.Spec.DesiredStatus == ecsv1.DesiredStopped || t.DeletionTimestamp != nil || t.Status.LastStatus == ecsv1.TaskStopped {
		return nil
	}
	orig := t.DeepCopy()
	t.Spec.DesiredStatus = ecsv1.DesiredStopped
	t.Spec.Stop = &ecsv1.TaskStop{Code: code, Reason: reason}
	return client.IgnoreNotFound(r.Client.Patch(ctx, t, client.MergeFromWithOptions(orig, client.MergeFromWithOptimisticLock{})))
}

// finish runs once the status is written: it marks the failures just
// counted, deletes the STOPPED tasks beyond StoppedTasksToKeep (all of
// them when the Service is being deleted) and, when a deleted Service has
// no task left, removes its finalizer.
func (p *pass) finish(ctx context.Context) error {
	var errs []error
	counting := map[string]bool{}
	for _, ti := range p.markCounted {
		counting[ti.t.Name] = true
		patch := client.MergeFrom(ti.t.DeepCopy())
		if ti.t.Annotations == nil {
			ti.t.Annotations = map[string]string{}
		}
		ti.t.Annotations[AnnotationFailureCounted] = depOr(ti.dep, nil)
		if ti.t.Annotations[AnnotationFailureCounted] == "" {
			ti.t.Annotations[AnnotationFailureCounted] = "unknown"
		}
		if err := p.r.Client.Patch(ctx, ti.t, patch); err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, err)
			continue
		}
		p.r.expectTask(p.key, ti.t.Name, expectCounted)
	}

	var stopped []*taskInfo
	for _, ti := range p.tasks {
		if ti.stopped && ti.t.DeletionTimestamp == nil {
			stopped = append(stopped, ti)
		}
	}
	// A task that stopped by itself (an essential exit, a failure, its
	// instance lost) still says desiredStatus RUNNING; ECS shows STOPPED.
	// The Service owns its tasks' spec: say so.
	for _, ti := range stopped {
		if ti.t.Spec.DesiredStatus == ecsv1.DesiredStopped {
			continue
		}
		patch := client.MergeFrom(ti.t.DeepCopy())
		ti.t.Spec.DesiredStatus = ecsv1.DesiredStopped
		if err := p.r.Client.Patch(ctx, ti.t, patch); err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, err)
		}
	}
	slices.SortFunc(stopped, func(a, b *taskInfo) int {
		if c := stoppedAt(b.t).Compare(stoppedAt(a.t)); c != 0 {
			return c
		}
		return strings.Compare(b.t.Name, a.t.Name)
	})
	keep := p.r.StoppedTasksToKeep
	if p.deleting {
		keep = 0
	}
	for i, ti := range stopped {
		if i < keep || (counting[ti.t.Name] && !p.deleting) {
			continue
		}
		p.log.V(1).Info("Deleting a stopped task", "task", ti.t.Name, "stopCode", ti.t.Status.StopCode)
		if err := p.r.Client.Delete(ctx, ti.t, client.Preconditions{UID: &ti.t.UID}); err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, err)
			continue
		}
		p.r.expectTask(p.key, ti.t.Name, expectDeleting)
	}

	if p.deleting && len(p.tasks) == 0 && controllerutil.ContainsFinalizer(p.svc, ecsv1.FinalizerServiceDrain) {
		// The record first: the Service must never be gone unrecorded.
		if err := p.recordInactive(ctx); err != nil {
			return errors.Join(append(errs, err)...)
		}
		p.log.Info("Service drained: removing its finalizer")
		patch := client.MergeFromWithOptions(p.svc.DeepCopy(), client.MergeFromWithOptimisticLock{})
		controllerutil.RemoveFinalizer(p.svc, ecsv1.FinalizerServiceDrain)
		if err := p.r.Client.Patch(ctx, p.svc, patch); err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func stoppedAt(t *ecsv1.Task) time.Time {
	if t.Status.StoppedAt != nil {
		return t.Status.StoppedAt.Time
	}
	return t.CreationTimestamp.Time
}

func timeOf(t *metav1.Time) *time.Time {
	if t == nil {
		return nil
	}
	return &t.Time
}

// event records an Event on the Service.
func (p *pass) event(typ, reason, action, msg string) {
	if p.r.Recorder != nil {
		p.r.Recorder.Eventf(p.svc, nil, typ, reason, action, "%s", msg)
	}
}

// deferEvent records an Event to emit once the status is written.
func (p *pass) deferEvent(typ, reason, action, msg string) {
	p.deferred = append(p.deferred, deferredEvent{typ: typ, reason: reason, action: action, msg: msg})
}

func (p *pass) emitDeferred() {
	for _, e := range p.deferred {
		p.event(e.typ, e.reason, e.action, e.msg)
	}
	p.deferred = nil
}

// who is how ECS names a service in its events: "(service web)".
func (p *pass) who() string { return "(service " + p.svc.Name + ")" }
