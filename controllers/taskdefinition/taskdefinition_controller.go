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
	"slices"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	ecsv1 "github.com/longshore-io/longshore/api/v1alpha1"
	"github.com/longshore-io/longshore/internal/kube"
)

// Reconciler mints a TaskDefinitionRevision for every new spec of a
// TaskDefinition, reports the family in its status (Valid, Ready,
// latestRevision, activeRevisions) and deletes unreferenced revisions
// beyond revisionHistoryLimit. It is the only writer of revisions.
type Reconciler struct {
	// Client reads from the manager's cache (with the indexes of
	// SetupIndexes) and writes to the API server.
	Client client.Client
	// APIReader reads the counter ConfigMap and re-checks a family just
	// before minting, bypassing the cache. SetupWithManager defaults it to
	// the manager's API reader.
	APIReader client.Reader
	// Recorder emits Events in ECS wording; nil emits none.
	Recorder events.EventRecorder
	// MaxConcurrentReconciles bounds how many families are reconciled at
	// once (default 1).
	MaxConcurrentReconciles int
}

// SetupWithManager registers the reconciler: TaskDefinitions (spec
// changes), their revisions, and the Tasks and Services whose references
// to revisions change (they decide what revisionHistoryLimit may delete).
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	if r.APIReader == nil {
		r.APIReader = mgr.GetAPIReader()
	}
	return ctrl.NewControllerManagedBy(mgr).
		Named("taskdefinition").
		For(&ecsv1.TaskDefinition{}, builder.WithPredicates(predicate.Or(predicate.GenerationChangedPredicate{}, registrationChanged))).
		Owns(&ecsv1.TaskDefinitionRevision{}).
		Watches(&ecsv1.Task{}, handler.EnqueueRequestsFromMapFunc(mapToFamilies), builder.WithPredicates(refsChanged)).
		Watches(&ecsv1.Service{}, handler.EnqueueRequestsFromMapFunc(mapToFamilies), builder.WithPredicates(refsChanged)).
		WithOptions(controller.Options{MaxConcurrentReconciles: max(r.MaxConcurrentReconciles, 1)}).
		Complete(r)
}

// registrationChanged passes updates that change the annotation
// ecsv1.AnnotationRegistration (a RegisterTaskDefinition of the same spec
// through the ECS API, which bumps no generation).
var registrationChanged = predicate.Funcs{
	UpdateFunc: func(e event.UpdateEvent) bool {
		return e.ObjectOld.GetAnnotations()[ecsv1.AnnotationRegistration] != e.ObjectNew.GetAnnotations()[ecsv1.AnnotationRegistration]
	},
	CreateFunc:  func(event.CreateEvent) bool { return false },
	DeleteFunc:  func(event.DeleteEvent) bool { return false },
	GenericFunc: func(event.GenericEvent) bool { return false },
}

// family is what one pass knows of a TaskDefinition and its revisions.
type family struct {
	td  *ecsv1.TaskDefinition
	gen int64 // the generation the pass works on
	// hash is the SpecHash of td.spec; problems its failed semantic checks.
	hash     string
	problems []problem
	// revs are the live revisions td controls (not being deleted), newest
	// first; latestHolds says revs[0] holds the current spec.
	revs        []*ecsv1.TaskDefinitionRevision
	latestHolds bool
	// maxNumber is the highest revision number of the family among every
	// revision of the namespace (any owner, deleted or not).
	maxNumber int32
}

func (f *family) latest() *ecsv1.TaskDefinitionRevision {
	if len(f.revs) == 0 {
		return nil
	}
	return f.revs[0]
}

// needsRevision: the spec is neither the newest live revision's nor the one
// last minted (whose revision may have been deleted since).
func (f *family) needsRevision() bool {
	if f.latestHolds {
		return false
	}
	return f.td.Annotations[AnnotationMintedSpecHash] != f.hash
}

func refOf(rev *ecsv1.TaskDefinitionRevision) string {
	return ecsv1.TaskDefinitionRef{Family: rev.Spec.Family, Revision: rev.Spec.Revision}.String()
}

// isActive: not deregistered (spec.state) nor deleted, whether or not its
// status says so yet.
func isActive(rev *ecsv1.TaskDefinitionRevision) bool {
	return rev.EffectiveStatus() == ecsv1.RevisionActive
}

