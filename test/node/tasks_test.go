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
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	ecsv1 "github.com/longshore-io/longshore/api/v1alpha1"
	"github.com/longshore-io/longshore/internal/logs"
	"github.com/longshore-io/longshore/test/integration/framework"
)

func container(name string, args ...string) ecsv1.ContainerDefinition {
	return ecsv1.ContainerDefinition{Name: name, Image: testImage, Memory: ptr.To[int32](64), Essential: ptr.To(true),
		Command: args, StopTimeout: ptr.To[int32](2)}
}

func httpGet(url string) (string, error) { return framework.GetOK(url, 3*time.Second) }

func TestAWSVPCTaskServesOnItsIP(t *testing.T) {
	n := newNode(t, "node-vpc")
	web := container("web", "httpd", "-f", "-p", "8080", "-h", "/www")
	web.PortMappings = []ecsv1.PortMapping{{ContainerPort: 8080, Protocol: ecsv1.ProtocolTCP}}
	// The sidecar reaches the web server over the task's shared localhost.
	side := container("side", "sh", "-c", "until wget -q -O /tmp/page http://127.0.0.1:8080/; do sleep 0.2; done; sleep 3600")
	side.Essential = ptr.To(false)
	side.DependsOn = []ecsv1.ContainerDependency{{ContainerName: "web", Condition: ecsv1.DependencyStart}}
	task := n.task("vpc", ecsv1.TaskDefinitionSpec{NetworkMode: ecsv1.NetworkModeAWSVPC, ContainerDefinitions: []ecsv1.ContainerDefinition{web, side}})

	got := n.wait(task, 60*time.Second, "RUNNING", phase(ecsv1.TaskRunning))
	if len(got.Status.Attachments) != 1 {
		t.Fatalf("attachments = %+v, want one network interface", got.Status.Attachments)
	}
	ip := got.Status.Attachments[0].Details.IPv4Address
	if !strings.HasPrefix(ip, "10.254.0.") || got.Status.Attachments[0].Details.MACAddress == "" {
		t.Errorf("attachment %+v: want an address of %s and a MAC", got.Status.Attachments[0].Details, taskCIDR)
	}
	framework.Eventually(t, 20*time.Second, "HTTP on the task IP", func() error {
		_, err := httpGet(fmt.Sprintf("http://%s:8080/", ip))
		return err
	})
	framework.Eventually(t, 20*time.Second, "sidecar fetched over localhost", func() error {
		res, err := n.exec(got, "side", "cat", "/tmp/page")
		if err != nil || res == "" {
			return fmt.Errorf("no page yet (%v)", err)
		}
		return nil
	})
	if got.Status.Containers[0].RuntimeID == "" || got.Status.Containers[0].LastStatus != ecsv1.ContainerRunning ||
		got.Status.StartedAt == nil || got.Status.PullStartedAt == nil || got.Status.PullStoppedAt == nil {
		t.Errorf("status incomplete: %+v", got.Status)
	}
	if c := apimetaFind(got.Status.Conditions, ecsv1.ConditionReady); c == nil || c.Status != metav1.ConditionTrue {
		t.Errorf("Ready condition = %+v, want True", c)
	}
	n.deleteTask(task)
}

func TestBridgeTaskPublishesADynamicHostPort(t *testing.T) {
	n := newNode(t, "node-bridge")
	web := container("web", "httpd", "-f", "-p", "80", "-h", "/www")
	web.PortMappings = []ecsv1.PortMapping{{ContainerPort: 80, Protocol: ecsv1.ProtocolTCP}}
	task := n.task("bridge", ecsv1.TaskDefinitionSpec{NetworkMode: ecsv1.NetworkModeBridge, ContainerDefinitions: []ecsv1.ContainerDefinition{web}})
	got := n.wait(task, 60*time.Second, "RUNNING", phase(ecsv1.TaskRunning))
	b := got.Status.Containers[0].NetworkBindings
	if len(b) != 1 || b[0].ContainerPort != 80 || b[0].HostPort < 49153 {
		t.Fatalf("networkBindings = %+v, want 80 on a dynamic host port", b)
	}
	framework.Eventually(t, 20*time.Second, "HTTP on the host port", func() error {
		_, err := httpGet(fmt.Sprintf("http://127.0.0.1:%d/", b[0].HostPort))
		return err
	})
	n.deleteTask(task)
}

