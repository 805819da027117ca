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
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const (
	nat          = "iptables -w -t nat "
	noMasqJump   = "POSTROUTING -m comment --comment " + noMasqueradeComment + " -j " + NoMasqueradeChain
	noMasqRuleAB = "LONGSHORE-TASK-NOMASQ -s 10.9.1.0/24 -d 10.9.2.0/24 -j ACCEPT"
)

// fakeIP answers the Router's look-ups from canned output and records
// the changes it makes.
type fakeIP struct {
	out     map[string]string // "ip -j -4 route show proto 242" → JSON
	missing map[string]bool   // commands that fail (a link that does not exist)
	changes []string
}

func (f *fakeIP) run(_ context.Context, tool string, args ...string) ([]byte, error) {
	cmd := tool + " " + strings.Join(args, " ")
	if f.missing[cmd] {
		return nil, errors.New("does not exist")
	}
	if out, ok := f.out[cmd]; ok {
		return []byte(out), nil
	}
	if tool == "iptables" && (slices.Contains(args, "-S") || slices.Contains(args, "-C")) {
		return nil, errors.New("no chain/target/match by that name") // unless f.out has it
	}
	if strings.Contains(cmd, " show") || strings.HasPrefix(cmd, "bridge -j") {
		return nil, nil
	}
	f.changes = append(f.changes, cmd)
	return nil, nil
}

func peer(name, cidr, host string) Peer {
	return Peer{Name: name, TaskCIDR: netip.MustParsePrefix(cidr), HostAddress: netip.MustParseAddr(host)}
}

func TestRouterHostGateway(t *testing.T) {
	f := &fakeIP{
		out: map[string]string{"ip -j -4 route show proto 242": `[
			{"dst":"10.9.2.0/24","gateway":"192.168.5.12","dev":"eth0","protocol":"242"},
			{"dst":"10.9.7.0/24","gateway":"192.168.5.17","dev":"eth0","protocol":"242"}]`},
		missing: map[string]bool{"ip link show dev ls-vxlan0": true},
	}
	r := &Router{Self: peer("a", "10.9.1.0/24", "192.168.5.11"), ip: f.run}
	err := r.Sync(context.Background(), RoutingHostGateway, []Peer{
		peer("a", "10.9.1.0/24", "192.168.5.11"),                      // itself
		peer("b", "10.9.2.0/24", "192.168.5.12"),                      // routed already: kept
		peer("c", "10.9.3.0/24", "192.168.5.13"),                      // new
		peer("d", "10.9.4.0/24", "192.168.5.11"),                      // on this host
		{Name: "e", HostAddress: netip.MustParseAddr("192.168.5.15")}, // no subnet yet
		peer("f", "10.9.1.128/25", "192.168.5.16"),                    // overlaps this one's
	})
	if err == nil || !strings.Contains(err.Error(), "instance f's task subnet 10.9.1.128/25 overlaps this instance's 10.9.1.0/24") {
		t.Errorf("Sync: %v, want the overlap reported", err)
	}
	want := []string{
		"ip route del 10.9.7.0/24 proto 242", // g is gone
		"ip route replace 10.9.3.0/24 via 192.168.5.13 proto 242",
		// The task subnets routed keep their addresses (no masquerade).
		nat + "-N LONGSHORE-TASK-NOMASQ",
		nat + "-I POSTROUTING 1 -m comment --comment " + noMasqueradeComment + " -j LONGSHORE-TASK-NOMASQ",
		nat + "-A " + noMasqRuleAB,
		nat + "-A LONGSHORE-TASK-NOMASQ -s 10.9.1.0/24 -d 10.9.3.0/24 -j ACCEPT",
	}
	if diff := cmp.Diff(want, f.changes); diff != "" {
		t.Errorf("changes (-want +got):\n%s", diff)
	}

	// none removes every route of ours.
	f.changes = nil
	if err := r.Sync(context.Background(), RoutingNone, []Peer{peer("b", "10.9.2.0/24", "192.168.5.12")}); err != nil {
		t.Fatal(err)
	}
	want = []string{"ip route del 10.9.2.0/24 proto 242", "ip route del 10.9.7.0/24 proto 242"}
	if diff := cmp.Diff(want, f.changes); diff != "" {
		t.Errorf("changes with routing none (-want +got):\n%s", diff)
	}
}

