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

// Package task is the manager's Task reconciler: it resolves a Task's
// revision, places it with internal/scheduler and binds it by setting
// spec.containerInstance (once, when empty), then hands it to the agent at
// PENDING. STOPPED tasks are deleted after the Cluster's
// stoppedTaskRetention.
package task

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/events"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	ecsv1 "github.com/longshore-io/longshore/api/v1alpha1"
	"github.com/longshore-io/longshore/controllers/cluster"
	"github.com/longshore-io/longshore/internal/scheduler"
)

var (
	placementLatency = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "longshore_placement_duration_seconds", Help: "Time to compute one task placement.",
		Buckets: prometheus.ExponentialBuckets(0.0001, 2, 16)})
	unplaceable = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "longshore_unplaceable_tasks", Help: "Tasks that no container instance can take now."})
	tasksDesc = prometheus.NewDesc("longshore_tasks", "Tasks by lastStatus.", []string{"last_status"}, nil)
)

func init() {
	metrics.Registry.MustRegister(placementLatency, unplaceable)
}

// statusCollector counts Tasks by lastStatus from the informer cache at
// scrape time.
type statusCollector struct{ reader client.Reader }

func (c statusCollector) Describe(ch chan<- *prometheus.Desc) { ch <- tasksDesc }

func (c statusCollector) Collect(ch chan<- prometheus.Metric) {
	var tasks ecsv1.TaskList
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.reader.List(ctx, &tasks); err != nil {
		return
	}
	counts := map[string]int{}
	for _, p := range ecsv1.TaskPhases {
		counts[string(p)] = 0
	}
	for _, t := range tasks.Items {
		p := string(t.Status.LastStatus)
		if p == "" {
			p = "NONE"
		}
		counts[p]++
	}
	for p, n := range counts {
		ch <- prometheus.MustNewConstMetric(tasksDesc, prometheus.GaugeValue, float64(n), p)
	}
}

// Reconciler reconciles Tasks up to PENDING.
type Reconciler struct {
	Client   client.Client
	Recorder events.EventRecorder
	Clock    clock.Clock
	// MaxConcurrentReconciles of the controller (placement itself is serial).
	MaxConcurrentReconciles int
	// ResolveGrace is how long a Task waits for a missing TaskDefinition
	// (default DefaultResolveGrace).
	ResolveGrace time.Duration

	// mu serializes placements: each one sees the binds before it.
	mu sync.Mutex
	// assumed are binds written but maybe not in the cache yet.
	assumed map[client.ObjectKey]assumedTask
	// waiting are tasks that found no instance, by key.
	waiting map[client.ObjectKey]bool
	rnd     *rand.Rand
}

type assumedTask struct {
	instance string
	group    string
	res      ecsv1.Reservation
}

// SetupWithManager registers the reconciler. Changes of instances and of
// other tasks (capacity freed) wake the tasks waiting for a placement.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	r.assumed = map[client.ObjectKey]assumedTask{}
	r.waiting = map[client.ObjectKey]bool{}
	r.rnd = rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 0x6c6f6e6773686f72))
	if r.MaxConcurrentReconciles == 0 {
		r.MaxConcurrentReconciles = 4
	}
	if r.ResolveGrace == 0 {
		r.ResolveGrace = DefaultResolveGrace
	}
	if err := metrics.Registry.Register(statusCollector{reader: mgr.GetClient()}); err != nil {
		var are prometheus.AlreadyRegisteredError
		if !errors.As(err, &are) {
			return err
		}
	}
	wakeWaiting := handler.EnqueueRequestsFromMapFunc(func(context.Context, client.Object) []reconcile.Request {
		r.mu.Lock()
		defer r.mu.Unlock()
		out := make([]reconcile.Request, 0, len(r.waiting))
		for k := range r.waiting {
			out = append(out, reconcile.Request{NamespacedName: k})
		}
		return out
	})
	return ctrl.NewControllerManagedBy(mgr).
		Named("task").
		For(&ecsv1.Task{}).
		Watches(&ecsv1.ContainerInstance{}, wakeWaiting).
		Watches(&ecsv1.Task{}, wakeWaiting).
		Watches(&ecsv1.Cluster{}, wakeWaiting).
		Watches(&ecsv1.TaskDefinitionRevision{}, wakeWaiting).
		WithOptions(controller.Options{MaxConcurrentReconciles: r.MaxConcurrentReconciles}).
		Complete(r)
}

