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
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/ecs/schemas"
	smithy "github.com/aws/smithy-go"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
)

// TestEveryRegisterTaskDefinitionFieldHasAPlace walks the ECS model the
// AWS SDK for Go v2 is generated from (the real RegisterTaskDefinition
// request, not a list written here) and checks that every member, at every
// depth, is a field of TaskDefinitionSpec under the same JSON name: so an
// ECS body never meets "unknown field", and each field is then honoured,
// mapped or refused by the API's own rules.
func TestEveryRegisterTaskDefinitionFieldHasAPlace(t *testing.T) {
	var missing []string
	walkShape(schemas.RegisterTaskDefinitionRequest, reflect.TypeFor[TaskDefinitionSpec](), "", &missing)
	if len(missing) > 0 {
		t.Errorf("ECS fields with no place in TaskDefinitionSpec (add each, then honour, map or refuse it):\n  %s", strings.Join(missing, "\n  "))
	}
}

var rawJSON = reflect.TypeFor[apiextensionsv1.JSON]()

func walkShape(s *smithy.Schema, typ reflect.Type, path string, missing *[]string) {
	for typ.Kind() == reflect.Pointer || typ.Kind() == reflect.Slice {
		typ = typ.Elem()
	}
	if typ == rawJSON {
		return // kept as it is written (a field refused whole)
	}
	switch s.Type() {
	case smithy.ShapeTypeList, smithy.ShapeTypeSet:
		if m := s.ListMember(); m != nil {
			walkShape(m, typ, path+"[]", missing)
		}
		return
	case smithy.ShapeTypeMap:
		return // free keys: dockerLabels, options, driverOpts
	case smithy.ShapeTypeStructure, smithy.ShapeTypeUnion:
	default:
		return
	}
	if typ.Kind() != reflect.Struct {
		*missing = append(*missing, path+" (a structure in ECS, "+typ.String()+" here)")
		return
	}
	names := make([]string, 0, len(s.Members()))
	for n := range s.Members() {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, name := range names {
		p := strings.TrimPrefix(path+"."+name, ".")
		f, ok := jsonField(typ, name)
		if !ok {
			*missing = append(*missing, p)
			continue
		}
		walkShape(s.Members()[name], f.Type, p, missing)
	}
}

// jsonField finds the field of typ whose JSON name is name.
func jsonField(typ reflect.Type, name string) (reflect.StructField, bool) {
	for i := range typ.NumField() {
		f := typ.Field(i)
		tag, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if tag == name {
			return f, true
		}
	}
	return reflect.StructField{}, false
}
