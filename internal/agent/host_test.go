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
	"bufio"
	"strings"
	"testing"
)

func TestParseMemTotal(t *testing.T) {
	cases := map[string]struct {
		in      string
		want    int64
		wantErr bool
	}{
		"typical":    {in: "MemTotal:       24567304 kB\nMemFree:  1 kB\n", want: 23991},
		"not first":  {in: "Foo: 1\nMemTotal: 2048 kB\n", want: 2},
		"missing":    {in: "MemFree: 10 kB\n", wantErr: true},
		"not number": {in: "MemTotal: lots kB\n", wantErr: true},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := parseMemTotal(bufio.NewScanner(strings.NewReader(tc.in)))
			if (err != nil) != tc.wantErr || got != tc.want {
				t.Fatalf("got %d, %v; want %d, err %v", got, err, tc.want, tc.wantErr)
			}
		})
	}
}

func TestECSArch(t *testing.T) {
	for in, want := range map[string]string{"amd64": "x86_64", "arm64": "arm64"} {
		if got := ecsArch(in); got != want {
			t.Errorf("ecsArch(%s) = %s, want %s", in, got, want)
		}
	}
}

func TestDetectHost(t *testing.T) {
	h, err := DetectHost()
	if err != nil {
		t.Fatal(err)
	}
	if h.CPUCores < 1 || h.MemoryMiB < 1 || h.Hostname == "" || h.OS != "linux" {
		t.Errorf("implausible host: %+v", h)
	}
}
