//go:build cluster

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

package cluster

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/longshore-io/longshore/internal/ecsapi"
	"github.com/longshore-io/longshore/test/integration/framework"
)

// ecsAPIKey is the access key the scenario makes, and the user it acts as.
const (
	ecsAPIKeyID   = "AKIACLUSTERLAYER0001"
	ecsAPIUser    = "cluster-layer-ecs-user"
	ecsAPIKeyYAML = `apiVersion: v1
kind: Secret
metadata:
  name: ecs-key-cluster-layer
  namespace: longshore-system
  labels:
    ` + ecsapi.LabelAccessKeyID + `: ` + ecsAPIKeyID + `
type: ` + ecsapi.SecretType + `
stringData:
  ` + ecsapi.KeyAccessKeyID + `: ` + ecsAPIKeyID + `
  ` + ecsapi.KeySecretAccessKey + `: %s
  ` + ecsapi.KeyUser + `: ` + ecsAPIUser + `
  ` + ecsapi.KeyNamespace + `: default
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: cluster-layer-ecs-user, namespace: default}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: longshore-ecs-user}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: ` + ecsAPIUser + `}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: cluster-layer-ecs-user}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: longshore-ecs-cluster-reader}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: ` + ecsAPIUser + `}]
`
)

// testECSAPI: config/ecs-api on the real cluster — the image make images
// built, the Deployment with its TLS Secret, its RBAC — reached through
// kubectl port-forward by the AWS SDK for Go v2's ECS client with an
// access key: a task definition registered, a task run on the node's agent
// answering HTTP at the address DescribeTasks gives, stopped; then
// kubectl delete -k config/ecs-api.
func testECSAPI(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	certPEM := selfSignedTLS(t, dir)
	start := time.Now()
	mustKubectl(t, "", "-n", systemNS, "create", "secret", "tls", "longshore-ecs-api-tls",
		"--cert", filepath.Join(dir, "tls.crt"), "--key", filepath.Join(dir, "tls.key"))
	mustKubectl(t, "", "apply", "-k", "config/ecs-api")
	mustKubectl(t, "", "-n", systemNS, "wait", "--for", "condition=Available", "--timeout", "120s", "deployment/longshore-ecs-api")
	report("apply -k config/ecs-api → Deployment Available: %.1f s", time.Since(start).Seconds())
	secret := "cluster-layer-secret-" + fmt.Sprint(time.Now().UnixNano())
	mustKubectl(t, fmt.Sprintf(ecsAPIKeyYAML, secret), "apply", "-f", "-")
	defer func() {
		_, _ = env.kubectl.Run(fmt.Sprintf(ecsAPIKeyYAML, secret), "delete", "-f", "-", "--ignore-not-found")
		_, _ = env.kubectl.Run("", "delete", "-k", "config/ecs-api", "--ignore-not-found", "--timeout", "120s")
		_, _ = env.kubectl.Run("", "-n", systemNS, "delete", "secret", "longshore-ecs-api-tls", "--ignore-not-found")
	}()

	addr := portForward(t, "svc/longshore-ecs-api", 443)
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(certPEM)
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: pool, ServerName: "longshore-ecs-api.longshore-system.svc", MinVersion: tls.VersionTLS12}
	sdk := ecs.New(ecs.Options{Region: "us-east-1", BaseEndpoint: aws.String("https://" + addr),
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: ecsAPIKeyID, SecretAccessKey: secret}, nil
		}),
		HTTPClient: &http.Client{Transport: tr, Timeout: 30 * time.Second}})
	// The component learns the key from its watch.
	framework.Eventually(t, 30*time.Second, "the ECS API knows the key", func() error {
		_, err := sdk.ListClusters(ctx, &ecs.ListClustersInput{})
		return err
	})

	start = time.Now()
	reg, err := sdk.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{
		Family: aws.String("ecs-api-web"), NetworkMode: types.NetworkModeAwsvpc, Cpu: aws.String("256"), Memory: aws.String("128"),
		ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String("web"), Image: aws.String("localhost/longshore/busybox:latest"),
			Essential: aws.Bool(true), Command: []string{"sh", "-c", "echo from-the-ecs-api > /www/index.html; exec httpd -f -p 8080 -h /www"},
			PortMappings: []types.PortMapping{{ContainerPort: aws.Int32(8080)}}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	run, err := sdk.RunTask(ctx, &ecs.RunTaskInput{Cluster: aws.String("default"), TaskDefinition: reg.TaskDefinition.TaskDefinitionArn})
	if err != nil || len(run.Tasks) != 1 {
		t.Fatalf("RunTask: %v %+v", err, run)
	}
	arn := aws.ToString(run.Tasks[0].TaskArn)
	in := &ecs.DescribeTasksInput{Cluster: aws.String("default"), Tasks: []string{arn}}
	if err := ecs.NewTasksRunningWaiter(sdk).Wait(ctx, in, 3*time.Minute); err != nil {
		t.Fatalf("tasks-running: %v", err)
	}
	desc, err := sdk.DescribeTasks(ctx, in)
	if err != nil || len(desc.Tasks) != 1 {
		t.Fatalf("DescribeTasks: %v %+v", err, desc)
	}
	ip := ""
	for _, c := range desc.Tasks[0].Containers {
		for _, ni := range c.NetworkInterfaces {
			ip = aws.ToString(ni.PrivateIpv4Address)
		}
	}
	if ip == "" || !strings.Contains(aws.ToString(desc.Tasks[0].ContainerInstanceArn), ":container-instance/default/") {
		t.Fatalf("DescribeTasks: address %q, containerInstanceArn %q", ip, aws.ToString(desc.Tasks[0].ContainerInstanceArn))
	}
	url := fmt.Sprintf("http://%s:8080/", ip)
	framework.Eventually(t, 30*time.Second, "the task run through the ECS API answers "+url, func() error {
		body, err := framework.GetOK(url, 2*time.Second)
		if err == nil && !strings.Contains(body, "from-the-ecs-api") {
			err = fmt.Errorf("answered %q", body)
		}
		return err
	})
	report("ECS API: RegisterTaskDefinition + RunTask → tasks-running, answering at DescribeTasks' address: %.1f s", time.Since(start).Seconds())

	start = time.Now()
	if _, err := sdk.StopTask(ctx, &ecs.StopTaskInput{Cluster: aws.String("default"), Task: aws.String(arn), Reason: aws.String("cluster layer")}); err != nil {
		t.Fatal(err)
	}
	if err := ecs.NewTasksStoppedWaiter(sdk).Wait(ctx, in, 2*time.Minute); err != nil {
		t.Fatalf("tasks-stopped: %v", err)
	}
	report("ECS API: StopTask → tasks-stopped: %.1f s", time.Since(start).Seconds())
	// Leave the cluster as the next scenarios expect it: the first task only.
	id := arn[strings.LastIndex(arn, "/")+1:]
	for _, line := range strings.Split(mustKubectl(t, "", "get", "ecstask", "-o", "custom-columns=NAME:.metadata.name,UID:.metadata.uid", "--no-headers"), "\n") {
		if f := strings.Fields(line); len(f) == 2 && strings.ReplaceAll(f[1], "-", "") == id {
			mustKubectl(t, "", "delete", "ecstask", f[0], "--wait", "--timeout", "120s")
		}
	}
	mustKubectl(t, "", "delete", "td", "ecs-api-web", "--wait", "--timeout", "120s")
}

