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
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	ecsv1 "github.com/longshore-io/longshore/api/v1alpha1"
)

// primary returns the PRIMARY deployment of the status being built.
func (p *pass) primary() *ecsv1.Deployment {
	for i := range p.st.Deployments {
		if p.st.Deployments[i].Status == ecsv1.DeploymentPrimary {
			return &p.st.Deployments[i]
		}
	}
	return nil
}

func (p *pass) deployment(id string) *ecsv1.Deployment {
	for i := range p.st.Deployments {
		if p.st.Deployments[i].ID == id {
			return &p.st.Deployments[i]
		}
	}
	return nil
}

// reconcileDeployments starts a PRIMARY deployment when the Service asks
// for something its primary was not made for: a new revision (a new
// TaskDefinition revision of the family it follows, or an edit of
// spec.taskDefinition), a new restartedAt annotation (rolling restart), or
// new placement constraints or strategies. The old primary becomes ACTIVE.
func (p *pass) reconcileDeployments() {
	if p.deleting || p.desiredRev == "" {
		return
	}
	fp := intentOf(p.svc, p.desiredRev).fingerprint()
	prim := p.primary()
	if prim != nil {
		if got, ok := fingerprintOf(prim.ID); ok && got == fp {
			return
		}
	}
	parent := ""
	if prim != nil {
		parent = prim.ID
	}
	id := newDeploymentID(fp, string(p.svc.UID), parent)
	p.log.Info("Starting a new deployment", "deployment", id, "taskDefinition", p.desiredRev, "replaces", parent)
	p.addPrimary(ecsv1.Deployment{ID: id, TaskDefinition: p.desiredRev,
		RolloutStateReason: fmt.Sprintf("ECS deployment %s in progress.", id)})
	p.deferEvent(corev1.EventTypeNormal, ecsv1.EventDeploymentCreated, "Deploy",
		fmt.Sprintf("%s started deployment %s of %s.", p.who(), id, p.desiredRev))
}

// addPrimary makes d the PRIMARY deployment, IN_PROGRESS, and demotes
// the former primary to ACTIVE.
func (p *pass) addPrimary(d ecsv1.Deployment) {
	if prim := p.primary(); prim != nil {
		prim.Status = ecsv1.DeploymentActive
		prim.UpdatedAt = p.nowTime()
	}
	d.Status = ecsv1.DeploymentPrimary
	d.RolloutState = ecsv1.RolloutInProgress
	d.CreatedAt, d.UpdatedAt = p.nowTime(), p.nowTime()
	if p.deployment(d.ID) != nil {
		// Cannot happen (ids chain on their parent); never list an id twice.
		p.st.Deployments = slices.DeleteFunc(p.st.Deployments, func(x ecsv1.Deployment) bool { return x.ID == d.ID })
	}
	p.st.Deployments = append([]ecsv1.Deployment{d}, p.st.Deployments...)
}

// failureThreshold is the ECS circuit breaker threshold: half the
// desired count (rounded up), at least 3, at most 200.
func failureThreshold(desired int32) int32 {
	return min(max(int32(math.Ceil(float64(desired)*0.5)), 3), 200)
}

// countFailures adds the failed STOPPED tasks not counted yet to their
// deployment's failedTasks; the tasks are marked counted once the status
// is written.
func (p *pass) countFailures(ctx context.Context) error {
	if p.deleting {
		return nil
	}
	for _, ti := range p.tasks {
		if !ti.stopped || ti.t.Annotations[AnnotationFailureCounted] != "" {
			continue
		}
		failed, err := p.failed(ctx, ti)
		if err != nil {
			return err
		}
		if !failed {
			continue
		}
		if prim := p.primary(); prim != nil && prim.ID == ti.dep {
			p.r.noteFailure(p.key, prim.ID, p.now)
		}
		if d := p.deployment(ti.dep); d != nil {
			d.FailedTasks++
			p.log.Info("Task of a deployment failed", "task", ti.t.Name, "deployment", d.ID, "failedTasks", d.FailedTasks,
				"stopCode", ti.t.Status.StopCode, "stoppedReason", ti.t.Status.StoppedReason)
		}
		p.markCounted = append(p.markCounted, ti)
	}
	return nil
}

// reconcileRollout records which deployments ran tasks and moves the
// primary deployment's rolloutState: FAILED when the circuit breaker
// trips (and, with rollback, a new PRIMARY deployment, see failPrimary),
// COMPLETED once
// it runs its tasks, all healthy, and nothing else. Deployments other than
// the primary become INACTIVE once they have no task left; INACTIVE ones
// beyond InactiveDeploymentsToKeep are dropped.
func (p *pass) reconcileRollout() {
	for _, ti := range p.tasks {
		if ti.t.Status.StartedAt == nil {
			continue
		}
		if d := p.deployment(ti.dep); d != nil && !d.RanTasks {
			d.RanTasks = true
		}
	}
	prim := p.primary()
	if prim != nil && prim.RolloutState == ecsv1.RolloutInProgress && !p.deleting {
		cb := p.svc.Spec.DeploymentConfiguration.DeploymentCircuitBreaker
		switch {
		case cb != nil && cb.Enable && prim.FailedTasks >= failureThreshold(p.desired):
			p.failPrimary(prim, cb.Rollback)
		case p.steady(prim):
			prim.RolloutState = ecsv1.RolloutCompleted
			prim.RolloutStateReason = fmt.Sprintf("ECS deployment %s completed.", prim.ID)
			p.log.Info("Deployment completed", "deployment", prim.ID)
			p.deferEvent(corev1.EventTypeNormal, ecsv1.EventDeploymentCompleted, "Deploy",
				fmt.Sprintf("%s deployment %s deployment completed.", p.who(), prim.ID))
		}
	}
	busy := map[string]bool{}
	for _, ti := range p.tasks {
		if !ti.stopped {
			busy[ti.dep] = true
		}
	}
	for i := range p.st.Deployments {
		d := &p.st.Deployments[i]
		if d.Status == ecsv1.DeploymentActive && !busy[d.ID] {
			p.log.Info("Deployment has no task left", "deployment", d.ID)
			d.Status = ecsv1.DeploymentInactive
			d.UpdatedAt = p.nowTime()
		}
	}
	p.pruneDeployments()
}

