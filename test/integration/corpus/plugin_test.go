//go:build integration

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

package corpus

import (
	"bytes"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ecsv1 "github.com/longshore-io/longshore/api/v1alpha1"
	"github.com/longshore-io/longshore/test/integration/framework"
)

// TestKubectlECSPlugin runs the built plugin binary as a user would, against
// the real API server and manager: exit codes, stdout, stderr.
func TestKubectlECSPlugin(t *testing.T) {
	bin := framework.BuildBinary(t, "./cmd/kubectl-ecs")
	kubeconfig := env.AdminKubeconfig(t)
	ns := env.NewNamespace(t, "plugin")
	dir := corpusDir(t)
	run := func(args ...string) (stdout, stderr string, code int) {
		var o, e bytes.Buffer
		cmd := exec.Command(bin, args...)
		cmd.Stdout, cmd.Stderr = &o, &e
		err := cmd.Run()
		var ee *exec.ExitError
		switch {
		case errors.As(err, &ee):
			code = ee.ExitCode()
		case err != nil:
			t.Fatal(err)
		}
		return o.String(), e.String(), code
	}

	// convert: YAML on stdout, warnings on stderr.
	out, errOut, code := run("convert", "-f", filepath.Join(dir, "24-containers-gunicorn-fargate.json"), "-n", ns,
		"--image-map", "danriti/gunicorn-flask=localhost/longshore/busybox:latest")
	if code != 0 || !strings.Contains(out, "kind: TaskDefinition") || !strings.Contains(errOut, "Warning: requiresCompatibilities FARGATE") ||
		!strings.Contains(errOut, "swapped for localhost/longshore/busybox:latest") {
		t.Errorf("convert: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}

	// register-task-definition: applied, the revision waited for, the
	// admission warnings printed too.
	out, errOut, code = run("register-task-definition", "--cli-input-json", "file://"+filepath.Join(dir, "32-cfn-otel-fargate-sidecar.json"),
		"-n", ns, "--kubeconfig", kubeconfig)
	if code != 0 || !strings.Contains(out, "Registered task definition ecs-aws-otel-sidecar-service:1 in namespace "+ns) ||
		!strings.Contains(errOut, "Validation failed for ValidatingAdmissionPolicy 'longshore-ecs-mapped-fields'") {
		t.Errorf("register-task-definition: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	td := &ecsv1.TaskDefinition{}
	if err := env.Client.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: "ecs-aws-otel-sidecar-service"}, td); err != nil {
		t.Fatal(err)
	}
	if len(td.Status.MappedFields) == 0 || td.Spec.TaskRoleArn == "" {
		t.Errorf("registered TaskDefinition: mappedFields %v, taskRoleArn %q", td.Status.MappedFields, td.Spec.TaskRoleArn)
	}
	// The same file again registers nothing new.
	if out, _, code = run("register-task-definition", "--cli-input-json", "file://"+filepath.Join(dir, "32-cfn-otel-fargate-sidecar.json"),
		"-n", ns, "--kubeconfig", kubeconfig); code != 0 || !strings.Contains(out, "ecs-aws-otel-sidecar-service:1") {
		t.Errorf("registering the same file again: exit %d, %s", code, out)
	}

	// Two files of one family (the ECS agent's task and shared volume
	// tests) are two revisions of it, as with aws ecs register-task-definition.
	for i, f := range []string{"05-ecsagent-docker-volume-task-tmpfs.json", "06-ecsagent-docker-volume-shared.json"} {
		want := fmt.Sprintf("Registered task definition ecsftest-task-local-volume:%d in namespace %s", i+1, ns)
		if out, errOut, code := run("register-task-definition", "--cli-input-json", "file://"+filepath.Join(dir, f), "-n", ns,
			"--kubeconfig", kubeconfig); code != 0 || !strings.Contains(out, want) {
			t.Errorf("register %s: exit %d, want %q\nstdout:\n%s\nstderr:\n%s", f, code, want, out, errOut)
		}
	}

	// deregister-task-definition and delete-task-definitions (ECS
	// DeregisterTaskDefinition, DeleteTaskDefinitions): an ACTIVE revision
	// cannot be deleted; deregistered, it can, and goes (nothing uses it).
	fam := "ecsftest-task-local-volume"
	if _, errOut, code := run("delete-task-definitions", fam+":1", "-n", ns, "--kubeconfig", kubeconfig); code != 1 ||
		!strings.Contains(errOut, "task definition "+fam+":1 is ACTIVE: only an INACTIVE revision can be deleted; deregister it first") {
		t.Errorf("deleting an ACTIVE revision: exit %d\nstderr:\n%s", code, errOut)
	}
	if out, errOut, code := run("deregister-task-definition", "--task-definition", fam+":1", "-n", ns, "--kubeconfig", kubeconfig); code != 0 ||
		!strings.Contains(out, "Deregistered task definition "+fam+":1 in namespace "+ns+": INACTIVE") {
		t.Errorf("deregister-task-definition: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	rev := &ecsv1.TaskDefinitionRevision{}
	if err := env.Client.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: fam + "-1"}, rev); err != nil || rev.Spec.State != ecsv1.RevisionStateInactive {
		t.Errorf("%s-1 after deregistration: state %q (%v)", fam, rev.Spec.State, err)
	}
	if out, errOut, code := run("delete-task-definitions", fam+":1", "-n", ns, "--kubeconfig", kubeconfig); code != 0 ||
		!strings.Contains(out, fam+":1 in namespace "+ns) {
		t.Errorf("delete-task-definitions: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	framework.Eventually(t, 20*time.Second, fam+"-1 deleted", func() error {
		err := env.Client.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: fam + "-1"}, &ecsv1.TaskDefinitionRevision{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("still there (%v)", err)
	})

	// Refused by the cluster: exit 1, the message names the field.
	_, errOut, code = run("register-task-definition", "--cli-input-json", "file://"+filepath.Join(dir, "38-deploy-action-ebs-configured-at-launch.json"),
		"-n", ns, "--kubeconfig", kubeconfig)
	if code != 1 || !strings.Contains(errOut, "configuredAtLaunch: EBS volumes attached at launch exist only in AWS") {
		t.Errorf("a refused file: exit %d\nstderr:\n%s", code, errOut)
	}
	// Not a task definition: exit 1. Wrong usage: exit 2.
	if _, errOut, code = run("convert", "-f", filepath.Join(dir, "SOURCES.md")); code != 1 {
		t.Errorf("convert of a Markdown file: exit %d, %s", code, errOut)
	}
	for _, args := range [][]string{{}, {"frobnicate"}, {"convert"}, {"register-task-definition"}, {"convert", "-f", "x", "--image-map", "nonsense"},
		{"deregister-task-definition"}, {"deregister-task-definition", fam}, {"delete-task-definitions", fam + ":1", fam + ":x"}} {
		if _, errOut, code := run(args...); code != 2 {
			t.Errorf("kubectl ecs %v: exit %d, want 2 (%s)", args, code, errOut)
		}
	}
}
