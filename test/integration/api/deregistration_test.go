//go:build integration

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

package api

import (
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/longshore-io/longshore/test/integration/framework"
)

// The param of longshore-revision-not-active (config/policy/revision-status.yaml),
// written here as longshore-manager writes it.
const revisionStatusMap = "longshore-revision-status"

// TestNewUsersOfRevisionsThatAreNotActiveAreRefused applies, as kubectl
// would, Tasks and Services that name revisions listed as not ACTIVE in
// their namespace's map, and expects the policy's message; what ECS lets
// go on (a Service that keeps its revision, the tasks a Service creates)
// is admitted.
func TestNewUsersOfRevisionsThatAreNotActiveAreRefused(t *testing.T) {
	ns := newNamespace(t)
	other := newNamespace(t)

	// A Service created while web:3 was still ACTIVE.
	if _, err := create(t, ns, manifest("Service", "old-svc", "taskDefinition: web:3\ndesiredCount: 1")); err != nil {
		t.Fatalf("creating a Service of the ACTIVE web:3: %v", err)
	}
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: revisionStatusMap},
		Data: map[string]string{"web-3": "INACTIVE", "web-4": "DELETE_IN_PROGRESS", "web-api-1": "INACTIVE"}}
	if err := env.Client.Create(ctx(t), cm); err != nil {
		t.Fatal(err)
	}
	// The policy reads its params through an informer: wait for it.
	framework.Eventually(t, 30*time.Second, "the policy sees the map", func() error {
		_, err := dryRun(t, ns, manifest("Task", "probe", "taskDefinition: web:3"))
		if err == nil || !strings.Contains(err.Error(), "web:3 is INACTIVE") {
			return fmt.Errorf("a Task of web:3: %v", err)
		}
		return nil
	})

	refused := []struct{ name, manifest, want string }{
		{"task of an INACTIVE revision", manifest("Task", "t1", "taskDefinition: web:3"),
			"task definition web:3 is INACTIVE: new tasks need an ACTIVE revision (ECS DeregisterTaskDefinition); use web (its newest ACTIVE revision) or another ACTIVE web:<revision>"},
		{"task of a deleted revision", manifest("Task", "t2", "taskDefinition: web:4"),
			"task definition web:4 is DELETE_IN_PROGRESS: new tasks need an ACTIVE revision"},
		{"task of a revision of a family with a dash", manifest("Task", "t3", "taskDefinition: web-api:1"),
			"task definition web-api:1 is INACTIVE: new tasks need an ACTIVE revision (ECS DeregisterTaskDefinition); use web-api (its newest ACTIVE revision)"},
		{"service created with an INACTIVE revision", manifest("Service", "s1", "taskDefinition: web:3\ndesiredCount: 1"),
			"task definition web:3 is INACTIVE: a service cannot be created with or changed to a revision that is not ACTIVE (ECS DeregisterTaskDefinition)"},
	}
	for _, tc := range refused {
		t.Run(tc.name, func(t *testing.T) {
			_, err := create(t, ns, tc.manifest)
			checkRefused(t, err, tc.want)
		})
	}
	t.Run("task that names a Service as owner but not as controller", func(t *testing.T) {
		obj := decodeOne(t, manifest("Task", "t4", "taskDefinition: web:3"))
		obj.SetNamespace(ns)
		obj.SetOwnerReferences([]metav1.OwnerReference{{APIVersion: "ecs.longshore.io/v1alpha1", Kind: "Service", Name: "old-svc", UID: "u1"}})
		checkRefused(t, env.Client.Create(ctx(t), obj), "task definition web:3 is INACTIVE: new tasks need an ACTIVE revision")
	})

	admitted := []struct{ name, manifest string }{
		{"task of the family (its newest ACTIVE revision)", manifest("Task", "a1", "taskDefinition: web")},
		{"task of an ACTIVE revision", manifest("Task", "a2", "taskDefinition: web:2")},
		{"task of a revision with a similar name", manifest("Task", "a3", "taskDefinition: web:33")},
		{"service of an ACTIVE revision", manifest("Service", "a4", "taskDefinition: web:2\ndesiredCount: 1")},
	}
	for _, tc := range admitted {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := create(t, ns, tc.manifest); err != nil {
				t.Fatalf("refused: %v", err)
			}
		})
	}
	t.Run("the same task in a namespace without a map", func(t *testing.T) {
		if _, err := create(t, other, manifest("Task", "t1", "taskDefinition: web:3")); err != nil {
			t.Fatalf("refused: %v", err)
		}
	})
	t.Run("a task its Service creates", func(t *testing.T) {
		obj := decodeOne(t, manifest("Task", "old-svc-1", "taskDefinition: web:3"))
		obj.SetNamespace(ns)
		obj.SetOwnerReferences([]metav1.OwnerReference{{APIVersion: "ecs.longshore.io/v1alpha1", Kind: "Service", Name: "old-svc",
			UID: "u1", Controller: ptr.To(true)}})
		if err := env.Client.Create(ctx(t), obj); err != nil {
			t.Fatalf("refused: %v", err)
		}
	})

	svc := &unstructured.Unstructured{}
	svc.SetAPIVersion("ecs.longshore.io/v1alpha1")
	svc.SetKind("Service")
	key := client.ObjectKey{Namespace: ns, Name: "old-svc"}
	update := func(change func(*unstructured.Unstructured)) error {
		if err := env.Client.Get(ctx(t), key, svc); err != nil {
			t.Fatal(err)
		}
		change(svc)
		return env.Client.Update(ctx(t), svc)
	}
	t.Run("an existing service of an INACTIVE revision scales", func(t *testing.T) {
		if err := update(func(u *unstructured.Unstructured) {
			_ = unstructured.SetNestedField(u.Object, int64(5), "spec", "desiredCount")
		}); err != nil {
			t.Fatalf("refused: %v", err)
		}
	})
	t.Run("a service changed to an INACTIVE revision", func(t *testing.T) {
		if err := update(func(u *unstructured.Unstructured) {
			_ = unstructured.SetNestedField(u.Object, "web:2", "spec", "taskDefinition")
		}); err != nil {
			t.Fatalf("changing to the ACTIVE web:2 refused: %v", err)
		}
		err := update(func(u *unstructured.Unstructured) {
			_ = unstructured.SetNestedField(u.Object, "web:4", "spec", "taskDefinition")
		})
		checkRefused(t, err, "task definition web:4 is DELETE_IN_PROGRESS: a service cannot be created with or changed to a revision that is not ACTIVE")
	})
}

