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
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// reexecEnv makes the test binary behave as the agent binary's main.
const reexecEnv = "LONGSHORE_LOGS_TEST_AS_AGENT"

func TestMain(m *testing.M) {
	if os.Getenv(reexecEnv) == "1" {
		// Exactly what the agent's main does.
		if len(os.Args) > 1 && os.Args[1] == LoggerSubcommand {
			os.Exit(RunLogger(os.Args[2:]))
		}
		fmt.Fprintln(os.Stderr, "started without the logger subcommand:", os.Args)
		os.Exit(3)
	}
	os.Exit(m.Run())
}

// shimCmd builds the logging binary's command from a log URI the way
// containerd's shim does (NewBinaryCmd, cmd/containerd-shim-runc-v2/process
// /io_util.go in containerd v2.4.2), plus the variable that makes the test
// binary act as the agent.
func shimCmd(t *testing.T, uri string) *exec.Cmd {
	t.Helper()
	u, err := url.Parse(uri)
	if err != nil {
		t.Fatal(err)
	}
	var args []string
	for k, vs := range u.Query() {
		args = append(args, k)
		if len(vs) > 0 {
			args = append(args, vs[0])
		}
	}
	cmd := exec.Command(u.Path, args...)
	cmd.Env = append(cmd.Env, "CONTAINER_ID=c1", "CONTAINER_NAMESPACE=longshore", reexecEnv+"=1",
		"GORACE=atexit_sleep_ms=0") // no 1 s pause at exit under -race
	if dir := os.Getenv("GOCOVERDIR"); dir != "" { // with -cover: no warning
		cmd.Env = append(cmd.Env, "GOCOVERDIR="+dir)
	} else {
		cmd.Env = append(cmd.Env, "GOCOVERDIR="+t.TempDir())
	}
	return cmd
}

// shimLogger is a logging binary started as the shim starts it: the
// container's stdout and stderr pipes on fds 3 and 4, the ready pipe on
// fd 5.
type shimLogger struct {
	cmd            *exec.Cmd
	stdout, stderr *os.File // the container's ends
	ready          *os.File
	output         bytes.Buffer // the logger's own stderr
}

func startLogger(t *testing.T, u *url.URL) *shimLogger {
	t.Helper()
	l := &shimLogger{cmd: shimCmd(t, u.String())}
	outR, outW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	readyR, readyW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	l.cmd.ExtraFiles = []*os.File{outR, errR, readyW}
	l.cmd.Stderr = &l.output
	if err := l.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	for _, f := range []*os.File{outR, errR, readyW} {
		_ = f.Close()
	}
	l.stdout, l.stderr, l.ready = outW, errW, readyR
	t.Cleanup(func() {
		_ = l.stdout.Close()
		_ = l.stderr.Close()
		_ = l.ready.Close()
		if l.cmd.ProcessState == nil {
			_ = l.cmd.Process.Kill()
			_ = l.cmd.Wait()
		}
	})
	return l
}

// waitReady reads the ready pipe as the shim does for "binary-v2": one
// byte, then end of file. It returns the bytes read.
func (l *shimLogger) waitReady(t *testing.T) []byte {
	t.Helper()
	type result struct {
		b   []byte
		err error
	}
	ch := make(chan result, 1)
	go func() {
		b, err := io.ReadAll(l.ready)
		ch <- result{b, err}
	}()
	select {
	case r := <-ch:
		if r.err != nil {
			t.Fatal(r.err)
		}
		return r.b
	case <-time.After(30 * time.Second):
		t.Fatal("the logger is not ready after 30 s")
		return nil
	}
}

// wait waits for the logger to exit and returns its exit code.
func (l *shimLogger) wait(t *testing.T, timeout time.Duration) int {
	t.Helper()
	ch := make(chan error, 1)
	go func() { ch <- l.cmd.Wait() }()
	select {
	case err := <-ch:
		var ee *exec.ExitError
		if err != nil && !errors.As(err, &ee) {
			t.Fatal(err)
		}
		return l.cmd.ProcessState.ExitCode()
	case <-time.After(timeout):
		_ = l.cmd.Process.Kill()
		t.Fatalf("the logger did not exit within %v", timeout)
		return -1
	}
}

func writeAll(t *testing.T, f *os.File, s string) {
	t.Helper()
	if _, err := f.WriteString(s); err != nil {
		t.Fatal(err)
	}
}

// byStream returns the records of each stream, in order.
func byStream(lines []Line) map[string][]string {
	out := map[string][]string{}
	for _, l := range lines {
		out[l.Stream] = append(out[l.Stream], l.Log)
	}
	return out
}

