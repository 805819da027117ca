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

package network

import (
	"errors"
	"fmt"
	"os"
	"runtime"

	"golang.org/x/sys/unix"
)

// createNetNS creates a new network namespace and pins it by bind-mounting
// it on path, which must not exist yet. The namespace is created by a
// locked OS thread that returns to its original namespace before any other
// goroutine may run on it.
func createNetNS(path string) (err error) {
	f, err := os.OpenFile(path, os.O_RDONLY|os.O_CREATE|os.O_EXCL, 0o444)
	if err != nil {
		return fmt.Errorf("create network namespace mount point: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("create network namespace mount point: %w", err)
	}
	defer func() {
		if err != nil {
			_ = os.Remove(path)
		}
	}()

	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		// Go may run this goroutine on the main thread, which the runtime
		// never terminates (a locked goroutine exiting merely wedges it):
		// the thread must go back to the original namespace, or it would
		// keep the new one alive after unmount.
		orig, err := os.Open(fmt.Sprintf("/proc/self/task/%d/ns/net", unix.Gettid()))
		if err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("open current network namespace: %w", err)
			return
		}
		defer func() { _ = orig.Close() }()
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("unshare network namespace: %w", err)
			return
		}
		src := fmt.Sprintf("/proc/self/task/%d/ns/net", unix.Gettid())
		var mountErr error
		if err := unix.Mount(src, path, "none", unix.MS_BIND, ""); err != nil {
			mountErr = fmt.Errorf("bind mount network namespace on %s: %w", path, err)
		}
		if err := unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET); err != nil {
			// Stay locked: the runtime ends (or wedges) the thread instead
			// of running other goroutines in the wrong namespace.
			errc <- errors.Join(mountErr, fmt.Errorf("return to the original network namespace: %w", err))
			return
		}
		runtime.UnlockOSThread()
		errc <- mountErr
	}()
	return <-errc
}

// isNetNS tells whether path is a pinned network namespace (an nsfs
// mount). A missing path is not one.
func isNetNS(path string) (bool, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(path, &st); err != nil {
		if errors.Is(err, unix.ENOENT) {
			return false, nil
		}
		return false, fmt.Errorf("stat network namespace %s: %w", path, err)
	}
	return st.Type == unix.NSFS_MAGIC, nil
}

// removeNetNS unmounts and removes a pinned namespace. The namespace itself
// goes away when nothing else (a container process) holds it. Idempotent.
func removeNetNS(path string) error {
	for i := 0; i < 8; i++ { // stacked mounts, e.g. after an odd crash
		mounted, err := isNetNS(path)
		if err != nil {
			return err
		}
		if !mounted {
			break
		}
		if err := unix.Unmount(path, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
			return fmt.Errorf("unmount network namespace %s: %w", path, err)
		}
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove network namespace %s: %w", path, err)
	}
	return nil
}
