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

// Package initproc is the init process of containers with ECS
// linuxParameters.initProcessEnabled: it runs as PID 1, starts the
// container's command, forwards signals to it, reaps every orphaned zombie
// and exits with the command's status. The agent binary serves as this init
// (subcommand "init"), bind-mounted read-only into the container.
package initproc

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
)

// Subcommand is the agent's argument that selects Main.
const Subcommand = "init"

// PauseSubcommand selects Pause: the process of a task's namespace holder.
const PauseSubcommand = "pause"

// MountPath is where the agent binary appears inside a container.
const MountPath = "/.longshore/init"

// Args returns the process arguments that run args under this init.
func Args(args []string) []string {
	return append([]string{MountPath, Subcommand, "--"}, args...)
}

// Main runs args (after a leading "--") as the child and returns the exit
// status the init process should exit with.
func Main(args []string) int {
	if len(args) > 0 && args[0] == "--" {
		args = args[1:]
	}
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, "init: no command to run")
		return 127
	}
	sigs := make(chan os.Signal, 32)
	signal.Notify(sigs)
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	// The child gets its own process group so that a forwarded signal
	// reaches it the way a terminal's would.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		fmt.Fprintf(os.Stderr, "init: %v\n", err)
		var ee *exec.Error
		if errors.As(err, &ee) {
			return 127
		}
		return 126
	}
	child := cmd.Process.Pid
	for sig := range sigs {
		s, ok := sig.(syscall.Signal)
		if !ok {
			continue
		}
		if s != syscall.SIGCHLD {
			_ = syscall.Kill(-child, s)
			continue
		}
		// Reap every exited process; return when the child is among them.
		for {
			var ws syscall.WaitStatus
			pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
			if err != nil || pid <= 0 {
				break
			}
			if pid == child {
				if ws.Signaled() {
					return 128 + int(ws.Signal())
				}
				return ws.ExitStatus()
			}
		}
	}
	return 0
}

// Pause is the process of a task's namespace holder (ECS pidMode and
// ipcMode "task"): the PID 1 of the PID namespace the task's containers
// share, which keeps the namespaces alive while their containers come and
// go. It does nothing but reap the processes orphaned into it, until
// SIGTERM or SIGINT, and exits 0.
func Pause() int {
	sigs := make(chan os.Signal, 32)
	signal.Notify(sigs, syscall.SIGCHLD, syscall.SIGTERM, syscall.SIGINT)
	for sig := range sigs {
		if sig != syscall.SIGCHLD {
			return 0
		}
		for {
			var ws syscall.WaitStatus
			pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
			if err != nil || pid <= 0 {
				break
			}
		}
	}
	return 0
}
