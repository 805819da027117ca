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

// Package imagebuild builds small OCI images in memory, in pure Go, so that
// tests, `make dev` and `make images` have images without a registry or
// Docker: a base file system (/etc/passwd and /etc/group with root and user
// 1000, /tmp, /www/index.html) or, instead, a root file system tar made
// elsewhere (Longshore's agent image starts from a Debian tree made by
// mmdebstrap) as a layer of its own, optionally the host's static busybox
// with its applets under /bin, and any extra files. An Image can be written as an OCI
// image layout tar (what `ctr images import` and containerd's client
// Import read), imported and unpacked into containerd, or pushed to a
// Docker Registry v2 over its HTTP API.
//
// Builds are reproducible: the same Spec and busybox binary give the same
// digests (fixed timestamps, sorted entries, no gzip header metadata).
package imagebuild

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"runtime"
	"slices"
	"strings"
	"time"

	distref "github.com/distribution/reference"
	digest "github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

const (
	// DefaultRef is the sample image `make dev` provides and the samples in
	// config/samples use.
	DefaultRef = "localhost/longshore/busybox:latest"
	// DefaultBusyboxPath is where Debian's busybox-static package installs
	// its binary.
	DefaultBusyboxPath = "/bin/busybox"
	// DefaultPathEnv is added to the image's environment when its Config.Env
	// sets no PATH.
	DefaultPathEnv = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	// AnnotationImageName is the annotation on a manifest descriptor of
	// index.json that containerd's importer turns into the image name. It
	// holds the full normalized reference.
	AnnotationImageName = "io.containerd.image.name"
	// UserName, UserID and GroupID describe the unprivileged user that every
	// image has in /etc/passwd and /etc/group, with home /home/user.
	UserName = "user"
	// UserID is the uid of UserName.
	UserID = 1000
	// GroupID is the gid of UserName's primary group.
	GroupID = 1000
	// IndexHTML is the content of /www/index.html in every image, so that
	// `httpd -f -p 8080 -h /www` serves something.
	IndexHTML = "<!DOCTYPE html>\n<html><head><title>Longshore</title></head>\n<body><h1>Hello from Longshore</h1></body></html>\n"
)

// epoch is the modification time of every entry of a layer, so builds are
// reproducible.
var epoch = time.Unix(0, 0).UTC()

// File is one entry the caller adds to an image's layer. It replaces a base
// or busybox entry at the same path. Missing parent directories are created
// with mode 0755, owned by root.
type File struct {
	// Path is the absolute path inside the image, e.g. /www/index.html.
	Path string
	// Mode holds the permission bits (including fs.ModeSetuid,
	// fs.ModeSetgid and fs.ModeSticky) and fs.ModeDir for a directory.
	// Zero means 0644 for a file and 0755 for a directory; it is ignored for
	// a symlink.
	Mode fs.FileMode
	// Content is the content of a regular file.
	Content []byte
	// Linkname, when set, makes the entry a symbolic link to Linkname.
	Linkname string
	// UID and GID own the entry.
	UID, GID int
}

// Spec describes an image to build.
type Spec struct {
	// BaseLayer, when set, is the path of an uncompressed tar of a root file
	// system (such as `mmdebstrap --variant=minbase bookworm base.tar`
	// writes) that becomes the image's first layer as it is. The generated
	// base files are then left out: the base brings its own /etc/passwd,
	// /tmp and so on, and the second layer holds busybox and Files alone.
	BaseLayer string
	// Scratch leaves the generated base files out without a BaseLayer: the
	// image holds busybox (when asked) and Files alone, like an image FROM
	// scratch.
	Scratch bool
	// Ref names the image, e.g. localhost/longshore/busybox:latest. It is
	// normalized the way Docker does (busybox becomes
	// docker.io/library/busybox:latest) and must not hold a digest.
	Ref string
	// Busybox includes the static busybox binary as /bin/busybox plus a
	// symlink /bin/<applet> for every applet it reports with --list (sh,
	// httpd, wget, nc, sleep, echo, cat, ls, id, env, kill, ps, ...), and
	// /usr/bin/env.
	Busybox bool
	// BusyboxPath is the busybox binary to copy; DefaultBusyboxPath when
	// empty. It must be statically linked and run on this host.
	BusyboxPath string
	// Files are added after the base files and busybox, replacing entries
	// at the same path.
	Files []File
	// Config is the runtime configuration of the image: Entrypoint, Cmd,
	// Env, WorkingDir, User, StopSignal, Labels, ExposedPorts. DefaultPathEnv
	// is added to Env when it sets no PATH.
	Config ocispec.ImageConfig
	// Platform of the image; linux and the architecture of this binary when
	// nil. It must match the busybox binary.
	Platform *ocispec.Platform
}

