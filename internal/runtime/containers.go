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

package runtime

import (
	"bytes"
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	apievents "github.com/containerd/containerd/api/events"
	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/containers"
	"github.com/containerd/containerd/v2/core/remotes/docker"
	"github.com/containerd/containerd/v2/pkg/cio"
	"github.com/containerd/containerd/v2/pkg/oci"
	"github.com/containerd/errdefs"
	"github.com/containerd/typeurl/v2"
	"github.com/distribution/reference"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/longshore-io/longshore/internal/initproc"
)

const (
	snapshotter = "overlayfs"
	runcRuntime = "io.containerd.runc.v2"
	// labelLogURI keeps the logging binary's URI on the container, so that a
	// restarted agent (or a restart of the container) logs the same way.
	labelLogURI = "ecs.longshore.io/log-uri"
	// labelTerminal and labelStdin keep the process's stdio on the
	// container: a pseudo-terminal, and the stdin FIFO.
	labelTerminal = "ecs.longshore.io/terminal"
	labelStdin    = "ecs.longshore.io/stdin"
	// labelInitBinary keeps the host path of the init binary bind-mounted
	// into the container, which a restart of the container mounts again.
	labelInitBinary = "ecs.longshore.io/init-binary"
	// maxExecOutput bounds what Exec keeps of a command's output.
	maxExecOutput = 4096
)

// normalizeRef turns "busybox" into "docker.io/library/busybox:latest", the
// form containerd stores images under.
func normalizeRef(ref string) (string, error) {
	named, err := reference.ParseDockerRef(ref)
	if err != nil {
		return "", fmt.Errorf("invalid image reference %q: %w", ref, err)
	}
	return named.String(), nil
}

func (c *Containerd) resolver(auth func(host string) (RegistryAuth, bool)) containerd.RemoteOpt {
	creds := func(host string) (string, string, error) {
		if auth == nil {
			return "", "", nil
		}
		if a, ok := auth(host); ok {
			return a.Username, a.Password, nil
		}
		return "", "", nil
	}
	hosts := docker.ConfigureDefaultRegistries(
		docker.WithPlainHTTP(docker.MatchLocalhost),
		docker.WithAuthorizer(docker.NewDockerAuthorizer(docker.WithAuthCreds(creds))),
	)
	return containerd.WithResolver(docker.NewResolver(docker.ResolverOptions{Hosts: hosts}))
}

// EnsureImage implements Containers.
func (c *Containerd) EnsureImage(ctx context.Context, ref string, policy PullPolicy, auth func(host string) (RegistryAuth, bool)) (ImageInfo, error) {
	name, err := normalizeRef(ref)
	if err != nil {
		return ImageInfo{}, err
	}
	cached, cerr := c.client.GetImage(ctx, name)
	if cerr == nil && (policy == PullPreferCached || policy == PullOnce) {
		return c.imageInfo(ctx, cached, false)
	}
	img, perr := c.client.Pull(ctx, name, containerd.WithPullUnpack, containerd.WithPullSnapshotter(snapshotter), c.resolver(auth))
	if perr == nil {
		return c.imageInfo(ctx, img, true)
	}
	if cerr == nil && policy == PullDefault {
		return c.imageInfo(ctx, cached, false)
	}
	return ImageInfo{}, fmt.Errorf("pull image manifest has been retried 1 time(s): %w", perr)
}

func (c *Containerd) imageInfo(ctx context.Context, img containerd.Image, pulled bool) (ImageInfo, error) {
	ok, err := img.IsUnpacked(ctx, snapshotter)
	if err != nil {
		return ImageInfo{}, err
	}
	if !ok {
		if err := img.Unpack(ctx, snapshotter); err != nil {
			return ImageInfo{}, fmt.Errorf("unpacking %s: %w", img.Name(), err)
		}
	}
	cfg, err := img.Spec(ctx)
	if err != nil {
		return ImageInfo{}, fmt.Errorf("reading the config of %s: %w", img.Name(), err)
	}
	return ImageInfo{Ref: img.Name(), Digest: img.Target().Digest.String(), StopSignal: cfg.Config.StopSignal, Pulled: pulled}, nil
}

