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

package agent

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/events"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/source"

	ecsv1 "github.com/longshore-io/longshore/api/v1alpha1"
	"github.com/longshore-io/longshore/internal/logs"
	"github.com/longshore-io/longshore/internal/network"
	lsruntime "github.com/longshore-io/longshore/internal/runtime"
)

// LogURIFunc returns the logging binary URI for a container's log file, or
// nil to discard output.
type LogURIFunc func(task *ecsv1.Task, def *ecsv1.ContainerDefinition, fwd *logs.Forward) (*url.URL, error)

// DefaultRunDir is the agent's run directory: per-task sockets, short
// paths, gone at reboot.
const DefaultRunDir = "/run/longshore"

// TaskReconciler runs the Tasks bound to this instance. It is the only
// writer of a bound Task's status from PENDING on.
type TaskReconciler struct {
	// Client reads Tasks and this instance's ContainerInstance from the
	// cache (which holds only the Tasks bound here) and writes status.
	Client client.Client
	// APIReader reads revisions, Secrets, ConfigMaps and Clusters directly.
	APIReader    client.Reader
	Runtime      lsruntime.Containers
	Network      network.Network
	InstanceName string
	// StateDir holds per-task directories: volumes, Secret files, /etc files.
	StateDir string
	// RunDir holds per-task sockets (FireLens); DefaultRunDir when empty.
	RunDir     string
	PullPolicy lsruntime.PullPolicy
	LogURI     LogURIFunc
	Recorder   events.EventRecorder
	Clock      clock.Clock
	// MaxConcurrentReconciles bounds how many tasks start or stop at once.
	MaxConcurrentReconciles int
	// Cgroups manages task cgroups (default: the host's /sys/fs/cgroup).
	Cgroups CgroupManager

	health    *healthManager
	wake      chan event.TypedGenericEvent[*ecsv1.Task]
	revisions sync.Map // namespace/name → *ecsv1.TaskDefinitionRevision (immutable)
	// activating remembers when a task began starting containers (for
	// startTimeout); lost on restart, which only restarts the timeout.
	activating sync.Map // task UID → time.Time
}

// SetupWithManager registers the reconciler; runtime events and health
// changes wake the tasks they concern.
func (r *TaskReconciler) SetupWithManager(mgr ctrl.Manager) error {
	r.init()
	if err := mgr.Add(&runtimeEvents{runtime: r.Runtime, notify: r.enqueue}); err != nil {
		return err
	}
	return ctrl.NewControllerManagedBy(mgr).
		Named("task").
		For(&ecsv1.Task{}).
		WatchesRawSource(source.Channel(r.wake, &handler.TypedEnqueueRequestForObject[*ecsv1.Task]{})).
		WithOptions(controller.Options{MaxConcurrentReconciles: r.MaxConcurrentReconciles}).
		Complete(r)
}

// init prepares what SetupWithManager (or a unit test) needs.
func (r *TaskReconciler) init() {
	r.wake = make(chan event.TypedGenericEvent[*ecsv1.Task], 1024)
	r.health = newHealthManager(r.Runtime, r.Clock, r.enqueue)
	if r.MaxConcurrentReconciles == 0 {
		r.MaxConcurrentReconciles = 16
	}
	if r.Cgroups == nil {
		r.Cgroups = hostCgroups{}
	}
}

func (r *TaskReconciler) enqueue(namespace, name string) {
	t := &ecsv1.Task{}
	t.Namespace, t.Name = namespace, name
	select {
	case r.wake <- event.TypedGenericEvent[*ecsv1.Task]{Object: t}:
	default: // full: a resync will catch up
	}
}

// taskRun is one reconcile of one task.
type taskRun struct {
	r      *TaskReconciler
	task   *ecsv1.Task // as read
	status *ecsv1.TaskStatus
	rev    *ecsv1.TaskDefinitionRevision
	log    logr.Logger
	// containers by name: the newest attempt of each.
	containers map[string]lsruntime.ContainerStatus
	// nextAttempt is the attempt number of containers to create anew.
	nextAttempt map[string]int
	// bridgeIPs are the addresses of the containers of a bridge-mode task
	// (for links), set by setupNetwork.
	bridgeIPs map[string]string
}