// Reconcile implements reconcile.Reconciler.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	task := &ecsv1.Task{}
	if err := r.Client.Get(ctx, req.NamespacedName, task); err != nil {
		if apierrors.IsNotFound(err) {
			r.forget(req.NamespacedName)
			return ctrl.Result{}, nil
		}
		return ctrl.Result{}, err
	}
	if task.Status.LastStatus == ecsv1.TaskStopped {
		r.forget(req.NamespacedName)
		return r.retain(ctx, task)
	}
	if task.DeletionTimestamp != nil || ecsv1.PhaseIndex(task.Status.LastStatus) >= ecsv1.PhaseIndex(ecsv1.TaskPending) {
		// The agent's from here on (an unbound task has no finalizer).
		r.forget(req.NamespacedName)
		return ctrl.Result{}, nil
	}
	st := task.Status.DeepCopy()
	res, err := r.reconcileTask(ctx, task, st)
	r.setConditions(task, st, err == nil)
	if perr := r.patchStatus(ctx, task, st); perr != nil {
		if apierrors.IsConflict(perr) {
			return ctrl.Result{RequeueAfter: time.Millisecond}, nil
		}
		return ctrl.Result{}, errors.Join(err, perr)
	}
	return res, err
}

func (r *Reconciler) reconcileTask(ctx context.Context, task *ecsv1.Task, st *ecsv1.TaskStatus) (ctrl.Result, error) {
	log := ctrl.LoggerFrom(ctx)
	if task.Spec.DesiredStatus == ecsv1.DesiredStopped && task.Spec.ContainerInstance == "" {
		// Never reached an instance: nothing to clean up.
		code, reason := task.RequestedStop()
		r.stopUnbound(st, code, reason)
		return ctrl.Result{}, nil
	}
	// 1. Resolve the revision.
	rev, err := r.resolve(ctx, task, st)
	if err != nil {
		var we *waitError
		if errors.As(err, &we) {
			r.mu.Lock()
			r.waiting[client.ObjectKeyFromObject(task)] = true
			r.mu.Unlock()
			if st.LastStatus == "" {
				st.LastStatus = ecsv1.TaskProvisioning
			}
			apimeta.SetStatusCondition(&st.Conditions, metav1.Condition{Type: ecsv1.ConditionScheduled, Status: metav1.ConditionFalse,
				Reason: ecsv1.ReasonRevisionNotFound, Message: we.msg, ObservedGeneration: task.Generation})
			return ctrl.Result{RequeueAfter: we.retry}, nil
		}
		var re *resolveError
		if errors.As(err, &re) {
			r.stopUnbound(st, ecsv1.StopCodeTaskFailedToStart, re.msg)
			r.event(task, corev1.EventTypeWarning, string(ecsv1.StopCodeTaskFailedToStart), re.msg)
			return ctrl.Result{}, nil
		}
		return ctrl.Result{}, err
	}
	td := &rev.Spec.TaskDefinition
	reqs, err := scheduler.TaskRequirements(td, task.Spec.Overrides)
	if err != nil {
		msg := err.Error()
		r.stopUnbound(st, ecsv1.StopCodeTaskFailedToStart, msg)
		r.event(task, corev1.EventTypeWarning, string(ecsv1.StopCodeTaskFailedToStart), msg)
		return ctrl.Result{}, nil
	}
	if st.LastStatus == "" {
		st.LastStatus = ecsv1.TaskProvisioning
	}
	if st.Group == "" {
		st.Group = task.Spec.Group
		if st.Group == "" {
			st.Group = "family:" + rev.Spec.Family
		}
	}
	reservation := ecsv1.Reservation{CPU: reqs.CPU, Memory: reqs.Memory, TCPPorts: reqs.TCPPorts, UDPPorts: reqs.UDPPorts,
		DynamicPorts: reqs.DynamicPorts, GPU: reqs.GPU}

	// 2. Bound already (ECS StartTask, or our bind seen again): hand over.
	if task.Spec.ContainerInstance != "" {
		if err := r.bindMetadata(ctx, task, rev, task.Spec.ContainerInstance, reservation); err != nil {
			return ctrl.Result{}, err
		}
		r.handOver(task, st, "Bound to container instance "+task.Spec.ContainerInstance)
		return ctrl.Result{}, nil
	}

	// 3. Place.
	r.mu.Lock()
	defer r.mu.Unlock()
	snap, err := r.snapshot(ctx, task)
	if err != nil {
		return ctrl.Result{}, err
	}
	constraints := slices.Clone(task.Spec.PlacementConstraints)
	constraints = append(constraints, td.PlacementRequirements()...)
	start := time.Now()
	placement, err := snap.Place(scheduler.Task{Namespace: task.Namespace, Group: st.Group, Requirements: reqs,
		Constraints: constraints, Strategies: task.Spec.PlacementStrategy}, r.rnd)
	placementLatency.Observe(time.Since(start).Seconds())
	if err != nil {
		var u *scheduler.Unplaceable
		if !errors.As(err, &u) {
			// A bad memberOf expression: the task can never be placed.
			msg := err.Error()
			r.stopUnbound(st, ecsv1.StopCodeTaskFailedToStart, msg)
			r.event(task, corev1.EventTypeWarning, string(ecsv1.StopCodeTaskFailedToStart), msg)
			return ctrl.Result{}, nil
		}
		key := client.ObjectKeyFromObject(task)
		if !r.waiting[key] || !conditionSays(st, metav1.ConditionFalse, u.Reason) {
			r.event(task, corev1.EventTypeWarning, ecsv1.ReasonUnplaceable, u.Reason)
			log.Info("Task cannot be placed yet", "reason", u.Reason)
		}
		r.waiting[key] = true
		unplaceable.Set(float64(len(r.waiting)))
		apimeta.SetStatusCondition(&st.Conditions, metav1.Condition{Type: ecsv1.ConditionScheduled, Status: metav1.ConditionFalse,
			Reason: ecsv1.ReasonUnplaceable, Message: u.Reason, ObservedGeneration: task.Generation})
		return ctrl.Result{}, nil
	}
	if err := r.bindMetadata(ctx, task, rev, placement.Instance, reservation); err != nil {
		return ctrl.Result{}, err
	}
	key := client.ObjectKeyFromObject(task)
	r.assumed[key] = assumedTask{instance: placement.Instance, group: st.Group, res: reservation}
	delete(r.waiting, key)
	unplaceable.Set(float64(len(r.waiting)))
	log.Info("Placed task", "instance", placement.Instance)
	r.handOver(task, st, "Placed on container instance "+placement.Instance)
	return ctrl.Result{}, nil
}

