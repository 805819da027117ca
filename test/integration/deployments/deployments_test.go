//go:build integration

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

// Package deployments runs sequences of deployments, as GitOps lands them
// (a good revision, then a bad one while the first still rolls out, …),
// against the Service controller with simulated agents, and checks at
// every step that the Service never runs fewer tasks than it promised and
// where it ends.
//
// It is a suite of its own because it needs a health rule long enough
// (healthyAfter) for a deployment to be reliably still IN_PROGRESS when
// the next revision lands.
package deployments

import (
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ecsv1 "github.com/longshore-io/longshore/api/v1alpha1"
	"github.com/longshore-io/longshore/controllers/service"
	"github.com/longshore-io/longshore/test/integration/framework"
	"github.com/longshore-io/longshore/test/integration/managertest"
	"github.com/longshore-io/longshore/test/integration/simagent"
)

var env *framework.Env

// healthyAfter replaces the 40 s of the health rule: the window in which a
// RUNNING task without health checks is not yet proven.
const healthyAfter = 4 * time.Second

func TestMain(m *testing.M) {
	var stop func()
	var err error
	env, stop, err = managertest.Setup(managertest.Options{AgentGrace: 2 * time.Second, InstanceLostTimeout: 30 * time.Second,
		ResolveGrace: 2 * time.Second, Service: &service.Reconciler{HealthyAfter: healthyAfter,
			LaunchBackoff: 200 * time.Millisecond, InactiveDeploymentsToKeep: 10, MaxConcurrentReconciles: 4}})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	stop()
	os.Exit(code)
}

// Waits between two steps of a sequence.
const (
	// running: the step's tasks (desiredCount of them, or one per
	// instance) are RUNNING, and not yet past the health rule: the
	// deployment is IN_PROGRESS when the next step lands.
	running = "running"
	// completed: the step's deployment is COMPLETED.
	completed = "completed"
	// failed: the step's deployment is FAILED.
	failed = "failed"
)

type step struct {
	good bool
	// then is what to wait for before the next step.
	then string
}

func good(then string) step { return step{good: true, then: then} }
func bad(then string) step  { return step{then: then} }

type sequence struct {
	name           string
	daemon         bool
	minPct, maxPct int32
	healthCheck    bool
	noRollback     bool
	steps          []step
	// want is the revision (its step, from 1) the Service runs at the end;
	// 0: the last deployment is FAILED and the older tasks keep running.
	want int
}

func TestDeploymentSequences(t *testing.T) {
	for i, sq := range []sequence{
		{name: "good, then bad while in progress", minPct: 100, maxPct: 200, steps: []step{good(running), bad("")}, want: 1},
		{name: "good, then bad while in progress, health checks", minPct: 100, maxPct: 200, healthCheck: true,
			steps: []step{good(running), bad("")}, want: 1},
		{name: "good, then bad once completed", minPct: 100, maxPct: 200, steps: []step{good(completed), bad("")}, want: 1},
		{name: "good, good while in progress, then bad", minPct: 100, maxPct: 200,
			steps: []step{good(completed), good(running), bad("")}, want: 2},
		{name: "bad, then good", minPct: 100, maxPct: 200, steps: []step{bad(failed), good("")}, want: 2},
		{name: "good, then bad, min 50 max 200", minPct: 50, maxPct: 200, steps: []step{good(running), bad("")}, want: 1},
		{name: "good, then bad, min 50 max 100", minPct: 50, maxPct: 100, steps: []step{good(running), bad("")}, want: 1},
		{name: "good, then bad, min 0 max 100", minPct: 0, maxPct: 100, steps: []step{good(running), bad("")}, want: 1},
		{name: "good, then bad, min 0 max 200, health checks", minPct: 0, maxPct: 200, healthCheck: true,
			steps: []step{good(running), bad("")}, want: 1},
		{name: "good, then bad, no rollback", minPct: 100, maxPct: 200, noRollback: true, steps: []step{good(running), bad("")}},
		{name: "good, then bad, no rollback, min 50", minPct: 50, maxPct: 200, noRollback: true, steps: []step{good(running), bad("")}},
		{name: "daemon: good, then bad while in progress", daemon: true, minPct: 100, maxPct: 200,
			steps: []step{good(running), bad("")}, want: 1},
		{name: "daemon: good, then bad, health checks, min 50", daemon: true, minPct: 50, maxPct: 200, healthCheck: true,
			steps: []step{good(running), bad("")}, want: 1},
	} {
		t.Run(sq.name, func(t *testing.T) {
			t.Parallel()
			run(t, fmt.Sprintf("seq%d", i), sq)
		})
	}
}

