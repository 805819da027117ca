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
	"context"
	"errors"
	"fmt"
	"time"

	"golang.org/x/oauth2"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/transport"
	"k8s.io/utils/clock"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"

	ecsv1 "github.com/longshore-io/longshore/api/v1alpha1"
)

// User extra keys of a ServiceAccount token bound to a pod (and so to its
// node) or to a node (k8s.io/apiserver/pkg/authentication/serviceaccount).
const (
	extraNodeName = "authentication.kubernetes.io/node-name"
	extraNodeUID  = "authentication.kubernetes.io/node-uid"
)

// NodeIdentity is the identity of a DaemonSet agent: the ServiceAccount
// longshore-agents/<node>, which no other node's agent can act as. Its pod's
// own ServiceAccount (longshore-system/longshore-agent, shared by every node)
// only bootstraps it: that token names the pod's node, and the admission
// policy longshore-agent-bootstrap lets it create nothing but its node's
// ServiceAccount and tokens of it, bound to the Node. The manager binds the
// reads of the node's tasks to that ServiceAccount, and the write policies
// derive the instance from its name, as for a certificate
// longshore-agent:<instance>. This is the kubelet's per-node credential
// without a certificate signer: a token lives an hour (renewed at 80 %),
// dies with its Node, and all of them die when the ServiceAccount is
// deleted.
type NodeIdentity struct {
	// Bootstrap is the pod's own identity.
	Bootstrap kubernetes.Interface
	// Node and NodeUID are the node the bootstrap token names.
	Node, NodeUID string
	// Expiration is the tokens' lifetime (default and at most an hour).
	Expiration time.Duration
	Clock      clock.PassiveClock
}

// NewNodeIdentity asks the API server whom the bootstrap credentials of cfg
// name (SelfSubjectReview): a ServiceAccount token bound to a pod on a
// node. instance, when set, must be that node.
func NewNodeIdentity(ctx context.Context, cfg *rest.Config, instance string) (*NodeIdentity, error) {
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	review, err := cs.AuthenticationV1().SelfSubjectReviews().Create(ctx, &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
	if err != nil {
		return nil, fmt.Errorf("--node-identity: asking the API server who this agent is: %w", err)
	}
	u := review.Status.UserInfo
	node := first(u.Extra[extraNodeName])
	if node == "" {
		return nil, fmt.Errorf("--node-identity: the agent's credentials (%s) are not a ServiceAccount token bound to a pod on a node "+
			"(the one the kubelet mounts, Kubernetes 1.32 or later): they name no node", u.Username)
	}
	if instance != "" && instance != node {
		return nil, fmt.Errorf("--node-identity: --instance-name %q is not this pod's node %q: a DaemonSet agent's instance is its node", instance, node)
	}
	return &NodeIdentity{Bootstrap: cs, Node: node, NodeUID: first(u.Extra[extraNodeUID]), Clock: clock.RealClock{}}, nil
}

func first(v authenticationv1.ExtraValue) string {
	if len(v) == 1 {
		return v[0]
	}
	return ""
}

// UserName is the identity's user name.
func (n *NodeIdentity) UserName() string {
	return "system:serviceaccount:" + ecsv1.AgentIdentityNamespace + ":" + n.Node
}

// Config returns base (the bootstrap configuration: server and CA) acting
// as the node's identity: every request carries a token of it, requested
// when none is valid and again on a 401.
func (n *NodeIdentity) Config(base *rest.Config) *rest.Config {
	cfg := rest.AnonymousClientConfig(base)
	cfg.Wrap(transport.ResettableTokenSourceWrapTransport(transport.NewCachedTokenSource(n)))
	return cfg
}

// Token implements oauth2.TokenSource: a token of the node's ServiceAccount,
// bound to the Node, created with its ServiceAccount on first use.
func (n *NodeIdentity) Token() (*oauth2.Token, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	exp := n.Expiration
	if exp <= 0 || exp > time.Hour {
		exp = time.Hour
	}
	req := &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{
		ExpirationSeconds: ptr.To(int64(exp / time.Second)),
		BoundObjectRef:    &authenticationv1.BoundObjectReference{APIVersion: "v1", Kind: "Node", Name: n.Node, UID: types.UID(n.NodeUID)},
	}}
	sas := n.Bootstrap.CoreV1().ServiceAccounts(ecsv1.AgentIdentityNamespace)
	start := n.Clock.Now()
	tr, err := sas.CreateToken(ctx, n.Node, req, metav1.CreateOptions{})
	if apierrors.IsNotFound(err) {
		if err := n.ensureServiceAccount(ctx); err != nil {
			return nil, err
		}
		tr, err = sas.CreateToken(ctx, n.Node, req, metav1.CreateOptions{})
	}
	if err != nil {
		return nil, fmt.Errorf("requesting a token of ServiceAccount %s/%s: %w", ecsv1.AgentIdentityNamespace, n.Node, err)
	}
	if tr.Status.Token == "" {
		return nil, errors.New("the API server returned an empty token")
	}
	// Renew at 80 % of the lifetime, as the kubelet renews pod tokens.
	life := tr.Status.ExpirationTimestamp.Sub(start)
	return &oauth2.Token{AccessToken: tr.Status.Token, TokenType: "Bearer", Expiry: start.Add(life * 4 / 5)}, nil
}

// ensureServiceAccount creates the node's ServiceAccount, owned by the Node
// so that the garbage collector deletes it (and so every token of it) with
// the Node.
func (n *NodeIdentity) ensureServiceAccount(ctx context.Context) error {
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ecsv1.AgentIdentityNamespace, Name: n.Node}}
	if n.NodeUID != "" {
		sa.OwnerReferences = []metav1.OwnerReference{{APIVersion: "v1", Kind: "Node", Name: n.Node, UID: types.UID(n.NodeUID)}}
	}
	ctrl.Log.WithName("node-identity").Info("Creating this node's agent identity", "serviceAccount", ecsv1.AgentIdentityNamespace+"/"+n.Node)
	if _, err := n.Bootstrap.CoreV1().ServiceAccounts(ecsv1.AgentIdentityNamespace).Create(ctx, sa, metav1.CreateOptions{}); err != nil &&
		!apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating ServiceAccount %s/%s, this node's agent identity: %w", ecsv1.AgentIdentityNamespace, n.Node, err)
	}
	return nil
}
