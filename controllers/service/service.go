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

// Package service is the manager's Service reconciler: ECS services on
// Longshore. A REPLICA service keeps desiredCount Tasks of its primary
// deployment; a DAEMON service one Task on every eligible
// ContainerInstance. A new revision (of the family the Service follows,
// or in spec.taskDefinition), a new restartedAt annotation or new
// placement rules start a new PRIMARY deployment, rolled out within
// minimumHealthyPercent and maximumPercent, watched by the deployment
// circuit breaker (which may roll back to the last COMPLETED deployment).
//
// The Service owns its Tasks (controller reference), names them
// "<service>-<last 5 digits of the deployment id>-<n>" (lowest free n)
// and labels them ecs.longshore.io/service and ecs.longshore.io/deployment
// (the deployment id without "ecs-svc/"). It stops a task by writing
// status.stopCode ServiceSchedulerInitiated and status.stoppedReason, then
// spec.desiredStatus STOPPED: the agent keeps a stop code that is already
// set. It deletes its STOPPED tasks, keeping the newest few.
//
// One pass: read the Service and its Tasks from the cache (waiting until
// the cache shows the Reconciler's own earlier writes), resolve the
// revision, advance the deployments, classify the tasks, plan (replica.go,
// daemon.go), act, write the status once, then mark counted failures and
// delete old STOPPED tasks.
package service

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/go-logr/logr"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/handler"

	ecsv1 "github.com/longshore-io/longshore/api/v1alpha1"
	"github.com/longshore-io/longshore/internal/kube"
)

// Reconciler reconciles Services.
type Reconciler struct {
	Client client.Client
	// APIReader reads the inactive service records (inactive.go: the
	// manager caches no ConfigMaps); SetupWithManager defaults it to the
	// manager's API reader, else it is Client.
	APIReader client.Reader
	Recorder  events.EventRecorder
	Clock     clock.Clock
	// HealthyAfter is how long a RUNNING task whose essential containers
	// have no health check runs before it counts as healthy (default
	// DefaultHealthyAfter, 40 s).
	HealthyAfter time.Duration
	// StoppedTasksToKeep is how many STOPPED tasks of a Service are kept
	// (the newest) before the Service deletes them (default
	// DefaultStoppedTasksToKeep; negative keeps none).
	StoppedTasksToKeep int
	// InactiveDeploymentsToKeep is how many INACTIVE deployments
	// status.deployments keeps (default DefaultInactiveDeploymentsToKeep).
	InactiveDeploymentsToKeep int
	// InactiveRetention is how long the ECS API describes a drained,
	// deleted Service as INACTIVE (default DefaultInactiveRetention).
	InactiveRetention time.Duration
	// MaxConcurrentReconciles of the controller (default
	// DefaultMaxConcurrentReconciles).
	MaxConcurrentReconciles int
	// LaunchBackoff is the first delay before a deployment whose tasks
	// fail launches another task; it doubles with each failure, up to five
	// minutes (default DefaultLaunchBackoff).
	LaunchBackoff time.Duration

	once sync.Once
	mu   sync.Mutex
	// exp are the writes the cache must show before a Service's next pass.
	exp map[client.ObjectKey]*expectations
	// healthySeen are the tasks seen HEALTHY, per Service (for the
	// circuit breaker: a task that was healthy and then stopped did not
	// fail to start).
	healthySeen map[client.ObjectKey]map[types.UID]bool
	// memo are the last repeated Events per Service and reason.
	memo map[client.ObjectKey]map[string]memo
	// backoff throttles the launches of failing deployments, per Service.
	backoff map[client.ObjectKey]*launchBackoff
}

type memo struct {
	msg string
	at  time.Time
}

func (r *Reconciler) init() {
	r.once.Do(func() {
		if r.Clock == nil {
			r.Clock = clock.RealClock{}
		}
		if r.HealthyAfter == 0 {
			r.HealthyAfter = DefaultHealthyAfter
		}
		switch {
		case r.StoppedTasksToKeep == 0:
			r.StoppedTasksToKeep = DefaultStoppedTasksToKeep
		case r.StoppedTasksToKeep < 0:
			r.StoppedTasksToKeep = 0
		}
		if r.InactiveDeploymentsToKeep <= 0 {
			r.InactiveDeploymentsToKeep = DefaultInactiveDeploymentsToKeep
		}
		if r.InactiveRetention <= 0 {
			r.InactiveRetention = DefaultInactiveRetention
		}
		if r.APIReader == nil {
			r.APIReader = r.Client
		}
		if r.LaunchBackoff <= 0 {
			r.LaunchBackoff = DefaultLaunchBackoff
		}
		if r.MaxConcurrentReconciles <= 0 {
			r.MaxConcurrentReconciles = DefaultMaxConcurrentReconciles
		}
		r.exp = map[client.ObjectKey]*expectations{}
		r.healthySeen = map[client.ObjectKey]map[types.UID]bool{}
		r.memo = map[client.ObjectKey]map[string]memo{}
		r.backoff = map[client.ObjectKey]*launchBackoff{}
	})
}

