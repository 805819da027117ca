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
	"testing"
)

func TestParsePorts(t *testing.T) {
	got, err := parsePorts("reserved-ports", " 22, 2375 ,,80")
	if err != nil || !slices.Equal(got, []int32{22, 2375, 80}) {
		t.Fatalf("got %v, %v", got, err)
	}
	if got, err := parsePorts("reserved-ports", ""); err != nil || len(got) != 0 {
		t.Fatalf("empty: got %v, %v", got, err)
	}
	for _, bad := range []string{"0", "65536", "ssh", "-1"} {
		if _, err := parsePorts("reserved-ports", bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
