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
	"maps"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	ecsv1 "github.com/longshore-io/longshore/api/v1alpha1"
	lsruntime "github.com/longshore-io/longshore/internal/runtime"
)

func TestBuildContainerSpec(t *testing.T) {
	task := &ecsv1.Task{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "t1", UID: "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"},
		Spec: ecsv1.TaskSpec{Overrides: &ecsv1.TaskOverride{ContainerOverrides: []ecsv1.ContainerOverride{{
			Name: "web", Command: []string{"serve", "--fast"}, Memory: ptr.To[int32](256),
			Environment: []ecsv1.KeyValuePair{{Name: "MODE", Value: "override"}, {Name: "NEW", Value: "1"}},
		}}}}}
	td := &ecsv1.TaskDefinitionSpec{Volumes: []ecsv1.Volume{{Name: "scratch"}, {Name: "creds", Secret: &ecsv1.SecretVolume{SecretName: "s"}}}}
	def := &ecsv1.ContainerDefinition{
		Name: "web", Image: "busybox", CPU: 512, Memory: ptr.To[int32](128), MemoryReservation: ptr.To[int32](64),
		EntryPoint: []string{"/bin/app"}, Command: []string{"run"}, User: "1000:1000", WorkingDirectory: "/srv",
		Hostname: "web-1", Privileged: true, ReadonlyRootFilesystem: true,
		Environment:  []ecsv1.KeyValuePair{{Name: "MODE", Value: "def"}, {Name: "KEEP", Value: "k"}},
		DockerLabels: map[string]string{"team": "a"},
		MountPoints:  []ecsv1.MountPoint{{SourceVolume: "scratch", ContainerPath: "/data"}, {SourceVolume: "creds", ContainerPath: "/creds"}},
		Ulimits:      []ecsv1.Ulimit{{Name: "nofile", SoftLimit: 1024, HardLimit: 4096}},
		LinuxParameters: &ecsv1.LinuxParameters{
			Capabilities:     &ecsv1.KernelCapabilities{Add: []ecsv1.Capability{"NET_ADMIN"}, Drop: []ecsv1.Capability{"MKNOD"}},
			SharedMemorySize: ptr.To[int32](32),
			Tmpfs:            []ecsv1.Tmpfs{{ContainerPath: "/run", Size: 16, MountOptions: []string{"noexec"}}},
		},
	}
	got, err := buildContainerSpec(containerInput{Task: task, Revision: "web:3", TD: td, Def: def, Attempt: 2,
		NetNSPath: "/run/ns/x", SecretEnv: map[string]string{"PW": "s3cr3t"},
		VolumeDirs: map[string]string{"scratch": "/state/v/scratch", "creds": "/state/f/creds"},
		EtcDir:     "/state/etc/web", CgroupParent: "/longshore/abc"})
	if err != nil {
		t.Fatal(err)
	}
	want := lsruntime.ContainerSpec{
		ID:    lsruntime.ContainerID("0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0", "web", 2),
		Image: "busybox",
		Labels: map[string]string{"team": "a",
			lsruntime.LabelTaskUID: string(task.UID), lsruntime.LabelTaskNamespace: "ns", lsruntime.LabelTaskName: "t1",
			lsruntime.LabelContainer: "web", lsruntime.LabelAttempt: "2", lsruntime.LabelRevision: "web:3"},
		Entrypoint: []string{"/bin/app"},
		Command:    []string{"serve", "--fast"},
		Env:        []string{"KEEP=k", "MODE=override", "NEW=1", "PW=s3cr3t"},
		User:       "1000:1000", WorkingDir: "/srv", Hostname: "web-1", NetNSPath: "/run/ns/x",
		CPUShares: 512, MemoryLimit: 256 * mib, MemoryReservation: 64 * mib,
		CgroupParent: "/longshore/abc", Privileged: true, ReadonlyRootfs: true,
		CapAdd: []string{"NET_ADMIN"}, CapDrop: []string{"MKNOD"}, ShmSizeBytes: 32 * mib,
		Rlimits: []lsruntime.Rlimit{{Type: "RLIMIT_NOFILE", Soft: 1024, Hard: 4096}},
		Mounts: []lsruntime.Mount{
			{Type: "bind", Source: "/state/etc/web/hosts", Destination: "/etc/hosts", Options: []string{"rbind", "rprivate", "ro"}},
			{Type: "bind", Source: "/state/etc/web/resolv.conf", Destination: "/etc/resolv.conf", Options: []string{"rbind", "rprivate", "ro"}},
			{Type: "bind", Source: "/state/etc/web/hostname", Destination: "/etc/hostname", Options: []string{"rbind", "rprivate", "ro"}},
			{Type: "bind", Source: "/state/v/scratch", Destination: "/data", Options: []string{"rbind", "rprivate"}},
			{Type: "bind", Source: "/state/f/creds", Destination: "/creds", Options: []string{"rbind", "rprivate", "ro"}},
			{Type: "tmpfs", Source: "tmpfs", Destination: "/run", Options: []string{"noexec", "size=16m", "nosuid", "nodev"}},
		},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("spec (-want +got):\n%s", d)
	}

	none, err := buildContainerSpec(containerInput{Task: task, TD: &ecsv1.TaskDefinitionSpec{IpcMode: "none"},
		Def: &ecsv1.ContainerDefinition{Name: "x", LinuxParameters: &ecsv1.LinuxParameters{SharedMemorySize: ptr.To[int32](32)}}})
	if err != nil || !none.NoDevShm || none.ShmSizeBytes != 0 || none.IPCNSPath != "" || none.HostIPC {
		t.Errorf("ipcMode none: no /dev/shm %v, shm size %d, IPC %q, host %v (%v); want its own IPC namespace and no /dev/shm",
			none.NoDevShm, none.ShmSizeBytes, none.IPCNSPath, none.HostIPC, err)
	}
	if _, err := buildContainerSpec(containerInput{Task: task, TD: &ecsv1.TaskDefinitionSpec{PidMode: "task"}, Def: &ecsv1.ContainerDefinition{Name: "x"}}); err == nil ||
		!strings.Contains(err.Error(), "namespace holder is missing") {
		t.Errorf("pidMode task without a holder: err = %v, want a clear refusal", err)
	}
	shared, err := buildContainerSpec(containerInput{Task: task, TD: &ecsv1.TaskDefinitionSpec{PidMode: "task", IpcMode: "task"},
		Def: &ecsv1.ContainerDefinition{Name: "x"}, PIDNSPath: "/proc/7/ns/pid", IPCNSPath: "/proc/7/ns/ipc"})
	if err != nil || shared.PIDNSPath != "/proc/7/ns/pid" || shared.IPCNSPath != "/proc/7/ns/ipc" || shared.HostPID || shared.HostIPC {
		t.Errorf("pidMode and ipcMode task: %+v, %v; want the holder's namespaces", shared, err)
	}
}