// SetupWithManager registers the reconciler. It needs the indexes of
// SetupIndexes and of cluster.SetupIndexes.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	if r.APIReader == nil {
		r.APIReader = mgr.GetAPIReader()
	}
	r.init()
	return ctrl.NewControllerManagedBy(mgr).
		Named("service").
		For(&ecsv1.Service{}).
		Owns(&ecsv1.Task{}).
		Watches(&ecsv1.TaskDefinitionRevision{}, handler.EnqueueRequestsFromMapFunc(r.servicesOfFamily)).
		Watches(&ecsv1.TaskDefinition{}, handler.EnqueueRequestsFromMapFunc(r.servicesOfFamily)).
		Watches(&ecsv1.ContainerInstance{}, handler.EnqueueRequestsFromMapFunc(r.servicesOfCluster),
			builder.WithPredicates(instanceChanged)).
		WithOptions(controller.Options{MaxConcurrentReconciles: r.MaxConcurrentReconciles}).
		Complete(r)
}

// pass is one reconciliation of one Service.
type pass struct {
	r        *Reconciler
	svc      *ecsv1.Service
	key      client.ObjectKey
	log      logr.Logger
	now      time.Time
	daemon   bool
	deleting bool
	// desired is the number of tasks the primary wants: desiredCount
	// (REPLICA), the number of eligible instances (DAEMON), 0 when the
	// Service is being deleted.
	desired int32
	// desiredRev is the "family:revision" the Service asks for; when it
	// cannot be resolved revProblem says why.
	desiredRev, revProblem string
	// revStalled, with revProblem, says why the revision cannot appear
	// without a change ("" while it may yet appear).
	revStalled string
	// specProblem is a spec the controller cannot act on (a bad memberOf
	// expression of a DAEMON service).
	specProblem string
	instances   map[string]*ecsv1.ContainerInstance
	eligible    map[string]bool // DAEMON
	revs        map[string]*revInfo
	tasks       []*taskInfo
	classified  bool // tasks and desired are known
	st          *ecsv1.ServiceStatus

	stops   []stopReq
	creates []createReq
	// kept are the tasks the pass would stop but keeps for their
	// scale-in protection (protection.go).
	kept        []*taskInfo
	markCounted []*taskInfo
	requeue     time.Duration
	// deferred are the Events about deployments and steady state, emitted
	// once the status that records them is written.
	deferred []deferredEvent
}

type deferredEvent struct{ typ, reason, action, msg string }

// Reconcile implements reconcile.Reconciler.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	r.init()
	log := ctrl.LoggerFrom(ctx)
	svc := &ecsv1.Service{}
	if err := r.Client.Get(ctx, req.NamespacedName, svc); err != nil {
		if apierrors.IsNotFound(err) {
			r.forget(req.NamespacedName)
			// Gone: prune the expired INACTIVE records, and look again
			// when this name's record expires.
			after, err := r.pruneInactive(ctx, req.NamespacedName)
			return kube.Result(ctrl.Result{RequeueAfter: after}, err)
		}
		return ctrl.Result{}, err
	}
	var list ecsv1.TaskList
	if err := r.Client.List(ctx, &list, client.InNamespace(svc.Namespace), client.MatchingFields{IndexTaskService: svc.Name}); err != nil {
		return ctrl.Result{}, err
	}
	tasks := make([]*ecsv1.Task, 0, len(list.Items))
	for i := range list.Items {
		if metav1IsControlledBy(&list.Items[i], svc) {
			tasks = append(tasks, &list.Items[i])
		}
	}
	if wait := r.cacheBehind(req.NamespacedName, svc, tasks); wait > 0 {
		log.V(1).Info("Waiting for the cache to show the last writes")
		return ctrl.Result{RequeueAfter: wait}, nil
	}
	if svc.DeletionTimestamp == nil && !controllerutil.ContainsFinalizer(svc, ecsv1.FinalizerServiceDrain) {
		log.Info("Adding the drain finalizer")
		rv := svc.ResourceVersion
		orig := svc.DeepCopy()
		controllerutil.AddFinalizer(svc, ecsv1.FinalizerServiceDrain)
		if _, err := kube.Patch(ctx, r.Client, orig, svc); err != nil {
			return kube.Result(ctrl.Result{}, err)
		}
		r.expectServiceWrite(req.NamespacedName, rv)
	}

	p := &pass{r: r, svc: svc, key: req.NamespacedName, log: log, now: r.Clock.Now(),
		daemon: svc.Spec.SchedulingStrategy == ecsv1.SchedulingDaemon, deleting: svc.DeletionTimestamp != nil,
		revs: map[string]*revInfo{}, st: svc.Status.DeepCopy()}
	err := p.run(ctx, tasks)
	if err != nil && !p.classified {
		// Nothing observed: a status now would report no tasks.
		return ctrl.Result{}, err
	}
	p.buildStatus(err)
	if perr := p.patchStatus(ctx); perr != nil {
		if kube.IsConflict(perr) {
			log.V(1).Info("Service changed meanwhile: reconciling again")
		}
		return kube.Result(ctrl.Result{}, errors.Join(err, perr))
	}
	p.emitDeferred()
	// The status holds the failures just counted: mark them even when the
	// pass failed, or the next pass would count them again.
	err = errors.Join(err, p.finish(ctx))
	if kube.IsConflict(err) {
		log.V(1).Info("A task changed meanwhile: reconciling again", "error", err.Error())
	}
	return kube.Result(ctrl.Result{RequeueAfter: p.requeue}, err)
}

