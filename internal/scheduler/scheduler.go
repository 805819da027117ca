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

package scheduler

import (
	"context"
	"encoding/json"
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
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	toolscache "k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/events"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	crcache "sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	ecsv1 "github.com/longshore-io/longshore/api/v1alpha1"
	"github.com/longshore-io/longshore/internal/taskstatus"
)

var (
	placementLatency = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "longshore_placement_duration_seconds", Help: "Time to compute one task placement.",
		Buckets: prometheus.ExponentialBuckets(0.0001, 2, 16)})
	unplaceableTasks = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "longshore_unplaceable_tasks", Help: "Tasks that no container instance can take now."})
)

func init() {
	metrics.Registry.MustRegister(placementLatency, unplaceableTasks)
}

// Request is a task for the scheduler: one the Task reconciler resolved
// (its revision exists and is ACTIVE, its requirements computed) and that
// is below PENDING. An unbound task is placed; one bound by its creator
// (spec.containerInstance set: ECS StartTask, a DAEMON service's task) is
// pinned to that instance: it passes the same Cluster policy check, is
// accounted there and handed over, without a resource check (StartTask
// semantics).
type Request struct {
	// Key and UID of the Task.
	Key types.NamespacedName
	UID types.UID
	// Cluster is spec.cluster, defaulted.
	Cluster string
	// Family and Revision are the resolved revision.
	Family   string
	Revision int32
	// Group is the task's group (spec.group, else family:<family>).
	Group string
	// Requirements of the revision with the task's overrides.
	Requirements Requirements
	// Constraints are the task's placement constraints and the revision's
	// memberOf requirements; Strategies the task's strategies.
	Constraints []ecsv1.PlacementConstraint
	Strategies  []ecsv1.PlacementStrategy
}

// Options configure a Scheduler.
type Options struct {
	// Client reads Tasks from the manager's cache and writes to the API
	// server.
	Client client.Client
	// Informers are the manager's cache, whose Task, ContainerInstance
	// and Cluster informers feed the scheduler's cache.
	Informers crcache.Informers
	Recorder  events.EventRecorder
	Clock     clock.WithTicker
	// Binders is how many binds are written at once (default 16).
	Binders int
}

// Scheduler places and binds tasks. It is a leader-elected runnable of the
// manager, like kube-scheduler and kueue's scheduler: a queue of tasks to
// place (fed by the Task reconciler through Enqueue), a cache of the
// clusters' instances and of the placements it assumed kept current by
// informer events (not rebuilt per task), one goroutine that places tasks
// one after the other on that cache, and binder goroutines that write the
// binds. A placement is assumed in the cache at once, so the next one sees
// it; a bind that fails is forgotten (its capacity released) and retried
// after a backoff; the informer's view of the bind confirms it. Tasks that
// no instance can take wait until an event may make them placeable: an
// instance added, changed or connected, a task stopped or deleted, a bind
// forgotten, a Cluster policy changed.
type Scheduler struct {
	client    client.Client
	informers crcache.Informers
	recorder  events.EventRecorder
	clock     clock.WithTicker
	binders   int

	queue *queue
	cache *cache
	rnd   *rand.Rand
	jobs  chan job

	mu sync.Mutex
	// settled are tasks bound and handed over whose PENDING the informer
	// has not shown yet: they are not scheduled again meanwhile.
	settled map[types.NamespacedName]bool
	// announced is the last Unplaceable reason of a waiting task (an Event
	// goes out once per distinct reason).
	announced map[types.NamespacedName]string
}

// New returns a Scheduler; add it to the manager with mgr.Add.
func New(o Options) *Scheduler {
	if o.Binders <= 0 {
		o.Binders = 16
	}
	if o.Clock == nil {
		o.Clock = clock.RealClock{}
	}
	return &Scheduler{
		client: o.Client, informers: o.Informers, recorder: o.Recorder, clock: o.Clock, binders: o.Binders,
		queue: newQueue(o.Clock), cache: newCache(),
		rnd:     rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 0x6c6f6e6773686f72)),
		jobs:    make(chan job, 4*o.Binders),
		settled: map[types.NamespacedName]bool{}, announced: map[types.NamespacedName]string{},
	}
}

