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

package agent

import (
	"reflect"
	"strings"
	"testing"

	ecsv1 "github.com/longshore-io/longshore/api/v1alpha1"
	"github.com/longshore-io/longshore/internal/network"
)

func TestProxyRedirect(t *testing.T) {
	props := func(kv ...string) *ecsv1.ProxyConfiguration {
		pc := &ecsv1.ProxyConfiguration{Type: "APPMESH", ContainerName: "envoy"}
		for i := 0; i < len(kv); i += 2 {
			pc.Properties = append(pc.Properties, ecsv1.ProxyProperty{Name: kv[i], Value: kv[i+1]})
		}
		return pc
	}
	// Corpus 18's properties.
	got, err := proxyRedirect(props("IgnoredUID", "1337", "ProxyIngressPort", "15000", "ProxyEgressPort", "15001",
		"AppPorts", "9080, 9090", "EgressIgnoredIPs", "169.254.170.2,169.254.169.254,fd00:ec2::254", "EgressIgnoredPorts", "22"))
	if err != nil {
		t.Fatal(err)
	}
	want := &network.ProxyRedirect{IgnoredUID: "1337", ProxyIngressPort: 15000, ProxyEgressPort: 15001, AppPorts: []int32{9080, 9090},
		EgressIgnoredIPs: []string{"169.254.170.2", "169.254.169.254"}, EgressIgnoredPorts: []int32{22}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
	if p, err := proxyRedirect(nil); p != nil || err != nil {
		t.Errorf("no proxyConfiguration: %v, %v", p, err)
	}
	for _, c := range []struct {
		pc   *ecsv1.ProxyConfiguration
		want string
	}{
		{props("IgnoredUID", "1337", "ProxyIngressPort", "15000"), "needs ProxyIngressPort and ProxyEgressPort"},
		{props("ProxyIngressPort", "15000", "ProxyEgressPort", "15001"), "IgnoredUID or IgnoredGID is required"},
		{props("IgnoredUID", "1337", "ProxyIngressPort", "15000", "ProxyEgressPort", "15001", "AppPorts", "http"), `AppPorts: "http" is not a comma-separated list of ports`},
		{props("IgnoredUID", "envoy", "ProxyIngressPort", "15000", "ProxyEgressPort", "15001"), `"envoy" is not a numeric user or group id`},
		{props("Mode", "x"), "property Mode is not one of App Mesh's"},
	} {
		if _, err := proxyRedirect(c.pc); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want %q", c.pc.Properties, err, c.want)
		}
	}
}
