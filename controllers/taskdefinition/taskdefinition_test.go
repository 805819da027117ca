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

package taskdefinition_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ecsv1 "github.com/longshore-io/longshore/api/v1alpha1"
	"github.com/longshore-io/longshore/controllers/taskdefinition"
	"github.com/longshore-io/longshore/test/integration/framework"
)

const wait = 15 * time.Second

// --- helpers ---

func newNamespace(t *testing.T) string { return env.NewNamespace(t, "td") }

func spec(image string) ecsv1.TaskDefinitionSpec {
	return ecsv1.TaskDefinitionSpec{ContainerDefinitions: []ecsv1.ContainerDefinition{
		{Name: "app", Image: image, Memory: ptr.To[int32](64)},
	}}
}

func createTD(t *testing.T, ns, name string, s ecsv1.TaskDefinitionSpec) *ecsv1.TaskDefinition {
	t.Helper()
	td := &ecsv1.TaskDefinition{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Spec: s}
	if err := env.Client.Create(t.Context(), td); err != nil {
		t.Fatalf("creating TaskDefinition %s: %v", name, err)
	}
	return td
}

func getTD(t *testing.T, ns, name string) *ecsv1.TaskDefinition {
	t.Helper()
	td := &ecsv1.TaskDefinition{}
	if err := env.Client.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: name}, td); err != nil {
		t.Fatal(err)
	}
	return td
}

// patchTD changes a TaskDefinition's spec with a merge patch, as kubectl
// apply would.
func patchTD(t *testing.T, ns, name string, edit func(*ecsv1.TaskDefinitionSpec)) {
	t.Helper()
	td := getTD(t, ns, name)
	base := td.DeepCopy()
	edit(&td.Spec)
	if err := env.Client.Patch(t.Context(), td, client.MergeFrom(base)); err != nil {
		t.Fatalf("patching TaskDefinition %s: %v", name, err)
	}
}

func setImage(t *testing.T, ns, name, image string) {
	t.Helper()
	patchTD(t, ns, name, func(s *ecsv1.TaskDefinitionSpec) { s.ContainerDefinitions[0].Image = image })
}

// revisions lists the existing revisions of family, by number.
func revisions(t *testing.T, ns, family string) ([]int32, map[int32]*ecsv1.TaskDefinitionRevision) {
	t.Helper()
	var list ecsv1.TaskDefinitionRevisionList
	if err := env.Client.List(t.Context(), &list, client.InNamespace(ns), client.MatchingLabels{ecsv1.LabelFamily: family}); err != nil {
		t.Fatal(err)
	}
	var nums []int32
	byNum := map[int32]*ecsv1.TaskDefinitionRevision{}
	for i := range list.Items {
		nums = append(nums, list.Items[i].Spec.Revision)
		byNum[list.Items[i].Spec.Revision] = &list.Items[i]
	}
	slices.Sort(nums)
	return nums, byNum
}

func waitRevisions(t *testing.T, ns, family string, want ...int32) map[int32]*ecsv1.TaskDefinitionRevision {
	t.Helper()
	var byNum map[int32]*ecsv1.TaskDefinitionRevision
	framework.Eventually(t, wait, fmt.Sprintf("the revisions of %s are %v", family, want), func() error {
		var got []int32
		got, byNum = revisions(t, ns, family)
		if !slices.Equal(got, want) {
			return fmt.Errorf("revisions are %v", got)
		}
		return nil
	})
	return byNum
}

// consistently fails the test if cond returns an error within d.
func consistently(t *testing.T, d time.Duration, what string, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if err := cond(); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitFamily waits until the TaskDefinition's status describes its
// generation and check accepts it.
func waitFamily(t *testing.T, ns, name string, check func(*ecsv1.TaskDefinition) error) *ecsv1.TaskDefinition {
	t.Helper()
	var td *ecsv1.TaskDefinition
	framework.Eventually(t, wait, "status of TaskDefinition "+name, func() error {
		td = &ecsv1.TaskDefinition{}
		if err := env.Client.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: name}, td); err != nil {
			return err
		}
		if td.Status.ObservedGeneration != td.Generation {
			return fmt.Errorf("observedGeneration %d, generation %d", td.Status.ObservedGeneration, td.Generation)
		}
		return check(td)
	})
	return td
}

func cond(td *ecsv1.TaskDefinition, typ string) metav1.Condition {
	if c := meta.FindStatusCondition(td.Status.Conditions, typ); c != nil {
		return *c
	}
	return metav1.Condition{}
}