// world is one sequence's Service, its agents and what they are told.
type world struct {
	t       *testing.T
	ns      string
	svc     *ecsv1.Service
	desired int
	// badRevs are the revisions ("app:N") whose tasks exit as soon as
	// they run; proven, those whose tasks report HEALTHY (health checks).
	badRevs, proven sync.Map
}

func (w *world) isProven(revision string) bool {
	v, ok := w.proven.Load(revision)
	return ok && v.(bool)
}

func revision(n int) string { return fmt.Sprintf("app:%d", n) }

// revisionOf is the "family:revision" a task runs.
func revisionOf(tk *ecsv1.Task) string {
	if r := tk.Status.TaskDefinitionRevision; r != "" {
		return r
	}
	return tk.Spec.TaskDefinition
}

func run(t *testing.T, name string, sq sequence) {
	w := &world{t: t, ns: env.NewNamespace(t, name), desired: 3}
	env.NewCluster(t, name, nil)
	opts := simagent.Options{Cluster: name, Poll: 150 * time.Millisecond,
		Fail: func(tk *ecsv1.Task) bool { _, b := w.badRevs.Load(revisionOf(tk)); return b }}
	if sq.healthCheck {
		opts.Health = func(tk *ecsv1.Task) ecsv1.HealthStatus {
			if w.isProven(revisionOf(tk)) {
				return ecsv1.HealthHealthy
			}
			return ecsv1.HealthUnknown
		}
	}
	instances := []string{name + "-a", name + "-b"}
	for _, n := range instances {
		simagent.ForTest(t, env.Client, n, opts)
	}
	if sq.daemon {
		w.desired = len(instances)
	}
	framework.Eventually(t, 20*time.Second, "instances connected", func() error {
		for _, n := range instances {
			ci := &ecsv1.ContainerInstance{}
			if err := env.Client.Get(t.Context(), client.ObjectKey{Name: n}, ci); err != nil {
				return err
			}
			if !ci.Status.Connected() {
				return fmt.Errorf("%s not connected", n)
			}
		}
		return nil
	})

	// The promise: at least minHealthy serving tasks once the Service first
	// ran them all; at most maxTasks not STOPPED (REPLICA).
	minHealthy, maxTasks := promise(sq, int32(w.desired))
	var mon *monitor

	for i, st := range sq.steps {
		n := i + 1
		if !st.good {
			w.badRevs.Store(revision(n), true)
		}
		w.applyRevision(n, sq, st.good)
		if n == 1 {
			spec := ecsv1.ServiceSpec{TaskDefinition: "app", Cluster: name, SchedulingStrategy: ecsv1.SchedulingReplica,
				DesiredCount: ptr.To(int32(w.desired)),
				DeploymentConfiguration: ecsv1.DeploymentConfiguration{MinimumHealthyPercent: ptr.To(sq.minPct),
					MaximumPercent:           ptr.To(sq.maxPct),
					DeploymentCircuitBreaker: &ecsv1.DeploymentCircuitBreaker{Enable: true, Rollback: !sq.noRollback}}}
			if sq.daemon {
				spec.SchedulingStrategy, spec.DesiredCount, spec.DeploymentConfiguration.MaximumPercent = ecsv1.SchedulingDaemon, nil, nil
			}
			w.svc = &ecsv1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: w.ns, Name: "web"}, Spec: spec}
			if err := env.Client.Create(t.Context(), w.svc); err != nil {
				t.Fatal(err)
			}
			mon = w.watch()
		}
		if n > 1 {
			// The Service deploys revision n: only now may the health
			// checks of the earlier revisions pass (their deployments were
			// IN_PROGRESS when this one landed).
			w.waitPrimary(revision(n))
			for k := 1; k < n; k++ {
				if sq.steps[k-1].good {
					w.proven.Store(revision(k), true)
				}
			}
		}
		switch st.then {
		case running:
			w.waitServing(revision(n))
			if st.good {
				mon.arm()
			}
		case completed:
			w.proven.Store(revision(n), true)
			w.waitSteady(revision(n))
			mon.arm()
		case failed:
			w.waitFailed(revision(n))
		}
	}
	if sq.steps[len(sq.steps)-1].good {
		w.proven.Store(revision(len(sq.steps)), true)
	}

	last := revision(len(sq.steps))
	switch {
	case sq.want > 0:
		got := w.waitSteady(revision(sq.want))
		if revision(sq.want) != last {
			prim := got.Status.Deployments[0]
			target := w.deploymentOf(got, revision(sq.want), prim.ID)
			if target == nil {
				t.Fatalf("no earlier deployment of %s in %+v", revision(sq.want), got.Status.Deployments)
			}
			w.waitEvent(fmt.Sprintf("(service web) rolling back to deployment %s.", target.ID))
		}
	default:
		w.waitFailed(last)
		time.Sleep(3 * time.Second)
	}
	mon.finish(t)
	t.Logf("%s: %d observations; fewest serving tasks %d (promised %d), most not STOPPED %d (allowed %d)",
		sq.name, mon.observations, mon.minServing, minHealthy, mon.maxNonStopped, maxTasks)
	if !mon.armed.Load() {
		t.Fatalf("the service never served its %d tasks", w.desired)
	}
	if mon.minServing < int(minHealthy) {
		t.Errorf("%d serving tasks at the worst moment, the deployment configuration promises %d", mon.minServing, minHealthy)
	}
	if !sq.daemon && mon.maxNonStopped > int(maxTasks) {
		t.Errorf("%d tasks not STOPPED at once, maximumPercent allows %d", mon.maxNonStopped, maxTasks)
	}

	got := w.get()
	if sq.want == 0 {
		// Without rollback the older tasks keep running, the failed
		// deployment starts no more.
		tasks := w.tasks()
		serving := 0
		for i := range tasks {
			tk := &tasks[i]
			if live(tk) && revisionOf(tk) == last {
				t.Errorf("task %s of the failed revision still live", tk.Name)
			}
			if w.serving(tk) {
				serving++
			}
		}
		if serving < int(minHealthy) {
			t.Errorf("%d older tasks running after the failure, want at least %d", serving, minHealthy)
		}
		if prim := got.Status.Deployments[0]; prim.TaskDefinition != last || prim.RolloutState != ecsv1.RolloutFailed {
			t.Errorf("primary %+v, want the FAILED deployment of %s", prim, last)
		}
	}
	// A step that had to be IN_PROGRESS when the next landed never
	// completed: the sequence ran as the table says.
	for i, st := range sq.steps {
		if st.then != running {
			continue
		}
		for _, d := range got.Status.Deployments {
			if d.TaskDefinition == revision(i+1) && d.RolloutState == ecsv1.RolloutCompleted && d.ID != got.Status.Deployments[0].ID {
				t.Errorf("deployment %s of step %d COMPLETED before the next step landed: the sequence did not run as intended", d.ID, i+1)
			}
		}
	}
	if sq.steps[0].then == failed && !sq.noRollback {
		w.waitEvent("cannot roll back: no earlier deployment completed or ran its tasks.")
	}
}

