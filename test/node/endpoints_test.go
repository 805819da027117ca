//go:build node

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

package node

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/containerd/containerd/v2/pkg/namespaces"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ecsv1 "github.com/longshore-io/longshore/api/v1alpha1"
	"github.com/longshore-io/longshore/internal/ecsarn"
	"github.com/longshore-io/longshore/internal/imagebuild"
	"github.com/longshore-io/longshore/test/integration/framework"
)

// The ECS endpoints inside tasks (docs/task-endpoints.md), read by a
// client nobody here wrote: the OpenTelemetry Go ECS resource detector,
// and Go's net/http, built into the task image (test/node/ecsdetector).

const detectorImage = "localhost/longshore/ecsdetector:test"

var (
	detectorOnce sync.Once
	detectorBin  []byte
	detectorErr  error
)

// importDetectorImage builds test/node/ecsdetector into an image of
// busybox with the program at /ecsdetector, and imports it.
func (n *node) importDetectorImage() {
	t := n.t
	detectorOnce.Do(func() {
		dir, err := os.MkdirTemp("", "lsdetector-")
		if err != nil {
			detectorErr = err
			return
		}
		defer func() { _ = os.RemoveAll(dir) }()
		bin := filepath.Join(dir, "ecsdetector")
		cmd := exec.Command("go", "build", "-o", bin, "./test/node/ecsdetector")
		cmd.Dir = framework.RepoRoot()
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			detectorErr = fmt.Errorf("go build ecsdetector: %v\n%s", err, out)
			return
		}
		detectorBin, detectorErr = os.ReadFile(bin)
	})
	if detectorErr != nil {
		t.Fatal(detectorErr)
	}
	spec := imagebuild.BusyboxSpec(detectorImage)
	spec.Files = append(spec.Files, imagebuild.File{Path: "/ecsdetector", Mode: 0o755, Content: detectorBin})
	img, err := imagebuild.Build(spec)
	if err != nil {
		t.Fatal(err)
	}
	if err := imagebuild.Import(namespaces.WithNamespace(t.Context(), ctrdNamespace), n.ctrd, img); err != nil {
		t.Fatal(err)
	}
}

// detectorContainer idles, to be exec'd into.
func detectorContainer(name string) ecsv1.ContainerDefinition {
	c := container(name, "sleep", "3600")
	c.Image = detectorImage
	return c
}

// stdout runs a command in a task's container, as node.exec does, and
// returns what it wrote on its standard output alone (ctr writes
// warnings on its standard error).
func (n *node) stdout(task *ecsv1.Task, container string, args ...string) (string, error) {
	cmd, err := n.ctrExec(task, container, args...)
	if err != nil {
		return "", err
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return string(out), fmt.Errorf("%v: %s", err, stderr.String())
	}
	return string(out), nil
}

// envOf reads a variable of the container's environment.
func (n *node) envOf(task *ecsv1.Task, container, name string) string {
	n.t.Helper()
	out, err := n.stdout(task, container, "sh", "-c", "echo -n $"+name)
	if err != nil || out == "" {
		n.t.Fatalf("%s of container %s: %q (%v)", name, container, out, err)
	}
	return out
}

// call runs `ecsdetector get|put URL [BODY]` in the container and returns
// the status code and body it printed.
func (n *node) call(task *ecsv1.Task, container string, args ...string) (int, string, error) {
	out, err := n.stdout(task, container, append([]string{"/ecsdetector"}, args...)...)
	if err != nil {
		return 0, out, fmt.Errorf("%v: %s", err, out)
	}
	var code int
	var body string
	if _, err := fmt.Sscanf(out, "%d", &code); err != nil {
		return 0, out, fmt.Errorf("unexpected output %q", out)
	}
	_, body, _ = strings.Cut(strings.TrimSpace(out), " ")
	return code, body, nil
}

// getJSON GETs url from inside the container and decodes the answer.
func (n *node) getJSON(task *ecsv1.Task, container, url string, v any) {
	n.t.Helper()
	var body string
	framework.Eventually(n.t, 10*time.Second, "GET "+url, func() error {
		code, b, err := n.call(task, container, "get", url)
		if err != nil {
			return err
		}
		if code != 200 {
			return fmt.Errorf("HTTP %d: %s", code, b)
		}
		body = b
		return nil
	})
	if err := json.Unmarshal([]byte(body), v); err != nil {
		n.t.Fatalf("GET %s: %v: %s", url, err, body)
	}
}

