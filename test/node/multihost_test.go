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

package node

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ecsv1 "github.com/longshore-io/longshore/api/v1alpha1"
	"github.com/longshore-io/longshore/test/integration/framework"
)

// The hosts of the multi-host tests are network namespaces with an address
// of their own on a test network, their own default route and their own
// iptables; the network between them is one more namespace (a switch, or
// a router between two segments). Nothing goes through the real host.
const (
	mhTaskNetwork = "10.250.0.0/16"
	mhWebPort     = 8080
)

// topology is the test network: namespaces and the hosts' addresses.
type topology struct {
	t     *testing.T
	names []string
	// hosts maps a host's name to its namespace path and address.
	hosts map[string]mhHost
}

type mhHost struct {
	NetNS string
	Addr  string
}

func run(t *testing.T, name string, args ...string) {
	t.Helper()
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v: %s", name, strings.Join(args, " "), err, out)
	}
}

func inNS(ns string, args ...string) []string { return append([]string{"netns", "exec", ns}, args...) }

// newTopology builds the network namespaces: a "net" namespace with one
// bridge per segment and, when there are two segments, IP forwarding
// between them; each host has a veth into its segment's bridge, an
// address and a default route through the segment's gateway.
func newTopology(t *testing.T, prefix string, routed bool) *topology {
	tp := &topology{t: t, hosts: map[string]mhHost{}}
	netNS := prefix + "-net"
	tp.addNS(netNS)
	run(t, "ip", inNS(netNS, "ip", "link", "set", "lo", "up")...)
	run(t, "ip", inNS(netNS, "sysctl", "-qw", "net.ipv4.ip_forward=1")...)
	segments := map[string]string{"a": "172.31.77", "b": "172.31.77"}
	if routed {
		segments = map[string]string{"a": "172.31.78", "b": "172.31.79"}
	}
	made := map[string]bool{}
	for _, h := range []string{"a", "b"} {
		seg := segments[h]
		br := "br" + strings.ReplaceAll(seg[strings.LastIndex(seg, ".")+1:], ".", "")
		if !made[seg] {
			run(t, "ip", inNS(netNS, "ip", "link", "add", br, "type", "bridge")...)
			run(t, "ip", inNS(netNS, "ip", "addr", "add", seg+".1/24", "dev", br)...)
			run(t, "ip", inNS(netNS, "ip", "link", "set", br, "up")...)
			made[seg] = true
		}
		ns := prefix + "-h" + h
		tp.addNS(ns)
		addr := seg + ".1" + map[string]string{"a": "1", "b": "2"}[h]
		run(t, "ip", "link", "add", "lsmh-"+h, "netns", ns, "type", "veth", "peer", "name", "lsmp-"+h, "netns", netNS)
		run(t, "ip", inNS(netNS, "ip", "link", "set", "lsmp-"+h, "master", br, "up")...)
		run(t, "ip", inNS(ns, "ip", "link", "set", "lo", "up")...)
		run(t, "ip", inNS(ns, "ip", "link", "set", "lsmh-"+h, "name", "eth0")...)
		run(t, "ip", inNS(ns, "ip", "addr", "add", addr+"/24", "dev", "eth0")...)
		run(t, "ip", inNS(ns, "ip", "link", "set", "eth0", "up")...)
		run(t, "ip", inNS(ns, "ip", "route", "add", "default", "via", seg+".1")...)
		tp.hosts[h] = mhHost{NetNS: "/run/netns/" + ns, Addr: addr}
	}
	return tp
}

func (tp *topology) addNS(name string) {
	_ = exec.Command("ip", "netns", "delete", name).Run() // an interrupted run's
	run(tp.t, "ip", "netns", "add", name)
	tp.names = append(tp.names, name)
	tp.t.Cleanup(func() { _ = exec.Command("ip", "netns", "delete", name).Run() })
}

