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

// Package logs keeps the stdout and stderr of task containers in files in
// Docker's json-file format, rotated by size, and reads them back.
//
// # File layout
//
// Every container of a task has one log file, shared by its stdout and
// stderr:
//
//	<root>/<namespace>/<task name>/<container name>.log      current file
//	<root>/<namespace>/<task name>/<container name>.log.1    previous file
//	…
//	<root>/<namespace>/<task name>/<container name>.log.<max-file - 1>  oldest
//
// root defaults to [DefaultRoot] (/var/log/longshore/tasks); [Path] computes
// the name of the current file. Directories are created with mode 0750 and
// files with mode 0640 (set explicitly, whatever the umask).
//
// # Record format
//
// Each line of output is one JSON object on a line of its own, as written by
// Docker's json-file driver:
//
//	{"log":"hello\n","stream":"stdout","time":"2026-01-02T03:04:05.123456789Z"}
//
// time is the UTC time the line was read, in RFC 3339 with nine fractional
// digits. A line longer than [MaxLineSize] bytes is split into records of at
// most MaxLineSize bytes that do not end in "\n" (partial records) followed
// by a record holding the rest and the newline; a last line without newline
// is written, without "\n", when its stream ends.
//
// # Rotation
//
// [Options] carries the json-file options of an ECS logConfiguration,
// max-size and max-file (see [ParseOptions]). Before a record is written,
// if the current file is not empty and the record would make it larger than
// max-size, the files are rotated: <name>.log.<k> becomes <name>.log.<k+1>,
// <name>.log becomes <name>.log.1 and a new <name>.log is started, so that
// at most max-file files exist; the oldest one is removed. With max-file 1
// the current file is truncated instead. A single record larger than
// max-size is written to a file of its own.
//
// # The logging binary
//
// Containers do not write to these files through the agent: containerd's
// shim starts a logging binary for each container (the "binary" log URI
// scheme, see [LoggerURI]) that outlives agent restarts. The agent binary is
// that logging binary: started as "longshore-agent logger <args>", its main
// calls [RunLogger], which speaks containerd's binary logging protocol
// (github.com/containerd/containerd/v2/core/runtime/v2/logging) and copies
// the container's stdout and stderr into a [Writer] until both end.
package logs

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
)

// DefaultRoot is the directory under which task logs are kept when no other
// root is configured.
const DefaultRoot = "/var/log/longshore/tasks"

// Path returns the current log file of a container:
// <root>/<namespace>/<task>/<container>.log. An empty root means
// [DefaultRoot]. Each of namespace, task and container must be a single,
// non-empty path element: no "/", no NUL, and neither "." nor "..".
func Path(root, namespace, task, container string) (string, error) {
	if root == "" {
		root = DefaultRoot
	}
	for _, e := range []struct{ what, v string }{
		{"namespace", namespace}, {"task name", task}, {"container name", container},
	} {
		if err := checkElement(e.v); err != nil {
			return "", fmt.Errorf("log file path: %s %q: %w", e.what, e.v, err)
		}
	}
	return filepath.Join(root, namespace, task, container+".log"), nil
}

func checkElement(s string) error {
	switch {
	case s == "":
		return errors.New("must not be empty")
	case s == "." || s == "..":
		return errors.New(`must not be "." or ".."`)
	case strings.ContainsAny(s, "/\x00"):
		return errors.New(`must not contain "/" or NUL`)
	}
	return nil
}
