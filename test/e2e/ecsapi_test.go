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
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	ecsv1 "github.com/longshore-io/longshore/api/v1alpha1"
	"github.com/longshore-io/longshore/test/integration/framework"
)

// awsBin is Debian's aws CLI v2 (package awscli, hack/versions.env). The
// machine may have another aws earlier on PATH (a pyenv 1.x): the test
// runs this one by its path.
const awsBin = "/usr/bin/aws"

// ecsAPIEndpoint is where hack/dev.sh runs longshore-ecs-api.
const ecsAPIEndpoint = "https://127.0.0.1:18443"

// awscliFamily is the task definition the aws CLI registers: the awsvpc
// web server of config/samples, in ECS's JSON (what a user keeps next to
// their deploy script), with the image make dev imports into both
// instances.
const awscliFamily = "awscli-web"

func awscliTaskDefinition(greeting string) string {
	return fmt.Sprintf(`{
  "family": %q,
  "networkMode": "awsvpc",
  "requiresCompatibilities": ["EC2"],
  "cpu": "256",
  "memory": "256",
  "containerDefinitions": [
    {
      "name": "web",
      "image": "localhost/longshore/busybox:latest",
      "essential": true,
      "command": ["httpd", "-f", "-p", "8080", "-h", "/www"],
      "linuxParameters": {"initProcessEnabled": true},
      "portMappings": [{"containerPort": 8080, "protocol": "tcp"}],
      "environment": [{"name": "GREETING", "value": %q}],
      "healthCheck": {
        "command": ["CMD-SHELL", "wget -q -O /dev/null http://127.0.0.1:8080/ || exit 1"],
        "interval": 5, "timeout": 2, "retries": 2
      },
      "stopTimeout": 10
    }
  ]
}
`, awscliFamily, greeting)
}

// awsCLI runs /usr/bin/aws with the environment make dev's aws.env gives
// (the admin's access key, region, CA bundle) and nothing of the caller's
// AWS configuration.
type awsCLI struct {
	env []string
}

// newAWSCLI reads make dev's $LONGSHORE_DEV_DIR/ecs-api/aws.env, as a user
// sources it.
func newAWSCLI(t *testing.T) *awsCLI {
	t.Helper()
	if _, err := os.Stat(awsBin); err != nil {
		t.Fatalf("%s: %v (Debian's package awscli; hack/install-tools.sh apt installs it)", awsBin, err)
	}
	file := filepath.Join(devDir, "ecs-api", "aws.env")
	f, err := os.Open(file)
	if err != nil {
		t.Fatalf("make dev's access key for the ECS API: %v", err)
	}
	defer func() { _ = f.Close() }()
	vars := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(strings.TrimPrefix(line, "export "), "=")
		if !ok {
			t.Fatalf("%s: line %q is not export NAME=VALUE", file, line)
		}
		vars[k] = v
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("reading %s: %v", file, err)
	}
	for _, k := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION", "AWS_CA_BUNDLE"} {
		if vars[k] == "" {
			t.Fatalf("%s sets no %s: %v", file, k, slices.Sorted(maps.Keys(vars)))
		}
	}
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_") {
			env = append(env, kv)
		}
	}
	for k, v := range vars {
		env = append(env, k+"="+v)
	}
	// No shared config or credentials of the machine, no pager, no
	// instance metadata look-ups.
	env = append(env, "AWS_CONFIG_FILE=/nonexistent", "AWS_SHARED_CREDENTIALS_FILE=/nonexistent",
		"AWS_PAGER=", "AWS_EC2_METADATA_DISABLED=true")
	return &awsCLI{env: env}
}

// with returns a copy whose environment sets k=v.
func (a *awsCLI) with(k, v string) *awsCLI {
	env := slices.DeleteFunc(slices.Clone(a.env), func(kv string) bool { return strings.HasPrefix(kv, k+"=") })
	return &awsCLI{env: append(env, k+"="+v)}
}

// run runs `aws ecs ARGS --endpoint-url … --region … --output json`.
func (a *awsCLI) run(args ...string) (stdout, stderr string, err error) {
	region := ""
	for _, kv := range a.env {
		if v, ok := strings.CutPrefix(kv, "AWS_DEFAULT_REGION="); ok {
			region = v
		}
	}
	full := append([]string{"ecs"}, args...)
	full = append(full, "--endpoint-url", ecsAPIEndpoint, "--region", region, "--output", "json")
	cmd := exec.Command(awsBin, full...)
	cmd.Dir = sys.root
	cmd.Env = a.env
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err = cmd.Run()
	if err != nil {
		err = fmt.Errorf("aws %s: %v: %s", strings.Join(full, " "), err, strings.TrimSpace(errb.String()))
	}
	return out.String(), errb.String(), err
}