// forwardAPIServer listens on the loopback of the network namespace at
// nsPath, on the port of the test API server, and forwards to it: the
// agent there uses the suite's kubeconfig as it is.
func forwardAPIServer(t *testing.T, nsPath string) {
	t.Helper()
	u, err := url.Parse(env.Env.Config.Host)
	if err != nil {
		t.Fatal(err)
	}
	target := u.Host
	type result struct {
		l   net.Listener
		err error
	}
	ch := make(chan result, 1)
	go func() {
		// This thread enters the namespace and is never used again: a
		// goroutine that exits while locked ends its thread.
		runtime.LockOSThread()
		fd, err := unix.Open(nsPath, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			ch <- result{err: err}
			return
		}
		defer func() { _ = unix.Close(fd) }()
		if err := unix.Setns(fd, unix.CLONE_NEWNET); err != nil {
			ch <- result{err: err}
			return
		}
		l, err := net.Listen("tcp", target)
		ch <- result{l, err}
	}()
	r := <-ch
	if r.err != nil {
		t.Fatalf("listening in %s: %v", nsPath, r.err)
	}
	t.Cleanup(func() { _ = r.l.Close() })
	go func() {
		for {
			c, err := r.l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer func() { _ = c.Close() }()
				up, err := net.Dial("tcp", target)
				if err != nil {
					return
				}
				defer func() { _ = up.Close() }()
				go func() { _, _ = io.Copy(up, c) }()
				_, _ = io.Copy(c, up)
			}()
		}
	}()
}

// startManager runs the real longshore-manager against the suite's API
// server for the test: it assigns task subnets and runs Services.
func startManager(t *testing.T) {
	t.Helper()
	bin := framework.BuildBinary(t, "./cmd/manager")
	// StartProcess stops it when the test ends.
	framework.StartProcess(t, bin, "--kubeconfig", env.AdminKubeconfig(t), "--leader-elect=false",
		"--metrics-bind-address", "0", "--health-probe-bind-address", fmt.Sprintf("127.0.0.1:%d", framework.FreePort(t)))
}

// bridgeWebTaskDef is webTaskDef in bridge mode, its web port published on
// a dynamic host port.
func bridgeWebTaskDef() ecsv1.TaskDefinitionSpec {
	td := webTaskDef()
	td.NetworkMode = ecsv1.NetworkModeBridge
	td.ContainerDefinitions[0].PortMappings[0].HostPort = ptr.To[int32](0)
	return td
}

// checkBridgeAcrossHosts checks that bridge-mode tasks are reached as in
// ECS, on their host's address and host port (networkBindings), from the
// other host and from its awsvpc and bridge tasks; and that a bridge task
// reaches an awsvpc task on the other host by its address.
func checkBridgeAcrossHosts(t *testing.T, tp *topology, hostA, hostB *node, taskA *ecsv1.Task, urlB string) {
	t.Helper()
	bridgeA := hostA.wait(hostA.task("bridge-a", bridgeWebTaskDef()), 60*time.Second, "RUNNING", phase(ecsv1.TaskRunning))
	bridgeB := hostB.wait(hostB.task("bridge-b", bridgeWebTaskDef()), 60*time.Second, "RUNNING", phase(ecsv1.TaskRunning))
	var hostPort int32
	for _, c := range bridgeB.Status.Containers {
		for _, b := range c.NetworkBindings {
			if c.Name == "web" && b.ContainerPort == mhWebPort {
				hostPort = b.HostPort
			}
		}
	}
	if hostPort == 0 {
		t.Fatalf("bridge-b publishes no host port for web: %+v", bridgeB.Status.Containers)
	}
	urlBridgeB := fmt.Sprintf("http://%s:%d/", tp.hosts["b"].Addr, hostPort)
	framework.Eventually(t, 20*time.Second, "host a fetches the bridge task on b at "+urlBridgeB, func() error {
		return fetchFromHost(tp.hosts["a"], urlBridgeB)
	})
	framework.Eventually(t, 20*time.Second, "the awsvpc task on a fetches the bridge task on b", func() error {
		return fetchFromTask(hostA, taskA, urlBridgeB)
	})
	framework.Eventually(t, 20*time.Second, "the bridge task on a fetches the bridge task on b", func() error {
		return fetchFromTask(hostA, bridgeA, urlBridgeB)
	})
	framework.Eventually(t, 20*time.Second, "the bridge task on a fetches the awsvpc task on b by its address", func() error {
		return fetchFromTask(hostA, bridgeA, urlB)
	})
	hostA.deleteTask(bridgeA)
	hostB.deleteTask(bridgeB)
}

