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
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	ecsv1 "github.com/longshore-io/longshore/api/v1alpha1"
)

// The cache the Reconciler reads lags behind its own writes. A pass that
// ran on a cache missing the tasks the previous pass created would create
// them again (under other names once a name was freed), overshooting
// maximumPercent; one missing a stop would stop another task. So every
// write is recorded as an expectation, and a pass only acts once the cache
// shows all of them (or expectationsTimeout passed): the controller always
// decides on a view that includes its own decisions.

// expectKind is what the cache must show of a task.
type expectKind int

const (
	// expectCreated: the task exists.
	expectCreated expectKind = iota
	// expectStopRequested: the task has spec.desiredStatus STOPPED (or is gone).
	expectStopRequested
	// expectCounted: the task carries AnnotationFailureCounted (or is gone).
	expectCounted
	// expectDeleting: the task has a deletionTimestamp or is gone.
	expectDeleting
)

// expectations of one Service.
type expectations struct {
	// staleServiceRV is the resourceVersion of the Service before the
	// Reconciler's last write to it: a cache still showing it is stale.
	staleServiceRV string
	tasks          map[string]expectKind
	deadline       time.Time
}

func satisfied(kind expectKind, t *ecsv1.Task) bool {
	switch kind {
	case expectCreated:
		return t != nil
	case expectStopRequested:
		return t == nil || t.Spec.DesiredStatus == ecsv1.DesiredStopped || t.DeletionTimestamp != nil
	case expectCounted:
		return t == nil || t.Annotations[AnnotationFailureCounted] != ""
	default:
		return t == nil || t.DeletionTimestamp != nil
	}
}

// expectTask records that the cache must show kind for the named task.
func (r *Reconciler) expectTask(key client.ObjectKey, name string, kind expectKind) {
	r.mu.Lock()
	defer r.mu.Unlock()
	e := r.expectationsOf(key)
	e.tasks[name] = kind
}

// expectServiceWrite records that the Service was written from
// resourceVersion rv.
func (r *Reconciler) expectServiceWrite(key client.ObjectKey, rv string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.expectationsOf(key).staleServiceRV = rv
}

func (r *Reconciler) expectationsOf(key client.ObjectKey) *expectations {
	e := r.exp[key]
	if e == nil {
		e = &expectations{tasks: map[string]expectKind{}}
		r.exp[key] = e
	}
	e.deadline = r.Clock.Now().Add(expectationsTimeout)
	return e
}

// cacheBehind returns how long to wait, at most, for the cache to show
// the Reconciler's writes to the Service; 0 when it shows them all.
func (r *Reconciler) cacheBehind(key client.ObjectKey, svc *ecsv1.Service, tasks []*ecsv1.Task) time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	e := r.exp[key]
	if e == nil {
		return 0
	}
	left := e.deadline.Sub(r.Clock.Now())
	if left <= 0 {
		delete(r.exp, key)
		return 0
	}
	if e.staleServiceRV != "" {
		if svc.ResourceVersion == e.staleServiceRV {
			return left
		}
		e.staleServiceRV = ""
	}
	if len(e.tasks) > 0 {
		byName := make(map[string]*ecsv1.Task, len(tasks))
		for _, t := range tasks {
			byName[t.Name] = t
		}
		for name, kind := range e.tasks {
			if !satisfied(kind, byName[name]) {
				return left
			}
			delete(e.tasks, name)
		}
	}
	delete(r.exp, key)
	return 0
}
