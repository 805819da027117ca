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

package taskpolicy

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	ecsv1 "github.com/longshore-io/longshore/api/v1alpha1"
)

func i32(v int32) *int32 { return &v }

func port(container int32, host *int32, proto ecsv1.TransportProtocol) ecsv1.PortMapping {
	return ecsv1.PortMapping{ContainerPort: container, HostPort: host, Protocol: proto}
}

// webAndSidecar is a two-container definition with every kind of port
// mapping, in the given network mode.
func webAndSidecar(mode ecsv1.NetworkMode) *ecsv1.TaskDefinitionSpec {
	return &ecsv1.TaskDefinitionSpec{
		NetworkMode: mode,
		ContainerDefinitions: []ecsv1.ContainerDefinition{
			{Name: "web", CPU: 256, Memory: i32(512), PortMappings: []ecsv1.PortMapping{
				port(80, i32(8080), ""),
				port(53, i32(5353), ecsv1.ProtocolUDP),
				port(9000, nil, ecsv1.ProtocolTCP),
			}},
			{Name: "sidecar", CPU: 128, Memory: i32(256), MemoryReservation: i32(64), PortMappings: []ecsv1.PortMapping{
				port(9100, i32(0), ecsv1.ProtocolTCP),
			}},
		},
	}
}

