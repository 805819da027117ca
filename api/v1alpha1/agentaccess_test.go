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

package v1alpha1

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestReferences(t *testing.T) {
	for name, tc := range map[string]struct {
		spec                TaskDefinitionSpec
		secrets, configMaps []string
	}{
		"none": {spec: TaskDefinitionSpec{ContainerDefinitions: []ContainerDefinition{{Name: "app", Image: "x"}}}},
		"every kind, deduplicated and sorted": {
			spec: TaskDefinitionSpec{
				ContainerDefinitions: []ContainerDefinition{
					{
						Name: "app", Image: "x",
						Secrets: []ContainerSecret{
							{Name: "A", ValueFrom: "db:password"},
							{Name: "B", ValueFrom: "arn:aws:secretsmanager:us-east-1:1:secret:app/token-AbCdEf:key::"},
							{Name: "C", ValueFrom: "/app/ssm-param"},
							{Name: "D", ValueFrom: "db:user"},
						},
						RepositoryCredentials: &RepositoryCredentials{CredentialsParameter: "arn:aws:secretsmanager:us-east-1:1:secret:registry"},
						EnvironmentFiles:      []EnvironmentFile{{Type: "s3", Value: "arn:aws:s3:::bucket/app/prod.env"}},
						LogConfiguration: &LogConfiguration{LogDriver: "awsfirelens",
							SecretOptions: []ContainerSecret{{Name: "apikey", ValueFrom: "log-key:value"}}},
					},
					{
						Name: "router", Image: "fluent-bit",
						FirelensConfiguration: &FirelensConfiguration{Type: "fluentbit", Options: map[string]OptionValue{
							"config-file-type": "s3", "config-file-value": "arn:aws:s3:::bucket/conf/extra.conf"}},
					},
					{
						Name: "file-router", Image: "fluent-bit",
						FirelensConfiguration: &FirelensConfiguration{Type: "fluentbit", Options: map[string]OptionValue{
							"config-file-type": "file", "config-file-value": "/fluent-bit/etc/extra.conf"}},
					},
				},
				Volumes: []Volume{
					{Name: "certs", Secret: &SecretVolume{SecretName: "tls"}},
					{Name: "conf", ConfigMap: &ConfigMapVolume{Name: "app-conf"}},
					{Name: "scratch"},
				},
			},
			secrets:    []string{"app-ssm-param", "app-token-abcdef", "db", "log-key", "registry", "tls"},
			configMaps: []string{"app-conf", "bucket-app-prod.env", "bucket-conf-extra.conf"},
		},
		"references that map onto no name are left out": {
			spec: TaskDefinitionSpec{ContainerDefinitions: []ContainerDefinition{{
				Name: "app", Image: "x",
				Secrets: []ContainerSecret{{Name: "A", ValueFrom: "arn:aws:s3:::bucket/key"}, {Name: "B", ValueFrom: "$$$"}},
			}}},
		},
	} {
		t.Run(name, func(t *testing.T) {
			secrets, configMaps := tc.spec.References()
			if d := cmp.Diff(tc.secrets, secrets); d != "" {
				t.Errorf("secrets (-want +got):\n%s", d)
			}
			if d := cmp.Diff(tc.configMaps, configMaps); d != "" {
				t.Errorf("configMaps (-want +got):\n%s", d)
			}
		})
	}
}

func TestAgentAccessName(t *testing.T) {
	if got := AgentAccessName("dev-a"); got != "longshore-agent:dev-a" {
		t.Errorf("AgentAccessName = %q", got)
	}
	if got := AgentAccessInstance("longshore-agent:dev-a"); got != "dev-a" {
		t.Errorf("AgentAccessInstance = %q", got)
	}
	if got := AgentAccessInstance("admin"); got != "" {
		t.Errorf("AgentAccessInstance(admin) = %q, want empty", got)
	}
}
