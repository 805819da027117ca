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

package inactive

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var t0 = time.Date(2026, 12, 2, 3, 0, 0, 0, time.UTC)

func rec(uid string, expires time.Time) Record {
	return Record{UID: uid, Cluster: "default", TaskDefinition: "web:3", SchedulingStrategy: "REPLICA",
		CreatedAt: t0.Add(-time.Hour), DeletedAt: t0.Add(-time.Minute), InactiveAt: t0, ExpiresAt: expires}
}

func TestEncodeDecode(t *testing.T) {
	r := rec("u1", t0.Add(time.Hour))
	v, err := Encode(r)
	if err != nil {
		t.Fatal(err)
	}
	for _, field := range []string{`"uid":"u1"`, `"cluster":"default"`, `"taskDefinition":"web:3"`, `"schedulingStrategy":"REPLICA"`,
		`"createdAt":"2026-12-02T02:00:00Z"`, `"deletedAt":"2026-12-02T02:59:00Z"`, `"inactiveAt":"2026-12-02T03:00:00Z"`, `"expiresAt":"2026-12-02T04:00:00Z"`} {
		if !strings.Contains(v, field) {
			t.Errorf("Encode: %s lacks %s", v, field)
		}
	}
	got, err := Decode("web", v)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(r, got); diff != "" {
		t.Errorf("Decode(Encode) (-want +got):\n%s", diff)
	}
	if _, err := Encode(Record{UID: "u1", Cluster: "default"}); err == nil {
		t.Error("Encode of a record without expiresAt: no error")
	}
	if _, err := Decode("web", "{"); err == nil || !strings.Contains(err.Error(), "key web: not an inactive service record") {
		t.Errorf("Decode of bad JSON: %v", err)
	}
	if _, err := Decode("web", `{"uid":"u1"}`); err == nil || !strings.Contains(err.Error(), "lacks uid, cluster or expiresAt") {
		t.Errorf("Decode of an incomplete record: %v", err)
	}
}

func TestPrune(t *testing.T) {
	enc := func(r Record) string {
		v, err := Encode(r)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	data := map[string]string{
		"old":    enc(rec("u1", t0.Add(-time.Second))),
		"edge":   enc(rec("u2", t0)),
		"soon":   enc(rec("u3", t0.Add(time.Minute))),
		"later":  enc(rec("u4", t0.Add(time.Hour))),
		"broken": "not json",
	}
	kept, pruned, next := Prune(data, t0)
	if diff := cmp.Diff([]string{"later", "soon"}, sortedKeys(kept)); diff != "" {
		t.Errorf("kept (-want +got):\n%s", diff)
	}
	var names []string
	for _, p := range pruned {
		names = append(names, p.Name)
	}
	if diff := cmp.Diff([]string{"broken", "edge", "old"}, names); diff != "" {
		t.Errorf("pruned (-want +got):\n%s", diff)
	}
	if !strings.Contains(pruned[0].Reason, "not an inactive service record") || !strings.Contains(pruned[2].Reason, "expired at 2026-12-02T02:59:59Z") {
		t.Errorf("reasons: %+v", pruned)
	}
	if !next.Equal(t0.Add(time.Minute)) {
		t.Errorf("next expiry %v, want %v", next, t0.Add(time.Minute))
	}
	if kept, pruned, next := Prune(nil, t0); len(kept) != 0 || len(pruned) != 0 || !next.IsZero() {
		t.Errorf("Prune(nil): %v %v %v", kept, pruned, next)
	}
}

func TestLookup(t *testing.T) {
	v, err := Encode(rec("u1", t0.Add(time.Hour)))
	if err != nil {
		t.Fatal(err)
	}
	data := map[string]string{"web": v, "bad": "x"}
	if r, err := Lookup(data, "web", "default", t0); err != nil || r.UID != "u1" {
		t.Errorf("Lookup web: %+v %v", r, err)
	}
	for _, c := range []struct {
		name, cluster string
		at            time.Time
	}{{"web", "other", t0}, {"web", "default", t0.Add(time.Hour)}, {"nope", "default", t0}} {
		if _, err := Lookup(data, c.name, c.cluster, c.at); !errors.Is(err, ErrNotRecorded) {
			t.Errorf("Lookup %s in %s at %v: %v, want ErrNotRecorded", c.name, c.cluster, c.at, err)
		}
	}
	if _, err := Lookup(data, "bad", "default", t0); err == nil || errors.Is(err, ErrNotRecorded) {
		t.Errorf("Lookup of a bad value: %v, want a decoding error", err)
	}
}

func sortedKeys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
