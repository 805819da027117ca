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

package agent

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/types"
)

// A container's attempts share its log file (internal/logs): the records
// of the attempt before the current one are those written while it ran.
// The restart that replaces an attempt records when it was created (its
// output cannot be older) and exited (previous-<container> in the task
// directory, "<created> <exited>" in RFC 3339 with nanoseconds).

func formatAttempt(started, exited time.Time) string {
	return started.UTC().Format(time.RFC3339Nano) + " " + exited.UTC().Format(time.RFC3339Nano)
}

// PreviousAttempt returns when the attempt of container that the restart
// policy last replaced was created and exited; ok is false when it never
// restarted (or the record is gone with the task).
func (r *TaskReconciler) PreviousAttempt(uid types.UID, container string) (started, exited time.Time, ok bool, err error) {
	b, err := os.ReadFile(filepath.Join(r.taskDir(uid), previousRecordPrefix+container))
	if errors.Is(err, os.ErrNotExist) {
		return time.Time{}, time.Time{}, false, nil
	}
	if err != nil {
		return time.Time{}, time.Time{}, false, err
	}
	a, b2, found := strings.Cut(strings.TrimSpace(string(b)), " ")
	s, err1 := time.Parse(time.RFC3339Nano, a)
	e, err2 := time.Parse(time.RFC3339Nano, b2)
	if !found || err1 != nil || err2 != nil {
		return time.Time{}, time.Time{}, false, fmt.Errorf("bad record %s%s of task %s: %q", previousRecordPrefix, container, uid, b)
	}
	return s, e, true, nil
}
