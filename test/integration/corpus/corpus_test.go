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

// Package corpus applies the real ECS task definitions of
// ../shared/ecs-corpus/ (written by other people) to a real kube-apiserver:
// each goes through kubectl ecs convert (internal/ecsconvert) and is
// created with strict field validation, and must be accepted with the
// expected warnings and status.mappedFields, or refused with the expected
// message.
package corpus

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ecsv1 "github.com/longshore-io/longshore/api/v1alpha1"
	"github.com/longshore-io/longshore/internal/ecsconvert"
	"github.com/longshore-io/longshore/test/integration/framework"
	"github.com/longshore-io/longshore/test/integration/managertest"
)

var env *framework.Env

func TestMain(m *testing.M) {
	var stop func()
	var err error
	env, stop, err = managertest.Setup(managertest.Options{AgentGrace: 2 * time.Second, InstanceLostTimeout: time.Minute, ResolveGrace: time.Second})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	stop()
	os.Exit(code)
}

func corpusDir(t *testing.T) string { return framework.ECSCorpusDir(t) }

// expectation for one corpus file.
type expectation struct {
	// refused: the messages the API server's refusal must contain; none
	// means the file is accepted.
	refused []string
	// warnings (substrings) that conversion or admission must print.
	warnings []string
	// mapped are fields status.mappedFields must list (the rest of its
	// entries are checked against the admission warnings).
	mapped []string
	// render replaces the placeholders the file's own tooling expands (a
	// test harness, Terraform), for a second, rendered run that must be
	// accepted.
	render map[string]string
}

const (
	awslogs   = "logConfiguration.logDriver"
	taskRole  = "taskRoleArn"
	execRole  = "executionRoleArn"
	fargate   = "requiresCompatibilities FARGATE"
	placehold = "holds the template placeholder"
)