// NeedLeaderElection implements manager.LeaderElectionRunnable: only the
// leader places tasks.
func (s *Scheduler) NeedLeaderElection() bool { return true }

// Enqueue asks the scheduler to place (or hand over) a task. Repeating it
// is harmless: a task already queued keeps its place and its backoff.
func (s *Scheduler) Enqueue(req Request) { s.queue.Add(req) }

// Start runs the scheduler until ctx ends.
func (s *Scheduler) Start(ctx context.Context) error {
	log := ctrl.LoggerFrom(ctx).WithName("scheduler")
	ctx = ctrl.LoggerInto(ctx, log)
	var synced []toolscache.InformerSynced
	for _, h := range []struct {
		obj client.Object
		fn  func(obj any, deleted bool)
	}{
		{&ecsv1.Cluster{}, s.onCluster},
		{&ecsv1.ContainerInstance{}, s.onInstance},
		{&ecsv1.Task{}, s.onTask},
	} {
		inf, err := s.informers.GetInformer(ctx, h.obj)
		if err != nil {
			return err
		}
		fn := h.fn
		reg, err := inf.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
			AddFunc:    func(obj any) { fn(obj, false) },
			UpdateFunc: func(_, obj any) { fn(obj, false) },
			DeleteFunc: func(obj any) {
				if d, ok := obj.(toolscache.DeletedFinalStateUnknown); ok {
					obj = d.Obj
				}
				fn(obj, true)
			},
		})
		if err != nil {
			return err
		}
		synced = append(synced, reg.HasSynced)
	}
	if !toolscache.WaitForCacheSync(ctx.Done(), synced...) {
		return errors.New("scheduler: informers did not sync")
	}
	log.Info("Starting the scheduler", "binders", s.binders)
	var wg sync.WaitGroup
	for range s.binders {
		wg.Go(func() {
			for j := range s.jobs {
				s.run(ctx, j)
			}
		})
	}
	wg.Go(func() { s.queue.Run(ctx, s.clock, 50*time.Millisecond) })
	for {
		req, ok := s.queue.Pop()
		if !ok {
			break
		}
		s.scheduleOne(ctx, req)
	}
	close(s.jobs)
	wg.Wait()
	return nil
}

func (s *Scheduler) onCluster(obj any, deleted bool) {
	cl, ok := obj.(*ecsv1.Cluster)
	if !ok {
		return
	}
	p := Policy{Security: cl.Spec.Security, Namespaces: cl.Spec.Namespaces}
	if deleted {
		p = Policy{}
	}
	if s.cache.setPolicy(cl.Name, p) {
		s.queue.Flush()
	}
}

func (s *Scheduler) onInstance(obj any, deleted bool) {
	ci, ok := obj.(*ecsv1.ContainerInstance)
	if !ok {
		return
	}
	var in *Instance
	if !deleted && ci.DeletionTimestamp == nil {
		in = InstanceOf(ci)
	}
	if s.cache.setInstance(ci.Name, ecsv1.ClusterName(ci.Spec.Cluster), in) {
		s.queue.Flush()
	}
}

