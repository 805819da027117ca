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

package taskendpoint

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	clocktesting "k8s.io/utils/clock/testing"

	ecsv1 "github.com/longshore-io/longshore/api/v1alpha1"
	"github.com/longshore-io/longshore/internal/ecsarn"
	lsruntime "github.com/longshore-io/longshore/internal/runtime"
)

// fakeSource serves fixed snapshots and records protections.
type fakeSource struct {
	mu        sync.Mutex
	snaps     map[types.UID]*Snapshot
	protected []*ecsv1.TaskProtection
}

func (f *fakeSource) Task(_ context.Context, ref TaskRef) (*Snapshot, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s, ok := f.snaps[ref.UID]
	if !ok {
		return nil, ErrNotFound
	}
	cp := *s
	cp.Task = s.Task.DeepCopy()
	return &cp, nil
}

func (f *fakeSource) Tasks(context.Context) ([]*Snapshot, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []*Snapshot
	for _, s := range f.snaps {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Task.Name < out[j].Task.Name })
	return out, nil
}

func (f *fakeSource) Protect(_ context.Context, ref TaskRef, p *ecsv1.TaskProtection) (*ecsv1.Task, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s, ok := f.snaps[ref.UID]
	if !ok {
		return nil, ErrNotFound
	}
	f.protected = append(f.protected, p)
	s.Task.Status.Protection = p
	return s.Task.DeepCopy(), nil
}

func (f *fakeSource) Instance(context.Context) Instance {
	return Instance{Cluster: "prod", AvailabilityZone: "eu-west-1b", ARN: "arn:aws:ecs:eu-west-1:123456789012:container-instance/prod/abc"}
}

var now = time.Date(2026, 1, 5, 10, 20, 0, 0, time.UTC)

const webUID = types.UID("cd189a93-3e58-49da-a933-86466019ab50")

// awsvpcSnapshot is a RUNNING awsvpc task of revision web:3 with one
// container, as the agent would see it.
func awsvpcSnapshot() *Snapshot {
	mem := int32(512)
	t := &ecsv1.Task{
		ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web-1", UID: webUID, Labels: map[string]string{ecsv1.LabelService: "web"}},
		Spec:       ecsv1.TaskSpec{Cluster: "prod", TaskDefinition: "web:3", ContainerInstance: "i-1"},
		Status: ecsv1.TaskStatus{
			LastStatus: ecsv1.TaskRunning, TaskDefinitionRevision: "web:3",
			PullStartedAt: &metav1.Time{Time: now.Add(-10 * time.Minute)}, PullStoppedAt: &metav1.Time{Time: now.Add(-9 * time.Minute)},
			Containers: []ecsv1.ContainerStatus{{Name: "web", LastStatus: ecsv1.ContainerRunning, RuntimeID: "cd189a933e5849da-web-0",
				ImageDigest: "sha256:0f5e", StartedAt: &metav1.Time{Time: now.Add(-8 * time.Minute)}}},
			Attachments: []ecsv1.Attachment{{Type: "NetworkInterface", Status: "ATTACHED", Details: ecsv1.AttachmentDetails{
				IPv4Address: "10.1.4.23", MACAddress: "0a:1b:2c:3d:4e:5f", InterfaceName: "eth0", Subnet: "10.1.4.0/24", Gateway: "10.1.4.1"}}},
		},
	}
	rev := &ecsv1.TaskDefinitionRevision{
		ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web-3"},
		Spec: ecsv1.TaskDefinitionRevisionSpec{Family: "web", Revision: 3, TaskDefinition: ecsv1.TaskDefinitionSpec{
			NetworkMode: ecsv1.NetworkModeAWSVPC, CPU: "512", Memory: "1024",
			ContainerDefinitions: []ecsv1.ContainerDefinition{{Name: "web", Image: "registry.example/web:1.4", CPU: 256, Memory: &mem,
				LogConfiguration: &ecsv1.LogConfiguration{LogDriver: "awslogs", Options: map[string]ecsv1.OptionValue{
					"awslogs-group": "/ecs/web", "awslogs-region": "eu-west-1", "awslogs-create-group": "true", "awslogs-stream-prefix": "ecs"}}}},
		}},
	}
	return &Snapshot{Task: t, Revision: rev, Containers: map[string]lsruntime.ContainerStatus{
		"web": {ID: "cd189a933e5849da-web-0", State: lsruntime.StateRunning, Pid: 4242, Labels: map[string]string{lsruntime.LabelContainer: "web"}},
	}}
}

