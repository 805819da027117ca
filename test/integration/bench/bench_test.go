//go:build integration && bench

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

// Package bench measures binding throughput (`make bench-manager`): the
// longshore-manager binary binding N Tasks over M simulated instances,
// against a floor measured in the same run on the same API server — the
// same client creating the same N Tasks and writing the same binding
// patches itself, with no manager running. It prints ratios and never
// asserts a duration.
package bench

import (
	"bufio"
	"context"
	"fmt"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/clock"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	ecsv1 "github.com/longshore-io/longshore/api/v1alpha1"
	"github.com/longshore-io/longshore/internal/agent"
	lsruntime "github.com/longshore-io/longshore/internal/runtime"
	"github.com/longshore-io/longshore/internal/taskstatus"
	"github.com/longshore-io/longshore/test/integration/framework"
)

const (
	leaseNamespace = "longshore-system"
	clusterName    = "bench"
	// binders is the manager's --scheduler-binders and the floor's
	// writers.
	binders = 16
)

type scenario struct{ tasks, instances int }

type result struct {
	took, creates time.Duration
	writes        float64   // writes per task after its create
	mem           memStatus // the manager's (zero for the floor)
	heap          string
	cpu           float64 // manager's CPU seconds, user + system, since it started
	minN, maxN    int
	// apiWrites are the API server's write requests during the run, by
	// verb and resource, with the conflicts.
	apiWrites string
}

// TestBenchBinding runs each scenario on a fresh API server: the manager
// first, then (the manager stopped) the floor. LONGSHORE_BENCH_SCENARIOS
// picks scenarios ("1000x20,1000x1000,10000x1000", the default).
func TestBenchBinding(t *testing.T) {
	scenarios := []scenario{{1000, 20}, {1000, 1000}, {10000, 1000}}
	if v := os.Getenv("LONGSHORE_BENCH_SCENARIOS"); v != "" {
		scenarios = nil
		for _, s := range strings.Split(v, ",") {
			n, m, _ := strings.Cut(s, "x")
			tasks, err1 := strconv.Atoi(n)
			instances, err2 := strconv.Atoi(m)
			if err1 != nil || err2 != nil {
				t.Fatalf("LONGSHORE_BENCH_SCENARIOS: %q is not <tasks>x<instances>", s)
			}
			scenarios = append(scenarios, scenario{tasks, instances})
		}
	}
	bin := framework.BuildBinary(t, "./cmd/manager")
	var report []string
	for _, sc := range scenarios {
		t.Run(fmt.Sprintf("%dx%d", sc.tasks, sc.instances), func(t *testing.T) {
			mgr, floor := runScenario(t, bin, sc)
			line := fmt.Sprintf("%5d tasks over %4d instances: manager all PENDING after %6.2f s (%4.0f tasks/s, creates %5.2f s, %.2f writes/task, per instance %d..%d); floor %6.2f s (%4.0f tasks/s, creates %5.2f s, %.2f writes/task); ratio %.2f×; manager RSS %d MiB (peak %d MiB; private %d MiB, mapped files %d MiB), Go heap %s, CPU %.1f s",
				sc.tasks, sc.instances, mgr.took.Seconds(), float64(sc.tasks)/mgr.took.Seconds(), mgr.creates.Seconds(), mgr.writes,
				mgr.minN, mgr.maxN, floor.took.Seconds(), float64(sc.tasks)/floor.took.Seconds(), floor.creates.Seconds(), floor.writes,
				mgr.took.Seconds()/floor.took.Seconds(), mgr.mem.rss/1024, mgr.mem.hwm/1024, mgr.mem.anon/1024, mgr.mem.file/1024, mgr.heap, mgr.cpu)
			line += fmt.Sprintf("\n      API writes with the manager: %s\n      API writes of the floor:     %s", mgr.apiWrites, floor.apiWrites)
			fmt.Println(line)
			report = append(report, line)
		})
	}
	fmt.Printf("\nlongshore manager binding benchmark, %d creating goroutine(s) (ratio = manager / floor, same run, same API server):\n  %s\n\n",
		creators(), strings.Join(report, "\n  "))
}

