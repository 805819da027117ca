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
	"encoding/json"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/smithy-go/middleware"
	"github.com/google/go-cmp/cmp"
)

func TestEncode(t *testing.T) {
	at := time.Date(2026, 12, 2, 1, 2, 3, 450_000_000, time.UTC)
	cases := map[string]struct {
		in   any
		want string
	}{
		"lowerCamel, nil left out, empty slice kept, metadata skipped": {
			in: &ecs.DescribeClustersOutput{
				Clusters: []types.Cluster{{ClusterName: aws.String("prod"), RunningTasksCount: 3, Tags: []types.Tag{{Key: aws.String("k"), Value: aws.String("")}}}},
				Failures: []types.Failure{}, ResultMetadata: middleware.Metadata{},
			},
			want: `{"clusters":[{"activeServicesCount":0,"clusterName":"prod","pendingTasksCount":0,"registeredContainerInstancesCount":0,"runningTasksCount":3,"tags":[{"key":"k","value":""}]}],"failures":[]}`,
		},
		"timestamps in epoch seconds, enums as strings": {
			in:   &types.TaskDefinition{RegisteredAt: aws.Time(at), DeregisteredAt: aws.Time(at.Truncate(time.Second)), Status: types.TaskDefinitionStatusInactive, Revision: 4},
			want: `{"deregisteredAt":1796173323,"registeredAt":1796173323.45,"revision":4,"status":"INACTIVE"}`,
		},
		"maps and nested pointers": {
			in: &types.ContainerDefinition{Name: aws.String("web"), DockerLabels: map[string]string{"a": "", "b": "c"},
				LogConfiguration: &types.LogConfiguration{LogDriver: types.LogDriverAwslogs, Options: map[string]string{"awslogs-group": "g"}}},
			want: `{"cpu":0,"dockerLabels":{"a":"","b":"c"},"logConfiguration":{"logDriver":"awslogs","options":{"awslogs-group":"g"}},"name":"web"}`,
		},
		"an output with nothing": {in: &ecs.TagResourceOutput{}, want: `{}`},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			b, err := Encode(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, string(b)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestDecode(t *testing.T) {
	cases := map[string]struct {
		body     string
		want     ecs.ListClustersInput
		wantType string
		wantMsg  string
	}{
		"members":    {body: `{"maxResults":5,"nextToken":"x"}`, want: ecs.ListClustersInput{MaxResults: aws.Int32(5), NextToken: aws.String("x")}},
		"empty body": {body: ``},
		"unknown":    {body: `{"maxResults":5,"pageSize":3}`, wantType: "InvalidParameterException", wantMsg: "pageSize is not a member of ListClusters"},
		"wrong case": {body: `{"MaxResults":5}`, wantType: "InvalidParameterException", wantMsg: "MaxResults is not a member of ListClusters"},
		"not json":   {body: `maxResults=5`, wantType: "SerializationException", wantMsg: "the request body is not a JSON object: invalid character 'm' looking for beginning of value"},
		"wrong type": {body: `{"maxResults":"five"}`, wantType: "SerializationException", wantMsg: "the request does not match the ListClusters shape: json: cannot unmarshal string into Go struct field ListClustersInput.MaxResults of type int32"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			var got ecs.ListClustersInput
			err := decode([]byte(tc.body), &got)
			var gotType, gotMsg string
			if err != nil {
				gotType, gotMsg = err.Type, err.Message
			} else if diff := cmp.Diff(tc.want, got, cmp.AllowUnexported(ecs.ListClustersInput{})); diff != "" {
				t.Errorf("input (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([2]string{tc.wantType, tc.wantMsg}, [2]string{gotType, gotMsg}); diff != "" {
				t.Errorf("error (-want +got):\n%s", diff)
			}
		})
	}
}

func TestWriteError(t *testing.T) {
	w := httptest.NewRecorder()
	writeError(w, clusterNotFound("Cluster not found."))
	var body map[string]string
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
		t.Fatal(err)
	}
	got := []any{w.Code, w.Header().Get("Content-Type"), w.Header().Get("X-Amzn-ErrorType"), body}
	want := []any{400, ContentType, "ClusterNotFoundException", map[string]string{"__type": "ClusterNotFoundException", "message": "Cluster not found."}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestPage(t *testing.T) {
	keys := []string{"a", "b", "c", "d", "e"}
	type pg struct {
		Items []string
		Next  string
	}
	walk := func(keys []string, desc bool, n int32) []pg {
		var out []pg
		token := ""
		for i := 0; i < 10; i++ {
			s, e, next, err := page(keys, desc, token, &n, 100)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, pg{keys[s:e], next})
			if next == "" {
				return out
			}
			token = next
		}
		t.Fatal("no last page")
		return nil
	}
	tok := encodeToken
	want := []pg{{[]string{"a", "b"}, tok("b")}, {[]string{"c", "d"}, tok("d")}, {[]string{"e"}, ""}}
	if diff := cmp.Diff(want, walk(keys, false, 2)); diff != "" {
		t.Errorf("ascending (-want +got):\n%s", diff)
	}
	desc := []string{"e", "d", "c", "b", "a"}
	want = []pg{{[]string{"e", "d", "c"}, tok("c")}, {[]string{"b", "a"}, ""}}
	if diff := cmp.Diff(want, walk(desc, true, 3)); diff != "" {
		t.Errorf("descending (-want +got):\n%s", diff)
	}
	// A token stays right when its key went away meanwhile.
	s, e, _, err := page([]string{"a", "c", "d"}, false, tok("b"), nil, 100)
	if err != nil || s != 1 || e != 3 {
		t.Errorf("after a removed key: [%d:%d] %v, want [1:3]", s, e, err)
	}
	if _, _, _, err := page(keys, false, "", aws.Int32(101), 100); err == nil || err.Message != "maxResults must be 1 to 100, not 101" {
		t.Errorf("maxResults 101: %v", err)
	}
	if _, _, _, err := page(keys, false, "%%%", nil, 100); err == nil || err.Type != "InvalidParameterException" {
		t.Errorf("a bad token: %v", err)
	}
}