// expect checks latestRevision, activeRevisions and the reasons of Valid
// and Ready (with their status).
func expect(latest, active int32, valid, ready string) func(*ecsv1.TaskDefinition) error {
	return func(td *ecsv1.TaskDefinition) error {
		v, r := cond(td, ecsv1.ConditionValid), cond(td, ecsv1.ConditionReady)
		got := fmt.Sprintf("latest=%d active=%d Valid=%s/%s Ready=%s/%s", td.Status.LatestRevision, td.Status.ActiveRevisions,
			v.Status, v.Reason, r.Status, r.Reason)
		wantValid, wantReady := "False", "False"
		if valid == ecsv1.ReasonSpecValid {
			wantValid = "True"
		}
		if ready == ecsv1.ReasonRevisionActive {
			wantReady = "True"
		}
		want := fmt.Sprintf("latest=%d active=%d Valid=%s/%s Ready=%s/%s", latest, active, wantValid, valid, wantReady, ready)
		if got != want {
			return fmt.Errorf("got %s, want %s (Valid: %q, Ready: %q)", got, want, v.Message, r.Message)
		}
		if v.ObservedGeneration != td.Generation || r.ObservedGeneration != td.Generation {
			return fmt.Errorf("conditions describe generation %d/%d, not %d", v.ObservedGeneration, r.ObservedGeneration, td.Generation)
		}
		return nil
	}
}

// counter is the family's entry in the counter ConfigMap, "" if none.
func counter(t *testing.T, ns, family string) string {
	t.Helper()
	cm := &corev1.ConfigMap{}
	err := env.Client.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: taskdefinition.CounterConfigMapName}, cm)
	if apierrors.IsNotFound(err) {
		return ""
	}
	if err != nil {
		t.Fatal(err)
	}
	return cm.Data[family]
}

// deregisterRevision sets spec.state INACTIVE (ECS DeregisterTaskDefinition).
func deregisterRevision(t *testing.T, ns, family string, n int32) {
	t.Helper()
	rev := &ecsv1.TaskDefinitionRevision{}
	if err := env.Client.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: ecsv1.RevisionName(family, n)}, rev); err != nil {
		t.Fatal(err)
	}
	patch := client.MergeFrom(rev.DeepCopy())
	rev.Spec.State = ecsv1.RevisionStateInactive
	if err := env.Client.Patch(t.Context(), rev, patch); err != nil {
		t.Fatalf("deregistering %s: %v", rev.Name, err)
	}
}

// deleteRevision deregisters, then deletes a revision (ECS
// DeleteTaskDefinitions takes only INACTIVE ones).
func deleteRevision(t *testing.T, ns, family string, n int32) {
	t.Helper()
	deregisterRevision(t, ns, family, n)
	rev := &ecsv1.TaskDefinitionRevision{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: ecsv1.RevisionName(family, n)}}
	if err := env.Client.Delete(t.Context(), rev); err != nil {
		t.Fatalf("deleting %s: %v", rev.Name, err)
	}
}

// statusMap is the namespace's revision status map (nil when absent).
func statusMap(t *testing.T, ns string) map[string]string {
	t.Helper()
	cm := &corev1.ConfigMap{}
	err := env.Client.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: taskdefinition.RevisionStatusConfigMapName}, cm)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return cm.Data
}

func waitEvent(t *testing.T, ns, regarding, note string) {
	t.Helper()
	framework.Eventually(t, wait, fmt.Sprintf("Event %q on %s", note, regarding), func() error {
		var list eventsv1.EventList
		if err := env.Client.List(t.Context(), &list, client.InNamespace(ns)); err != nil {
			return err
		}
		var notes []string
		for _, e := range list.Items {
			if e.Regarding.Name == regarding && e.Note == note {
				return nil
			}
			notes = append(notes, e.Regarding.Name+": "+e.Note)
		}
		return fmt.Errorf("events: %q", notes)
	})
}

// runTask creates a Task that references ref and reports it RUNNING, and
// waits until the manager's cache (and index) sees it.
func runTask(t *testing.T, ns, name, ref string) *ecsv1.Task {
	t.Helper()
	ctx := t.Context()
	task := &ecsv1.Task{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Spec: ecsv1.TaskSpec{TaskDefinition: ref}}
	if err := env.Client.Create(ctx, task); err != nil {
		t.Fatal(err)
	}
	task.Status.LastStatus = ecsv1.TaskRunning
	task.Status.TaskDefinitionRevision = ref
	if err := env.Client.Status().Update(ctx, task); err != nil {
		t.Fatal(err)
	}
	framework.Eventually(t, wait, "the cache indexes Task "+name, func() error {
		var list ecsv1.TaskList
		if err := cached.List(ctx, &list, client.InNamespace(ns), client.MatchingFields{taskdefinition.IndexTaskRevisionInUse: ref}); err != nil {
			return err
		}
		if len(list.Items) != 1 {
			return fmt.Errorf("%d tasks", len(list.Items))
		}
		return nil
	})
	return task
}

