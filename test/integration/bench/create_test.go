//go:build integration && bench

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

package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	ecsv1 "github.com/longshore-io/longshore/api/v1alpha1"
	"github.com/longshore-io/longshore/test/integration/framework"
)

// TestBenchCreatePath times n creates through one client, one after the
// other unless said otherwise, to find where a Task create's time goes:
// the client's strict field validation, the admission policies, the CRD's
// CEL rules, the object's size against a ConfigMap, and concurrency. It
// prints its figures (LONGSHORE_BENCH_CREATES, default 1000).
func TestBenchCreatePath(t *testing.T) {
	n := 1000
	if v := os.Getenv("LONGSHORE_BENCH_CREATES"); v != "" {
		_, _ = fmt.Sscan(v, &n)
	}
	env, err := framework.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Stop() })
	if err := apiextensionsv1.AddToScheme(env.Scheme); err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	plain, err := client.New(env.Env.Config, client.Options{Scheme: env.Scheme})
	if err != nil {
		t.Fatal(err)
	}
	// Copies of the Task CRD in other groups, with and without its CEL
	// rules: no admission policy matches them.
	for _, c := range []struct {
		group string
		cel   bool
	}{{"cel.bench.longshore.io", true}, {"nocel.bench.longshore.io", false}} {
		installTaskCopy(t, env.Client, c.group, c.cel)
	}
	spec := map[string]any{"cluster": "bench", "taskDefinition": "web"}
	task := func(ns string, i int) client.Object {
		return &ecsv1.Task{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("t%05d", i)},
			Spec: ecsv1.TaskSpec{Cluster: "bench", TaskDefinition: "web"}}
	}
	copyOf := func(group string) func(string, int) client.Object {
		return func(ns string, i int) client.Object {
			u := &unstructured.Unstructured{Object: map[string]any{"spec": spec}}
			u.SetGroupVersionKind(schema.GroupVersionKind{Group: group, Version: "v1alpha1", Kind: "Task"})
			u.SetNamespace(ns)
			u.SetName(fmt.Sprintf("t%05d", i))
			return u
		}
	}
	configMap := func(ns string, i int) client.Object {
		return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("t%05d", i)},
			Data: map[string]string{"cluster": "bench", "taskDefinition": "web"}}
	}
	type run struct {
		what    string
		c       client.Client
		obj     func(string, int) client.Object
		workers int
		before  func()
	}
	runs := []run{
		{what: "ConfigMap, strict field validation", c: env.Client, obj: configMap, workers: 1},
		{what: "Task, strict field validation (the test client, kubectl's default)", c: env.Client, obj: task, workers: 1},
		{what: "Task, no field validation parameter", c: plain, obj: task, workers: 1},
		{what: "Task copy (no admission policy matches), CEL rules kept", c: env.Client, obj: copyOf("cel.bench.longshore.io"), workers: 1},
		{what: "Task copy, CEL rules removed", c: env.Client, obj: copyOf("nocel.bench.longshore.io"), workers: 1},
		{what: "Task, strict, 16 clients' worth of concurrency", c: env.Client, obj: task, workers: 16},
		{what: "Task, strict, config/policy admission policies deleted", c: env.Client, obj: task, workers: 1, before: func() {
			deletePolicies(t, env.Client)
		}},
	}
	var lines []string
	for _, r := range runs {
		if r.before != nil {
			r.before()
		}
		ns := env.NewNamespace(t, "create")
		took := creates(ctx, t, r.c, ns, n, r.workers, r.obj)
		lines = append(lines, fmt.Sprintf("%-75s %6.2f s  %5.2f ms/create  %5.0f creates/s", r.what, took.Seconds(),
			took.Seconds()*1000/float64(n), float64(n)/took.Seconds()))
	}
	fmt.Printf("\ncreate path, %d creates each:\n  %s\n\n", n, strings.Join(lines, "\n  "))
}

func creates(ctx context.Context, t *testing.T, c client.Client, ns string, n, workers int, obj func(string, int) client.Object) time.Duration {
	next := make(chan int)
	var wg sync.WaitGroup
	var once sync.Once
	var failure error
	start := time.Now()
	for range workers {
		wg.Go(func() {
			for i := range next {
				if err := c.Create(ctx, obj(ns, i)); err != nil {
					once.Do(func() { failure = err })
				}
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	took := time.Since(start)
	if failure != nil {
		t.Fatal(failure)
	}
	return took
}

// installTaskCopy installs config/crd's Task CRD under group, without its
// x-kubernetes-validations unless cel, and waits until it is served.
func installTaskCopy(t *testing.T, c client.Client, group string, cel bool) {
	b, err := os.ReadFile(filepath.Join(framework.RepoRoot(), "config", "crd", "bases", "ecs.longshore.io_tasks.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	crd := &apiextensionsv1.CustomResourceDefinition{}
	if err := yaml.Unmarshal(b, crd); err != nil {
		t.Fatal(err)
	}
	crd.ResourceVersion = ""
	crd.Name = crd.Spec.Names.Plural + "." + group
	crd.Spec.Group = group
	crd.Spec.Names.Categories = nil
	crd.Spec.Names.ShortNames = nil
	if !cel {
		for i := range crd.Spec.Versions {
			if s := crd.Spec.Versions[i].Schema; s != nil && s.OpenAPIV3Schema != nil {
				stripCEL(s.OpenAPIV3Schema)
			}
		}
	}
	if err := c.Create(t.Context(), crd); err != nil {
		t.Fatal(err)
	}
	framework.Eventually(t, 30*time.Second, "CRD "+crd.Name+" established", func() error {
		got := &apiextensionsv1.CustomResourceDefinition{}
		if err := c.Get(t.Context(), client.ObjectKey{Name: crd.Name}, got); err != nil {
			return err
		}
		for _, cond := range got.Status.Conditions {
			if cond.Type == apiextensionsv1.Established && cond.Status == apiextensionsv1.ConditionTrue {
				u := &unstructured.UnstructuredList{}
				u.SetGroupVersionKind(schema.GroupVersionKind{Group: group, Version: "v1alpha1", Kind: "TaskList"})
				return c.List(t.Context(), u)
			}
		}
		return fmt.Errorf("not established")
	})
}

func stripCEL(s *apiextensionsv1.JSONSchemaProps) {
	s.XValidations = nil
	for k, p := range s.Properties {
		stripCEL(&p)
		s.Properties[k] = p
	}
	if s.Items != nil && s.Items.Schema != nil {
		stripCEL(s.Items.Schema)
	}
	if s.AdditionalProperties != nil && s.AdditionalProperties.Schema != nil {
		stripCEL(s.AdditionalProperties.Schema)
	}
}

func deletePolicies(t *testing.T, c client.Client) {
	if err := c.DeleteAllOf(t.Context(), &admissionregistrationv1.ValidatingAdmissionPolicyBinding{}); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteAllOf(t.Context(), &admissionregistrationv1.ValidatingAdmissionPolicy{}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second) // the apiserver's policy informer
}
