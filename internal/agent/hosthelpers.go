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

package agent

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Names of the helper binaries inside a HostHelpers directory.
const (
	HelperLogger = "longshore-logger"
	HelperInit   = "longshore-init"
)

// HostHelpers are the binaries that run outside the agent's process but on
// its behalf: the logger, which containerd's shim starts for every
// container, and init, which is bind-mounted into containers with
// initProcessEnabled. Both are used by host path. An agent that runs in a
// container (the DaemonSet) has them only inside its image, so it installs
// them onto the host first: into Root/<digest of their content>/, a
// directory written completely before it is renamed into place. A new
// agent version adds a directory beside the old one; containers the old
// agent created keep theirs (a restart of such a container starts the same
// logger and mounts the same init), and the garbage collector removes a
// directory once no container refers to it (RemoveUnused).
type HostHelpers struct {
	// Root holds one directory per installed version (<state-dir>/bin).
	Root string
	// Dir is this agent's directory under Root.
	Dir string
	// Logger and Init are the host paths of the two binaries in Dir.
	Logger, Init string
}

// InstallHostHelpers copies the logger and init binaries (which may be the
// same file: the agent binary serves both roles) into a directory of their
// own under root and returns their host paths. Installing the same content
// again reuses the directory; a directory whose files no longer match is
// replaced.
func InstallHostHelpers(root, logger, init string) (HostHelpers, error) {
	srcs := []struct{ name, path string }{{HelperLogger, logger}, {HelperInit, init}}
	contents := make([][]byte, len(srcs))
	sum := sha256.New()
	for i, s := range srcs {
		b, err := os.ReadFile(s.path)
		if err != nil {
			return HostHelpers{}, fmt.Errorf("reading the %s binary: %w", s.name, err)
		}
		contents[i] = b
		_, _ = fmt.Fprintf(sum, "%s %d\n", s.name, len(b))
		sum.Write(b)
	}
	h := HostHelpers{Root: root, Dir: filepath.Join(root, hex.EncodeToString(sum.Sum(nil))[:16])}
	h.Logger, h.Init = filepath.Join(h.Dir, HelperLogger), filepath.Join(h.Dir, HelperInit)
	if err := os.MkdirAll(root, 0o755); err != nil {
		return HostHelpers{}, fmt.Errorf("creating %s: %w", root, err)
	}
	intact := true
	for i, s := range srcs {
		b, err := os.ReadFile(filepath.Join(h.Dir, s.name))
		if err != nil || !slices.Equal(b, contents[i]) {
			intact = false
			break
		}
	}
	if intact {
		return h, nil
	}
	tmp, err := os.MkdirTemp(root, ".install-")
	if err != nil {
		return HostHelpers{}, fmt.Errorf("installing helper binaries: %w", err)
	}
	defer func() { _ = os.RemoveAll(tmp) }()
	if err := os.Chmod(tmp, 0o755); err != nil {
		return HostHelpers{}, err
	}
	for i, s := range srcs {
		if err := writeSynced(filepath.Join(tmp, s.name), contents[i], 0o755); err != nil {
			return HostHelpers{}, fmt.Errorf("installing %s: %w", s.name, err)
		}
	}
	// A directory of that name holds other content (damaged): move it
	// away first. Files a running logger has open stay valid.
	if _, err := os.Stat(h.Dir); err == nil {
		old := tmp + ".damaged"
		if err := os.Rename(h.Dir, old); err != nil {
			return HostHelpers{}, fmt.Errorf("replacing %s: %w", h.Dir, err)
		}
		defer func() { _ = os.RemoveAll(old) }()
	}
	if err := os.Rename(tmp, h.Dir); err != nil {
		return HostHelpers{}, fmt.Errorf("installing helper binaries into %s: %w", h.Dir, err)
	}
	return h, nil
}

// RemoveUnused removes the directories under Root other than Dir that hold
// none of inUse (host paths, from runtime.HostBinaries of every container),
// and what an interrupted install left. It returns what it removed.
func (h HostHelpers) RemoveUnused(inUse []string) ([]string, error) {
	entries, err := os.ReadDir(h.Root)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		return nil, err
	}
	used := map[string]bool{filepath.Base(h.Dir): true}
	for _, p := range inUse {
		if rel, err := filepath.Rel(h.Root, p); err == nil && !strings.HasPrefix(rel, "..") {
			used[strings.Split(rel, string(filepath.Separator))[0]] = true
		}
	}
	var removed []string
	var errs []error
	for _, e := range entries {
		if used[e.Name()] || !e.IsDir() {
			continue
		}
		p := filepath.Join(h.Root, e.Name())
		if err := os.RemoveAll(p); err != nil {
			errs = append(errs, err)
			continue
		}
		removed = append(removed, p)
	}
	return removed, errors.Join(errs...)
}

func writeSynced(path string, b []byte, mode fs.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		_ = f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}
