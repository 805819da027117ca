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

package agent

// RBAC of longshore-agent; `make manifests` writes config/rbac/agent/role.yaml.
// RBAC grants the verbs; the admission policies of
// config/policy/agent-confinement.yaml confine the writes to the agent's
// own ContainerInstance, Lease and Tasks. The Secrets and ConfigMaps of its
// tasks it reads through the Role longshore-agent:<instance> that the
// manager keeps in each namespace (controllers/agentaccess), not through
// this role. Leases only in the manager's namespace, longshore-system.
//
// +kubebuilder:rbac:groups=ecs.longshore.io,resources=containerinstances,verbs=get;list;watch;create;update;patch
// +kubebuilder:rbac:groups=ecs.longshore.io,resources=containerinstances/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=ecs.longshore.io,resources=tasks,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=ecs.longshore.io,resources=tasks/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=ecs.longshore.io,resources=tasks/finalizers,verbs=update
// +kubebuilder:rbac:groups=ecs.longshore.io,resources=taskdefinitionrevisions;clusters,verbs=get;list;watch
// +kubebuilder:rbac:groups=coordination.k8s.io,resources=leases,verbs=get;create;update,namespace=longshore-system
// +kubebuilder:rbac:groups="",resources=events,verbs=create;patch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch
//
// The logs and exec endpoint (internal/agentapi) authenticates tokens and
// authorises requests through the API server, as the kubelet does; the
// client CA it reads through the RoleBinding
// longshore-agent-authentication-reader (config/rbac/role_bindings.yaml).
//
// +kubebuilder:rbac:groups=authentication.k8s.io,resources=tokenreviews,verbs=create
// +kubebuilder:rbac:groups=authorization.k8s.io,resources=subjectaccessreviews,verbs=create
