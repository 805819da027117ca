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
	"reflect"
	"strings"
	"testing"
)

// The rules are those that the ECS agent's functional test for its
// aws-appmesh plugin looks for, with the same properties.
func TestProxyRedirectRules(t *testing.T) {
	p := &ProxyRedirect{IgnoredGID: "133", AppPorts: []int32{9080, 9090}, ProxyIngressPort: 15000, ProxyEgressPort: 15001,
		EgressIgnoredPorts: []int32{80, 81}, EgressIgnoredIPs: []string{"192.168.100.0/22", "163.107.163.107", "169.254.170.2", "169.254.169.254"}}
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range p.rules() {
		got = append(got, strings.Join(r, " "))
	}
	want := []string{
		"-t nat -N APPMESH_INGRESS",
		"-t nat -N APPMESH_EGRESS",
		"-t nat -A APPMESH_INGRESS -p tcp -m multiport --dports 9080,9090 -j REDIRECT --to-port 15000",
		"-t nat -A PREROUTING -p tcp -m addrtype ! --src-type LOCAL -j APPMESH_INGRESS",
		"-t nat -A APPMESH_EGRESS -m owner --gid-owner 133 -j RETURN",
		"-t nat -A APPMESH_EGRESS -p tcp -m multiport --dports 80,81 -j RETURN",
		"-t nat -A APPMESH_EGRESS -p tcp -d 192.168.100.0/22,163.107.163.107,169.254.170.2,169.254.169.254 -j RETURN",
		"-t nat -A APPMESH_EGRESS -p tcp -j REDIRECT --to 15001",
		"-t nat -A OUTPUT -p tcp -m addrtype ! --dst-type LOCAL -j APPMESH_EGRESS",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("rules:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for _, bad := range []ProxyRedirect{
		{ProxyIngressPort: 1, ProxyEgressPort: 2},
		{IgnoredUID: "x", ProxyIngressPort: 1, ProxyEgressPort: 2},
		{IgnoredUID: "1", ProxyIngressPort: 0, ProxyEgressPort: 2},
		{IgnoredUID: "1", ProxyIngressPort: 1, ProxyEgressPort: 2, EgressIgnoredIPs: []string{"fd00::1"}},
	} {
		if err := bad.Validate(); err == nil {
			t.Errorf("%+v is valid", bad)
		}
	}
}
