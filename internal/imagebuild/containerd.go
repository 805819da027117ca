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
	"fmt"
	"io"

	containerd "github.com/containerd/containerd/v2/client"
)

// DefaultSnapshotter is the snapshotter Import unpacks into, the one
// Longshore's agent creates containers with.
const DefaultSnapshotter = "overlayfs"

type importOptions struct {
	snapshotter string
}

// ImportOption changes how Import works.
type ImportOption func(*importOptions)

// WithSnapshotter unpacks into the named snapshotter instead of
// DefaultSnapshotter.
func WithSnapshotter(name string) ImportOption {
	return func(o *importOptions) { o.snapshotter = name }
}

// Import imports img into containerd under the name img.Ref, replacing an
// image of that name, and unpacks it for the snapshotter (DefaultSnapshotter
// unless WithSnapshotter), so a container can be created from it at once.
// It works in the containerd namespace of ctx, or the client's default
// namespace when ctx has none.
func Import(ctx context.Context, client *containerd.Client, img *Image, opts ...ImportOption) error {
	o := importOptions{snapshotter: DefaultSnapshotter}
	for _, opt := range opts {
		opt(&o)
	}
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(img.WriteOCIArchive(pw)) }()
	imgs, err := client.Import(ctx, pr)
	// Ends the writer if Import stopped reading early.
	_ = pr.CloseWithError(io.ErrClosedPipe)
	if err != nil {
		return fmt.Errorf("importing image %s into containerd: %w", img.Ref, err)
	}
	for _, i := range imgs {
		if i.Name != img.Ref {
			continue
		}
		if err := containerd.NewImage(client, i).Unpack(ctx, o.snapshotter); err != nil {
			return fmt.Errorf("unpacking image %s for snapshotter %s: %w", img.Ref, o.snapshotter, err)
		}
		return nil
	}
	return fmt.Errorf("importing image %s into containerd: the import created no image of that name", img.Ref)
}