// Reconcile runs one pass: observe → mint → prune history → patch status.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	td := &ecsv1.TaskDefinition{}
	if err := r.Client.Get(ctx, req.NamespacedName, td); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !td.DeletionTimestamp.IsZero() {
		// Its revisions go through their owner references, each held by
		// its finalizer while in use; the counter stays.
		return ctrl.Result{}, nil
	}
	f, err := observe(ctx, r.Client, td)
	if err != nil {
		return ctrl.Result{}, err
	}

	var res ctrl.Result
	var errs []error
	for _, phase := range []func(context.Context, *family) (ctrl.Result, error){
		r.reconcileRevision,
		r.reconcileHistory,
	} {
		pr, err := phase(ctx, f)
		res = kube.Soonest(res, pr)
		if err != nil {
			if retryable(err) {
				ctrl.LoggerFrom(ctx).V(1).Info("Lost a race with another writer, retrying", "reason", err.Error())
				res = kube.Soonest(res, ctrl.Result{RequeueAfter: kube.ConflictRetry})
			} else {
				errs = append(errs, err)
			}
		}
	}
	clean := len(errs) == 0 && res.IsZero()
	if err := r.patchStatus(ctx, f, clean); err != nil {
		if retryable(err) {
			res = kube.Soonest(res, ctrl.Result{RequeueAfter: kube.ConflictRetry})
		} else {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return ctrl.Result{}, errors.Join(errs...)
	}
	return res, nil
}

// observe gathers a family from reader (the cache, or the API server).
func observe(ctx context.Context, reader client.Reader, td *ecsv1.TaskDefinition) (*family, error) {
	f := &family{td: td, gen: td.Generation, problems: validateSpec(&td.Spec)}
	var err error
	if f.hash, err = RegistrationHash(td); err != nil {
		return nil, err
	}
	var list ecsv1.TaskDefinitionRevisionList
	if err := reader.List(ctx, &list, client.InNamespace(td.Namespace), client.MatchingLabels{ecsv1.LabelFamily: td.Name}); err != nil {
		return nil, fmt.Errorf("listing the revisions of %s: %w", td.Name, err)
	}
	for i := range list.Items {
		rev := &list.Items[i]
		if rev.Spec.Family != td.Name {
			continue
		}
		f.maxNumber = max(f.maxNumber, rev.Spec.Revision)
		if metav1.IsControlledBy(rev, td) && rev.DeletionTimestamp.IsZero() {
			f.revs = append(f.revs, rev)
		}
	}
	slices.SortFunc(f.revs, func(a, b *ecsv1.TaskDefinitionRevision) int { return int(b.Spec.Revision) - int(a.Spec.Revision) })
	if l := f.latest(); l != nil {
		// The revision's spec is hashed again rather than trusting its
		// annotation alone: after a CRD upgrade that adds a defaulted
		// field, both specs read back with the default and still match.
		// The annotation (the hash at mint time) covers the opposite case
		// of a revision spec that reads back differently.
		h, err := SpecHash(&l.Spec.TaskDefinition)
		if err != nil {
			return nil, err
		}
		f.latestHolds = h == f.hash || l.Annotations[AnnotationSpecHash] == f.hash
	}
	return f, nil
}