// BusyboxSpec is the spec of the sample busybox image: busybox, the base
// files, and `sh` as its command.
func BusyboxSpec(ref string) Spec {
	return Spec{
		Ref:     ref,
		Busybox: true,
		Config: ocispec.ImageConfig{
			Env:        []string{DefaultPathEnv},
			Cmd:        []string{"sh"},
			WorkingDir: "/",
			StopSignal: "SIGTERM",
			Labels:     map[string]string{"io.longshore.image.builder": "imagebuild"},
		},
	}
}

// WorkerScript is the command of the sample stub worker image: it logs a
// numbered line every 5 seconds and exits 0 on SIGTERM.
const WorkerScript = `trap 'echo "worker: stopping after $i jobs"; exit 0' TERM
i=0
while true; do
  i=$((i + 1))
  echo "worker: job $i done"
  sleep 5 & wait $!
done`

// Blob is a piece of content with the descriptor that addresses it.
type Blob struct {
	// Descriptor holds the media type, digest and size of Data.
	Descriptor ocispec.Descriptor
	// Data is the content.
	Data []byte
}

// Image is a built image, held in memory.
type Image struct {
	// Ref is the normalized reference the image is named by when imported,
	// e.g. localhost/longshore/busybox:latest.
	Ref string
	// Layers are the gzip-compressed tars of the file system, base first:
	// one, or two when the Spec has a BaseLayer.
	Layers []Blob
	// DiffIDs are the digests of the uncompressed layer tars, as listed in
	// the config's rootfs, in the order of Layers.
	DiffIDs []digest.Digest
	// Config is the image configuration (application/vnd.oci.image.config.v1+json).
	Config Blob
	// Manifest is the image manifest (application/vnd.oci.image.manifest.v1+json).
	Manifest Blob
	// Index is the index.json of the OCI image layout: one manifest
	// descriptor, with the platform and the name annotations containerd's
	// importer reads. Its descriptor addresses the bytes, but it is not a
	// blob of the layout.
	Index Blob
}

// Blobs are the blobs of the image layout: config, layers and manifest.
func (img *Image) Blobs() []Blob {
	return slices.Concat([]Blob{img.Config}, img.Layers, []Blob{img.Manifest})
}

// Build builds the image described by spec.
func Build(spec Spec) (*Image, error) {
	ref, tag, err := normalizeRef(spec.Ref)
	if err != nil {
		return nil, err
	}
	platform := ocispec.Platform{OS: "linux", Architecture: runtime.GOARCH}
	if spec.Platform != nil {
		platform = *spec.Platform
	}

	img := &Image{Ref: ref}
	history := []ocispec.History{}
	if spec.BaseLayer != "" {
		base, err := readBaseLayer(spec.BaseLayer)
		if err != nil {
			return nil, err
		}
		if err := img.addLayer(base); err != nil {
			return nil, err
		}
		history = append(history, ocispec.History{
			Created: &epoch, CreatedBy: "longshore imagebuild: base " + path.Base(spec.BaseLayer),
			Comment: "root file system tar added as it is",
		})
	}
	tr, err := newTree(spec)
	if err != nil {
		return nil, err
	}
	layerTar, err := tr.tar()
	if err != nil {
		return nil, err
	}
	if err := img.addLayer(layerTar); err != nil {
		return nil, err
	}
	history = append(history, ocispec.History{
		Created:   &epoch,
		CreatedBy: "longshore imagebuild",
		Comment:   "layer built in Go by github.com/longshore-io/longshore/internal/imagebuild",
	})

	cfg := spec.Config
	cfg.Env = slices.Clone(cfg.Env)
	if !slices.ContainsFunc(cfg.Env, func(e string) bool { return strings.HasPrefix(e, "PATH=") }) {
		cfg.Env = append(cfg.Env, DefaultPathEnv)
	}
	config := ocispec.Image{
		Platform: platform,
		Config:   cfg,
		RootFS:   ocispec.RootFS{Type: "layers", DiffIDs: img.DiffIDs},
		History:  history,
	}
	if img.Config, err = jsonBlob(ocispec.MediaTypeImageConfig, config); err != nil {
		return nil, err
	}

	manifest := ocispec.Manifest{
		Versioned: specs.Versioned{SchemaVersion: 2},
		MediaType: ocispec.MediaTypeImageManifest,
		Config:    img.Config.Descriptor,
		Layers:    layerDescriptors(img.Layers),
	}
	if img.Manifest, err = jsonBlob(ocispec.MediaTypeImageManifest, manifest); err != nil {
		return nil, err
	}

	mdesc := img.Manifest.Descriptor
	mdesc.Platform = &platform
	mdesc.Annotations = map[string]string{
		AnnotationImageName:       ref,
		ocispec.AnnotationRefName: tag,
	}
	index := ocispec.Index{
		Versioned: specs.Versioned{SchemaVersion: 2},
		MediaType: ocispec.MediaTypeImageIndex,
		Manifests: []ocispec.Descriptor{mdesc},
	}
	if img.Index, err = jsonBlob(ocispec.MediaTypeImageIndex, index); err != nil {
		return nil, err
	}
	return img, nil
}

