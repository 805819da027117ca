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
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/google/go-cmp/cmp"
)

var sigNow = time.Date(2026, 12, 2, 1, 0, 0, 0, time.UTC)

// signed is a ListClusters request signed by the SDK's signer with
// (id, secret) for service/region at t, then changed by mutate.
func signed(t *testing.T, id, secret, service, region string, at time.Time, body string, mutate func(*http.Request)) *http.Request {
	t.Helper()
	r, err := http.NewRequest(http.MethodPost, "https://ecs.example.com/", bytes.NewReader([]byte(body)))
	if err != nil {
		t.Fatal(err)
	}
	r.Header.Set("Content-Type", ContentType)
	r.Header.Set("X-Amz-Target", TargetPrefix+"ListClusters")
	r.Header.Set("User-Agent", "test")
	sum := sha256.Sum256([]byte(body))
	if err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: id, SecretAccessKey: secret}, r, hex.EncodeToString(sum[:]), service, region, at); err != nil {
		t.Fatal(err)
	}
	// What a server sees: Host out of the headers.
	r.Host = r.URL.Host
	if mutate != nil {
		mutate(r)
	}
	return r
}

func TestVerify(t *testing.T) {
	lookup := func(_ context.Context, id string) (string, bool, error) {
		if id == "AKIDGOOD" {
			return "s3cr3t", true, nil
		}
		return "", false, nil
	}
	const body = `{"maxResults":5}`
	cases := map[string]struct {
		req      *http.Request
		body     string
		wantType string
		wantMsg  string
	}{
		"signed":                {req: signed(t, "AKIDGOOD", "s3cr3t", "ecs", "us-east-1", sigNow.Add(-time.Minute), body, nil)},
		"signed a little ahead": {req: signed(t, "AKIDGOOD", "s3cr3t", "ecs", "us-east-1", sigNow.Add(4*time.Minute), body, nil)},
		"unsigned": {req: signed(t, "AKIDGOOD", "s3cr3t", "ecs", "us-east-1", sigNow, body, func(r *http.Request) { r.Header.Del("Authorization") }),
			wantType: "MissingAuthenticationTokenException", wantMsg: "Missing Authentication Token"},
		"unknown key": {req: signed(t, "AKIDNOPE", "s3cr3t", "ecs", "us-east-1", sigNow, body, nil),
			wantType: "UnrecognizedClientException", wantMsg: "The security token included in the request is invalid."},
		"wrong secret": {req: signed(t, "AKIDGOOD", "guess", "ecs", "us-east-1", sigNow, body, nil),
			wantType: "InvalidSignatureException", wantMsg: "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."},
		"body changed after signing": {req: signed(t, "AKIDGOOD", "s3cr3t", "ecs", "us-east-1", sigNow, body, nil), body: `{"maxResults":6}`,
			wantType: "InvalidSignatureException", wantMsg: "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."},
		"target changed after signing": {req: signed(t, "AKIDGOOD", "s3cr3t", "ecs", "us-east-1", sigNow, body, func(r *http.Request) { r.Header.Set("X-Amz-Target", TargetPrefix+"DeleteCluster") }),
			wantType: "InvalidSignatureException", wantMsg: "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."},
		"expired": {req: signed(t, "AKIDGOOD", "s3cr3t", "ecs", "us-east-1", sigNow.Add(-6*time.Minute), body, nil),
			wantType: "InvalidSignatureException", wantMsg: "Signature expired: 20261202T005400Z is now earlier than 20261202T005500Z (20261202T010000Z - 5 min.)"},
		"from the future": {req: signed(t, "AKIDGOOD", "s3cr3t", "ecs", "us-east-1", sigNow.Add(6*time.Minute), body, nil),
			wantType: "InvalidSignatureException", wantMsg: "Signature not yet current: 20261202T010600Z is still later than 20261202T010500Z (20261202T010000Z + 5 min.)"},
		"another service": {req: signed(t, "AKIDGOOD", "s3cr3t", "s3", "us-east-1", sigNow, body, nil),
			wantType: "InvalidSignatureException", wantMsg: "Credential should be scoped to correct service: 'ecs'."},
		"another region": {req: signed(t, "AKIDGOOD", "s3cr3t", "ecs", "eu-west-1", sigNow, body, nil),
			wantType: "InvalidSignatureException", wantMsg: "Credential should be scoped to a valid region, not 'eu-west-1': this endpoint serves us-east-1."},
		"session token": {req: signed(t, "AKIDGOOD", "s3cr3t", "ecs", "us-east-1", sigNow, body, func(r *http.Request) { r.Header.Set("X-Amz-Security-Token", "tok") }),
			wantType: "UnrecognizedClientException", wantMsg: "The security token included in the request is invalid: Longshore's ECS API takes long-term access keys only, not session tokens"},
		"not sigv4": {req: signed(t, "AKIDGOOD", "s3cr3t", "ecs", "us-east-1", sigNow, body, func(r *http.Request) { r.Header.Set("Authorization", "Basic Zm9vOmJhcg==") }),
			wantType: "IncompleteSignatureException", wantMsg: `Authorization header requires the algorithm AWS4-HMAC-SHA256, not "Basic"`},
		"no signature": {req: signed(t, "AKIDGOOD", "s3cr3t", "ecs", "us-east-1", sigNow, body, func(r *http.Request) {
			r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKIDGOOD/20261202/us-east-1/ecs/aws4_request, SignedHeaders=host;x-amz-date")
		}), wantType: "IncompleteSignatureException", wantMsg: "Authorization header requires Signature"},
		"scope date is not the request's": {req: signed(t, "AKIDGOOD", "s3cr3t", "ecs", "us-east-1", sigNow, body, func(r *http.Request) { r.Header.Set("X-Amz-Date", "20261201T235900Z") }),
			wantType: "InvalidSignatureException", wantMsg: "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '20261202' != '20261201', from '20261201T235900Z'."},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			b := tc.body
			if b == "" {
				b = body
			}
			id, err := verify(context.Background(), tc.req, []byte(b), "us-east-1", sigNow, lookup)
			var gotType, gotMsg string
			if err != nil {
				gotType, gotMsg = err.Type, err.Message
			} else if id != "AKIDGOOD" {
				t.Errorf("verified as %q, want AKIDGOOD", id)
			}
			if diff := cmp.Diff([2]string{tc.wantType, tc.wantMsg}, [2]string{gotType, gotMsg}); diff != "" {
				t.Errorf("error (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseAuthorization(t *testing.T) {
	got, err := parseAuthorization("AWS4-HMAC-SHA256 Credential=AKID/20261202/us-east-1/ecs/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=abcd")
	if err != nil {
		t.Fatal(err)
	}
	want := authorization{AccessKeyID: "AKID", Date: "20261202", Region: "us-east-1", Service: "ecs",
		SignedHeaders: []string{"content-type", "host", "x-amz-date"}, Signature: "abcd"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if _, err := parseAuthorization("AWS4-HMAC-SHA256 Credential=AKID/20261202/us-east-1/ecs, SignedHeaders=host, Signature=ab"); err == nil {
		t.Errorf("a credential without aws4_request was accepted")
	}
}
