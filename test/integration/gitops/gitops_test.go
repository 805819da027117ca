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

// Package gitops tests what GitOps tools see of Longshore objects: the
// objects of config/samples (read at run time) applied to the real
// kube-apiserver, the manager's controllers reconciling them, simulated
// agents running their tasks, and, over what the API server serves,
// kstatus (sigs.k8s.io/cli-utils: what Flux and kpt report) and the Argo
// CD health checks of config/argocd, which must agree at every look.
package gitops

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	kstatus "sigs.k8s.io/cli-utils/pkg/kstatus/status"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ecsv1 "github.com/longshore-io/longshore/api/v1alpha1"
	"github.com/longshore-io/longshore/controllers/service"
	"github.com/longshore-io/longshore/internal/argocdhealth"
	"github.com/longshore-io/longshore/test/integration/framework"
	"github.com/longshore-io/longshore/test/integration/managertest"
	"github.com/longshore-io/longshore/test/integration/simagent"
)

var env *framework.Env

const (
	agentGrace  = 2 * time.Second
	lostTimeout = 3 * time.Second
)

func TestMain(m *testing.M) {
	var stop func()
	var err error
	env, stop, err = managertest.Setup(managertest.Options{AgentGrace: agentGrace, InstanceLostTimeout: lostTimeout,
		ResolveGrace: 2 * time.Second, Service: &service.Reconciler{HealthyAfter: 2 * time.Second, MaxConcurrentReconciles: 4}})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	stop()
	os.Exit(code)
}

// outcomes says how the simulated agents handle the tasks of a
// namespace: holding them PENDING, failing them (an essential container
// exits 1) or completing them (every container exits 0) right after
// RUNNING. Tasks of other namespaces run.
var outcomes struct {
	sync.Mutex
	hold, fail, complete map[string]func(*ecsv1.Task) bool
}

func holdTasks(ns string, which func(*ecsv1.Task) bool) {
	outcomes.Lock()
	defer outcomes.Unlock()
	outcomes.hold[ns] = which
}

func failTasks(ns string, which func(*ecsv1.Task) bool) {
	outcomes.Lock()
	defer outcomes.Unlock()
	outcomes.fail[ns] = which
}

func completeTasks(ns string) {
	outcomes.Lock()
	defer outcomes.Unlock()
	outcomes.complete[ns] = func(*ecsv1.Task) bool { return true }
}

func outcome(m *map[string]func(*ecsv1.Task) bool) func(*ecsv1.Task) bool {
	return func(t *ecsv1.Task) bool {
		outcomes.Lock()
		defer outcomes.Unlock()
		f := (*m)[t.Namespace]
		return f != nil && f(t)
	}
}

func init() {
	outcomes.hold = map[string]func(*ecsv1.Task) bool{}
	outcomes.fail = map[string]func(*ecsv1.Task) bool{}
	outcomes.complete = map[string]func(*ecsv1.Task) bool{}
}

func agentFor(t *testing.T, name, cluster, zone string) *simagent.Agent {
	return simagent.ForTest(t, env.Client, name, simagent.Options{Cluster: cluster, AvailabilityZone: zone, Cores: 4, MemoryMiB: 8192,
		Health: func(*ecsv1.Task) ecsv1.HealthStatus { return ecsv1.HealthHealthy },
		Hold:   outcome(&outcomes.hold), Fail: outcome(&outcomes.fail), Complete: outcome(&outcomes.complete)})
}

// sample returns a copy of the sample object kind/name of config/samples.
func sample(t *testing.T, kind, name string) *unstructured.Unstructured {
	t.Helper()
	objs, err := framework.SampleObjects()
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range objs {
		if o.GetKind() == kind && o.GetName() == name {
			return o.DeepCopy()
		}
	}
	t.Fatalf("config/samples has no %s %s", kind, name)
	return nil
}

// apply server-side applies obj (into namespace ns when it is namespaced),
// as kubectl apply --server-side or a GitOps tool would, and returns the
// object the API server answered with.
func apply(t *testing.T, obj *unstructured.Unstructured, ns string) *unstructured.Unstructured {
	t.Helper()
	u := obj.DeepCopy()
	namespaced, err := env.Client.IsObjectNamespaced(u)
	if err != nil {
		t.Fatal(err)
	}
	if namespaced {
		u.SetNamespace(ns)
	}
	if err := env.Client.Apply(t.Context(), client.ApplyConfigurationFromUnstructured(u), client.FieldOwner("gitops-test"), client.ForceOwnership); err != nil {
		t.Fatalf("applying %s %s: %v", u.GetKind(), u.GetName(), err)
	}
	return u
}