var corpus = map[string]expectation{
	"01-ecsagent-container-ordering.json":     {},
	"02-ecsagent-granular-stop-timeout.json":  {},
	"03-ecsagent-container-health.json":       {},
	"04-ecsagent-datavolume-volumesfrom.json": {},
	"05-ecsagent-docker-volume-task-tmpfs.json": {warnings: []string{"dockerVolumeConfiguration.labels are recorded only"},
		mapped: []string{"volumes[task-local].dockerVolumeConfiguration.labels"}},
	"06-ecsagent-docker-volume-shared.json": {warnings: []string{"dockerVolumeConfiguration.labels are recorded only"},
		mapped: []string{"volumes[task-shared].dockerVolumeConfiguration.labels"}},
	// The output plugin's Name comes from a secret option whose name the
	// ECS agent's test harness fills in ("Name"): without it the options
	// name no plugin, which the ECS agent too refuses (at task start).
	"07-ecsagent-firelens-fluentbit-bridge.json": {refused: []string{"which must be named (in options or secretOptions): Name for a Fluent Bit router"},
		warnings: []string{placehold + " $$$SECRET_OPTION_KEY$$$", placehold + " $$$TASK_ROLE$$$"},
		render:   map[string]string{"$$$SECRET_OPTION_KEY$$$": "Name"}},
	"08-ecsagent-tmpfs.json":              {},
	"09-ecsagent-capabilities.json":       {},
	"10-ecsagent-nofile-ulimit.json":      {},
	"11-ecsagent-sysctl.json":             {},
	"12-ecsagent-json-file-logs.json":     {},
	"13-ecsagent-disable-networking.json": {},
	"14-ecsagent-network-stats-netmode-placeholder.json": {refused: []string{`spec.networkMode: Unsupported value: "$$$NETWORK_MODE$$$"`},
		warnings: []string{"networkMode: " + placehold + " $$$NETWORK_MODE$$$"},
		render:   map[string]string{"$$$NETWORK_MODE$$$": "none"}},
	"15-ecsagent-host-introspection.json": {warnings: []string{awslogs, placehold + " $$$TEST_REGION$$$"},
		mapped: []string{"containerDefinitions[agent-introspection-validator].logConfiguration.logDriver"}},
	"16-ecsagent-nvidia-gpu.json": {},
	"17-ecsagent-private-registry-auth.json": {warnings: []string{execRole, placehold + " $$$REPOSITORY_CREDENTIALS$$$"},
		mapped: []string{execRole, "containerDefinitions[private-registry-auth-asm-validator].repositoryCredentials.credentialsParameter"}},
	"18-firelens-appmesh-colorteller-fargate.json": {warnings: []string{fargate, taskRole, execRole, awslogs},
		mapped: []string{"requiresCompatibilities", taskRole, execRole, "containerDefinitions[log_router].logConfiguration.logDriver"}},
	"19-firelens-efs-describe-wrapped.json": {refused: []string{"efsVolumeConfiguration: Amazon EFS exists only in AWS"},
		warnings: []string{"the describe-task-definition wrapper was unwrapped"}},
	"20-firelens-emf-tcp-bridge-links.json": {warnings: []string{awslogs, taskRole, execRole},
		mapped: []string{taskRole, execRole, "containerDefinitions[fluentbit].logConfiguration.logDriver"}},
	"21-firelens-log-collection-tail.json": {warnings: []string{awslogs, taskRole, execRole, "firelensConfiguration config-file-type s3 of log_router"},
		mapped: []string{"containerDefinitions[log_router].firelensConfiguration.options.config-file-value"}},
	"22-containers-consul-server-host.json":      {warnings: []string{awslogs, `"consulServer" becomes the TaskDefinition name "consulserver"`}, mapped: []string{"containerDefinitions[consulServer].logConfiguration.logDriver"}},
	"23-containers-nginx-ec2-bridge.json":        {warnings: []string{awslogs}, mapped: []string{"containerDefinitions[nginx].logConfiguration.logDriver"}},
	"24-containers-gunicorn-fargate.json":        {warnings: []string{awslogs, fargate}, mapped: []string{"requiresCompatibilities"}},
	"25-cwinsights-cwagent-daemon-hostvols.json": {warnings: []string{taskRole, execRole, placehold + " {{task-role-arn}}"}},
	"26-cwinsights-fluentbit-daemon-init.json": {warnings: []string{awslogs, taskRole, execRole, placehold + " {{aws-region}}",
		placehold + " ${FLUENT_BIT_CONFIG_FILE}"}},
	"27-cwinsights-statsd-sidecar-links.json": {warnings: []string{"secrets of", taskRole, execRole, awslogs},
		mapped: []string{"containerDefinitions[cloudwatch-agent].secrets[CW_CONFIG_CONTENT].valueFrom"}},
	"28-tf-ghost-ecs-alb-dynamic-port.json": {refused: []string{`containerDefinitions[0].name: Invalid value: "${container_name}"`},
		warnings: []string{placehold + " ${image_url}"},
		render: map[string]string{"${container_name}": "ghost", "${image_url}": "ghost:latest", "${log_group_name}": "ghost",
			"${log_group_region}": "us-east-1"}},
	"32-cfn-otel-fargate-sidecar.json": {warnings: []string{taskRole, execRole, fargate, awslogs, placehold + " ${AWS::Region}"},
		mapped: []string{taskRole, execRole, "requiresCompatibilities", "containerDefinitions[aws-collector].logConfiguration.logDriver"}},
	"36-ecspresso-ci-secrets-ephemeral.json": {warnings: []string{"secrets of", "ephemeralStorage.sizeInGiB", fargate, placehold + " {{ ssm `/ecspresso-test/foo` }}"},
		mapped: []string{"ephemeralStorage.sizeInGiB", "containerDefinitions[nginx].secrets[FOO].valueFrom", "containerDefinitions[bash].secrets[JSON_FOO].valueFrom"}},
	"38-deploy-action-ebs-configured-at-launch.json": {refused: []string{"configuredAtLaunch: EBS volumes attached at launch exist only in AWS"}},
	"39-deploy-action-readonly-run-task.json":        {warnings: []string{fargate}},
	"40-kecs-nginx-log-generator.json":               {warnings: []string{execRole, fargate, awslogs}},
}

// warningsOf is a client whose server warnings are collected.
type warningsOf struct {
	mu   sync.Mutex
	msgs []string
}

func (w *warningsOf) HandleWarningHeader(code int, agent, text string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.msgs = append(w.msgs, text)
}

