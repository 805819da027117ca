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
	"bytes"
	"fmt"
	"os/exec"
	"strings"
	"testing"
)

// Kubectl runs the real kubectl against one kubeconfig, from the
// repository root (so that paths such as config/default work), as the
// layers that test what a user types do.
type Kubectl struct {
	// Bin is the kubectl binary; Kubeconfig the file it uses.
	Bin, Kubeconfig string
}

// Run runs kubectl with args, stdin from stdin when it is not empty, and
// returns its standard output; the error carries its standard error.
func (k Kubectl) Run(stdin string, args ...string) (string, error) {
	cmd := exec.Command(k.Bin, append([]string{"--kubeconfig", k.Kubeconfig}, args...)...)
	cmd.Dir = RepoRoot()
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("kubectl %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(errb.String()))
	}
	return out.String(), nil
}

// Must is Run that fails the test on an error.
func (k Kubectl) Must(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	out, err := k.Run(stdin, args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}
