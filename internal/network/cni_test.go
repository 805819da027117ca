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
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	types100 "github.com/containernetworking/cni/pkg/types/100"
	"github.com/google/go-cmp/cmp"
)

// fakePluginDir holds empty executables named like the required plugins,
// enough for New (which only checks that they exist).
func fakePluginDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, p := range requiredPlugins {
		if err := os.WriteFile(filepath.Join(dir, p), []byte("#!/bin/false\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func unitConfig(t *testing.T) Config {
	root := t.TempDir()
	return Config{
		StateDir:       filepath.Join(root, "state"),
		NetNSDir:       filepath.Join(root, "netns"),
		PluginDirs:     []string{fakePluginDir(t)},
		ConfDir:        filepath.Join(root, "net.d"),
		BridgeName:     "lst-br0",
		BridgeCIDR:     "10.250.0.0/24",
		TaskBridgeName: "lst-vpc0",
	}
}

func TestConfigDefaults(t *testing.T) {
	got := Config{}.withDefaults()
	want := Config{
		StateDir:       "/var/lib/longshore/network",
		NetNSDir:       "/run/longshore/netns",
		PluginDirs:     []string{"/usr/lib/cni"},
		ConfDir:        "/etc/cni/net.d",
		BridgeName:     "ls-br0",
		BridgeCIDR:     "172.29.0.0/16",
		TaskBridgeName: "ls-vpc0",
		PortRangeMin:   49153,
		PortRangeMax:   65535,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("defaults (-want +got):\n%s", diff)
	}
	if err := got.validate(); err != nil {
		t.Errorf("defaults do not validate: %v", err)
	}
}

func TestConfigValidate(t *testing.T) {
	cases := map[string]struct {
		mutate  func(*Config)
		wantErr string
	}{
		"ok with task CIDR":     {mutate: func(c *Config) { c.TaskCIDR = "10.222.3.0/24" }},
		"bridge name too long":  {mutate: func(c *Config) { c.BridgeName = "a-very-long-bridge" }, wantErr: "BridgeName"},
		"same bridges":          {mutate: func(c *Config) { c.TaskBridgeName = c.BridgeName }, wantErr: "must differ"},
		"bad bridge CIDR":       {mutate: func(c *Config) { c.BridgeCIDR = "172.29.0.0" }, wantErr: "BridgeCIDR"},
		"IPv6 task CIDR":        {mutate: func(c *Config) { c.TaskCIDR = "fd00::/64" }, wantErr: "TaskCIDR"},
		"overlapping CIDRs":     {mutate: func(c *Config) { c.TaskCIDR = "172.29.3.0/24" }, wantErr: "overlaps"},
		"inverted port range":   {mutate: func(c *Config) { c.PortRangeMin, c.PortRangeMax = 60000, 50000 }, wantErr: "port range"},
		"port range too high":   {mutate: func(c *Config) { c.PortRangeMax = 70000 }, wantErr: "port range"},
		"relative state dir":    {mutate: func(c *Config) { c.StateDir = "state" }, wantErr: "StateDir"},
		"subnet with no room":   {mutate: func(c *Config) { c.BridgeCIDR = "10.0.0.0/31" }, wantErr: "too small"},
		"interface name w/ '/'": {mutate: func(c *Config) { c.TaskBridgeName = "a/b" }, wantErr: "TaskBridgeName"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			c := Config{}.withDefaults()
			tc.mutate(&c)
			err := c.validate()
			if tc.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("error = %v, want %q", err, tc.wantErr)
			}
		})
	}
}

func TestNewChecksPlugins(t *testing.T) {
	cfg := unitConfig(t)
	if err := os.Remove(filepath.Join(cfg.PluginDirs[0], "portmap")); err != nil {
		t.Fatal(err)
	}
	_, err := New(cfg)
	if err == nil || !strings.Contains(err.Error(), `CNI plugin "portmap" not found`) {
		t.Errorf("error = %v, want a missing plugin", err)
	}
}

