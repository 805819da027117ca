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

import (
	"fmt"

	ecsv1 "github.com/longshore-io/longshore/api/v1alpha1"
	"github.com/longshore-io/longshore/internal/taskpolicy"
)

// policyViolation says why the task's Cluster refuses the task, "" when
// it allows it: the security policy and namespaces the scheduler checks
// for the tasks it places, applied to a task bound by its creator (ECS
// StartTask). Pure: the plan calls it.
func policyViolation(cl *ecsv1.Cluster, task *ecsv1.Task, td *ecsv1.TaskDefinitionSpec) string {
	reqs, err := taskpolicy.TaskRequirements(td, task.Spec.Overrides)
	if err != nil {
		return err.Error()
	}
	policy := taskpolicy.Policy{Security: cl.Spec.Security, Namespaces: cl.Spec.Namespaces}
	if _, msg := policy.Check(task.Namespace, &reqs); msg != "" {
		return fmt.Sprintf("Cluster %s refuses the task: %s", task.Spec.Cluster, msg)
	}
	return ""
}