func TestRouterVXLAN(t *testing.T) {
	f := &fakeIP{
		out:     map[string]string{},
		missing: map[string]bool{"ip link show dev ls-vxlan0": true, "ip -j link show dev ls-vxlan0": true},
	}
	r := &Router{Self: peer("a", "10.9.1.0/24", "192.168.5.11"), ip: f.run}
	if err := r.Sync(context.Background(), RoutingVXLAN, []Peer{peer("b", "10.9.2.0/24", "192.168.6.12")}); err != nil {
		t.Fatal(err)
	}
	macA, macB := vtepMAC("a").String(), vtepMAC("b").String()
	want := []string{
		"ip link add ls-vxlan0 type vxlan id 4242 local 192.168.5.11 dstport 4789 nolearning",
		"ip link set ls-vxlan0 address " + macA,
		"ip addr replace 10.9.1.0/32 dev ls-vxlan0",
		"ip link set ls-vxlan0 up",
		"bridge fdb replace " + macB + " dev ls-vxlan0 dst 192.168.6.12 self permanent",
		"ip neigh replace 10.9.2.0 lladdr " + macB + " dev ls-vxlan0 nud permanent",
		"ip route replace 10.9.2.0/24 via 10.9.2.0 dev ls-vxlan0 onlink proto 242",
		nat + "-N LONGSHORE-TASK-NOMASQ",
		nat + "-I POSTROUTING 1 -m comment --comment " + noMasqueradeComment + " -j LONGSHORE-TASK-NOMASQ",
		nat + "-A " + noMasqRuleAB,
	}
	if diff := cmp.Diff(want, f.changes); diff != "" {
		t.Errorf("changes (-want +got):\n%s", diff)
	}
	f.out[nat+"-S LONGSHORE-TASK-NOMASQ"] = "-N LONGSHORE-TASK-NOMASQ\n-A " + noMasqRuleAB + "\n-A LONGSHORE-TASK-NOMASQ -s 10.9.1.0/24 -d 10.9.3.0/24 -j ACCEPT\n"
	f.out[nat+"-C "+noMasqJump] = ""

	// b moved to another host, c is gone: entries follow.
	delete(f.missing, "ip link show dev ls-vxlan0")
	delete(f.missing, "ip -j link show dev ls-vxlan0")
	f.out["ip -j link show dev ls-vxlan0"] = `[{"ifname":"ls-vxlan0","address":"` + macA + `"}]` // its MAC already: not set again
	f.out["bridge -j fdb show dev ls-vxlan0"] = `[{"mac":"` + macB + `","dst":"192.168.6.12"},{"mac":"` + vtepMAC("c").String() + `","dst":"192.168.6.13"},{"mac":"` + macA + `"}]`
	f.out["ip -j -4 neigh show dev ls-vxlan0"] = `[{"dst":"10.9.2.0","lladdr":"` + macB + `"},{"dst":"10.9.3.0","lladdr":"` + vtepMAC("c").String() + `"}]`
	f.out["ip -j -4 route show proto 242"] = `[{"dst":"10.9.2.0/24","gateway":"10.9.2.0","dev":"ls-vxlan0"},{"dst":"10.9.3.0/24","gateway":"10.9.3.0","dev":"ls-vxlan0"}]`
	f.changes = nil
	if err := r.Sync(context.Background(), RoutingVXLAN, []Peer{peer("b", "10.9.2.0/24", "192.168.7.12")}); err != nil {
		t.Fatal(err)
	}
	want = []string{
		"ip addr replace 10.9.1.0/32 dev ls-vxlan0",
		"ip link set ls-vxlan0 up",
		"bridge fdb del " + macB + " dev ls-vxlan0 dst 192.168.6.12",
		"bridge fdb del " + vtepMAC("c").String() + " dev ls-vxlan0 dst 192.168.6.13",
		"bridge fdb replace " + macB + " dev ls-vxlan0 dst 192.168.7.12 self permanent",
		"ip neigh del 10.9.3.0 dev ls-vxlan0",
		"ip route del 10.9.3.0/24 proto 242",
		nat + "-D LONGSHORE-TASK-NOMASQ -s 10.9.1.0/24 -d 10.9.3.0/24 -j ACCEPT",
	}
	if diff := cmp.Diff(want, f.changes); diff != "" {
		t.Errorf("changes after a move (-want +got):\n%s", diff)
	}

	// Back to host-gateway with no peer: the tunnel goes, and with it its
	// routes; no task traffic is left to exempt.
	f.changes = nil
	f.out["ip -j -4 route show proto 242"] = ``
	if err := r.Sync(context.Background(), RoutingHostGateway, nil); err != nil {
		t.Fatal(err)
	}
	want = []string{"ip link delete ls-vxlan0", nat + "-D " + noMasqJump, nat + "-F LONGSHORE-TASK-NOMASQ", nat + "-X LONGSHORE-TASK-NOMASQ"}
	if diff := cmp.Diff(want, f.changes); diff != "" {
		t.Errorf("changes back to host-gateway (-want +got):\n%s", diff)
	}
}

func TestVTEPMAC(t *testing.T) {
	a, b := vtepMAC("dev-a"), vtepMAC("dev-b")
	if a.String() == b.String() {
		t.Errorf("two instances share the MAC %s", a)
	}
	if a[0]&0x02 == 0 || a[0]&0x01 != 0 {
		t.Errorf("MAC %s is not locally administered unicast", a)
	}
	if vtepMAC("dev-a").String() != a.String() {
		t.Error("the MAC of an instance changes between calls")
	}
}
