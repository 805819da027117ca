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

import (
	"context"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	ecsv1 "github.com/longshore-io/longshore/api/v1alpha1"
	"github.com/longshore-io/longshore/internal/logs"
	lsruntime "github.com/longshore-io/longshore/internal/runtime"
)

// FireLens, as ECS does it: the container with firelensConfiguration is
// the task's log router. The agent writes the router's configuration
// (inputs, filters, one output per container that logs with awsfirelens)
// and mounts it where the router image reads it; it gives the router a
// socket directory at /var/run, where the router's forward input listens
// on fluent.sock. Every container whose logDriver is awsfirelens has its
// output sent there by its logger (Fluent forward protocol, records as
// Docker's fluentd driver makes them, tagged <container>-firelens-<task
// id>), and kept in the local log store as well. The router starts before
// the containers that log to it and stops after them (an implied START
// dependency).

const (
	// fireLensSocketDir is where the router sees its socket directory.
	fireLensSocketDir = "/var/run"
	// fireLensSocket is the socket's name in it.
	fireLensSocket = "fluent.sock"
	// fireLensForwardPort is the router's TCP forward input (bridge and
	// awsvpc), given to the other containers as FLUENT_HOST/FLUENT_PORT.
	fireLensForwardPort = "24224"
)

// fireLensPaths are where a router image of each type reads its
// configuration and, for config-file-type s3, the external file.
var fireLensPaths = map[string]struct{ config, external string }{
	"fluentbit": {"/fluent-bit/etc/fluent-bit.conf", "/fluent-bit/etc/external.conf"},
	"fluentd":   {"/fluentd/etc/fluent.conf", "/fluentd/etc/external.conf"},
}

// The awsfirelens options that are not options of the output plugin.
const (
	optIncludePattern = "include-pattern"
	optExcludePattern = "exclude-pattern"
	optBufferLimit    = "log-driver-buffer-limit"
)

// fireLensRouter returns the task's log router container, or nil.
func fireLensRouter(td *ecsv1.TaskDefinitionSpec) *ecsv1.ContainerDefinition {
	for i := range td.ContainerDefinitions {
		if td.ContainerDefinitions[i].FirelensConfiguration != nil {
			return &td.ContainerDefinitions[i]
		}
	}
	return nil
}

func usesFireLens(d *ecsv1.ContainerDefinition) bool {
	return d.LogConfiguration != nil && d.LogConfiguration.LogDriver == ecsv1.LogDriverAWSFireLens
}

// withFireLensDependencies returns td with the dependency FireLens
// implies: every container that logs with awsfirelens depends on the
// router with condition START, unless it already names the router in
// dependsOn. Start planning and stop ordering both use the result, so the
// router starts first and stops last. td is not modified.
func withFireLensDependencies(td *ecsv1.TaskDefinitionSpec) *ecsv1.TaskDefinitionSpec {
	router := fireLensRouter(td)
	if router == nil {
		return td
	}
	out := *td
	out.ContainerDefinitions = slices.Clone(td.ContainerDefinitions)
	for i := range out.ContainerDefinitions {
		d := &out.ContainerDefinitions[i]
		if d.Name == router.Name || !usesFireLens(d) ||
			slices.ContainsFunc(d.DependsOn, func(dep ecsv1.ContainerDependency) bool { return dep.ContainerName == router.Name }) {
			continue
		}
		d.DependsOn = append(slices.Clone(d.DependsOn), ecsv1.ContainerDependency{ContainerName: router.Name, Condition: ecsv1.DependencyStart})
	}
	return &out
}

// fireLensInput is what the router's configuration is made from.
type fireLensInput struct {
	Type        string // fluentbit or fluentd
	NetworkMode ecsv1.NetworkMode
	// Metadata adds ecs_cluster, ecs_task_arn and ecs_task_definition to
	// every record (enable-ecs-log-metadata, default true).
	Metadata                         bool
	Cluster, TaskARN, TaskDefinition string
	// External is the path, inside the router, of the user's own
	// configuration to include ("" for none).
	External string
	// Outputs holds the awsfirelens options of each container that logs
	// to the router, secret options resolved, by container name.
	Outputs map[string]map[string]string
}

