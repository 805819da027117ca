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
	"net/url"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	ecsv1 "github.com/longshore-io/longshore/api/v1alpha1"
	lsruntime "github.com/longshore-io/longshore/internal/runtime"
)

// containerInput is everything buildContainerSpec needs besides the
// definition: decided by the task controller, so that this stays pure.
type containerInput struct {
	Task     *ecsv1.Task
	Revision string // "family:n"
	TD       *ecsv1.TaskDefinitionSpec
	Def      *ecsv1.ContainerDefinition
	Attempt  int
	// NetNSPath is the namespace to join ("" = host network).
	NetNSPath string
	// PIDNSPath and IPCNSPath are the task's shared namespaces (pidMode
	// and ipcMode task: its namespace holder's), "" for none.
	PIDNSPath, IPCNSPath string
	// SharedShm is the host directory of the task's shared /dev/shm
	// (ipcMode task), "" for the container's own.
	SharedShm string
	// SecretEnv are the values of Def.Secrets, by variable name.
	SecretEnv map[string]string
	// FileEnv are the variables of Def.EnvironmentFiles, later files
	// already over earlier ones.
	FileEnv map[string]string
	// VolumeDirs maps each task volume name to its host directory.
	VolumeDirs map[string]string
	// EtcDir holds this container's hosts, resolv.conf and hostname files.
	EtcDir string
	// CgroupParent is the task's cgroup.
	CgroupParent string
	// LogURI is the logging binary's URI (nil for logDriver none).
	LogURI *url.URL
	// VolumesFromMounts are the mounts of the containers named in
	// Def.VolumesFrom, already resolved.
	VolumesFromMounts []lsruntime.Mount
	// ExtraMounts are the agent's own (a FireLens router's configuration
	// and socket directory).
	ExtraMounts []lsruntime.Mount
	// ExtraEnv are variables the agent sets (FLUENT_HOST, FLUENT_PORT);
	// the definition's own variables win over them.
	ExtraEnv map[string]string
}

// ownershipLabels are the containerd labels that tie a container to its task.
func ownershipLabels(task *ecsv1.Task, container, revision string, attempt int) map[string]string {
	return map[string]string{
		lsruntime.LabelTaskUID:       string(task.UID),
		lsruntime.LabelTaskNamespace: task.Namespace,
		lsruntime.LabelTaskName:      task.Name,
		lsruntime.LabelContainer:     container,
		lsruntime.LabelAttempt:       fmt.Sprint(attempt),
		lsruntime.LabelRevision:      revision,
	}
}

func containerOverride(task *ecsv1.Task, name string) *ecsv1.ContainerOverride {
	if task.Spec.Overrides == nil {
		return nil
	}
	for i := range task.Spec.Overrides.ContainerOverrides {
		if task.Spec.Overrides.ContainerOverrides[i].Name == name {
			return &task.Spec.Overrides.ContainerOverrides[i]
		}
	}
	return nil
}

// effectiveEnv merges the definition's environment, the override's (which
// wins by name) and the secrets, sorted by name.
func effectiveEnv(def *ecsv1.ContainerDefinition, ov *ecsv1.ContainerOverride, extra, files, secrets map[string]string) []string {
	env := map[string]string{}
	for k, v := range extra {
		env[k] = v
	}
	for k, v := range files {
		env[k] = v
	}
	for _, kv := range def.Environment {
		env[kv.Name] = kv.Value
	}
	if ov != nil {
		for _, kv := range ov.Environment {
			env[kv.Name] = kv.Value
		}
	}
	for k, v := range secrets {
		env[k] = v
	}
	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]string, 0, len(keys))
	for _, k := range keys {
		out = append(out, k+"="+env[k])
	}
	return out
}

const mib = 1024 * 1024

