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

// One vocabulary of reasons: the reasons of conditions are in
// conditions.go; these are the reasons of the TaskDefinition's own
// conditions and of the Events the controllers and agents record (what
// `kubectl get events --field-selector reason=...` matches).

// Condition reasons of the TaskDefinition's Valid and Ready conditions, on
// top of ReasonInvalidSpec and ecsv1.ReasonRevisionNotActive.
const (
	// ReasonSpecValid: Valid=True, the spec passed the semantic checks.
	ReasonSpecValid = "SpecValid"
	// ReasonInvalidTaskCPU: Valid=False, the task-level cpu does not parse
	// or is zero.
	ReasonInvalidTaskCPU = "InvalidTaskCPU"
	// ReasonInvalidTaskMemory: Valid=False, the task-level memory does not
	// parse or is zero.
	ReasonInvalidTaskMemory = "InvalidTaskMemory"
	// ReasonCPUExceedsTask: Valid=False, the containers' cpu adds up to
	// more than the task-level cpu.
	ReasonCPUExceedsTask = "ContainerCPUExceedsTaskCPU"
	// ReasonMemoryExceedsTask: Valid=False, a container's memory, or the
	// containers' reservations together, exceed the task-level memory.
	ReasonMemoryExceedsTask = "ContainerMemoryExceedsTaskMemory"
	// ReasonPortConflict: Valid=False, two containers publish the same
	// containerPort and protocol in a shared network namespace (awsvpc,
	// host).
	ReasonPortConflict = "PortConflict"
	// ReasonHostPortConflict: Valid=False, two containers claim the same
	// static host port and protocol (bridge).
	ReasonHostPortConflict = "HostPortConflict"

	// ReasonRevisionActive: Ready=True, the newest revision holds the
	// current spec and is ACTIVE.
	ReasonRevisionActive = "RevisionActive"
	// ReasonRevisionPending: Ready=False, the current spec has no revision
	// yet (being minted, or minting failed and is retried).
	ReasonRevisionPending = "RevisionPending"
	// ReasonRevisionDeleted: Ready=False, the revision minted from the
	// current spec was deleted; change the spec to mint a new one.
	ReasonRevisionDeleted = "RevisionDeleted"
)

// Event reasons of TaskDefinitions and their revisions
// (controllers/taskdefinition).
const (
	// EventRegistered: a revision was minted.
	EventRegistered = "Registered"
	// EventInvalid: the spec failed a semantic check.
	EventInvalid = "InvalidTaskDefinition"
	// EventPruned: a revision beyond revisionHistoryLimit is being deleted.
	EventPruned = "RevisionHistoryLimit"
	// EventDeregistered: a revision became INACTIVE (spec.state).
	EventDeregistered = "Deregistered"
	// EventDeleteInProgress: a deleted revision waits for its users.
	EventDeleteInProgress = "DeleteInProgress"
	// EventDeleted: a deleted revision's finalizer was removed.
	EventDeleted = "Deleted"
)

// Event reasons of Services (controllers/service), on top of their
// condition reasons.
const (
	// EventTasksStarted: the service created tasks.
	EventTasksStarted = "TasksStarted"
	// EventTasksStopped: the service stopped tasks.
	EventTasksStopped = "TasksStopped"
	// EventSteadyState: the service reached a steady state.
	EventSteadyState = "SteadyState"
	// EventUnplaceable: a task of the service cannot be placed.
	EventUnplaceable = ReasonUnplaceable
	// EventTasksProtected: the service cannot stop tasks (to scale in, or
	// to replace them in a deployment) because they are protected from
	// scale-in.
	EventTasksProtected = "TasksProtected"
	// EventDeploymentCreated: a new PRIMARY deployment.
	EventDeploymentCreated = "DeploymentCreated"
	// EventDeploymentCompleted: the primary deployment completed.
	EventDeploymentCompleted = ReasonDeploymentComplete
	// EventDeploymentFailed: the circuit breaker failed the deployment.
	EventDeploymentFailed = ReasonDeploymentFailed
	// EventRollback: the circuit breaker rolls back.
	EventRollback = "DeploymentRollback"
	// EventRevisionNotFound: the task definition cannot be resolved.
	EventRevisionNotFound = ReasonRevisionNotFound
)

// Event reasons of Tasks (the scheduler and the agent), on top of their
// stop codes.
const (
	// EventContainerStartFailed: a container could not be created or
	// started.
	EventContainerStartFailed = "ContainerStartFailed"
	// EventRestarted: a restart policy restarted a container.
	EventRestarted = "Restarted"
	// EventTaskProtection: the task's scale-in protection was set or
	// removed through its agent endpoint.
	EventTaskProtection = "TaskProtection"
	// EventTaskEndpointsUnavailable: the agent could not open the task's
	// metadata and agent endpoints.
	EventTaskEndpointsUnavailable = "TaskEndpointsUnavailable"
	// EventAgentDisconnected: an instance's agent stopped renewing its
	// Lease.
	EventAgentDisconnected = ReasonAgentDisconnected
	// EventExecuteCommand: a user ran a command in a container (kubectl
	// ecs exec, ECS ExecuteCommand); the message names who, which
	// container and the command.
	EventExecuteCommand = "ExecuteCommand"
)