// fireLensConfig renders the router's configuration in the order ECS
// generates it: inputs (the socket; for bridge and awsvpc the TCP forward
// input, and for Fluent Bit the health-check input on 127.0.0.1:8877),
// include and exclude filters, the metadata filter, the user's external
// file, then the outputs.
func fireLensConfig(in fireLensInput) (string, error) {
	outputKey, wildcard := "Name", "*"
	if in.Type == "fluentd" {
		outputKey, wildcard = "@type", "**"
	}
	tcp := in.NetworkMode == ecsv1.NetworkModeBridge || in.NetworkMode == ecsv1.NetworkModeAWSVPC || in.NetworkMode == ""
	bind := "127.0.0.1"
	if in.NetworkMode == ecsv1.NetworkModeBridge || in.NetworkMode == "" {
		bind = "0.0.0.0"
	}
	var b configWriter
	b.fluentd = in.Type == "fluentd"
	socket := path.Join(fireLensSocketDir, fireLensSocket)
	if b.fluentd {
		b.section("source", "", [][2]string{{"@type", "unix"}, {"path", socket}})
		if tcp {
			b.section("source", "", [][2]string{{"@type", "forward"}, {"bind", bind}, {"port", fireLensForwardPort}})
		}
	} else {
		b.section("INPUT", "", [][2]string{{"Name", "forward"}, {"unix_path", socket}})
		if tcp {
			b.section("INPUT", "", [][2]string{{"Name", "forward"}, {"Listen", bind}, {"Port", fireLensForwardPort}})
			b.section("INPUT", "", [][2]string{{"Name", "tcp"}, {"Tag", "firelens-healthcheck"}, {"Listen", "127.0.0.1"}, {"Port", "8877"}})
		}
	}
	names := make([]string, 0, len(in.Outputs))
	for n := range in.Outputs {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		opts := in.Outputs[n]
		match := n + "-firelens" + wildcard
		for _, f := range []struct{ key, fbit, fd string }{{optIncludePattern, "Regex", "regexp"}, {optExcludePattern, "Exclude", "exclude"}} {
			re, ok := opts[f.key]
			if !ok {
				continue
			}
			if b.fluentd {
				b.grepFluentd(match, f.fd, re)
			} else {
				b.section("FILTER", "", [][2]string{{"Name", "grep"}, {"Match", match}, {f.fbit, "log " + re}})
			}
		}
	}
	if in.Metadata {
		meta := [][2]string{{"ecs_cluster", in.Cluster}, {"ecs_task_arn", in.TaskARN}, {"ecs_task_definition", in.TaskDefinition}}
		if b.fluentd {
			b.recordTransformer(wildcard, meta)
		} else {
			kv := [][2]string{{"Name", "record_modifier"}, {"Match", wildcard}}
			for _, m := range meta {
				kv = append(kv, [2]string{"Record", m[0] + " " + m[1]})
			}
			b.section("FILTER", "", kv)
		}
	}
	if in.External != "" {
		if b.fluentd {
			b.line("@include " + in.External)
		} else {
			b.line("@INCLUDE " + in.External)
		}
		b.line("")
	}
	if !b.fluentd && tcp {
		b.section("OUTPUT", "", [][2]string{{"Name", "null"}, {"Match", "firelens-healthcheck"}})
	}
	for _, n := range names {
		opts := in.Outputs[n]
		plugin, ok := opts[outputKey]
		var rest [][2]string
		for _, k := range sortedKeys(opts) {
			switch k {
			case outputKey, optIncludePattern, optExcludePattern, optBufferLimit:
				continue
			}
			rest = append(rest, [2]string{k, opts[k]})
		}
		if !ok {
			if len(rest) > 0 {
				return "", fmt.Errorf("container %s: the awsfirelens options name no output plugin: %s is required with the options %s for a %s router",
					n, outputKey, strings.Join(keysOf(rest), ", "), in.Type)
			}
			continue // the output is in the external file
		}
		match := n + "-firelens" + wildcard
		if b.fluentd {
			b.section("match", match, append([][2]string{{"@type", plugin}}, rest...))
		} else {
			b.section("OUTPUT", "", append([][2]string{{"Name", plugin}, {"Match", match}}, rest...))
		}
	}
	return b.String(), b.err
}

