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
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/google/go-cmp/cmp"

	"github.com/longshore-io/longshore/internal/ecsapi"
)

func TestTags(t *testing.T) {
	k := user(t)
	ctx := t.Context()
	cluster := "tags-" + k.Namespace
	env.NewCluster(t, cluster, nil)
	tag := func(k, v string) types.Tag { return types.Tag{Key: aws.String(k), Value: aws.String(v)} }
	if _, err := k.ECS.RegisterTaskDefinition(ctx, webInput("busybox:1", tag("team", "web"))); err != nil {
		t.Fatal(err)
	}
	list := func(resource string) []types.Tag {
		t.Helper()
		out, err := k.ECS.ListTagsForResource(ctx, &ecs.ListTagsForResourceInput{ResourceArn: aws.String(resource)})
		if err != nil {
			t.Fatalf("ListTagsForResource %s: %v", resource, err)
		}
		return out.Tags
	}
	clusterARN, tdARN := arn("cluster/"+cluster), arn("task-definition/web:1")
	if diff := cmp.Diff([]types.Tag{}, list(clusterARN), tdUnexported); diff != "" {
		t.Errorf("a new cluster's tags (-want +got):\n%s", diff)
	}
	for _, r := range []string{clusterARN, tdARN} {
		if _, err := k.ECS.TagResource(ctx, &ecs.TagResourceInput{ResourceArn: aws.String(r), Tags: []types.Tag{tag("env", "prod"), tag("owner", "me")}}); err != nil {
			t.Fatalf("TagResource %s: %v", r, err)
		}
		if _, err := k.ECS.TagResource(ctx, &ecs.TagResourceInput{ResourceArn: aws.String(r), Tags: []types.Tag{tag("env", "staging")}}); err != nil {
			t.Fatalf("TagResource %s again: %v", r, err)
		}
		if _, err := k.ECS.UntagResource(ctx, &ecs.UntagResourceInput{ResourceArn: aws.String(r), TagKeys: []string{"owner"}}); err != nil {
			t.Fatalf("UntagResource %s: %v", r, err)
		}
	}
	if diff := cmp.Diff([]types.Tag{tag("env", "staging")}, list(clusterARN), tdUnexported); diff != "" {
		t.Errorf("the cluster's tags (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]types.Tag{tag("team", "web"), tag("env", "staging")}, list(tdARN), tdUnexported); diff != "" {
		t.Errorf("the task definition's tags (-want +got):\n%s", diff)
	}
	d, err := k.ECS.DescribeClusters(ctx, &ecs.DescribeClustersInput{Clusters: []string{cluster}, Include: []types.ClusterField{types.ClusterFieldTags}})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]types.Tag{tag("env", "staging")}, d.Clusters[0].Tags, tdUnexported); diff != "" {
		t.Errorf("DescribeClusters include TAGS (-want +got):\n%s", diff)
	}

	_, err = k.ECS.UntagResource(ctx, &ecs.UntagResourceInput{ResourceArn: aws.String(tdARN), TagKeys: []string{"team"}})
	wantError(t, "UntagResource of a registration tag", err, "InvalidParameterException", `"team" was given at registration`)
	_, err = k.ECS.TagResource(ctx, &ecs.TagResourceInput{ResourceArn: aws.String(arn("cluster/nope-" + k.Namespace)), Tags: []types.Tag{tag("a", "b")}})
	wantError(t, "TagResource of a missing cluster", err, "ClusterNotFoundException")
	_, err = k.ECS.TagResource(ctx, &ecs.TagResourceInput{ResourceArn: aws.String(arn("task-definition/web:5")), Tags: []types.Tag{tag("a", "b")}})
	wantError(t, "TagResource of a missing revision", err, "ResourceNotFoundException", "web:5")
	_, err = k.ECS.TagResource(ctx, &ecs.TagResourceInput{ResourceArn: aws.String(arn("capacity-provider/spot")), Tags: []types.Tag{tag("a", "b")}})
	wantError(t, "TagResource of a capacity provider", err, "InvalidParameterException", "not capacity-provider resources")
	_, err = k.ECS.TagResource(ctx, &ecs.TagResourceInput{ResourceArn: aws.String(arn("service/" + cluster + "/nope")), Tags: []types.Tag{tag("a", "b")}})
	wantError(t, "TagResource of a missing service", err, "ServiceNotFoundException")
}

