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
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	ecsv1 "github.com/longshore-io/longshore/api/v1alpha1"
	lsruntime "github.com/longshore-io/longshore/internal/runtime"
)

// This file makes a task's containers: what they are made of (the task
// cgroup, volumes, Secret and ConfigMap values, /etc files, FireLens, log
// URIs) and their creation in containerd. The sync (sync.go) calls it.

// createContainers prepares what the containers the plan creates need
// (task cgroup, volumes, FireLens) and creates them. It needs their network
// namespaces' paths, not the namespaces: it runs while the network is set
// up; writeEtcFiles, once the addresses are known, completes them before
// they start.
func (t *taskSync) createContainers(ctx context.Context, td *ecsv1.TaskDefinitionSpec, netns map[string]string, creates []createAction) error {
	r, task := t.r, t.task
	if len(creates) == 0 {
		return nil
	}
	attempts := make(map[string]int, len(creates))
	for _, c := range creates {
		attempts[c.Name] = c.Attempt
	}
	dir := r.taskDir(task.UID)
	cpu, mem, err := taskLimits(task, td)
	if err != nil {
		return userErrorf("%v", err)
	}
	// The task directory first: garbage collection finds a task's
	// leftovers (its cgroup, run directories) by it.
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	if err := r.Cgroups.Ensure(cgroupParent(task.UID), cpu, mem); err != nil {
		return err
	}
	volumeDirs, err := t.prepareVolumes(ctx, td, dir)
	if err != nil {
		return err
	}
	fireLens, err := t.prepareFireLens(ctx, td)
	if err != nil {
		return err
	}
	shared, err := t.ensureHolder(ctx, td)
	if err != nil {
		return err
	}
	sharedShm := ""
	if td.IpcMode == "task" {
		if sharedShm, err = t.ensureSharedShm(td); err != nil {
			return err
		}
	}
	for i := range td.ContainerDefinitions {
		d := &td.ContainerDefinitions[i]
		attempt, ok := attempts[d.Name]
		if !ok {
			continue
		}
		secretEnv, err := t.secretEnv(ctx, d)
		if err != nil {
			return err
		}
		fileEnv, err := t.fileEnv(ctx, d)
		if err != nil {
			return err
		}
		etc := filepath.Join(dir, "etc", d.Name)
		if err := os.MkdirAll(etc, 0o755); err != nil {
			return err
		}
		fromMounts, err := volumesFromMounts(td, d.Name, volumeDirs)
		if err != nil {
			return userErrorf("container %s: %v", d.Name, err)
		}
		var logURI = t.r.LogURI
		in := containerInput{Task: task, Revision: t.status.TaskDefinitionRevision, TD: td, Def: d, Attempt: attempt,
			NetNSPath: netns[d.Name], SecretEnv: secretEnv, FileEnv: fileEnv, VolumeDirs: volumeDirs, EtcDir: etc,
			CgroupParent: cgroupParent(task.UID), VolumesFromMounts: fromMounts, PIDNSPath: shared.PID, IPCNSPath: shared.IPC, SharedShm: sharedShm}
		if fireLens != nil {
			if d.Name == fireLens.router {
				in.ExtraMounts = fireLens.mounts
			} else if usesFireLens(d) {
				in.ExtraEnv = fireLens.env
			}
		}
		if env := r.endpointEnv(task, d.Name, netns[d.Name] == ""); len(env) > 0 {
			maps.Copy(env, in.ExtraEnv)
			in.ExtraEnv = env
		}
		if logURI != nil && (d.LogConfiguration == nil || d.LogConfiguration.LogDriver != ecsv1.LogDriverNone) {
			fwd, err := fireLens.forward(task, d, lsruntime.ContainerID(string(task.UID), d.Name, in.Attempt))
			if err != nil {
				return userErrorf("container %s: %v", d.Name, err)
			}
			u, err := logURI(task, d, fwd)
			if err != nil {
				return userErrorf("logConfiguration of container %s: %v", d.Name, err)
			}
			in.LogURI = u
		}
		spec, err := buildContainerSpec(in)
		if err != nil {
			return userErrorf("container %s: %v", d.Name, err)
		}
		if d.Interactive != nil && *d.Interactive {
			if spec.StdinFIFO, err = t.stdinFIFO(d.Name); err != nil {
				return err
			}
		}
		t.changed = true
		if err := r.Runtime.Create(ctx, spec); err != nil {
			return userErrorf("CannotCreateContainerError: container %s: %v", d.Name, err)
		}
		if t.obs.Restarts[d.Name] > 0 {
			if err := os.Remove(filepath.Join(dir, restartRecordPrefix+d.Name)); err != nil && !os.IsNotExist(err) {
				return err
			}
		}
	}
	return nil
}

// stdinFIFO makes the FIFO an interactive container's stdin is: nobody
// writes to it (yet), so the process's stdin stays open instead of ending
// at once. It lives in the agent's run directory and goes with the task.
func (t *taskSync) stdinFIFO(container string) (string, error) {
	dir := t.r.stdinDir(t.task.UID)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	p := filepath.Join(dir, container)
	if err := unix.Mkfifo(p, 0o600); err != nil && !errors.Is(err, os.ErrExist) {
		return "", fmt.Errorf("stdin of container %s: %w", container, err)
	}
	return p, nil
}

