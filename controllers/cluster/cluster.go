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

// Package cluster reconciles Clusters and the manager-owned half of their
// ContainerInstances: agentConnected from the agent's Lease, the task subnet
// (status.taskCIDR), remaining resources and task counts, and instance
// loss: once an instance's agent has been gone for the instance-lost
// timeout, its tasks are marked STOPPED (InfrastructureHealth, "Container
// instance lost") and released, so that Services replace them.
//
// One reconcile handles one Cluster and every instance in it, serially, so
// that subnet allocation never races.
package cluster

import (
	"context"
	"fmt"
	"math/big"
	"net/netip"
	"slices"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/events"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/clock"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	ecsv1 "github.com/longshore-io/longshore/api/v1alpha1"
	"github.com/longshore-io/longshore/internal/kube"
)

// Index names of the manager's field indexes.
const (
	// IndexTaskInstance indexes Tasks by spec.containerInstance.
	IndexTaskInstance = "spec.containerInstance"
	// IndexInstanceCluster indexes ContainerInstances by spec.cluster.
	IndexInstanceCluster = "spec.cluster"
	// IndexTaskCluster indexes Tasks by spec.cluster.
	IndexTaskCluster = "task.spec.cluster"
)

// SetupIndexes registers the field indexes this package and the task
// controller use.
func SetupIndexes(ctx context.Context, mgr ctrl.Manager) error {
	fi := mgr.GetFieldIndexer()
	if err := fi.IndexField(ctx, &ecsv1.Task{}, IndexTaskInstance, func(o client.Object) []string {
		return []string{o.(*ecsv1.Task).Spec.ContainerInstance}
	}); err != nil {
		return err
	}
	if err := fi.IndexField(ctx, &ecsv1.Task{}, IndexTaskCluster, func(o client.Object) []string {
		return []string{ecsv1.ClusterName(o.(*ecsv1.Task).Spec.Cluster)}
	}); err != nil {
		return err
	}
	return fi.IndexField(ctx, &ecsv1.ContainerInstance{}, IndexInstanceCluster, func(o client.Object) []string {
		return []string{ecsv1.ClusterName(o.(*ecsv1.ContainerInstance).Spec.Cluster)}
	})
}

// Reconciler reconciles one Cluster and its instances.
type Reconciler struct {
	Client   client.Client
	Recorder events.EventRecorder
	Clock    clock.Clock
	// LeaseNamespace is where agents renew their Leases.
	LeaseNamespace string
	// AgentGrace is how long a Lease may go unrenewed before the instance
	// counts as disconnected.
	AgentGrace time.Duration
	// InstanceLostTimeout is how long an instance may stay disconnected
	// before its tasks are stopped and released.
	InstanceLostTimeout time.Duration
	// MaxConcurrentReconciles bounds how many Clusters reconcile at once.
	MaxConcurrentReconciles int
	// TaskBatch is how long a change of a Task waits before its Cluster's
	// pass, so that the changes of a burst (a Service scaling out, a
	// thousand RunTasks) are counted in one pass, one status write per
	// instance, not one per task (default DefaultTaskBatch). Instances,
	// Leases, Services and the Cluster itself are reconciled at once.
	TaskBatch time.Duration
}

// DefaultTaskBatch is the default Reconciler.TaskBatch: the counts and
// remaining resources of instances lag the tasks by at most this much
// (placement does not read them: the scheduler keeps its own cache).
const DefaultTaskBatch = time.Second

