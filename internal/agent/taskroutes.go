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
	"net/netip"
	"slices"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	toolscache "k8s.io/client-go/tools/cache"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ecsv1 "github.com/longshore-io/longshore/api/v1alpha1"
	"github.com/longshore-io/longshore/internal/network"
)

// TaskRoutes keeps this host's routes to the task subnets of the other
// instances of its Cluster, so that tasks (and hosts) reach tasks on other
// instances by their awsvpc addresses: from every ContainerInstance's
// status.taskCIDR and status.hostAddress, in the Cluster's
// spec.taskNetwork.routing mode. It syncs when an instance or the Cluster
// changes and every Resync; an instance that is deleted (deregistered)
// loses its routes. Routes stay when the agent restarts.
type TaskRoutes struct {
	// Cache holds every ContainerInstance and the Cluster (a cache of its
	// own: the agent's main cache holds only its own instance).
	Cache    cache.Cache
	Instance string
	Cluster  string
	// HostAddress is this host's (Router.Self.HostAddress).
	HostAddress netip.Addr
	Router      *network.Router
	Resync      time.Duration

	last string
}

// Start implements manager.Runnable.
func (r *TaskRoutes) Start(ctx context.Context) error {
	log := ctrl.LoggerFrom(ctx).WithName("task-routes")
	poke := make(chan struct{}, 1)
	notify := toolscache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { r.poke(poke) },
		UpdateFunc: func(any, any) { r.poke(poke) },
		DeleteFunc: func(any) { r.poke(poke) },
	}
	for _, obj := range []client.Object{&ecsv1.ContainerInstance{}, &ecsv1.Cluster{}} {
		inf, err := r.Cache.GetInformer(ctx, obj)
		if err != nil {
			return err
		}
		if _, err := inf.AddEventHandler(notify); err != nil {
			return err
		}
	}
	if !r.Cache.WaitForCacheSync(ctx) {
		return nil
	}
	for {
		if err := r.Sync(ctx); err != nil {
			log.Error(err, "Syncing the routes to other instances' task subnets")
		}
		select {
		case <-ctx.Done():
			return nil
		case <-poke:
		case <-time.After(r.Resync):
		}
	}
}

func (r *TaskRoutes) poke(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// Sync runs one pass.
func (r *TaskRoutes) Sync(ctx context.Context) error {
	log := ctrl.LoggerFrom(ctx).WithName("task-routes")
	cluster := &ecsv1.Cluster{}
	mode := string(ecsv1.TaskRoutingHostGateway)
	if err := r.Cache.Get(ctx, client.ObjectKey{Name: r.Cluster}, cluster); err == nil {
		if cluster.Spec.TaskNetwork.Routing != "" {
			mode = string(cluster.Spec.TaskNetwork.Routing)
		}
	} else if !apierrors.IsNotFound(err) {
		return err
	}
	var list ecsv1.ContainerInstanceList
	if err := r.Cache.List(ctx, &list); err != nil {
		return err
	}
	var peers []network.Peer
	self := network.Peer{Name: r.Instance, HostAddress: r.HostAddress}
	for i := range list.Items {
		ci := &list.Items[i]
		if ecsv1.ClusterName(ci.Spec.Cluster) != r.Cluster {
			continue
		}
		cidr, _ := netip.ParsePrefix(ci.Status.TaskCIDR)
		if ci.Name == r.Instance {
			self.TaskCIDR = cidr
			continue
		}
		if !ci.DeletionTimestamp.IsZero() {
			continue // deregistered: its routes go now
		}
		addr, _ := netip.ParseAddr(ci.Status.HostAddress)
		peers = append(peers, network.Peer{Name: ci.Name, TaskCIDR: cidr, HostAddress: addr})
	}
	r.Router.Self = self
	err := r.Router.Sync(ctx, mode, peers)
	if summary := routesSummary(mode, self, peers); summary != r.last {
		log.Info("Task routes to other instances", "routing", mode, "peers", summary)
		r.last = summary
	}
	return err
}

func routesSummary(mode string, self network.Peer, peers []network.Peer) string {
	var parts []string
	for _, p := range peers {
		if p.TaskCIDR.IsValid() && p.HostAddress.IsValid() && p.HostAddress != self.HostAddress {
			parts = append(parts, fmt.Sprintf("%s=%s@%s", p.Name, p.TaskCIDR, p.HostAddress))
		}
	}
	slices.Sort(parts)
	return mode + " " + strings.Join(parts, ",")
}
