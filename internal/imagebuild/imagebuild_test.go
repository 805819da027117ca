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
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// fakeBusyboxScript stands in for busybox: it answers --list like the real
// one and is recognisable as content.
const fakeBusyboxScript = "#!/bin/sh\n# fake busybox\nprintf '%s\\n' '[' '[[' busybox cat echo env httpd id ls sh sleep wget\n"

func fakeBusybox(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "busybox")
	if err := os.WriteFile(p, []byte(fakeBusyboxScript), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func testSpec(t *testing.T) Spec {
	t.Helper()
	spec := BusyboxSpec("localhost/longshore/test:v1")
	spec.BusyboxPath = fakeBusybox(t)
	return spec
}

func mustBuild(t *testing.T, spec Spec) *Image {
	t.Helper()
	img, err := Build(spec)
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	return img
}

// entry is what the tests compare of a tar entry.
type entry struct {
	Type     byte
	Mode     int64
	UID, GID int
	Linkname string
	Content  string
}

// readTar returns the entries of a tar by name, in order, and fails on
// duplicates.
func readTar(t *testing.T, r io.Reader) (map[string]entry, []string) {
	t.Helper()
	entries := map[string]entry{}
	var order []string
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("reading tar: %v", err)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatalf("reading tar entry %s: %v", h.Name, err)
		}
		if _, dup := entries[h.Name]; dup {
			t.Errorf("duplicate tar entry %s", h.Name)
		}
		entries[h.Name] = entry{Type: h.Typeflag, Mode: h.Mode, UID: h.Uid, GID: h.Gid, Linkname: h.Linkname, Content: string(b)}
		order = append(order, h.Name)
	}
	return entries, order
}

func layerEntries(t *testing.T, img *Image) (map[string]entry, []string) {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(img.Layers[0].Data))
	if err != nil {
		t.Fatalf("layer is not gzip: %v", err)
	}
	return readTar(t, zr)
}

