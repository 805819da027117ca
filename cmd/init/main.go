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

// Command longshore-init is the PID 1 of containers with
// linuxParameters.initProcessEnabled (internal/initproc): it starts the
// command, forwards signals and reaps zombies. Static and small, it is
// bind-mounted read-only into the container; the agent binary can serve as
// well (`longshore-agent init …`) when this one is not installed next to it.
package main

import (
	"fmt"
	"os"

	"github.com/longshore-io/longshore/internal/initproc"
	"github.com/longshore-io/longshore/internal/version"
)

func main() {
	args := os.Args[1:]
	// Only as the first argument: a container's own command comes after "--".
	if len(args) == 1 && args[0] == "--version" {
		fmt.Println("longshore-init", version.Version)
		return
	}
	if len(args) == 1 && args[0] == initproc.PauseSubcommand {
		os.Exit(initproc.Pause()) // a task's namespace holder
	}
	if len(args) > 0 && args[0] == initproc.Subcommand {
		args = args[1:]
	}
	os.Exit(initproc.Main(args))
}