// Reconcile implements reconcile.Reconciler.
func (r *TaskReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	task := &ecsv1.Task{}
	if err := r.Client.Get(ctx, req.NamespacedName, task); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if task.Spec.ContainerInstance != r.InstanceName {
		return ctrl.Result{}, nil
	}
	run := &taskRun{r: r, task: task, status: task.Status.DeepCopy(),
		log: ctrl.LoggerFrom(ctx).WithValues("task", client.ObjectKeyFromObject(task))}
	ctx = ctrl.LoggerInto(ctx, run.log)
	res, err := run.reconcile(ctx)
	if perr := run.patchStatus(ctx); perr != nil {
		if apierrors.IsConflict(perr) {
			// Someone wrote the Task meanwhile: read it again at once.
			return ctrl.Result{RequeueAfter: time.Millisecond}, nil
		}
		return ctrl.Result{}, errors.Join(err, perr)
	}
	return res, err
}

func (t *taskRun) reconcile(ctx context.Context) (ctrl.Result, error) {
	r, task := t.r, t.task
	if err := t.observeContainers(ctx); err != nil {
		return ctrl.Result{}, err
	}
	if task.Status.LastStatus == ecsv1.TaskStopped {
		return ctrl.Result{}, t.finishStopped(ctx)
	}
	switch {
	case task.DeletionTimestamp != nil || task.Spec.DesiredStatus == ecsv1.DesiredStopped:
		t.setStopReason(task.RequestedStop())
		return ctrl.Result{}, t.stop(ctx)
	case ecsv1.PhaseIndex(task.Status.LastStatus) >= ecsv1.PhaseIndex(ecsv1.TaskDeactivating):
		// A stop began and was interrupted (agent restart): finish it.
		return ctrl.Result{}, t.stop(ctx)
	}

	rev, err := r.revision(ctx, task)
	if err != nil {
		var nf *revisionError
		if errors.As(err, &nf) {
			if nf.wait {
				return ctrl.Result{}, nil // the manager has not resolved it yet
			}
			return ctrl.Result{}, t.fail(ctx, ecsv1.StopCodeTaskFailedToStart, nf.Error())
		}
		return ctrl.Result{}, err
	}
	t.rev = rev
	if !controllerutil.ContainsFinalizer(task, ecsv1.FinalizerAgent) {
		patch := client.MergeFrom(task.DeepCopy())
		controllerutil.AddFinalizer(task, ecsv1.FinalizerAgent)
		if err := r.Client.Patch(ctx, task, patch); err != nil {
			return ctrl.Result{}, err
		}
	}
	if ecsv1.PhaseIndex(t.status.LastStatus) < ecsv1.PhaseIndex(ecsv1.TaskPending) {
		// Bound without the manager (ECS StartTask with a pinned revision).
		t.status.LastStatus = ecsv1.TaskPending
	}
	if t.status.TaskDefinitionRevision == "" {
		t.status.TaskDefinitionRevision = fmt.Sprintf("%s:%d", rev.Spec.Family, rev.Spec.Revision)
	}
	return t.start(ctx)
}

// revisionError is a revision that cannot be used (yet).
type revisionError struct {
	msg  string
	wait bool // the manager has not resolved the revision yet
}

func (e *revisionError) Error() string { return e.msg }

// revision returns the task's TaskDefinitionRevision: the one the manager
// resolved into status, else the one spec.taskDefinition pins.
func (r *TaskReconciler) revision(ctx context.Context, task *ecsv1.Task) (*ecsv1.TaskDefinitionRevision, error) {
	refStr := task.Status.TaskDefinitionRevision
	if refStr == "" {
		refStr = task.Spec.TaskDefinition
	}
	ref, err := ecsv1.ParseTaskDefinitionRef(refStr)
	if err != nil {
		return nil, &revisionError{msg: err.Error()}
	}
	if ref.Revision == 0 {
		return nil, &revisionError{wait: true, msg: "waiting for the manager to resolve " + refStr}
	}
	key := task.Namespace + "/" + ref.RevisionName()
	if v, ok := r.revisions.Load(key); ok {
		return v.(*ecsv1.TaskDefinitionRevision), nil
	}
	rev := &ecsv1.TaskDefinitionRevision{}
	if err := r.APIReader.Get(ctx, client.ObjectKey{Namespace: task.Namespace, Name: ref.RevisionName()}, rev); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, &revisionError{msg: fmt.Sprintf("TaskDefinitionRevision %s (%s) not found", ref.RevisionName(), ref)}
		}
		return nil, err
	}
	r.revisions.Store(key, rev)
	return rev, nil
}

// observeContainers lists the task's containers, keeping the newest attempt
// of each container name.
func (t *taskRun) observeContainers(ctx context.Context) error {
	list, err := t.r.Runtime.List(ctx, map[string]string{lsruntime.LabelTaskUID: string(t.task.UID)})
	if err != nil {
		return err
	}
	t.containers = map[string]lsruntime.ContainerStatus{}
	for _, c := range list {
		name := c.Labels[lsruntime.LabelContainer]
		if prev, ok := t.containers[name]; ok && attempt(prev) > attempt(c) {
			continue
		}
		t.containers[name] = c
	}
	return nil
}