func TestBuildDescriptorsAreConsistent(t *testing.T) {
	img := mustBuild(t, testSpec(t))

	for name, b := range map[string]Blob{"layer": img.Layers[0], "config": img.Config, "manifest": img.Manifest, "index": img.Index} {
		if got := digest.FromBytes(b.Data); got != b.Descriptor.Digest {
			t.Errorf("%s: digest %s, content hashes to %s", name, b.Descriptor.Digest, got)
		}
		if got := int64(len(b.Data)); got != b.Descriptor.Size {
			t.Errorf("%s: size %d, content is %d bytes", name, b.Descriptor.Size, got)
		}
	}
	wantTypes := map[string]string{
		"layer":    ocispec.MediaTypeImageLayerGzip,
		"config":   ocispec.MediaTypeImageConfig,
		"manifest": ocispec.MediaTypeImageManifest,
		"index":    ocispec.MediaTypeImageIndex,
	}
	gotTypes := map[string]string{
		"layer":    img.Layers[0].Descriptor.MediaType,
		"config":   img.Config.Descriptor.MediaType,
		"manifest": img.Manifest.Descriptor.MediaType,
		"index":    img.Index.Descriptor.MediaType,
	}
	if diff := cmp.Diff(wantTypes, gotTypes); diff != "" {
		t.Errorf("media types (-want +got):\n%s", diff)
	}

	// The diff ID is the digest of the uncompressed layer.
	zr, err := gzip.NewReader(bytes.NewReader(img.Layers[0].Data))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	if got := digest.FromBytes(raw); got != img.DiffIDs[0] {
		t.Errorf("DiffID %s, uncompressed layer hashes to %s", img.DiffIDs[0], got)
	}

	var manifest ocispec.Manifest
	if err := json.Unmarshal(img.Manifest.Data, &manifest); err != nil {
		t.Fatal(err)
	}
	if manifest.SchemaVersion != 2 || manifest.MediaType != ocispec.MediaTypeImageManifest {
		t.Errorf("manifest schemaVersion %d mediaType %q", manifest.SchemaVersion, manifest.MediaType)
	}
	if diff := cmp.Diff(img.Config.Descriptor, manifest.Config); diff != "" {
		t.Errorf("manifest config (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]ocispec.Descriptor{img.Layers[0].Descriptor}, manifest.Layers); diff != "" {
		t.Errorf("manifest layers (-want +got):\n%s", diff)
	}

	var config ocispec.Image
	if err := json.Unmarshal(img.Config.Data, &config); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(ocispec.RootFS{Type: "layers", DiffIDs: []digest.Digest{img.DiffIDs[0]}}, config.RootFS); diff != "" {
		t.Errorf("config rootfs (-want +got):\n%s", diff)
	}
	if config.OS != "linux" || config.Architecture != runtime.GOARCH {
		t.Errorf("config platform %s/%s, want linux/%s", config.OS, config.Architecture, runtime.GOARCH)
	}
	if diff := cmp.Diff(BusyboxSpec("x").Config, config.Config); diff != "" {
		t.Errorf("config (-want +got):\n%s", diff)
	}

	var index ocispec.Index
	if err := json.Unmarshal(img.Index.Data, &index); err != nil {
		t.Fatal(err)
	}
	want := img.Manifest.Descriptor
	want.Platform = &ocispec.Platform{OS: "linux", Architecture: runtime.GOARCH}
	want.Annotations = map[string]string{
		AnnotationImageName:       "localhost/longshore/test:v1",
		ocispec.AnnotationRefName: "v1",
	}
	if diff := cmp.Diff([]ocispec.Descriptor{want}, index.Manifests); diff != "" {
		t.Errorf("index manifests (-want +got):\n%s", diff)
	}
	if img.Ref != "localhost/longshore/test:v1" {
		t.Errorf("Ref %q", img.Ref)
	}
}

func TestBuildIsReproducible(t *testing.T) {
	spec := testSpec(t)
	a, b := mustBuild(t, spec), mustBuild(t, spec)
	if diff := cmp.Diff(a, b); diff != "" {
		t.Errorf("two builds of one spec differ (-first +second):\n%s", diff)
	}
	spec.Files = append(spec.Files, File{Path: "/extra", Content: []byte("x")})
	if c := mustBuild(t, spec); c.Layers[0].Descriptor.Digest == a.Layers[0].Descriptor.Digest {
		t.Error("an extra file did not change the layer digest")
	}
}

func TestBuildConfigAddsPath(t *testing.T) {
	spec := testSpec(t)
	spec.Config = ocispec.ImageConfig{Env: []string{"A=b"}, Cmd: []string{"true"}}
	img := mustBuild(t, spec)
	var config ocispec.Image
	if err := json.Unmarshal(img.Config.Data, &config); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"A=b", DefaultPathEnv}, config.Config.Env); diff != "" {
		t.Errorf("env (-want +got):\n%s", diff)
	}
	if spec.Config.Env[0] != "A=b" || len(spec.Config.Env) != 1 {
		t.Errorf("Build changed the caller's Env: %q", spec.Config.Env)
	}
}

