//go:build e2e

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

package e2e

import (
	"context"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	ecsv1 "github.com/longshore-io/longshore/api/v1alpha1"
	"github.com/longshore-io/longshore/test/integration/framework"
)

// TestE2E runs the scenarios in order, on one system: each builds on what
// the one before left (the samples applied, the Service rolled, ...), the
// way a user's afternoon would. The first failure ends the run; cleanup
// and the leak check always run.
func TestE2E(t *testing.T) {
	defer t.Run("cleanup leaves nothing behind", testCleanup)
	for _, s := range []struct {
		name string
		f    func(*testing.T)
	}{
		{"samples apply and answer", testSamples},
		{"samples are Current to kstatus and Healthy to Argo CD", testGitOpsHealth},
		{"make dev's own ports are reserved on every instance", testReservedPorts},
		{"rolling update keeps minimumHealthyPercent answering", testRollingUpdate},
		{"kubectl scale", testScale},
		{"a bad revision during a deployment keeps every task answering and rolls back", testBadRevisionDuringDeployment},
		{"agent kill -9 restarts no container", testAgentKill},
		{"a crashed agent and containerd are restarted by their supervisors, no container restarts", testSupervisorRestarts},
		{"kube-apiserver frozen past the leader-election deadline: the control plane acts again without a hand", testAPIServerFreeze},
		{"an ECS task definition registers with kubectl ecs and runs", testKubectlECSPlugin},
		{"the aws CLI drives the ECS API: task definition, task, service, update, stop; a wrong secret is refused", testAWSCLI},
		{"kubectl ecs logs -f and exec reach the tasks of both agents, RBAC refuses who lacks tasks/log and tasks/exec", testLogsAndExec},
		{"bad input is refused or reported", testBadInput},
		{"deleting a namespace stops and cleans up its tasks", testNamespaceDeletion},
		{"deleting a TaskDefinition garbage-collects its revisions", testTaskDefinitionGC},
		{"lost instance fails over, returns clean", testFailover},
	} {
		if !t.Run(s.name, s.f) {
			return
		}
	}
}

const webPort = 8080

func testSamples(t *testing.T) {
	start := time.Now()
	mustKubectl(t, "", "apply", "-f", "config/samples/")
	for _, name := range []string{"web-once", "web-bridge-once", "web-host-once", "worker-once", "app-with-sidecar", "reads-secret"} {
		waitTask(t, name, 3*time.Minute, isRunning)
		addReport("apply → RUNNING %-18s %.1f s", name, time.Since(start).Seconds())
	}

	// awsvpc: the task's own IP.
	// RUNNING means the process started; the server listens a moment later.
	web := getTask(t, "web-once")
	answers(t, "awsvpc task web-once", fmt.Sprintf("http://%s:%d/", taskIP(web), webPort))
	// bridge: the dynamic host port of its networkBindings.
	bridged := getTask(t, "web-bridge-once")
	if len(bridged.Status.Containers) == 0 || len(bridged.Status.Containers[0].NetworkBindings) == 0 {
		t.Fatalf("web-bridge-once has no networkBindings: %+v", bridged.Status.Containers)
	}
	nb := bridged.Status.Containers[0].NetworkBindings[0]
	if nb.HostPort < 49153 {
		t.Errorf("dynamic host port %d is outside the dynamic range", nb.HostPort)
	}
	answers(t, "bridge task web-bridge-once on its host port", fmt.Sprintf("http://127.0.0.1:%d/", nb.HostPort))
	// host: the host port itself.
	answers(t, "host task web-host-once", "http://127.0.0.1:18181/")
	// none: the worker's image was pulled from the local registry and its
	// output reaches its log file.
	worker := getTask(t, "worker-once")
	if len(worker.Status.Containers) == 0 || worker.Status.Containers[0].ImageDigest == "" {
		t.Errorf("worker-once reports no image digest: %+v", worker.Status.Containers)
	}
	logFile := filepath.Join(devDir, "logs", "tasks", worker.Spec.ContainerInstance, "default", "worker-once", "worker.log")
	framework.Eventually(t, 30*time.Second, "worker output in "+logFile, func() error {
		b, err := os.ReadFile(logFile)
		if err != nil {
			return err
		}
		if !strings.Contains(string(b), "worker: job 1 done") {
			return fmt.Errorf("log holds %q", b)
		}
		return nil
	})

	// The Service: 3 tasks, spread over both zones, all answering.
	framework.Eventually(t, 3*time.Minute, "service web steady over both instances", func() error {
		return steady("web", 3, "", true)
	})
	addReport("apply → Service web steady (3 tasks on dev-a and dev-b, all answering): %.1f s", time.Since(start).Seconds())
	// The DAEMON service: one task per instance.
	framework.Eventually(t, 2*time.Minute, "daemon service node-exporter on both instances", func() error {
		tasks, err := serviceTasks("node-exporter")
		if err != nil {
			return err
		}
		var on []string
		for _, task := range tasks {
			if isRunning(&task) == nil {
				on = append(on, task.Spec.ContainerInstance)
			}
		}
		slices.Sort(on)
		if !slices.Equal(on, []string{"dev-a", "dev-b"}) {
			return fmt.Errorf("running on %v", on)
		}
		return nil
	})
}

