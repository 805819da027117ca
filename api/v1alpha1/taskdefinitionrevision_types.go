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

// TaskDefinitionRevisionSpec is an immutable snapshot of a family's spec.
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
// definition, named <family>-<revision> and minted by the manager. Delete it
// to deregister it: it stays DELETE_IN_PROGRESS while any Task or Service
// references it.
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

	// spec is immutable.
	// +required
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="a TaskDefinitionRevision is immutable: change the TaskDefinition to mint a new revision"
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

func init() {
	register(&TaskDefinitionRevision{}, &TaskDefinitionRevisionList{})
}