func TestContainerIDIsDockerShaped(t *testing.T) {
	long := strings.Repeat("c", 63)
	id := lsruntime.ContainerID("0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0", long, 12)
	if !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(id) {
		t.Errorf("ID %q: want 64 hexadecimal digits", id)
	}
	if id != lsruntime.ContainerID("0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0", long, 12) {
		t.Error("not deterministic")
	}
	for _, other := range []string{lsruntime.ContainerID("0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0", long, 11),
		lsruntime.ContainerID("0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0", long[:62]+"d", 12),
		lsruntime.ContainerID("0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f1", long, 12)} {
		if other == id {
			t.Error("another task, container or attempt has the same ID")
		}
	}
}

func TestEtcFiles(t *testing.T) {
	hosts := hostsFile("web", "10.0.0.5", []ecsv1.HostEntry{{Hostname: "db", IPAddress: "10.0.0.9"}})
	if !strings.Contains(hosts, "10.0.0.5\tweb\n") || !strings.Contains(hosts, "10.0.0.9\tdb\n") || !strings.HasPrefix(hosts, "127.0.0.1\tlocalhost") {
		t.Errorf("hosts:\n%s", hosts)
	}
	host := "nameserver 127.0.0.53\nnameserver 192.0.2.1\nsearch example.org\noptions edns0\n"
	if got, want := resolvConf(host, nil, nil, true), "nameserver 192.0.2.1\nsearch example.org\noptions edns0\n"; got != want {
		t.Errorf("own namespace: got %q, want %q", got, want)
	}
	if got := resolvConf(host, nil, nil, false); !strings.Contains(got, "127.0.0.53") {
		t.Errorf("host network keeps the host's resolver: %q", got)
	}
	if got, want := resolvConf(host, []string{"9.9.9.9"}, nil, true), "nameserver 9.9.9.9\nsearch example.org\noptions edns0\n"; got != want {
		t.Errorf("dnsServers: got %q, want %q", got, want)
	}
	if got, want := resolvConf(host, nil, []string{"svc.local", "corp.example"}, true), "nameserver 192.0.2.1\nsearch svc.local corp.example\noptions edns0\n"; got != want {
		t.Errorf("dnsSearchDomains: got %q, want %q", got, want)
	}
}

