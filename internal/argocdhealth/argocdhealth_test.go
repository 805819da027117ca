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

package argocdhealth

import (
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	kstatus "sigs.k8s.io/cli-utils/pkg/kstatus/status"
	"sigs.k8s.io/yaml"

	ecsv1 "github.com/longshore-io/longshore/api/v1alpha1"
	"github.com/longshore-io/longshore/internal/kube"
)

// dir holds the health checks, in Argo CD's resource_customizations layout.
var dir = filepath.Join("..", "..", "config", "argocd", "resource_customizations")

// healthTests is a health_test.yaml, as Argo CD's repository writes them.
type healthTests struct {
	Tests []struct {
		HealthStatus Status `json:"healthStatus"`
		InputPath    string `json:"inputPath"`
	} `json:"tests"`
}

type healthCase struct {
	name   string // <group>/<Kind>/<inputPath>
	script string // path of the health.lua
	input  string // path of the testdata object
	want   Status
}

// cases reads every health_test.yaml under dir, checking the layout on the
// way: a health_test.yaml beside each health.lua, cases that name files of
// the check's testdata/, and no testdata file that no case uses.
func cases(t *testing.T) []healthCase {
	t.Helper()
	var out []healthCase
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || d.Name() != "health.lua" {
			return err
		}
		checkDir := filepath.Dir(path)
		rel, err := filepath.Rel(dir, checkDir)
		if err != nil {
			return err
		}
		data, err := os.ReadFile(filepath.Join(checkDir, "health_test.yaml"))
		if err != nil {
			t.Errorf("%s has no health_test.yaml: %v", rel, err)
			return nil
		}
		var ht healthTests
		if err := yaml.UnmarshalStrict(data, &ht); err != nil {
			t.Errorf("%s/health_test.yaml: %v", rel, err)
			return nil
		}
		if len(ht.Tests) == 0 {
			t.Errorf("%s/health_test.yaml has no tests", rel)
		}
		used := map[string]bool{}
		for _, tc := range ht.Tests {
			if !strings.HasPrefix(tc.InputPath, "testdata/") {
				t.Errorf("%s/health_test.yaml: inputPath %q is not under testdata/", rel, tc.InputPath)
			}
			used[filepath.Clean(tc.InputPath)] = true
			out = append(out, healthCase{name: filepath.ToSlash(filepath.Join(rel, tc.InputPath)), script: path,
				input: filepath.Join(checkDir, tc.InputPath), want: tc.HealthStatus})
		}
		files, err := filepath.Glob(filepath.Join(checkDir, "testdata", "*.yaml"))
		if err != nil {
			return err
		}
		for _, f := range files {
			if r, _ := filepath.Rel(checkDir, f); !used[r] {
				t.Errorf("%s: no case of health_test.yaml uses %s", rel, r)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out) == 0 {
		t.Fatalf("no health check under %s", dir)
	}
	return out
}

// readObject reads a testdata object and checks that it is one the API
// could serve: a known Longshore kind whose fields all exist.
func readObject(t *testing.T, path string) *unstructured.Unstructured {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// As the API server's JSON reads (integers stay integers).
	js, err := yaml.YAMLToJSON(data)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	decoded, err := runtime.Decode(unstructured.UnstructuredJSONScheme, js)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	u := decoded.(*unstructured.Unstructured)
	typed, err := kube.Scheme().New(u.GroupVersionKind())
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if err := yaml.UnmarshalStrict(data, typed); err != nil {
		t.Fatalf("%s is not a valid %s: %v", path, u.GetKind(), err)
	}
	return u
}

// TestHealthChecks runs every case of every health_test.yaml, as Argo CD's
// own test of its resource_customizations does, and compares the status
// and the message.
func TestHealthChecks(t *testing.T) {
	for _, tc := range cases(t) {
		t.Run(tc.name, func(t *testing.T) {
			obj := readObject(t, tc.input)
			if got := ScriptPath(dir, obj); got != tc.script {
				t.Fatalf("Argo CD picks %s for this %s, not the %s of its health_test.yaml", got, obj.GetKind(), tc.script)
			}
			got, err := Evaluate(dir, obj)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("health (-want +got):\n%s", diff)
			}
		})
	}
}

// TestHealthChecksAgreeWithKstatus: on every testdata object, the script's
// status is the one kstatus's verdict maps to (FromKstatus), so that Argo
// CD and Flux tell the same story. One difference is by design and
// asserted: an object without a status, or without a Ready condition, is
// Current to kstatus and Progressing to the scripts. The API server never
// serves such an object (status.observedGeneration defaults to 0 and every
// controller writes Ready with its first status).
func TestHealthChecksAgreeWithKstatus(t *testing.T) {
	for _, tc := range cases(t) {
		t.Run(tc.name, func(t *testing.T) {
			obj := readObject(t, tc.input)
			res, err := kstatus.Compute(obj)
			if err != nil {
				t.Fatal(err)
			}
			want, err := FromKstatus(res.Status)
			if err != nil {
				t.Fatal(err)
			}
			if noReady(obj) && obj.GetDeletionTimestamp() == nil {
				if res.Status != kstatus.CurrentStatus || tc.want.Status != Progressing {
					t.Errorf("without status or Ready condition: kstatus %s, script %s; want Current and Progressing", res.Status, tc.want.Status)
				}
				return
			}
			if tc.want.Status != want {
				t.Errorf("kstatus says %s (%s), which is %s to Argo CD; health_test.yaml wants %s", res.Status, res.Message, want, tc.want.Status)
			}
		})
	}
}