// SetupWithManager registers the reconciler.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	toCluster := func(name string) []reconcile.Request {
		return []reconcile.Request{{NamespacedName: client.ObjectKey{Name: ecsv1.ClusterName(name)}}}
	}
	return ctrl.NewControllerManagedBy(mgr).
		Named("cluster").
		// Its own status writes (of Clusters and instances) wake no pass:
		// they would undo the batching of task changes.
		For(&ecsv1.Cluster{}, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Watches(&ecsv1.ContainerInstance{}, handler.EnqueueRequestsFromMapFunc(func(_ context.Context, o client.Object) []reconcile.Request {
			return toCluster(o.(*ecsv1.ContainerInstance).Spec.Cluster)
		}), builder.WithPredicates(predicate.Funcs{UpdateFunc: func(e event.UpdateEvent) bool {
			return !instanceAlike(e.ObjectOld.(*ecsv1.ContainerInstance), e.ObjectNew.(*ecsv1.ContainerInstance))
		}})).
		Watches(&ecsv1.Task{}, r.taskHandler()).
		Watches(&ecsv1.Service{}, handler.EnqueueRequestsFromMapFunc(func(_ context.Context, o client.Object) []reconcile.Request {
			return toCluster(o.(*ecsv1.Service).Spec.Cluster)
		})).
		Watches(&coordinationv1.Lease{}, handler.EnqueueRequestsFromMapFunc(func(ctx context.Context, o client.Object) []reconcile.Request {
			ci := &ecsv1.ContainerInstance{}
			if err := mgr.GetClient().Get(ctx, client.ObjectKey{Name: o.GetName()}, ci); err != nil {
				return nil
			}
			return toCluster(ci.Spec.Cluster)
		}), builder.WithPredicates(predicate.NewPredicateFuncs(func(o client.Object) bool {
			return o.GetNamespace() == r.LeaseNamespace
		}))).
		WithOptions(controller.Options{MaxConcurrentReconciles: max(r.MaxConcurrentReconciles, 1)}).
		Complete(r)
}

// taskHandler enqueues a Task's Cluster TaskBatch after a change that
// the pass counts: the task's instance or Cluster, its lastStatus, its
// reservation, its deletion or finalizers (a lost instance's task is
// released). Health, container states and the like wake nothing.
func (r *Reconciler) taskHandler() handler.TypedEventHandler[client.Object, reconcile.Request] {
	batch := r.TaskBatch
	if batch <= 0 {
		batch = DefaultTaskBatch
	}
	add := func(q workqueue.TypedRateLimitingInterface[reconcile.Request], o client.Object) {
		q.AddAfter(reconcile.Request{NamespacedName: client.ObjectKey{Name: ecsv1.ClusterName(o.(*ecsv1.Task).Spec.Cluster)}}, batch)
	}
	return handler.TypedFuncs[client.Object, reconcile.Request]{
		CreateFunc: func(_ context.Context, e event.CreateEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			add(q, e.Object)
		},
		UpdateFunc: func(_ context.Context, e event.UpdateEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			if !countedAlike(e.ObjectOld.(*ecsv1.Task), e.ObjectNew.(*ecsv1.Task)) {
				add(q, e.ObjectOld) // a task that moved Cluster leaves the old one
				add(q, e.ObjectNew)
			}
		},
		DeleteFunc: func(_ context.Context, e event.DeleteEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			add(q, e.Object)
		},
		GenericFunc: func(_ context.Context, e event.GenericEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			add(q, e.Object)
		},
	}
}

// instanceAlike tells whether two versions of an instance differ only in
// what this reconciler writes (remaining resources, task counts,
// conditions, agentConnected, taskCIDR).
func instanceAlike(a, b *ecsv1.ContainerInstance) bool {
	if a.Generation != b.Generation || !a.DeletionTimestamp.Equal(b.DeletionTimestamp) {
		return false
	}
	own := func(ci *ecsv1.ContainerInstance) *ecsv1.ContainerInstanceStatus {
		st := ci.Status.DeepCopy()
		st.ObservedGeneration, st.Conditions, st.AgentConnected, st.TaskCIDR = 0, nil, nil, ""
		st.RemainingResources, st.RunningTasksCount, st.PendingTasksCount = nil, 0, 0
		return st
	}
	return apiequality.Semantic.DeepEqual(own(a), own(b))
}

// countedAlike tells whether a Cluster pass sees the two versions of a
// task the same.
func countedAlike(a, b *ecsv1.Task) bool {
	return a.Spec.ContainerInstance == b.Spec.ContainerInstance && a.Spec.Cluster == b.Spec.Cluster &&
		a.Status.LastStatus == b.Status.LastStatus &&
		a.Annotations[ecsv1.AnnotationReservation] == b.Annotations[ecsv1.AnnotationReservation] &&
		a.DeletionTimestamp.Equal(b.DeletionTimestamp) && slices.Equal(a.Finalizers, b.Finalizers)
}

