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

package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	ecsv1 "github.com/longshore-io/longshore/api/v1alpha1"
)

func TestParseRevisionRef(t *testing.T) {
	for in, want := range map[string]string{
		"web:3": "web:3",
		"arn:aws:ecs:eu-west-1:123456789012:task-definition/web:12": "web:12",
		"web":               `"web" names no revision: give FAMILY:REVISION, as ECS requires`,
		"web:0":             "revision must be a number of 1 or more",
		"arn:aws:ecs:r:1:x": "is not a task definition ARN",
		"arn:aws:ecs:eu-west-1:123456789012:task-definition/web": `names no revision`,
	} {
		got, err := parseRevisionRef(in)
		switch {
		case err != nil && !strings.Contains(err.Error(), want):
			t.Errorf("%q: error %q, want one containing %q", in, err, want)
		case err == nil && got.String() != want:
			t.Errorf("%q: %s, want %s", in, got, want)
		}
	}
}

func revision(family string, n int32, state ecsv1.RevisionState, finalizers ...string) *ecsv1.TaskDefinitionRevision {
	return &ecsv1.TaskDefinitionRevision{
		ObjectMeta: metav1.ObjectMeta{Namespace: "apps", Name: ecsv1.RevisionName(family, n), Finalizers: finalizers},
		Spec: ecsv1.TaskDefinitionRevisionSpec{Family: family, Revision: n, State: state,
			TaskDefinition: ecsv1.TaskDefinitionSpec{ContainerDefinitions: []ecsv1.ContainerDefinition{{Name: "app", Image: "app:1"}}}},
	}
}

// runVerb runs a verb against a fake API holding objs, in namespace apps
// (the kubeconfig's), and returns the exit code, stdout, stderr and the
// client to look at the result.
func runVerb(t *testing.T, args []string, objs ...client.Object) (int, string, string, client.Client) {
	t.Helper()
	scheme := runtime.NewScheme()
	if err := ecsv1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	c := fake.NewClientBuilder().WithScheme(scheme).WithObjects(objs...).Build()
	var stdout, stderr bytes.Buffer
	code := runRevisionVerb(args[0], args[1:], &stdout, &stderr, func(string, string) (client.Client, string, error) { return c, "apps", nil })
	return code, stdout.String(), stderr.String(), c
}

func getRev(t *testing.T, c client.Client, name string) (*ecsv1.TaskDefinitionRevision, error) {
	t.Helper()
	rev := &ecsv1.TaskDefinitionRevision{}
	err := c.Get(context.Background(), client.ObjectKey{Namespace: "apps", Name: name}, rev)
	return rev, err
}

func TestRevisionVerbUsage(t *testing.T) {
	for name, tc := range map[string]struct {
		args   []string
		code   int
		stderr string
	}{
		"no reference":         {[]string{"deregister-task-definition"}, 2, "give the task definition as FAMILY:REVISION"},
		"two to deregister":    {[]string{"deregister-task-definition", "web:1", "web:2"}, 2, "one task definition at a time"},
		"a family alone":       {[]string{"delete-task-definitions", "web:1", "web"}, 2, `"web" names no revision`},
		"an unknown flag":      {[]string{"delete-task-definitions", "--force", "web:1"}, 2, "flag provided but not defined: -force"},
		"a missing revision":   {[]string{"deregister-task-definition", "web:9"}, 1, "task definition web:9 does not exist in namespace apps"},
		"namespace after refs": {[]string{"deregister-task-definition", "web:1", "-n", "other"}, 1, "task definition web:1 does not exist in namespace other"},
	} {
		t.Run(name, func(t *testing.T) {
			code, _, stderr, _ := runVerb(t, tc.args, revision("web", 1, ecsv1.RevisionStateActive))
			if code != tc.code || !strings.Contains(stderr, tc.stderr) {
				t.Errorf("exit %d, stderr %q; want exit %d and %q", code, stderr, tc.code, tc.stderr)
			}
		})
	}
}

