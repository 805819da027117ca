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
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	ecsv1 "github.com/longshore-io/longshore/api/v1alpha1"
	"github.com/longshore-io/longshore/test/integration/framework"
)

// TestAppMeshProxyRedirect runs an awsvpc task with App Mesh's
// proxyConfiguration, as corpus 18 (the colorteller behind Envoy) has it:
// an app on 9080 and a proxy running as user 1337 whose ingress (15000)
// and egress (15001) listeners answer "ingress" and "egress". Traffic from
// outside to the app's port reaches the proxy's ingress port; the app's
// outgoing TCP reaches the proxy's egress port; the proxy's own does not.
// The rules are checked as the ECS agent's own functional test for the
// aws-appmesh plugin checks them.
func TestAppMeshProxyRedirect(t *testing.T) {
	n := newNode(t, "node-appmesh")
	app := container("app", "httpd", "-f", "-p", "9080", "-h", "/www")
	app.DependsOn = []ecsv1.ContainerDependency{{ContainerName: "envoy", Condition: ecsv1.DependencyStart}}
	envoy := container("envoy", "sh", "-c", "mkdir -p /tmp/in /tmp/out && echo ingress > /tmp/in/index.html && echo egress > /tmp/out/index.html && "+
		"httpd -p 15000 -h /tmp/in && exec httpd -f -p 15001 -h /tmp/out")
	envoy.User = "1337"
	spec := ecsv1.TaskDefinitionSpec{NetworkMode: ecsv1.NetworkModeAWSVPC, ContainerDefinitions: []ecsv1.ContainerDefinition{app, envoy},
		ProxyConfiguration: &ecsv1.ProxyConfiguration{Type: "APPMESH", ContainerName: "envoy", Properties: []ecsv1.ProxyProperty{
			{Name: "IgnoredUID", Value: "1337"}, {Name: "ProxyIngressPort", Value: "15000"}, {Name: "ProxyEgressPort", Value: "15001"},
			{Name: "AppPorts", Value: "9080"}, {Name: "EgressIgnoredPorts", Value: "22"},
			{Name: "EgressIgnoredIPs", Value: "169.254.170.2,169.254.169.254,fd00::1"}}}}
	task := n.task("appmesh", spec)
	got := n.wait(task, 60*time.Second, "RUNNING", phase(ecsv1.TaskRunning))
	det := got.Status.Attachments[0].Details
	ip, gw := det.IPv4Address, det.Gateway

	// Ingress: the app's port answers with the proxy's ingress listener.
	framework.Eventually(t, 20*time.Second, "ingress redirected", func() error {
		body, err := httpGet(fmt.Sprintf("http://%s:9080/", ip))
		if err != nil {
			return err
		}
		if strings.TrimSpace(body) != "ingress" {
			return fmt.Errorf("GET %s:9080 answered %q, want the proxy's \"ingress\"", ip, body)
		}
		return nil
	})
	// Egress: the app's connection to an outside address lands on the
	// proxy's egress port (it never leaves the namespace). (timeout, not
	// wget -T: busybox 1.35's wget crashes with -T here.)
	out, err := n.exec(got, "app", "timeout", "5", "wget", "-q", "-O-", fmt.Sprintf("http://%s:9/", gw))
	if !strings.HasSuffix(out, "\negress\n") && out != "egress\n" { // ctr may print a warning first
		t.Errorf("the app's GET http://%s:9/: %q (%v), want the proxy's \"egress\"", gw, out, err)
	}
	// The proxy's own traffic (user 1337) is not redirected: nothing
	// listens on port 9 of the gateway, so it fails.
	if out, err := n.exec(got, "envoy", "timeout", "5", "wget", "-q", "-O-", fmt.Sprintf("http://%s:9/", gw)); err == nil || strings.Contains(out, "egress") {
		t.Errorf("the proxy's GET http://%s:9/: %q (%v), want a failure: its traffic is not redirected", gw, out, err)
	}
	// The rules, as the ECS agent's aws-appmesh functional test expects
	// them (IPv6 entries of EgressIgnoredIPs left out: no IPv6 here).
	netns := filepath.Join(n.NetNSDir, string(got.UID))
	rules, err := exec.Command("nsenter", "--net="+netns, "iptables", "-w", "-t", "nat", "-S").CombinedOutput()
	if err != nil {
		t.Fatalf("iptables in the task's namespace: %v: %s", err, rules)
	}
	for _, want := range []string{
		"-A APPMESH_INGRESS -p tcp -m multiport --dports 9080 -j REDIRECT --to-ports 15000",
		"-A PREROUTING -p tcp -m addrtype ! --src-type LOCAL -j APPMESH_INGRESS",
		"-A APPMESH_EGRESS -m owner --uid-owner 1337 -j RETURN",
		"-A APPMESH_EGRESS -p tcp -m multiport --dports 22 -j RETURN",
		"-A APPMESH_EGRESS -d 169.254.170.2/32 -p tcp -j RETURN",
		"-A APPMESH_EGRESS -d 169.254.169.254/32 -p tcp -j RETURN",
		"-A APPMESH_EGRESS -p tcp -j REDIRECT --to-ports 15001",
		"-A OUTPUT -p tcp -m addrtype ! --dst-type LOCAL -j APPMESH_EGRESS",
	} {
		if !strings.Contains(string(rules), want+"\n") {
			t.Errorf("no rule %q in the task's nat table:\n%s", want, rules)
		}
	}
	n.deleteTask(task)
}