// EnsureDefaultCluster creates the Cluster "default" when no Cluster exists.
type EnsureDefaultCluster struct {
	Client client.Client
	Reader client.Reader
}

// Start implements manager.Runnable (it runs on the leader only).
func (e *EnsureDefaultCluster) Start(ctx context.Context) error {
	var list ecsv1.ClusterList
	if err := e.Reader.List(ctx, &list, client.Limit(1)); err != nil {
		return err
	}
	if len(list.Items) > 0 {
		return nil
	}
	cl := &ecsv1.Cluster{ObjectMeta: metav1.ObjectMeta{Name: ecsv1.DefaultClusterName}}
	if err := e.Client.Create(ctx, cl); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating the default Cluster: %w", err)
	}
	ctrl.LoggerFrom(ctx).Info("Created the default Cluster")
	return nil
}

// Reconcile implements reconcile.Reconciler.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	log := ctrl.LoggerFrom(ctx)
	cl := &ecsv1.Cluster{}
	if err := r.Client.Get(ctx, req.NamespacedName, cl); err != nil {
		if !apierrors.IsNotFound(err) {
			return ctrl.Result{}, err
		}
		cl = nil // instances of a Cluster that does not exist (yet) are still tracked
	}
	var instances ecsv1.ContainerInstanceList
	if err := r.Client.List(ctx, &instances, client.MatchingFields{IndexInstanceCluster: req.Name}); err != nil {
		return ctrl.Result{}, err
	}
	var tasks ecsv1.TaskList
	// Read only (releaseLostTasks copies what it changes): no copy of every
	// Task of the cluster on each pass.
	if err := r.Client.List(ctx, &tasks, client.MatchingFields{IndexTaskCluster: req.Name}, client.UnsafeDisableDeepCopy); err != nil {
		return ctrl.Result{}, err
	}
	now := r.Clock.Now()
	var requeue time.Duration
	soonest := func(d time.Duration) {
		if d > 0 && (requeue == 0 || d < requeue) {
			requeue = d
		}
	}

	byInstance := map[string][]*ecsv1.Task{}
	for i := range tasks.Items {
		t := &tasks.Items[i]
		if t.Spec.ContainerInstance != "" && t.Status.LastStatus != ecsv1.TaskStopped {
			byInstance[t.Spec.ContainerInstance] = append(byInstance[t.Spec.ContainerInstance], t)
		}
	}

	subnets, subnetErr := r.subnets(cl, instances.Items)
	if subnetErr != nil {
		log.Error(subnetErr, "Cannot assign task subnets")
	}

	total := ecsv1.ClusterStatus{RegisteredResources: &ecsv1.Resources{}, RemainingResources: &ecsv1.Resources{}}
	for i := range instances.Items {
		ci := &instances.Items[i]
		if ci.DeletionTimestamp != nil {
			continue
		}
		connected, since, err := r.connected(ctx, ci, now)
		if err != nil {
			return ctrl.Result{}, err
		}
		st := ci.Status.DeepCopy()
		st.AgentConnected = ptr.To(connected)
		if cidr, ok := subnets[ci.Name]; ok {
			st.TaskCIDR = cidr
		}
		used := ecsv1.Resources{}
		st.RunningTasksCount, st.PendingTasksCount = 0, 0
		for _, t := range byInstance[ci.Name] {
			if res, ok := ecsv1.ReservationOf(t); ok {
				used.CPU += res.CPU
				used.Memory += res.Memory
				used.GPU += res.GPU
			}
			if t.Status.LastStatus == ecsv1.TaskRunning {
				st.RunningTasksCount++
			} else {
				st.PendingTasksCount++
			}
		}
		if reg := ci.Status.RegisteredResources; reg != nil {
			st.RemainingResources = &ecsv1.Resources{CPU: reg.CPU - used.CPU, Memory: reg.Memory - used.Memory, GPU: reg.GPU - used.GPU}
			total.RegisteredResources.CPU += reg.CPU
			total.RegisteredResources.Memory += reg.Memory
			total.RemainingResources.CPU += st.RemainingResources.CPU
			total.RemainingResources.Memory += st.RemainingResources.Memory
		}
		lostAt := since.Add(r.AgentGrace).Add(r.InstanceLostTimeout)
		setInstanceConditions(ci, st, connected, !connected && !now.Before(lostAt), since, now)
		st.ObservedGeneration = ci.Generation
		if !apiequality.Semantic.DeepEqual(st, &ci.Status) {
			if !st.Connected() && ci.Status.Connected() {
				r.event(ci, corev1.EventTypeWarning, ecsv1.EventAgentDisconnected, fmt.Sprintf("Container instance %s: the agent has not renewed its lease since %s", ci.Name, since.Format(time.RFC3339)))
			}
			orig := ci.DeepCopy()
			ci.Status = *st
			if _, err := kube.PatchStatus(ctx, r.Client, orig, ci); err != nil {
				return kube.Result(ctrl.Result{}, err)
			}
		}

		total.RegisteredContainerInstancesCount++
		if connected && ci.Spec.State != ecsv1.ContainerInstanceDraining {
			total.ActiveContainerInstancesCount++
		}
		if connected {
			// Check again when the lease would expire.
			soonest(since.Add(r.AgentGrace).Sub(now) + 100*time.Millisecond)
			continue
		}
		if now.Before(lostAt) {
			soonest(lostAt.Sub(now) + 100*time.Millisecond)
			continue
		}
		if err := r.releaseLostTasks(ctx, ci, byInstance[ci.Name]); err != nil {
			return kube.Result(ctrl.Result{}, err)
		}
	}

	if cl == nil {
		return ctrl.Result{RequeueAfter: requeue}, nil
	}
	for i := range tasks.Items {
		switch tasks.Items[i].Status.LastStatus {
		case ecsv1.TaskRunning:
			total.RunningTasksCount++
		case ecsv1.TaskStopped, ecsv1.TaskDeactivating, ecsv1.TaskStopping, ecsv1.TaskDeprovisioning:
		default:
			total.PendingTasksCount++
		}
	}
	var services ecsv1.ServiceList
	if err := r.Client.List(ctx, &services); err != nil {
		return ctrl.Result{}, err
	}
	for _, s := range services.Items {
		if ecsv1.ClusterName(s.Spec.Cluster) == cl.Name && s.DeletionTimestamp == nil {
			total.ActiveServicesCount++
		}
	}
	total.Conditions = slices.Clone(cl.Status.Conditions)
	setClusterConditions(cl, &total, subnetErr, now)
	total.ObservedGeneration = cl.Generation
	if !apiequality.Semantic.DeepEqual(&total, &cl.Status) {
		orig := cl.DeepCopy()
		cl.Status = total
		if _, err := kube.PatchStatus(ctx, r.Client, orig, cl); err != nil {
			return kube.Result(ctrl.Result{}, err)
		}
	}
	return ctrl.Result{RequeueAfter: requeue}, nil
}