// newTestServer is a Server over src, with stats read from a fake cgroup
// tree (cgroup v1 layout) under a temporary directory.
func newTestServer(t *testing.T, src Source) *Server {
	t.Helper()
	dir := t.TempDir()
	s := &Server{Source: src, ARN: ecsarn.Config{Region: "eu-west-1", AccountID: "123456789012"}, HostAddress: "127.0.0.1:0",
		KeyFile: filepath.Join(dir, "key"), Clock: clocktesting.NewFakeClock(now), Log: logr.Discard(),
		CgroupOf: func(uid types.UID, id string) string {
			return "/longshore/ecs/" + ecsarn.TaskID(string(uid)) + "/" + id
		}}
	if err := s.Init(); err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(dir, "cgroup")
	cg := "longshore/ecs/" + ecsarn.TaskID(string(webUID)) + "/cd189a933e5849da-web-0"
	files := map[string]string{
		"cpuacct/" + cg + "/cpuacct.usage":                           "912345678\n",
		"cpuacct/" + cg + "/cpuacct.usage_percpu":                    "456172839 456172839 \n",
		"cpuacct/" + cg + "/cpuacct.stat":                            "user 78\nsystem 12\n",
		"cpu/" + cg + "/cpu.stat":                                    "nr_periods 10\nnr_throttled 1\nthrottled_time 5000\n",
		"memory/" + cg + "/memory.usage_in_bytes":                    "6500352\n",
		"memory/" + cg + "/memory.max_usage_in_bytes":                "7208960\n",
		"memory/" + cg + "/memory.limit_in_bytes":                    "536870912\n",
		"memory/" + cg + "/memory.failcnt":                           "0\n",
		"memory/" + cg + "/memory.stat":                              "active_anon 1200128\ncache 2048000\nrss 1220608\ntotal_rss 1220608\n",
		"pids/" + cg + "/pids.current":                               "4\n",
		"blkio/" + cg + "/blkio.throttle.io_service_bytes_recursive": "259:0 Read 12288\n259:0 Write 0\nTotal 12288\n",
		"blkio/" + cg + "/blkio.throttle.io_serviced_recursive":      "259:0 Read 3\n259:0 Write 0\nTotal 3\n",
	}
	for p, c := range files {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(root, p)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, p), []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	proc := filepath.Join(dir, "proc")
	if err := os.MkdirAll(proc, 0o755); err != nil {
		t.Fatal(err)
	}
	_ = os.WriteFile(filepath.Join(proc, "stat"), []byte("cpu  1000 0 500 40000 10 0 5 0 0 0\ncpu0 500 0 250 20000 5 0 2 0 0 0\n"), 0o644)
	if err := os.MkdirAll(filepath.Join(proc, "4242", "net"), 0o755); err != nil {
		t.Fatal(err)
	}
	_ = os.WriteFile(filepath.Join(proc, "4242", "net", "dev"), []byte(`Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo:     100       2    0    0    0     0          0         0      100       2    0    0    0     0       0          0
  eth0:    3204      31    0    0    0     0          0         0     1604      19    0    0    0     0       0          0
`), 0o644)
	_ = os.WriteFile(filepath.Join(proc, "meminfo"), []byte("MemTotal:        8000000 kB\nMemFree:  100 kB\n"), 0o644)
	s.stats.Root, s.stats.Proc = root, proc
	return s
}

func get(t *testing.T, h http.Handler, method, path, body string) (int, []byte) {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, path, r))
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("%s %s: Content-Type %q", method, path, ct)
	}
	return rec.Code, rec.Body.Bytes()
}

// leftOut are the keys of the documented examples the endpoints do not
// answer with, and why.
var leftOut = map[string]string{
	"CreatedAt":      "containerd's creation time is not kept in the Task; StartedAt is",
	"PrivateDNSName": "task addresses have no DNS name",
	"VPCID":          "no VPC outside AWS",
}

