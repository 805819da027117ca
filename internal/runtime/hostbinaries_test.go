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

package runtime

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/longshore-io/longshore/internal/logs"
)

func TestHostBinaries(t *testing.T) {
	uri, err := logs.LoggerURI("/var/lib/longshore/agent/bin/0123/longshore-logger", "/var/log/longshore/ns/t/c.log", logs.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string]struct {
		labels map[string]string
		want   []string
	}{
		"logger and init": {
			labels: map[string]string{labelLogURI: uri.String(), labelInitBinary: "/var/lib/longshore/agent/bin/0123/longshore-init"},
			want:   []string{"/var/lib/longshore/agent/bin/0123/longshore-logger", "/var/lib/longshore/agent/bin/0123/longshore-init"},
		},
		"logger only":        {labels: map[string]string{labelLogURI: uri.String()}, want: []string{"/var/lib/longshore/agent/bin/0123/longshore-logger"}},
		"a file log URI":     {labels: map[string]string{labelLogURI: "file:///var/log/x.log"}},
		"an unparseable URI": {labels: map[string]string{labelLogURI: "binary://%zz"}},
		"no labels":          {},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, HostBinaries(tc.labels)); diff != "" {
				t.Errorf("HostBinaries (-want +got):\n%s", diff)
			}
		})
	}
}
