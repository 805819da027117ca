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

// Package argocdhealth runs the Argo CD health checks Longshore ships
// (config/argocd/resource_customizations, in the layout of Argo CD's own
// repository: <group>/<Kind>/health.lua) the way Argo CD runs a health
// script: gopher-lua with the package, base and table libraries only (no
// string, os or io library), the object as the global obj, a one-second
// limit, and a table {status, message} as the answer. The tests use it on
// the scripts' health_test.yaml cases, next to kstatus, and on the objects
// the controllers write.
package argocdhealth

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	lua "github.com/yuin/gopher-lua"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	kstatus "sigs.k8s.io/cli-utils/pkg/kstatus/status"
)

// Argo CD's health status codes.
const (
	Healthy     = "Healthy"
	Progressing = "Progressing"
	Degraded    = "Degraded"
	Suspended   = "Suspended"
	Missing     = "Missing"
	Unknown     = "Unknown"
)

var codes = []string{Healthy, Progressing, Degraded, Suspended, Missing, Unknown}

// Status is what a health script answers (Argo CD's HealthStatus).
type Status struct {
	Status  string `json:"status"`
	Message string `json:"message,omitempty"`
}

// ScriptPath is where the health script of obj's kind lies under dir (a
// resource_customizations directory): <group>/<Kind>/health.lua.
func ScriptPath(dir string, obj *unstructured.Unstructured) string {
	gvk := obj.GroupVersionKind()
	return filepath.Join(dir, gvk.Group, gvk.Kind, "health.lua")
}

// Evaluate runs the health script of obj's kind from dir, read now.
func Evaluate(dir string, obj *unstructured.Unstructured) (Status, error) {
	path := ScriptPath(dir, obj)
	script, err := os.ReadFile(path)
	if err != nil {
		return Status{}, fmt.Errorf("no health check for %s: %w", obj.GroupVersionKind().GroupKind(), err)
	}
	st, err := Run(string(script), obj.Object)
	if err != nil {
		return Status{}, fmt.Errorf("%s on %s %s: %w", path, obj.GetKind(), obj.GetName(), err)
	}
	return st, nil
}

// Run runs a health script on an object as Argo CD does.
func Run(script string, obj map[string]any) (Status, error) {
	l := lua.NewState(lua.Options{SkipOpenLibs: true})
	defer l.Close()
	for _, lib := range []struct {
		name string
		open lua.LGFunction
	}{{lua.LoadLibName, lua.OpenPackage}, {lua.BaseLibName, lua.OpenBase}, {lua.TabLibName, lua.OpenTable}} {
		if err := l.CallByParam(lua.P{Fn: l.NewFunction(lib.open), NRet: 0, Protect: true}, lua.LString(lib.name)); err != nil {
			return Status{}, fmt.Errorf("opening the Lua library %q: %w", lib.name, err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	l.SetContext(ctx)
	v, err := toLua(l, obj)
	if err != nil {
		return Status{}, fmt.Errorf("passing the object to Lua: %w", err)
	}
	l.SetGlobal("obj", v)
	if err := l.DoString(script); err != nil {
		return Status{}, err
	}
	ret, ok := l.Get(-1).(*lua.LTable)
	if !ok {
		return Status{}, fmt.Errorf("the script returned %s, want a table {status, message}", l.Get(-1).Type())
	}
	var st Status
	switch s := ret.RawGetString("status").(type) {
	case lua.LString:
		st.Status = string(s)
	default:
		return Status{}, fmt.Errorf("the script's status is a %s, want a string", s.Type())
	}
	if !slices.Contains(codes, st.Status) {
		return Status{}, fmt.Errorf("the script's status %q is none of %v", st.Status, codes)
	}
	switch m := ret.RawGetString("message").(type) {
	case lua.LString:
		st.Message = string(m)
	case *lua.LNilType:
	default:
		return Status{}, fmt.Errorf("the script's message is a %s, want a string", m.Type())
	}
	return st, nil
}

// toLua converts a decoded JSON or YAML value into Lua: objects and
// arrays become tables (arrays indexed from 1), numbers LNumber.
func toLua(l *lua.LState, v any) (lua.LValue, error) {
	switch x := v.(type) {
	case nil:
		return lua.LNil, nil
	case string:
		return lua.LString(x), nil
	case bool:
		return lua.LBool(x), nil
	case int64:
		return lua.LNumber(x), nil
	case int:
		return lua.LNumber(x), nil
	case int32:
		return lua.LNumber(x), nil
	case float64:
		return lua.LNumber(x), nil
	case map[string]any:
		t := l.NewTable()
		for k, e := range x {
			lv, err := toLua(l, e)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", k, err)
			}
			t.RawSetString(k, lv)
		}
		return t, nil
	case []any:
		t := l.NewTable()
		for i, e := range x {
			lv, err := toLua(l, e)
			if err != nil {
				return nil, fmt.Errorf("[%d]: %w", i, err)
			}
			t.RawSetInt(i+1, lv)
		}
		return t, nil
	}
	return nil, fmt.Errorf("a value of type %T has no Lua equivalent", v)
}

// FromKstatus is the Argo CD status that agrees with a kstatus verdict:
// Current is Healthy, InProgress Progressing, Failed Degraded, and
// Terminating Progressing (Argo CD's "Pending deletion").
func FromKstatus(s kstatus.Status) (string, error) {
	switch s {
	case kstatus.CurrentStatus:
		return Healthy, nil
	case kstatus.InProgressStatus, kstatus.TerminatingStatus:
		return Progressing, nil
	case kstatus.FailedStatus:
		return Degraded, nil
	}
	return "", fmt.Errorf("kstatus %q has no Argo CD health status", s)
}