// setInstanceConditions sets a ContainerInstance's Ready, Reconciling and
// Stalled: Ready while the agent renews its Lease and the instance is
// ACTIVE, or DRAINING with no task left (what its spec asks); Reconciling
// while it drains; Stalled once it is lost (its agent gone past the
// instance-lost timeout: its tasks are stopped, and only its agent coming
// back, or deleting it, changes that).
func setInstanceConditions(ci *ecsv1.ContainerInstance, st *ecsv1.ContainerInstanceStatus, connected, lost bool, since, now time.Time) {
	set := func(typ string, status metav1.ConditionStatus, reason, msg string) {
		apimeta.SetStatusCondition(&st.Conditions, metav1.Condition{Type: typ, Status: status, Reason: reason, Message: msg,
			ObservedGeneration: ci.Generation, LastTransitionTime: metav1.NewTime(now)})
	}
	remove := func(typ string) { apimeta.RemoveStatusCondition(&st.Conditions, typ) }
	tasks := st.RunningTasksCount + st.PendingTasksCount
	draining := ci.Spec.State == ecsv1.ContainerInstanceDraining
	switch {
	case !connected:
		msg := "The agent has not renewed its lease since " + since.Format(time.RFC3339)
		set(ecsv1.ConditionReady, metav1.ConditionFalse, ecsv1.ReasonAgentDisconnected, msg)
		remove(ecsv1.ConditionReconciling)
		if lost {
			set(ecsv1.ConditionStalled, metav1.ConditionTrue, ecsv1.ReasonInstanceLost, msg+
				": the instance is lost and its tasks are stopped (stopCode InfrastructureHealth); start its agent again or delete it")
		} else {
			remove(ecsv1.ConditionStalled)
		}
	case draining && tasks > 0:
		msg := fmt.Sprintf("The instance is DRAINING: it receives no new tasks, and %d tasks still run on it "+
			"(Services replace theirs elsewhere; standalone tasks run until they are stopped)", tasks)
		set(ecsv1.ConditionReady, metav1.ConditionFalse, ecsv1.ReasonDraining, msg)
		set(ecsv1.ConditionReconciling, metav1.ConditionTrue, ecsv1.ReasonDraining, msg)
		remove(ecsv1.ConditionStalled)
	case draining:
		set(ecsv1.ConditionReady, metav1.ConditionTrue, ecsv1.ReasonDrained, "The instance is DRAINING and no task is left on it: it receives no new tasks")
		remove(ecsv1.ConditionReconciling)
		remove(ecsv1.ConditionStalled)
	default:
		set(ecsv1.ConditionReady, metav1.ConditionTrue, ecsv1.ReasonAgentConnected, "The agent renews its lease")
		remove(ecsv1.ConditionReconciling)
		remove(ecsv1.ConditionStalled)
	}
}

