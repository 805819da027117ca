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
	"path"
	"regexp"
	"strings"
)

// DefaultSecretKey is the key of the Secret that an ECS reference without
// a JSON key maps onto: the whole secret or parameter value.
const DefaultSecretKey = "value"

var (
	secretNameRE = regexp.MustCompile(`^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$`)
	secretKeyRE  = regexp.MustCompile(`^[-._a-zA-Z0-9]+$`)
	notNameChars = regexp.MustCompile(`[^a-z0-9.-]+`)
)

// SecretKeyRef maps a container secret's valueFrom onto a Secret of the
// task's namespace and a key in it. The mapping is deterministic:
//
//   - "<secret>:<key>" (Longshore's own form) is that Secret and key;
//   - a Secrets Manager ARN, arn:<partition>:secretsmanager:<region>:
//     <account>:secret:<name>[:<json-key>:<stage>:<version>], is the Secret
//     SecretName(<name>), key <json-key>, or "value" without one;
//   - an SSM Parameter Store ARN, arn:<partition>:ssm:<region>:<account>:
//     parameter/<path>, and a bare parameter name ("/app/db/password",
//     "db-password") are the Secret SecretName(<path>), key "value".
//
// mapped tells whether valueFrom was an ECS reference (not Longshore's own
// form). Version stages and ids are not kept: a Secret has one value.
func SecretKeyRef(valueFrom string) (name, key string, mapped bool, err error) {
	if n, k, ok := strings.Cut(valueFrom, ":"); ok && secretNameRE.MatchString(n) && secretKeyRE.MatchString(k) && n != "arn" {
		return n, k, false, nil
	}
	ref, key := valueFrom, DefaultSecretKey
	if arn, ok := parseARN(valueFrom); ok {
		switch {
		case arn.service == "secretsmanager" && strings.HasPrefix(arn.resource, "secret:"):
			parts := strings.Split(strings.TrimPrefix(arn.resource, "secret:"), ":")
			ref = parts[0]
			if len(parts) > 1 && parts[1] != "" {
				key = parts[1]
			}
		case arn.service == "ssm" && strings.HasPrefix(arn.resource, "parameter"):
			ref = strings.TrimPrefix(arn.resource, "parameter")
		default:
			return "", "", true, fmt.Errorf("%q is an ARN of %s, not of a Secrets Manager secret or an SSM parameter", valueFrom, arn.service)
		}
	}
	name, err = SecretName(ref)
	if err != nil {
		return "", "", true, err
	}
	if !secretKeyRE.MatchString(key) {
		return "", "", true, fmt.Errorf("JSON key %q of %q cannot be a Secret key (letters, digits, '-', '_' and '.')", key, valueFrom)
	}
	return name, key, true, nil
}

// SecretName maps an ECS secret or parameter name, or a Secrets Manager
// ARN, onto the name of a Kubernetes Secret: a Secret name stays as it is;
// otherwise it is lower-cased, every run of characters other than letters,
// digits, '.' and '-' (such as '/' and '_') becomes '-', and leading and
// trailing '-' and '.' are dropped ("/ecspresso-test/foo" →
// "ecspresso-test-foo", "DB_Password" → "db-password").
func SecretName(ref string) (string, error) {
	if arn, ok := parseARN(ref); ok && arn.service == "secretsmanager" && strings.HasPrefix(arn.resource, "secret:") {
		ref, _, _ = strings.Cut(strings.TrimPrefix(arn.resource, "secret:"), ":")
	}
	if secretNameRE.MatchString(ref) && len(ref) <= 253 {
		return ref, nil
	}
	n := strings.Trim(notNameChars.ReplaceAllString(strings.ToLower(ref), "-"), "-.")
	if len(n) > 253 {
		n = strings.Trim(n[:253], "-.")
	}
	if n == "" || !secretNameRE.MatchString(n) {
		return "", fmt.Errorf("%q does not map onto a Secret name: it has no letters or digits", ref)
	}
	return n, nil
}

// EnvironmentFileConfigMap maps an environmentFiles S3 object ARN,
// arn:aws:s3:::<bucket>/<key>, onto the ConfigMap of the task's namespace
// that holds its variables: SecretName("<bucket>/<key>")
// ("arn:aws:s3:::my-bucket/app/prod.env" → "my-bucket-app-prod.env").
func EnvironmentFileConfigMap(value string) (string, error) {
	arn, ok := parseARN(value)
	if !ok || arn.service != "s3" {
		return "", fmt.Errorf("%q is not the ARN of an S3 object", value)
	}
	return SecretName(arn.resource)
}

// S3ObjectConfigMapKey maps an S3 object ARN onto the ConfigMap that holds
// the object (EnvironmentFileConfigMap) and the key the file is under: the
// object's file name ("arn:aws:s3:::yourbucket/dir/tail.conf" → ConfigMap
// "yourbucket-dir-tail.conf", key "tail.conf"). FireLens's config-file-type
// s3 is read this way.
func S3ObjectConfigMapKey(value string) (name, key string, err error) {
	if name, err = EnvironmentFileConfigMap(value); err != nil {
		return "", "", err
	}
	return name, path.Base(value), nil
}

type arnParts struct{ service, resource string }

// parseARN splits arn:<partition>:<service>:<region>:<account>:<resource>.
func parseARN(s string) (arnParts, bool) {
	parts := strings.SplitN(s, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[2] == "" {
		return arnParts{}, false
	}
	return arnParts{service: parts[2], resource: parts[5]}, true
}