func (s *Scheduler) onTask(obj any, deleted bool) {
	t, ok := obj.(*ecsv1.Task)
	if !ok {
		return
	}
	key := client.ObjectKeyFromObject(t)
	gone := deleted || t.Status.LastStatus == ecsv1.TaskStopped
	var b *binding
	if !gone && t.Spec.ContainerInstance != "" {
		res, _ := ecsv1.ReservationOf(t)
		b = &binding{instance: t.Spec.ContainerInstance, group: groupOf(t), req: fromReservation(res)}
	}
	if s.cache.setTask(key, ecsv1.ClusterName(t.Spec.Cluster), b, gone) {
		s.queue.Flush()
	}
	done := deleted || t.DeletionTimestamp != nil || t.Status.LastStatus == ecsv1.TaskStopped ||
		ecsv1.PhaseIndex(t.Status.LastStatus) >= ecsv1.PhaseIndex(ecsv1.TaskPending) ||
		(t.Spec.DesiredStatus == ecsv1.DesiredStopped && t.Spec.ContainerInstance == "")
	if done {
		s.queue.Delete(key)
		s.mu.Lock()
		delete(s.settled, key)
		s.unmarkUnplaceableLocked(key)
		s.mu.Unlock()
	}
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

func fromReservation(r ecsv1.Reservation) Requirements {
	return Requirements{CPU: r.CPU, Memory: r.Memory, TCPPorts: r.TCPPorts, UDPPorts: r.UDPPorts, DynamicPorts: r.DynamicPorts, GPU: r.GPU}
}

func reservationOf(r *Requirements) ecsv1.Reservation {
	return ecsv1.Reservation{CPU: r.CPU, Memory: r.Memory, TCPPorts: r.TCPPorts, UDPPorts: r.UDPPorts, DynamicPorts: r.DynamicPorts, GPU: r.GPU}
}

type jobKind int

const (
	jobBind jobKind = iota
	jobUnplaceable
	jobStop
)

// job is a write the scheduling loop decided and a binder carries out.
type job struct {
	kind jobKind
	req  Request
	task *ecsv1.Task
	// instance to bind to (jobBind); msg the condition message or the
	// stopped reason.
	instance, msg string
	// assumed: the bind was assumed in the cache (forget it on failure).
	assumed bool
}

// scheduleOne decides what to do with one task: drop it (it no longer
// needs the scheduler), hand it over (bound by its creator), refuse it
// (Cluster policy), place it, or record that it is unplaceable.
func (s *Scheduler) scheduleOne(ctx context.Context, req Request) {
	log := ctrl.LoggerFrom(ctx).WithValues("task", klog.KRef(req.Key.Namespace, req.Key.Name))
	task := &ecsv1.Task{}
	if err := s.client.Get(ctx, req.Key, task); err != nil {
		if apierrors.IsNotFound(err) {
			s.drop(req.Key)
			return
		}
		log.Error(err, "Reading the task to schedule")
		s.queue.Backoff(req.Key)
		return
	}
	s.mu.Lock()
	settled := s.settled[req.Key]
	s.mu.Unlock()
	if settled || task.UID != req.UID || task.DeletionTimestamp != nil || task.Status.LastStatus == ecsv1.TaskStopped ||
		ecsv1.PhaseIndex(task.Status.LastStatus) >= ecsv1.PhaseIndex(ecsv1.TaskPending) ||
		(task.Spec.DesiredStatus == ecsv1.DesiredStopped && task.Spec.ContainerInstance == "") {
		s.queue.Done(req.Key)
		return
	}
	if inst := task.Spec.ContainerInstance; inst != "" {
		// Bound by its creator: the instance must be of the task's cluster
		// (ECS StartTask refuses another cluster's instance), then the
		// policy check, then hand over. An instance not registered yet is
		// waited for by its agent (a GitOps apply may come first).
		if cl, ok := s.cache.instanceIn(inst); ok && cl != req.Cluster {
			s.jobs <- job{kind: jobStop, req: req, task: task, msg: fmt.Sprintf(
				"Container instance %s is in cluster %s, not in the task's cluster %s", inst, cl, req.Cluster)}
			return
		}
		if _, msg := s.cache.policy(req.Cluster).Check(task.Namespace, &req.Requirements); msg != "" {
			s.jobs <- job{kind: jobStop, req: req, task: task, msg: fmt.Sprintf("Cluster %s refuses the task: %s", req.Cluster, msg)}
			return
		}
		s.cache.assume(req.Cluster, req.Key, binding{instance: inst, group: req.Group, req: req.Requirements})
		s.jobs <- job{kind: jobBind, req: req, task: task, instance: inst, msg: "Bound to container instance " + inst, assumed: true}
		return
	}
	t := Task{Namespace: task.Namespace, Group: req.Group, Requirements: req.Requirements, Constraints: req.Constraints,
		Strategies: req.Strategies}
	p, err := s.cache.place(req.Cluster, req.Key, t, func(snap *Snapshot, t Task) (Placement, error) {
		start := time.Now()
		defer func() { placementLatency.Observe(time.Since(start).Seconds()) }()
		return snap.Place(t, s.rnd)
	})
	if err != nil {
		var u *Unplaceable
		if !errors.As(err, &u) {
			// A bad memberOf expression: the task can never be placed.
			s.jobs <- job{kind: jobStop, req: req, task: task, msg: err.Error()}
			return
		}
		s.jobs <- job{kind: jobUnplaceable, req: req, task: task, msg: u.Reason}
		return
	}
	log.V(1).Info("Placed task", "instance", p.Instance)
	s.jobs <- job{kind: jobBind, req: req, task: task, instance: p.Instance, msg: "Placed on container instance " + p.Instance, assumed: true}
}

// drop takes a task out of the scheduler.
func (s *Scheduler) drop(key types.NamespacedName) {
	s.queue.Done(key)
	s.mu.Lock()
	s.unmarkUnplaceableLocked(key)
	s.mu.Unlock()
}

func (s *Scheduler) unmarkUnplaceableLocked(key types.NamespacedName) {
	if _, ok := s.announced[key]; ok {
		delete(s.announced, key)
		unplaceableTasks.Set(float64(len(s.announced)))
	}
}

// run carries out one job.
func (s *Scheduler) run(ctx context.Context, j job) {
	log := ctrl.LoggerFrom(ctx).WithValues("task", klog.KRef(j.req.Key.Namespace, j.req.Key.Name))
	switch j.kind {
	case jobBind:
		s.bind(ctx, log, j)
	case jobUnplaceable:
		s.recordUnplaceable(ctx, log, j)
	case jobStop:
		st := j.task.Status.DeepCopy()
		taskstatus.StopUnbound(st, ecsv1.StopCodeTaskFailedToStart, j.msg, s.clock.Now())
		if err := s.patchStatus(ctx, j.task, st); err != nil {
			s.failed(log, j, err, "Stopping a task that cannot be placed")
			return
		}
		log.Info("Task cannot run", "reason", j.msg)
		s.event(j.task, corev1.EventTypeWarning, string(ecsv1.StopCodeTaskFailedToStart), j.msg)
		s.drop(j.req.Key)
	}
}

// bind writes the bind (one metadata patch) and the hand-over to PENDING
// (one status patch).
func (s *Scheduler) bind(ctx context.Context, log klog.Logger, j job) {
	task := j.task
	if err := bindMetadata(ctx, s.client, task, &j.req, j.instance); err != nil {
		if j.assumed && s.cache.forget(j.req.Key) {
			s.queue.Flush() // capacity released
		}
		s.failed(log, j, err, "Binding a task")
		return
	}
	st := task.Status.DeepCopy()
	st.TaskDefinitionRevision = j.req.Family + ":" + strconv.Itoa(int(j.req.Revision))
	if st.Group == "" {
		st.Group = j.req.Group
	}
	taskstatus.HandOver(task, st, j.msg)
	taskstatus.SetConditions(task, st, true, s.clock.Now())
	if err := s.patchStatus(ctx, task, st); err != nil {
		// Bound: the next attempt hands it over as bound by its creator.
		s.failed(log, j, err, "Handing a bound task over")
		return
	}
	s.mu.Lock()
	s.settled[j.req.Key] = true
	s.unmarkUnplaceableLocked(j.req.Key)
	s.mu.Unlock()
	s.queue.Done(j.req.Key)
}

// recordUnplaceable writes why no instance can take the task, with a
// Warning Event once per distinct reason, and parks it until an event may
// make it placeable.
func (s *Scheduler) recordUnplaceable(ctx context.Context, log klog.Logger, j job) {
	task := j.task
	st := task.Status.DeepCopy()
	taskstatus.Provisioning(st)
	st.TaskDefinitionRevision = j.req.Family + ":" + strconv.Itoa(int(j.req.Revision))
	if st.Group == "" {
		st.Group = j.req.Group
	}
	s.mu.Lock()
	last, waiting := s.announced[j.req.Key]
	announce := !waiting || last != j.msg
	s.announced[j.req.Key] = j.msg
	unplaceableTasks.Set(float64(len(s.announced)))
	s.mu.Unlock()
	if announce {
		log.Info("Task cannot be placed yet", "reason", j.msg)
		s.event(task, corev1.EventTypeWarning, ecsv1.ReasonUnplaceable, j.msg)
	}
	taskstatus.SetScheduled(task, st, metav1.ConditionFalse, ecsv1.ReasonUnplaceable, j.msg)
	taskstatus.SetConditions(task, st, true, s.clock.Now())
	if err := s.patchStatus(ctx, task, st); err != nil {
		s.failed(log, j, err, "Recording that a task cannot be placed")
		return
	}
	s.queue.Unschedulable(j.req.Key)
}

// failed handles a failed write: gone → out of the queue; otherwise
// retried after a backoff (a conflict is a retry, not an error).
func (s *Scheduler) failed(log klog.Logger, j job, err error, what string) {
	switch {
	case apierrors.IsNotFound(err):
		s.drop(j.req.Key)
		return
	case apierrors.IsConflict(err):
		log.V(1).Info(what+": conflict, retrying", "error", err.Error())
	default:
		log.Error(err, what)
	}
	s.queue.Backoff(j.req.Key)
}

// bindMetadata sets spec.containerInstance, the agent's finalizer, the
// labels and the reservation, in one merge patch with optimistic locking
// (the task's resourceVersion): a concurrent bind or edit makes it fail
// rather than double-bind. The patch is written directly, not computed by
// diffing two copies of the task: binding is the scheduler's hot path.
func bindMetadata(ctx context.Context, c client.Client, task *ecsv1.Task, req *Request, instance string) error {
	labels := map[string]string{
		ecsv1.LabelCluster:           req.Cluster,
		ecsv1.LabelFamily:            req.Family,
		ecsv1.LabelRevision:          strconv.Itoa(int(req.Revision)),
		ecsv1.LabelContainerInstance: instance,
	}
	reservation := reservationOf(&req.Requirements).String()
	if task.Spec.ContainerInstance == instance && controllerutil.ContainsFinalizer(task, ecsv1.FinalizerAgent) &&
		task.Annotations[ecsv1.AnnotationReservation] == reservation && hasLabels(task.Labels, labels) {
		return nil
	}
	finalizers := task.Finalizers
	if !controllerutil.ContainsFinalizer(task, ecsv1.FinalizerAgent) {
		finalizers = append(slices.Clip(finalizers), ecsv1.FinalizerAgent)
	}
	type meta struct {
		ResourceVersion string            `json:"resourceVersion"`
		Finalizers      []string          `json:"finalizers"`
		Labels          map[string]string `json:"labels"`
		Annotations     map[string]string `json:"annotations"`
	}
	type spec struct {
		ContainerInstance string `json:"containerInstance"`
	}
	patch, err := json.Marshal(struct {
		Metadata meta `json:"metadata"`
		Spec     spec `json:"spec"`
	}{meta{task.ResourceVersion, finalizers, labels, map[string]string{ecsv1.AnnotationReservation: reservation}}, spec{instance}})
	if err != nil {
		return err
	}
	return c.Patch(ctx, task, client.RawPatch(types.MergePatchType, patch))
}

// hasLabels tells whether have holds every label of want.
func hasLabels(have, want map[string]string) bool {
	for k, v := range want {
		if w, ok := have[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func (s *Scheduler) patchStatus(ctx context.Context, task *ecsv1.Task, st *ecsv1.TaskStatus) error {
	if taskstatus.Equal(&task.Status, st) {
		return nil
	}
	updated := task.DeepCopy()
	updated.Status = *st
	return s.client.Status().Patch(ctx, updated, client.MergeFromWithOptions(task, client.MergeFromWithOptimisticLock{}))
}

func (s *Scheduler) event(task *ecsv1.Task, typ, reason, msg string) {
	if s.recorder != nil {
		s.recorder.Eventf(task, nil, typ, reason, "Schedule", "%s", msg)
	}
}
