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

package service

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ecsv1 "github.com/longshore-io/longshore/api/v1alpha1"
)

func TestBounds(t *testing.T) {
	for name, tc := range map[string]struct {
		desired, minPct, maxPct int32
		wantMin, wantMax        int32
	}{
		"defaults 100/200":           {desired: 4, minPct: 100, maxPct: 200, wantMin: 4, wantMax: 8},
		"min rounds up, max down":    {desired: 3, minPct: 50, maxPct: 150, wantMin: 2, wantMax: 4},
		"zero desired":               {desired: 0, minPct: 100, maxPct: 200, wantMin: 0, wantMax: 0},
		"one task, 0/100":            {desired: 1, minPct: 0, maxPct: 100, wantMin: 0, wantMax: 1},
		"one task, 50/150 no room":   {desired: 1, minPct: 50, maxPct: 150, wantMin: 0, wantMax: 1},
		"one task, 100/200":          {desired: 1, minPct: 100, maxPct: 200, wantMin: 1, wantMax: 2},
		"ten tasks, 90/110":          {desired: 10, minPct: 90, maxPct: 110, wantMin: 9, wantMax: 11},
		"two tasks, 75/125 no room":  {desired: 2, minPct: 75, maxPct: 125, wantMin: 1, wantMax: 2},
		"large, 33/1000":             {desired: 100000, minPct: 33, maxPct: 1000, wantMin: 33000, wantMax: 1000000},
		"five tasks, 0 min, 100 max": {desired: 5, minPct: 0, maxPct: 100, wantMin: 0, wantMax: 5},
	} {
		t.Run(name, func(t *testing.T) {
			gotMin, gotMax := bounds(tc.desired, ecsv1.DeploymentConfiguration{MinimumHealthyPercent: ptr.To(tc.minPct), MaximumPercent: ptr.To(tc.maxPct)})
			if gotMin != tc.wantMin || gotMax != tc.wantMax {
				t.Errorf("bounds(%d, %d%%, %d%%) = %d, %d; want %d, %d", tc.desired, tc.minPct, tc.maxPct, gotMin, gotMax, tc.wantMin, tc.wantMax)
			}
		})
	}
	if gotMin, gotMax := bounds(3, ecsv1.DeploymentConfiguration{}); gotMin != 3 || gotMax != 6 {
		t.Errorf("bounds with the defaults unset = %d, %d; want 3, 6", gotMin, gotMax)
	}
}

func TestFailureThreshold(t *testing.T) {
	for desired, want := range map[int32]int32{0: 3, 1: 3, 4: 3, 6: 3, 7: 4, 10: 5, 11: 6, 399: 200, 400: 200, 100000: 200} {
		if got := failureThreshold(desired); got != want {
			t.Errorf("failureThreshold(%d) = %d, want %d", desired, got, want)
		}
	}
}

func TestDeploymentIDs(t *testing.T) {
	svc := &ecsv1.Service{ObjectMeta: metav1.ObjectMeta{Name: "web", UID: "u1"}}
	fp := intentOf(svc, "web:1").fingerprint()
	id := newDeploymentID(fp, "u1", "")
	if len(id) != len("ecs-svc/")+19 || id[:8] != "ecs-svc/" {
		t.Fatalf("id %q", id)
	}
	if again := newDeploymentID(intentOf(svc, "web:1").fingerprint(), "u1", ""); again != id {
		t.Errorf("not deterministic: %q then %q", id, again)
	}
	if got, ok := fingerprintOf(id); !ok || got != fp {
		t.Errorf("fingerprintOf(%q) = %d, %v; want %d", id, got, ok, fp)
	}
	if other := newDeploymentID(fp, "u1", id); other == id {
		t.Errorf("a deployment replacing %q got the same id", id)
	}
	if other := newDeploymentID(fp, "u2", ""); other == id {
		t.Errorf("another Service got the same id %q", id)
	}
	restarted := svc.DeepCopy()
	restarted.Annotations = map[string]string{ecsv1.AnnotationRestartedAt: "2026-01-01T00:00:00Z"}
	placed := svc.DeepCopy()
	placed.Spec.PlacementStrategy = []ecsv1.PlacementStrategy{{Type: ecsv1.PlacementStrategyBinpack, Field: "memory"}}
	for name, other := range map[string]uint64{
		"revision":  intentOf(svc, "web:2").fingerprint(),
		"restart":   intentOf(restarted, "web:1").fingerprint(),
		"placement": intentOf(placed, "web:1").fingerprint(),
	} {
		if other == fp {
			t.Errorf("a new %s keeps the fingerprint", name)
		}
	}
	scaled := svc.DeepCopy()
	scaled.Spec.DesiredCount = ptr.To[int32](9)
	scaled.Spec.DeploymentConfiguration.MaximumPercent = ptr.To[int32](300)
	if intentOf(scaled, "web:1").fingerprint() != fp {
		t.Error("scaling or a new deploymentConfiguration changes the fingerprint")
	}
	if label := deploymentLabel(id); deploymentFromLabel(label) != id || len(label) != 19 {
		t.Errorf("label %q", label)
	}
	if name := taskName("web", id, 3); name != "web-"+id[len(id)-5:]+"-3" {
		t.Errorf("task name %q", name)
	}
	if _, ok := fingerprintOf("ecs-svc/123"); ok {
		t.Error("a short id parsed")
	}
}

