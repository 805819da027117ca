//go:build node

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

package registrytest

import (
	"context"
	"errors"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

func get(t *testing.T, url, user, password string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if user != "" {
		req.SetBasicAuth(user, password)
	}
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	_ = resp.Body.Close()
	return resp.StatusCode
}

func TestStartAuthAndStop(t *testing.T) {
	r, err := Start(context.Background(), Options{Username: "alice", Password: "s3cret"})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	defer func() { _ = r.Stop() }()

	if !strings.HasPrefix(r.URL, "http://127.0.0.1:") || r.URL != "http://"+r.Host {
		t.Errorf("URL %q, Host %q", r.URL, r.Host)
	}
	for _, tc := range []struct {
		user, password string
		want           int
	}{
		{"", "", http.StatusUnauthorized},
		{"alice", "wrong", http.StatusUnauthorized},
		{"bob", "s3cret", http.StatusUnauthorized},
		{"alice", "s3cret", http.StatusOK},
	} {
		if got := get(t, r.URL+"/v2/", tc.user, tc.password); got != tc.want {
			t.Errorf("GET /v2/ as %q/%q: %d, want %d", tc.user, tc.password, got, tc.want)
		}
	}
	if u, p, _ := r.Credentials(r.Host); u != "alice" || p != "s3cret" {
		t.Errorf("Credentials(%s) = %q, %q", r.Host, u, p)
	}
	if u, p, _ := r.Credentials("example.com"); u != "" || p != "" {
		t.Errorf("Credentials for another host = %q, %q; want none", u, p)
	}

	pid := r.cmd.Process.Pid
	if err := r.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if err := r.Stop(); err != nil {
		t.Errorf("second Stop: %v", err)
	}
	if _, err := os.Stat(r.Dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s remains after Stop: %v", r.Dir, err)
	}
	if _, err := os.Stat("/proc/" + strconv.Itoa(pid)); err == nil {
		t.Errorf("registry process %d still exists after Stop", pid)
	}
}

func TestNewGeneratesCredentials(t *testing.T) {
	a, b := New(t), New(t)
	if a.Password == "" || a.Password == b.Password || a.Host == b.Host {
		t.Errorf("two registries: passwords %q/%q, hosts %s/%s", a.Password, b.Password, a.Host, b.Host)
	}
	if got := get(t, a.URL+"/v2/", a.Username, a.Password); got != http.StatusOK {
		t.Errorf("GET /v2/ with the generated credentials: %d", got)
	}
}

func TestStartFailsWithoutBinary(t *testing.T) {
	dir := t.TempDir()
	_, err := Start(context.Background(), Options{Binary: dir + "/missing", Dir: dir})
	if err == nil || !strings.Contains(err.Error(), "not installed") {
		t.Errorf("Start with a missing binary: %v", err)
	}
}