// setClusterConditions sets a Cluster's Ready (an ACTIVE instance with a
// connected agent) and Stalled (a task network that cannot give every
// instance a subnet: only a change of spec.taskNetwork, or fewer
// instances, helps).
func setClusterConditions(cl *ecsv1.Cluster, st *ecsv1.ClusterStatus, subnetErr error, now time.Time) {
	set := func(typ string, status metav1.ConditionStatus, reason, msg string) {
		apimeta.SetStatusCondition(&st.Conditions, metav1.Condition{Type: typ, Status: status, Reason: reason, Message: msg,
			ObservedGeneration: cl.Generation, LastTransitionTime: metav1.NewTime(now)})
	}
	switch {
	case subnetErr != nil:
		set(ecsv1.ConditionReady, metav1.ConditionFalse, ecsv1.ReasonTaskNetworkExhausted, subnetErr.Error())
		set(ecsv1.ConditionStalled, metav1.ConditionTrue, ecsv1.ReasonTaskNetworkExhausted,
			subnetErr.Error()+": change spec.taskNetwork (a larger cidr or a larger instanceMaskSize)")
		return
	case st.ActiveContainerInstancesCount == 0:
		set(ecsv1.ConditionReady, metav1.ConditionFalse, ecsv1.ReasonNoActiveInstances, "No ACTIVE container instance with a connected agent")
	default:
		set(ecsv1.ConditionReady, metav1.ConditionTrue, ecsv1.ReasonInstancesActive,
			fmt.Sprintf("%d active container instances", st.ActiveContainerInstancesCount))
	}
	apimeta.RemoveStatusCondition(&st.Conditions, ecsv1.ConditionStalled)
}

func (r *Reconciler) event(obj client.Object, typ, reason, msg string) {
	if r.Recorder != nil {
		r.Recorder.Eventf(obj, nil, typ, reason, "Reconcile", "%s", msg)
	}
}

// connected reports whether the instance's Lease is fresh, and when it was
// last renewed (the registration time without a Lease).
func (r *Reconciler) connected(ctx context.Context, ci *ecsv1.ContainerInstance, now time.Time) (bool, time.Time, error) {
	lease := &coordinationv1.Lease{}
	err := r.Client.Get(ctx, client.ObjectKey{Namespace: r.LeaseNamespace, Name: ci.Name}, lease)
	if apierrors.IsNotFound(err) {
		return false, ci.CreationTimestamp.Time, nil
	}
	if err != nil {
		return false, time.Time{}, err
	}
	if lease.Spec.RenewTime == nil {
		return false, ci.CreationTimestamp.Time, nil
	}
	renewed := lease.Spec.RenewTime.Time
	return now.Sub(renewed) <= r.AgentGrace, renewed, nil
}

