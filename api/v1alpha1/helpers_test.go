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

package v1alpha1

import (
	"slices"
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
)

func TestParseTaskDefinitionRef(t *testing.T) {
	cases := map[string]struct {
		in      string
		want    TaskDefinitionRef
		wantErr bool
	}{
		"family":           {in: "web", want: TaskDefinitionRef{Family: "web"}},
		"pinned":           {in: "web:12", want: TaskDefinitionRef{Family: "web", Revision: 12}},
		"dashes and dots":  {in: "my-app.v2:3", want: TaskDefinitionRef{Family: "my-app.v2", Revision: 3}},
		"revision zero":    {in: "web:0", wantErr: true},
		"negative":         {in: "web:-1", wantErr: true},
		"not a number":     {in: "web:latest", wantErr: true},
		"empty":            {in: "", wantErr: true},
		"empty family":     {in: ":3", wantErr: true},
		"revision too big": {in: "web:99999999999", wantErr: true},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := ParseTaskDefinitionRef(tc.in)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tc.wantErr)
			}
			if err == nil && got != tc.want {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
			if err == nil && got.String() != tc.in {
				t.Errorf("String() = %q, want %q", got.String(), tc.in)
			}
		})
	}
	if n := (TaskDefinitionRef{Family: "web", Revision: 4}).RevisionName(); n != "web-4" {
		t.Errorf("RevisionName = %q", n)
	}
	if n := (TaskDefinitionRef{Family: "web"}).RevisionName(); n != "" {
		t.Errorf("RevisionName of a family = %q, want empty", n)
	}
}

func TestParseTaskCPUAndMemory(t *testing.T) {
	cpu := map[string]int64{"256": 256, "0.25 vCPU": 256, "1 vCPU": 1024, "2vcpu": 2048, "0.5 VCPU": 512, "4096": 4096}
	for in, want := range cpu {
		if got, err := ParseTaskCPU(in); err != nil || got != want {
			t.Errorf("ParseTaskCPU(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "0", "-1", "quarter", "1 GHz", "vcpu"} {
		if _, err := ParseTaskCPU(bad); err == nil {
			t.Errorf("ParseTaskCPU(%q) accepted", bad)
		}
	}
	mem := map[string]int64{"512": 512, "1 GB": 1024, "1GB": 1024, "0.5 GB": 512, "2 gb": 2048}
	for in, want := range mem {
		if got, err := ParseTaskMemory(in); err != nil || got != want {
			t.Errorf("ParseTaskMemory(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "0", "1 TB", "lots", "GB"} {
		if _, err := ParseTaskMemory(bad); err == nil {
			t.Errorf("ParseTaskMemory(%q) accepted", bad)
		}
	}
}

func TestPhaseOrder(t *testing.T) {
	for i, p := range TaskPhases {
		if PhaseIndex(p) != i {
			t.Errorf("PhaseIndex(%s) = %d, want %d", p, PhaseIndex(p), i)
		}
	}
	if PhaseIndex("BOGUS") != -1 {
		t.Error("unknown phase has an index")
	}
	if !(&ContainerDefinition{}).IsEssential() {
		t.Error("a container is essential by default")
	}
}

// TestExportOnlyFieldNamesAreFields keeps the list of export-only names
// and the typed fields that ExportOnlyFields and Registered look at in step.
func TestExportOnlyFieldNamesAreFields(t *testing.T) {
	raw := []byte(`"x"`)
	s := TaskDefinitionSpec{TaskDefinitionArn: "a", Revision: new(int64), Status: "ACTIVE", Compatibilities: []string{"EC2"},
		RequiresAttributes: []ExportedAttribute{{Name: "n"}}, RegisteredAt: &apiextensionsv1.JSON{Raw: raw}, RegisteredBy: "me",
		DeregisteredAt: &apiextensionsv1.JSON{Raw: raw}, DeleteRequestedAt: &apiextensionsv1.JSON{Raw: raw}}
	if got := s.ExportOnlyFields(); !slices.Equal(got, ExportOnlyFieldNames) {
		t.Errorf("ExportOnlyFields of a spec with all of them = %v, want %v", got, ExportOnlyFieldNames)
	}
	if got := s.Registered().ExportOnlyFields(); len(got) != 0 {
		t.Errorf("Registered() keeps %v", got)
	}
}
