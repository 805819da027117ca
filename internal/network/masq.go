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
	"crypto/sha512"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"strings"

	"github.com/containernetworking/cni/libcni"
	types100 "github.com/containernetworking/cni/pkg/types/100"
)

// The bridge plugin (containernetworking-plugins ≤ 1.1.x) removes its
// ipMasq rules on DEL only when it can read the container's address from
// the interface inside the namespace. When the namespace vanished before
// DEL (removed by hand, or a crash in an unlucky spot), the rules would stay
// forever; masqueradeLeftovers removes them the way the plugin would: the
// chain is CNI-<sha512(network name + container ID)> (28 characters) and
// the POSTROUTING jump carries the comment `name: "<net>" id: "<id>"`.

// masqChainName is containernetworking/plugins' utils.FormatChainName.
func masqChainName(network, id string) string {
	sum := sha512.Sum512([]byte(network + id))
	return fmt.Sprintf("CNI-%x", sum)[:28]
}

// masqComment is containernetworking/plugins' utils.FormatComment.
func masqComment(network, id string) string {
	return fmt.Sprintf("name: %q id: %q", network, id)
}

// bridgeMasquerades tells whether a conflist has a bridge plugin with
// ipMasq.
func bridgeMasquerades(list *libcni.NetworkConfigList) bool {
	for _, p := range list.Plugins {
		if p.Network.Type != "bridge" {
			continue
		}
		var c struct {
			IPMasq bool `json:"ipMasq"`
		}
		if json.Unmarshal(p.Bytes, &c) == nil && c.IPMasq {
			return true
		}
	}
	return false
}

// cachedIPv4s returns the IPv4 addresses of the cached ADD result of one
// attachment of a network list, if the cache has one.
func (c *CNI) cachedIPv4s(list *libcni.NetworkConfigList, id string) []string {
	cfg := libcni.NewCNIConfigWithCacheDir(c.cfg.PluginDirs, c.cacheDir, nil)
	res, err := cfg.GetNetworkListCachedResult(list, &libcni.RuntimeConf{ContainerID: id, IfName: podInterface})
	if err != nil || res == nil {
		return nil
	}
	r, err := types100.NewResultFromResult(res)
	if err != nil {
		return nil
	}
	var out []string
	for _, ip := range r.IPs {
		if ip4 := ip.Address.IP.To4(); ip4 != nil {
			out = append(out, ip4.String())
		}
	}
	return out
}

// removeMasquerade deletes the bridge plugin's masquerade chain of one
// attachment and the POSTROUTING jumps to it, if they exist. The caller
// holds cniMu.
func removeMasquerade(ctx context.Context, network, id string, ips []string) error {
	chain := masqChainName(network, id)
	if err := iptables(ctx, "-t", "nat", "-S", chain); err != nil {
		return nil // no such chain: nothing leaked
	}
	comment := masqComment(network, id)
	var errs []error
	for _, ip := range ips {
		for _, src := range []string{ip, ip + "/32"} {
			// Absent rules are fine: the two forms are tried blindly.
			_ = iptables(ctx, "-t", "nat", "-D", "POSTROUTING", "-s", src, "-j", chain, "-m", "comment", "--comment", comment)
		}
	}
	if err := iptables(ctx, "-t", "nat", "-F", chain); err != nil {
		errs = append(errs, err)
	}
	if err := iptables(ctx, "-t", "nat", "-X", chain); err != nil {
		errs = append(errs, fmt.Errorf("%w (a POSTROUTING rule of %s may still jump to %s)", err, id, chain))
	}
	return errors.Join(errs...)
}

func iptables(ctx context.Context, args ...string) error {
	out, err := exec.CommandContext(ctx, "iptables", append([]string{"-w"}, args...)...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("iptables %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}
