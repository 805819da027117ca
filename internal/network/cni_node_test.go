//go:build node

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

// Node tests: real CNI plugins (/usr/lib/cni), real namespaces, iptables.
// Run as root:
//
//	go test -tags node -count=1 ./internal/network/...
//
// They use test-only names (bridges lst-br0 and lst-vpc0, subnets
// 10.250.0.0/24 and 10.251.0.0/24, dynamic ports 41000-41999, temporary
// state and namespace directories), send traffic only to loopback and to
// namespaces they created, and remove everything in t.Cleanup.

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/go-logr/logr/testr"
	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"
)

const (
	testBridge     = "lst-br0"
	testTaskBridge = "lst-vpc0"
	testBridgeCIDR = "10.250.0.0/24"
	testTaskCIDR   = "10.251.0.0/24"
)

// nodeConfig returns a test configuration and registers a cleanup that
// tears down whatever the test left and deletes the test bridges.
func nodeConfig(t *testing.T) Config {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("node tests need root (network namespaces, bridges, iptables)")
	}
	for _, p := range requiredPlugins {
		if _, err := findPlugin([]string{DefaultPluginDir}, p); err != nil {
			t.Skipf("CNI plugins are not installed (apt-get install containernetworking-plugins): %v", err)
		}
	}
	if _, err := exec.LookPath("iptables-save"); err != nil {
		t.Skip("iptables is not installed")
	}
	root := t.TempDir()
	cfg := Config{
		StateDir:       filepath.Join(root, "state"),
		NetNSDir:       filepath.Join(root, "netns"),
		ConfDir:        filepath.Join(root, "net.d"),
		BridgeName:     testBridge,
		BridgeCIDR:     testBridgeCIDR,
		TaskBridgeName: testTaskBridge,
		TaskCIDR:       testTaskCIDR,
		PortRangeMin:   41000,
		PortRangeMax:   41999,
	}
	t.Cleanup(func() {
		ctx := testContext(t)
		if c, err := New(cfg); err == nil {
			if err := c.GC(ctx, nil); err != nil {
				t.Errorf("cleanup GC: %v", err)
			}
		} else {
			t.Errorf("cleanup New: %v", err)
		}
		entries, _ := os.ReadDir(cfg.NetNSDir)
		for _, e := range entries {
			if err := removeNetNS(filepath.Join(cfg.NetNSDir, e.Name())); err != nil {
				t.Errorf("cleanup: %v", err)
			}
		}
		for _, br := range []string{testBridge, testTaskBridge} {
			if _, err := os.Stat("/sys/class/net/" + br); err == nil {
				if out, err := exec.Command("ip", "link", "del", br).CombinedOutput(); err != nil {
					t.Errorf("cleanup: ip link del %s: %v: %s", br, err, out)
				}
			}
		}
	})
	return cfg
}

// testContext carries a logger that writes to the test log.
func testContext(t *testing.T) context.Context {
	return logr.NewContext(context.Background(), testr.New(t))
}

func newNodeCNI(t *testing.T, cfg Config) *CNI {
	t.Helper()
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// inNetNS runs fn on a locked thread inside the namespace pinned at path.
func inNetNS(path string, fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := os.Open(fmt.Sprintf("/proc/self/task/%d/ns/net", unix.Gettid()))
		if err != nil {
			errc <- err
			return
		}
		defer func() { _ = orig.Close() }()
		target, err := os.Open(path)
		if err != nil {
			errc <- err
			return
		}
		defer func() { _ = target.Close() }()
		if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("setns %s: %w", path, err)
			return
		}
		ferr := fn()
		if err := unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("back to the host namespace: %w", err) // the thread stays locked and dies
			return
		}
		runtime.UnlockOSThread()
		errc <- ferr
	}()
	return <-errc
}

type nsIface struct {
	Name  string
	MAC   string
	Up    bool
	Addrs []string
}