// failPrimary fails the primary deployment and, with rollback, starts a
// deployment of the revision of rollbackTarget. A rollback deployment
// that fails in turn is not rolled back again. Without rollback, or with
// nothing to roll back to, the tasks of the older deployments keep
// running and the failed deployment starts no more.
func (p *pass) failPrimary(prim *ecsv1.Deployment, rollback bool) {
	prim.RolloutState = ecsv1.RolloutFailed
	prim.RolloutStateReason = "ECS deployment circuit breaker: tasks failed to start."
	id := prim.ID
	p.log.Info("Deployment failed: the circuit breaker tripped", "deployment", id, "failedTasks", prim.FailedTasks,
		"threshold", failureThreshold(p.desired))
	p.deferEvent(corev1.EventTypeWarning, ecsv1.EventDeploymentFailed, "Deploy",
		fmt.Sprintf("%s deployment %s deployment failed: tasks failed to start.", p.who(), id))
	if !rollback || p.isRollback(prim) {
		return
	}
	target := p.rollbackTarget(id)
	if target == nil {
		p.log.Info("No deployment to roll back to: none completed or ran its tasks without failures", "deployment", id)
		p.deferEvent(corev1.EventTypeWarning, ecsv1.EventRollback, "Rollback",
			fmt.Sprintf("%s deployment %s cannot roll back: no earlier deployment completed or ran its tasks.", p.who(), id))
		return
	}
	fp, _ := fingerprintOf(id)
	newID := newDeploymentID(fp, string(p.svc.UID), id)
	targetID, rev := target.ID, target.TaskDefinition
	p.log.Info("Rolling back", "deployment", newID, "to", targetID, "taskDefinition", rev)
	p.addPrimary(ecsv1.Deployment{ID: newID, TaskDefinition: rev,
		RolloutStateReason: rollbackReasonPrefix + targetID + "."})
	p.deferEvent(corev1.EventTypeWarning, ecsv1.EventRollback, "Rollback",
		fmt.Sprintf("%s rolling back to deployment %s.", p.who(), targetID))
}

// rollbackTarget is the deployment that the failed deployment id rolls
// back to: the newest other deployment that COMPLETED, or that ran tasks
// none of which failed (a deployment still IN_PROGRESS when the failed
// one replaced it: its tasks were running, merely not yet proven). A
// FAILED deployment is never a target.
func (p *pass) rollbackTarget(id string) *ecsv1.Deployment {
	var target *ecsv1.Deployment
	for i := range p.st.Deployments {
		d := &p.st.Deployments[i]
		if d.ID == id || d.RolloutState == ecsv1.RolloutFailed {
			continue
		}
		if d.RolloutState != ecsv1.RolloutCompleted && (!d.RanTasks || d.FailedTasks > 0) {
			continue
		}
		if target == nil || createdAt(d).After(createdAt(target).Time) {
			target = d
		}
	}
	return target
}

// rollbackReasonPrefix starts the rolloutStateReason of a deployment
// the circuit breaker started, while it is IN_PROGRESS.
const rollbackReasonPrefix = "ECS deployment circuit breaker: rolling back to deploymentId "

// isRollback tells whether d, IN_PROGRESS, was started by the circuit
// breaker.
func (p *pass) isRollback(d *ecsv1.Deployment) bool {
	return strings.HasPrefix(d.RolloutStateReason, rollbackReasonPrefix)
}

func createdAt(d *ecsv1.Deployment) metav1.Time {
	if d.CreatedAt == nil {
		return metav1.Time{}
	}
	return *d.CreatedAt
}

// pruneDeployments orders the deployments PRIMARY, ACTIVE, INACTIVE
// (newest first within each) and keeps the newest INACTIVE ones.
func (p *pass) pruneDeployments() {
	rank := map[ecsv1.DeploymentStatus]int{ecsv1.DeploymentPrimary: 0, ecsv1.DeploymentActive: 1, ecsv1.DeploymentInactive: 2}
	slices.SortStableFunc(p.st.Deployments, func(a, b ecsv1.Deployment) int {
		return cmp.Or(cmp.Compare(rank[a.Status], rank[b.Status]), createdAt(&b).Compare(createdAt(&a).Time))
	})
	inactive := 0
	p.st.Deployments = slices.DeleteFunc(p.st.Deployments, func(d ecsv1.Deployment) bool {
		if d.Status != ecsv1.DeploymentInactive {
			return false
		}
		inactive++
		return inactive > p.r.InactiveDeploymentsToKeep
	})
	if len(p.st.Deployments) > 32 { // the CRD's maxItems
		p.st.Deployments = p.st.Deployments[:32]
	}
}
