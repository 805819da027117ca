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
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/containernetworking/cni/libcni"
)

// cniVersion is the spec version of the built-in conflists: the newest one
// the Debian plugins (containernetworking-plugins 1.1.1) speak.
const cniVersion = "1.0.0"

// Interface names inside the namespace.
const (
	podInterface      = "eth0"
	loopbackInterface = "lo"
)

type ipamRange struct {
	Subnet string `json:"subnet"`
}

type ipamRoute struct {
	Dst string `json:"dst"`
}

type hostLocalIPAM struct {
	Type    string        `json:"type"`
	Ranges  [][]ipamRange `json:"ranges"`
	Routes  []ipamRoute   `json:"routes"`
	DataDir string        `json:"dataDir"`
}

type bridgePlugin struct {
	Type        string        `json:"type"`
	Bridge      string        `json:"bridge"`
	IsGateway   bool          `json:"isGateway"`
	IPMasq      bool          `json:"ipMasq"`
	HairpinMode bool          `json:"hairpinMode"`
	IPAM        hostLocalIPAM `json:"ipam"`
}

type portmapPlugin struct {
	Type         string          `json:"type"`
	Capabilities map[string]bool `json:"capabilities"`
	SNAT         bool            `json:"snat"`
}

type firewallPlugin struct {
	Type string `json:"type"`
}

type confList struct {
	CNIVersion string `json:"cniVersion"`
	Name       string `json:"name"`
	Plugins    []any  `json:"plugins"`
}

// networkName is the CNI network name of a built-in network on bridge.
// Bridge names are unique per agent, so the names (and with them the
// host-local data directories, cache entries and iptables chain hashes) of
// two agents on one machine never collide.
func networkName(bridge string) string {
	return "longshore-" + bridge
}

// bridgeConfList is the built-in conflist of bridge mode: a bridge that is
// the gateway of subnet and masquerades, hairpin for reaching one's own
// published ports, portmap with SNAT (so 127.0.0.1:hostPort works) and the
// firewall plugin.
func bridgeConfList(bridge, subnet, ipamDir string) ([]byte, error) {
	return json.Marshal(confList{
		CNIVersion: cniVersion,
		Name:       networkName(bridge),
		Plugins: []any{
			bridgePlugin{
				Type:        "bridge",
				Bridge:      bridge,
				IsGateway:   true,
				IPMasq:      true,
				HairpinMode: true,
				IPAM:        hostLocal(subnet, ipamDir),
			},
			portmapPlugin{
				Type:         "portmap",
				Capabilities: map[string]bool{"portMappings": true},
				SNAT:         true,
			},
			firewallPlugin{Type: "firewall"},
		},
	})
}

// taskConfList is the built-in conflist of awsvpc mode: a bridge that is
// the gateway of the instance's task subnet (task IPs are reachable from
// the host and, with routes, from other hosts) and masquerades traffic
// leaving the subnet, plus the firewall plugin. No port publishing.
func taskConfList(bridge, subnet, ipamDir string) ([]byte, error) {
	return json.Marshal(confList{
		CNIVersion: cniVersion,
		Name:       networkName(bridge),
		Plugins: []any{
			bridgePlugin{
				Type:      "bridge",
				Bridge:    bridge,
				IsGateway: true,
				IPMasq:    true,
				IPAM:      hostLocal(subnet, ipamDir),
			},
			firewallPlugin{Type: "firewall"},
		},
	})
}

func hostLocal(subnet, dataDir string) hostLocalIPAM {
	return hostLocalIPAM{
		Type:    "host-local",
		Ranges:  [][]ipamRange{{{Subnet: subnet}}},
		Routes:  []ipamRoute{{Dst: "0.0.0.0/0"}},
		DataDir: dataDir,
	}
}

// errConfNotFound is returned when a named user conflist does not exist.
var errConfNotFound = errors.New("CNI config not found")

// loadUserConfList finds the conflist called name in dir: a file name
// (name, name.conflist, name.conf or name.json) or else the "name" field of
// one of the files. A single-plugin .conf is converted into a list. It
// returns the network name and the bytes of the list.
func loadUserConfList(dir, name string) (string, []byte, error) {
	if name == "" || name == "." || name == ".." || strings.ContainsAny(name, `/\`) {
		return "", nil, fmt.Errorf("CNI config name %q is not a file name in %s", name, dir)
	}
	for _, candidate := range []string{name, name + ".conflist", name + ".conf", name + ".json"} {
		p := filepath.Join(dir, candidate)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
			return parseConfFile(p)
		}
	}
	files, err := libcni.ConfFiles(dir, []string{".conf", ".conflist", ".json"})
	if err != nil {
		return "", nil, fmt.Errorf("read CNI config directory %s: %w", dir, err)
	}
	sort.Strings(files)
	for _, p := range files {
		netName, data, err := parseConfFile(p)
		if err != nil {
			continue // someone else's broken file is not our concern
		}
		if netName == name {
			return netName, data, nil
		}
	}
	return "", nil, fmt.Errorf("%w: no file or network named %q in %s", errConfNotFound, name, dir)
}

// parseConfFile reads a .conflist, or a .conf upgraded to a list.
func parseConfFile(p string) (string, []byte, error) {
	data, err := os.ReadFile(p)
	if err != nil {
		return "", nil, fmt.Errorf("read CNI config: %w", err)
	}
	var probe struct {
		Plugins json.RawMessage `json:"plugins"`
	}
	if err := json.Unmarshal(data, &probe); err != nil {
		return "", nil, fmt.Errorf("CNI config %s is not JSON: %w", p, err)
	}
	if probe.Plugins == nil {
		// A single-plugin .conf: wrap it into a list, as libcni's deprecated
		// ConfListFromConf did.
		var single map[string]any
		if err := json.Unmarshal(data, &single); err != nil {
			return "", nil, fmt.Errorf("CNI config %s is not a JSON object: %w", p, err)
		}
		if data, err = json.Marshal(map[string]any{
			"cniVersion": single["cniVersion"],
			"name":       single["name"],
			"plugins":    []any{single},
		}); err != nil {
			return "", nil, err
		}
	}
	list, err := libcni.ConfListFromBytes(data)
	if err != nil {
		return "", nil, fmt.Errorf("CNI config %s: %w", p, err)
	}
	if len(list.Plugins) == 0 {
		return "", nil, fmt.Errorf("CNI config %s has no plugins", p)
	}
	return list.Name, list.Bytes, nil
}