func TestLayerContents(t *testing.T) {
	spec := testSpec(t)
	busybox, err := os.ReadFile(spec.BusyboxPath)
	if err != nil {
		t.Fatal(err)
	}
	spec.Files = []File{
		{Path: "/www/index.html", Mode: 0o600, Content: []byte("mine"), UID: UserID, GID: GroupID},
		{Path: "/opt/app/run.sh", Mode: 0o755 | fs.ModeSetuid, Content: []byte("#!/bin/sh\n")},
		{Path: "/opt/link", Linkname: "app/run.sh"},
		{Path: "/data", Mode: fs.ModeDir | 0o750, UID: UserID, GID: GroupID},
		{Path: "/etc/motd", Content: []byte("hi")},
	}
	img := mustBuild(t, spec)
	entries, order := layerEntries(t, img)

	dir := func(mode int64) entry { return entry{Type: tar.TypeDir, Mode: mode} }
	link := func(target string) entry { return entry{Type: tar.TypeSymlink, Mode: 0o777, Linkname: target} }
	want := map[string]entry{
		"bin/":           dir(0o755),
		"bin/busybox":    {Type: tar.TypeReg, Mode: 0o755, Content: string(busybox)},
		"bin/[":          link("busybox"),
		"bin/[[":         link("busybox"),
		"bin/cat":        link("busybox"),
		"bin/echo":       link("busybox"),
		"bin/env":        link("busybox"),
		"bin/httpd":      link("busybox"),
		"bin/id":         link("busybox"),
		"bin/ls":         link("busybox"),
		"bin/sh":         link("busybox"),
		"bin/sleep":      link("busybox"),
		"bin/wget":       link("busybox"),
		"data/":          {Type: tar.TypeDir, Mode: 0o750, UID: UserID, GID: GroupID},
		"dev/":           dir(0o755),
		"etc/":           dir(0o755),
		"etc/group":      {Type: tar.TypeReg, Mode: 0o644, Content: "root:x:0:\nuser:x:1000:\nnogroup:x:65534:\n"},
		"etc/motd":       {Type: tar.TypeReg, Mode: 0o644, Content: "hi"},
		"etc/passwd":     {Type: tar.TypeReg, Mode: 0o644, Content: "root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000:user:/home/user:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"},
		"home/":          dir(0o755),
		"home/user/":     {Type: tar.TypeDir, Mode: 0o755, UID: UserID, GID: GroupID},
		"opt/":           dir(0o755),
		"opt/app/":       dir(0o755),
		"opt/app/run.sh": {Type: tar.TypeReg, Mode: 0o4755, Content: "#!/bin/sh\n"},
		"opt/link":       link("app/run.sh"),
		"proc/":          dir(0o555),
		"root/":          dir(0o700),
		"sys/":           dir(0o555),
		"tmp/":           dir(0o1777),
		"usr/":           dir(0o755),
		"usr/bin/":       dir(0o755),
		"usr/bin/env":    link("/bin/busybox"),
		"var/":           dir(0o755),
		"www/":           dir(0o755),
		"www/index.html": {Type: tar.TypeReg, Mode: 0o600, UID: UserID, GID: GroupID, Content: "mine"},
	}
	if diff := cmp.Diff(want, entries); diff != "" {
		t.Errorf("layer entries (-want +got):\n%s", diff)
	}
	// Parents come before their children.
	seen := map[string]bool{}
	for _, name := range order {
		p := strings.TrimSuffix(name, "/")
		if i := strings.LastIndex(p, "/"); i >= 0 && !seen[p[:i+1]] {
			t.Errorf("%s comes before its parent %s", name, p[:i+1])
		}
		seen[name] = true
	}
}

func TestLayerWithoutBusybox(t *testing.T) {
	img := mustBuild(t, Spec{Ref: "localhost/plain:latest"})
	entries, _ := layerEntries(t, img)
	for _, name := range []string{"etc/passwd", "etc/group", "tmp/", "www/index.html", "home/user/"} {
		if _, ok := entries[name]; !ok {
			t.Errorf("base entry %s is missing", name)
		}
	}
	if e := entries["www/index.html"]; e.Content != IndexHTML {
		t.Errorf("index.html = %q", e.Content)
	}
	for name := range entries {
		if strings.HasPrefix(name, "bin/") && name != "bin/" {
			t.Errorf("unexpected %s without Busybox", name)
		}
	}
}

// TestRealBusybox builds with the host's busybox-static, as `make dev` does.
func TestRealBusybox(t *testing.T) {
	if _, err := os.Stat(DefaultBusyboxPath); err != nil {
		t.Skipf("%s is absent (Debian package busybox-static; hack/install-tools.sh apt installs it): %v", DefaultBusyboxPath, err)
	}
	img := mustBuild(t, BusyboxSpec(DefaultRef))
	entries, _ := layerEntries(t, img)
	for _, applet := range []string{"sh", "httpd", "wget", "nc", "sleep", "echo", "cat", "ls", "id", "env", "true", "false", "kill", "ps", "ip"} {
		if e, ok := entries["bin/"+applet]; !ok || e.Type != tar.TypeSymlink || e.Linkname != "busybox" {
			t.Errorf("bin/%s: %+v, want a symlink to busybox", applet, e)
		}
	}
	if e := entries["bin/busybox"]; e.Type != tar.TypeReg || e.Mode != 0o755 || len(e.Content) < 100000 {
		t.Errorf("bin/busybox: type %c mode %o size %d", e.Type, e.Mode, len(e.Content))
	}
	if img.Ref != DefaultRef {
		t.Errorf("Ref %q, want %q", img.Ref, DefaultRef)
	}
}