// webTaskDef serves the test image's page and /cgi-bin/ip, which answers
// the client's address as the server sees it.
func webTaskDef() ecsv1.TaskDefinitionSpec {
	web := container("web", "sh", "-c", `cp -r /www /tmp/www && mkdir -p /tmp/www/cgi-bin &&
printf '#!/bin/sh\necho Content-Type: text/plain\necho\necho "$REMOTE_ADDR"\n' > /tmp/www/cgi-bin/ip &&
chmod +x /tmp/www/cgi-bin/ip && exec httpd -f -p `+fmt.Sprint(mhWebPort)+` -h /tmp/www`)
	web.PortMappings = []ecsv1.PortMapping{{ContainerPort: mhWebPort, Protocol: ecsv1.ProtocolTCP}}
	client := container("client", "sleep", "3600")
	client.Essential = ptr.To(false)
	return ecsv1.TaskDefinitionSpec{NetworkMode: ecsv1.NetworkModeAWSVPC, ContainerDefinitions: []ecsv1.ContainerDefinition{web, client}}
}

// fetchFromHost fetches url from inside host h's network namespace.
func fetchFromHost(h mhHost, url string) error {
	out, err := exec.Command("ip", "netns", "exec", filepath.Base(h.NetNS), "curl", "-sS", "-m", "3", "-o", "/dev/null", "-w", "%{http_code}", url).CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "200" {
		return fmt.Errorf("curl %s in %s: %v: %s", url, filepath.Base(h.NetNS), err, out)
	}
	return nil
}