// answers waits until url answers 200 with the sample page.
func answers(t *testing.T, what, url string) {
	t.Helper()
	framework.Eventually(t, 20*time.Second, what+" answers "+url, func() error {
		body, err := get(url)
		if err != nil {
			return err
		}
		if !strings.Contains(body, "Hello from Longshore") {
			return fmt.Errorf("unexpected page %q", body)
		}
		return nil
	})
}

// steady checks that Service svc has want RUNNING tasks (all of revision
// rev when rev is set), answering HTTP, spread over both instances when
// spread is set.
func steady(svc string, want int, rev string, spread bool) error {
	tasks, err := serviceTasks(svc)
	if err != nil {
		return err
	}
	instances := map[string]bool{}
	for _, task := range tasks {
		if err := isRunning(&task); err != nil {
			return fmt.Errorf("task %s: %v", task.Name, err)
		}
		if rev != "" && task.Status.TaskDefinitionRevision != rev {
			return fmt.Errorf("task %s runs %s, not %s", task.Name, task.Status.TaskDefinitionRevision, rev)
		}
		instances[task.Spec.ContainerInstance] = true
	}
	if len(tasks) != want {
		return fmt.Errorf("%d tasks, want %d", len(tasks), want)
	}
	if spread && len(instances) != 2 {
		return fmt.Errorf("tasks on %v only", instances)
	}
	if n := answering(tasks, webPort); n != want {
		return fmt.Errorf("%d of %d tasks answer HTTP", n, want)
	}
	return nil
}

// prober probes a Service's tasks continuously and remembers the fewest
// that answered at once.
type prober struct {
	stop   chan struct{}
	done   sync.WaitGroup
	min    int
	rounds int
	worst  string
}

