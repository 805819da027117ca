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
	"fmt"
	"slices"
	"strings"
)

// This file holds what the ECS field contract (docs/ecs-field-support.md)
// needs in code: which fields of a task definition are mapped to a local
// equivalent, and what they became. The CRD schema refuses the fields that
// cannot be honoured; the admission policy config/policy/ecs-mapped-fields.yaml
// warns about the mapped ones at kubectl apply time; the TaskDefinition
// controller reports MappedFields in status.mappedFields; kubectl ecs
// convert prints them.

// MappedField is a field of a task definition that Longshore maps to a
// local equivalent rather than honouring it with the ECS meaning.
type MappedField struct {
	// field is the path of the field, e.g.
	// containerDefinitions[app].logConfiguration.logDriver.
	// +required
	// +kubebuilder:validation:MaxLength=512
	Field string `json:"field"`
	// value of the field, when it is short (roles, drivers, references).
	// +optional
	// +kubebuilder:validation:MaxLength=2048
	Value string `json:"value,omitempty"`
	// as says what it became.
	// +required
	// +kubebuilder:validation:MaxLength=1024
	As string `json:"as"`
}

// Registered returns the spec as RegisterTaskDefinition takes it: without
// the fields only exports carry (taskDefinitionArn, revision, status,
// compatibilities, requiresAttributes, registeredAt, registeredBy,
// deregisteredAt, deleteRequestedAt) and without family, which is the
// TaskDefinition's name. It is what a revision holds.
func (s *TaskDefinitionSpec) Registered() *TaskDefinitionSpec {
	out := s.DeepCopy()
	out.Family = ""
	out.TaskDefinitionArn, out.Revision, out.Status, out.Compatibilities, out.RequiresAttributes = "", nil, "", nil, nil
	out.RegisteredAt, out.RegisteredBy, out.DeregisteredAt, out.DeleteRequestedAt = nil, "", nil, nil
	return out
}

// ExportOnlyFieldNames are the JSON names of the fields that only exports
// carry (describe-task-definition, the console), in a stable order.
var ExportOnlyFieldNames = []string{"taskDefinitionArn", "revision", "status", "compatibilities", "requiresAttributes",
	"registeredAt", "registeredBy", "deregisteredAt", "deleteRequestedAt"}

// ExportOnlyFields names the export-only fields s carries.
func (s *TaskDefinitionSpec) ExportOnlyFields() []string {
	var out []string
	add := func(set bool, name string) {
		if set {
			out = append(out, name)
		}
	}
	add(s.TaskDefinitionArn != "", "taskDefinitionArn")
	add(s.Revision != nil, "revision")
	add(s.Status != "", "status")
	add(s.Compatibilities != nil, "compatibilities")
	add(s.RequiresAttributes != nil, "requiresAttributes")
	add(s.RegisteredAt != nil, "registeredAt")
	add(s.RegisteredBy != "", "registeredBy")
	add(s.DeregisteredAt != nil, "deregisteredAt")
	add(s.DeleteRequestedAt != nil, "deleteRequestedAt")
	return out
}

// RuntimePlatformExpression is the memberOf expression that runtimePlatform
// maps to, on the attributes every agent registers: ecs.os-type (linux,
// windows) and ecs.cpu-architecture (x86_64, arm64). "" when rp asks for
// nothing.
func RuntimePlatformExpression(rp *RuntimePlatform) string {
	if rp == nil {
		return ""
	}
	var terms []string
	switch {
	case rp.OperatingSystemFamily == "LINUX":
		terms = append(terms, "attribute:ecs.os-type == linux")
	case strings.HasPrefix(rp.OperatingSystemFamily, "WINDOWS"):
		terms = append(terms, "attribute:ecs.os-type == windows")
	}
	switch rp.CPUArchitecture {
	case "X86_64":
		terms = append(terms, "attribute:ecs.cpu-architecture == x86_64")
	case "ARM64":
		terms = append(terms, "attribute:ecs.cpu-architecture == arm64")
	}
	return strings.Join(terms, " and ")
}

// PlacementRequirements are the memberOf constraints every task of s must
// meet: its placementConstraints and what runtimePlatform maps to.
func (s *TaskDefinitionSpec) PlacementRequirements() []PlacementConstraint {
	out := slices.Clone(s.PlacementConstraints)
	if e := RuntimePlatformExpression(s.RuntimePlatform); e != "" {
		out = append(out, PlacementConstraint{Type: PlacementConstraintMemberOf, Expression: e})
	}
	return out
}

