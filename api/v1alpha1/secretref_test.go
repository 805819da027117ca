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

import "testing"

func TestSecretKeyRef(t *testing.T) {
	for in, want := range map[string]struct {
		name, key string
		mapped    bool
		err       bool
	}{
		"db:password":             {name: "db", key: "password"},
		"/ecspresso-test/foo":     {name: "ecspresso-test-foo", key: "value", mapped: true},
		"ecs-cwagent-sidecar-ec2": {name: "ecs-cwagent-sidecar-ec2", key: "value", mapped: true},
		"DB_Password":             {name: "db-password", key: "value", mapped: true},
		"arn:aws:ssm:ap-northeast-1:123456789012:parameter/ecspresso-test/bar":                       {name: "ecspresso-test-bar", key: "value", mapped: true},
		"arn:aws:ssm:us-east-1:{{must_env `AWS_ACCOUNT_ID`}}:parameter/app/x":                        {name: "app-x", key: "value", mapped: true},
		"arn:aws:secretsmanager:ap-northeast-1:123456789012:secret:ecspresso-test/baz-06XQOH":        {name: "ecspresso-test-baz-06xqoh", key: "value", mapped: true},
		"arn:aws:secretsmanager:ap-northeast-1:123456789012:secret:ecspresso-test/json-soBS7X:foo::": {name: "ecspresso-test-json-sobs7x", key: "foo", mapped: true},
		"arn:aws:secretsmanager:us-east-1:1:secret:db:password:AWSCURRENT:":                          {name: "db", key: "password", mapped: true},
		"arn:aws-cn:secretsmanager:cn-north-1:1:secret:x":                                            {name: "x", key: "value", mapped: true},
		"$$$SECRET_OPTION_PARAM$$$":                      {name: "secret-option-param", key: "value", mapped: true},
		"{{ secretsmanager_arn `ecspresso-test/json` }}": {name: "secretsmanager-arn-ecspresso-test-json", key: "value", mapped: true},
		"arn:aws:s3:::bucket/key":                        {err: true},
		"$$$":                                            {err: true},
		"arn:aws:secretsmanager:us-east-1:1:secret:x:bad key::": {err: true},
	} {
		name, key, mapped, err := SecretKeyRef(in)
		if want.err {
			if err == nil {
				t.Errorf("SecretKeyRef(%q) = %q, %q: want an error", in, name, key)
			}
			continue
		}
		if err != nil || name != want.name || key != want.key || mapped != want.mapped {
			t.Errorf("SecretKeyRef(%q) = %q, %q, %v, %v; want %q, %q, %v, error %v", in, name, key, mapped, err, want.name, want.key, want.mapped, want.err)
		}
	}
}

func TestSecretName(t *testing.T) {
	for in, want := range map[string]string{
		"registry":                     "registry",
		"$$$REPOSITORY_CREDENTIALS$$$": "repository-credentials",
		"arn:aws:secretsmanager:us-east-1:1:secret:dockerhub-AbCdEf": "dockerhub-abcdef",
		"My.Registry/Creds": "my.registry-creds",
	} {
		if got, err := SecretName(in); err != nil || got != want {
			t.Errorf("SecretName(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

func TestEnvironmentFileConfigMap(t *testing.T) {
	for in, want := range map[string]string{
		"arn:aws:s3:::my-bucket/app/prod.env":   "my-bucket-app-prod.env",
		"arn:aws-cn:s3:::Bucket/Team_A/web.env": "bucket-team-a-web.env",
		"arn:aws:s3:::b/k.env":                  "b-k.env",
	} {
		if got, err := EnvironmentFileConfigMap(in); err != nil || got != want {
			t.Errorf("EnvironmentFileConfigMap(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"s3://b/k.env", "arn:aws:ssm:us-east-1:1:parameter/x"} {
		if _, err := EnvironmentFileConfigMap(bad); err == nil {
			t.Errorf("EnvironmentFileConfigMap(%q): want an error", bad)
		}
	}
}

// Corpus 21's FireLens configuration file.
func TestS3ObjectConfigMapKey(t *testing.T) {
	name, key, err := S3ObjectConfigMapKey("arn:aws:s3:::yourbucket/yourdirectory/tail.conf")
	if err != nil || name != "yourbucket-yourdirectory-tail.conf" || key != "tail.conf" {
		t.Errorf("S3ObjectConfigMapKey = %q, %q, %v; want yourbucket-yourdirectory-tail.conf, tail.conf", name, key, err)
	}
	if _, _, err := S3ObjectConfigMapKey("s3://yourbucket/tail.conf"); err == nil {
		t.Error("an s3:// URL is not an ARN: want an error")
	}
}