// health computes the verdicts on obj; a disagreement between kstatus and
// the Argo CD check ends the test.
func health(t *testing.T, obj *unstructured.Unstructured) framework.Health {
	t.Helper()
	h, err := framework.HealthOf(obj)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// waitHealth waits until the live object ref is want to kstatus (and the
// Argo CD check agrees) and check, when set, passes on it.
func waitHealth(t *testing.T, timeout time.Duration, ref *unstructured.Unstructured, want kstatus.Status,
	check func(*unstructured.Unstructured, framework.Health) error) framework.Health {
	t.Helper()
	var h framework.Health
	framework.Eventually(t, timeout, fmt.Sprintf("%s %s/%s %s", ref.GetKind(), ref.GetNamespace(), ref.GetName(), want), func() error {
		u, got, err := framework.LiveHealth(t.Context(), env.Client, ref)
		var dis *framework.DisagreementError
		if errors.As(err, &dis) {
			t.Fatal(err)
		}
		if err != nil {
			return err
		}
		h = got
		if got.Kstatus != want {
			return fmt.Errorf("%s", got)
		}
		if check != nil {
			if err := check(u, got); err != nil {
				return fmt.Errorf("%s: %w", got, err)
			}
		}
		return nil
	})
	return h
}

// messageHas checks that the Argo CD check's message, and kstatus's unless
// Current ("Resource is Ready"), say text.
func messageHas(text string) func(*unstructured.Unstructured, framework.Health) error {
	return func(_ *unstructured.Unstructured, h framework.Health) error {
		if !strings.Contains(h.ArgoCD.Message, text) || (h.Kstatus != kstatus.CurrentStatus && !strings.Contains(h.Message, text)) {
			return fmt.Errorf("want the messages to say %q", text)
		}
		return nil
	}
}

func observed(u *unstructured.Unstructured, _ framework.Health) error {
	gen, _, _ := unstructured.NestedInt64(u.Object, "status", "observedGeneration")
	if gen != u.GetGeneration() {
		return fmt.Errorf("observedGeneration %d of generation %d", gen, u.GetGeneration())
	}
	return nil
}

func ref(kind, ns, name string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(ecsv1.GroupVersion.WithKind(kind))
	u.SetNamespace(ns)
	u.SetName(name)
	return u
}

func patch(t *testing.T, obj client.Object, mutate func()) {
	t.Helper()
	if err := env.Client.Get(t.Context(), client.ObjectKeyFromObject(obj), obj); err != nil {
		t.Fatal(err)
	}
	p := client.MergeFrom(obj.DeepCopyObject().(client.Object))
	mutate()
	if err := env.Client.Patch(t.Context(), obj, p); err != nil {
		t.Fatal(err)
	}
}

// TestSamples applies every object of config/samples, as `kubectl apply
// -f config/samples/` does, before any instance exists: each Longshore
// object is InProgress in the API server's answer (status.observedGeneration
// reads 0), stays InProgress once the manager has reported on it while it
// cannot run (tasks unplaceable, the REPLICA service waiting for them, the
// cluster without instances) — but for the task definitions, which need no
// instance, and the DAEMON service, which wants no task without instances:
// Current — and, once two instances run the tasks, every sample and every
// object the manager made for them is Current.
func TestSamples(t *testing.T) {
	objs, err := framework.SampleObjects()
	if err != nil {
		t.Fatal(err)
	}
	var applied []*unstructured.Unstructured
	for _, o := range objs {
		u := apply(t, o, "default")
		h := health(t, u)
		want := kstatus.InProgressStatus
		if u.GroupVersionKind().Group != ecsv1.GroupVersion.Group {
			want = kstatus.CurrentStatus // a Secret
		}
		if h.Kstatus != want {
			t.Errorf("%s %s as applied: %s, want %s", u.GetKind(), u.GetName(), h, want)
		}
		applied = append(applied, u)
	}
	kinds := map[string]int{}
	for _, u := range applied {
		kinds[u.GetKind()]++
	}
	if kinds["Cluster"] != 1 || kinds["TaskDefinition"] < 1 || kinds["Task"] < 1 || kinds["Service"] < 1 {
		t.Fatalf("config/samples has %v: want a Cluster, TaskDefinitions, Tasks and Services", kinds)
	}

	t.Run("without instances", func(t *testing.T) {
		for _, u := range applied {
			switch u.GetKind() {
			case "TaskDefinition":
				waitHealth(t, 20*time.Second, u, kstatus.CurrentStatus, nil)
			case "Task":
				waitHealth(t, 20*time.Second, u, kstatus.InProgressStatus, func(u *unstructured.Unstructured, h framework.Health) error {
					return errors.Join(observed(u, h), messageHas("was unable to place a task")(u, h))
				})
			case "Service":
				if strategy, _, _ := unstructured.NestedString(u.Object, "spec", "schedulingStrategy"); strategy == string(ecsv1.SchedulingDaemon) {
					// One task on each of no instance: what it asks.
					waitHealth(t, 20*time.Second, u, kstatus.CurrentStatus, messageHas("0 of 0 tasks running"))
					continue
				}
				waitHealth(t, 20*time.Second, u, kstatus.InProgressStatus, func(u *unstructured.Unstructured, h framework.Health) error {
					return errors.Join(observed(u, h), reconciling(u))
				})
			case "Cluster":
				waitHealth(t, 20*time.Second, u, kstatus.InProgressStatus, func(u *unstructured.Unstructured, h framework.Health) error {
					return errors.Join(observed(u, h), messageHas("No ACTIVE container instance")(u, h))
				})
			}
		}
	})

	t.Run("once instances run them", func(t *testing.T) {
		agentFor(t, "gitops-a", "default", "a")
		agentFor(t, "gitops-b", "default", "b")
		var names []string
		framework.Eventually(t, 90*time.Second, "every sample and what it made Current", func() error {
			objs := append(slices.Clone(applied), ref("ContainerInstance", "", "gitops-a"), ref("ContainerInstance", "", "gitops-b"))
			for _, l := range []client.ObjectList{&ecsv1.TaskList{}, &ecsv1.TaskDefinitionRevisionList{}} {
				if err := env.Client.List(t.Context(), l, client.InNamespace("default")); err != nil {
					return err
				}
				switch l := l.(type) {
				case *ecsv1.TaskList:
					for _, x := range l.Items {
						objs = append(objs, ref("Task", x.Namespace, x.Name))
					}
				case *ecsv1.TaskDefinitionRevisionList:
					for _, x := range l.Items {
						objs = append(objs, ref("TaskDefinitionRevision", x.Namespace, x.Name))
					}
				}
			}
			names = names[:0]
			var notYet []string
			for _, o := range objs {
				_, h, err := framework.LiveHealth(t.Context(), env.Client, o)
				var dis *framework.DisagreementError
				if errors.As(err, &dis) {
					t.Fatal(err)
				}
				if err != nil {
					return err
				}
				names = append(names, o.GetKind()+" "+o.GetName())
				if h.Kstatus != kstatus.CurrentStatus || (h.ArgoCD.Status != "" && h.ArgoCD.Status != argocdhealth.Healthy) {
					notYet = append(notYet, fmt.Sprintf("%s %s: %s", o.GetKind(), o.GetName(), h))
				}
			}
			if len(notYet) > 0 {
				return fmt.Errorf("not Current yet:\n  %s", strings.Join(notYet, "\n  "))
			}
			return nil
		})
		t.Logf("Current: %s", strings.Join(names, ", "))
	})
}

func reconciling(u *unstructured.Unstructured) error {
	conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	for _, c := range conds {
		if m, ok := c.(map[string]any); ok && m["type"] == ecsv1.ConditionReconciling && m["status"] == string(metav1.ConditionTrue) {
			return nil
		}
	}
	return errors.New("no Reconciling=True condition")
}

// TestTaskOutcomes: the sample task, failing, is Failed; the sample
// worker, run as a one-off job that exits 0, is Current once STOPPED.
func TestTaskOutcomes(t *testing.T) {
	agentFor(t, "gitops-outcomes", "gitops-outcomes", "a")
	env.NewCluster(t, "gitops-outcomes", nil)
	spec := func(u *unstructured.Unstructured) *unstructured.Unstructured {
		if err := unstructured.SetNestedField(u.Object, "gitops-outcomes", "spec", "cluster"); err != nil {
			t.Fatal(err)
		}
		return u
	}

	t.Run("an essential container that fails", func(t *testing.T) {
		ns := env.NewNamespace(t, "gitops-fail")
		failTasks(ns, func(*ecsv1.Task) bool { return true })
		apply(t, sample(t, "TaskDefinition", "web"), ns)
		task := apply(t, spec(sample(t, "Task", "web-once")), ns)
		waitHealth(t, 30*time.Second, task, kstatus.FailedStatus, messageHas("Essential container in task exited"))
	})

	t.Run("a one-off job that exits 0", func(t *testing.T) {
		ns := env.NewNamespace(t, "gitops-job")
		completeTasks(ns)
		apply(t, sample(t, "TaskDefinition", "worker"), ns)
		task := apply(t, spec(sample(t, "Task", "worker-once")), ns)
		waitHealth(t, 30*time.Second, task, kstatus.CurrentStatus, func(u *unstructured.Unstructured, h framework.Health) error {
			if last, _, _ := unstructured.NestedString(u.Object, "status", "lastStatus"); last != string(ecsv1.TaskStopped) {
				return fmt.Errorf("lastStatus %s", last)
			}
			return messageHas("Task ran to completion")(u, h)
		})
	})
}

// TestServiceRollback: the sample Service, Current on the sample task
// definition, then a revision whose tasks fail: InProgress while the
// deployment rolls, Failed once the circuit breaker rolled it back (also
// once the service is steady again on the old revision), Current again
// after a revision that runs.
func TestServiceRollback(t *testing.T) {
	agentFor(t, "gitops-rb-a", "gitops-rollback", "a")
	agentFor(t, "gitops-rb-b", "gitops-rollback", "b")
	env.NewCluster(t, "gitops-rollback", nil)
	ns := env.NewNamespace(t, "gitops-rollback")
	td := apply(t, sample(t, "TaskDefinition", "web"), ns)
	svc := sample(t, "Service", "web")
	if err := unstructured.SetNestedField(svc.Object, "gitops-rollback", "spec", "cluster"); err != nil {
		t.Fatal(err)
	}
	svc = apply(t, svc, ns)
	start := time.Now()
	waitHealth(t, 60*time.Second, svc, kstatus.CurrentStatus, nil)
	t.Logf("web:1 Current after %s", time.Since(start).Round(time.Millisecond))

	ofRevision2 := func(task *ecsv1.Task) bool { return task.Status.TaskDefinitionRevision == "web:2" }
	holdTasks(ns, ofRevision2) // PENDING until the test has seen the deployment InProgress
	failTasks(ns, ofRevision2)
	setGreeting := func(v string) {
		obj := &ecsv1.TaskDefinition{}
		obj.Namespace, obj.Name = ns, td.GetName()
		patch(t, obj, func() { obj.Spec.ContainerDefinitions[0].Environment[0].Value = v })
	}
	setGreeting("hello from revision 2")
	waitHealth(t, 20*time.Second, svc, kstatus.InProgressStatus, func(u *unstructured.Unstructured, h framework.Health) error {
		if rev, _, _ := unstructured.NestedString(u.Object, "status", "taskDefinition"); rev != "web:2" {
			return fmt.Errorf("primary deployment of %s", rev)
		}
		return nil
	})
	t.Logf("web:2 InProgress after %s", time.Since(start).Round(time.Millisecond))
	holdTasks(ns, nil)
	waitHealth(t, 60*time.Second, svc, kstatus.FailedStatus, messageHas("the circuit breaker rolled the service back to web:1"))
	t.Logf("rolled back, Failed after %s", time.Since(start).Round(time.Millisecond))
	got := &ecsv1.Service{}
	framework.Eventually(t, 60*time.Second, "steady again on web:1", func() error {
		if err := env.Client.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: "web"}, got); err != nil {
			return err
		}
		if got.Status.TaskDefinition != "web:1" || !conditionTrue(got.Status.Conditions, ecsv1.ConditionSteadyState) {
			return fmt.Errorf("taskDefinition %s, conditions %+v", got.Status.TaskDefinition, got.Status.Conditions)
		}
		return nil
	})
	if h := waitHealth(t, time.Second, svc, kstatus.FailedStatus, nil); h.ArgoCD.Status != argocdhealth.Degraded {
		t.Errorf("rolled back and steady: %s, want Failed and Degraded", h)
	}

	t.Logf("steady on web:1 and Failed after %s (%d deployments)", time.Since(start).Round(time.Millisecond), len(got.Status.Deployments))

	setGreeting("hello from revision 3")
	waitHealth(t, 60*time.Second, svc, kstatus.CurrentStatus, func(u *unstructured.Unstructured, _ framework.Health) error {
		if rev, _, _ := unstructured.NestedString(u.Object, "status", "taskDefinition"); rev != "web:3" {
			return fmt.Errorf("primary deployment of %s", rev)
		}
		return nil
	})
}

