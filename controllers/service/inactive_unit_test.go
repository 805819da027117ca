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
	"testing"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	k8stypes "k8s.io/apimachinery/pkg/types"
	clocktesting "k8s.io/utils/clock/testing"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	ecsv1 "github.com/longshore-io/longshore/api/v1alpha1"
	"github.com/longshore-io/longshore/internal/inactive"
)

func TestRecordAndPruneInactive(t *testing.T) {
	ctx := t.Context()
	scheme := runtime.NewScheme()
	if err := corev1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	c := fake.NewClientBuilder().WithScheme(scheme).Build()
	t0 := time.Date(2026, 12, 2, 3, 0, 0, 0, time.UTC)
	clk := clocktesting.NewFakeClock(t0)
	r := &Reconciler{Client: c, Clock: clk, InactiveRetention: 10 * time.Minute}
	r.init()
	svc := func(name, uid string) *ecsv1.Service {
		return &ecsv1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name, UID: k8stypes.UID("u-" + uid),
			CreationTimestamp: metav1.NewTime(t0.Add(-time.Hour)), DeletionTimestamp: &metav1.Time{Time: t0.Add(-time.Minute)}},
			Spec: ecsv1.ServiceSpec{Cluster: "prod", TaskDefinition: "web"}, Status: ecsv1.ServiceStatus{TaskDefinition: "web:4"}}
	}
	record := func(s *ecsv1.Service, at time.Time) {
		t.Helper()
		p := &pass{r: r, svc: s, now: at, log: logr.Discard()}
		if err := p.recordInactive(ctx); err != nil {
			t.Fatalf("recordInactive %s: %v", s.Name, err)
		}
	}
	data := func() map[string]string {
		t.Helper()
		cm := &corev1.ConfigMap{}
		if err := c.Get(ctx, client.ObjectKey{Namespace: "ns", Name: inactive.ConfigMapName}, cm); err != nil {
			t.Fatal(err)
		}
		return cm.Data
	}

	record(svc("web", "1"), t0) // creates the map
	rec, err := inactive.Decode("web", data()["web"])
	if err != nil {
		t.Fatal(err)
	}
	want := inactive.Record{UID: "u-1", Cluster: "prod", TaskDefinition: "web:4", SchedulingStrategy: "REPLICA",
		CreatedAt: t0.Add(-time.Hour), DeletedAt: t0.Add(-time.Minute), InactiveAt: t0, ExpiresAt: t0.Add(10 * time.Minute)}
	if rec != want {
		t.Errorf("the record:\n got %+v\nwant %+v", rec, want)
	}
	// The same Service again (its finalizer patch failed): kept as it was.
	record(svc("web", "1"), t0.Add(time.Minute))
	if rec, _ := inactive.Decode("web", data()["web"]); !rec.InactiveAt.Equal(t0) {
		t.Errorf("recorded again: inactiveAt %v, want %v", rec.InactiveAt, t0)
	}
	// Another Service, past web's expiry: web pruned on the write.
	record(svc("api", "2"), t0.Add(11*time.Minute))
	if d := data(); len(d) != 1 || d["api"] == "" {
		t.Errorf("after api's record past web's expiry: %v, want api's alone", d)
	}

	// The gone name's reconcile: look again when its record expires...
	clk.SetTime(t0.Add(15 * time.Minute))
	after, err := r.pruneInactive(ctx, client.ObjectKey{Namespace: "ns", Name: "api"})
	if err != nil || after != 6*time.Minute+time.Second {
		t.Errorf("pruneInactive before api's expiry: %v %v, want 6m1s", after, err)
	}
	if d := data(); d["api"] == "" {
		t.Error("api's record pruned before its expiry")
	}
	// ... and then prune it.
	clk.SetTime(t0.Add(21*time.Minute + time.Second))
	after, err = r.pruneInactive(ctx, client.ObjectKey{Namespace: "ns", Name: "api"})
	if err != nil || after != 0 {
		t.Errorf("pruneInactive after api's expiry: %v %v, want 0", after, err)
	}
	if d := data(); len(d) != 0 {
		t.Errorf("after the prune: %v, want no record", d)
	}
	// A namespace without a map: nothing to do.
	if after, err := r.pruneInactive(ctx, client.ObjectKey{Namespace: "other", Name: "x"}); err != nil || after != 0 {
		t.Errorf("pruneInactive without a map: %v %v", after, err)
	}
}
