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
	"fmt"
	"strconv"
	"strings"

	ecsv1 "github.com/longshore-io/longshore/api/v1alpha1"
	"github.com/longshore-io/longshore/internal/network"
)

// proxyRedirect turns an App Mesh proxyConfiguration into the redirect the
// network sets up in the task's namespace (nil without one). The API
// refuses malformed properties at apply time; the errors here are for a
// revision written before those rules.
func proxyRedirect(pc *ecsv1.ProxyConfiguration) (*network.ProxyRedirect, error) {
	if pc == nil {
		return nil, nil
	}
	if pc.Type != "" && pc.Type != "APPMESH" {
		return nil, fmt.Errorf("proxyConfiguration type %q is not APPMESH", pc.Type)
	}
	p := &network.ProxyRedirect{}
	ports := func(name, v string) ([]int32, error) {
		var out []int32
		for _, f := range strings.Split(v, ",") {
			n, err := strconv.ParseInt(strings.TrimSpace(f), 10, 32)
			if err != nil || n < 1 || n > 65535 {
				return nil, fmt.Errorf("proxyConfiguration property %s: %q is not a comma-separated list of ports", name, v)
			}
			out = append(out, int32(n))
		}
		return out, nil
	}
	for _, kv := range pc.Properties {
		var err error
		var one []int32
		switch kv.Name {
		case "IgnoredUID":
			p.IgnoredUID = kv.Value
		case "IgnoredGID":
			p.IgnoredGID = kv.Value
		case "AppPorts":
			p.AppPorts, err = ports(kv.Name, kv.Value)
		case "EgressIgnoredPorts":
			p.EgressIgnoredPorts, err = ports(kv.Name, kv.Value)
		case "ProxyIngressPort", "ProxyEgressPort":
			if one, err = ports(kv.Name, kv.Value); err == nil && len(one) != 1 {
				err = fmt.Errorf("proxyConfiguration property %s: %q is not one port", kv.Name, kv.Value)
			}
			if err == nil && kv.Name == "ProxyIngressPort" {
				p.ProxyIngressPort = one[0]
			} else if err == nil {
				p.ProxyEgressPort = one[0]
			}
		case "EgressIgnoredIPs":
			for _, ip := range strings.Split(kv.Value, ",") {
				if ip = strings.TrimSpace(ip); ip != "" && !strings.Contains(ip, ":") { // IPv6: tasks have none
					p.EgressIgnoredIPs = append(p.EgressIgnoredIPs, ip)
				}
			}
		default:
			err = fmt.Errorf("proxyConfiguration property %s is not one of App Mesh's", kv.Name)
		}
		if err != nil {
			return nil, err
		}
	}
	if p.ProxyIngressPort == 0 || p.ProxyEgressPort == 0 {
		return nil, fmt.Errorf("proxyConfiguration needs ProxyIngressPort and ProxyEgressPort")
	}
	return p, p.Validate()
}