// fakeTask builds a taskInfo: instance "" is unplaced; phase RUNNING or
// PENDING; healthy.
func fakeTask(name, dep, instance string, phase ecsv1.TaskStatusPhase, healthy bool, created int) *taskInfo {
	t := &ecsv1.Task{ObjectMeta: metav1.ObjectMeta{Name: name, CreationTimestamp: metav1.NewTime(time.Unix(int64(created), 0))},
		Spec: ecsv1.TaskSpec{ContainerInstance: instance}, Status: ecsv1.TaskStatus{LastStatus: phase}}
	return &taskInfo{t: t, dep: dep, instance: instance, healthy: healthy}
}

func TestStopOrder(t *testing.T) {
	zone := map[string]string{"i1": "a", "i2": "a", "i3": "b", "i4": "b"}
	sel := &stopSelector{fields: []string{"ecs.availability-zone", "instanceId"}, rank: map[string]int{"old": 1, "new": 2},
		valueOf: func(ti *taskInfo, f string) string {
			if f == "instanceId" {
				return ti.instance
			}
			return zone[ti.instance]
		}}
	names := func(tis []*taskInfo) []string {
		out := []string{}
		for _, ti := range tis {
			out = append(out, ti.t.Name)
		}
		return out
	}
	for name, tc := range map[string]struct {
		tasks []*taskInfo
		n     int
		want  []string
	}{
		"unplaced, then pending, then unhealthy, then healthy": {
			tasks: []*taskInfo{
				fakeTask("healthy", "new", "i1", ecsv1.TaskRunning, true, 1),
				fakeTask("unhealthy", "new", "i1", ecsv1.TaskRunning, false, 2),
				fakeTask("pending", "new", "i2", ecsv1.TaskPending, false, 3),
				fakeTask("unplaced", "new", "", ecsv1.TaskProvisioning, false, 4),
			},
			n: 4, want: []string{"unplaced", "pending", "unhealthy", "healthy"},
		},
		"from the zone, then the instance, with the most tasks": {
			tasks: []*taskInfo{
				fakeTask("a1", "new", "i1", ecsv1.TaskRunning, true, 1),
				fakeTask("a2", "new", "i1", ecsv1.TaskRunning, true, 2),
				fakeTask("a3", "new", "i2", ecsv1.TaskRunning, true, 3),
				fakeTask("b1", "new", "i3", ecsv1.TaskRunning, true, 4),
			},
			// Zone a has 3 tasks, b 1: take from a, from i1 (2 tasks), the
			// newest (a2). Zone a still has more: i1 and i2 now hold one
			// each, so the newest of them (a3) goes.
			n: 2, want: []string{"a2", "a3"},
		},
		"older deployments first among healthy tasks": {
			tasks: []*taskInfo{
				fakeTask("new1", "new", "i1", ecsv1.TaskRunning, true, 5),
				fakeTask("old1", "old", "i3", ecsv1.TaskRunning, true, 1),
				fakeTask("unknown", "", "i3", ecsv1.TaskRunning, true, 2),
			},
			n: 3, want: []string{"unknown", "old1", "new1"},
		},
		"n bounds the result": {
			tasks: []*taskInfo{fakeTask("x", "new", "i1", ecsv1.TaskRunning, true, 1), fakeTask("y", "new", "i2", ecsv1.TaskRunning, true, 2)},
			n:     1, want: []string{"y"},
		},
		"nothing to stop": {tasks: nil, n: 3, want: []string{}},
	} {
		t.Run(name, func(t *testing.T) {
			got := names(sel.pick(tc.tasks, tc.n, tc.tasks))
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("stop order (-want +got):\n%s", diff)
			}
		})
	}
}

