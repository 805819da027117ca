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

package node

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/containerd/containerd/v2/pkg/namespaces"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	ecsv1 "github.com/longshore-io/longshore/api/v1alpha1"
	"github.com/longshore-io/longshore/internal/imagebuild"
	"github.com/longshore-io/longshore/internal/logs"
	lsruntime "github.com/longshore-io/longshore/internal/runtime"
	"github.com/longshore-io/longshore/test/integration/framework"
)

const routerImage = "localhost/longshore/firelens-router:test"

// importRouterImage builds test/node/firelensrouter (a stand-in for Fluent
// Bit that reads the configuration the agent generates) into an image laid
// out as aws-for-fluent-bit is: the binary at /fluent-bit/bin/fluent-bit,
// reading /fluent-bit/etc/fluent-bit.conf, with busybox for the health
// check's nc, and the /tmp/local.conf that the upstream test's image holds.
func (n *node) importRouterImage() {
	t := n.t
	bin := filepath.Join(t.TempDir(), "fluent-bit")
	cmd := exec.Command("go", "build", "-o", bin, "./test/node/firelensrouter")
	cmd.Dir = framework.RepoRoot()
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build firelensrouter: %v\n%s", err, out)
	}
	data, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	spec := imagebuild.BusyboxSpec(routerImage)
	spec.Files = append(spec.Files,
		imagebuild.File{Path: "/fluent-bit/bin/fluent-bit", Mode: 0o755, Content: data},
		imagebuild.File{Path: "/tmp/local.conf", Content: []byte("# the test image's own configuration: nothing to add\n")})
	spec.Config.Entrypoint = []string{"/fluent-bit/bin/fluent-bit", "-c", "/fluent-bit/etc/fluent-bit.conf"}
	spec.Config.Cmd = nil
	img, err := imagebuild.Build(spec)
	if err != nil {
		t.Fatal(err)
	}
	if err := imagebuild.Import(namespaces.WithNamespace(t.Context(), ctrdNamespace), n.ctrd, img); err != nil {
		t.Fatal(err)
	}
}

