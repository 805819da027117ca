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
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ecsv1 "github.com/longshore-io/longshore/api/v1alpha1"
	"github.com/longshore-io/longshore/internal/ecsarn"
	"github.com/longshore-io/longshore/internal/kube"
	lsruntime "github.com/longshore-io/longshore/internal/runtime"
	"github.com/longshore-io/longshore/internal/taskendpoint"
)

// This file connects the task endpoints (internal/taskendpoint: task
// metadata v4/v3, task protection, introspection) to the agent: what they
// read of a task, the protection they record, the listeners a sync opens
// and the cleanup closes, the variables the containers get.

// EndpointSource is what the task endpoints read and write through the
// agent: its cached Tasks, their revisions and containers, and the
// scale-in protection it records in the Task's status (the agent being
// the only writer of a bound Task's status).
type EndpointSource struct {
	Reconciler       *TaskReconciler
	Cluster          string
	AvailabilityZone string
	ARN              ecsarn.Config
}

var _ taskendpoint.Source = (*EndpointSource)(nil)

func endpointRef(task *ecsv1.Task) taskendpoint.TaskRef {
	return taskendpoint.TaskRef{Namespace: task.Namespace, Name: task.Name, UID: task.UID}
}

// Task implements taskendpoint.Source.
func (s *EndpointSource) Task(ctx context.Context, ref taskendpoint.TaskRef) (*taskendpoint.Snapshot, error) {
	r := s.Reconciler
	task := &ecsv1.Task{}
	if err := r.Client.Get(ctx, client.ObjectKey{Namespace: ref.Namespace, Name: ref.Name}, task); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, taskendpoint.ErrNotFound
		}
		return nil, err
	}
	if task.UID != ref.UID || task.Spec.ContainerInstance != r.InstanceName {
		return nil, taskendpoint.ErrNotFound
	}
	return s.snapshot(ctx, task)
}

func (s *EndpointSource) snapshot(ctx context.Context, task *ecsv1.Task) (*taskendpoint.Snapshot, error) {
	r := s.Reconciler
	rev, err := r.revision(ctx, task)
	if err != nil {
		return nil, fmt.Errorf("the task's revision: %w", err)
	}
	list, err := r.Runtime.List(ctx, map[string]string{lsruntime.LabelTaskUID: string(task.UID)})
	if err != nil {
		return nil, err
	}
	snap := &taskendpoint.Snapshot{Task: task, Revision: rev, Containers: map[string]lsruntime.ContainerStatus{}}
	for _, c := range list {
		name := c.Labels[lsruntime.LabelContainer]
		if prev, ok := snap.Containers[name]; ok && attempt(prev) > attempt(c) {
			continue
		}
		snap.Containers[name] = c
	}
	if mode := rev.Spec.TaskDefinition.NetworkMode; mode == "" || mode == ecsv1.NetworkModeBridge {
		atts, err := r.Network.List(ctx)
		if err != nil {
			return nil, err
		}
		snap.BridgeIPs = map[string]string{}
		for _, a := range atts {
			if c, ok := strings.CutPrefix(a.ID, string(task.UID)+"-"); ok && a.IPv4 != "" {
				snap.BridgeIPs[c] = a.IPv4
			}
		}
	}
	return snap, nil
}

// Tasks implements taskendpoint.Source: the tasks bound here that have a
// revision.
func (s *EndpointSource) Tasks(ctx context.Context) ([]*taskendpoint.Snapshot, error) {
	var list ecsv1.TaskList
	if err := s.Reconciler.Client.List(ctx, &list); err != nil {
		return nil, err
	}
	var out []*taskendpoint.Snapshot
	for i := range list.Items {
		t := &list.Items[i]
		if t.Spec.ContainerInstance != s.Reconciler.InstanceName {
			continue
		}
		snap, err := s.snapshot(ctx, t)
		if err != nil {
			continue // no revision (yet): not a task the agent runs
		}
		out = append(out, snap)
	}
	return out, nil
}