func TestHealthRule(t *testing.T) {
	now := time.Unix(1000, 0)
	r := &Reconciler{HealthyAfter: 40 * time.Second}
	for name, tc := range map[string]struct {
		running       time.Duration // how long ago the task reached RUNNING
		hc            bool
		health        ecsv1.HealthStatus
		grace         time.Duration
		wantHealthy   bool
		wantUnhealthy bool
	}{
		"no check, young":             {running: 10 * time.Second},
		"no check, 40 s":              {running: 40 * time.Second, wantHealthy: true},
		"no check, in grace":          {running: time.Second, grace: time.Minute, wantHealthy: true},
		"check, unknown":              {running: time.Hour, hc: true, health: ecsv1.HealthUnknown},
		"check, healthy":              {running: time.Second, hc: true, health: ecsv1.HealthHealthy, wantHealthy: true},
		"check, unhealthy":            {running: time.Hour, hc: true, health: ecsv1.HealthUnhealthy, wantUnhealthy: true},
		"check, unhealthy in grace":   {running: time.Second, hc: true, health: ecsv1.HealthUnhealthy, grace: time.Minute, wantHealthy: true},
		"check, unhealthy past grace": {running: 2 * time.Minute, hc: true, health: ecsv1.HealthUnhealthy, grace: time.Minute, wantUnhealthy: true},
	} {
		t.Run(name, func(t *testing.T) {
			p := &pass{r: r, now: now}
			started := metav1.NewTime(now.Add(-tc.running))
			ti := &taskInfo{t: &ecsv1.Task{Status: ecsv1.TaskStatus{LastStatus: ecsv1.TaskRunning, StartedAt: &started, HealthStatus: tc.health}}}
			h, u := p.health(ti, tc.hc, tc.grace)
			if h != tc.wantHealthy || u != tc.wantUnhealthy {
				t.Errorf("health = %v, %v; want %v, %v", h, u, tc.wantHealthy, tc.wantUnhealthy)
			}
		})
	}
}

func TestLaunchBackoff(t *testing.T) {
	r := &Reconciler{LaunchBackoff: time.Second}
	r.init()
	key := client.ObjectKey{Namespace: "ns", Name: "web"}
	now := time.Unix(1000, 0)
	if d := r.launchDelay(key, "d1", now); d != 0 {
		t.Fatalf("delay %s without a failure", d)
	}
	for i, want := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second} {
		r.noteFailure(key, "d1", now)
		if d := r.launchDelay(key, "d1", now); d != want {
			t.Errorf("after %d failures: delay %s, want %s", i+1, d, want)
		}
	}
	for range 30 {
		r.noteFailure(key, "d1", now)
	}
	if d := r.launchDelay(key, "d1", now); d != maxLaunchBackoff {
		t.Errorf("delay %s, want the cap %s", d, maxLaunchBackoff)
	}
	if d := r.launchDelay(key, "d2", now); d != 0 {
		t.Errorf("another deployment waits %s", d)
	}
	r.noteHealthy(key, "d1", now.Add(-time.Second))
	if d := r.launchDelay(key, "d1", now); d == 0 {
		t.Error("a task older than the last failure ended the backoff")
	}
	r.noteHealthy(key, "d1", now.Add(time.Second))
	if d := r.launchDelay(key, "d1", now); d != 0 {
		t.Errorf("a healthy new task left a delay of %s", d)
	}
}