// run computes and carries out the pass, phase by phase.
func (p *pass) run(ctx context.Context, tasks []*ecsv1.Task) error {
	if err := p.observeInstances(ctx); err != nil {
		return err
	}
	if !p.deleting {
		if err := p.resolveRevision(ctx); err != nil {
			return err
		}
	}
	p.reconcileDeployments()
	if err := p.classify(ctx, tasks); err != nil {
		return err
	}
	if err := p.computeDesired(ctx); err != nil {
		return err
	}
	p.classified = true
	if err := p.countFailures(ctx); err != nil {
		return err
	}
	before := p.primary()
	p.reconcileRollout()
	if after := p.primary(); after != nil && (before == nil || before.ID != after.ID) {
		// A rollback: the new primary's task definition may add constraints.
		if err := p.computeDesired(ctx); err != nil {
			return err
		}
	}
	if p.daemon {
		p.planDaemon()
	} else {
		p.planReplica()
	}
	return p.act(ctx)
}

// computeDesired sets p.desired.
func (p *pass) computeDesired(ctx context.Context) error {
	switch {
	case p.deleting:
		p.desired = 0
		p.eligible = map[string]bool{}
	case p.daemon:
		return p.computeEligible(ctx)
	case p.svc.Spec.DesiredCount != nil:
		p.desired = *p.svc.Spec.DesiredCount
	}
	return nil
}

// patchStatus writes the status once, with a merge patch from the object
// read and optimistic locking.
func (p *pass) patchStatus(ctx context.Context) error {
	rv := p.svc.ResourceVersion
	updated := p.svc.DeepCopy()
	updated.Status = *p.st
	if wrote, err := kube.PatchStatus(ctx, p.r.Client, p.svc, updated); err != nil || !wrote {
		return err
	}
	p.r.expectServiceWrite(p.key, rv)
	p.svc.ResourceVersion = updated.ResourceVersion
	return nil
}

// forget drops what the Reconciler remembers of a deleted Service.
func (r *Reconciler) forget(key client.ObjectKey) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.exp, key)
	delete(r.healthySeen, key)
	delete(r.memo, key)
	delete(r.backoff, key)
}

// rememberHealthy adds the tasks seen HEALTHY and forgets tasks that are gone.
func (r *Reconciler) rememberHealthy(key client.ObjectKey, tasks []*ecsv1.Task, seen map[types.UID]bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	set := r.healthySeen[key]
	if set == nil {
		set = map[types.UID]bool{}
		r.healthySeen[key] = set
	}
	present := make(map[types.UID]bool, len(tasks))
	for _, t := range tasks {
		present[t.UID] = true
	}
	for uid := range set {
		if !present[uid] {
			delete(set, uid)
		}
	}
	for uid := range seen {
		set[uid] = true
	}
}

func (r *Reconciler) wasHealthy(key client.ObjectKey, uid types.UID) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.healthySeen[key][uid]
}

// remember reports whether an Event (reason, msg) is due: it differs from
// the last one of that reason, or unplaceableEventInterval has passed.
func (r *Reconciler) remember(key client.ObjectKey, reason, msg string, now time.Time) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	m := r.memo[key]
	if m == nil {
		m = map[string]memo{}
		r.memo[key] = m
	}
	last, ok := m[reason]
	if ok && last.msg == msg && now.Sub(last.at) < unplaceableEventInterval {
		return false
	}
	m[reason] = memo{msg: msg, at: now}
	return true
}
