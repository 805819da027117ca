//go:build node

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

package node

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/utils/ptr"

	ecsv1 "github.com/longshore-io/longshore/api/v1alpha1"
	"github.com/longshore-io/longshore/internal/logs"
	"github.com/longshore-io/longshore/test/integration/framework"
)

// TestInteractiveAndPseudoTerminal: pseudoTerminal gives the process a
// TTY (its output then reaches the log store as stdout, "\r\n" line ends);
// with interactive its stdin is the TTY, kept open, so a process that
// reads stdin waits instead of reading end of file at once, as
// `docker run -it` does and as task definitions that keep a shell alive
// rely on. Without either, stdin is at end of file.
func TestInteractiveAndPseudoTerminal(t *testing.T) {
	n := newNode(t, "node-stdio")
	script := "tty; if [ -t 0 ]; then echo stdin-tty; fi; read line; echo read-returned"
	both := container("both", "sh", "-c", script)
	both.Interactive, both.PseudoTerminal = ptr.To(true), ptr.To(true)
	neither := container("neither", "sh", "-c", script)
	neither.Essential = ptr.To(false)
	task := n.task("stdio", ecsv1.TaskDefinitionSpec{NetworkMode: ecsv1.NetworkModeNone,
		ContainerDefinitions: []ecsv1.ContainerDefinition{both, neither}})
	got := n.wait(task, 60*time.Second, "RUNNING", phase(ecsv1.TaskRunning))

	logOf := func(c string) []logs.Line {
		p, err := logs.Path(n.LogDir, n.NS, task.Name, c)
		if err != nil {
			t.Fatal(err)
		}
		l, _ := logs.Tail(p, -1)
		return l
	}
	// neither: stdin is /dev/null, read returns at once and it exits.
	framework.Eventually(t, 20*time.Second, "neither exits", func() error {
		got = n.wait(task, 10*time.Second, "seen", func(*ecsv1.Task) error { return nil })
		if exitCode(got, "neither") == nil {
			return fmt.Errorf("still running")
		}
		return nil
	})
	time.Sleep(2 * time.Second) // the two interactive ones must still wait on stdin
	got = n.wait(task, 10*time.Second, "RUNNING", phase(ecsv1.TaskRunning))
	for _, c := range []string{"both"} {
		if cs := containerStatus(got, c); cs == nil || cs.LastStatus != "RUNNING" {
			t.Errorf("%s: %+v, want RUNNING: its stdin must stay open", c, cs)
		}
	}
	var text []string
	for _, l := range logOf("both") {
		text = append(text, l.Stream+":"+l.Log)
	}
	joined := strings.Join(text, "")
	if !strings.Contains(joined, "stdout:/dev/pts/0\r\n") || !strings.Contains(joined, "stdout:stdin-tty\r\n") {
		t.Errorf("the log of the container with a TTY: %q, want tty's /dev/pts/0 and stdin-tty, as stdout with \\r\\n", joined)
	}
	if strings.Contains(joined, "read-returned") {
		t.Errorf("the interactive container's read returned: %q", joined)
	}
	if l := logOf("neither"); !strings.Contains(fmt.Sprint(l), "read-returned") {
		t.Errorf("the log of the container with neither: %v, want read-returned (stdin at end of file)", l)
	}
	fifo := filepath.Join(n.RunDir, "stdin", strings.ReplaceAll(string(got.UID), "-", ""), "both")
	if fi, err := os.Stat(fifo); err != nil || fi.Mode()&os.ModeNamedPipe == 0 {
		t.Errorf("stdin FIFO %s: %v, %v", fifo, fi, err)
	}
	n.deleteTask(task)
	if _, err := os.Stat(filepath.Dir(fifo)); !os.IsNotExist(err) {
		t.Errorf("the task's stdin FIFOs outlived it: %v", err)
	}
}
