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

// Package taskstatus is the status the manager writes on a Task up to
// PENDING, shared by the Task reconciler (revision resolution, tasks
// stopped before they reach an instance) and the scheduler (placement).
package taskstatus

import (
	"time"

	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	ecsv1 "github.com/longshore-io/longshore/api/v1alpha1"
)

// SetScheduled sets the Scheduled condition.
func SetScheduled(task *ecsv1.Task, st *ecsv1.TaskStatus, status metav1.ConditionStatus, reason, msg string) {
	apimeta.SetStatusCondition(&st.Conditions, metav1.Condition{Type: ecsv1.ConditionScheduled, Status: status,
		Reason: reason, Message: msg, ObservedGeneration: task.Generation})
}

// Provisioning marks a task the manager is still resolving or placing.
func Provisioning(st *ecsv1.TaskStatus) {
	if st.LastStatus == "" {
		st.LastStatus = ecsv1.TaskProvisioning
	}
}

// HandOver moves a bound task to PENDING: the agent takes it from here.
func HandOver(task *ecsv1.Task, st *ecsv1.TaskStatus, msg string) {
	if ecsv1.PhaseIndex(st.LastStatus) < ecsv1.PhaseIndex(ecsv1.TaskPending) {
		st.LastStatus = ecsv1.TaskPending
	}
	SetScheduled(task, st, metav1.ConditionTrue, ecsv1.ReasonPlaced, msg)
}

// StopUnbound stops a task that never reached an instance.
func StopUnbound(st *ecsv1.TaskStatus, code ecsv1.StopCode, reason string, now time.Time) {
	st.MarkStopped(code, reason, metav1.NewTime(now))
}

// SetConditions sets the Ready condition the manager owns while it
// resolves and places the task (False, reason the phase, message the
// Scheduled condition's), the lifecycle conditions of
// ecsv1.SetTaskConditions (Reconciling; Ready and Stalled of a task
// stopped before it reached an instance), and observedGeneration after a
// clean pass. From PENDING on the agent writes them.
func SetConditions(task *ecsv1.Task, st *ecsv1.TaskStatus, clean bool, now time.Time) {
	if st.LastStatus != ecsv1.TaskStopped {
		phase := st.LastStatus
		if phase == "" {
			phase = ecsv1.TaskProvisioning
		}
		msg := "Resolving the task definition"
		if c := apimeta.FindStatusCondition(st.Conditions, ecsv1.ConditionScheduled); c != nil {
			msg = c.Message
		}
		apimeta.SetStatusCondition(&st.Conditions, metav1.Condition{Type: ecsv1.ConditionReady, Status: metav1.ConditionFalse,
			Reason: string(phase), Message: msg, ObservedGeneration: task.Generation, LastTransitionTime: metav1.NewTime(now)})
	}
	ecsv1.SetTaskConditions(task, st, nil, now)
	if clean {
		st.ObservedGeneration = task.Generation
	}
}

// Equal reports whether two statuses are the same (no write needed).
func Equal(a, b *ecsv1.TaskStatus) bool { return apiequality.Semantic.DeepEqual(a, b) }