type taskMeta struct {
	Cluster, TaskARN, Family, Revision, KnownStatus, DesiredStatus, LaunchType, AvailabilityZone string
	Limits                                                                                       struct {
		CPU    float64
		Memory int64
	}
	Containers []containerMeta
}

type containerMeta struct {
	DockerID                               string `json:"DockerId"`
	Name, Image, KnownStatus, ContainerARN string
	Networks                               []struct {
		NetworkMode   string
		IPv4Addresses []string
		MACAddress    string
	}
}

// checkTaskMetadata checks what the task's container reads of its task.
func (n *node) checkTaskMetadata(t *testing.T, task *ecsv1.Task, mode ecsv1.NetworkMode) {
	t.Helper()
	got := n.wait(task, 60*time.Second, "RUNNING", phase(ecsv1.TaskRunning))
	uri := n.envOf(got, "app", "ECS_CONTAINER_METADATA_URI_V4")
	wantHost := "169.254.170.2:51679"
	if mode == ecsv1.NetworkModeHost {
		wantHost = n.HostEndpoints
	}
	if !strings.HasPrefix(uri, "http://"+wantHost+"/v4/") {
		t.Errorf("ECS_CONTAINER_METADATA_URI_V4 = %q, want http://%s/v4/…", uri, wantHost)
	}
	arn := ecsarn.Config{Region: "eu-west-3", AccountID: "123456789012"}
	var tm taskMeta
	n.getJSON(got, "app", uri+"/task", &tm)
	if tm.TaskARN != arn.Task("default", string(got.UID)) || tm.Cluster != arn.Cluster("default") ||
		tm.Family != task.Name || tm.Revision != "1" || tm.KnownStatus != "RUNNING" || tm.DesiredStatus != "RUNNING" ||
		tm.LaunchType != "EC2" || tm.AvailabilityZone != "a" || len(tm.Containers) != 1 {
		t.Errorf("%s task metadata: %+v", mode, tm)
	}
	var cm containerMeta
	n.getJSON(got, "app", uri, &cm)
	if cm.DockerID != got.Status.Containers[0].RuntimeID || cm.Name != "app" || cm.KnownStatus != "RUNNING" ||
		cm.ContainerARN != arn.Container("default", string(got.UID), "app") || len(cm.Networks) != 1 || cm.Networks[0].NetworkMode != string(mode) {
		t.Errorf("%s container metadata: %+v (runtime id %s)", mode, cm, got.Status.Containers[0].RuntimeID)
	}
	switch mode {
	case ecsv1.NetworkModeAWSVPC:
		if d := got.Status.Attachments[0].Details; len(cm.Networks[0].IPv4Addresses) != 1 || cm.Networks[0].IPv4Addresses[0] != d.IPv4Address || cm.Networks[0].MACAddress != d.MACAddress {
			t.Errorf("awsvpc networks %+v, attachment %+v", cm.Networks, d)
		}
	case ecsv1.NetworkModeBridge:
		if len(cm.Networks[0].IPv4Addresses) != 1 || !strings.HasPrefix(cm.Networks[0].IPv4Addresses[0], "10.253.0.") {
			t.Errorf("bridge networks %+v", cm.Networks)
		}
	}
	// Stats from the container's cgroup, Docker's shape.
	var st struct {
		ID          string `json:"id"`
		MemoryStats struct {
			Usage uint64 `json:"usage"`
			Limit uint64 `json:"limit"`
		} `json:"memory_stats"`
		CPUStats struct {
			CPUUsage struct {
				TotalUsage uint64 `json:"total_usage"`
			} `json:"cpu_usage"`
			SystemUsage uint64 `json:"system_cpu_usage"`
		} `json:"cpu_stats"`
		PreCPUStats struct {
			SystemUsage uint64 `json:"system_cpu_usage"`
		} `json:"precpu_stats"`
		PidsStats struct {
			Current uint64 `json:"current"`
		} `json:"pids_stats"`
		Networks map[string]struct {
			RxBytes uint64 `json:"rx_bytes"`
		} `json:"networks"`
	}
	n.getJSON(got, "app", uri+"/stats", &st)
	if st.ID != cm.DockerID || st.MemoryStats.Usage == 0 || st.MemoryStats.Limit != 64<<20 || st.CPUStats.CPUUsage.TotalUsage == 0 ||
		st.CPUStats.SystemUsage == 0 || st.PreCPUStats.SystemUsage == 0 || st.PidsStats.Current == 0 {
		t.Errorf("%s stats: %+v", mode, st)
	}
	if mode == ecsv1.NetworkModeAWSVPC || mode == ecsv1.NetworkModeBridge {
		if _, ok := st.Networks["eth0"]; !ok {
			t.Errorf("%s stats without eth0: %+v", mode, st.Networks)
		}
	}
	var all map[string]json.RawMessage
	n.getJSON(got, "app", uri+"/task/stats", &all)
	if _, ok := all[cm.DockerID]; !ok || len(all) != 1 {
		t.Errorf("%s task stats: keys %v", mode, all)
	}
	// Version 3 answers too.
	v3 := n.envOf(got, "app", "ECS_CONTAINER_METADATA_URI")
	var tm3 taskMeta
	n.getJSON(got, "app", v3+"/task", &tm3)
	if tm3.TaskARN != tm.TaskARN {
		t.Errorf("v3 task metadata: %+v", tm3)
	}
}

