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

package taskendpoint

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"
)

// This file reads a container's stats from its cgroup (v1 or v2) and its
// network namespace (through /proc/<pid>/net/dev) into Docker's stats
// shape, as ECS serves them; the previous read of each container gives
// precpu_stats and the network rates.

// userHZ is the kernel's clock tick of cpuacct.stat and /proc/stat.
const userHZ = 100

// statsReader reads container stats. Root is the cgroup file system
// (/sys/fs/cgroup), Proc the proc file system (/proc).
type statsReader struct {
	Root, Proc string
	mu         sync.Mutex
	prev       map[string]StatsResponse // by container ID
	cgroups    map[string]string        // container ID → cgroup
}

func newStatsReader() *statsReader {
	return &statsReader{Root: "/sys/fs/cgroup", Proc: "/proc", prev: map[string]StatsResponse{}, cgroups: map[string]string{}}
}

func (r *statsReader) v2() bool {
	_, err := os.Stat(filepath.Join(r.Root, "cgroup.controllers"))
	return err == nil
}

// read returns the stats of the container id whose cgroup is cgroup (a
// path relative to the hierarchies' roots) and whose process is pid (0:
// none, no network counters).
//
// precpu_stats and the rates come from the previous read; the first read
// of a container takes a sample firstSampleGap earlier for them (ECS's
// agent samples all the time, so its precpu_stats are never empty).
func (r *statsReader) read(id, name, cgroup string, pid uint32, now func() time.Time) (StatsResponse, error) {
	r.mu.Lock()
	_, seen := r.prev[id]
	r.mu.Unlock()
	if !seen {
		if _, err := r.sample(id, name, cgroup, pid, now()); err != nil {
			return StatsResponse{}, err
		}
		time.Sleep(firstSampleGap)
	}
	return r.sample(id, name, cgroup, pid, now())
}

// firstSampleGap is how long before the first read of a container its
// earlier sample is taken.
const firstSampleGap = 100 * time.Millisecond

func (r *statsReader) sample(id, name, cgroup string, pid uint32, now time.Time) (StatsResponse, error) {
	s := StatsResponse{Read: now, ID: id, Name: "/" + name}
	var err error
	if r.v2() {
		err = r.readV2(&s, filepath.Join(r.Root, cgroup))
	} else {
		err = r.readV1(&s, cgroup)
	}
	if err != nil {
		return s, err
	}
	s.CPUStats.SystemUsage = r.systemUsage()
	s.CPUStats.OnlineCPUs = uint32(runtime.NumCPU())
	if pid != 0 {
		s.Networks = r.netDev(pid)
	}
	b := &s.BlkioStats
	for _, l := range []*[]BlkioStatEntry{&b.IoServiceBytesRecursive, &b.IoServicedRecursive, &b.IoQueuedRecursive,
		&b.IoServiceTimeRecursive, &b.IoWaitTimeRecursive, &b.IoMergedRecursive, &b.IoTimeRecursive, &b.SectorsRecursive} {
		if *l == nil {
			*l = []BlkioStatEntry{} // [], as ECS shows them, not null
		}
	}
	r.mu.Lock()
	prev, ok := r.prev[id]
	r.prev[id] = s
	r.cgroups[id] = cgroup
	r.mu.Unlock()
	if ok {
		s.PreRead = prev.Read
		s.PreCPUStats = prev.CPUStats
		if dt := s.Read.Sub(prev.Read).Seconds(); s.Networks != nil {
			dt = max(dt, 1e-3)
			var rx, tx, prx, ptx uint64
			for _, n := range s.Networks {
				rx, tx = rx+n.RxBytes, tx+n.TxBytes
			}
			for _, n := range prev.Networks {
				prx, ptx = prx+n.RxBytes, ptx+n.TxBytes
			}
			s.NetworkRateStats = &NetworkRateStats{RxBytesPerSec: float64(rx-min(prx, rx)) / dt, TxBytesPerSec: float64(tx-min(ptx, tx)) / dt}
		}
	}
	return s, nil
}

// forgetTask drops the previous reads of the containers whose cgroup
// paths hold segment (a task's id).
func (r *statsReader) forgetTask(segment string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for id, cg := range r.cgroups {
		if strings.Contains(cg+"/", "/"+segment+"/") {
			delete(r.prev, id)
			delete(r.cgroups, id)
		}
	}
}

