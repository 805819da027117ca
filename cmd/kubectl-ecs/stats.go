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

package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"
)

const statsUsage = `Usage: kubectl ecs stats TASK [-c CONTAINER] [-o table|json] [-w [--interval D]]

Show the CPU, memory, network, block I/O and process figures of the
containers of a Task, read by the agent of the instance that runs it from
the containers' cgroups (RBAC: get tasks/stats in group ecs.longshore.io).
CPU % and MEM USAGE are computed as docker stats computes them; -o json
prints the agent's answer: each container's stats in the Docker stats
shape of the task metadata endpoint's /task/stats, by container name.
`

func runStats(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("kubectl ecs stats", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { _, _ = fmt.Fprint(stderr, statsUsage); fs.PrintDefaults() }
	var c commonFlags
	c.register(fs)
	var output string
	var watch bool
	fs.StringVar(&output, "o", "table", "output: table or json")
	fs.StringVar(&output, "output", "table", "output: table or json")
	fs.BoolVar(&watch, "w", false, "read again every --interval until interrupted")
	fs.BoolVar(&watch, "watch", false, "read again every --interval until interrupted")
	interval := fs.Duration("interval", 2*time.Second, "time between reads with --watch")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return 2
	}
	if len(pos) != 1 {
		_, _ = fmt.Fprintf(stderr, "kubectl ecs stats: want one TASK, got %d arguments\n\n%s", len(pos), statsUsage)
		return 2
	}
	if output != "table" && output != "json" {
		_, _ = fmt.Fprintf(stderr, "kubectl ecs stats: -o %q: want table or json\n", output)
		return 2
	}
	if *interval < 100*time.Millisecond {
		_, _ = fmt.Fprintln(stderr, "kubectl ecs stats: --interval must be 100ms or more")
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	t, err := c.taskTarget(rctx, pos[0])
	cancel()
	if err != nil {
		_, _ = fmt.Fprintf(stderr, "kubectl ecs stats: %v\n", err)
		return 1
	}
	for {
		stats, err := t.Stats(ctx)
		if ctx.Err() != nil {
			return 0
		}
		if err == nil && c.container != "" {
			stats, err = onlyContainer(stats, c.container)
		}
		if err != nil {
			_, _ = fmt.Fprintf(stderr, "kubectl ecs stats: %v\n", err)
			return 1
		}
		if output == "json" {
			err = printStatsJSON(stdout, stats)
		} else {
			err = printStatsTable(stdout, stats)
		}
		if err != nil {
			_, _ = fmt.Fprintf(stderr, "kubectl ecs stats: %v\n", err)
			return 1
		}
		if !watch {
			return 0
		}
		select {
		case <-ctx.Done():
			return 0
		case <-time.After(*interval):
		}
		_, _ = fmt.Fprintln(stdout)
	}
}

func onlyContainer(stats map[string]json.RawMessage, name string) (map[string]json.RawMessage, error) {
	st, ok := stats[name]
	if !ok {
		names := make([]string, 0, len(stats))
		for n := range stats {
			names = append(names, n)
		}
		slices.Sort(names)
		return nil, fmt.Errorf("the task has no container %q with stats; its containers: %s", name, strings.Join(names, ", "))
	}
	return map[string]json.RawMessage{name: st}, nil
}

func printStatsJSON(w io.Writer, stats map[string]json.RawMessage) error {
	b, err := json.MarshalIndent(stats, "", "  ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}

// dockerStats is what the table shows of the Docker stats shape.
type dockerStats struct {
	CPU    cpuStats `json:"cpu_stats"`
	PreCPU cpuStats `json:"precpu_stats"`
	Memory struct {
		Usage uint64            `json:"usage"`
		Limit uint64            `json:"limit"`
		Stats map[string]uint64 `json:"stats"`
	} `json:"memory_stats"`
	Networks map[string]struct {
		RxBytes uint64 `json:"rx_bytes"`
		TxBytes uint64 `json:"tx_bytes"`
	} `json:"networks"`
	Blkio struct {
		ServiceBytes []struct {
			Op    string `json:"op"`
			Value uint64 `json:"value"`
		} `json:"io_service_bytes_recursive"`
	} `json:"blkio_stats"`
	Pids struct {
		Current uint64 `json:"current"`
	} `json:"pids_stats"`
}

type cpuStats struct {
	Usage struct {
		Total uint64 `json:"total_usage"`
	} `json:"cpu_usage"`
	System uint64 `json:"system_cpu_usage"`
	Online uint32 `json:"online_cpus"`
}

// statsRow is one container's line, computed as docker stats does.
type statsRow struct {
	cpuPercent, memPercent    float64
	memUsage, memLimit        uint64
	rx, tx, blkRead, blkWrite uint64
	pids                      uint64
}

func rowOf(s dockerStats) statsRow {
	r := statsRow{memLimit: s.Memory.Limit, pids: s.Pids.Current}
	cpuDelta := float64(s.CPU.Usage.Total) - float64(s.PreCPU.Usage.Total)
	sysDelta := float64(s.CPU.System) - float64(s.PreCPU.System)
	if cpuDelta > 0 && sysDelta > 0 {
		r.cpuPercent = cpuDelta / sysDelta * float64(max(s.CPU.Online, 1)) * 100
	}
	// The page cache that can be dropped is not counted (docker stats:
	// inactive_file on cgroup v2, total_inactive_file on v1).
	cache, ok := s.Memory.Stats["inactive_file"]
	if !ok {
		cache = s.Memory.Stats["total_inactive_file"]
	}
	r.memUsage = s.Memory.Usage - min(cache, s.Memory.Usage)
	if r.memLimit > 0 {
		r.memPercent = float64(r.memUsage) / float64(r.memLimit) * 100
	}
	for _, n := range s.Networks {
		r.rx, r.tx = r.rx+n.RxBytes, r.tx+n.TxBytes
	}
	for _, b := range s.Blkio.ServiceBytes {
		switch strings.ToLower(b.Op) {
		case "read":
			r.blkRead += b.Value
		case "write":
			r.blkWrite += b.Value
		}
	}
	return r
}

func printStatsTable(w io.Writer, stats map[string]json.RawMessage) error {
	names := make([]string, 0, len(stats))
	for n := range stats {
		names = append(names, n)
	}
	slices.Sort(names)
	tw := tabwriter.NewWriter(w, 0, 4, 3, ' ', 0)
	_, _ = fmt.Fprintln(tw, "CONTAINER\tCPU %\tMEM USAGE / LIMIT\tMEM %\tNET I/O\tBLOCK I/O\tPIDS")
	for _, n := range names {
		raw := stats[n]
		if len(raw) == 0 || string(raw) == "null" {
			_, _ = fmt.Fprintf(tw, "%s\t--\t-- / --\t--\t-- / --\t-- / --\t--\n", n)
			continue
		}
		var s dockerStats
		if err := json.Unmarshal(raw, &s); err != nil {
			return fmt.Errorf("the stats of container %s: %w", n, err)
		}
		r := rowOf(s)
		_, _ = fmt.Fprintf(tw, "%s\t%.2f%%\t%s / %s\t%.2f%%\t%s / %s\t%s / %s\t%d\n", n, r.cpuPercent,
			binarySize(r.memUsage), binarySize(r.memLimit), r.memPercent,
			decimalSize(r.rx), decimalSize(r.tx), decimalSize(r.blkRead), decimalSize(r.blkWrite), r.pids)
	}
	return tw.Flush()
}

// binarySize and decimalSize write sizes as docker stats does: memory in
// KiB/MiB/GiB with 4 significant digits, network and block I/O in
// kB/MB/GB with 3.
func binarySize(n uint64) string {
	return humanSize(float64(n), 1024, 4, []string{"B", "KiB", "MiB", "GiB", "TiB", "PiB"})
}

func decimalSize(n uint64) string {
	return humanSize(float64(n), 1000, 3, []string{"B", "kB", "MB", "GB", "TB", "PB"})
}

func humanSize(v, base float64, digits int, units []string) string {
	i := 0
	for v >= base && i < len(units)-1 {
		v /= base
		i++
	}
	return fmt.Sprintf("%.*g%s", digits, v, units[i])
}
