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
	"encoding/json"
	"fmt"
	"io"
	"path"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// BlobPath is the path of a blob inside an OCI image layout,
// blobs/<algorithm>/<encoded digest>.
func BlobPath(b Blob) string {
	return path.Join(ocispec.ImageBlobsDir, b.Descriptor.Digest.Algorithm().String(), b.Descriptor.Digest.Encoded())
}

// WriteOCIArchive writes the image as a tar of an OCI image layout:
// oci-layout, index.json and blobs/sha256/{config,layer,manifest}. The
// manifest descriptor in index.json carries the name annotations, so
// containerd's client Import (and `ctr images import`) names the image Ref.
func (img *Image) WriteOCIArchive(w io.Writer) error {
	layout, err := json.Marshal(ocispec.ImageLayout{Version: ocispec.ImageLayoutVersion})
	if err != nil {
		return err
	}
	tw := tar.NewWriter(w)
	dirs := []string{ocispec.ImageBlobsDir}
	seen := map[string]bool{}
	for _, b := range img.Blobs() {
		d := path.Join(ocispec.ImageBlobsDir, b.Descriptor.Digest.Algorithm().String())
		if !seen[d] {
			seen[d] = true
			dirs = append(dirs, d)
		}
	}
	for _, d := range dirs {
		if err := tw.WriteHeader(&tar.Header{
			Typeflag: tar.TypeDir, Name: d + "/", Mode: 0o755, ModTime: epoch, Format: tar.FormatPAX,
		}); err != nil {
			return fmt.Errorf("writing OCI archive: %w", err)
		}
	}
	files := []struct {
		name string
		data []byte
	}{
		{ocispec.ImageLayoutFile, layout},
		{ocispec.ImageIndexFile, img.Index.Data},
	}
	for _, b := range img.Blobs() {
		files = append(files, struct {
			name string
			data []byte
		}{BlobPath(b), b.Data})
	}
	for _, f := range files {
		if err := tw.WriteHeader(&tar.Header{
			Typeflag: tar.TypeReg, Name: f.name, Mode: 0o644, Size: int64(len(f.data)), ModTime: epoch, Format: tar.FormatPAX,
		}); err != nil {
			return fmt.Errorf("writing OCI archive: %w", err)
		}
		if _, err := tw.Write(f.data); err != nil {
			return fmt.Errorf("writing OCI archive: %w", err)
		}
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("writing OCI archive: %w", err)
	}
	return nil
}