func runScenario(t *testing.T, bin string, sc scenario) (mgr, floor result) {
	env, err := framework.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Stop() })
	ctx := t.Context()
	if err := env.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: leaseNamespace}}); err != nil {
		t.Fatal(err)
	}
	env.NewCluster(t, clusterName, nil)
	stopBeats := hollowInstances(t, env.Client, sc.instances)
	defer stopBeats()

	probes, metrics := framework.FreePort(t), framework.FreePort(t)
	proc := framework.StartUnmanaged(t, bin, "--kubeconfig", env.AdminKubeconfig(t), "--leader-elect=false",
		"--health-probe-bind-address", fmt.Sprintf("127.0.0.1:%d", probes),
		"--metrics-bind-address", fmt.Sprintf("127.0.0.1:%d", metrics),
		"--leader-election-namespace", leaseNamespace, "--agent-grace", "60s", "--instance-lost-timeout", "10m",
		"--kube-api-qps", "1000", "--kube-api-burst", "2000", "--scheduler-binders", strconv.Itoa(binders),
		// LONGSHORE_BENCH_PPROF=127.0.0.1:PORT: the manager serves
		// /debug/pprof/ there, to profile it while the benchmark runs.
		"--pprof-bind-address", os.Getenv("LONGSHORE_BENCH_PPROF"))
	stopped := false
	defer func() {
		if !stopped {
			proc.StopAndReport(t)
		}
	}()
	framework.Eventually(t, 60*time.Second, "manager ready", func() error {
		code, _, err := framework.HTTPGet(ctx, fmt.Sprintf("http://127.0.0.1:%d/readyz", probes))
		if err != nil || code != 200 {
			return fmt.Errorf("%d %v", code, err)
		}
		return nil
	})
	ns := env.NewNamespace(t, "bench")
	env.NewFamily(t, ns, "web", ecsv1.TaskDefinitionSpec{NetworkMode: ecsv1.NetworkModeAWSVPC,
		ContainerDefinitions: []ecsv1.ContainerDefinition{{Name: "web", Image: "busybox", Memory: ptr.To[int32](64), CPU: 256}}})
	framework.Eventually(t, 2*time.Minute, "instances connected", func() error {
		var cis ecsv1.ContainerInstanceList
		if err := env.Client.List(ctx, &cis); err != nil {
			return err
		}
		n := 0
		for i := range cis.Items {
			if cis.Items[i].Status.Connected() {
				n++
			}
		}
		if n < sc.instances {
			return fmt.Errorf("%d of %d connected", n, sc.instances)
		}
		return nil
	})

	before := apiWrites(t, env)
	cpuBefore := cpuSeconds(t, proc.Cmd.Process.Pid)
	mgr = measure(t, env, ns, sc.tasks, nil)
	mgr.apiWrites = apiWrites(t, env).minus(before).String()
	mgr.mem = procStatus(t, proc.Cmd.Process.Pid)
	mgr.heap = heapInUse(ctx, metrics)
	mgr.cpu = cpuSeconds(t, proc.Cmd.Process.Pid) - cpuBefore
	proc.StopAndReport(t)
	stopped = true

	rev := &ecsv1.TaskDefinitionRevision{}
	if err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: ecsv1.RevisionName("web", 1)}, rev); err != nil {
		t.Fatal(err)
	}
	floorNS := env.NewNamespace(t, "floor")
	instances := make([]string, sc.instances)
	for i := range instances {
		instances[i] = instanceName(i)
	}
	before = apiWrites(t, env)
	floor = measure(t, env, floorNS, sc.tasks, func(c client.Client, task *ecsv1.Task, i int) error {
		return floorBind(ctx, c, task, instances[i%len(instances)])
	})
	floor.apiWrites = apiWrites(t, env).minus(before).String()
	return mgr, floor
}