// noReady: no status, or a status observed at the object's generation
// without Ready, Reconciling or Stalled.
func noReady(obj *unstructured.Unstructured) bool {
	st, ok := obj.Object["status"].(map[string]any)
	if !ok {
		return true
	}
	if gen, _ := st["observedGeneration"].(int64); gen != obj.GetGeneration() {
		return false
	}
	raw, _ := st["conditions"].([]any)
	for _, c := range raw {
		typ, _ := c.(map[string]any)["type"].(string)
		if slices.Contains([]string{ecsv1.ConditionReady, ecsv1.ConditionReconciling, ecsv1.ConditionStalled}, typ) {
			return false
		}
	}
	return true
}

// TestEveryKindHasAHealthCheck: each kind of ecs.longshore.io has its
// health.lua, and each health.lua is of a kind that exists.
func TestEveryKindHasAHealthCheck(t *testing.T) {
	var kinds []string
	for kind := range kube.Scheme().KnownTypes(ecsv1.GroupVersion) {
		if !strings.HasSuffix(kind, "List") && kind != "WatchEvent" && !strings.HasSuffix(kind, "Options") && kind != "Status" {
			kinds = append(kinds, kind)
		}
	}
	slices.Sort(kinds)
	entries, err := os.ReadDir(filepath.Join(dir, ecsv1.GroupVersion.Group))
	if err != nil {
		t.Fatal(err)
	}
	var checks []string
	for _, e := range entries {
		if _, err := os.Stat(filepath.Join(dir, ecsv1.GroupVersion.Group, e.Name(), "health.lua")); err == nil {
			checks = append(checks, e.Name())
		}
	}
	if diff := cmp.Diff(kinds, checks); diff != "" {
		t.Errorf("kinds (-) without a health check, checks (+) without a kind:\n%s", diff)
	}
	if len(kinds) != 6 {
		t.Errorf("kinds %v: want the six of api.md", kinds)
	}
}

// TestRun checks the runner itself: what Argo CD refuses, it refuses.
func TestRun(t *testing.T) {
	obj := map[string]any{"metadata": map[string]any{"name": "x", "generation": int64(3)},
		"status": map[string]any{"conditions": []any{map[string]any{"type": "Ready"}}, "ok": true, "ratio": 0.5}}
	for name, tc := range map[string]struct {
		script  string
		want    Status
		wantErr string
	}{
		"numbers and tables come through": {
			script: `return {status = "Healthy", message = obj.metadata.name .. " " .. obj.metadata.generation .. " " .. obj.status.conditions[1].type .. " " .. tostring(obj.status.ok) .. " " .. obj.status.ratio}`,
			want:   Status{Status: Healthy, Message: "x 3 Ready true 0.5"},
		},
		"no message":                {script: `return {status = "Progressing"}`, want: Status{Status: Progressing}},
		"no string library":         {script: `return {status = string.upper("healthy")}`, wantErr: "string"},
		"no os library":             {script: `return {status = os.getenv("HOME")}`, wantErr: "getenv"},
		"not a table":               {script: `return "Healthy"`, wantErr: "returned string, want a table"},
		"a status that is no code":  {script: `return {status = "Fine"}`, wantErr: `status "Fine" is none of`},
		"a status that is a number": {script: `return {status = 1}`, wantErr: "status is a number"},
		"a message that is a table": {script: `return {status = "Healthy", message = {}}`, wantErr: "message is a table"},
		"a script that never ends":  {script: `while true do end`, wantErr: "context deadline exceeded"},
		"a syntax error":            {script: `return {`, wantErr: "syntax error"},
	} {
		t.Run(name, func(t *testing.T) {
			got, err := Run(tc.script, obj)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one with %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// TestFromKstatus maps every kstatus verdict, and refuses the others.
func TestFromKstatus(t *testing.T) {
	for s, want := range map[kstatus.Status]string{kstatus.CurrentStatus: Healthy, kstatus.InProgressStatus: Progressing,
		kstatus.FailedStatus: Degraded, kstatus.TerminatingStatus: Progressing, kstatus.UnknownStatus: "", kstatus.NotFoundStatus: ""} {
		got, err := FromKstatus(s)
		if got != want || (want == "") != (err != nil) {
			t.Errorf("FromKstatus(%s) = %q, %v; want %q", s, got, err, want)
		}
	}
}

// TestKustomizationInstallsEveryCheck: config/argocd/kustomization.yaml
// puts every health.lua into argocd-cm under the key Argo CD reads,
// resource.customizations.health.<group>_<Kind>.
func TestKustomizationInstallsEveryCheck(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(dir, "..", "kustomization.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var k struct {
		ConfigMapGenerator []struct {
			Name  string   `json:"name"`
			Files []string `json:"files"`
		} `json:"configMapGenerator"`
	}
	if err := yaml.Unmarshal(data, &k); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, g := range k.ConfigMapGenerator {
		if g.Name != "argocd-cm" {
			t.Errorf("configMapGenerator %q: Argo CD reads its health checks from argocd-cm", g.Name)
		}
		got = append(got, g.Files...)
	}
	var want []string
	err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || d.Name() != "health.lua" {
			return err
		}
		rel, err := filepath.Rel(dir, filepath.Dir(path))
		if err != nil {
			return err
		}
		group, kind := filepath.Split(rel)
		want = append(want, "resource.customizations.health."+filepath.Clean(group)+"_"+kind+
			"=resource_customizations/"+filepath.ToSlash(rel)+"/health.lua")
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(got)
	slices.Sort(want)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("argocd-cm keys (-want +got):\n%s", diff)
	}
}