// buildContainerSpec turns a container definition, the task's overrides and
// the controller's decisions into a runtime container spec.
func buildContainerSpec(in containerInput) (lsruntime.ContainerSpec, error) {
	def, task := in.Def, in.Task
	ov := containerOverride(task, def.Name)
	labels := map[string]string{}
	for k, v := range def.DockerLabels {
		labels[k] = v
	}
	for k, v := range ownershipLabels(task, def.Name, in.Revision, in.Attempt) {
		labels[k] = v
	}
	spec := lsruntime.ContainerSpec{
		ID:             lsruntime.ContainerID(string(task.UID), def.Name, in.Attempt),
		Image:          def.Image,
		Labels:         labels,
		Entrypoint:     def.EntryPoint,
		Command:        def.Command,
		Env:            effectiveEnv(def, ov, in.ExtraEnv, in.FileEnv, in.SecretEnv),
		User:           def.User,
		WorkingDir:     def.WorkingDirectory,
		NetNSPath:      in.NetNSPath,
		HostPID:        in.TD.PidMode == "host",
		HostIPC:        in.TD.IpcMode == "host",
		PIDNSPath:      in.PIDNSPath,
		IPCNSPath:      in.IPCNSPath,
		CgroupParent:   in.CgroupParent,
		Privileged:     def.Privileged,
		ReadonlyRootfs: def.ReadonlyRootFilesystem,
		LogURI:         in.LogURI,
		Terminal:       def.PseudoTerminal != nil && *def.PseudoTerminal,
	}
	spec.NoDevShm = in.TD.IpcMode == "none"
	if in.TD.PidMode == "task" && in.PIDNSPath == "" || in.TD.IpcMode == "task" && in.IPCNSPath == "" {
		return spec, fmt.Errorf("pidMode/ipcMode %q/%q: the task's namespace holder is missing", in.TD.PidMode, in.TD.IpcMode)
	}
	if ov != nil && ov.Command != nil {
		spec.Command = ov.Command
	}
	cpu := int64(def.CPU)
	if ov != nil && ov.CPU != nil {
		cpu = int64(*ov.CPU)
	}
	if cpu > 0 {
		// cgroup cpu shares: at least 2, as the kernel requires.
		spec.CPUShares = uint64(max(cpu, 2))
	}
	mem, res := def.Memory, def.MemoryReservation
	if ov != nil && ov.Memory != nil {
		mem = ov.Memory
	}
	if ov != nil && ov.MemoryReservation != nil {
		res = ov.MemoryReservation
	}
	if mem != nil {
		spec.MemoryLimit = int64(*mem) * mib
	}
	if res != nil {
		spec.MemoryReservation = int64(*res) * mib
	}
	if in.NetNSPath != "" && def.Hostname != "" {
		spec.Hostname = def.Hostname
	}

	// Per-container /etc files.
	for _, f := range []string{"hosts", "resolv.conf", "hostname"} {
		spec.Mounts = append(spec.Mounts, lsruntime.Mount{Type: "bind", Source: filepath.Join(in.EtcDir, f),
			Destination: "/etc/" + f, Options: []string{"rbind", "rprivate", "ro"}})
	}
	ms, err := mountPointMounts(in.TD, def, in.VolumeDirs)
	if err != nil {
		return spec, err
	}
	spec.Mounts = append(spec.Mounts, ms...)
	spec.Mounts = append(spec.Mounts, in.VolumesFromMounts...)
	spec.Mounts = append(spec.Mounts, in.ExtraMounts...)
	if in.SharedShm != "" {
		spec.Mounts = append(spec.Mounts, lsruntime.Mount{Type: "bind", Source: in.SharedShm, Destination: "/dev/shm",
			Options: []string{"rbind", "rprivate", "rw", "nosuid", "nodev", "noexec"}})
	}

	if lp := def.LinuxParameters; lp != nil {
		if lp.Capabilities != nil {
			for _, c := range lp.Capabilities.Add {
				spec.CapAdd = append(spec.CapAdd, string(c))
			}
			for _, c := range lp.Capabilities.Drop {
				spec.CapDrop = append(spec.CapDrop, string(c))
			}
		}
		if lp.SharedMemorySize != nil && in.SharedShm == "" && !spec.NoDevShm { // else the shared one's size, or none
			spec.ShmSizeBytes = int64(*lp.SharedMemorySize) * mib
		}
		for _, tm := range lp.Tmpfs {
			opts := append(slices.Clone(tm.MountOptions), fmt.Sprintf("size=%dm", tm.Size))
			// Docker's defaults for a tmpfs: nosuid and nodev unless asked otherwise.
			if !slices.Contains(opts, "nosuid") && !slices.Contains(opts, "suid") {
				opts = append(opts, "nosuid")
			}
			if !slices.Contains(opts, "nodev") && !slices.Contains(opts, "dev") {
				opts = append(opts, "nodev")
			}
			spec.Mounts = append(spec.Mounts, lsruntime.Mount{Type: "tmpfs", Source: "tmpfs", Destination: tm.ContainerPath, Options: opts})
		}
		if lp.InitProcessEnabled {
			spec.Init = true
		}
		// Swap as Docker and ECS: memory + maxSwap limits memory plus swap
		// (the API requires the container's memory with maxSwap);
		// swappiness only with maxSwap.
		if lp.MaxSwap != nil && spec.MemoryLimit > 0 {
			spec.MemorySwap = spec.MemoryLimit + int64(*lp.MaxSwap)*mib
			if lp.Swappiness != nil {
				sw := uint64(*lp.Swappiness)
				spec.Swappiness = &sw
			}
		}
		for _, d := range lp.Devices {
			perms := ""
			for _, p := range d.Permissions {
				perms += map[ecsv1.DevicePermission]string{"read": "r", "write": "w", "mknod": "m"}[p]
			}
			if perms == "" {
				perms = "rwm" // Docker's default
			}
			spec.Devices = append(spec.Devices, lsruntime.Device{HostPath: d.HostPath, ContainerPath: d.ContainerPath, Permissions: perms})
		}
	}
	for _, u := range def.Ulimits {
		spec.Rlimits = append(spec.Rlimits, lsruntime.Rlimit{Type: "RLIMIT_" + strings.ToUpper(string(u.Name)),
			Soft: uint64(u.SoftLimit), Hard: uint64(u.HardLimit)})
	}
	for _, sc := range def.SystemControls {
		if spec.Sysctls == nil {
			spec.Sysctls = map[string]string{}
		}
		spec.Sysctls[sc.Namespace] = sc.Value
	}
	for _, o := range def.DockerSecurityOptions {
		if o == "no-new-privileges" || o == "no-new-privileges:true" {
			spec.NoNewPrivileges = true
		}
	}
	return spec, nil
}