func stopTask(t *testing.T, task *ecsv1.Task) {
	t.Helper()
	fresh := &ecsv1.Task{}
	if err := env.Client.Get(t.Context(), client.ObjectKeyFromObject(task), fresh); err != nil {
		t.Fatal(err)
	}
	fresh.Status.LastStatus = ecsv1.TaskStopped
	if err := env.Client.Status().Update(t.Context(), fresh); err != nil {
		t.Fatal(err)
	}
}

func revisionStatus(t *testing.T, ns, family string, n int32) (ecsv1.RevisionStatus, error) {
	rev := &ecsv1.TaskDefinitionRevision{}
	err := env.Client.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: ecsv1.RevisionName(family, n)}, rev)
	return rev.Status.Status, err
}

// --- tests ---

func TestMintsRevisionsAndNeverReusesNumbers(t *testing.T) {
	ctx := t.Context()
	ns := newNamespace(t)

	// First apply: revision 1, a faithful, owned, protected copy.
	createTD(t, ns, "web", spec("web:a"))
	byNum := waitRevisions(t, ns, "web", 1)
	td := waitFamily(t, ns, "web", expect(1, 1, ecsv1.ReasonSpecValid, ecsv1.ReasonRevisionActive))
	rev := byNum[1]
	if rev.Name != "web-1" || rev.Spec.Family != "web" || rev.Spec.Revision != 1 {
		t.Errorf("revision %s is family %q revision %d", rev.Name, rev.Spec.Family, rev.Spec.Revision)
	}
	if diff := cmp.Diff(map[string]string{ecsv1.LabelFamily: "web", ecsv1.LabelRevision: "1"}, rev.Labels); diff != "" {
		t.Errorf("labels (-want +got):\n%s", diff)
	}
	wantOwner := []metav1.OwnerReference{{APIVersion: ecsv1.GroupVersion.String(), Kind: "TaskDefinition", Name: "web",
		UID: td.UID, Controller: ptr.To(true), BlockOwnerDeletion: ptr.To(false)}}
	if diff := cmp.Diff(wantOwner, rev.OwnerReferences); diff != "" {
		t.Errorf("owner references (-want +got):\n%s", diff)
	}
	if !slices.Contains(rev.Finalizers, ecsv1.FinalizerRevisionInUse) {
		t.Errorf("finalizers %v lack %s", rev.Finalizers, ecsv1.FinalizerRevisionInUse)
	}
	if diff := cmp.Diff(td.Spec, rev.Spec.TaskDefinition); diff != "" {
		t.Errorf("spec.taskDefinition is not the TaskDefinition's spec (-want +got):\n%s", diff)
	}
	hash, err := taskdefinition.SpecHash(&td.Spec)
	if err != nil {
		t.Fatal(err)
	}
	if got := rev.Annotations[taskdefinition.AnnotationSpecHash]; got != hash {
		t.Errorf("spec-hash annotation %q, want %q", got, hash)
	}
	// The revision's status is written by its own controller after the
	// revision exists: rev, read when it appeared, may predate it.
	framework.Eventually(t, wait, "web:1 ACTIVE", func() error {
		st, err := revisionStatus(t, ns, "web", 1)
		if err == nil && st != ecsv1.RevisionActive {
			err = fmt.Errorf("status.status %q, want ACTIVE", st)
		}
		return err
	})
	if got := counter(t, ns, "web"); got != "1" {
		t.Errorf("counter %q, want 1", got)
	}
	waitEvent(t, ns, "web", "Registered task definition web:1")

	// The same spec again mints nothing, however often it is reconciled;
	// neither does a change of revisionHistoryLimit alone.
	patchTD(t, ns, "web", func(*ecsv1.TaskDefinitionSpec) {})
	for range 3 {
		if _, err := direct.Reconcile(ctx, ctrl.Request{NamespacedName: client.ObjectKey{Namespace: ns, Name: "web"}}); err != nil {
			t.Fatalf("Reconcile: %v", err)
		}
	}
	patchTD(t, ns, "web", func(s *ecsv1.TaskDefinitionSpec) { s.RevisionHistoryLimit = ptr.To[int32](5) })
	waitFamily(t, ns, "web", expect(1, 1, ecsv1.ReasonSpecValid, ecsv1.ReasonRevisionActive))
	if got, _ := revisions(t, ns, "web"); !slices.Equal(got, []int32{1}) {
		t.Fatalf("re-applying the same spec minted revisions: %v", got)
	}

	// An edit mints 2; going back to the first spec mints 3 (as ECS).
	setImage(t, ns, "web", "web:b")
	waitRevisions(t, ns, "web", 1, 2)
	waitFamily(t, ns, "web", expect(2, 2, ecsv1.ReasonSpecValid, ecsv1.ReasonRevisionActive))
	setImage(t, ns, "web", "web:a")
	waitRevisions(t, ns, "web", 1, 2, 3)
	waitFamily(t, ns, "web", expect(3, 3, ecsv1.ReasonSpecValid, ecsv1.ReasonRevisionActive))
	if got := counter(t, ns, "web"); got != "3" {
		t.Errorf("counter %q, want 3", got)
	}

	// Deleting the newest revision does not mint it again...
	deleteRevision(t, ns, "web", 3)
	waitRevisions(t, ns, "web", 1, 2)
	waitFamily(t, ns, "web", expect(2, 2, ecsv1.ReasonSpecValid, ecsv1.ReasonRevisionDeleted))
	consistently(t, time.Second, "no revision after deleting the newest", func() error {
		if got, _ := revisions(t, ns, "web"); !slices.Equal(got, []int32{1, 2}) {
			return fmt.Errorf("revisions %v", got)
		}
		return nil
	})

	// ...and the next edit takes 4: 3 is never handed out again.
	setImage(t, ns, "web", "web:c")
	byNum = waitRevisions(t, ns, "web", 1, 2, 4)
	waitFamily(t, ns, "web", expect(4, 3, ecsv1.ReasonSpecValid, ecsv1.ReasonRevisionActive))
	if img := byNum[4].Spec.TaskDefinition.ContainerDefinitions[0].Image; img != "web:c" {
		t.Errorf("web-4 runs %q, want web:c", img)
	}
	if got := counter(t, ns, "web"); got != "4" {
		t.Errorf("counter %q, want 4", got)
	}
}

