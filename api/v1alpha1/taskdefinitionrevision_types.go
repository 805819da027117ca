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
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// RevisionStatus is the ECS status of a task definition revision.
// +kubebuilder:validation:Enum=ACTIVE;INACTIVE;DELETE_IN_PROGRESS
type RevisionStatus string

const (
	// RevisionActive revisions may be used by new Tasks and Services.
	RevisionActive RevisionStatus = "ACTIVE"
	// RevisionInactive revisions are kept for running tasks only.
	RevisionInactive RevisionStatus = "INACTIVE"
	// RevisionDeleteInProgress revisions were deleted and wait for the last
	// Task or Service that references them.
	RevisionDeleteInProgress RevisionStatus = "DELETE_IN_PROGRESS"
)

// RevisionState is what the user asks of a revision: ACTIVE (registered) or
// INACTIVE (deregistered, ECS DeregisterTaskDefinition).
// +kubebuilder:validation:Enum=ACTIVE;INACTIVE
type RevisionState string

const (
	// RevisionStateActive: the revision is registered (the default).
	RevisionStateActive RevisionState = "ACTIVE"
	// RevisionStateInactive: the revision is deregistered: no new Task and
	// no new Service deployment may use it; running tasks keep running and
	// Services that already use it keep scaling, as in ECS.
	RevisionStateInactive RevisionState = "INACTIVE"
)

// TaskDefinitionRevisionSpec is an immutable snapshot of a family's spec,
// and the one thing a user may change about it: its state, once, from
// ACTIVE to INACTIVE.
type TaskDefinitionRevisionSpec struct {
	// family is the TaskDefinition this revision belongs to.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	Family string `json:"family"`
	// revision number, 1, 2, 3…, never reused within a family.
	// +required
	// +kubebuilder:validation:Minimum=1
	Revision int32 `json:"revision"`
	// taskDefinition is the full spec of the family at this revision.
	// +required
	TaskDefinition TaskDefinitionSpec `json:"taskDefinition"`
	// state is ACTIVE (default) or INACTIVE. Setting INACTIVE deregisters
	// the revision (ECS DeregisterTaskDefinition; `kubectl ecs
	// deregister-task-definition family:n`): no new Task may use it and no
	// Service may be created with it or changed to it (refused at apply
	// time), while the Tasks that run it keep running and a Service that
	// already uses it keeps scaling. One way: an INACTIVE revision cannot
	// be made ACTIVE again. Only an INACTIVE revision may be deleted (ECS
	// DeleteTaskDefinitions).
	// +optional
	// +kubebuilder:default=ACTIVE
	// +kubebuilder:validation:XValidation:rule="self == oldSelf || self == 'INACTIVE'",message="spec.state: an INACTIVE (deregistered) revision cannot be made ACTIVE again, as in ECS: change the TaskDefinition to register a new revision"
	State RevisionState `json:"state,omitempty"`
}

// TaskDefinitionRevisionStatus is observed by the manager.
type TaskDefinitionRevisionStatus struct {
	// observedGeneration is the generation the status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// conditions: Ready (registered: ACTIVE or INACTIVE; False once
	// DELETE_IN_PROGRESS).
	// +optional
	// +listType=map
	// +listMapKey=type
	// +kubebuilder:validation:MaxItems=16
	Conditions []metav1.Condition `json:"conditions,omitempty"`
	// status is ACTIVE, INACTIVE or DELETE_IN_PROGRESS.
	// +optional
	Status RevisionStatus `json:"status,omitempty"`
}

// TaskDefinitionRevision is the immutable revision family:revision of a task
// definition, named <family>-<revision> and minted by the manager.
// Deregister it with spec.state INACTIVE, then delete it (ECS
// DeleteTaskDefinitions): it stays DELETE_IN_PROGRESS while any Task or
// Service references it.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=tdrev,categories=ecs
// +kubebuilder:printcolumn:name="Family",type=string,JSONPath=`.spec.family`
// +kubebuilder:printcolumn:name="Revision",type=integer,JSONPath=`.spec.revision`
// +kubebuilder:printcolumn:name="Status",type=string,JSONPath=`.status.status`
// +kubebuilder:printcolumn:name="Network",type=string,JSONPath=`.spec.taskDefinition.networkMode`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type TaskDefinitionRevision struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is immutable, but for state (ACTIVE → INACTIVE).
	// +required
	// +kubebuilder:validation:XValidation:rule="self.family == oldSelf.family && self.revision == oldSelf.revision && self.taskDefinition == oldSelf.taskDefinition",message="a TaskDefinitionRevision is immutable: change the TaskDefinition to mint a new revision (only spec.state may change, from ACTIVE to INACTIVE: ECS DeregisterTaskDefinition)"
	Spec TaskDefinitionRevisionSpec `json:"spec"`
	// status is observed by the manager.
	// Until first written it reads {observedGeneration: 0}, which GitOps
	// tools (kstatus, Argo CD) read as not reconciled yet.
	// +optional
	// +kubebuilder:default={observedGeneration: 0}
	Status TaskDefinitionRevisionStatus `json:"status,omitempty"`
}

// TaskDefinitionRevisionList is a list of TaskDefinitionRevisions.
// +kubebuilder:object:root=true
type TaskDefinitionRevisionList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []TaskDefinitionRevision `json:"items"`
}

// EffectiveStatus is the revision's ECS status as its spec and metadata say
// it, ahead of the manager's status.status (which mirrors it):
// DELETE_IN_PROGRESS once deleted, INACTIVE once deregistered, else ACTIVE.
// Decisions about new Tasks and Services use it, so that a deregistration
// counts from the moment the API server accepted it.
func (r *TaskDefinitionRevision) EffectiveStatus() RevisionStatus {
	switch {
	case r.DeletionTimestamp != nil:
		return RevisionDeleteInProgress
	case r.Spec.State == RevisionStateInactive || r.Status.Status == RevisionInactive:
		return RevisionInactive
	case r.Status.Status == RevisionDeleteInProgress:
		return RevisionDeleteInProgress
	default:
		return RevisionActive
	}
}

func init() {
	register(&TaskDefinitionRevision{}, &TaskDefinitionRevisionList{})
}
