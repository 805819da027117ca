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

package confinement

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ecsv1 "github.com/longshore-io/longshore/api/v1alpha1"
	lsruntime "github.com/longshore-io/longshore/internal/runtime"
	"github.com/longshore-io/longshore/test/integration/framework"
)

// webDefinition reads a Secret, repository credentials, an environment
// file, a FireLens secretOption and s3 configuration file, and a Secret and
// a ConfigMap volume: every kind of read the agent does.
func webDefinition() ecsv1.TaskDefinitionSpec {
	return ecsv1.TaskDefinitionSpec{
		NetworkMode: ecsv1.NetworkModeAWSVPC, CPU: "256", Memory: "512",
		ContainerDefinitions: []ecsv1.ContainerDefinition{
			{
				Name: "app", Image: "registry.example/app:1", Essential: ptr.To(true),
				Secrets:               []ecsv1.ContainerSecret{{Name: "DB_PASSWORD", ValueFrom: "db:password"}},
				RepositoryCredentials: &ecsv1.RepositoryCredentials{CredentialsParameter: "registry"},
				EnvironmentFiles:      []ecsv1.EnvironmentFile{{Type: "s3", Value: "arn:aws:s3:::bucket/app.env"}},
				LogConfiguration: &ecsv1.LogConfiguration{LogDriver: "awsfirelens",
					Options:       map[string]ecsv1.OptionValue{"Name": "stdout"},
					SecretOptions: []ecsv1.ContainerSecret{{Name: "apikey", ValueFrom: "log-key:value"}}},
				MountPoints: []ecsv1.MountPoint{{SourceVolume: "certs", ContainerPath: "/certs"}, {SourceVolume: "conf", ContainerPath: "/conf"}},
			},
			{
				Name: "router", Image: "registry.example/fluent-bit:1", Essential: ptr.To(true),
				FirelensConfiguration: &ecsv1.FirelensConfiguration{Type: "fluentbit", Options: map[string]ecsv1.OptionValue{
					"config-file-type": "s3", "config-file-value": "arn:aws:s3:::bucket/fluent.conf"}},
			},
		},
		Volumes: []ecsv1.Volume{
			{Name: "certs", Secret: &ecsv1.SecretVolume{SecretName: "tls"}},
			{Name: "conf", ConfigMap: &ecsv1.ConfigMapVolume{Name: "app-conf"}},
		},
	}
}

func create(t *testing.T, objs ...client.Object) {
	t.Helper()
	for _, o := range objs {
		if err := env.Client.Create(t.Context(), o); err != nil {
			t.Fatalf("creating %T %s: %v", o, o.GetName(), err)
		}
	}
}

func secret(ns, name string, data map[string]string) *corev1.Secret {
	return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, StringData: data}
}

func configMap(ns, name string, data map[string]string) *corev1.ConfigMap {
	return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Data: data}
}

func task(ns, name, family, instance string) *ecsv1.Task {
	return &ecsv1.Task{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: ecsv1.TaskSpec{TaskDefinition: family + ":1", ContainerInstance: instance}}
}

func getTask(t *testing.T, ns, name string) *ecsv1.Task {
	t.Helper()
	got := &ecsv1.Task{}
	if err := env.Client.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: name}, got); err != nil {
		t.Fatal(err)
	}
	return got
}

func waitTask(t *testing.T, ns, name string, phase ecsv1.TaskStatusPhase) *ecsv1.Task {
	t.Helper()
	var got *ecsv1.Task
	framework.Eventually(t, 30*time.Second, fmt.Sprintf("task %s %s", name, phase), func() error {
		got = &ecsv1.Task{}
		if err := env.Client.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: name}, got); err != nil {
			return err
		}
		if got.Status.LastStatus != phase {
			return fmt.Errorf("lastStatus %q (%s)", got.Status.LastStatus, got.Status.StoppedReason)
		}
		return nil
	})
	return got
}

// canRead tells whether c may get the Secret (or ConfigMap) ns/name.
func canRead(t *testing.T, c client.Client, obj client.Object, ns, name string) error {
	err := c.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: name}, obj)
	if err != nil && !apierrors.IsForbidden(err) {
		t.Fatalf("reading %s/%s: %v", ns, name, err)
	}
	return err
}

