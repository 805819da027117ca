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
*/package agent

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	ecsv1 "github.com/longshore-io/longshore/api/v1alpha1"
	lsruntime "github.com/longshore-io/longshore/internal/runtime"
)

// This file carries a plan (plan.go) out, in a fixed order, idempotently:
// a crash between any two steps is finished by the next sync, which
// observes what the crash left and plans again.
//
//	start:  finalizer ‖ pull → network ‖ (restarts → creates) → /etc files → task endpoints → starts
//	        → observe → health checkers → status (status.go): one write
//	stop:   STOPPING (one write) → stop groups → observe → cleanup (cleanup.go)
//	        → STOPPED (one write) → finalizer release
//	finish: cleanup of what is left → finalizer release
//
// (‖: at the same time.) A step's failure that the task cannot get over
// (TaskFailedToStart and the like) turns into the stop, in the same sync.

// taskSync is one sync of one task.
type taskSync struct {
	r      *TaskReconciler
	task   *ecsv1.Task // as read, then as last written
	status *ecsv1.TaskStatus
	log    logr.Logger
	// obs is the latest observation (observe.go).
	obs *observation
	// changed: the sync created, deleted or started containers since obs.
	changed bool
	// cl is the task's Cluster, read at most once per sync.
	cl *ecsv1.Cluster
	// bridgeIPs are the addresses of the containers of a bridge-mode task
	// (for links), set by setupNetwork.
	bridgeIPs map[string]string
	// began is when the sync began; steps are the durations of its steps,
	// logged with "Task running".
	began time.Time
	steps []any
}

// timed records how long a step took since start.
func (t *taskSync) timed(step string, start time.Time) {
	t.steps = append(t.steps, step, time.Since(start).Round(10*time.Microsecond).String())
}

// sync carries out the plan.
func (t *taskSync) sync(ctx context.Context, a taskActions) (ctrl.Result, error) {
	switch {
	case a.Finish:
		// A STOPPED task leaves nothing behind and lets a deletion proceed.
		if a.Cleanup {
			if err := t.r.cleanupTask(ctx, t.task.UID, t.obs.All); err != nil {
				return ctrl.Result{}, err
			}
		}
		return ctrl.Result{}, t.releaseFinalizer(ctx)
	case a.Wait:
		return ctrl.Result{}, nil // the manager has not resolved the revision yet
	case a.Stop != nil:
		return ctrl.Result{}, t.stop(ctx, a.Stop, a.Fail)
	}
	if err := t.run(ctx, a); err != nil {
		var f *failure
		if errors.As(err, &f) {
			return ctrl.Result{}, t.stop(ctx, &f.stopDecision, true)
		}
		return ctrl.Result{}, err
	}
	return ctrl.Result{RequeueAfter: a.RequeueAfter}, nil
}

// run brings the task up: images, network, files, containers; then it
// reports what runs.
func (t *taskSync) run(ctx context.Context, a taskActions) error {
	r, rev := t.r, t.obs.Rev
	if ecsv1.PhaseIndex(t.status.LastStatus) < ecsv1.PhaseIndex(ecsv1.TaskPending) {
		// Bound without the manager (ECS StartTask with a pinned revision).
		t.status.LastStatus = ecsv1.TaskPending
	}
	if t.status.TaskDefinitionRevision == "" {
		t.status.TaskDefinitionRevision = fmt.Sprintf("%s:%d", rev.Spec.Family, rev.Spec.Revision)
	}
	td := withFireLensDependencies(&rev.Spec.TaskDefinition)
	defs := td.ContainerDefinitions

	// The finalizer before anything is allocated for the task; the images
	// (shared by every task) meanwhile.
	type patched struct {
		task *ecsv1.Task
		took time.Duration
		err  error
	}
	finalizer := make(chan patched, 1)
	if a.AddFinalizer {
		withFinalizer := t.task.DeepCopy()
		go func() {
			start := time.Now()
			patch := client.MergeFrom(withFinalizer.DeepCopy())
			controllerutil.AddFinalizer(withFinalizer, ecsv1.FinalizerAgent)
			err := r.Client.Patch(ctx, withFinalizer, patch)
			finalizer <- patched{task: withFinalizer, took: time.Since(start), err: err}
		}()
	}
	var pullErr error
	if a.Pull {
		pullErr = t.pull(ctx, defs)
	}
	if a.AddFinalizer {
		p := <-finalizer
		if p.err != nil {
			return p.err
		}
		t.task = p.task
		r.wrote(t.task)
		t.steps = append(t.steps, "finalizer", p.took.Round(10*time.Microsecond).String())
	}
	if pullErr != nil {
		return pullErr
	}
	task := t.task
	netns, bindings, err := t.networkAndContainers(ctx, td, a)
	if err != nil {
		return err
	}
	if err := t.ensureEndpoints(ctx, defs, netns); err != nil {
		return err
	}
	r.activating.LoadOrStore(string(task.UID), t.obs.Now)
	t.advance(ecsv1.TaskActivating)
	if err := t.start(ctx, a, defs); err != nil {
		return err
	}
	if t.changed {
		if err := t.reobserve(ctx); err != nil {
			return err
		}
	}
	for i := range defs {
		c, ok := t.obs.Containers[defs[i].Name]
		if ok && c.State == lsruntime.StateRunning && defs[i].HealthCheck != nil {
			r.health.Ensure(ctx, task, defs[i].HealthCheck, healthTarget{ContainerID: c.ID, NetNSPath: netns[defs[i].Name]})
		}
	}
	t.reportRunning(t.obs, bindings)
	return nil
}