func conditionSays(st *ecsv1.TaskStatus, status metav1.ConditionStatus, msg string) bool {
	c := apimeta.FindStatusCondition(st.Conditions, ecsv1.ConditionScheduled)
	return c != nil && c.Status == status && c.Message == msg
}

func (r *Reconciler) forget(key client.ObjectKey) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.assumed, key)
	if r.waiting[key] {
		delete(r.waiting, key)
		unplaceable.Set(float64(len(r.waiting)))
	}
}

// handOver moves a bound task to PENDING: the agent takes it from here.
func (r *Reconciler) handOver(task *ecsv1.Task, st *ecsv1.TaskStatus, msg string) {
	if ecsv1.PhaseIndex(st.LastStatus) < ecsv1.PhaseIndex(ecsv1.TaskPending) {
		st.LastStatus = ecsv1.TaskPending
	}
	apimeta.SetStatusCondition(&st.Conditions, metav1.Condition{Type: ecsv1.ConditionScheduled, Status: metav1.ConditionTrue,
		Reason: ecsv1.ReasonPlaced, Message: msg, ObservedGeneration: task.Generation})
}

// stopUnbound stops a task that never reached an instance.
func (r *Reconciler) stopUnbound(st *ecsv1.TaskStatus, code ecsv1.StopCode, reason string) {
	st.MarkStopped(code, reason, metav1.NewTime(r.Clock.Now()))
}

