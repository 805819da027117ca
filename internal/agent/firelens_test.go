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
	"reflect"
	"strings"
	"testing"

	ecsv1 "github.com/longshore-io/longshore/api/v1alpha1"
)

// The configuration of corpus 07 (the ECS agent's own FireLens test): a
// bridge-mode Fluent Bit router, an app with include and exclude patterns
// and an output, metadata on, the user's file included. The expected text
// follows what ECS generates (see the FireLens "under the hood" samples).
func TestFireLensConfigFluentBit(t *testing.T) {
	got, err := fireLensConfig(fireLensInput{Type: "fluentbit", NetworkMode: ecsv1.NetworkModeBridge, Metadata: true,
		Cluster: "default", TaskARN: "team-a/t1", TaskDefinition: "ecsftest-firelens-fluentbit:1", External: "/tmp/local.conf",
		Outputs: map[string]map[string]string{
			"logsender": {"include-pattern": "pass", "exclude-pattern": "filtered", "Name": "cloudwatch", "region": "us-west-2",
				"log_group_name": "ecs-functional-tests", "log-driver-buffer-limit": "100"},
			"quiet": {}, // awsfirelens with no options: its output is in the user's file
		}})
	if err != nil {
		t.Fatal(err)
	}
	want := `[INPUT]
    Name forward
    unix_path /var/run/fluent.sock

[INPUT]
    Name forward
    Listen 0.0.0.0
    Port 24224

[INPUT]
    Name tcp
    Tag firelens-healthcheck
    Listen 127.0.0.1
    Port 8877

[FILTER]
    Name grep
    Match logsender-firelens*
    Regex log pass

[FILTER]
    Name grep
    Match logsender-firelens*
    Exclude log filtered

[FILTER]
    Name record_modifier
    Match *
    Record ecs_cluster default
    Record ecs_task_arn team-a/t1
    Record ecs_task_definition ecsftest-firelens-fluentbit:1

@INCLUDE /tmp/local.conf

[OUTPUT]
    Name null
    Match firelens-healthcheck

[OUTPUT]
    Name cloudwatch
    Match logsender-firelens*
    log_group_name ecs-functional-tests
    region us-west-2

`
	if got != want {
		t.Errorf("config:\n%s\nwant:\n%s", got, want)
	}
}

func TestFireLensConfigFluentd(t *testing.T) {
	got, err := fireLensConfig(fireLensInput{Type: "fluentd", NetworkMode: ecsv1.NetworkModeAWSVPC, Metadata: false,
		External: "/fluentd/etc/external.conf",
		Outputs:  map[string]map[string]string{"app": {"@type": "kinesis_firehose", "region": "ap-south-1", "include-pattern": "[Ee]rror"}}})
	if err != nil {
		t.Fatal(err)
	}
	want := `<source>
    @type unix
    path /var/run/fluent.sock
</source>

<source>
    @type forward
    bind 127.0.0.1
    port 24224
</source>

<filter app-firelens**>
    @type grep
    <regexp>
        key log
        pattern /[Ee]rror/
    </regexp>
</filter>

@include /fluentd/etc/external.conf

<match app-firelens**>
    @type kinesis_firehose
    region ap-south-1
</match>

`
	if got != want {
		t.Errorf("config:\n%s\nwant:\n%s", got, want)
	}
	// host mode: the socket only, no TCP inputs (as ECS).
	got, err = fireLensConfig(fireLensInput{Type: "fluentbit", NetworkMode: ecsv1.NetworkModeHost})
	if err != nil || strings.Contains(got, "Port") || !strings.Contains(got, "unix_path /var/run/fluent.sock") {
		t.Errorf("host mode: %q, %v", got, err)
	}
}

func TestFireLensConfigErrors(t *testing.T) {
	for _, c := range []struct {
		opts map[string]string
		want string
	}{
		{map[string]string{"region": "us-east-1"}, "container app: the awsfirelens options name no output plugin: Name is required with the options region for a fluentbit router"},
		{map[string]string{"Name": "stdout", "Format": "json\n[OUTPUT]"}, `FireLens option "Format" = "json\n[OUTPUT]" cannot be written into the router's configuration`},
		{map[string]string{"Name": "stdout", "two words": "x"}, `FireLens option "two words" = "x" cannot be written`},
	} {
		_, err := fireLensConfig(fireLensInput{Type: "fluentbit", NetworkMode: ecsv1.NetworkModeBridge, Outputs: map[string]map[string]string{"app": c.opts}})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: %v, want %q", c.opts, err, c.want)
		}
	}
}

func TestWithFireLensDependencies(t *testing.T) {
	firelens := &ecsv1.LogConfiguration{LogDriver: ecsv1.LogDriverAWSFireLens}
	td := &ecsv1.TaskDefinitionSpec{ContainerDefinitions: []ecsv1.ContainerDefinition{
		{Name: "app", LogConfiguration: firelens},
		{Name: "router", FirelensConfiguration: &ecsv1.FirelensConfiguration{Type: "fluentbit"}},
		{Name: "waits", LogConfiguration: firelens, DependsOn: []ecsv1.ContainerDependency{{ContainerName: "router", Condition: ecsv1.DependencyHealthy}}},
		{Name: "plain"},
	}}
	got := withFireLensDependencies(td)
	deps := func(td *ecsv1.TaskDefinitionSpec, i int) []ecsv1.ContainerDependency {
		return td.ContainerDefinitions[i].DependsOn
	}
	if want := []ecsv1.ContainerDependency{{ContainerName: "router", Condition: ecsv1.DependencyStart}}; !reflect.DeepEqual(deps(got, 0), want) {
		t.Errorf("app depends on %v, want %v", deps(got, 0), want)
	}
	if len(deps(got, 2)) != 1 || deps(got, 2)[0].Condition != ecsv1.DependencyHealthy {
		t.Errorf("a declared dependency on the router is kept as it is: %v", deps(got, 2))
	}
	if deps(got, 1) != nil || deps(got, 3) != nil {
		t.Errorf("router %v, plain %v: want no dependencies", deps(got, 1), deps(got, 3))
	}
	if deps(td, 0) != nil {
		t.Errorf("the revision's definitions were changed: %v", deps(td, 0))
	}
	// The router stops last.
	groups := stopOrder(got.ContainerDefinitions)
	if last := groups[len(groups)-1]; !reflect.DeepEqual(last, []string{"router"}) {
		t.Errorf("stop order %v, want the router alone last", groups)
	}
	noRouter := &ecsv1.TaskDefinitionSpec{ContainerDefinitions: []ecsv1.ContainerDefinition{{Name: "a"}}}
	if withFireLensDependencies(noRouter) != noRouter {
		t.Error("a task without a router is returned as it is")
	}
}
