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

// Package framework starts the real kube-apiserver + etcd (envtest) with the
// Longshore CRDs installed, for the integration test layer.
package framework

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	k8sruntime "k8s.io/apimachinery/pkg/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/longshore-io/longshore/internal/kube"
)

// Env is a running control plane and a client for it.
type Env struct {
	Env    *envtest.Environment
	Client client.Client // strict field validation, like kubectl apply
	Scheme *k8sruntime.Scheme
}

// RepoRoot is the checkout's root directory.
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "..")
}

// ECSCorpusDir is ../shared/ecs-corpus/ beside the checkout, the real ECS
// task definitions the tests read at run time (LONGSHORE_ECS_CORPUS
// overrides it). It fails the test when the directory is not there.
func ECSCorpusDir(t testing.TB) string {
	t.Helper()
	d := os.Getenv("LONGSHORE_ECS_CORPUS")
	if d == "" {
		d = filepath.Join(RepoRoot(), "..", "shared", "ecs-corpus")
	}
	if _, err := os.Stat(d); err != nil {
		t.Fatalf("the ECS corpus is not at %s (set LONGSHORE_ECS_CORPUS): %v", d, err)
	}
	return d
}

// Start starts etcd and kube-apiserver from $KUBEBUILDER_ASSETS and installs
// the CRDs of config/crd/bases. It fails, rather than skips, when the
// binaries are missing: `make test-integration` installs them.
func Start() (*Env, error) {
	assets := os.Getenv("KUBEBUILDER_ASSETS")
	if assets == "" {
		return nil, errors.New("KUBEBUILDER_ASSETS is not set: run `make test-integration`, which builds kube-apiserver and etcd and sets it")
	}
	for _, b := range []string{"kube-apiserver", "etcd"} {
		if _, err := os.Stat(filepath.Join(assets, b)); err != nil {
			return nil, fmt.Errorf("KUBEBUILDER_ASSETS=%s has no %s: run `make tools`", assets, b)
		}
	}
	scheme := kube.Scheme()
	env := &envtest.Environment{
		CRDDirectoryPaths:     []string{filepath.Join(RepoRoot(), "config", "crd", "bases")},
		ErrorIfCRDPathMissing: true,
		Scheme:                scheme,
	}
	cfg, err := env.Start()
	if err != nil {
		// envtest leaves etcd and kube-apiserver running when, say, a CRD
		// is refused: stop them.
		_ = env.Stop()
		return nil, fmt.Errorf("starting envtest: %w", err)
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		_ = env.Stop()
		return nil, err
	}
	if err := InstallPolicies(context.Background(), c); err != nil {
		_ = env.Stop()
		return nil, err
	}
	return &Env{Env: env, Client: client.WithFieldValidation(c, metav1.FieldValidationStrict), Scheme: scheme}, nil
}

// InstallPolicies creates the ValidatingAdmissionPolicies of config/policy
// and waits until the apiserver enforces them (policies load asynchronously).
func InstallPolicies(ctx context.Context, c client.Client) error {
	files, err := filepath.Glob(filepath.Join(RepoRoot(), "config", "policy", "*.yaml"))
	if err != nil {
		return err
	}
	for _, f := range files {
		if filepath.Base(f) == "kustomization.yaml" {
			continue
		}
		data, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		objs, err := DecodeYAML(data)
		if err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
		for _, o := range objs {
			if err := c.Create(ctx, o); err != nil {
				return fmt.Errorf("installing %s %s: %w", o.GetKind(), o.GetName(), err)
			}
		}
	}
	// A dependency cycle is refused once the policy is live.
	probe, err := DecodeYAML([]byte(`apiVersion: ecs.longshore.io/v1alpha1
kind: TaskDefinition
metadata: {name: policy-probe, namespace: default}
spec:
  containerDefinitions:
  - {name: a, image: x, memory: 8, dependsOn: [{containerName: b, condition: START}]}
  - {name: b, image: x, memory: 8, dependsOn: [{containerName: a, condition: START}]}
`))
	if err != nil {
		return err
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		err := c.Create(ctx, probe[0].DeepCopy(), client.DryRunAll)
		if err != nil && strings.Contains(err.Error(), "dependsOn must not form a cycle") {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("admission policies of config/policy not enforced after 60s (last answer: %v)", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// Stop stops the control plane.
func (e *Env) Stop() error { return e.Env.Stop() }

// DecodeYAML splits a multi-document YAML stream into objects.
func DecodeYAML(data []byte) ([]*unstructured.Unstructured, error) {
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	var out []*unstructured.Unstructured
	for {
		obj := &unstructured.Unstructured{}
		if err := dec.Decode(&obj.Object); err != nil {
			if errors.Is(err, io.EOF) {
				return out, nil
			}
			return nil, err
		}
		if len(obj.Object) == 0 {
			continue
		}
		out = append(out, obj)
	}
}