// setConditions sets the Ready condition the manager owns while it
// resolves and places the task (False, reason the phase, message the
// Scheduled condition's), the lifecycle conditions of
// ecsv1.SetTaskConditions (Reconciling; Ready and Stalled of a task
// stopped before it reached an instance), and observedGeneration after a
// clean pass. From PENDING on the agent writes them.
func (r *Reconciler) setConditions(task *ecsv1.Task, st *ecsv1.TaskStatus, clean bool) {
	now := r.Clock.Now()
	if st.LastStatus != ecsv1.TaskStopped {
		phase := st.LastStatus
		if phase == "" {
			phase = ecsv1.TaskProvisioning
		}
		msg := "Resolving the task definition"
		if c := apimeta.FindStatusCondition(st.Conditions, ecsv1.ConditionScheduled); c != nil {
			msg = c.Message
		}
		apimeta.SetStatusCondition(&st.Conditions, metav1.Condition{Type: ecsv1.ConditionReady, Status: metav1.ConditionFalse,
			Reason: string(phase), Message: msg, ObservedGeneration: task.Generation, LastTransitionTime: metav1.NewTime(now)})
	}
	ecsv1.SetTaskConditions(task, st, nil, now)
	if clean {
		st.ObservedGeneration = task.Generation
	}
}

// bindMetadata sets spec.containerInstance (if empty), the agent's
// finalizer, the labels and the reservation, in one patch with optimistic
// locking: a concurrent bind makes it fail rather than double-bind.
func (r *Reconciler) bindMetadata(ctx context.Context, task *ecsv1.Task, rev *ecsv1.TaskDefinitionRevision, instance string, res ecsv1.Reservation) error {
	orig := task.DeepCopy()
	task.Spec.ContainerInstance = instance
	controllerutil.AddFinalizer(task, ecsv1.FinalizerAgent)
	if task.Labels == nil {
		task.Labels = map[string]string{}
	}
	task.Labels[ecsv1.LabelCluster] = ecsv1.ClusterName(task.Spec.Cluster)
	task.Labels[ecsv1.LabelFamily] = rev.Spec.Family
	task.Labels[ecsv1.LabelRevision] = strconv.Itoa(int(rev.Spec.Revision))
	task.Labels[ecsv1.LabelContainerInstance] = instance
	if task.Annotations == nil {
		task.Annotations = map[string]string{}
	}
	task.Annotations[ecsv1.AnnotationReservation] = res.String()
	if equalMeta(orig, task) {
		return nil
	}
	status := task.Status
	if err := r.Client.Patch(ctx, task, client.MergeFromWithOptions(orig, client.MergeFromWithOptimisticLock{})); err != nil {
		return err
	}
	task.Status = status
	return nil
}

func equalMeta(a, b *ecsv1.Task) bool {
	return a.Spec.ContainerInstance == b.Spec.ContainerInstance && slices.Equal(a.Finalizers, b.Finalizers) &&
		mapsEqual(a.Labels, b.Labels) && mapsEqual(a.Annotations, b.Annotations)
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if bv, ok := b[k]; !ok || bv != v {
			return false
		}
	}
	return true
}

// resolveError is a revision the task can never use.
type resolveError struct{ msg string }

func (e *resolveError) Error() string { return e.msg }

// waitError is a revision that may yet appear: its TaskDefinition exists
// and has not minted it yet, or (for a short grace) the TaskDefinition
// itself may still be on its way (applied together with the Task).
type waitError struct {
	msg   string
	retry time.Duration
}

func (e *waitError) Error() string { return e.msg }

// DefaultResolveGrace is how long a Task waits for a TaskDefinition that
// does not exist before it fails (a GitOps apply may create the Task first).
const DefaultResolveGrace = 30 * time.Second