// sameShape checks that got has every key of want (at any depth) with the
// same JSON type, but those of leftOut.
func sameShape(t *testing.T, where string, want, got any) {
	t.Helper()
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			t.Errorf("%s: want an object, got %T", where, got)
			return
		}
		for k, wv := range w {
			gv, ok := g[k]
			if !ok {
				if _, skip := leftOut[k]; !skip {
					t.Errorf("%s.%s: missing (got keys %v)", where, k, keys(g))
				}
				continue
			}
			sameShape(t, where+"."+k, wv, gv)
		}
	case []any:
		g, ok := got.([]any)
		if !ok {
			t.Errorf("%s: want an array, got %T", where, got)
			return
		}
		if len(w) > 0 && len(g) == 0 {
			t.Errorf("%s: empty array", where)
			return
		}
		if len(w) > 0 {
			sameShape(t, where+"[0]", w[0], g[0])
		}
	default:
		if fmt.Sprintf("%T", want) != fmt.Sprintf("%T", got) {
			t.Errorf("%s: want a %T like %v, got %T %v", where, want, want, got, got)
		}
	}
}

func keys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func readJSON(t *testing.T, b []byte) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	return v
}

func TestResponsesHaveTheDocumentedShape(t *testing.T) {
	src := &fakeSource{snaps: map[types.UID]*Snapshot{webUID: awsvpcSnapshot()}}
	s := newTestServer(t, src)
	ref := TaskRef{Namespace: "shop", Name: "web-1", UID: webUID}
	h := s.handler(&ref)
	id := s.EndpointID(webUID, "web")
	for path, doc := range map[string]string{
		"/v4/" + id:                                "v4-container.json",
		"/v4/" + id + "/task":                      "v4-task.json",
		"/v4/" + id + "/stats":                     "v4-stats.json",
		"/api/" + id + "/task-protection/v1/state": "task-protection.json",
	} {
		t.Run(doc, func(t *testing.T) {
			want, err := os.ReadFile(filepath.Join("testdata", doc))
			if err != nil {
				t.Fatal(err)
			}
			if doc == "task-protection.json" {
				// GET shows a protection only while there is one.
				if code, b := get(t, h, http.MethodPut, path, `{"ProtectionEnabled":true}`); code != http.StatusOK {
					t.Fatalf("PUT: %d %s", code, b)
				}
			}
			code, b := get(t, h, http.MethodGet, path, "")
			if code != http.StatusOK {
				t.Fatalf("GET %s: %d %s", path, code, b)
			}
			sameShape(t, doc, readJSON(t, want), readJSON(t, b))
		})
	}
}