func TestBuildErrors(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "no-busybox")
	cases := map[string]struct {
		spec Spec
		want string
	}{
		"empty ref":          {spec: Spec{}, want: "empty"},
		"bad ref":            {spec: Spec{Ref: "Upper/Case"}, want: "parsing image reference"},
		"digest ref":         {spec: Spec{Ref: "localhost/a@sha256:" + strings.Repeat("a", 64)}, want: "needs a tag"},
		"relative path":      {spec: Spec{Ref: "a", Files: []File{{Path: "etc/x"}}}, want: "must be absolute"},
		"root":               {spec: Spec{Ref: "a", Files: []File{{Path: "/"}}}, want: "root directory"},
		"under a file":       {spec: Spec{Ref: "a", Files: []File{{Path: "/etc/passwd/x"}}}, want: "not a directory"},
		"under a symlink":    {spec: Spec{Ref: "a", Files: []File{{Path: "/l", Linkname: "/tmp"}, {Path: "/l/x"}}}, want: "not a directory"},
		"dir and symlink":    {spec: Spec{Ref: "a", Files: []File{{Path: "/d", Mode: fs.ModeDir, Linkname: "x"}}}, want: "both"},
		"device":             {spec: Spec{Ref: "a", Files: []File{{Path: "/dev/null", Mode: fs.ModeDevice}}}, want: "unsupported"},
		"busybox is missing": {spec: Spec{Ref: "a", Busybox: true, BusyboxPath: missing}, want: "busybox-static"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := Build(tc.spec)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Build: %v, want an error with %q", err, tc.want)
			}
		})
	}
}

func TestNormalizeRef(t *testing.T) {
	cases := map[string]struct{ ref, tag string }{
		"localhost/longshore/busybox:latest": {"localhost/longshore/busybox:latest", "latest"},
		"busybox":                            {"docker.io/library/busybox:latest", "latest"},
		"127.0.0.1:5000/a/b:v1.2":            {"127.0.0.1:5000/a/b:v1.2", "v1.2"},
	}
	for in, want := range cases {
		ref, tag, err := normalizeRef(in)
		if err != nil {
			t.Errorf("normalizeRef(%q): %v", in, err)
			continue
		}
		if ref != want.ref || tag != want.tag {
			t.Errorf("normalizeRef(%q) = %q, %q; want %q, %q", in, ref, tag, want.ref, want.tag)
		}
	}
}

func TestWriteOCIArchive(t *testing.T) {
	img := mustBuild(t, testSpec(t))
	var buf bytes.Buffer
	if err := img.WriteOCIArchive(&buf); err != nil {
		t.Fatal(err)
	}
	entries, _ := readTar(t, &buf)

	var names []string
	for name := range entries {
		names = append(names, name)
	}
	wantNames := []string{"blobs/", "blobs/sha256/", "index.json", "oci-layout"}
	for _, b := range img.Blobs() {
		wantNames = append(wantNames, "blobs/sha256/"+b.Descriptor.Digest.Encoded())
	}
	if diff := cmp.Diff(wantNames, names, cmpopts.SortSlices(func(a, b string) bool { return a < b })); diff != "" {
		t.Errorf("archive entries (-want +got):\n%s", diff)
	}

	var layout ocispec.ImageLayout
	if err := json.Unmarshal([]byte(entries["oci-layout"].Content), &layout); err != nil || layout.Version != ocispec.ImageLayoutVersion {
		t.Errorf("oci-layout %q: %v", entries["oci-layout"].Content, err)
	}
	if entries["index.json"].Content != string(img.Index.Data) {
		t.Errorf("index.json differs from Image.Index")
	}

	// Walk the layout from index.json as an importer would: every
	// descriptor resolves to a blob with its digest and size.
	blob := func(d ocispec.Descriptor) []byte {
		t.Helper()
		e, ok := entries["blobs/"+d.Digest.Algorithm().String()+"/"+d.Digest.Encoded()]
		if !ok {
			t.Fatalf("blob %s is not in the archive", d.Digest)
		}
		if e.Type != tar.TypeReg || int64(len(e.Content)) != d.Size || digest.FromString(e.Content) != d.Digest {
			t.Fatalf("blob %s: size %d, digest %s, want size %d", d.Digest, len(e.Content), digest.FromString(e.Content), d.Size)
		}
		return []byte(e.Content)
	}
	var index ocispec.Index
	if err := json.Unmarshal([]byte(entries["index.json"].Content), &index); err != nil {
		t.Fatal(err)
	}
	if len(index.Manifests) != 1 || index.Manifests[0].MediaType != ocispec.MediaTypeImageManifest {
		t.Fatalf("index manifests: %+v", index.Manifests)
	}
	var manifest ocispec.Manifest
	if err := json.Unmarshal(blob(index.Manifests[0]), &manifest); err != nil {
		t.Fatal(err)
	}
	blob(manifest.Config)
	for _, l := range manifest.Layers {
		blob(l)
	}
}

