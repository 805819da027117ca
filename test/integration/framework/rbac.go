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
	"os"
	"path/filepath"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// InstallRBAC creates, as `kubectl apply -k config/default` and make dev
// do, the roles, ServiceAccounts and bindings of config/rbac (the files its
// kustomization lists, read at run time) and make dev's bindings of the
// certificate users (hack/dev/rbac-bindings.yaml): Namespaces first, and
// longshore-system, which config/manager makes.
func InstallRBAC(ctx context.Context, c client.Client) error {
	dir := filepath.Join(RepoRoot(), "config", "rbac")
	data, err := os.ReadFile(filepath.Join(dir, "kustomization.yaml"))
	if err != nil {
		return err
	}
	k, err := DecodeYAML(data)
	if err != nil || len(k) != 1 {
		return fmt.Errorf("%s/kustomization.yaml: %v", dir, err)
	}
	resources, _, _ := unstructured.NestedStringSlice(k[0].Object, "resources")
	files := make([]string, 0, len(resources)+1)
	for _, r := range resources {
		files = append(files, filepath.Join(dir, r))
	}
	files = append(files, filepath.Join(RepoRoot(), "hack", "dev", "rbac-bindings.yaml"))
	var objs []*unstructured.Unstructured
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		o, err := DecodeYAML(data)
		if err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
		objs = append(objs, o...)
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "longshore-system"}}
	if err := c.Create(ctx, ns); err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}
	for _, pass := range []bool{true, false} {
		for _, o := range objs {
			if (o.GetKind() == "Namespace") != pass {
				continue
			}
			err := c.Create(ctx, o)
			if apierrors.IsAlreadyExists(err) {
				switch o.GetKind() {
				case "Namespace":
					err = nil
				case "ClusterRoleBinding", "RoleBinding":
					err = mergeSubjects(ctx, c, o)
				}
			}
			if err != nil {
				return fmt.Errorf("installing %s %s/%s: %w", o.GetKind(), o.GetNamespace(), o.GetName(), err)
			}
		}
	}
	return nil
}

// mergeSubjects adds the subjects of binding o to the binding of that name
// already installed (config/default's and make dev's bindings of the
// manager share a name: one binds its ServiceAccount, the other its
// certificate user; this control plane has both).
func mergeSubjects(ctx context.Context, c client.Client, o *unstructured.Unstructured) error {
	have := &unstructured.Unstructured{}
	have.SetGroupVersionKind(o.GroupVersionKind())
	if err := c.Get(ctx, client.ObjectKeyFromObject(o), have); err != nil {
		return err
	}
	if !equality.Semantic.DeepEqual(have.Object["roleRef"], o.Object["roleRef"]) {
		return fmt.Errorf("already installed with another roleRef")
	}
	subjects, _, _ := unstructured.NestedSlice(have.Object, "subjects")
	more, _, _ := unstructured.NestedSlice(o.Object, "subjects")
	if err := unstructured.SetNestedSlice(have.Object, append(subjects, more...), "subjects"); err != nil {
		return err
	}
	return c.Update(ctx, have)
}

// UserConfig is the configuration of a user with a real client certificate
// (CN name, O groups) that the API server authenticates: a component's own
// identity, as make dev issues them.
func (e *Env) UserConfig(name string, groups ...string) (*rest.Config, error) {
	u, err := e.Env.AddUser(envtest.User{Name: name, Groups: groups}, nil)
	if err != nil {
		return nil, err
	}
	return u.Config(), nil
}