// Create implements Containers.
func (c *Containerd) Create(ctx context.Context, spec ContainerSpec) error {
	name, err := normalizeRef(spec.Image)
	if err != nil {
		return err
	}
	img, err := c.client.GetImage(ctx, name)
	if err != nil {
		return fmt.Errorf("image %s is not available locally: %w", spec.Image, err)
	}
	cfg, err := img.Spec(ctx)
	if err != nil {
		return err
	}
	labels := make(map[string]string, len(spec.Labels)+1)
	for k, v := range spec.Labels {
		labels[k] = v
	}
	if spec.LogURI != nil {
		labels[labelLogURI] = spec.LogURI.String()
	}
	if spec.Terminal {
		labels[labelTerminal] = "true"
	}
	if spec.StdinFIFO != "" {
		if !filepath.IsAbs(spec.StdinFIFO) {
			return fmt.Errorf("stdin FIFO %q is not an absolute path", spec.StdinFIFO)
		}
		labels[labelStdin] = spec.StdinFIFO
	}
	if spec.Init || spec.Pause {
		if c.InitBinary == "" {
			return fmt.Errorf("initProcessEnabled and namespace holders need the agent's init binary, and none is configured")
		}
		labels[labelInitBinary] = c.InitBinary
	}
	opts, err := specOpts(spec, img, cfg.Config.Entrypoint, cfg.Config.Cmd, c.InitBinary)
	if err != nil {
		return err
	}
	_, err = c.client.NewContainer(ctx, spec.ID,
		containerd.WithImage(img),
		containerd.WithSnapshotter(snapshotter),
		containerd.WithNewSnapshot(spec.ID, img),
		containerd.WithRuntime(runcRuntime, nil),
		containerd.WithContainerLabels(labels),
		containerd.WithImageStopSignal(img, "SIGTERM"),
		containerd.WithNewSpec(opts...),
	)
	if errdefs.IsAlreadyExists(err) {
		return nil
	}
	if err != nil {
		// A failed create can leave the snapshot behind.
		_ = c.client.SnapshotService(snapshotter).Remove(context.WithoutCancel(ctx), spec.ID)
		return fmt.Errorf("creating container %s: %w", spec.ID, err)
	}
	return nil
}

// processArgs applies ECS/Docker semantics: an entryPoint override drops the
// image's CMD; a command override keeps the image's ENTRYPOINT.
func processArgs(entrypoint, command, imageEntrypoint, imageCmd []string) []string {
	switch {
	case entrypoint != nil:
		return append(append([]string{}, entrypoint...), command...)
	case command != nil:
		return append(append([]string{}, imageEntrypoint...), command...)
	default:
		return append(append([]string{}, imageEntrypoint...), imageCmd...)
	}
}