func (r *statsReader) readV1(s *StatsResponse, cgroup string) error {
	dir := func(ctrl string) string { return filepath.Join(r.Root, ctrl, cgroup) }
	cpu := dir("cpuacct")
	if _, err := os.Stat(cpu); err != nil {
		cpu = dir("cpu,cpuacct")
	}
	total, err := readUint(filepath.Join(cpu, "cpuacct.usage"))
	if err != nil {
		return fmt.Errorf("reading the container's cgroup: %w", err)
	}
	s.CPUStats.CPUUsage.TotalUsage = total
	if b, err := os.ReadFile(filepath.Join(cpu, "cpuacct.usage_percpu")); err == nil {
		for _, f := range strings.Fields(string(b)) {
			if v, err := strconv.ParseUint(f, 10, 64); err == nil {
				s.CPUStats.CPUUsage.PercpuUsage = append(s.CPUStats.CPUUsage.PercpuUsage, v)
			}
		}
	}
	if kv, err := readKV(filepath.Join(cpu, "cpuacct.stat")); err == nil {
		s.CPUStats.CPUUsage.UsageInUsermode = kv["user"] * (1e9 / userHZ)
		s.CPUStats.CPUUsage.UsageInKernelmode = kv["system"] * (1e9 / userHZ)
	}
	cpuDir := dir("cpu")
	if _, err := os.Stat(cpuDir); err != nil {
		cpuDir = dir("cpu,cpuacct")
	}
	if kv, err := readKV(filepath.Join(cpuDir, "cpu.stat")); err == nil {
		s.CPUStats.ThrottlingData = ThrottlingData{Periods: kv["nr_periods"], ThrottledPeriods: kv["nr_throttled"], ThrottledTime: kv["throttled_time"]}
	}
	mem := dir("memory")
	s.MemoryStats.Usage, _ = readUint(filepath.Join(mem, "memory.usage_in_bytes"))
	s.MemoryStats.MaxUsage, _ = readUint(filepath.Join(mem, "memory.max_usage_in_bytes"))
	s.MemoryStats.Failcnt, _ = readUint(filepath.Join(mem, "memory.failcnt"))
	if l, err := readUint(filepath.Join(mem, "memory.limit_in_bytes")); err == nil {
		s.MemoryStats.Limit = min(l, r.memTotal())
	}
	if kv, err := readKV(filepath.Join(mem, "memory.stat")); err == nil {
		s.MemoryStats.Stats = kv
	}
	s.PidsStats.Current, _ = readUint(filepath.Join(dir("pids"), "pids.current"))
	if l, err := readUint(filepath.Join(dir("pids"), "pids.max")); err == nil {
		s.PidsStats.Limit = l
	}
	s.BlkioStats.IoServiceBytesRecursive = readBlkio(filepath.Join(dir("blkio"), "blkio.throttle.io_service_bytes_recursive"))
	s.BlkioStats.IoServicedRecursive = readBlkio(filepath.Join(dir("blkio"), "blkio.throttle.io_serviced_recursive"))
	return nil
}

func (r *statsReader) readV2(s *StatsResponse, dir string) error {
	kv, err := readKV(filepath.Join(dir, "cpu.stat"))
	if err != nil {
		return fmt.Errorf("reading the container's cgroup: %w", err)
	}
	s.CPUStats.CPUUsage.TotalUsage = kv["usage_usec"] * 1000
	s.CPUStats.CPUUsage.UsageInUsermode = kv["user_usec"] * 1000
	s.CPUStats.CPUUsage.UsageInKernelmode = kv["system_usec"] * 1000
	s.CPUStats.ThrottlingData = ThrottlingData{Periods: kv["nr_periods"], ThrottledPeriods: kv["nr_throttled"], ThrottledTime: kv["throttled_usec"] * 1000}
	s.MemoryStats.Usage, _ = readUint(filepath.Join(dir, "memory.current"))
	s.MemoryStats.MaxUsage, _ = readUint(filepath.Join(dir, "memory.peak"))
	s.MemoryStats.Limit = r.memTotal()
	if l, err := readUint(filepath.Join(dir, "memory.max")); err == nil {
		s.MemoryStats.Limit = min(l, s.MemoryStats.Limit)
	}
	if st, err := readKV(filepath.Join(dir, "memory.stat")); err == nil {
		s.MemoryStats.Stats = st
	}
	s.PidsStats.Current, _ = readUint(filepath.Join(dir, "pids.current"))
	if l, err := readUint(filepath.Join(dir, "pids.max")); err == nil {
		s.PidsStats.Limit = l
	}
	if b, err := os.ReadFile(filepath.Join(dir, "io.stat")); err == nil {
		for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			f := strings.Fields(line)
			if len(f) < 2 {
				continue
			}
			maj, mnr, _ := strings.Cut(f[0], ":")
			ma, _ := strconv.ParseUint(maj, 10, 64)
			mi, _ := strconv.ParseUint(mnr, 10, 64)
			for _, p := range f[1:] {
				k, v, _ := strings.Cut(p, "=")
				n, _ := strconv.ParseUint(v, 10, 64)
				switch k {
				case "rbytes":
					s.BlkioStats.IoServiceBytesRecursive = append(s.BlkioStats.IoServiceBytesRecursive, BlkioStatEntry{ma, mi, "read", n})
				case "wbytes":
					s.BlkioStats.IoServiceBytesRecursive = append(s.BlkioStats.IoServiceBytesRecursive, BlkioStatEntry{ma, mi, "write", n})
				case "rios":
					s.BlkioStats.IoServicedRecursive = append(s.BlkioStats.IoServicedRecursive, BlkioStatEntry{ma, mi, "read", n})
				case "wios":
					s.BlkioStats.IoServicedRecursive = append(s.BlkioStats.IoServicedRecursive, BlkioStatEntry{ma, mi, "write", n})
				}
			}
		}
	}
	return nil
}