// TestNewLoadsState: after a restart the recorded attachments are listed and
// their host ports count as used.
func TestNewLoadsState(t *testing.T) {
	ctx := context.Background()
	cfg := unitConfig(t)
	store := stateStore{dir: filepath.Join(cfg.StateDir, "attachments")}
	if err := os.MkdirAll(store.dir, 0o700); err != nil {
		t.Fatal(err)
	}
	st := sampleState("task-1-web")
	if err := store.write(st); err != nil {
		t.Fatal(err)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	list, err := c.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]Attachment{st.attachment()}, list); diff != "" {
		t.Errorf("List (-want +got):\n%s", diff)
	}
	_, err = c.Setup(ctx, SetupRequest{ID: "task-2-web", Mode: ModeBridge, PortMappings: []PortMapping{{ContainerPort: 80, HostPort: 8080}}})
	if !errors.Is(err, ErrPortInUse) || !strings.Contains(err.Error(), "host port 8080/tcp is already in use by attachment task-1-web") {
		t.Errorf("static port of a recorded attachment: err = %v", err)
	}
	if _, err := os.Stat(store.path("task-2-web")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a refused Setup left a state file: %v", err)
	}
}

// TestSetupRejects covers the errors Setup gives before touching the host.
func TestSetupRejects(t *testing.T) {
	ctx := context.Background()
	c, err := New(unitConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string]struct {
		req     SetupRequest
		wantErr string
	}{
		"empty ID":            {req: SetupRequest{Mode: ModeNone}, wantErr: "ID \"\" is invalid"},
		"ID with a slash":     {req: SetupRequest{ID: "../x", Mode: ModeNone}, wantErr: "is invalid"},
		"host mode":           {req: SetupRequest{ID: "t", Mode: "host"}, wantErr: `network mode "host" is not handled by CNI`},
		"awsvpc without CIDR": {req: SetupRequest{ID: "t", Mode: ModeAWSVPC}, wantErr: "awsvpc network mode needs a task subnet"},
		"unknown CNI config":  {req: SetupRequest{ID: "t", Mode: ModeAWSVPC, CNIConfig: "nope"}, wantErr: `no file or network named "nope"`},
		"bad protocol":        {req: SetupRequest{ID: "t", Mode: ModeBridge, PortMappings: []PortMapping{{ContainerPort: 80, Protocol: "icmp"}}}, wantErr: "unsupported port mapping protocol"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := c.Setup(ctx, tc.req)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("error = %v, want %q", err, tc.wantErr)
			}
		})
	}
	if err := c.Teardown(ctx, "../etc"); err == nil {
		t.Error("Teardown accepted an ID with a slash")
	}
	if err := c.Teardown(ctx, "unknown"); err != nil {
		t.Errorf("Teardown of an unknown ID: %v", err)
	}
	list, err := c.List(ctx)
	if err != nil || len(list) != 0 {
		t.Errorf("List after refused Setups = %v, %v; want nothing", list, err)
	}
}