func TestDeregisterTaskDefinition(t *testing.T) {
	code, stdout, stderr, c := runVerb(t, []string{"deregister-task-definition", "--task-definition", "web:1"},
		revision("web", 1, ecsv1.RevisionStateActive), revision("web", 2, ecsv1.RevisionStateActive))
	if code != 0 || !strings.Contains(stdout, "Deregistered task definition web:1 in namespace apps: INACTIVE") {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	for name, want := range map[string]ecsv1.RevisionState{"web-1": ecsv1.RevisionStateInactive, "web-2": ecsv1.RevisionStateActive} {
		rev, err := getRev(t, c, name)
		if err != nil || rev.Spec.State != want {
			t.Errorf("%s: state %q (err %v), want %q", name, rev.Spec.State, err, want)
		}
	}

	// Again: nothing to do, and said so.
	code, stdout, _, _ = runVerb(t, []string{"deregister-task-definition", "arn:aws:ecs:eu-west-1:1:task-definition/web:1"},
		revision("web", 1, ecsv1.RevisionStateInactive))
	if code != 0 || !strings.Contains(stdout, "web:1 in namespace apps is already INACTIVE") {
		t.Errorf("deregistering an INACTIVE revision: exit %d, stdout %q", code, stdout)
	}

	// A deleted one cannot be deregistered.
	deleting := revision("web", 1, ecsv1.RevisionStateInactive, ecsv1.FinalizerRevisionInUse)
	now := metav1.Now()
	deleting.DeletionTimestamp = &now
	code, _, stderr, _ = runVerb(t, []string{"deregister-task-definition", "web:1"}, deleting)
	if code != 1 || !strings.Contains(stderr, "task definition web:1 is DELETE_IN_PROGRESS") {
		t.Errorf("deregistering a deleted revision: exit %d, stderr %q", code, stderr)
	}
}

func TestDeleteTaskDefinitions(t *testing.T) {
	// web:1 INACTIVE and unused (no finalizer): deleted. web:2 INACTIVE
	// and held by its finalizer: DELETE_IN_PROGRESS. web:3 ACTIVE:
	// refused, the others done anyway. web:4 does not exist.
	code, stdout, stderr, c := runVerb(t, []string{"delete-task-definitions", "--task-definitions", "web:1", "web:2", "web:3", "web:4"},
		revision("web", 1, ecsv1.RevisionStateInactive),
		revision("web", 2, ecsv1.RevisionStateInactive, ecsv1.FinalizerRevisionInUse),
		revision("web", 3, ecsv1.RevisionStateActive))
	if code != 1 {
		t.Errorf("exit %d, want 1 (web:3 and web:4 failed)", code)
	}
	for _, want := range []string{
		"Deleted task definition web:1 in namespace apps",
		"Task definition web:2 in namespace apps is DELETE_IN_PROGRESS: it goes when no task or service uses it (kubectl describe tdrev web-2)",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout %q lacks %q", stdout, want)
		}
	}
	for _, want := range []string{
		"task definition web:3 is ACTIVE: only an INACTIVE revision can be deleted; deregister it first (kubectl ecs deregister-task-definition web:3)",
		"task definition web:4 does not exist in namespace apps",
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr %q lacks %q", stderr, want)
		}
	}
	if _, err := getRev(t, c, "web-1"); !apierrors.IsNotFound(err) {
		t.Errorf("web-1: %v, want it gone", err)
	}
	if rev, err := getRev(t, c, "web-2"); err != nil || rev.DeletionTimestamp == nil {
		t.Errorf("web-2: %v, deletionTimestamp %v; want it held", err, rev.DeletionTimestamp)
	}
	if rev, err := getRev(t, c, "web-3"); err != nil || rev.DeletionTimestamp != nil {
		t.Errorf("web-3 (ACTIVE): %v, deletionTimestamp %v; want it untouched", err, rev.DeletionTimestamp)
	}

	// Deleting a DELETE_IN_PROGRESS revision again says so and succeeds.
	deleting := revision("web", 2, ecsv1.RevisionStateInactive, ecsv1.FinalizerRevisionInUse)
	now := metav1.Now()
	deleting.DeletionTimestamp = &now
	code, stdout, _, _ = runVerb(t, []string{"delete-task-definitions", "web:2"}, deleting)
	if code != 0 || !strings.Contains(stdout, "web:2 in namespace apps is already DELETE_IN_PROGRESS") {
		t.Errorf("deleting again: exit %d, stdout %q", code, stdout)
	}
}

// The plugin's dispatch reaches the verbs (a usage error comes before any
// connection) and its help lists them.
func TestRevisionVerbsDispatch(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run([]string{"delete-task-definitions"}, strings.NewReader(""), &stdout, &stderr); code != 2 ||
		!strings.Contains(stderr.String(), "kubectl ecs delete-task-definitions: give the task definition as FAMILY:REVISION") {
		t.Errorf("exit %d, stderr %q", code, stderr.String())
	}
	stderr.Reset()
	if code := run([]string{"help"}, strings.NewReader(""), &stdout, &stderr); code != 0 ||
		!strings.Contains(stderr.String(), "kubectl ecs deregister-task-definition [--task-definition] FAMILY:REVISION") {
		t.Errorf("help: exit %d, %q", code, stderr.String())
	}
}
