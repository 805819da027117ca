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
// revision and hands the resolved task to the scheduler
// (internal/scheduler), which places it, binds it and moves it to
// PENDING. It stops tasks that can never run before they reach an
// instance (a revision that does not exist or is not ACTIVE, bad
// overrides, a user's stop), and deletes STOPPED tasks after the
// Cluster's stoppedTaskRetention.
//
// Resolution lives here, not in the scheduler, so that the scheduler's
// queue only holds tasks it can place and its cache only instances and
// bindings: resolving needs the TaskDefinition and its revisions, a grace
// for a TaskDefinition applied after its Task, and failures that stop the
// task — lifecycle, not placement. The result travels to the scheduler in
// memory (scheduler.Request), not through the API: a task that resolves
// and places at once costs two writes (the bind and the hand-over to
// PENDING, which records the resolved revision), not three. Both run in
// the leader only, and a new leader resolves every task below PENDING
// again, so nothing is lost with the process.
package task

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/events"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	ecsv1 "github.com/longshore-io/longshore/api/v1alpha1"
	"github.com/longshore-io/longshore/internal/kube"
	"github.com/longshore-io/longshore/internal/scheduler"
	"github.com/longshore-io/longshore/internal/taskpolicy"
	"github.com/longshore-io/longshore/internal/taskstatus"
)

var tasksDesc = prometheus.NewDesc("longshore_tasks", "Tasks by lastStatus.", []string{"last_status"}, nil)

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

// Scheduler takes resolved tasks below PENDING (*scheduler.Scheduler).
type Scheduler interface {
	Enqueue(req scheduler.Request)
}

// Reconciler reconciles Tasks up to the scheduler, and STOPPED ones.
type Reconciler struct {
	Client   client.Client
	Recorder events.EventRecorder
	Clock    clock.Clock
	// Scheduler places the tasks this reconciler resolved.
	Scheduler Scheduler
	// MaxConcurrentReconciles of the controller.
	MaxConcurrentReconciles int
	// ResolveGrace is how long a Task waits for a missing TaskDefinition
	// (default DefaultResolveGrace).
	ResolveGrace time.Duration

	mu sync.Mutex
	// waiting are tasks waiting for their revision, woken when revisions
	// change.
	waiting map[client.ObjectKey]bool
}

// SetupWithManager registers the reconciler. Changes of revisions wake the
// tasks waiting for theirs.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	r.waiting = map[client.ObjectKey]bool{}
	if r.MaxConcurrentReconciles == 0 {
		r.MaxConcurrentReconciles = 4
	}
	if r.ResolveGrace == 0 {
		r.ResolveGrace = DefaultResolveGrace
	}
	if r.Scheduler == nil {
		return errors.New("task reconciler: no scheduler")
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
		Watches(&ecsv1.TaskDefinitionRevision{}, wakeWaiting).
		Watches(&ecsv1.TaskDefinition{}, wakeWaiting).
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
	res, handed, err := r.reconcileTask(ctx, task, st)
	if handed {
		return res, err // the scheduler writes the status from here
	}
	taskstatus.SetConditions(task, st, err == nil, r.Clock.Now())
	updated := task.DeepCopy()
	updated.Status = *st
	if _, perr := kube.PatchStatus(ctx, r.Client, task, updated); perr != nil {
		return kube.Result(res, errors.Join(err, perr))
	}
	return res, err
}

