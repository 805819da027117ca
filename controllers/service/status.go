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
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	ecsv1 "github.com/longshore-io/longshore/api/v1alpha1"
)

// steady tells whether every task not STOPPED belongs to the primary
// deployment, is live and healthy, and there are as many as wanted: for a
// REPLICA service desiredCount (none on a DRAINING instance), for a
// DAEMON service one on each eligible instance (tasks on instances whose
// agent is disconnected are tolerated until the cluster controller
// decides).
func (p *pass) steady(prim *ecsv1.Deployment) bool {
	if prim == nil || p.deleting || p.specProblem != "" {
		return false
	}
	if p.daemon {
		have := map[string]int{}
		for _, ti := range p.tasks {
			if ti.stopped {
				continue
			}
			if ti.dep != prim.ID || !ti.live() || !ti.healthy || !p.eligible[ti.instance] {
				if ci := p.instances[ti.instance]; ci != nil && !ci.Status.Connected() && ci.DeletionTimestamp == nil {
					continue
				}
				return false
			}
			have[ti.instance]++
		}
		for name := range p.eligible {
			if have[name] != 1 {
				return false
			}
		}
		return true
	}
	n := 0
	for _, ti := range p.tasks {
		if ti.stopped {
			continue
		}
		if ti.dep != prim.ID || !ti.live() || !ti.healthy || ti.draining {
			return false
		}
		n++
	}
	return n == int(p.desired)
}

// buildStatus fills the counts, the deployments' counts and the
// conditions of the status being built, and emits the steady-state and
// unplaceable Events.
func (p *pass) buildStatus(passErr error) {
	st := p.st
	st.DesiredCount = p.desired
	st.Selector = selectorOf(p.svc.Name)
	st.RunningCount, st.PendingCount = 0, 0
	type counts struct{ running, pending, live int32 }
	byDep := map[string]*counts{}
	for _, ti := range p.tasks {
		c := byDep[ti.dep]
		if c == nil {
			c = &counts{}
			byDep[ti.dep] = c
		}
		switch {
		case ti.stopped:
			continue
		case ti.running():
			st.RunningCount++
			c.running++
		case ti.pending():
			st.PendingCount++
			c.pending++
		}
		if ti.live() {
			c.live++
		}
	}
	prim := p.primary()
	if prim != nil {
		st.TaskDefinition = prim.TaskDefinition
	}
	old := map[string]ecsv1.Deployment{}
	for _, d := range p.svc.Status.Deployments {
		old[d.ID] = d
	}
	for i := range st.Deployments {
		d := &st.Deployments[i]
		c := byDep[d.ID]
		if c == nil {
			c = &counts{}
		}
		d.RunningCount, d.PendingCount = c.running, c.pending
		d.DesiredCount = c.live
		if d.Status == ecsv1.DeploymentPrimary {
			d.DesiredCount = p.desired
		}
		if o, ok := old[d.ID]; ok {
			o.UpdatedAt = d.UpdatedAt
			if !apiequality.Semantic.DeepEqual(&o, d) {
				d.UpdatedAt = p.nowTime()
			}
		}
	}

	steady := p.steady(prim) && len(p.creates) == 0 && len(p.stops) == 0
	p.setConditions(prim, steady)
	p.setReadyConditions(prim, steady)
	p.unplaceableEvents(prim)
	if passErr == nil {
		st.ObservedGeneration = p.svc.Generation
	}
}