// A spec that uses most fields survives the copy into the revision
// unchanged, and hashes the same read back from either object.
func TestRichSpecRoundTrips(t *testing.T) {
	ns := newNamespace(t)
	s := ecsv1.TaskDefinitionSpec{
		NetworkMode: ecsv1.NetworkModeAWSVPC, CPU: "1 vCPU", Memory: "1 GB", PidMode: "host", IpcMode: "host",
		Volumes: []ecsv1.Volume{{Name: "scratch"}, {Name: "conf", ConfigMap: &ecsv1.ConfigMapVolume{Name: "conf"}},
			{Name: "creds", Secret: &ecsv1.SecretVolume{SecretName: "creds"}}},
		PlacementConstraints: []ecsv1.PlacementConstraint{{Type: "memberOf", Expression: "attribute:ecs.os-type == linux"}},
		ContainerDefinitions: []ecsv1.ContainerDefinition{{
			Name: "web", Image: "registry.example:5000/web:1.2", CPU: 512, Memory: ptr.To[int32](512), MemoryReservation: ptr.To[int32](256),
			Command: []string{"serve", "--port=8080"}, EntryPoint: []string{"/bin/web"},
			Environment:      []ecsv1.KeyValuePair{{Name: "MODE", Value: "prod"}},
			Secrets:          []ecsv1.ContainerSecret{{Name: "TOKEN", ValueFrom: "creds:token"}},
			PortMappings:     []ecsv1.PortMapping{{ContainerPort: 8080, Protocol: ecsv1.ProtocolTCP, Name: "http"}},
			DependsOn:        []ecsv1.ContainerDependency{{ContainerName: "init", Condition: ecsv1.DependencySuccess}},
			HealthCheck:      &ecsv1.HealthCheck{HTTPGet: &ecsv1.HTTPGetProbe{Path: "/healthz", Port: 8080}},
			MountPoints:      []ecsv1.MountPoint{{SourceVolume: "scratch", ContainerPath: "/tmp"}, {SourceVolume: "conf", ContainerPath: "/etc/web", ReadOnly: true}},
			LogConfiguration: &ecsv1.LogConfiguration{LogDriver: "json-file", Options: map[string]ecsv1.OptionValue{"max-size": "10m", "max-file": "3"}},
			Ulimits:          []ecsv1.Ulimit{{Name: "nofile", SoftLimit: 1024, HardLimit: 4096}},
			LinuxParameters:  &ecsv1.LinuxParameters{InitProcessEnabled: true, Capabilities: &ecsv1.KernelCapabilities{Add: []ecsv1.Capability{"NET_BIND_SERVICE"}}},
			User:             "1000:1000", WorkingDirectory: "/srv", ReadonlyRootFilesystem: true,
			DNSServers: []string{"10.0.0.2"}, ExtraHosts: []ecsv1.HostEntry{{Hostname: "db", IPAddress: "10.0.0.3"}},
			DockerLabels:  map[string]string{"team": "web", "tier": "front"},
			RestartPolicy: &ecsv1.RestartPolicy{Enabled: true, IgnoredExitCodes: []int32{0}},
		}, {
			Name: "init", Image: "busybox", Essential: ptr.To(false), Memory: ptr.To[int32](64), Command: []string{"true"},
		}},
	}
	createTD(t, ns, "rich", s)
	byNum := waitRevisions(t, ns, "rich", 1)
	td := waitFamily(t, ns, "rich", expect(1, 1, ecsv1.ReasonSpecValid, ecsv1.ReasonRevisionActive))
	rev := byNum[1]
	if diff := cmp.Diff(td.Spec, rev.Spec.TaskDefinition); diff != "" {
		t.Errorf("spec.taskDefinition differs from the TaskDefinition's spec (-want +got):\n%s", diff)
	}
	h, err := taskdefinition.SpecHash(&rev.Spec.TaskDefinition)
	if err != nil {
		t.Fatal(err)
	}
	if want := rev.Annotations[taskdefinition.AnnotationSpecHash]; h != want {
		t.Errorf("the revision's spec hashes to %s read back, %s at mint time", h, want)
	}
}