func TestAccessDeniedThroughRBAC(t *testing.T) {
	ns := env.NewNamespace(t, "ecsapi-denied")
	k := newKey(t, "nobody-"+ns, ns) // no RoleBinding at all
	ctx := t.Context()
	_, err := k.ECS.ListTaskDefinitions(ctx, &ecs.ListTaskDefinitionsInput{})
	wantError(t, "ListTaskDefinitions", err, "AccessDeniedException", "Kubernetes RBAC refused it", `User "nobody-`+ns+`"`, "taskdefinitionrevisions", `namespace "`+ns+`"`)
	_, err = k.ECS.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("denied-" + ns)})
	wantError(t, "CreateCluster", err, "AccessDeniedException", `cannot create resource "clusters"`)
	_, err = k.ECS.RegisterTaskDefinition(ctx, webInput("busybox:1"))
	wantError(t, "RegisterTaskDefinition", err, "AccessDeniedException", "taskdefinitions")
}

// post sends body to the endpoint as action, signed by sign (nil: unsigned).
func post(t *testing.T, action, body string, sign func(*http.Request, []byte)) (int, map[string]string) {
	t.Helper()
	r, err := http.NewRequestWithContext(t.Context(), http.MethodPost, endpoint+"/", bytes.NewReader([]byte(body)))
	if err != nil {
		t.Fatal(err)
	}
	r.Header.Set("Content-Type", ecsapi.ContentType)
	r.Header.Set("X-Amz-Target", ecsapi.TargetPrefix+action)
	if sign != nil {
		sign(r, []byte(body))
	}
	resp, err := httpClient().Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, _ := io.ReadAll(resp.Body)
	var out map[string]string
	if resp.StatusCode != http.StatusOK {
		if err := json.Unmarshal(b, &out); err != nil {
			t.Fatalf("error body %q: %v", b, err)
		}
	}
	return resp.StatusCode, out
}

func signer(id, secret string, at time.Time) func(*http.Request, []byte) {
	return func(r *http.Request, body []byte) {
		sum := sha256.Sum256(body)
		_ = v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: id, SecretAccessKey: secret}, r, hex.EncodeToString(sum[:]), "ecs", "us-east-1", at)
	}
}

func TestAuthentication(t *testing.T) {
	k := user(t)
	ctx := t.Context()
	errOf := func(typ, msg string) map[string]string { return map[string]string{"__type": typ, "message": msg} }
	badSig := "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
	at := time.Now().UTC().Add(-10 * time.Minute)
	cases := map[string]struct {
		action string
		sign   func(*http.Request, []byte)
		status int
		want   map[string]string
	}{
		"unsigned":      {"ListClusters", nil, 400, errOf("MissingAuthenticationTokenException", "Missing Authentication Token")},
		"unknown key":   {"ListClusters", signer("AKIDUNKNOWN", "x", time.Now()), 400, errOf("UnrecognizedClientException", "The security token included in the request is invalid.")},
		"bad signature": {"ListClusters", signer(k.ID, "not-the-secret", time.Now()), 400, errOf("InvalidSignatureException", badSig)},
		"expired date": {"ListClusters", signer(k.ID, k.Secret, at), 400, errOf("InvalidSignatureException",
			"Signature expired: "+at.Format("20060102T150405Z")+" is now earlier than ")},
		"unknown operation": {"StartTelemetrySession", signer(k.ID, k.Secret, time.Now()), 400,
			errOf("UnknownOperationException", "Longshore's ECS API does not serve the operation StartTelemetrySession (docs/ecs-api.md lists those it serves)")},
		"signed": {"ListClusters", signer(k.ID, k.Secret, time.Now()), 200, nil},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			status, got := post(t, tc.action, "{}", tc.sign)
			if name == "expired date" && got != nil && len(got["message"]) > len(tc.want["message"]) {
				got["message"] = got["message"][:len(tc.want["message"])] // the rest names the server's clock
			}
			if diff := cmp.Diff([]any{tc.status, tc.want}, []any{status, got}); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	// The SDK's view of the same: error codes it can act on.
	_, err := sdk("AKIDUNKNOWN", "x").ListClusters(ctx, &ecs.ListClustersInput{})
	wantError(t, "the SDK with an unknown key", err, "UnrecognizedClientException")
	_, err = sdk(k.ID, "wrong").ListClusters(ctx, &ecs.ListClustersInput{})
	wantError(t, "the SDK with a wrong secret", err, "InvalidSignatureException")
}
