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

package logs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/containerd/containerd/v2/core/runtime/v2/logging"
	"github.com/containerd/containerd/v2/pkg/cio"
	"golang.org/x/sys/unix"
)

// LoggerSubcommand is the first argument the agent binary gets when the
// shim starts it as a container's logging binary.
const LoggerSubcommand = "logger"

// loggerArg is the query key of the log URI: the shim passes each query
// key and its first value as two arguments, so the URI has only this key.
const loggerArg = LoggerSubcommand

// The file descriptors of containerd's binary logging protocol.
const (
	fdStdout = 3
	fdStderr = 4
	fdReady  = 5
)

// After SIGTERM, the logger keeps copying as long as data comes within
// drainIdle of the previous read, for at most drainLimit. The shim kills
// it 12 s after SIGTERM.
var (
	drainIdle  = 200 * time.Millisecond
	drainLimit = 5 * time.Second
)

// LoggerURI returns the log URI that makes containerd's shim start
// binaryPath (the agent binary, an absolute path) as the logging binary of
// a container, writing to the log file file (absolute) with opts.
//
// The URI has the "binary" scheme and one query parameter, "logger", whose
// value is itself a URL-encoded query with the keys file, max-size (bytes)
// and max-file (and, with opts.Forward, forward-socket, forward-tag,
// forward-container-id, forward-container-name and forward-buffer-limit):
//
//	binary:///usr/bin/longshore-agent?logger=file%3D%252Fvar%252Flog%252Fc.log%26max-file%3D5%26max-size%3D10485760
//
// The shim turns each query key and its value into two arguments, so it
// runs
//
//	/usr/bin/longshore-agent logger 'file=%2Fvar%2Flog%2Fc.log&max-file=5&max-size=10485760'
//
// whose main must call RunLogger(os.Args[2:]). No other query parameter may
// be added: the shim passes parameters in random order.
//
// The logger writes the ready byte of the "binary-v2" scheme (containerd
// 2.2 or later), so the scheme of the returned URI may be changed to
// "binary-v2" to make the shim fail the container's start when the logger
// cannot open its file; with "binary" such a container runs with its output
// lost.
func LoggerURI(binaryPath, file string, opts Options) (*url.URL, error) {
	if !filepath.IsAbs(binaryPath) {
		return nil, fmt.Errorf("logging binary %q is not an absolute path", binaryPath)
	}
	if !filepath.IsAbs(file) {
		return nil, fmt.Errorf("log file %q is not an absolute path", file)
	}
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	args := url.Values{
		"file":     {filepath.Clean(file)},
		"max-size": {strconv.FormatInt(opts.MaxSize, 10)},
		"max-file": {strconv.Itoa(opts.MaxFile)},
	}
	if opts.Forward != nil {
		opts.Forward.addArgs(args)
	}
	return cio.LogURIGenerator("binary", binaryPath, map[string]string{loggerArg: args.Encode()})
}

// LoggerIO returns a cio.Creator for a task whose stdout and stderr go
// through the logging binary described by [LoggerURI]. It is
// cio.LogURI of that URI; for a process with a pseudo-terminal use
// cio.TerminalLogURI with the URI instead (its output is then all
// "stdout", with "\r\n" line ends, and the logger ends when the shim
// exits).
func LoggerIO(binaryPath, file string, opts Options) cio.Creator {
	return func(id string) (cio.IO, error) {
		u, err := LoggerURI(binaryPath, file, opts)
		if err != nil {
			return nil, err
		}
		return cio.LogURI(u)(id)
	}
}

// RunLogger is the "logger" subcommand of the agent binary: containerd's
// shim runs it for a container as described by [LoggerURI], with the
// container's stdout on fd 3, its stderr on fd 4 and a ready pipe on fd 5
// (see github.com/containerd/containerd/v2/core/runtime/v2/logging). The
// agent's main calls it first thing:
//
//	if len(os.Args) > 1 && os.Args[1] == logs.LoggerSubcommand {
//		os.Exit(logs.RunLogger(os.Args[2:]))
//	}
//
// args are the arguments after the subcommand (a leading "logger" is
// skipped too). RunLogger opens the log file, signals ready, copies both
// streams into it until both reach end of file and exits the process
// itself, with status 0, or 1 if the log file could not be opened or
// written (the error goes to stderr, which the shim discards). On SIGTERM,
// sent by the shim when it is done with the container, it writes what is
// still buffered in the pipes, then exits with status 0. RunLogger returns
// only, with status 2, when its arguments or file descriptors are wrong.
func RunLogger(args []string) int {
	cfg, err := parseLoggerArgs(args)
	if err == nil {
		err = prepareFDs()
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s %s: %v\n", filepath.Base(os.Args[0]), LoggerSubcommand, err)
		return 2
	}
	logging.Run(func(ctx context.Context, c *logging.Config, ready func() error) error {
		return runLogger(ctx, cfg, c.Stdout, c.Stderr, ready)
	})
	return 0 // not reached: logging.Run exits
}

type loggerConfig struct {
	file string
	opts Options
}

