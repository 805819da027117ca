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

package main

import (
	"slices"
	"strings"
	"testing"
)

func TestCycles(t *testing.T) {
	g := graph{
		"a.go": {"b.go": {"B"}},
		"b.go": {"c.go": {"C"}},
		"c.go": {"a.go": {"A"}, "d.go": {"D"}},
		"d.go": {"e.go": {"E"}},
		"e.go": {"d.go": {"D2"}},
		"f.go": {"a.go": {"A"}},
	}
	got := cycles(g)
	want := [][]string{{"a.go", "b.go", "c.go"}, {"d.go", "e.go"}}
	if !slices.EqualFunc(got, want, slices.Equal) {
		t.Fatalf("cycles %v, want %v", got, want)
	}
	if c := cycles(graph{"a.go": {"b.go": {"B"}}, "b.go": {"c.go": {"C"}}}); len(c) != 0 {
		t.Fatalf("a chain: cycles %v", c)
	}
}

// TestAgentFilesReadTopDown: the agent's files call each other one way
// only (issue 14: plan, sync, observe, cleanup no longer call back and
// forth). A change that makes two of its files call into each other fails
// here, with the functions that do it.
func TestAgentFilesReadTopDown(t *testing.T) {
	g, err := load("../..", "./internal/agent")
	if err != nil {
		t.Fatal(err)
	}
	if len(g) < 10 {
		t.Fatalf("only %d files with calls into other files: the package was not read", len(g))
	}
	for _, c := range cycles(g) {
		var edges []string
		for _, a := range c {
			for _, b := range c {
				if fns, ok := g[a][b]; ok {
					edges = append(edges, a+" -> "+b+" "+fmt3(fns))
				}
			}
		}
		t.Errorf("files of internal/agent call into each other: %v\n%v", c, edges)
	}
}

func fmt3(fns []string) string {
	if len(fns) > 3 {
		fns = append(slices.Clip(fns[:3]), "…")
	}
	return "[" + strings.Join(fns, ", ") + "]"
}