// TestOnlyInactiveRevisionsCanBeDeleted: ECS DeleteTaskDefinitions.
func TestOnlyInactiveRevisionsCanBeDeleted(t *testing.T) {
	ns := newNamespace(t)
	rev, err := create(t, ns, manifest("TaskDefinitionRevision", "web-7", "family: web\nrevision: 7\ntaskDefinition:\n  containerDefinitions:\n  - {name: a, image: x, memory: 8}"))
	if err != nil {
		t.Fatal(err)
	}
	if got, _, _ := unstructured.NestedString(rev.Object, "spec", "state"); got != "ACTIVE" {
		t.Errorf("spec.state defaults to %q, want ACTIVE", got)
	}
	err = env.Client.Delete(ctx(t), rev)
	if err == nil {
		t.Fatal("deleting an ACTIVE revision was accepted")
	}
	const want = "task definition web:7 is ACTIVE: only an INACTIVE revision can be deleted, as ECS DeleteTaskDefinitions; deregister it first: kubectl ecs deregister-task-definition web:7 (or set its spec.state to INACTIVE)"
	if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), want) {
		t.Fatalf("want Forbidden with %q, got: %v", want, err)
	}
	if err := env.Client.Get(ctx(t), client.ObjectKeyFromObject(rev), rev); err != nil {
		t.Fatal(err)
	}
	if err := unstructured.SetNestedField(rev.Object, "INACTIVE", "spec", "state"); err != nil {
		t.Fatal(err)
	}
	if err := env.Client.Update(ctx(t), rev); err != nil {
		t.Fatalf("deregistering: %v", err)
	}
	if err := env.Client.Delete(ctx(t), rev); err != nil {
		t.Fatalf("deleting the INACTIVE revision: %v", err)
	}
}

func dryRun(t *testing.T, ns, y string) (*unstructured.Unstructured, error) {
	t.Helper()
	obj := decodeOne(t, y)
	obj.SetNamespace(ns)
	return obj, env.Client.Create(ctx(t), obj, client.DryRunAll)
}

func checkRefused(t *testing.T, err error, want string) {
	t.Helper()
	if err == nil {
		t.Fatalf("accepted, want %q", want)
	}
	if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), want) {
		t.Fatalf("want Invalid with %q, got: %v", want, err)
	}
}