func TestRecreatedFamilyContinuesNumbering(t *testing.T) {
	ctx := t.Context()
	ns := newNamespace(t)
	createTD(t, ns, "api", spec("api:a"))
	waitRevisions(t, ns, "api", 1)
	setImage(t, ns, "api", "api:b")
	waitRevisions(t, ns, "api", 1, 2)

	// envtest runs no garbage collector: delete the revisions as it would.
	if err := env.Client.Delete(ctx, getTD(t, ns, "api")); err != nil {
		t.Fatal(err)
	}
	deleteRevision(t, ns, "api", 1)
	deleteRevision(t, ns, "api", 2)
	waitRevisions(t, ns, "api")
	if got := counter(t, ns, "api"); got != "2" {
		t.Fatalf("counter %q after deleting the family, want 2", got)
	}

	createTD(t, ns, "api", spec("api:a"))
	waitRevisions(t, ns, "api", 3)
	waitFamily(t, ns, "api", expect(3, 1, ecsv1.ReasonSpecValid, ecsv1.ReasonRevisionActive))
	if got := counter(t, ns, "api"); got != "3" {
		t.Errorf("counter %q, want 3", got)
	}
}

func TestConcurrentFamiliesShareTheCounter(t *testing.T) {
	ns := newNamespace(t)
	const n = 8
	for i := range n {
		createTD(t, ns, fmt.Sprintf("f%d", i), spec("x"))
	}
	want := map[string]string{}
	for i := range n {
		family := fmt.Sprintf("f%d", i)
		want[family] = "1"
		waitRevisions(t, ns, family, 1)
		waitFamily(t, ns, family, expect(1, 1, ecsv1.ReasonSpecValid, ecsv1.ReasonRevisionActive))
	}
	cm := &corev1.ConfigMap{}
	if err := env.Client.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: taskdefinition.CounterConfigMapName}, cm); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, cm.Data); diff != "" {
		t.Errorf("counter ConfigMap (-want +got):\n%s", diff)
	}
}