// addLayer compresses an uncompressed layer tar and appends it.
func (img *Image) addLayer(layerTar []byte) error {
	gz, err := gzipBytes(layerTar)
	if err != nil {
		return err
	}
	img.Layers = append(img.Layers, newBlob(ocispec.MediaTypeImageLayerGzip, gz))
	img.DiffIDs = append(img.DiffIDs, digest.FromBytes(layerTar))
	return nil
}

func layerDescriptors(layers []Blob) []ocispec.Descriptor {
	out := make([]ocispec.Descriptor, 0, len(layers))
	for _, l := range layers {
		out = append(out, l.Descriptor)
	}
	return out
}

// readBaseLayer reads a root file system tar and checks that it is one: an
// uncompressed tar whose entries are relative paths (./etc/passwd or
// etc/passwd) with a /bin or /usr in it.
func readBaseLayer(p string) ([]byte, error) {
	data, err := os.ReadFile(p)
	if err != nil {
		return nil, fmt.Errorf("reading base layer: %w", err)
	}
	tr := tar.NewReader(bytes.NewReader(data))
	entries, rootish := 0, false
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("base layer %s is not an uncompressed tar: %w", p, err)
		}
		name := strings.TrimPrefix(h.Name, "./")
		if strings.HasPrefix(name, "/") || strings.HasPrefix(path.Clean(name), "../") {
			return nil, fmt.Errorf("base layer %s: entry %q leaves the root file system", p, h.Name)
		}
		switch strings.TrimSuffix(path.Clean(name), "/") {
		case "bin", "usr":
			rootish = true
		}
		entries++
	}
	if entries == 0 || !rootish {
		return nil, fmt.Errorf("base layer %s has no /bin or /usr: not a root file system tar", p)
	}
	return data, nil
}

// normalizeRef returns the normalized reference and its tag.
func normalizeRef(ref string) (string, string, error) {
	if ref == "" {
		return "", "", fmt.Errorf("image reference is empty")
	}
	named, err := distref.ParseDockerRef(ref)
	if err != nil {
		return "", "", fmt.Errorf("parsing image reference %q: %w", ref, err)
	}
	tagged, ok := named.(distref.Tagged)
	if !ok {
		return "", "", fmt.Errorf("image reference %q: a built image needs a tag, not a digest", ref)
	}
	return named.String(), tagged.Tag(), nil
}

func newBlob(mediaType string, data []byte) Blob {
	return Blob{
		Descriptor: ocispec.Descriptor{
			MediaType: mediaType,
			Digest:    digest.FromBytes(data),
			Size:      int64(len(data)),
		},
		Data: data,
	}
}

func jsonBlob(mediaType string, v any) (Blob, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return Blob{}, fmt.Errorf("encoding %s: %w", mediaType, err)
	}
	return newBlob(mediaType, b), nil
}