// TestCorpusFireLens runs the ECS agent's own FireLens test (corpus 07):
// a bridge-mode Fluent Bit router whose output plugin name comes from an
// SSM parameter (secretOptions), and a busybox that prints "pass" and
// "filtered" with include and exclude patterns. As upstream checks in
// CloudWatch, the test checks what reached the router's output: "pass",
// not "filtered", in Docker's fluentd record shape with the ECS metadata.
func TestCorpusFireLens(t *testing.T) {
	n := newNode(t, "node-firelens")
	n.importRouterImage()

	// The parameter the harness creates holds the output plugin's name.
	param := "arn:aws:ssm:us-west-2:111122223333:parameter/ecs-functional-tests/firelens-output"
	name, key, _, err := ecsv1.SecretKeyRef(param)
	if err != nil {
		t.Fatal(err)
	}
	sec := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: n.NS, Name: name}, Data: map[string][]byte{key: []byte("cloudwatch")}}
	if err := env.Client.Create(t.Context(), sec); err != nil {
		t.Fatal(err)
	}
	spec := corpusSpecWith(t, "07-ecsagent-firelens-fluentbit-bridge.json",
		map[string]string{"$$$SECRET_OPTION_KEY$$$": "Name", "$$$SECRET_OPTION_PARAM$$$": param, "$$$TEST_REGION$$$": "us-west-2"},
		map[string]string{"127.0.0.1:51670/amazon/firelens-fluentbit:latest": routerImage})
	task := n.task("firelens", spec)
	got := n.wait(task, 120*time.Second, "STOPPED", phase(ecsv1.TaskStopped))
	if code := exitCode(got, "logsender"); code == nil || *code != 0 {
		t.Fatalf("logsender exit code %s (%s: %s)", fmtCode(code), got.Status.StopCode, got.Status.StoppedReason)
	}
	if cs := containerStatus(got, "firelens"); cs == nil || cs.HealthStatus != ecsv1.HealthHealthy {
		t.Errorf("the router's health (its own check, nc to the agent's health-check input on 8877): %+v", cs)
	}

	// What the router's output received: its own stdout, in the log store.
	routerLog, err := logs.Path(n.LogDir, n.NS, task.Name, "firelens")
	if err != nil {
		t.Fatal(err)
	}
	lines, err := logs.Tail(routerLog, -1)
	if err != nil {
		t.Fatal(err)
	}
	tag := "logsender-firelens-" + strings.ReplaceAll(string(got.UID), "-", "")
	var out []map[string]any
	var all []string
	for _, l := range lines {
		all = append(all, strings.TrimSuffix(l.Log, "\n"))
		plugin, rest, _ := strings.Cut(strings.TrimSuffix(l.Log, "\n"), " ")
		gotTag, rec, _ := strings.Cut(rest, " ")
		if plugin != "cloudwatch" || gotTag != tag {
			continue
		}
		m := map[string]any{}
		if err := json.Unmarshal([]byte(rec), &m); err != nil {
			t.Fatalf("router output %q: %v", l.Log, err)
		}
		out = append(out, m)
	}
	if len(out) != 1 {
		t.Fatalf("the cloudwatch output got %d records tagged %s, want 1 (pass); the router printed:\n%s", len(out), tag, strings.Join(all, "\n"))
	}
	want := map[string]any{"log": "pass", "source": "stdout", "container_name": "/logsender",
		"ecs_cluster": got.Spec.Cluster, "ecs_task_definition": got.Status.TaskDefinitionRevision, "ecs_task_arn": n.NS + "/" + task.Name}
	for k, v := range want {
		if out[0][k] != v {
			t.Errorf("record %s = %v, want %v (record %v)", k, out[0][k], v, out[0])
		}
	}
	if id, _ := out[0]["container_id"].(string); id != lsruntime.ContainerID(string(got.UID), "logsender", 0) {
		t.Errorf("container_id %q, want the containerd id of logsender", id)
	}
	// The local store keeps both lines: FireLens adds a destination.
	own, err := logs.Path(n.LogDir, n.NS, task.Name, "logsender")
	if err != nil {
		t.Fatal(err)
	}
	if l, err := logs.Tail(own, -1); err != nil || len(l) != 2 || l[0].Log != "pass\n" || l[1].Log != "filtered\n" {
		t.Errorf("logsender's own log: %v (%v), want pass and filtered", l, err)
	}
	n.deleteTask(task)

	// Corpus 21: config-file-type s3, read from the ConfigMap its ARN maps
	// onto; the app's awsfirelens has no options, its output section is
	// in that file. The app's image (my-app) is swapped for busybox, so
	// it is given a command that logs a line.
	arn := "arn:aws:s3:::yourbucket/yourdirectory/tail.conf"
	cmName, cmKey, err := ecsv1.S3ObjectConfigMapKey(arn)
	if err != nil {
		t.Fatal(err)
	}
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: n.NS, Name: cmName},
		Data: map[string]string{cmKey: "[OUTPUT]\n    Name stdout\n    Match app-firelens*\n"}}
	if err := env.Client.Create(t.Context(), cm); err != nil {
		t.Fatal(err)
	}
	spec = corpusSpecWith(t, "21-firelens-log-collection-tail.json", nil,
		map[string]string{"906394416424.dkr.ecr.us-east-1.amazonaws.com/aws-for-fluent-bit:stable": routerImage})
	for i := range spec.ContainerDefinitions {
		if spec.ContainerDefinitions[i].Name == "app" {
			spec.ContainerDefinitions[i].Command = []string{"sh", "-c", "sleep 1; echo from-app; sleep 2"}
		}
	}
	task = n.task("firelens-s3", spec)
	got = n.wait(task, 120*time.Second, "STOPPED", phase(ecsv1.TaskStopped))
	routerLog, err = logs.Path(n.LogDir, n.NS, task.Name, "log_router")
	if err != nil {
		t.Fatal(err)
	}
	lines, err = logs.Tail(routerLog, -1)
	if err != nil {
		t.Fatal(err)
	}
	tag = "app-firelens-" + strings.ReplaceAll(string(got.UID), "-", "")
	var printed []string
	found := false
	for _, l := range lines {
		printed = append(printed, strings.TrimSuffix(l.Log, "\n"))
		found = found || (strings.HasPrefix(l.Log, "stdout "+tag+" ") && strings.Contains(l.Log, `"log":"from-app"`))
	}
	if !found {
		t.Errorf("the output from the ConfigMap's file did not get the app's line (tag %s); the router printed:\n%s", tag, strings.Join(printed, "\n"))
	}
	n.deleteTask(task)
}