func TestInvalidSpecMintsNothing(t *testing.T) {
	ns := newNamespace(t)
	twoContainers := func(s *ecsv1.TaskDefinitionSpec) {
		s.ContainerDefinitions = append(s.ContainerDefinitions, ecsv1.ContainerDefinition{Name: "side", Image: "side", Memory: ptr.To[int32](64)})
	}
	tests := []struct {
		family string
		edit   func(*ecsv1.TaskDefinitionSpec)
		reason string
	}{
		{"cpu-sum", func(s *ecsv1.TaskDefinitionSpec) {
			twoContainers(s)
			s.CPU = "256"
			s.ContainerDefinitions[0].CPU, s.ContainerDefinitions[1].CPU = 200, 200
		}, ecsv1.ReasonCPUExceedsTask},
		{"memory", func(s *ecsv1.TaskDefinitionSpec) {
			s.Memory = "128"
			s.ContainerDefinitions[0].Memory = ptr.To[int32](256)
		}, ecsv1.ReasonMemoryExceedsTask},
		{"awsvpc-port", func(s *ecsv1.TaskDefinitionSpec) {
			twoContainers(s)
			s.NetworkMode = ecsv1.NetworkModeAWSVPC
			s.ContainerDefinitions[0].PortMappings = []ecsv1.PortMapping{{ContainerPort: 80}}
			s.ContainerDefinitions[1].PortMappings = []ecsv1.PortMapping{{ContainerPort: 80, HostPort: ptr.To[int32](80)}}
		}, ecsv1.ReasonPortConflict},
		{"host-port", func(s *ecsv1.TaskDefinitionSpec) {
			twoContainers(s)
			s.ContainerDefinitions[0].PortMappings = []ecsv1.PortMapping{{ContainerPort: 80, HostPort: ptr.To[int32](8080)}}
			s.ContainerDefinitions[1].PortMappings = []ecsv1.PortMapping{{ContainerPort: 81, HostPort: ptr.To[int32](8080)}}
		}, ecsv1.ReasonHostPortConflict},
		{"task-cpu", func(s *ecsv1.TaskDefinitionSpec) { s.CPU = "0" }, ecsv1.ReasonInvalidTaskCPU},
		{"task-memory", func(s *ecsv1.TaskDefinitionSpec) { s.Memory = "0 GB" }, ecsv1.ReasonInvalidTaskMemory},
	}
	for _, tc := range tests {
		t.Run(tc.family, func(t *testing.T) {
			s := spec("x")
			tc.edit(&s)
			createTD(t, ns, tc.family, s)
			td := waitFamily(t, ns, tc.family, expect(0, 0, tc.reason, ecsv1.ReasonInvalidSpec))
			if msg := cond(td, ecsv1.ConditionValid).Message; msg == "" {
				t.Error("Valid=False has no message")
			}
			if got, _ := revisions(t, ns, tc.family); len(got) != 0 {
				t.Errorf("an invalid spec minted revisions %v", got)
			}
			if got := counter(t, ns, tc.family); got != "" {
				t.Errorf("an invalid spec took revision number %q", got)
			}
		})
	}

	// Fixing the spec mints revision 1.
	patchTD(t, ns, "cpu-sum", func(s *ecsv1.TaskDefinitionSpec) { s.CPU = "0.5 vCPU" })
	waitRevisions(t, ns, "cpu-sum", 1)
	waitFamily(t, ns, "cpu-sum", expect(1, 1, ecsv1.ReasonSpecValid, ecsv1.ReasonRevisionActive))

	// Breaking a valid spec keeps its revisions and mints nothing.
	patchTD(t, ns, "cpu-sum", func(s *ecsv1.TaskDefinitionSpec) { s.ContainerDefinitions[0].CPU = 1024 })
	waitFamily(t, ns, "cpu-sum", expect(1, 1, ecsv1.ReasonCPUExceedsTask, ecsv1.ReasonInvalidSpec))
	waitEvent(t, ns, "cpu-sum", "Invalid task definition cpu-sum: "+cond(getTD(t, ns, "cpu-sum"), ecsv1.ConditionValid).Message)
	if got, _ := revisions(t, ns, "cpu-sum"); !slices.Equal(got, []int32{1}) {
		t.Errorf("revisions %v, want [1]", got)
	}
	if got := counter(t, ns, "cpu-sum"); got != "1" {
		t.Errorf("counter %q, want 1", got)
	}
}

func TestRevisionInUseIsHeldUntilReleased(t *testing.T) {
	ctx := t.Context()
	ns := newNamespace(t)
	createTD(t, ns, "db", spec("db:a"))
	waitRevisions(t, ns, "db", 1)
	setImage(t, ns, "db", "db:b")
	waitRevisions(t, ns, "db", 1, 2)

	// A RUNNING Task holds db:1.
	task := runTask(t, ns, "t1", "db:1")
	deleteRevision(t, ns, "db", 1)
	framework.Eventually(t, wait, "db-1 is DELETE_IN_PROGRESS", func() error {
		st, err := revisionStatus(t, ns, "db", 1)
		if err != nil || st != ecsv1.RevisionDeleteInProgress {
			return fmt.Errorf("status %q, err %v", st, err)
		}
		return nil
	})
	consistently(t, time.Second, "db-1 stays while task t1 runs", func() error {
		_, err := revisionStatus(t, ns, "db", 1)
		return err
	})
	waitEvent(t, ns, "db-1", "Task definition db:1 is DELETE_IN_PROGRESS: still used by 1 task(s) (t1)")
	waitFamily(t, ns, "db", expect(2, 1, ecsv1.ReasonSpecValid, ecsv1.ReasonRevisionActive))
	stopTask(t, task)
	waitRevisions(t, ns, "db", 2)

	// A Service's deployment holds db:2.
	svc := &ecsv1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "s1"},
		Spec: ecsv1.ServiceSpec{TaskDefinition: "db", DesiredCount: ptr.To[int32](1)}}
	if err := env.Client.Create(ctx, svc); err != nil {
		t.Fatal(err)
	}
	svc.Status.TaskDefinition = "db:2"
	svc.Status.Deployments = []ecsv1.Deployment{{ID: "d1", Status: ecsv1.DeploymentPrimary, TaskDefinition: "db:2"}}
	if err := env.Client.Status().Update(ctx, svc); err != nil {
		t.Fatal(err)
	}
	framework.Eventually(t, wait, "the cache indexes Service s1", func() error {
		var list ecsv1.ServiceList
		if err := cached.List(ctx, &list, client.InNamespace(ns), client.MatchingFields{taskdefinition.IndexServiceRevision: "db:2"}); err != nil {
			return err
		}
		if len(list.Items) != 1 {
			return fmt.Errorf("%d services", len(list.Items))
		}
		return nil
	})
	deleteRevision(t, ns, "db", 2)
	framework.Eventually(t, wait, "db-2 is DELETE_IN_PROGRESS", func() error {
		st, err := revisionStatus(t, ns, "db", 2)
		if err != nil || st != ecsv1.RevisionDeleteInProgress {
			return fmt.Errorf("status %q, err %v", st, err)
		}
		return nil
	})
	consistently(t, time.Second, "db-2 stays while service s1 uses it", func() error {
		_, err := revisionStatus(t, ns, "db", 2)
		return err
	})
	if err := env.Client.Get(ctx, client.ObjectKeyFromObject(svc), svc); err != nil {
		t.Fatal(err)
	}
	svc.Status.TaskDefinition, svc.Status.Deployments = "", nil
	if err := env.Client.Status().Update(ctx, svc); err != nil {
		t.Fatal(err)
	}
	waitRevisions(t, ns, "db")
	waitEvent(t, ns, "db-2", "Deleted task definition db:2")
}

