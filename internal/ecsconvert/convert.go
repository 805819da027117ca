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

// Package ecsconvert turns an ECS task definition as users have it (a
// RegisterTaskDefinition body, a describe-task-definition export, JSON or
// YAML) into the TaskDefinition a GitOps repository would hold, with the
// warnings a user must read: export-only fields dropped, explicit nulls
// and empty enum values dropped, fields mapped to local equivalents,
// template placeholders left in values, images swapped. It is pure: no
// client, no cluster. The API server still has the last word (CRD schema
// and CEL, admission policies): Convert does not repeat those checks.
package ecsconvert

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	ecsv1 "github.com/longshore-io/longshore/api/v1alpha1"
)

// Options of a conversion.
type Options struct {
	// Namespace of the TaskDefinition ("" leaves it unset).
	Namespace string
	// ImageMap swaps images: a key is an image as written ("busybox:latest")
	// or a repository without tag or digest ("busybox", matching any tag);
	// the value is the image to run instead. An exact match wins.
	ImageMap map[string]string
}

// Result is a converted task definition and what the user must know.
type Result struct {
	TaskDefinition *ecsv1.TaskDefinition
	// Warnings, in a stable order, each naming the field.
	Warnings []string
}

// nameRE is what a TaskDefinition name may be.
var nameRE = regexp.MustCompile(`^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$`)

// emptyMeansUnset are keys whose "" (as exports write them) means unset.
var emptyMeansUnset = map[string]bool{"pidMode": true, "ipcMode": true, "appProtocol": true, "networkMode": true}

// placeholderRE finds template placeholders that a tool (Terraform,
// CloudFormation, ecspresso, a test harness) should have expanded.
var placeholderRE = regexp.MustCompile(`\$\{[^}]*\}|\{\{[^}]*\}\}|\$\$\$[A-Za-z0-9_]+\$\$\$`)

// Convert converts one task definition.
func Convert(data []byte, opts Options) (*Result, error) {
	data = bytes.TrimSpace(data)
	if len(data) == 0 {
		return nil, fmt.Errorf("the input is empty")
	}
	js, err := yaml.YAMLToJSON(data)
	if err != nil {
		return nil, fmt.Errorf("the input is neither JSON nor YAML: %w", err)
	}
	var doc map[string]any
	if err := json.Unmarshal(js, &doc); err != nil {
		return nil, fmt.Errorf("the input must be one object (a RegisterTaskDefinition body or a describe-task-definition export): %w", err)
	}
	c := &converter{}
	// describe-task-definition wraps the body, and puts tags beside it.
	if inner, ok := doc["taskDefinition"].(map[string]any); ok {
		if _, hasContainers := doc["containerDefinitions"]; !hasContainers {
			c.warn("taskDefinition: the describe-task-definition wrapper was unwrapped")
			if tags, ok := doc["tags"]; ok && inner["tags"] == nil {
				inner["tags"] = tags
			}
			for k := range doc {
				if k != "taskDefinition" && k != "tags" {
					c.warn(fmt.Sprintf("%s: ignored: not part of a task definition", k))
				}
			}
			doc = inner
		}
	}
	c.clean("", doc)
	for _, k := range ecsv1.ExportOnlyFieldNames {
		if _, ok := doc[k]; ok {
			delete(doc, k)
			c.warn(k + ": dropped: an export-only field that RegisterTaskDefinition does not take")
		}
	}
	family, _ := doc["family"].(string)
	if family == "" {
		return nil, fmt.Errorf("family is missing: a task definition needs one (it becomes the TaskDefinition's name)")
	}
	name := FamilyName(family)
	if len(name) > 63 || !nameRE.MatchString(name) {
		return nil, fmt.Errorf("family %q does not make a TaskDefinition name (at most 63 lower-case letters, digits, '-' and '.'; '_' becomes '-')", family)
	}
	if name == family {
		delete(doc, "family")
	} else {
		c.warn(fmt.Sprintf("family: %q becomes the TaskDefinition name %q (spec.family keeps the ECS spelling)", family, name))
	}
	c.swapImages(doc, opts.ImageMap)

	body, err := json.Marshal(doc)
	if err != nil {
		return nil, err
	}
	var spec ecsv1.TaskDefinitionSpec
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&spec); err != nil {
		return nil, fmt.Errorf("not a task definition Longshore knows: %w", err)
	}
	for _, m := range spec.MappedFields() {
		w := m.Field + ": " + m.As
		if m.Value != "" {
			w = fmt.Sprintf("%s %s: %s", m.Field, m.Value, m.As)
		}
		c.warn(w)
	}
	td := &ecsv1.TaskDefinition{
		TypeMeta:   metav1.TypeMeta{APIVersion: ecsv1.GroupVersion.String(), Kind: "TaskDefinition"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: opts.Namespace},
		Spec:       spec,
	}
	return &Result{TaskDefinition: td, Warnings: c.warnings}, nil
}