func TestSystemControlsAndSecurityOptions(t *testing.T) {
	task := &ecsv1.Task{}
	task.Name, task.UID = "t", "u"
	def := &ecsv1.ContainerDefinition{Name: "c", Image: "busybox",
		SystemControls:        []ecsv1.SystemControl{{Namespace: "net.ipv4.conf.default.rp_filter", Value: "0"}, {Namespace: "kernel.shmmax", Value: "68719476736"}},
		DockerSecurityOptions: []string{"no-new-privileges"}}
	spec, err := buildContainerSpec(containerInput{Task: task, TD: &ecsv1.TaskDefinitionSpec{}, Def: def})
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]string{"net.ipv4.conf.default.rp_filter": "0", "kernel.shmmax": "68719476736"}; !maps.Equal(spec.Sysctls, want) {
		t.Errorf("sysctls %v, want %v", spec.Sysctls, want)
	}
	if !spec.NoNewPrivileges {
		t.Error("no-new-privileges not set")
	}
	spec, _ = buildContainerSpec(containerInput{Task: task, TD: &ecsv1.TaskDefinitionSpec{}, Def: &ecsv1.ContainerDefinition{Name: "c", Image: "busybox"}})
	if spec.Sysctls != nil || spec.NoNewPrivileges {
		t.Errorf("defaults: sysctls %v, noNewPrivileges %v", spec.Sysctls, spec.NoNewPrivileges)
	}
}

func TestRegistryAuthHelpers(t *testing.T) {
	for in, want := range map[string]string{"https://reg:5000/v1/": "reg:5000", "reg:5000": "reg:5000", "https://index.docker.io/v1/": "registry-1.docker.io"} {
		if got := registryHost(in); got != want {
			t.Errorf("registryHost(%q) = %q, want %q", in, got, want)
		}
	}
	if u, p, ok := decodeBasic("dXNlcjpwYTpzcw=="); !ok || u != "user" || p != "pa:ss" {
		t.Errorf("decodeBasic = %q %q %v", u, p, ok)
	}
}

func TestVolumesFromMounts(t *testing.T) {
	td := &ecsv1.TaskDefinitionSpec{
		Volumes: []ecsv1.Volume{{Name: "data"}, {Name: "logs"}},
		ContainerDefinitions: []ecsv1.ContainerDefinition{
			{Name: "reader", VolumesFrom: []ecsv1.VolumeFrom{{SourceContainer: "writer", ReadOnly: true}}},
			{Name: "writer", MountPoints: []ecsv1.MountPoint{{SourceVolume: "data", ContainerPath: "/data"}},
				VolumesFrom: []ecsv1.VolumeFrom{{SourceContainer: "logger"}}},
			{Name: "logger", MountPoints: []ecsv1.MountPoint{{SourceVolume: "logs", ContainerPath: "/logs", ReadOnly: true}}},
			{Name: "loop-a", VolumesFrom: []ecsv1.VolumeFrom{{SourceContainer: "loop-b"}}},
			{Name: "loop-b", VolumesFrom: []ecsv1.VolumeFrom{{SourceContainer: "loop-a"}}},
		}}
	dirs := map[string]string{"data": "/state/data", "logs": "/state/logs"}

	// A source listed later, and what it inherits in turn, read-only as asked.
	got, err := volumesFromMounts(td, "reader", dirs)
	if err != nil {
		t.Fatal(err)
	}
	want := []lsruntime.Mount{
		{Type: "bind", Source: "/state/data", Destination: "/data", Options: []string{"rbind", "rprivate", "ro"}},
		{Type: "bind", Source: "/state/logs", Destination: "/logs", Options: []string{"rbind", "rprivate", "ro"}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("reader (-want +got):\n%s", diff)
	}
	// Read-write stays read-write without readOnly; the source's own ro stays.
	got, err = volumesFromMounts(td, "writer", dirs)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want[1:], got); diff != "" {
		t.Errorf("writer (-want +got):\n%s", diff)
	}
	if got, err := volumesFromMounts(td, "logger", dirs); err != nil || len(got) != 0 {
		t.Errorf("logger: %v %v, want none", got, err)
	}
	if _, err := volumesFromMounts(td, "loop-a", dirs); err == nil || !strings.Contains(err.Error(), "cycle") {
		t.Errorf("cycle: %v", err)
	}
}