func specOpts(spec ContainerSpec, img containerd.Image, imageEntrypoint, imageCmd []string, initBinary string) ([]oci.SpecOpts, error) {
	args := processArgs(spec.Entrypoint, spec.Command, imageEntrypoint, imageCmd)
	if spec.Pause {
		args = []string{initproc.MountPath, initproc.PauseSubcommand}
		spec.Mounts = append(spec.Mounts, Mount{Type: "bind", Source: initBinary, Destination: initproc.MountPath,
			Options: []string{"rbind", "ro"}})
	}
	if len(args) == 0 {
		return nil, fmt.Errorf("container has no command: the image defines no ENTRYPOINT or CMD and the task definition sets neither entryPoint nor command")
	}
	if spec.Init {
		args = initproc.Args(args)
		spec.Mounts = append(spec.Mounts, Mount{Type: "bind", Source: initBinary, Destination: initproc.MountPath,
			Options: []string{"rbind", "ro"}})
	}
	opts := []oci.SpecOpts{oci.WithDefaultSpec(), oci.WithDefaultUnixDevices, withOwnCgroup(spec.Privileged),
		oci.WithImageConfig(img), oci.WithProcessArgs(args...)}
	if len(spec.Env) > 0 {
		opts = append(opts, oci.WithEnv(spec.Env))
	}
	if spec.Terminal {
		opts = append(opts, oci.WithTTY)
	}
	if spec.User != "" {
		opts = append(opts, oci.WithUser(spec.User))
	}
	if spec.WorkingDir != "" {
		opts = append(opts, oci.WithProcessCwd(spec.WorkingDir))
	}
	if spec.Hostname != "" {
		opts = append(opts, oci.WithHostname(spec.Hostname))
	}
	if spec.NetNSPath != "" {
		opts = append(opts, oci.WithLinuxNamespace(specs.LinuxNamespace{Type: specs.NetworkNamespace, Path: spec.NetNSPath}))
	} else {
		opts = append(opts, oci.WithHostNamespace(specs.NetworkNamespace))
	}
	if spec.HostPID {
		opts = append(opts, oci.WithHostNamespace(specs.PIDNamespace))
	} else if spec.PIDNSPath != "" {
		opts = append(opts, oci.WithLinuxNamespace(specs.LinuxNamespace{Type: specs.PIDNamespace, Path: spec.PIDNSPath}))
	}
	if spec.HostIPC {
		opts = append(opts, oci.WithHostNamespace(specs.IPCNamespace))
	} else if spec.IPCNSPath != "" {
		opts = append(opts, oci.WithLinuxNamespace(specs.LinuxNamespace{Type: specs.IPCNamespace, Path: spec.IPCNSPath}))
	}
	if len(spec.Mounts) > 0 {
		ms := make([]specs.Mount, 0, len(spec.Mounts))
		for _, m := range spec.Mounts {
			ms = append(ms, specs.Mount{Type: m.Type, Source: m.Source, Destination: m.Destination, Options: m.Options})
		}
		opts = append(opts, withMountsReplacing(ms))
	}
	if spec.CPUShares > 0 {
		opts = append(opts, oci.WithCPUShares(spec.CPUShares))
	}
	if spec.MemoryLimit > 0 {
		opts = append(opts, oci.WithMemoryLimit(uint64(spec.MemoryLimit)))
	}
	if spec.MemorySwap > 0 {
		opts = append(opts, oci.WithMemorySwap(spec.MemorySwap))
	}
	if spec.Swappiness != nil && !cgroupV2() { // cgroup v2 has no memory.swappiness
		opts = append(opts, withSwappiness(*spec.Swappiness))
	}
	for _, d := range spec.Devices {
		opts = append(opts, withDevice(d))
	}
	if spec.MemoryReservation > 0 {
		opts = append(opts, withMemoryReservation(spec.MemoryReservation))
	}
	if spec.CgroupParent != "" {
		opts = append(opts, oci.WithCgroup(filepath.Join(spec.CgroupParent, spec.ID)))
	}
	if spec.Privileged {
		opts = append(opts, oci.WithPrivileged, oci.WithAllDevicesAllowed, oci.WithHostDevices)
	}
	if spec.ReadonlyRootfs {
		opts = append(opts, oci.WithRootFSReadonly())
	}
	if add := caps(spec.CapAdd); len(add) > 0 {
		if add[0] == "CAP_ALL" {
			opts = append(opts, oci.WithAllKnownCapabilities)
		} else {
			opts = append(opts, oci.WithAddedCapabilities(add))
		}
	}
	if drop := caps(spec.CapDrop); len(drop) > 0 {
		if drop[0] == "CAP_ALL" {
			opts = append(opts, oci.WithCapabilities(nil))
			if add := caps(spec.CapAdd); len(add) > 0 && add[0] != "CAP_ALL" {
				opts = append(opts, oci.WithAddedCapabilities(add))
			}
		} else {
			opts = append(opts, oci.WithDroppedCapabilities(drop))
		}
	}
	if spec.ShmSizeBytes > 0 {
		opts = append(opts, oci.WithDevShmSize(spec.ShmSizeBytes/1024))
	}
	if spec.NoDevShm {
		opts = append(opts, withoutDevShm)
	}
	for _, r := range spec.Rlimits {
		opts = append(opts, oci.WithRlimit(&specs.POSIXRlimit{Type: r.Type, Soft: r.Soft, Hard: r.Hard}))
	}
	if len(spec.Sysctls) > 0 {
		opts = append(opts, withSysctls(spec.Sysctls))
	}
	if spec.NoNewPrivileges {
		opts = append(opts, oci.WithNoNewPrivileges)
	}
	return opts, nil
}

