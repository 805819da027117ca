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

// Condition types. Every kind reports its conditions in status.conditions
// (metav1.Condition, keyed by type, with observedGeneration).
const (
	// ConditionReady is True when the object does what its spec asks:
	// a Cluster with active instances, a connected ContainerInstance, a
	// TaskDefinition with a valid latest revision, a RUNNING healthy Task.
	ConditionReady = "Ready"
	// ConditionValid is False on a TaskDefinition whose spec breaks a rule
	// the CRD schema cannot express; the reason says which.
	ConditionValid = "Valid"
	// ConditionScheduled is True on a Task once it is bound to a
	// ContainerInstance, False with ReasonUnplaceable while nothing fits.
	ConditionScheduled = "Scheduled"
	// ConditionSteadyState is True on a Service whose tasks all run the
	// primary deployment's revision and number desiredCount.
	ConditionSteadyState = "SteadyState"
	// ConditionProgressing is True on a Service while a deployment rolls.
	ConditionProgressing = "Progressing"
)

// Condition reasons.
const (
	ReasonUnplaceable        = "Unplaceable"
	ReasonPlaced             = "Placed"
	ReasonRevisionNotFound   = "RevisionNotFound"
	ReasonRevisionNotActive  = "RevisionNotActive"
	ReasonInvalidSpec        = "InvalidSpec"
	ReasonAgentDisconnected  = "AgentDisconnected"
	ReasonAgentConnected     = "AgentConnected"
	ReasonDeploymentFailed   = "DeploymentFailed"
	ReasonDeploymentComplete = "DeploymentCompleted"
	// ReasonDeploymentInProgress: a Service deployment is rolling
	// (Progressing=True, SteadyState=False).
	ReasonDeploymentInProgress = "DeploymentInProgress"
	// ReasonSteadyState: SteadyState=True, every task runs the primary
	// deployment and is healthy.
	ReasonSteadyState = "SteadyState"
	// ReasonTasksNotReady: SteadyState=False, the primary deployment has
	// fewer healthy tasks than it wants, or tasks are starting or stopping.
	ReasonTasksNotReady = "TasksNotReady"
	// ReasonServiceDeleting: SteadyState=False, the Service is being
	// deleted and drains its tasks.
	ReasonServiceDeleting = "Deleting"
)