// planTask is a task of the plan tests: "u" RUNNING not yet past the
// health rule, "h" healthy, "x" UNHEALTHY, "p" PENDING, "-" unplaced.
func planTask(name, dep, kind string) *taskInfo {
	switch kind {
	case "h":
		return fakeTask(name, dep, "i1", ecsv1.TaskRunning, true, 1)
	case "u":
		return fakeTask(name, dep, "i1", ecsv1.TaskRunning, false, 1)
	case "x":
		ti := fakeTask(name, dep, "i1", ecsv1.TaskRunning, false, 1)
		ti.unhealthy = true
		return ti
	case "p":
		return fakeTask(name, dep, "i1", ecsv1.TaskPending, false, 1)
	default:
		return fakeTask(name, dep, "", ecsv1.TaskProvisioning, false, 1)
	}
}

// TestPlanReplicaKeepsTheMinimum: a task of an older deployment stops
// only while the tasks that hold the minimum (healthy primary tasks;
// placed, live, not UNHEALTHY older ones) stay at minimumHealthyPercent.
func TestPlanReplicaKeepsTheMinimum(t *testing.T) {
	for name, tc := range map[string]struct {
		minPct, maxPct int32
		old, new       string // one letter a task, see planTask
		// failed: tasks of a FAILED deployment between old and new, the
		// one a rollback (new) replaces.
		failed      string
		primFailed  bool
		wantStops   []string
		wantCreates int
	}{
		"old not yet proven, new starting: nothing stops":   {minPct: 100, maxPct: 200, old: "uuu", new: "uuu"},
		"old not yet proven, no new yet: start, stop none":  {minPct: 100, maxPct: 200, old: "uuu", wantCreates: 3},
		"old pending, new starting: nothing stops":          {minPct: 100, maxPct: 200, old: "ppp", new: "uuu"},
		"new proven: old stops whatever its health":         {minPct: 100, maxPct: 200, old: "uuh", new: "hhh", wantStops: []string{"old0", "old1", "old2"}},
		"one new proven: one old stops":                     {minPct: 100, maxPct: 200, old: "hhh", new: "hpp", wantStops: []string{"old2"}},
		"unhealthy old replaced freely":                     {minPct: 100, maxPct: 200, old: "xuu", wantStops: []string{"old0"}, wantCreates: 3},
		"unplaced old stop freely":                          {minPct: 100, maxPct: 200, old: "---", wantStops: []string{"old0", "old1", "old2"}, wantCreates: 3},
		"50 %: one unproven old may stop":                   {minPct: 50, maxPct: 200, old: "uuu", wantStops: []string{"old2"}, wantCreates: 3},
		"0 %, 100 %: every old task may stop":               {minPct: 0, maxPct: 100, old: "uuu", wantStops: []string{"old0", "old1", "old2"}},
		"a failed primary stops and starts nothing":         {minPct: 100, maxPct: 200, old: "uuu", new: "u", primFailed: true},
		"a failed primary keeps older tasks at 0 % as well": {minPct: 0, maxPct: 200, old: "hhh", primFailed: true},
		// The rollback of CI's "good, then bad" sequences: the failed
		// deployment's tasks briefly RUNNING held the minimum, and an
		// older task that served stopped in their stead.
		"rollback: the failed deployment's unproven tasks hold nothing and stop first": {minPct: 100, maxPct: 200, old: "uuu", failed: "uu",
			wantStops: []string{"failed0", "failed1"}, wantCreates: 1},
		"rollback at 50 %: the failed deployment's tasks stop, then one old": {minPct: 50, maxPct: 200, old: "uuu", failed: "u",
			wantStops: []string{"failed0", "old2"}, wantCreates: 2},
		"rollback: a failed deployment's healthy task holds the minimum": {minPct: 100, maxPct: 200, old: "uu", failed: "h",
			wantStops: []string{}, wantCreates: 3},
	} {
		t.Run(name, func(t *testing.T) {
			r := &Reconciler{}
			r.init()
			svc := &ecsv1.Service{Spec: ecsv1.ServiceSpec{DesiredCount: ptr.To[int32](3), DeploymentConfiguration: ecsv1.DeploymentConfiguration{
				MinimumHealthyPercent: ptr.To(tc.minPct), MaximumPercent: ptr.To(tc.maxPct)}}}
			at := func(s int64) *metav1.Time { t := metav1.NewTime(time.Unix(s, 0)); return &t }
			prim := ecsv1.Deployment{ID: "new", Status: ecsv1.DeploymentPrimary, RolloutState: ecsv1.RolloutInProgress, CreatedAt: at(100)}
			if tc.primFailed {
				prim.RolloutState = ecsv1.RolloutFailed
			}
			st := &ecsv1.ServiceStatus{Deployments: []ecsv1.Deployment{prim,
				{ID: "failed", Status: ecsv1.DeploymentActive, RolloutState: ecsv1.RolloutFailed, CreatedAt: at(80)},
				{ID: "old", Status: ecsv1.DeploymentActive, CreatedAt: at(50)}}}
			p := &pass{r: r, svc: svc, st: st, desired: 3, now: time.Unix(200, 0), log: logr.Discard()}
			for i, k := range tc.old {
				p.tasks = append(p.tasks, planTask(fmt.Sprintf("old%d", i), "old", string(k)))
			}
			for i, k := range tc.failed {
				p.tasks = append(p.tasks, planTask(fmt.Sprintf("failed%d", i), "failed", string(k)))
			}
			for i, k := range tc.new {
				p.tasks = append(p.tasks, planTask(fmt.Sprintf("new%d", i), "new", string(k)))
			}
			p.planReplica()
			stops := []string{}
			for _, s := range p.stops {
				stops = append(stops, s.ti.t.Name)
			}
			slices.Sort(stops)
			if tc.wantStops == nil {
				tc.wantStops = []string{}
			}
			if diff := cmp.Diff(tc.wantStops, stops); diff != "" || len(p.creates) != tc.wantCreates {
				t.Errorf("stops (-want +got):\n%s\ncreates %d, want %d", diff, len(p.creates), tc.wantCreates)
			}
		})
	}
}