// selfSignedTLS writes tls.crt and tls.key for the ECS API's Service name
// into dir and returns the certificate.
func selfSignedTLS(t *testing.T, dir string) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: "longshore-ecs-api"},
		DNSNames:  []string{"longshore-ecs-api.longshore-system.svc", "localhost"},
		NotBefore: time.Now().Add(-time.Minute), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	if err := os.WriteFile(filepath.Join(dir, "tls.crt"), certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "tls.key"), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certPEM
}

var forwardingRE = regexp.MustCompile(`Forwarding from 127\.0\.0\.1:(\d+)`)

// portForward runs kubectl port-forward to port of target in the system
// namespace for the rest of the test and returns the local address.
func portForward(t *testing.T, target string, port int) string {
	t.Helper()
	cmd := exec.Command(env.kubectl.Bin, "--kubeconfig", env.kubectl.Kubeconfig, "-n", systemNS, "port-forward", "--address", "127.0.0.1", target, fmt.Sprintf(":%d", port))
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if m := forwardingRE.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
				break
			}
		}
		for sc.Scan() { // drain
		}
	}()
	select {
	case p := <-found:
		return net.JoinHostPort("127.0.0.1", p)
	case <-time.After(30 * time.Second):
		t.Fatalf("kubectl port-forward %s: no local port after 30 s; stderr: %s", target, stderr.String())
		return ""
	}
}
