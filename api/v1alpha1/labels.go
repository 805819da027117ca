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

// Well-known labels, annotations and finalizers. Label values are lookup
// keys; never parse object names where a label says the same.
const (
	// LabelCluster names the Cluster a Task or Service belongs to.
	LabelCluster = "ecs.longshore.io/cluster"
	// LabelFamily names the task definition family of a revision or Task.
	LabelFamily = "ecs.longshore.io/family"
	// LabelRevision is the revision number of a TaskDefinitionRevision or Task.
	LabelRevision = "ecs.longshore.io/revision"
	// LabelService names the Service that owns a Task.
	LabelService = "ecs.longshore.io/service"
	// LabelDeployment is the Service deployment id a Task was started by.
	LabelDeployment = "ecs.longshore.io/deployment"
	// LabelContainerInstance names the ContainerInstance a Task is bound to.
	LabelContainerInstance = "ecs.longshore.io/container-instance"

	// AnnotationRestartedAt on a Service triggers a rolling restart without
	// a new revision, like `kubectl rollout restart`.
	AnnotationRestartedAt = "ecs.longshore.io/restartedAt"

	// AnnotationRegistration on a TaskDefinition asks for a new revision
	// even when the spec is that of the newest one, as ECS
	// RegisterTaskDefinition does: each new value mints one revision,
	// which carries the same annotation (so the caller finds it). The ECS
	// API writes a fresh random value with each RegisterTaskDefinition.
	AnnotationRegistration = "ecs.longshore.io/registration"

	// FinalizerAgent holds a bound Task until its agent has removed every
	// container, snapshot, network namespace, IP and firewall rule.
	FinalizerAgent = "ecs.longshore.io/agent"
	// FinalizerRevisionInUse holds a TaskDefinitionRevision in
	// DELETE_IN_PROGRESS while a Task or Service references it.
	FinalizerRevisionInUse = "ecs.longshore.io/revision-in-use"
	// FinalizerServiceDrain holds a deleted Service until it has stopped
	// and deleted its tasks (the Service scales to zero before it goes).
	FinalizerServiceDrain = "ecs.longshore.io/service-drain"

	// DefaultClusterName is the Cluster used when spec.cluster is omitted.
	DefaultClusterName = "default"
)

// ClusterName is the Cluster that spec.cluster names: name, or
// DefaultClusterName when it is empty (an object read before the API
// server's defaulting, or built in memory).
func ClusterName(name string) string {
	if name == "" {
		return DefaultClusterName
	}
	return name
}
