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
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"

	"golang.org/x/sys/unix"

	ecsv1 "github.com/longshore-io/longshore/api/v1alpha1"
)

// Docker volumes (ECS dockerVolumeConfiguration) of the local driver are
// directories the agent manages:
//
//   - scope task: <task dir>/volumes/<name>, created for the task and
//     removed with it by cleanup;
//   - scope shared: <state dir>/shared-volumes/<name>, kept on the instance
//     and reused by every task that names it; autoprovision creates it, and
//     a task that names one that does not exist without autoprovision fails
//     to start, as in ECS.
//
// driverOpts type tmpfs mounts a tmpfs there (options from o). Mounting is
// idempotent (an existing mount is kept), so a crash between the mount and
// the container's creation is finished by the next pass.

// sharedVolumesDir holds the instance's shared Docker volumes.
func (r *TaskReconciler) sharedVolumesDir() string {
	return filepath.Join(r.StateDir, "shared-volumes")
}

// dockerVolume prepares the directory of a Docker volume and returns it.
func (t *taskSync) dockerVolume(v ecsv1.Volume, taskDir string) (string, error) {
	dv := v.DockerVolumeConfiguration
	p := filepath.Join(taskDir, "volumes", v.Name)
	if dv.Scope == "shared" {
		p = filepath.Join(t.r.sharedVolumesDir(), v.Name)
		if _, err := os.Stat(p); errors.Is(err, os.ErrNotExist) && (dv.Autoprovision == nil || !*dv.Autoprovision) {
			return "", userErrorf("CannotCreateContainerError: volume %s: the shared Docker volume %s does not exist on container instance %s "+
				"and autoprovision is false: set autoprovision: true to create it", v.Name, v.Name, t.r.InstanceName)
		}
	}
	if err := os.MkdirAll(p, 0o777); err != nil {
		return "", err
	}
	if err := os.Chmod(p, 0o777); err != nil {
		return "", err
	}
	if dv.DriverOpts["type"] == "tmpfs" {
		if err := t.r.Mounts.Tmpfs(p, string(dv.DriverOpts["o"])); err != nil {
			return "", userErrorf("CannotCreateContainerError: volume %s: mounting its tmpfs: %v", v.Name, err)
		}
	}
	return p, nil
}

// Mounter mounts the tmpfs file systems of tasks on the host: tmpfs Docker
// volumes, the shared /dev/shm of ipcMode task. They are all under the
// task directory's volumes/, where the one cleanup unmounts them.
type Mounter interface {
	// Tmpfs mounts a tmpfs (nosuid, nodev; mount options opts) at dir
	// unless one is mounted there already.
	Tmpfs(dir, opts string) error
}

// hostMounts mounts on the host.
type hostMounts struct{}

func (hostMounts) Tmpfs(dir, opts string) error { return mountTmpfs(dir, opts) }

// mountTmpfs mounts a tmpfs at dir unless one is mounted there already.
func mountTmpfs(dir, opts string) error {
	mounted, err := isMountPoint(dir)
	if err != nil || mounted {
		return err
	}
	return unix.Mount("tmpfs", dir, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, opts)
}

// isMountPoint tells whether dir is on another device than its parent.
func isMountPoint(dir string) (bool, error) {
	var st, parent unix.Stat_t
	if err := unix.Stat(dir, &st); err != nil {
		return false, err
	}
	if err := unix.Stat(filepath.Dir(dir), &parent); err != nil {
		return false, err
	}
	return st.Dev != parent.Dev, nil
}

// unmountTaskVolumes unmounts what dockerVolume mounted under a task's
// directory, before cleanup removes it.
func unmountTaskVolumes(taskDir string) error {
	entries, err := os.ReadDir(filepath.Join(taskDir, "volumes"))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, e := range entries {
		p := filepath.Join(taskDir, "volumes", e.Name())
		mounted, err := isMountPoint(p)
		if err != nil || !mounted {
			continue
		}
		if err := unix.Unmount(p, unix.MNT_DETACH); err != nil && !errors.Is(err, syscall.EINVAL) {
			return fmt.Errorf("unmounting volume %s: %w", e.Name(), err)
		}
	}
	return nil
}

// sharedShmVolume is the directory, under the task directory's volumes/,
// of the /dev/shm the containers of an ipcMode task share, as Docker's
// containers that join another's IPC namespace share its /dev/shm (POSIX
// shared memory, shm_open, lives there, not in the IPC namespace). Not a
// valid volume name: no volume of the task can take it.
const sharedShmVolume = "~shm"

// defaultShmMiB is the size of a shared /dev/shm when no container sets
// linuxParameters.sharedMemorySize: Docker's default.
const defaultShmMiB = 64

// ensureSharedShm mounts the task's shared /dev/shm (a tmpfs of the
// largest sharedMemorySize its containers set, else 64 MiB) unless it is
// mounted already, and returns its directory. Cleanup unmounts it with the
// task's volumes.
func (t *taskSync) ensureSharedShm(td *ecsv1.TaskDefinitionSpec) (string, error) {
	size := int32(0)
	for _, d := range td.ContainerDefinitions {
		if lp := d.LinuxParameters; lp != nil && lp.SharedMemorySize != nil {
			size = max(size, *lp.SharedMemorySize)
		}
	}
	if size == 0 {
		size = defaultShmMiB
	}
	dir := filepath.Join(t.r.taskDir(t.task.UID), "volumes", sharedShmVolume)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	if err := t.r.Mounts.Tmpfs(dir, fmt.Sprintf("size=%dm,mode=1777", size)); err != nil {
		return "", userErrorf("CannotCreateContainerError: the task's shared /dev/shm (ipcMode task): mounting its tmpfs: %v", err)
	}
	return dir, nil
}