// nsInterfaces lists the interfaces of a namespace with their IPv4
// addresses.
func nsInterfaces(t *testing.T, path string) []nsIface {
	t.Helper()
	var out []nsIface
	err := inNetNS(path, func() error {
		ifs, err := net.Interfaces()
		if err != nil {
			return err
		}
		for _, i := range ifs {
			ni := nsIface{Name: i.Name, MAC: i.HardwareAddr.String(), Up: i.Flags&net.FlagUp != 0}
			addrs, err := i.Addrs()
			if err != nil {
				return err
			}
			for _, a := range addrs {
				if ipn, ok := a.(*net.IPNet); ok && ipn.IP.To4() != nil {
					ni.Addrs = append(ni.Addrs, ipn.String())
				}
			}
			out = append(out, ni)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("interfaces of %s: %v", path, err)
	}
	slices.SortFunc(out, func(a, b nsIface) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// serveInNetNS starts a TCP server inside the namespace that answers each
// line with "<port>:<line>". It returns a function that stops it.
func serveInNetNS(t *testing.T, path, ip string, port int) func() {
	t.Helper()
	var l net.Listener
	err := inNetNS(path, func() error {
		var err error
		l, err = net.Listen("tcp4", net.JoinHostPort(ip, fmt.Sprint(port)))
		return err
	})
	if err != nil {
		t.Fatalf("listen in %s: %v", path, err)
	}
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer func() { _ = conn.Close() }()
				_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
				line, err := bufio.NewReader(conn).ReadString('\n')
				if err != nil {
					return
				}
				_, _ = fmt.Fprintf(conn, "%d:%s", port, line)
			}()
		}
	}()
	stop := func() { _ = l.Close() }
	t.Cleanup(stop)
	return stop
}

// roundTrip sends a line to addr and returns the answer.
func roundTrip(addr, msg string) (string, error) {
	conn, err := net.DialTimeout("tcp4", addr, 3*time.Second)
	if err != nil {
		return "", err
	}
	defer func() { _ = conn.Close() }()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := fmt.Fprintf(conn, "%s\n", msg); err != nil {
		return "", err
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	return strings.TrimSuffix(line, "\n"), err
}

func expectEcho(t *testing.T, addr string, port int) {
	t.Helper()
	msg := fmt.Sprintf("hello-%d", time.Now().UnixNano())
	got, err := roundTrip(addr, msg)
	if err != nil {
		t.Fatalf("connect to %s: %v", addr, err)
	}
	if want := fmt.Sprintf("%d:%s", port, msg); got != want {
		t.Fatalf("answer from %s = %q, want %q", addr, got, want)
	}
}

// expectEchoInNetNS connects from inside the namespace.
func expectEchoInNetNS(t *testing.T, path, addr string, port int) {
	t.Helper()
	msg := "inside"
	var got string
	err := inNetNS(path, func() error {
		var err error
		got, err = roundTrip(addr, msg)
		return err
	})
	if err != nil {
		t.Fatalf("connect to %s inside %s: %v", addr, path, err)
	}
	if want := fmt.Sprintf("%d:%s", port, msg); got != want {
		t.Fatalf("answer = %q, want %q", got, want)
	}
}

// freeHostPort returns a TCP port nothing listens on right now.
func freeHostPort(t *testing.T) int32 {
	t.Helper()
	l, err := net.Listen("tcp4", "0.0.0.0:0")
	if err != nil {
		t.Fatal(err)
	}
	port := int32(l.Addr().(*net.TCPAddr).Port)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return port
}

func bridgePorts(bridge string) []string {
	entries, _ := os.ReadDir(filepath.Join("/sys/class/net", bridge, "brif"))
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

func iptablesSave(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("iptables-save").CombinedOutput()
	if err != nil {
		t.Fatalf("iptables-save: %v: %s", err, out)
	}
	return string(out)
}

func mountedAt(t *testing.T, path string) bool {
	t.Helper()
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) > 4 && f[4] == path {
			return true
		}
	}
	return false
}

// footprint is what one attachment leaves on the host.
type footprint struct {
	id        string
	ip        string
	netns     string
	bridge    string
	veths     []string // host ends on the bridge
	ipamFile  string   // "" for none
	hostPorts []int32
	nsInode   uint64 // of the pinned namespace, 0 if unknown
}

func netnsInode(t *testing.T, path string) uint64 {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		t.Fatalf("stat %s: %v", path, err)
	}
	return st.Ino
}

// assertNamespaceReleased checks that no thread or file of this process
// still holds the namespace (which would keep it and its interfaces alive
// after unmount).
func assertNamespaceReleased(t *testing.T, id string, inode uint64) {
	t.Helper()
	want := fmt.Sprintf("net:[%d]", inode)
	for _, pat := range []string{"/proc/self/task/*/ns/net", "/proc/self/fd/*"} {
		matches, _ := filepath.Glob(pat)
		for _, p := range matches {
			if l, err := os.Readlink(p); err == nil && l == want {
				t.Errorf("%s: %s still holds the namespace", id, p)
			}
		}
	}
}

// footprintOf records the host-side facts of an attachment just set up;
// vethsBefore are the bridge ports before Setup.
func footprintOf(t *testing.T, c *CNI, a *Attachment, bridge string, vethsBefore []string) footprint {
	t.Helper()
	fp := footprint{id: a.ID, ip: a.IPv4, netns: a.NetNSPath, bridge: bridge, nsInode: netnsInode(t, a.NetNSPath)}
	if bridge != "" {
		for _, v := range bridgePorts(bridge) {
			if !slices.Contains(vethsBefore, v) {
				fp.veths = append(fp.veths, v)
			}
		}
		fp.ipamFile = filepath.Join(c.ipamDir, networkName(bridge), a.IPv4)
	}
	for _, b := range a.Bindings {
		fp.hostPorts = append(fp.hostPorts, b.HostPort)
	}
	return fp
}

func ipPattern(ip string) *regexp.Regexp {
	return regexp.MustCompile(`(^|[^0-9.])` + regexp.QuoteMeta(ip) + `([/:\s]|$)`)
}

func portPattern(port int32) *regexp.Regexp {
	return regexp.MustCompile(fmt.Sprintf(`--dport %d(\s|$)`, port))
}