func (p *pass) setConditions(prim *ecsv1.Deployment, steady bool) {
	now := metav1.NewTime(p.now)
	cond := func(typ string, status metav1.ConditionStatus, reason, msg string) {
		apimeta.SetStatusCondition(&p.st.Conditions, metav1.Condition{Type: typ, Status: status, Reason: reason,
			Message: msg, ObservedGeneration: p.svc.Generation, LastTransitionTime: now})
	}
	steadyMsg := fmt.Sprintf("%s has reached a steady state.", p.who())
	switch {
	case p.deleting:
		cond(ecsv1.ConditionSteadyState, metav1.ConditionFalse, ecsv1.ReasonServiceDeleting, "The service is being deleted: it stops its tasks")
	case p.specProblem != "":
		cond(ecsv1.ConditionSteadyState, metav1.ConditionFalse, ecsv1.ReasonInvalidSpec, p.specProblem)
	case p.revProblem != "":
		cond(ecsv1.ConditionSteadyState, metav1.ConditionFalse, ecsv1.ReasonRevisionNotFound, p.revProblem)
	case steady:
		cond(ecsv1.ConditionSteadyState, metav1.ConditionTrue, ecsv1.ReasonSteadyState, steadyMsg)
	case prim != nil && prim.RolloutState == ecsv1.RolloutFailed:
		cond(ecsv1.ConditionSteadyState, metav1.ConditionFalse, ecsv1.ReasonDeploymentFailed, prim.RolloutStateReason)
	case prim != nil && prim.RolloutState == ecsv1.RolloutInProgress:
		cond(ecsv1.ConditionSteadyState, metav1.ConditionFalse, ecsv1.ReasonDeploymentInProgress, withNote(prim.RolloutStateReason, p.protectionNote()))
	default:
		healthy := 0
		for _, ti := range p.tasks {
			if ti.live() && ti.healthy && prim != nil && ti.dep == prim.ID {
				healthy++
			}
		}
		cond(ecsv1.ConditionSteadyState, metav1.ConditionFalse, ecsv1.ReasonTasksNotReady,
			withNote(fmt.Sprintf("%d of %d tasks are running and healthy", healthy, p.desired), p.protectionNote()))
	}
	switch {
	case prim == nil && p.revProblem != "":
		cond(ecsv1.ConditionProgressing, metav1.ConditionFalse, ecsv1.ReasonRevisionNotFound, p.revProblem)
	case prim == nil:
		cond(ecsv1.ConditionProgressing, metav1.ConditionFalse, ecsv1.ReasonRevisionNotFound, "No deployment yet")
	case prim.RolloutState == ecsv1.RolloutInProgress:
		cond(ecsv1.ConditionProgressing, metav1.ConditionTrue, ecsv1.ReasonDeploymentInProgress, prim.RolloutStateReason)
	case prim.RolloutState == ecsv1.RolloutFailed:
		cond(ecsv1.ConditionProgressing, metav1.ConditionFalse, ecsv1.ReasonDeploymentFailed, prim.RolloutStateReason)
	default:
		cond(ecsv1.ConditionProgressing, metav1.ConditionFalse, ecsv1.ReasonDeploymentComplete, prim.RolloutStateReason)
	}
	was := apimeta.IsStatusConditionTrue(p.svc.Status.Conditions, ecsv1.ConditionSteadyState)
	if steady && !was {
		p.log.Info("Service reached a steady state")
		p.deferEvent(corev1.EventTypeNormal, ecsv1.EventSteadyState, "Reconcile", steadyMsg)
	}
	if p.revProblem != "" && p.r.remember(p.key, ecsv1.EventRevisionNotFound, p.revProblem, p.now) {
		p.event(corev1.EventTypeWarning, ecsv1.EventRevisionNotFound, "Deploy", fmt.Sprintf("%s cannot deploy: %s.", p.who(), p.revProblem))
	}
}

