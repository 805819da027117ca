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

package kube

import (
	"errors"
	"fmt"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	ctrl "sigs.k8s.io/controller-runtime"
)

func TestIsConflictWalksJoins(t *testing.T) {
	gr := schema.GroupResource{Group: "ecs.longshore.io", Resource: "tasks"}
	conflict := apierrors.NewConflict(gr, "t", errors.New("stale"))
	notFound := apierrors.NewNotFound(gr, "t")
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{nil, false},
		{conflict, true},
		{fmt.Errorf("patching: %w", conflict), true},
		{errors.Join(notFound, conflict), true},
		{errors.Join(errors.New("x"), fmt.Errorf("y: %w", conflict)), true},
		{errors.Join(notFound, errors.New("x")), false},
	} {
		if got := IsConflict(tc.err); got != tc.want {
			t.Errorf("IsConflict(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}

func TestResult(t *testing.T) {
	gr := schema.GroupResource{Resource: "tasks"}
	res, err := Result(ctrl.Result{RequeueAfter: time.Hour}, apierrors.NewConflict(gr, "t", errors.New("stale")))
	if err != nil || res.RequeueAfter != ConflictRetry {
		t.Errorf("a conflict: %v %v, want a retry after %s and no error", res, err, ConflictRetry)
	}
	boom := errors.New("boom")
	if res, err := Result(ctrl.Result{RequeueAfter: time.Hour}, boom); !errors.Is(err, boom) || !res.IsZero() {
		t.Errorf("another error: %v %v, want it returned", res, err)
	}
	if res, err := Result(ctrl.Result{RequeueAfter: time.Hour}, nil); err != nil || res.RequeueAfter != time.Hour {
		t.Errorf("no error: %v %v, want the result as it is", res, err)
	}
}

func TestSoonest(t *testing.T) {
	none, s1, s2 := ctrl.Result{}, ctrl.Result{RequeueAfter: time.Second}, ctrl.Result{RequeueAfter: 2 * time.Second}
	for _, tc := range []struct{ a, b, want ctrl.Result }{
		{none, none, none}, {none, s1, s1}, {s1, none, s1}, {s1, s2, s1}, {s2, s1, s1},
	} {
		if got := Soonest(tc.a, tc.b); got != tc.want {
			t.Errorf("Soonest(%v, %v) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
}
