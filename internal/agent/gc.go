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
	"time"

	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ecsv1 "github.com/longshore-io/longshore/api/v1alpha1"
	lsruntime "github.com/longshore-io/longshore/internal/runtime"
)

// GarbageCollector removes, at agent start and then periodically, what
// belongs to no Task bound to this instance: what a force-deleted Task (its
// finalizer removed by hand) or a crash left: containers, network
// attachments, cgroups, task and run directories, with the same cleanup as
// the stop path; and the host helper binaries of earlier agent versions
// once no container refers to them.
type GarbageCollector struct {
	Cache  cache.Cache
	Client client.Reader
	// Tasks is the task reconciler, whose runtime, network, cgroups and
	// directories the collector cleans up.
	Tasks    *TaskReconciler
	Instance string
	Interval time.Duration
	// Helpers, when set, are this agent's installed host helpers.
	Helpers *HostHelpers
}

// Start implements manager.Runnable.
func (g *GarbageCollector) Start(ctx context.Context) error {
	if !g.Cache.WaitForCacheSync(ctx) {
		return nil
	}
	log := ctrl.LoggerFrom(ctx).WithName("gc")
	for {
		if err := g.Collect(ctx); err != nil {
			log.Error(err, "Garbage collection failed")
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(g.Interval):
		}
	}
}

// Collect runs one pass.
func (g *GarbageCollector) Collect(ctx context.Context) error {
	log := ctrl.LoggerFrom(ctx).WithName("gc")
	r := g.Tasks
	// What is on the host first, Tasks second: whatever existed before the
	// Task list belongs to a Task that the list includes.
	conts, err := r.Runtime.List(ctx, nil)
	if err != nil {
		return err
	}
	atts, err := r.Network.List(ctx)
	if err != nil {
		return err
	}
	dirs, err := r.taskDirs()
	if err != nil {
		return err
	}
	var tasks ecsv1.TaskList
	if err := g.Client.List(ctx, &tasks); err != nil {
		return err
	}
	known := map[types.UID]bool{}
	for _, t := range tasks.Items {
		if t.Spec.ContainerInstance == g.Instance {
			known[t.UID] = true
		}
	}
	orphans := map[types.UID][]lsruntime.ContainerStatus{}
	var inUse []string
	for _, c := range conts {
		uid := types.UID(c.Labels[lsruntime.LabelTaskUID])
		if uid == "" || known[uid] {
			inUse = append(inUse, lsruntime.HostBinaries(c.Labels)...)
			continue
		}
		orphans[uid] = append(orphans[uid], c)
	}
	keep := map[string]bool{}
	for _, a := range atts {
		uid := attachmentTask(a.ID)
		if known[uid] {
			keep[a.ID] = true
		} else if _, ok := orphans[uid]; !ok {
			orphans[uid] = nil
		}
	}
	for _, uid := range dirs {
		if _, ok := orphans[uid]; !ok && !known[uid] {
			orphans[uid] = nil
		}
	}
	var errs []error
	for uid, cs := range orphans {
		log.Info("Cleaning up after a task that no longer exists", "uid", uid, "containers", len(cs))
		if err := r.cleanupTask(ctx, uid, cs); err != nil {
			errs = append(errs, fmt.Errorf("task %s: %w", uid, err))
		}
	}
	if g.Helpers != nil {
		removed, err := g.Helpers.RemoveUnused(inUse)
		for _, p := range removed {
			log.Info("Removed the helper binaries of an earlier agent version", "dir", p)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("removing old helper binaries: %w", err))
		}
	}
	// What no attachment records (plugin caches, IPAM reservations).
	if err := r.Network.GC(ctx, keep); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// attachmentTask is the UID of the task a network attachment belongs to:
// its ID is the UID (awsvpc, none) or "<UID>-<container>" (bridge).
func attachmentTask(id string) types.UID {
	if len(id) >= 36 {
		return types.UID(id[:36])
	}
	uid, _, _ := strings.Cut(id, "-")
	return types.UID(uid)
}
