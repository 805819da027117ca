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
	"context"
	"fmt"
	"net"

	ecsv1 "github.com/longshore-io/longshore/api/v1alpha1"
	"github.com/longshore-io/longshore/internal/network"
)

// setupNetwork creates the task's network: one namespace for awsvpc and
// none, one per container for bridge, none for host. It returns each
// container's namespace path and published ports.
func (t *taskSync) setupNetwork(ctx context.Context, td *ecsv1.TaskDefinitionSpec) (map[string]string, map[string][]ecsv1.NetworkBinding, error) {
	r, task := t.r, t.task
	netns := map[string]string{}
	bindings := map[string][]ecsv1.NetworkBinding{}
	labels := map[string]string{"task": task.Namespace + "/" + task.Name}
	switch td.NetworkMode {
	case ecsv1.NetworkModeHost:
		for _, d := range td.ContainerDefinitions {
			for _, p := range d.PortMappings {
				if _, exists := t.obs.Containers[d.Name]; !exists {
					if err := hostPortFree(p.ContainerPort, string(p.Protocol)); err != nil {
						return nil, nil, fmt.Errorf("container %s: %w", d.Name, err)
					}
				}
				bindings[d.Name] = append(bindings[d.Name], ecsv1.NetworkBinding{BindIP: "0.0.0.0",
					ContainerPort: p.ContainerPort, HostPort: p.ContainerPort, Protocol: p.Protocol})
			}
		}
		return netns, bindings, nil
	case ecsv1.NetworkModeAWSVPC, ecsv1.NetworkModeNone:
		mode := network.ModeAWSVPC
		if td.NetworkMode == ecsv1.NetworkModeNone {
			mode = network.ModeNone
		}
		cl, err := t.cluster(ctx)
		if err != nil {
			return nil, nil, err
		}
		cniConfig := cl.Spec.TaskNetwork.CNIConfig
		req := network.SetupRequest{ID: string(task.UID), Mode: mode, CNIConfig: cniConfig, Labels: labels}
		if mode == network.ModeAWSVPC {
			if req.Proxy, err = proxyRedirect(td.ProxyConfiguration); err != nil {
				return nil, nil, err
			}
		}
		att, err := r.Network.Setup(ctx, req)
		if err != nil {
			return nil, nil, err
		}
		for _, d := range td.ContainerDefinitions {
			netns[d.Name] = att.NetNSPath
			for _, p := range d.PortMappings {
				bindings[d.Name] = append(bindings[d.Name], ecsv1.NetworkBinding{BindIP: att.IPv4,
					ContainerPort: p.ContainerPort, HostPort: p.ContainerPort, Protocol: p.Protocol})
			}
		}
		if mode == network.ModeAWSVPC {
			t.status.Attachments = []ecsv1.Attachment{{Type: ecsv1.AttachmentNetworkInterface, Status: "ATTACHED", Details: ecsv1.AttachmentDetails{
				IPv4Address: att.IPv4, MACAddress: att.MAC, InterfaceName: att.Interface, Subnet: att.Subnet, Gateway: att.Gateway}}}
		}
		return netns, bindings, nil
	default: // bridge
		t.bridgeIPs = map[string]string{}
		for _, d := range td.ContainerDefinitions {
			req := network.SetupRequest{ID: string(task.UID) + "-" + d.Name, Mode: network.ModeBridge, Labels: labels}
			if d.DisableNetworking != nil && *d.DisableNetworking {
				// Loopback only: a namespace of its own, on no bridge.
				req.Mode = network.ModeNone
			}
			for _, p := range d.PortMappings {
				hp := int32(0)
				if p.HostPort != nil {
					hp = *p.HostPort
				}
				req.PortMappings = append(req.PortMappings, network.PortMapping{ContainerPort: p.ContainerPort, HostPort: hp, Protocol: string(p.Protocol)})
			}
			att, err := r.Network.Setup(ctx, req)
			if err != nil {
				return nil, nil, fmt.Errorf("container %s: %w", d.Name, err)
			}
			netns[d.Name] = att.NetNSPath
			if att.IPv4 != "" {
				t.bridgeIPs[d.Name] = att.IPv4
			}
			for _, b := range att.Bindings {
				bindings[d.Name] = append(bindings[d.Name], ecsv1.NetworkBinding{BindIP: orAll(b.HostIP),
					ContainerPort: b.ContainerPort, HostPort: b.HostPort, Protocol: ecsv1.TransportProtocol(b.Protocol)})
			}
		}
		return netns, bindings, nil
	}
}

// hostPortFree checks that nothing on the host holds port/proto.
func hostPortFree(port int32, proto string) error {
	addr := fmt.Sprintf("0.0.0.0:%d", port)
	if proto == string(ecsv1.ProtocolUDP) {
		c, err := net.ListenPacket("udp", addr)
		if err != nil {
			return fmt.Errorf("host port %d/udp is already in use on the host", port)
		}
		return c.Close()
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("host port %d/tcp is already in use on the host", port)
	}
	return l.Close()
}

func orAll(ip string) string {
	if ip == "" {
		return "0.0.0.0"
	}
	return ip
}

// netnsPaths are the network namespaces setupNetwork gives the
// containers, known before it runs: containers can be created meanwhile.
func (t *taskSync) netnsPaths(td *ecsv1.TaskDefinitionSpec) map[string]string {
	out := map[string]string{}
	for _, d := range td.ContainerDefinitions {
		switch td.NetworkMode {
		case ecsv1.NetworkModeHost:
		case ecsv1.NetworkModeAWSVPC, ecsv1.NetworkModeNone:
			out[d.Name] = t.r.Network.NetNSPath(string(t.task.UID))
		default: // bridge
			out[d.Name] = t.r.Network.NetNSPath(string(t.task.UID) + "-" + d.Name)
		}
	}
	return out
}