// withOwnCgroup mounts the container's own cgroup at /sys/fs/cgroup,
// read-only unless the container is privileged, as Docker and the CRI do
// (containerd's default spec has no such mount, and the directory is then
// empty): runtimes and programs size their heaps and threads from these
// files. On cgroup v1 runc bind-mounts the container's directory of each
// hierarchy; on cgroup v2 a cgroup namespace of its own makes the
// container's cgroup the root it sees.
func withOwnCgroup(privileged bool) oci.SpecOpts {
	return func(_ context.Context, _ oci.Client, _ *containers.Container, s *oci.Spec) error {
		opts := []string{"nosuid", "noexec", "nodev", "relatime", "ro"}
		if privileged {
			opts[len(opts)-1] = "rw"
		}
		for _, m := range s.Mounts {
			if filepath.Clean(m.Destination) == "/sys/fs/cgroup" {
				return nil
			}
		}
		s.Mounts = append(s.Mounts, specs.Mount{Destination: "/sys/fs/cgroup", Type: "cgroup", Source: "cgroup", Options: opts})
		if cgroupV2() {
			if s.Linux == nil {
				s.Linux = &specs.Linux{}
			}
			for _, ns := range s.Linux.Namespaces {
				if ns.Type == specs.CgroupNamespace {
					return nil
				}
			}
			s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.CgroupNamespace})
		}
		return nil
	}
}

// withSysctls sets kernel parameters; runc writes them inside the
// container's namespaces.
func withSysctls(sysctls map[string]string) oci.SpecOpts {
	return func(_ context.Context, _ oci.Client, _ *containers.Container, s *oci.Spec) error {
		if s.Linux == nil {
			s.Linux = &specs.Linux{}
		}
		if s.Linux.Sysctl == nil {
			s.Linux.Sysctl = map[string]string{}
		}
		for k, v := range sysctls {
			s.Linux.Sysctl[k] = v
		}
		return nil
	}
}

// caps spells capability names as the OCI spec does; "ALL" comes first.
func caps(names []string) []string {
	var out []string
	for _, n := range names {
		if n == "ALL" {
			return []string{"CAP_ALL"}
		}
		out = append(out, "CAP_"+n)
	}
	return out
}

// withMountsReplacing adds mounts, replacing a default mount at the same
// destination (e.g. /etc/hosts, /dev/shm).
func withMountsReplacing(ms []specs.Mount) oci.SpecOpts {
	return func(_ context.Context, _ oci.Client, _ *containers.Container, s *oci.Spec) error {
		dest := map[string]bool{}
		for _, m := range ms {
			dest[filepath.Clean(m.Destination)] = true
		}
		kept := s.Mounts[:0]
		for _, m := range s.Mounts {
			if !dest[filepath.Clean(m.Destination)] {
				kept = append(kept, m)
			}
		}
		s.Mounts = append(kept, ms...)
		return nil
	}
}

