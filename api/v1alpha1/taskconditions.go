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

package v1alpha1

import (
	"fmt"
	"slices"
	"strings"
	"time"

	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// SetTaskConditions sets on st, the status about to be written for task,
// the conditions that tell where the task stands in its lifecycle, from
// the lifecycle fields (lastStatus, stopCode, the containers' exit codes)
// and the spec (desiredStatus, deletion):
//
//   - PROVISIONING, PENDING, ACTIVATING: Reconciling=True (reason the
//     phase; message the Ready condition's, which says what the task waits
//     for).
//   - RUNNING: no Reconciling, no Stalled; Ready is the writer's (True, or
//     False when an essential container is unhealthy).
//   - asked to stop (desiredStatus STOPPED, deletion) or DEACTIVATING to
//     DEPROVISIONING: Reconciling=True and Ready=False, reason Stopping.
//   - STOPPED: Ready=True when the task ran to completion (stopCode
//     EssentialContainerExited and every essential container exited 0,
//     reason Completed) or was stopped on request (UserInitiated, or
//     ServiceSchedulerInitiated for any reason but failed health checks,
//     reason Stopped); otherwise Ready=False and Stalled=True with the stop
//     code as reason: a STOPPED task never starts again, so only a new Task
//     (a change) gets it running.
//
// The outcome is decided once, by the write that moves the task to
// STOPPED; later writes keep it.
//
// Whoever writes the task's status at its phase calls it just before the
// write (one writer per field): the manager up to PENDING and for a lost
// instance, the agent from PENDING on. task is the Task as read (its
// status the one stored), st the status to write. essential tells which
// containers are essential (nil counts every container as essential); now
// is the transition time of the conditions that change.
func SetTaskConditions(task *Task, st *TaskStatus, essential func(container string) bool, now time.Time) {
	set := func(typ string, status metav1.ConditionStatus, reason, msg string) {
		apimeta.SetStatusCondition(&st.Conditions, metav1.Condition{Type: typ, Status: status, Reason: reason,
			Message: msg, ObservedGeneration: task.Generation, LastTransitionTime: metav1.NewTime(now)})
	}
	phase := st.LastStatus
	if phase == "" {
		phase = TaskProvisioning
	}
	stopping := task.Spec.DesiredStatus == DesiredStopped || task.DeletionTimestamp != nil ||
		PhaseIndex(phase) >= PhaseIndex(TaskDeactivating)
	switch {
	case phase == TaskStopped:
		apimeta.RemoveStatusCondition(&st.Conditions, ConditionReconciling)
		if task.Status.LastStatus == TaskStopped && outcomeDecided(st) {
			// Decided by the writer that stopped the task, which knew the
			// revision: later passes keep it.
			for i := range st.Conditions {
				if st.Conditions[i].Type == ConditionReady || st.Conditions[i].Type == ConditionStalled {
					st.Conditions[i].ObservedGeneration = task.Generation
				}
			}
			return
		}
		ok, reason, msg := TaskOutcome(st, essential)
		if ok {
			set(ConditionReady, metav1.ConditionTrue, reason, msg)
			apimeta.RemoveStatusCondition(&st.Conditions, ConditionStalled)
			return
		}
		set(ConditionReady, metav1.ConditionFalse, reason, msg)
		set(ConditionStalled, metav1.ConditionTrue, reason, msg+"; a STOPPED task does not start again: run a new Task")
	case stopping:
		apimeta.RemoveStatusCondition(&st.Conditions, ConditionStalled)
		msg := fmt.Sprintf("Task is %s on its way to STOPPED", phase)
		if st.StoppedReason != "" {
			msg += ": " + st.StoppedReason
		}
		set(ConditionReady, metav1.ConditionFalse, ReasonStopping, msg)
		set(ConditionReconciling, metav1.ConditionTrue, ReasonStopping, msg)
	case phase == TaskRunning:
		apimeta.RemoveStatusCondition(&st.Conditions, ConditionReconciling)
		apimeta.RemoveStatusCondition(&st.Conditions, ConditionStalled)
		if apimeta.FindStatusCondition(st.Conditions, ConditionReady) == nil {
			set(ConditionReady, metav1.ConditionTrue, ReasonRunning, "Task is RUNNING")
		}
	default:
		apimeta.RemoveStatusCondition(&st.Conditions, ConditionStalled)
		msg := fmt.Sprintf("Task is %s", phase)
		if r := apimeta.FindStatusCondition(st.Conditions, ConditionReady); r != nil && r.Status != metav1.ConditionTrue && r.Message != "" {
			msg += ": " + r.Message
		}
		set(ConditionReconciling, metav1.ConditionTrue, string(phase), msg)
	}
}

// outcomeDecided tells whether a STOPPED task's status holds the outcome
// SetTaskConditions decides: Ready=True, or Ready=False with Stalled.
func outcomeDecided(st *TaskStatus) bool {
	r := apimeta.FindStatusCondition(st.Conditions, ConditionReady)
	return r != nil && (r.Status == metav1.ConditionTrue || apimeta.IsStatusConditionTrue(st.Conditions, ConditionStalled))
}

// TaskOutcome tells whether a STOPPED task ended as its spec asked, with
// the reason and message of its Ready condition (see SetTaskConditions).
// essential tells which containers are essential (nil: all of them).
func TaskOutcome(st *TaskStatus, essential func(container string) bool) (ok bool, reason, msg string) {
	why := st.StoppedReason
	if why == "" {
		why = "Task stopped"
	}
	switch st.StopCode {
	case StopCodeUserInitiated:
		return true, ReasonStopped, why
	case StopCodeServiceSchedulerInitiated:
		if st.StoppedReason == StoppedReasonFailedHealthChecks {
			return false, string(st.StopCode), why
		}
		return true, ReasonStopped, why
	case StopCodeEssentialContainerExited:
		var exited, failed []string
		for _, c := range st.Containers {
			if essential != nil && !essential(c.Name) {
				continue
			}
			switch {
			case c.ExitCode == nil:
				failed = append(failed, c.Name+" did not run to an exit code")
			case *c.ExitCode != 0:
				failed = append(failed, fmt.Sprintf("%s exited with code %d", c.Name, *c.ExitCode))
			default:
				exited = append(exited, c.Name)
			}
		}
		switch {
		case len(failed) > 0:
			return false, string(st.StopCode), why + " (" + strings.Join(failed, ", ") + ")"
		case len(exited) == 0:
			return false, string(st.StopCode), why + " (no essential container reported an exit code)"
		}
		slices.Sort(exited)
		noun := "container"
		if len(exited) > 1 {
			noun = "containers"
		}
		return true, ReasonCompleted, fmt.Sprintf("Task ran to completion: essential %s %s exited with code 0",
			noun, strings.Join(exited, ", "))
	case "":
		return false, "StoppedWithoutStopCode", why
	}
	return false, string(st.StopCode), why
}