func TestHostTaskUsesTheHostPort(t *testing.T) {
	n := newNode(t, "node-host")
	port := framework.FreePort(t)
	web := container("web", "httpd", "-f", "-p", fmt.Sprint(port), "-h", "/www")
	web.PortMappings = []ecsv1.PortMapping{{ContainerPort: int32(port), Protocol: ecsv1.ProtocolTCP}}
	task := n.task("host", ecsv1.TaskDefinitionSpec{NetworkMode: ecsv1.NetworkModeHost, ContainerDefinitions: []ecsv1.ContainerDefinition{web}})
	got := n.wait(task, 60*time.Second, "RUNNING", phase(ecsv1.TaskRunning))
	if b := got.Status.Containers[0].NetworkBindings; len(b) != 1 || b[0].HostPort != int32(port) {
		t.Errorf("networkBindings = %+v", b)
	}
	framework.Eventually(t, 20*time.Second, "HTTP on the host port", func() error {
		_, err := httpGet(fmt.Sprintf("http://127.0.0.1:%d/", port))
		return err
	})
	n.deleteTask(task)
}

func TestNoneTaskHasOnlyLoopback(t *testing.T) {
	n := newNode(t, "node-none")
	task := n.task("none", ecsv1.TaskDefinitionSpec{NetworkMode: ecsv1.NetworkModeNone,
		ContainerDefinitions: []ecsv1.ContainerDefinition{container("main", "sleep", "3600")}})
	got := n.wait(task, 60*time.Second, "RUNNING", phase(ecsv1.TaskRunning))
	out, err := n.exec(got, "main", "cat", "/proc/net/dev")
	if err != nil {
		t.Fatal(err)
	}
	var ifaces []string
	for _, line := range strings.Split(out, "\n")[2:] {
		if name, _, ok := strings.Cut(strings.TrimSpace(line), ":"); ok {
			ifaces = append(ifaces, name)
		}
	}
	if len(ifaces) != 1 || ifaces[0] != "lo" {
		t.Errorf("interfaces = %v, want only lo", ifaces)
	}
	n.deleteTask(task)
}

func TestStopHonoursStopTimeout(t *testing.T) {
	n := newNode(t, "node-stop")
	// A process that ignores SIGTERM is killed after stopTimeout.
	c := container("stubborn", "sh", "-c", "trap '' TERM; while true; do sleep 1; done")
	c.StopTimeout = ptr.To[int32](3)
	task := n.task("stop", ecsv1.TaskDefinitionSpec{NetworkMode: ecsv1.NetworkModeNone, ContainerDefinitions: []ecsv1.ContainerDefinition{c}})
	n.wait(task, 60*time.Second, "RUNNING", phase(ecsv1.TaskRunning))
	got, took := n.stop(task, "maintenance window")
	if took < 3*time.Second || took > 20*time.Second {
		t.Errorf("stop took %s, want about the 3s stopTimeout", took)
	}
	if got.Status.StopCode != ecsv1.StopCodeUserInitiated || got.Status.StoppedReason != "maintenance window" {
		t.Errorf("stopCode %q reason %q", got.Status.StopCode, got.Status.StoppedReason)
	}
	if ec := got.Status.Containers[0].ExitCode; ec == nil || *ec != 137 {
		t.Errorf("exit code %v, want 137 (SIGKILL)", ec)
	}
	if got.Status.StoppingAt == nil || got.Status.StoppedAt == nil || got.Status.ExecutionStoppedAt == nil {
		t.Errorf("stop timestamps missing: %+v", got.Status)
	}
	n.deleteTask(task)
}

