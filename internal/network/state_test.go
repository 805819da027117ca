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

package network

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func sampleState(id string) *attachmentState {
	return &attachmentState{
		ID:          id,
		Mode:        ModeBridge,
		Phase:       phaseReady,
		NetNSPath:   "/run/longshore/netns/" + id,
		NetworkName: "longshore-ls-br0",
		ConfList:    json.RawMessage(`{"cniVersion":"1.0.0","name":"longshore-ls-br0","plugins":[{"type":"bridge"}]}`),
		Ports: []portState{
			{ContainerPort: 80, HostPort: 8080, Protocol: "tcp"},
			{ContainerPort: 53, HostPort: 49153, Protocol: "udp", HostIP: "127.0.0.1", Dynamic: true},
		},
		Interface: "eth0",
		IPv4:      "172.29.0.2",
		Subnet:    "172.29.0.0/16",
		Gateway:   "172.29.0.1",
		MAC:       "02:42:ac:1d:00:02",
		Labels:    map[string]string{"longshore.io/task": "default/web-1"},
	}
}

// compactJSON makes RawMessage comparisons independent of indentation.
var compactJSON = cmp.Transformer("compactJSON", func(m json.RawMessage) string {
	var v any
	if err := json.Unmarshal(m, &v); err != nil {
		return "invalid: " + string(m)
	}
	b, _ := json.Marshal(v)
	return string(b)
})

func TestStateRoundTrip(t *testing.T) {
	s := stateStore{dir: t.TempDir()}
	want := []*attachmentState{sampleState("b-web"), sampleState("a-db")}
	want[1].Mode, want[1].Ports, want[1].Phase = ModeNone, nil, phaseCreating
	for _, st := range want {
		if err := s.write(st); err != nil {
			t.Fatal(err)
		}
	}
	// A temporary file left by a crash during write is cleaned up and
	// ignored; unrelated files are ignored.
	if err := os.WriteFile(filepath.Join(s.dir, tmpPrefix+"x-123"), []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(s.dir, "README"), []byte("hi"), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := s.loadAll()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]*attachmentState{want[1], want[0]}, got, compactJSON); diff != "" {
		t.Errorf("loaded state (-want +got):\n%s", diff)
	}
	if _, err := os.Stat(filepath.Join(s.dir, tmpPrefix+"x-123")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("temporary file was not removed: %v", err)
	}

	// Rewriting replaces; remove is idempotent.
	want[0].Phase = phaseCreating
	if err := s.write(want[0]); err != nil {
		t.Fatal(err)
	}
	one, err := s.read("b-web")
	if err != nil {
		t.Fatal(err)
	}
	if one.Phase != phaseCreating {
		t.Errorf("phase after rewrite = %q", one.Phase)
	}
	for i := 0; i < 2; i++ {
		if err := s.remove("b-web"); err != nil {
			t.Fatalf("remove #%d: %v", i, err)
		}
	}
	got, err = s.loadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].ID != "a-db" {
		t.Errorf("after remove: %+v", got)
	}
}

func TestStateLoadErrors(t *testing.T) {
	cases := map[string]struct {
		file, content, wantErr string
	}{
		"corrupt":       {file: "x.json", content: `{"version":1,`, wantErr: "is unreadable"},
		"wrong version": {file: "x.json", content: `{"version":9,"id":"x"}`, wantErr: "has version 9"},
		"name mismatch": {file: "x.json", content: `{"version":1,"id":"y"}`, wantErr: "name and content disagree"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			s := stateStore{dir: t.TempDir()}
			if err := os.WriteFile(filepath.Join(s.dir, tc.file), []byte(tc.content), 0o600); err != nil {
				t.Fatal(err)
			}
			if _, err := s.loadAll(); err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("error = %v, want %q", err, tc.wantErr)
			}
		})
	}
}

func TestStateAttachment(t *testing.T) {
	got := sampleState("t1").attachment()
	want := Attachment{
		ID:        "t1",
		Mode:      ModeBridge,
		NetNSPath: "/run/longshore/netns/t1",
		Interface: "eth0",
		IPv4:      "172.29.0.2",
		Subnet:    "172.29.0.0/16",
		Gateway:   "172.29.0.1",
		MAC:       "02:42:ac:1d:00:02",
		Bindings: []Binding{
			{HostIP: "0.0.0.0", HostPort: 8080, ContainerPort: 80, Protocol: "tcp"},
			{HostIP: "127.0.0.1", HostPort: 49153, ContainerPort: 53, Protocol: "udp"},
		},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
