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
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
)

// The task's cgroup carries the task-level cpu and memory of the task
// definition; the containers' cgroups live inside it (runc creates them
// under CgroupParent), so the task limit caps them together, as in ECS.

const cgroupRoot = "/sys/fs/cgroup"

// CgroupManager creates and removes task cgroups.
type CgroupManager interface {
	// Ensure creates the task cgroup with cpu units (0 = no limit) and
	// memory MiB (0 = no limit).
	Ensure(parent string, cpuUnits, memoryMiB int64) error
	// Remove deletes the task cgroup in every hierarchy.
	Remove(parent string) error
}

// hostCgroups manages cgroups under /sys/fs/cgroup.
type hostCgroups struct{}

func (hostCgroups) Ensure(parent string, cpu, mem int64) error {
	return ensureTaskCgroup(parent, cpu, mem)
}
func (hostCgroups) Remove(parent string) error { return removeTaskCgroup(parent) }

// cfsPeriod is the CFS period the task-level CPU quota is expressed in.
const cfsPeriod = 100000

func cgroupV2() bool {
	_, err := os.Stat(filepath.Join(cgroupRoot, "cgroup.controllers"))
	return err == nil
}

// ensureTaskCgroup creates the task's cgroup with its limits: cpuUnits
// (1024 per core; 0 = none) as a CFS quota, memoryMiB (0 = none) as the
// memory limit.
func ensureTaskCgroup(parent string, cpuUnits, memoryMiB int64) error {
	type setting struct{ dir, file, value string }
	var settings []setting
	var dirs []string
	if cgroupV2() {
		dir := filepath.Join(cgroupRoot, parent)
		dirs = append(dirs, dir)
		// Children need the controllers enabled in every ancestor.
		for p := filepath.Dir(parent); p != "/" && p != "."; p = filepath.Dir(p) {
			settings = append(settings, setting{filepath.Join(cgroupRoot, p), "cgroup.subtree_control", "+cpu +memory"})
		}
		settings = append(settings, setting{cgroupRoot, "cgroup.subtree_control", "+cpu +memory"})
		settings = append(settings, setting{dir, "cgroup.subtree_control", "+cpu +memory"})
		if cpuUnits > 0 {
			settings = append(settings, setting{dir, "cpu.max", fmt.Sprintf("%d %d", cpuUnits*cfsPeriod/1024, cfsPeriod)})
		}
		if memoryMiB > 0 {
			settings = append(settings, setting{dir, "memory.max", strconv.FormatInt(memoryMiB*mib, 10)})
		}
	} else {
		if cpuUnits > 0 {
			dir := filepath.Join(cgroupRoot, "cpu", parent)
			dirs = append(dirs, dir)
			settings = append(settings, setting{dir, "cpu.cfs_period_us", strconv.Itoa(cfsPeriod)},
				setting{dir, "cpu.cfs_quota_us", strconv.FormatInt(cpuUnits*cfsPeriod/1024, 10)})
		}
		if memoryMiB > 0 {
			dir := filepath.Join(cgroupRoot, "memory", parent)
			dirs = append(dirs, dir)
			settings = append(settings, setting{dir, "memory.limit_in_bytes", strconv.FormatInt(memoryMiB*mib, 10)})
		}
	}
	for _, d := range dirs {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("creating the task cgroup %s: %w", d, err)
		}
	}
	for _, s := range settings {
		if err := os.WriteFile(filepath.Join(s.dir, s.file), []byte(s.value), 0o644); err != nil {
			if s.file == "cgroup.subtree_control" {
				continue // already enabled, or not delegable here: limits below still apply
			}
			return fmt.Errorf("setting %s of the task cgroup: %w", s.file, err)
		}
	}
	return nil
}

// removeTaskCgroup removes the task's cgroup directories (empty once its
// containers are deleted) in every hierarchy.
func removeTaskCgroup(parent string) error {
	candidates := []string{filepath.Join(cgroupRoot, parent)}
	if entries, err := os.ReadDir(cgroupRoot); err == nil {
		for _, e := range entries {
			if e.IsDir() {
				candidates = append(candidates, filepath.Join(cgroupRoot, e.Name(), parent))
			}
		}
	}
	var errs []error
	for _, d := range candidates {
		if err := os.Remove(d); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, fmt.Errorf("removing cgroup %s: %w", d, err))
		}
	}
	return errors.Join(errs...)
}