func TestDependsOnAndEssentialExit(t *testing.T) {
	n := newNode(t, "node-deps")
	initC := container("init", "sh", "-c", "echo ready > /shared/flag")
	initC.Essential = ptr.To(false)
	initC.MountPoints = []ecsv1.MountPoint{{SourceVolume: "shared", ContainerPath: "/shared"}}
	app := container("app", "sh", "-c", "test -f /shared/flag && sleep 2 && exit 3")
	app.MountPoints = []ecsv1.MountPoint{{SourceVolume: "shared", ContainerPath: "/shared"}}
	app.DependsOn = []ecsv1.ContainerDependency{{ContainerName: "init", Condition: ecsv1.DependencySuccess}}
	task := n.task("deps", ecsv1.TaskDefinitionSpec{NetworkMode: ecsv1.NetworkModeNone,
		Volumes: []ecsv1.Volume{{Name: "shared"}}, ContainerDefinitions: []ecsv1.ContainerDefinition{initC, app}})
	got := n.wait(task, 60*time.Second, "STOPPED", phase(ecsv1.TaskStopped))
	if got.Status.StopCode != ecsv1.StopCodeEssentialContainerExited || got.Status.StoppedReason != "Essential container in task exited" {
		t.Errorf("stopCode %q reason %q", got.Status.StopCode, got.Status.StoppedReason)
	}
	exits := map[string]int32{}
	for _, c := range got.Status.Containers {
		if c.ExitCode != nil {
			exits[c.Name] = *c.ExitCode
		}
	}
	// init ran first and succeeded; app saw its file and exited 3.
	if exits["init"] != 0 || exits["app"] != 3 {
		t.Errorf("exit codes %v, want init 0 and app 3", exits)
	}
	n.deleteTask(task)
}

func TestSecretsAndLogs(t *testing.T) {
	n := newNode(t, "node-secret")
	sec := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: n.NS, Name: "db"}, Data: map[string][]byte{"password": []byte("s3cr3t")}}
	if err := env.Client.Create(t.Context(), sec); err != nil {
		t.Fatal(err)
	}
	c := container("main", "sh", "-c", `echo "pw=$DB_PASSWORD file=$(cat /run/creds/password)"; echo to-stderr >&2; sleep 3600`)
	c.Secrets = []ecsv1.ContainerSecret{{Name: "DB_PASSWORD", ValueFrom: "db:password"}}
	c.MountPoints = []ecsv1.MountPoint{{SourceVolume: "creds", ContainerPath: "/run/creds"}}
	task := n.task("secret", ecsv1.TaskDefinitionSpec{NetworkMode: ecsv1.NetworkModeNone,
		Volumes: []ecsv1.Volume{{Name: "creds", Secret: &ecsv1.SecretVolume{SecretName: "db"}}}, ContainerDefinitions: []ecsv1.ContainerDefinition{c}})
	n.wait(task, 60*time.Second, "RUNNING", phase(ecsv1.TaskRunning))
	file, err := logs.Path(n.LogDir, n.NS, task.Name, "main")
	if err != nil {
		t.Fatal(err)
	}
	framework.Eventually(t, 20*time.Second, "log lines", func() error {
		lines, err := logs.Tail(file, 10)
		if err != nil {
			return err
		}
		var all []string
		for _, l := range lines {
			all = append(all, l.Stream+":"+strings.TrimSpace(l.Log))
		}
		joined := strings.Join(all, "|")
		if !strings.Contains(joined, "stdout:pw=s3cr3t file=s3cr3t") || !strings.Contains(joined, "stderr:to-stderr") {
			return fmt.Errorf("log so far: %q", joined)
		}
		return nil
	})
	n.deleteTask(task)
	// The task's log stays for the operator after the task is gone.
	if _, err := os.Stat(file); err != nil {
		t.Errorf("log file gone with the task: %v", err)
	}

	// A missing Secret stops the task with a reason the user can act on.
	c2 := container("main", "sleep", "3600")
	c2.Secrets = []ecsv1.ContainerSecret{{Name: "X", ValueFrom: "absent:key"}}
	bad := n.task("badsecret", ecsv1.TaskDefinitionSpec{NetworkMode: ecsv1.NetworkModeNone, ContainerDefinitions: []ecsv1.ContainerDefinition{c2}})
	got := n.wait(bad, 60*time.Second, "STOPPED", phase(ecsv1.TaskStopped))
	if got.Status.StopCode != ecsv1.StopCodeTaskFailedToStart || !strings.Contains(got.Status.StoppedReason, "Secret "+n.NS+"/absent not found") {
		t.Errorf("stopCode %q reason %q", got.Status.StopCode, got.Status.StoppedReason)
	}
}

