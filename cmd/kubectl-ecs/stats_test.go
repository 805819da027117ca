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
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestStatsTable: the table of the task metadata endpoint's documented
// stats shape (internal/taskendpoint/testdata), computed as docker stats
// computes it, and a container that is not running.
func TestStatsTable(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "internal", "taskendpoint", "testdata", "v4-stats.json"))
	if err != nil {
		t.Fatal(err)
	}
	// A cgroup v2 container whose page cache is partly inactive.
	var v2 map[string]any
	if err := json.Unmarshal(doc, &v2); err != nil {
		t.Fatal(err)
	}
	v2["memory_stats"].(map[string]any)["stats"] = map[string]any{"inactive_file": 1 << 20}
	v2doc, err := json.Marshal(v2)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := printStatsTable(&out, map[string]json.RawMessage{"web": doc, "cache": v2doc, "gone": json.RawMessage("null")}); err != nil {
		t.Fatal(err)
	}
	// CPU: (912345678-902345678) / (4123450000000-4121450000000) × 2 CPUs;
	// memory 6500352 of 512 MiB (less 1 MiB of inactive page cache).
	want := `CONTAINER   CPU %   MEM USAGE / LIMIT   MEM %   NET I/O         BLOCK I/O     PIDS
cache       1.00%   5.199MiB / 512MiB   1.02%   3.2kB / 1.6kB   12.3kB / 0B   4
gone        --      -- / --             --      -- / --         -- / --       --
web         1.00%   6.199MiB / 512MiB   1.21%   3.2kB / 1.6kB   12.3kB / 0B   4
`
	if diff := cmp.Diff(want, out.String()); diff != "" {
		t.Fatalf("table (-want +got):\n%s", diff)
	}
}

func TestStatsOneContainer(t *testing.T) {
	stats := map[string]json.RawMessage{"web": json.RawMessage("{}"), "app": json.RawMessage("null")}
	if _, err := onlyContainer(stats, "nope"); err == nil || err.Error() != `the task has no container "nope" with stats; its containers: app, web` {
		t.Fatalf("got %v", err)
	}
	got, err := onlyContainer(stats, "web")
	if err != nil || len(got) != 1 || string(got["web"]) != "{}" {
		t.Fatalf("got %v %v", got, err)
	}
}
