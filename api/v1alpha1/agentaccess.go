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
	"slices"
	"strings"
)

// Agent identities: who an agent is to the API server. The admission
// policies of config/policy/agent-confinement.yaml derive an agent's
// instance from them, and the manager binds each instance's Secret and
// ConfigMap reads to them (docs/operating.md, "Agent confinement").
const (
	// AgentUserPrefix starts the user name of an agent's client
	// certificate: "longshore-agent:<instance>" (make dev, bare hosts).
	AgentUserPrefix = "longshore-agent:"
	// AgentGroup is the group (certificate O) of agent certificates.
	AgentGroup = "longshore:agents"
	// AgentIdentityNamespace holds one ServiceAccount per node, named after
	// the node: the identity of the DaemonSet's agent on that node, which
	// it obtains with its pod's token (bound to the node).
	AgentIdentityNamespace = "longshore-agents"
)

// AgentUserName is the certificate user name of the agent of instance.
func AgentUserName(instance string) string { return AgentUserPrefix + instance }

// AgentAccessName is the name of the Role and RoleBinding, in each
// namespace, that let the agent of instance read the Secrets and
// ConfigMaps its tasks reference.
func AgentAccessName(instance string) string { return AgentUserPrefix + instance }

// AgentAccessInstance is the instance of an AgentAccessName ("" for other names).
func AgentAccessInstance(name string) string {
	if i, ok := strings.CutPrefix(name, AgentUserPrefix); ok {
		return i
	}
	return ""
}

// References are the Secrets and ConfigMaps of the task's namespace that a
// task of this definition references, sorted: everything the agent reads
// to run it (container secrets, FireLens secretOptions and every
// logConfiguration's, repositoryCredentials, environmentFiles, FireLens
// config-file-type s3, Secret and ConfigMap volumes). A reference that maps
// onto no name is left out: the agent refuses the task for it.
func (s *TaskDefinitionSpec) References() (secrets, configMaps []string) {
	for i := range s.ContainerDefinitions {
		d := &s.ContainerDefinitions[i]
		for _, sec := range d.Secrets {
			if name, _, _, err := SecretKeyRef(sec.ValueFrom); err == nil {
				secrets = append(secrets, name)
			}
		}
		if d.LogConfiguration != nil {
			for _, sec := range d.LogConfiguration.SecretOptions {
				if name, _, _, err := SecretKeyRef(sec.ValueFrom); err == nil {
					secrets = append(secrets, name)
				}
			}
		}
		if d.RepositoryCredentials != nil {
			if name, err := SecretName(d.RepositoryCredentials.CredentialsParameter); err == nil {
				secrets = append(secrets, name)
			}
		}
		for _, f := range d.EnvironmentFiles {
			if name, err := EnvironmentFileConfigMap(f.Value); err == nil {
				configMaps = append(configMaps, name)
			}
		}
		if fc := d.FirelensConfiguration; fc != nil && fc.Options["config-file-type"] == "s3" {
			if name, _, err := S3ObjectConfigMapKey(string(fc.Options["config-file-value"])); err == nil {
				configMaps = append(configMaps, name)
			}
		}
	}
	for _, v := range s.Volumes {
		if v.Secret != nil && v.Secret.SecretName != "" {
			secrets = append(secrets, v.Secret.SecretName)
		}
		if v.ConfigMap != nil && v.ConfigMap.Name != "" {
			configMaps = append(configMaps, v.ConfigMap.Name)
		}
	}
	slices.Sort(secrets)
	slices.Sort(configMaps)
	return slices.Compact(secrets), slices.Compact(configMaps)
}