func TestSameRequest(t *testing.T) {
	st := &attachmentState{Mode: ModeBridge, Ports: []portState{
		{ContainerPort: 80, HostPort: 8080, Protocol: "tcp"},
		{ContainerPort: 81, HostPort: 49153, Protocol: "tcp", Dynamic: true},
	}}
	cases := map[string]struct {
		req  SetupRequest
		want bool
	}{
		"same": {req: SetupRequest{Mode: ModeBridge, PortMappings: []PortMapping{
			{ContainerPort: 80, HostPort: 8080, Protocol: "tcp"}, {ContainerPort: 81, Protocol: "tcp"}}}, want: true},
		"other mode": {req: SetupRequest{Mode: ModeAWSVPC}},
		"other static port": {req: SetupRequest{Mode: ModeBridge, PortMappings: []PortMapping{
			{ContainerPort: 80, HostPort: 9090, Protocol: "tcp"}, {ContainerPort: 81, Protocol: "tcp"}}}},
		// The recorded binding satisfies a static request for the port chosen.
		"static port equal to the chosen dynamic one": {req: SetupRequest{Mode: ModeBridge, PortMappings: []PortMapping{
			{ContainerPort: 80, HostPort: 8080, Protocol: "tcp"}, {ContainerPort: 81, HostPort: 49153, Protocol: "tcp"}}}, want: true},
		"other host IP": {req: SetupRequest{Mode: ModeBridge, PortMappings: []PortMapping{
			{ContainerPort: 80, HostPort: 8080, Protocol: "tcp", HostIP: "127.0.0.1"}, {ContainerPort: 81, Protocol: "tcp"}}}},
		"fewer ports": {req: SetupRequest{Mode: ModeBridge, PortMappings: []PortMapping{
			{ContainerPort: 80, HostPort: 8080, Protocol: "tcp"}}}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if got := sameRequest(st, tc.req); got != tc.want {
				t.Errorf("sameRequest = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestSetFacts(t *testing.T) {
	zero, two := 0, 2
	mustCIDR := func(s string) net.IPNet {
		ip, n, err := net.ParseCIDR(s)
		if err != nil {
			t.Fatal(err)
		}
		n.IP = ip
		return *n
	}
	bridgeResult := &types100.Result{
		CNIVersion: "1.0.0",
		Interfaces: []*types100.Interface{
			{Name: "lst-br0", Mac: "aa:aa:aa:aa:aa:aa"},
			{Name: "veth1234", Mac: "bb:bb:bb:bb:bb:bb"},
			{Name: "eth0", Mac: "02:00:0a:fa:00:05", Sandbox: "/run/netns/x"},
		},
		IPs: []*types100.IPConfig{
			{Interface: &two, Address: mustCIDR("fd00::5/64")},
			{Interface: &two, Address: mustCIDR("10.250.0.5/24"), Gateway: net.ParseIP("10.250.0.1")},
		},
	}
	cases := map[string]struct {
		st      attachmentState
		res     *types100.Result
		want    attachmentState
		wantErr string
	}{
		"bridge result": {
			st:   attachmentState{Mode: ModeBridge},
			res:  bridgeResult,
			want: attachmentState{Mode: ModeBridge, Interface: "eth0", MAC: "02:00:0a:fa:00:05", IPv4: "10.250.0.5", Subnet: "10.250.0.0/24", Gateway: "10.250.0.1"},
		},
		"IP on another interface": {
			st: attachmentState{Mode: ModeAWSVPC},
			res: &types100.Result{
				Interfaces: []*types100.Interface{{Name: "eth0", Sandbox: "/x"}, {Name: "lst-vpc0"}},
				IPs:        []*types100.IPConfig{{Interface: &two, Address: mustCIDR("10.251.0.1/24")}},
			},
			wantErr: "returned no IPv4 address",
		},
		"plugin that reports no interfaces": {
			st:   attachmentState{Mode: ModeAWSVPC, CNIConfig: "user"},
			res:  &types100.Result{IPs: []*types100.IPConfig{{Address: mustCIDR("192.168.7.9/23")}}},
			want: attachmentState{Mode: ModeAWSVPC, CNIConfig: "user", Interface: "eth0", IPv4: "192.168.7.9", Subnet: "192.168.6.0/23"},
		},
		"IPv6-only user network is accepted": {
			st:   attachmentState{Mode: ModeAWSVPC, CNIConfig: "user"},
			res:  &types100.Result{Interfaces: []*types100.Interface{{Name: "eth0", Sandbox: "/x"}}, IPs: []*types100.IPConfig{{Interface: &zero, Address: mustCIDR("fd00::5/64")}}},
			want: attachmentState{Mode: ModeAWSVPC, CNIConfig: "user", Interface: "eth0"},
		},
		"no result": {st: attachmentState{Mode: ModeBridge}, wantErr: "no result"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			st := tc.st
			err := st.setFacts(tc.res)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, st); diff != "" {
				t.Errorf("facts (-want +got):\n%s", diff)
			}
		})
	}
}