// reconcileRevision mints the next revision when the spec is valid and
// new. See the package documentation for the counter and its ordering.
func (r *Reconciler) reconcileRevision(ctx context.Context, f *family) (ctrl.Result, error) {
	log := ctrl.LoggerFrom(ctx)
	if len(f.problems) > 0 {
		return ctrl.Result{}, nil // nothing is minted from an invalid spec
	}
	if !f.needsRevision() {
		// A crash between creating a revision and recording its hash
		// leaves the annotation behind: repair it.
		if f.latestHolds && f.td.Annotations[AnnotationMintedSpecHash] != f.hash {
			return ctrl.Result{}, r.recordMinted(ctx, f)
		}
		return ctrl.Result{}, nil
	}

	// The cache may not hold yet the revision minted by the previous pass:
	// decide again on what the API server says.
	fresh := &ecsv1.TaskDefinition{}
	if err := r.APIReader.Get(ctx, client.ObjectKeyFromObject(f.td), fresh); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if fresh.UID != f.td.UID || fresh.Generation != f.gen || !fresh.DeletionTimestamp.IsZero() {
		log.V(1).Info("The cache is behind the API server, retrying", "cachedGeneration", f.gen, "generation", fresh.Generation)
		return ctrl.Result{RequeueAfter: kube.ConflictRetry}, nil
	}
	ff, err := observe(ctx, r.APIReader, fresh)
	if err != nil {
		return ctrl.Result{}, err
	}
	*f = *ff
	if !f.needsRevision() {
		return ctrl.Result{}, nil
	}

	n, err := r.allocateRevision(ctx, f.td.Namespace, f.td.Name, f.maxNumber)
	if err != nil {
		return ctrl.Result{}, err
	}
	rev := &ecsv1.TaskDefinitionRevision{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: f.td.Namespace,
			Name:      ecsv1.RevisionName(f.td.Name, n),
			Labels: map[string]string{
				ecsv1.LabelFamily:   f.td.Name,
				ecsv1.LabelRevision: strconv.FormatInt(int64(n), 10),
			},
			Annotations: map[string]string{AnnotationSpecHash: f.hash},
			Finalizers:  []string{ecsv1.FinalizerRevisionInUse},
		},
		Spec: ecsv1.TaskDefinitionRevisionSpec{
			Family:         f.td.Name,
			Revision:       n,
			TaskDefinition: *f.td.Spec.Registered(),
		},
	}
	if reg := f.td.Annotations[ecsv1.AnnotationRegistration]; reg != "" {
		rev.Annotations[ecsv1.AnnotationRegistration] = reg
	}
	if err := controllerutil.SetControllerReference(f.td, rev, r.Client.Scheme(), controllerutil.WithBlockOwnerDeletion(false)); err != nil {
		return ctrl.Result{}, err
	}
	ref := refOf(rev)
	log.Info("Registering task definition", "revision", ref)
	if err := r.Client.Create(ctx, rev); err != nil {
		if apierrors.IsAlreadyExists(err) {
			// Not made by this counter: skip the number, retry with the next.
			return ctrl.Result{}, errCounterRace{err}
		}
		return ctrl.Result{}, fmt.Errorf("creating revision %s: %w", ref, err)
	}
	base := rev.DeepCopy()
	rev.Status.Status = ecsv1.RevisionActive
	rev.Status.ObservedGeneration = rev.Generation
	setRevisionReady(rev)
	if err := r.Client.Status().Patch(ctx, rev, client.MergeFrom(base)); err != nil {
		// The RevisionReconciler marks it ACTIVE too.
		log.Error(err, "Marking the new revision ACTIVE", "revision", ref)
	}
	f.revs = append([]*ecsv1.TaskDefinitionRevision{rev}, f.revs...)
	f.latestHolds, f.maxNumber = true, n
	if r.Recorder != nil {
		r.Recorder.Eventf(f.td, rev, corev1.EventTypeNormal, ecsv1.EventRegistered, "Register", "Registered task definition %s", ref)
	}
	return ctrl.Result{}, r.recordMinted(ctx, f)
}

// recordMinted writes AnnotationMintedSpecHash on the TaskDefinition.
func (r *Reconciler) recordMinted(ctx context.Context, f *family) error {
	base := f.td.DeepCopy()
	if f.td.Annotations == nil {
		f.td.Annotations = map[string]string{}
	}
	f.td.Annotations[AnnotationMintedSpecHash] = f.hash
	if err := r.Client.Patch(ctx, f.td, client.MergeFrom(base)); err != nil {
		return client.IgnoreNotFound(err)
	}
	return nil
}