// floorBind writes what the scheduler writes for one task: the bind
// metadata patch and the PENDING status patch, with optimistic locking.
func floorBind(ctx context.Context, c client.Client, task *ecsv1.Task, instance string) error {
	orig := task.DeepCopy()
	task.Spec.ContainerInstance = instance
	controllerutil.AddFinalizer(task, ecsv1.FinalizerAgent)
	task.Labels = map[string]string{ecsv1.LabelCluster: clusterName, ecsv1.LabelFamily: "web", ecsv1.LabelRevision: "1",
		ecsv1.LabelContainerInstance: instance}
	task.Annotations = map[string]string{ecsv1.AnnotationReservation: ecsv1.Reservation{CPU: 256, Memory: 64}.String()}
	if err := c.Patch(ctx, task, client.MergeFromWithOptions(orig, client.MergeFromWithOptimisticLock{})); err != nil {
		return err
	}
	updated := task.DeepCopy()
	st := &updated.Status
	st.TaskDefinitionRevision, st.Group = "web:1", "family:web"
	taskstatus.HandOver(task, st, "Placed on container instance "+instance)
	taskstatus.SetConditions(task, st, true, time.Now())
	return c.Status().Patch(ctx, updated, client.MergeFromWithOptions(task, client.MergeFromWithOptimisticLock{}))
}

// measure creates n Tasks in ns one after the other, as one client does,
// and waits until a watch shows all of them PENDING. bind, when set, is
// the floor: binders goroutines write the binds as the creates return.
func measure(t *testing.T, env *framework.Env, ns string, n int, bind func(client.Client, *ecsv1.Task, int) error) result {
	ctx := t.Context()
	wc, err := client.NewWithWatch(env.Env.Config, client.Options{Scheme: env.Scheme})
	if err != nil {
		t.Fatal(err)
	}
	w, err := wc.Watch(ctx, &ecsv1.TaskList{}, client.InNamespace(ns))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { w.Stop() }()

	var (
		wg   sync.WaitGroup
		work chan int
		errs = make(chan error, 1)
		objs = make([]*ecsv1.Task, n)
	)
	if bind != nil {
		work = make(chan int, n)
		for range binders {
			wg.Go(func() {
				for i := range work {
					if err := retry(func() error { return bind(env.Client, objs[i], i) }); err != nil {
						select {
						case errs <- err:
						default:
						}
					}
				}
			})
		}
	}
	start := time.Now()
	created := make(chan time.Duration, 1)
	go func() {
		next := make(chan int)
		var cw sync.WaitGroup
		for range creators() {
			cw.Go(func() {
				for i := range next {
					task := &ecsv1.Task{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("b%05d", i)},
						Spec: ecsv1.TaskSpec{Cluster: clusterName, TaskDefinition: "web"}}
					if err := retry(func() error { return createOrGet(ctx, env.Client, task) }); err != nil {
						select {
						case errs <- err:
						default:
						}
						continue
					}
					if work != nil {
						objs[i] = task
						work <- i
					}
				}
			})
		}
		for i := range n {
			next <- i
		}
		close(next)
		cw.Wait()
		created <- time.Since(start)
		if work != nil {
			close(work)
		}
	}()

	pending := map[string]string{}
	modified, rewatched := 0, 0
	deadline := time.After(10 * time.Minute)
	for len(pending) < n {
		select {
		case err := <-errs:
			t.Fatal(err)
		case <-deadline:
			t.Fatalf("%d of %d PENDING after 10 minutes", len(pending), n)
		case ev, ok := <-w.ResultChan():
			if !ok {
				// The API server ends a watch that falls behind: list, and
				// watch again from the list.
				var list ecsv1.TaskList
				if err := wc.List(ctx, &list, client.InNamespace(ns)); err != nil {
					t.Fatal(err)
				}
				for i := range list.Items {
					if tk := &list.Items[i]; tk.Status.LastStatus == ecsv1.TaskPending && tk.Spec.ContainerInstance != "" {
						pending[tk.Name] = tk.Spec.ContainerInstance
					}
				}
				rewatched++
				if w, err = wc.Watch(ctx, &ecsv1.TaskList{}, client.InNamespace(ns),
					&client.ListOptions{Raw: &metav1.ListOptions{ResourceVersion: list.ResourceVersion}}); err != nil {
					t.Fatal(err)
				}
				continue
			}
			task, isTask := ev.Object.(*ecsv1.Task)
			if !isTask {
				continue
			}
			if ev.Type == watch.Modified {
				modified++
			}
			if task.Status.LastStatus == ecsv1.TaskPending && task.Spec.ContainerInstance != "" {
				pending[task.Name] = task.Spec.ContainerInstance
			}
		}
	}
	took := time.Since(start)
	creates := <-created
	wg.Wait()
	perInstance := map[string]int{}
	for _, in := range pending {
		perInstance[in]++
	}
	r := result{took: took, creates: creates, writes: float64(modified) / float64(n), minN: n}
	if rewatched > 0 {
		r.writes = -1 // events were missed: see the API server's counts
	}
	for _, c := range perInstance {
		r.minN, r.maxN = min(r.minN, c), max(r.maxN, c)
	}
	return r
}

