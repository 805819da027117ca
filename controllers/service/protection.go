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
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"

	ecsv1 "github.com/longshore-io/longshore/api/v1alpha1"
)

// Task scale-in protection, as ECS: a task that protected itself (through
// its agent's $ECS_AGENT_URI/task-protection/v1/state, recorded in
// status.protection) is not stopped to scale in nor to be replaced by a
// deployment until its protection is removed or expires. The deployment
// waits (it stays IN_PROGRESS and starts no more than maximumPercent
// allows); the Service says so in an Event and in its SteadyState
// condition, and passes again when the first protection expires.
// Deleting the Service stops protected tasks too, and a task that fails
// its health checks is replaced whatever its protection.

// keep tells whether ti must be kept for its scale-in protection; it
// notes it (for the Event and the condition) and when to pass again.
func (p *pass) keep(ti *taskInfo) bool {
	if p.deleting || !ti.t.Status.Protection.Protected(p.now) {
		return false
	}
	if !slices.Contains(p.kept, ti) {
		p.kept = append(p.kept, ti)
	}
	if at := ti.t.Status.Protection.ExpiresAt; at != nil {
		p.requeueAfter(at.Sub(p.now) + time.Second)
	}
	return true
}

// protectionNote says which protected tasks the service waits for ("" for none).
func (p *pass) protectionNote() string {
	if len(p.kept) == 0 {
		return ""
	}
	names := make([]string, 0, len(p.kept))
	for _, ti := range p.kept {
		n := ti.t.Name
		if at := ti.t.Status.Protection.ExpiresAt; at != nil {
			n += " until " + at.UTC().Format(time.RFC3339)
		}
		names = append(names, n)
	}
	slices.Sort(names)
	word := "tasks"
	if len(names) == 1 {
		word = "task"
	}
	return fmt.Sprintf("%s is unable to stop %d %s protected from scale-in: %s", p.who(), len(names), word, strings.Join(names, ", "))
}

// protectionEvent records the protected tasks the service waits for, once
// per change of the list (and again every few minutes while it lasts).
func (p *pass) protectionEvent() {
	msg := p.protectionNote()
	if msg == "" {
		return
	}
	if p.r.remember(p.key, ecsv1.EventTasksProtected, msg, p.now) {
		p.log.Info("Keeping tasks protected from scale-in", "tasks", len(p.kept))
		p.event(corev1.EventTypeNormal, ecsv1.EventTasksProtected, "Scale", msg)
	}
}
