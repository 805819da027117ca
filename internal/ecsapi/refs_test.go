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
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/longshore-io/longshore/internal/ecsarn"
)

func TestParseAccessKey(t *testing.T) {
	secret := func(mutate func(*corev1.Secret)) *corev1.Secret {
		s := &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Namespace: "longshore-system", Name: "k", Labels: map[string]string{LabelAccessKeyID: "AKID1"}},
			Type:       SecretType,
			Data: map[string][]byte{KeyAccessKeyID: []byte("AKID1"), KeySecretAccessKey: []byte("s3cr3t"), KeyUser: []byte("ci"),
				KeyGroups: []byte("a, b\nc"), KeyNamespace: []byte("team-a")},
		}
		if mutate != nil {
			mutate(s)
		}
		return s
	}
	cases := map[string]struct {
		in      *corev1.Secret
		want    *AccessKey
		wantErr string
	}{
		"whole": {in: secret(nil), want: &AccessKey{ID: "AKID1", Secret: "s3cr3t", Identity: Identity{User: "ci", Groups: []string{"a", "b", "c"}, Namespace: "team-a"}}},
		"no groups": {in: secret(func(s *corev1.Secret) { delete(s.Data, KeyGroups) }),
			want: &AccessKey{ID: "AKID1", Secret: "s3cr3t", Identity: Identity{User: "ci", Namespace: "team-a"}}},
		"another type": {in: secret(func(s *corev1.Secret) { s.Type = corev1.SecretTypeOpaque }),
			wantErr: `secret longshore-system/k is of type "Opaque", not ecs.longshore.io/access-key`},
		"missing keys": {in: secret(func(s *corev1.Secret) { delete(s.Data, KeySecretAccessKey); delete(s.Data, KeyNamespace) }),
			wantErr: "secret longshore-system/k has no secretAccessKey, namespace"},
		"label and data disagree": {in: secret(func(s *corev1.Secret) { s.Labels[LabelAccessKeyID] = "AKID2" }),
			wantErr: `secret longshore-system/k: label ecs.longshore.io/access-key-id is "AKID2" but data accessKeyId is "AKID1": they must be the same`},
		"bad namespace": {in: secret(func(s *corev1.Secret) { s.Data[KeyNamespace] = []byte("Team_A") }),
			wantErr: `secret longshore-system/k: namespace "Team_A": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')`},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := ParseAccessKey(tc.in)
			gotErr := ""
			if err != nil {
				gotErr = err.Error()
			}
			if diff := cmp.Diff(tc.wantErr, gotErr); diff != "" {
				t.Errorf("error (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("key (-want +got):\n%s", diff)
			}
		})
	}
}

func TestReferences(t *testing.T) {
	s := &Server{o: Options{ARN: ecsarn.Config{}.WithDefaults()}}
	type result struct {
		Value, ErrType, ErrMsg string
	}
	res := func(v string, e *Error) result {
		if e != nil {
			return result{"", e.Type, e.Message}
		}
		return result{Value: v}
	}
	cluster := func(ref string) result { return res(s.clusterName(ref)) }
	td := func(ref string) result {
		r, e := s.taskDefinitionRef(ref)
		return res(r.String(), e)
	}
	cases := []struct {
		name string
		got  result
		want result
	}{
		{"cluster by name", cluster("prod"), result{Value: "prod"}},
		{"no cluster is default", cluster(""), result{Value: "default"}},
		{"cluster by ARN", cluster("arn:aws:ecs:us-east-1:000000000000:cluster/prod"), result{Value: "prod"}},
		{"cluster ARN of another account", cluster("arn:aws:ecs:us-east-1:123456789012:cluster/prod"),
			result{ErrType: "InvalidParameterException", ErrMsg: `ARN "arn:aws:ecs:us-east-1:123456789012:cluster/prod" is not of this endpoint: it serves partition aws, region us-east-1, account 000000000000`}},
		{"a service ARN for a cluster", cluster("arn:aws:ecs:us-east-1:000000000000:service/prod/web"),
			result{ErrType: "InvalidParameterException", ErrMsg: `ARN "arn:aws:ecs:us-east-1:000000000000:service/prod/web" is not a cluster ARN (arn:aws:ecs:us-east-1:000000000000:cluster/<name>)`}},
		{"an S3 ARN", cluster("arn:aws:s3:::bucket"),
			result{ErrType: "InvalidParameterException", ErrMsg: `"arn:aws:s3:::bucket" is not an ECS ARN (arn:aws:ecs:us-east-1:000000000000:<resource>)`}},
		{"family", td("web"), result{Value: "web"}},
		{"family:revision", td("web:12"), result{Value: "web:12"}},
		{"ECS spelling of a family", td("My_App:2"), result{Value: "my-app:2"}},
		{"task definition ARN", td("arn:aws:ecs:us-east-1:000000000000:task-definition/web:3"), result{Value: "web:3"}},
		{"task definition ARN without revision", td("arn:aws:ecs:us-east-1:000000000000:task-definition/web"),
			result{ErrType: "InvalidParameterException", ErrMsg: `task definition ARN "arn:aws:ecs:us-east-1:000000000000:task-definition/web" names no revision`}},
		{"revision 0", td("web:0"), result{ErrType: "InvalidParameterException", ErrMsg: `task definition "web:0": revision "0" is not a number of 1 or more`}},
		{"no family", td(":3"), result{ErrType: "InvalidParameterException", ErrMsg: `task definition ":3" has no family`}},
	}
	for _, tc := range cases {
		if diff := cmp.Diff(tc.want, tc.got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.name, diff)
		}
	}
}
