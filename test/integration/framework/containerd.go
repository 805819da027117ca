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

package framework

import (
	"context"
	"testing"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/pkg/namespaces"
)

// ContainerPIDs maps the containers of a containerd namespace to the PIDs
// of their processes (0: no running process), as the layers that check
// that an agent restart or upgrade restarted nothing compare them.
func ContainerPIDs(t *testing.T, c *containerd.Client, namespace string) map[string]uint32 {
	t.Helper()
	ctx := namespaces.WithNamespace(context.Background(), namespace)
	conts, err := c.Containers(ctx)
	if err != nil {
		t.Fatalf("listing the containers of namespace %s: %v", namespace, err)
	}
	out := map[string]uint32{}
	for _, cont := range conts {
		out[cont.ID()] = 0
		if task, err := cont.Task(ctx, nil); err == nil {
			out[cont.ID()] = task.Pid()
		}
	}
	return out
}