func TestMetadataValues(t *testing.T) {
	src := &fakeSource{snaps: map[types.UID]*Snapshot{webUID: awsvpcSnapshot()}}
	s := newTestServer(t, src)
	ref := TaskRef{Namespace: "shop", Name: "web-1", UID: webUID}
	h := s.handler(&ref)
	id := s.EndpointID(webUID, "web")

	_, b := get(t, h, http.MethodGet, "/v4/"+id+"/task", "")
	var task TaskResponse
	if err := json.Unmarshal(b, &task); err != nil {
		t.Fatal(err)
	}
	const taskARN = "arn:aws:ecs:eu-west-1:123456789012:task/prod/cd189a933e5849daa93386466019ab50"
	if task.TaskARN != taskARN || task.Cluster != "arn:aws:ecs:eu-west-1:123456789012:cluster/prod" ||
		task.Family != "web" || task.Revision != "3" || task.KnownStatus != "RUNNING" || task.DesiredStatus != "RUNNING" ||
		task.LaunchType != "EC2" || task.AvailabilityZone != "eu-west-1b" || task.ServiceName != "web" {
		t.Errorf("task metadata: %s", b)
	}
	if task.Limits == nil || *task.Limits.CPU != 0.5 || *task.Limits.Memory != 1024 {
		t.Errorf("task limits: %+v", task.Limits)
	}
	c := task.Containers[0]
	if c.DockerID != "cd189a933e5849da-web-0" || c.Labels["com.amazonaws.ecs.task-arn"] != taskARN ||
		c.ContainerARN != "arn:aws:ecs:eu-west-1:123456789012:container/prod/cd189a933e5849daa93386466019ab50/"+ecsarn.ContainerID(string(webUID), "web") ||
		*c.Limits.CPU != 256 || *c.Limits.Memory != 512 || c.LogOptions["awslogs-stream"] != "ecs/web/cd189a933e5849daa93386466019ab50" {
		t.Errorf("container metadata: %+v", c)
	}
	n := c.Networks[0]
	if n.NetworkMode != "awsvpc" || n.IPv4Addresses[0] != "10.1.4.23" || n.SubnetGatewayIPv4Address != "10.1.4.1/24" || n.MACAddress != "0a:1b:2c:3d:4e:5f" {
		t.Errorf("networks: %+v", n)
	}
	// Version 3 has the addresses, not version 4's interface properties.
	_, b = get(t, h, http.MethodGet, "/v3/"+id, "")
	if strings.Contains(string(b), "MACAddress") || !strings.Contains(string(b), `"IPv4Addresses":["10.1.4.23"]`) {
		t.Errorf("v3 container metadata: %s", b)
	}

	// Stats: the cgroup's counters; the second read has the first as "pre".
	_, b = get(t, h, http.MethodGet, "/v4/"+id+"/stats", "")
	var st StatsResponse
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatal(err)
	}
	if st.CPUStats.CPUUsage.TotalUsage != 912345678 || st.CPUStats.CPUUsage.UsageInUsermode != 780000000 ||
		st.MemoryStats.Usage != 6500352 || st.MemoryStats.Limit != 536870912 || st.PidsStats.Current != 4 ||
		st.CPUStats.SystemUsage != 415150000000 || st.BlkioStats.IoServiceBytesRecursive[0].Value != 12288 ||
		st.MemoryStats.Stats["rss"] != 1220608 || st.CPUStats.ThrottlingData.ThrottledPeriods != 1 ||
		st.Networks["eth0"].RxBytes != 3204 || st.Networks["eth0"].TxPackets != 19 || len(st.Networks) != 1 {
		t.Errorf("stats: %s", b)
	}
	_, b = get(t, h, http.MethodGet, "/v4/"+id+"/task/stats", "")
	var all map[string]*StatsResponse
	if err := json.Unmarshal(b, &all); err != nil {
		t.Fatal(err)
	}
	if got := all["cd189a933e5849da-web-0"]; got == nil || got.PreCPUStats.CPUUsage.TotalUsage != 912345678 {
		t.Errorf("task stats (precpu from the previous read): %s", b)
	}
}

// A listener serves its own task only; the host listener the ids it was
// given only.
func TestAnotherTasksIDIsNotFound(t *testing.T) {
	other := awsvpcSnapshot()
	other.Task.UID, other.Task.Name = "0f0f0f0f-0000-4000-8000-000000000001", "other"
	src := &fakeSource{snaps: map[types.UID]*Snapshot{webUID: awsvpcSnapshot(), other.Task.UID: other}}
	s := newTestServer(t, src)
	ref := TaskRef{Namespace: "shop", Name: "web-1", UID: webUID}
	otherID := s.EndpointID(other.Task.UID, "web")
	for _, path := range []string{"/v4/" + otherID, "/v4/" + otherID + "/task", "/v3/" + otherID + "/task/stats", "/v4/nonsense"} {
		if code, b := get(t, s.handler(&ref), http.MethodGet, path, ""); code != http.StatusNotFound {
			t.Errorf("task listener, GET %s: %d %s", path, code, b)
		}
		if code, b := get(t, s.handler(nil), http.MethodGet, path, ""); code != http.StatusNotFound {
			t.Errorf("host listener, GET %s: %d %s", path, code, b)
		}
	}
	if code, b := get(t, s.handler(&ref), http.MethodGet, "/api/"+otherID+"/task-protection/v1/state", ""); code != http.StatusNotFound ||
		!strings.Contains(string(b), `"Code":"ResourceNotFoundException"`) {
		t.Errorf("protection of another task: %d %s", code, b)
	}
	// Once the host-mode task's ids are registered, they resolve.
	if err := s.Ensure(t.Context(), TaskRef{Namespace: "shop", Name: "other", UID: other.Task.UID}, []string{"web"}, nil); err != nil {
		t.Fatal(err)
	}
	if code, b := get(t, s.handler(nil), http.MethodGet, "/v4/"+otherID+"/task", ""); code != http.StatusOK {
		t.Errorf("host listener after Ensure: %d %s", code, b)
	}
	s.Close(other.Task.UID)
	if code, _ := get(t, s.handler(nil), http.MethodGet, "/v4/"+otherID+"/task", ""); code != http.StatusNotFound {
		t.Errorf("host listener after Close: %d", code)
	}
}

