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
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// Service is the SigV4 signing name of ECS.
const Service = "ecs"

// MaxSkew is how far a request's X-Amz-Date may be from the server's
// clock, as AWS allows.
const MaxSkew = 5 * time.Minute

const (
	sigAlgorithm = "AWS4-HMAC-SHA256"
	amzDateFmt   = "20060102T150405Z"
)

// authorization is a parsed SigV4 Authorization header.
type authorization struct {
	AccessKeyID   string
	Date          string // yyyymmdd of the credential scope
	Region        string
	Service       string
	SignedHeaders []string
	Signature     string
}

// parseAuthorization parses
// "AWS4-HMAC-SHA256 Credential=AKID/20260102/us-east-1/ecs/aws4_request, SignedHeaders=host;x-amz-date, Signature=hex".
func parseAuthorization(h string) (authorization, *Error) {
	var a authorization
	alg, rest, _ := strings.Cut(strings.TrimSpace(h), " ")
	if alg != sigAlgorithm {
		return a, newError("IncompleteSignatureException", http.StatusBadRequest, "Authorization header requires the algorithm %s, not %q", sigAlgorithm, alg)
	}
	for _, part := range strings.Split(rest, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return a, newError("IncompleteSignatureException", http.StatusBadRequest, "Authorization header element %q is not key=value", strings.TrimSpace(part))
		}
		switch k {
		case "Credential":
			f := strings.Split(v, "/")
			if len(f) != 5 || f[4] != "aws4_request" || f[0] == "" {
				return a, newError("IncompleteSignatureException", http.StatusBadRequest, "Authorization header Credential %q is not <access key id>/<date>/<region>/<service>/aws4_request", v)
			}
			a.AccessKeyID, a.Date, a.Region, a.Service = f[0], f[1], f[2], f[3]
		case "SignedHeaders":
			a.SignedHeaders = strings.Split(v, ";")
		case "Signature":
			a.Signature = v
		}
	}
	var missing []string
	if a.AccessKeyID == "" {
		missing = append(missing, "Credential")
	}
	if len(a.SignedHeaders) == 0 || a.SignedHeaders[0] == "" {
		missing = append(missing, "SignedHeaders")
	}
	if a.Signature == "" {
		missing = append(missing, "Signature")
	}
	if len(missing) > 0 {
		return a, newError("IncompleteSignatureException", http.StatusBadRequest, "Authorization header requires %s", strings.Join(missing, ", "))
	}
	return a, nil
}

// SecretLookup finds the secret access key of an access key id; ok is
// false for a key that does not exist.
type SecretLookup func(ctx context.Context, accessKeyID string) (secret string, ok bool, err error)

// verify authenticates r (body already read) as SigV4 for service ecs in
// region, at now, and returns the access key id it was signed with. The
// signature is recomputed with the SDK's signer over the headers the
// client says it signed, and compared in constant time.
func verify(ctx context.Context, r *http.Request, body []byte, region string, now time.Time, lookup SecretLookup) (string, *Error) {
	h := r.Header.Get("Authorization")
	if h == "" {
		if r.URL.Query().Get("X-Amz-Signature") != "" {
			return "", invalidSignature("presigned requests are not accepted: sign the Authorization header")
		}
		return "", missingToken()
	}
	a, aerr := parseAuthorization(h)
	if aerr != nil {
		return "", aerr
	}
	if r.Header.Get("X-Amz-Security-Token") != "" {
		return "", unrecognizedClient("The security token included in the request is invalid: Longshore's ECS API takes long-term access keys only, not session tokens")
	}
	dateHdr := r.Header.Get("X-Amz-Date")
	if dateHdr == "" {
		return "", newError("IncompleteSignatureException", http.StatusBadRequest, "the request has no X-Amz-Date header")
	}
	signed, err := time.Parse(amzDateFmt, dateHdr)
	if err != nil {
		return "", newError("IncompleteSignatureException", http.StatusBadRequest, "X-Amz-Date %q is not in the form %s", dateHdr, amzDateFmt)
	}
	if a.Date != signed.Format("20060102") {
		return "", invalidSignature("Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '%s' != '%s', from '%s'.", a.Date, signed.Format("20060102"), dateHdr)
	}
	if signed.Before(now.Add(-MaxSkew)) {
		return "", invalidSignature("Signature expired: %s is now earlier than %s (%s - 5 min.)", dateHdr, now.Add(-MaxSkew).UTC().Format(amzDateFmt), now.UTC().Format(amzDateFmt))
	}
	if signed.After(now.Add(MaxSkew)) {
		return "", invalidSignature("Signature not yet current: %s is still later than %s (%s + 5 min.)", dateHdr, now.Add(MaxSkew).UTC().Format(amzDateFmt), now.UTC().Format(amzDateFmt))
	}
	if a.Service != Service {
		return "", invalidSignature("Credential should be scoped to correct service: '%s'.", Service)
	}
	if a.Region != region {
		return "", invalidSignature("Credential should be scoped to a valid region, not '%s': this endpoint serves %s.", a.Region, region)
	}
	secret, ok, err := lookup(ctx, a.AccessKeyID)
	if err != nil {
		return "", serverError("looking up the access key: %v", err)
	}
	if !ok {
		return "", unrecognizedClient("The security token included in the request is invalid.")
	}
	want, err := signature(r, body, a, signed, secret)
	if err != nil {
		return "", serverError("computing the signature: %v", err)
	}
	got, err1 := hex.DecodeString(a.Signature)
	wantB, err2 := hex.DecodeString(want)
	if err1 != nil || err2 != nil || !hmac.Equal(got, wantB) {
		return "", invalidSignature("The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.")
	}
	return a.AccessKeyID, nil
}

// signature recomputes the request's signature: a copy of r that holds
// only the headers a names, signed with the SDK's signer at the request's
// own time.
func signature(r *http.Request, body []byte, a authorization, signed time.Time, secret string) (string, error) {
	u := *r.URL
	u.Scheme, u.Host = "https", r.Host
	c, err := http.NewRequest(r.Method, u.String(), bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	c.Host = r.Host
	c.ContentLength = 0
	for _, name := range a.SignedHeaders {
		switch name {
		case "host":
		case "content-length":
			c.ContentLength = int64(len(body))
		default:
			if vs, ok := r.Header[http.CanonicalHeaderKey(name)]; ok {
				c.Header[http.CanonicalHeaderKey(name)] = vs
			}
		}
	}
	sum := sha256.Sum256(body)
	creds := aws.Credentials{AccessKeyID: a.AccessKeyID, SecretAccessKey: secret}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, c, hex.EncodeToString(sum[:]), a.Service, a.Region, signed); err != nil {
		return "", err
	}
	ca, perr := parseAuthorization(c.Header.Get("Authorization"))
	if perr != nil {
		return "", perr
	}
	return ca.Signature, nil
}