func TestUnpullableImageFailsToStart(t *testing.T) {
	n := newNode(t, "node-pull")
	c := container("main", "true")
	c.Image = "127.0.0.1:1/nothing/here:1"
	task := n.task("pull", ecsv1.TaskDefinitionSpec{NetworkMode: ecsv1.NetworkModeNone, ContainerDefinitions: []ecsv1.ContainerDefinition{c}})
	got := n.wait(task, 60*time.Second, "STOPPED", phase(ecsv1.TaskStopped))
	if got.Status.StopCode != ecsv1.StopCodeTaskFailedToStart || !strings.HasPrefix(got.Status.StoppedReason, "CannotPullContainerError: ") {
		t.Errorf("stopCode %q reason %q", got.Status.StopCode, got.Status.StoppedReason)
	}
}

func apimetaFind(conds []metav1.Condition, typ string) *metav1.Condition {
	for i := range conds {
		if conds[i].Type == typ {
			return &conds[i]
		}
	}
	return nil
}

// TestVolumesFrom: a container listed before its source gets the source's
// volume, read-only as asked, and sees what the source writes.
func TestVolumesFrom(t *testing.T) {
	n := newNode(t, "node-volfrom")
	reader := container("reader", "sleep", "3600")
	reader.VolumesFrom = []ecsv1.VolumeFrom{{SourceContainer: "writer", ReadOnly: true}}
	reader.DependsOn = []ecsv1.ContainerDependency{{ContainerName: "writer", Condition: ecsv1.DependencyStart}}
	writer := container("writer", "sh", "-c", "echo from-writer > /shared/note; sleep 3600")
	writer.MountPoints = []ecsv1.MountPoint{{SourceVolume: "shared", ContainerPath: "/shared"}}
	task := n.task("volfrom", ecsv1.TaskDefinitionSpec{NetworkMode: ecsv1.NetworkModeNone,
		Volumes: []ecsv1.Volume{{Name: "shared"}}, ContainerDefinitions: []ecsv1.ContainerDefinition{reader, writer}})
	got := n.wait(task, 60*time.Second, "RUNNING", phase(ecsv1.TaskRunning))
	framework.Eventually(t, 20*time.Second, "the writer's file seen by the reader", func() error {
		out, err := n.exec(got, "reader", "cat", "/shared/note")
		if err != nil || !strings.HasSuffix(strings.TrimSpace(out), "\nfrom-writer") && strings.TrimSpace(out) != "from-writer" {
			return fmt.Errorf("cat: %q %v", out, err)
		}
		return nil
	})
	if out, err := n.exec(got, "reader", "touch", "/shared/mine"); err == nil {
		t.Errorf("the reader could write a read-only volumesFrom mount: %s", out)
	}
	n.deleteTask(task)
}