func sortedKeys(m map[string]string) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

func keysOf(kv [][2]string) []string {
	var out []string
	for _, p := range kv {
		out = append(out, p[0])
	}
	return out
}

// configWriter writes Fluent Bit's classic format or Fluentd's.
type configWriter struct {
	strings.Builder
	fluentd bool
	err     error
}

func (b *configWriter) line(s string) { b.WriteString(s + "\n") }

// check refuses what would change the configuration's structure: a line
// break, and a key with spaces.
func (b *configWriter) check(k, v string) {
	if b.err == nil && (strings.ContainsAny(k+v, "\n\r") || k == "" || strings.ContainsAny(k, " \t")) {
		b.err = fmt.Errorf("FireLens option %q = %q cannot be written into the router's configuration: keys must be single words and values a single line", k, v)
	}
}

func (b *configWriter) section(name, arg string, kv [][2]string) {
	if b.fluentd {
		if arg != "" {
			b.line("<" + name + " " + arg + ">")
		} else {
			b.line("<" + name + ">")
		}
		for _, p := range kv {
			b.check(p[0], p[1])
			b.line("    " + p[0] + " " + p[1])
		}
		b.line("</" + name + ">")
		b.line("")
		return
	}
	b.line("[" + name + "]")
	for _, p := range kv {
		b.check(p[0], p[1])
		b.line("    " + p[0] + " " + p[1])
	}
	b.line("")
}

func (b *configWriter) grepFluentd(match, kind, re string) {
	b.check("pattern", re)
	b.line("<filter " + match + ">")
	b.line("    @type grep")
	b.line("    <" + kind + ">")
	b.line("        key log")
	b.line("        pattern /" + re + "/")
	b.line("    </" + kind + ">")
	b.line("</filter>")
	b.line("")
}

func (b *configWriter) recordTransformer(match string, kv [][2]string) {
	b.line("<filter " + match + ">")
	b.line("    @type record_transformer")
	b.line("    <record>")
	for _, p := range kv {
		b.check(p[0], p[1])
		b.line("        " + p[0] + " " + p[1])
	}
	b.line("    </record>")
	b.line("</filter>")
	b.line("")
}

// taskID is the task's id as ECS writes it: 32 hexadecimal digits (the
// Task's UID without dashes).
func taskID(task *ecsv1.Task) string { return taskIDOf(task.UID) }

// fireLensSetup is what prepareFireLens decided for the containers.
type fireLensSetup struct {
	router string
	// mounts of the router container.
	mounts []lsruntime.Mount
	// socket is the router's socket on the host.
	socket string
	// env for the containers that log to the router.
	env map[string]string
}