// TestDeregistration: spec.state INACTIVE is ECS DeregisterTaskDefinition;
// the manager reports it (status, Ready, an Event, the family's counts)
// and lists it in the namespace's revision status map, the admission
// policy's param; deleting it then is DeleteTaskDefinitions.
func TestDeregistration(t *testing.T) {
	ns := newNamespace(t)
	createTD(t, ns, "api", spec("api:a"))
	waitRevisions(t, ns, "api", 1)
	setImage(t, ns, "api", "api:b")
	waitRevisions(t, ns, "api", 1, 2)
	waitFamily(t, ns, "api", expect(2, 2, ecsv1.ReasonSpecValid, ecsv1.ReasonRevisionActive))
	if m := statusMap(t, ns); m != nil {
		t.Errorf("a status map %v with every revision ACTIVE", m)
	}
	// A task runs api:1 (it keeps running: the agent's business, not
	// checked here) and holds it once deleted.
	task := runTask(t, ns, "t1", "api:1")

	deregisterRevision(t, ns, "api", 1)
	framework.Eventually(t, wait, "api-1 INACTIVE", func() error {
		rev := &ecsv1.TaskDefinitionRevision{}
		if err := env.Client.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: "api-1"}, rev); err != nil {
			return err
		}
		c := meta.FindStatusCondition(rev.Status.Conditions, ecsv1.ConditionReady)
		if rev.Status.Status != ecsv1.RevisionInactive || c == nil || c.Status != metav1.ConditionTrue || c.Reason != ecsv1.ReasonRevisionDeregistered ||
			c.ObservedGeneration != rev.Generation {
			return fmt.Errorf("status %q, Ready %+v", rev.Status.Status, c)
		}
		return nil
	})
	waitEvent(t, ns, "api-1", "Deregistered task definition api:1: it is INACTIVE; its running tasks keep running and the services that use it can still scale, but no new task or service may use it")
	waitFamily(t, ns, "api", expect(2, 1, ecsv1.ReasonSpecValid, ecsv1.ReasonRevisionActive))
	framework.Eventually(t, wait, "the status map lists api-1", func() error {
		if m := statusMap(t, ns); fmt.Sprint(m) != "map[api-1:INACTIVE]" {
			return fmt.Errorf("map %v", m)
		}
		return nil
	})

	// The newest deregistered: the family holds its spec in no ACTIVE
	// revision, and says what to do.
	deregisterRevision(t, ns, "api", 2)
	td := waitFamily(t, ns, "api", expect(2, 0, ecsv1.ReasonSpecValid, ecsv1.ReasonRevisionNotActive))
	if c := cond(td, ecsv1.ConditionStalled); c.Status != metav1.ConditionTrue ||
		c.Message != "Task definition api:2 holds the current spec but is INACTIVE: change the spec to register a new revision" {
		t.Errorf("Stalled %+v", c)
	}
	// A new spec registers api:3, ACTIVE.
	setImage(t, ns, "api", "api:c")
	waitRevisions(t, ns, "api", 1, 2, 3)
	waitFamily(t, ns, "api", expect(3, 1, ecsv1.ReasonSpecValid, ecsv1.ReasonRevisionActive))

	// Deleted while a task runs it: DELETE_IN_PROGRESS in the map too.
	if err := env.Client.Delete(t.Context(), &ecsv1.TaskDefinitionRevision{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "api-1"}}); err != nil {
		t.Fatal(err)
	}
	framework.Eventually(t, wait, "the status map says api-1 is DELETE_IN_PROGRESS", func() error {
		if m := statusMap(t, ns); fmt.Sprint(m) != "map[api-1:DELETE_IN_PROGRESS api-2:INACTIVE]" {
			return fmt.Errorf("map %v", m)
		}
		return nil
	})
	stopTask(t, task)
	waitRevisions(t, ns, "api", 2, 3)
	framework.Eventually(t, wait, "api-1 leaves the status map", func() error {
		if m := statusMap(t, ns); fmt.Sprint(m) != "map[api-2:INACTIVE]" {
			return fmt.Errorf("map %v", m)
		}
		return nil
	})
}

