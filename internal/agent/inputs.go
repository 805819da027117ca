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
	"encoding/json"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ecsv1 "github.com/longshore-io/longshore/api/v1alpha1"
	lsruntime "github.com/longshore-io/longshore/internal/runtime"
)

// This file reads, for a sync, what a task's containers are made of that
// lives in the API (its Cluster, Secrets, ConfigMaps, registry
// credentials), and names the errors of the task's input that retrying
// cannot fix.

// userError is a problem with the task's input that retrying cannot fix:
// the task stops with TaskFailedToStart and this message.
type userError struct{ msg string }

func (e *userError) Error() string { return e.msg }

func userErrorf(format string, a ...any) error { return &userError{msg: fmt.Sprintf(format, a...)} }

func (t *taskSync) volumeData(ctx context.Context, v ecsv1.Volume) (map[string][]byte, error) {
	ns := t.task.Namespace
	if v.Secret != nil {
		s := &corev1.Secret{}
		if err := t.r.APIReader.Get(ctx, client.ObjectKey{Namespace: ns, Name: v.Secret.SecretName}, s); err != nil {
			if apierrors.IsNotFound(err) {
				return nil, userErrorf("ResourceInitializationError: volume %s: Secret %s/%s not found", v.Name, ns, v.Secret.SecretName)
			}
			return nil, err
		}
		return s.Data, nil
	}
	cm := &corev1.ConfigMap{}
	if err := t.r.APIReader.Get(ctx, client.ObjectKey{Namespace: ns, Name: v.ConfigMap.Name}, cm); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, userErrorf("ResourceInitializationError: volume %s: ConfigMap %s/%s not found", v.Name, ns, v.ConfigMap.Name)
		}
		return nil, err
	}
	out := map[string][]byte{}
	for k, val := range cm.Data {
		out[k] = []byte(val)
	}
	for k, val := range cm.BinaryData {
		out[k] = val
	}
	return out, nil
}

// secretEnv reads the values of a container's secrets. Values are never logged.
func (t *taskSync) secretEnv(ctx context.Context, d *ecsv1.ContainerDefinition) (map[string]string, error) {
	return t.secretValues(ctx, d.Name, d.Secrets)
}

// secretValues reads the values of a container's secrets or secretOptions
// from the Secrets they map onto, by name.
func (t *taskSync) secretValues(ctx context.Context, container string, secrets []ecsv1.ContainerSecret) (map[string]string, error) {
	out := map[string]string{}
	cache := map[string]*corev1.Secret{}
	for _, s := range secrets {
		name, key, mapped, err := ecsv1.SecretKeyRef(s.ValueFrom)
		if err != nil {
			return nil, userErrorf("ResourceInitializationError: unable to retrieve secret %s for container %s: %v", s.Name, container, err)
		}
		from := "" // what an ECS reference was mapped from, for the messages
		if mapped {
			from = fmt.Sprintf(" (mapped from %s)", s.ValueFrom)
		}
		sec, ok := cache[name]
		if !ok {
			sec = &corev1.Secret{}
			if err := t.r.APIReader.Get(ctx, client.ObjectKey{Namespace: t.task.Namespace, Name: name}, sec); err != nil {
				if apierrors.IsNotFound(err) {
					return nil, userErrorf("ResourceInitializationError: unable to retrieve secret %s for container %s: Secret %s/%s%s not found",
						s.Name, container, t.task.Namespace, name, from)
				}
				return nil, err
			}
			cache[name] = sec
		}
		val, ok := sec.Data[key]
		if !ok {
			return nil, userErrorf("ResourceInitializationError: unable to retrieve secret %s for container %s: Secret %s/%s%s has no key %q",
				s.Name, container, t.task.Namespace, name, from, key)
		}
		out[s.Name] = string(val)
	}
	return out, nil
}