// prepareFireLens writes the router's configuration and creates its
// socket directory, once per task (nil for a task without a router).
func (t *taskSync) prepareFireLens(ctx context.Context, td *ecsv1.TaskDefinitionSpec) (*fireLensSetup, error) {
	router := fireLensRouter(td)
	if router == nil {
		return nil, nil
	}
	fc := router.FirelensConfiguration
	paths, ok := fireLensPaths[fc.Type]
	if !ok {
		return nil, userErrorf("container %s: firelensConfiguration type %q is neither fluentbit nor fluentd", router.Name, fc.Type)
	}
	dir := t.r.fireLensDir(t.task.UID)
	socketDir := filepath.Join(dir, "socket")
	confDir := filepath.Join(dir, "config")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	for _, d := range []string{socketDir, confDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, err
		}
	}
	// The router may run as any user: it creates the socket.
	if err := os.Chmod(socketDir, 0o777); err != nil {
		return nil, err
	}
	in := fireLensInput{Type: fc.Type, NetworkMode: td.NetworkMode, Metadata: fc.Options["enable-ecs-log-metadata"] != "false",
		Cluster: t.task.Spec.Cluster, TaskARN: t.task.Namespace + "/" + t.task.Name, TaskDefinition: t.status.TaskDefinitionRevision,
		Outputs: map[string]map[string]string{}}
	mounts := []lsruntime.Mount{
		{Type: "bind", Source: filepath.Join(confDir, "fluent.conf"), Destination: paths.config, Options: []string{"rbind", "rprivate", "ro"}},
		{Type: "bind", Source: socketDir, Destination: fireLensSocketDir, Options: []string{"rbind", "rprivate", "rw"}},
	}
	switch fc.Options["config-file-type"] {
	case "file":
		in.External = string(fc.Options["config-file-value"])
	case "s3":
		data, err := t.fireLensExternal(ctx, router.Name, string(fc.Options["config-file-value"]))
		if err != nil {
			return nil, err
		}
		if err := os.WriteFile(filepath.Join(confDir, "external.conf"), data, 0o444); err != nil {
			return nil, err
		}
		in.External = paths.external
		mounts = append(mounts, lsruntime.Mount{Type: "bind", Source: filepath.Join(confDir, "external.conf"),
			Destination: paths.external, Options: []string{"rbind", "rprivate", "ro"}})
	}
	for i := range td.ContainerDefinitions {
		d := &td.ContainerDefinitions[i]
		if !usesFireLens(d) {
			continue
		}
		opts := map[string]string{}
		for k, v := range d.LogConfiguration.Options {
			opts[k] = string(v)
		}
		secrets, err := t.secretValues(ctx, d.Name, d.LogConfiguration.SecretOptions)
		if err != nil {
			return nil, err
		}
		for k, v := range secrets {
			opts[k] = v
		}
		in.Outputs[d.Name] = opts
	}
	conf, err := fireLensConfig(in)
	if err != nil {
		return nil, userErrorf("%v", err)
	}
	if err := os.WriteFile(filepath.Join(confDir, "fluent.conf"), []byte(conf), 0o444); err != nil {
		return nil, err
	}
	setup := &fireLensSetup{router: router.Name, mounts: mounts, socket: filepath.Join(socketDir, fireLensSocket), env: map[string]string{}}
	switch td.NetworkMode {
	case ecsv1.NetworkModeBridge, "":
		if ip := t.bridgeIPs[router.Name]; ip != "" {
			setup.env["FLUENT_HOST"], setup.env["FLUENT_PORT"] = ip, fireLensForwardPort
		}
	case ecsv1.NetworkModeAWSVPC:
		setup.env["FLUENT_HOST"], setup.env["FLUENT_PORT"] = "127.0.0.1", fireLensForwardPort
	}
	return setup, nil
}

// forward is the logger's forward for a container that logs with
// awsfirelens (nil for the others).
func (s *fireLensSetup) forward(task *ecsv1.Task, d *ecsv1.ContainerDefinition, containerID string) (*logs.Forward, error) {
	if s == nil || !usesFireLens(d) {
		return nil, nil
	}
	f := &logs.Forward{Socket: s.socket, Tag: d.Name + "-firelens-" + taskID(task), ContainerID: containerID, ContainerName: "/" + d.Name}
	if v, ok := d.LogConfiguration.Options[optBufferLimit]; ok {
		n, err := strconv.Atoi(string(v))
		if f.BufferLimit = n; err != nil || n < 1 {
			return nil, fmt.Errorf("logConfiguration option %s: %q is not a positive number of records", optBufferLimit, v)
		}
	}
	return f, nil
}

// fireLensExternal reads the router's external configuration for
// config-file-type s3: the ConfigMap the S3 object's ARN maps onto (as
// environmentFiles do), key the object's file name.
func (t *taskSync) fireLensExternal(ctx context.Context, router, arn string) ([]byte, error) {
	name, key, err := ecsv1.S3ObjectConfigMapKey(arn)
	if err != nil {
		return nil, userErrorf("container %s: firelensConfiguration config-file-value: %v", router, err)
	}
	cm, err := t.configMap(ctx, name)
	if err != nil {
		return nil, err
	}
	if cm == nil {
		return nil, userErrorf("ResourceInitializationError: container %s: the FireLens configuration %s maps onto ConfigMap %s/%s key %q, which does not exist",
			router, arn, t.task.Namespace, name, key)
	}
	if v, ok := cm.Data[key]; ok {
		return []byte(v), nil
	}
	if v, ok := cm.BinaryData[key]; ok {
		return v, nil
	}
	return nil, userErrorf("ResourceInitializationError: container %s: the FireLens configuration %s maps onto ConfigMap %s/%s, which has no key %q",
		router, arn, t.task.Namespace, name, key)
}
