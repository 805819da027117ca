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

// Package inactive is the record of deleted Services that the ECS API
// still answers as INACTIVE. On ECS a deleted service goes DRAINING, then
// INACTIVE, and DescribeServices keeps describing it for a while (the
// SDK's services-inactive waiter and tools such as ecspresso and
// Terraform wait for exactly that). In Longshore the Service object is
// gone once its drain finalizer is removed, so the Service controller,
// just before it removes the finalizer, writes a Record of the Service
// into the namespace's ConfigMap ConfigMapName (one data key per service
// name, its value the Record as JSON) and prunes the records past their
// ExpiresAt. The ECS API only reads the map. The controller is the one
// writer of the ConfigMap; nothing owns it.
package inactive

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"
)

// ConfigMapName is the ConfigMap, one per namespace where Services were
// deleted, that holds the records.
const ConfigMapName = "longshore-inactive-services"

// Record is what DescribeServices needs to answer a deleted Service as
// INACTIVE (its desired, running and pending counts are 0; the ARN is
// formed from Cluster and the data key).
type Record struct {
	// UID of the deleted Service: a Service re-created and deleted again
	// replaces the record.
	UID string `json:"uid"`
	// Cluster is the ECS cluster name (spec.cluster, "default" when empty).
	Cluster string `json:"cluster"`
	// TaskDefinition is the "family:n" the Service last ran (status), else
	// the one its spec named; empty when neither was known.
	TaskDefinition string `json:"taskDefinition,omitempty"`
	// SchedulingStrategy is REPLICA or DAEMON.
	SchedulingStrategy string `json:"schedulingStrategy"`
	// CreatedAt is the Service's creationTimestamp.
	CreatedAt time.Time `json:"createdAt"`
	// DeletedAt is its deletionTimestamp: when it went DRAINING.
	DeletedAt time.Time `json:"deletedAt"`
	// InactiveAt is when its drain ended (its last task gone).
	InactiveAt time.Time `json:"inactiveAt"`
	// ExpiresAt is when the record stops answering (InactiveAt plus the
	// manager's retention) and may be pruned.
	ExpiresAt time.Time `json:"expiresAt"`
}

// Encode is the data value of r.
func Encode(r Record) (string, error) {
	if r.UID == "" || r.Cluster == "" || r.ExpiresAt.IsZero() {
		return "", fmt.Errorf("inactive service record %+v: uid, cluster and expiresAt are required", r)
	}
	b, err := json.Marshal(r)
	if err != nil {
		return "", fmt.Errorf("encoding the inactive service record: %w", err)
	}
	return string(b), nil
}

// Decode reads the record of service name from its data value.
func Decode(name, value string) (Record, error) {
	var r Record
	if err := json.Unmarshal([]byte(value), &r); err != nil {
		return Record{}, fmt.Errorf("ConfigMap %s, key %s: not an inactive service record: %w", ConfigMapName, name, err)
	}
	if r.UID == "" || r.Cluster == "" || r.ExpiresAt.IsZero() {
		return Record{}, fmt.Errorf("ConfigMap %s, key %s: the inactive service record lacks uid, cluster or expiresAt", ConfigMapName, name)
	}
	return r, nil
}

// Live tells whether r still answers at now.
func (r Record) Live(now time.Time) bool { return now.Before(r.ExpiresAt) }

// Pruned is a data key Prune removed, and why.
type Pruned struct {
	Name, Reason string
}

// Prune is data without the records expired at now and the values that
// are not records (each in pruned, sorted by name, with its reason), and
// the earliest ExpiresAt of the records kept (zero when none is).
func Prune(data map[string]string, now time.Time) (kept map[string]string, pruned []Pruned, next time.Time) {
	kept = make(map[string]string, len(data))
	for _, name := range slices.Sorted(maps.Keys(data)) {
		r, err := Decode(name, data[name])
		switch {
		case err != nil:
			pruned = append(pruned, Pruned{Name: name, Reason: err.Error()})
		case !r.Live(now):
			pruned = append(pruned, Pruned{Name: name, Reason: "expired at " + r.ExpiresAt.UTC().Format(time.RFC3339)})
		default:
			kept[name] = data[name]
			if next.IsZero() || r.ExpiresAt.Before(next) {
				next = r.ExpiresAt
			}
		}
	}
	return kept, pruned, next
}

// ErrNotRecorded is Lookup's answer for a name without a live record.
var ErrNotRecorded = errors.New("no inactive service record")

// Lookup is the live record of service name in cluster at now:
// ErrNotRecorded when there is none (or it expired, or is of another
// cluster), another error when the value is not a record.
func Lookup(data map[string]string, name, cluster string, now time.Time) (Record, error) {
	v, ok := data[name]
	if !ok {
		return Record{}, ErrNotRecorded
	}
	r, err := Decode(name, v)
	if err != nil {
		return Record{}, err
	}
	if !r.Live(now) || r.Cluster != cluster {
		return Record{}, ErrNotRecorded
	}
	return r, nil
}
