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
	"context"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ecsv1 "github.com/longshore-io/longshore/api/v1alpha1"
	"github.com/longshore-io/longshore/controllers/cluster"
)

// taskInfo is one Task of the Service as this pass sees it.
type taskInfo struct {
	t   *ecsv1.Task
	dep string // deployment id, from the deployment label (or startedBy)
	// stopped: lastStatus STOPPED.
	stopped bool
	// stopping: not STOPPED yet, but asked to stop (desiredStatus,
	// deletion, a stop code) or already on its way down.
	stopping bool
	// finishStop: the Reconciler recorded its stop code but its
	// desiredStatus patch did not land: the stop must be completed.
	finishStop bool
	// healthy per the task health rule (api.md); unhealthy: reported
	// UNHEALTHY after the grace period, to be replaced.
	healthy, unhealthy bool
	// instance the task is bound to ("" unplaced); draining: that
	// instance is DRAINING.
	instance string
	draining bool
}

// live tasks count toward the service: not STOPPED and not stopping.
func (ti *taskInfo) live() bool { return !ti.stopped && !ti.stopping }

// running reports lastStatus RUNNING.
func (ti *taskInfo) running() bool { return ti.t.Status.LastStatus == ecsv1.TaskRunning }

// pending reports a task that is not STOPPED and has not reached RUNNING.
func (ti *taskInfo) pending() bool {
	return !ti.stopped && ecsv1.PhaseIndex(ti.t.Status.LastStatus) < ecsv1.PhaseIndex(ecsv1.TaskRunning)
}

// holdsMinimum tells whether the task counts toward minimumHealthyPercent
// while the primary deployment prim rolls out. A task of prim (on an
// instance that is not DRAINING) counts once it is healthy: a replacement
// must prove itself before the task it replaces may stop. So does a task
// of a FAILED deployment (the one a rollback replaces): its deployment
// failed because tasks like it did not hold, and while it is briefly
// RUNNING it must not let a task that serves stop in its stead. Any
// other task counts while it is placed, live and not UNHEALTHY: healthy,
// or still starting normally (PENDING, or RUNNING and not yet past the
// health rule). Such a task is what the service runs now; that a newer
// deployment came along before it proved itself does not make it a task
// to stop for free. Only unplaced, UNHEALTHY, stopping and STOPPED tasks
// count for nothing.
func (p *pass) holdsMinimum(ti *taskInfo, prim *ecsv1.Deployment) bool {
	if !ti.live() || ti.unhealthy {
		return false
	}
	if prim != nil && ti.dep == prim.ID && !ti.draining || p.failedDeployment(ti.dep) {
		return ti.healthy
	}
	return ti.instance != ""
}

// failedDeployment tells whether deployment id is one whose rollout FAILED.
func (p *pass) failedDeployment(id string) bool {
	d := p.deployment(id)
	return d != nil && d.RolloutState == ecsv1.RolloutFailed
}

// stopCategory orders tasks for scale in, as ECS does: unplaced tasks
// first, then tasks not yet RUNNING, then RUNNING tasks that are not
// healthy, then healthy ones.
func (ti *taskInfo) stopCategory() int {
	switch {
	case ti.instance == "":
		return 0
	case !ti.running():
		return 1
	case !ti.healthy:
		return 2
	default:
		return 3
	}
}

// revInfo is what the Service needs of a TaskDefinitionRevision.
type revInfo struct {
	found bool
	// status is the revision's EffectiveStatus (ACTIVE, INACTIVE,
	// DELETE_IN_PROGRESS).
	status ecsv1.RevisionStatus
	// hasHealthCheck: an essential container has a health check.
	hasHealthCheck bool
	// constraints are the task definition's memberOf constraints.
	constraints []ecsv1.PlacementConstraint
}