func probe(svc string) *prober {
	p := &prober{stop: make(chan struct{}), min: math.MaxInt}
	p.done.Add(1)
	go func() {
		defer p.done.Done()
		for {
			select {
			case <-p.stop:
				return
			default:
			}
			var l ecsv1.TaskList
			if err := sys.c.List(context.Background(), &l, client.InNamespace("default"),
				client.MatchingLabels{ecsv1.LabelService: svc}); err != nil {
				continue
			}
			n := answering(l.Items, webPort)
			p.rounds++
			if n < p.min {
				p.min = n
				var states []string
				for _, task := range l.Items {
					states = append(states, fmt.Sprintf("%s %s %s %s", task.Name, task.Status.TaskDefinitionRevision, task.Status.LastStatus, task.Status.HealthStatus))
				}
				p.worst = strings.Join(states, "; ")
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
	return p
}

func (p *prober) halt() { close(p.stop); p.done.Wait() }

func testRollingUpdate(t *testing.T) {
	// minimumHealthyPercent 50 of 3 tasks: at least 2 must answer throughout.
	const minAnswering = 2
	p := probe("web")
	// Edit the TaskDefinition in place: the image now comes from the registry.
	mustKubectl(t, "", "patch", "td", "web", "--type", "json", "-p",
		`[{"op":"replace","path":"/spec/containerDefinitions/0/image","value":"127.0.0.1:15000/longshore/busybox:latest"}]`)
	d := framework.Eventually(t, 4*time.Minute, "service web rolled to web:2", func() error {
		var svc ecsv1.Service
		if err := sys.c.Get(context.Background(), client.ObjectKey{Namespace: "default", Name: "web"}, &svc); err != nil {
			return err
		}
		for _, dep := range svc.Status.Deployments {
			primary := dep.Status == ecsv1.DeploymentPrimary
			if primary && (dep.TaskDefinition != "web:2" || dep.RolloutState != ecsv1.RolloutCompleted) ||
				!primary && dep.Status != ecsv1.DeploymentInactive {
				return fmt.Errorf("deployment %s of %s: %s %s", dep.ID, dep.TaskDefinition, dep.Status, dep.RolloutState)
			}
		}
		return steady("web", 3, "web:2", false)
	})
	time.Sleep(time.Second)
	p.halt()
	addReport("rolling update web:1 → web:2 (3 tasks, min 50%%, max 200%%, new image pulled): %.1f s; fewest answering during the roll %d of 3 (%d probe rounds)",
		d.Seconds(), p.min, p.rounds)
	if p.rounds < 5 {
		t.Errorf("only %d probe rounds during the roll", p.rounds)
	}
	if p.min < minAnswering {
		t.Errorf("only %d tasks answered at one moment of the roll (minimum %d): %s", p.min, minAnswering, p.worst)
	}
}

// cbweb is a web server without a health check: its tasks count as
// healthy 40 s after RUNNING, so its first deployment is still
// IN_PROGRESS when the bad revision lands.
const cbweb = `apiVersion: ecs.longshore.io/v1alpha1
kind: TaskDefinition
metadata:
  name: cbweb
spec:
  networkMode: awsvpc
  containerDefinitions:
    - name: web
      image: localhost/longshore/busybox:latest
      command: ["httpd", "-f", "-p", "8080", "-h", "/www"]
      memory: 64
      cpu: 64
      linuxParameters:
        initProcessEnabled: true
      portMappings:
        - containerPort: 8080
---
apiVersion: ecs.longshore.io/v1alpha1
kind: Service
metadata:
  name: cbsvc
spec:
  taskDefinition: cbweb
  desiredCount: 3
  deploymentConfiguration:
    deploymentCircuitBreaker:
      enable: true
      rollback: true
`

// testBadRevisionDuringDeployment is what GitOps does when two commits
// land seconds apart and the second is broken: the first deployment is
// still IN_PROGRESS when a revision whose command exits at once arrives.
// With minimumHealthyPercent 100 every one of the 3 tasks must answer
// throughout; the circuit breaker fails the bad deployment and rolls back
// to the first, which never COMPLETED.
func testBadRevisionDuringDeployment(t *testing.T) {
	start := time.Now()
	mustKubectl(t, cbweb, "apply", "-f", "-")
	framework.Eventually(t, 2*time.Minute, "service cbsvc answering", func() error { return steady("cbsvc", 3, "cbweb:1", false) })
	p := probe("cbsvc")
	var first ecsv1.Deployment
	framework.Eventually(t, 10*time.Second, "the first deployment IN_PROGRESS", func() error {
		svc := getService(t, "cbsvc")
		if len(svc.Status.Deployments) != 1 || svc.Status.Deployments[0].RolloutState != ecsv1.RolloutInProgress {
			return fmt.Errorf("deployments %+v", svc.Status.Deployments)
		}
		first = svc.Status.Deployments[0]
		return nil
	})
	// Wait as GitOps would between two commits, well inside the 40 s.
	time.Sleep(max(0, 10*time.Second-time.Since(start)))
	if svc := getService(t, "cbsvc"); svc.Status.Deployments[0].RolloutState != ecsv1.RolloutInProgress {
		t.Fatalf("the first deployment is no longer IN_PROGRESS: %+v", svc.Status.Deployments)
	}
	mustKubectl(t, "", "patch", "td", "cbweb", "--type", "json", "-p",
		`[{"op":"replace","path":"/spec/containerDefinitions/0/command","value":["sh","-c","exit 1"]}]`)
	var failed ecsv1.Deployment
	df := framework.Eventually(t, 2*time.Minute, "the deployment of cbweb:2 FAILED", func() error {
		for _, d := range getService(t, "cbsvc").Status.Deployments {
			if d.TaskDefinition == "cbweb:2" && d.RolloutState == ecsv1.RolloutFailed {
				failed = d
				return nil
			}
		}
		return fmt.Errorf("no failed deployment of cbweb:2")
	})
	dr := framework.Eventually(t, 3*time.Minute, "service cbsvc rolled back to cbweb:1", func() error {
		svc := getService(t, "cbsvc")
		if prim := svc.Status.Deployments[0]; prim.TaskDefinition != "cbweb:1" || prim.RolloutState != ecsv1.RolloutCompleted ||
			prim.ID == first.ID {
			return fmt.Errorf("primary deployment %s of %s: %s", prim.ID, prim.TaskDefinition, prim.RolloutState)
		}
		return steady("cbsvc", 3, "cbweb:1", false)
	})
	p.halt()
	addReport("bad revision while the first deployment was IN_PROGRESS (3 tasks, min 100%%, max 200%%): cbweb:2 FAILED after %.1f s (%d failed tasks), rolled back and steady on cbweb:1 %.1f s later; fewest answering %d of 3 (%d probe rounds)",
		df.Seconds(), failed.FailedTasks, dr.Seconds(), p.min, p.rounds)
	if p.min < 3 {
		t.Errorf("only %d tasks answered at one moment (minimumHealthyPercent 100 promises 3): %s", p.min, p.worst)
	}
	if p.rounds < 5 {
		t.Errorf("only %d probe rounds", p.rounds)
	}
	out := mustKubectl(t, "", "get", "events", "--field-selector", "involvedObject.kind=Service,involvedObject.name=cbsvc",
		"-o", "jsonpath={range .items[*]}{.message}{\"\\n\"}{end}")
	for _, want := range []string{
		fmt.Sprintf("(service cbsvc) deployment %s deployment failed: tasks failed to start.", failed.ID),
		fmt.Sprintf("(service cbsvc) rolling back to deployment %s.", first.ID),
	} {
		if !strings.Contains(out, want) {
			t.Errorf("no Event %q in:\n%s", want, out)
		}
	}
	mustKubectl(t, cbweb, "delete", "-f", "-", "--wait", "--timeout", "2m")
}

// testKubectlECSPlugin is a user bringing an ECS task definition: the ECS
// agent's own ulimit test (corpus 10) registered with
// `kubectl ecs register-task-definition` (kubectl finds bin/kubectl-ecs on
// PATH), its image swapped with --image-map, run as a Task on make dev: its
// container exits 42 when it sees the nofile limits it asks for.
func testKubectlECSPlugin(t *testing.T) {
	file := filepath.Join(framework.ECSCorpusDir(t), "10-ecsagent-nofile-ulimit.json")
	cmd := exec.Command(sys.kubectlBin, "ecs", "register-task-definition", "--cli-input-json", "file://"+file,
		"--image-map", "busybox=localhost/longshore/busybox:latest", "-n", "default")
	cmd.Dir = sys.root
	cmd.Env = append(os.Environ(), "KUBECONFIG="+sys.kubeconfig, "PATH="+filepath.Join(sys.root, "bin")+":"+os.Getenv("PATH"))
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Registered task definition ecsftest-ulimit-test:1 in namespace default") {
		t.Fatalf("kubectl ecs register-task-definition: %v\n%s", err, out)
	}
	mustKubectl(t, `apiVersion: ecs.longshore.io/v1alpha1
kind: Task
metadata: {name: nofile}
spec: {taskDefinition: ecsftest-ulimit-test}
`, "apply", "-f", "-")
	got := waitTask(t, "nofile", 2*time.Minute, isStopped)
	code := (*int32)(nil)
	for _, c := range got.Status.Containers {
		if c.Name == "exit" {
			code = c.ExitCode
		}
	}
	if code == nil || *code != 42 || got.Status.StopCode != ecsv1.StopCodeEssentialContainerExited {
		t.Errorf("container exit: exit code %v, task %s (%s); want 42 and EssentialContainerExited", code, got.Status.StopCode, got.Status.StoppedReason)
	}
	addReport("corpus 10 (ulimits) registered with kubectl ecs and run on make dev: exit 42, %s", got.Status.StopCode)
	mustKubectl(t, "", "delete", "ecstask", "nofile", "--wait", "--timeout", "2m")
	mustKubectl(t, "", "delete", "td", "ecsftest-ulimit-test", "--wait", "--timeout", "2m")
}

func getService(t *testing.T, name string) *ecsv1.Service {
	t.Helper()
	svc := &ecsv1.Service{}
	if err := sys.c.Get(context.Background(), client.ObjectKey{Namespace: "default", Name: name}, svc); err != nil {
		t.Fatal(err)
	}
	return svc
}

func testScale(t *testing.T) {
	mustKubectl(t, "", "scale", "ecssvc", "web", "--replicas=5")
	d := framework.Eventually(t, 2*time.Minute, "service web at 5", func() error { return steady("web", 5, "web:2", true) })
	addReport("kubectl scale ecssvc web --replicas=5 → 5 answering: %.1f s", d.Seconds())
	mustKubectl(t, "", "scale", "ecssvc", "web", "--replicas=3")
	d = framework.Eventually(t, 2*time.Minute, "service web back at 3", func() error { return steady("web", 3, "web:2", true) })
	addReport("kubectl scale ecssvc web --replicas=3 → 3 left: %.1f s", d.Seconds())
}

func testAgentKill(t *testing.T) {
	before := containerPIDs(t, "a")
	if len(before) == 0 {
		t.Fatal("agent a runs no containers")
	}
	for id, pid := range before {
		if pid == 0 {
			t.Fatalf("container %s has no process", id)
		}
	}
	if err := dev("stop-agent", "a", "KILL"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second)
	start := time.Now()
	if err := dev("up"); err != nil {
		t.Fatal(err)
	}
	addReport("agent a killed with SIGKILL and started again (hack/dev.sh up): %.1f s", time.Since(start).Seconds())
	// Give the agent time to do anything wrong (re-create, restart).
	time.Sleep(10 * time.Second)
	after := containerPIDs(t, "a")
	for id, pid := range before {
		if after[id] != pid {
			t.Errorf("container %s: pid %d before the kill, %d after", id, pid, after[id])
		}
	}
	for id := range after {
		if _, ok := before[id]; !ok {
			t.Errorf("container %s was created after the kill", id)
		}
	}
	if err := steady("web", 3, "web:2", true); err != nil {
		t.Errorf("service web after the kill: %v", err)
	}
	// The agent still acts on its tasks: stop a standalone task it runs.
	stopped := ""
	for _, name := range []string{"web-bridge-once", "web-once", "web-host-once", "worker-once", "app-with-sidecar", "reads-secret"} {
		if getTask(t, name).Spec.ContainerInstance != "dev-a" {
			continue
		}
		mustKubectl(t, "", "patch", "ecstask", name, "--type", "merge", "-p", `{"spec":{"desiredStatus":"STOPPED"}}`)
		task := waitTask(t, name, time.Minute, isStopped)
		if task.Status.StopCode != ecsv1.StopCodeUserInitiated {
			t.Errorf("task %s stopped with %s %q", name, task.Status.StopCode, task.Status.StoppedReason)
		}
		stopped = name
		break
	}
	if stopped == "" {
		t.Error("no standalone task runs on dev-a: the stop after the kill was not tested")
	}
}

// badManifests are refused by kubectl apply, with these messages.
var badManifests = []struct{ name, yaml, want string }{
	{"unknown network mode", tdYAML("bad-mode", "networkMode: nat", "image: x\n      memory: 32"), `Unsupported value: "nat"`},
	{"no memory anywhere", tdYAML("bad-memory", "", "image: x"), "every container needs memory or memoryReservation"},
	{"port out of range", tdYAML("bad-port", "", "image: x\n      memory: 32\n      portMappings: [{containerPort: 70000}]"), "should be less than or equal to 65535"},
	{"App Mesh proxy outside awsvpc", tdYAML("bad-field", "proxyConfiguration: {type: APPMESH, containerName: main}", "image: x\n      memory: 32"), "proxyConfiguration (App Mesh) needs networkMode awsvpc"},
	{"the task endpoints' port", tdYAML("bad-endpoint-port", "networkMode: awsvpc", "image: x\n      memory: 32\n      portMappings: [{containerPort: 51679}]"), "containerPort 51679 (tcp) is taken in the task's network namespace"},
	{"dependsOn cycle", `apiVersion: ecs.longshore.io/v1alpha1
kind: TaskDefinition
metadata:
  name: bad-cycle
spec:
  containerDefinitions:
    - {name: a, image: x, memory: 32, dependsOn: [{containerName: b, condition: START}]}
    - {name: b, image: x, memory: 32, dependsOn: [{containerName: a, condition: START}]}
`, "dependsOn must not form a cycle"},
	{"daemon service with a count", `apiVersion: ecs.longshore.io/v1alpha1
kind: Service
metadata:
  name: bad-daemon
spec:
  taskDefinition: web
  schedulingStrategy: DAEMON
  desiredCount: 2
`, "desiredCount"},
}

func tdYAML(name, spec, container string) string {
	return fmt.Sprintf(`apiVersion: ecs.longshore.io/v1alpha1
kind: TaskDefinition
metadata:
  name: %s
spec:
  %s
  containerDefinitions:
    - name: main
      %s
`, name, spec, container)
}

// brokenAtRunTime are accepted by the API but can't run; each must end in a
// status and an Event a user understands.
const brokenAtRunTime = `apiVersion: ecs.longshore.io/v1alpha1
kind: TaskDefinition
metadata:
  name: unpullable
spec:
  networkMode: none
  containerDefinitions:
    - {name: main, image: "127.0.0.1:15000/longshore/no-such-image:latest", memory: 32}
---
apiVersion: ecs.longshore.io/v1alpha1
kind: Task
metadata:
  name: unpullable
spec:
  taskDefinition: unpullable
---
apiVersion: ecs.longshore.io/v1alpha1
kind: TaskDefinition
metadata:
  name: missing-secret
spec:
  networkMode: none
  containerDefinitions:
    - name: main
      image: localhost/longshore/busybox:latest
      memory: 32
      command: [sleep, "3600"]
      secrets:
        - {name: PASSWORD, valueFrom: "no-such-secret:password"}
---
apiVersion: ecs.longshore.io/v1alpha1
kind: Task
metadata:
  name: missing-secret
spec:
  taskDefinition: missing-secret
---
apiVersion: ecs.longshore.io/v1alpha1
kind: TaskDefinition
metadata:
  name: wants-privileged
spec:
  networkMode: none
  containerDefinitions:
    - {name: main, image: localhost/longshore/busybox:latest, memory: 32, privileged: true, command: [sleep, "3600"]}
---
apiVersion: ecs.longshore.io/v1alpha1
kind: Task
metadata:
  name: bound-privileged
spec:
  taskDefinition: wants-privileged
  containerInstance: dev-a
---
apiVersion: ecs.longshore.io/v1alpha1
kind: Task
metadata:
  name: bad-override
spec:
  taskDefinition: worker
  overrides:
    containerOverrides:
      - name: no-such-container
        command: ["true"]
---
apiVersion: ecs.longshore.io/v1alpha1
kind: Task
metadata:
  name: unplaceable
spec:
  taskDefinition: worker
  placementConstraints:
    - type: memberOf
      expression: "attribute:ecs.availability-zone == c"
`

func testBadInput(t *testing.T) {
	for _, c := range badManifests {
		out, err := kubectl(c.yaml, "apply", "-f", "-")
		if err == nil {
			t.Errorf("%s: accepted:\n%s", c.name, c.yaml)
			_, _ = kubectl(c.yaml, "delete", "-f", "-")
			continue
		}
		if !strings.Contains(out, c.want) {
			t.Errorf("%s: error %q does not say %q", c.name, strings.TrimSpace(out), c.want)
		}
	}

	start := time.Now()
	mustKubectl(t, brokenAtRunTime, "apply", "-f", "-")
	for _, c := range []struct{ task, code, reason string }{
		{"unpullable", string(ecsv1.StopCodeTaskFailedToStart), "CannotPullContainerError"},
		{"missing-secret", string(ecsv1.StopCodeTaskFailedToStart), "no-such-secret"},
		{"bad-override", string(ecsv1.StopCodeTaskFailedToStart), "override for container named no-such-container is not valid"},
		{"bound-privileged", string(ecsv1.StopCodeTaskFailedToStart), "Cluster default refuses the task: Cluster security forbids privileged containers"},
	} {
		task := waitTask(t, c.task, 2*time.Minute, isStopped)
		if string(task.Status.StopCode) != c.code || !strings.Contains(task.Status.StoppedReason, c.reason) {
			t.Errorf("task %s stopped with %s %q; want %s and %q", c.task, task.Status.StopCode, task.Status.StoppedReason, c.code, c.reason)
		}
		addReport("bad input: task %s STOPPED (%s: %s) after %.1f s", c.task, task.Status.StopCode, task.Status.StoppedReason, time.Since(start).Seconds())
		wantEvent(t, c.task, c.reason)
	}
	// Nothing fits: the task waits, saying why.
	waitTask(t, "unplaceable", time.Minute, func(task *ecsv1.Task) error {
		for _, cond := range task.Status.Conditions {
			if cond.Type == ecsv1.ConditionScheduled && cond.Reason == ecsv1.ReasonUnplaceable {
				return nil
			}
		}
		return fmt.Errorf("conditions %+v", task.Status.Conditions)
	})
	wantEvent(t, "unplaceable", "availability-zone")
	if task := getTask(t, "unplaceable"); task.Spec.ContainerInstance != "" {
		t.Errorf("unplaceable task was bound to %s", task.Spec.ContainerInstance)
	}
	// The rest keeps serving.
	if err := steady("web", 3, "web:2", true); err != nil {
		t.Errorf("service web after the bad input: %v", err)
	}
	mustKubectl(t, brokenAtRunTime, "delete", "-f", "-", "--wait", "--timeout", "60s")
}

// wantEvent checks that an Event about Task name mentions text.
func wantEvent(t *testing.T, name, text string) {
	t.Helper()
	framework.Eventually(t, 30*time.Second, "an Event on task "+name+" mentioning "+text, func() error {
		out, err := kubectl("", "get", "events", "--field-selector", "involvedObject.kind=Task,involvedObject.name="+name,
			"-o", "jsonpath={range .items[*]}{.reason}: {.message}{\"\\n\"}{end}")
		if err != nil {
			return err
		}
		if !strings.Contains(out, text) {
			return fmt.Errorf("events: %q", out)
		}
		return nil
	})
}

func testFailover(t *testing.T) {
	tasks, err := serviceTasks("web")
	if err != nil {
		t.Fatal(err)
	}
	var onB []string
	for _, task := range tasks {
		if task.Spec.ContainerInstance == "dev-b" {
			onB = append(onB, task.Name)
		}
	}
	if len(onB) == 0 {
		t.Fatal("no web task on dev-b to fail over")
	}
	orphans := containerPIDs(t, "b")
	// Stop agent b for good: its containers keep running, its Lease lapses.
	if err := dev("stop-agent", "b"); err != nil {
		t.Fatal(err)
	}
	d := framework.Eventually(t, agentGrace+instanceLostTimeout+90*time.Second, "web tasks replaced on dev-a", func() error {
		tasks, err := serviceTasks("web")
		if err != nil {
			return err
		}
		for _, task := range tasks {
			if task.Spec.ContainerInstance != "dev-a" {
				return fmt.Errorf("task %s still on %s", task.Name, task.Spec.ContainerInstance)
			}
		}
		return steady("web", 3, "web:2", false)
	})
	addReport("agent b stopped → its %d web tasks replaced on dev-a and answering: %.1f s (lease grace %s + instance-lost timeout %s)",
		len(onB), d.Seconds(), agentGrace, instanceLostTimeout)
	if limit := agentGrace + instanceLostTimeout + 30*time.Second; d > limit {
		t.Errorf("failover took %s, more than grace + lost timeout + 30 s (%s)", d, limit)
	}
	for _, name := range onB {
		framework.Eventually(t, 10*time.Second, "lost task "+name+" STOPPED as ECS shows it", func() error {
			out, err := kubectl("", "get", "ecstask", name, "--ignore-not-found", "-o",
				"jsonpath={.status.lastStatus} {.status.stopCode} {.spec.desiredStatus}")
			if err != nil {
				return err
			}
			if out != "" && out != "STOPPED InfrastructureHealth STOPPED" {
				return fmt.Errorf("lastStatus, stopCode, desiredStatus: %s", out)
			}
			return nil
		})
	}
	if len(containerPIDs(t, "b")) == 0 {
		t.Fatal("agent b's containers are gone while it is stopped; nothing left to test")
	}

	// Agent b returns: what it ran for the lost tasks goes.
	back := time.Now()
	if err := dev("up"); err != nil {
		t.Fatal(err)
	}
	framework.Eventually(t, 2*time.Minute, "agent b's orphaned containers removed", func() error {
		now := containerPIDs(t, "b")
		for id := range orphans {
			if _, ok := now[id]; ok {
				return fmt.Errorf("container %s still there", id)
			}
		}
		return nil
	})
	addReport("agent b back (hack/dev.sh up) → its %d orphaned containers removed: %.1f s", len(orphans), time.Since(back).Seconds())
	// The DAEMON service comes back to dev-b.
	framework.Eventually(t, 2*time.Minute, "node-exporter on dev-b again", func() error {
		tasks, err := serviceTasks("node-exporter")
		if err != nil {
			return err
		}
		for _, task := range tasks {
			if task.Spec.ContainerInstance == "dev-b" && isRunning(&task) == nil {
				return nil
			}
		}
		return fmt.Errorf("no RUNNING node-exporter task on dev-b")
	})
}

func testCleanup(t *testing.T) {
	if sys.c == nil {
		t.Skip("the system did not start")
	}
	_, _ = kubectl("", "delete", "ecssvc", "--all", "--wait", "--timeout", "3m")
	_, _ = kubectl("", "delete", "-f", "config/samples/", "--ignore-not-found", "--wait", "--timeout", "2m")
	_, _ = kubectl("", "delete", "ecstask", "--all", "--wait", "--timeout", "2m")
	d := framework.Eventually(t, 3*time.Minute, "every task gone", func() error {
		var l ecsv1.TaskList
		if err := sys.c.List(context.Background(), &l); err != nil {
			return err
		}
		if len(l.Items) > 0 {
			return fmt.Errorf("%d tasks left, e.g. %s (%s)", len(l.Items), l.Items[0].Name, l.Items[0].Status.LastStatus)
		}
		return nil
	})
	addReport("delete everything → every task gone: %.1f s", d.Seconds())
	framework.Eventually(t, 30*time.Second, "no leaks", func() error {
		if l := leaks(t); len(l) > 0 {
			return fmt.Errorf("left behind:\n  %s", strings.Join(l, "\n  "))
		}
		return nil
	})
}
