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

// Package controlplane tests the manager's controllers together against a
// real kube-apiserver, with simulated agents.
package controlplane

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ecsv1 "github.com/longshore-io/longshore/api/v1alpha1"
	"github.com/longshore-io/longshore/test/integration/framework"
	"github.com/longshore-io/longshore/test/integration/managertest"
	"github.com/longshore-io/longshore/test/integration/simagent"
)

var env *framework.Env

const (
	agentGrace  = 2 * time.Second
	lostTimeout = 3 * time.Second
)

func TestMain(m *testing.M) {
	var err error
	env, err = framework.Start()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := startManager(ctx); err != nil {
		fmt.Fprintln(os.Stderr, err)
		_ = env.Stop()
		os.Exit(1)
	}
	code := m.Run()
	cancel()
	_ = env.Stop()
	os.Exit(code)
}

func startManager(ctx context.Context) error {
	return managertest.Start(ctx, env, managertest.Options{AgentGrace: agentGrace, InstanceLostTimeout: lostTimeout,
		ResolveGrace: 2 * time.Second})
}

func newNamespace(t *testing.T) string {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "cp-"}}
	if err := env.Client.Create(t.Context(), ns); err != nil {
		t.Fatal(err)
	}
	return ns.Name
}

// cluster creates a Cluster for one test.
func newCluster(t *testing.T, name string, mutate func(*ecsv1.Cluster)) {
	t.Helper()
	cl := &ecsv1.Cluster{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if mutate != nil {
		mutate(cl)
	}
	if err := env.Client.Create(t.Context(), cl); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Client.Delete(context.Background(), cl) })
}

func agentFor(t *testing.T, name string, opts simagent.Options) *simagent.Agent {
	t.Helper()
	a, err := simagent.Start(t.Context(), env.Client, name, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Stop)
	return a
}

// family creates a TaskDefinition and waits for its first revision.
func family(t *testing.T, ns, name string, spec ecsv1.TaskDefinitionSpec) {
	t.Helper()
	td := &ecsv1.TaskDefinition{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Spec: spec}
	if err := env.Client.Create(t.Context(), td); err != nil {
		t.Fatal(err)
	}
	framework.Eventually(t, 20*time.Second, "revision 1 of "+name, func() error {
		rev := &ecsv1.TaskDefinitionRevision{}
		if err := env.Client.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: name + "-1"}, rev); err != nil {
			return err
		}
		if rev.Status.Status != ecsv1.RevisionActive {
			return fmt.Errorf("status %q", rev.Status.Status)
		}
		return nil
	})
}

func newTask(t *testing.T, ns, name string, spec ecsv1.TaskSpec) *ecsv1.Task {
	t.Helper()
	task := &ecsv1.Task{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Spec: spec}
	if err := env.Client.Create(t.Context(), task); err != nil {
		t.Fatal(err)
	}
	return task
}

func waitTask(t *testing.T, task *ecsv1.Task, timeout time.Duration, what string, cond func(*ecsv1.Task) error) *ecsv1.Task {
	t.Helper()
	got := &ecsv1.Task{}
	framework.Eventually(t, timeout, task.Name+": "+what, func() error {
		if err := env.Client.Get(t.Context(), client.ObjectKeyFromObject(task), got); err != nil {
			return err
		}
		return cond(got)
	})
	return got
}

func running(t *ecsv1.Task) error {
	if t.Status.LastStatus != ecsv1.TaskRunning {
		return fmt.Errorf("lastStatus %q instance %q conditions %+v", t.Status.LastStatus, t.Spec.ContainerInstance, t.Status.Conditions)
	}
	return nil
}