// FamilyName is the TaskDefinition name of an ECS family: lower-cased,
// '_' as '-' (ECS families may hold upper-case letters and '_').
func FamilyName(family string) string {
	return strings.ReplaceAll(strings.ToLower(family), "_", "-")
}

// YAML renders a TaskDefinition the way a GitOps repository holds it:
// without status, creation timestamp or empty fields.
func YAML(td *ecsv1.TaskDefinition) ([]byte, error) {
	b, err := json.Marshal(td)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	delete(m, "status")
	if md, ok := m["metadata"].(map[string]any); ok {
		delete(md, "creationTimestamp")
	}
	return yaml.Marshal(m)
}

type converter struct{ warnings []string }

func (c *converter) warn(s string) {
	for _, w := range c.warnings {
		if w == s {
			return
		}
	}
	c.warnings = append(c.warnings, s)
}

// clean drops explicit nulls and empty enum values (with a warning each)
// and warns about template placeholders, walking the whole document.
func (c *converter) clean(path string, v any) {
	switch x := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			p := join(path, k)
			switch val := x[k].(type) {
			case nil:
				delete(x, k)
				c.warn(p + ": dropped: an explicit null is the same as leaving the field out")
				continue
			case string:
				if val == "" && emptyMeansUnset[k] {
					delete(x, k)
					c.warn(p + `: dropped: "" is the same as leaving the field out`)
					continue
				}
			}
			c.clean(p, x[k])
		}
	case []any:
		for i, e := range x {
			p := fmt.Sprintf("%s[%d]", path, i)
			if m, ok := e.(map[string]any); ok {
				if n, ok := m["name"].(string); ok && n != "" {
					p = fmt.Sprintf("%s[%s]", path, n)
				}
			}
			c.clean(p, e)
		}
	case string:
		if ph := placeholderRE.FindString(x); ph != "" {
			c.warn(fmt.Sprintf("%s: holds the template placeholder %s, which Longshore does not expand (render the template first)", path, ph))
		}
	}
}

func join(path, k string) string {
	if path == "" {
		return k
	}
	return path + "." + k
}

// swapImages applies the image map to every container.
func (c *converter) swapImages(doc map[string]any, m map[string]string) {
	if len(m) == 0 {
		return
	}
	cds, _ := doc["containerDefinitions"].([]any)
	for _, e := range cds {
		cd, ok := e.(map[string]any)
		if !ok {
			continue
		}
		img, _ := cd["image"].(string)
		to, ok := m[img]
		if !ok {
			to, ok = m[repository(img)]
		}
		if ok && to != img {
			cd["image"] = to
			c.warn(fmt.Sprintf("containerDefinitions[%v].image: %s swapped for %s (--image-map)", cd["name"], img, to))
		}
	}
}

// repository is an image reference without its tag or digest.
func repository(image string) string {
	if i := strings.Index(image, "@"); i >= 0 {
		image = image[:i]
	}
	if i := strings.LastIndex(image, ":"); i > strings.LastIndex(image, "/") {
		image = image[:i]
	}
	return image
}