// must runs the CLI and decodes its JSON answer into v (v nil: no answer
// expected, as of the waiters).
func (a *awsCLI) must(t *testing.T, v any, args ...string) {
	t.Helper()
	out, _, err := a.run(args...)
	if err != nil {
		t.Fatal(err)
	}
	if v == nil {
		return
	}
	if err := json.Unmarshal([]byte(out), v); err != nil {
		t.Fatalf("aws ecs %s: decoding %q: %v", args[0], out, err)
	}
}

// The parts of the CLI's answers the test reads, as ECS names them.
type (
	cliKV         struct{ Name, Value string }
	cliAttachment struct {
		Type    string
		Status  string
		Details []cliKV
	}
	cliContainer struct {
		Name              string
		Image             string
		LastStatus        string
		NetworkInterfaces []struct {
			PrivateIpv4Address string `json:"privateIpv4Address"`
		}
	}
	cliTask struct {
		TaskArn           string
		TaskDefinitionArn string
		ClusterArn        string
		LastStatus        string
		DesiredStatus     string
		StopCode          string
		StoppedReason     string
		StartedBy         string
		Group             string
		Attachments       []cliAttachment
		Containers        []cliContainer
	}
	cliFailure    struct{ Arn, Reason, Detail string }
	cliDeployment struct {
		Status         string
		TaskDefinition string
		RolloutState   string
		DesiredCount   int
		RunningCount   int
	}
	cliService struct {
		ServiceArn     string
		ServiceName    string
		Status         string
		TaskDefinition string
		DesiredCount   int
		RunningCount   int
		Deployments    []cliDeployment
	}
)

// taskID is the last part of a task ARN (…:task/<cluster>/<id>).
func taskID(arn string) string { return arn[strings.LastIndex(arn, "/")+1:] }

// kubectlTasks lists the Tasks of namespace default with kubectl.
func kubectlTasks(t *testing.T) []ecsv1.Task {
	t.Helper()
	var l ecsv1.TaskList
	if err := json.Unmarshal([]byte(mustKubectl(t, "", "get", "ecstask", "-n", "default", "-o", "json")), &l); err != nil {
		t.Fatalf("decoding kubectl get ecstask: %v", err)
	}
	return l.Items
}

// familyTasks counts the Tasks kubectl shows of a family's revisions.
func familyTasks(t *testing.T, family string) int {
	t.Helper()
	n := 0
	for _, task := range kubectlTasks(t) {
		if strings.HasPrefix(task.Spec.TaskDefinition, family+":") || task.Spec.TaskDefinition == family {
			n++
		}
	}
	return n
}

// kubectlTaskByID finds the Task the ECS task id names: its UID without
// dashes (docs/ecs-api.md, "Mapping").
func kubectlTaskByID(t *testing.T, id string) *ecsv1.Task {
	t.Helper()
	tasks := kubectlTasks(t)
	for i := range tasks {
		if strings.ReplaceAll(string(tasks[i].UID), "-", "") == id {
			return &tasks[i]
		}
	}
	t.Fatalf("kubectl get ecstask shows no Task of ECS task id %s", id)
	return nil
}

// kubectlECS is `kubectl get ecs -n default -o name`: every Longshore object
// a user sees, by kind and name.
func kubectlECS(t *testing.T) []string {
	t.Helper()
	return strings.Fields(mustKubectl(t, "", "get", "ecs", "-n", "default", "-o", "name"))
}

func wantECS(t *testing.T, step string, want ...string) {
	t.Helper()
	have := kubectlECS(t)
	for _, w := range want {
		if !slices.Contains(have, w) {
			t.Errorf("after %s: kubectl get ecs shows no %s (it shows %v)", step, w, have)
		}
	}
}

