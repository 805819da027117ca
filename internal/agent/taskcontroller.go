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
	"net/url"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/source"

	ecsv1 "github.com/longshore-io/longshore/api/v1alpha1"
	"github.com/longshore-io/longshore/internal/kube"
	"github.com/longshore-io/longshore/internal/logs"
	"github.com/longshore-io/longshore/internal/network"
	lsruntime "github.com/longshore-io/longshore/internal/runtime"
	"github.com/longshore-io/longshore/internal/taskendpoint"
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
	// Mounts mounts the tasks' tmpfs file systems (default: the host's).
	Mounts Mounter
	// Endpoints, when set, serves the ECS endpoints inside every task
	// (task metadata, task protection): endpoints.go.
	Endpoints *taskendpoint.Server

	health    *healthManager
	wake      chan event.TypedGenericEvent[*ecsv1.Task]
	revisions sync.Map // namespace/name → *ecsv1.TaskDefinitionRevision (immutable)
	// activating remembers when a task began starting containers (for
	// startTimeout); lost on restart, which only restarts the timeout.
	activating sync.Map // task UID → time.Time
	// written is the agent's last write of each task (namespace/name →
	// writtenVersion): a cached Task older than that is one the agent has
	// changed since, whose watch event is on its way.
	written sync.Map
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
	if r.Mounts == nil {
		r.Mounts = hostMounts{}
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

// staleCacheRetry is when a sync skipped for a stale cache is tried again
// if no watch event brings the task back sooner.
const staleCacheRetry = time.Second

// Reconcile implements reconcile.Reconciler: observe → plan → sync →
// status, once per task event.
func (r *TaskReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	task := &ecsv1.Task{}
	if err := r.Client.Get(ctx, req.NamespacedName, task); err != nil {
		if apierrors.IsNotFound(err) {
			r.written.Delete(req.NamespacedName)
			return ctrl.Result{}, r.forgetDeleted(ctx, req.NamespacedName)
		}
		return ctrl.Result{}, err
	}
	if task.Spec.ContainerInstance != r.InstanceName {
		return ctrl.Result{}, nil
	}
	if r.staleCache(task) {
		// The agent wrote this Task since the cache saw it: planning from
		// the older copy would redo what the write recorded. The write's
		// watch event brings the task back; the requeue is in case it
		// does not.
		return ctrl.Result{RequeueAfter: staleCacheRetry}, nil
	}
	log := ctrl.LoggerFrom(ctx).WithValues("task", client.ObjectKeyFromObject(task))
	ctx = ctrl.LoggerInto(ctx, log)
	t := &taskSync{r: r, task: task, status: task.Status.DeepCopy(), log: log, began: time.Now()}
	obs, err := r.observe(ctx, task)
	if err != nil {
		return ctrl.Result{}, err
	}
	t.obs = obs
	t.timed("observe", t.began)
	res, err := t.sync(ctx, computeTaskActions(obs))
	if perr := t.patchStatus(ctx); perr != nil {
		// A conflict: someone wrote the Task meanwhile; read it again.
		return kube.Result(res, errors.Join(err, perr))
	}
	return res, err
}

// forgetDeleted cleans up after a Task that is gone from the API while
// this agent still has containers of it: one deleted without the agent
// (its finalizer removed by hand). Containers of another Task of that
// name (a new UID) that the cache knows stay.
func (r *TaskReconciler) forgetDeleted(ctx context.Context, key client.ObjectKey) error {
	conts, err := r.Runtime.List(ctx, map[string]string{lsruntime.LabelTaskNamespace: key.Namespace, lsruntime.LabelTaskName: key.Name})
	if err != nil || len(conts) == 0 {
		return err
	}
	var tasks ecsv1.TaskList
	if err := r.Client.List(ctx, &tasks, client.InNamespace(key.Namespace)); err != nil {
		return err
	}
	known := map[types.UID]bool{}
	for _, t := range tasks.Items {
		known[t.UID] = true
	}
	byUID := map[types.UID][]lsruntime.ContainerStatus{}
	for _, c := range conts {
		if uid := types.UID(c.Labels[lsruntime.LabelTaskUID]); uid != "" && !known[uid] {
			byUID[uid] = append(byUID[uid], c)
		}
	}
	for uid, cs := range byUID {
		ctrl.LoggerFrom(ctx).Info("Cleaning up after a task deleted without the agent", "task", key, "uid", uid)
		if err := r.cleanupTask(ctx, uid, cs); err != nil {
			return err
		}
	}
	return nil
}
