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
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"strings"
)

// ProxyRedirect is an App Mesh proxy configuration (ECS
// proxyConfiguration type APPMESH): inside an awsvpc task's network
// namespace, TCP that arrives for the application's ports goes to the
// proxy's ingress port, and TCP the task sends out goes to the proxy's
// egress port, except what the proxy itself sends (its user or group) and
// what goes to ignored ports or addresses. The rules are those of ECS's
// aws-appmesh CNI plugin, in the nat table of the task's namespace, so
// they go with it.
type ProxyRedirect struct {
	IgnoredUID, IgnoredGID string
	AppPorts               []int32
	ProxyIngressPort       int32
	ProxyEgressPort        int32
	EgressIgnoredPorts     []int32
	// EgressIgnoredIPs are IPv4 addresses or CIDRs. (Tasks have IPv4
	// only: there is no IPv6 egress to exempt.)
	EgressIgnoredIPs []string
}

const (
	proxyIngressChain = "APPMESH_INGRESS"
	proxyEgressChain  = "APPMESH_EGRESS"
)

func joinPorts(ps []int32) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = strconv.Itoa(int(p))
	}
	return strings.Join(s, ",")
}

// Validate reports whether p can be applied.
func (p *ProxyRedirect) Validate() error {
	if p.IgnoredUID == "" && p.IgnoredGID == "" {
		return fmt.Errorf("proxy redirect: IgnoredUID or IgnoredGID is required (the proxy's own traffic must not come back to it)")
	}
	for _, id := range []string{p.IgnoredUID, p.IgnoredGID} {
		if id != "" {
			if _, err := strconv.ParseUint(id, 10, 32); err != nil {
				return fmt.Errorf("proxy redirect: %q is not a numeric user or group id", id)
			}
		}
	}
	for _, port := range append([]int32{p.ProxyIngressPort, p.ProxyEgressPort}, append(p.AppPorts, p.EgressIgnoredPorts...)...) {
		if port < 1 || port > 65535 {
			return fmt.Errorf("proxy redirect: port %d is not a TCP port", port)
		}
	}
	for _, ip := range p.EgressIgnoredIPs {
		if _, _, err := net.ParseCIDR(ip); err != nil && net.ParseIP(ip).To4() == nil {
			return fmt.Errorf("proxy redirect: %q is not an IPv4 address or CIDR", ip)
		}
	}
	return nil
}

// rules are the iptables commands (without "iptables -w") that set p up,
// in order.
func (p *ProxyRedirect) rules() [][]string {
	nat := func(args ...string) []string { return append([]string{"-t", "nat"}, args...) }
	out := [][]string{nat("-N", proxyIngressChain), nat("-N", proxyEgressChain)}
	if len(p.AppPorts) > 0 {
		out = append(out,
			nat("-A", proxyIngressChain, "-p", "tcp", "-m", "multiport", "--dports", joinPorts(p.AppPorts),
				"-j", "REDIRECT", "--to-port", strconv.Itoa(int(p.ProxyIngressPort))),
			nat("-A", "PREROUTING", "-p", "tcp", "-m", "addrtype", "!", "--src-type", "LOCAL", "-j", proxyIngressChain))
	}
	if p.IgnoredUID != "" {
		out = append(out, nat("-A", proxyEgressChain, "-m", "owner", "--uid-owner", p.IgnoredUID, "-j", "RETURN"))
	}
	if p.IgnoredGID != "" {
		out = append(out, nat("-A", proxyEgressChain, "-m", "owner", "--gid-owner", p.IgnoredGID, "-j", "RETURN"))
	}
	if len(p.EgressIgnoredPorts) > 0 {
		out = append(out, nat("-A", proxyEgressChain, "-p", "tcp", "-m", "multiport", "--dports", joinPorts(p.EgressIgnoredPorts), "-j", "RETURN"))
	}
	if len(p.EgressIgnoredIPs) > 0 {
		out = append(out, nat("-A", proxyEgressChain, "-p", "tcp", "-d", strings.Join(p.EgressIgnoredIPs, ","), "-j", "RETURN"))
	}
	out = append(out,
		nat("-A", proxyEgressChain, "-p", "tcp", "-j", "REDIRECT", "--to", strconv.Itoa(int(p.ProxyEgressPort))),
		nat("-A", "OUTPUT", "-p", "tcp", "-m", "addrtype", "!", "--dst-type", "LOCAL", "-j", proxyEgressChain))
	return out
}

// applyProxyRedirect sets p up in the network namespace pinned at netns,
// which is new (Setup creates it), so the rules are added once.
func applyProxyRedirect(ctx context.Context, netns string, p *ProxyRedirect) error {
	if err := p.Validate(); err != nil {
		return err
	}
	for _, r := range p.rules() {
		args := append([]string{"--net=" + netns, "iptables", "-w"}, r...)
		if out, err := exec.CommandContext(ctx, "nsenter", args...).CombinedOutput(); err != nil {
			return fmt.Errorf("proxy redirect in %s: iptables %s: %w: %s", netns, strings.Join(r, " "), err, strings.TrimSpace(string(out)))
		}
	}
	return nil
}