func attempt(c lsruntime.ContainerStatus) int {
	n, _ := strconv.Atoi(c.Labels[lsruntime.LabelAttempt])
	return n
}

func (t *taskRun) setStopReason(code ecsv1.StopCode, reason string) {
	if t.status.StopCode == "" {
		t.status.StopCode = code
		t.status.StoppedReason = reason
	}
}

// fail stops a task that cannot run, with a reason and a Warning Event.
func (t *taskRun) fail(ctx context.Context, code ecsv1.StopCode, reason string) error {
	t.setStopReason(code, reason)
	t.log.Info("Stopping task", "stopCode", code, "reason", reason)
	t.r.event(t.task, corev1.EventTypeWarning, string(code), reason)
	return t.stop(ctx)
}

func (r *TaskReconciler) event(task *ecsv1.Task, typ, reason, msg string) {
	if r.Recorder != nil {
		r.Recorder.Eventf(task, nil, typ, reason, "Run", "%s", msg)
	}
}

func (t *taskRun) now() *metav1.Time {
	n := metav1.NewTime(t.r.Clock.Now())
	return &n
}

// advance moves lastStatus forward (never backwards).
func (t *taskRun) advance(p ecsv1.TaskStatusPhase) {
	if ecsv1.PhaseIndex(p) > ecsv1.PhaseIndex(t.status.LastStatus) {
		t.status.LastStatus = p
	}
}

// taskDir is the task's directory under the state directory.
func (r *TaskReconciler) taskDir(task *ecsv1.Task) string {
	return filepath.Join(r.StateDir, "tasks", string(task.UID))
}

// runDir is the agent's run directory (short paths, gone at reboot).
func (r *TaskReconciler) runDir() string {
	if r.RunDir == "" {
		return DefaultRunDir
	}
	return r.RunDir
}

// stdinDir holds the stdin FIFOs of the task's interactive containers.
func (r *TaskReconciler) stdinDir(task *ecsv1.Task) string {
	return filepath.Join(r.runDir(), "stdin", taskID(task))
}

// cgroupParent is the task's cgroup (cgroupfs path).
func cgroupParent(task *ecsv1.Task) string {
	return "/longshore/" + taskID(task)
}

// stop stops the task's containers in reverse dependency order, tears its
// network down, removes its containers and files, and reports STOPPED.
func (t *taskRun) stop(ctx context.Context) error {
	r, task := t.r, t.task
	t.advance(ecsv1.TaskDeactivating)
	if t.status.StoppingAt == nil {
		t.status.StoppingAt = t.now()
	}
	if t.status.StopCode == "" {
		t.setStopReason(task.RequestedStop())
	}
	// Report DEACTIVATING/STOPPING at once: a stop can take stopTimeout.
	t.advance(ecsv1.TaskStopping)
	if err := t.patchStatus(ctx); err != nil {
		return err
	}
	var defs []ecsv1.ContainerDefinition
	if rev, err := r.revision(ctx, task); err == nil {
		t.rev = rev
		defs = withFireLensDependencies(&rev.Spec.TaskDefinition).ContainerDefinitions
	}
	byName := map[string]*ecsv1.ContainerDefinition{}
	for i := range defs {
		byName[defs[i].Name] = &defs[i]
	}
	// Containers the revision does not name (or all, without a revision)
	// stop in the first group.
	groups := stopOrder(defs)
	var unknown []string
	for name := range t.containers {
		if byName[name] == nil {
			unknown = append(unknown, name)
		}
	}
	if len(unknown) > 0 {
		groups = append([][]string{unknown}, groups...)
	}
	for _, group := range groups {
		var wg sync.WaitGroup
		errs := make([]error, len(group))
		for i, name := range group {
			c, ok := t.containers[name]
			if !ok {
				continue
			}
			r.health.Stop(c.ID)
			timeout := 30 * time.Second
			if d := byName[name]; d != nil && d.StopTimeout != nil {
				timeout = time.Duration(*d.StopTimeout) * time.Second
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = r.Runtime.Stop(ctx, c.ID, c.StopSignal(), timeout)
			}()
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			return err
		}
	}
	if err := t.observeContainers(ctx); err != nil {
		return err
	}
	t.reportContainers(byName)
	if t.status.ExecutionStoppedAt == nil {
		t.status.ExecutionStoppedAt = t.now()
	}
	t.advance(ecsv1.TaskDeprovisioning)
	if err := t.cleanup(ctx); err != nil {
		return err
	}
	t.advance(ecsv1.TaskStopped)
	t.status.StoppedAt = t.now()
	t.status.HealthStatus = ecsv1.HealthUnknown
	for i := range t.status.Attachments {
		t.status.Attachments[i].Status = "DELETED"
	}
	r.activating.Delete(string(task.UID))
	r.event(task, corev1.EventTypeNormal, "Stopped", fmt.Sprintf("Task stopped: %s", t.status.StoppedReason))
	t.log.Info("Task stopped", "stopCode", t.status.StopCode, "reason", t.status.StoppedReason)
	if err := t.patchStatus(ctx); err != nil {
		return err
	}
	return t.releaseFinalizer(ctx)
}