// missing decides between waiting and failing for a revision not found.
func (r *Reconciler) missing(ctx context.Context, task *ecsv1.Task, ref ecsv1.TaskDefinitionRef, failure string) error {
	td := &ecsv1.TaskDefinition{}
	err := r.Client.Get(ctx, client.ObjectKey{Namespace: task.Namespace, Name: ref.Family}, td)
	switch {
	case err == nil && td.DeletionTimestamp == nil:
		minting := td.Status.ObservedGeneration < td.Generation || td.Status.LatestRevision == 0
		if ref.Revision == 0 && minting || ref.Revision > td.Status.LatestRevision && minting {
			return &waitError{msg: fmt.Sprintf("Waiting for TaskDefinition %s to register revision %s", ref.Family, ref), retry: 5 * time.Second}
		}
	case apierrors.IsNotFound(err):
		if left := r.ResolveGrace - r.Clock.Since(task.CreationTimestamp.Time); left > 0 {
			return &waitError{msg: fmt.Sprintf("Waiting for TaskDefinition %s, which does not exist (the task fails in %s)", ref.Family, left.Round(time.Second)), retry: left}
		}
	case err != nil:
		return err
	}
	return &resolveError{msg: failure}
}

// resolve returns the task's revision and records it in status: "family"
// is the latest ACTIVE revision, "family:n" that one, which must be ACTIVE.
func (r *Reconciler) resolve(ctx context.Context, task *ecsv1.Task, st *ecsv1.TaskStatus) (*ecsv1.TaskDefinitionRevision, error) {
	refStr := st.TaskDefinitionRevision
	if refStr == "" {
		refStr = task.Spec.TaskDefinition
	}
	ref, err := ecsv1.ParseTaskDefinitionRef(refStr)
	if err != nil {
		return nil, &resolveError{msg: err.Error()}
	}
	rev := &ecsv1.TaskDefinitionRevision{}
	if ref.Revision > 0 {
		if err := r.Client.Get(ctx, client.ObjectKey{Namespace: task.Namespace, Name: ref.RevisionName()}, rev); err != nil {
			if apierrors.IsNotFound(err) {
				return nil, r.missing(ctx, task, ref, fmt.Sprintf("TaskDefinition %s not found in namespace %s", ref, task.Namespace))
			}
			return nil, err
		}
		if st.TaskDefinitionRevision == "" && rev.Status.Status != ecsv1.RevisionActive && rev.Status.Status != "" {
			return nil, &resolveError{msg: fmt.Sprintf("TaskDefinition %s is %s: new tasks need an ACTIVE revision", ref, rev.Status.Status)}
		}
	} else {
		var revs ecsv1.TaskDefinitionRevisionList
		if err := r.Client.List(ctx, &revs, client.InNamespace(task.Namespace), client.MatchingLabels{ecsv1.LabelFamily: ref.Family}); err != nil {
			return nil, err
		}
		var best *ecsv1.TaskDefinitionRevision
		for i := range revs.Items {
			rv := &revs.Items[i]
			if rv.DeletionTimestamp != nil || (rv.Status.Status != ecsv1.RevisionActive && rv.Status.Status != "") {
				continue
			}
			if best == nil || rv.Spec.Revision > best.Spec.Revision {
				best = rv
			}
		}
		if best == nil {
			return nil, r.missing(ctx, task, ref, fmt.Sprintf("TaskDefinition %s has no ACTIVE revision in namespace %s", ref.Family, task.Namespace))
		}
		rev = best
	}
	st.TaskDefinitionRevision = fmt.Sprintf("%s:%d", rev.Spec.Family, rev.Spec.Revision)
	return rev, nil
}

