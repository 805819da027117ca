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

package taskdefinition

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/handler"

	ecsv1 "github.com/longshore-io/longshore/api/v1alpha1"
	"github.com/longshore-io/longshore/internal/kube"
)

// RevisionReconciler keeps TaskDefinitionRevisions' finalizer and status:
// a live revision is ACTIVE, or INACTIVE once its spec.state says so, and
// carries FinalizerRevisionInUse; a deleted one is DELETE_IN_PROGRESS until
// no Task that is not STOPPED and no Service references it, then its
// finalizer is removed (ECS DeleteTaskDefinitions). It also keeps each
// namespace's revision status map, the param of the admission policy that
// refuses new users of revisions that are not ACTIVE (statusmap.go).
type RevisionReconciler struct {
	// Client reads from the manager's cache, with the indexes of
	// SetupIndexes, and writes to the API server.
	Client client.Client
	// APIReader reads the revision status ConfigMaps (the manager caches
	// no ConfigMaps). SetupWithManager defaults it to the manager's API
	// reader.
	APIReader client.Reader
	// Recorder emits Events in ECS wording; nil emits none.
	Recorder events.EventRecorder

	mu sync.Mutex
	// written is the revision status map last written (or read) per
	// namespace.
	written map[string]map[string]string
}

// SetupWithManager registers the reconciler: revisions, and the Tasks and
// Services whose references to revisions change (mapped to the revisions
// they referenced before and after the change).
func (r *RevisionReconciler) SetupWithManager(mgr ctrl.Manager) error {
	if r.APIReader == nil {
		r.APIReader = mgr.GetAPIReader()
	}
	return ctrl.NewControllerManagedBy(mgr).
		Named("taskdefinitionrevision").
		For(&ecsv1.TaskDefinitionRevision{}).
		Watches(&ecsv1.Task{}, handler.EnqueueRequestsFromMapFunc(mapToRevisions), builder.WithPredicates(refsChanged)).
		Watches(&ecsv1.Service{}, handler.EnqueueRequestsFromMapFunc(mapToRevisions), builder.WithPredicates(refsChanged)).
		Complete(r)
}

// Reconcile runs one pass over a revision.
func (r *RevisionReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	rev := &ecsv1.TaskDefinitionRevision{}
	if err := r.Client.Get(ctx, req.NamespacedName, rev); err != nil {
		if apierrors.IsNotFound(err) {
			// Gone: it leaves the namespace's status map.
			err = r.syncStatusMap(ctx, req.Namespace)
			return kube.Result(ctrl.Result{}, conflictOrAlreadyExists(err))
		}
		return ctrl.Result{}, err
	}
	// The map first: admission refuses new users of a deregistered
	// revision as soon as possible.
	err := r.syncStatusMap(ctx, rev.Namespace)
	switch {
	case !rev.DeletionTimestamp.IsZero():
		// A map that cannot be written never holds a deletion back (a
		// terminating namespace refuses to re-create it).
		err = errors.Join(err, r.reconcileDeletion(ctx, rev))
	case err == nil:
		err = r.reconcileLive(ctx, rev)
	}
	err = conflictOrAlreadyExists(err)
	if kube.IsConflict(err) {
		ctrl.LoggerFrom(ctx).V(1).Info("Lost a race with another writer, retrying", "reason", err.Error())
	}
	return kube.Result(ctrl.Result{}, err)
}

// conflictOrAlreadyExists turns the AlreadyExists of a status map created
// concurrently into the conflict it is (retried soon).
func conflictOrAlreadyExists(err error) error {
	if apierrors.IsAlreadyExists(err) {
		return apierrors.NewConflict(corev1.Resource("configmaps"), RevisionStatusConfigMapName, err)
	}
	return err
}

// reconcileLive makes sure a live revision carries the finalizer (the
// Reconciler sets it at creation; this repairs a crash in between) and
// that its status says what its spec.state does: ACTIVE, or INACTIVE once
// deregistered.
func (r *RevisionReconciler) reconcileLive(ctx context.Context, rev *ecsv1.TaskDefinitionRevision) error {
	if !controllerutil.ContainsFinalizer(rev, ecsv1.FinalizerRevisionInUse) {
		base := rev.DeepCopy()
		controllerutil.AddFinalizer(rev, ecsv1.FinalizerRevisionInUse)
		if _, err := kube.Patch(ctx, r.Client, base, rev); err != nil {
			return err
		}
	}
	base := rev.DeepCopy()
	rev.Status.Status = ecsv1.RevisionActive
	if rev.Spec.State == ecsv1.RevisionStateInactive {
		rev.Status.Status = ecsv1.RevisionInactive
	}
	rev.Status.ObservedGeneration = rev.Generation
	setRevisionReady(rev)
	wrote, err := kube.PatchStatus(ctx, r.Client, base, rev)
	if err == nil && wrote && rev.Status.Status == ecsv1.RevisionInactive && base.Status.Status != ecsv1.RevisionInactive {
		ctrl.LoggerFrom(ctx).Info("Task definition deregistered", "revision", refOf(rev))
		if r.Recorder != nil {
			r.Recorder.Eventf(rev, nil, corev1.EventTypeNormal, ecsv1.EventDeregistered, "Deregister",
				"Deregistered task definition %s: it is INACTIVE; its running tasks keep running and the services that use it can still scale, but no new task or service may use it", refOf(rev))
		}
	}
	return err
}

