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

package imagebuild_test

// Node tests: a private containerd started with hack/containerd.sh (root),
// and Debian's docker-registry on 127.0.0.1. Run as root:
//
//	go test -tags node -count=1 ./internal/imagebuild/...

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/images"
	"github.com/containerd/containerd/v2/core/remotes"
	"github.com/containerd/containerd/v2/core/remotes/docker"
	remoteerrors "github.com/containerd/containerd/v2/core/remotes/errors"
	"github.com/containerd/containerd/v2/pkg/cio"
	"github.com/containerd/containerd/v2/pkg/namespaces"
	"github.com/containerd/containerd/v2/pkg/oci"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/longshore-io/longshore/internal/imagebuild"
	"github.com/longshore-io/longshore/internal/imagebuild/registrytest"
)

// testNamespace is the containerd namespace of these tests.
const testNamespace = "longshore-imagebuild-test"

func TestMain(m *testing.M) {
	if os.Geteuid() != 0 {
		fmt.Fprintln(os.Stderr, "imagebuild node tests need root (containerd, runc): run `go test -tags node ./internal/imagebuild/...` as root")
		os.Exit(1)
	}
	os.Exit(m.Run())
}

// repoRoot is the directory of go.mod above the package directory.
func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test directory")
		}
		dir = parent
	}
}

// startContainerd starts a private containerd with hack/containerd.sh and
// returns a client in testNamespace. When the test ends the client is
// closed and the daemon stopped (containers, shims, mounts), its directory
// removed.
func startContainerd(t *testing.T) *containerd.Client {
	t.Helper()
	// A short directory: unix socket paths are limited to 108 bytes.
	dir, err := os.MkdirTemp("/tmp", "lsimg-")
	if err != nil {
		t.Fatal(err)
	}
	script := filepath.Join(repoRoot(t), "hack", "containerd.sh")
	t.Cleanup(func() {
		if out, err := exec.Command(script, "stop", dir).CombinedOutput(); err != nil {
			t.Errorf("stopping containerd: %v\n%s", err, out)
		}
		if t.Failed() {
			b, _ := os.ReadFile(filepath.Join(dir, "containerd.log"))
			t.Logf("containerd log:\n%s", b)
		}
		if err := os.RemoveAll(dir); err != nil {
			t.Errorf("removing %s: %v", dir, err)
		}
	})
	if out, err := exec.Command(script, "start", dir).CombinedOutput(); err != nil {
		t.Fatalf("starting containerd: %v\n%s", err, out)
	}
	client, err := containerd.New(filepath.Join(dir, "containerd.sock"),
		containerd.WithDefaultNamespace(testNamespace), containerd.WithTimeout(10*time.Second))
	if err != nil {
		t.Fatalf("connecting to containerd: %v", err)
	}
	t.Cleanup(func() { _ = client.Close() })
	return client
}

