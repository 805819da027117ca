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
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ecsv1 "github.com/longshore-io/longshore/api/v1alpha1"
)

// TestDevicesAndSwap: linuxParameters.devices gives a host device at its
// container path with ECS's permissions (the device cgroup refuses what
// is not granted), and maxSwap/swappiness set the container's cgroup as
// Docker's --memory-swap and --memory-swappiness do.
func TestDevicesAndSwap(t *testing.T) {
	n := newNode(t, "node-devices")
	// The Cluster must allow the devices (security.allowedDevices).
	cl := &ecsv1.Cluster{ObjectMeta: metav1.ObjectMeta{Name: "default"}}
	if err := env.Client.Get(t.Context(), client.ObjectKeyFromObject(cl), cl); err != nil {
		t.Fatal(err)
	}
	before := cl.DeepCopy()
	cl.Spec.Security.AllowedDevices = []string{"/dev/kmsg"}
	cl.Spec.Security.AllowedCapabilities = append(cl.Spec.Security.AllowedCapabilities, "SYSLOG")
	if err := env.Client.Update(t.Context(), cl); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = env.Client.Get(context.Background(), client.ObjectKeyFromObject(cl), cl)
		cl.Spec.Security = before.Spec.Security
		_ = env.Client.Update(context.Background(), cl)
	})
	c := container("main", "sleep", "3600")
	c.Memory = ptr.To[int32](64)
	c.LinuxParameters = &ecsv1.LinuxParameters{MaxSwap: ptr.To[int32](32), Swappiness: ptr.To[int32](10),
		Capabilities: &ecsv1.KernelCapabilities{Add: []ecsv1.Capability{"SYSLOG"}}, // to read the kernel log
		Devices:      []ecsv1.Device{{HostPath: "/dev/kmsg", ContainerPath: "/dev/kmsg-ro", Permissions: []ecsv1.DevicePermission{"read"}}}}
	// Device cgroup rules are per device number: the same device with all
	// permissions goes to another container.
	rw := container("rw", "sleep", "3600")
	rw.LinuxParameters = &ecsv1.LinuxParameters{Devices: []ecsv1.Device{{HostPath: "/dev/kmsg"}}}
	task := n.task("devices", ecsv1.TaskDefinitionSpec{NetworkMode: ecsv1.NetworkModeNone, ContainerDefinitions: []ecsv1.ContainerDefinition{c, rw}})
	got := n.wait(task, 60*time.Second, "RUNNING", phase(ecsv1.TaskRunning))
	last := func(out string) string { l := strings.Split(strings.TrimSpace(out), "\n"); return l[len(l)-1] }

	// /dev/kmsg is not among the devices every container may use. Where
	// the device cgroup lets an open through, the device answers (a read:
	// the kernel log; an open for writing that writes nothing: success);
	// where it does not, the open fails with EPERM.
	const cgroupRefusal = "Operation not permitted"
	for _, c := range []struct {
		container, cmd string
		refused        bool
	}{
		{"main", "head -c 1 /dev/kmsg-ro", false}, // read granted
		{"main", ": > /dev/kmsg-ro", true},        // write not granted
		{"rw", ": > /dev/kmsg", false},            // all three by default
	} {
		out, _ := n.exec(got, c.container, "sh", "-c", c.cmd)
		if strings.Contains(out, cgroupRefusal) != c.refused {
			t.Errorf("%s: %s: %q, want the open refused by the device cgroup: %v", c.container, c.cmd, out, c.refused)
		}
	}
	if out, err := n.exec(got, "main", "dd", "if=/dev/kmsg-ro", "bs=4096", "count=1", "status=none"); err != nil || !strings.Contains(out, ";") {
		t.Errorf("reading /dev/kmsg-ro: %q (%v), want a kernel log record (\"<level>,<seq>,<time>,-;<text>\")", out, err)
	}
	if out, err := n.exec(got, "main", "ls", "/dev/kmsg"); err == nil {
		t.Errorf("main has /dev/kmsg (%q): it was given the device at /dev/kmsg-ro only", out)
	}
	files := map[string]string{
		"/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes": fmt.Sprint((64 + 32) * 1024 * 1024),
		"/sys/fs/cgroup/memory/memory.swappiness":           "10",
	}
	if _, err := os.Stat("/sys/fs/cgroup/cgroup.controllers"); err == nil {
		// cgroup v2: swap alone (runc converts), no swappiness file.
		files = map[string]string{"/sys/fs/cgroup/memory.swap.max": fmt.Sprint(32 * 1024 * 1024)}
	} else if _, err := os.Stat("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes"); err != nil {
		t.Logf("this kernel has no swap accounting: memory.memsw not checked")
		delete(files, "/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes")
	}
	for file, want := range files {
		if out, err := n.exec(got, "main", "cat", file); err != nil || last(out) != want {
			t.Errorf("inside the container %s = %q (%v), want %s", file, out, err, want)
		}
	}
	n.deleteTask(task)

	// A device the Cluster does not allow: the task does not start.
	c.LinuxParameters.Devices = []ecsv1.Device{{HostPath: "/dev/fuse"}}
	task = n.task("device-forbidden", ecsv1.TaskDefinitionSpec{NetworkMode: ecsv1.NetworkModeNone, ContainerDefinitions: []ecsv1.ContainerDefinition{c}})
	got = n.wait(task, 60*time.Second, "STOPPED", phase(ecsv1.TaskStopped))
	if !strings.Contains(got.Status.StoppedReason, "Cluster security forbids the host device /dev/fuse") {
		t.Errorf("stopped with %s: %q, want the Cluster's refusal", got.Status.StopCode, got.Status.StoppedReason)
	}
	n.deleteTask(task)
}
