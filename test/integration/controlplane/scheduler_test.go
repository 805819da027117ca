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

package controlplane

import (
	"fmt"
	"strings"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ecsv1 "github.com/longshore-io/longshore/api/v1alpha1"
	"github.com/longshore-io/longshore/internal/scheduler"
	"github.com/longshore-io/longshore/test/integration/framework"
	"github.com/longshore-io/longshore/test/integration/simagent"
)

func unplaceable(tk *ecsv1.Task) error {
	c := apimeta.FindStatusCondition(tk.Status.Conditions, ecsv1.ConditionScheduled)
	if c == nil || c.Status != metav1.ConditionFalse || c.Reason != ecsv1.ReasonUnplaceable {
		return fmt.Errorf("scheduled %+v", c)
	}
	return nil
}

func bound(tk *ecsv1.Task) error {
	if tk.Spec.ContainerInstance == "" {
		return fmt.Errorf("not bound; conditions %+v", tk.Status.Conditions)
	}
	return nil
}

// An unplaceable task waits in the scheduler's unschedulable set; the
// registration of an instance that can take it flushes the set, and the
// task binds within a few seconds — well before the scheduler's periodic
// retry of unschedulable tasks (scheduler.MaxUnschedulableWait).
func TestUnplaceableTaskBindsWhenAnInstanceRegisters(t *testing.T) {
	ns := newNamespace(t)
	newCluster(t, "cp-flush", nil)
	agentFor(t, "flush-small", simagent.Options{Cluster: "cp-flush", MemoryMiB: 512})
	family(t, ns, "big", web(2048))
	task := newTask(t, ns, "big", ecsv1.TaskSpec{Cluster: "cp-flush", TaskDefinition: "big"})
	waitTask(t, task, 20*time.Second, "Unplaceable", unplaceable)
	time.Sleep(2 * time.Second) // a few failed attempts: the task sits in the unschedulable set
	agentFor(t, "flush-large", simagent.Options{Cluster: "cp-flush", MemoryMiB: 4096})
	const prompt = 5 * time.Second
	if prompt >= scheduler.MaxUnschedulableWait {
		t.Fatalf("the test needs a wait shorter than the periodic retry (%s)", scheduler.MaxUnschedulableWait)
	}
	got := waitTask(t, task, prompt, "bound after the instance registered", bound)
	if got.Spec.ContainerInstance != "flush-large" {
		t.Errorf("bound to %q, want flush-large", got.Spec.ContainerInstance)
	}
}

// A bind the API server refuses is forgotten: the capacity the scheduler
// assumed for it is released, and another task takes the instance. An
// admission policy refuses the binds of tasks labelled refuse-bind.
func TestFailedBindIsForgotten(t *testing.T) {
	ctx := t.Context()
	ns := newNamespace(t)
	newCluster(t, "cp-forget", nil)
	name := "cp-forget-refuse-bind"
	policy := &admissionregistrationv1.ValidatingAdmissionPolicy{ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: admissionregistrationv1.ValidatingAdmissionPolicySpec{
			FailurePolicy: ptr.To(admissionregistrationv1.Fail),
			MatchConstraints: &admissionregistrationv1.MatchResources{ResourceRules: []admissionregistrationv1.NamedRuleWithOperations{{
				RuleWithOperations: admissionregistrationv1.RuleWithOperations{Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Update},
					Rule: admissionregistrationv1.Rule{APIGroups: []string{ecsv1.GroupVersion.Group}, APIVersions: []string{"*"}, Resources: []string{"tasks"}}}}}},
			Validations: []admissionregistrationv1.Validation{{
				Expression: "!(has(object.metadata.labels) && 'refuse-bind' in object.metadata.labels && has(object.spec.containerInstance) && object.spec.containerInstance != '')",
				Message:    "binds of this task are refused by the test"}},
		}}
	binding := &admissionregistrationv1.ValidatingAdmissionPolicyBinding{ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: admissionregistrationv1.ValidatingAdmissionPolicyBindingSpec{PolicyName: name,
			ValidationActions: []admissionregistrationv1.ValidationAction{admissionregistrationv1.Deny},
			MatchResources: &admissionregistrationv1.MatchResources{NamespaceSelector: &metav1.LabelSelector{
				MatchLabels: map[string]string{"kubernetes.io/metadata.name": ns}}}}}
	for _, o := range []client.Object{policy, binding} {
		if err := env.Client.Create(ctx, o); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = env.Client.Delete(ctx, o) })
	}
	// The policy is live once it refuses a bind (dry run) of a probe.
	probe := newTask(t, ns, "probe", ecsv1.TaskSpec{Cluster: "cp-no-such-cluster", TaskDefinition: "none", DesiredStatus: ecsv1.DesiredStopped})
	framework.Eventually(t, 20*time.Second, "the policy refuses binds", func() error {
		p := &ecsv1.Task{}
		if err := env.Client.Get(ctx, client.ObjectKeyFromObject(probe), p); err != nil {
			return err
		}
		orig := p.DeepCopy()
		p.Labels = map[string]string{"refuse-bind": "true"}
		p.Spec.ContainerInstance = "x"
		err := env.Client.Patch(ctx, p, client.MergeFrom(orig), client.DryRunAll)
		if err == nil || !strings.Contains(err.Error(), "refused by the test") {
			return fmt.Errorf("a bind of the probe: %v", err)
		}
		return nil
	})

	family(t, ns, "half", web(600))
	refused := &ecsv1.Task{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "refused", Labels: map[string]string{"refuse-bind": "true"}},
		Spec: ecsv1.TaskSpec{Cluster: "cp-forget", TaskDefinition: "half"}}
	if err := env.Client.Create(ctx, refused); err != nil {
		t.Fatal(err)
	}
	// The only instance has room for one such task. The refused task is
	// placed there and its bind fails, again and again; each time its
	// placement is forgotten, so the next task finds the room free.
	agentFor(t, "forget-one", simagent.Options{Cluster: "cp-forget", MemoryMiB: 1024})
	time.Sleep(time.Second)
	other := newTask(t, ns, "other", ecsv1.TaskSpec{Cluster: "cp-forget", TaskDefinition: "half"})
	if got := waitTask(t, other, 20*time.Second, "bound", bound); got.Spec.ContainerInstance != "forget-one" {
		t.Errorf("bound to %q", got.Spec.ContainerInstance)
	}
	got := waitTask(t, refused, 20*time.Second, "Unplaceable once the other task holds the room", unplaceable)
	if got.Spec.ContainerInstance != "" {
		t.Errorf("the refused task is bound to %q", got.Spec.ContainerInstance)
	}
}
