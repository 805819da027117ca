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

package scheduler

import (
	ecsv1 "github.com/longshore-io/longshore/api/v1alpha1"
	"github.com/longshore-io/longshore/internal/taskpolicy"
)

// Requirements are what one task needs from a container instance (see
// taskpolicy.Requirements).
type Requirements = taskpolicy.Requirements

// Policy is what the Cluster allows its tasks (see taskpolicy.Policy).
type Policy = taskpolicy.Policy

// TaskRequirements computes what a task needs (see
// taskpolicy.TaskRequirements).
func TaskRequirements(td *ecsv1.TaskDefinitionSpec, ov *ecsv1.TaskOverride) (Requirements, error) {
	return taskpolicy.TaskRequirements(td, ov)
}