// promise is the fewest tasks the Service keeps serving during a
// deployment and the most it runs at once.
func promise(sq sequence, desired int32) (minHealthy, maxTasks int32) {
	d := int64(desired)
	minHealthy = int32((d*int64(sq.minPct) + 99) / 100)
	maxTasks = int32(d * int64(sq.maxPct) / 100)
	if sq.daemon {
		// One instance at a time at least: a daemon cannot run twice on one.
		return min(minHealthy, desired-1), desired
	}
	if maxTasks <= minHealthy {
		minHealthy = maxTasks - 1
	}
	return minHealthy, maxTasks
}

// applyRevision creates or edits the TaskDefinition "app" so that its
// revision n is minted.
func (w *world) applyRevision(n int, sq sequence, good bool) {
	t := w.t
	image := fmt.Sprintf("app:good-%d", n)
	if !good {
		image = fmt.Sprintf("app:bad-%d", n)
	}
	c := ecsv1.ContainerDefinition{Name: "web", Image: image, Memory: ptr.To[int32](32), CPU: 64}
	if sq.healthCheck {
		c.HealthCheck = &ecsv1.HealthCheck{Command: []string{"CMD-SHELL", "true"}}
	}
	spec := ecsv1.TaskDefinitionSpec{NetworkMode: ecsv1.NetworkModeAWSVPC, ContainerDefinitions: []ecsv1.ContainerDefinition{c}}
	if n == 1 {
		env.NewFamily(t, w.ns, "app", spec)
		return
	}
	td := &ecsv1.TaskDefinition{}
	if err := env.Client.Get(t.Context(), client.ObjectKey{Namespace: w.ns, Name: "app"}, td); err != nil {
		t.Fatal(err)
	}
	patch := client.MergeFrom(td.DeepCopy())
	td.Spec = spec
	if err := env.Client.Patch(t.Context(), td, patch); err != nil {
		t.Fatal(err)
	}
	env.WaitRevision(t, w.ns, "app", int32(n))
}