func TestTaskProtection(t *testing.T) {
	const arn = "arn:aws:ecs:eu-west-1:123456789012:task/prod/cd189a933e5849daa93386466019ab50"
	stopped := awsvpcSnapshot()
	stopped.Task.Spec.DesiredStatus = ecsv1.DesiredStopped
	for name, tc := range map[string]struct {
		snap             *Snapshot
		method, body     string
		code             int
		want             string // a substring of the answer
		enabled          bool   // what Protect recorded
		expiresInMinutes int64
	}{
		"get, none":            {method: "GET", code: 200, want: `{"protection":{"ProtectionEnabled":false,"TaskArn":"` + arn + `"}}`},
		"default 2 hours":      {method: "PUT", body: `{"ProtectionEnabled":true}`, code: 200, enabled: true, expiresInMinutes: 120, want: `"ExpirationDate":"2026-01-05T12:20:00Z","ProtectionEnabled":true`},
		"60 minutes":           {method: "PUT", body: `{"ProtectionEnabled":true,"ExpiresInMinutes":60}`, code: 200, enabled: true, expiresInMinutes: 60},
		"48 hours":             {method: "PUT", body: `{"ProtectionEnabled":true,"ExpiresInMinutes":2880}`, code: 200, enabled: true, expiresInMinutes: 2880},
		"disable":              {method: "PUT", body: `{"ProtectionEnabled":false}`, code: 200, want: `"ProtectionEnabled":false`},
		"too long":             {method: "PUT", body: `{"ProtectionEnabled":true,"ExpiresInMinutes":2881}`, code: 400, want: `{"error":{"Arn":"` + arn + `","Code":"InvalidParameterException","Message":"Invalid parameter: ExpiresInMinutes must be between 1 and 2880 (48 hours); got 2881"}}`},
		"zero":                 {method: "PUT", body: `{"ProtectionEnabled":true,"ExpiresInMinutes":0}`, code: 400, want: `"Code":"InvalidParameterException"`},
		"no ProtectionEnabled": {method: "PUT", body: `{"ExpiresInMinutes":5}`, code: 400, want: `does not contain 'ProtectionEnabled' field`},
		"unknown field":        {method: "PUT", body: `{"ProtectionEnabled":true,"Minutes":5}`, code: 400, want: `failed to decode request`},
		"not JSON":             {method: "PUT", body: `yes please`, code: 400, want: `"Code":"InvalidParameterException"`},
		"POST":                 {method: "POST", body: `{"ProtectionEnabled":true}`, code: 405, want: `Only GET and PUT`},
		"stopped task":         {snap: stopped, method: "PUT", body: `{"ProtectionEnabled":true}`, code: 200, want: `{"failure":{"Arn":"` + arn + `","Detail":"The task is stopping or stopped: it cannot be protected","Reason":"TASK_NOT_VALID"}}`},
	} {
		t.Run(name, func(t *testing.T) {
			snap := tc.snap
			if snap == nil {
				snap = awsvpcSnapshot()
			}
			src := &fakeSource{snaps: map[types.UID]*Snapshot{webUID: snap}}
			s := newTestServer(t, src)
			ref := TaskRef{Namespace: "shop", Name: "web-1", UID: webUID}
			code, b := get(t, s.handler(&ref), tc.method, "/api/"+s.EndpointID(webUID, "web")+"/task-protection/v1/state", tc.body)
			if code != tc.code || !strings.Contains(string(b), tc.want) {
				t.Errorf("%d %s; want %d with %s", code, b, tc.code, tc.want)
			}
			wantWrites := 0
			if tc.code == 200 && tc.method == "PUT" && tc.snap == nil {
				wantWrites = 1
			}
			if len(src.protected) != wantWrites {
				t.Fatalf("%d protections recorded, want %d", len(src.protected), wantWrites)
			}
			if wantWrites == 1 {
				p := src.protected[0]
				if p.Enabled != tc.enabled {
					t.Errorf("recorded enabled %v", p.Enabled)
				}
				if tc.enabled && !p.ExpiresAt.Time.Equal(now.Add(time.Duration(tc.expiresInMinutes)*time.Minute)) {
					t.Errorf("recorded expiry %v, want %d minutes from now", p.ExpiresAt, tc.expiresInMinutes)
				}
			}
		})
	}
}