// revision reads "family:revision" (memoized for the pass).
func (p *pass) revision(ctx context.Context, ref string) (*revInfo, error) {
	if ri, ok := p.revs[ref]; ok {
		return ri, nil
	}
	ri := &revInfo{}
	parsed, err := ecsv1.ParseTaskDefinitionRef(ref)
	if err == nil && parsed.Revision > 0 {
		rev := &ecsv1.TaskDefinitionRevision{}
		err := p.r.Client.Get(ctx, client.ObjectKey{Namespace: p.svc.Namespace, Name: parsed.RevisionName()}, rev)
		switch {
		case err == nil:
			ri.found, ri.status = true, rev.EffectiveStatus()
			for i := range rev.Spec.TaskDefinition.ContainerDefinitions {
				c := &rev.Spec.TaskDefinition.ContainerDefinitions[i]
				if c.IsEssential() && c.HealthCheck != nil {
					ri.hasHealthCheck = true
				}
			}
			ri.constraints = rev.Spec.TaskDefinition.PlacementRequirements()
		case !apierrors.IsNotFound(err):
			return nil, err
		}
	}
	p.revs[ref] = ri
	return ri, nil
}

// resolveRevision sets p.desiredRev to the "family:revision" the Service
// asks for: the pinned one, or the latest ACTIVE revision of the family.
// When there is none (yet), it records why and leaves p.desiredRev empty:
// the current deployments go on as they are.
func (p *pass) resolveRevision(ctx context.Context) error {
	ref, err := ecsv1.ParseTaskDefinitionRef(p.svc.Spec.TaskDefinition)
	if err != nil {
		p.revProblem, p.revStalled = err.Error(), "change spec.taskDefinition"
		return nil
	}
	if ref.Revision > 0 {
		ri, err := p.revision(ctx, ref.String())
		if err != nil {
			return err
		}
		if !ri.found {
			p.revProblem = fmt.Sprintf("TaskDefinition %s not found in namespace %s", ref, p.svc.Namespace)
			p.revStalled, err = p.revisionStalled(ctx, ref)
			return err
		}
		if ri.status != ecsv1.RevisionActive && !p.deploys(ref.String()) {
			// Admission refuses this (config/policy/revision-status.yaml);
			// this is for a Service applied just as its revision was
			// deregistered.
			p.revProblem = fmt.Sprintf("TaskDefinition %s is %s: a service cannot be created with or changed to a revision that is not ACTIVE", ref, ri.status)
			p.revStalled = "change spec.taskDefinition"
			return nil
		}
		p.desiredRev = ref.String()
		return nil
	}
	var revs ecsv1.TaskDefinitionRevisionList
	if err := p.r.Client.List(ctx, &revs, client.InNamespace(p.svc.Namespace), client.MatchingLabels{ecsv1.LabelFamily: ref.Family}); err != nil {
		return err
	}
	var best *ecsv1.TaskDefinitionRevision
	for i := range revs.Items {
		rv := &revs.Items[i]
		if rv.Spec.Family != ref.Family || rv.EffectiveStatus() != ecsv1.RevisionActive {
			continue
		}
		if best == nil || rv.Spec.Revision > best.Spec.Revision {
			best = rv
		}
	}
	// A deregistered revision stays with the Service that runs it, as in
	// ECS (its tasks keep running, it can still scale): the Service moves
	// on to a newer ACTIVE revision, never back to an older one.
	if prim := p.primary(); prim != nil {
		if cur, err := ecsv1.ParseTaskDefinitionRef(prim.TaskDefinition); err == nil && cur.Family == ref.Family &&
			(best == nil || cur.Revision > best.Spec.Revision) {
			p.desiredRev = cur.String()
			return nil
		}
	}
	if best == nil {
		p.revProblem = fmt.Sprintf("TaskDefinition %s has no ACTIVE revision in namespace %s", ref.Family, p.svc.Namespace)
		p.revStalled, err = p.revisionStalled(ctx, ref)
		return err
	}
	p.desiredRev = fmt.Sprintf("%s:%d", best.Spec.Family, best.Spec.Revision)
	return nil
}

// deploys says whether a deployment of the Service runs ref.
func (p *pass) deploys(ref string) bool {
	for _, d := range p.st.Deployments {
		if d.TaskDefinition == ref {
			return true
		}
	}
	return false
}

