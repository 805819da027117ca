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

package ecsapi

import (
	"context"
	"crypto/x509"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"

	ecsv1 "github.com/longshore-io/longshore/api/v1alpha1"
	"github.com/longshore-io/longshore/test/integration/framework"
)

// TestBinary: the longshore-ecs-api binary as an operator runs it: its
// flags (region, account id, the written certificate), /healthz, a signed
// call, a clean exit on SIGTERM.
func TestBinary(t *testing.T) {
	bin := framework.BuildBinary(t, "./cmd/ecs-api")
	k := user(t)
	port := framework.FreePort(t)
	certPath := filepath.Join(t.TempDir(), "ecs-api.pem")
	p := framework.StartUnmanaged(t, bin, "--kubeconfig", env.AdminKubeconfig(t),
		"--bind-address", fmt.Sprintf("127.0.0.1:%d", port), "--namespace", keyNamespace,
		"--region", "eu-west-1", "--account-id", "123456789012", "--write-generated-cert", certPath)
	t.Cleanup(func() { p.StopAndReport(t) })

	pool := x509.NewCertPool()
	framework.Eventually(t, 30*time.Second, "the generated certificate is written", func() error {
		b, err := os.ReadFile(certPath)
		if err != nil {
			return err
		}
		if !pool.AppendCertsFromPEM(b) {
			return fmt.Errorf("%s holds no certificate", certPath)
		}
		return nil
	})
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig.RootCAs = pool
	hc := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	base := fmt.Sprintf("https://127.0.0.1:%d", port)
	framework.Eventually(t, 10*time.Second, "/healthz answers", func() error {
		resp, err := hc.Get(base + "/healthz")
		if err != nil {
			return err
		}
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("status %d", resp.StatusCode)
		}
		return nil
	})

	c := ecs.New(ecs.Options{Region: "eu-west-1", BaseEndpoint: aws.String(base), HTTPClient: hc, Retryer: aws.NopRetryer{},
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: k.ID, SecretAccessKey: k.Secret}, nil
		})})
	name := "bin-" + k.Namespace
	t.Cleanup(func() { _ = env.Client.Delete(context.Background(), &ecsv1.Cluster{ObjectMeta: objectMeta(name)}) })
	var out *ecs.CreateClusterOutput
	framework.Eventually(t, 10*time.Second, "the binary knows the key", func() error {
		var err error
		out, err = c.CreateCluster(t.Context(), &ecs.CreateClusterInput{ClusterName: aws.String(name)})
		return err
	})
	if got, want := aws.ToString(out.Cluster.ClusterArn), "arn:aws:ecs:eu-west-1:123456789012:cluster/"+name; got != want {
		t.Errorf("clusterArn %s, want %s (the --region and --account-id flags)", got, want)
	}
	// A call signed for another region than the binary's.
	wrongRegion := ecs.New(ecs.Options{Region: "us-east-1", BaseEndpoint: aws.String(base), HTTPClient: hc, Retryer: aws.NopRetryer{},
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: k.ID, SecretAccessKey: k.Secret}, nil
		})})
	_, err := wrongRegion.ListClusters(t.Context(), &ecs.ListClustersInput{})
	wantError(t, "a call signed for us-east-1", err, "InvalidSignatureException", "Credential should be scoped to a valid region, not 'us-east-1'")

	if err := p.Stop(10 * time.Second); err != nil {
		t.Errorf("SIGTERM: %v, want a clean exit", err)
	}
}