// MappedFields lists the fields of s that are mapped to a local
// equivalent, in a stable order, with what each became.
func (s *TaskDefinitionSpec) MappedFields() []MappedField {
	var out []MappedField
	add := func(field, value, as string) { out = append(out, MappedField{Field: field, Value: value, As: as}) }
	if s.TaskRoleArn != "" {
		add("taskRoleArn", s.TaskRoleArn, "recorded only: Longshore serves no AWS credentials to the task's containers")
	}
	if s.ExecutionRoleArn != "" {
		add("executionRoleArn", s.ExecutionRoleArn,
			"recorded only: the agent pulls images with repositoryCredentials and reads secrets from Kubernetes Secrets")
	}
	for _, c := range s.RequiresCompatibilities {
		if c == "FARGATE" || c == "MANAGED_INSTANCES" {
			add("requiresCompatibilities", string(c), "the task runs on a ContainerInstance, as with EC2")
		}
	}
	if e := RuntimePlatformExpression(s.RuntimePlatform); e != "" {
		add("runtimePlatform", strings.Trim(s.RuntimePlatform.OperatingSystemFamily+" "+s.RuntimePlatform.CPUArchitecture, " "),
			"placement constraint memberOf("+e+")")
	}
	if s.EphemeralStorage != nil {
		add("ephemeralStorage.sizeInGiB", fmt.Sprint(s.EphemeralStorage.SizeInGiB),
			"recorded only: containers write to the instance's disk, which Longshore does not limit")
	}
	for _, v := range s.Volumes {
		if dv := v.DockerVolumeConfiguration; dv != nil && len(dv.Labels) > 0 {
			add("volumes["+v.Name+"].dockerVolumeConfiguration.labels", "", "recorded only: the agent's volumes carry no labels")
		}
	}
	if pc := s.ProxyConfiguration; pc != nil {
		for _, p := range pc.Properties {
			if p.Name == "EgressIgnoredIPs" && strings.Contains(p.Value, ":") {
				add("proxyConfiguration.properties[EgressIgnoredIPs]", p.Value,
					"its IPv4 entries only: tasks have no IPv6 address, so there is no IPv6 egress to exempt")
			}
		}
	}
	for _, f := range s.ExportOnlyFields() {
		add(f, "", "ignored: an export-only field that RegisterTaskDefinition does not take")
	}
	for i := range s.ContainerDefinitions {
		c := &s.ContainerDefinitions[i]
		at := "containerDefinitions[" + c.Name + "]."
		if lc := c.LogConfiguration; lc != nil && lc.LogDriver != LogDriverJSONFile && lc.LogDriver != LogDriverAWSFireLens && lc.LogDriver.IsLocalStore() {
			add(at+"logConfiguration.logDriver", string(lc.LogDriver),
				"the instance's log store, as json-file with the default rotation; its options and secretOptions are kept, not used")
		}
		if lc := c.LogConfiguration; lc != nil && lc.LogDriver == LogDriverAWSFireLens {
			for _, sec := range lc.SecretOptions {
				if n, k, mapped, err := SecretKeyRef(sec.ValueFrom); err == nil && mapped {
					add(at+"logConfiguration.secretOptions["+sec.Name+"].valueFrom", sec.ValueFrom, fmt.Sprintf("key %s of the Secret %s of the task's namespace", k, n))
				}
			}
		}
		if fc := c.FirelensConfiguration; fc != nil && fc.Options["config-file-type"] == "s3" {
			v := string(fc.Options["config-file-value"])
			if n, key, err := S3ObjectConfigMapKey(v); err == nil {
				add(at+"firelensConfiguration.options.config-file-value", v,
					"key "+key+" of the ConfigMap "+n+" of the task's namespace")
			}
		}
		if rc := c.RepositoryCredentials; rc != nil {
			if n, err := SecretName(rc.CredentialsParameter); err == nil && n != rc.CredentialsParameter {
				add(at+"repositoryCredentials.credentialsParameter", rc.CredentialsParameter,
					"the kubernetes.io/dockerconfigjson Secret "+n+" of the task's namespace")
			}
		}
		for _, sec := range c.Secrets {
			if n, k, mapped, err := SecretKeyRef(sec.ValueFrom); err == nil && mapped {
				add(at+"secrets["+sec.Name+"].valueFrom", sec.ValueFrom, fmt.Sprintf("key %s of the Secret %s of the task's namespace", k, n))
			}
		}
		for i, f := range c.EnvironmentFiles {
			if n, err := EnvironmentFileConfigMap(f.Value); err == nil {
				add(fmt.Sprintf("%senvironmentFiles[%d]", at, i), f.Value,
					"the ConfigMap "+n+" of the task's namespace: each key is a variable")
			}
		}
		for _, p := range c.PortMappings {
			if p.AppProtocol != "" {
				add(fmt.Sprintf("%sportMappings[%d].appProtocol", at, p.ContainerPort), p.AppProtocol,
					"recorded only: Longshore has no Service Connect proxy")
			}
		}
		if lp := c.LinuxParameters; lp != nil && lp.Swappiness != nil && lp.MaxSwap == nil {
			add(at+"linuxParameters.swappiness", fmt.Sprint(*lp.Swappiness), "ignored without maxSwap, as in ECS: the instance's swap configuration applies")
		}
		if c.VersionConsistency == "enabled" {
			add(at+"versionConsistency", c.VersionConsistency,
				"each task resolves its image when it pulls (status.containers[].imageDigest says what ran)")
		}
	}
	return out
}