// networkAndContainers sets the task's network up and, meanwhile, restarts
// and creates the containers the plan says (they join the namespaces by
// path, which is known before the namespaces exist); then it writes the
// containers' /etc files from the addresses.
func (t *taskSync) networkAndContainers(ctx context.Context, td *ecsv1.TaskDefinitionSpec, a taskActions) (map[string]string, map[string][]ecsv1.NetworkBinding, error) {
	if _, err := t.cluster(ctx); err != nil {
		return nil, nil, err // read once, before the two run at the same time
	}
	var (
		netns    map[string]string
		bindings map[string][]ecsv1.NetworkBinding
		netErr   error
		netTook  time.Duration
		wg       sync.WaitGroup
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		start := time.Now()
		netns, bindings, netErr = t.setupNetwork(ctx, td)
		netTook = time.Since(start)
	}()
	start := time.Now()
	createErr := t.restart(ctx, a.Restart)
	if createErr == nil {
		createErr = t.createContainers(ctx, td, t.netnsPaths(td), a.Create)
	}
	createTook := time.Since(start)
	wg.Wait()
	t.steps = append(t.steps, "network", netTook.Round(10*time.Microsecond).String())
	if len(a.Create) > 0 {
		t.steps = append(t.steps, "create", createTook.Round(10*time.Microsecond).String())
	}
	if netErr != nil {
		var f *failure
		if errors.As(netErr, &f) {
			return nil, nil, netErr
		}
		return nil, nil, fail(ecsv1.StopCodeTaskFailedToStart, "ResourceInitializationError: "+netErr.Error())
	}
	if createErr != nil {
		var ue *userError
		if errors.As(createErr, &ue) {
			return nil, nil, fail(ecsv1.StopCodeTaskFailedToStart, ue.Error())
		}
		return nil, nil, createErr
	}
	if !maps.Equal(netns, t.netnsPaths(td)) {
		return nil, nil, fmt.Errorf("network namespaces %v, not the %v the containers were created with", netns, t.netnsPaths(td))
	}
	if err := t.writeEtcFiles(td, netns, a.Create); err != nil {
		var ue *userError
		if errors.As(err, &ue) {
			return nil, nil, fail(ecsv1.StopCodeTaskFailedToStart, ue.Error())
		}
		return nil, nil, err
	}
	return netns, bindings, nil
}

// reobserve reads the task's containers again after the sync changed them.
func (t *taskSync) reobserve(ctx context.Context) error {
	start := time.Now()
	if err := t.r.observeContainers(ctx, t.obs); err != nil {
		return err
	}
	if err := t.r.observeTaskDir(t.obs); err != nil {
		return err
	}
	t.changed = false
	t.timed("reobserve", start)
	return nil
}

// pull makes sure every image is there (pullStoppedAt marks them done).
func (t *taskSync) pull(ctx context.Context, defs []ecsv1.ContainerDefinition) error {
	start := time.Now()
	if t.status.PullStartedAt == nil {
		t.status.PullStartedAt = t.now()
	}
	for i := range defs {
		auth, err := t.registryAuth(ctx, &defs[i])
		if err != nil {
			var ue *userError
			if errors.As(err, &ue) {
				return fail(ecsv1.StopCodeTaskFailedToStart, fmt.Sprintf("CannotPullContainerError: %s: %v", defs[i].Image, err))
			}
			return err
		}
		if _, err := t.r.Runtime.EnsureImage(ctx, defs[i].Image, t.r.PullPolicy, auth); err != nil {
			return fail(ecsv1.StopCodeTaskFailedToStart, fmt.Sprintf("CannotPullContainerError: %s: %v", defs[i].Image, err))
		}
	}
	t.status.PullStoppedAt = t.now()
	t.timed("pull", start)
	return nil
}