// assertPresent checks that the attachment really exists on the host, so
// that assertGone means something.
func assertPresent(t *testing.T, c *CNI, fp footprint) {
	t.Helper()
	if ok, err := isNetNS(fp.netns); err != nil || !ok {
		t.Errorf("%s: namespace %s is not pinned (%v)", fp.id, fp.netns, err)
	}
	if fp.bridge == "" {
		return
	}
	if len(fp.veths) != 1 {
		t.Errorf("%s: host veths on %s = %v, want exactly one new", fp.id, fp.bridge, fp.veths)
	}
	data, err := os.ReadFile(fp.ipamFile)
	if err != nil || !strings.HasPrefix(string(data), fp.id) {
		t.Errorf("%s: IPAM reservation %s = %q, %v; want it held by the attachment", fp.id, fp.ipamFile, data, err)
	}
	rules := iptablesSave(t)
	if !strings.Contains(rules, fp.id) {
		t.Errorf("%s: no iptables rule mentions the attachment (ipMasq/portmap comments expected)", fp.id)
	}
	if !ipPattern(fp.ip).MatchString(rules) {
		t.Errorf("%s: no iptables rule mentions %s (firewall plugin rules expected)", fp.id, fp.ip)
	}
	for _, p := range fp.hostPorts {
		if !portPattern(p).MatchString(rules) {
			t.Errorf("%s: no iptables rule for host port %d", fp.id, p)
		}
	}
	if entries, _ := filepath.Glob(filepath.Join(c.cacheDir, "results", "*-"+fp.id+"-*")); len(entries) == 0 {
		t.Errorf("%s: no libcni cache entry", fp.id)
	}
}

// assertGone checks that nothing of the attachment is left.
func assertGone(t *testing.T, c *CNI, fp footprint) {
	t.Helper()
	if _, err := os.Stat(fp.netns); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s: namespace file %s still exists (%v)", fp.id, fp.netns, err)
	}
	if mountedAt(t, fp.netns) {
		t.Errorf("%s: %s is still mounted", fp.id, fp.netns)
	}
	if fp.nsInode != 0 {
		assertNamespaceReleased(t, fp.id, fp.nsInode)
	}
	for _, v := range fp.veths {
		// DEL deletes the pair at once; a namespace that vanished without
		// DEL takes its veth with it asynchronously (kernel cleanup_net).
		deadline := time.Now().Add(5 * time.Second)
		for {
			_, err := os.Stat("/sys/class/net/" + v)
			if errors.Is(err, os.ErrNotExist) {
				break
			}
			if time.Now().After(deadline) {
				t.Errorf("%s: host veth %s still exists", fp.id, v)
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	if fp.ipamFile != "" {
		if _, err := os.Stat(fp.ipamFile); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s: IPAM reservation %s still exists", fp.id, fp.ipamFile)
		}
	}
	assertNoIPAMFor(t, c, fp.id)
	rules := iptablesSave(t)
	for _, line := range strings.Split(rules, "\n") {
		if strings.Contains(line, fp.id) {
			t.Errorf("%s: iptables rule left: %s", fp.id, line)
		}
		if fp.ip != "" && ipPattern(fp.ip).MatchString(line) {
			t.Errorf("%s: iptables rule for %s left: %s", fp.id, fp.ip, line)
		}
		for _, p := range fp.hostPorts {
			if portPattern(p).MatchString(line) {
				t.Errorf("%s: iptables rule for host port %d left: %s", fp.id, p, line)
			}
		}
	}
	if entries, _ := filepath.Glob(filepath.Join(c.cacheDir, "results", "*-"+fp.id+"-*")); len(entries) != 0 {
		t.Errorf("%s: libcni cache entries left: %v", fp.id, entries)
	}
	if _, err := os.Stat(c.store.path(fp.id)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s: state file left (%v)", fp.id, err)
	}
	list, err := c.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range list {
		if a.ID == fp.id {
			t.Errorf("%s: still listed", fp.id)
		}
	}
}

// assertNoIPAMFor checks that no host-local reservation names id.
func assertNoIPAMFor(t *testing.T, c *CNI, id string) {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(c.ipamDir, "*", "*"))
	for _, f := range files {
		if owner, err := ipamOwner(f); err == nil && owner == id {
			t.Errorf("%s: IPAM reservation %s left", id, f)
		}
	}
}

func ipamReservations(t *testing.T, c *CNI, id string) []string {
	t.Helper()
	var out []string
	files, _ := filepath.Glob(filepath.Join(c.ipamDir, "*", "*"))
	for _, f := range files {
		if owner, err := ipamOwner(f); err == nil && owner == id && net.ParseIP(filepath.Base(f)) != nil {
			out = append(out, filepath.Base(f))
		}
	}
	return out
}

func testID(t *testing.T, name string) string {
	return fmt.Sprintf("lst-%s-%d", name, time.Now().UnixNano()%1e9)
}

func expectInSubnet(t *testing.T, a *Attachment, cidr, gateway string) {
	t.Helper()
	_, n, _ := net.ParseCIDR(cidr)
	ip := net.ParseIP(a.IPv4)
	if ip == nil || !n.Contains(ip) || ip.Equal(n.IP) || a.IPv4 == gateway {
		t.Errorf("%s: IPv4 %q is not a host address of %s", a.ID, a.IPv4, cidr)
	}
	if a.Subnet != cidr || a.Gateway != gateway || a.Interface != "eth0" {
		t.Errorf("%s: subnet %q gateway %q interface %q, want %s %s eth0", a.ID, a.Subnet, a.Gateway, a.Interface, cidr, gateway)
	}
}