// linkHosts are the /etc/hosts entries of a container's links (bridge
// mode): "name" or "name:alias", each at the linked container's address.
func linkHosts(def *ecsv1.ContainerDefinition, ips map[string]string) ([]ecsv1.HostEntry, error) {
	var out []ecsv1.HostEntry
	for _, l := range def.Links {
		name, alias, _ := strings.Cut(l, ":")
		ip := ips[name]
		if ip == "" {
			return nil, fmt.Errorf("link %s: container %s has no address (disableNetworking?)", l, name)
		}
		out = append(out, ecsv1.HostEntry{Hostname: name, IPAddress: ip})
		if alias != "" && alias != name {
			out = append(out, ecsv1.HostEntry{Hostname: alias, IPAddress: ip})
		}
	}
	return out, nil
}

// isFileVolume reports whether a volume is a Secret or ConfigMap volume,
// always mounted read-only.
func isFileVolume(td *ecsv1.TaskDefinitionSpec, name string) bool {
	for _, v := range td.Volumes {
		if v.Name == name {
			return v.Secret != nil || v.ConfigMap != nil
		}
	}
	return false
}

// hostsFile renders /etc/hosts for a container.
func hostsFile(hostname, ip string, extra []ecsv1.HostEntry) string {
	var b strings.Builder
	b.WriteString("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n")
	if hostname != "" {
		if ip == "" {
			ip = "127.0.1.1"
		}
		fmt.Fprintf(&b, "%s\t%s\n", ip, hostname)
	}
	for _, e := range extra {
		fmt.Fprintf(&b, "%s\t%s\n", e.IPAddress, e.Hostname)
	}
	return b.String()
}

