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
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestFake(t *testing.T) {
	ctx := context.Background()
	f := NewFake()

	web, err := f.Setup(ctx, SetupRequest{ID: "t1-web", Mode: ModeBridge, PortMappings: []PortMapping{
		{ContainerPort: 80, HostPort: 8080}, {ContainerPort: 9000},
	}})
	if err != nil {
		t.Fatal(err)
	}
	want := &Attachment{
		ID: "t1-web", Mode: ModeBridge, NetNSPath: "/run/longshore/netns/t1-web",
		Interface: "eth0", IPv4: "172.29.0.2", Subnet: "172.29.0.0/16", Gateway: "172.29.0.1", MAC: "02:42:ac:1d:00:02",
		Bindings: []Binding{
			{HostIP: "0.0.0.0", HostPort: 8080, ContainerPort: 80, Protocol: "tcp"},
			{HostIP: "0.0.0.0", HostPort: 49153, ContainerPort: 9000, Protocol: "tcp"},
		},
	}
	if diff := cmp.Diff(want, web); diff != "" {
		t.Errorf("bridge attachment (-want +got):\n%s", diff)
	}

	task, err := f.Setup(ctx, SetupRequest{ID: "t2", Mode: ModeAWSVPC})
	if err != nil {
		t.Fatal(err)
	}
	if task.IPv4 != "10.222.3.2" || task.Subnet != "10.222.3.0/24" || task.Gateway != "10.222.3.1" {
		t.Errorf("awsvpc attachment = %+v", task)
	}
	none, err := f.Setup(ctx, SetupRequest{ID: "t3", Mode: ModeNone})
	if err != nil {
		t.Fatal(err)
	}
	if none.IPv4 != "" || none.Interface != "" {
		t.Errorf("none attachment has an address: %+v", none)
	}

	// Idempotent by ID.
	again, err := f.Setup(ctx, SetupRequest{ID: "t1-web", Mode: ModeBridge})
	if err != nil || !cmp.Equal(again, web) {
		t.Errorf("second Setup = %+v, %v; want the first attachment", again, err)
	}

	// Host ports, like the real thing.
	_, err = f.Setup(ctx, SetupRequest{ID: "t4-web", Mode: ModeBridge, PortMappings: []PortMapping{{ContainerPort: 80, HostPort: 8080}}})
	if !errors.Is(err, ErrPortInUse) || !strings.Contains(err.Error(), "host port 8080/tcp is already in use") {
		t.Errorf("conflicting static port: err = %v", err)
	}
	f.OccupyHostPort("tcp", 49154)
	_, err = f.Setup(ctx, SetupRequest{ID: "t4-web", Mode: ModeBridge, PortMappings: []PortMapping{{ContainerPort: 80, HostPort: 49154}}})
	if !errors.Is(err, ErrPortInUse) {
		t.Errorf("port held on the host: err = %v", err)
	}
	dyn, err := f.Setup(ctx, SetupRequest{ID: "t4-web", Mode: ModeBridge, PortMappings: []PortMapping{{ContainerPort: 80}}})
	if err != nil || dyn.Bindings[0].HostPort != 49155 {
		t.Errorf("dynamic port skipping the occupied one = %+v, %v; want 49155", dyn, err)
	}

	// Failures.
	boom := errors.New("boom")
	f.FailOnce(FakeSetup, boom)
	if _, err := f.Setup(ctx, SetupRequest{ID: "t5", Mode: ModeNone}); !errors.Is(err, boom) {
		t.Errorf("FailOnce: err = %v", err)
	}
	if _, err := f.Setup(ctx, SetupRequest{ID: "t5", Mode: ModeNone}); err != nil {
		t.Errorf("after FailOnce: %v", err)
	}
	f.FailID("t2", boom)
	if err := f.Teardown(ctx, "t2"); !errors.Is(err, boom) {
		t.Errorf("FailID Teardown: err = %v", err)
	}
	f.Fail(FakeList, boom)
	if _, err := f.List(ctx); !errors.Is(err, boom) {
		t.Errorf("Fail List: err = %v", err)
	}
	f.Fail(FakeList, nil)

	// GC keeps what it is told to and the attachment that fails.
	if err := f.GC(ctx, map[string]bool{"t1-web": true}); !errors.Is(err, boom) {
		t.Errorf("GC: err = %v, want the FailID error", err)
	}
	var ids []string
	list, err := f.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range list {
		ids = append(ids, a.ID)
	}
	if diff := cmp.Diff([]string{"t1-web", "t2"}, ids); diff != "" {
		t.Errorf("after GC (-want +got):\n%s", diff)
	}
	f.FailID("t2", nil)
	if err := f.Teardown(ctx, "t2"); err != nil {
		t.Fatal(err)
	}
	if _, ok := f.Attachment("t2"); ok {
		t.Error("t2 still set up after Teardown")
	}
	// A port released by GC can be taken statically again.
	if _, err := f.Setup(ctx, SetupRequest{ID: "t6-web", Mode: ModeBridge, PortMappings: []PortMapping{{ContainerPort: 80, HostPort: 49155}}}); err != nil {
		t.Errorf("port of a GC'd attachment: %v", err)
	}

	var ops []string
	for _, c := range f.Calls() {
		ops = append(ops, string(c.Op)+" "+c.ID)
	}
	wantOps := []string{
		"Setup t1-web", "Setup t2", "Setup t3", "Setup t1-web", "Setup t4-web", "Setup t4-web", "Setup t4-web",
		"Setup t5", "Setup t5", "Teardown t2", "List ", "GC ", "List ", "Teardown t2", "Setup t6-web",
	}
	if diff := cmp.Diff(wantOps, ops); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
	if got := f.Calls()[11].Keep; !got["t1-web"] || len(got) != 1 {
		t.Errorf("GC keep recorded as %v", got)
	}
}

func TestFakeAdd(t *testing.T) {
	ctx := context.Background()
	f := NewFake()
	f.Add(Attachment{ID: "old", Mode: ModeBridge, Bindings: []Binding{{HostPort: 8080, ContainerPort: 80, Protocol: "tcp"}}})
	if _, err := f.Setup(ctx, SetupRequest{ID: "new", Mode: ModeBridge, PortMappings: []PortMapping{{ContainerPort: 80, HostPort: 8080}}}); !errors.Is(err, ErrPortInUse) {
		t.Errorf("port of an added attachment: err = %v", err)
	}
	if len(f.Calls()) != 1 {
		t.Errorf("Add recorded a call: %v", f.Calls())
	}
}
