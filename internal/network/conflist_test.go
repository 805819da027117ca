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

	"github.com/containernetworking/cni/libcni"
	"github.com/google/go-cmp/cmp"
)

func TestBuiltInConfLists(t *testing.T) {
	bridge, err := bridgeConfList("lst-br0", "10.250.0.0/24", "/state/ipam")
	if err != nil {
		t.Fatal(err)
	}
	task, err := taskConfList("lst-vpc0", "10.251.0.0/24", "/state/ipam")
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string]struct {
		got  []byte
		want string
	}{
		"bridge": {got: bridge, want: `{
			"cniVersion": "1.0.0",
			"name": "longshore-lst-br0",
			"plugins": [
				{"type": "bridge", "bridge": "lst-br0", "isGateway": true, "ipMasq": true, "hairpinMode": true,
				 "ipam": {"type": "host-local", "ranges": [[{"subnet": "10.250.0.0/24"}]],
				          "routes": [{"dst": "0.0.0.0/0"}], "dataDir": "/state/ipam"}},
				{"type": "portmap", "capabilities": {"portMappings": true}, "snat": true},
				{"type": "firewall"}
			]}`},
		"awsvpc": {got: task, want: `{
			"cniVersion": "1.0.0",
			"name": "longshore-lst-vpc0",
			"plugins": [
				{"type": "bridge", "bridge": "lst-vpc0", "isGateway": true, "ipMasq": true, "hairpinMode": false,
				 "ipam": {"type": "host-local", "ranges": [[{"subnet": "10.251.0.0/24"}]],
				          "routes": [{"dst": "0.0.0.0/0"}], "dataDir": "/state/ipam"}},
				{"type": "firewall"}
			]}`},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			var got, want any
			if err := json.Unmarshal(tc.got, &got); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal([]byte(tc.want), &want); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("conflist (-want +got):\n%s", diff)
			}
			// libcni (and so go-cni) accepts it.
			list, err := libcni.ConfListFromBytes(tc.got)
			if err != nil {
				t.Fatalf("libcni rejects the conflist: %v", err)
			}
			if list.CNIVersion != "1.0.0" {
				t.Errorf("cniVersion = %q", list.CNIVersion)
			}
		})
	}
}

func TestLoadUserConfList(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("10-vpc.conflist", `{"cniVersion":"1.0.0","name":"vpc","plugins":[{"type":"bridge","bridge":"x0"},{"type":"firewall"}]}`)
	write("20-single.conf", `{"cniVersion":"0.4.0","name":"single","type":"macvlan","master":"eth0"}`)
	write("30-broken.conflist", `{not json`)
	write("40-notype.conf", `{"cniVersion":"0.4.0","name":"notype"}`)

	cases := map[string]struct {
		name        string
		wantNetwork string
		wantTypes   []string
		wantErr     string
		wantIs      error
	}{
		"by file name":           {name: "10-vpc.conflist", wantNetwork: "vpc", wantTypes: []string{"bridge", "firewall"}},
		"by file name sans .ext": {name: "10-vpc", wantNetwork: "vpc", wantTypes: []string{"bridge", "firewall"}},
		"by network name":        {name: "vpc", wantNetwork: "vpc", wantTypes: []string{"bridge", "firewall"}},
		"single .conf upgraded":  {name: "single", wantNetwork: "single", wantTypes: []string{"macvlan"}},
		"missing":                {name: "nope", wantErr: `no file or network named "nope"`, wantIs: errConfNotFound},
		"broken file by name":    {name: "30-broken", wantErr: "is not JSON"},
		"conf without type":      {name: "40-notype.conf", wantErr: "missing 'type'"},
		"path traversal":         {name: "../etc/passwd", wantErr: "is not a file name"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			netName, data, err := loadUserConfList(dir, tc.name)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error = %v, want %q", err, tc.wantErr)
				}
				if tc.wantIs != nil && !errors.Is(err, tc.wantIs) {
					t.Errorf("errors.Is(%v, %v) = false", err, tc.wantIs)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if netName != tc.wantNetwork {
				t.Errorf("network = %q, want %q", netName, tc.wantNetwork)
			}
			list, err := libcni.ConfListFromBytes(data)
			if err != nil {
				t.Fatalf("returned bytes are not a conflist: %v", err)
			}
			var types []string
			for _, p := range list.Plugins {
				types = append(types, p.Network.Type)
			}
			if diff := cmp.Diff(tc.wantTypes, types); diff != "" {
				t.Errorf("plugins (-want +got):\n%s", diff)
			}
		})
	}
}