func TestTaskRequirements(t *testing.T) {
	cases := map[string]struct {
		td      *ecsv1.TaskDefinitionSpec
		ov      *ecsv1.TaskOverride
		want    Requirements
		wantErr string
	}{
		"bridge: static host ports and dynamic ones; memoryReservation before memory": {
			td:   webAndSidecar(ecsv1.NetworkModeBridge),
			want: Requirements{CPU: 384, Memory: 576, TCPPorts: []int32{8080}, UDPPorts: []int32{5353}, DynamicPorts: 2},
		},
		"empty network mode is bridge": {
			td:   webAndSidecar(""),
			want: Requirements{CPU: 384, Memory: 576, TCPPorts: []int32{8080}, UDPPorts: []int32{5353}, DynamicPorts: 2},
		},
		"host: every containerPort on the host": {
			td: &ecsv1.TaskDefinitionSpec{NetworkMode: ecsv1.NetworkModeHost, ContainerDefinitions: []ecsv1.ContainerDefinition{
				{Name: "dns", Memory: i32(64), PortMappings: []ecsv1.PortMapping{port(53, nil, ecsv1.ProtocolUDP), port(53, i32(53), ecsv1.ProtocolTCP), port(8443, nil, "")}},
			}},
			want: Requirements{Memory: 64, TCPPorts: []int32{53, 8443}, UDPPorts: []int32{53}, HostNetwork: true},
		},
		"awsvpc: no host ports": {
			td:   webAndSidecar(ecsv1.NetworkModeAWSVPC),
			want: Requirements{CPU: 384, Memory: 576},
		},
		"none: no host ports": {
			td: &ecsv1.TaskDefinitionSpec{NetworkMode: ecsv1.NetworkModeNone, ContainerDefinitions: []ecsv1.ContainerDefinition{
				{Name: "batch", CPU: 1024, Memory: i32(128)},
			}},
			want: Requirements{CPU: 1024, Memory: 128},
		},
		"task-level cpu and memory replace the sums": {
			td: func() *ecsv1.TaskDefinitionSpec {
				td := webAndSidecar(ecsv1.NetworkModeAWSVPC)
				td.CPU, td.Memory = "1 vCPU", "2 GB"
				return td
			}(),
			want: Requirements{CPU: 1024, Memory: 2048},
		},
		"task-level memory only": {
			td: func() *ecsv1.TaskDefinitionSpec {
				td := webAndSidecar(ecsv1.NetworkModeAWSVPC)
				td.Memory = "1024"
				return td
			}(),
			want: Requirements{CPU: 384, Memory: 1024},
		},
		"container without memory counts nothing": {
			td: &ecsv1.TaskDefinitionSpec{NetworkMode: ecsv1.NetworkModeAWSVPC, ContainerDefinitions: []ecsv1.ContainerDefinition{
				{Name: "a", CPU: 10}, {Name: "b", Memory: i32(100)},
			}},
			want: Requirements{CPU: 10, Memory: 100},
		},
		"container overrides": {
			td: webAndSidecar(ecsv1.NetworkModeAWSVPC),
			ov: &ecsv1.TaskOverride{ContainerOverrides: []ecsv1.ContainerOverride{
				{Name: "web", CPU: i32(512), MemoryReservation: i32(300)},
				{Name: "sidecar", Memory: i32(1000)}, // the reservation (64) still counts
			}},
			want: Requirements{CPU: 640, Memory: 364},
		},
		"task overrides win over the definition's task-level values": {
			td: func() *ecsv1.TaskDefinitionSpec {
				td := webAndSidecar(ecsv1.NetworkModeAWSVPC)
				td.CPU, td.Memory = "256", "512"
				return td
			}(),
			ov:   &ecsv1.TaskOverride{CPU: "0.5 vCPU", Memory: "1GB"},
			want: Requirements{CPU: 512, Memory: 1024},
		},
		"task override without task-level definition": {
			td:   webAndSidecar(ecsv1.NetworkModeAWSVPC),
			ov:   &ecsv1.TaskOverride{Memory: "4096"},
			want: Requirements{CPU: 384, Memory: 4096},
		},
		"privileged, capabilities and host path volumes": {
			td: &ecsv1.TaskDefinitionSpec{NetworkMode: ecsv1.NetworkModeBridge,
				Volumes: []ecsv1.Volume{{Name: "scratch"}, {Name: "docker", Host: &ecsv1.HostVolume{SourcePath: "/var/run"}}},
				ContainerDefinitions: []ecsv1.ContainerDefinition{
					{Name: "a", Memory: i32(10), Privileged: true, LinuxParameters: &ecsv1.LinuxParameters{Capabilities: &ecsv1.KernelCapabilities{
						Add: []ecsv1.Capability{"cap_sys_time", "NET_ADMIN"}, Drop: []ecsv1.Capability{"MKNOD"}}}},
					{Name: "b", Memory: i32(10), LinuxParameters: &ecsv1.LinuxParameters{Capabilities: &ecsv1.KernelCapabilities{
						Add: []ecsv1.Capability{"CAP_NET_ADMIN"}}}},
				}},
			want: Requirements{Memory: 20, Privileged: true, HostPathVolumes: true, Capabilities: []string{"NET_ADMIN", "SYS_TIME"}},
		},
		"scratch and secret volumes are not host paths": {
			td: &ecsv1.TaskDefinitionSpec{NetworkMode: ecsv1.NetworkModeAWSVPC,
				Volumes:              []ecsv1.Volume{{Name: "scratch"}, {Name: "s", Secret: &ecsv1.SecretVolume{SecretName: "x"}}},
				ContainerDefinitions: []ecsv1.ContainerDefinition{{Name: "a", Memory: i32(10)}}},
			want: Requirements{Memory: 10},
		},
		"override of an unknown container": {
			td:      webAndSidecar(ecsv1.NetworkModeBridge),
			ov:      &ecsv1.TaskOverride{ContainerOverrides: []ecsv1.ContainerOverride{{Name: "nope", CPU: i32(1)}}},
			wantErr: "override for container named nope is not valid: the task definition has no such container",
		},
		"bad task cpu": {
			td: func() *ecsv1.TaskDefinitionSpec {
				td := webAndSidecar(ecsv1.NetworkModeBridge)
				td.CPU = "lots"
				return td
			}(),
			wantErr: `task cpu "lots": want CPU units such as "256" or vCPUs such as "0.25 vCPU"`,
		},
		"bad override memory": {
			td:      webAndSidecar(ecsv1.NetworkModeBridge),
			ov:      &ecsv1.TaskOverride{Memory: "-1"},
			wantErr: `task memory "-1": want MiB such as "512" or GB such as "1 GB"`,
		},
		"host port mapped twice": {
			td: &ecsv1.TaskDefinitionSpec{NetworkMode: ecsv1.NetworkModeHost, ContainerDefinitions: []ecsv1.ContainerDefinition{
				{Name: "a", PortMappings: []ecsv1.PortMapping{port(80, nil, "")}},
				{Name: "b", PortMappings: []ecsv1.PortMapping{port(80, nil, ecsv1.ProtocolTCP)}},
			}},
			wantErr: "host port 80/tcp is mapped twice (containers a and b)",
		},
		"same port on tcp and udp is fine": {
			td: &ecsv1.TaskDefinitionSpec{NetworkMode: ecsv1.NetworkModeBridge, ContainerDefinitions: []ecsv1.ContainerDefinition{
				{Name: "a", PortMappings: []ecsv1.PortMapping{port(53, i32(53), ecsv1.ProtocolTCP), port(53, i32(53), ecsv1.ProtocolUDP)}},
			}},
			want: Requirements{TCPPorts: []int32{53}, UDPPorts: []int32{53}},
		},
		"no definition": {wantErr: "task definition is missing"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := TaskRequirements(tc.td, tc.ov)
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("error = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("requirements (-want +got):\n%s", diff)
			}
		})
	}
}