// testAWSCLI drives make dev's ECS API with Debian's aws CLI as an ECS
// user's deploy script would, and checks after each step that kubectl
// shows the same objects.
func testAWSCLI(t *testing.T) {
	aws := newAWSCLI(t)
	steps := time.Now()
	step := func(what string) {
		addReport("aws CLI: %-58s %.1f s", what, time.Since(steps).Seconds())
		steps = time.Now()
	}
	dir := t.TempDir()
	tdFile := func(greeting string) string {
		f := filepath.Join(dir, greeting+".json")
		if err := os.WriteFile(f, []byte(awscliTaskDefinition(greeting)), 0o644); err != nil {
			t.Fatal(err)
		}
		return "file://" + f
	}

	// register-task-definition: revision 1, the CRDs' TaskDefinition and revision.
	var reg struct {
		TaskDefinition struct {
			TaskDefinitionArn string
			Family            string
			Revision          int
			Status            string
		}
	}
	aws.must(t, &reg, "register-task-definition", "--cli-input-json", tdFile("v1"))
	step("register-task-definition (file://, awsvpc web)")
	rev1 := reg.TaskDefinition
	if rev1.Family != awscliFamily || rev1.Status != "ACTIVE" || !strings.HasSuffix(rev1.TaskDefinitionArn, ":task-definition/"+awscliFamily+":"+fmt.Sprint(rev1.Revision)) {
		t.Fatalf("register-task-definition answered %+v", rev1)
	}
	rev1Name := fmt.Sprintf("%s:%d", awscliFamily, rev1.Revision)
	wantECS(t, "register-task-definition", "taskdefinition.ecs.longshore.io/"+awscliFamily,
		fmt.Sprintf("taskdefinitionrevision.ecs.longshore.io/%s-%d", awscliFamily, rev1.Revision))

	// run-task: one Task, RUNNING after the waiter, its address from describe-tasks.
	var run struct {
		Tasks    []cliTask
		Failures []cliFailure
	}
	aws.must(t, &run, "run-task", "--cluster", "default", "--task-definition", rev1Name, "--count", "1",
		"--started-by", "e2e-awscli", "--network-configuration", "awsvpcConfiguration={subnets=[subnet-local],assignPublicIp=DISABLED}")
	if len(run.Tasks) != 1 || len(run.Failures) != 0 {
		t.Fatalf("run-task answered %d tasks and failures %+v", len(run.Tasks), run.Failures)
	}
	taskArn := run.Tasks[0].TaskArn
	step("run-task")
	task := kubectlTaskByID(t, taskID(taskArn))
	if task.Status.TaskDefinitionRevision != "" && task.Status.TaskDefinitionRevision != rev1Name {
		t.Errorf("kubectl: Task %s runs %s, want %s", task.Name, task.Status.TaskDefinitionRevision, rev1Name)
	}
	if task.Spec.StartedBy != "e2e-awscli" {
		t.Errorf("kubectl: Task %s startedBy %q, want e2e-awscli", task.Name, task.Spec.StartedBy)
	}
	wantECS(t, "run-task", "task.ecs.longshore.io/"+task.Name)

	aws.must(t, nil, "wait", "tasks-running", "--cluster", "default", "--tasks", taskArn)
	step("wait tasks-running")
	if err := isRunning(getTask(t, task.Name)); err != nil {
		t.Fatalf("the waiter returned, kubectl shows Task %s %v", task.Name, err)
	}

	var desc struct {
		Tasks    []cliTask
		Failures []cliFailure
	}
	aws.must(t, &desc, "describe-tasks", "--cluster", "default", "--tasks", taskArn)
	step("describe-tasks")
	if len(desc.Tasks) != 1 || len(desc.Failures) != 0 {
		t.Fatalf("describe-tasks answered %d tasks and failures %+v", len(desc.Tasks), desc.Failures)
	}
	dt := desc.Tasks[0]
	if dt.LastStatus != "RUNNING" || dt.TaskDefinitionArn != rev1.TaskDefinitionArn {
		t.Errorf("describe-tasks: lastStatus %s, taskDefinitionArn %s; want RUNNING and %s", dt.LastStatus, dt.TaskDefinitionArn, rev1.TaskDefinitionArn)
	}
	// The address as deploy scripts read it, with the CLI's own query, by
	// ECS's attachment type.
	q, _, err := aws.run("describe-tasks", "--cluster", "default", "--tasks", taskArn,
		"--query", "tasks[0].attachments[?type=='ElasticNetworkInterface'] | [0].details[?name=='privateIPv4Address'].value | [0]")
	if err != nil {
		t.Fatal(err)
	}
	var ip string
	if err := json.Unmarshal([]byte(q), &ip); err != nil || ip == "" {
		t.Fatalf("describe-tasks --query …privateIPv4Address answered %q (%v); attachments %+v", q, err, dt.Attachments)
	}
	if len(dt.Attachments) != 1 || dt.Attachments[0].Type != "ElasticNetworkInterface" {
		t.Errorf("describe-tasks: attachments %+v, want one of type ElasticNetworkInterface, as ECS answers", dt.Attachments)
	}
	if len(dt.Containers) != 1 || len(dt.Containers[0].NetworkInterfaces) != 1 || dt.Containers[0].NetworkInterfaces[0].PrivateIpv4Address != ip {
		t.Errorf("describe-tasks: the container's networkInterfaces %+v do not carry the attachment's address %s", dt.Containers, ip)
	}
	if k := taskIP(getTask(t, task.Name)); k != ip {
		t.Errorf("describe-tasks says the task's address is %s, kubectl says %s", ip, k)
	}
	answers(t, "the task aws ecs run-task started", fmt.Sprintf("http://%s:%d/", ip, webPort))
	step("the task's address answers HTTP")

	// A wrong secret key: refused as AWS refuses it, and nothing runs.
	before := familyTasks(t, awscliFamily)
	out, stderr, err := aws.with("AWS_SECRET_ACCESS_KEY", "wrong"+strings.Repeat("x", 35)).run(
		"run-task", "--cluster", "default", "--task-definition", rev1Name)
	if err == nil {
		t.Errorf("run-task signed with a wrong secret key succeeded: %s", out)
	} else if !strings.Contains(stderr, "InvalidSignatureException") {
		t.Errorf("run-task signed with a wrong secret key: want InvalidSignatureException, got: %v", err)
	}
	if after := familyTasks(t, awscliFamily); after != before {
		t.Errorf("a refused run-task changed the Tasks of %s: %d before, %d after", awscliFamily, before, after)
	}
	addReport("aws CLI: a wrong secret key → %s", strings.TrimSpace(stderr))
	steps = time.Now()

	// create-service, services-stable: two tasks of revision 1 answering.
	var svc struct{ Service cliService }
	aws.must(t, &svc, "create-service", "--cluster", "default", "--service-name", awscliFamily, "--task-definition", rev1Name,
		"--desired-count", "2", "--network-configuration", "awsvpcConfiguration={subnets=[subnet-local],assignPublicIp=DISABLED}")
	if svc.Service.ServiceName != awscliFamily || svc.Service.Status != "ACTIVE" || svc.Service.DesiredCount != 2 {
		t.Fatalf("create-service answered %+v", svc.Service)
	}
	step("create-service (2 tasks)")
	wantECS(t, "create-service", "service.ecs.longshore.io/"+awscliFamily)

	aws.must(t, nil, "wait", "services-stable", "--cluster", "default", "--services", awscliFamily)
	step("wait services-stable")
	var stable struct {
		Services []cliService
		Failures []cliFailure
	}
	aws.must(t, &stable, "describe-services", "--cluster", "default", "--services", awscliFamily)
	if len(stable.Services) != 1 || stable.Services[0].DesiredCount != 2 || stable.Services[0].RunningCount != 2 ||
		len(stable.Services[0].Deployments) != 1 {
		t.Errorf("describe-services after services-stable: %+v, failures %+v; want desiredCount and runningCount 2, one deployment",
			stable.Services, stable.Failures)
	}
	if err := steady(awscliFamily, 2, rev1Name, false); err != nil {
		t.Errorf("services-stable returned, kubectl shows service %s: %v", awscliFamily, err)
	}

	// A new revision (the environment changed), update-service to it, stable again.
	aws.must(t, &reg, "register-task-definition", "--cli-input-json", tdFile("v2"))
	rev2 := reg.TaskDefinition
	if rev2.Revision <= rev1.Revision {
		t.Fatalf("the second register-task-definition answered revision %d after %d", rev2.Revision, rev1.Revision)
	}
	rev2Name := fmt.Sprintf("%s:%d", awscliFamily, rev2.Revision)
	step("register-task-definition (GREETING changed)")
	wantECS(t, "the second register-task-definition", fmt.Sprintf("taskdefinitionrevision.ecs.longshore.io/%s-%d", awscliFamily, rev2.Revision))

	aws.must(t, &svc, "update-service", "--cluster", "default", "--service", awscliFamily, "--task-definition", rev2Name)
	// ECS answers the service with the new taskDefinition and its new
	// PRIMARY deployment at once, so that a waiter started next waits for
	// that deployment.
	if svc.Service.TaskDefinition != rev2.TaskDefinitionArn {
		t.Errorf("update-service answered taskDefinition %s, want %s (ECS answers the new one)", svc.Service.TaskDefinition, rev2.TaskDefinitionArn)
	}
	step("update-service to the new revision")
	aws.must(t, nil, "wait", "services-stable", "--cluster", "default", "--services", awscliFamily)
	step("wait services-stable (rolled)")
	var descSvc struct {
		Services []cliService
		Failures []cliFailure
	}
	aws.must(t, &descSvc, "describe-services", "--cluster", "default", "--services", awscliFamily)
	if len(descSvc.Services) != 1 || len(descSvc.Services[0].Deployments) == 0 ||
		descSvc.Services[0].Deployments[0].Status != "PRIMARY" || descSvc.Services[0].Deployments[0].TaskDefinition != rev2.TaskDefinitionArn {
		t.Errorf("describe-services after the roll: %+v, failures %+v", descSvc.Services, descSvc.Failures)
	}
	// services-stable holds at one deployment with runningCount ==
	// desiredCount; the old tasks may still be stopping (as on ECS).
	framework.Eventually(t, time.Minute, "kubectl: service "+awscliFamily+" on "+rev2Name, func() error {
		return steady(awscliFamily, 2, rev2Name, false)
	})

	// delete-service --force: DRAINING, then gone with its tasks.
	aws.must(t, &svc, "delete-service", "--cluster", "default", "--service", awscliFamily, "--force")
	if svc.Service.Status != "DRAINING" {
		t.Errorf("delete-service answered status %s, want DRAINING", svc.Service.Status)
	}
	step("delete-service --force")
	framework.Eventually(t, 2*time.Minute, "kubectl: service "+awscliFamily+" and its tasks gone", func() error {
		out, err := kubectl("", "get", "ecssvc", awscliFamily, "-n", "default", "--ignore-not-found", "-o", "name")
		if err != nil {
			return err
		}
		if strings.TrimSpace(out) != "" {
			return fmt.Errorf("%s still there", strings.TrimSpace(out))
		}
		tasks, err := serviceTasks(awscliFamily)
		if err != nil {
			return err
		}
		if len(tasks) > 0 {
			return fmt.Errorf("%d tasks of the service left, e.g. %s (%s)", len(tasks), tasks[0].Name, tasks[0].Status.LastStatus)
		}
		return nil
	})
	step("the Service and its tasks gone (kubectl)")
	// As on ECS, the deleted service reads INACTIVE for a while.
	aws.must(t, nil, "wait", "services-inactive", "--cluster", "default", "--services", awscliFamily)
	step("wait services-inactive")
	aws.must(t, &descSvc, "describe-services", "--cluster", "default", "--services", awscliFamily)
	if len(descSvc.Services) != 1 || descSvc.Services[0].Status != "INACTIVE" {
		t.Errorf("describe-services after delete-service: %+v, want it INACTIVE", descSvc.Services)
	}

	// stop-task, tasks-stopped: the standalone task stops as the user asked.
	aws.must(t, nil, "stop-task", "--cluster", "default", "--task", taskArn, "--reason", "e2e: done with it")
	step("stop-task")
	aws.must(t, nil, "wait", "tasks-stopped", "--cluster", "default", "--tasks", taskArn)
	step("wait tasks-stopped")
	aws.must(t, &desc, "describe-tasks", "--cluster", "default", "--tasks", taskArn)
	if len(desc.Tasks) != 1 || desc.Tasks[0].LastStatus != "STOPPED" || desc.Tasks[0].StopCode != "UserInitiated" ||
		desc.Tasks[0].StoppedReason != "e2e: done with it" {
		t.Errorf("describe-tasks after stop-task: %+v", desc.Tasks)
	}
	stopped := getTask(t, task.Name)
	if err := isStopped(stopped); err != nil || stopped.Status.StopCode != ecsv1.StopCodeUserInitiated {
		t.Errorf("kubectl after tasks-stopped: Task %s %v, stop code %s", task.Name, err, stopped.Status.StopCode)
	}

	mustKubectl(t, "", "delete", "ecstask", task.Name, "-n", "default", "--wait", "--timeout", "2m")
	mustKubectl(t, "", "delete", "td", awscliFamily, "-n", "default", "--wait", "--timeout", "2m")
}
