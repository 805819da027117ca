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
	"syscall"
	"testing"
)

func TestStopSignal(t *testing.T) {
	for in, want := range map[string]syscall.Signal{
		"": syscall.SIGTERM, "SIGQUIT": syscall.SIGQUIT, "quit": syscall.SIGQUIT, " SIGINT ": syscall.SIGINT,
		"9": syscall.SIGKILL, "SIGUSR1": syscall.SIGUSR1,
		// A real-time signal is a valid Docker STOPSIGNAL (SIGRTMIN is 34).
		"SIGRTMIN+3": syscall.Signal(37),
		"NOSUCH":     syscall.SIGTERM, "0": syscall.SIGTERM, "99": syscall.SIGTERM,
	} {
		c := ContainerStatus{Labels: map[string]string{LabelStopSignal: in}}
		if got := c.StopSignal(); got != want {
			t.Errorf("StopSignal with label %q = %v, want %v", in, got, want)
		}
	}
	if got := (ContainerStatus{}).StopSignal(); got != syscall.SIGTERM {
		t.Errorf("StopSignal without the label = %v, want SIGTERM", got)
	}
}
