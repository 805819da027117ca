//go:build node

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
	"os"
	"os/exec"
	"slices"
	"testing"
)

func ipLink(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command("ip", append([]string{"link"}, args...)...).CombinedOutput(); err != nil {
		t.Fatalf("ip link %v: %v: %s", args, err, out)
	}
}

func linkExists(name string) bool {
	_, err := os.Stat(sysClassNet + "/" + name)
	return err == nil
}

func TestRemoveIdleBridges(t *testing.T) {
	const idle, busy, veth, notBridge = "lst-idle0", "lst-busy0", "lst-port0", "lst-peer0"
	t.Cleanup(func() {
		for _, l := range []string{idle, busy, veth} {
			_ = exec.Command("ip", "link", "delete", l).Run()
		}
	})
	ipLink(t, "add", idle, "type", "bridge")
	ipLink(t, "add", busy, "type", "bridge")
	ipLink(t, "add", veth, "type", "veth", "peer", "name", notBridge)
	ipLink(t, "set", veth, "master", busy)

	removed, err := RemoveIdleBridges(context.Background(), idle, busy, notBridge, "lst-missing0", "../etc")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(removed, []string{idle}) {
		t.Errorf("removed %v, want only the idle bridge %s", removed, idle)
	}
	if linkExists(idle) {
		t.Errorf("%s still exists", idle)
	}
	for _, l := range []string{busy, veth, notBridge} {
		if !linkExists(l) {
			t.Errorf("%s was removed: it has a port or is no bridge", l)
		}
	}
}