// TestTaskMetadataInEveryNetworkMode reads the task metadata endpoint
// from a container of a task in each network mode.
func TestTaskMetadataInEveryNetworkMode(t *testing.T) {
	n := newNode(t, "node-tmds")
	n.importDetectorImage()
	for _, mode := range []ecsv1.NetworkMode{ecsv1.NetworkModeAWSVPC, ecsv1.NetworkModeBridge, ecsv1.NetworkModeHost, ecsv1.NetworkModeNone} {
		t.Run(string(mode), func(t *testing.T) {
			task := n.task("tmds-"+string(mode), ecsv1.TaskDefinitionSpec{NetworkMode: mode, ContainerDefinitions: []ecsv1.ContainerDefinition{detectorContainer("app")}})
			n.checkTaskMetadata(t, task, mode)
			n.deleteTask(task)
		})
	}
}

// TestOpenTelemetryECSDetectorInATask runs the OpenTelemetry Go ECS
// resource detector inside an awsvpc task.
func TestOpenTelemetryECSDetectorInATask(t *testing.T) {
	n := newNode(t, "node-otel")
	n.importDetectorImage()
	task := n.task("otel", ecsv1.TaskDefinitionSpec{NetworkMode: ecsv1.NetworkModeAWSVPC, ContainerDefinitions: []ecsv1.ContainerDefinition{detectorContainer("app")}})
	got := n.wait(task, 60*time.Second, "RUNNING", phase(ecsv1.TaskRunning))
	out, err := n.stdout(got, "app", "/ecsdetector", "detect")
	if err != nil {
		t.Fatalf("detector: %v: %s", err, out)
	}
	var attrs map[string]string
	if err := json.Unmarshal([]byte(out), &attrs); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	t.Logf("the OpenTelemetry ECS detector reported: %s", out)
	arn := ecsarn.Config{Region: "eu-west-3", AccountID: "123456789012"}
	for k, want := range map[string]string{
		"cloud.provider":          "aws",
		"cloud.platform":          "aws_ecs",
		"cloud.region":            "eu-west-3",
		"cloud.account.id":        "123456789012",
		"cloud.availability_zone": "a",
		"aws.ecs.cluster.arn":     arn.Cluster("default"),
		"aws.ecs.task.arn":        arn.Task("default", string(got.UID)),
		"aws.ecs.task.family":     "otel",
		"aws.ecs.task.revision":   "1",
		"aws.ecs.container.arn":   arn.Container("default", string(got.UID), "app"),
		"aws.ecs.launchtype":      "ec2",
		"container.id":            got.Status.Containers[0].RuntimeID,
	} {
		if attrs[k] != want {
			t.Errorf("%s = %q, want %q", k, attrs[k], want)
		}
	}
	n.deleteTask(task)
}