// systemUsage is the host's CPU time in nanoseconds, as Docker reports it
// (the first line of /proc/stat).
func (r *statsReader) systemUsage() uint64 {
	f, err := os.Open(filepath.Join(r.Proc, "stat"))
	if err != nil {
		return 0
	}
	defer func() { _ = f.Close() }()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 8 || fields[0] != "cpu" {
			continue
		}
		var ticks uint64
		for _, v := range fields[1:8] { // user nice system idle iowait irq softirq
			n, _ := strconv.ParseUint(v, 10, 64)
			ticks += n
		}
		return ticks * (1e9 / userHZ)
	}
	return 0
}

func (r *statsReader) memTotal() uint64 {
	kv, err := readKV(filepath.Join(r.Proc, "meminfo"))
	if err != nil || kv["MemTotal:"] == 0 {
		return ^uint64(0)
	}
	return kv["MemTotal:"] * 1024
}

// netDev reads the counters of the network namespace of process pid,
// loopback left out (as Docker does).
func (r *statsReader) netDev(pid uint32) map[string]NetworkStats {
	b, err := os.ReadFile(filepath.Join(r.Proc, strconv.FormatUint(uint64(pid), 10), "net", "dev"))
	if err != nil {
		return nil
	}
	out := map[string]NetworkStats{}
	for _, line := range strings.Split(string(b), "\n") {
		name, rest, ok := strings.Cut(line, ":")
		name = strings.TrimSpace(name)
		if !ok || name == "lo" || strings.Contains(name, "|") {
			continue
		}
		f := strings.Fields(rest)
		if len(f) < 16 {
			continue
		}
		n := make([]uint64, 16)
		for i := range n {
			n[i], _ = strconv.ParseUint(f[i], 10, 64)
		}
		out[name] = NetworkStats{RxBytes: n[0], RxPackets: n[1], RxErrors: n[2], RxDropped: n[3],
			TxBytes: n[8], TxPackets: n[9], TxErrors: n[10], TxDropped: n[11]}
	}
	return out
}

func readUint(p string) (uint64, error) {
	b, err := os.ReadFile(p)
	if err != nil {
		return 0, err
	}
	s := strings.TrimSpace(string(b))
	if s == "max" {
		return ^uint64(0), nil
	}
	return strconv.ParseUint(s, 10, 64)
}

// readKV reads "key value" lines.
func readKV(p string) (map[string]uint64, error) {
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, err
	}
	out := map[string]uint64{}
	for _, line := range bytes.Split(b, []byte("\n")) {
		f := strings.Fields(string(line))
		if len(f) < 2 {
			continue
		}
		if v, err := strconv.ParseUint(f[1], 10, 64); err == nil {
			out[f[0]] = v
		}
	}
	if len(out) == 0 {
		return nil, errors.New(p + ": no values")
	}
	return out, nil
}

// readBlkio reads "major:minor Op value" lines of cgroup v1's blkio.
func readBlkio(p string) []BlkioStatEntry {
	b, err := os.ReadFile(p)
	if err != nil {
		return nil
	}
	var out []BlkioStatEntry
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) != 3 {
			continue
		}
		maj, mnr, ok := strings.Cut(f[0], ":")
		if !ok {
			continue
		}
		ma, _ := strconv.ParseUint(maj, 10, 64)
		mi, _ := strconv.ParseUint(mnr, 10, 64)
		v, _ := strconv.ParseUint(f[2], 10, 64)
		out = append(out, BlkioStatEntry{Major: ma, Minor: mi, Op: f[1], Value: v})
	}
	return out
}