// reconcileTask resolves the task and hands it to the scheduler (handed),
// or records in st why it waits or cannot run.
func (r *Reconciler) reconcileTask(ctx context.Context, task *ecsv1.Task, st *ecsv1.TaskStatus) (res ctrl.Result, handed bool, err error) {
	key := client.ObjectKeyFromObject(task)
	if task.Spec.DesiredStatus == ecsv1.DesiredStopped && task.Spec.ContainerInstance == "" {
		// Never reached an instance: nothing to clean up.
		r.forget(key)
		code, reason := task.RequestedStop()
		taskstatus.StopUnbound(st, code, reason, r.Clock.Now())
		return ctrl.Result{}, false, nil
	}
	rev, err := r.resolve(ctx, task, st)
	if err != nil {
		var we *waitError
		if errors.As(err, &we) {
			r.mu.Lock()
			r.waiting[key] = true
			r.mu.Unlock()
			taskstatus.Provisioning(st)
			taskstatus.SetScheduled(task, st, metav1.ConditionFalse, ecsv1.ReasonRevisionNotFound, we.msg)
			return ctrl.Result{RequeueAfter: we.retry}, false, nil
		}
		r.forget(key)
		var re *resolveError
		if errors.As(err, &re) {
			r.stopUnbound(task, st, re.msg)
			return ctrl.Result{}, false, nil
		}
		return ctrl.Result{}, false, err
	}
	r.forget(key)
	td := &rev.Spec.TaskDefinition
	reqs, err := taskpolicy.TaskRequirements(td, task.Spec.Overrides)
	if err != nil {
		r.stopUnbound(task, st, err.Error())
		return ctrl.Result{}, false, nil
	}
	group := st.Group
	if group == "" {
		group = task.Spec.Group
	}
	if group == "" {
		group = "family:" + rev.Spec.Family
	}
	constraints := slices.Clone(task.Spec.PlacementConstraints)
	constraints = append(constraints, td.PlacementRequirements()...)
	r.Scheduler.Enqueue(scheduler.Request{Key: key, UID: task.UID, Cluster: ecsv1.ClusterName(task.Spec.Cluster), Family: rev.Spec.Family,
		Revision: rev.Spec.Revision, Group: group, Requirements: reqs, Constraints: constraints,
		Strategies: task.Spec.PlacementStrategy})
	return ctrl.Result{}, true, nil
}

func (r *Reconciler) forget(key client.ObjectKey) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.waiting, key)
}

// stopUnbound stops a task that can never run, with a Warning Event.
func (r *Reconciler) stopUnbound(task *ecsv1.Task, st *ecsv1.TaskStatus, msg string) {
	taskstatus.StopUnbound(st, ecsv1.StopCodeTaskFailedToStart, msg, r.Clock.Now())
	r.event(task, corev1.EventTypeWarning, string(ecsv1.StopCodeTaskFailedToStart), msg)
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
		if status := rev.EffectiveStatus(); st.TaskDefinitionRevision == "" && status != ecsv1.RevisionActive {
			ok, err := r.serviceDeploys(ctx, task, ref)
			if err != nil {
				return nil, err
			}
			if !ok {
				// Admission refuses these (config/policy/revision-status.yaml);
				// this is for a Task created just as its revision was
				// deregistered, before the policy's param said so.
				return nil, &resolveError{msg: fmt.Sprintf("TaskDefinition %s is %s: new tasks need an ACTIVE revision", ref, status)}
			}
		}
	} else {
		var revs ecsv1.TaskDefinitionRevisionList
		if err := r.Client.List(ctx, &revs, client.InNamespace(task.Namespace), client.MatchingLabels{ecsv1.LabelFamily: ref.Family}); err != nil {
			return nil, err
		}
		var best *ecsv1.TaskDefinitionRevision
		for i := range revs.Items {
			rv := &revs.Items[i]
			if rv.EffectiveStatus() != ecsv1.RevisionActive {
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

// serviceDeploys says whether task is a task of a Service (its controller)
// one of whose deployments runs ref: as in ECS, a Service that already
// uses a revision may still scale with it after it was deregistered or
// deleted (INACTIVE, DELETE_IN_PROGRESS), while no one else may start new
// tasks of it.
func (r *Reconciler) serviceDeploys(ctx context.Context, task *ecsv1.Task, ref ecsv1.TaskDefinitionRef) (bool, error) {
	owner := metav1.GetControllerOf(task)
	if owner == nil || owner.Kind != "Service" || owner.APIVersion != ecsv1.GroupVersion.String() {
		return false, nil
	}
	svc := &ecsv1.Service{}
	if err := r.Client.Get(ctx, client.ObjectKey{Namespace: task.Namespace, Name: owner.Name}, svc); err != nil {
		return false, client.IgnoreNotFound(err)
	}
	if svc.UID != owner.UID {
		return false, nil
	}
	if svc.Spec.TaskDefinition == ref.String() {
		return true, nil // its pinned revision (the deployment may not be recorded yet)
	}
	for _, d := range svc.Status.Deployments {
		if d.TaskDefinition == ref.String() {
			return true, nil
		}
	}
	return false, nil
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

func (r *Reconciler) event(task *ecsv1.Task, typ, reason, msg string) {
	if r.Recorder != nil {
		r.Recorder.Eventf(task, nil, typ, reason, "Schedule", "%s", msg)
	}
}
