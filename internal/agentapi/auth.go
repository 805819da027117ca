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

package agentapi

import (
	"context"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apiserver/pkg/authentication/authenticator"
	"k8s.io/apiserver/pkg/authentication/authenticatorfactory"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	"k8s.io/apiserver/pkg/authorization/authorizerfactory"
	"k8s.io/apiserver/pkg/server/dynamiccertificates"
	"k8s.io/client-go/kubernetes"
)

// The ConfigMap in which the API server publishes its client CA (as it
// does for aggregated API servers), readable through the built-in Role
// extension-apiserver-authentication-reader.
const (
	AuthenticationConfigMapNamespace = "kube-system"
	AuthenticationConfigMapName      = "extension-apiserver-authentication"
	clientCAKey                      = "client-ca-file"
)

// How long answers of the API server are reused: a token's review, an
// allowed and a denied access review. Revoking a RoleBinding takes effect
// within AllowCacheTTL.
const (
	TokenCacheTTL = 2 * time.Minute
	AllowCacheTTL = 30 * time.Second
	DenyCacheTTL  = 5 * time.Second
)

// ClientCA returns the cluster's client CA bundle as the API server
// publishes it in kube-system/extension-apiserver-authentication.
func ClientCA(ctx context.Context, cs kubernetes.Interface) ([]byte, error) {
	cm, err := cs.CoreV1().ConfigMaps(AuthenticationConfigMapNamespace).Get(ctx, AuthenticationConfigMapName, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, fmt.Errorf("the API server publishes no client CA (ConfigMap %s/%s): give the agent --client-ca-file",
			AuthenticationConfigMapNamespace, AuthenticationConfigMapName)
	}
	if err != nil {
		return nil, fmt.Errorf("reading the cluster's client CA from ConfigMap %s/%s (RoleBinding to Role extension-apiserver-authentication-reader, or --client-ca-file): %w",
			AuthenticationConfigMapNamespace, AuthenticationConfigMapName, err)
	}
	ca := cm.Data[clientCAKey]
	if ca == "" {
		return nil, fmt.Errorf("ConfigMap %s/%s has no %s: the API server authenticates no client certificates; give the agent --client-ca-file",
			AuthenticationConfigMapNamespace, AuthenticationConfigMapName, clientCAKey)
	}
	return []byte(ca), nil
}

// NewDelegatingAuth returns the kubelet's authentication and
// authorisation: client certificates verified against clientCA (user =
// CN, groups = O), bearer tokens through TokenReview, anonymous requests
// refused; every request authorised through SubjectAccessReview.
func NewDelegatingAuth(cs kubernetes.Interface, clientCA []byte) (authenticator.Request, authorizer.Authorizer, error) {
	backoff := &wait.Backoff{Duration: 500 * time.Millisecond, Factor: 1.5, Jitter: 0.2, Steps: 5}
	ca, err := dynamiccertificates.NewStaticCAContent("client-ca", clientCA)
	if err != nil {
		return nil, nil, fmt.Errorf("the cluster's client CA: %w", err)
	}
	authn, _, err := authenticatorfactory.DelegatingAuthenticatorConfig{
		TokenAccessReviewClient:            cs.AuthenticationV1(),
		TokenAccessReviewTimeout:           10 * time.Second,
		WebhookRetryBackoff:                backoff,
		CacheTTL:                           TokenCacheTTL,
		ClientCertificateCAContentProvider: ca,
	}.New()
	if err != nil {
		return nil, nil, err
	}
	authz, err := authorizerfactory.DelegatingAuthorizerConfig{
		SubjectAccessReviewClient: cs.AuthorizationV1(),
		AllowCacheTTL:             AllowCacheTTL,
		DenyCacheTTL:              DenyCacheTTL,
		WebhookRetryBackoff:       backoff,
	}.New()
	if err != nil {
		return nil, nil, err
	}
	return authn, authz, nil
}
