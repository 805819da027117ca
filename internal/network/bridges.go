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

package network

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// sysClassNet is where the kernel lists network interfaces.
var sysClassNet = "/sys/class/net"

// RemoveIdleBridges deletes each named Linux bridge that has no interface
// attached: the bridges the CNI bridge plugin made for this agent's tasks,
// which CNI DEL leaves in place. A bridge with a port (a task's veth) is
// kept, as is a name that is not a bridge. It returns the bridges deleted.
func RemoveIdleBridges(ctx context.Context, names ...string) ([]string, error) {
	var removed []string
	var errs []error
	for _, name := range names {
		if name == "" || strings.ContainsAny(name, "/.") {
			continue
		}
		ports, err := os.ReadDir(filepath.Join(sysClassNet, name, "brif"))
		if errors.Is(err, fs.ErrNotExist) {
			continue // no such link, or not a bridge
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if len(ports) > 0 {
			continue
		}
		if out, err := exec.CommandContext(ctx, "ip", "link", "delete", name, "type", "bridge").CombinedOutput(); err != nil {
			errs = append(errs, fmt.Errorf("deleting bridge %s: %v: %s", name, err, strings.TrimSpace(string(out))))
			continue
		}
		removed = append(removed, name)
	}
	return removed, errors.Join(errs...)
}
