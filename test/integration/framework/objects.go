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

package framework

import (
	"context"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ecsv1 "github.com/longshore-io/longshore/api/v1alpha1"
)

// Objects the integration suites create for one test.

// NewNamespace creates a namespace named prefix-<random> for one test.
func (e *Env) NewNamespace(t *testing.T, prefix string) string {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: prefix + "-"}}
	if err := e.Client.Create(t.Context(), ns); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Client.Delete(context.Background(), ns) })
	return ns.Name
}

// NewCluster creates a Cluster for one test; mutate, when set, edits it
// first.
func (e *Env) NewCluster(t *testing.T, name string, mutate func(*ecsv1.Cluster)) {
	t.Helper()
	cl := &ecsv1.Cluster{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if mutate != nil {
		mutate(cl)
	}
	if err := e.Client.Create(t.Context(), cl); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Client.Delete(context.Background(), cl) })
}

// NewFamily creates a TaskDefinition and waits for its first revision,
// minted by the manager.
func (e *Env) NewFamily(t *testing.T, ns, name string, spec ecsv1.TaskDefinitionSpec) {
	t.Helper()
	td := &ecsv1.TaskDefinition{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Spec: spec}
	if err := e.Client.Create(t.Context(), td); err != nil {
		t.Fatal(err)
	}
	e.WaitRevision(t, ns, name, 1)
}

// WaitRevision waits until revision n of a family is ACTIVE.
func (e *Env) WaitRevision(t *testing.T, ns, family string, n int32) {
	t.Helper()
	Eventually(t, 20*time.Second, fmt.Sprintf("revision %d of %s", n, family), func() error {
		rev := &ecsv1.TaskDefinitionRevision{}
		if err := e.Client.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: ecsv1.RevisionName(family, n)}, rev); err != nil {
			return err
		}
		if rev.Status.Status != ecsv1.RevisionActive {
			return fmt.Errorf("status %q", rev.Status.Status)
		}
		return nil
	})
}