func conditionTrue(conds []metav1.Condition, typ string) bool {
	for _, c := range conds {
		if c.Type == typ {
			return c.Status == metav1.ConditionTrue
		}
	}
	return false
}

// TestInvalidTaskDefinition: the sample task definition with more
// container cpu than the task has is Failed, and so is the sample Service
// of it; fixed, both are Current.
func TestInvalidTaskDefinition(t *testing.T) {
	agentFor(t, "gitops-invalid", "gitops-invalid", "a")
	env.NewCluster(t, "gitops-invalid", nil)
	ns := env.NewNamespace(t, "gitops-invalid")
	bad := sample(t, "TaskDefinition", "web")
	defs, _, _ := unstructured.NestedSlice(bad.Object, "spec", "containerDefinitions")
	defs[0].(map[string]any)["cpu"] = int64(2048) // the task has "0.25 vCPU": 256 units
	if err := unstructured.SetNestedSlice(bad.Object, defs, "spec", "containerDefinitions"); err != nil {
		t.Fatal(err)
	}
	td := apply(t, bad, ns)
	svc := sample(t, "Service", "web")
	if err := unstructured.SetNestedField(svc.Object, "gitops-invalid", "spec", "cluster"); err != nil {
		t.Fatal(err)
	}
	svc = apply(t, svc, ns)
	waitHealth(t, 20*time.Second, td, kstatus.FailedStatus, messageHas("more than the task-level cpu"))
	waitHealth(t, 20*time.Second, svc, kstatus.FailedStatus, messageHas("TaskDefinition web is stalled"))

	defs[0].(map[string]any)["cpu"] = int64(128)
	if err := unstructured.SetNestedSlice(bad.Object, defs, "spec", "containerDefinitions"); err != nil {
		t.Fatal(err)
	}
	apply(t, bad, ns)
	waitHealth(t, 20*time.Second, td, kstatus.CurrentStatus, nil)
	waitHealth(t, 60*time.Second, svc, kstatus.CurrentStatus, nil)
}