func (w *world) get() *ecsv1.Service {
	got := &ecsv1.Service{}
	if err := env.Client.Get(w.t.Context(), client.ObjectKeyFromObject(w.svc), got); err != nil {
		w.t.Fatal(err)
	}
	return got
}

// tasks lists the Service's tasks through the API (not a cache).
func (w *world) tasks() []ecsv1.Task {
	var list ecsv1.TaskList
	if err := env.Client.List(w.t.Context(), &list, client.InNamespace(w.ns), client.MatchingLabels{ecsv1.LabelService: "web"}); err != nil {
		w.t.Error(err)
		return nil
	}
	return list.Items
}

// live: not STOPPED and not asked to stop.
func live(tk *ecsv1.Task) bool {
	return tk.Status.LastStatus != ecsv1.TaskStopped && tk.Spec.DesiredStatus != ecsv1.DesiredStopped && tk.Status.StopCode == ""
}

// serving is what a prober would see answer: a RUNNING task of a good
// revision that nobody asked to stop.
func (w *world) serving(tk *ecsv1.Task) bool {
	_, isBad := w.badRevs.Load(revisionOf(tk))
	return live(tk) && tk.Status.LastStatus == ecsv1.TaskRunning && !isBad
}

// waitServing waits until desired tasks of revision are RUNNING.
func (w *world) waitServing(revision string) {
	framework.Eventually(w.t, 30*time.Second, fmt.Sprintf("%d tasks of %s RUNNING", w.desired, revision), func() error {
		n := 0
		for _, tk := range w.tasks() {
			if live(&tk) && tk.Status.LastStatus == ecsv1.TaskRunning && revisionOf(&tk) == revision {
				n++
			}
		}
		if n != w.desired {
			return fmt.Errorf("%d RUNNING", n)
		}
		return nil
	})
}

// waitSteady waits until the Service runs desired RUNNING tasks of
// revision and nothing else, its primary deployment COMPLETED.
func (w *world) waitSteady(revision string) *ecsv1.Service {
	var got *ecsv1.Service
	framework.Eventually(w.t, 90*time.Second, fmt.Sprintf("steady with %d tasks of %s", w.desired, revision), func() error {
		got = w.get()
		n := 0
		for _, tk := range w.tasks() {
			if tk.Status.LastStatus == ecsv1.TaskStopped {
				continue
			}
			if !live(&tk) || tk.Status.LastStatus != ecsv1.TaskRunning || revisionOf(&tk) != revision {
				return fmt.Errorf("task %s: %s desired %s stopCode %q revision %s", tk.Name, tk.Status.LastStatus,
					tk.Spec.DesiredStatus, tk.Status.StopCode, revisionOf(&tk))
			}
			n++
		}
		if n != w.desired {
			return fmt.Errorf("%d tasks", n)
		}
		if len(got.Status.Deployments) == 0 || got.Status.Deployments[0].Status != ecsv1.DeploymentPrimary ||
			got.Status.Deployments[0].RolloutState != ecsv1.RolloutCompleted || got.Status.Deployments[0].TaskDefinition != revision {
			return fmt.Errorf("deployments %+v", got.Status.Deployments)
		}
		if int(got.Status.RunningCount) != w.desired {
			return fmt.Errorf("runningCount %d", got.Status.RunningCount)
		}
		return nil
	})
	return got
}

