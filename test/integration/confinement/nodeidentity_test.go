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
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ecsv1 "github.com/longshore-io/longshore/api/v1alpha1"
	"github.com/longshore-io/longshore/internal/agent"
	"github.com/longshore-io/longshore/test/integration/framework"
)

// kubeletToken is what the kubelet mounts into the DaemonSet's agent pod on
// node: a token of ServiceAccount longshore-system/longshore-agent bound to
// the pod, which the API server ties to the pod's node. There is no kubelet
// here: the test makes the Node and the Pod objects and requests the token
// as the kubelet does.
func kubeletToken(t *testing.T, node string) (*rest.Config, *corev1.Node) {
	t.Helper()
	ctx := t.Context()
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: node}}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "longshore-system", Name: "longshore-agent-" + node},
		Spec: corev1.PodSpec{ServiceAccountName: "longshore-agent", NodeName: node,
			Containers: []corev1.Container{{Name: "agent", Image: "longshore/agent:latest"}}}}
	create(t, n, pod)
	t.Cleanup(func() {
		_ = env.Client.Delete(context.Background(), pod)
		_ = env.Client.Delete(context.Background(), n)
	})
	tr := &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{
		ExpirationSeconds: ptr.To[int64](3607),
		BoundObjectRef:    &authenticationv1.BoundObjectReference{APIVersion: "v1", Kind: "Pod", Name: pod.Name, UID: pod.UID},
	}}
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: "longshore-system", Name: "longshore-agent"}}
	if err := env.Client.SubResource("token").Create(ctx, sa, tr); err != nil {
		t.Fatalf("requesting the pod's token: %v", err)
	}
	cfg := rest.AnonymousClientConfig(env.Env.Config)
	cfg.BearerToken = tr.Status.Token
	return cfg, n
}

