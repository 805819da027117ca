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

package api

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/longshore-io/longshore/test/integration/framework"
)

// manifest renders one object of kind with the given spec (YAML, written at
// column 0).
func manifest(kind, name, spec string) string {
	return fmt.Sprintf("apiVersion: ecs.longshore.io/v1alpha1\nkind: %s\nmetadata:\n  name: %s\nspec:\n%s", kind, name, indent(spec, 2))
}

func indent(s string, n int) string {
	pad := strings.Repeat(" ", n)
	lines := strings.Split(strings.Trim(s, "\n"), "\n")
	for i, l := range lines {
		if l != "" {
			lines[i] = pad + l
		}
	}
	return strings.Join(lines, "\n") + "\n"
}

func decodeOne(t *testing.T, y string) *unstructured.Unstructured {
	t.Helper()
	objs, err := framework.DecodeYAML([]byte(y))
	if err != nil || len(objs) != 1 {
		t.Fatalf("test manifest does not parse (%v):\n%s", err, y)
	}
	return objs[0]
}

func newNamespace(t *testing.T) string { return env.NewNamespace(t, "api") }

var clusterScoped = map[string]bool{"Cluster": true, "ContainerInstance": true}

// create applies y the way `kubectl apply` does (strict field validation)
// into namespace ns when the kind is namespaced.
func create(t *testing.T, ns, y string) (*unstructured.Unstructured, error) {
	t.Helper()
	obj := decodeOne(t, y)
	if !clusterScoped[obj.GetKind()] {
		obj.SetNamespace(ns)
	}
	err := env.Client.Create(ctx(t), obj)
	if err == nil && clusterScoped[obj.GetKind()] {
		t.Cleanup(func() { _ = env.Client.Delete(ctx(t), obj) })
	}
	return obj, err
}

// A valid container, written as a list item ("- "+container), to which
// cases append the one field (indented by two) that breaks a rule.
const container = `name: web
  image: localhost/longshore/busybox:latest
  memory: 64
`

// containerNoMemory has a soft limit only.
const containerNoMemory = `name: web
  image: localhost/longshore/busybox:latest
  memoryReservation: 64
`

func td(name, spec string) string { return manifest("TaskDefinition", name, spec) }

