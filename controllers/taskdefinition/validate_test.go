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
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ecsv1 "github.com/longshore-io/longshore/api/v1alpha1"
)

func ctr(name string, cpu int32, mem, res *int32, ports ...ecsv1.PortMapping) ecsv1.ContainerDefinition {
	return ecsv1.ContainerDefinition{Name: name, Image: "busybox", CPU: cpu, Memory: mem, MemoryReservation: res, PortMappings: ports}
}

func port(container int32, host *int32, proto ecsv1.TransportProtocol) ecsv1.PortMapping {
	return ecsv1.PortMapping{ContainerPort: container, HostPort: host, Protocol: proto}
}

func TestValidateSpec(t *testing.T) {
	tests := map[string]struct {
		spec ecsv1.TaskDefinitionSpec
		want []string // reasons
	}{
		"no task-level limits": {
			spec: ecsv1.TaskDefinitionSpec{ContainerDefinitions: []ecsv1.ContainerDefinition{ctr("a", 4096, ptr.To[int32](4096), nil)}},
		},
		"cpu and memory fit": {
			spec: ecsv1.TaskDefinitionSpec{CPU: "0.5 vCPU", Memory: "1 GB", ContainerDefinitions: []ecsv1.ContainerDefinition{
				ctr("a", 256, ptr.To[int32](1024), ptr.To[int32](512)), ctr("b", 256, nil, ptr.To[int32](512))}},
		},
		"zero task cpu": {
			spec: ecsv1.TaskDefinitionSpec{CPU: "0", ContainerDefinitions: []ecsv1.ContainerDefinition{ctr("a", 0, ptr.To[int32](64), nil)}},
			want: []string{ecsv1.ReasonInvalidTaskCPU},
		},
		"zero task memory": {
			spec: ecsv1.TaskDefinitionSpec{Memory: "0 GB", ContainerDefinitions: []ecsv1.ContainerDefinition{ctr("a", 0, ptr.To[int32](64), nil)}},
			want: []string{ecsv1.ReasonInvalidTaskMemory},
		},
		"containers' cpu above task cpu": {
			spec: ecsv1.TaskDefinitionSpec{CPU: "512", ContainerDefinitions: []ecsv1.ContainerDefinition{
				ctr("a", 300, ptr.To[int32](64), nil), ctr("b", 300, ptr.To[int32](64), nil)}},
			want: []string{ecsv1.ReasonCPUExceedsTask},
		},
		"a container's hard limit above task memory": {
			spec: ecsv1.TaskDefinitionSpec{Memory: "512", ContainerDefinitions: []ecsv1.ContainerDefinition{
				ctr("a", 0, ptr.To[int32](600), ptr.To[int32](100))}},
			want: []string{ecsv1.ReasonMemoryExceedsTask},
		},
		"reservations together above task memory": {
			spec: ecsv1.TaskDefinitionSpec{Memory: "512", ContainerDefinitions: []ecsv1.ContainerDefinition{
				ctr("a", 0, nil, ptr.To[int32](300)), ctr("b", 0, ptr.To[int32](300), nil)}},
			want: []string{ecsv1.ReasonMemoryExceedsTask},
		},
		"awsvpc: same port twice": {
			spec: ecsv1.TaskDefinitionSpec{NetworkMode: ecsv1.NetworkModeAWSVPC, ContainerDefinitions: []ecsv1.ContainerDefinition{
				ctr("a", 0, ptr.To[int32](64), nil, port(80, nil, "")), ctr("b", 0, ptr.To[int32](64), nil, port(80, ptr.To[int32](80), ecsv1.ProtocolTCP))}},
			want: []string{ecsv1.ReasonPortConflict},
		},
		"host: same port, other protocol": {
			spec: ecsv1.TaskDefinitionSpec{NetworkMode: ecsv1.NetworkModeHost, ContainerDefinitions: []ecsv1.ContainerDefinition{
				ctr("a", 0, ptr.To[int32](64), nil, port(53, nil, ecsv1.ProtocolTCP)), ctr("b", 0, ptr.To[int32](64), nil, port(53, nil, ecsv1.ProtocolUDP))}},
		},
		"bridge: same containerPort, dynamic host ports": {
			spec: ecsv1.TaskDefinitionSpec{ContainerDefinitions: []ecsv1.ContainerDefinition{
				ctr("a", 0, ptr.To[int32](64), nil, port(80, nil, "")), ctr("b", 0, ptr.To[int32](64), nil, port(80, ptr.To[int32](0), ""))}},
		},
		"bridge: same static host port": {
			spec: ecsv1.TaskDefinitionSpec{NetworkMode: ecsv1.NetworkModeBridge, ContainerDefinitions: []ecsv1.ContainerDefinition{
				ctr("a", 0, ptr.To[int32](64), nil, port(80, ptr.To[int32](8080), "")), ctr("b", 0, ptr.To[int32](64), nil, port(81, ptr.To[int32](8080), ecsv1.ProtocolTCP))}},
			want: []string{ecsv1.ReasonHostPortConflict},
		},
		"several problems, in order": {
			spec: ecsv1.TaskDefinitionSpec{CPU: "256", Memory: "128", NetworkMode: ecsv1.NetworkModeAWSVPC, ContainerDefinitions: []ecsv1.ContainerDefinition{
				ctr("a", 512, ptr.To[int32](256), nil, port(80, nil, "")), ctr("b", 0, ptr.To[int32](64), nil, port(80, nil, ""))}},
			want: []string{ecsv1.ReasonCPUExceedsTask, ecsv1.ReasonMemoryExceedsTask, ecsv1.ReasonPortConflict},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var got []string
			for _, p := range validateSpec(&tc.spec) {
				if p.message == "" {
					t.Errorf("reason %s has no message", p.reason)
				}
				got = append(got, p.reason)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("reasons (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSpecHash(t *testing.T) {
	a := ecsv1.TaskDefinitionSpec{ContainerDefinitions: []ecsv1.ContainerDefinition{ctr("a", 0, ptr.To[int32](64), nil)}}
	b := *a.DeepCopy()
	b.RevisionHistoryLimit = ptr.To[int32](3)
	c := *a.DeepCopy()
	c.ContainerDefinitions[0].Image = "busybox:2"
	ha, _ := SpecHash(&a)
	hb, _ := SpecHash(&b)
	hc, _ := SpecHash(&c)
	if len(ha) != 64 {
		t.Errorf("hash %q is not a hex sha256", ha)
	}
	if ha != hb {
		t.Errorf("revisionHistoryLimit changed the hash")
	}
	if ha == hc {
		t.Errorf("a new image did not change the hash")
	}
}

func TestRevisionRefs(t *testing.T) {
	tests := map[string]struct {
		obj  client.Object
		want []string
	}{
		"running task, pinned and resolved": {
			obj: &ecsv1.Task{Spec: ecsv1.TaskSpec{TaskDefinition: "web:2"},
				Status: ecsv1.TaskStatus{LastStatus: ecsv1.TaskRunning, TaskDefinitionRevision: "web:2"}},
			want: []string{"web:2"},
		},
		"family-only task not resolved yet": {
			obj: &ecsv1.Task{Spec: ecsv1.TaskSpec{TaskDefinition: "web"}},
		},
		"stopped task": {
			obj: &ecsv1.Task{Spec: ecsv1.TaskSpec{TaskDefinition: "web:2"},
				Status: ecsv1.TaskStatus{LastStatus: ecsv1.TaskStopped, TaskDefinitionRevision: "web:2"}},
		},
		"service with deployments": {
			obj: &ecsv1.Service{Spec: ecsv1.ServiceSpec{TaskDefinition: "web"}, Status: ecsv1.ServiceStatus{
				TaskDefinition: "web:10", Deployments: []ecsv1.Deployment{{ID: "b", TaskDefinition: "web:10"}, {ID: "a", TaskDefinition: "web:9"}, {ID: "c", TaskDefinition: "api:1"}}}},
			want: []string{"api:1", "web:9", "web:10"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, refStrings(revisionRefs(tc.obj))); diff != "" {
				t.Errorf("refs (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRegistrationHash(t *testing.T) {
	spec := ecsv1.TaskDefinitionSpec{ContainerDefinitions: []ecsv1.ContainerDefinition{ctr("a", 0, ptr.To[int32](64), nil)}}
	td := func(reg string) *ecsv1.TaskDefinition {
		td := &ecsv1.TaskDefinition{Spec: *spec.DeepCopy()}
		if reg != "" {
			td.Annotations = map[string]string{ecsv1.AnnotationRegistration: reg}
		}
		return td
	}
	plain, _ := SpecHash(&spec)
	hash := func(reg string) string {
		h, err := RegistrationHash(td(reg))
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	if got := hash(""); got != plain {
		t.Errorf("without a registration: %q, want the spec hash %q", got, plain)
	}
	if hash("r1") == plain || hash("r1") == hash("r2") {
		t.Errorf("registrations r1 and r2 do not make hashes of their own: %q, %q (spec %q)", hash("r1"), hash("r2"), plain)
	}
	if first, again := hash("r1"), hash("r1"); first != again {
		t.Errorf("the hash of one registration is not stable")
	}
}