func parseLoggerArgs(args []string) (loggerConfig, error) {
	if len(args) > 0 && args[0] == LoggerSubcommand {
		args = args[1:]
	}
	if len(args) != 1 {
		return loggerConfig{}, fmt.Errorf("want one argument, file=…&max-size=…&max-file=… (URL-encoded), got %d", len(args))
	}
	q, err := url.ParseQuery(args[0])
	if err != nil {
		return loggerConfig{}, fmt.Errorf("bad argument %q: %w", args[0], err)
	}
	for k, vs := range q {
		switch k {
		case "file", "max-size", "max-file":
			if len(vs) > 1 {
				return loggerConfig{}, fmt.Errorf("%s is given %d times", k, len(vs))
			}
		default:
			if isForwardArg(k) && len(vs) == 1 {
				continue
			}
			return loggerConfig{}, fmt.Errorf("unknown option %q", k)
		}
	}
	file := q.Get("file")
	if file == "" {
		return loggerConfig{}, errors.New("no log file (file=…)")
	}
	if !filepath.IsAbs(file) {
		return loggerConfig{}, fmt.Errorf("log file %q is not an absolute path", file)
	}
	opts, err := ParseOptions(q.Get("max-size"), q.Get("max-file"))
	if err != nil {
		return loggerConfig{}, err
	}
	if opts.Forward, err = parseForwardArgs(q); err != nil {
		return loggerConfig{}, err
	}
	return loggerConfig{file: file, opts: opts}, nil
}

// prepareFDs checks that the shim's file descriptors are open and makes
// the stdout and stderr pipes non-blocking, so that logging.Run's os.NewFile
// puts them in the runtime poller and reads can have deadlines.
func prepareFDs() error {
	for _, fd := range []struct {
		n    int
		what string
	}{{fdStdout, "container stdout"}, {fdStderr, "container stderr"}, {fdReady, "ready pipe"}} {
		if _, err := unix.FcntlInt(uintptr(fd.n), unix.F_GETFD, 0); err != nil {
			return fmt.Errorf("fd %d (%s) is not open: this subcommand is run by containerd's shim, with the container's stdout, stderr and a ready pipe on fds 3, 4 and 5", fd.n, fd.what)
		}
	}
	for _, fd := range []int{fdStdout, fdStderr} {
		var st unix.Stat_t
		if err := unix.Fstat(fd, &st); err != nil {
			return fmt.Errorf("fd %d: %w", fd, err)
		}
		if st.Mode&unix.S_IFMT == unix.S_IFIFO {
			if err := unix.SetNonblock(fd, true); err != nil {
				return fmt.Errorf("fd %d: %w", fd, err)
			}
		}
	}
	return nil
}

// runLogger is the logging.LoggerFunc of RunLogger.
func runLogger(ctx context.Context, cfg loggerConfig, stdout, stderr io.Reader, ready func() error) error {
	w, err := NewWriter(cfg.file, cfg.opts)
	if err != nil {
		return err // without ready: the shim sees the pipe close instead
	}
	if err := ready(); err != nil {
		return errors.Join(fmt.Errorf("signalling ready: %w", err), w.Close())
	}
	errs := make(chan error, 2)
	go func() { errs <- copyStream(ctx, w.Stream(StreamStdout), stdout) }()
	go func() { errs <- copyStream(ctx, w.Stream(StreamStderr), stderr) }()

	var result []error
	done := ctx.Done()
	var limit <-chan time.Time
wait:
	for pending := 2; pending > 0; {
		select {
		case err := <-errs:
			result = append(result, err)
			pending--
		case <-done:
			done = nil
			limit = time.After(drainLimit)
		case <-limit:
			// Pipes without deadlines, or a writer that never stops:
			// the shim is done with the container, so is the logger.
			break wait
		}
	}
	return errors.Join(append(result, w.Close())...)
}

// copyStream copies r into sw until r ends, then writes the unfinished
// line. Once ctx is done, it stops when no data arrives for drainIdle (if r
// supports read deadlines). It goes on reading when the log file cannot be
// written, so that the container never blocks on a full pipe, and returns
// the first such error at the end.
func copyStream(ctx context.Context, sw *StreamWriter, r io.Reader) error {
	dl, _ := r.(interface{ SetReadDeadline(time.Time) error })
	if dl != nil {
		stop := context.AfterFunc(ctx, func() { _ = dl.SetReadDeadline(time.Now().Add(drainIdle)) })
		defer stop()
	}
	var writeErr, readErr error
	buf := make([]byte, 32<<10)
	for {
		n, err := r.Read(buf)
		if n > 0 {
			if _, werr := sw.Write(buf[:n]); werr != nil && writeErr == nil {
				writeErr = werr
			}
			if dl != nil && ctx.Err() != nil {
				_ = dl.SetReadDeadline(time.Now().Add(drainIdle))
			}
		}
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, os.ErrDeadlineExceeded) {
				readErr = fmt.Errorf("reading %s: %w", sw.stream, err)
			}
			break
		}
	}
	return errors.Join(readErr, writeErr, sw.Close())
}
