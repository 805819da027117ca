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

package imagebuild

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
)

// ErrUnauthorized is wrapped by the errors of Push when the registry
// answers 401 Unauthorized or 403 Forbidden.
var ErrUnauthorized = errors.New("registry refused the credentials")

// The grammar of repository names (path components of a reference, without
// the registry host) and of tags, from the distribution specification.
var (
	repoRegexp = regexp.MustCompile(`^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$`)
	tagRegexp  = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`)
)

// StatusError is an unexpected HTTP status from a registry.
type StatusError struct {
	// Method and URL of the request; the URL holds no credentials.
	Method, URL string
	// StatusCode is the HTTP status code of the answer.
	StatusCode int
	// Body is the beginning of the answer's body (the registry's error
	// document).
	Body string
}

// Error implements error.
func (e *StatusError) Error() string {
	return fmt.Sprintf("%s %s: %d %s: %s", e.Method, e.URL, e.StatusCode, http.StatusText(e.StatusCode), e.Body)
}

// Unwrap returns ErrUnauthorized for 401 and 403.
func (e *StatusError) Unwrap() error {
	if e.StatusCode == http.StatusUnauthorized || e.StatusCode == http.StatusForbidden {
		return ErrUnauthorized
	}
	return nil
}

// Push uploads img to the Docker Registry v2 at registryBaseURL (e.g.
// http://127.0.0.1:5000) as repo:tag through the plain HTTP API: each blob
// the registry lacks with a monolithic upload (POST then PUT ?digest=), then
// the manifest with the OCI manifest media type. username and password,
// when username is not empty, go as HTTP basic auth on every request; token
// (bearer) auth is not supported.
func Push(ctx context.Context, registryBaseURL, repo, tag, username, password string, img *Image) error {
	base, err := url.Parse(strings.TrimSuffix(registryBaseURL, "/"))
	if err != nil || base.Host == "" || (base.Scheme != "http" && base.Scheme != "https") {
		return fmt.Errorf("registry URL %q: want http(s)://host[:port]", registryBaseURL)
	}
	if base.User != nil {
		return fmt.Errorf("registry URL %q: pass credentials as arguments, not in the URL", base.Redacted())
	}
	if !repoRegexp.MatchString(repo) || len(repo) > 255 {
		return fmt.Errorf("repository %q is not a valid repository name", repo)
	}
	if !tagRegexp.MatchString(tag) {
		return fmt.Errorf("tag %q is not a valid tag", tag)
	}
	p := &pusher{base: base, repo: repo, username: username, password: password, client: &http.Client{}}
	for _, b := range append(slices.Clone(img.Layers), img.Config) {
		if err := p.pushBlob(ctx, b); err != nil {
			return fmt.Errorf("pushing %s to %s/%s: %w", b.Descriptor.MediaType, base.Host, repo, err)
		}
	}
	if err := p.pushManifest(ctx, tag, img.Manifest); err != nil {
		return fmt.Errorf("pushing manifest to %s/%s:%s: %w", base.Host, repo, tag, err)
	}
	return nil
}

type pusher struct {
	base               *url.URL
	repo               string
	username, password string
	client             *http.Client
}

func (p *pusher) endpoint(format string, args ...any) *url.URL {
	return p.base.JoinPath("v2", p.repo, fmt.Sprintf(format, args...))
}

// do sends a request and returns the answer when its status is one of
// want; otherwise it returns a *StatusError.
func (p *pusher) do(ctx context.Context, method string, u *url.URL, contentType string, body []byte, want ...int) (*http.Response, error) {
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), r)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.ContentLength = int64(len(body))
		req.Header.Set("Content-Type", contentType)
	}
	if p.username != "" {
		req.SetBasicAuth(p.username, p.password)
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return nil, err
	}
	for _, code := range want {
		if resp.StatusCode == code {
			return resp, nil
		}
	}
	defer func() { _ = resp.Body.Close() }()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	redacted := *u
	redacted.RawQuery = ""
	return nil, &StatusError{Method: method, URL: redacted.String(), StatusCode: resp.StatusCode, Body: strings.TrimSpace(string(msg))}
}

func drain(resp *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	_ = resp.Body.Close()
}

func (p *pusher) pushBlob(ctx context.Context, b Blob) error {
	dgst := b.Descriptor.Digest
	resp, err := p.do(ctx, http.MethodHead, p.endpoint("blobs/%s", dgst), "", nil, http.StatusOK, http.StatusNotFound)
	if err != nil {
		return err
	}
	drain(resp)
	if resp.StatusCode == http.StatusOK {
		return nil
	}

	resp, err = p.do(ctx, http.MethodPost, p.endpoint("blobs/uploads/"), "", nil, http.StatusAccepted)
	if err != nil {
		return err
	}
	drain(resp)
	loc, err := resp.Location()
	if err != nil {
		return fmt.Errorf("starting blob upload: no Location in the answer: %w", err)
	}
	q := loc.Query()
	q.Set("digest", dgst.String())
	loc.RawQuery = q.Encode()
	resp, err = p.do(ctx, http.MethodPut, loc, "application/octet-stream", b.Data, http.StatusCreated)
	if err != nil {
		return err
	}
	drain(resp)
	return nil
}

func (p *pusher) pushManifest(ctx context.Context, tag string, m Blob) error {
	resp, err := p.do(ctx, http.MethodPut, p.endpoint("manifests/%s", tag), m.Descriptor.MediaType, m.Data, http.StatusCreated)
	if err != nil {
		return err
	}
	drain(resp)
	if got := resp.Header.Get("Docker-Content-Digest"); got != "" && got != m.Descriptor.Digest.String() {
		return fmt.Errorf("registry stored the manifest as %s, want %s", got, m.Descriptor.Digest)
	}
	return nil
}