// Protect implements taskendpoint.Source: it records p in the Task's
// status.protection, read fresh from the API server, with optimistic
// locking (a conflict with the agent's own status write is retried).
func (s *EndpointSource) Protect(ctx context.Context, ref taskendpoint.TaskRef, p *ecsv1.TaskProtection) (*ecsv1.Task, error) {
	r := s.Reconciler
	var err error
	for range 5 {
		cur := &ecsv1.Task{}
		if err = r.APIReader.Get(ctx, client.ObjectKey{Namespace: ref.Namespace, Name: ref.Name}, cur); err != nil {
			if apierrors.IsNotFound(err) {
				return nil, taskendpoint.ErrNotFound
			}
			return nil, err
		}
		if cur.UID != ref.UID {
			return nil, taskendpoint.ErrNotFound
		}
		upd := cur.DeepCopy()
		upd.Status.Protection = p
		var wrote bool
		if wrote, err = kube.PatchStatus(ctx, r.Client, cur, upd); err != nil {
			if kube.IsConflict(err) {
				continue
			}
			return nil, err
		}
		if wrote {
			r.wrote(upd)
			msg := "Scale-in protection removed"
			if p.Enabled {
				msg = "Scale-in protection enabled until " + p.ExpiresAt.UTC().Format("2006-01-02T15:04:05Z")
			}
			ctrl.LoggerFrom(ctx).Info(msg, "task", client.ObjectKeyFromObject(upd))
			r.event(upd, corev1.EventTypeNormal, ecsv1.EventTaskProtection, msg)
		}
		return upd, nil
	}
	return nil, err
}

// Instance implements taskendpoint.Source.
func (s *EndpointSource) Instance(ctx context.Context) taskendpoint.Instance {
	out := taskendpoint.Instance{Cluster: s.Cluster, AvailabilityZone: s.AvailabilityZone}
	ci := &ecsv1.ContainerInstance{}
	if err := s.Reconciler.Client.Get(ctx, client.ObjectKey{Name: s.Reconciler.InstanceName}, ci); err == nil {
		out.ARN = s.ARN.ContainerInstance(s.Cluster, string(ci.UID))
	}
	return out
}

// ensureEndpoints opens the task's endpoint listeners (one per network
// namespace) before its containers start, and again for a task adopted
// after a restart.
func (t *taskSync) ensureEndpoints(ctx context.Context, defs []ecsv1.ContainerDefinition, netns map[string]string) error {
	if t.r.Endpoints == nil {
		return nil
	}
	names := make([]string, 0, len(defs))
	for i := range defs {
		names = append(names, defs[i].Name)
	}
	if err := t.r.Endpoints.Ensure(ctx, endpointRef(t.task), names, netns); err != nil {
		// The task runs without them rather than not at all; the next
		// sync tries again.
		t.log.Error(err, "The task's ECS endpoints are unavailable")
		t.r.event(t.task, corev1.EventTypeWarning, ecsv1.EventTaskEndpointsUnavailable, "Task metadata and agent endpoints unavailable: "+err.Error())
	}
	return nil
}

// endpointEnv are the endpoint variables of container name (nil without
// endpoints).
func (r *TaskReconciler) endpointEnv(task *ecsv1.Task, name string, hostMode bool) map[string]string {
	if r.Endpoints == nil {
		return nil
	}
	return r.Endpoints.Env(endpointRef(task), name, hostMode)
}

// closeEndpoints closes task uid's listeners (before its network goes).
func (r *TaskReconciler) closeEndpoints(uid types.UID) {
	if r.Endpoints != nil {
		r.Endpoints.Close(uid)
	}
}

// EndpointCgroup is the cgroup of container id of task uid, for the stats.
func EndpointCgroup(uid types.UID, id string) string { return cgroupParent(uid) + "/" + id }

// TaskStats is the stats of each container of task, by name, as the task
// metadata endpoint serves them (the agent API's tasks/stats).
func (r *TaskReconciler) TaskStats(ctx context.Context, task *ecsv1.Task) (map[string]*taskendpoint.StatsResponse, error) {
	if r.Endpoints == nil {
		return nil, errors.New("the agent runs no task endpoints")
	}
	return r.Endpoints.TaskStats(ctx, endpointRef(task))
}
