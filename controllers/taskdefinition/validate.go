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

package taskdefinition

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"

	ecsv1 "github.com/longshore-io/longshore/api/v1alpha1"
)

// SpecHash is the hex sha256 of the canonical JSON of spec (Go's
// encoding/json: fields in declaration order, map keys sorted), with
// revisionHistoryLimit left out: it is a policy of the family, not part of
// what a task runs, so changing it mints no revision (as a Deployment's
// revisionHistoryLimit creates no ReplicaSet).
func SpecHash(spec *ecsv1.TaskDefinitionSpec) (string, error) {
	s := spec.Registered()
	s.RevisionHistoryLimit = nil
	b, err := json.Marshal(s)
	if err != nil {
		return "", fmt.Errorf("hashing the task definition spec: %w", err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}

// RegistrationHash is what a TaskDefinition's revision is minted for: the
// SpecHash of its spec, or, when the TaskDefinition carries the annotation
// ecsv1.AnnotationRegistration, a hash of both, so that a new registration
// of the same spec mints a new revision (ECS RegisterTaskDefinition).
func RegistrationHash(td *ecsv1.TaskDefinition) (string, error) {
	h, err := SpecHash(&td.Spec)
	if err != nil {
		return "", err
	}
	reg := td.Annotations[ecsv1.AnnotationRegistration]
	if reg == "" {
		return h, nil
	}
	sum := sha256.Sum256([]byte(h + "\n" + ecsv1.AnnotationRegistration + "=" + reg))
	return hex.EncodeToString(sum[:]), nil
}

// problem is one failed semantic check: a condition reason and a message a
// user understands.
type problem struct {
	reason  string
	message string
}

// validateSpec runs the checks the CRD schema (OpenAPI + CEL) cannot
// express, in a stable order. An empty result means valid.
func validateSpec(spec *ecsv1.TaskDefinitionSpec) []problem {
	var ps []problem
	var taskCPU, taskMemory int64
	if spec.CPU != "" {
		v, err := ecsv1.ParseTaskCPU(spec.CPU)
		if err != nil {
			ps = append(ps, problem{ecsv1.ReasonInvalidTaskCPU, err.Error()})
		}
		taskCPU = v
	}
	if spec.Memory != "" {
		v, err := ecsv1.ParseTaskMemory(spec.Memory)
		if err != nil {
			ps = append(ps, problem{ecsv1.ReasonInvalidTaskMemory, err.Error()})
		}
		taskMemory = v
	}
	ps = append(ps, checkCPU(spec, taskCPU)...)
	ps = append(ps, checkMemory(spec, taskMemory)...)
	ps = append(ps, checkPorts(spec)...)
	return ps
}

// checkCPU: the containers' cpu units must fit in the task-level cpu.
func checkCPU(spec *ecsv1.TaskDefinitionSpec, taskCPU int64) []problem {
	if taskCPU <= 0 {
		return nil
	}
	var sum int64
	for i := range spec.ContainerDefinitions {
		sum += int64(spec.ContainerDefinitions[i].CPU)
	}
	if sum <= taskCPU {
		return nil
	}
	return []problem{{ecsv1.ReasonCPUExceedsTask, fmt.Sprintf(
		"the containers' cpu adds up to %d units, more than the task-level cpu %q (%d units)",
		sum, spec.CPU, taskCPU)}}
}

// checkMemory: no container's hard limit may exceed the task-level memory,
// and the containers' reservations (memoryReservation, else memory) must
// fit in it together, as ECS requires.
func checkMemory(spec *ecsv1.TaskDefinitionSpec, taskMemory int64) []problem {
	if taskMemory <= 0 {
		return nil
	}
	var ps []problem
	var reserved int64
	for i := range spec.ContainerDefinitions {
		c := &spec.ContainerDefinitions[i]
		if c.Memory != nil && int64(*c.Memory) > taskMemory {
			ps = append(ps, problem{ecsv1.ReasonMemoryExceedsTask, fmt.Sprintf(
				"container %q: memory %d MiB is more than the task-level memory %q (%d MiB)",
				c.Name, *c.Memory, spec.Memory, taskMemory)})
		}
		switch {
		case c.MemoryReservation != nil:
			reserved += int64(*c.MemoryReservation)
		case c.Memory != nil:
			reserved += int64(*c.Memory)
		}
	}
	if len(ps) == 0 && reserved > taskMemory {
		ps = append(ps, problem{ecsv1.ReasonMemoryExceedsTask, fmt.Sprintf(
			"the containers reserve %d MiB together (memoryReservation, else memory), more than the task-level memory %q (%d MiB)",
			reserved, spec.Memory, taskMemory)})
	}
	return ps
}

type portKey struct {
	port     int32
	protocol ecsv1.TransportProtocol
}

// checkPorts: in awsvpc and host mode the containers share one network
// namespace, so two of them cannot publish the same containerPort and
// protocol; in bridge mode two containers cannot claim the same static
// hostPort. (Repeats inside one container are refused by the CRD.)
func checkPorts(spec *ecsv1.TaskDefinitionSpec) []problem {
	mode := spec.NetworkMode
	if mode == "" {
		mode = ecsv1.NetworkModeBridge
	}
	shared := mode == ecsv1.NetworkModeAWSVPC || mode == ecsv1.NetworkModeHost
	if !shared && mode != ecsv1.NetworkModeBridge {
		return nil // none: portMappings are refused by the CRD
	}
	var ps []problem
	owner := map[portKey]string{}
	for i := range spec.ContainerDefinitions {
		c := &spec.ContainerDefinitions[i]
		for _, pm := range c.PortMappings {
			proto := pm.Protocol
			if proto == "" {
				proto = ecsv1.ProtocolTCP
			}
			k := portKey{pm.ContainerPort, proto}
			if !shared {
				if pm.HostPort == nil || *pm.HostPort == 0 {
					continue // dynamic
				}
				k.port = *pm.HostPort
			}
			first, seen := owner[k]
			if !seen {
				owner[k] = c.Name
				continue
			}
			if first == c.Name {
				continue
			}
			if shared {
				ps = append(ps, problem{ecsv1.ReasonPortConflict, fmt.Sprintf(
					"containers %q and %q both publish containerPort %d/%s: with networkMode %s they share one network namespace",
					first, c.Name, k.port, k.protocol, mode)})
			} else {
				ps = append(ps, problem{ecsv1.ReasonHostPortConflict, fmt.Sprintf(
					"containers %q and %q both claim hostPort %d/%s",
					first, c.Name, k.port, k.protocol)})
			}
		}
	}
	return ps
}
