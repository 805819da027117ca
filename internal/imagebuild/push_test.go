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
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// fakeRegistry is the part of the Docker Registry v2 API that Push uses,
// with basic auth, recording the requests it served. The real registry is
// exercised by the node tests.
type fakeRegistry struct {
	user, password string

	mu        sync.Mutex
	blobs     map[string][]byte // by repo + "@" + digest
	manifests map[string][]byte // by repo + ":" + tag
	requests  []string          // "METHOD path"
	uploads   int
}

func newFakeRegistry(t *testing.T) (*fakeRegistry, *httptest.Server) {
	r := &fakeRegistry{user: "u", password: "p", blobs: map[string][]byte{}, manifests: map[string][]byte{}}
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	return r, srv
}

func (r *fakeRegistry) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.requests = append(r.requests, req.Method+" "+req.URL.Path)
	if u, p, ok := req.BasicAuth(); !ok || u != r.user || p != r.password {
		w.Header().Set("WWW-Authenticate", `Basic realm="fake"`)
		http.Error(w, `{"errors":[{"code":"UNAUTHORIZED"}]}`, http.StatusUnauthorized)
		return
	}
	rest, ok := strings.CutPrefix(req.URL.Path, "/v2/")
	if !ok {
		http.NotFound(w, req)
		return
	}
	switch {
	case req.Method == http.MethodHead && strings.Contains(rest, "/blobs/sha256:"):
		repo, dgst, _ := strings.Cut(rest, "/blobs/")
		if _, ok := r.blobs[repo+"@"+dgst]; !ok {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		w.WriteHeader(http.StatusOK)
	case req.Method == http.MethodPost && strings.HasSuffix(rest, "/blobs/uploads/"):
		repo := strings.TrimSuffix(rest, "/blobs/uploads/")
		r.uploads++
		// A relative Location with a query, as distribution answers.
		w.Header().Set("Location", fmt.Sprintf("/v2/%s/blobs/uploads/u%d?_state=opaque", repo, r.uploads))
		w.WriteHeader(http.StatusAccepted)
	case req.Method == http.MethodPut && strings.Contains(rest, "/blobs/uploads/"):
		repo, _, _ := strings.Cut(rest, "/blobs/uploads/")
		if req.URL.Query().Get("_state") != "opaque" {
			http.Error(w, "upload state lost", http.StatusBadRequest)
			return
		}
		body, _ := io.ReadAll(req.Body)
		dgst := req.URL.Query().Get("digest")
		if digest.FromBytes(body).String() != dgst {
			http.Error(w, "digest mismatch", http.StatusBadRequest)
			return
		}
		r.blobs[repo+"@"+dgst] = body
		w.WriteHeader(http.StatusCreated)
	case req.Method == http.MethodPut && strings.Contains(rest, "/manifests/"):
		repo, tag, _ := strings.Cut(rest, "/manifests/")
		if ct := req.Header.Get("Content-Type"); ct != ocispec.MediaTypeImageManifest {
			http.Error(w, "content type "+ct, http.StatusBadRequest)
			return
		}
		body, _ := io.ReadAll(req.Body)
		var m ocispec.Manifest
		if err := json.Unmarshal(body, &m); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		for _, d := range append([]ocispec.Descriptor{m.Config}, m.Layers...) {
			if _, ok := r.blobs[repo+"@"+d.Digest.String()]; !ok {
				http.Error(w, `{"errors":[{"code":"MANIFEST_BLOB_UNKNOWN"}]}`, http.StatusBadRequest)
				return
			}
		}
		r.manifests[repo+":"+tag] = body
		w.Header().Set("Docker-Content-Digest", digest.FromBytes(body).String())
		w.WriteHeader(http.StatusCreated)
	default:
		http.Error(w, "unsupported", http.StatusMethodNotAllowed)
	}
}

func TestPush(t *testing.T) {
	img := mustBuild(t, testSpec(t))
	reg, srv := newFakeRegistry(t)
	ctx := context.Background()

	if err := Push(ctx, srv.URL+"/", "longshore/test", "v1", "u", "p", img); err != nil {
		t.Fatalf("Push: %v", err)
	}
	if diff := cmp.Diff(string(img.Manifest.Data), string(reg.manifests["longshore/test:v1"])); diff != "" {
		t.Errorf("stored manifest (-want +got):\n%s", diff)
	}
	for _, b := range []Blob{img.Layers[0], img.Config} {
		if got := reg.blobs["longshore/test@"+b.Descriptor.Digest.String()]; string(got) != string(b.Data) {
			t.Errorf("blob %s: stored %d bytes, want %d", b.Descriptor.MediaType, len(got), len(b.Data))
		}
	}
	if reg.uploads != 2 {
		t.Errorf("%d uploads, want 2", reg.uploads)
	}

	// A second push finds the blobs and only puts the manifest again.
	reg.requests = nil
	if err := Push(ctx, srv.URL, "longshore/test", "v2", "u", "p", img); err != nil {
		t.Fatalf("second Push: %v", err)
	}
	want := []string{
		"HEAD /v2/longshore/test/blobs/" + img.Layers[0].Descriptor.Digest.String(),
		"HEAD /v2/longshore/test/blobs/" + img.Config.Descriptor.Digest.String(),
		"PUT /v2/longshore/test/manifests/v2",
	}
	if diff := cmp.Diff(want, reg.requests); diff != "" {
		t.Errorf("requests of the second push (-want +got):\n%s", diff)
	}
}

func TestPushErrors(t *testing.T) {
	img := mustBuild(t, testSpec(t))
	_, srv := newFakeRegistry(t)
	ctx := context.Background()

	for name, tc := range map[string]struct {
		url, repo, tag, user, password string
		unauthorized                   bool
		want                           string
	}{
		"wrong password": {url: srv.URL, repo: "a/b", tag: "v1", user: "u", password: "s3cr3t-wrong", unauthorized: true, want: "401"},
		"no credentials": {url: srv.URL, repo: "a/b", tag: "v1", unauthorized: true, want: "401"},
		"bad url":        {url: "127.0.0.1:5000", repo: "a/b", tag: "v1", want: "registry URL"},
		"url with user":  {url: "http://u:p@127.0.0.1:1", repo: "a/b", tag: "v1", want: "credentials"},
		"bad repo":       {url: srv.URL, repo: "A/b", tag: "v1", want: "repository"},
		"bad tag":        {url: srv.URL, repo: "a/b", tag: ":x", want: "tag"},
	} {
		t.Run(name, func(t *testing.T) {
			err := Push(ctx, tc.url, tc.repo, tc.tag, tc.user, tc.password, img)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Push: %v, want an error with %q", err, tc.want)
			}
			if got := errors.Is(err, ErrUnauthorized); got != tc.unauthorized {
				t.Errorf("errors.Is(err, ErrUnauthorized) = %v, want %v (err: %v)", got, tc.unauthorized, err)
			}
			if tc.password != "" && strings.Contains(err.Error(), tc.password) {
				t.Errorf("the error shows the password: %v", err)
			}
		})
	}
}
