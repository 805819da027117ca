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

package ecsapi

// actions are the ECS operations served; any other answers
// UnknownOperationException.
var actions = map[string]handler{
	"CreateCluster":                 (*Server).createCluster,
	"DescribeClusters":              (*Server).describeClusters,
	"ListClusters":                  (*Server).listClusters,
	"DeleteCluster":                 (*Server).deleteCluster,
	"RegisterTaskDefinition":        (*Server).registerTaskDefinition,
	"DescribeTaskDefinition":        (*Server).describeTaskDefinition,
	"ListTaskDefinitions":           (*Server).listTaskDefinitions,
	"ListTaskDefinitionFamilies":    (*Server).listTaskDefinitionFamilies,
	"DeregisterTaskDefinition":      (*Server).deregisterTaskDefinition,
	"DeleteTaskDefinitions":         (*Server).deleteTaskDefinitions,
	"TagResource":                   (*Server).tagResource,
	"UntagResource":                 (*Server).untagResource,
	"ListTagsForResource":           (*Server).listTagsForResource,
	"RunTask":                       (*Server).runTask,
	"DescribeTasks":                 (*Server).describeTasks,
	"ListTasks":                     (*Server).listTasks,
	"StartTask":                     (*Server).startTask,
	"StopTask":                      (*Server).stopTask,
	"CreateService":                 (*Server).createService,
	"DescribeServices":              (*Server).describeServices,
	"ListServices":                  (*Server).listServices,
	"UpdateService":                 (*Server).updateService,
	"DeleteService":                 (*Server).deleteService,
	"ListContainerInstances":        (*Server).listContainerInstances,
	"DescribeContainerInstances":    (*Server).describeContainerInstances,
	"UpdateContainerInstancesState": (*Server).updateContainerInstancesState,
}
