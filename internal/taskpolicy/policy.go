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

// Package taskpolicy is what a task needs from a container instance
// (TaskRequirements) and whether its Cluster allows it (Policy.Check). The
// scheduler checks the policy before it binds a task; the agent checks it
// again before it starts one. It imports neither the scheduler nor a
// Kubernetes client, so both can use it.
package taskpolicy

import (
	"fmt"
	"slices"
	"strings"

	ecsv1 "github.com/longshore-io/longshore/api/v1alpha1"
)

// Cause classifies why a task cannot run on any instance of its cluster.
type Cause string

// Causes of a policy refusal.
const (
	// CausePolicy: the Cluster's security policy forbids the task.
	CausePolicy Cause = "ClusterSecurity"
	// CauseNamespace: the Cluster does not take tasks of the namespace.
	CauseNamespace Cause = "NamespaceNotAllowed"
)

// Policy is what the Cluster allows its tasks.
type Policy struct {
	// Security is the Cluster's spec.security.
	Security ecsv1.ClusterSecurity
	// Namespaces, when not empty, are the only namespaces whose tasks may
	// run in the cluster (spec.namespaces).
	Namespaces []string
}

// Check returns why the policy refuses a task of namespace ns with
// requirements r, and "" when it allows it. The scheduler checks it before
// binding a task (also one bound by its creator: ECS StartTask, a DAEMON
// task); the agent checks it again before starting one.
func (p Policy) Check(ns string, r *Requirements) (Cause, string) {
	sec := &p.Security
	if r.Privileged && !sec.AllowPrivileged {
		return CausePolicy, "Cluster security forbids privileged containers (security.allowPrivileged is false)"
	}
	if (r.HostPID || r.HostIPC) && !sec.AllowPrivileged {
		return CausePolicy, "Cluster security forbids pidMode and ipcMode host, which share the host's processes (security.allowPrivileged is false)"
	}
	if r.HostNetwork && !sec.AllowHostNetwork {
		return CausePolicy, "Cluster security forbids networkMode host (security.allowHostNetwork is false)"
	}
	if len(r.Capabilities) > 0 {
		allowed := make(map[string]bool, len(sec.AllowedCapabilities))
		for _, c := range sec.AllowedCapabilities {
			allowed[normalizeCapability(string(c))] = true
		}
		if !allowed["ALL"] {
			for _, c := range r.Capabilities {
				if !allowed[normalizeCapability(c)] {
					return CausePolicy, fmt.Sprintf("Cluster security forbids adding capability %s (not in security.allowedCapabilities)", c)
				}
			}
		}
	}
	for _, d := range r.Devices {
		if !slices.Contains(sec.AllowedDevices, d) {
			return CausePolicy, fmt.Sprintf("Cluster security forbids the host device %s (not in security.allowedDevices)", d)
		}
	}
	if r.HostPathVolumes && !sec.AllowHostPathVolumes {
		return CausePolicy, "Cluster security forbids host path volumes (security.allowHostPathVolumes is false)"
	}
	if len(p.Namespaces) > 0 && !slices.Contains(p.Namespaces, ns) {
		return CauseNamespace, fmt.Sprintf("the cluster does not allow tasks of namespace %q (spec.namespaces: %s)",
			ns, strings.Join(p.Namespaces, ", "))
	}
	return "", ""
}
