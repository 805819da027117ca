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

// Package controllers holds the Longshore reconcilers, one folder each:
// cluster/, taskdefinition/, task/ (with internal/scheduler) and service/.
// This file carries the RBAC the manager needs; `make manifests` turns it
// into config/rbac/manager/role.yaml.
package controllers

// +kubebuilder:rbac:groups=ecs.longshore.io,resources=clusters;containerinstances;taskdefinitions;taskdefinitionrevisions;tasks;services,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups=ecs.longshore.io,resources=clusters/status;containerinstances/status;taskdefinitions/status;taskdefinitionrevisions/status;tasks/status;services/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=ecs.longshore.io,resources=taskdefinitionrevisions/finalizers;tasks/finalizers;services/finalizers,verbs=update
// +kubebuilder:rbac:groups=coordination.k8s.io,resources=leases,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups="",resources=events,verbs=create;patch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch
// +kubebuilder:rbac:groups="",resources=namespaces,verbs=get;list;watch
