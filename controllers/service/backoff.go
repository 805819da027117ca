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

package service

import (
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"
)

// maxLaunchBackoff caps the delay between task launches of a deployment
// whose tasks keep failing.
const maxLaunchBackoff = 5 * time.Minute

// launchBackoff throttles the launches of a primary deployment whose tasks
// keep failing, as ECS throttles a service that cannot start tasks: each
// failure doubles the delay before the next launch (LaunchBackoff, 2×, 4×…
// up to five minutes). A task of the deployment that starts after the
// last failure and becomes healthy ends it. It lives in memory: a manager
// restart starts afresh.
type launchBackoff struct {
	deployment  string
	failures    int
	lastFailure time.Time
	until       time.Time
}

// noteFailure records a failed task of the primary deployment.
func (r *Reconciler) noteFailure(key client.ObjectKey, deployment string, now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	b := r.backoff[key]
	if b == nil || b.deployment != deployment {
		b = &launchBackoff{deployment: deployment}
		r.backoff[key] = b
	}
	b.failures++
	delay := maxLaunchBackoff
	if shift := b.failures - 1; shift < 20 {
		delay = min(r.LaunchBackoff<<shift, maxLaunchBackoff)
	}
	b.lastFailure, b.until = now, now.Add(delay)
}

// noteHealthy ends the backoff of deployment when a task created after
// its last failure is healthy.
func (r *Reconciler) noteHealthy(key client.ObjectKey, deployment string, created time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if b := r.backoff[key]; b != nil && b.deployment == deployment && created.After(b.lastFailure) {
		delete(r.backoff, key)
	}
}

// launchDelay is how long the deployment must still wait before it
// launches a task.
func (r *Reconciler) launchDelay(key client.ObjectKey, deployment string, now time.Time) time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	if b := r.backoff[key]; b != nil && b.deployment == deployment && now.Before(b.until) {
		return b.until.Sub(now)
	}
	return 0
}