// TestTaskCannotReadAnotherTasksMetadata: a task reaches its own
// endpoints only, whatever id it puts in the path and wherever it sends
// it.
func TestTaskCannotReadAnotherTasksMetadata(t *testing.T) {
	n := newNode(t, "node-tmiso")
	n.importDetectorImage()
	// Task A also serves 0.0.0.0:80 in its namespace: the endpoint's
	// listener there is on another port, so nothing is in its way.
	web := container("web", "httpd", "-f", "-p", "80", "-h", "/")
	web.Essential = ptr.To(false)
	a := n.task("iso-a", ecsv1.TaskDefinitionSpec{NetworkMode: ecsv1.NetworkModeAWSVPC, ContainerDefinitions: []ecsv1.ContainerDefinition{detectorContainer("app"), web}})
	b := n.task("iso-b", ecsv1.TaskDefinitionSpec{NetworkMode: ecsv1.NetworkModeAWSVPC, ContainerDefinitions: []ecsv1.ContainerDefinition{detectorContainer("app")}})
	h := n.task("iso-h", ecsv1.TaskDefinitionSpec{NetworkMode: ecsv1.NetworkModeHost, ContainerDefinitions: []ecsv1.ContainerDefinition{detectorContainer("app")}})
	ga := n.wait(a, 60*time.Second, "RUNNING", phase(ecsv1.TaskRunning))
	gb := n.wait(b, 60*time.Second, "RUNNING", phase(ecsv1.TaskRunning))
	gh := n.wait(h, 60*time.Second, "RUNNING", phase(ecsv1.TaskRunning))
	uriA, uriB, uriH := n.envOf(ga, "app", "ECS_CONTAINER_METADATA_URI_V4"), n.envOf(gb, "app", "ECS_CONTAINER_METADATA_URI_V4"), n.envOf(gh, "app", "ECS_CONTAINER_METADATA_URI_V4")
	framework.Eventually(t, 20*time.Second, "task A's web server on port 80", func() error {
		_, err := httpGet("http://" + ga.Status.Attachments[0].Details.IPv4Address + ":80/etc/hostname")
		return err
	})
	idB := uriB[strings.LastIndex(uriB, "/")+1:]
	idA := uriA[strings.LastIndex(uriA, "/")+1:]

	// Each task reads its own.
	for _, c := range []struct {
		task *ecsv1.Task
		uri  string
	}{{ga, uriA}, {gb, uriB}, {gh, uriH}} {
		var tm taskMeta
		n.getJSON(c.task, "app", c.uri+"/task", &tm)
		if !strings.HasSuffix(tm.TaskARN, ecsarn.TaskID(string(c.task.UID))) {
			t.Errorf("%s reads task %s", c.task.Name, tm.TaskARN)
		}
	}
	// A with B's id, on A's own endpoint: not found.
	for _, path := range []string{"", "/task", "/stats", "/task/stats"} {
		code, body, err := n.call(ga, "app", "get", "http://169.254.170.2:51679/v4/"+idB+path)
		if err != nil || code != 404 || strings.Contains(body, string(gb.UID)) || strings.Contains(body, ecsarn.TaskID(string(gb.UID))) {
			t.Errorf("task A reading B's id%s: %d %s (%v)", path, code, body, err)
		}
	}
	code, body, err := n.call(ga, "app", "put", "http://169.254.170.2:51679/api/"+idB+"/task-protection/v1/state", `{"ProtectionEnabled":true}`)
	if err != nil || code != 404 || !strings.Contains(body, "ResourceNotFoundException") {
		t.Errorf("task A protecting B: %d %s (%v)", code, body, err)
	}
	// A at B's address: B's endpoint is on B's loopback, not its interface.
	ipB := gb.Status.Attachments[0].Details.IPv4Address
	if code, body, err := n.call(ga, "app", "get", "http://"+ipB+":51679/v4/"+idB+"/task"); err == nil {
		t.Errorf("task A reached B's endpoint at B's address: %d %s", code, body)
	}
	// A, and anything on the host, at the host-mode listener with A's or
	// B's id: not found (those ids are served in their namespaces only).
	for _, id := range []string{idA, idB} {
		code, body, err := n.call(gh, "app", "get", "http://"+n.HostEndpoints+"/v4/"+id+"/task")
		if err != nil || code != 404 {
			t.Errorf("host listener with an awsvpc task's id: %d %s (%v)", code, body, err)
		}
	}
	// An awsvpc task cannot reach the host-mode listener at all (loopback
	// of the host).
	if code, body, err := n.call(ga, "app", "get", uriH+"/task"); err == nil {
		t.Errorf("awsvpc task reached the host-mode listener: %d %s", code, body)
	}
	for _, tk := range []*ecsv1.Task{a, b, h} {
		n.deleteTask(tk)
	}
}