// restart removes the exited attempts the restart policy replaces; the
// create step makes the next ones.
func (t *taskSync) restart(ctx context.Context, restarts []restartAction) error {
	if len(restarts) > 0 {
		// Keep what the exits were before the containers are replaced.
		t.reportContainers(t.obs)
	}
	for _, rs := range restarts {
		t.log.Info("Restarting container by its restart policy", "container", rs.Name, "exitCode", rs.ExitCode, "restartCount", rs.Next)
		t.r.health.Stop(rs.ID)
		// Recorded first: an agent restart between the delete and the
		// create finds the restart to finish, not a vanished container.
		if err := t.writeRecord(restartRecordPrefix+rs.Name, strconv.Itoa(rs.Next)); err != nil {
			return err
		}
		// When the attempt ran, for its logs (kubectl ecs logs --previous).
		if c, ok := t.obs.Containers[rs.Name]; ok && !c.CreatedAt.IsZero() {
			if err := t.writeRecord(previousRecordPrefix+rs.Name, formatAttempt(c.CreatedAt, c.ExitedAt)); err != nil {
				return err
			}
		}
		if err := t.r.Runtime.Delete(ctx, rs.ID); err != nil {
			return err
		}
		t.changed = true
		t.r.event(t.task, corev1.EventTypeNormal, ecsv1.EventRestarted,
			fmt.Sprintf("Container %s exited with code %d and was restarted by its restart policy (restart %d)", rs.Name, rs.ExitCode, rs.Next))
	}
	return nil
}

// start starts the containers the plan says may start.
func (t *taskSync) start(ctx context.Context, a taskActions, defs []ecsv1.ContainerDefinition) error {
	if len(a.Start) == 0 {
		return nil
	}
	start := time.Now()
	attempts := map[string]int{}
	for _, c := range a.Create {
		attempts[c.Name] = c.Attempt
	}
	for _, name := range a.Start {
		id := lsruntime.ContainerID(string(t.task.UID), name, attempts[name])
		if c, ok := t.obs.Containers[name]; ok && !t.created(a, name) {
			id = c.ID
		}
		t.changed = true
		if err := t.r.Runtime.Start(ctx, id); err != nil {
			reason := fmt.Sprintf("CannotStartContainerError: container %s: %v", name, err)
			if d := byNameDefs(defs)[name]; d != nil && !d.IsEssential() {
				// As ECS: a non-essential container that cannot start is
				// STOPPED with the reason; the task goes on without it.
				t.log.Info("A non-essential container could not start; the task goes on without it", "container", name, "error", err.Error())
				if werr := t.writeRecord(startFailedRecordPrefix+name, reason); werr != nil {
					return werr
				}
				t.r.event(t.task, corev1.EventTypeWarning, ecsv1.EventContainerStartFailed, reason)
				continue
			}
			return fail(ecsv1.StopCodeTaskFailedToStart, reason)
		}
		t.markStarted(name)
	}
	t.timed("start", start)
	return nil
}

// created tells whether the plan creates container name in this sync.
func (t *taskSync) created(a taskActions, name string) bool {
	for _, c := range a.Create {
		if c.Name == name {
			return true
		}
	}
	return false
}

// writeRecord writes one of the sync's records (observe.go) into the task
// directory.
func (t *taskSync) writeRecord(name, content string) error {
	dir := t.r.taskDir(t.task.UID)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600)
}

// stop stops the task's containers group after group, records their exits,
// cleans up what the task has on the host and reports STOPPED; then it
// lets a deletion proceed.
func (t *taskSync) stop(ctx context.Context, why *stopDecision, failed bool) error {
	r, task := t.r, t.task
	t.setStopReason(why.Code, why.Reason)
	if failed {
		t.log.Info("Stopping task", "stopCode", why.Code, "reason", why.Reason)
		r.event(task, corev1.EventTypeWarning, string(why.Code), why.Reason)
	}
	if t.changed {
		if err := t.reobserve(ctx); err != nil {
			return err
		}
	}
	t.advance(ecsv1.TaskDeactivating)
	if t.status.StoppingAt == nil {
		t.status.StoppingAt = t.now()
	}
	t.advance(ecsv1.TaskStopping)
	var defs []ecsv1.ContainerDefinition
	if t.obs.Rev != nil {
		defs = withFireLensDependencies(&t.obs.Rev.Spec.TaskDefinition).ContainerDefinitions
	}
	byName := byNameDefs(defs)
	// Report STOPPING before anything is stopped or removed: a stop can
	// take stopTimeout, and the write (with optimistic locking) makes sure
	// the stop was decided from the Task as it is, not from an older copy
	// (a removed container would otherwise read as vanished).
	if err := t.patchStatus(ctx); err != nil {
		return err
	}
	for _, group := range stopGroups(t.obs) {
		var wg sync.WaitGroup
		errs := make([]error, len(group))
		for i, name := range group {
			c, ok := t.obs.Containers[name]
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
	if err := t.reobserve(ctx); err != nil {
		return err
	}
	t.reportContainers(t.obs)
	if t.status.ExecutionStoppedAt == nil {
		t.status.ExecutionStoppedAt = t.now()
	}
	t.advance(ecsv1.TaskDeprovisioning)
	if err := r.cleanupTask(ctx, task.UID, t.obs.All); err != nil {
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

func (t *taskSync) releaseFinalizer(ctx context.Context) error {
	task := t.task
	if task.DeletionTimestamp == nil || !controllerutil.ContainsFinalizer(task, ecsv1.FinalizerAgent) {
		return nil
	}
	patch := client.MergeFrom(task.DeepCopy())
	controllerutil.RemoveFinalizer(task, ecsv1.FinalizerAgent)
	return client.IgnoreNotFound(t.r.Client.Patch(ctx, task, patch))
}