// fileEnv reads the variables of a container's environmentFiles from the
// ConfigMaps they map onto; a later file overrides an earlier one.
func (t *taskSync) fileEnv(ctx context.Context, d *ecsv1.ContainerDefinition) (map[string]string, error) {
	if len(d.EnvironmentFiles) == 0 {
		return nil, nil
	}
	out := map[string]string{}
	for _, f := range d.EnvironmentFiles {
		name, err := ecsv1.EnvironmentFileConfigMap(f.Value)
		if err != nil {
			return nil, userErrorf("ResourceInitializationError: failed to download env files for container %s: %v", d.Name, err)
		}
		cm, err := t.configMap(ctx, name)
		if err != nil {
			return nil, err
		}
		if cm == nil {
			return nil, userErrorf("ResourceInitializationError: failed to download env files for container %s: ConfigMap %s/%s (mapped from %s) not found",
				d.Name, t.task.Namespace, name, f.Value)
		}
		for k, v := range cm.Data {
			out[k] = v
		}
	}
	return out, nil
}

// configMap reads a ConfigMap of the task's namespace (nil when there is
// none by that name).
func (t *taskSync) configMap(ctx context.Context, name string) (*corev1.ConfigMap, error) {
	cm := &corev1.ConfigMap{}
	if err := t.r.APIReader.Get(ctx, client.ObjectKey{Namespace: t.task.Namespace, Name: name}, cm); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, nil
		}
		return nil, err
	}
	return cm, nil
}

// registryAuth returns credentials from the container's
// repositoryCredentials (a kubernetes.io/dockerconfigjson Secret).
//
// A Secret that does not exist fails the pull (as ECS fails a task whose
// credentials it cannot retrieve), naming the Secret and, for an ECS
// reference, what it was mapped from. One that is not a valid
// dockerconfigjson is logged and the pull goes ahead without credentials.
func (t *taskSync) registryAuth(ctx context.Context, d *ecsv1.ContainerDefinition) (func(host string) (lsruntime.RegistryAuth, bool), error) {
	if d.RepositoryCredentials == nil {
		return nil, nil
	}
	ref := d.RepositoryCredentials.CredentialsParameter
	name, err := ecsv1.SecretName(ref)
	if err != nil {
		return nil, userErrorf("repositoryCredentials of container %s: %v", d.Name, err)
	}
	sec := &corev1.Secret{}
	if err := t.r.APIReader.Get(ctx, client.ObjectKey{Namespace: t.task.Namespace, Name: name}, sec); err != nil {
		if apierrors.IsNotFound(err) {
			from := ""
			if name != ref {
				from = " (mapped from " + ref + ")"
			}
			return nil, userErrorf("unable to retrieve repositoryCredentials of container %s: Secret %s/%s%s not found", d.Name, t.task.Namespace, name, from)
		}
		return nil, err
	}
	var cfg struct {
		Auths map[string]struct {
			Username string `json:"username"`
			Password string `json:"password"`
			Auth     string `json:"auth"`
		} `json:"auths"`
	}
	if err := json.Unmarshal(sec.Data[corev1.DockerConfigJsonKey], &cfg); err != nil {
		t.log.Info("repositoryCredentials Secret is not a valid dockerconfigjson; pulling without credentials", "secret", sec.Name)
		return nil, nil
	}
	return func(host string) (lsruntime.RegistryAuth, bool) {
		for server, a := range cfg.Auths {
			if registryHost(server) != host {
				continue
			}
			if a.Username == "" && a.Auth != "" {
				if u, p, ok := decodeBasic(a.Auth); ok {
					return lsruntime.RegistryAuth{Username: u, Password: p}, true
				}
			}
			return lsruntime.RegistryAuth{Username: a.Username, Password: a.Password}, true
		}
		return lsruntime.RegistryAuth{}, false
	}, nil
}

// cluster is the task's Cluster, read once per sync.
func (t *taskSync) cluster(ctx context.Context) (*ecsv1.Cluster, error) {
	if t.cl == nil {
		if t.obs != nil && t.obs.Cluster != nil {
			t.cl = t.obs.Cluster
		} else {
			cl, err := t.r.cluster(ctx, t.task)
			if err != nil {
				return nil, err
			}
			t.cl = cl
		}
	}
	return t.cl, nil
}
