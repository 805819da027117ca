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
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os/exec"
	"slices"
	"strings"
)

// RouteProtocol marks the routes the Router owns (ip route ... proto 242),
// so that it lists and removes its own and nothing else.
const RouteProtocol = "242"

// Routing modes (the Cluster's spec.taskNetwork.routing).
const (
	RoutingHostGateway = "host-gateway"
	RoutingVXLAN       = "vxlan"
	RoutingNone        = "none"
)

// VXLAN defaults: the tunnel device, its network identifier and UDP port
// (the IANA VXLAN port). The kernel sizes the tunnel's MTU 50 bytes below
// the path's.
const (
	DefaultVXLANDevice = "ls-vxlan0"
	DefaultVXLANID     = 4242
	DefaultVXLANPort   = 4789
)

// Peer is an instance whose task subnet this host routes to.
type Peer struct {
	// Name is the instance's name.
	Name string
	// TaskCIDR is its awsvpc subnet; HostAddress where its host is reached.
	TaskCIDR    netip.Prefix
	HostAddress netip.Addr
}

// Router keeps this host's routes to the task subnets of the other
// instances. Every route it adds carries RouteProtocol; Sync makes the set
// of those routes (and, in vxlan mode, the tunnel's forwarding and
// neighbour entries) exactly what the peers call for, so it is idempotent
// and recovers from whatever an interrupted run or a mode change left.
type Router struct {
	// Self is this instance: its own subnet is local, and peers on the
	// same host address (instances sharing a host, as in make dev) need
	// no route.
	Self Peer
	// Device, ID and Port configure the vxlan tunnel; zero values mean the
	// defaults.
	Device   string
	ID, Port int
	// ip runs the iproute2 tools (ip, bridge); tests replace it.
	ip func(ctx context.Context, tool string, args ...string) ([]byte, error)
}