// reconcileHistory deletes the ACTIVE revisions that nothing references
// beyond the newest revisionHistoryLimit of them. The newest revision and
// the revisions in use by a Task (not STOPPED) or a Service are always
// kept and do not count against the limit. A Task that starts using a
// revision just as it is deleted is safe: the revision's finalizer holds it.
func (r *Reconciler) reconcileHistory(ctx context.Context, f *family) (ctrl.Result, error) {
	log := ctrl.LoggerFrom(ctx)
	limit := DefaultRevisionHistoryLimit
	if f.td.Spec.RevisionHistoryLimit != nil {
		limit = int(*f.td.Spec.RevisionHistoryLimit)
	}
	if len(f.revs) <= limit+1 {
		return ctrl.Result{}, nil
	}
	kept, keep := 0, []*ecsv1.TaskDefinitionRevision{f.revs[0]}
	for _, rev := range f.revs[1:] {
		_, pruning := rev.Annotations[AnnotationPruned]
		if !isActive(rev) && !pruning {
			keep = append(keep, rev) // deregistered by its user: theirs to delete
			continue
		}
		ref := refOf(rev)
		tasks, services, err := revisionUsers(ctx, r.Client, f.td.Namespace, ref)
		if err != nil {
			return ctrl.Result{}, err
		}
		if !pruning && (len(tasks)+len(services) > 0 || kept < limit) {
			if len(tasks)+len(services) == 0 {
				kept++
			}
			keep = append(keep, rev)
			continue
		}
		log.Info("Deleting task definition beyond revisionHistoryLimit", "revision", ref, "revisionHistoryLimit", limit)
		if err := r.prune(ctx, rev); err != nil {
			return ctrl.Result{}, err
		}
		if r.Recorder != nil && !pruning {
			r.Recorder.Eventf(f.td, rev, corev1.EventTypeNormal, ecsv1.EventPruned, "Delete",
				"Deleting task definition %s: older than the %d newest unused revisions kept by revisionHistoryLimit", ref, limit)
		}
	}
	f.revs = keep
	return ctrl.Result{}, nil
}

// prune deletes a revision as ECS would let anyone: deregistered first
// (spec.state INACTIVE, with AnnotationPruned so that a pass after a crash
// in between finishes the job), then deleted; only an INACTIVE revision
// may be deleted (config/policy/revision-status.yaml).
func (r *Reconciler) prune(ctx context.Context, rev *ecsv1.TaskDefinitionRevision) error {
	ref := refOf(rev)
	if rev.Spec.State != ecsv1.RevisionStateInactive || rev.Annotations[AnnotationPruned] == "" {
		base := rev.DeepCopy()
		rev.Spec.State = ecsv1.RevisionStateInactive
		if rev.Annotations == nil {
			rev.Annotations = map[string]string{}
		}
		rev.Annotations[AnnotationPruned] = "revisionHistoryLimit"
		if err := r.Client.Patch(ctx, rev, client.MergeFromWithOptions(base, client.MergeFromWithOptimisticLock{})); err != nil {
			if apierrors.IsNotFound(err) {
				return nil
			}
			return fmt.Errorf("deregistering revision %s: %w", ref, err)
		}
	}
	if err := r.Client.Delete(ctx, rev, client.Preconditions{UID: &rev.UID}); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("deleting revision %s: %w", ref, err)
	}
	return nil
}

// patchStatus rebuilds the status from f and merge-patches it when it
// changed; observedGeneration moves only after a clean pass.
func (r *Reconciler) patchStatus(ctx context.Context, f *family, clean bool) error {
	td := f.td
	base := td.DeepCopy()
	st := &td.Status
	latest := f.latest()
	st.LatestRevision, st.ActiveRevisions = 0, 0
	if latest != nil {
		st.LatestRevision = latest.Spec.Revision
	}
	for _, rev := range f.revs {
		if isActive(rev) {
			st.ActiveRevisions++
		}
	}
	st.MappedFields = td.Spec.MappedFields()
	setValidCondition(f)
	setReadyCondition(f)
	if clean {
		st.ObservedGeneration = f.gen
	}
	if equality.Semantic.DeepEqual(base.Status, td.Status) {
		return nil
	}
	if r.Recorder != nil {
		oldValid := meta.FindStatusCondition(base.Status.Conditions, ecsv1.ConditionValid)
		newValid := meta.FindStatusCondition(st.Conditions, ecsv1.ConditionValid)
		if newValid.Status == metav1.ConditionFalse && (oldValid == nil || oldValid.Status != metav1.ConditionFalse || oldValid.Message != newValid.Message) {
			r.Recorder.Eventf(td, nil, corev1.EventTypeWarning, ecsv1.EventInvalid, "Validate",
				"Invalid task definition %s: %s", td.Name, newValid.Message)
		}
	}
	if _, err := kube.PatchStatus(ctx, r.Client, base, td); err != nil {
		return fmt.Errorf("patching the status of %s: %w", td.Name, err)
	}
	return nil
}