// TestNodeIdentity is the DaemonSet's path: an agent pod's token (shared
// ServiceAccount, bound to its node) bootstraps only the node's own
// identity, ServiceAccount longshore-agents/<node>, which the same policies
// and per-instance RBAC confine as a certificate longshore-agent:<instance>.
func TestNodeIdentity(t *testing.T) {
	ctx := t.Context()
	ns := env.NewNamespace(t, "node-identity")
	bootCfg, node := kubeletToken(t, "node-c")
	boot, err := client.New(bootCfg, client.Options{Scheme: env.Scheme})
	if err != nil {
		t.Fatal(err)
	}

	if _, err := agent.NewNodeIdentity(ctx, bootCfg, "dev-a"); err == nil ||
		!strings.Contains(err.Error(), `--instance-name "dev-a" is not this pod's node "node-c"`) {
		t.Fatalf("an agent on node-c claiming instance dev-a: %v", err)
	}
	id, err := agent.NewNodeIdentity(ctx, bootCfg, "")
	if err != nil {
		t.Fatal(err)
	}
	if id.Node != "node-c" || id.NodeUID != string(node.UID) {
		t.Fatalf("the pod's token names node %q (uid %q), want node-c (%s)", id.Node, id.NodeUID, node.UID)
	}

	// What the bootstrap identity may not do: anything of an agent, and
	// another node's identity.
	refused(t, "the pod's own ServiceAccount reads Tasks",
		`User "system:serviceaccount:longshore-system:longshore-agent" cannot list resource "tasks"`,
		func(bool) error { return boot.List(ctx, &ecsv1.TaskList{}) })
	refused(t, "the agent pod on node-c creates node dev-a's identity",
		"ValidatingAdmissionPolicy 'longshore-agent-bootstrap' with binding 'longshore-agent-bootstrap' denied request: "+
			"system:serviceaccount:longshore-system:longshore-agent on node node-c may only create the identity of its own node, "+
			"ServiceAccount longshore-agents/node-c, and its tokens; this is ServiceAccount longshore-agents/dev-a",
		func(dry bool) error {
			opts := []client.CreateOption{}
			if dry {
				opts = append(opts, client.DryRunAll)
			}
			return boot.Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: "longshore-agents", Name: "dev-a"}}, opts...)
		})
	otherSA := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: "longshore-agents", Name: "dev-a"}}
	create(t, otherSA)
	refused(t, "the agent pod on node-c requests a token of node dev-a's identity",
		"may only create the identity of its own node, ServiceAccount longshore-agents/node-c, and its tokens; "+
			"this is a token of ServiceAccount longshore-agents/dev-a",
		func(dry bool) error {
			opts := []client.SubResourceCreateOption{}
			if dry {
				opts = append(opts, client.DryRunAll)
			}
			return boot.SubResource("token").Create(ctx, otherSA, &authenticationv1.TokenRequest{}, opts...)
		})
	mySA := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: "longshore-agents", Name: "node-c"}}
	refused(t, "the agent pod on node-c requests an unbound token of its node's identity",
		"system:serviceaccount:longshore-system:longshore-agent on node node-c may only request tokens bound to its Node node-c that expire within an hour",
		func(dry bool) error {
			opts := []client.SubResourceCreateOption{}
			if dry {
				opts = append(opts, client.DryRunAll)
			}
			// The ServiceAccount is created on first use below; until
			// then the request fails before admission with NotFound.
			if err := env.Client.Get(ctx, client.ObjectKeyFromObject(mySA), &corev1.ServiceAccount{}); apierrors.IsNotFound(err) {
				if err := env.Client.Create(ctx, mySA.DeepCopy()); err != nil {
					return err
				}
			}
			return boot.SubResource("token").Create(ctx, mySA, &authenticationv1.TokenRequest{
				Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](3600)}}, opts...)
		})
	// The agent creates its identity itself, owned by its Node: start from none.
	if err := env.Client.Delete(ctx, mySA); err != nil {
		t.Fatal(err)
	}

	// The node's identity: the agent registers, heartbeats and is confined
	// like a certificate agent.
	c := startAgent(t, "node-c", id.Config(bootCfg))
	sa := &corev1.ServiceAccount{}
	if err := env.Client.Get(ctx, client.ObjectKey{Namespace: "longshore-agents", Name: "node-c"}, sa); err != nil {
		t.Fatalf("the node's identity: %v", err)
	}
	if len(sa.OwnerReferences) != 1 || sa.OwnerReferences[0].Kind != "Node" || sa.OwnerReferences[0].UID != node.UID {
		t.Errorf("ServiceAccount longshore-agents/node-c owners %+v: want its Node", sa.OwnerReferences)
	}
	review := &authenticationv1.SelfSubjectReview{}
	if err := c.c.Create(ctx, review); err != nil {
		t.Fatal(err)
	}
	if u := review.Status.UserInfo; u.Username != "system:serviceaccount:longshore-agents:node-c" ||
		len(u.Extra["authentication.kubernetes.io/node-name"]) != 1 || u.Extra["authentication.kubernetes.io/node-name"][0] != "node-c" {
		t.Errorf("the agent acts as %s %v, want ServiceAccount longshore-agents/node-c bound to node-c", u.Username, u.Extra)
	}

	create(t, secret(ns, "c-secret", map[string]string{"password": "c"}), secret(ns, "other", map[string]string{"password": "o"}))
	env.NewFamily(t, ns, "on-c", ecsv1.TaskDefinitionSpec{NetworkMode: ecsv1.NetworkModeAWSVPC, CPU: "256", Memory: "512",
		ContainerDefinitions: []ecsv1.ContainerDefinition{{Name: "app", Image: "registry.example/app:1",
			Secrets: []ecsv1.ContainerSecret{{Name: "PASSWORD", ValueFrom: "c-secret:password"}}}}})
	create(t, task(ns, "on-c", "on-c", "node-c"))
	waitTask(t, ns, "on-c", ecsv1.TaskRunning)
	if err := canRead(t, c.c, &corev1.Secret{}, ns, "c-secret"); err != nil {
		t.Errorf("node-c cannot read the Secret its task uses: %v", err)
	}
	if err := canRead(t, c.c, &corev1.Secret{}, ns, "other"); err == nil ||
		!strings.Contains(err.Error(), `User "system:serviceaccount:longshore-agents:node-c" cannot get resource "secrets"`) {
		t.Errorf("node-c reads a Secret no task of it uses: %v", err)
	}
	ciA := &ecsv1.ContainerInstance{ObjectMeta: metav1.ObjectMeta{Name: "dev-a"}}
	refused(t, "node-c's agent writes ContainerInstance dev-a",
		"system:serviceaccount:longshore-agents:node-c may only write its own ContainerInstance node-c; this is ContainerInstance dev-a",
		func(dry bool) error {
			opts := []client.CreateOption{}
			if dry {
				opts = append(opts, client.DryRunAll)
			}
			return c.c.Create(ctx, ciA.DeepCopy(), opts...)
		})

	// Deleting the task takes the read away; deleting the Node, the identity.
	if err := env.Client.Delete(ctx, getTask(t, ns, "on-c")); err != nil {
		t.Fatal(err)
	}
	eventuallyReads(t, "node-c (task deleted)", c.c, ns, "c-secret", false)
	if err := env.Client.Delete(ctx, node); err != nil {
		t.Fatal(err)
	}
	// A client that asks for a token anew, and the agent's, which has one.
	fresh, err := client.New(id.Config(bootCfg), client.Options{Scheme: env.Scheme})
	if err != nil {
		t.Fatal(err)
	}
	for _, cl := range []client.Client{fresh, c.c} {
		framework.Eventually(t, 20*time.Second, "node-c's identity unusable once its Node is gone", func() error {
			err := cl.Get(ctx, client.ObjectKey{Name: "node-c"}, &ecsv1.ContainerInstance{})
			if err == nil {
				return fmt.Errorf("still authenticated")
			}
			if !apierrors.IsUnauthorized(err) && !strings.Contains(err.Error(), `requesting a token of ServiceAccount longshore-agents/node-c: nodes "node-c" not found`) {
				return fmt.Errorf("refused for another reason: %v", err)
			}
			t.Logf("node-c's identity after its Node was deleted: %v", err)
			return nil
		})
	}
}
