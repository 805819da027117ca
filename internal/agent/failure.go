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

import ecsv1 "github.com/longshore-io/longshore/api/v1alpha1"

// failure is a step's outcome that stops the task (TaskFailedToStart and
// the like), as opposed to an error that the next sync retries. Every step
// may fail so (sync and the steps it calls, as the namespace holder's), so
// it lives in a file of its own that calls nothing.
type failure struct{ stopDecision }

func (f *failure) Error() string { return f.Reason }

func fail(code ecsv1.StopCode, reason string) error {
	return &failure{stopDecision{Code: code, Reason: reason}}
}