// TestInstanceDrainsAndIsLost: an instance running the sample task is
// Current; DRAINING, it is InProgress while the task runs and Current
// (drained) once the task is stopped, which is Current too (stopped as
// asked); its agent gone past the instance-lost timeout, it is Failed.
func TestInstanceDrainsAndIsLost(t *testing.T) {
	a := agentFor(t, "gitops-drain", "gitops-drain", "a")
	env.NewCluster(t, "gitops-drain", nil)
	ns := env.NewNamespace(t, "gitops-drain")
	ci := ref("ContainerInstance", "", "gitops-drain")
	apply(t, sample(t, "TaskDefinition", "web"), ns)
	tk := sample(t, "Task", "web-once")
	if err := unstructured.SetNestedField(tk.Object, "gitops-drain", "spec", "cluster"); err != nil {
		t.Fatal(err)
	}
	tk = apply(t, tk, ns)
	waitHealth(t, 30*time.Second, tk, kstatus.CurrentStatus, nil)
	waitHealth(t, 10*time.Second, ci, kstatus.CurrentStatus, nil)

	inst := &ecsv1.ContainerInstance{}
	inst.Name = ci.GetName()
	patch(t, inst, func() { inst.Spec.State = ecsv1.ContainerInstanceDraining })
	waitHealth(t, 10*time.Second, ci, kstatus.InProgressStatus, messageHas("The instance is DRAINING"))

	task := &ecsv1.Task{}
	task.Namespace, task.Name = ns, tk.GetName()
	patch(t, task, func() { task.Spec.DesiredStatus = ecsv1.DesiredStopped })
	waitHealth(t, 20*time.Second, tk, kstatus.CurrentStatus, messageHas("Task stopped by user"))
	waitHealth(t, 10*time.Second, ci, kstatus.CurrentStatus, messageHas("no task is left on it"))

	a.Pause()
	waitHealth(t, 10*time.Second, ci, kstatus.InProgressStatus, messageHas("has not renewed its lease"))
	waitHealth(t, 20*time.Second, ci, kstatus.FailedStatus, messageHas("the instance is lost"))
}
