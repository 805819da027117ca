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
	// RevisionStatusConfigMapName is the ConfigMap, one per namespace that
	// has revisions that are not ACTIVE, that lists them (data key = the
	// revision's object name, value = INACTIVE or DELETE_IN_PROGRESS) for
	// the admission policy longshore-revision-not-active (its param). See
	// statusmap.go.
	RevisionStatusConfigMapName = "longshore-revision-status"

	// AnnotationPruned on a TaskDefinitionRevision says revisionHistoryLimit
	// deregistered it in order to delete it: a pass that finds it INACTIVE
	// and not yet deleted (a crash in between) deletes it.
	AnnotationPruned = "ecs.longshore.io/pruned"

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
	// revision, status.taskDefinition and the taskDefinition of every
	// deployment that is not INACTIVE.
	IndexServiceRevision = "ecs.longshore.io/service-revision"

	// DefaultRevisionHistoryLimit applies when spec.revisionHistoryLimit
	// is unset (the CRD defaults it too).
	DefaultRevisionHistoryLimit = 10
)
