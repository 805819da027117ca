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

package ecsapi

import (
	"context"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// The shape of an access key Secret (docs/ecs-api.md, "Credentials"): in
// the component's namespace, of type SecretType, labelled
// LabelAccessKeyID with the key id, with the data keys below.
const (
	SecretType       = "ecs.longshore.io/access-key"
	LabelAccessKeyID = "ecs.longshore.io/access-key-id"

	KeyAccessKeyID     = "accessKeyId"
	KeySecretAccessKey = "secretAccessKey"
	KeyUser            = "user"
	KeyGroups          = "groups"
	KeyNamespace       = "namespace"
)

// Identity is who an access key acts as: the Kubernetes user and groups
// the component impersonates, and the namespace of its task definitions,
// tasks and services.
type Identity struct {
	User      string
	Groups    []string
	Namespace string
}

func (id Identity) key() string {
	return id.User + "\x00" + strings.Join(id.Groups, "\x00")
}

// AccessKey is one parsed access key Secret.
type AccessKey struct {
	ID       string
	Secret   string
	Identity Identity
}

// ParseAccessKey checks an access key Secret and reads it.
func ParseAccessKey(s *corev1.Secret) (*AccessKey, error) {
	if s.Type != SecretType {
		return nil, fmt.Errorf("secret %s/%s is of type %q, not %s", s.Namespace, s.Name, s.Type, SecretType)
	}
	get := func(k string) string { return strings.TrimSpace(string(s.Data[k])) }
	k := &AccessKey{ID: get(KeyAccessKeyID), Secret: string(s.Data[KeySecretAccessKey]), Identity: Identity{User: get(KeyUser), Namespace: get(KeyNamespace)}}
	var missing []string
	for _, f := range []struct{ name, v string }{{KeyAccessKeyID, k.ID}, {KeySecretAccessKey, k.Secret}, {KeyUser, k.Identity.User}, {KeyNamespace, k.Identity.Namespace}} {
		if f.v == "" {
			missing = append(missing, f.name)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("secret %s/%s has no %s", s.Namespace, s.Name, strings.Join(missing, ", "))
	}
	if l := s.Labels[LabelAccessKeyID]; l != k.ID {
		return nil, fmt.Errorf("secret %s/%s: label %s is %q but data %s is %q: they must be the same", s.Namespace, s.Name, LabelAccessKeyID, l, KeyAccessKeyID, k.ID)
	}
	if errs := validation.IsDNS1123Label(k.Identity.Namespace); len(errs) > 0 {
		return nil, fmt.Errorf("secret %s/%s: namespace %q: %s", s.Namespace, s.Name, k.Identity.Namespace, strings.Join(errs, "; "))
	}
	for _, g := range strings.FieldsFunc(string(s.Data[KeyGroups]), func(r rune) bool { return r == ',' || r == '\n' }) {
		if g = strings.TrimSpace(g); g != "" {
			k.Identity.Groups = append(k.Identity.Groups, g)
		}
	}
	return k, nil
}

// SecretKeys finds access keys in the Secrets of one namespace through
// reader (a cache of the labelled Secrets, in the component).
type SecretKeys struct {
	Reader    client.Reader
	Namespace string
}

// Lookup returns the access key id's key; ok is false when no Secret
// holds it. A Secret that holds it but is malformed, or two that hold it,
// are errors: the key is refused until they are fixed.
func (k SecretKeys) Lookup(ctx context.Context, id string) (*AccessKey, bool, error) {
	if len(validation.IsValidLabelValue(id)) > 0 {
		return nil, false, nil // no label can hold it
	}
	var list corev1.SecretList
	if err := k.Reader.List(ctx, &list, client.InNamespace(k.Namespace), client.MatchingLabels{LabelAccessKeyID: id}); err != nil {
		return nil, false, err
	}
	switch len(list.Items) {
	case 0:
		return nil, false, nil
	case 1:
	default:
		return nil, false, fmt.Errorf("%d Secrets in %s hold access key %s: keep one", len(list.Items), k.Namespace, id)
	}
	key, err := ParseAccessKey(&list.Items[0])
	if err != nil {
		return nil, false, err
	}
	return key, true, nil
}
