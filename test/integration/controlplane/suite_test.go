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
	"fmt"
	"os"
	"testing"
	"time"

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
	var stop func()
	var err error
	env, stop, err = managertest.Setup(managertest.Options{AgentGrace: agentGrace, InstanceLostTimeout: lostTimeout,
		ResolveGrace: 2 * time.Second})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	stop()
	os.Exit(code)
}

func newNamespace(t *testing.T) string { return env.NewNamespace(t, "cp") }

func newCluster(t *testing.T, name string, mutate func(*ecsv1.Cluster)) {
	env.NewCluster(t, name, mutate)
}

func agentFor(t *testing.T, name string, opts simagent.Options) *simagent.Agent {
	return simagent.ForTest(t, env.Client, name, opts)
}

func family(t *testing.T, ns, name string, spec ecsv1.TaskDefinitionSpec) {
	env.NewFamily(t, ns, name, spec)
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