// retry retries f on the transient failures of an overloaded API server
// (this machine is shared): timeouts, 429 and 5xx.
func retry(f func() error) error {
	var err error
	for range 5 {
		if err = f(); err == nil || !transient(err) {
			return err
		}
		time.Sleep(200 * time.Millisecond)
	}
	return err
}

func transient(err error) bool {
	return apierrors.IsTimeout(err) || apierrors.IsServerTimeout(err) || apierrors.IsTooManyRequests(err) ||
		apierrors.IsInternalError(err) || apierrors.IsServiceUnavailable(err) || strings.Contains(err.Error(), "request timed out")
}

// createOrGet creates task; if a create that timed out went through, it
// reads what was created.
func createOrGet(ctx context.Context, c client.Client, task *ecsv1.Task) error {
	err := c.Create(ctx, task)
	if apierrors.IsAlreadyExists(err) {
		return c.Get(ctx, client.ObjectKeyFromObject(task), task)
	}
	return err
}

// creators is how many goroutines of the one client create the Tasks
// (LONGSHORE_BENCH_CREATORS, default 1: one after the other).
func creators() int {
	if n, err := strconv.Atoi(os.Getenv("LONGSHORE_BENCH_CREATORS")); err == nil && n > 0 {
		return n
	}
	return 1
}

func instanceName(i int) string { return fmt.Sprintf("bench-%04d", i) }

// hollowInstances registers m ContainerInstances the way an agent does and
// keeps their Leases fresh (every 10 s; the manager runs with a 60 s
// grace), with no task loop: the Tasks stay PENDING.
func hollowInstances(t *testing.T, c client.Client, m int) (stop func()) {
	ctx, cancel := context.WithCancel(context.WithoutCancel(t.Context()))
	beats := make([]*agent.Heartbeat, m)
	var wg sync.WaitGroup
	next := make(chan int)
	errs := make(chan error, m)
	for range 16 {
		wg.Go(func() {
			for i := range next {
				name := instanceName(i)
				reg := &agent.Registrar{Client: c, Runtime: &lsruntime.Fake{VersionStr: "containerd sim"}, Clock: clock.RealClock{},
					Host:   agent.HostInfo{Hostname: name, CPUCores: 64, MemoryMiB: 1 << 20, OS: "linux", Arch: "x86_64"},
					Config: agent.Config{InstanceName: name, Cluster: clusterName}}
				if err := reg.Register(ctx); err != nil {
					errs <- err
					continue
				}
				hb := &agent.Heartbeat{Client: c, Namespace: leaseNamespace, InstanceName: name,
					Interval: 10 * time.Second, Duration: time.Minute, Clock: clock.RealClock{}}
				if err := hb.Renew(ctx); err != nil {
					errs <- err
					continue
				}
				beats[i] = hb
			}
		})
	}
	for i := range m {
		next <- i
	}
	close(next)
	wg.Wait()
	close(errs)
	for err := range errs {
		cancel()
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(10 * time.Second)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			for _, hb := range beats {
				_ = hb.Renew(ctx)
			}
		}
	}()
	return func() { cancel(); <-done }
}