// revisionStalled says why a revision that cannot be resolved cannot
// appear without a change, "" when it may yet appear: the family does not
// exist (yet: a GitOps apply may create it after the Service) or is
// registering a revision. It cannot when the family is being deleted,
// reports Stalled (an invalid spec, its revision deleted), or, for a
// pinned revision, has moved past it (revision numbers are never reused).
func (p *pass) revisionStalled(ctx context.Context, ref ecsv1.TaskDefinitionRef) (string, error) {
	td := &ecsv1.TaskDefinition{}
	if err := p.r.Client.Get(ctx, client.ObjectKey{Namespace: p.svc.Namespace, Name: ref.Family}, td); err != nil {
		return "", client.IgnoreNotFound(err)
	}
	switch {
	case td.DeletionTimestamp != nil:
		return "TaskDefinition " + ref.Family + " is being deleted", nil
	case td.Status.ObservedGeneration != td.Generation:
		return "", nil
	case ref.Revision > 0 && ref.Revision < td.Status.LatestRevision:
		return fmt.Sprintf("revision %d was deleted and TaskDefinition %s is at revision %d", ref.Revision, ref.Family, td.Status.LatestRevision), nil
	}
	if c := apimeta.FindStatusCondition(td.Status.Conditions, ecsv1.ConditionStalled); ref.Revision == 0 && c != nil && c.Status == metav1.ConditionTrue {
		return "TaskDefinition " + ref.Family + " is stalled: " + c.Message, nil
	}
	return "", nil
}

// observeInstances lists the ContainerInstances of the Service's Cluster.
func (p *pass) observeInstances(ctx context.Context) error {
	var list ecsv1.ContainerInstanceList
	if err := p.r.Client.List(ctx, &list, client.MatchingFields{cluster.IndexInstanceCluster: ecsv1.ClusterName(p.svc.Spec.Cluster)}); err != nil {
		return err
	}
	p.instances = make(map[string]*ecsv1.ContainerInstance, len(list.Items))
	for i := range list.Items {
		p.instances[list.Items[i].Name] = &list.Items[i]
	}
	return nil
}

// attribute is the value of an instance attribute (custom attributes
// override the agent's), or of the pseudo attributes instanceId and host.
func attribute(ci *ecsv1.ContainerInstance, name string) string {
	if ci == nil {
		return ""
	}
	if name == "instanceId" || name == "host" {
		return ci.Name
	}
	for _, a := range ci.Spec.Attributes {
		if a.Name == name {
			return a.Value
		}
	}
	for _, a := range ci.Status.Attributes {
		if a.Name == name {
			return a.Value
		}
	}
	return ""
}

// classify builds the taskInfos of the Service's tasks.
func (p *pass) classify(ctx context.Context, tasks []*ecsv1.Task) error {
	grace := time.Duration(0)
	if g := p.svc.Spec.HealthCheckGracePeriodSeconds; g != nil {
		grace = time.Duration(*g) * time.Second
	}
	seen := make(map[types.UID]bool, len(tasks))
	for _, t := range tasks {
		ti := &taskInfo{t: t, instance: t.Spec.ContainerInstance}
		ti.dep = deploymentFromLabel(t.Labels[ecsv1.LabelDeployment])
		if ti.dep == "" {
			ti.dep = t.Spec.StartedBy
		}
		if ci := p.instances[ti.instance]; ci != nil && ci.Spec.State == ecsv1.ContainerInstanceDraining {
			ti.draining = true
		}
		ti.stopped = t.Status.LastStatus == ecsv1.TaskStopped
		if !ti.stopped {
			ti.stopping = t.Spec.DesiredStatus == ecsv1.DesiredStopped || t.DeletionTimestamp != nil || t.Status.StopCode != "" ||
				ecsv1.PhaseIndex(t.Status.LastStatus) > ecsv1.PhaseIndex(ecsv1.TaskRunning)
			// A stop a manager before spec.stop existed began (status
			// first, then desiredStatus) and did not finish.
			ti.finishStop = t.Spec.DesiredStatus != ecsv1.DesiredStopped && t.DeletionTimestamp == nil &&
				t.Status.StopCode == ecsv1.StopCodeServiceSchedulerInitiated
		}
		ri, err := p.revision(ctx, p.revisionOf(ti))
		if err != nil {
			return err
		}
		if ti.live() && ti.running() {
			ti.healthy, ti.unhealthy = p.health(ti, ri.hasHealthCheck, grace)
			if ti.healthy && ri.hasHealthCheck && t.Status.HealthStatus == ecsv1.HealthHealthy {
				seen[t.UID] = true
			}
			if ti.healthy {
				p.r.noteHealthy(p.key, ti.dep, t.CreationTimestamp.Time)
			}
		}
		p.tasks = append(p.tasks, ti)
	}
	p.r.rememberHealthy(p.key, tasks, seen)
	return nil
}