// gzipBytes compresses b without name or time in the gzip header.
func gzipBytes(b []byte) ([]byte, error) {
	var buf bytes.Buffer
	// The default level: BestCompression takes three times as long on the
	// agent's 190 MB Debian base for a few percent.
	zw, err := gzip.NewWriterLevel(&buf, gzip.DefaultCompression)
	if err != nil {
		return nil, err
	}
	if _, err := zw.Write(b); err != nil {
		return nil, fmt.Errorf("compressing layer: %w", err)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("compressing layer: %w", err)
	}
	return buf.Bytes(), nil
}

// layerTree is the file system of a layer: tar headers keyed by path
// without the leading slash ("bin/sh"), and the content of regular files by
// the same keys.
type layerTree struct {
	hdrs     map[string]*tar.Header
	contents map[string][]byte
}

func newTree(spec Spec) (*layerTree, error) {
	t := &layerTree{hdrs: map[string]*tar.Header{}, contents: map[string][]byte{}}
	if spec.BaseLayer == "" && !spec.Scratch {
		if err := t.addBaseFiles(); err != nil {
			return nil, err
		}
	}
	if spec.Busybox {
		files, err := busyboxFiles(spec.BusyboxPath)
		if err != nil {
			return nil, err
		}
		for _, f := range files {
			if err := t.add(f); err != nil {
				return nil, err
			}
		}
	}
	for _, f := range spec.Files {
		if err := t.add(f); err != nil {
			return nil, err
		}
	}
	if err := t.check(); err != nil {
		return nil, err
	}
	return t, nil
}

// addBaseFiles adds the directories of a root file system, /etc/passwd and
// /etc/group with root, UserName and nobody, and /www/index.html.
func (t *layerTree) addBaseFiles() error {
	for _, d := range []struct {
		path     string
		mode     fs.FileMode
		uid, gid int
	}{
		{path: "/bin", mode: 0o755},
		{path: "/dev", mode: 0o755},
		{path: "/etc", mode: 0o755},
		{path: "/home", mode: 0o755},
		{path: "/home/" + UserName, mode: 0o755, uid: UserID, gid: GroupID},
		{path: "/proc", mode: 0o555},
		{path: "/root", mode: 0o700},
		{path: "/sys", mode: 0o555},
		{path: "/tmp", mode: 0o777 | fs.ModeSticky},
		{path: "/usr", mode: 0o755},
		{path: "/usr/bin", mode: 0o755},
		{path: "/var", mode: 0o755},
		{path: "/www", mode: 0o755},
	} {
		if err := t.add(File{Path: d.path, Mode: d.mode | fs.ModeDir, UID: d.uid, GID: d.gid}); err != nil {
			return err
		}
	}
	base := []File{
		{Path: "/etc/passwd", Mode: 0o644, Content: []byte(fmt.Sprintf(
			"root:x:0:0:root:/root:/bin/sh\n"+
				"%[1]s:x:%[2]d:%[3]d:%[1]s:/home/%[1]s:/bin/sh\n"+
				"nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n",
			UserName, UserID, GroupID))},
		{Path: "/etc/group", Mode: 0o644, Content: []byte(fmt.Sprintf(
			"root:x:0:\n%s:x:%d:\nnogroup:x:65534:\n", UserName, GroupID))},
		{Path: "/www/index.html", Mode: 0o644, Content: []byte(IndexHTML)},
	}
	for _, f := range base {
		if err := t.add(f); err != nil {
			return err
		}
	}
	return nil
}

// busyboxFiles are /bin/busybox, a symlink to it for each of its applets,
// and /usr/bin/env.
func busyboxFiles(bin string) ([]File, error) {
	if bin == "" {
		bin = DefaultBusyboxPath
	}
	content, err := os.ReadFile(bin)
	if err != nil {
		return nil, fmt.Errorf("reading busybox (Debian package busybox-static): %w", err)
	}
	out, err := exec.Command(bin, "--list").Output()
	if err != nil {
		return nil, fmt.Errorf("listing the applets of %s: %w", bin, err)
	}
	files := []File{{Path: "/bin/busybox", Mode: 0o755, Content: content}}
	for _, applet := range strings.Fields(string(out)) {
		if applet == "busybox" || strings.Contains(applet, "/") {
			continue
		}
		files = append(files, File{Path: "/bin/" + applet, Linkname: "busybox"})
	}
	if len(files) == 1 {
		return nil, fmt.Errorf("%s --list reported no applets", bin)
	}
	files = append(files, File{Path: "/usr/bin/env", Linkname: "/bin/busybox"})
	return files, nil
}

