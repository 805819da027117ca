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

// Command longshore-logger is the logging binary containerd's shim starts
// for every container the agent runs: it copies the container's stdout and
// stderr into rotated json-file logs (internal/logs). It is a separate, small
// binary because one runs per container; the agent binary can serve as well
// (`longshore-agent logger …`) when this one is not installed next to it.
package main

import (
	"fmt"
	"os"

	"github.com/longshore-io/longshore/internal/logs"
	"github.com/longshore-io/longshore/internal/version"
)

func main() {
	// The shim passes the logger's arguments; --version is for people.
	if len(os.Args) == 2 && os.Args[1] == "--version" {
		fmt.Println("longshore-logger", version.Version)
		return
	}
	os.Exit(logs.RunLogger(os.Args[1:]))
}
