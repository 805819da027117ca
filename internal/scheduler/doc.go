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

// Package scheduler places ECS tasks on container instances. It is pure:
// it works on a Snapshot of the instances (resources, ports, attributes,
// the groups of the tasks bound there) built by the task controller, and
// imports no Kubernetes client.
//
// The controller computes a task's Requirements with TaskRequirements,
// builds a Snapshot with NewSnapshot and Assume (one call per bound task
// that is not STOPPED), asks Place for an instance, binds the task there
// and Assumes it so that the next placement sees it. Place returns an
// *Unplaceable error in ECS wording when no instance fits, naming the
// closest instance and what it lacks.
//
// Constraints are ECS's distinctInstance and memberOf, whose expressions
// are a subset of the ECS cluster query language parsed by
// ParseExpression. Strategies are ECS's random, spread and binpack,
// applied in order, each breaking the ties of the one before.
package scheduler