// releaseLostTasks stops the tasks of a lost instance on its agent's
// behalf and removes the agent's finalizer: the agent cleans up whatever it
// still runs when it comes back.
func (r *Reconciler) releaseLostTasks(ctx context.Context, ci *ecsv1.ContainerInstance, tasks []*ecsv1.Task) error {
	log := ctrl.LoggerFrom(ctx)
	for _, t := range tasks {
		if t.Status.LastStatus == ecsv1.TaskStopped {
			continue
		}
		log.Info("Stopping the task of a lost container instance", "task", client.ObjectKeyFromObject(t), "instance", ci.Name)
		before := t
		t = t.DeepCopy() // the listed tasks are the cache's own objects
		now := metav1.NewTime(r.Clock.Now())
		// The loss is why it stopped, whatever stop was under way.
		t.Status.StopCode, t.Status.StoppedReason = "", ""
		t.Status.MarkStopped(ecsv1.StopCodeInfrastructureHealth, ecsv1.StoppedReasonInstanceLost, now)
		t.Status.HealthStatus = ecsv1.HealthUnknown
		ecsv1.SetTaskConditions(before, &t.Status, nil, now.Time)
		t.Status.ObservedGeneration = t.Generation
		if _, err := kube.PatchStatus(ctx, r.Client, before, t); err != nil {
			return err
		}
		orig := t.DeepCopy()
		controllerutil.RemoveFinalizer(t, ecsv1.FinalizerAgent)
		if _, err := kube.Patch(ctx, r.Client, orig, t); err != nil {
			return err
		}
		r.event(t, corev1.EventTypeWarning, string(ecsv1.StopCodeInfrastructureHealth),
			fmt.Sprintf("Task stopped: Container instance %s lost", ci.Name))
	}
	return nil
}

// subnets assigns each instance without one the lowest free subnet of the
// Cluster's task network. A subnet, once in an instance's status, stays
// (across manager restarts); it is free again when the instance is deleted.
func (r *Reconciler) subnets(cl *ecsv1.Cluster, instances []ecsv1.ContainerInstance) (map[string]string, error) {
	out := map[string]string{}
	cidr, mask := "10.222.0.0/16", int32(24)
	if cl != nil {
		if cl.Spec.TaskNetwork.CIDR != "" {
			cidr = cl.Spec.TaskNetwork.CIDR
		}
		if cl.Spec.TaskNetwork.InstanceMaskSize != 0 {
			mask = cl.Spec.TaskNetwork.InstanceMaskSize
		}
	}
	prefix, err := netip.ParsePrefix(cidr)
	if err != nil || !prefix.Addr().Is4() || int(mask) <= prefix.Bits() || mask > 30 {
		return out, fmt.Errorf("taskNetwork %s with instanceMaskSize %d cannot be divided", cidr, mask)
	}
	prefix = prefix.Masked()
	taken := map[string]bool{}
	for _, ci := range instances {
		if ci.Status.TaskCIDR != "" && ci.DeletionTimestamp == nil {
			taken[ci.Status.TaskCIDR] = true
		}
	}
	count := 1 << (int(mask) - prefix.Bits())
	next := 0
	names := make([]string, 0, len(instances))
	for _, ci := range instances {
		if ci.Status.TaskCIDR == "" && ci.DeletionTimestamp == nil {
			names = append(names, ci.Name)
		}
	}
	slices.Sort(names)
	base := new(big.Int).SetBytes(prefix.Addr().AsSlice())
	for _, name := range names {
		for ; next < count; next++ {
			off := new(big.Int).Lsh(big.NewInt(int64(next)), uint(32-mask))
			b := new(big.Int).Add(base, off).FillBytes(make([]byte, 4))
			sub := netip.PrefixFrom(netip.AddrFrom4([4]byte(b)), int(mask)).String()
			if !taken[sub] {
				out[name] = sub
				taken[sub] = true
				next++
				break
			}
		}
		if _, ok := out[name]; !ok {
			return out, fmt.Errorf("taskNetwork %s has no free /%d subnet left for instance %s", cidr, mask, name)
		}
	}
	return out, nil
}