// TestTaskProtectionEndpoint sets, reads and removes a task's scale-in
// protection from inside it, and checks the errors ECS gives.
func TestTaskProtectionEndpoint(t *testing.T) {
	n := newNode(t, "node-protect")
	n.importDetectorImage()
	task := n.task("protect", ecsv1.TaskDefinitionSpec{NetworkMode: ecsv1.NetworkModeAWSVPC, ContainerDefinitions: []ecsv1.ContainerDefinition{detectorContainer("app")}})
	got := n.wait(task, 60*time.Second, "RUNNING", phase(ecsv1.TaskRunning))
	agentURI := n.envOf(got, "app", "ECS_AGENT_URI")
	state := agentURI + "/task-protection/v1/state"
	arn := ecsarn.Config{Region: "eu-west-3", AccountID: "123456789012"}.Task("default", string(got.UID))

	code, body, err := n.call(got, "app", "get", state)
	if err != nil || code != 200 || body != `{"protection":{"ProtectionEnabled":false,"TaskArn":"`+arn+`"}}` {
		t.Errorf("GET before: %d %s (%v)", code, body, err)
	}
	before := time.Now()
	code, body, err = n.call(got, "app", "put", state, `{"ProtectionEnabled":true,"ExpiresInMinutes":30}`)
	if err != nil || code != 200 || !strings.Contains(body, `"ProtectionEnabled":true`) || !strings.Contains(body, `"ExpirationDate":"`) {
		t.Fatalf("PUT: %d %s (%v)", code, body, err)
	}
	rec := n.wait(task, 10*time.Second, "protection recorded", func(tk *ecsv1.Task) error {
		if p := tk.Status.Protection; p == nil || !p.Enabled || p.ExpiresAt == nil {
			return fmt.Errorf("protection %+v", tk.Status.Protection)
		}
		return nil
	})
	if at := rec.Status.Protection.ExpiresAt.Time; at.Before(before.Add(29*time.Minute)) || at.After(time.Now().Add(31*time.Minute)) {
		t.Errorf("expiresAt %s, want 30 minutes from %s", at, before)
	}
	code, body, _ = n.call(got, "app", "get", state)
	if code != 200 || !strings.Contains(body, `"ProtectionEnabled":true`) {
		t.Errorf("GET after PUT: %d %s", code, body)
	}
	for body, want := range map[string]string{
		`{"ProtectionEnabled":true,"ExpiresInMinutes":2881}`: `"Code":"InvalidParameterException","Message":"Invalid parameter: ExpiresInMinutes must be between 1 and 2880`,
		`{"ExpiresInMinutes":10}`:                            `does not contain 'ProtectionEnabled' field`,
		`{"ProtectionEnabled":"yes"}`:                        `failed to decode request`,
	} {
		code, got2, err := n.call(got, "app", "put", state, body)
		if err != nil || code != 400 || !strings.Contains(got2, want) {
			t.Errorf("PUT %s: %d %s (%v); want 400 with %s", body, code, got2, err, want)
		}
	}
	code, body, err = n.call(got, "app", "put", state, `{"ProtectionEnabled":false}`)
	if err != nil || code != 200 || !strings.Contains(body, `"ProtectionEnabled":false`) {
		t.Errorf("PUT false: %d %s (%v)", code, body, err)
	}
	n.wait(task, 10*time.Second, "protection removed", func(tk *ecsv1.Task) error {
		if tk.Status.Protection == nil || tk.Status.Protection.Enabled {
			return fmt.Errorf("protection %+v", tk.Status.Protection)
		}
		return nil
	})
	n.deleteTask(task)
}