// TestSamplesAreAccepted applies every object of config/samples, in file
// order, with strict field validation.
func TestSamplesAreAccepted(t *testing.T) {
	ns := newNamespace(t)
	files, err := filepath.Glob(filepath.Join(framework.RepoRoot(), "config", "samples", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no samples found (%v)", err)
	}
	kinds := map[string]int{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		objs, err := framework.DecodeYAML(data)
		if err != nil {
			t.Fatalf("%s: %v", filepath.Base(f), err)
		}
		for _, obj := range objs {
			if !clusterScoped[obj.GetKind()] {
				obj.SetNamespace(ns)
			}
			if err := env.Client.Create(ctx(t), obj); err != nil {
				t.Errorf("%s: %s/%s rejected: %v", filepath.Base(f), obj.GetKind(), obj.GetName(), err)
			}
			kinds[obj.GetKind()]++
		}
	}
	for _, k := range []string{"Cluster", "TaskDefinition", "Task", "Service"} {
		if kinds[k] == 0 {
			t.Errorf("config/samples has no %s", k)
		}
	}
}

// TestInvalidManifestsAreRejected is the validation table: each manifest
// breaks one rule and must be refused by the apiserver with a message that
// tells the user which.
func TestInvalidManifestsAreRejected(t *testing.T) {
	ns := newNamespace(t)
	cases := []struct {
		name     string
		manifest string
		want     string
	}{
		// TaskDefinition: schema.
		{"no containers", td("t", "containerDefinitions: []"), "should have at least 1 items"},
		{"eleven containers", td("t", "containerDefinitions:\n"+func() string {
			var b strings.Builder
			for i := range 11 {
				fmt.Fprintf(&b, "- name: c%d\n  image: x\n  memory: 10\n", i)
			}
			return b.String()
		}()), "must have at most 10 items"},
		{"bad network mode", td("t", "networkMode: nat\ncontainerDefinitions:\n"+"- "+container), `Unsupported value: "nat"`},
		// executionRoleArn is accepted (mapped) now; a field ECS has only on RunTask still is not.
		{"unknown field launchType", td("t", "launchType: FARGATE\ncontainerDefinitions:\n- "+container), `unknown field "spec.launchType"`},
		{"unknown compatibility", td("t", "requiresCompatibilities: [LAMBDA]\ncontainerDefinitions:\n- "+container), `Unsupported value: "LAMBDA"`},
		{"link to no container", td("t", "containerDefinitions:\n- "+container+"  links: [db]\n"), "links must name another container of this task definition"},
		{"links in awsvpc", td("t", "networkMode: awsvpc\ncontainerDefinitions:\n- "+container+"  links: [db]\n- {name: db, image: x, memory: 10}\n"), "links work with networkMode bridge only"},
		{"bad link alias", td("t", "containerDefinitions:\n- "+container+"  links: [\"db:a b\"]\n- {name: db, image: x, memory: 10}\n"), "should match"},
		{"unknown container field", td("t", "containerDefinitions:\n- "+container+"  volumeDriver: local\n"), `unknown field "spec.containerDefinitions[0].volumeDriver"`},
		{"family is not the name", td("t", "family: other\ncontainerDefinitions:\n- "+container), "spec.family must be metadata.name"},
		// App Mesh is honoured now (awsvpc): the rules are about its shape.
		{"proxyConfiguration", td("t", "proxyConfiguration: {type: APPMESH, containerName: web, properties: [{name: IgnoredUID, value: \"1337\"}, {name: AppPorts, value: \"9080\"}, {name: ProxyIngressPort, value: \"15000\"}, {name: ProxyEgressPort, value: \"15001\"}]}\ncontainerDefinitions:\n- "+container), "proxyConfiguration (App Mesh) needs networkMode awsvpc"},
		{"proxy container unknown", td("t", "networkMode: awsvpc\nproxyConfiguration: {type: APPMESH, containerName: envoy, properties: [{name: IgnoredUID, value: \"1337\"}, {name: AppPorts, value: \"9080\"}, {name: ProxyIngressPort, value: \"15000\"}, {name: ProxyEgressPort, value: \"15001\"}]}\ncontainerDefinitions:\n- "+container), "proxyConfiguration.containerName must name a container of this task definition"},
		{"proxy property unknown", td("t", "networkMode: awsvpc\nproxyConfiguration: {type: APPMESH, containerName: web, properties: [{name: IgnoredUID, value: \"1337\"}, {name: AppPorts, value: \"9080\"}, {name: ProxyIngressPort, value: \"15000\"}, {name: ProxyEgressPort, value: \"15001\"}, {name: Mode, value: tproxy}]}\ncontainerDefinitions:\n- "+container), "proxyConfiguration properties are IgnoredUID, IgnoredGID, AppPorts"},
		{"proxy without ignored user", td("t", "networkMode: awsvpc\nproxyConfiguration: {type: APPMESH, containerName: web, properties: [{name: AppPorts, value: \"9080\"}, {name: ProxyIngressPort, value: \"15000\"}, {name: ProxyEgressPort, value: \"15001\"}]}\ncontainerDefinitions:\n- "+container), "proxyConfiguration needs AppPorts, ProxyIngressPort, ProxyEgressPort, and IgnoredUID or IgnoredGID"},
		{"proxy ignored user by name", td("t", "networkMode: awsvpc\nproxyConfiguration: {type: APPMESH, containerName: web, properties: [{name: IgnoredUID, value: envoy}, {name: AppPorts, value: \"9080\"}, {name: ProxyIngressPort, value: \"15000\"}, {name: ProxyEgressPort, value: \"15001\"}]}\ncontainerDefinitions:\n- "+container), "IgnoredUID and IgnoredGID are numeric ids"},
		{"proxy port", td("t", "networkMode: awsvpc\nproxyConfiguration: {type: APPMESH, containerName: web, properties: [{name: IgnoredUID, value: \"1337\"}, {name: AppPorts, value: \"9080\"}, {name: ProxyIngressPort, value: \"http\"}, {name: ProxyEgressPort, value: \"15001\"}]}\ncontainerDefinitions:\n- "+container), "ProxyIngressPort and ProxyEgressPort are port numbers"},
		{"proxy app ports", td("t", "networkMode: awsvpc\nproxyConfiguration: {type: APPMESH, containerName: web, properties: [{name: IgnoredUID, value: \"1337\"}, {name: AppPorts, value: \"9080-9090\"}, {name: ProxyIngressPort, value: \"15000\"}, {name: ProxyEgressPort, value: \"15001\"}]}\ncontainerDefinitions:\n- "+container), "AppPorts and EgressIgnoredPorts are comma-separated port numbers"},
		{"inferenceAccelerators", td("t", "inferenceAccelerators: [{deviceName: d, deviceType: eia2.medium}]\ncontainerDefinitions:\n- "+container), "Elastic Inference accelerators exist only in AWS"},
		{"enableFaultInjection", td("t", "enableFaultInjection: true\ncontainerDefinitions:\n- "+container), "enableFaultInjection is not supported yet"},
		{"runtimePlatform unknown architecture", td("t", "runtimePlatform: {cpuArchitecture: RISCV}\ncontainerDefinitions:\n- "+container), `Unsupported value: "RISCV"`},
		{"ephemeralStorage too small", td("t", "ephemeralStorage: {sizeInGiB: 20}\ncontainerDefinitions:\n- "+container), "should be greater than or equal to 21"},
		{"host-wide sysctl", td("t", "containerDefinitions:\n- "+container+"  systemControls: [{namespace: vm.swappiness, value: \"10\"}]\n"), "systemControls takes only namespaced sysctls"},
		{"net sysctl with host network", td("t", "networkMode: host\ncontainerDefinitions:\n- "+container+"  systemControls: [{namespace: net.core.somaxconn, value: \"1024\"}]\n"), "systemControls net.* would change the host's own network settings"},
		{"apparmor security option", td("t", "containerDefinitions:\n- "+container+"  dockerSecurityOptions: [\"apparmor:unconfined\"]\n"), "dockerSecurityOptions: only no-new-privileges is supported"},
		// GPUs are accepted (placed where instances register them) now; a count that is not one is not.
		{"GPU count", td("t", "containerDefinitions:\n- "+container+"  resourceRequirements: [{type: GPU, value: \"all\"}]\n"), "value is the number of GPUs, 1 to 999"},
		{"GPU sharing", td("t", "containerDefinitions:\n- "+container+"  resourceRequirements: [{type: GPU, value: \"1\", sharingStrategy: {type: TIME_SLICING}}]\n"), "sharingStrategy is not supported"},
		// FireLens is honoured now: the rules are about its shape.
		{"firelensConfiguration unknown option", td("t", "containerDefinitions:\n- "+container+"  firelensConfiguration: {type: fluentbit, options: {config-file: /x.conf}}\n"), "firelensConfiguration options are enable-ecs-log-metadata, config-file-type and config-file-value"},
		{"firelensConfiguration type", td("t", "containerDefinitions:\n- "+container+"  firelensConfiguration: {type: vector}\n"), `Unsupported value: "vector"`},
		{"firelens metadata not a boolean", td("t", "containerDefinitions:\n- "+container+"  firelensConfiguration: {type: fluentbit, options: {enable-ecs-log-metadata: \"yes\"}}\n"), "enable-ecs-log-metadata must be true or false"},
		{"firelens config type without value", td("t", "containerDefinitions:\n- "+container+"  firelensConfiguration: {type: fluentbit, options: {config-file-type: file}}\n"), "config-file-type and config-file-value go together"},
		{"firelens config file type", td("t", "containerDefinitions:\n- "+container+"  firelensConfiguration: {type: fluentbit, options: {config-file-type: http, config-file-value: x}}\n"), "config-file-type must be file or s3"},
		{"firelens config file relative", td("t", "containerDefinitions:\n- "+container+"  firelensConfiguration: {type: fluentbit, options: {config-file-type: file, config-file-value: extra.conf}}\n"), "config-file-value must be an absolute path inside the router container"},
		{"firelens config s3 not an ARN", td("t", "containerDefinitions:\n- "+container+"  firelensConfiguration: {type: fluentbit, options: {config-file-type: s3, config-file-value: \"s3://b/x.conf\"}}\n"), "config-file-value must be the ARN of an S3 object"},
		{"two log routers", td("t", "containerDefinitions:\n- "+container+"  firelensConfiguration: {type: fluentbit}\n- {name: router, image: x, memory: 10, firelensConfiguration: {type: fluentbit}}\n"), "at most one container may have firelensConfiguration"},
		{"log router logs to itself", td("t", "containerDefinitions:\n- "+container+"  firelensConfiguration: {type: fluentbit}\n  logConfiguration: {logDriver: awsfirelens}\n"), "the log router (the container with firelensConfiguration) cannot use logDriver awsfirelens itself"},
		// pseudoTerminal and interactive are honoured now: they are booleans.
		{"pseudoTerminal", td("t", "containerDefinitions:\n- "+container+"  pseudoTerminal: \"yes\"\n"), "spec.containerDefinitions[0].pseudoTerminal: Invalid value: \"string\""},
		{"interactive", td("t", "containerDefinitions:\n- "+container+"  interactive: 1\n"), "spec.containerDefinitions[0].interactive: Invalid value: \"integer\""},
		{"interactive without pseudoTerminal", td("t", "containerDefinitions:\n- "+container+"  interactive: true\n"), "interactive without pseudoTerminal is not supported yet"},
		{"disableNetworking in awsvpc", td("t", "networkMode: awsvpc\ncontainerDefinitions:\n- "+container+"  disableNetworking: true\n"), "disableNetworking works with networkMode bridge only"},
		{"disableNetworking with ports", td("t", "containerDefinitions:\n- "+container+"  disableNetworking: true\n  portMappings: [{containerPort: 80}]\n"), "a container with disableNetworking has no network to publish portMappings on"},
		// environmentFiles are accepted (mapped onto ConfigMaps) now; a value that is not an S3 object's ARN is not.
		{"environmentFiles not an S3 ARN", td("t", "containerDefinitions:\n- "+container+"  environmentFiles: [{type: s3, value: \"s3://b/k.env\"}]\n"), "environmentFiles value must be the ARN of an S3 object"},
		{"credentialSpecs", td("t", "containerDefinitions:\n- "+container+"  credentialSpecs: [\"credentialspec:arn:aws:s3:::b/k\"]\n"), "credentialSpecs need an Active Directory"},
		{"containerPortRange", td("t", "containerDefinitions:\n- "+container+"  portMappings: [{containerPort: 80, containerPortRange: \"8000-8010\"}]\n"), "containerPortRange is not supported yet"},
		// Devices and swap are honoured now: the rules are about their shape.
		{"linux devices", td("t", "containerDefinitions:\n- "+container+"  linuxParameters: {devices: [{hostPath: /etc/passwd}]}\n"), "devices hostPath must be a device under /dev"},
		{"device containerPath", td("t", "containerDefinitions:\n- "+container+"  linuxParameters: {devices: [{hostPath: /dev/fuse, containerPath: fuse}]}\n"), "devices containerPath must be an absolute path"},
		{"device permission", td("t", "containerDefinitions:\n- "+container+"  linuxParameters: {devices: [{hostPath: /dev/fuse, permissions: [execute]}]}\n"), `Unsupported value: "execute"`},
		{"maxSwap", td("t", "containerDefinitions:\n- "+containerNoMemory+"  linuxParameters: {maxSwap: 512}\n"), "linuxParameters.maxSwap needs the container's memory (the hard limit)"},
		{"negative maxSwap", td("t", "containerDefinitions:\n- "+container+"  linuxParameters: {maxSwap: -1}\n"), "should be greater than or equal to 0"},
		{"swappiness above 100", td("t", "containerDefinitions:\n- "+container+"  linuxParameters: {maxSwap: 0, swappiness: 101}\n"), "should be less than or equal to 100"},
		{"dockerVolumeConfiguration of another driver", td("t", "volumes: [{name: v, dockerVolumeConfiguration: {scope: task, driver: rexray/ebs}}]\ncontainerDefinitions:\n- "+container), "only the local driver exists on Longshore instances"},
		{"dockerVolumeConfiguration nfs", td("t", "volumes: [{name: v, dockerVolumeConfiguration: {driver: local, driverOpts: {type: nfs, device: \":/export\"}}}]\ncontainerDefinitions:\n- "+container), "only type tmpfs (device tmpfs) is supported"},
		{"dockerVolumeConfiguration autoprovision of a task volume", td("t", "volumes: [{name: v, dockerVolumeConfiguration: {scope: task, autoprovision: true}}]\ncontainerDefinitions:\n- "+container), "autoprovision needs scope shared"},
		{"dockerVolumeConfiguration tmpfs options", td("t", "volumes: [{name: v, dockerVolumeConfiguration: {driverOpts: {type: tmpfs, o: \"size=1m,exec\"}}}]\ncontainerDefinitions:\n- "+container), "driverOpts.o takes tmpfs options"},
		{"EFS volume", td("t", "volumes: [{name: v, efsVolumeConfiguration: {fileSystemId: fs-1}}]\ncontainerDefinitions:\n- "+container), "Amazon EFS exists only in AWS"},
		{"EBS at launch", td("t", "volumes: [{name: v, configuredAtLaunch: true}]\ncontainerDefinitions:\n- "+container), "EBS volumes attached at launch exist only in AWS"},
		{"S3 Files volume", td("t", "volumes: [{name: v, s3filesVolumeConfiguration: {fileSystemArn: x}}]\ncontainerDefinitions:\n- "+container), "Amazon S3 Files exists only in AWS"},
		{"isolated sandbox", td("t", "trustedExecutionConfiguration: {isolationMode: ISOLATED_SANDBOX}\ncontainerDefinitions:\n- "+container), "Nitro sandboxes exist only in AWS"},
		{"FSx volume", td("t", "volumes: [{name: v, fsxWindowsFileServerVolumeConfiguration: {fileSystemId: fs-1}}]\ncontainerDefinitions:\n- "+container), "FSx for Windows exists only in AWS"},
		{"task cpu not a cpu", td("t", "cpu: quarter\ncontainerDefinitions:\n- "+container), "cpu must be CPU units"},
		{"task memory in TB", td("t", "memory: 1 TB\ncontainerDefinitions:\n- "+container), "memory must be MiB"},
		{"duplicate container names", td("t", "containerDefinitions:\n- "+container+"- "+container), "Duplicate value"},
		{"container name with a dot", td("t", "containerDefinitions:\n- name: a.b\n  image: x\n  memory: 10\n"), "spec.containerDefinitions[0].name: Invalid value"},
		{"memory below 6 MiB", td("t", "containerDefinitions:\n- name: a\n  image: x\n  memory: 4\n"), "should be greater than or equal to 6"},
		{"family name too long", td(strings.Repeat("f", 64), "containerDefinitions:\n- "+container), "must be at most 63 characters"},
		// TaskDefinition: ECS rules.
		{"no essential container", td("t", "containerDefinitions:\n- "+container+"  essential: false\n"), "at least one container must be essential"},
		{"no memory anywhere", td("t", "containerDefinitions:\n- name: a\n  image: x\n"), "every container needs memory or memoryReservation unless the task-level memory is set"},
		{"memory not above reservation", td("t", "containerDefinitions:\n- name: a\n  image: x\n  memory: 64\n  memoryReservation: 64\n"), "memory (the hard limit) must be greater than memoryReservation"},
		{"ports with network mode none", td("t", "networkMode: none\ncontainerDefinitions:\n- "+container+"  portMappings: [{containerPort: 80}]\n"), "portMappings are not allowed with networkMode none"},
		{"awsvpc port of the task endpoints", td("t", "networkMode: awsvpc\ncontainerDefinitions:\n- "+container+"  portMappings: [{containerPort: 51679}]\n"), "containerPort 51679 (tcp) is taken in the task's network namespace with networkMode bridge or awsvpc"},
		{"bridge port of the task endpoints", td("t", "containerDefinitions:\n- "+container+"  portMappings: [{containerPort: 51679, hostPort: 0, protocol: tcp}]\n"), "the task metadata and agent endpoints listen on 169.254.170.2:51679 there"},
		{"awsvpc hostPort differs", td("t", "networkMode: awsvpc\ncontainerDefinitions:\n- "+container+"  portMappings: [{containerPort: 80, hostPort: 8080}]\n"), "with networkMode host or awsvpc, hostPort must be omitted or equal to containerPort"},
		{"host hostPort differs", td("t", "networkMode: host\ncontainerDefinitions:\n- "+container+"  portMappings: [{containerPort: 80, hostPort: 0}]\n"), "hostPort must be omitted or equal to containerPort"},
		{"containerPort out of range", td("t", "containerDefinitions:\n- "+container+"  portMappings: [{containerPort: 70000}]\n"), "should be less than or equal to 65535"},
		{"protocol sctp", td("t", "containerDefinitions:\n- "+container+"  portMappings: [{containerPort: 80, protocol: sctp}]\n"), `Unsupported value: "sctp"`},
		{"repeated containerPort", td("t", "containerDefinitions:\n- "+container+"  portMappings: [{containerPort: 80}, {containerPort: 80, hostPort: 81}]\n"), "portMappings must not repeat a containerPort and protocol"},
		{"repeated hostPort", td("t", "containerDefinitions:\n- "+container+"  portMappings: [{containerPort: 80, hostPort: 9000}, {containerPort: 81, hostPort: 9000}]\n"), "portMappings must not repeat a hostPort and protocol"},
		{"hostname with awsvpc", td("t", "networkMode: awsvpc\ncontainerDefinitions:\n- "+container+"  hostname: web\n"), "hostname is not supported with networkMode host or awsvpc"},
		{"dependsOn unknown container", td("t", "containerDefinitions:\n- "+container+"  dependsOn: [{containerName: db, condition: START}]\n"), "dependsOn must name another container of this task definition"},
		{"dependsOn itself", td("t", "containerDefinitions:\n- "+container+"  dependsOn: [{containerName: web, condition: START}]\n"), "dependsOn must name another container of this task definition"},
		{"dependsOn bad condition", td("t", "containerDefinitions:\n- "+container+"- name: b\n  image: x\n  memory: 8\n  dependsOn: [{containerName: web, condition: READY}]\n"), `Unsupported value: "READY"`},
		{"COMPLETE on an essential container", td("t", "containerDefinitions:\n- "+container+"- name: b\n  image: x\n  memory: 8\n  dependsOn: [{containerName: web, condition: COMPLETE}]\n"), "dependsOn condition COMPLETE or SUCCESS needs a non-essential target container"},
		{"SUCCESS on an essential container", td("t", "containerDefinitions:\n- "+container+"- name: b\n  image: x\n  memory: 8\n  dependsOn: [{containerName: web, condition: SUCCESS}]\n"), "needs a non-essential target container"},
		{"HEALTHY without a healthCheck", td("t", "containerDefinitions:\n- "+container+"- name: b\n  image: x\n  memory: 8\n  dependsOn: [{containerName: web, condition: HEALTHY}]\n"), "dependsOn condition HEALTHY needs a target container with a healthCheck"},
		{"two-container cycle", td("t", "containerDefinitions:\n- "+container+"  dependsOn: [{containerName: b, condition: START}]\n- name: b\n  image: x\n  memory: 8\n  dependsOn: [{containerName: web, condition: START}]\n"), "dependsOn must not form a cycle"},
		{"three-container cycle", td("t", `containerDefinitions:
- {name: a, image: x, memory: 8, dependsOn: [{containerName: c, condition: START}]}
- {name: b, image: x, memory: 8, dependsOn: [{containerName: a, condition: START}]}
- {name: c, image: x, memory: 8, dependsOn: [{containerName: b, condition: START}]}
- {name: d, image: x, memory: 8}
`), "dependsOn must not form a cycle"},
		{"healthCheck without a probe", td("t", "containerDefinitions:\n- "+container+"  healthCheck: {interval: 10}\n"), "a healthCheck needs exactly one of command, httpGet or tcpSocket"},
		{"healthCheck with two probes", td("t", "containerDefinitions:\n- "+container+"  healthCheck: {command: [CMD, \"true\"], tcpSocket: {port: 80}}\n"), "exactly one of command, httpGet or tcpSocket"},
		{"healthCheck command without CMD", td("t", "containerDefinitions:\n- "+container+"  healthCheck: {command: [curl, -f, localhost]}\n"), "healthCheck.command must be CMD or CMD-SHELL followed by the command"},
		{"healthCheck interval too short", td("t", "containerDefinitions:\n- "+container+"  healthCheck: {command: [CMD, \"true\"], interval: 1}\n"), "should be greater than or equal to 5"},
		{"healthCheck retries too many", td("t", "containerDefinitions:\n- "+container+"  healthCheck: {command: [CMD, \"true\"], retries: 11}\n"), "should be less than or equal to 10"},
		{"mountPoint of unknown volume", td("t", "containerDefinitions:\n- "+container+"  mountPoints: [{sourceVolume: data, containerPath: /data}]\n"), "mountPoints.sourceVolume must name a volume in volumes"},
		{"mountPoint relative path", td("t", "volumes: [{name: data}]\ncontainerDefinitions:\n- "+container+"  mountPoints: [{sourceVolume: data, containerPath: data}]\n"), "containerPath must be an absolute path other than /"},
		{"volume with two sources", td("t", "volumes: [{name: v, host: {sourcePath: /srv}, secret: {secretName: s}}]\ncontainerDefinitions:\n- "+container), "a volume takes at most one of host, dockerVolumeConfiguration, secret and configMap"},
		{"volumesFrom itself", td("t", "containerDefinitions:\n- "+container+"  volumesFrom: [{sourceContainer: web}]\n"), "volumesFrom.sourceContainer must name another container"},
		// awslogs is accepted (mapped onto the local log store) now; an unknown driver and awsfirelens are not.
		{"logDriver unknown", td("t", "containerDefinitions:\n- "+container+"  logConfiguration: {logDriver: loki}\n"), `Unsupported value: "loki"`},
		{"logDriver awsfirelens", td("t", "containerDefinitions:\n- "+container+"  logConfiguration: {logDriver: awsfirelens}\n"), "logDriver awsfirelens sends a container's output to the task's log router, and this task has none"},
		{"awsfirelens output without Name", td("t", "containerDefinitions:\n- "+container+"  logConfiguration: {logDriver: awsfirelens, options: {region: us-east-1}}\n- {name: router, image: x, memory: 10, firelensConfiguration: {type: fluentbit}}\n"), "which must be named (in options or secretOptions): Name for a Fluent Bit router, @type for a Fluentd router"},
		{"awsfirelens Name for a Fluentd router", td("t", "containerDefinitions:\n- "+container+"  logConfiguration: {logDriver: awsfirelens, options: {Name: stdout}}\n- {name: router, image: x, memory: 10, firelensConfiguration: {type: fluentd}}\n"), "which must be named (in options or secretOptions): Name for a Fluent Bit router, @type for a Fluentd router"},
		{"awsfirelens option on two lines", td("t", "containerDefinitions:\n- "+container+"  logConfiguration: {logDriver: awsfirelens, options: {Name: stdout, Format: \"json\\n[OUTPUT]\"}}\n- {name: router, image: x, memory: 10, firelensConfiguration: {type: fluentbit}}\n"), "keys must be single words and values a single line"},
		{"awsfirelens buffer limit", td("t", "containerDefinitions:\n- "+container+"  logConfiguration: {logDriver: awsfirelens, options: {log-driver-buffer-limit: lots}}\n- {name: router, image: x, memory: 10, firelensConfiguration: {type: fluentbit}}\n"), "log-driver-buffer-limit is the number of log records held for the router"},
		{"unsupported log option", td("t", "containerDefinitions:\n- "+container+"  logConfiguration: {logDriver: json-file, options: {compress: \"true\"}}\n"), "json-file takes the options max-size and max-file only"},
		{"bad log max-size", td("t", "containerDefinitions:\n- "+container+"  logConfiguration: {logDriver: json-file, options: {max-size: 10MB}}\n"), "max-size must be a size such as 10m"},
		{"ulimit soft above hard", td("t", "containerDefinitions:\n- "+container+"  ulimits: [{name: nofile, softLimit: 2048, hardLimit: 1024}]\n"), "softLimit must not exceed hardLimit"},
		{"capability with CAP_ prefix", td("t", "containerDefinitions:\n- "+container+"  linuxParameters: {capabilities: {add: [CAP_NET_ADMIN]}}\n"), `Unsupported value: "CAP_NET_ADMIN"`},
		// An ARN is accepted (mapped onto a Secret) now; an empty reference is not.
		{"secret valueFrom empty", td("t", "containerDefinitions:\n- "+container+"  secrets: [{name: PW, valueFrom: \"\"}]\n"), "should be at least 1 chars long"},
		{"dnsServers not an IP", td("t", "containerDefinitions:\n- "+container+"  dnsServers: [dns.example]\n"), "dnsServers must be IP addresses"},
		{"reserved dockerLabel", td("t", "containerDefinitions:\n- "+container+"  dockerLabels: {ecs.longshore.io/task: x}\n"), "dockerLabels under ecs.longshore.io/ are reserved"},
		{"restartAttemptPeriod too short", td("t", "containerDefinitions:\n- "+container+"  restartPolicy: {enabled: true, restartAttemptPeriod: 10}\n"), "should be greater than or equal to 60"},
		{"relative workingDirectory", td("t", "containerDefinitions:\n- "+container+"  workingDirectory: app\n"), "workingDirectory must be an absolute path"},
		{"distinctInstance in a task definition", td("t", "placementConstraints: [{type: distinctInstance}]\ncontainerDefinitions:\n- "+container), "a task definition takes only memberOf placement constraints"},
		{"memberOf without expression", td("t", "placementConstraints: [{type: memberOf}]\ncontainerDefinitions:\n- "+container), "a memberOf constraint needs an expression"},

		// Cluster.
		{"cluster cidr not a cidr", manifest("Cluster", "bad-cidr", "taskNetwork: {cidr: 10.0.0.0/33}"), "cidr must be an IPv4 CIDR"},
		{"cluster mask shorter than cidr", manifest("Cluster", "bad-mask", "taskNetwork: {cidr: 10.222.0.0/16, instanceMaskSize: 12}"), "instanceMaskSize must be longer than the prefix of cidr"},
		{"cluster retention not a duration", manifest("Cluster", "bad-retention", "stoppedTaskRetention: 1 day"), "stoppedTaskRetention must be a duration"},
		{"cluster capability unknown", manifest("Cluster", "bad-cap", "security: {allowedCapabilities: [FLY]}"), `Unsupported value: "FLY"`},

		// ContainerInstance.
		{"instance state STOPPED", manifest("ContainerInstance", "bad-state", "state: STOPPED"), `Unsupported value: "STOPPED"`},
		{"instance reserved attribute", manifest("ContainerInstance", "bad-attr", "attributes: [{name: ecs.availability-zone, value: a}]"), "attribute names starting with 'ecs.' are reserved"},

		// Task.
		{"task revision zero", manifest("Task", "t", "taskDefinition: web:0"), "taskDefinition must be \"family\" or \"family:revision\""},
		{"task family with capitals", manifest("Task", "t", "taskDefinition: Web"), "taskDefinition must be \"family\" or \"family:revision\""},
		{"task desiredStatus PAUSED", manifest("Task", "t", "taskDefinition: web\ndesiredStatus: PAUSED"), `Unsupported value: "PAUSED"`},
		{"task unknown field launchType", manifest("Task", "t", "taskDefinition: web\nlaunchType: FARGATE"), `unknown field "spec.launchType"`},
		{"binpack on disk", manifest("Task", "t", "taskDefinition: web\nplacementStrategy: [{type: binpack, field: disk}]"), "the binpack strategy needs field cpu or memory"},
		{"spread without field", manifest("Task", "t", "taskDefinition: web\nplacementStrategy: [{type: spread}]"), "the spread strategy needs field instanceId, host or attribute:<name>"},
		{"random with field", manifest("Task", "t", "taskDefinition: web\nplacementStrategy: [{type: random, field: cpu}]"), "the random strategy takes no field"},
		{"constraint type affinity", manifest("Task", "t", "taskDefinition: web\nplacementConstraints: [{type: affinity}]"), `Unsupported value: "affinity"`},
		{"distinctInstance with expression", manifest("Task", "t", "taskDefinition: web\nplacementConstraints: [{type: distinctInstance, expression: x}]"), "a distinctInstance constraint takes no expression"},
		{"override memory below reservation", manifest("Task", "t", "taskDefinition: web\noverrides: {containerOverrides: [{name: web, memory: 32, memoryReservation: 64}]}"), "memory (the hard limit) must be greater than memoryReservation"},

		// Service.
		{"replica service without desiredCount", manifest("Service", "s", "taskDefinition: web"), "desiredCount is required for a REPLICA service"},
		{"daemon service with desiredCount", manifest("Service", "s", "taskDefinition: web\nschedulingStrategy: DAEMON\ndesiredCount: 2"), "a DAEMON service runs one task per instance and takes no desiredCount"},
		{"daemon service with placementStrategy", manifest("Service", "s", "taskDefinition: web\nschedulingStrategy: DAEMON\nplacementStrategy: [{type: random}]"), "a DAEMON service takes no placementStrategy"},
		{"max percent not above min", manifest("Service", "s", "taskDefinition: web\ndesiredCount: 1\ndeploymentConfiguration: {minimumHealthyPercent: 100, maximumPercent: 100}"), "maximumPercent must be greater than minimumHealthyPercent"},
		{"min healthy above 100", manifest("Service", "s", "taskDefinition: web\ndesiredCount: 1\ndeploymentConfiguration: {minimumHealthyPercent: 150}"), "should be less than or equal to 100"},
		{"circuit breaker without rollback", manifest("Service", "s", "taskDefinition: web\ndesiredCount: 1\ndeploymentConfiguration: {deploymentCircuitBreaker: {enable: true}}"), "Required value"},
		{"unknown field loadBalancers", manifest("Service", "s", "taskDefinition: web\ndesiredCount: 1\nloadBalancers: []"), `unknown field "spec.loadBalancers"`},
		{"service name too long", manifest("Service", strings.Repeat("s", 64), "taskDefinition: web\ndesiredCount: 1"), "a Service name must be at most 63 characters"},

		// TaskDefinitionRevision.
		{"revision with an invalid task definition", manifest("TaskDefinitionRevision", "web-7", "family: web\nrevision: 7\ntaskDefinition:\n  containerDefinitions:\n  - {name: a, image: x, memory: 8, essential: false}"), "at least one container must be essential"},
		{"revision number zero", manifest("TaskDefinitionRevision", "web-0", "family: web\nrevision: 0\ntaskDefinition:\n  containerDefinitions:\n  - {name: a, image: x, memory: 8}"), "should be greater than or equal to 1"},
	}
	if len(cases) < 40 {
		t.Fatalf("the validation table must keep at least 40 cases, has %d", len(cases))
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			obj, err := create(t, ns, tc.manifest)
			if err == nil {
				_ = env.Client.Delete(ctx(t), obj)
				t.Fatalf("accepted, want rejection with %q; manifest:\n%s", tc.want, tc.manifest)
			}
			if !apierrors.IsInvalid(err) && !apierrors.IsBadRequest(err) {
				t.Fatalf("want an Invalid or BadRequest error, got %v", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error does not say %q:\n%v", tc.want, err)
			}
		})
	}
}