// reconcileDeletion holds a deleted revision while it is in use.
func (r *RevisionReconciler) reconcileDeletion(ctx context.Context, rev *ecsv1.TaskDefinitionRevision) error {
	log := ctrl.LoggerFrom(ctx)
	if !controllerutil.ContainsFinalizer(rev, ecsv1.FinalizerRevisionInUse) {
		return nil
	}
	ref := refOf(rev)
	tasks, services, err := revisionUsers(ctx, r.Client, rev.Namespace, ref)
	if err != nil {
		return err
	}
	inUse := len(tasks)+len(services) > 0
	before := rev.DeepCopy()
	rev.Status.Status = ecsv1.RevisionDeleteInProgress
	rev.Status.ObservedGeneration = rev.Generation
	setRevisionReady(rev)
	if wrote, err := kube.PatchStatus(ctx, r.Client, before, rev); err != nil {
		return err
	} else if wrote {
		if inUse && r.Recorder != nil {
			r.Recorder.Eventf(rev, nil, corev1.EventTypeNormal, ecsv1.EventDeleteInProgress, "Delete",
				"Task definition %s is DELETE_IN_PROGRESS: still used by %s", ref, describeUsers(tasks, services))
		}
	}
	if inUse {
		log.Info("Keeping deleted task definition while it is in use", "revision", ref, "tasks", tasks, "services", services)
		return nil // a change of those Tasks or Services brings us back
	}
	log.Info("Removing the finalizer of deleted task definition", "revision", ref)
	base := rev.DeepCopy()
	controllerutil.RemoveFinalizer(rev, ecsv1.FinalizerRevisionInUse)
	if err := r.Client.Patch(ctx, rev, client.MergeFromWithOptions(base, client.MergeFromWithOptimisticLock{})); err != nil {
		return client.IgnoreNotFound(err)
	}
	if r.Recorder != nil {
		r.Recorder.Eventf(rev, nil, corev1.EventTypeNormal, ecsv1.EventDeleted, "Delete", "Deleted task definition %s", ref)
	}
	return nil
}

// setRevisionReady sets a revision's Ready condition: True while it is
// registered (ACTIVE, reason Registered) or deregistered (INACTIVE, reason
// Deregistered: kept for the tasks and Services that use it), False
// once deleted (DELETE_IN_PROGRESS, held by the Tasks and Services that
// use it). A revision's spec changes at most once (spec.state), and the status
// follows it in the same pass, so it never reports Reconciling or Stalled.
func setRevisionReady(rev *ecsv1.TaskDefinitionRevision) {
	c := metav1.Condition{Type: ecsv1.ConditionReady, Status: metav1.ConditionTrue, Reason: ecsv1.ReasonRevisionRegistered,
		ObservedGeneration: rev.Generation, Message: fmt.Sprintf("Task definition %s is %s", refOf(rev), rev.Status.Status)}
	switch rev.Status.Status {
	case ecsv1.RevisionInactive:
		c.Reason = ecsv1.ReasonRevisionDeregistered
		c.Message = fmt.Sprintf("Task definition %s is INACTIVE (deregistered): kept for the tasks and services that already use it; only now may it be deleted (ECS DeleteTaskDefinitions)", refOf(rev))
	case ecsv1.RevisionDeleteInProgress:
		c.Status, c.Reason = metav1.ConditionFalse, ecsv1.ReasonRevisionDeleteInProgress
		c.Message = fmt.Sprintf("Task definition %s was deleted: it is DELETE_IN_PROGRESS until no Task or Service uses it", refOf(rev))
	}
	meta.SetStatusCondition(&rev.Status.Conditions, c)
}

// describeUsers names a few of the users of a revision.
func describeUsers(tasks, services []string) string {
	var parts []string
	name := func(kind string, names []string) {
		if len(names) == 0 {
			return
		}
		s := fmt.Sprintf("%d %s(s) (%s", len(names), kind, strings.Join(names[:min(len(names), 3)], ", "))
		if len(names) > 3 {
			s += ", …"
		}
		parts = append(parts, s+")")
	}
	name("task", tasks)
	name("service", services)
	return strings.Join(parts, " and ")
}