// withoutDevShm drops the default spec's /dev/shm tmpfs.
func withoutDevShm(_ context.Context, _ oci.Client, _ *containers.Container, s *oci.Spec) error {
	kept := s.Mounts[:0]
	for _, m := range s.Mounts {
		if filepath.Clean(m.Destination) != "/dev/shm" || m.Type != "tmpfs" {
			kept = append(kept, m)
		}
	}
	s.Mounts = kept
	return nil
}

// cgroupV2 tells whether the host runs the unified cgroup hierarchy.
func cgroupV2() bool {
	_, err := os.Stat("/sys/fs/cgroup/cgroup.controllers")
	return err == nil
}

// withSwappiness sets the cgroup's memory.swappiness.
func withSwappiness(v uint64) oci.SpecOpts {
	return func(_ context.Context, _ oci.Client, _ *containers.Container, s *oci.Spec) error {
		memoryResources(s).Swappiness = &v
		return nil
	}
}

// memoryResources returns the spec's memory resources, made if missing.
func memoryResources(s *oci.Spec) *specs.LinuxMemory {
	if s.Linux == nil {
		s.Linux = &specs.Linux{}
	}
	if s.Linux.Resources == nil {
		s.Linux.Resources = &specs.LinuxResources{}
	}
	if s.Linux.Resources.Memory == nil {
		s.Linux.Resources.Memory = &specs.LinuxMemory{}
	}
	return s.Linux.Resources.Memory
}

// withDevice adds a host device node at its container path, and the
// device cgroup rule that lets the container use it as permitted.
func withDevice(d Device) oci.SpecOpts {
	return func(_ context.Context, _ oci.Client, _ *containers.Container, s *oci.Spec) error {
		dev, err := oci.DeviceFromPath(d.HostPath)
		if err != nil {
			return fmt.Errorf("device %s: %w", d.HostPath, err)
		}
		if d.ContainerPath != "" {
			dev.Path = d.ContainerPath
		}
		if s.Linux == nil {
			s.Linux = &specs.Linux{}
		}
		if s.Linux.Resources == nil {
			s.Linux.Resources = &specs.LinuxResources{}
		}
		s.Linux.Devices = append(s.Linux.Devices, *dev)
		s.Linux.Resources.Devices = append(s.Linux.Resources.Devices, specs.LinuxDeviceCgroup{
			Allow: true, Type: dev.Type, Major: &dev.Major, Minor: &dev.Minor, Access: d.Permissions})
		return nil
	}
}

func withMemoryReservation(bytes int64) oci.SpecOpts {
	return func(_ context.Context, _ oci.Client, _ *containers.Container, s *oci.Spec) error {
		memoryResources(s).Reservation = &bytes
		return nil
	}
}

// Start implements Containers.
func (c *Containerd) Start(ctx context.Context, id string) error {
	cont, err := c.client.LoadContainer(ctx, id)
	if errdefs.IsNotFound(err) {
		return fmt.Errorf("%s: %w", id, ErrNotFound)
	}
	if err != nil {
		return err
	}
	if t, err := cont.Task(ctx, nil); err == nil {
		st, err := t.Status(ctx)
		if err != nil {
			return err
		}
		switch st.Status {
		case containerd.Running, containerd.Paused, containerd.Pausing:
			return nil
		case containerd.Created:
			return c.startTask(ctx, t)
		default:
			// An exited process: remove it before starting a new one.
			if _, err := t.Delete(context.WithoutCancel(ctx), containerd.WithProcessKill); err != nil && !errdefs.IsNotFound(err) {
				return fmt.Errorf("removing the exited process of %s: %w", id, err)
			}
		}
	} else if !errdefs.IsNotFound(err) {
		return err
	}
	labels, err := cont.Labels(ctx)
	if err != nil {
		return err
	}
	stdio := cio.Config{Stdin: labels[labelStdin], Terminal: labels[labelTerminal] == "true"}
	if raw := labels[labelLogURI]; raw != "" {
		u, err := url.Parse(raw)
		if err != nil {
			return fmt.Errorf("container %s has a bad log URI: %w", id, err)
		}
		stdio.Stdout, stdio.Stderr = u.String(), u.String()
	}
	creator := cio.NullIO
	if stdio != (cio.Config{}) {
		creator = func(string) (cio.IO, error) { return shimIO{stdio}, nil }
	}
	t, err := cont.NewTask(ctx, creator)
	if err != nil {
		return fmt.Errorf("creating the process of %s: %w", id, err)
	}
	return c.startTask(ctx, t)
}

