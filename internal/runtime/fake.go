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

package runtime

import (
	"context"
	"sync"
)

// Fake is an in-memory Runtime for unit tests; it records calls.
type Fake struct {
	mu         sync.Mutex
	VersionStr string
	Err        error
	Calls      []string
}

// Version implements Runtime.
func (f *Fake) Version(context.Context) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.Calls = append(f.Calls, "Version")
	return f.VersionStr, f.Err
}

// Close implements Runtime.
func (f *Fake) Close() error { return nil }