func TestRollbackTarget(t *testing.T) {
	at := func(s int64) *metav1.Time { t := metav1.NewTime(time.Unix(s, 0)); return &t }
	dep := func(id string, created int64, state ecsv1.RolloutState, ran bool, failed int32) ecsv1.Deployment {
		return ecsv1.Deployment{ID: id, CreatedAt: at(created), RolloutState: state, RanTasks: ran, FailedTasks: failed}
	}
	for name, tc := range map[string]struct {
		deps []ecsv1.Deployment
		want string
	}{
		"the last completed one": {deps: []ecsv1.Deployment{dep("bad", 3, ecsv1.RolloutInProgress, true, 3),
			dep("good", 2, ecsv1.RolloutCompleted, true, 0), dep("older", 1, ecsv1.RolloutCompleted, true, 0)}, want: "good"},
		"one in progress whose tasks ran, over an older completed one": {deps: []ecsv1.Deployment{dep("bad", 3, ecsv1.RolloutInProgress, true, 3),
			dep("young", 2, ecsv1.RolloutInProgress, true, 0), dep("good", 1, ecsv1.RolloutCompleted, true, 0)}, want: "young"},
		"the first deployment, still in progress": {deps: []ecsv1.Deployment{dep("bad", 2, ecsv1.RolloutInProgress, true, 3),
			dep("first", 1, ecsv1.RolloutInProgress, true, 0)}, want: "first"},
		"not one whose tasks never ran": {deps: []ecsv1.Deployment{dep("bad", 3, ecsv1.RolloutInProgress, true, 3),
			dep("pending", 2, ecsv1.RolloutInProgress, false, 0), dep("good", 1, ecsv1.RolloutCompleted, true, 0)}, want: "good"},
		"not one whose tasks failed": {deps: []ecsv1.Deployment{dep("bad", 3, ecsv1.RolloutInProgress, true, 3),
			dep("flaky", 2, ecsv1.RolloutInProgress, true, 1), dep("good", 1, ecsv1.RolloutCompleted, true, 0)}, want: "good"},
		"never a failed one": {deps: []ecsv1.Deployment{dep("bad", 3, ecsv1.RolloutInProgress, true, 3),
			dep("failed", 2, ecsv1.RolloutFailed, true, 0)}, want: ""},
		"nothing before the first": {deps: []ecsv1.Deployment{dep("bad", 1, ecsv1.RolloutInProgress, true, 3)}, want: ""},
	} {
		t.Run(name, func(t *testing.T) {
			p := &pass{st: &ecsv1.ServiceStatus{Deployments: tc.deps}}
			got := ""
			if d := p.rollbackTarget("bad"); d != nil {
				got = d.ID
			}
			if got != tc.want {
				t.Errorf("rollback target %q, want %q", got, tc.want)
			}
		})
	}
}
