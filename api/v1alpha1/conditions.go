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
// (metav1.Condition, keyed by type, with observedGeneration), and
// status.observedGeneration, as kstatus (Flux, kpt, cli-utils) and the Argo
// CD health checks of config/argocd read them: docs/operating.md, "GitOps
// health", has the table of what each kind reports.
const (
	// ConditionReady is True when the object does what its spec asks:
	// a Cluster with active instances, a connected ContainerInstance that is
	// ACTIVE (or DRAINING with no task left), a TaskDefinition with a valid
	// latest revision, an ACTIVE TaskDefinitionRevision, a RUNNING healthy
	// Task (or a STOPPED one that ran to completion or was stopped on
	// request), a Service in a steady state.
	ConditionReady = "Ready"
	// ConditionReconciling is True while the object converges on its spec
	// (a Task starting or stopping, a Service deployment rolling, a
	// TaskDefinition minting its revision, an instance draining). It is
	// absent otherwise ("abnormal-true", as kstatus reads it).
	ConditionReconciling = "Reconciling"
	// ConditionStalled is True when the object cannot get to what its spec
	// asks without a change: a spec the controller refuses, a Task that
	// STOPPED on a failure, a Service deployment that failed or was rolled
	// back by the circuit breaker, a lost instance. It is absent otherwise.
	ConditionStalled = "Stalled"
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
	// ReasonDeploymentRolledBack: a Service's Ready=False and Stalled=True,
	// the deployment of what the spec asks failed and the circuit breaker
	// rolled the service back to an earlier deployment.
	ReasonDeploymentRolledBack = "DeploymentRolledBack"

	// ReasonRunning: a Task's Ready=True, every container started.
	ReasonRunning = "Running"
	// ReasonUnhealthy: a Task's Ready=False, an essential container fails
	// its health check.
	ReasonUnhealthy = "Unhealthy"
	// ReasonStopping: a Task's Ready=False and Reconciling=True, the task
	// is on its way to STOPPED.
	ReasonStopping = "Stopping"
	// ReasonCompleted: a Task's Ready=True, it STOPPED because its
	// essential containers exited, each with exit code 0 (a one-off job
	// that ran to completion).
	ReasonCompleted = "Completed"
	// ReasonStopped: a Task's Ready=True, it STOPPED on request (StopTask
	// through spec.desiredStatus, or its Service scaling in or replacing it).
	ReasonStopped = "Stopped"

	// ReasonInstancesActive: a Cluster's Ready=True.
	ReasonInstancesActive = "InstancesActive"
	// ReasonNoActiveInstances: a Cluster's Ready=False, no ACTIVE instance
	// with a connected agent.
	ReasonNoActiveInstances = "NoActiveInstances"
	// ReasonTaskNetworkExhausted: a Cluster's Ready=False and Stalled=True,
	// its taskNetwork cannot give every instance a subnet.
	ReasonTaskNetworkExhausted = "TaskNetworkExhausted"

	// ReasonDraining: a ContainerInstance's Ready=False and
	// Reconciling=True, it is DRAINING and tasks still run on it.
	ReasonDraining = "Draining"
	// ReasonDrained: a ContainerInstance's Ready=True, it is DRAINING and
	// no task is left on it.
	ReasonDrained = "Drained"
	// ReasonInstanceLost: a ContainerInstance's Stalled=True, its agent has
	// been gone past the instance-lost timeout and its tasks were stopped.
	ReasonInstanceLost = "InstanceLost"

	// ReasonRevisionRegistered: a TaskDefinitionRevision's Ready=True, it
	// is ACTIVE.
	ReasonRevisionRegistered = "Registered"
	// ReasonRevisionDeregistered: a TaskDefinitionRevision's Ready=True,
	// it is INACTIVE (spec.state): kept for the tasks and Services that
	// already use it, refused to new ones.
	ReasonRevisionDeregistered = "Deregistered"
	// ReasonRevisionDeleteInProgress: a TaskDefinitionRevision's
	// Ready=False, it was deleted and waits for the Tasks and Services that
	// use it.
	ReasonRevisionDeleteInProgress = "DeleteInProgress"
)

// Stopped reasons (Task status.stoppedReason) of the stops that have a
// fixed one, in ECS's words.
const (
	// StoppedReasonFailedHealthChecks: its Service replaced it because its
	// health checks failed.
	StoppedReasonFailedHealthChecks = "Task failed container health checks"
	// StoppedReasonByUser: stopped on request with no reason given.
	StoppedReasonByUser = "Task stopped by user"
	// StoppedReasonInstanceLost: its instance's agent was gone past the
	// grace period and the instance-lost timeout.
	StoppedReasonInstanceLost = "Container instance lost"
)
