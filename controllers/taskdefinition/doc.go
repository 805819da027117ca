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

// Package taskdefinition holds the reconcilers of TaskDefinitions (ECS task
// definition families) and of the immutable TaskDefinitionRevisions they
// mint.
//
// # Minting
//
// The Reconciler hashes a TaskDefinition's spec (SpecHash: sha256 of the
// JSON of the spec, without revisionHistoryLimit, which is a policy of the
// family and not part of what a task runs). When the spec passes the
// semantic checks the CRD schema cannot express (Valid condition) and its
// hash differs both from the newest live revision's spec and from the hash
// recorded in the TaskDefinition's AnnotationMintedSpecHash (the last spec a
// revision was minted from, so that deleting the newest revision does not
// mint it again), the reconciler mints revision n+1: A→B→A registers three
// revisions, as ECS would, and re-applying A registers nothing. An invalid
// spec registers nothing (Valid=False says why; the newest revision stays).
// status.observedGeneration advances after every clean pass, including one
// that found the spec invalid, so that waiting for it never hangs.
//
// # The revision counter
//
// Revision numbers are never reused, also after revisions or the whole
// family were deleted and the family re-created. Neither the revisions
// (they may all be gone) nor the TaskDefinition (it may be deleted and
// re-created, and its status is not a source of truth) can remember the
// last number, so it lives in a ConfigMap per namespace,
// CounterConfigMapName, one data key per family whose value is the last
// number handed out. Nothing owns that ConfigMap: it survives the deletion
// of every TaskDefinition.
//
// Allocation (allocateRevision) reads the ConfigMap straight from the API
// server, takes max(counter, highest existing revision number)+1 (so a
// counter lost with the ConfigMap still cannot go below a revision that
// exists), and writes it back with a merge patch that carries the
// resourceVersion read (optimistic locking). Two families of one namespace
// minting at once race on that write: the loser gets a 409 Conflict and is
// requeued, never given the same number. A missing ConfigMap is created;
// AlreadyExists is treated like a conflict.
//
// The counter is written BEFORE the revision object is created. A crash (or
// a failed create) between the two leaves the counter one ahead: the number
// is skipped, never reused. The opposite order could create revision n,
// crash before recording n, and hand n out again after revision n was
// deleted. Before minting, the reconciler also re-reads the TaskDefinition
// and the family's revisions from the API server rather than the cache, so
// that a cache that has not yet seen the revision minted by the previous
// pass does not mint the same spec twice.
//
// # Deletion and garbage collection
//
// Every revision carries FinalizerRevisionInUse from creation. The
// RevisionReconciler turns a deleted revision DELETE_IN_PROGRESS and keeps
// the finalizer while a Task that is not STOPPED or a Service references it
// as "family:revision" (looked up through the field indexes registered by
// SetupIndexes, re-checked when Tasks and Services change); then it removes
// the finalizer.
//
// revisionHistoryLimit counts old revisions, as a Deployment's does: the
// Reconciler always keeps the newest revision and every revision in use,
// keeps the revisionHistoryLimit newest of the other ACTIVE revisions, and
// deletes the rest (through the same finalizer, so a Task that starts using
// one at that moment still holds it).
package taskdefinition

// +kubebuilder:rbac:groups="",resources=configmaps,verbs=get;create;patch
