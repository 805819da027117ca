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

// Package scheduler places ECS tasks on container instances.
//
// Its core is pure: it works on a Snapshot of the instances (resources,
// ports, attributes, the groups of the tasks bound there) and imports no
// Kubernetes client, so placement is benchmarked alone. A task's
// Requirements come from taskpolicy.TaskRequirements; NewSnapshot and
// Assume (one call per bound task that is not STOPPED) build a Snapshot;
// Place asks for an instance, and Assume accounts the task there so that
// the next placement sees it. Place returns an *Unplaceable error in ECS
// wording when no instance fits, naming the closest instance and what it
// lacks.
//
// Constraints are ECS's distinctInstance and memberOf, whose expressions
// are a subset of the ECS cluster query language parsed by
// ParseExpression. Strategies are ECS's random, spread and binpack,
// applied in order, each breaking the ties of the one before.
//
// Around that core, Scheduler is the manager's leader-elected runnable
// that places and binds tasks: a queue (active, backoff, unschedulable), a
// cache of the clusters fed by informer events with the placements it
// assumed, and binder goroutines that write the binds (see Scheduler).
package scheduler