// waitPrimary waits until the Service's primary deployment runs revision.
func (w *world) waitPrimary(revision string) {
	framework.Eventually(w.t, 20*time.Second, fmt.Sprintf("a PRIMARY deployment of %s", revision), func() error {
		got := w.get()
		if len(got.Status.Deployments) == 0 || got.Status.Deployments[0].TaskDefinition != revision {
			return fmt.Errorf("deployments %+v", got.Status.Deployments)
		}
		return nil
	})
}

// waitFailed waits until the primary deployment is the FAILED one of revision.
func (w *world) waitFailed(revision string) {
	framework.Eventually(w.t, 60*time.Second, fmt.Sprintf("the deployment of %s FAILED", revision), func() error {
		got := w.get()
		if len(got.Status.Deployments) == 0 {
			return fmt.Errorf("no deployment")
		}
		for _, d := range got.Status.Deployments {
			if d.TaskDefinition == revision && d.RolloutState == ecsv1.RolloutFailed {
				return nil
			}
		}
		return fmt.Errorf("deployments %+v", got.Status.Deployments)
	})
}

// deploymentOf is a deployment of revision other than except.
func (w *world) deploymentOf(svc *ecsv1.Service, revision, except string) *ecsv1.Deployment {
	for i := range svc.Status.Deployments {
		if d := &svc.Status.Deployments[i]; d.TaskDefinition == revision && d.ID != except {
			return d
		}
	}
	return nil
}

// waitEvent waits for an Event on the Service whose note contains want.
func (w *world) waitEvent(want string) {
	framework.Eventually(w.t, 20*time.Second, fmt.Sprintf("event %q", want), func() error {
		var list eventsv1.EventList
		if err := env.Client.List(w.t.Context(), &list, client.InNamespace(w.ns)); err != nil {
			return err
		}
		var notes []string
		for _, e := range list.Items {
			if e.Regarding.Kind == "Service" && strings.Contains(e.Note, want) {
				return nil
			}
			notes = append(notes, e.Note)
		}
		return fmt.Errorf("events: %q", notes)
	})
}

// monitor polls the Service's tasks through the whole sequence: the fewest
// serving tasks once all desired served (seen by a sample, or by the test
// itself when a step's tasks all ran: a sample can miss a short window),
// the most not STOPPED.
type monitor struct {
	stop, done chan struct{}
	armed      atomic.Bool
	// armedAt is when the test armed the check (UnixNano): a sample whose
	// List began before it may predate what the test saw, and does not
	// count (CI caught one such sample under load: 2 of 3 serving, read
	// just before the third task's RUNNING).
	armedAt       atomic.Int64
	minServing    int
	maxNonStopped int
	observations  int
}

func (w *world) watch() *monitor {
	m := &monitor{stop: make(chan struct{}), done: make(chan struct{}), minServing: 1 << 30}
	go func() {
		defer close(m.done)
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-m.stop:
				return
			case <-tick.C:
			}
			began := time.Now().UnixNano()
			var list ecsv1.TaskList
			if err := env.Client.List(w.t.Context(), &list, client.InNamespace(w.ns), client.MatchingLabels{ecsv1.LabelService: "web"}); err != nil {
				continue
			}
			serving, nonStopped := 0, 0
			for i := range list.Items {
				tk := &list.Items[i]
				if w.serving(tk) {
					serving++
				}
				if tk.Status.LastStatus != ecsv1.TaskStopped {
					nonStopped++
				}
			}
			m.observations++
			m.maxNonStopped = max(m.maxNonStopped, nonStopped)
			if serving >= w.desired && !m.armed.Load() {
				m.armedAt.Store(began)
				m.armed.Store(true)
			}
			if m.armed.Load() && began >= m.armedAt.Load() {
				m.minServing = min(m.minServing, serving)
			}
		}
	}()
	return m
}

// arm starts the minimum check: the test saw all desired tasks serve.
func (m *monitor) arm() {
	if !m.armed.Load() {
		m.armedAt.Store(time.Now().UnixNano())
		m.armed.Store(true)
	}
}

func (m *monitor) finish(t *testing.T) {
	t.Helper()
	close(m.stop)
	<-m.done
	// A sequence can settle in about a second (health checks that pass at
	// once, nothing to keep): a handful of samples is what it gives.
	if m.observations < 5 {
		t.Errorf("only %d observations: the monitor saw nothing of the sequence", m.observations)
	}
}
