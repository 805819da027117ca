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

package runtime

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"slices"
	"strings"
	"syscall"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/pkg/cio"
	"github.com/containerd/errdefs"
)

// ExecStream implements Containers: a process of the container's task,
// with the container's environment, user and working directory, as
// containerd's CRI runs kubectl exec.
func (c *Containerd) ExecStream(ctx context.Context, id string, args []string, s ExecStreams) (int, error) {
	if len(args) == 0 {
		return -1, fmt.Errorf("exec in %s: no command", id)
	}
	cont, err := c.client.LoadContainer(ctx, id)
	if errdefs.IsNotFound(err) {
		return -1, fmt.Errorf("%s: %w", id, ErrNotFound)
	}
	if err != nil {
		return -1, err
	}
	t, err := cont.Task(ctx, nil)
	if err != nil {
		return -1, fmt.Errorf("container %s has no running process: %w", id, err)
	}
	spec, err := cont.Spec(ctx)
	if err != nil {
		return -1, err
	}
	pspec := *spec.Process
	pspec.Args = args
	pspec.Terminal = s.TTY
	pspec.Env = slices.Clone(pspec.Env)
	if s.TTY && !slices.ContainsFunc(pspec.Env, func(e string) bool { return strings.HasPrefix(e, "TERM=") }) {
		pspec.Env = append(pspec.Env, "TERM=xterm")
	}
	pspec.ConsoleSize = nil

	// Stdin goes through a pipe that ExecStream closes when it returns,
	// so that containerd's copy never outlives the process.
	var stdin io.Reader
	var pw *io.PipeWriter
	if s.Stdin != nil {
		var pr *io.PipeReader
		pr, pw = io.Pipe()
		stdin = pr
		defer func() { _ = pw.Close() }()
	}
	stdout, stderr := s.Stdout, s.Stderr
	if stdout == nil {
		stdout = io.Discard
	}
	if stderr == nil || s.TTY {
		stderr = io.Discard
	}
	opts := []cio.Opt{cio.WithStreams(stdin, stdout, stderr)}
	if s.TTY {
		opts = append(opts, cio.WithTerminal)
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	execID := "exec-" + hex.EncodeToString(b)
	p, err := t.Exec(ctx, execID, &pspec, cio.NewCreator(opts...))
	if err != nil {
		return -1, fmt.Errorf("exec in %s: %w", id, err)
	}
	bg := context.WithoutCancel(ctx)
	defer func() { _, _ = p.Delete(bg, containerd.WithProcessKill) }()
	statusC, err := p.Wait(bg)
	if err != nil {
		return -1, err
	}
	if err := p.Start(ctx); err != nil {
		return -1, fmt.Errorf("exec in %s: %w", id, err)
	}
	done := make(chan struct{})
	defer close(done)
	if s.TTY && s.Resize != nil {
		go func() {
			for {
				select {
				case <-done:
					return
				case sz, ok := <-s.Resize:
					if !ok {
						return
					}
					_ = p.Resize(bg, uint32(sz.Width), uint32(sz.Height))
				}
			}
		}()
	}
	if s.Stdin != nil {
		go func() {
			_, _ = io.Copy(pw, s.Stdin)
			_ = pw.Close()
			// The shim holds the stdin FIFO open too: close its end, so
			// that the process reads end of file.
			select {
			case <-done:
			default:
				_ = p.CloseIO(bg, containerd.WithStdinCloser)
			}
		}()
	}
	var st containerd.ExitStatus
	select {
	case st = <-statusC:
	case <-ctx.Done():
		_ = p.Kill(bg, syscall.SIGKILL)
		st = <-statusC
	}
	// The output copied to its end; a child the command left behind can
	// keep it open: then until ctx ends.
	copied := make(chan struct{})
	go func() { p.IO().Wait(); close(copied) }()
	select {
	case <-copied:
	case <-ctx.Done():
		p.IO().Cancel()
	}
	_ = p.IO().Close()
	if err := st.Error(); err != nil {
		return -1, fmt.Errorf("exec in %s: %w", id, err)
	}
	if ctx.Err() != nil {
		return int(st.ExitCode()), ctx.Err()
	}
	return int(st.ExitCode()), nil
}
