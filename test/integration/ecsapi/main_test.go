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

// Package ecsapi tests longshore-ecs-api with the AWS SDK for Go v2's own
// ECS client against envtest, the manager's controllers running (they
// mint the revisions), the component running as its ServiceAccount with
// the RBAC of config/ecs-api.
package ecsapi

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/smithy-go"
	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/longshore-io/longshore/controllers/service"
	"github.com/longshore-io/longshore/internal/ecsapi"
	"github.com/longshore-io/longshore/test/integration/framework"
	"github.com/longshore-io/longshore/test/integration/managertest"
)

// keyNamespace holds the access key Secrets (the component's namespace).
const keyNamespace = managertest.LeaseNamespace

var (
	env      *framework.Env
	endpoint string
	caPool   *x509.CertPool
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	var err error
	var stop func()
	log := logr.Discard()
	if os.Getenv("LONGSHORE_TEST_LOG") != "" {
		log = zap.New(zap.UseDevMode(true))
	} else {
		ctrl.SetLogger(log)
	}
	env, stop, err = managertest.Setup(managertest.Options{AgentGrace: 2 * time.Second, InstanceLostTimeout: time.Minute, ResolveGrace: time.Second,
		Service: &service.Reconciler{InactiveRetention: inactiveRetention}})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer stop()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := installECSAPIRBAC(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "installing config/ecs-api RBAC:", err)
		return 1
	}
	// The component as its ServiceAccount: what config/ecs-api grants it,
	// nothing more.
	cfg, err := env.UserConfig("system:serviceaccount:longshore-system:longshore-ecs-api", "system:serviceaccounts")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	cfg.QPS, cfg.Burst = ecsapi.DefaultQPS, ecsapi.DefaultBurst // the binary's defaults
	r, err := ecsapi.Serve(ctx, ecsapi.ServeOptions{Config: cfg, Scheme: env.Scheme, Namespace: keyNamespace,
		BindAddress: "127.0.0.1:0", CertHosts: []string{"127.0.0.1"}, RegisterTimeout: 20 * time.Second, Log: log})
	if err != nil {
		fmt.Fprintln(os.Stderr, "starting the ECS API:", err)
		return 1
	}
	endpoint = "https://" + r.Addr
	caPool = x509.NewCertPool()
	if !caPool.AppendCertsFromPEM(r.CertPEM) {
		fmt.Fprintln(os.Stderr, "the serving certificate does not parse")
		return 1
	}
	return m.Run()
}

func installECSAPIRBAC(ctx context.Context) error {
	for _, f := range []string{"rbac.yaml", "user_roles.yaml"} {
		data, err := os.ReadFile(filepath.Join(framework.RepoRoot(), "config", "ecs-api", f))
		if err != nil {
			return err
		}
		objs, err := framework.DecodeYAML(data)
		if err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
		for _, o := range objs {
			if err := env.Client.Create(ctx, o); err != nil {
				return fmt.Errorf("%s: %s %s: %w", f, o.GetKind(), o.GetName(), err)
			}
		}
	}
	return nil
}

func httpClient() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig.RootCAs = caPool
	return &http.Client{Transport: tr, Timeout: 60 * time.Second}
}

// sdk is the AWS SDK's ECS client for a key (id, secret).
func sdk(id, secret string) *ecs.Client {
	return ecs.New(ecs.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(endpoint),
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: id, SecretAccessKey: secret, Source: "test"}, nil
		}),
		HTTPClient: httpClient(),
		Retryer:    aws.NopRetryer{},
	})
}

type key struct {
	ID, Secret, User, Namespace string
	ECS                         *ecs.Client
}

func random(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// newKey makes an access key Secret for user acting in ns and waits
// until the component knows it.
func newKey(t *testing.T, user, ns string) *key {
	t.Helper()
	k := &key{ID: "AKID" + strings.ToUpper(random(8)), Secret: random(20), User: user, Namespace: ns}
	s := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: keyNamespace, Name: "ecs-key-" + strings.ToLower(k.ID),
			Labels: map[string]string{ecsapi.LabelAccessKeyID: k.ID}},
		Type: ecsapi.SecretType,
		StringData: map[string]string{ecsapi.KeyAccessKeyID: k.ID, ecsapi.KeySecretAccessKey: k.Secret,
			ecsapi.KeyUser: user, ecsapi.KeyGroups: "ecs-testers", ecsapi.KeyNamespace: ns},
	}
	if err := env.Client.Create(t.Context(), s); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Client.Delete(context.Background(), s) })
	k.ECS = sdk(k.ID, k.Secret)
	framework.Eventually(t, 10*time.Second, "the component knows key "+k.ID, func() error {
		_, err := k.ECS.ListTaskDefinitionFamilies(t.Context(), &ecs.ListTaskDefinitionFamiliesInput{})
		if code, _ := apiError(err); code == "UnrecognizedClientException" {
			return err
		}
		return nil
	})
	return k
}

// user is a key whose user may use the ECS API in a fresh namespace
// (longshore-ecs-user there) and manage clusters.
func user(t *testing.T) *key {
	t.Helper()
	ns := env.NewNamespace(t, "ecsapi")
	name := "ecs-user-" + ns
	bind(t, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "ecs-user"},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "longshore-ecs-user"},
		Subjects: []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: "User", Name: name}}})
	bind(t, &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: name},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "longshore-ecs-cluster-admin"},
		Subjects: []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: "User", Name: name}}})
	return newKey(t, name, ns)
}

func bind(t *testing.T, o client.Object) {
	t.Helper()
	if err := env.Client.Create(t.Context(), o); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Client.Delete(context.Background(), o) })
}

// apiError is the error code and message an SDK call failed with.
func apiError(err error) (string, string) {
	if err == nil {
		return "", ""
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode(), ae.ErrorMessage()
	}
	return "not an API error", err.Error()
}

// wantError fails unless err is an API error code whose message holds
// every part.
func wantError(t *testing.T, what string, err error, code string, parts ...string) {
	t.Helper()
	gotCode, msg := apiError(err)
	if gotCode != code {
		t.Errorf("%s: error %q (%s), want %s", what, gotCode, msg, code)
		return
	}
	for _, p := range parts {
		if !strings.Contains(msg, p) {
			t.Errorf("%s: message %q does not say %q", what, msg, p)
		}
	}
}

func arn(resource string) string { return "arn:aws:ecs:us-east-1:000000000000:" + resource }

func objectMeta(name string) metav1.ObjectMeta { return metav1.ObjectMeta{Name: name} }

func errorsAs[T error](err error, target *T) bool { return errors.As(err, target) }

func errorf(format string, args ...any) error { return fmt.Errorf(format, args...) }

func eventually(t *testing.T, what string, cond func() error) {
	t.Helper()
	framework.Eventually(t, 10*time.Second, what, cond)
}

func waitFor(t *testing.T, timeout time.Duration, what string, cond func() error) {
	t.Helper()
	framework.Eventually(t, timeout, what, cond)
}
