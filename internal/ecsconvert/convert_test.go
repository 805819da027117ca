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

package ecsconvert

import (
	"slices"
	"strings"
	"testing"
)

const export = `{
  "taskDefinition": {
    "taskDefinitionArn": "arn:aws:ecs:eu-west-1:123456789012:task-definition/My_Web:7",
    "family": "My_Web",
    "revision": 7,
    "status": "ACTIVE",
    "registeredAt": "2024-05-01T10:00:00.000000+00:00",
    "registeredBy": "arn:aws:iam::123456789012:user/ci",
    "compatibilities": ["EC2", "FARGATE"],
    "requiresAttributes": [{"name": "com.amazonaws.ecs.capability.docker-remote-api.1.18"}],
    "requiresCompatibilities": ["FARGATE"],
    "networkMode": "awsvpc",
    "pidMode": "",
    "cpu": "256", "memory": "512",
    "executionRoleArn": null,
    "containerDefinitions": [{
      "name": "web", "image": "nginx:1.27", "essential": true,
      "portMappings": [{"containerPort": 80, "hostPort": 80, "protocol": "tcp", "appProtocol": ""}],
      "environment": [{"name": "REGION", "value": "${AWS::Region}"}],
      "secrets": [{"name": "DB", "valueFrom": "arn:aws:ssm:eu-west-1:123456789012:parameter/web/db"}],
      "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": "/ecs/web"}}
    }]
  },
  "tags": [{"key": "team", "value": "edge"}]
}`

func TestConvertAnExport(t *testing.T) {
	res, err := Convert([]byte(export), Options{Namespace: "shop", ImageMap: map[string]string{"nginx": "localhost/nginx:test"}})
	if err != nil {
		t.Fatal(err)
	}
	td := res.TaskDefinition
	if td.Name != "my-web" || td.Namespace != "shop" || td.Spec.Family != "My_Web" {
		t.Errorf("name %q namespace %q family %q", td.Name, td.Namespace, td.Spec.Family)
	}
	if td.Spec.Revision != nil || td.Spec.TaskDefinitionArn != "" || td.Spec.RegisteredAt != nil || td.Spec.Compatibilities != nil ||
		td.Spec.PidMode != "" || td.Spec.ExecutionRoleArn != "" {
		t.Errorf("export-only fields, nulls or empty enums kept: %+v", td.Spec)
	}
	if len(td.Spec.Tags) != 1 || td.Spec.Tags[0].Key != "team" {
		t.Errorf("tags %+v, want the export's", td.Spec.Tags)
	}
	if img := td.Spec.ContainerDefinitions[0].Image; img != "localhost/nginx:test" {
		t.Errorf("image %q, want the mapped one", img)
	}
	if p := td.Spec.ContainerDefinitions[0].PortMappings[0]; p.AppProtocol != "" {
		t.Errorf("appProtocol %q kept", p.AppProtocol)
	}
	for _, want := range []string{
		"taskDefinition: the describe-task-definition wrapper was unwrapped",
		"revision: dropped: an export-only field",
		"registeredAt: dropped",
		"executionRoleArn: dropped: an explicit null",
		`pidMode: dropped: "" is the same as leaving the field out`,
		`containerDefinitions[web].portMappings[0].appProtocol: dropped`,
		"containerDefinitions[web].environment[REGION].value: holds the template placeholder ${AWS::Region}",
		`family: "My_Web" becomes the TaskDefinition name "my-web"`,
		"containerDefinitions[web].image: nginx:1.27 swapped for localhost/nginx:test",
		"requiresCompatibilities FARGATE: the task runs on a ContainerInstance",
		"containerDefinitions[web].logConfiguration.logDriver awslogs: the instance's log store",
		"containerDefinitions[web].secrets[DB].valueFrom arn:aws:ssm:eu-west-1:123456789012:parameter/web/db: key value of the Secret web-db",
	} {
		if !slices.ContainsFunc(res.Warnings, func(w string) bool { return strings.Contains(w, want) }) {
			t.Errorf("no warning with %q in:\n  %s", want, strings.Join(res.Warnings, "\n  "))
		}
	}
	out, err := YAML(td)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"apiVersion: ecs.longshore.io/v1alpha1", "kind: TaskDefinition", "name: my-web", "family: My_Web"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("YAML lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(string(out), "status:") || strings.Contains(string(out), "creationTimestamp") {
		t.Errorf("YAML holds status or creationTimestamp:\n%s", out)
	}
}

func TestConvertYAMLAndPlainBody(t *testing.T) {
	res, err := Convert([]byte("family: web\ncontainerDefinitions:\n- {name: web, image: busybox, memory: 32}\n"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.TaskDefinition.Name != "web" || res.TaskDefinition.Spec.Family != "" || len(res.Warnings) != 0 {
		t.Errorf("name %q family %q warnings %q", res.TaskDefinition.Name, res.TaskDefinition.Spec.Family, res.Warnings)
	}
}

func TestConvertRefusesWhatIsNotATaskDefinition(t *testing.T) {
	for in, want := range map[string]string{
		"":                             "the input is empty",
		"[1, 2]":                       "must be one object",
		`{"containerDefinitions": []}`: "family is missing",
		`{"family": "a/b", "containerDefinitions": []}`:                                                       `family "a/b" does not make a TaskDefinition name`,
		`{"family": "web", "containerDefinitions": [{"name": "web", "image": "x", "volumeDriver": "local"}]}`: `unknown field "volumeDriver"`,
		"family: [": "neither JSON nor YAML",
	} {
		if _, err := Convert([]byte(in), Options{}); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Convert(%q) = %v, want an error with %q", in, err, want)
		}
	}
}

func TestRepository(t *testing.T) {
	for in, want := range map[string]string{"busybox": "busybox", "busybox:1.36": "busybox", "127.0.0.1:5000/a/b:c": "127.0.0.1:5000/a/b",
		"reg:5000/a": "reg:5000/a", "a@sha256:abc": "a"} {
		if got := repository(in); got != want {
			t.Errorf("repository(%q) = %q, want %q", in, got, want)
		}
	}
}