// taskLimits are the task-level cpu units and memory MiB (overrides win).
func taskLimits(task *ecsv1.Task, td *ecsv1.TaskDefinitionSpec) (int64, int64, error) {
	cpuS, memS := td.CPU, td.Memory
	if ov := task.Spec.Overrides; ov != nil {
		if ov.CPU != "" {
			cpuS = ov.CPU
		}
		if ov.Memory != "" {
			memS = ov.Memory
		}
	}
	var cpu, mem int64
	var err error
	if cpuS != "" {
		if cpu, err = ecsv1.ParseTaskCPU(cpuS); err != nil {
			return 0, 0, err
		}
	}
	if memS != "" {
		if mem, err = ecsv1.ParseTaskMemory(memS); err != nil {
			return 0, 0, err
		}
	}
	return cpu, mem, nil
}

// shortHostname is the default hostname of a task's own namespace.
func shortHostname(task *ecsv1.Task) string {
	h := task.Name
	if len(h) > 63 {
		h = h[:63]
	}
	return strings.Trim(h, "-.")
}

// prepareVolumes creates scratch directories and writes Secret and
// ConfigMap volumes as files; host volumes need the Cluster's permission.
func (t *taskSync) prepareVolumes(ctx context.Context, td *ecsv1.TaskDefinitionSpec, dir string) (map[string]string, error) {
	out := map[string]string{}
	for _, v := range td.Volumes {
		switch {
		case v.Host != nil && v.Host.SourcePath != "":
			cl, err := t.cluster(ctx)
			if err != nil {
				return nil, err
			}
			if !cl.Spec.Security.AllowHostPathVolumes {
				return nil, userErrorf("volume %s: host path %s is refused: Cluster %s does not set security.allowHostPathVolumes",
					v.Name, v.Host.SourcePath, t.task.Spec.Cluster)
			}
			out[v.Name] = v.Host.SourcePath
		case v.DockerVolumeConfiguration != nil:
			p, err := t.dockerVolume(v, dir)
			if err != nil {
				return nil, err
			}
			out[v.Name] = p
		case v.Secret != nil, v.ConfigMap != nil:
			data, err := t.volumeData(ctx, v)
			if err != nil {
				return nil, err
			}
			// Parents stay private to root on the host; the mounted
			// directory itself must be readable by the container's user.
			p := filepath.Join(dir, "files", v.Name)
			if err := os.MkdirAll(p, 0o700); err != nil {
				return nil, err
			}
			if err := os.Chmod(p, 0o755); err != nil {
				return nil, err
			}
			for k, val := range data {
				if err := os.WriteFile(filepath.Join(p, k), val, 0o444); err != nil {
					return nil, err
				}
			}
			out[v.Name] = p
		default:
			// A name only, or "host": {} (ECS: a volume the runtime
			// manages): a scratch directory that lives with the task.
			p := filepath.Join(dir, "volumes", v.Name)
			if err := os.MkdirAll(p, 0o777); err != nil {
				return nil, err
			}
			if err := os.Chmod(p, 0o777); err != nil {
				return nil, err
			}
			out[v.Name] = p
		}
	}
	return out, nil
}

// writeEtcFiles writes the /etc/hosts, /etc/resolv.conf and /etc/hostname
// of the containers the plan creates, from the task's addresses.
func (t *taskSync) writeEtcFiles(td *ecsv1.TaskDefinitionSpec, netns map[string]string, creates []createAction) error {
	task := t.task
	hostResolv, _ := os.ReadFile("/etc/resolv.conf")
	for _, c := range creates {
		d := byNameDefs(td.ContainerDefinitions)[c.Name]
		if d == nil {
			continue
		}
		etc := filepath.Join(t.r.taskDir(task.UID), "etc", d.Name)
		hostname := d.Hostname
		if hostname == "" {
			if netns[d.Name] == "" {
				hostname, _ = os.Hostname()
			} else {
				hostname = shortHostname(task)
			}
		}
		ip := ""
		if len(t.status.Attachments) > 0 {
			ip = t.status.Attachments[0].Details.IPv4Address
		}
		if ip == "" {
			ip = t.bridgeIPs[d.Name]
		}
		extra, err := linkHosts(d, t.bridgeIPs)
		if err != nil {
			return userErrorf("container %s: %v", d.Name, err)
		}
		files := map[string]string{
			"hosts":       hostsFile(hostname, ip, append(extra, d.ExtraHosts...)),
			"resolv.conf": resolvConf(string(hostResolv), d.DNSServers, d.DNSSearchDomains, netns[d.Name] != ""),
			"hostname":    hostname + "\n",
		}
		for name, content := range files {
			if err := os.WriteFile(filepath.Join(etc, name), []byte(content), 0o644); err != nil {
				return err
			}
		}
	}
	return nil
}