// HostBinaries are the host files a container needs again whenever it
// starts: the logging binary of its log URI and the init binary mounted
// into it. Whoever removes such files (an upgraded agent cleaning old
// versions) must keep these.
func HostBinaries(labels map[string]string) []string {
	var out []string
	if raw := labels[labelLogURI]; raw != "" {
		if u, err := url.Parse(raw); err == nil && u.Scheme == "binary" && u.Path != "" {
			out = append(out, u.Path)
		}
	}
	if p := labels[labelInitBinary]; p != "" {
		out = append(out, p)
	}
	return out
}

// shimIO is stdio the shim handles alone (the logging binary, the stdin
// FIFO, the console): the client copies nothing, as with cio.LogURI.
type shimIO struct{ config cio.Config }

func (s shimIO) Config() cio.Config { return s.config }
func (shimIO) Cancel()              {}
func (shimIO) Wait()                {}
func (shimIO) Close() error         { return nil }

func (c *Containerd) startTask(ctx context.Context, t containerd.Task) error {
	// Wait before Start, so that even an immediate exit is observed.
	exitC, err := t.Wait(context.WithoutCancel(ctx))
	if err != nil {
		return err
	}
	go func() { <-exitC }()
	if err := t.Start(ctx); err != nil {
		_, _ = t.Delete(context.WithoutCancel(ctx), containerd.WithProcessKill)
		return fmt.Errorf("starting %s: %w", t.ID(), err)
	}
	return nil
}

