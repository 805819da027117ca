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
	"fmt"
	"strings"
	"syscall"
	"time"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ecsv1 "github.com/longshore-io/longshore/api/v1alpha1"
	"github.com/longshore-io/longshore/internal/network"
	lsruntime "github.com/longshore-io/longshore/internal/runtime"
)

// GarbageCollector removes, at agent start and then periodically, the
// containers, network attachments and task directories that belong to no
// Task bound to this instance: what a force-deleted Task or a crash left;
// and the host helper binaries of earlier agent versions once no container
// refers to them.
type GarbageCollector struct {
	Cache    cache.Cache
	Client   client.Reader
	Runtime  lsruntime.Containers
	Network  network.Network
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
	// Containers and attachments first, Tasks second: whatever existed
	// before the Task list belongs to a Task that the list includes.
	conts, err := g.Runtime.List(ctx, nil)
	if err != nil {
		return err
	}
	atts, err := g.Network.List(ctx)
	if err != nil {
		return err
	}
	var tasks ecsv1.TaskList
	if err := g.Client.List(ctx, &tasks); err != nil {
		return err
	}
	known := map[string]bool{}
	for _, t := range tasks.Items {
		if t.Spec.ContainerInstance == g.Instance {
			known[string(t.UID)] = true
		}
	}
	var inUse []string
	for _, c := range conts {
		uid := c.Labels[lsruntime.LabelTaskUID]
		if uid == "" || known[uid] {
			inUse = append(inUse, lsruntime.HostBinaries(c.Labels)...)
			continue
		}
		log.Info("Removing a container of no task", "container", c.ID, "task", c.Labels[lsruntime.LabelTaskNamespace]+"/"+c.Labels[lsruntime.LabelTaskName])
		if err := g.Runtime.Stop(ctx, c.ID, syscall.SIGTERM, 10*time.Second); err != nil {
			return err
		}
		if err := g.Runtime.Delete(ctx, c.ID); err != nil {
			return err
		}
	}
	if g.Helpers != nil {
		removed, err := g.Helpers.RemoveUnused(inUse)
		for _, p := range removed {
			log.Info("Removed the helper binaries of an earlier agent version", "dir", p)
		}
		if err != nil {
			return fmt.Errorf("removing old helper binaries: %w", err)
		}
	}
	keep := map[string]bool{}
	for _, a := range atts {
		uid, _, _ := strings.Cut(a.ID, "-")
		if len(a.ID) >= 36 {
			uid = a.ID[:36]
		}
		if known[uid] {
			keep[a.ID] = true
		} else {
			log.Info("Removing a network attachment of no task", "attachment", a.ID)
		}
	}
	return g.Network.GC(ctx, keep)
}
