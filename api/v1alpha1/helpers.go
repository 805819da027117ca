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

package v1alpha1

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// TaskDefinitionRef is a parsed "family" or "family:revision" reference.
type TaskDefinitionRef struct {
	Family string
	// Revision is 0 when the reference names the family (latest ACTIVE).
	Revision int32
}

// String renders the reference as the API writes it.
func (r TaskDefinitionRef) String() string {
	if r.Revision == 0 {
		return r.Family
	}
	return fmt.Sprintf("%s:%d", r.Family, r.Revision)
}

// RevisionName is the object name of the TaskDefinitionRevision the
// reference pins: "<family>-<revision>". Empty for a family reference.
func (r TaskDefinitionRef) RevisionName() string {
	if r.Revision == 0 {
		return ""
	}
	return RevisionName(r.Family, r.Revision)
}

// RevisionName is the object name of revision n of family.
func RevisionName(family string, n int32) string { return fmt.Sprintf("%s-%d", family, n) }

// ParseTaskDefinitionRef parses "family" or "family:revision". The CRD
// schema enforces the syntax; this returns an error for callers that build
// references themselves.
func ParseTaskDefinitionRef(s string) (TaskDefinitionRef, error) {
	family, rev, pinned := strings.Cut(s, ":")
	if family == "" {
		return TaskDefinitionRef{}, fmt.Errorf("task definition reference %q has no family", s)
	}
	if !pinned {
		return TaskDefinitionRef{Family: family}, nil
	}
	n, err := strconv.ParseInt(rev, 10, 32)
	if err != nil || n < 1 {
		return TaskDefinitionRef{}, fmt.Errorf("task definition reference %q: revision must be a number of 1 or more", s)
	}
	return TaskDefinitionRef{Family: family, Revision: int32(n)}, nil
}

// ParseTaskCPU converts an ECS task-level cpu string ("256", "0.25 vCPU",
// "1vcpu") into CPU units (1024 per vCPU).
func ParseTaskCPU(s string) (int64, error) {
	t := strings.TrimSpace(s)
	lower := strings.ToLower(t)
	if num, ok := strings.CutSuffix(lower, "vcpu"); ok {
		v, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
		if err != nil || v <= 0 {
			return 0, fmt.Errorf("cpu %q: want CPU units such as \"256\" or vCPUs such as \"0.25 vCPU\"", s)
		}
		return int64(v*1024 + 0.5), nil
	}
	v, err := strconv.ParseInt(t, 10, 64)
	if err != nil || v <= 0 {
		return 0, fmt.Errorf("cpu %q: want CPU units such as \"256\" or vCPUs such as \"0.25 vCPU\"", s)
	}
	return v, nil
}

// ParseTaskMemory converts an ECS task-level memory string ("512", "1 GB",
// "0.5GB") into MiB (1 GB = 1024 MiB, as ECS counts).
func ParseTaskMemory(s string) (int64, error) {
	t := strings.TrimSpace(s)
	lower := strings.ToLower(t)
	if num, ok := strings.CutSuffix(lower, "gb"); ok {
		v, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
		if err != nil || v <= 0 {
			return 0, fmt.Errorf("memory %q: want MiB such as \"512\" or GB such as \"1 GB\"", s)
		}
		return int64(v*1024 + 0.5), nil
	}
	v, err := strconv.ParseInt(t, 10, 64)
	if err != nil || v <= 0 {
		return 0, fmt.Errorf("memory %q: want MiB such as \"512\" or GB such as \"1 GB\"", s)
	}
	return v, nil
}

// IsEssential reports whether the container is essential (the default).
func (c *ContainerDefinition) IsEssential() bool { return c.Essential == nil || *c.Essential }

// PhaseIndex is the position of p in the task lifecycle, -1 if unknown.
// Phases only move to a higher index.
func PhaseIndex(p TaskStatusPhase) int {
	for i, q := range TaskPhases {
		if q == p {
			return i
		}
	}
	return -1
}

// AnnotationReservation on a Task records, as JSON, the resources the
// scheduler reserved for it on its instance (from the revision and the
// overrides), so that accounting never re-reads revisions. The manager
// writes it once, when it resolves the revision.
const AnnotationReservation = "ecs.longshore.io/reservation"

// Reservation is what a task holds on its instance.
type Reservation struct {
	CPU          int64   `json:"cpu"`
	Memory       int64   `json:"memory"`
	TCPPorts     []int32 `json:"tcpPorts,omitempty"`
	UDPPorts     []int32 `json:"udpPorts,omitempty"`
	DynamicPorts int     `json:"dynamicPorts,omitempty"`
	GPU          int64   `json:"gpu,omitempty"`
}

// ReservationOf reads a task's reservation annotation.
func ReservationOf(t *Task) (Reservation, bool) {
	raw, ok := t.Annotations[AnnotationReservation]
	if !ok {
		return Reservation{}, false
	}
	var r Reservation
	if err := json.Unmarshal([]byte(raw), &r); err != nil {
		return Reservation{}, false
	}
	return r, true
}

// String renders the reservation as the annotation value.
func (r Reservation) String() string {
	b, _ := json.Marshal(r)
	return string(b)
}
