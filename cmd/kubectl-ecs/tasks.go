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

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"golang.org/x/term"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/tools/remotecommand"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ecsv1 "github.com/longshore-io/longshore/api/v1alpha1"
	"github.com/longshore-io/longshore/internal/agentapi/agentclient"
)

const logsUsage = `Usage: kubectl ecs logs TASK [-c CONTAINER] [-f] [--since DURATION | --since-time TIME] [--tail N] [--timestamps] [-p]

Print the output of a container of a Task, read from the agent of the
instance that runs it (RBAC: get tasks/log in group ecs.longshore.io).
`

const execUsage = `Usage: kubectl ecs exec TASK [-c CONTAINER] [-i] [-t] -- COMMAND [ARG...]

Run a command in a running container of a Task, through the agent of the
instance that runs it (RBAC: create tasks/exec in group ecs.longshore.io).
The exit code is the command's.
`

// commonFlags are the flags every task command has, as kubectl's.
type commonFlags struct {
	namespace, kubeconfig, context, container string
}

func (c *commonFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&c.namespace, "n", "", "namespace")
	fs.StringVar(&c.namespace, "namespace", "", "namespace")
	fs.StringVar(&c.kubeconfig, "kubeconfig", "", "kubeconfig file")
	fs.StringVar(&c.context, "context", "", "kubeconfig context")
	fs.StringVar(&c.container, "c", "", "container (default: the task's only one)")
	fs.StringVar(&c.container, "container", "", "container (default: the task's only one)")
}

// parseInterspersed parses flags before and after the positional
// arguments (kubectl ecs logs TASK -f), and returns the positional ones.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// target resolves the task's container and its agent, with the
// kubeconfig's credentials.
func (c *commonFlags) target(ctx context.Context, task string) (*agentclient.Target, error) {
	return c.resolve(ctx, task, true)
}

// taskTarget resolves the task's agent, for a whole task's route (stats).
func (c *commonFlags) taskTarget(ctx context.Context, task string) (*agentclient.Target, error) {
	return c.resolve(ctx, task, false)
}

func (c *commonFlags) resolve(ctx context.Context, task string, oneContainer bool) (*agentclient.Target, error) {
	loader := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(
		&clientcmd.ClientConfigLoadingRules{ExplicitPath: c.kubeconfig, Precedence: clientcmd.NewDefaultClientConfigLoadingRules().Precedence},
		&clientcmd.ConfigOverrides{CurrentContext: c.context})
	cfg, err := loader.ClientConfig()
	if err != nil {
		return nil, err
	}
	ns := c.namespace
	if ns == "" {
		if ns, _, err = loader.Namespace(); err != nil || ns == "" {
			ns = "default"
		}
	}
	scheme := runtime.NewScheme()
	if err := ecsv1.AddToScheme(scheme); err != nil {
		return nil, err
	}
	cl, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		return nil, err
	}
	if !oneContainer {
		return agentclient.ResolveTask(ctx, cl, cfg, ns, task)
	}
	return agentclient.Resolve(ctx, cl, cfg, ns, task, c.container)
}