// An expired protection is shown as none.
func TestExpiredProtectionIsNone(t *testing.T) {
	snap := awsvpcSnapshot()
	snap.Task.Status.Protection = &ecsv1.TaskProtection{Enabled: true, ExpiresAt: &metav1.Time{Time: now.Add(-time.Second)}}
	s := newTestServer(t, &fakeSource{snaps: map[types.UID]*Snapshot{webUID: snap}})
	ref := TaskRef{Namespace: "shop", Name: "web-1", UID: webUID}
	_, b := get(t, s.handler(&ref), "GET", "/api/"+s.EndpointID(webUID, "web")+"/task-protection/v1/state", "")
	if !strings.Contains(string(b), `"ProtectionEnabled":false`) || strings.Contains(string(b), "ExpirationDate") {
		t.Errorf("expired protection: %s", b)
	}
}

func TestEnvAndIDs(t *testing.T) {
	s := newTestServer(t, &fakeSource{})
	ref := TaskRef{Namespace: "shop", Name: "web-1", UID: webUID}
	env := s.Env(ref, "web", false)
	id := s.EndpointID(webUID, "web")
	if env[EnvMetadataV4] != "http://169.254.170.2:51679/v4/"+id || env[EnvMetadataV3] != "http://169.254.170.2:51679/v3/"+id ||
		env[EnvAgentURI] != "http://169.254.170.2:51679/api/"+id {
		t.Errorf("env: %v", env)
	}
	if got := s.Env(ref, "web", true)[EnvMetadataV4]; got != "http://127.0.0.1:0/v4/"+id {
		t.Errorf("host-mode env: %s", got)
	}
	if len(id) != 32 || id == s.EndpointID(webUID, "sidecar") || id == s.EndpointID("other", "web") {
		t.Errorf("ids: %s", id)
	}
	// The key survives a restart: the same ids.
	again := &Server{KeyFile: s.KeyFile}
	if err := again.Init(); err != nil {
		t.Fatal(err)
	}
	if again.EndpointID(webUID, "web") != id {
		t.Error("a new server with the same key file gives other ids")
	}
}

func TestIntrospection(t *testing.T) {
	src := &fakeSource{snaps: map[types.UID]*Snapshot{webUID: awsvpcSnapshot()}}
	in := &Introspection{Source: src, ARN: ecsarn.Config{Region: "eu-west-1", AccountID: "123456789012"}, Version: "v0.9.0"}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/metadata", in.metadata)
	mux.HandleFunc("GET /v1/tasks", in.tasks)
	_, b := get(t, mux, "GET", "/v1/metadata", "")
	if string(b) != `{"Cluster":"prod","ContainerInstanceArn":"arn:aws:ecs:eu-west-1:123456789012:container-instance/prod/abc","Version":"Longshore Agent - v0.9.0"}` {
		t.Errorf("/v1/metadata: %s", b)
	}
	_, b = get(t, mux, "GET", "/v1/tasks", "")
	want := `{"Tasks":[{"Arn":"arn:aws:ecs:eu-west-1:123456789012:task/prod/cd189a933e5849daa93386466019ab50","DesiredStatus":"RUNNING","KnownStatus":"RUNNING","Family":"web","Version":"3","Containers":[{"DockerId":"cd189a933e5849da-web-0","DockerName":"ecs-web-3-web-cd189a933e5849da-web","Name":"web"}]}]}`
	if string(b) != want {
		t.Errorf("/v1/tasks:\n got %s\nwant %s", b, want)
	}
	if code, _ := get(t, mux, "GET", "/v1/tasks?dockerid=cd189a933e5849da-web-0", ""); code != 200 {
		t.Errorf("?dockerid=: %d", code)
	}
	if code, _ := get(t, mux, "GET", "/v1/tasks?taskarn=arn:aws:ecs:eu-west-1:123456789012:task/prod/nope", ""); code != 404 {
		t.Errorf("?taskarn= of no task: %d", code)
	}
}