// Stop implements Containers.
func (c *Containerd) Stop(ctx context.Context, id string, signal syscall.Signal, timeout time.Duration) error {
	cont, err := c.client.LoadContainer(ctx, id)
	if errdefs.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	t, err := cont.Task(ctx, nil)
	if errdefs.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	st, err := t.Status(ctx)
	if err != nil {
		return err
	}
	if st.Status == containerd.Stopped {
		return nil
	}
	exitC, err := t.Wait(context.WithoutCancel(ctx))
	if err != nil {
		return err
	}
	if signal == 0 {
		signal = syscall.SIGTERM
	}
	if st.Status == containerd.Created {
		// Never started: nothing to ask politely.
		timeout = 0
	} else if err := t.Kill(ctx, signal); err != nil && !errdefs.IsNotFound(err) {
		return fmt.Errorf("signalling %s: %w", id, err)
	}
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case <-exitC:
		return nil
	case <-timer.C:
	case <-ctx.Done():
		return ctx.Err()
	}
	if err := t.Kill(ctx, syscall.SIGKILL, containerd.WithKillAll); err != nil && !errdefs.IsNotFound(err) {
		return fmt.Errorf("killing %s: %w", id, err)
	}
	select {
	case <-exitC:
		return nil
	case <-time.After(30 * time.Second):
		return fmt.Errorf("%s did not exit 30s after SIGKILL", id)
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Delete implements Containers.
func (c *Containerd) Delete(ctx context.Context, id string) error {
	ctx = context.WithoutCancel(ctx)
	cont, err := c.client.LoadContainer(ctx, id)
	if errdefs.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if t, err := cont.Task(ctx, nil); err == nil {
		if _, err := t.Delete(ctx, containerd.WithProcessKill); err != nil && !errdefs.IsNotFound(err) {
			return fmt.Errorf("removing the process of %s: %w", id, err)
		}
	} else if !errdefs.IsNotFound(err) {
		return err
	}
	c.forgetOOM(id)
	if err := cont.Delete(ctx, containerd.WithSnapshotCleanup); err != nil && !errdefs.IsNotFound(err) {
		return fmt.Errorf("deleting container %s: %w", id, err)
	}
	return nil
}

// List implements Containers.
func (c *Containerd) List(ctx context.Context, selector map[string]string) ([]ContainerStatus, error) {
	var filters []string
	for k, v := range selector {
		filters = append(filters, fmt.Sprintf("labels.%q==%q", k, v))
	}
	filter := strings.Join(filters, ",")
	conts, err := c.client.Containers(ctx, filter)
	if err != nil {
		return nil, fmt.Errorf("listing containers: %w", err)
	}
	out := make([]ContainerStatus, 0, len(conts))
	for _, cont := range conts {
		st, err := c.status(ctx, cont)
		if errdefs.IsNotFound(err) {
			continue // deleted meanwhile
		}
		if err != nil {
			return nil, err
		}
		out = append(out, st)
	}
	return out, nil
}

// Status implements Containers.
func (c *Containerd) Status(ctx context.Context, id string) (ContainerStatus, error) {
	cont, err := c.client.LoadContainer(ctx, id)
	if errdefs.IsNotFound(err) {
		return ContainerStatus{}, fmt.Errorf("%s: %w", id, ErrNotFound)
	}
	if err != nil {
		return ContainerStatus{}, err
	}
	return c.status(ctx, cont)
}

func (c *Containerd) status(ctx context.Context, cont containerd.Container) (ContainerStatus, error) {
	info, err := cont.Info(ctx, containerd.WithoutRefreshedMetadata)
	if err != nil {
		return ContainerStatus{}, err
	}
	st := ContainerStatus{ID: cont.ID(), Labels: info.Labels, Image: info.Image, State: StateCreated, CreatedAt: info.CreatedAt}
	if img, err := c.client.GetImage(ctx, info.Image); err == nil {
		st.ImageDigest = img.Target().Digest.String()
	}
	t, err := cont.Task(ctx, nil)
	if errdefs.IsNotFound(err) {
		return st, nil
	}
	if err != nil {
		return ContainerStatus{}, err
	}
	ts, err := t.Status(ctx)
	if err != nil {
		if errdefs.IsNotFound(err) {
			return st, nil
		}
		return ContainerStatus{}, err
	}
	st.Pid = t.Pid()
	switch ts.Status {
	case containerd.Running, containerd.Paused, containerd.Pausing:
		st.State = StateRunning
	case containerd.Stopped:
		st.State = StateStopped
		st.ExitCode = int32(ts.ExitStatus)
		st.ExitedAt = ts.ExitTime
		spec, _ := cont.Spec(ctx)
		st.OOMKilled = c.oomSeen(cont.ID()) || oomKilled(spec)
	case containerd.Created:
		st.State = StateCreated
	default:
		st.State = StateUnknown
	}
	return st, nil
}

// Exec implements Containers.
func (c *Containerd) Exec(ctx context.Context, id string, args []string, timeout time.Duration) (ExecResult, error) {
	cont, err := c.client.LoadContainer(ctx, id)
	if err != nil {
		return ExecResult{}, err
	}
	t, err := cont.Task(ctx, nil)
	if err != nil {
		return ExecResult{}, fmt.Errorf("container %s has no running process: %w", id, err)
	}
	spec, err := cont.Spec(ctx)
	if err != nil {
		return ExecResult{}, err
	}
	pspec := *spec.Process
	pspec.Args = args
	pspec.Terminal = false
	var out limitedBuffer
	execID := "exec-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	p, err := t.Exec(ctx, execID, &pspec, cio.NewCreator(cio.WithStreams(nil, &out, &out)))
	if err != nil {
		return ExecResult{}, fmt.Errorf("exec in %s: %w", id, err)
	}
	defer func() { _, _ = p.Delete(context.WithoutCancel(ctx), containerd.WithProcessKill) }()
	statusC, err := p.Wait(context.WithoutCancel(ctx))
	if err != nil {
		return ExecResult{}, err
	}
	if err := p.Start(ctx); err != nil {
		return ExecResult{}, fmt.Errorf("exec in %s: %w", id, err)
	}
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case st := <-statusC:
		p.IO().Wait()
		return ExecResult{ExitCode: int(st.ExitCode()), Output: out.String()}, nil
	case <-timer.C:
		_ = p.Kill(context.WithoutCancel(ctx), syscall.SIGKILL)
		return ExecResult{ExitCode: -1, Output: out.String()}, fmt.Errorf("timed out after %s", timeout)
	case <-ctx.Done():
		_ = p.Kill(context.WithoutCancel(ctx), syscall.SIGKILL)
		return ExecResult{}, ctx.Err()
	}
}