// sourceSeenBy fetches base+"cgi-bin/ip" from the client container of
// task: the address the server saw the request come from.
func sourceSeenBy(n *node, task *ecsv1.Task, base string) (string, error) {
	out, err := n.exec(task, "client", "timeout", "3", "wget", "-q", "-O", "-", base+"cgi-bin/ip")
	if err != nil {
		return "", fmt.Errorf("wget %scgi-bin/ip in task %s: %v: %s", base, task.Name, err, out)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	// busybox httpd writes "[::ffff:10.250.0.2]" (it listens on IPv6).
	addr, err := netip.ParseAddr(strings.Trim(strings.TrimSpace(lines[len(lines)-1]), "[]"))
	if err != nil {
		return "", fmt.Errorf("cgi-bin/ip answered %q: %w", out, err)
	}
	return addr.Unmap().String(), nil
}

// fetchFromTask fetches url from the client container of task.
func fetchFromTask(n *node, task *ecsv1.Task, url string) error {
	out, err := n.exec(task, "client", "timeout", "3", "wget", "-q", "-O", "-", url)
	if err != nil || !strings.Contains(out, "Longshore") {
		return fmt.Errorf("wget %s in task %s: %v: %s", url, task.Name, err, out)
	}
	return nil
}

func taskAddr(task *ecsv1.Task) string {
	if len(task.Status.Attachments) == 0 {
		return ""
	}
	return task.Status.Attachments[0].Details.IPv4Address
}

// routesOn lists the routes the agent of host h owns (proto 242).
func routesOn(t *testing.T, h mhHost) string {
	t.Helper()
	out, err := exec.Command("ip", "netns", "exec", filepath.Base(h.NetNS), "ip", "-4", "route", "show", "proto", "242").CombinedOutput()
	if err != nil {
		t.Fatalf("ip route in %s: %v: %s", h.NetNS, err, out)
	}
	return strings.TrimSpace(string(out))
}

func instanceCIDR(t *testing.T, name string) string {
	t.Helper()
	ci := &ecsv1.ContainerInstance{}
	framework.Eventually(t, 30*time.Second, name+" has a task subnet", func() error {
		if err := env.Client.Get(t.Context(), client.ObjectKey{Name: name}, ci); err != nil {
			return err
		}
		if ci.Status.TaskCIDR == "" || ci.Status.HostAddress == "" {
			return fmt.Errorf("taskCIDR %q hostAddress %q", ci.Status.TaskCIDR, ci.Status.HostAddress)
		}
		return nil
	})
	return ci.Status.TaskCIDR
}

// TestMultiHost runs two agents, each in a network namespace of its own as
// its host, and checks that tasks reach tasks on the other host by their
// awsvpc addresses, in both routing modes.
func TestMultiHost(t *testing.T) {
	startManager(t)
	for _, tc := range []struct {
		name    string
		routing ecsv1.TaskRouting
		routed  bool // the hosts on two segments with a router between
	}{
		{"host-gateway on one L2 network", ecsv1.TaskRoutingHostGateway, false},
		{"vxlan across a router", ecsv1.TaskRoutingVXLAN, true},
	} {
		t.Run(tc.name, func(t *testing.T) { testMultiHost(t, tc.routing, tc.routed) })
	}
	t.Run("a CNI network of the user's with routing none", testUserCNI)
}

// userCNISubnets are the subnets of the user's CNI network on each host.
var userCNISubnets = map[string]string{"a": "10.251.1.0/24", "b": "10.251.2.0/24"}

// withCNIConfDir gives the agent its --cni-conf-dir.
func withCNIConfDir(dir string) nodeOption {
	return func(_ *node, args *[]string) { *args = append(*args, "--cni-conf-dir", dir) }
}

// userConfList writes a conflist for host h as a user's own network would
// be set up: the reference bridge plugin on a bridge of its own, with
// host-local addresses from that host's subnet and no masquerading.
func userConfList(t *testing.T, h string) string {
	t.Helper()
	dir := t.TempDir()
	dataDir := filepath.Join("/run", "lstest-usernet-"+h) // host-local's leases
	t.Cleanup(func() { _ = os.RemoveAll(dataDir) })
	conf := fmt.Sprintf(`{"cniVersion": "1.0.0", "name": "usernet", "plugins": [
  {"type": "bridge", "bridge": "lsu-%[1]s0", "isGateway": true, "ipMasq": false,
   "ipam": {"type": "host-local", "dataDir": %[2]q, "ranges": [[{"subnet": %[3]q}]], "routes": [{"dst": "0.0.0.0/0"}]}}
]}`, h, dataDir, userCNISubnets[h])
	if err := os.WriteFile(filepath.Join(dir, "10-usernet.conflist"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// testUserCNI hands awsvpc addressing to a CNI network of the user's
// (taskNetwork.cniConfig) that routes its subnets itself (routing: none):
// the agents take the addresses the plugin gives, add no routes of their
// own, and tasks reach each other across hosts through the user's routes.
func testUserCNI(t *testing.T) {
	ctx := t.Context()
	tp := newTopology(t, "lsm-u2", false)
	cluster := "mh-usercni"
	cl := &ecsv1.Cluster{ObjectMeta: metav1.ObjectMeta{Name: cluster}, Spec: ecsv1.ClusterSpec{
		TaskNetwork: ecsv1.TaskNetwork{CIDR: mhTaskNetwork, InstanceMaskSize: 24, Routing: ecsv1.TaskRoutingNone, CNIConfig: "usernet"}}}
	if err := env.Client.Create(ctx, cl); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Client.Delete(context.Background(), cl) })
	hostA := newNode(t, "lsm-u2-a", inHostNetNS(tp.hosts["a"].NetNS), inCluster(cluster), withCNIConfDir(userConfList(t, "a")))
	hostB := newNode(t, "lsm-u2-b", inHostNetNS(tp.hosts["b"].NetNS), inCluster(cluster), withCNIConfDir(userConfList(t, "b")))
	// The user's network routes each host's subnet to it (here static
	// routes; Calico's BGP or a VPC route table in real life).
	run(t, "ip", inNS(filepath.Base(tp.hosts["a"].NetNS), "ip", "route", "add", userCNISubnets["b"], "via", tp.hosts["b"].Addr)...)
	run(t, "ip", inNS(filepath.Base(tp.hosts["b"].NetNS), "ip", "route", "add", userCNISubnets["a"], "via", tp.hosts["a"].Addr)...)

	taskA := hostA.wait(hostA.task("web-a", webTaskDef()), 60*time.Second, "RUNNING", phase(ecsv1.TaskRunning))
	taskB := hostB.wait(hostB.task("web-b", webTaskDef()), 60*time.Second, "RUNNING", phase(ecsv1.TaskRunning))
	for h, task := range map[string]*ecsv1.Task{"a": taskA, "b": taskB} {
		_, subnet, _ := net.ParseCIDR(userCNISubnets[h])
		if ip := net.ParseIP(taskAddr(task)); ip == nil || !subnet.Contains(ip) {
			t.Errorf("task on %s has address %q, want one of the user's network %s", h, taskAddr(task), subnet)
		}
	}
	urlA, urlB := fmt.Sprintf("http://%s:%d/", taskAddr(taskA), mhWebPort), fmt.Sprintf("http://%s:%d/", taskAddr(taskB), mhWebPort)
	framework.Eventually(t, 20*time.Second, "task on a fetches from the task on b through the user's routes", func() error {
		return fetchFromTask(hostA, taskA, urlB)
	})
	framework.Eventually(t, 20*time.Second, "task on b fetches from the task on a", func() error {
		return fetchFromTask(hostB, taskB, urlA)
	})
	framework.Eventually(t, 20*time.Second, "host a fetches the task on b", func() error { return fetchFromHost(tp.hosts["a"], urlB) })
	// routing none: the agents have added no route of their own (they
	// have had their instances' subnets and hosts' addresses all along).
	for _, h := range []string{"a", "b"} {
		if r := routesOn(t, tp.hosts[h]); r != "" {
			t.Errorf("routes of the agent on %s with routing none: %q, want none", h, r)
		}
	}
}

func testMultiHost(t *testing.T, routing ecsv1.TaskRouting, routed bool) {
	ctx := t.Context()
	prefix := map[bool]string{false: "lsm-l2", true: "lsm-l3"}[routed]
	tp := newTopology(t, prefix, routed)
	cluster := "mh-" + strings.ReplaceAll(string(routing), "-", "")
	cl := &ecsv1.Cluster{ObjectMeta: metav1.ObjectMeta{Name: cluster}, Spec: ecsv1.ClusterSpec{
		TaskNetwork: ecsv1.TaskNetwork{CIDR: mhTaskNetwork, InstanceMaskSize: 24, Routing: routing}}}
	if err := env.Client.Create(ctx, cl); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Client.Delete(context.Background(), cl) })

	start := time.Now()
	hostA := newNode(t, prefix+"-a", inHostNetNS(tp.hosts["a"].NetNS), inCluster(cluster))
	hostB := newNode(t, prefix+"-b", inHostNetNS(tp.hosts["b"].NetNS), inCluster(cluster))
	cidrA, cidrB := instanceCIDR(t, hostA.Name), instanceCIDR(t, hostB.Name)
	took := framework.Eventually(t, 30*time.Second, "each host routes the other's task subnet", func() error {
		if ra, rb := routesOn(t, tp.hosts["a"]), routesOn(t, tp.hosts["b"]); !strings.Contains(ra, cidrB) || !strings.Contains(rb, cidrA) {
			return fmt.Errorf("routes on a: %q; on b: %q", ra, rb)
		}
		return nil
	})
	t.Logf("%s: instances registered → routes to each other's task subnets: %.1f s (%.1f s after both had subnets)",
		routing, time.Since(start).Seconds(), took.Seconds())

	taskA := hostA.task("web-a", webTaskDef())
	taskB := hostB.task("web-b", webTaskDef())
	taskA = hostA.wait(taskA, 60*time.Second, "RUNNING", phase(ecsv1.TaskRunning))
	taskB = hostB.wait(taskB, 60*time.Second, "RUNNING", phase(ecsv1.TaskRunning))
	ipA, ipB := taskAddr(taskA), taskAddr(taskB)
	urlA, urlB := fmt.Sprintf("http://%s:%d/", ipA, mhWebPort), fmt.Sprintf("http://%s:%d/", ipB, mhWebPort)
	framework.Eventually(t, 20*time.Second, "task on a fetches from the task on b by its address", func() error {
		return fetchFromTask(hostA, taskA, urlB)
	})
	framework.Eventually(t, 20*time.Second, "task on b fetches from the task on a", func() error {
		return fetchFromTask(hostB, taskB, urlA)
	})
	for _, h := range []string{"a", "b"} {
		for _, u := range []string{urlA, urlB} {
			framework.Eventually(t, 20*time.Second, "host "+h+" fetches "+u, func() error { return fetchFromHost(tp.hosts[h], u) })
		}
	}
	// Task to task across hosts keeps the source address (no masquerade),
	// as in an ECS VPC.
	framework.Eventually(t, 20*time.Second, "the task on b sees the task on a's own address", func() error {
		src, err := sourceSeenBy(hostA, taskA, urlB)
		if err == nil && src != ipA {
			err = fmt.Errorf("the task on b saw the request from %s, want the task on a's address %s", src, ipA)
		}
		return err
	})
	checkBridgeAcrossHosts(t, tp, hostA, hostB, taskA, urlB)

	// A Service whose two tasks are spread over both hosts: each task
	// answers from each host.
	svc := &ecsv1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: hostA.NS, Name: "web"}, Spec: ecsv1.ServiceSpec{
		Cluster: cluster, TaskDefinition: "web-a:1", DesiredCount: ptr.To[int32](2),
		PlacementStrategy: []ecsv1.PlacementStrategy{{Type: ecsv1.PlacementStrategySpread, Field: "instanceId"}}}}
	if err := env.Client.Create(ctx, svc); err != nil {
		t.Fatal(err)
	}
	var svcTasks []ecsv1.Task
	framework.Eventually(t, 90*time.Second, "the Service runs a task on each host", func() error {
		var l ecsv1.TaskList
		if err := env.Client.List(ctx, &l, client.InNamespace(hostA.NS), client.MatchingLabels{ecsv1.LabelService: "web"}); err != nil {
			return err
		}
		on := map[string]bool{}
		svcTasks = nil
		for _, task := range l.Items {
			if task.Status.LastStatus == ecsv1.TaskRunning && taskAddr(&task) != "" {
				on[task.Spec.ContainerInstance] = true
				svcTasks = append(svcTasks, task)
			}
		}
		if !on[hostA.Name] || !on[hostB.Name] {
			return fmt.Errorf("running on %v", on)
		}
		return nil
	})
	for _, task := range svcTasks {
		u := fmt.Sprintf("http://%s:%d/", taskAddr(&task), mhWebPort)
		for _, h := range []string{"a", "b"} {
			framework.Eventually(t, 20*time.Second, "host "+h+" fetches the Service's task "+u, func() error { return fetchFromHost(tp.hosts[h], u) })
		}
	}
	if err := env.Client.Delete(ctx, svc); err != nil {
		t.Fatal(err)
	}
	framework.Eventually(t, 90*time.Second, "the Service and its tasks are gone", func() error {
		var l ecsv1.TaskList
		if err := env.Client.List(ctx, &l, client.InNamespace(hostA.NS), client.MatchingLabels{ecsv1.LabelService: "web"}); err != nil {
			return err
		}
		if len(l.Items) > 0 {
			return fmt.Errorf("%d tasks left", len(l.Items))
		}
		return nil
	})

	// A restart of the agent on a keeps its routes and its task.
	hostA.killAgent()
	if ra := routesOn(t, tp.hosts["a"]); !strings.Contains(ra, cidrB) {
		t.Errorf("routes on a with its agent down: %q, want %s kept", ra, cidrB)
	}
	// Retried, as every fetch here is (a loaded machine can drop a first
	// SYN): with the agent dead, nothing can have repaired anything.
	framework.Eventually(t, 15*time.Second, "with the agent on a down, its task fetches from the task on b", func() error {
		return fetchFromTask(hostA, taskA, urlB)
	})
	hostA.startAgent()
	framework.Eventually(t, 30*time.Second, "the restarted agent on a is connected and the task on b reachable", func() error {
		if ra := routesOn(t, tp.hosts["a"]); !strings.Contains(ra, cidrB) {
			return fmt.Errorf("routes on a: %q", ra)
		}
		return fetchFromTask(hostA, taskA, urlB)
	})

	// Deregistering b (its tasks gone, its agent stopped, its
	// ContainerInstance deleted) removes its routes on a.
	hostB.deleteTask(taskB)
	hostB.agent.StopAndReport(t)
	if err := env.Client.Delete(ctx, &ecsv1.ContainerInstance{ObjectMeta: metav1.ObjectMeta{Name: hostB.Name}}); err != nil {
		t.Fatal(err)
	}
	framework.Eventually(t, 30*time.Second, "a's route to b's task subnet and its masquerade exemption are gone", func() error {
		if ra := routesOn(t, tp.hosts["a"]); strings.Contains(ra, cidrB) {
			return fmt.Errorf("routes on a: %q", ra)
		}
		out, _ := exec.Command("ip", "netns", "exec", filepath.Base(tp.hosts["a"].NetNS), "iptables-save", "-t", "nat").CombinedOutput()
		if strings.Contains(string(out), "-d "+cidrB) {
			return fmt.Errorf("nat rules on a still name %s:\n%s", cidrB, out)
		}
		return nil
	})
	// b's leak check runs with an agent, as every node's does.
	hostB.startAgent()
	framework.Eventually(t, 30*time.Second, "b registered again", func() error {
		err := env.Client.Get(ctx, client.ObjectKey{Name: hostB.Name}, &ecsv1.ContainerInstance{})
		if apierrors.IsNotFound(err) {
			return errors.New("not yet")
		}
		return err
	})
}