func TestRevisionHistoryLimit(t *testing.T) {
	ns := newNamespace(t)
	s := spec("gc:1")
	s.RevisionHistoryLimit = ptr.To[int32](2)
	createTD(t, ns, "gc", s)
	waitRevisions(t, ns, "gc", 1)
	task := runTask(t, ns, "t1", "gc:1")

	for i := int32(2); i <= 6; i++ {
		setImage(t, ns, "gc", fmt.Sprintf("gc:%d", i))
		waitFamily(t, ns, "gc", func(td *ecsv1.TaskDefinition) error {
			if td.Status.LatestRevision != i {
				return fmt.Errorf("latestRevision %d", td.Status.LatestRevision)
			}
			return nil
		})
	}
	// The newest (6), the 2 newest unused older ones (5, 4) and the one
	// in use (1) stay.
	waitRevisions(t, ns, "gc", 1, 4, 5, 6)
	if st, err := revisionStatus(t, ns, "gc", 1); err != nil || st != ecsv1.RevisionActive {
		t.Fatalf("gc-1, used by a running task, is %q (err %v), want ACTIVE", st, err)
	}
	waitFamily(t, ns, "gc", expect(6, 4, ecsv1.ReasonSpecValid, ecsv1.ReasonRevisionActive))
	waitEvent(t, ns, "gc", "Deleting task definition gc:2: older than the 2 newest unused revisions kept by revisionHistoryLimit")

	stopTask(t, task)
	waitRevisions(t, ns, "gc", 4, 5, 6)
	waitFamily(t, ns, "gc", expect(6, 3, ecsv1.ReasonSpecValid, ecsv1.ReasonRevisionActive))
}

// setRegistration sets the annotation ecs.longshore.io/registration, as
// the ECS API's RegisterTaskDefinition does.
func setRegistration(t *testing.T, ns, name, value string) {
	t.Helper()
	td := getTD(t, ns, name)
	base := td.DeepCopy()
	if td.Annotations == nil {
		td.Annotations = map[string]string{}
	}
	td.Annotations[ecsv1.AnnotationRegistration] = value
	if err := env.Client.Patch(t.Context(), td, client.MergeFrom(base)); err != nil {
		t.Fatal(err)
	}
}

// TestRegistrationMintsEvenTheSameSpec: each new value of the registration
// annotation mints one revision of an unchanged spec (ECS
// RegisterTaskDefinition), which carries the value; a spec change with
// the annotation in place mints as usual, and an unrelated annotation
// mints nothing.
func TestRegistrationMintsEvenTheSameSpec(t *testing.T) {
	ns := newNamespace(t)
	createTD(t, ns, "reg", spec("busybox:1"))
	waitRevisions(t, ns, "reg", 1)

	setRegistration(t, ns, "reg", "r-one")
	revs := waitRevisions(t, ns, "reg", 1, 2)
	if got := revs[2].Annotations[ecsv1.AnnotationRegistration]; got != "r-one" {
		t.Errorf("revision 2 carries registration %q, want r-one", got)
	}
	if diff := cmp.Diff(revs[1].Spec.TaskDefinition, revs[2].Spec.TaskDefinition); diff != "" {
		t.Errorf("revision 2 is not revision 1's spec (-1 +2):\n%s", diff)
	}
	setRegistration(t, ns, "reg", "r-two")
	waitRevisions(t, ns, "reg", 1, 2, 3)

	// Another annotation, or the same registration again: nothing.
	td := getTD(t, ns, "reg")
	base := td.DeepCopy()
	td.Annotations["example.com/note"] = "x"
	if err := env.Client.Patch(t.Context(), td, client.MergeFrom(base)); err != nil {
		t.Fatal(err)
	}
	setRegistration(t, ns, "reg", "r-two")
	consistently(t, 2*time.Second, "no revision for an unchanged registration", func() error {
		if got, _ := revisions(t, ns, "reg"); !slices.Equal(got, []int32{1, 2, 3}) {
			return fmt.Errorf("revisions are %v", got)
		}
		return nil
	})
	setImage(t, ns, "reg", "busybox:2")
	waitRevisions(t, ns, "reg", 1, 2, 3, 4)
}