// memStatus is what /proc/<pid>/status says of a process's memory, in
// KiB: VmHWM (peak resident set), VmRSS, and VmRSS's two parts, RssAnon
// (the process's own memory: heap, stacks) and RssFile (pages of mapped
// files, the binary's text above all, shared with the page cache).
type memStatus struct{ hwm, rss, anon, file int64 }

func procStatus(t *testing.T, pid int) memStatus {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	var m memStatus
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, _ := strings.Cut(sc.Text(), ":")
		n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		switch k {
		case "VmHWM":
			m.hwm = n
		case "VmRSS":
			m.rss = n
		case "RssAnon":
			m.anon = n
		case "RssFile":
			m.file = n
		}
	}
	return m
}

// cpuSeconds is the user and system CPU time of pid (USER_HZ 100).
func cpuSeconds(t *testing.T, pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	_, after, _ := strings.Cut(string(b), ") ")
	f := strings.Fields(after) // from field 3 (state) on
	utime, _ := strconv.ParseFloat(f[11], 64)
	stime, _ := strconv.ParseFloat(f[12], 64)
	return (utime + stime) / 100
}

// heapInUse is go_memstats_heap_inuse_bytes of the manager, in MiB.
func heapInUse(ctx context.Context, port int) string {
	_, body, err := framework.HTTPGet(ctx, fmt.Sprintf("http://127.0.0.1:%d/metrics", port))
	if err != nil {
		return "?"
	}
	for _, l := range strings.Split(body, "\n") {
		if v, ok := strings.CutPrefix(l, "go_memstats_heap_inuse_bytes "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err == nil {
				return fmt.Sprintf("%.0f MiB", f/(1<<20))
			}
		}
	}
	return "?"
}

// writeCounts are apiserver_request_total of the write verbs, by
// "VERB resource[/subresource]" (and "... 409" for conflicts).
type writeCounts map[string]float64

func apiWrites(t *testing.T, env *framework.Env) writeCounts {
	cs, err := kubernetes.NewForConfig(env.Env.Config)
	if err != nil {
		t.Fatal(err)
	}
	b, err := cs.Discovery().RESTClient().Get().AbsPath("/metrics").DoRaw(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	out := writeCounts{}
	for _, l := range strings.Split(string(b), "\n") {
		rest, ok := strings.CutPrefix(l, "apiserver_request_total{")
		if !ok {
			continue
		}
		labels, value, _ := strings.Cut(rest, "} ")
		v, err := strconv.ParseFloat(value, 64)
		if err != nil {
			continue
		}
		kv := map[string]string{}
		for _, p := range strings.Split(labels, ",") {
			k, val, _ := strings.Cut(p, "=")
			kv[k] = strings.Trim(val, `"`)
		}
		switch kv["verb"] {
		case "POST", "PATCH", "PUT", "DELETE", "APPLY":
		default:
			continue
		}
		key := kv["verb"] + " " + kv["resource"]
		if kv["subresource"] != "" {
			key += "/" + kv["subresource"]
		}
		out[key] += v
		if kv["code"] == "409" {
			out[key+" 409"] += v
		}
	}
	return out
}

func (w writeCounts) minus(o writeCounts) writeCounts {
	out := writeCounts{}
	for k, v := range w {
		if d := v - o[k]; d > 0 {
			out[k] = d
		}
	}
	return out
}

func (w writeCounts) String() string {
	keys := slices.Sorted(maps.Keys(w))
	parts := make([]string, 0, len(keys))
	total := 0.0
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %.0f", k, w[k]))
		if !strings.HasSuffix(k, " 409") {
			total += w[k]
		}
	}
	return fmt.Sprintf("%.0f in all: %s", total, strings.Join(parts, ", "))
}
