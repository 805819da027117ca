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
	"fmt"
	"slices"
	"strconv"
	"strings"

	ecsv1 "github.com/longshore-io/longshore/api/v1alpha1"
)

// Requirements are what one task needs from a container instance, computed
// from its task definition revision and overrides by TaskRequirements.
type Requirements struct {
	// CPU in CPU units (1024 per core) and Memory in MiB. Per container the
	// memory counted is memoryReservation when set, else memory; the
	// task-level cpu and memory (the overrides' when set) replace the sums
	// of the containers, as in ECS.
	CPU, Memory int64
	// TCPPorts and UDPPorts are the static host ports, sorted: the
	// containerPort in host mode, hostPort when > 0 in bridge mode, none in
	// awsvpc and none mode (the task has its own network namespace).
	TCPPorts, UDPPorts []int32
	// DynamicPorts counts the bridge mappings with hostPort 0 or omitted,
	// which take a free port of the instance's dynamic range.
	DynamicPorts int
	// Privileged: a container is privileged. HostNetwork: networkMode host.
	// HostPathVolumes: a volume binds a host path. HostPID and HostIPC:
	// pidMode or ipcMode host.
	Privileged, HostNetwork, HostPathVolumes, HostPID, HostIPC bool
	// Capabilities are the linuxParameters.capabilities.add of all
	// containers, upper-case without the CAP_ prefix, sorted, unique.
	Capabilities []string
	// Devices are the host devices the containers are given
	// (linuxParameters.devices[].hostPath), sorted, without repeats.
	Devices []string
	// GPU is the number of GPUs of the containers' resourceRequirements.
	GPU int64
}

// TaskRequirements computes what a task of definition td with overrides ov
// (may be nil) needs. It fails for a task-level cpu or memory that does not
// parse, an override of a container the definition does not have (as ECS
// does), or a static host port mapped twice.
func TaskRequirements(td *ecsv1.TaskDefinitionSpec, ov *ecsv1.TaskOverride) (Requirements, error) {
	var r Requirements
	if td == nil {
		return r, fmt.Errorf("task definition is missing")
	}
	overrides := map[string]*ecsv1.ContainerOverride{}
	if ov != nil {
		for i := range ov.ContainerOverrides {
			co := &ov.ContainerOverrides[i]
			if !slices.ContainsFunc(td.ContainerDefinitions, func(c ecsv1.ContainerDefinition) bool { return c.Name == co.Name }) {
				return Requirements{}, fmt.Errorf("override for container named %s is not valid: the task definition has no such container", co.Name)
			}
			overrides[co.Name] = co
		}
	}

	mode := td.NetworkMode
	if mode == "" {
		mode = ecsv1.NetworkModeBridge
	}
	r.HostNetwork = mode == ecsv1.NetworkModeHost
	r.HostPID, r.HostIPC = td.PidMode == "host", td.IpcMode == "host"

	type hostPort struct {
		port  int32
		proto ecsv1.TransportProtocol
	}
	seen := map[hostPort]string{}
	addStatic := func(container string, port int32, proto ecsv1.TransportProtocol) error {
		k := hostPort{port, proto}
		if other, dup := seen[k]; dup {
			return fmt.Errorf("host port %d/%s is mapped twice (containers %s and %s)", port, proto, other, container)
		}
		seen[k] = container
		if proto == ecsv1.ProtocolUDP {
			r.UDPPorts = append(r.UDPPorts, port)
		} else {
			r.TCPPorts = append(r.TCPPorts, port)
		}
		return nil
	}

	var cpuSum, memSum int64
	caps := map[string]bool{}
	for i := range td.ContainerDefinitions {
		c := &td.ContainerDefinitions[i]
		cpu, mem, res := int64(c.CPU), c.Memory, c.MemoryReservation
		if co := overrides[c.Name]; co != nil {
			if co.CPU != nil {
				cpu = int64(*co.CPU)
			}
			if co.Memory != nil {
				mem = co.Memory
			}
			if co.MemoryReservation != nil {
				res = co.MemoryReservation
			}
		}
		cpuSum += cpu
		switch {
		case res != nil:
			memSum += int64(*res)
		case mem != nil:
			memSum += int64(*mem)
		}
		if c.Privileged {
			r.Privileged = true
		}
		if lp := c.LinuxParameters; lp != nil && lp.Capabilities != nil {
			for _, capName := range lp.Capabilities.Add {
				caps[normalizeCapability(string(capName))] = true
			}
		}
		if lp := c.LinuxParameters; lp != nil {
			for _, d := range lp.Devices {
				if !slices.Contains(r.Devices, d.HostPath) {
					r.Devices = append(r.Devices, d.HostPath)
				}
			}
			slices.Sort(r.Devices)
		}
		for _, pm := range c.PortMappings {
			proto := pm.Protocol
			if proto == "" {
				proto = ecsv1.ProtocolTCP
			}
			switch mode {
			case ecsv1.NetworkModeHost:
				// The container listens on the host itself: hostPort, when
				// given, must equal containerPort (validated by the API).
				if err := addStatic(c.Name, pm.ContainerPort, proto); err != nil {
					return Requirements{}, err
				}
			case ecsv1.NetworkModeBridge:
				if pm.HostPort != nil && *pm.HostPort > 0 {
					if err := addStatic(c.Name, *pm.HostPort, proto); err != nil {
						return Requirements{}, err
					}
				} else {
					r.DynamicPorts++
				}
			default:
				// awsvpc: the task's own namespace and address, no host
				// port. none: port mappings are refused by validation.
			}
		}
	}
	for _, v := range td.Volumes {
		if v.Host != nil && v.Host.SourcePath != "" {
			r.HostPathVolumes = true
		}
	}
	for c := range caps {
		r.Capabilities = append(r.Capabilities, c)
	}
	slices.Sort(r.Capabilities)
	slices.Sort(r.TCPPorts)
	slices.Sort(r.UDPPorts)

	for _, d := range td.ContainerDefinitions {
		for _, rr := range d.ResourceRequirements {
			if rr.Type == "GPU" {
				n, err := strconv.ParseInt(rr.Value, 10, 64)
				if err != nil || n < 1 {
					return r, fmt.Errorf("container %s: resourceRequirements GPU %q is not a number of GPUs", d.Name, rr.Value)
				}
				r.GPU += n
			}
		}
	}
	r.CPU, r.Memory = cpuSum, memSum
	cpuStr, memStr := td.CPU, td.Memory
	if ov != nil && ov.CPU != "" {
		cpuStr = ov.CPU
	}
	if ov != nil && ov.Memory != "" {
		memStr = ov.Memory
	}
	if cpuStr != "" {
		v, err := ecsv1.ParseTaskCPU(cpuStr)
		if err != nil {
			return Requirements{}, fmt.Errorf("task %w", err)
		}
		r.CPU = v
	}
	if memStr != "" {
		v, err := ecsv1.ParseTaskMemory(memStr)
		if err != nil {
			return Requirements{}, fmt.Errorf("task %w", err)
		}
		r.Memory = v
	}
	return r, nil
}

// normalizeCapability spells a capability the way the policy compares
// them: upper-case without the CAP_ prefix ("cap_net_admin" → NET_ADMIN).
func normalizeCapability(c string) string {
	c = strings.ToUpper(strings.TrimSpace(c))
	return strings.TrimPrefix(c, "CAP_")
}