func TestLinkHosts(t *testing.T) {
	ips := map[string]string{"db": "10.0.0.2", "cache": "10.0.0.3"}
	got, err := linkHosts(&ecsv1.ContainerDefinition{Links: []string{"db", "cache:redis"}}, ips)
	want := []ecsv1.HostEntry{{Hostname: "db", IPAddress: "10.0.0.2"}, {Hostname: "cache", IPAddress: "10.0.0.3"}, {Hostname: "redis", IPAddress: "10.0.0.3"}}
	if err != nil || !slices.Equal(got, want) {
		t.Errorf("linkHosts = %v, %v; want %v", got, err, want)
	}
	if _, err := linkHosts(&ecsv1.ContainerDefinition{Links: []string{"offline"}}, ips); err == nil || !strings.Contains(err.Error(), "container offline has no address") {
		t.Errorf("a link to a container without an address: %v", err)
	}
}

func TestEnvironmentPrecedence(t *testing.T) {
	def := &ecsv1.ContainerDefinition{Environment: []ecsv1.KeyValuePair{{Name: "A", Value: "env"}, {Name: "B", Value: "env"}}}
	ov := &ecsv1.ContainerOverride{Environment: []ecsv1.KeyValuePair{{Name: "B", Value: "override"}}}
	files := map[string]string{"A": "file", "F": "file", "S": "file"}
	got := effectiveEnv(def, ov, nil, files, map[string]string{"S": "secret"})
	// Files lose to environment, environment to the override, and secrets win.
	want := []string{"A=env", "B=override", "F=file", "S=secret"}
	if !slices.Equal(got, want) {
		t.Errorf("effectiveEnv = %v, want %v", got, want)
	}
}

// Swap as Docker and ECS: memory + maxSwap, swappiness only with maxSwap;
// devices with ECS's permissions as cgroup access letters (all three by
// default).
func TestBuildContainerSpecSwapAndDevices(t *testing.T) {
	task := &ecsv1.Task{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "t1", UID: "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"}}
	td := &ecsv1.TaskDefinitionSpec{}
	build := func(def *ecsv1.ContainerDefinition) lsruntime.ContainerSpec {
		t.Helper()
		got, err := buildContainerSpec(containerInput{Task: task, TD: td, Def: def, EtcDir: "/e"})
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	got := build(&ecsv1.ContainerDefinition{Name: "a", Memory: ptr.To[int32](128), LinuxParameters: &ecsv1.LinuxParameters{
		MaxSwap: ptr.To[int32](64), Swappiness: ptr.To[int32](10),
		Devices: []ecsv1.Device{{HostPath: "/dev/zero", ContainerPath: "/dev/myzero", Permissions: []ecsv1.DevicePermission{"read"}}, {HostPath: "/dev/fuse"}}}})
	if got.MemorySwap != 192*mib || got.Swappiness == nil || *got.Swappiness != 10 {
		t.Errorf("swap %d swappiness %v, want %d and 10", got.MemorySwap, got.Swappiness, 192*mib)
	}
	want := []lsruntime.Device{{HostPath: "/dev/zero", ContainerPath: "/dev/myzero", Permissions: "r"}, {HostPath: "/dev/fuse", Permissions: "rwm"}}
	if !reflect.DeepEqual(got.Devices, want) {
		t.Errorf("devices %+v, want %+v", got.Devices, want)
	}
	got = build(&ecsv1.ContainerDefinition{Name: "a", Memory: ptr.To[int32](128), LinuxParameters: &ecsv1.LinuxParameters{MaxSwap: ptr.To[int32](0)}})
	if got.MemorySwap != 128*mib {
		t.Errorf("maxSwap 0: swap %d, want the memory limit (no swap)", got.MemorySwap)
	}
	got = build(&ecsv1.ContainerDefinition{Name: "a", Memory: ptr.To[int32](128), LinuxParameters: &ecsv1.LinuxParameters{Swappiness: ptr.To[int32](10)}})
	if got.MemorySwap != 0 || got.Swappiness != nil {
		t.Errorf("swappiness without maxSwap: swap %d swappiness %v, want neither", got.MemorySwap, got.Swappiness)
	}
}