// resolvConf renders /etc/resolv.conf from the host's, replacing the
// nameservers with dnsServers and the search domains with searchDomains
// when set, and dropping loopback nameservers (systemd-resolved's
// 127.0.0.53) that a task's own namespace cannot reach.
func resolvConf(host string, dnsServers, searchDomains []string, ownNetNS bool) string {
	var keep []string
	var servers []string
	if len(searchDomains) > 0 {
		keep = append(keep, "search "+strings.Join(searchDomains, " "))
	}
	for _, line := range strings.Split(host, "\n") {
		fields := strings.Fields(line)
		if len(searchDomains) > 0 && len(fields) >= 1 && (fields[0] == "search" || fields[0] == "domain") {
			continue
		}
		if len(fields) >= 2 && fields[0] == "nameserver" {
			if ownNetNS && (strings.HasPrefix(fields[1], "127.") || fields[1] == "::1") {
				continue
			}
			servers = append(servers, fields[1])
			continue
		}
		if strings.TrimSpace(line) != "" {
			keep = append(keep, line)
		}
	}
	if len(dnsServers) > 0 {
		servers = dnsServers
	}
	var b strings.Builder
	for _, s := range servers {
		fmt.Fprintf(&b, "nameserver %s\n", s)
	}
	for _, l := range keep {
		b.WriteString(l + "\n")
	}
	return b.String()
}

// mountPointMounts are the bind mounts of a container's mountPoints.
func mountPointMounts(td *ecsv1.TaskDefinitionSpec, def *ecsv1.ContainerDefinition, volumeDirs map[string]string) ([]lsruntime.Mount, error) {
	var out []lsruntime.Mount
	for _, mp := range def.MountPoints {
		dir, ok := volumeDirs[mp.SourceVolume]
		if !ok {
			return nil, fmt.Errorf("mountPoints: volume %s is not prepared", mp.SourceVolume)
		}
		opts := []string{"rbind", "rprivate"}
		if mp.ReadOnly || isFileVolume(td, mp.SourceVolume) {
			opts = append(opts, "ro")
		}
		out = append(out, lsruntime.Mount{Type: "bind", Source: dir, Destination: mp.ContainerPath, Options: opts})
	}
	return out, nil
}

// volumesFromMounts are the mounts container name gets through its
// volumesFrom: every volume mount of each source container (its own
// mountPoints and, in turn, what its volumesFrom gives it), read-only where
// asked. It does not depend on which containers exist, so a container
// re-created later (restart policy) gets the same mounts.
func volumesFromMounts(td *ecsv1.TaskDefinitionSpec, name string, volumeDirs map[string]string) ([]lsruntime.Mount, error) {
	defs := map[string]*ecsv1.ContainerDefinition{}
	for i := range td.ContainerDefinitions {
		defs[td.ContainerDefinitions[i].Name] = &td.ContainerDefinitions[i]
	}
	var inherited func(d *ecsv1.ContainerDefinition, seen map[string]bool) ([]lsruntime.Mount, error)
	inherited = func(d *ecsv1.ContainerDefinition, seen map[string]bool) ([]lsruntime.Mount, error) {
		var out []lsruntime.Mount
		for _, vf := range d.VolumesFrom {
			src := defs[vf.SourceContainer]
			if src == nil {
				return nil, fmt.Errorf("volumesFrom: no container named %s", vf.SourceContainer)
			}
			if seen[src.Name] {
				return nil, fmt.Errorf("volumesFrom: container %s is part of a cycle", src.Name)
			}
			seen[src.Name] = true
			own, err := mountPointMounts(td, src, volumeDirs)
			if err != nil {
				return nil, err
			}
			more, err := inherited(src, seen)
			if err != nil {
				return nil, err
			}
			delete(seen, src.Name)
			for _, m := range append(own, more...) {
				m.Options = slices.Clone(m.Options)
				if vf.ReadOnly && !slices.Contains(m.Options, "ro") {
					m.Options = append(m.Options, "ro")
				}
				out = append(out, m)
			}
		}
		return out, nil
	}
	d := defs[name]
	if d == nil {
		return nil, fmt.Errorf("volumesFrom: no container named %s", name)
	}
	return inherited(d, map[string]bool{name: true})
}
