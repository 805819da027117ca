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

package service

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"
	"time"

	ecsv1 "github.com/longshore-io/longshore/api/v1alpha1"
)

// Names of the field indexes this package registers (SetupIndexes).
const (
	// IndexTaskService indexes Tasks by the name of the Service that
	// controls them (owner reference with controller=true).
	IndexTaskService = "ecs.longshore.io/task-service"
	// IndexServiceFamily indexes Services by the task definition family
	// their spec.taskDefinition names.
	IndexServiceFamily = "ecs.longshore.io/service-family"
	// IndexServiceCluster indexes Services by their Cluster.
	IndexServiceCluster = "ecs.longshore.io/service-cluster"
)

// AnnotationFailureCounted on a STOPPED Task of a Service records that
// the task's failure was added to its deployment's failedTasks, so that a
// retained stopped task is never counted twice. The value is the
// deployment id.
const AnnotationFailureCounted = "ecs.longshore.io/failure-counted"

// Defaults of the Reconciler's tunables.
const (
	// DefaultHealthyAfter is how long a RUNNING task without an essential
	// container health check runs before it counts as healthy (api.md).
	DefaultHealthyAfter = 40 * time.Second
	// DefaultStoppedTasksToKeep is how many STOPPED tasks a Service keeps
	// (the newest) for `kubectl get` and debugging before deleting them.
	DefaultStoppedTasksToKeep = 3
	// DefaultInactiveDeploymentsToKeep is how many INACTIVE deployments
	// status.deployments keeps.
	DefaultInactiveDeploymentsToKeep = 5
	// DefaultLaunchBackoff is the first delay before a failing deployment
	// launches its next task.
	DefaultLaunchBackoff = time.Second
	// DefaultInactiveRetention is how long a drained, deleted Service is
	// described INACTIVE by the ECS API (inactive.go).
	DefaultInactiveRetention = time.Hour
	// DefaultMaxConcurrentReconciles of the controller.
	DefaultMaxConcurrentReconciles = 2
	// expectationsTimeout bounds how long a pass waits for the cache to
	// show the Reconciler's own writes.
	expectationsTimeout = 30 * time.Second
	// unplaceableEventInterval is how often the same "unable to place"
	// Event is repeated while it stays true.
	unplaceableEventInterval = 5 * time.Minute
)

// scalingReason is the stoppedReason of a task the service scheduler
// stops (scale in, rolling replacement, draining), in ECS wording.
func scalingReason(deploymentID string) string {
	return fmt.Sprintf("Scaling activity initiated by (deployment %s)", deploymentID)
}

// DeploymentIDPrefix starts every deployment id, as in ECS
// ("ecs-svc/1234567890123456789").
const DeploymentIDPrefix = "ecs-svc/"

// A deployment id is "ecs-svc/" followed by 19 digits: the first 10 are
// the fingerprint of the deployment's intent (the revision the Service
// asks for, its restartedAt annotation and its placement), the last 9 a
// hash of the Service UID, the parent deployment id and the fingerprint.
// The id is thus a pure function of what the Service asks for and of the
// deployment it replaces: a pass that recomputes it after a failed status
// write finds the same id (and the same task names). A primary deployment
// whose fingerprint differs from the Service's current intent is replaced
// by a new one.
const (
	fingerprintDigits = 10
	fingerprintMod    = 10_000_000_000
	uniqueMod         = 1_000_000_000
)

// intent is what a deployment is for.
type intent struct {
	revision    string // "family:revision" the Service asks for
	restartedAt string // the AnnotationRestartedAt value
	placement   string // JSON of the placement constraints and strategies
}

func intentOf(svc *ecsv1.Service, revision string) intent {
	b, _ := json.Marshal(struct {
		C []ecsv1.PlacementConstraint `json:"c,omitempty"`
		S []ecsv1.PlacementStrategy   `json:"s,omitempty"`
	}{svc.Spec.PlacementConstraints, svc.Spec.PlacementStrategy})
	return intent{revision: revision, restartedAt: svc.Annotations[ecsv1.AnnotationRestartedAt], placement: string(b)}
}

func hash64(parts ...string) uint64 {
	h := fnv.New64a()
	for _, p := range parts {
		_, _ = h.Write([]byte(p))
		_, _ = h.Write([]byte{0})
	}
	return h.Sum64()
}

// fingerprint of an intent, fingerprintDigits decimal digits.
func (i intent) fingerprint() uint64 {
	return hash64(i.revision, i.restartedAt, i.placement) % fingerprintMod
}

// newDeploymentID is the id of the deployment for fp that replaces parent.
func newDeploymentID(fp uint64, serviceUID, parent string) string {
	u := hash64(serviceUID, parent, strconv.FormatUint(fp, 10)) % uniqueMod
	return fmt.Sprintf("%s%010d%09d", DeploymentIDPrefix, fp, u)
}

// fingerprintOf extracts the intent fingerprint of a deployment id; false
// for an id this package did not make.
func fingerprintOf(id string) (uint64, bool) {
	digits, ok := strings.CutPrefix(id, DeploymentIDPrefix)
	if !ok || len(digits) != 19 {
		return 0, false
	}
	fp, err := strconv.ParseUint(digits[:fingerprintDigits], 10, 64)
	return fp, err == nil
}

// deploymentLabel is the value of ecsv1.LabelDeployment for a deployment
// id: the id without "ecs-svc/" (a label value cannot hold '/').
func deploymentLabel(id string) string { return strings.TrimPrefix(id, DeploymentIDPrefix) }

// deploymentFromLabel is the inverse of deploymentLabel.
func deploymentFromLabel(v string) string {
	if v == "" {
		return ""
	}
	return DeploymentIDPrefix + v
}

// shortID is the part of a deployment id in task names: its last five
// digits.
func shortID(id string) string {
	d := deploymentLabel(id)
	if len(d) > 5 {
		return d[len(d)-5:]
	}
	return d
}

// taskName is the name of the n-th task slot of a deployment:
// "<service>-<short id>-<n>".
func taskName(service, deploymentID string, n int) string {
	return fmt.Sprintf("%s-%s-%d", service, shortID(deploymentID), n)
}

// serviceGroup is the task group of a Service's tasks.
func serviceGroup(name string) string { return "service:" + name }

// selectorOf is the label selector of a Service's tasks, for the scale
// subresource.
func selectorOf(name string) string { return ecsv1.LabelService + "=" + name }
