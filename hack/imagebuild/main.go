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

// Command imagebuild builds OCI images without Docker or a registry: by
// default Longshore's sample busybox image (busybox-static with its applets,
// /etc/passwd with root and user 1000, /www/index.html); with --base,
// --scratch, --file and the config flags, any image of a root file system
// tar and files (hack/images.sh builds the manager and agent images so).
// It imports the image into a containerd, writes it as an OCI archive,
// pushes it, or all three:
//
//	go run ./hack/imagebuild --address /path/containerd.sock --namespace longshore
//	go run ./hack/imagebuild -o busybox.tar
//	go run ./hack/imagebuild --push-url http://127.0.0.1:5000 --push-repo longshore/busybox
//	go run ./hack/imagebuild --ref longshore/manager:v1 --scratch --busybox=false \
//	    --file bin/longshore-manager:/longshore-manager:0755 --entrypoint '["/longshore-manager"]' --user 65532:65532 -o manager.tar
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"os/signal"
	"strconv"
	"strings"
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
		withBusybox = flag.Bool("busybox-applets", true, "include busybox and its applets")
		base        = flag.String("base", "", "uncompressed root file system tar to use as the first layer, as it is (the generated base files are left out)")
		scratch     = flag.Bool("scratch", false, "leave the generated base files (/etc/passwd, /tmp, /www, ...) out")
		entrypoint  = flag.String("entrypoint", "", "image entrypoint as a JSON array, e.g. '[\"/longshore-manager\"]'")
		cmd         = flag.String("cmd", "", "image command as a JSON array (default [\"sh\"] with busybox, none without)")
		user        = flag.String("user", "", "user (and group) the image runs as, e.g. 65532:65532")
		files       fileFlags
		labels      labelFlags
	)
	flag.Var(&files, "file", "add a host file as SRC:DST[:MODE] (octal mode, default that of SRC); repeat for more")
	flag.Var(&labels, "label", "add an image label KEY=VALUE; repeat for more")
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
	if !*withBusybox {
		spec.Busybox = false
		spec.Config.Cmd = nil
	}
	spec.BaseLayer, spec.Scratch = *base, *scratch
	spec.Files = append(spec.Files, files...)
	for k, v := range labels {
		spec.Config.Labels[k] = v
	}
	if *user != "" {
		spec.Config.User = *user
	}
	for _, a := range []struct {
		name, value string
		into        *[]string
	}{{"entrypoint", *entrypoint, &spec.Config.Entrypoint}, {"cmd", *cmd, &spec.Config.Cmd}} {
		if a.value == "" {
			continue
		}
		if err := json.Unmarshal([]byte(a.value), a.into); err != nil {
			return fmt.Errorf("--%s %q: want a JSON array of strings: %w", a.name, a.value, err)
		}
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

// fileFlags are --file SRC:DST[:MODE] flags, read when parsed.
type fileFlags []imagebuild.File

func (f *fileFlags) String() string { return fmt.Sprint(len(*f), " files") }

func (f *fileFlags) Set(v string) error {
	parts := strings.Split(v, ":")
	if len(parts) < 2 || len(parts) > 3 || parts[0] == "" || parts[1] == "" {
		return fmt.Errorf("want SRC:DST[:MODE], got %q", v)
	}
	st, err := os.Stat(parts[0])
	if err != nil {
		return err
	}
	if !st.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file", parts[0])
	}
	content, err := os.ReadFile(parts[0])
	if err != nil {
		return err
	}
	mode := st.Mode().Perm()
	if len(parts) == 3 {
		m, err := strconv.ParseUint(parts[2], 8, 32)
		if err != nil || m > 0o7777 {
			return fmt.Errorf("mode %q of %s: want octal permission bits such as 0755", parts[2], parts[1])
		}
		mode = fs.FileMode(m).Perm()
	}
	*f = append(*f, imagebuild.File{Path: parts[1], Mode: mode, Content: content})
	return nil
}

// labelFlags are --label KEY=VALUE flags.
type labelFlags map[string]string

func (l *labelFlags) String() string { return fmt.Sprint(len(*l), " labels") }

func (l *labelFlags) Set(v string) error {
	k, val, ok := strings.Cut(v, "=")
	if !ok || k == "" {
		return fmt.Errorf("want KEY=VALUE, got %q", v)
	}
	if *l == nil {
		*l = labelFlags{}
	}
	(*l)[k] = val
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