// eventuallyReads waits until c may (or may not) read the Secret ns/name:
// the manager grants and revokes asynchronously.
func eventuallyReads(t *testing.T, who string, c client.Client, ns, name string, want bool) {
	t.Helper()
	framework.Eventually(t, 20*time.Second, fmt.Sprintf("%s reads Secret %s: %v", who, name, want), func() error {
		err := canRead(t, c, &corev1.Secret{}, ns, name)
		if (err == nil) != want {
			return fmt.Errorf("read error: %v", err)
		}
		return nil
	})
}

func hasEnv(spec lsruntime.ContainerSpec, kv string) bool { return slices.Contains(spec.Env, kv) }

// TestAgentConfinement replays the measured escapes with agent dev-a's own
// certificate and checks that each is refused with a message naming the
// rule and the identities, while two real agents register, heartbeat, run
// a task that reads every kind of Secret and ConfigMap, report its status,
// hold and release their finalizer, and lose the reads when the task stops
// or moves to the other instance.
func TestAgentConfinement(t *testing.T) {
	ctx := t.Context()
	ns := env.NewNamespace(t, "confine")
	cfgA, err := env.UserConfig("longshore-agent:dev-a", "longshore:agents")
	if err != nil {
		t.Fatal(err)
	}
	cfgB, err := env.UserConfig("longshore-agent:dev-b", "longshore:agents")
	if err != nil {
		t.Fatal(err)
	}
	a := startAgent(t, "dev-a", cfgA)
	b := startAgent(t, "dev-b", cfgB)

	create(t,
		secret(ns, "db", map[string]string{"password": "s3cret"}),
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "registry"}, Type: corev1.SecretTypeDockerConfigJson,
			StringData: map[string]string{corev1.DockerConfigJsonKey: `{"auths":{"registry.example":{"username":"u","password":"p"}}}`}},
		secret(ns, "log-key", map[string]string{"value": "k3y"}),
		secret(ns, "tls", map[string]string{"tls.crt": "cert"}),
		secret(ns, "only-b", map[string]string{"password": "b-only"}),
		secret(ns, "unused", map[string]string{"password": "nobody's"}),
		configMap(ns, "bucket-app.env", map[string]string{"MODE": "prod"}),
		configMap(ns, "bucket-fluent.conf", map[string]string{"fluent.conf": "[OUTPUT]\n    Name null\n"}),
		configMap(ns, "app-conf", map[string]string{"app.yaml": "x: 1"}),
	)
	env.NewFamily(t, ns, "web", webDefinition())
	env.NewFamily(t, ns, "db-b", ecsv1.TaskDefinitionSpec{NetworkMode: ecsv1.NetworkModeAWSVPC, CPU: "256", Memory: "512",
		ContainerDefinitions: []ecsv1.ContainerDefinition{{Name: "db", Image: "registry.example/db:1",
			Secrets: []ecsv1.ContainerSecret{{Name: "PASSWORD", ValueFrom: "only-b:password"}}}}})
	create(t, task(ns, "web", "web", "dev-a"), task(ns, "db-b", "db-b", "dev-b"))

	// What agents legitimately do: register (ContainerInstance and its
	// status), heartbeat (Lease), run the tasks bound to them (status
	// patches, finalizer), reading every Secret and ConfigMap they use.
	web := waitTask(t, ns, "web", ecsv1.TaskRunning)
	waitTask(t, ns, "db-b", ecsv1.TaskRunning)
	if !slices.Contains(web.Finalizers, ecsv1.FinalizerAgent) {
		t.Errorf("web finalizers %v: the agent did not add its own", web.Finalizers)
	}
	app, ok := a.rt.Spec(lsruntime.ContainerID(string(web.UID), "app", 0))
	if !ok || !hasEnv(app, "DB_PASSWORD=s3cret") || !hasEnv(app, "MODE=prod") {
		t.Errorf("dev-a's app container env %v: want the Secret's DB_PASSWORD and the environment file's MODE", app.Env)
	}
	for _, name := range []string{"dev-a", "dev-b"} {
		ci := &ecsv1.ContainerInstance{}
		if err := env.Client.Get(ctx, client.ObjectKey{Name: name}, ci); err != nil {
			t.Fatal(err)
		}
		if ci.Status.RegisteredResources == nil || ci.Status.AgentVersion == "" {
			t.Errorf("ContainerInstance %s status %+v: not reported by its agent", name, ci.Status)
		}
		lease := &coordinationv1.Lease{}
		if err := env.Client.Get(ctx, client.ObjectKey{Namespace: "longshore-system", Name: name}, lease); err != nil {
			t.Errorf("heartbeat Lease %s: %v", name, err)
		}
	}
	// The manager keeps exactly what dev-a's tasks reference, for its identities.
	role := &rbacv1.Role{}
	if err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "longshore-agent:dev-a"}, role); err != nil {
		t.Fatal(err)
	}
	wantRules := []rbacv1.PolicyRule{
		{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"get"}, ResourceNames: []string{"db", "log-key", "registry", "tls"}},
		{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"get"}, ResourceNames: []string{"app-conf", "bucket-app.env", "bucket-fluent.conf"}},
	}
	if d := cmp.Diff(wantRules, role.Rules); d != "" {
		t.Errorf("Role longshore-agent:dev-a rules (-want +got):\n%s", d)
	}
	binding := &rbacv1.RoleBinding{}
	if err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "longshore-agent:dev-a"}, binding); err != nil {
		t.Fatal(err)
	}
	wantSubjects := []rbacv1.Subject{
		{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: "longshore-agent:dev-a"},
		{Kind: rbacv1.ServiceAccountKind, Namespace: "longshore-agents", Name: "dev-a"},
	}
	if d := cmp.Diff(wantSubjects, binding.Subjects); d != "" {
		t.Errorf("RoleBinding longshore-agent:dev-a subjects (-want +got):\n%s", d)
	}
	for _, name := range []string{"db", "registry", "log-key", "tls"} {
		if err := canRead(t, a.c, &corev1.Secret{}, ns, name); err != nil {
			t.Errorf("dev-a cannot read Secret %s its task uses: %v", name, err)
		}
	}
	for _, name := range []string{"bucket-app.env", "bucket-fluent.conf", "app-conf"} {
		if err := canRead(t, a.c, &corev1.ConfigMap{}, ns, name); err != nil {
			t.Errorf("dev-a cannot read ConfigMap %s its task uses: %v", name, err)
		}
	}

	t.Run("the measured probes are refused", func(t *testing.T) {
		// 1. The status of a Task bound to dev-b.
		other := getTask(t, ns, "db-b")
		refused(t, "dev-a patches the status of Task db-b (bound to dev-b)",
			"ValidatingAdmissionPolicy 'longshore-agent-tasks' with binding 'longshore-agent-tasks' denied request: "+
				"longshore-agent:dev-a may only write Tasks bound to its own instance dev-a; this Task is bound to dev-b",
			func(dry bool) error {
				forged := other.DeepCopy()
				forged.Status.StoppedReason = "forged by agent-a"
				return a.c.Status().Patch(ctx, forged, client.MergeFrom(other), &client.SubResourcePatchOptions{PatchOptions: *patchOpts(dry)})
			})
		// 2. dev-b's ContainerInstance status.
		ciB := &ecsv1.ContainerInstance{}
		if err := env.Client.Get(ctx, client.ObjectKey{Name: "dev-b"}, ciB); err != nil {
			t.Fatal(err)
		}
		refused(t, "dev-a patches ContainerInstance dev-b's status (agentConnected: false)",
			"ValidatingAdmissionPolicy 'longshore-agent-containerinstances' with binding 'longshore-agent-containerinstances' denied request: "+
				"longshore-agent:dev-a may only write its own ContainerInstance dev-a; this is ContainerInstance dev-b",
			func(dry bool) error {
				forged := ciB.DeepCopy()
				forged.Status.AgentConnected = ptr.To(false)
				return a.c.Status().Patch(ctx, forged, client.MergeFrom(ciB), &client.SubResourcePatchOptions{PatchOptions: *patchOpts(dry)})
			})
		// 3. A Secret only a task on dev-b uses, and one no task uses.
		for _, name := range []string{"only-b", "unused"} {
			err := canRead(t, a.c, &corev1.Secret{}, ns, name)
			want := fmt.Sprintf(`secrets "%s" is forbidden: User "longshore-agent:dev-a" cannot get resource "secrets" in API group "" in the namespace "%s"`, name, ns)
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("dev-a reads Secret %s: %v, want %q", name, err, want)
			} else {
				t.Logf("dev-a reads Secret %s: refused: %s", name, err)
			}
		}
		if err := canRead(t, b.c, &corev1.Secret{}, ns, "only-b"); err != nil {
			t.Errorf("dev-b cannot read Secret only-b its task uses: %v", err)
		}
		if err := canRead(t, b.c, &corev1.Secret{}, ns, "db"); err == nil {
			t.Error("dev-b reads Secret db, which only dev-a's task uses")
		}
	})

	t.Run("what else an agent might try is refused", func(t *testing.T) {
		mine := getTask(t, ns, "web")
		refused(t, "dev-a changes the spec of its own Task web",
			"longshore-agent:dev-a may change only the status and the finalizer ecs.longshore.io/agent of Task "+ns+"/web; this write changes its spec",
			func(dry bool) error {
				p := mine.DeepCopy()
				p.Spec.DesiredStatus = ecsv1.DesiredStopped
				return a.c.Patch(ctx, p, client.MergeFrom(mine), dryRun(dry)...)
			})
		refused(t, "dev-a adds another finalizer to its own Task web",
			"longshore-agent:dev-a may change only the status and the finalizer ecs.longshore.io/agent of Task "+ns+"/web; this write changes its other finalizers",
			func(dry bool) error {
				p := mine.DeepCopy()
				p.Finalizers = append(p.Finalizers, "example.com/hold")
				return a.c.Patch(ctx, p, client.MergeFrom(mine), dryRun(dry)...)
			})
		refused(t, "dev-a labels its own Task web",
			"this write changes its metadata.labels",
			func(dry bool) error {
				p := mine.DeepCopy()
				p.Labels = map[string]string{"x": "y"}
				return a.c.Patch(ctx, p, client.MergeFrom(mine), dryRun(dry)...)
			})
		other := getTask(t, ns, "db-b")
		refused(t, "dev-a removes dev-b's finalizer from Task db-b",
			"longshore-agent:dev-a may only write Tasks bound to its own instance dev-a; this Task is bound to dev-b",
			func(dry bool) error {
				p := other.DeepCopy()
				p.Finalizers = nil
				return a.c.Patch(ctx, p, client.MergeFrom(other), dryRun(dry)...)
			})
		refused(t, "dev-a creates a Task", `User "longshore-agent:dev-a" cannot create resource "tasks"`, func(dry bool) error {
			opts := []client.CreateOption{}
			if dry {
				opts = append(opts, client.DryRunAll)
			}
			return a.c.Create(ctx, task(ns, "sneaky", "web", "dev-a"), opts...)
		})
		refused(t, "dev-a deletes Task db-b", `User "longshore-agent:dev-a" cannot delete resource "tasks"`, func(dry bool) error {
			opts := []client.DeleteOption{}
			if dry {
				opts = append(opts, client.DryRunAll)
			}
			return a.c.Delete(ctx, other, opts...)
		})
		refused(t, "dev-a lists Secrets", `User "longshore-agent:dev-a" cannot list resource "secrets"`, func(bool) error {
			return a.c.List(ctx, &corev1.SecretList{}, client.InNamespace(ns))
		})

		ciA := &ecsv1.ContainerInstance{}
		if err := env.Client.Get(ctx, client.ObjectKey{Name: "dev-a"}, ciA); err != nil {
			t.Fatal(err)
		}
		refused(t, "dev-a undrains itself (spec.state of its own ContainerInstance)",
			"longshore-agent:dev-a may not change the spec of ContainerInstance dev-a (state, attributes): it is the user's",
			func(dry bool) error {
				p := ciA.DeepCopy()
				p.Spec.State = ecsv1.ContainerInstanceDraining
				return a.c.Patch(ctx, p, client.MergeFrom(ciA), dryRun(dry)...)
			})
		refused(t, "dev-a takes another task subnet (status.taskCIDR of its own ContainerInstance)",
			"longshore-agent:dev-a may not change status.taskCIDR of ContainerInstance dev-a: the manager writes them",
			func(dry bool) error {
				p := ciA.DeepCopy()
				p.Status.TaskCIDR = "10.222.99.0/24"
				return a.c.Status().Patch(ctx, p, client.MergeFrom(ciA), &client.SubResourcePatchOptions{PatchOptions: *patchOpts(dry)})
			})
		refused(t, "dev-a registers another instance",
			"longshore-agent:dev-a may only write its own ContainerInstance dev-a; this is ContainerInstance dev-c",
			func(dry bool) error {
				opts := []client.CreateOption{}
				if dry {
					opts = append(opts, client.DryRunAll)
				}
				return a.c.Create(ctx, &ecsv1.ContainerInstance{ObjectMeta: metav1.ObjectMeta{Name: "dev-c"}}, opts...)
			})
		refused(t, "dev-a deletes its own ContainerInstance",
			`User "longshore-agent:dev-a" cannot delete resource "containerinstances"`,
			func(dry bool) error {
				opts := []client.DeleteOption{}
				if dry {
					opts = append(opts, client.DryRunAll)
				}
				return a.c.Delete(ctx, ciA, opts...)
			})
		leaseB := &coordinationv1.Lease{}
		if err := env.Client.Get(ctx, client.ObjectKey{Namespace: "longshore-system", Name: "dev-b"}, leaseB); err != nil {
			t.Fatal(err)
		}
		refused(t, "dev-a renews dev-b's Lease",
			"ValidatingAdmissionPolicy 'longshore-agent-leases' with binding 'longshore-agent-leases' denied request: "+
				"longshore-agent:dev-a may only write its own heartbeat Lease dev-a; this is Lease longshore-system/dev-b",
			func(dry bool) error {
				p := leaseB.DeepCopy()
				p.Spec.HolderIdentity = ptr.To("dev-a")
				opts := []client.UpdateOption{}
				if dry {
					opts = append(opts, client.DryRunAll)
				}
				return a.c.Update(ctx, p, opts...)
			})
		refused(t, "dev-a creates a Lease outside longshore-system",
			`User "longshore-agent:dev-a" cannot create resource "leases" in API group "coordination.k8s.io" in the namespace "`+ns+`"`,
			func(dry bool) error {
				opts := []client.CreateOption{}
				if dry {
					opts = append(opts, client.DryRunAll)
				}
				return a.c.Create(ctx, &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "dev-a"}}, opts...)
			})

		// A member of longshore:agents that names no instance writes nothing.
		cfgM, err := env.UserConfig("mallory", "longshore:agents")
		if err != nil {
			t.Fatal(err)
		}
		m, err := client.New(cfgM, client.Options{Scheme: env.Scheme})
		if err != nil {
			t.Fatal(err)
		}
		refused(t, "mallory (group longshore:agents) patches ContainerInstance dev-a's status",
			"mallory is in group longshore:agents but is not named longshore-agent:<instance>: it may write no ContainerInstance",
			func(dry bool) error {
				p := ciA.DeepCopy()
				p.Status.AgentVersion = "forged"
				return m.Status().Patch(ctx, p, client.MergeFrom(ciA), &client.SubResourcePatchOptions{PatchOptions: *patchOpts(dry)})
			})

		// The manager grants only the agents' reads, and cannot read them itself.
		mc, err := client.New(managerCfg, client.Options{Scheme: env.Scheme})
		if err != nil {
			t.Fatal(err)
		}
		if err := canRead(t, mc, &corev1.Secret{}, ns, "db"); err == nil {
			t.Error("longshore-manager reads Secret db")
		}
		createOpts := func(dry bool) []client.CreateOption {
			if dry {
				return []client.CreateOption{client.DryRunAll}
			}
			return nil
		}
		refused(t, "the manager creates another Role",
			"longshore-manager may only write the Roles and RoleBindings named longshore-agent:<instance> that let an agent read its tasks' Secrets and ConfigMaps; this is Role "+ns+"/reader",
			func(dry bool) error {
				return mc.Create(ctx, &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "reader"},
					Rules: []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"get"}, ResourceNames: []string{"db"}}}}, createOpts(dry)...)
			})
		refused(t, "the manager grants every Secret to an agent",
			"longshore-manager may only grant get on named Secrets or ConfigMaps in Role "+ns+"/longshore-agent:dev-c",
			func(dry bool) error {
				return mc.Create(ctx, &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "longshore-agent:dev-c"},
					Rules: []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"get", "list"}}}}, createOpts(dry)...)
			})
		refused(t, "the manager binds an agent's Role to itself",
			"longshore-manager may only bind RoleBinding "+ns+"/longshore-agent:dev-a to the agent of instance dev-a (User longshore-agent:dev-a, ServiceAccount longshore-agents/dev-a); refused subjects: User longshore-manager",
			func(dry bool) error {
				rb := binding.DeepCopy()
				rb.Subjects = append(rb.Subjects, rbacv1.Subject{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: "longshore-manager"})
				opts := []client.UpdateOption{}
				if dry {
					opts = append(opts, client.DryRunAll)
				}
				return mc.Update(ctx, rb, opts...)
			})
	})

	t.Run("a stopped task's reads are revoked, and a moved task's go with it", func(t *testing.T) {
		// dev-a still writes its own task's status (a dry run changes nothing).
		mine := getTask(t, ns, "web")
		p := mine.DeepCopy()
		p.Status.StoppedReason = "dry run by its own agent"
		if err := a.c.Status().Patch(ctx, p, client.MergeFrom(mine), &client.SubResourcePatchOptions{PatchOptions: *patchOpts(true)}); err != nil {
			t.Errorf("dev-a patches the status of its own Task web: %v", err)
		}

		// Stopped: the task stays bound to dev-a, STOPPED, and its reads go.
		stop := mine.DeepCopy()
		stop.Spec.DesiredStatus = ecsv1.DesiredStopped
		if err := env.Client.Patch(ctx, stop, client.MergeFrom(mine)); err != nil {
			t.Fatal(err)
		}
		waitTask(t, ns, "web", ecsv1.TaskStopped)
		eventuallyReads(t, "dev-a (its task STOPPED)", a.c, ns, "db", false)
		framework.Eventually(t, 10*time.Second, "Role longshore-agent:dev-a deleted", func() error {
			err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "longshore-agent:dev-a"}, &rbacv1.Role{})
			if !apierrors.IsNotFound(err) {
				return fmt.Errorf("get: %v", err)
			}
			return nil
		})

		// Deleted: dev-a releases its finalizer, and the Task goes.
		if err := env.Client.Delete(ctx, getTask(t, ns, "web")); err != nil {
			t.Fatal(err)
		}
		framework.Eventually(t, 20*time.Second, "web deleted (the agent's finalizer released)", func() error {
			err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "web"}, &ecsv1.Task{})
			if !apierrors.IsNotFound(err) {
				return fmt.Errorf("get: %v", err)
			}
			return nil
		})

		// Moved: the same task again, bound to dev-b. dev-b reads what it
		// uses and runs it; dev-a reads none of it.
		create(t, task(ns, "web", "web", "dev-b"))
		moved := waitTask(t, ns, "web", ecsv1.TaskRunning)
		app, ok := b.rt.Spec(lsruntime.ContainerID(string(moved.UID), "app", 0))
		if !ok || !hasEnv(app, "DB_PASSWORD=s3cret") {
			t.Errorf("dev-b's app container env %v: want the Secret's DB_PASSWORD", app.Env)
		}
		for _, name := range []string{"db", "registry", "log-key", "tls", "only-b"} {
			if err := canRead(t, b.c, &corev1.Secret{}, ns, name); err != nil {
				t.Errorf("dev-b cannot read Secret %s its tasks use: %v", name, err)
			}
			if err := canRead(t, a.c, &corev1.Secret{}, ns, name); err == nil {
				t.Errorf("dev-a still reads Secret %s, which only dev-b's tasks use", name)
			}
		}
		if err := canRead(t, a.c, &corev1.ConfigMap{}, ns, "bucket-app.env"); err == nil {
			t.Error("dev-a still reads ConfigMap bucket-app.env, which only dev-b's task uses")
		}
		refused(t, "dev-a patches the status of the moved Task web",
			"longshore-agent:dev-a may only write Tasks bound to its own instance dev-a; this Task is bound to dev-b",
			func(dry bool) error {
				forged := moved.DeepCopy()
				forged.Status.StoppedReason = "forged by agent-a"
				return a.c.Status().Patch(ctx, forged, client.MergeFrom(moved), &client.SubResourcePatchOptions{PatchOptions: *patchOpts(dry)})
			})
		// Clean up through the agent, so that its finalizer goes.
		for _, name := range []string{"web", "db-b"} {
			if err := env.Client.Delete(ctx, getTask(t, ns, name)); err != nil {
				t.Fatal(err)
			}
		}
		framework.Eventually(t, 20*time.Second, "the tasks deleted", func() error {
			var list ecsv1.TaskList
			if err := env.Client.List(ctx, &list, client.InNamespace(ns)); err != nil {
				return err
			}
			if len(list.Items) > 0 {
				return fmt.Errorf("%d left", len(list.Items))
			}
			return nil
		})
		eventuallyReads(t, "dev-b (no task left)", b.c, ns, "only-b", false)
	})
}

func patchOpts(dry bool) *client.PatchOptions {
	o := &client.PatchOptions{}
	if dry {
		o.DryRun = []string{metav1.DryRunAll}
	}
	return o
}