// setReadyConditions sets Ready and the conditions GitOps tools (kstatus,
// the Argo CD health check) read, after SteadyState:
//
//   - Ready=True in a steady state (what the spec asks runs, healthy);
//   - Stalled=True when the Service cannot get there without a change: an
//     invalid spec, a task definition that cannot be resolved (its family
//     is stalled, or the pinned revision was deleted), a primary deployment
//     that FAILED (circuit breaker without rollback), or a rollback by the
//     circuit breaker (the deployment the spec asks for failed; the tasks
//     run an earlier one);
//   - Reconciling=True otherwise: a deployment rolling, tasks starting,
//     being replaced or waiting for capacity, a revision not there yet, the
//     Service draining on deletion.
func (p *pass) setReadyConditions(prim *ecsv1.Deployment, steady bool) {
	now := metav1.NewTime(p.now)
	set := func(typ string, status metav1.ConditionStatus, reason, msg string) {
		apimeta.SetStatusCondition(&p.st.Conditions, metav1.Condition{Type: typ, Status: status, Reason: reason,
			Message: msg, ObservedGeneration: p.svc.Generation, LastTransitionTime: now})
	}
	stalled := func(reason, msg string) {
		set(ecsv1.ConditionReady, metav1.ConditionFalse, reason, msg)
		set(ecsv1.ConditionStalled, metav1.ConditionTrue, reason, msg)
		apimeta.RemoveStatusCondition(&p.st.Conditions, ecsv1.ConditionReconciling)
	}
	reconciling := func(reason, msg string) {
		set(ecsv1.ConditionReady, metav1.ConditionFalse, reason, msg)
		set(ecsv1.ConditionReconciling, metav1.ConditionTrue, reason, msg)
		apimeta.RemoveStatusCondition(&p.st.Conditions, ecsv1.ConditionStalled)
	}
	switch failed := p.rolledBackFrom(prim); {
	case p.deleting:
		reconciling(ecsv1.ReasonServiceDeleting, "The service is being deleted: it stops its tasks")
	case p.specProblem != "":
		stalled(ecsv1.ReasonInvalidSpec, p.specProblem)
	case p.revProblem != "" && p.revStalled != "":
		stalled(ecsv1.ReasonRevisionNotFound, p.revProblem+": "+p.revStalled)
	case p.revProblem != "":
		reconciling(ecsv1.ReasonRevisionNotFound, "Waiting: "+p.revProblem)
	case prim != nil && prim.RolloutState == ecsv1.RolloutFailed:
		stalled(ecsv1.ReasonDeploymentFailed, fmt.Sprintf("Deployment %s of %s failed (%s) and nothing was rolled back: "+
			"change the task definition or the service to deploy again", prim.ID, prim.TaskDefinition, prim.RolloutStateReason))
	case failed != nil:
		stalled(ecsv1.ReasonDeploymentRolledBack, fmt.Sprintf("Deployment %s of %s failed (%s); the circuit breaker rolled the service back "+
			"to %s (deployment %s, %s): change the task definition or the service to deploy again",
			failed.ID, failed.TaskDefinition, failed.RolloutStateReason, prim.TaskDefinition, prim.ID, prim.RolloutState))
	case steady:
		set(ecsv1.ConditionReady, metav1.ConditionTrue, ecsv1.ReasonSteadyState, fmt.Sprintf("%s has reached a steady state.", p.who()))
		apimeta.RemoveStatusCondition(&p.st.Conditions, ecsv1.ConditionReconciling)
		apimeta.RemoveStatusCondition(&p.st.Conditions, ecsv1.ConditionStalled)
	default:
		c := apimeta.FindStatusCondition(p.st.Conditions, ecsv1.ConditionSteadyState)
		reconciling(c.Reason, c.Message)
	}
}

// rolledBackFrom returns the FAILED deployment that prim replaced as the
// circuit breaker's rollback, nil when prim is not a rollback. A rollback
// keeps the failed deployment's intent fingerprint and names it as its
// parent (failPrimary); a deployment the Service starts for a new intent
// has a fingerprint of its own.
func (p *pass) rolledBackFrom(prim *ecsv1.Deployment) *ecsv1.Deployment {
	if prim == nil {
		return nil
	}
	fp, ok := fingerprintOf(prim.ID)
	if !ok {
		return nil
	}
	for i := range p.st.Deployments {
		d := &p.st.Deployments[i]
		if d.ID == prim.ID || d.RolloutState != ecsv1.RolloutFailed {
			continue
		}
		if dfp, ok := fingerprintOf(d.ID); ok && dfp == fp && newDeploymentID(fp, string(p.svc.UID), d.ID) == prim.ID {
			return d
		}
	}
	return nil
}

// unplaceableEvents repeats the scheduler's "was unable to place a task"
// reason of the primary's waiting tasks as a service Event, once per
// distinct reason (and again every unplaceableEventInterval).
func (p *pass) unplaceableEvents(prim *ecsv1.Deployment) {
	if prim == nil {
		return
	}
	for _, ti := range p.tasks {
		if !ti.live() || ti.dep != prim.ID || ti.instance != "" {
			continue
		}
		c := apimeta.FindStatusCondition(ti.t.Status.Conditions, ecsv1.ConditionScheduled)
		if c == nil || c.Status != metav1.ConditionFalse || c.Reason != ecsv1.ReasonUnplaceable {
			continue
		}
		if p.r.remember(p.key, ecsv1.EventUnplaceable, c.Message, p.now) {
			p.log.Info("Service cannot place a task", "reason", c.Message)
			p.event(corev1.EventTypeWarning, ecsv1.EventUnplaceable, "Place", p.who()+" "+c.Message)
		}
		return
	}
}

func (p *pass) nowTime() *metav1.Time {
	t := metav1.NewTime(p.now)
	return &t
}

// requeueAfter keeps the soonest timed wait of the pass.
func (p *pass) requeueAfter(d time.Duration) {
	if d <= 0 {
		d = time.Millisecond
	}
	if p.requeue == 0 || d < p.requeue {
		p.requeue = d
	}
}

// withNote appends note (a sentence) to msg.
func withNote(msg, note string) string {
	if note == "" {
		return msg
	}
	return msg + "; " + note
}