// snapshot builds the scheduler's view of the task's cluster: its
// instances, the tasks bound to them, and the binds not yet in the cache.
func (r *Reconciler) snapshot(ctx context.Context, task *ecsv1.Task) (*scheduler.Snapshot, error) {
	name := ecsv1.ClusterName(task.Spec.Cluster)
	cl := &ecsv1.Cluster{}
	policy := scheduler.Policy{}
	if err := r.Client.Get(ctx, client.ObjectKey{Name: name}, cl); err == nil {
		policy = scheduler.Policy{Security: cl.Spec.Security, Namespaces: cl.Spec.Namespaces}
	} else if !apierrors.IsNotFound(err) {
		return nil, err
	}
	var cis ecsv1.ContainerInstanceList
	if err := r.Client.List(ctx, &cis, client.MatchingFields{cluster.IndexInstanceCluster: name}); err != nil {
		return nil, err
	}
	var tasks ecsv1.TaskList
	if err := r.Client.List(ctx, &tasks, client.MatchingFields{cluster.IndexTaskCluster: name}); err != nil {
		return nil, err
	}
	instances := make([]*scheduler.Instance, 0, len(cis.Items))
	for i := range cis.Items {
		ci := &cis.Items[i]
		if ci.DeletionTimestamp != nil {
			continue
		}
		attrs := map[string]string{}
		for _, a := range ci.Status.Attributes {
			attrs[a.Name] = a.Value
		}
		for _, a := range ci.Spec.Attributes {
			attrs[a.Name] = a.Value
		}
		inst := &scheduler.Instance{Name: ci.Name, State: ci.Spec.State, Connected: ci.Status.Connected(), Attributes: attrs}
		if ci.Status.RegisteredResources != nil {
			inst.Registered = *ci.Status.RegisteredResources
		}
		instances = append(instances, inst)
	}
	snap := scheduler.NewSnapshot(policy, instances)
	seen := map[client.ObjectKey]bool{}
	for i := range tasks.Items {
		t := &tasks.Items[i]
		key := client.ObjectKeyFromObject(t)
		if t.Spec.ContainerInstance == "" || t.Status.LastStatus == ecsv1.TaskStopped {
			continue
		}
		res, _ := ecsv1.ReservationOf(t)
		snap.Assume(t.Spec.ContainerInstance, groupOf(t), toRequirements(res))
		seen[key] = true
	}
	for key, a := range r.assumed {
		if seen[key] {
			delete(r.assumed, key) // the cache has it now
			continue
		}
		snap.Assume(a.instance, a.group, toRequirements(a.res))
	}
	return snap, nil
}

// groupOf is a bound task's group, also when the cache shows the bind
// before the status that records the group.
func groupOf(t *ecsv1.Task) string {
	switch {
	case t.Status.Group != "":
		return t.Status.Group
	case t.Spec.Group != "":
		return t.Spec.Group
	case t.Labels[ecsv1.LabelFamily] != "":
		return "family:" + t.Labels[ecsv1.LabelFamily]
	}
	return ""
}

func toRequirements(r ecsv1.Reservation) scheduler.Requirements {
	return scheduler.Requirements{CPU: r.CPU, Memory: r.Memory, TCPPorts: r.TCPPorts, UDPPorts: r.UDPPorts, DynamicPorts: r.DynamicPorts, GPU: r.GPU}
}

// retain deletes a STOPPED task once the Cluster's stoppedTaskRetention
// has passed since it stopped.
func (r *Reconciler) retain(ctx context.Context, task *ecsv1.Task) (ctrl.Result, error) {
	if task.DeletionTimestamp != nil {
		return ctrl.Result{}, nil
	}
	retention := 24 * time.Hour
	cl := &ecsv1.Cluster{}
	if err := r.Client.Get(ctx, client.ObjectKey{Name: ecsv1.ClusterName(task.Spec.Cluster)}, cl); err == nil && cl.Spec.StoppedTaskRetention != nil {
		retention = cl.Spec.StoppedTaskRetention.Duration
	}
	stoppedAt := task.CreationTimestamp.Time
	if task.Status.StoppedAt != nil {
		stoppedAt = task.Status.StoppedAt.Time
	}
	left := stoppedAt.Add(retention).Sub(r.Clock.Now())
	if left > 0 {
		return ctrl.Result{RequeueAfter: left}, nil
	}
	ctrl.LoggerFrom(ctx).Info("Deleting a stopped task after its retention", "stoppedAt", stoppedAt, "retention", retention.String())
	return ctrl.Result{}, client.IgnoreNotFound(r.Client.Delete(ctx, task, client.Preconditions{UID: &task.UID}))
}

func (r *Reconciler) patchStatus(ctx context.Context, task *ecsv1.Task, st *ecsv1.TaskStatus) error {
	if equalStatus(&task.Status, st) {
		return nil
	}
	updated := task.DeepCopy()
	updated.Status = *st
	return client.IgnoreNotFound(r.Client.Status().Patch(ctx, updated, client.MergeFromWithOptions(task, client.MergeFromWithOptimisticLock{})))
}

func (r *Reconciler) event(task *ecsv1.Task, typ, reason, msg string) {
	if r.Recorder != nil {
		r.Recorder.Eventf(task, nil, typ, reason, "Schedule", "%s", msg)
	}
}
