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
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"k8s.io/utils/ptr"

	ecsv1 "github.com/longshore-io/longshore/api/v1alpha1"
	lsruntime "github.com/longshore-io/longshore/internal/runtime"
)

// def builds a container definition: name, essential, then dependsOn pairs
// "container:CONDITION".
func def(name string, essential bool, deps ...string) *ecsv1.ContainerDefinition {
	d := &ecsv1.ContainerDefinition{Name: name, Essential: ptr.To(essential)}
	for _, dep := range deps {
		n, c, _ := strings.Cut(dep, ":")
		d.DependsOn = append(d.DependsOn, ecsv1.ContainerDependency{ContainerName: n, Condition: ecsv1.DependencyCondition(c)})
	}
	return d
}

func withHealthCheck(d *ecsv1.ContainerDefinition) *ecsv1.ContainerDefinition {
	d.HealthCheck = &ecsv1.HealthCheck{Command: []string{"CMD", "true"}}
	return d
}

func obs(d *ecsv1.ContainerDefinition, state lsruntime.State, exit int32, health ecsv1.HealthStatus) observed {
	return observed{Def: d, Exists: state != "", State: state, ExitCode: exit, Health: health}
}

const (
	created = lsruntime.StateCreated
	running = lsruntime.StateRunning
	stopped = lsruntime.StateStopped
)

func TestPlanStart(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	app := def("app", true)
	appHC := withHealthCheck(def("app", true))
	initC := def("init", false)
	cases := map[string]struct {
		cs   []observed
		now  time.Time
		want startPlan
	}{
		"no dependencies: start everything": {
			cs:   []observed{obs(app, created, 0, ""), obs(def("side", false), created, 0, "")},
			want: startPlan{Start: []string{"app", "side"}, Health: ecsv1.HealthUnknown},
		},
		"all running": {
			cs:   []observed{obs(app, running, 0, ""), obs(def("side", false), running, 0, "")},
			want: startPlan{Running: true, Health: ecsv1.HealthUnknown},
		},
		"a non-essential container that could not start: the task runs without it": {
			cs: []observed{obs(app, running, 0, ""), func() observed {
				o := obs(def("data", false), created, 0, "")
				o.StartFailed = "CannotStartContainerError: container data: exec: not found"
				return o
			}()},
			want: startPlan{Running: true, Health: ecsv1.HealthUnknown},
		},
		"a container depending on one that could not start fails to start": {
			cs: []observed{obs(def("app", true, "data:START"), created, 0, ""), func() observed {
				o := obs(def("data", false), created, 0, "")
				o.StartFailed = "exec: not found"
				return o
			}()},
			want: startPlan{Stop: &stopDecision{Code: ecsv1.StopCodeTaskFailedToStart,
				Reason: "CannotStartContainerError: container app: dependency data could not start (exec: not found), condition START cannot be met"}}},
		"START waits for the dependency to start": {
			cs:   []observed{obs(app, created, 0, ""), obs(def("side", false, "app:START"), created, 0, "")},
			want: startPlan{Start: []string{"app"}, Waiting: []string{"side"}, Health: ecsv1.HealthUnknown},
		},
		"START met once the dependency runs": {
			cs:   []observed{obs(app, running, 0, ""), obs(def("side", false, "app:START"), created, 0, "")},
			want: startPlan{Start: []string{"side"}, Health: ecsv1.HealthUnknown},
		},
		"COMPLETE waits for the exit": {
			cs:   []observed{obs(initC, running, 0, ""), obs(def("app", true, "init:COMPLETE"), created, 0, "")},
			want: startPlan{Waiting: []string{"app"}, Health: ecsv1.HealthUnknown},
		},
		"COMPLETE met by a failed exit too": {
			cs:   []observed{obs(initC, stopped, 3, ""), obs(def("app", true, "init:COMPLETE"), created, 0, "")},
			want: startPlan{Start: []string{"app"}, Health: ecsv1.HealthUnknown},
		},
		"SUCCESS met by exit 0": {
			cs:   []observed{obs(initC, stopped, 0, ""), obs(def("app", true, "init:SUCCESS"), created, 0, "")},
			want: startPlan{Start: []string{"app"}, Health: ecsv1.HealthUnknown},
		},
		"SUCCESS failed by exit 1 stops the task": {
			cs: []observed{obs(initC, stopped, 1, ""), obs(def("app", true, "init:SUCCESS"), created, 0, "")},
			want: startPlan{Stop: &stopDecision{Code: ecsv1.StopCodeTaskFailedToStart,
				Reason: "CannotStartContainerError: container app: dependency init exited with code 1, condition SUCCESS needs 0"}},
		},
		"HEALTHY waits for health": {
			cs:   []observed{obs(appHC, running, 0, ecsv1.HealthUnknown), obs(def("side", false, "app:HEALTHY"), created, 0, "")},
			want: startPlan{Waiting: []string{"side"}, Health: ecsv1.HealthUnknown},
		},
		"HEALTHY met": {
			cs:   []observed{obs(appHC, running, 0, ecsv1.HealthHealthy), obs(def("side", false, "app:HEALTHY"), created, 0, "")},
			want: startPlan{Start: []string{"side"}, Health: ecsv1.HealthHealthy},
		},
		"essential exit stops the task": {
			cs:   []observed{obs(app, stopped, 0, ""), obs(def("side", false), running, 0, "")},
			want: startPlan{Stop: &stopDecision{Code: ecsv1.StopCodeEssentialContainerExited, Reason: "Essential container in task exited"}},
		},
		"essential OOM says so": {
			cs: []observed{{Def: app, Exists: true, State: stopped, ExitCode: 137, OOMKilled: true}},
			want: startPlan{Stop: &stopDecision{Code: ecsv1.StopCodeEssentialContainerExited,
				Reason: "OutOfMemoryError: Container killed due to memory usage"}},
		},
		"non-essential exit keeps the task running": {
			cs:   []observed{obs(app, running, 0, ""), obs(def("side", false), stopped, 1, "")},
			want: startPlan{Running: true, Health: ecsv1.HealthUnknown},
		},
		"startTimeout passes": {
			cs: []observed{obs(appHC, running, 0, ecsv1.HealthUnknown), obs(func() *ecsv1.ContainerDefinition {
				d := def("side", false, "app:HEALTHY")
				d.StartTimeout = ptr.To[int32](10)
				return d
			}(), created, 0, "")},
			now: t0.Add(11 * time.Second),
			want: startPlan{Stop: &stopDecision{Code: ecsv1.StopCodeTaskFailedToStart,
				Reason: "CannotStartContainerError: container side: dependencies not met within startTimeout (10s)"}},
		},
		"unhealthy essential makes the task unhealthy": {
			cs:   []observed{obs(appHC, running, 0, ecsv1.HealthUnhealthy)},
			want: startPlan{Running: true, Health: ecsv1.HealthUnhealthy},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			now := tc.now
			if now.IsZero() {
				now = t0.Add(time.Second)
			}
			got := planStart(tc.cs, t0, now)
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("plan (-want +got):\n%s", d)
			}
		})
	}
}

func TestStopOrder(t *testing.T) {
	defs := []ecsv1.ContainerDefinition{
		*def("db", true),
		*def("app", true, "db:HEALTHY"),
		*def("proxy", false, "app:START"),
		*def("logs", false),
	}
	want := [][]string{{"proxy", "logs"}, {"app"}, {"db"}}
	if d := cmp.Diff(want, stopOrder(defs)); d != "" {
		t.Errorf("stop order (-want +got):\n%s", d)
	}
}
