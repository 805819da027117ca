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

// Command filegraph prints, for one Go package, the groups of its files
// that call into each other: the strongly connected components of more
// than one file in the graph "file A calls a function or method declared
// in file B". A package whose files form no such group reads top-down:
// each file uses only files below it.
//
//	go run ./hack/filegraph [-v] ./internal/agent
//
// -v also prints every edge with the functions it goes through. Exit
// status 1 when there is a group.
package main

import (
	"flag"
	"fmt"
	"go/types"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/tools/go/packages"
)

func main() {
	verbose := flag.Bool("v", false, "print every edge between two files")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: filegraph [-v] PACKAGE")
		os.Exit(2)
	}
	g, err := load(".", flag.Arg(0))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	if *verbose {
		for _, from := range sortedKeys(g) {
			for _, to := range sortedKeys(g[from]) {
				fmt.Printf("%s -> %s %v\n", from, to, g[from][to])
			}
		}
	}
	groups := cycles(g)
	fmt.Printf("files calling into each other: %d groups\n", len(groups))
	for _, c := range groups {
		fmt.Println("  ", c)
		for _, a := range c {
			for _, b := range c {
				if fns, ok := g[a][b]; ok {
					fmt.Printf("     %s -> %s %v\n", a, b, fns)
				}
			}
		}
	}
	if len(groups) > 0 {
		os.Exit(1)
	}
}

// graph maps a file to the files it calls into, with the (sorted,
// distinct) functions it calls there.
type graph map[string]map[string][]string

// load builds the graph of pattern's package (its non-test files), as
// loaded from dir.
func load(dir, pattern string) (graph, error) {
	cfg := &packages.Config{Dir: dir, Mode: packages.NeedName | packages.NeedFiles | packages.NeedSyntax | packages.NeedTypes | packages.NeedTypesInfo}
	pkgs, err := packages.Load(cfg, pattern)
	if err != nil {
		return nil, err
	}
	if len(pkgs) != 1 {
		return nil, fmt.Errorf("%s: %d packages, want one", pattern, len(pkgs))
	}
	p := pkgs[0]
	if len(p.Errors) > 0 {
		return nil, fmt.Errorf("%s: %v", pattern, p.Errors)
	}
	g := graph{}
	for id, obj := range p.TypesInfo.Uses {
		fn, ok := obj.(*types.Func)
		if !ok || fn.Pkg() != p.Types {
			continue
		}
		from := filepath.Base(p.Fset.Position(id.Pos()).Filename)
		to := filepath.Base(p.Fset.Position(fn.Pos()).Filename)
		if from == to {
			continue
		}
		if g[from] == nil {
			g[from] = map[string][]string{}
		}
		if !slices.Contains(g[from][to], fn.Name()) {
			g[from][to] = append(g[from][to], fn.Name())
			slices.Sort(g[from][to])
		}
	}
	return g, nil
}

// cycles returns the strongly connected components of more than one file
// (Tarjan's algorithm), each sorted, in the order of their first file.
func cycles(g graph) [][]string {
	index, low, on := map[string]int{}, map[string]int{}, map[string]bool{}
	var stack []string
	var out [][]string
	var visit func(v string)
	visit = func(v string) {
		index[v], low[v] = len(index), len(index)
		stack = append(stack, v)
		on[v] = true
		for _, w := range sortedKeys(g[v]) {
			if _, seen := index[w]; !seen {
				visit(w)
				low[v] = min(low[v], low[w])
			} else if on[w] {
				low[v] = min(low[v], index[w])
			}
		}
		if low[v] != index[v] {
			return
		}
		var c []string
		for {
			w := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			on[w] = false
			c = append(c, w)
			if w == v {
				break
			}
		}
		if len(c) > 1 {
			slices.Sort(c)
			out = append(out, c)
		}
	}
	for _, f := range sortedKeys(g) {
		if _, seen := index[f]; !seen {
			visit(f)
		}
	}
	slices.SortFunc(out, func(a, b []string) int { return strings.Compare(a[0], b[0]) })
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