// TestTaskEndpointsComeBackAfterAgentRestart kills the agent while tasks
// run: the new agent opens their listeners again, at the same addresses
// and ids; the introspection endpoint lists them.
func TestTaskEndpointsComeBackAfterAgentRestart(t *testing.T) {
	n := newNode(t, "node-tmrestart")
	n.importDetectorImage()
	vpc := n.task("restart-vpc", ecsv1.TaskDefinitionSpec{NetworkMode: ecsv1.NetworkModeAWSVPC, ContainerDefinitions: []ecsv1.ContainerDefinition{detectorContainer("app")}})
	br := n.task("restart-br", ecsv1.TaskDefinitionSpec{NetworkMode: ecsv1.NetworkModeBridge, ContainerDefinitions: []ecsv1.ContainerDefinition{detectorContainer("app")}})
	host := n.task("restart-host", ecsv1.TaskDefinitionSpec{NetworkMode: ecsv1.NetworkModeHost, ContainerDefinitions: []ecsv1.ContainerDefinition{detectorContainer("app")}})
	tasks := []*ecsv1.Task{vpc, br, host}
	uris := map[string]string{}
	pids := map[string]string{}
	for _, tk := range tasks {
		got := n.wait(tk, 60*time.Second, "RUNNING", phase(ecsv1.TaskRunning))
		uris[tk.Name] = n.envOf(got, "app", "ECS_CONTAINER_METADATA_URI_V4")
		var tm taskMeta
		n.getJSON(got, "app", uris[tk.Name]+"/task", &tm)
		pids[tk.Name] = n.containerPID(got.Status.Containers[0].RuntimeID)
	}
	n.killAgent()
	for _, tk := range tasks {
		got := &ecsv1.Task{}
		if err := env.Client.Get(t.Context(), client.ObjectKeyFromObject(tk), got); err != nil {
			t.Fatal(err)
		}
		if code, body, err := n.call(got, "app", "get", uris[tk.Name]+"/task"); err == nil {
			t.Errorf("%s: the endpoint answered with the agent dead: %d %s", tk.Name, code, body)
		}
	}
	n.startAgent()
	for _, tk := range tasks {
		got := &ecsv1.Task{}
		if err := env.Client.Get(t.Context(), client.ObjectKeyFromObject(tk), got); err != nil {
			t.Fatal(err)
		}
		var tm taskMeta
		n.getJSON(got, "app", uris[tk.Name]+"/task", &tm) // retried until the new agent serves it
		if !strings.HasSuffix(tm.TaskARN, ecsarn.TaskID(string(tk.UID))) || tm.KnownStatus != "RUNNING" {
			t.Errorf("%s after the restart: %+v", tk.Name, tm)
		}
		if pid := n.containerPID(got.Status.Containers[0].RuntimeID); pid != pids[tk.Name] {
			t.Errorf("%s: container restarted (pid %s, was %s)", tk.Name, pid, pids[tk.Name])
		}
	}
	// The introspection endpoint, on the instance.
	body, err := framework.GetOK("http://"+n.Introspection+"/v1/metadata", 3*time.Second)
	if err != nil || !strings.Contains(body, `"Cluster":"default"`) || !strings.Contains(body, `:container-instance/default/`) {
		t.Errorf("/v1/metadata: %s (%v)", body, err)
	}
	var list struct {
		Tasks []struct {
			Arn, KnownStatus, Family, Version string
			Containers                        []struct{ DockerId, Name string } //nolint:revive // ECS's JSON name
		}
	}
	body, err = framework.GetOK("http://"+n.Introspection+"/v1/tasks", 3*time.Second)
	if err != nil {
		t.Fatalf("/v1/tasks: %v", err)
	}
	if err := json.Unmarshal([]byte(body), &list); err != nil || len(list.Tasks) != 3 {
		t.Fatalf("/v1/tasks: %s (%v)", body, err)
	}
	for _, it := range list.Tasks {
		if it.KnownStatus != "RUNNING" || it.Version != "1" || len(it.Containers) != 1 || it.Containers[0].Name != "app" {
			t.Errorf("/v1/tasks entry %+v", it)
		}
	}
	for _, tk := range tasks {
		n.deleteTask(tk)
	}
}