// add puts f into the tree, with missing parent directories.
func (t *layerTree) add(f File) error {
	if !path.IsAbs(f.Path) {
		return fmt.Errorf("file %q: path must be absolute", f.Path)
	}
	p := strings.TrimPrefix(path.Clean(f.Path), "/")
	if p == "" {
		return fmt.Errorf("file %q: cannot replace the root directory", f.Path)
	}
	if f.Linkname != "" && f.Mode&fs.ModeDir != 0 {
		return fmt.Errorf("file %q: both a directory and a symlink", f.Path)
	}
	for dir := path.Dir(p); dir != "."; dir = path.Dir(dir) {
		if _, ok := t.hdrs[dir]; !ok {
			t.hdrs[dir] = header(dir, tar.TypeDir, 0o755, 0, 0, "", 0)
		}
	}
	delete(t.contents, p)
	switch {
	case f.Linkname != "":
		t.hdrs[p] = header(p, tar.TypeSymlink, 0o777, f.UID, f.GID, f.Linkname, 0)
	case f.Mode&fs.ModeDir != 0:
		mode := f.Mode
		if mode.Perm() == 0 {
			mode |= 0o755
		}
		t.hdrs[p] = header(p, tar.TypeDir, mode, f.UID, f.GID, "", 0)
	case f.Mode&fs.ModeType != 0:
		return fmt.Errorf("file %q: unsupported file type %v", f.Path, f.Mode.Type())
	default:
		mode := f.Mode
		if mode.Perm() == 0 {
			mode |= 0o644
		}
		t.hdrs[p] = header(p, tar.TypeReg, mode, f.UID, f.GID, "", int64(len(f.Content)))
		t.contents[p] = f.Content
	}
	return nil
}

// check rejects entries under a path that is not a directory.
func (t *layerTree) check() error {
	for p := range t.hdrs {
		for dir := path.Dir(p); dir != "."; dir = path.Dir(dir) {
			if h := t.hdrs[dir]; h.Typeflag != tar.TypeDir {
				return fmt.Errorf("/%s: parent /%s is not a directory", p, dir)
			}
		}
	}
	return nil
}

// tar writes the tree as an uncompressed tar, parents before children.
func (t *layerTree) tar() ([]byte, error) {
	paths := make([]string, 0, len(t.hdrs))
	for p := range t.hdrs {
		paths = append(paths, p)
	}
	// A parent is a prefix of its children, so it sorts first.
	slices.Sort(paths)
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, p := range paths {
		h := *t.hdrs[p]
		if err := tw.WriteHeader(&h); err != nil {
			return nil, fmt.Errorf("writing layer entry /%s: %w", p, err)
		}
		if h.Typeflag == tar.TypeReg {
			if _, err := tw.Write(t.contents[p]); err != nil {
				return nil, fmt.Errorf("writing layer entry /%s: %w", p, err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("writing layer: %w", err)
	}
	return buf.Bytes(), nil
}

func header(p string, typ byte, mode fs.FileMode, uid, gid int, linkname string, size int64) *tar.Header {
	name := p
	if typ == tar.TypeDir {
		name += "/"
	}
	return &tar.Header{
		Typeflag: typ,
		Name:     name,
		Linkname: linkname,
		Size:     size,
		Mode:     tarMode(mode),
		Uid:      uid,
		Gid:      gid,
		ModTime:  epoch,
		Format:   tar.FormatPAX,
	}
}

// tarMode turns permission and special bits into the mode field of a tar
// header (c_ISUID, c_ISGID, c_ISVTX and rwx bits).
func tarMode(m fs.FileMode) int64 {
	mode := int64(m.Perm())
	if m&fs.ModeSetuid != 0 {
		mode |= 0o4000
	}
	if m&fs.ModeSetgid != 0 {
		mode |= 0o2000
	}
	if m&fs.ModeSticky != 0 {
		mode |= 0o1000
	}
	return mode
}