func runLogs(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("kubectl ecs logs", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { _, _ = fmt.Fprint(stderr, logsUsage); fs.PrintDefaults() }
	var c commonFlags
	c.register(fs)
	var follow, previous, timestamps bool
	var since time.Duration
	var sinceTime string
	tail := fs.Int("tail", -1, "lines of recent output to show; -1: all")
	fs.BoolVar(&follow, "f", false, "follow the output until the container stops")
	fs.BoolVar(&follow, "follow", false, "follow the output until the container stops")
	fs.BoolVar(&previous, "p", false, "the output of the attempt its restart policy replaced")
	fs.BoolVar(&previous, "previous", false, "the output of the attempt its restart policy replaced")
	fs.BoolVar(&timestamps, "timestamps", false, "prefix each line with its time (RFC 3339)")
	fs.DurationVar(&since, "since", 0, "only lines newer than this, e.g. 5s, 2m, 3h")
	fs.StringVar(&sinceTime, "since-time", "", "only lines at or after this time (RFC 3339)")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return 2
	}
	if len(pos) != 1 {
		_, _ = fmt.Fprintf(stderr, "kubectl ecs logs: want one TASK, got %d arguments\n\n%s", len(pos), logsUsage)
		return 2
	}
	opts := agentclient.LogOptions{Follow: follow, Previous: previous, Timestamps: timestamps, Tail: *tail}
	switch {
	case since < 0:
		_, _ = fmt.Fprintln(stderr, "kubectl ecs logs: --since must be positive")
		return 2
	case since > 0 && sinceTime != "":
		_, _ = fmt.Fprintln(stderr, "kubectl ecs logs: give at most one of --since and --since-time")
		return 2
	case since > 0:
		opts.SinceSeconds = int64((since + time.Second - 1) / time.Second)
	case sinceTime != "":
		if opts.SinceTime, err = time.Parse(time.RFC3339Nano, sinceTime); err != nil {
			_, _ = fmt.Fprintf(stderr, "kubectl ecs logs: --since-time %q: want an RFC 3339 time, e.g. 2026-12-01T10:00:00Z\n", sinceTime)
			return 2
		}
	}
	if *tail < -1 {
		_, _ = fmt.Fprintln(stderr, "kubectl ecs logs: --tail must be -1 (all) or more")
		return 2
	}
	if follow && previous {
		_, _ = fmt.Fprintln(stderr, "kubectl ecs logs: --previous and --follow exclude each other: a previous attempt writes no more")
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	t, err := c.target(rctx, pos[0])
	cancel()
	if err != nil {
		_, _ = fmt.Fprintf(stderr, "kubectl ecs logs: %v\n", err)
		return 1
	}
	if err := t.Logs(ctx, opts, stdout); err != nil {
		if errors.Is(err, context.Canceled) {
			return 0
		}
		_, _ = fmt.Fprintf(stderr, "kubectl ecs logs: %v\n", err)
		return 1
	}
	return 0
}

func runExec(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("kubectl ecs exec", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { _, _ = fmt.Fprint(stderr, execUsage); fs.PrintDefaults() }
	var c commonFlags
	c.register(fs)
	var interactive, tty bool
	fs.BoolVar(&interactive, "i", false, "pass standard input to the command")
	fs.BoolVar(&interactive, "stdin", false, "pass standard input to the command")
	fs.BoolVar(&tty, "t", false, "give the command a terminal (with -i, from a terminal)")
	fs.BoolVar(&tty, "tty", false, "give the command a terminal (with -i, from a terminal)")
	// The command is everything after "--".
	var cmd []string
	for i, a := range args {
		if a == "--" {
			args, cmd = args[:i], args[i+1:]
			break
		}
	}
	// -it and -ti, as kubectl takes them.
	for i, a := range args {
		if a == "-it" || a == "-ti" {
			args = append(append(append([]string{}, args[:i]...), "-i", "-t"), args[i+1:]...)
			break
		}
	}
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return 2
	}
	if len(pos) != 1 || len(cmd) == 0 {
		_, _ = fmt.Fprintf(stderr, "kubectl ecs exec: want TASK -- COMMAND [ARG...]\n\n%s", execUsage)
		return 2
	}
	so := remotecommand.StreamOptions{Stdout: stdout, Stderr: stderr}
	if interactive {
		so.Stdin = stdin
	}
	var restore func()
	if tty {
		f, isFile := stdin.(*os.File)
		switch {
		case !interactive:
			so.Tty = true // output through a terminal, as kubectl exec -t
		case !isFile || !term.IsTerminal(int(f.Fd())):
			_, _ = fmt.Fprintln(stderr, "Unable to use a TTY - input is not a terminal or the right kind of file")
		default:
			so.Tty = true
			state, err := term.MakeRaw(int(f.Fd()))
			if err == nil {
				restore = func() { _ = term.Restore(int(f.Fd()), state) }
			}
			so.TerminalSizeQueue = newSizeQueue(int(f.Fd()))
		}
		if so.Tty {
			so.Stderr = nil
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	t, err := c.target(rctx, pos[0])
	cancel()
	if err != nil {
		_, _ = fmt.Fprintf(stderr, "kubectl ecs exec: %v\n", err)
		return 1
	}
	err = t.Exec(ctx, cmd, so)
	if restore != nil {
		restore()
	}
	if err != nil {
		var exit interface{ ExitStatus() int }
		if errors.As(err, &exit) {
			return exit.ExitStatus()
		}
		_, _ = fmt.Fprintf(stderr, "kubectl ecs exec: %v\n", err)
		return 1
	}
	return 0
}

// sizeQueue reports the terminal's size at start and on every SIGWINCH.
type sizeQueue struct {
	fd    int
	ch    chan os.Signal
	first bool
}

func newSizeQueue(fd int) *sizeQueue {
	q := &sizeQueue{fd: fd, ch: make(chan os.Signal, 1), first: true}
	signal.Notify(q.ch, syscall.SIGWINCH)
	return q
}

// Next implements remotecommand.TerminalSizeQueue.
func (q *sizeQueue) Next() *remotecommand.TerminalSize {
	if !q.first {
		if _, ok := <-q.ch; !ok {
			return nil
		}
	}
	q.first = false
	w, h, err := term.GetSize(q.fd)
	if err != nil {
		return nil
	}
	return &remotecommand.TerminalSize{Width: uint16(w), Height: uint16(h)}
}

// taskCommand runs logs, exec or stats; ok is false for another command.
func taskCommand(args []string, stdin io.Reader, stdout, stderr io.Writer) (int, bool) {
	switch args[0] {
	case "logs":
		return runLogs(args[1:], stdout, stderr), true
	case "exec":
		return runExec(args[1:], stdin, stdout, stderr), true
	case "stats":
		return runStats(args[1:], stdout, stderr), true
	}
	return 0, false
}
