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
	"slices"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	kstatus "sigs.k8s.io/cli-utils/pkg/kstatus/status"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ecsv1 "github.com/longshore-io/longshore/api/v1alpha1"
	"github.com/longshore-io/longshore/internal/argocdhealth"
)

// SampleObjects reads config/samples/*.yaml, in file order (the order of
// `kubectl apply -f config/samples/`).
func SampleObjects() ([]*unstructured.Unstructured, error) {
	files, err := filepath.Glob(filepath.Join(RepoRoot(), "config", "samples", "*.yaml"))
	if err != nil {
		return nil, err
	}
	slices.Sort(files)
	var out []*unstructured.Unstructured
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		objs, err := DecodeYAML(data)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		out = append(out, objs...)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no object in %s", filepath.Join(RepoRoot(), "config", "samples"))
	}
	return out, nil
}

// Health is what GitOps tools say of an object: kstatus (what Flux and
// kpt report) and, for the kinds of ecs.longshore.io, the Argo CD health
// check of config/argocd.
type Health struct {
	Kstatus kstatus.Status
	Message string // kstatus's
	// ArgoCD is empty for kinds Longshore ships no health check for.
	ArgoCD argocdhealth.Status
}

func (h Health) String() string {
	if h.ArgoCD.Status == "" {
		return fmt.Sprintf("kstatus %s (%s)", h.Kstatus, h.Message)
	}
	return fmt.Sprintf("kstatus %s (%s), Argo CD %s (%s)", h.Kstatus, h.Message, h.ArgoCD.Status, h.ArgoCD.Message)
}

// HealthOf computes both verdicts on u, and fails when the Argo CD check
// and kstatus disagree.
func HealthOf(u *unstructured.Unstructured) (Health, error) {
	res, err := kstatus.Compute(u)
	if err != nil {
		return Health{}, fmt.Errorf("kstatus on %s %s: %w", u.GetKind(), u.GetName(), err)
	}
	h := Health{Kstatus: res.Status, Message: res.Message}
	if u.GroupVersionKind().Group != ecsv1.GroupVersion.Group {
		return h, nil
	}
	h.ArgoCD, err = argocdhealth.Evaluate(filepath.Join(RepoRoot(), "config", "argocd", "resource_customizations"), u)
	if err != nil {
		return h, err
	}
	want, err := argocdhealth.FromKstatus(res.Status)
	if err != nil {
		return h, err
	}
	if h.ArgoCD.Status != want {
		return h, &DisagreementError{Object: u.GetKind() + " " + u.GetNamespace() + "/" + u.GetName(), Health: h}
	}
	return h, nil
}

// DisagreementError: the Argo CD health check's verdict is not the one
// kstatus's maps to (argocdhealth.FromKstatus).
type DisagreementError struct {
	Object string
	Health Health
}

func (e *DisagreementError) Error() string {
	return e.Object + ": the Argo CD health check and kstatus disagree: " + e.Health.String()
}

// LiveHealth reads the object ref names (kind, namespace, name) from the
// API server and computes its Health.
func LiveHealth(ctx context.Context, c client.Reader, ref *unstructured.Unstructured) (*unstructured.Unstructured, Health, error) {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(ref.GroupVersionKind())
	if err := c.Get(ctx, client.ObjectKeyFromObject(ref), u); err != nil {
		return nil, Health{}, err
	}
	h, err := HealthOf(u)
	return u, h, err
}