// revisionOf is the "family:revision" a task runs: the resolved one, else
// its deployment's.
func (p *pass) revisionOf(ti *taskInfo) string {
	if r := ti.t.Status.TaskDefinitionRevision; r != "" {
		return r
	}
	return ti.t.Spec.TaskDefinition
}

// health applies the task health rule of api.md to a RUNNING task: with
// no essential health check a task is healthy HealthyAfter after RUNNING,
// else once HEALTHY. During healthCheckGracePeriodSeconds after RUNNING
// it counts as healthy whatever its checks say (a task without health
// checks then simply counts as healthy at once: it cannot turn unhealthy).
// It also schedules the pass that sees the next change.
func (p *pass) health(ti *taskInfo, hasHealthCheck bool, grace time.Duration) (healthy, unhealthy bool) {
	started := ti.t.CreationTimestamp.Time
	if s := ti.t.Status.StartedAt; s != nil {
		started = s.Time
	}
	elapsed := p.now.Sub(started)
	if !hasHealthCheck {
		if grace > 0 || elapsed >= p.r.HealthyAfter {
			return true, false
		}
		p.requeueAfter(p.r.HealthyAfter - elapsed)
		return false, false
	}
	switch {
	case ti.t.Status.HealthStatus == ecsv1.HealthHealthy:
		return true, false
	case elapsed < grace:
		p.requeueAfter(grace - elapsed)
		return true, false
	}
	return false, ti.t.Status.HealthStatus == ecsv1.HealthUnhealthy
}

// everHealthy tells, of a STOPPED task, whether it was ever healthy: it
// ran HealthyAfter (no health check), or the Reconciler saw it HEALTHY.
// The grace period does not count: a task that exits during it failed.
func (p *pass) everHealthy(ti *taskInfo, hasHealthCheck bool) bool {
	t := ti.t
	if hasHealthCheck {
		return t.Status.HealthStatus == ecsv1.HealthHealthy || p.r.wasHealthy(p.key, t.UID)
	}
	if t.Status.StartedAt == nil {
		return false
	}
	end := p.now
	for _, ts := range []*time.Time{timeOf(t.Status.ExecutionStoppedAt), timeOf(t.Status.StoppingAt), timeOf(t.Status.StoppedAt)} {
		if ts != nil && ts.Before(end) {
			end = *ts
		}
	}
	return end.Sub(t.Status.StartedAt.Time) >= p.r.HealthyAfter
}

// failed tells whether a STOPPED task counts as failed for the circuit
// breaker: it stopped on its own (failed to start, essential container
// exited) without ever being healthy, or the service replaced it for
// failing health checks. Stops by a user, by the service scheduler and
// for a lost instance are not failures.
func (p *pass) failed(ctx context.Context, ti *taskInfo) (bool, error) {
	switch ti.t.Status.StopCode {
	case ecsv1.StopCodeUserInitiated, ecsv1.StopCodeInfrastructureHealth:
		return false, nil
	case ecsv1.StopCodeServiceSchedulerInitiated:
		return ti.t.Status.StoppedReason == ecsv1.StoppedReasonFailedHealthChecks, nil
	}
	ri, err := p.revision(ctx, p.revisionOf(ti))
	if err != nil {
		return false, err
	}
	return !p.everHealthy(ti, ri.hasHealthCheck), nil
}
