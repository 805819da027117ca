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
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	clocktesting "k8s.io/utils/clock/testing"
)

// TestNodeIdentityToken: the first token creates the node's ServiceAccount
// (owned by its Node), every token is bound to the Node for at most an
// hour, and it is renewed at 80 % of its life. (The API server's side, the
// policy and the tokens' validity, is test/integration/confinement.)
func TestNodeIdentityToken(t *testing.T) {
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	cs := fake.NewClientset()
	var requests []*authenticationv1.TokenRequest
	cs.PrependReactor("create", "serviceaccounts", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if a.GetSubresource() != "token" {
			return false, nil, nil
		}
		if _, err := cs.Tracker().Get(corev1.SchemeGroupVersion.WithResource("serviceaccounts"), a.GetNamespace(), "node-1"); err != nil {
			return true, nil, err
		}
		tr := a.(k8stesting.CreateAction).GetObject().(*authenticationv1.TokenRequest).DeepCopy()
		requests = append(requests, tr)
		tr.Status = authenticationv1.TokenRequestStatus{Token: "token-" + string(rune('0'+len(requests))),
			ExpirationTimestamp: metav1.NewTime(now.Add(time.Duration(*tr.Spec.ExpirationSeconds) * time.Second))}
		return true, tr, nil
	})
	id := &NodeIdentity{Bootstrap: cs, Node: "node-1", NodeUID: "uid-1", Expiration: 2 * time.Hour, Clock: clocktesting.NewFakePassiveClock(now)}

	tok, err := id.Token()
	if err != nil {
		t.Fatal(err)
	}
	if tok.AccessToken != "token-1" || !tok.Expiry.Equal(now.Add(48*time.Minute)) {
		t.Errorf("token %q expiring %v, want token-1 renewed at 80 %% of an hour (%v)", tok.AccessToken, tok.Expiry, now.Add(48*time.Minute))
	}
	sa, err := cs.CoreV1().ServiceAccounts("longshore-agents").Get(t.Context(), "node-1", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("the node's ServiceAccount was not created: %v", err)
	}
	if len(sa.OwnerReferences) != 1 || sa.OwnerReferences[0].Kind != "Node" || sa.OwnerReferences[0].Name != "node-1" || sa.OwnerReferences[0].UID != "uid-1" {
		t.Errorf("ServiceAccount owners %+v, want Node node-1 (uid-1)", sa.OwnerReferences)
	}
	if _, err := id.Token(); err != nil {
		t.Fatal(err)
	}
	if len(requests) != 2 {
		t.Fatalf("%d token requests, want 2", len(requests))
	}
	for _, r := range requests {
		ref := r.Spec.BoundObjectRef
		if ref == nil || ref.Kind != "Node" || ref.Name != "node-1" || ref.UID != "uid-1" || *r.Spec.ExpirationSeconds != 3600 {
			t.Errorf("token request %+v: want bound to Node node-1 (uid-1) for 3600 s", r.Spec)
		}
	}
	if got := id.UserName(); got != "system:serviceaccount:longshore-agents:node-1" {
		t.Errorf("UserName = %q", got)
	}
}