func setValidCondition(f *family) {
	c := metav1.Condition{Type: ecsv1.ConditionValid, ObservedGeneration: f.gen,
		Status: metav1.ConditionTrue, Reason: ecsv1.ReasonSpecValid, Message: "The spec passed the checks the CRD schema cannot express"}
	if len(f.problems) > 0 {
		msgs := make([]string, len(f.problems))
		for i, p := range f.problems {
			msgs[i] = p.message
		}
		c.Status, c.Reason, c.Message = metav1.ConditionFalse, f.problems[0].reason, joinMessages(msgs)
	}
	meta.SetStatusCondition(&f.td.Status.Conditions, c)
}

// setReadyCondition sets Ready, then the conditions GitOps tools
// (kstatus) read: Reconciling while the current spec's revision is being
// registered, Stalled when no revision can hold the current spec without a
// change of it (an invalid spec; the revision minted from it deleted, or
// not ACTIVE).
func setReadyCondition(f *family) {
	c := metav1.Condition{Type: ecsv1.ConditionReady, ObservedGeneration: f.gen, Status: metav1.ConditionFalse}
	latest := f.latest()
	newest := "the family has no revision"
	if latest != nil {
		newest = refOf(latest) + " is the newest revision"
	}
	switch {
	case len(f.problems) > 0:
		c.Reason = ecsv1.ReasonInvalidSpec
		c.Message = "No revision is registered for an invalid spec (see the Valid condition); " + newest
	case f.latestHolds && isActive(latest):
		c.Status, c.Reason = metav1.ConditionTrue, ecsv1.ReasonRevisionActive
		c.Message = fmt.Sprintf("Task definition %s is ACTIVE and holds the current spec", refOf(latest))
	case f.latestHolds:
		c.Reason = ecsv1.ReasonRevisionNotActive
		c.Message = fmt.Sprintf("Task definition %s holds the current spec but is %s: change the spec to register a new revision", refOf(latest), latest.EffectiveStatus())
	case f.td.Annotations[AnnotationMintedSpecHash] == f.hash:
		c.Reason = ecsv1.ReasonRevisionDeleted
		c.Message = "The revision registered for the current spec was deleted and " + newest + ": change the spec to register a new one"
	default:
		c.Reason = ecsv1.ReasonRevisionPending
		c.Message = "Registering a revision for the current spec; " + newest
	}
	conds := &f.td.Status.Conditions
	meta.SetStatusCondition(conds, c)
	progress := metav1.Condition{ObservedGeneration: f.gen, Status: metav1.ConditionTrue, Reason: c.Reason, Message: c.Message}
	switch c.Reason {
	case ecsv1.ReasonRevisionActive:
		meta.RemoveStatusCondition(conds, ecsv1.ConditionReconciling)
		meta.RemoveStatusCondition(conds, ecsv1.ConditionStalled)
	case ecsv1.ReasonRevisionPending:
		progress.Type = ecsv1.ConditionReconciling
		meta.SetStatusCondition(conds, progress)
		meta.RemoveStatusCondition(conds, ecsv1.ConditionStalled)
	default:
		progress.Type = ecsv1.ConditionStalled
		if len(f.problems) > 0 {
			progress.Message = meta.FindStatusCondition(*conds, ecsv1.ConditionValid).Message
		}
		meta.SetStatusCondition(conds, progress)
		meta.RemoveStatusCondition(conds, ecsv1.ConditionReconciling)
	}
}

// joinMessages joins messages with "; ", bounded well below the
// condition message limit (32768).
func joinMessages(msgs []string) string {
	out := ""
	for i, m := range msgs {
		if i > 0 {
			m = "; " + m
		}
		if len(out)+len(m) > 4000 {
			return out + fmt.Sprintf("; and %d more", len(msgs)-i)
		}
		out += m
	}
	return out
}

// retryable errors are races a later pass wins: optimistic-locking
// conflicts (409) and a counter created concurrently.
func retryable(err error) bool {
	var race errCounterRace
	return apierrors.IsConflict(err) || errors.As(err, &race)
}