// TestSharedNamespaceModesAreAccepted: pidMode and ipcMode task (the
// task's containers share a PID / IPC namespace), host, and ipcMode none
// are applied.
func TestSharedNamespaceModesAreAccepted(t *testing.T) {
	ns := newNamespace(t)
	for i, modes := range []string{"pidMode: task\nipcMode: task", "pidMode: task", "ipcMode: task", "pidMode: host\nipcMode: host", "ipcMode: none", "pidMode: task\nipcMode: none"} {
		if _, err := create(t, ns, td(fmt.Sprintf("shared-%d", i), modes+"\ncontainerDefinitions:\n- "+container)); err != nil {
			t.Errorf("%q refused: %v", modes, err)
		}
	}
}

// TestTaskEndpointsPortOutsideTheTaskNamespace: port 51679 is refused only
// where the task endpoints listen (tcp in the task's own namespace, see
// the rejections above): udp in awsvpc, and host mode (where the host's
// reserved ports decide) are applied.
func TestTaskEndpointsPortOutsideTheTaskNamespace(t *testing.T) {
	ns := newNamespace(t)
	for i, spec := range []string{
		"networkMode: awsvpc\ncontainerDefinitions:\n- " + container + "  portMappings: [{containerPort: 51679, protocol: udp}]\n",
		"networkMode: host\ncontainerDefinitions:\n- " + container + "  portMappings: [{containerPort: 51679}]\n",
		"networkMode: awsvpc\ncontainerDefinitions:\n- " + container + "  portMappings: [{containerPort: 51678}]\n",
	} {
		if _, err := create(t, ns, td(fmt.Sprintf("port-%d", i), spec)); err != nil {
			t.Errorf("%q refused: %v", spec, err)
		}
	}
}