// cleanupContext is a fresh context for cleanups, which must run even when
// the test's context is done.
func cleanupContext() (context.Context, context.CancelFunc) {
	return context.WithTimeout(namespaces.WithNamespace(context.Background(), testNamespace), 30*time.Second)
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(namespaces.WithNamespace(context.Background(), testNamespace), 3*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// deleteImageAtCleanup removes the image name when the test ends.
func deleteImageAtCleanup(t *testing.T, client *containerd.Client, name string) {
	t.Cleanup(func() {
		ctx, cancel := cleanupContext()
		defer cancel()
		if err := client.ImageService().Delete(ctx, name, images.SynchronousDelete()); err != nil && !strings.Contains(err.Error(), "not found") {
			t.Errorf("deleting image %s: %v", name, err)
		}
	})
}

// syncBuffer is a bytes.Buffer safe for the IO goroutines of a task.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// run creates a container from image, runs it to completion and returns its
// exit code and combined output. The task, container and snapshot are
// removed before it returns, with a fresh context.
func run(t *testing.T, ctx context.Context, client *containerd.Client, image containerd.Image, id string, opts ...oci.SpecOpts) (uint32, string) {
	t.Helper()
	container, err := client.NewContainer(ctx, id,
		containerd.WithNewSnapshot(id+"-snapshot", image),
		containerd.WithNewSpec(append([]oci.SpecOpts{oci.WithImageConfig(image)}, opts...)...),
	)
	if err != nil {
		t.Fatalf("creating container %s: %v", id, err)
	}
	defer func() {
		ctx, cancel := cleanupContext()
		defer cancel()
		if err := container.Delete(ctx, containerd.WithSnapshotCleanup); err != nil {
			t.Errorf("deleting container %s: %v", id, err)
		}
	}()

	var out syncBuffer
	task, err := container.NewTask(ctx, cio.NewCreator(cio.WithStreams(nil, &out, &out)))
	if err != nil {
		t.Fatalf("creating task %s: %v", id, err)
	}
	deleted := false
	deleteTask := func() {
		if deleted {
			return
		}
		deleted = true
		ctx, cancel := cleanupContext()
		defer cancel()
		if _, err := task.Delete(ctx, containerd.WithProcessKill); err != nil {
			t.Errorf("deleting task %s: %v", id, err)
		}
	}
	defer deleteTask()

	// Wait before Start, or a fast exit is missed.
	statusC, err := task.Wait(ctx)
	if err != nil {
		t.Fatalf("waiting for task %s: %v", id, err)
	}
	if err := task.Start(ctx); err != nil {
		t.Fatalf("starting task %s: %v", id, err)
	}
	var status containerd.ExitStatus
	select {
	case status = <-statusC:
	case <-time.After(time.Minute):
		t.Fatalf("task %s did not exit within a minute; output so far:\n%s", id, out.String())
	}
	code, _, err := status.Result()
	if err != nil {
		t.Fatalf("task %s: %v", id, err)
	}
	// Delete waits for the IO copies to finish, so the output is complete.
	deleteTask()
	return code, out.String()
}

func TestImportAndRun(t *testing.T) {
	client := startContainerd(t)
	ctx := testContext(t)

	img, err := imagebuild.Build(imagebuild.BusyboxSpec(imagebuild.DefaultRef))
	if err != nil {
		t.Fatal(err)
	}
	deleteImageAtCleanup(t, client, img.Ref)
	if err := imagebuild.Import(ctx, client, img); err != nil {
		t.Fatalf("Import: %v", err)
	}
	// A second import of the same image replaces it without error.
	if err := imagebuild.Import(ctx, client, img); err != nil {
		t.Fatalf("second Import: %v", err)
	}

	image, err := client.GetImage(ctx, imagebuild.DefaultRef)
	if err != nil {
		t.Fatalf("GetImage(%s): %v", imagebuild.DefaultRef, err)
	}
	if got, want := image.Target().Digest, img.Manifest.Descriptor.Digest; got != want {
		t.Errorf("image target %s, want the manifest %s", got, want)
	}
	if got := image.Target().MediaType; got != ocispec.MediaTypeImageManifest {
		t.Errorf("image target media type %s", got)
	}
	unpacked, err := image.IsUnpacked(ctx, imagebuild.DefaultSnapshotter)
	if err != nil || !unpacked {
		t.Fatalf("IsUnpacked(%s) = %v, %v; want true", imagebuild.DefaultSnapshotter, unpacked, err)
	}

	t.Run("shell as root", func(t *testing.T) {
		code, out := run(t, ctx, client, image, "imagebuild-root",
			oci.WithProcessArgs("/bin/sh", "-c", "echo hello; id; stat -c '%a %U' /tmp; cat /www/index.html; echo $PATH"))
		if code != 0 {
			t.Fatalf("exit code %d, output:\n%s", code, out)
		}
		for _, want := range []string{
			"hello\n",
			"uid=0(root) gid=0(root)",
			"1777 root\n",
			imagebuild.IndexHTML,
			strings.TrimPrefix(imagebuild.DefaultPathEnv, "PATH=") + "\n",
		} {
			if !strings.Contains(out, want) {
				t.Errorf("output lacks %q:\n%s", want, out)
			}
		}
	})

	t.Run("user 1000 from /etc/passwd", func(t *testing.T) {
		code, out := run(t, ctx, client, image, "imagebuild-user",
			oci.WithUser(imagebuild.UserName), oci.WithProcessArgs("sh", "-c", "id; touch /tmp/x && echo tmp-writable; echo $HOME"))
		if code != 0 {
			t.Fatalf("exit code %d, output:\n%s", code, out)
		}
		if want := "uid=1000(user) gid=1000(user)"; !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
		if !strings.Contains(out, "tmp-writable") {
			t.Errorf("user 1000 cannot write /tmp:\n%s", out)
		}
	})

	t.Run("httpd serves /www", func(t *testing.T) {
		// The container's own network namespace (made by containerd for
		// this container); its loopback needs CAP_NET_ADMIN to come up.
		script := `ip link set lo up || exit 2
httpd -p 127.0.0.1:8080 -h /www || exit 3
for i in $(seq 1 50); do wget -q -O - http://127.0.0.1:8080/ && exit 0; sleep 0.1; done
exit 4`
		code, out := run(t, ctx, client, image, "imagebuild-httpd",
			oci.WithAddedCapabilities([]string{"CAP_NET_ADMIN"}), oci.WithProcessArgs("sh", "-c", script))
		if code != 0 {
			t.Fatalf("exit code %d, output:\n%s", code, out)
		}
		if !strings.Contains(out, imagebuild.IndexHTML) {
			t.Errorf("httpd did not serve index.html:\n%s", out)
		}
	})

	t.Run("image default command", func(t *testing.T) {
		code, out := run(t, ctx, client, image, "imagebuild-cmd")
		// `sh` with stdin closed exits at once and cleanly.
		if code != 0 {
			t.Fatalf("exit code %d, output:\n%s", code, out)
		}
	})
}

// isAuthError reports whether err is a registry's refusal of the
// credentials (or of their absence) as containerd's resolver reports it.
func isAuthError(err error) bool {
	if errors.Is(err, docker.ErrInvalidAuthorization) {
		return true
	}
	var status remoteerrors.ErrUnexpectedStatus
	return errors.As(err, &status) && status.StatusCode == http.StatusUnauthorized
}

func resolver(creds func(string) (string, string, error)) remotes.Resolver {
	hostOpts := []docker.RegistryOpt{docker.WithPlainHTTP(docker.MatchLocalhost)}
	if creds != nil {
		hostOpts = append(hostOpts, docker.WithAuthorizer(docker.NewDockerAuthorizer(docker.WithAuthCreds(creds))))
	}
	return docker.NewResolver(docker.ResolverOptions{Hosts: docker.ConfigureDefaultRegistries(hostOpts...)})
}

func TestPushAndPull(t *testing.T) {
	reg := registrytest.New(t)
	ctx := testContext(t)

	img, err := imagebuild.Build(imagebuild.BusyboxSpec(imagebuild.DefaultRef))
	if err != nil {
		t.Fatal(err)
	}
	const repo, tag = "longshore/busybox", "v1"

	if err := imagebuild.Push(ctx, reg.URL, repo, tag, reg.Username, "wrong-password", img); !errors.Is(err, imagebuild.ErrUnauthorized) {
		t.Fatalf("Push with a wrong password: %v, want ErrUnauthorized", err)
	}
	if err := imagebuild.Push(ctx, reg.URL, repo, tag, reg.Username, reg.Password, img); err != nil {
		t.Fatalf("Push: %v", err)
	}
	// Again: the blobs are there, only the manifest is put.
	if err := imagebuild.Push(ctx, reg.URL, repo, tag, reg.Username, reg.Password, img); err != nil {
		t.Fatalf("second Push: %v", err)
	}

	// The registry serves the manifest as pushed.
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, reg.URL+"/v2/"+repo+"/manifests/"+tag, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", ocispec.MediaTypeImageManifest)
	req.SetBasicAuth(reg.Username, reg.Password)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !bytes.Equal(body, img.Manifest.Data) || resp.Header.Get("Content-Type") != ocispec.MediaTypeImageManifest {
		t.Fatalf("GET manifest: %s %s, %d bytes (want %d bytes as pushed)", resp.Status, resp.Header.Get("Content-Type"), len(body), len(img.Manifest.Data))
	}

	client := startContainerd(t)
	ref := reg.Host + "/" + repo + ":" + tag
	deleteImageAtCleanup(t, client, ref)

	noCreds := func(string) (string, string, error) { return "", "", nil }
	wrongCreds := func(string) (string, string, error) { return reg.Username, "wrong-password", nil }
	for name, r := range map[string]remotes.Resolver{
		"no authorizer":             resolver(nil),
		"no credentials":            resolver(noCreds),
		"wrong password":            resolver(wrongCreds),
		"credentials of a stranger": resolver(func(string) (string, string, error) { return "someone", "else", nil }),
	} {
		_, err := client.Pull(ctx, ref, containerd.WithResolver(r), containerd.WithPullUnpack)
		if err == nil {
			t.Fatalf("pull with %s succeeded", name)
		}
		if !isAuthError(err) {
			t.Errorf("pull with %s: %v, want an authorization error", name, err)
		}
	}
	if _, err := client.GetImage(ctx, ref); err == nil {
		t.Fatalf("image %s exists after pulls that failed", ref)
	}

	image, err := client.Pull(ctx, ref,
		containerd.WithResolver(resolver(reg.Credentials)),
		containerd.WithPullUnpack,
		containerd.WithPullSnapshotter(imagebuild.DefaultSnapshotter))
	if err != nil {
		t.Fatalf("Pull(%s) with credentials: %v", ref, err)
	}
	if got, want := image.Target().Digest, img.Manifest.Descriptor.Digest; got != want {
		t.Errorf("pulled manifest %s, pushed %s", got, want)
	}
	if unpacked, err := image.IsUnpacked(ctx, imagebuild.DefaultSnapshotter); err != nil || !unpacked {
		t.Fatalf("IsUnpacked = %v, %v; want true", unpacked, err)
	}
	code, out := run(t, ctx, client, image, "imagebuild-pulled", oci.WithProcessArgs("cat", "/www/index.html"))
	if code != 0 || out != imagebuild.IndexHTML {
		t.Errorf("container from the pulled image: exit %d, output %q", code, out)
	}
}
