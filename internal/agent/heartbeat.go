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
	"sync"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/clock"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Heartbeat renews the agent's Lease (coordination.k8s.io) named after its
// instance. The manager reads the Lease to decide agentConnected; a Lease is
// a cheap object to update every few seconds, unlike the ContainerInstance.
type Heartbeat struct {
	Client       client.Client
	Namespace    string
	InstanceName string
	// Interval between renewals.
	Interval time.Duration
	// Duration written into the Lease: how long it stays valid unrenewed.
	Duration time.Duration
	Clock    clock.WithTicker

	mu        sync.Mutex
	lastRenew time.Time
}

// LastRenew is when the Lease was last renewed (zero if never).
func (h *Heartbeat) LastRenew() time.Time {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.lastRenew
}

// Start implements manager.Runnable.
func (h *Heartbeat) Start(ctx context.Context) error {
	log := ctrl.LoggerFrom(ctx).WithName("heartbeat").WithValues("lease", h.Namespace+"/"+h.InstanceName)
	t := h.Clock.NewTicker(h.Interval)
	defer t.Stop()
	failing := false
	for {
		if err := h.Renew(ctx); err != nil {
			if !failing {
				log.Error(err, "Renewing the lease failed; the manager marks this instance disconnected if it stays so")
			}
			failing = true
		} else if failing {
			log.Info("Lease renewed again")
			failing = false
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C():
		}
	}
}

// Renew creates the Lease or moves its renewTime to now.
func (h *Heartbeat) Renew(ctx context.Context) error {
	now := metav1.NewMicroTime(h.Clock.Now())
	lease := &coordinationv1.Lease{}
	err := h.Client.Get(ctx, client.ObjectKey{Namespace: h.Namespace, Name: h.InstanceName}, lease)
	switch {
	case apierrors.IsNotFound(err):
		lease = &coordinationv1.Lease{
			ObjectMeta: metav1.ObjectMeta{Namespace: h.Namespace, Name: h.InstanceName},
			Spec: coordinationv1.LeaseSpec{
				HolderIdentity:       ptr.To(h.InstanceName),
				LeaseDurationSeconds: ptr.To(int32(h.Duration / time.Second)),
				AcquireTime:          &now,
				RenewTime:            &now,
			},
		}
		if err := h.Client.Create(ctx, lease); err != nil {
			return fmt.Errorf("creating lease: %w", err)
		}
	case err != nil:
		return fmt.Errorf("reading lease: %w", err)
	default:
		lease.Spec.HolderIdentity = ptr.To(h.InstanceName)
		lease.Spec.LeaseDurationSeconds = ptr.To(int32(h.Duration / time.Second))
		lease.Spec.RenewTime = &now
		// Update with the read resourceVersion: a conflict means someone else
		// wrote it, and the next tick retries.
		if err := h.Client.Update(ctx, lease); err != nil {
			return fmt.Errorf("renewing lease: %w", err)
		}
	}
	h.mu.Lock()
	h.lastRenew = now.Time
	h.mu.Unlock()
	return nil
}