func testBinary(t *testing.T) string {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return exe
}

func TestLoggerEndToEnd(t *testing.T) {
	file := filepath.Join(t.TempDir(), "logs", "default", "task-1", "app.log")
	u, err := LoggerURI(testBinary(t), file, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	l := startLogger(t, u)
	if b := l.waitReady(t); !bytes.Equal(b, []byte{0}) {
		t.Fatalf("ready pipe: got %q, want one 0 byte then EOF; logger says %q", b, l.output.String())
	}
	// The file exists once the logger is ready.
	if fi, err := os.Stat(file); err != nil || fi.Mode() != 0o640 {
		t.Fatalf("log file after ready: %v, %v", fi, err)
	}

	long := strings.Repeat("L", 40000)
	wantOut := []string{}
	wantErr := []string{}
	for i := range 200 {
		writeAll(t, l.stdout, fmt.Sprintf("out %d\n", i))
		wantOut = append(wantOut, fmt.Sprintf("out %d\n", i))
		if i%3 == 0 { // in two writes
			writeAll(t, l.stderr, fmt.Sprintf("err %d", i))
			writeAll(t, l.stderr, " part two\n")
			wantErr = append(wantErr, fmt.Sprintf("err %d part two\n", i))
		}
	}
	writeAll(t, l.stdout, long+"\n")
	wantOut = append(wantOut, long[:MaxLineSize], long[MaxLineSize:2*MaxLineSize], long[2*MaxLineSize:]+"\n")
	writeAll(t, l.stdout, "last line without newline")
	wantOut = append(wantOut, "last line without newline")
	writeAll(t, l.stderr, "stderr ends too")
	wantErr = append(wantErr, "stderr ends too")
	_ = l.stdout.Close()
	_ = l.stderr.Close()

	if code := l.wait(t, 30*time.Second); code != 0 {
		t.Fatalf("logger exit code %d; it says %q", code, l.output.String())
	}
	if l.output.Len() != 0 {
		t.Errorf("logger wrote to stderr: %q", l.output.String())
	}
	lines := readRecords(t, file)
	got := byStream(lines)
	equal(t, "stdout", got[StreamStdout], wantOut)
	equal(t, "stderr", got[StreamStderr], wantErr)
	if len(got) != 2 {
		t.Errorf("streams %v", got)
	}
	tail, err := Tail(file, 1)
	if err != nil || len(tail) != 1 || tail[0] != lines[len(lines)-1] {
		t.Errorf("Tail(1) = %v, %v; last record %v", tail, err, lines[len(lines)-1])
	}
}

func TestLoggerRotates(t *testing.T) {
	file := filepath.Join(t.TempDir(), "app.log")
	opts, err := ParseOptions("4k", "3")
	if err != nil {
		t.Fatal(err)
	}
	u, err := LoggerURI(testBinary(t), file, opts)
	if err != nil {
		t.Fatal(err)
	}
	l := startLogger(t, u)
	l.waitReady(t)
	const n = 2000
	var buf bytes.Buffer
	for i := range n {
		fmt.Fprintf(&buf, "line %04d\n", i)
	}
	writeAll(t, l.stdout, buf.String())
	_ = l.stdout.Close()
	_ = l.stderr.Close()
	if code := l.wait(t, 30*time.Second); code != 0 {
		t.Fatalf("logger exit code %d; it says %q", code, l.output.String())
	}
	files, err := filepath.Glob(file + "*")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 3 {
		t.Fatalf("files %v, want 3", files)
	}
	total := 0
	for _, f := range files {
		fi, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Size() > 4096 || fi.Size() == 0 {
			t.Errorf("%s is %d bytes", f, fi.Size())
		}
		total += len(readRecords(t, f))
	}
	lines, err := Tail(file, -1)
	if err != nil {
		t.Fatal(err)
	}
	if len(lines) != total || total < 2*4096/int(recordLen("line 0000\n")) {
		t.Fatalf("Tail: %d records, the files hold %d", len(lines), total)
	}
	var want []string
	for i := n - len(lines); i < n; i++ {
		want = append(want, fmt.Sprintf("line %04d\n", i))
	}
	equal(t, "kept lines", logs(lines), want)
}

func TestLoggerSIGTERMDrainsPipes(t *testing.T) {
	file := filepath.Join(t.TempDir(), "app.log")
	u, err := LoggerURI(testBinary(t), file, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	l := startLogger(t, u)
	l.waitReady(t)
	// The pipes stay open (as the stderr pipe of a terminal container
	// does): only SIGTERM ends the logger, after writing what is buffered.
	writeAll(t, l.stdout, "before\nunfinished")
	writeAll(t, l.stderr, "oops\n")
	start := time.Now()
	if err := l.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := l.wait(t, 20*time.Second); code != 0 {
		t.Fatalf("logger exit code %d; it says %q", code, l.output.String())
	}
	// Read deadlines end it soon after the pipes are empty, well before
	// the give-up time.
	if d := time.Since(start); d > drainLimit-time.Second {
		t.Errorf("the logger took %v to exit after SIGTERM", d)
	}
	got := byStream(readRecords(t, file))
	equal(t, "stdout", got[StreamStdout], []string{"before\n", "unfinished"})
	equal(t, "stderr", got[StreamStderr], []string{"oops\n"})
}

func TestLoggerCannotOpenFile(t *testing.T) {
	dir := t.TempDir()
	notDir := filepath.Join(dir, "file")
	if err := os.WriteFile(notDir, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	u, err := LoggerURI(testBinary(t), filepath.Join(notDir, "app.log"), DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	l := startLogger(t, u)
	// No ready byte: a "binary-v2" shim fails the start.
	if b := l.waitReady(t); len(b) != 0 {
		t.Fatalf("ready pipe: %q, want nothing", b)
	}
	if code := l.wait(t, 30*time.Second); code != 1 {
		t.Fatalf("exit code %d, want 1", code)
	}
	if !strings.Contains(l.output.String(), "not a directory") {
		t.Errorf("logger says %q", l.output.String())
	}
}

func TestLoggerWithoutShimFDs(t *testing.T) {
	u, err := LoggerURI(testBinary(t), filepath.Join(t.TempDir(), "app.log"), DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	cmd := shimCmd(t, u.String()) // no ExtraFiles
	out, err := cmd.CombinedOutput()
	if cmd.ProcessState == nil || cmd.ProcessState.ExitCode() != 2 {
		t.Fatalf("exit: %v, want status 2; output %q", err, out)
	}
	// (Without the shim's pipes, fds 3 and 4 may be the Go runtime's own.)
	if !strings.Contains(string(out), "is not open: this subcommand is run by containerd's shim") {
		t.Errorf("output %q", out)
	}
}

func TestLoggerURI(t *testing.T) {
	u, err := LoggerURI("/usr/bin/longshore-agent", "/var/log/longshore/tasks/ns/t 1/a&b=c.log", Options{MaxSize: 1 << 20, MaxFile: 2})
	if err != nil {
		t.Fatal(err)
	}
	const want = "binary:///usr/bin/longshore-agent?logger=file%3D%252Fvar%252Flog%252Flongshore%252Ftasks%252Fns%252Ft%2B1%252Fa%2526b%253Dc.log%26max-file%3D2%26max-size%3D1048576"
	if u.String() != want {
		t.Fatalf("URI\n%s\nwant\n%s", u, want)
	}
	// What the shim runs, and what the logger makes of it.
	cmd := shimCmd(t, u.String())
	wantArgs := []string{"/usr/bin/longshore-agent", "logger", "file=%2Fvar%2Flog%2Flongshore%2Ftasks%2Fns%2Ft+1%2Fa%26b%3Dc.log&max-file=2&max-size=1048576"}
	equal(t, "argv", cmd.Args, wantArgs)
	cfg, err := parseLoggerArgs(cmd.Args[2:])
	if err != nil {
		t.Fatal(err)
	}
	if cfg.file != "/var/log/longshore/tasks/ns/t 1/a&b=c.log" || cfg.opts != (Options{MaxSize: 1 << 20, MaxFile: 2}) {
		t.Fatalf("parsed %+v", cfg)
	}
	if _, err := parseLoggerArgs(cmd.Args[1:]); err != nil { // with the subcommand
		t.Fatal(err)
	}

	for _, c := range []struct {
		bin, file string
		opts      Options
		want      string
	}{
		{"longshore-agent", "/x.log", DefaultOptions(), `logging binary "longshore-agent" is not an absolute path`},
		{"/bin/a", "x.log", DefaultOptions(), `log file "x.log" is not an absolute path`},
		{"/bin/a", "/x.log", Options{MaxSize: 0, MaxFile: 1}, "max-size must be positive, got 0"},
	} {
		if _, err := LoggerURI(c.bin, c.file, c.opts); err == nil || err.Error() != c.want {
			t.Errorf("LoggerURI(%q, %q, %+v): %v, want %q", c.bin, c.file, c.opts, err, c.want)
		}
	}

	io, err := LoggerIO("/usr/bin/longshore-agent", "/x/a.log", DefaultOptions())("c1")
	if err != nil {
		t.Fatal(err)
	}
	cfgIO := io.Config()
	if !strings.HasPrefix(cfgIO.Stdout, "binary:///usr/bin/longshore-agent?logger=") || cfgIO.Stderr != cfgIO.Stdout || cfgIO.Stdin != "" {
		t.Errorf("LoggerIO config %+v", cfgIO)
	}
}

func TestLoggerArgErrors(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{nil, "want one argument, file=…&max-size=…&max-file=… (URL-encoded), got 0"},
		{[]string{"logger"}, "want one argument, file=…&max-size=…&max-file=… (URL-encoded), got 0"},
		{[]string{"a", "b"}, "want one argument, file=…&max-size=…&max-file=… (URL-encoded), got 2"},
		{[]string{"file=%zz"}, `bad argument "file=%zz": invalid URL escape "%zz"`},
		{[]string{"max-file=2"}, "no log file (file=…)"},
		{[]string{"file=rel.log"}, `log file "rel.log" is not an absolute path`},
		{[]string{"file=/a.log&color=red"}, `unknown option "color"`},
		{[]string{"file=/a.log&file=/b.log"}, "file is given 2 times"},
		{[]string{"file=/a.log&max-size=10q"}, `max-size: "10q" is not a size: want a number with an optional unit k, m, g or t (as in 10m)`},
		{[]string{"file=/a.log&max-file=0"}, "max-file: must be at least 1, got 0"},
	} {
		_, err := parseLoggerArgs(c.args)
		if err == nil || err.Error() != c.want {
			t.Errorf("parseLoggerArgs(%q): %v, want %q", c.args, err, c.want)
		}
	}
	// Argument errors make RunLogger return (it never gets to fds or
	// logging.Run, which would exit this process).
	stderr, err := os.CreateTemp(t.TempDir(), "stderr")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = stderr.Close() }()
	saved := os.Stderr
	os.Stderr = stderr
	code := RunLogger([]string{"file=rel.log"})
	os.Stderr = saved
	if code != 2 {
		t.Errorf("RunLogger with a bad argument: %d, want 2", code)
	}
	if msg, _ := os.ReadFile(stderr.Name()); !strings.HasSuffix(string(msg), ` logger: log file "rel.log" is not an absolute path`+"\n") {
		t.Errorf("RunLogger says %q", msg)
	}
	cfg, err := parseLoggerArgs([]string{"file=/a.log"})
	if err != nil || cfg.opts != DefaultOptions() {
		t.Errorf("defaults: %+v, %v", cfg, err)
	}
}

// runLogger in this process, for the race detector and the drain paths.
func TestRunLoggerDrainAfterCancel(t *testing.T) {
	file := filepath.Join(t.TempDir(), "app.log")
	outR, outW, err := os.Pipe() // pollable: read deadlines work
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = outR.Close() }()
	defer func() { _ = outW.Close() }()
	errR, errW := io.Pipe() // no deadlines: only drainLimit ends it
	defer func() { _ = errW.Close() }()

	oldLimit := drainLimit
	drainLimit = 500 * time.Millisecond
	defer func() { drainLimit = oldLimit }()

	ctx, cancel := context.WithCancel(context.Background())
	readyCalled := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- runLogger(ctx, loggerConfig{file: file, opts: DefaultOptions()}, outR, errR, func() error {
			close(readyCalled)
			return nil
		})
	}()
	<-readyCalled
	writeAll(t, outW, "one\ntwo\nthr")
	if _, err := errW.Write([]byte("err line\n")); err != nil { // returns once read
		t.Fatal(err)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("runLogger did not return after cancel")
	}
	got := byStream(readRecords(t, file))
	equal(t, "stdout", got[StreamStdout], []string{"one\n", "two\n", "thr"})
	equal(t, "stderr", got[StreamStderr], []string{"err line\n"})
}

func TestRunLoggerReadyFails(t *testing.T) {
	file := filepath.Join(t.TempDir(), "app.log")
	err := runLogger(context.Background(), loggerConfig{file: file, opts: DefaultOptions()},
		strings.NewReader("x\n"), strings.NewReader(""), func() error { return errors.New("broken pipe") })
	if err == nil || !strings.Contains(err.Error(), "signalling ready: broken pipe") {
		t.Fatalf("runLogger: %v", err)
	}
}