// Events implements Containers.
func (c *Containerd) Events(ctx context.Context) (<-chan Event, error) {
	envC, errC := c.client.Subscribe(ctx,
		fmt.Sprintf(`namespace==%q,topic=="/tasks/exit"`, c.namespace),
		fmt.Sprintf(`namespace==%q,topic=="/tasks/oom"`, c.namespace))
	out := make(chan Event, 256)
	go func() {
		defer close(out)
		for {
			select {
			case <-ctx.Done():
				return
			case err := <-errC:
				_ = err // the subscription broke (containerd restarted): the caller resubscribes
				return
			case env, ok := <-envC:
				if !ok {
					return
				}
				v, err := typeurl.UnmarshalAny(env.Event)
				if err != nil {
					continue
				}
				var ev Event
				switch e := v.(type) {
				case *apievents.TaskExit:
					if e.ID != e.ContainerID {
						continue // an exec'd process, e.g. a health check
					}
					ev = Event{Type: EventExit, ContainerID: e.ContainerID}
				case *apievents.TaskOOM:
					c.markOOM(e.ContainerID)
					ev = Event{Type: EventOOM, ContainerID: e.ContainerID}
				default:
					continue
				}
				if cont, err := c.client.LoadContainer(ctx, ev.ContainerID); err == nil {
					ev.Labels, _ = cont.Labels(ctx)
				}
				select {
				case out <- ev:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	return out, nil
}

func (c *Containerd) markOOM(id string) {
	c.oomMu.Lock()
	defer c.oomMu.Unlock()
	if c.oom == nil {
		c.oom = map[string]bool{}
	}
	c.oom[id] = true
}

func (c *Containerd) oomSeen(id string) bool {
	c.oomMu.Lock()
	defer c.oomMu.Unlock()
	return c.oom[id]
}

func (c *Containerd) forgetOOM(id string) {
	c.oomMu.Lock()
	defer c.oomMu.Unlock()
	delete(c.oom, id)
}

// oomKilled reads the OOM-kill counter of the container's memory cgroup
// (cgroup v1 memory.oom_control or v2 memory.events). The cgroup lives until
// the exited process is deleted.
func oomKilled(spec *oci.Spec) bool {
	if spec == nil || spec.Linux == nil || spec.Linux.CgroupsPath == "" {
		return false
	}
	p := spec.Linux.CgroupsPath
	for _, f := range []string{
		filepath.Join("/sys/fs/cgroup/memory", p, "memory.oom_control"),
		filepath.Join("/sys/fs/cgroup", p, "memory.events"),
	} {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n") {
			if n, ok := strings.CutPrefix(line, "oom_kill "); ok && strings.TrimSpace(n) != "0" {
				return true
			}
		}
	}
	return false
}

// limitedBuffer keeps the first maxExecOutput bytes written to it.
type limitedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if room := maxExecOutput - b.buf.Len(); room > 0 {
		if len(p) > room {
			b.buf.Write(p[:room])
		} else {
			b.buf.Write(p)
		}
	}
	return len(p), nil
}

func (b *limitedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
