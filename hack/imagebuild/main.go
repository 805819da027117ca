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

// Command imagebuild builds Longshore's sample busybox image (busybox-static
// with its applets, /etc/passwd with root and user 1000, /www/index.html)
// without Docker or a registry, and imports it into a containerd, writes it
// as an OCI archive, or both:
//
//	go run ./hack/imagebuild --address /path/containerd.sock --namespace longshore
//	go run ./hack/imagebuild -o busybox.tar
//	go run ./hack/imagebuild --push-url http://127.0.0.1:5000 --push-repo longshore/busybox
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	containerd "github.com/containerd/containerd/v2/client"

	"github.com/longshore-io/longshore/internal/imagebuild"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "imagebuild:", err)
		os.Exit(1)
	}
}

func run() error {
	var (
		ref         = flag.String("ref", imagebuild.DefaultRef, "name of the image")
		busybox     = flag.String("busybox", imagebuild.DefaultBusyboxPath, "static busybox binary to include (Debian package busybox-static)")
		output      = flag.String("o", "", "write the image as an OCI image layout tar to this file (- for stdout)")
		address     = flag.String("address", "", "containerd socket to import the image into")
		namespace   = flag.String("namespace", "longshore", "containerd namespace to import into")
		snapshotter = flag.String("snapshotter", imagebuild.DefaultSnapshotter, "containerd snapshotter to unpack the image for")
		pushURL     = flag.String("push-url", "", "push the image to the Docker Registry v2 at this base URL, e.g. http://127.0.0.1:5000")
		pushRepo    = flag.String("push-repo", "longshore/busybox", "repository to push to")
		pushTag     = flag.String("push-tag", "latest", "tag to push")
		timeout     = flag.Duration("timeout", 2*time.Minute, "give up after this long")
		worker      = flag.Bool("worker", false, "build the stub worker: the same files, with a command that logs a line every 5 s until SIGTERM")
	)
	flag.Usage = func() {
		_, _ = fmt.Fprintf(flag.CommandLine.Output(), "Usage: %s [flags]\n\nBuilds the sample busybox image (or, with --worker, the stub worker); at least one of -o, --address and --push-url is required.\nRegistry credentials for --push-url come from $REGISTRY_USERNAME and $REGISTRY_PASSWORD.\n\n", os.Args[0])
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 0 {
		flag.Usage()
		return fmt.Errorf("unexpected arguments %q", flag.Args())
	}
	if *output == "" && *address == "" && *pushURL == "" {
		flag.Usage()
		return errors.New("nothing to do: give -o, --address or --push-url")
	}

	spec := imagebuild.BusyboxSpec(*ref)
	spec.BusyboxPath = *busybox
	if *worker {
		spec.Config.Cmd = []string{"sh", "-c", imagebuild.WorkerScript}
	}
	img, err := imagebuild.Build(spec)
	if err != nil {
		return err
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()

	if *output != "" {
		if err := writeArchive(*output, img); err != nil {
			return err
		}
		if *output != "-" {
			fmt.Fprintf(os.Stderr, "wrote %s (%s) to %s\n", img.Ref, img.Manifest.Descriptor.Digest, *output)
		}
	}
	if *address != "" {
		client, err := containerd.New(*address, containerd.WithDefaultNamespace(*namespace), containerd.WithTimeout(10*time.Second))
		if err != nil {
			return fmt.Errorf("connecting to containerd at %s: %w", *address, err)
		}
		defer func() { _ = client.Close() }()
		if err := imagebuild.Import(ctx, client, img, imagebuild.WithSnapshotter(*snapshotter)); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "imported %s (%s) into containerd namespace %s, unpacked for %s\n", img.Ref, img.Manifest.Descriptor.Digest, *namespace, *snapshotter)
	}
	if *pushURL != "" {
		if err := imagebuild.Push(ctx, *pushURL, *pushRepo, *pushTag, os.Getenv("REGISTRY_USERNAME"), os.Getenv("REGISTRY_PASSWORD"), img); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "pushed %s/%s:%s (%s)\n", *pushURL, *pushRepo, *pushTag, img.Manifest.Descriptor.Digest)
	}
	return nil
}

func writeArchive(name string, img *imagebuild.Image) error {
	if name == "-" {
		return img.WriteOCIArchive(os.Stdout)
	}
	f, err := os.Create(name)
	if err != nil {
		return err
	}
	if err := img.WriteOCIArchive(f); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}