// expectPodInterfaces checks that the namespace has exactly lo and eth0,
// both up, eth0 with the attachment's address and MAC.
func expectPodInterfaces(t *testing.T, a *Attachment) {
	t.Helper()
	ones, _ := net.IPMask(net.ParseIP("255.255.255.0").To4()).Size()
	want := []nsIface{
		{Name: "eth0", MAC: a.MAC, Up: true, Addrs: []string{fmt.Sprintf("%s/%d", a.IPv4, ones)}},
		{Name: "lo", Up: true, Addrs: []string{"127.0.0.1/8"}},
	}
	if diff := cmp.Diff(want, nsInterfaces(t, a.NetNSPath)); diff != "" {
		t.Errorf("%s: interfaces in the namespace (-want +got):\n%s", a.ID, diff)
	}
}

func TestNodeBridge(t *testing.T) {
	ctx := testContext(t)
	cfg := nodeConfig(t)
	c := newNodeCNI(t, cfg)
	id := testID(t, "web")
	static := freeHostPort(t)
	before := bridgePorts(testBridge)

	start := time.Now()
	a, err := c.Setup(ctx, SetupRequest{
		ID:   id,
		Mode: ModeBridge,
		PortMappings: []PortMapping{
			{ContainerPort: 8080, HostPort: static, Protocol: "tcp"},
			{ContainerPort: 9090, Protocol: "tcp"},
		},
		Labels: map[string]string{"task": "default/web"},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("bridge Setup took %v", time.Since(start))
	expectInSubnet(t, a, testBridgeCIDR, "10.250.0.1")
	if len(a.Bindings) != 2 || a.Bindings[0].HostPort != static || a.Bindings[1].HostPort < 41000 || a.Bindings[1].HostPort > 41999 {
		t.Fatalf("bindings = %+v, want %d and one in 41000-41999", a.Bindings, static)
	}
	dynamic := a.Bindings[1].HostPort
	if want := filepath.Join(cfg.NetNSDir, id); a.NetNSPath != want {
		t.Errorf("NetNSPath = %q, want %q", a.NetNSPath, want)
	}
	expectPodInterfaces(t, a)
	fp := footprintOf(t, c, a, testBridge, before)
	assertPresent(t, c, fp)

	stop1 := serveInNetNS(t, a.NetNSPath, "0.0.0.0", 8080)
	stop2 := serveInNetNS(t, a.NetNSPath, "0.0.0.0", 9090)
	expectEcho(t, fmt.Sprintf("127.0.0.1:%d", static), 8080)
	expectEcho(t, fmt.Sprintf("127.0.0.1:%d", dynamic), 9090)
	expectEcho(t, net.JoinHostPort(a.IPv4, "8080"), 8080)
	stop1()
	stop2()

	start = time.Now()
	if err := c.Teardown(ctx, id); err != nil {
		t.Fatal(err)
	}
	t.Logf("bridge Teardown took %v", time.Since(start))
	assertGone(t, c, fp)
	if err := c.Teardown(ctx, id); err != nil {
		t.Errorf("second Teardown: %v", err)
	}
	if _, err := roundTrip(fmt.Sprintf("127.0.0.1:%d", static), "x"); err == nil {
		t.Error("published port still answers after Teardown")
	}
}

func TestNodeAWSVPC(t *testing.T) {
	ctx := testContext(t)
	cfg := nodeConfig(t)
	c := newNodeCNI(t, cfg)
	id := testID(t, "task")
	before := bridgePorts(testTaskBridge)

	a, err := c.Setup(ctx, SetupRequest{ID: id, Mode: ModeAWSVPC})
	if err != nil {
		t.Fatal(err)
	}
	expectInSubnet(t, a, testTaskCIDR, "10.251.0.1")
	expectPodInterfaces(t, a)
	fp := footprintOf(t, c, a, testTaskBridge, before)
	assertPresent(t, c, fp)

	stop := serveInNetNS(t, a.NetNSPath, "0.0.0.0", 8080)
	expectEcho(t, net.JoinHostPort(a.IPv4, "8080"), 8080)
	stop()

	if err := c.Teardown(ctx, id); err != nil {
		t.Fatal(err)
	}
	assertGone(t, c, fp)
}

func TestNodeNone(t *testing.T) {
	ctx := testContext(t)
	cfg := nodeConfig(t)
	c := newNodeCNI(t, cfg)
	id := testID(t, "none")
	rulesBefore := iptablesSave(t)

	a, err := c.Setup(ctx, SetupRequest{ID: id, Mode: ModeNone})
	if err != nil {
		t.Fatal(err)
	}
	want := &Attachment{ID: id, Mode: ModeNone, NetNSPath: filepath.Join(cfg.NetNSDir, id)}
	if diff := cmp.Diff(want, a); diff != "" {
		t.Errorf("attachment (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]nsIface{{Name: "lo", Up: true, Addrs: []string{"127.0.0.1/8"}}}, nsInterfaces(t, a.NetNSPath)); diff != "" {
		t.Errorf("interfaces in the namespace (-want +got):\n%s", diff)
	}
	if strings.Contains(iptablesSave(t), id) {
		t.Error("none mode added iptables rules")
	}
	inode := netnsInode(t, a.NetNSPath)
	stop := serveInNetNS(t, a.NetNSPath, "127.0.0.1", 8080)
	expectEchoInNetNS(t, a.NetNSPath, "127.0.0.1:8080", 8080)
	// The host's loopback is another one: nothing of ours answers there
	// (unless a host process happens to listen on 8080, hence no check).
	stop()

	if err := c.Teardown(ctx, id); err != nil {
		t.Fatal(err)
	}
	assertGone(t, c, footprint{id: id, netns: a.NetNSPath, nsInode: inode})
	if rulesAfter := iptablesSave(t); countRules(rulesAfter) != countRules(rulesBefore) {
		t.Logf("rule count changed from %d to %d (other users of iptables?)", countRules(rulesBefore), countRules(rulesAfter))
	}
}

func countRules(s string) int { return strings.Count(s, "\n-A ") }

// TestNodeIdempotentGCRestart: Setup twice gives the same attachment; two
// attachments get different IPs and ports; GC tears down what is not kept;
// a restarted instance knows the survivors and their ports.
func TestNodeIdempotentGCRestart(t *testing.T) {
	ctx := testContext(t)
	cfg := nodeConfig(t)
	c := newNodeCNI(t, cfg)
	idA, idB := testID(t, "a"), testID(t, "b")
	req := func(id string) SetupRequest {
		return SetupRequest{ID: id, Mode: ModeBridge, PortMappings: []PortMapping{{ContainerPort: 80}}}
	}

	before := bridgePorts(testBridge)
	a, err := c.Setup(ctx, req(idA))
	if err != nil {
		t.Fatal(err)
	}
	fpA := footprintOf(t, c, a, testBridge, before)
	again, err := c.Setup(ctx, req(idA))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(a, again); diff != "" {
		t.Errorf("second Setup differs (-first +second):\n%s", diff)
	}
	if got := bridgePorts(testBridge); len(got) != len(before)+1 {
		t.Errorf("bridge ports after two Setups of one ID: %v", got)
	}
	if got := ipamReservations(t, c, idA); len(got) != 1 {
		t.Errorf("IPAM reservations of %s: %v, want one", idA, got)
	}
	if _, err := c.Setup(ctx, SetupRequest{ID: idA, Mode: ModeAWSVPC}); err == nil || !strings.Contains(err.Error(), "different configuration") {
		t.Errorf("Setup of an existing ID with another mode: err = %v", err)
	}

	before = bridgePorts(testBridge)
	b, err := c.Setup(ctx, req(idB))
	if err != nil {
		t.Fatal(err)
	}
	fpB := footprintOf(t, c, b, testBridge, before)
	if a.IPv4 == b.IPv4 || a.MAC == b.MAC || a.Bindings[0].HostPort == b.Bindings[0].HostPort {
		t.Errorf("two attachments share an address or port: %+v and %+v", a, b)
	}
	assertPresent(t, c, fpA)
	assertPresent(t, c, fpB)

	if err := c.GC(ctx, map[string]bool{idB: true}); err != nil {
		t.Fatal(err)
	}
	assertGone(t, c, fpA)
	assertPresent(t, c, fpB)
	stop := serveInNetNS(t, b.NetNSPath, "0.0.0.0", 80)
	expectEcho(t, fmt.Sprintf("127.0.0.1:%d", b.Bindings[0].HostPort), 80)
	stop()

	// Restart: a new instance on the same directories.
	c2 := newNodeCNI(t, cfg)
	list, err := c2.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]Attachment{*b}, list); diff != "" {
		t.Errorf("List after restart (-want +got):\n%s", diff)
	}
	if got, err := c2.Setup(ctx, req(idB)); err != nil || !cmp.Equal(got, b) {
		t.Errorf("Setup after restart = %+v, %v; want the recorded attachment", got, err)
	}
	_, err = c2.Setup(ctx, SetupRequest{ID: testID(t, "c"), Mode: ModeBridge, PortMappings: []PortMapping{{ContainerPort: 80, HostPort: b.Bindings[0].HostPort}}})
	if !errors.Is(err, ErrPortInUse) {
		t.Errorf("static port of a recorded attachment after restart: err = %v", err)
	}
	if err := c2.Teardown(ctx, idB); err != nil {
		t.Fatal(err)
	}
	assertGone(t, c2, fpB)
}

func TestNodeHostPortInUse(t *testing.T) {
	ctx := testContext(t)
	cfg := nodeConfig(t)
	c := newNodeCNI(t, cfg)

	l, err := net.Listen("tcp4", "0.0.0.0:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = l.Close() }()
	port := int32(l.Addr().(*net.TCPAddr).Port)
	id := testID(t, "busy")
	_, err = c.Setup(ctx, SetupRequest{ID: id, Mode: ModeBridge, PortMappings: []PortMapping{{ContainerPort: 80, HostPort: port}}})
	if want := fmt.Sprintf("host port %d/tcp is already in use", port); err == nil || !strings.Contains(err.Error(), want) || !errors.Is(err, ErrPortInUse) {
		t.Fatalf("err = %v, want %q", err, want)
	}
	assertGone(t, c, footprint{id: id, netns: filepath.Join(cfg.NetNSDir, id)})

	// Held by another attachment (portmap binds no socket: only the
	// recorded state knows).
	other := freeHostPort(t)
	idX, idY := testID(t, "x"), testID(t, "y")
	if _, err := c.Setup(ctx, SetupRequest{ID: idX, Mode: ModeBridge, PortMappings: []PortMapping{{ContainerPort: 80, HostPort: other}}}); err != nil {
		t.Fatal(err)
	}
	_, err = c.Setup(ctx, SetupRequest{ID: idY, Mode: ModeBridge, PortMappings: []PortMapping{{ContainerPort: 81, HostPort: other}}})
	if want := fmt.Sprintf("host port %d/tcp is already in use by attachment %s", other, idX); err == nil || err.Error() != want {
		t.Fatalf("err = %v, want %q", err, want)
	}
	assertGone(t, c, footprint{id: idY, netns: filepath.Join(cfg.NetNSDir, idY)})
	// UDP of the same number is another port.
	if _, err := c.Setup(ctx, SetupRequest{ID: idY, Mode: ModeBridge, PortMappings: []PortMapping{{ContainerPort: 81, HostPort: other, Protocol: "udp"}}}); err != nil {
		t.Errorf("udp port with the number of a used tcp port: %v", err)
	}
}

// crashSetup does what Setup does up to step ("state": the state file
// written, "netns": the namespace pinned too, "add": CNI ADD run too) and
// stops there, as an agent killed at that point would.
func crashSetup(t *testing.T, c *CNI, req SetupRequest, step string) {
	t.Helper()
	ctx := testContext(t)
	req, err := normalizeRequest(req)
	if err != nil {
		t.Fatal(err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	_, st, err := c.beginLocked(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if step == "state" {
		return
	}
	if err := createNetNS(st.NetNSPath); err != nil {
		t.Fatal(err)
	}
	if step == "netns" {
		return
	}
	if _, err := c.cniAdd(ctx, st); err != nil {
		t.Fatal(err)
	}
}

// TestNodeCrashRecovery: an agent that dies after writing the state file,
// after pinning the namespace or after CNI ADD leaves nothing behind once
// a restarted agent runs Teardown, GC or Setup again.
func TestNodeCrashRecovery(t *testing.T) {
	for _, step := range []string{"state", "netns", "add"} {
		for _, recovery := range []string{"Teardown", "GC", "Setup"} {
			t.Run(step+"/"+recovery, func(t *testing.T) {
				ctx := testContext(t)
				cfg := nodeConfig(t)
				c := newNodeCNI(t, cfg)
				id := testID(t, "crash")
				before := bridgePorts(testBridge)
				req := SetupRequest{ID: id, Mode: ModeBridge, PortMappings: []PortMapping{{ContainerPort: 80}}}
				crashSetup(t, c, req, step)
				nsPath := filepath.Join(cfg.NetNSDir, id)
				fp := footprint{id: id, netns: nsPath, bridge: testBridge}
				if step == "add" {
					for _, v := range bridgePorts(testBridge) {
						if !slices.Contains(before, v) {
							fp.veths = append(fp.veths, v)
						}
					}
					if got := ipamReservations(t, c, id); len(got) != 1 {
						t.Fatalf("after ADD: reservations %v, want one", got)
					} else {
						fp.ip = got[0]
						fp.ipamFile = filepath.Join(c.ipamDir, networkName(testBridge), got[0])
					}
					fp.hostPorts = []int32{c.states[id].Ports[0].HostPort}
					assertPresent(t, c, fp)
				}

				c2 := newNodeCNI(t, cfg) // the restarted agent
				list, err := c2.List(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if len(list) != 1 || list[0].ID != id || list[0].IPv4 != "" {
					t.Fatalf("List after the crash = %+v, want the interrupted attachment without address", list)
				}
				switch recovery {
				case "Teardown":
					if err := c2.Teardown(ctx, id); err != nil {
						t.Fatal(err)
					}
				case "GC":
					if err := c2.GC(ctx, nil); err != nil {
						t.Fatal(err)
					}
				case "Setup":
					a, err := c2.Setup(ctx, req)
					if err != nil {
						t.Fatal(err)
					}
					expectPodInterfaces(t, a)
					if got := ipamReservations(t, c2, id); len(got) != 1 || got[0] != a.IPv4 {
						t.Errorf("reservations after Setup again: %v, want only %s", got, a.IPv4)
					}
					stop := serveInNetNS(t, a.NetNSPath, "0.0.0.0", 80)
					expectEcho(t, fmt.Sprintf("127.0.0.1:%d", a.Bindings[0].HostPort), 80)
					stop()
					if err := c2.Teardown(ctx, id); err != nil {
						t.Fatal(err)
					}
					fp.hostPorts = append(fp.hostPorts, a.Bindings[0].HostPort)
				}
				assertGone(t, c2, fp)
				if got := bridgePorts(testBridge); !cmp.Equal(got, before) {
					t.Errorf("bridge ports %v, want %v as before", got, before)
				}
			})
		}
	}
}

// TestNodeGCUnrecorded: an attachment whose state file was lost is found
// through the libcni cache and deleted by GC (IP, iptables, veth,
// namespace); a host-local reservation that nobody records is released.
func TestNodeGCUnrecorded(t *testing.T) {
	ctx := testContext(t)
	cfg := nodeConfig(t)
	c := newNodeCNI(t, cfg)
	idLost, idKept := testID(t, "lost"), testID(t, "kept")
	before := bridgePorts(testBridge)
	lost, err := c.Setup(ctx, SetupRequest{ID: idLost, Mode: ModeBridge, PortMappings: []PortMapping{{ContainerPort: 80}}})
	if err != nil {
		t.Fatal(err)
	}
	fpLost := footprintOf(t, c, lost, testBridge, before)
	before = bridgePorts(testBridge)
	kept, err := c.Setup(ctx, SetupRequest{ID: idKept, Mode: ModeBridge})
	if err != nil {
		t.Fatal(err)
	}
	fpKept := footprintOf(t, c, kept, testBridge, before)
	if err := os.Remove(c.store.path(idLost)); err != nil {
		t.Fatal(err)
	}
	ghost := filepath.Join(c.ipamDir, networkName(testBridge), "10.250.0.250")
	if err := os.WriteFile(ghost, []byte("lst-ghost\r\neth0"), 0o600); err != nil {
		t.Fatal(err)
	}

	c2 := newNodeCNI(t, cfg)
	if err := c2.GC(ctx, map[string]bool{idKept: true}); err != nil {
		t.Fatal(err)
	}
	assertGone(t, c2, fpLost)
	assertPresent(t, c2, fpKept)
	if _, err := os.Stat(ghost); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("unrecorded IPAM reservation was not released")
	}
	if err := c2.Teardown(ctx, idKept); err != nil {
		t.Fatal(err)
	}
	assertGone(t, c2, fpKept)
}

// TestNodeUserCNIConfig: awsvpc with a conflist named by the Cluster; DEL
// uses the recorded configuration even after the file is gone.
func TestNodeUserCNIConfig(t *testing.T) {
	ctx := testContext(t)
	cfg := nodeConfig(t)
	userIPAM := filepath.Join(t.TempDir(), "ipam")
	if err := os.MkdirAll(cfg.ConfDir, 0o755); err != nil {
		t.Fatal(err)
	}
	conf := fmt.Sprintf(`{
  "cniVersion": "1.0.0",
  "name": "lst-user",
  "plugins": [
    {"type": "bridge", "bridge": %q, "isGateway": true,
     "ipam": {"type": "host-local", "ranges": [[{"subnet": %q, "rangeStart": "10.251.0.100"}]], "dataDir": %q}},
    {"type": "firewall"}
  ]
}`, testTaskBridge, testTaskCIDR, userIPAM)
	confFile := filepath.Join(cfg.ConfDir, "10-user.conflist")
	if err := os.WriteFile(confFile, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	c := newNodeCNI(t, cfg)
	id := testID(t, "user")
	before := bridgePorts(testTaskBridge)
	a, err := c.Setup(ctx, SetupRequest{ID: id, Mode: ModeAWSVPC, CNIConfig: "lst-user"})
	if err != nil {
		t.Fatal(err)
	}
	if ip := net.ParseIP(a.IPv4).To4(); ip == nil || !strings.HasPrefix(a.IPv4, "10.251.0.") || ip[3] < 100 {
		t.Errorf("IPv4 = %q, want one from the user's range 10.251.0.100+", a.IPv4)
	}
	expectPodInterfaces(t, a)
	reservation := filepath.Join(userIPAM, "lst-user", a.IPv4)
	if _, err := os.Stat(reservation); err != nil {
		t.Errorf("user IPAM reservation: %v", err)
	}
	stop := serveInNetNS(t, a.NetNSPath, "0.0.0.0", 8080)
	expectEcho(t, net.JoinHostPort(a.IPv4, "8080"), 8080)
	stop()

	if err := os.Remove(confFile); err != nil {
		t.Fatal(err)
	}
	fp := footprintOf(t, c, a, testTaskBridge, before)
	fp.ipamFile = reservation
	if err := c.Teardown(ctx, id); err != nil {
		t.Fatal(err)
	}
	assertGone(t, c, fp)
}

// TestNodeNamespaceVanished: the namespace was removed behind the agent's
// back before DEL. The bridge plugin cannot find its masquerade rules then;
// Teardown (recorded attachment) and GC (state file lost too) remove them
// anyway, along with the IP and the port forwarding.
func TestNodeNamespaceVanished(t *testing.T) {
	for _, how := range []string{"Teardown", "GC"} {
		t.Run(how, func(t *testing.T) {
			ctx := testContext(t)
			cfg := nodeConfig(t)
			c := newNodeCNI(t, cfg)
			id := testID(t, "gone")
			before := bridgePorts(testBridge)
			a, err := c.Setup(ctx, SetupRequest{ID: id, Mode: ModeBridge, PortMappings: []PortMapping{{ContainerPort: 80}}})
			if err != nil {
				t.Fatal(err)
			}
			fp := footprintOf(t, c, a, testBridge, before)
			assertPresent(t, c, fp)
			if !strings.Contains(iptablesSave(t), masqChainName(networkName(testBridge), id)) {
				t.Fatalf("masquerade chain %s not found: the chain name formula is wrong", masqChainName(networkName(testBridge), id))
			}
			if err := removeNetNS(a.NetNSPath); err != nil {
				t.Fatal(err)
			}
			switch how {
			case "Teardown":
				if err := c.Teardown(ctx, id); err != nil {
					t.Fatal(err)
				}
			case "GC":
				if err := os.Remove(c.store.path(id)); err != nil {
					t.Fatal(err)
				}
				c = newNodeCNI(t, cfg)
				if err := c.GC(ctx, nil); err != nil {
					t.Fatal(err)
				}
			}
			assertGone(t, c, fp)
		})
	}
}

// TestNodeSetupAfterLostState: a Setup for an ID whose state file was lost
// (but whose namespace, IP and rules exist) cleans the old one up first.
func TestNodeSetupAfterLostState(t *testing.T) {
	ctx := testContext(t)
	cfg := nodeConfig(t)
	c := newNodeCNI(t, cfg)
	id := testID(t, "relost")
	before := bridgePorts(testBridge)
	req := SetupRequest{ID: id, Mode: ModeBridge, PortMappings: []PortMapping{{ContainerPort: 80}}}
	first, err := c.Setup(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	fpFirst := footprintOf(t, c, first, testBridge, before)
	if err := os.Remove(c.store.path(id)); err != nil {
		t.Fatal(err)
	}
	c = newNodeCNI(t, cfg)
	second, err := c.Setup(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if got := ipamReservations(t, c, id); len(got) != 1 || got[0] != second.IPv4 {
		t.Errorf("reservations %v, want only %s", got, second.IPv4)
	}
	if got := bridgePorts(testBridge); len(got) != len(before)+1 {
		t.Errorf("bridge ports %v, want one more than %v", got, before)
	}
	// The first namespace, veth and reservation are gone already.
	assertNamespaceReleased(t, id, fpFirst.nsInode)
	for _, v := range fpFirst.veths {
		if _, err := os.Stat("/sys/class/net/" + v); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("first veth %s still exists", v)
		}
	}
	fpSecond := footprintOf(t, c, second, testBridge, before)
	assertPresent(t, c, fpSecond)
	stop := serveInNetNS(t, second.NetNSPath, "0.0.0.0", 80)
	expectEcho(t, fmt.Sprintf("127.0.0.1:%d", second.Bindings[0].HostPort), 80)
	stop()
	if err := c.Teardown(ctx, id); err != nil {
		t.Fatal(err)
	}
	fpSecond.hostPorts = append(fpSecond.hostPorts, fpFirst.hostPorts...)
	assertGone(t, c, fpSecond)
}

// TestSetTaskCIDRKeepsAttachments: an instance that learns its task subnet
// after registration goes on with the attachments it has, the one being
// set up included. (The agent used to build a second CNI then, which
// loaded the state file of a bridge attachment whose setup was under way,
// took it for an interrupted setup and tore the working namespace down
// under its container: the e2e "bridge task on its host port" failure.)
func TestSetTaskCIDRKeepsAttachments(t *testing.T) {
	ctx := testContext(t)
	cfg := nodeConfig(t)
	cidr := cfg.TaskCIDR
	cfg.TaskCIDR = ""
	c := newNodeCNI(t, cfg)
	bridge, err := c.Setup(ctx, SetupRequest{ID: "late-subnet-bridge", Mode: ModeBridge})
	if err != nil {
		t.Fatal(err)
	}
	inode := netnsInode(t, bridge.NetNSPath)
	if _, err := c.Setup(ctx, SetupRequest{ID: "late-subnet-vpc", Mode: ModeAWSVPC}); err == nil || !strings.Contains(err.Error(), "needs a task subnet") {
		t.Fatalf("awsvpc without a subnet: %v", err)
	}
	if err := c.SetTaskCIDR(cidr); err != nil {
		t.Fatal(err)
	}
	vpc, err := c.Setup(ctx, SetupRequest{ID: "late-subnet-vpc", Mode: ModeAWSVPC})
	if err != nil {
		t.Fatalf("awsvpc once the subnet is known: %v", err)
	}
	if _, n, _ := net.ParseCIDR(cidr); !n.Contains(net.ParseIP(vpc.IPv4)) {
		t.Errorf("awsvpc address %s is not in %s", vpc.IPv4, cidr)
	}
	again, err := c.Setup(ctx, SetupRequest{ID: "late-subnet-bridge", Mode: ModeBridge})
	if err != nil || again.IPv4 != bridge.IPv4 || netnsInode(t, again.NetNSPath) != inode {
		t.Errorf("the bridge attachment after SetTaskCIDR: %+v (%v), want the same namespace and address as %+v", again, err, bridge)
	}
	if err := c.SetTaskCIDR("10.250.9.0/24"); err == nil {
		t.Error("a second, different subnet was accepted")
	}
	for _, id := range []string{"late-subnet-bridge", "late-subnet-vpc"} {
		if err := c.Teardown(ctx, id); err != nil {
			t.Error(err)
		}
	}
}
