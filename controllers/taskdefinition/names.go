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

package taskdefinition

// Names of the objects, annotations and field indexes of this package.
const (
	// CounterConfigMapName is the ConfigMap, one per namespace, that holds
	// the last revision number of every family of that namespace (data key
	// = family, value = decimal number). See the package documentation.
	CounterConfigMapName = "longshore-revision-counters"

	// AnnotationSpecHash on a TaskDefinitionRevision is the SpecHash of
	// its spec.taskDefinition.
	AnnotationSpecHash = "ecs.longshore.io/spec-hash"
	// AnnotationMintedSpecHash on a TaskDefinition is the SpecHash of the
	// spec its newest revision was minted from. It keeps the reconciler
	// from minting that spec again when the revision is deleted.
	AnnotationMintedSpecHash = "ecs.longshore.io/minted-spec-hash"

	// IndexTaskRevisionInUse indexes Tasks that are not STOPPED by the
	// revisions they reference, as "family:revision": spec.taskDefinition
	// when it pins a revision, and status.taskDefinitionRevision.
	IndexTaskRevisionInUse = "ecs.longshore.io/task-revision-in-use"
	// IndexServiceRevision indexes Services by the revisions they
	// reference, as "family:revision": spec.taskDefinition when it pins a
	// revision, status.taskDefinition and every
	// status.deployments[].taskDefinition.
	IndexServiceRevision = "ecs.longshore.io/service-revision"

	// DefaultRevisionHistoryLimit applies when spec.revisionHistoryLimit
	// is unset (the CRD defaults it too).
	DefaultRevisionHistoryLimit = 10
)

// Condition reasons of the TaskDefinition's Valid and Ready conditions, on
// top of ecsv1.ReasonInvalidSpec and ecsv1.ReasonRevisionNotActive.
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

// Event reasons.
const (
	// EventRegistered: a revision was minted.
	EventRegistered = "Registered"
	// EventInvalid: the spec failed a semantic check.
	EventInvalid = "InvalidTaskDefinition"
	// EventPruned: a revision beyond revisionHistoryLimit is being deleted.
	EventPruned = "RevisionHistoryLimit"
	// EventDeleteInProgress: a deleted revision waits for its users.
	EventDeleteInProgress = "DeleteInProgress"
	// EventDeleted: a deleted revision's finalizer was removed.
	EventDeleted = "Deleted"
)