// cleanup removes every container, network attachment and file of the task.
// Each step is idempotent, so a crash in between is finished next time.
func (t *taskRun) cleanup(ctx context.Context) error {
	r, task := t.r, t.task
	list, err := r.Runtime.List(ctx, map[string]string{lsruntime.LabelTaskUID: string(task.UID)})
	if err != nil {
		return err
	}
	for _, c := range list {
		r.health.Stop(c.ID)
		if err := r.Runtime.Delete(ctx, c.ID); err != nil {
			return err
		}
	}
	atts, err := r.Network.List(ctx)
	if err != nil {
		return err
	}
	for _, a := range atts {
		if a.ID == string(task.UID) || strings.HasPrefix(a.ID, string(task.UID)+"-") {
			if err := r.Network.Teardown(ctx, a.ID); err != nil {
				return fmt.Errorf("tearing down network %s: %w", a.ID, err)
			}
		}
	}
	if err := r.Cgroups.Remove(cgroupParent(task)); err != nil {
		return err
	}
	if err := unmountTaskVolumes(r.taskDir(task)); err != nil {
		return err
	}
	if err := os.RemoveAll(r.taskDir(task)); err != nil {
		return fmt.Errorf("removing the task directory: %w", err)
	}
	if err := os.RemoveAll(r.fireLensDir(task)); err != nil {
		return fmt.Errorf("removing the task's FireLens directory: %w", err)
	}
	if err := os.RemoveAll(r.stdinDir(task)); err != nil {
		return fmt.Errorf("removing the task's stdin FIFOs: %w", err)
	}
	return nil
}

// finishStopped makes sure a STOPPED task left nothing behind and lets a
// deletion proceed.
func (t *taskRun) finishStopped(ctx context.Context) error {
	if len(t.containers) > 0 {
		if err := t.cleanup(ctx); err != nil {
			return err
		}
	}
	return t.releaseFinalizer(ctx)
}

// essential tells which containers of the task are essential, from its
// revision; nil (every container counts) when the revision is unknown.
func (t *taskRun) essential() func(string) bool {
	if t.rev == nil {
		return nil
	}
	defs := byNameDefs(t.rev.Spec.TaskDefinition.ContainerDefinitions)
	return func(name string) bool {
		d := defs[name]
		return d == nil || d.IsEssential()
	}
}

func (t *taskRun) releaseFinalizer(ctx context.Context) error {
	task := t.task
	if task.DeletionTimestamp == nil || !controllerutil.ContainsFinalizer(task, ecsv1.FinalizerAgent) {
		return nil
	}
	patch := client.MergeFrom(task.DeepCopy())
	controllerutil.RemoveFinalizer(task, ecsv1.FinalizerAgent)
	return client.IgnoreNotFound(t.r.Client.Patch(ctx, task, patch))
}

// patchStatus writes the status if it changed, with optimistic locking,
// after the lifecycle conditions (Reconciling, Stalled, and Ready once
// STOPPED: ecsv1.SetTaskConditions) and observedGeneration.
func (t *taskRun) patchStatus(ctx context.Context) error {
	ecsv1.SetTaskConditions(t.task, t.status, t.essential(), t.r.Clock.Now())
	t.status.ObservedGeneration = t.task.Generation
	if equalStatus(&t.task.Status, t.status) {
		return nil
	}
	updated := t.task.DeepCopy()
	updated.Status = *t.status.DeepCopy()
	if err := t.r.Client.Status().Patch(ctx, updated, client.MergeFromWithOptions(t.task, client.MergeFromWithOptimisticLock{})); err != nil {
		if apierrors.IsNotFound(err) {
			return nil
		}
		return err
	}
	t.task = updated
	t.status = updated.Status.DeepCopy()
	return nil
}
