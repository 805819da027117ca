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
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/longshore-io/longshore/test/integration/framework"
)

// TestDeploymentManifestsAreValid renders config/default with kustomize (as
// `kubectl apply -k config/default` does) and has the apiserver validate
// every object with a server-side dry run.
func TestDeploymentManifestsAreValid(t *testing.T) {
	kubectl := filepath.Join(os.Getenv("KUBEBUILDER_ASSETS"), "kubectl")
	out, err := exec.Command(kubectl, "kustomize", filepath.Join(framework.RepoRoot(), "config", "default")).Output()
	if err != nil {
		t.Fatalf("kubectl kustomize config/default: %v", err)
	}
	objs, err := framework.DecodeYAML(out)
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]int{}
	for _, o := range objs {
		kinds[o.GetKind()]++
		opts := []client.CreateOption{client.DryRunAll}
		if o.GetKind() == "Namespace" {
			opts = nil // really create it: a dry run would not hold the namespaced objects
		}
		err := env.Client.Create(ctx(t), o, opts...)
		if apierrors.IsAlreadyExists(err) && (o.GetKind() == "CustomResourceDefinition" || o.GetKind() == "ValidatingAdmissionPolicy" || o.GetKind() == "ValidatingAdmissionPolicyBinding") {
			continue // installed by the test framework from the same files
		}
		if err != nil {
			t.Errorf("%s %s: %v", o.GetKind(), o.GetName(), err)
		}
	}
	for kind, n := range map[string]int{"CustomResourceDefinition": 6, "Deployment": 1, "DaemonSet": 1, "ClusterRole": 4, "Role": 2, "RoleBinding": 3, "Namespace": 2, "ValidatingAdmissionPolicy": 9} {
		if kinds[kind] != n {
			t.Errorf("config/default has %d %s, want %d", kinds[kind], kind, n)
		}
	}
}