func (r *Router) run(ctx context.Context, tool string, args ...string) ([]byte, error) {
	if r.ip != nil {
		return r.ip(ctx, tool, args...)
	}
	out, err := exec.CommandContext(ctx, tool, args...).CombinedOutput()
	if err != nil {
		return out, fmt.Errorf("%s %s: %v: %s", tool, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return out, nil
}

func (r *Router) device() string {
	if r.Device != "" {
		return r.Device
	}
	return DefaultVXLANDevice
}

// Sync makes the routes to peers' task subnets match mode. Peers without a
// subnet or host address, on this host's address, or overlapping this
// instance's subnet are skipped (and reported in the error only when they
// overlap, which is a misconfiguration).
func (r *Router) Sync(ctx context.Context, mode string, peers []Peer) error {
	want, err := r.wanted(peers)
	if mode == RoutingNone {
		want = nil
	}
	var errs []error
	if err != nil {
		errs = append(errs, err)
	}
	switch mode {
	case RoutingHostGateway, RoutingNone:
		errs = append(errs, r.removeTunnel(ctx), r.syncRoutes(ctx, want, false), r.syncNoMasquerade(ctx, want))
	case RoutingVXLAN:
		if err := r.ensureTunnel(ctx); err != nil {
			return errors.Join(append(errs, err)...)
		}
		errs = append(errs, r.syncTunnel(ctx, want), r.syncRoutes(ctx, want, true), r.syncNoMasquerade(ctx, want))
	default:
		return fmt.Errorf("unknown task routing %q (want %s, %s or %s)", mode, RoutingHostGateway, RoutingVXLAN, RoutingNone)
	}
	return errors.Join(errs...)
}

// Remove deletes every route the Router owns, the tunnel and the
// masquerading exemptions.
func (r *Router) Remove(ctx context.Context) error {
	return errors.Join(r.syncRoutes(ctx, nil, false), r.removeTunnel(ctx), r.syncNoMasquerade(ctx, nil))
}

// NoMasqueradeChain is the nat chain, jumped to first from POSTROUTING,
// that keeps a task's own address on its traffic to routed peers' task
// subnets: the bridge plugin's ipMasq would otherwise rewrite it to the
// host's address. Tasks then see each other's addresses across hosts, as
// in an ECS VPC, and replies come back through the same routes.
const NoMasqueradeChain = "LONGSHORE-TASK-NOMASQ"

const noMasqueradeComment = "longshore: task traffic between routed task subnets keeps its source address"

func (r *Router) iptables(ctx context.Context, args ...string) ([]byte, error) {
	return r.run(ctx, "iptables", append([]string{"-w", "-t", "nat"}, args...)...)
}

// syncNoMasquerade makes NoMasqueradeChain accept (exempt from
// masquerading) exactly the traffic from this instance's task subnet to
// the subnets of want; with no peer the chain and its jump go.
func (r *Router) syncNoMasquerade(ctx context.Context, want []Peer) error {
	jump := []string{"POSTROUTING", "-m", "comment", "--comment", noMasqueradeComment, "-j", NoMasqueradeChain}
	out, listErr := r.iptables(ctx, "-S", NoMasqueradeChain)
	exists := listErr == nil
	if len(want) == 0 || !r.Self.TaskCIDR.IsValid() {
		if !exists {
			return nil
		}
		var errs []error
		// One jump at most (it is added only when -C finds none).
		if _, err := r.iptables(ctx, append([]string{"-C"}, jump...)...); err == nil {
			if _, err := r.iptables(ctx, append([]string{"-D"}, jump...)...); err != nil {
				errs = append(errs, err)
			}
		}
		if _, err := r.iptables(ctx, "-F", NoMasqueradeChain); err != nil {
			errs = append(errs, err)
		}
		if _, err := r.iptables(ctx, "-X", NoMasqueradeChain); err != nil {
			errs = append(errs, err)
		}
		return errors.Join(errs...)
	}
	if !exists {
		if _, err := r.iptables(ctx, "-N", NoMasqueradeChain); err != nil {
			return err
		}
		out = nil
	}
	if _, err := r.iptables(ctx, append([]string{"-C"}, jump...)...); err != nil {
		// First, before the bridge plugin's per-task masquerade jumps.
		if _, err := r.iptables(ctx, append([]string{"-I", "POSTROUTING", "1"}, jump[1:]...)...); err != nil {
			return err
		}
	}
	// Each peer's rule as `iptables -S` prints it.
	lines := make([]string, len(want))
	missing := map[string]bool{}
	for i, p := range want {
		lines[i] = strings.Join([]string{"-A", NoMasqueradeChain, "-s", r.Self.TaskCIDR.Masked().String(),
			"-d", p.TaskCIDR.Masked().String(), "-j", "ACCEPT"}, " ")
		missing[lines[i]] = true
	}
	var errs []error
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if !strings.HasPrefix(line, "-A ") {
			continue // the chain's own -N line
		}
		if missing[line] {
			delete(missing, line)
			continue
		}
		if _, err := r.iptables(ctx, append([]string{"-D"}, strings.Fields(line)[1:]...)...); err != nil {
			errs = append(errs, err)
		}
	}
	for i, p := range want {
		if !missing[lines[i]] {
			continue // present already
		}
		if _, err := r.iptables(ctx, strings.Fields(lines[i])...); err != nil {
			errs = append(errs, fmt.Errorf("keeping task addresses towards instance %s: %w", p.Name, err))
		}
	}
	return errors.Join(errs...)
}

func (r *Router) wanted(peers []Peer) ([]Peer, error) {
	var want []Peer
	var errs []error
	for _, p := range peers {
		if p.Name == r.Self.Name || !p.TaskCIDR.IsValid() || !p.HostAddress.IsValid() {
			continue
		}
		if p.HostAddress == r.Self.HostAddress {
			continue // the same host: its subnet is on a local bridge
		}
		if r.Self.TaskCIDR.IsValid() && r.Self.TaskCIDR.Overlaps(p.TaskCIDR) {
			errs = append(errs, fmt.Errorf("instance %s's task subnet %s overlaps this instance's %s: not routed", p.Name, p.TaskCIDR, r.Self.TaskCIDR))
			continue
		}
		want = append(want, p)
	}
	slices.SortFunc(want, func(a, b Peer) int { return strings.Compare(a.Name, b.Name) })
	return want, errors.Join(errs...)
}

// gatewayOf is the tunnel address of a subnet: its network address, which
// no task takes (host-local starts at .1 for the bridge).
func gatewayOf(p netip.Prefix) netip.Addr { return p.Masked().Addr() }

// vtepMAC is an instance's tunnel MAC: locally administered, unicast, from
// its name, so that no instance has to publish it.
func vtepMAC(instance string) net.HardwareAddr {
	sum := sha256.Sum256([]byte("longshore-vtep/" + instance))
	mac := net.HardwareAddr(sum[:6])
	mac[0] = (mac[0] | 0x02) &^ 0x01
	return mac
}

type ipRoute struct {
	Dst      string `json:"dst"`
	Gateway  string `json:"gateway"`
	Dev      string `json:"dev"`
	Protocol string `json:"protocol"`
}

func (r *Router) syncRoutes(ctx context.Context, want []Peer, tunnel bool) error {
	out, err := r.run(ctx, "ip", "-j", "-4", "route", "show", "proto", RouteProtocol)
	if err != nil {
		return err
	}
	var have []ipRoute
	if s := strings.TrimSpace(string(out)); s != "" {
		if err := json.Unmarshal([]byte(s), &have); err != nil {
			return fmt.Errorf("reading the routes (ip -j route): %w", err)
		}
	}
	type route struct{ dst, via, dev string }
	wanted := map[route]bool{}
	for _, p := range want {
		rt := route{dst: p.TaskCIDR.Masked().String(), via: p.HostAddress.String()}
		if tunnel {
			rt = route{dst: p.TaskCIDR.Masked().String(), via: gatewayOf(p.TaskCIDR).String(), dev: r.device()}
		}
		wanted[rt] = true
	}
	var errs []error
	for _, h := range have {
		rt := route{dst: h.Dst, via: h.Gateway}
		if tunnel {
			rt.dev = h.Dev
		}
		if wanted[rt] {
			delete(wanted, rt)
			continue
		}
		if _, err := r.run(ctx, "ip", "route", "del", h.Dst, "proto", RouteProtocol); err != nil {
			errs = append(errs, err)
		}
	}
	for _, p := range want {
		args := []string{"route", "replace", p.TaskCIDR.Masked().String(), "via", p.HostAddress.String(), "proto", RouteProtocol}
		rt := route{dst: p.TaskCIDR.Masked().String(), via: p.HostAddress.String()}
		if tunnel {
			args = []string{"route", "replace", p.TaskCIDR.Masked().String(), "via", gatewayOf(p.TaskCIDR).String(),
				"dev", r.device(), "onlink", "proto", RouteProtocol}
			rt = route{dst: p.TaskCIDR.Masked().String(), via: gatewayOf(p.TaskCIDR).String(), dev: r.device()}
		}
		if !wanted[rt] {
			continue // present already
		}
		if _, err := r.run(ctx, "ip", args...); err != nil {
			errs = append(errs, fmt.Errorf("routing instance %s's task subnet: %w", p.Name, err))
		}
	}
	return errors.Join(errs...)
}

func (r *Router) tunnelExists(ctx context.Context) bool {
	_, err := r.run(ctx, "ip", "link", "show", "dev", r.device())
	return err == nil
}

func (r *Router) ensureTunnel(ctx context.Context) error {
	if !r.Self.HostAddress.IsValid() {
		return errors.New("vxlan task routing needs this instance's host address (--host-address)")
	}
	if !r.Self.TaskCIDR.IsValid() {
		return errors.New("vxlan task routing needs this instance's task subnet (status.taskCIDR)")
	}
	id, port := r.ID, r.Port
	if id == 0 {
		id = DefaultVXLANID
	}
	if port == 0 {
		port = DefaultVXLANPort
	}
	dev := r.device()
	mac := vtepMAC(r.Self.Name).String()
	var have []struct {
		Address string `json:"address"`
	}
	out, err := r.run(ctx, "ip", "-j", "link", "show", "dev", dev)
	if err == nil && len(strings.TrimSpace(string(out))) > 0 {
		if err := json.Unmarshal(out, &have); err != nil {
			return fmt.Errorf("reading the vxlan tunnel (ip -j link): %w", err)
		}
	}
	if err != nil {
		if _, err := r.run(ctx, "ip", "link", "add", dev, "type", "vxlan", "id", fmt.Sprint(id),
			"local", r.Self.HostAddress.String(), "dstport", fmt.Sprint(port), "nolearning"); err != nil {
			return fmt.Errorf("creating the vxlan tunnel: %w", err)
		}
	}
	steps := [][]string{
		{"addr", "replace", gatewayOf(r.Self.TaskCIDR).String() + "/32", "dev", dev},
		{"link", "set", dev, "up"},
	}
	// Only when it differs: setting a link's address, even to the same
	// one, makes the kernel flush the link's neighbours, permanent ones
	// included, and tasks could not reach the peers until syncTunnel puts
	// them back (forever, if the agent dies in between).
	if len(have) != 1 || !strings.EqualFold(have[0].Address, mac) {
		steps = append([][]string{{"link", "set", dev, "address", mac}}, steps...)
	}
	for _, args := range steps {
		if _, err := r.run(ctx, "ip", args...); err != nil {
			return fmt.Errorf("setting up the vxlan tunnel: %w", err)
		}
	}
	return nil
}

func (r *Router) removeTunnel(ctx context.Context) error {
	if !r.tunnelExists(ctx) {
		return nil
	}
	_, err := r.run(ctx, "ip", "link", "delete", r.device())
	return err
}

// syncTunnel makes the tunnel's forwarding entries (peer MAC → peer host)
// and permanent neighbours (peer tunnel address → peer MAC) the peers'.
func (r *Router) syncTunnel(ctx context.Context, want []Peer) error {
	dev := r.device()
	var errs []error
	wantFDB, wantNeigh := map[string]string{}, map[string]string{}
	for _, p := range want {
		mac := vtepMAC(p.Name).String()
		wantFDB[mac] = p.HostAddress.String()
		wantNeigh[gatewayOf(p.TaskCIDR).String()] = mac
	}
	out, err := r.run(ctx, "bridge", "-j", "fdb", "show", "dev", dev)
	if err != nil {
		return err
	}
	var fdb []struct {
		MAC string `json:"mac"`
		Dst string `json:"dst"`
	}
	if s := strings.TrimSpace(string(out)); s != "" {
		if err := json.Unmarshal([]byte(s), &fdb); err != nil {
			return fmt.Errorf("reading the tunnel's forwarding entries: %w", err)
		}
	}
	for _, e := range fdb {
		if e.Dst == "" {
			continue // the kernel's own entries
		}
		if wantFDB[e.MAC] == e.Dst {
			delete(wantFDB, e.MAC)
			continue
		}
		if _, err := r.run(ctx, "bridge", "fdb", "del", e.MAC, "dev", dev, "dst", e.Dst); err != nil {
			errs = append(errs, err)
		}
	}
	for mac, dst := range wantFDB {
		if _, err := r.run(ctx, "bridge", "fdb", "replace", mac, "dev", dev, "dst", dst, "self", "permanent"); err != nil {
			errs = append(errs, err)
		}
	}
	out, err = r.run(ctx, "ip", "-j", "-4", "neigh", "show", "dev", dev)
	if err != nil {
		return errors.Join(append(errs, err)...)
	}
	var neigh []struct {
		Dst    string `json:"dst"`
		LLAddr string `json:"lladdr"`
	}
	if s := strings.TrimSpace(string(out)); s != "" {
		if err := json.Unmarshal([]byte(s), &neigh); err != nil {
			return errors.Join(append(errs, fmt.Errorf("reading the tunnel's neighbours: %w", err))...)
		}
	}
	for _, n := range neigh {
		if wantNeigh[n.Dst] == n.LLAddr {
			delete(wantNeigh, n.Dst)
			continue
		}
		if _, err := r.run(ctx, "ip", "neigh", "del", n.Dst, "dev", dev); err != nil {
			errs = append(errs, err)
		}
	}
	for dst, mac := range wantNeigh {
		if _, err := r.run(ctx, "ip", "neigh", "replace", dst, "lladdr", mac, "dev", dev, "nud", "permanent"); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// DefaultHostAddress is the source address of this host's default route:
// the address other hosts most likely reach it at. It looks the route up
// (ip route get, which sends nothing) for a documentation address.
func DefaultHostAddress(ctx context.Context) (netip.Addr, error) {
	out, err := exec.CommandContext(ctx, "ip", "-j", "-4", "route", "get", "192.0.2.1").CombinedOutput()
	if err != nil {
		return netip.Addr{}, fmt.Errorf("no default route to take the host address from (set --host-address): %s", strings.TrimSpace(string(out)))
	}
	var routes []struct {
		PrefSrc string `json:"prefsrc"`
	}
	if err := json.Unmarshal(out, &routes); err != nil || len(routes) == 0 {
		return netip.Addr{}, fmt.Errorf("reading ip route get: %v", err)
	}
	return netip.ParseAddr(routes[0].PrefSrc)
}