func TestCorpus(t *testing.T) {
	dir := corpusDir(t)
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range files {
		names = append(names, filepath.Base(f))
	}
	for name := range corpus {
		if !slices.Contains(names, name) {
			t.Errorf("%s is in the table but not in %s", name, dir)
		}
	}
	var mu sync.Mutex
	accepted, acceptedRendered := 0, 0
	rows := map[string]string{}
	t.Run("files", func(t *testing.T) {
		for _, name := range names {
			exp, ok := corpus[name]
			if !ok {
				t.Errorf("%s is not in the table: add what it must give", name)
				continue
			}
			data, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil {
				t.Fatal(err)
			}
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				// A namespace each: some files share a family (05 and 06
				// are two revisions of one; plugin_test registers both).
				ns := env.NewNamespace(t, "corpus")
				row := apply(t, ns, data, exp, false)
				ok := exp.refused == nil
				if exp.render != nil {
					rendered := string(data)
					for from, to := range exp.render {
						rendered = strings.ReplaceAll(rendered, from, to)
					}
					row += "; rendered: " + apply(t, ns, []byte(rendered), expectation{}, true)
				}
				mu.Lock()
				defer mu.Unlock()
				rows[name] = row
				if ok {
					accepted++
				}
				if ok || exp.render != nil {
					acceptedRendered++
				}
			})
		}
	})
	keys := make([]string, 0, len(rows))
	for k := range rows {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		t.Logf("%-52s %s", k, rows[k])
	}
	t.Logf("accepted as they are: %d of %d; with the placeholders their own tooling expands rendered: %d of %d",
		accepted, len(names), acceptedRendered, len(names))
}

// apply converts and creates one file and checks the expectation. It
// returns the row of the report.
func apply(t *testing.T, ns string, data []byte, exp expectation, rendered bool) string {
	t.Helper()
	res, err := ecsconvert.Convert(data, ecsconvert.Options{Namespace: ns})
	if err != nil {
		t.Fatalf("convert: %v", err)
	}
	td := res.TaskDefinition
	if rendered {
		td.Name += "-rendered"
		td.Spec.Family = ""
	}
	w := &warningsOf{}
	cfg := rest.CopyConfig(env.Env.Config)
	cfg.WarningHandler = w
	c, err := client.New(cfg, client.Options{Scheme: env.Scheme})
	if err != nil {
		t.Fatal(err)
	}
	err = client.WithFieldValidation(c, metav1.FieldValidationStrict).Create(t.Context(), td)
	all := append(slices.Clone(res.Warnings), w.msgs...)
	for _, want := range exp.warnings {
		if !slices.ContainsFunc(all, func(s string) bool { return strings.Contains(s, want) }) {
			t.Errorf("no warning with %q in:\n  %s", want, strings.Join(all, "\n  "))
		}
	}
	if exp.refused != nil {
		if err == nil {
			t.Fatalf("accepted, want refused with %q", exp.refused)
		}
		for _, want := range exp.refused {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("refused with:\n  %v\nwant a message with %q", err, want)
			}
		}
		return "refused: " + firstCause(err.Error())
	}
	if err != nil {
		t.Fatalf("refused: %v", err)
	}
	// The manager reports what was mapped; each entry must have been
	// warned about at apply time (by conversion or admission).
	var got *ecsv1.TaskDefinition
	framework.Eventually(t, 20*time.Second, "a revision of "+td.Name, func() error {
		got = &ecsv1.TaskDefinition{}
		if err := env.Client.Get(t.Context(), client.ObjectKeyFromObject(td), got); err != nil {
			return err
		}
		if got.Status.LatestRevision != 1 {
			return fmt.Errorf("latestRevision %d, conditions %+v", got.Status.LatestRevision, got.Status.Conditions)
		}
		return nil
	})
	var fields []string
	for _, m := range got.Status.MappedFields {
		fields = append(fields, m.Field)
		top := m.Field
		if i := strings.IndexAny(top, "[."); i > 0 && !strings.HasPrefix(top, "containerDefinitions") {
			top = top[:i]
		}
		key := top
		if strings.HasPrefix(top, "containerDefinitions[") {
			key = top[strings.Index(top, "].")+2:] // e.g. logConfiguration.logDriver
			if i := strings.IndexAny(key, "[."); i > 0 {
				key = key[:i]
			}
		}
		if !slices.ContainsFunc(w.msgs, func(s string) bool { return strings.Contains(s, key) }) {
			t.Errorf("status.mappedFields has %s (%s), but admission did not warn about %s:\n  %s", m.Field, m.As, key, strings.Join(w.msgs, "\n  "))
		}
	}
	for _, want := range exp.mapped {
		if !slices.Contains(fields, want) {
			t.Errorf("status.mappedFields %v lacks %s", fields, want)
		}
	}
	return fmt.Sprintf("accepted, %d warnings (%d from admission), %d mapped fields", len(all), len(w.msgs), len(fields))
}

// firstCause is the first refusal reason of an API error, for the report.
func firstCause(msg string) string {
	if i := strings.Index(msg, "spec."); i >= 0 {
		msg = msg[i:]
	}
	if len(msg) > 110 {
		msg = msg[:110] + "…"
	}
	return msg
}
