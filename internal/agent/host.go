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
	"bufio"
	"fmt"
	"os"
	goruntime "runtime"
	"strconv"
	"strings"
)

// HostInfo is what the agent reports about its host.
type HostInfo struct {
	Hostname  string
	CPUCores  int
	MemoryMiB int64
	OS        string
	Arch      string // ECS spelling: x86_64, arm64
	// GPUs are the GPU device nodes the agent hands to tasks. DetectHost
	// finds none yet: the agent cannot pass GPUs into containers, so it
	// registers none, and GPU tasks are not placed on it.
	GPUs []string
}

// DetectHost reads the host's facts: CPUs usable by this process, total
// memory from /proc/meminfo.
func DetectHost() (HostInfo, error) {
	h := HostInfo{CPUCores: goruntime.NumCPU(), OS: goruntime.GOOS, Arch: ecsArch(goruntime.GOARCH)}
	var err error
	if h.Hostname, err = os.Hostname(); err != nil {
		return h, fmt.Errorf("reading the hostname: %w", err)
	}
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return h, fmt.Errorf("reading memory size: %w", err)
	}
	defer func() { _ = f.Close() }()
	if h.MemoryMiB, err = parseMemTotal(bufio.NewScanner(f)); err != nil {
		return h, err
	}
	return h, nil
}

func parseMemTotal(s *bufio.Scanner) (int64, error) {
	for s.Scan() {
		fields := strings.Fields(s.Text())
		if len(fields) >= 2 && fields[0] == "MemTotal:" {
			kb, err := strconv.ParseInt(fields[1], 10, 64)
			if err != nil {
				return 0, fmt.Errorf("parsing MemTotal %q: %w", fields[1], err)
			}
			return kb / 1024, nil
		}
	}
	if err := s.Err(); err != nil {
		return 0, err
	}
	return 0, fmt.Errorf("no MemTotal in /proc/meminfo")
}

// ecsArch spells a GOARCH the way the ECS attribute ecs.cpu-architecture does.
func ecsArch(goarch string) string {
	switch goarch {
	case "amd64":
		return "x86_64"
	default:
		return goarch
	}
}