// TestBridgeLinksAndDisableNetworking: in bridge mode a container reaches
// a linked one by its alias; a container with disableNetworking has
// loopback only.
func TestBridgeLinksAndDisableNetworking(t *testing.T) {
	n := newNode(t, "node-links")
	web := container("web", "httpd", "-f", "-p", "8080", "-h", "/www")
	client := container("client", "sleep", "3600")
	client.Links = []string{"web:backend"}
	offline := container("offline", "sleep", "3600")
	offline.DisableNetworking = ptr.To(true)
	task := n.task("links", ecsv1.TaskDefinitionSpec{NetworkMode: ecsv1.NetworkModeBridge,
		ContainerDefinitions: []ecsv1.ContainerDefinition{web, client, offline}})
	got := n.wait(task, 60*time.Second, "RUNNING", phase(ecsv1.TaskRunning))
	framework.Eventually(t, 20*time.Second, "client reaches web as backend", func() error {
		out, err := n.exec(got, "client", "wget", "-qO-", "http://backend:8080/")
		if err != nil {
			return fmt.Errorf("%v: %s", err, out)
		}
		return nil
	})
	if out, err := n.exec(got, "client", "cat", "/etc/hosts"); err != nil || !strings.Contains(out, "\tweb\n") || !strings.Contains(out, "\tbackend\n") {
		t.Errorf("client /etc/hosts: %q (%v), want web and backend", out, err)
	}
	out, err := n.exec(got, "offline", "cat", "/proc/net/dev")
	if err != nil {
		t.Fatal(err)
	}
	var ifaces []string
	for _, line := range strings.Split(out, "\n") {
		if name, _, ok := strings.Cut(strings.TrimSpace(line), ":"); ok && !strings.Contains(name, " ") && !strings.HasPrefix(name, "time=") {
			ifaces = append(ifaces, name)
		}
	}
	if len(ifaces) != 1 || ifaces[0] != "lo" {
		t.Errorf("disableNetworking: interfaces %v, want only lo", ifaces)
	}
	n.deleteTask(task)
}

// TestEnvironmentFiles: an environmentFiles S3 ARN reads the ConfigMap it
// maps onto (environment wins over it); a missing one fails the task,
// naming both.
func TestEnvironmentFiles(t *testing.T) {
	n := newNode(t, "node-envfiles")
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: n.NS, Name: "my-bucket-app-prod.env"},
		Data: map[string]string{"FROM_FILE": "yes", "BOTH": "file"}}
	if err := env.Client.Create(t.Context(), cm); err != nil {
		t.Fatal(err)
	}
	c := container("main", "sleep", "3600")
	c.EnvironmentFiles = []ecsv1.EnvironmentFile{{Type: "s3", Value: "arn:aws:s3:::my-bucket/app/prod.env"}}
	c.Environment = []ecsv1.KeyValuePair{{Name: "BOTH", Value: "environment"}}
	task := n.task("envfiles", ecsv1.TaskDefinitionSpec{NetworkMode: ecsv1.NetworkModeNone, ContainerDefinitions: []ecsv1.ContainerDefinition{c}})
	got := n.wait(task, 60*time.Second, "RUNNING", phase(ecsv1.TaskRunning))
	out, err := n.exec(got, "main", "env")
	if err != nil || !strings.Contains(out, "FROM_FILE=yes\n") || !strings.Contains(out, "BOTH=environment\n") {
		t.Errorf("env inside the container: %q (%v), want FROM_FILE=yes and BOTH=environment", out, err)
	}
	n.deleteTask(task)

	c.EnvironmentFiles = []ecsv1.EnvironmentFile{{Type: "s3", Value: "arn:aws:s3:::my-bucket/app/missing.env"}}
	task = n.task("envfiles-missing", ecsv1.TaskDefinitionSpec{NetworkMode: ecsv1.NetworkModeNone, ContainerDefinitions: []ecsv1.ContainerDefinition{c}})
	got = n.wait(task, 60*time.Second, "STOPPED", phase(ecsv1.TaskStopped))
	want := fmt.Sprintf("ConfigMap %s/my-bucket-app-missing.env (mapped from arn:aws:s3:::my-bucket/app/missing.env) not found", n.NS)
	if got.Status.StopCode != ecsv1.StopCodeTaskFailedToStart || !strings.Contains(got.Status.StoppedReason, want) {
		t.Errorf("stopCode %q reason %q, want TaskFailedToStart with %q", got.Status.StopCode, got.Status.StoppedReason, want)
	}
	n.deleteTask(task)
}
