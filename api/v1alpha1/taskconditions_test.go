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
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

func TestSetTaskConditions(t *testing.T) {
	now := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	earlier := metav1.NewTime(now.Add(-time.Minute))
	at := metav1.NewTime(now)
	cond := func(typ string, status metav1.ConditionStatus, reason, msg string, ltt metav1.Time) metav1.Condition {
		return metav1.Condition{Type: typ, Status: status, Reason: reason, Message: msg, ObservedGeneration: 2, LastTransitionTime: ltt}
	}
	exited := func(name string, code int32) ContainerStatus {
		return ContainerStatus{Name: name, LastStatus: ContainerStopped, ExitCode: ptr.To(code)}
	}
	onlyApp := func(name string) bool { return name == "app" }
	for name, tc := range map[string]struct {
		desired   DesiredStatus
		deleting  bool
		stored    TaskStatusPhase // lastStatus of the stored status
		st        TaskStatus
		essential func(string) bool
		want      []metav1.Condition
	}{
		"provisioning: Reconciling with what Ready says it waits for": {
			st: TaskStatus{LastStatus: TaskProvisioning, Conditions: []metav1.Condition{
				cond(ConditionReady, metav1.ConditionFalse, "PROVISIONING", "was unable to place a task", earlier)}},
			want: []metav1.Condition{
				cond(ConditionReady, metav1.ConditionFalse, "PROVISIONING", "was unable to place a task", earlier),
				cond(ConditionReconciling, metav1.ConditionTrue, "PROVISIONING", "Task is PROVISIONING: was unable to place a task", at)},
		},
		"no lastStatus yet counts as PROVISIONING": {
			want: []metav1.Condition{cond(ConditionReconciling, metav1.ConditionTrue, "PROVISIONING", "Task is PROVISIONING", at)},
		},
		"activating keeps the agent's Ready": {
			stored: TaskPending,
			st: TaskStatus{LastStatus: TaskActivating, Conditions: []metav1.Condition{
				cond(ConditionReady, metav1.ConditionFalse, "ACTIVATING", "Waiting for containers: side", earlier),
				cond(ConditionReconciling, metav1.ConditionTrue, "PENDING", "Task is PENDING", earlier)}},
			want: []metav1.Condition{
				cond(ConditionReady, metav1.ConditionFalse, "ACTIVATING", "Waiting for containers: side", earlier),
				cond(ConditionReconciling, metav1.ConditionTrue, "ACTIVATING", "Task is ACTIVATING: Waiting for containers: side", earlier)},
		},
		"running drops Reconciling and keeps Ready": {
			stored: TaskActivating,
			st: TaskStatus{LastStatus: TaskRunning, Conditions: []metav1.Condition{
				cond(ConditionReady, metav1.ConditionFalse, ReasonUnhealthy, "An essential container failed its health check", earlier),
				cond(ConditionReconciling, metav1.ConditionTrue, "ACTIVATING", "Task is ACTIVATING", earlier)}},
			want: []metav1.Condition{
				cond(ConditionReady, metav1.ConditionFalse, ReasonUnhealthy, "An essential container failed its health check", earlier)},
		},
		"running without a Ready condition gets one": {
			st:   TaskStatus{LastStatus: TaskRunning},
			want: []metav1.Condition{cond(ConditionReady, metav1.ConditionTrue, ReasonRunning, "Task is RUNNING", at)},
		},
		"a stop asked of a running task": {
			desired: DesiredStopped, stored: TaskRunning,
			st: TaskStatus{LastStatus: TaskRunning, Conditions: []metav1.Condition{
				cond(ConditionReady, metav1.ConditionTrue, ReasonRunning, "Every container started", earlier)}},
			want: []metav1.Condition{
				cond(ConditionReady, metav1.ConditionFalse, ReasonStopping, "Task is RUNNING on its way to STOPPED", at),
				cond(ConditionReconciling, metav1.ConditionTrue, ReasonStopping, "Task is RUNNING on its way to STOPPED", at)},
		},
		"stopping after an essential container exited": {
			stored: TaskRunning,
			st:     TaskStatus{LastStatus: TaskStopping, StopCode: StopCodeEssentialContainerExited, StoppedReason: "Essential container in task exited"},
			want: []metav1.Condition{
				cond(ConditionReady, metav1.ConditionFalse, ReasonStopping, "Task is STOPPING on its way to STOPPED: Essential container in task exited", at),
				cond(ConditionReconciling, metav1.ConditionTrue, ReasonStopping, "Task is STOPPING on its way to STOPPED: Essential container in task exited", at)},
		},
		"a deleted task is stopping": {
			deleting: true, stored: TaskRunning, st: TaskStatus{LastStatus: TaskRunning},
			want: []metav1.Condition{
				cond(ConditionReady, metav1.ConditionFalse, ReasonStopping, "Task is RUNNING on its way to STOPPED", at),
				cond(ConditionReconciling, metav1.ConditionTrue, ReasonStopping, "Task is RUNNING on its way to STOPPED", at)},
		},
		"ran to completion: the essential container exited 0, the others do not count": {
			stored: TaskStopping, essential: onlyApp,
			st: TaskStatus{LastStatus: TaskStopped, StopCode: StopCodeEssentialContainerExited, StoppedReason: "Essential container in task exited",
				Containers: []ContainerStatus{exited("app", 0), exited("side", 143)},
				Conditions: []metav1.Condition{cond(ConditionReconciling, metav1.ConditionTrue, ReasonStopping, "stopping", earlier)}},
			want: []metav1.Condition{cond(ConditionReady, metav1.ConditionTrue, ReasonCompleted,
				"Task ran to completion: essential container app exited with code 0", at)},
		},
		"two essential containers exited 0": {
			stored: TaskStopping,
			st: TaskStatus{LastStatus: TaskStopped, StopCode: StopCodeEssentialContainerExited,
				Containers: []ContainerStatus{exited("b", 0), exited("a", 0)}},
			want: []metav1.Condition{cond(ConditionReady, metav1.ConditionTrue, ReasonCompleted,
				"Task ran to completion: essential containers a, b exited with code 0", at)},
		},
		"without the revision every container counts": {
			stored: TaskStopping,
			st: TaskStatus{LastStatus: TaskStopped, StopCode: StopCodeEssentialContainerExited, StoppedReason: "Essential container in task exited",
				Containers: []ContainerStatus{exited("app", 0), exited("side", 143)}},
			want: []metav1.Condition{
				cond(ConditionReady, metav1.ConditionFalse, string(StopCodeEssentialContainerExited), "Essential container in task exited (side exited with code 143)", at),
				cond(ConditionStalled, metav1.ConditionTrue, string(StopCodeEssentialContainerExited),
					"Essential container in task exited (side exited with code 143); a STOPPED task does not start again: run a new Task", at)},
		},
		"an essential container failed": {
			stored: TaskStopping, essential: onlyApp,
			st: TaskStatus{LastStatus: TaskStopped, StopCode: StopCodeEssentialContainerExited, StoppedReason: "Essential container in task exited",
				Containers: []ContainerStatus{exited("app", 2), {Name: "side", LastStatus: ContainerStopped}}},
			want: []metav1.Condition{
				cond(ConditionReady, metav1.ConditionFalse, string(StopCodeEssentialContainerExited), "Essential container in task exited (app exited with code 2)", at),
				cond(ConditionStalled, metav1.ConditionTrue, string(StopCodeEssentialContainerExited),
					"Essential container in task exited (app exited with code 2); a STOPPED task does not start again: run a new Task", at)},
		},
		"an essential container that never ran": {
			stored: TaskStopping,
			st: TaskStatus{LastStatus: TaskStopped, StopCode: StopCodeEssentialContainerExited, StoppedReason: "Essential container in task exited",
				Containers: []ContainerStatus{exited("app", 0), {Name: "db", LastStatus: ContainerStopped}}},
			want: []metav1.Condition{
				cond(ConditionReady, metav1.ConditionFalse, string(StopCodeEssentialContainerExited), "Essential container in task exited (db did not run to an exit code)", at),
				cond(ConditionStalled, metav1.ConditionTrue, string(StopCodeEssentialContainerExited),
					"Essential container in task exited (db did not run to an exit code); a STOPPED task does not start again: run a new Task", at)},
		},
		"exited without container statuses": {
			stored: TaskRunning,
			st:     TaskStatus{LastStatus: TaskStopped, StopCode: StopCodeEssentialContainerExited, StoppedReason: "Essential container in task exited"},
			want: []metav1.Condition{
				cond(ConditionReady, metav1.ConditionFalse, string(StopCodeEssentialContainerExited),
					"Essential container in task exited (no essential container reported an exit code)", at),
				cond(ConditionStalled, metav1.ConditionTrue, string(StopCodeEssentialContainerExited),
					"Essential container in task exited (no essential container reported an exit code); a STOPPED task does not start again: run a new Task", at)},
		},
		"failed to start": {
			stored: TaskPending,
			st:     TaskStatus{LastStatus: TaskStopped, StopCode: StopCodeTaskFailedToStart, StoppedReason: "CannotPullContainerError: x: not found"},
			want: []metav1.Condition{
				cond(ConditionReady, metav1.ConditionFalse, string(StopCodeTaskFailedToStart), "CannotPullContainerError: x: not found", at),
				cond(ConditionStalled, metav1.ConditionTrue, string(StopCodeTaskFailedToStart),
					"CannotPullContainerError: x: not found; a STOPPED task does not start again: run a new Task", at)},
		},
		"stopped by the user": {
			desired: DesiredStopped, stored: TaskStopping,
			st: TaskStatus{LastStatus: TaskStopped, StopCode: StopCodeUserInitiated, StoppedReason: "Task stopped by user",
				Conditions: []metav1.Condition{cond(ConditionReady, metav1.ConditionFalse, ReasonStopping, "stopping", earlier)}},
			want: []metav1.Condition{cond(ConditionReady, metav1.ConditionTrue, ReasonStopped, "Task stopped by user", at)},
		},
		"scaled in by its service": {
			desired: DesiredStopped, stored: TaskStopping,
			st:   TaskStatus{LastStatus: TaskStopped, StopCode: StopCodeServiceSchedulerInitiated, StoppedReason: "Scaling activity initiated by (deployment ecs-svc/1)"},
			want: []metav1.Condition{cond(ConditionReady, metav1.ConditionTrue, ReasonStopped, "Scaling activity initiated by (deployment ecs-svc/1)", at)},
		},
		"replaced by its service for failed health checks": {
			desired: DesiredStopped, stored: TaskStopping,
			st: TaskStatus{LastStatus: TaskStopped, StopCode: StopCodeServiceSchedulerInitiated, StoppedReason: StoppedReasonFailedHealthChecks},
			want: []metav1.Condition{
				cond(ConditionReady, metav1.ConditionFalse, string(StopCodeServiceSchedulerInitiated), StoppedReasonFailedHealthChecks, at),
				cond(ConditionStalled, metav1.ConditionTrue, string(StopCodeServiceSchedulerInitiated),
					StoppedReasonFailedHealthChecks+"; a STOPPED task does not start again: run a new Task", at)},
		},
		"instance lost": {
			stored: TaskRunning,
			st: TaskStatus{LastStatus: TaskStopped, StopCode: StopCodeInfrastructureHealth, StoppedReason: "Container instance lost",
				Conditions: []metav1.Condition{cond(ConditionReady, metav1.ConditionTrue, ReasonRunning, "Every container started", earlier)}},
			want: []metav1.Condition{
				cond(ConditionReady, metav1.ConditionFalse, string(StopCodeInfrastructureHealth), "Container instance lost", at),
				cond(ConditionStalled, metav1.ConditionTrue, string(StopCodeInfrastructureHealth),
					"Container instance lost; a STOPPED task does not start again: run a new Task", at)},
		},
		"stopped without a stop code": {
			stored: TaskStopping, st: TaskStatus{LastStatus: TaskStopped},
			want: []metav1.Condition{
				cond(ConditionReady, metav1.ConditionFalse, "StoppedWithoutStopCode", "Task stopped", at),
				cond(ConditionStalled, metav1.ConditionTrue, "StoppedWithoutStopCode", "Task stopped; a STOPPED task does not start again: run a new Task", at)},
		},
		"a later write keeps the outcome decided when the task stopped": {
			desired: DesiredStopped, stored: TaskStopped,
			st: TaskStatus{LastStatus: TaskStopped, StopCode: StopCodeEssentialContainerExited,
				Containers: []ContainerStatus{exited("app", 0), exited("side", 143)},
				Conditions: []metav1.Condition{{Type: ConditionReady, Status: metav1.ConditionTrue, Reason: ReasonCompleted, Message: "ran",
					ObservedGeneration: 1, LastTransitionTime: earlier}}},
			want: []metav1.Condition{cond(ConditionReady, metav1.ConditionTrue, ReasonCompleted, "ran", earlier)},
		},
		"a STOPPED task written before these conditions gets its outcome": {
			stored: TaskStopped,
			st: TaskStatus{LastStatus: TaskStopped, StopCode: StopCodeEssentialContainerExited, StoppedReason: "Essential container in task exited",
				Containers: []ContainerStatus{exited("app", 0)},
				Conditions: []metav1.Condition{cond(ConditionReady, metav1.ConditionFalse, string(StopCodeEssentialContainerExited), "x", earlier)}},
			want: []metav1.Condition{cond(ConditionReady, metav1.ConditionTrue, ReasonCompleted,
				"Task ran to completion: essential container app exited with code 0", at)},
		},
	} {
		t.Run(name, func(t *testing.T) {
			desired := tc.desired
			if desired == "" {
				desired = DesiredRunning
			}
			task := &Task{ObjectMeta: metav1.ObjectMeta{Generation: 2}, Spec: TaskSpec{DesiredStatus: desired},
				Status: TaskStatus{LastStatus: tc.stored}}
			if tc.deleting {
				task.DeletionTimestamp = &earlier
			}
			st := tc.st.DeepCopy()
			SetTaskConditions(task, st, tc.essential, now)
			if diff := cmp.Diff(tc.want, st.Conditions); diff != "" {
				t.Errorf("conditions (-want +got):\n%s", diff)
			}
		})
	}
}