// writeTar writes a tar of the given entries (name → content; a name
// ending in / is a directory) and returns its path.
func writeTar(t *testing.T, names ...string) string {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, n := range names {
		h := &tar.Header{Name: n, Mode: 0o644, Typeflag: tar.TypeReg, Size: int64(len(n))}
		if strings.HasSuffix(n, "/") {
			h = &tar.Header{Name: n, Mode: 0o755, Typeflag: tar.TypeDir}
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			if _, err := tw.Write([]byte(n)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "base.tar")
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestBaseLayer(t *testing.T) {
	base := writeTar(t, "./", "./bin/", "./etc/", "./etc/passwd", "./usr/", "./usr/sbin/", "./usr/sbin/iptables")
	raw, err := os.ReadFile(base)
	if err != nil {
		t.Fatal(err)
	}
	img := mustBuild(t, Spec{
		Ref:       "localhost/longshore/agent:v1",
		BaseLayer: base,
		Files:     []File{{Path: "/usr/local/bin/longshore-agent", Mode: 0o755, Content: []byte("agent")}},
		Config:    ocispec.ImageConfig{Entrypoint: []string{"/usr/local/bin/longshore-agent"}},
	})
	if len(img.Layers) != 2 || len(img.DiffIDs) != 2 {
		t.Fatalf("%d layers and %d diff IDs, want 2 and 2", len(img.Layers), len(img.DiffIDs))
	}
	// The base goes in as it is.
	if got := digest.FromBytes(raw); img.DiffIDs[0] != got {
		t.Errorf("base diff ID %s, the base tar hashes to %s", img.DiffIDs[0], got)
	}
	zr, err := gzip.NewReader(bytes.NewReader(img.Layers[0].Data))
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := io.ReadAll(zr); !bytes.Equal(got, raw) {
		t.Errorf("base layer holds %d bytes that differ from the %d of the base tar", len(got), len(raw))
	}
	// The second layer has the files and none of the generated base files.
	zr, err = gzip.NewReader(bytes.NewReader(img.Layers[1].Data))
	if err != nil {
		t.Fatal(err)
	}
	entries, _ := readTar(t, zr)
	if e := entries["usr/local/bin/longshore-agent"]; e.Content != "agent" || e.Mode != 0o755 {
		t.Errorf("usr/local/bin/longshore-agent: %+v", e)
	}
	for _, name := range []string{"etc/passwd", "etc/group", "www/index.html", "tmp/"} {
		if _, ok := entries[name]; ok {
			t.Errorf("second layer has %s: the base brings its own", name)
		}
	}
	// Manifest and config list both layers, base first.
	var manifest ocispec.Manifest
	if err := json.Unmarshal(img.Manifest.Data, &manifest); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]ocispec.Descriptor{img.Layers[0].Descriptor, img.Layers[1].Descriptor}, manifest.Layers); diff != "" {
		t.Errorf("manifest layers (-want +got):\n%s", diff)
	}
	var config ocispec.Image
	if err := json.Unmarshal(img.Config.Data, &config); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(img.DiffIDs, config.RootFS.DiffIDs); diff != "" {
		t.Errorf("config rootfs (-want +got):\n%s", diff)
	}
	if len(config.History) != 2 {
		t.Errorf("%d history entries, want one per layer", len(config.History))
	}
	if got := len(img.Blobs()); got != 4 {
		t.Errorf("%d blobs, want config, two layers and manifest", got)
	}
}

func TestBaseLayerErrors(t *testing.T) {
	notTar := filepath.Join(t.TempDir(), "gz.tar")
	if err := os.WriteFile(notTar, []byte("\x1f\x8b\x08\x00 compressed, or anything else"), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := map[string]struct {
		base string
		want string
	}{
		"missing":       {base: filepath.Join(t.TempDir(), "none.tar"), want: "reading base layer"},
		"not a tar":     {base: notTar, want: "not an uncompressed tar"},
		"absolute path": {base: writeTar(t, "/etc/passwd", "bin/"), want: "leaves the root file system"},
		"dot-dot":       {base: writeTar(t, "bin/", "../etc/passwd"), want: "leaves the root file system"},
		"not a root fs": {base: writeTar(t, "etc/", "etc/passwd"), want: "not a root file system"},
		"empty":         {base: writeTar(t), want: "not a root file system"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := Build(Spec{Ref: "a", BaseLayer: tc.base})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Build: %v, want an error with %q", err, tc.want)
			}
		})
	}
}
