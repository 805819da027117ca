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

package agent

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func writeBinary(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestInstallHostHelpers(t *testing.T) {
	src, root := t.TempDir(), filepath.Join(t.TempDir(), "bin")
	logger := writeBinary(t, src, "logger", "logger v1")
	init := writeBinary(t, src, "init", "init v1")

	v1, err := InstallHostHelpers(root, logger, init)
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Dir(v1.Logger) != v1.Dir || filepath.Dir(v1.Init) != v1.Dir || filepath.Dir(v1.Dir) != root {
		t.Fatalf("paths %+v are not Root/<digest>/<name>", v1)
	}
	if got := readFile(t, v1.Logger); got != "logger v1" {
		t.Errorf("installed logger holds %q", got)
	}
	if got := readFile(t, v1.Init); got != "init v1" {
		t.Errorf("installed init holds %q", got)
	}
	if st, err := os.Stat(v1.Init); err != nil || st.Mode().Perm() != 0o755 {
		t.Errorf("installed init: %v, mode %v, want 0755", err, st.Mode())
	}

	// The same content again: the same directory, untouched.
	st1, _ := os.Stat(v1.Logger)
	again, err := InstallHostHelpers(root, logger, init)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(v1, again); diff != "" {
		t.Errorf("reinstall (-first +again):\n%s", diff)
	}
	if st2, _ := os.Stat(v1.Logger); !os.SameFile(st1, st2) {
		t.Error("reinstalling the same content rewrote the logger")
	}

	// One byte of one binary changes the directory; the old one stays.
	writeBinary(t, src, "init", "init v2")
	v2, err := InstallHostHelpers(root, logger, init)
	if err != nil {
		t.Fatal(err)
	}
	if v2.Dir == v1.Dir {
		t.Fatalf("new content installed into the old directory %s", v1.Dir)
	}
	if got := readFile(t, v1.Init); got != "init v1" {
		t.Errorf("the old version's init now holds %q", got)
	}

	// A damaged installation of the current content is replaced.
	if err := os.WriteFile(v2.Logger, []byte("truncated"), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := InstallHostHelpers(root, logger, init); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, v2.Logger); got != "logger v1" {
		t.Errorf("damaged logger not replaced: holds %q", got)
	}

	// The agent binary serving both roles.
	self := writeBinary(t, src, "agent", "agent")
	both, err := InstallHostHelpers(root, self, self)
	if err != nil {
		t.Fatal(err)
	}
	if readFile(t, both.Logger) != "agent" || readFile(t, both.Init) != "agent" {
		t.Error("the agent binary was not installed as both helpers")
	}

	if _, err := InstallHostHelpers(root, filepath.Join(src, "missing"), init); err == nil {
		t.Error("a missing logger binary installed without an error")
	}
}

func TestHostHelpersRemoveUnused(t *testing.T) {
	src, root := t.TempDir(), filepath.Join(t.TempDir(), "bin")
	install := func(v string) HostHelpers {
		t.Helper()
		h, err := InstallHostHelpers(root, writeBinary(t, src, "logger", "logger "+v), writeBinary(t, src, "init", "init "+v))
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	old, used, current := install("v1"), install("v2"), install("v3")
	leftover := filepath.Join(root, ".install-123")
	if err := os.Mkdir(leftover, 0o755); err != nil {
		t.Fatal(err)
	}

	removed, err := current.RemoveUnused([]string{used.Init, "/elsewhere/longshore-logger", filepath.Join(root, "..", "x")})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(removed)
	want := []string{leftover, old.Dir}
	slices.Sort(want)
	if diff := cmp.Diff(want, removed); diff != "" {
		t.Errorf("removed (-want +got):\n%s", diff)
	}
	for _, p := range []string{used.Logger, used.Init, current.Logger, current.Init} {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("%s: %v, want it kept", p, err)
		}
	}
	if _, err := os.Stat(old.Dir); !os.IsNotExist(err) {
		t.Errorf("%s: %v, want it removed", old.Dir, err)
	}

	// Nothing installed yet: nothing to do.
	if removed, err := (HostHelpers{Root: filepath.Join(t.TempDir(), "none")}).RemoveUnused(nil); err != nil || len(removed) != 0 {
		t.Errorf("RemoveUnused of a missing root: %v, %v", removed, err)
	}
}
