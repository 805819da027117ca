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

package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ecsv1 "github.com/longshore-io/longshore/api/v1alpha1"
	"github.com/longshore-io/longshore/internal/network"
	lsruntime "github.com/longshore-io/longshore/internal/runtime"
	"github.com/longshore-io/longshore/internal/scheduler"
)

// start brings the task up: images, network, files, containers in
// dependsOn order; then it reports what runs.
func (t *taskRun) start(ctx context.Context) (ctrl.Result, error) {
	r, task := t.r, t.task
	td := withFireLensDependencies(&t.rev.Spec.TaskDefinition)
	defs := td.ContainerDefinitions

	// A container the runtime no longer has (host reboot, containerd state
	// wiped) is not silently re-created: the task stops.
	for _, cs := range t.status.Containers {
		if _, ok := t.containers[cs.Name]; !ok && cs.RuntimeID != "" {
			if next, ok := t.pendingRestart(cs.Name); ok {
				// The agent stopped between removing the exited attempt
				// and creating the next one: create it now.
				if t.nextAttempt == nil {
					t.nextAttempt = map[string]int{}
				}
				t.nextAttempt[cs.Name] = next
				continue
			}
			return ctrl.Result{}, t.fail(ctx, ecsv1.StopCodeInfrastructureHealth,
				fmt.Sprintf("Container %s (%s) disappeared from the container runtime (host or containerd restart)", cs.Name, cs.RuntimeID))
		}
	}

	// 0. The Cluster's security policy, before anything is pulled or
	// created. The scheduler checked it for the tasks it placed; a task
	// bound by its creator (ECS StartTask) meets it here first. A task
	// that already started is not stopped by a policy changed since.
	if t.status.PullStartedAt == nil {
		if msg, err := t.policyViolation(ctx, td); err != nil {
			return ctrl.Result{}, err
		} else if msg != "" {
			return ctrl.Result{}, t.fail(ctx, ecsv1.StopCodeTaskFailedToStart, msg)
		}
	}

	// 1. Images, once (pullStoppedAt marks them done).
	if t.status.PullStoppedAt == nil {
		if t.status.PullStartedAt == nil {
			t.status.PullStartedAt = t.now()
		}
		for i := range defs {
			auth, err := t.registryAuth(ctx, &defs[i])
			if err != nil {
				var ue *userError
				if errorsAs(err, &ue) {
					return ctrl.Result{}, t.fail(ctx, ecsv1.StopCodeTaskFailedToStart, fmt.Sprintf("CannotPullContainerError: %s: %v", defs[i].Image, err))
				}
				return ctrl.Result{}, err
			}
			if _, err := r.Runtime.EnsureImage(ctx, defs[i].Image, r.PullPolicy, auth); err != nil {
				return ctrl.Result{}, t.fail(ctx, ecsv1.StopCodeTaskFailedToStart,
					fmt.Sprintf("CannotPullContainerError: %s: %v", defs[i].Image, err))
			}
		}
		t.status.PullStoppedAt = t.now()
	}

	// 2. Network.
	netns, bindings, err := t.setupNetwork(ctx, td)
	if err != nil {
		return ctrl.Result{}, t.fail(ctx, ecsv1.StopCodeTaskFailedToStart, "ResourceInitializationError: "+err.Error())
	}

	// 3. Restart what the restart policy restarts, then create what is missing.
	if err := t.applyRestartPolicies(ctx, defs); err != nil {
		return ctrl.Result{}, err
	}
	if err := t.createContainers(ctx, td, netns); err != nil {
		var ue *userError
		if errorsAs(err, &ue) {
			return ctrl.Result{}, t.fail(ctx, ecsv1.StopCodeTaskFailedToStart, ue.Error())
		}
		return ctrl.Result{}, err
	}
	if err := t.observeContainers(ctx); err != nil {
		return ctrl.Result{}, err
	}

	// 4. Start what may start.
	since, _ := r.activating.LoadOrStore(string(task.UID), r.Clock.Now())
	obs := t.observed(defs)
	plan := planStart(obs, since.(time.Time), r.Clock.Now())
	if plan.Stop != nil {
		t.reportContainers(byNameDefs(defs))
		return ctrl.Result{}, t.fail(ctx, plan.Stop.Code, plan.Stop.Reason)
	}
	t.advance(ecsv1.TaskActivating)
	for _, name := range plan.Start {
		c := t.containers[name]
		if err := r.Runtime.Start(ctx, c.ID); err != nil {
			reason := fmt.Sprintf("CannotStartContainerError: container %s: %v", name, err)
			if d := byNameDefs(defs)[name]; d != nil && !d.IsEssential() {
				// As ECS: a non-essential container that cannot start is
				// STOPPED with the reason; the task goes on without it.
				t.log.Info("A non-essential container could not start; the task goes on without it", "container", name, "error", err.Error())
				if werr := t.markStartFailed(name, reason); werr != nil {
					return ctrl.Result{}, werr
				}
				r.event(task, corev1.EventTypeWarning, "ContainerStartFailed", reason)
				continue
			}
			t.reportContainers(byNameDefs(defs))
			return ctrl.Result{}, t.fail(ctx, ecsv1.StopCodeTaskFailedToStart, reason)
		}
		t.markStarted(name)
	}
	if len(plan.Start) > 0 {
		if err := t.observeContainers(ctx); err != nil {
			return ctrl.Result{}, err
		}
		obs = t.observed(defs)
		plan = planStart(obs, since.(time.Time), r.Clock.Now())
		if plan.Stop != nil {
			t.reportContainers(byNameDefs(defs))
			return ctrl.Result{}, t.fail(ctx, plan.Stop.Code, plan.Stop.Reason)
		}
	}

	// 5. Health checks for running containers.
	for i := range defs {
		c, ok := t.containers[defs[i].Name]
		if ok && c.State == lsruntime.StateRunning && defs[i].HealthCheck != nil {
			r.health.Ensure(ctx, task, defs[i].HealthCheck, healthTarget{ContainerID: c.ID, NetNSPath: netns[defs[i].Name]})
		}
	}

	// 6. Report.
	t.reportContainers(byNameDefs(defs))
	for i := range t.status.Containers {
		if b, ok := bindings[t.status.Containers[i].Name]; ok {
			t.status.Containers[i].NetworkBindings = b
		}
	}
	t.status.HealthStatus = plan.Health
	if plan.Running {
		if t.status.LastStatus != ecsv1.TaskRunning {
			r.event(task, corev1.EventTypeNormal, "Running", "Task is running")
			t.log.Info("Task running")
		}
		t.advance(ecsv1.TaskRunning)
		if t.status.StartedAt == nil {
			t.status.StartedAt = t.now()
		}
	}
	ready := metav1.Condition{Type: ecsv1.ConditionReady, Status: metav1.ConditionFalse, Reason: string(t.status.LastStatus),
		Message: "Waiting for containers: " + strings.Join(plan.Waiting, ", "), ObservedGeneration: task.Generation}
	if plan.Running {
		ready.Status, ready.Reason, ready.Message = metav1.ConditionTrue, ecsv1.ReasonRunning, "Every container started"
		if plan.Health == ecsv1.HealthUnhealthy {
			ready.Status, ready.Reason, ready.Message = metav1.ConditionFalse, ecsv1.ReasonUnhealthy, "An essential container failed its health check"
		}
	}
	apimeta.SetStatusCondition(&t.status.Conditions, ready)

	// Waiting for a startTimeout: come back when it passes.
	for _, name := range plan.Waiting {
		if d := byNameDefs(defs)[name]; d.StartTimeout != nil {
			left := time.Duration(*d.StartTimeout)*time.Second - r.Clock.Since(since.(time.Time))
			return ctrl.Result{RequeueAfter: max(left, time.Second)}, nil
		}
	}
	return ctrl.Result{}, nil
}

func byNameDefs(defs []ecsv1.ContainerDefinition) map[string]*ecsv1.ContainerDefinition {
	m := make(map[string]*ecsv1.ContainerDefinition, len(defs))
	for i := range defs {
		m[defs[i].Name] = &defs[i]
	}
	return m
}

func (t *taskRun) observed(defs []ecsv1.ContainerDefinition) []observed {
	out := make([]observed, 0, len(defs))
	for i := range defs {
		o := observed{Def: &defs[i], Health: ecsv1.HealthUnknown}
		if c, ok := t.containers[defs[i].Name]; ok {
			o.Exists, o.State, o.ExitCode, o.OOMKilled = true, c.State, c.ExitCode, c.OOMKilled
			o.Health = t.r.health.Status(c.ID)
		}
		o.StartFailed = t.startFailed(defs[i].Name)
		out = append(out, o)
	}
	return out
}

// startFailedMarker records, in the task directory, that a non-essential
// container could not start, so that later passes neither retry it nor
// wait for it (the containerd container stays, created, until cleanup).
func (t *taskRun) startFailedMarker(name string) string {
	return filepath.Join(t.r.taskDir(t.task), "start-failed-"+name)
}

func (t *taskRun) markStartFailed(name, reason string) error {
	if err := os.MkdirAll(t.r.taskDir(t.task), 0o700); err != nil {
		return err
	}
	return os.WriteFile(t.startFailedMarker(name), []byte(reason), 0o600)
}

// startFailed is the reason a container could not start, or "".
func (t *taskRun) startFailed(name string) string {
	b, err := os.ReadFile(t.startFailedMarker(name))
	if err != nil {
		return ""
	}
	return string(b)
}

// markStarted records a container's start time in the status.
func (t *taskRun) markStarted(name string) {
	for i := range t.status.Containers {
		if t.status.Containers[i].Name == name {
			t.status.Containers[i].StartedAt = t.now()
			return
		}
	}
	t.status.Containers = append(t.status.Containers, ecsv1.ContainerStatus{Name: name, StartedAt: t.now()})
}

// reportContainers rebuilds status.containers from the runtime, keeping the
// times the agent recorded.
func (t *taskRun) reportContainers(defs map[string]*ecsv1.ContainerDefinition) {
	prev := map[string]ecsv1.ContainerStatus{}
	for _, c := range t.status.Containers {
		prev[c.Name] = c
	}
	var names []string
	if t.rev != nil {
		for _, d := range t.rev.Spec.TaskDefinition.ContainerDefinitions {
			names = append(names, d.Name)
		}
	} else {
		for n := range t.containers {
			names = append(names, n)
		}
	}
	out := make([]ecsv1.ContainerStatus, 0, len(names))
	for _, name := range names {
		cs := prev[name]
		cs.Name = name
		if cs.LastStatus == "" {
			cs.LastStatus = ecsv1.ContainerPending
		}
		if c, ok := t.containers[name]; ok {
			cs.RuntimeID = c.ID
			cs.ImageDigest = c.ImageDigest
			cs.RestartCount = int32(attempt(c))
			switch c.State {
			case lsruntime.StateRunning:
				cs.LastStatus = ecsv1.ContainerRunning
				if cs.StartedAt == nil {
					cs.StartedAt = t.now()
				}
			case lsruntime.StateStopped:
				cs.LastStatus = ecsv1.ContainerStopped
				code := c.ExitCode
				cs.ExitCode = &code
				if !c.ExitedAt.IsZero() {
					at := metav1.NewTime(c.ExitedAt)
					cs.FinishedAt = &at
				} else if cs.FinishedAt == nil {
					cs.FinishedAt = t.now()
				}
				switch {
				case c.OOMKilled:
					cs.Reason = "OutOfMemoryError: Container killed due to memory usage"
				case cs.Reason == "" && code != 0:
					cs.Reason = fmt.Sprintf("Exited with code %d", code)
				}
			}
			if d := defs[name]; d != nil && d.HealthCheck != nil && c.State == lsruntime.StateRunning {
				cs.HealthStatus = t.r.health.Status(c.ID)
			}
		} else if ecsv1.PhaseIndex(t.status.LastStatus) >= ecsv1.PhaseIndex(ecsv1.TaskDeactivating) {
			cs.LastStatus = ecsv1.ContainerStopped
		}
		if why := t.startFailed(name); why != "" {
			cs.LastStatus, cs.Reason, cs.ExitCode = ecsv1.ContainerStopped, why, nil
		}
		out = append(out, cs)
	}
	t.status.Containers = out
}

// applyRestartPolicies replaces exited containers whose restartPolicy says
// so (ECS rules): the exit code is not ignored, and the container ran at
// least restartAttemptPeriod (one restart per period at most; a container
// that exits sooner is not restarted). The new attempt is created by
// createContainers and started by the plan.
func (t *taskRun) applyRestartPolicies(ctx context.Context, defs []ecsv1.ContainerDefinition) error {
	for i := range defs {
		d := &defs[i]
		rp := d.RestartPolicy
		c, ok := t.containers[d.Name]
		if rp == nil || !rp.Enabled || !ok || c.State != lsruntime.StateStopped {
			continue
		}
		if slices.Contains(rp.IgnoredExitCodes, c.ExitCode) {
			continue
		}
		var started *metav1.Time
		for _, cs := range t.status.Containers {
			if cs.Name == d.Name {
				started = cs.StartedAt
			}
		}
		period := time.Duration(max(rp.RestartAttemptPeriod, 60)) * time.Second
		exited := c.ExitedAt
		if exited.IsZero() {
			exited = t.r.Clock.Now()
		}
		if started == nil || exited.Sub(started.Time) < period {
			continue
		}
		next := attempt(c) + 1
		// Keep what the exit was before the container is replaced.
		t.reportContainers(byNameDefs(defs))
		t.log.Info("Restarting container by its restart policy", "container", d.Name, "exitCode", c.ExitCode, "restartCount", next)
		t.r.health.Stop(c.ID)
		// Recorded first: an agent restart between the delete and the
		// create finds the restart to finish, not a vanished container.
		if err := t.recordRestart(d.Name, next); err != nil {
			return err
		}
		if err := t.r.Runtime.Delete(ctx, c.ID); err != nil {
			return err
		}
		delete(t.containers, d.Name)
		if t.nextAttempt == nil {
			t.nextAttempt = map[string]int{}
		}
		t.nextAttempt[d.Name] = next
		t.r.event(t.task, corev1.EventTypeNormal, "Restarted",
			fmt.Sprintf("Container %s exited with code %d and was restarted by its restart policy (restart %d)", d.Name, c.ExitCode, next))
	}
	return nil
}

// setupNetwork creates the task's network: one namespace for awsvpc and
// none, one per container for bridge, none for host. It returns each
// container's namespace path and published ports.
func (t *taskRun) setupNetwork(ctx context.Context, td *ecsv1.TaskDefinitionSpec) (map[string]string, map[string][]ecsv1.NetworkBinding, error) {
	r, task := t.r, t.task
	netns := map[string]string{}
	bindings := map[string][]ecsv1.NetworkBinding{}
	labels := map[string]string{"task": task.Namespace + "/" + task.Name}
	switch td.NetworkMode {
	case ecsv1.NetworkModeHost:
		for _, d := range td.ContainerDefinitions {
			for _, p := range d.PortMappings {
				if _, exists := t.containers[d.Name]; !exists {
					if err := hostPortFree(p.ContainerPort, string(p.Protocol)); err != nil {
						return nil, nil, fmt.Errorf("container %s: %w", d.Name, err)
					}
				}
				bindings[d.Name] = append(bindings[d.Name], ecsv1.NetworkBinding{BindIP: "0.0.0.0",
					ContainerPort: p.ContainerPort, HostPort: p.ContainerPort, Protocol: p.Protocol})
			}
		}
		return netns, bindings, nil
	case ecsv1.NetworkModeAWSVPC, ecsv1.NetworkModeNone:
		mode := network.ModeAWSVPC
		if td.NetworkMode == ecsv1.NetworkModeNone {
			mode = network.ModeNone
		}
		cniConfig, err := t.clusterCNIConfig(ctx)
		if err != nil {
			return nil, nil, err
		}
		req := network.SetupRequest{ID: string(task.UID), Mode: mode, CNIConfig: cniConfig, Labels: labels}
		if mode == network.ModeAWSVPC {
			if req.Proxy, err = proxyRedirect(td.ProxyConfiguration); err != nil {
				return nil, nil, err
			}
		}
		att, err := r.Network.Setup(ctx, req)
		if err != nil {
			return nil, nil, err
		}
		for _, d := range td.ContainerDefinitions {
			netns[d.Name] = att.NetNSPath
			for _, p := range d.PortMappings {
				bindings[d.Name] = append(bindings[d.Name], ecsv1.NetworkBinding{BindIP: att.IPv4,
					ContainerPort: p.ContainerPort, HostPort: p.ContainerPort, Protocol: p.Protocol})
			}
		}
		if mode == network.ModeAWSVPC {
			t.status.Attachments = []ecsv1.Attachment{{Type: "NetworkInterface", Status: "ATTACHED", Details: ecsv1.AttachmentDetails{
				IPv4Address: att.IPv4, MACAddress: att.MAC, InterfaceName: att.Interface, Subnet: att.Subnet, Gateway: att.Gateway}}}
		}
		return netns, bindings, nil
	default: // bridge
		t.bridgeIPs = map[string]string{}
		for _, d := range td.ContainerDefinitions {
			req := network.SetupRequest{ID: string(task.UID) + "-" + d.Name, Mode: network.ModeBridge, Labels: labels}
			if d.DisableNetworking != nil && *d.DisableNetworking {
				// Loopback only: a namespace of its own, on no bridge.
				req.Mode = network.ModeNone
			}
			for _, p := range d.PortMappings {
				hp := int32(0)
				if p.HostPort != nil {
					hp = *p.HostPort
				}
				req.PortMappings = append(req.PortMappings, network.PortMapping{ContainerPort: p.ContainerPort, HostPort: hp, Protocol: string(p.Protocol)})
			}
			att, err := r.Network.Setup(ctx, req)
			if err != nil {
				return nil, nil, fmt.Errorf("container %s: %w", d.Name, err)
			}
			netns[d.Name] = att.NetNSPath
			if att.IPv4 != "" {
				t.bridgeIPs[d.Name] = att.IPv4
			}
			for _, b := range att.Bindings {
				bindings[d.Name] = append(bindings[d.Name], ecsv1.NetworkBinding{BindIP: orAll(b.HostIP),
					ContainerPort: b.ContainerPort, HostPort: b.HostPort, Protocol: ecsv1.TransportProtocol(b.Protocol)})
			}
		}
		return netns, bindings, nil
	}
}

// hostPortFree checks that nothing on the host holds port/proto.
func hostPortFree(port int32, proto string) error {
	addr := fmt.Sprintf("0.0.0.0:%d", port)
	if proto == string(ecsv1.ProtocolUDP) {
		c, err := net.ListenPacket("udp", addr)
		if err != nil {
			return fmt.Errorf("host port %d/udp is already in use on the host", port)
		}
		return c.Close()
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("host port %d/tcp is already in use on the host", port)
	}
	return l.Close()
}

func orAll(ip string) string {
	if ip == "" {
		return "0.0.0.0"
	}
	return ip
}

func (t *taskRun) cluster(ctx context.Context) (*ecsv1.Cluster, error) {
	cl := &ecsv1.Cluster{}
	err := t.r.APIReader.Get(ctx, client.ObjectKey{Name: t.task.Spec.Cluster}, cl)
	if apierrors.IsNotFound(err) {
		return &ecsv1.Cluster{}, nil // defaults: the strictest policy
	}
	return cl, err
}

// policyViolation says why the task's Cluster refuses the task, "" when
// it allows it.
func (t *taskRun) policyViolation(ctx context.Context, td *ecsv1.TaskDefinitionSpec) (string, error) {
	cl, err := t.cluster(ctx)
	if err != nil {
		return "", err
	}
	reqs, err := scheduler.TaskRequirements(td, t.task.Spec.Overrides)
	if err != nil {
		return err.Error(), nil
	}
	policy := scheduler.Policy{Security: cl.Spec.Security, Namespaces: cl.Spec.Namespaces}
	if _, msg := policy.Check(t.task.Namespace, &reqs); msg != "" {
		return fmt.Sprintf("Cluster %s refuses the task: %s", t.task.Spec.Cluster, msg), nil
	}
	return "", nil
}

func (t *taskRun) clusterCNIConfig(ctx context.Context) (string, error) {
	cl, err := t.cluster(ctx)
	if err != nil {
		return "", err
	}
	return cl.Spec.TaskNetwork.CNIConfig, nil
}

// userError is a problem with the task's input that retrying cannot fix:
// the task stops with TaskFailedToStart and this message.
type userError struct{ msg string }

func (e *userError) Error() string { return e.msg }

func userErrorf(format string, a ...any) error { return &userError{msg: fmt.Sprintf(format, a...)} }

// createContainers writes the task's files and creates every container
// that does not exist yet.
func (t *taskRun) createContainers(ctx context.Context, td *ecsv1.TaskDefinitionSpec, netns map[string]string) error {
	r, task := t.r, t.task
	missing := false
	for _, d := range td.ContainerDefinitions {
		if _, ok := t.containers[d.Name]; !ok {
			missing = true
		}
	}
	if !missing {
		return nil
	}
	dir := r.taskDir(task)
	cpu, mem, err := taskLimits(task, td)
	if err != nil {
		return userErrorf("%v", err)
	}
	if err := r.Cgroups.Ensure(cgroupParent(task), cpu, mem); err != nil {
		return err
	}
	volumeDirs, err := t.prepareVolumes(ctx, td, dir)
	if err != nil {
		return err
	}
	fireLens, err := t.prepareFireLens(ctx, td)
	if err != nil {
		return err
	}
	hostResolv, _ := os.ReadFile("/etc/resolv.conf")
	for i := range td.ContainerDefinitions {
		d := &td.ContainerDefinitions[i]
		if _, ok := t.containers[d.Name]; ok {
			continue
		}
		secretEnv, err := t.secretEnv(ctx, d)
		if err != nil {
			return err
		}
		fileEnv, err := t.fileEnv(ctx, d)
		if err != nil {
			return err
		}
		etc := filepath.Join(dir, "etc", d.Name)
		if err := os.MkdirAll(etc, 0o755); err != nil {
			return err
		}
		hostname := d.Hostname
		if hostname == "" {
			if netns[d.Name] == "" {
				hostname, _ = os.Hostname()
			} else {
				hostname = shortHostname(task)
			}
		}
		ip := ""
		if len(t.status.Attachments) > 0 {
			ip = t.status.Attachments[0].Details.IPv4Address
		}
		if ip == "" {
			ip = t.bridgeIPs[d.Name]
		}
		extra, err := linkHosts(d, t.bridgeIPs)
		if err != nil {
			return userErrorf("container %s: %v", d.Name, err)
		}
		files := map[string]string{
			"hosts":       hostsFile(hostname, ip, append(extra, d.ExtraHosts...)),
			"resolv.conf": resolvConf(string(hostResolv), d.DNSServers, d.DNSSearchDomains, netns[d.Name] != ""),
			"hostname":    hostname + "\n",
		}
		for name, content := range files {
			if err := os.WriteFile(filepath.Join(etc, name), []byte(content), 0o644); err != nil {
				return err
			}
		}
		fromMounts, err := volumesFromMounts(td, d.Name, volumeDirs)
		if err != nil {
			return userErrorf("container %s: %v", d.Name, err)
		}
		var logURI = t.r.LogURI
		in := containerInput{Task: task, Revision: t.status.TaskDefinitionRevision, TD: td, Def: d, Attempt: t.nextAttempt[d.Name],
			NetNSPath: netns[d.Name], SecretEnv: secretEnv, FileEnv: fileEnv, VolumeDirs: volumeDirs, EtcDir: etc,
			CgroupParent: cgroupParent(task), VolumesFromMounts: fromMounts}
		if fireLens != nil {
			if d.Name == fireLens.router {
				in.ExtraMounts = fireLens.mounts
			} else if usesFireLens(d) {
				in.ExtraEnv = fireLens.env
			}
		}
		if logURI != nil && (d.LogConfiguration == nil || d.LogConfiguration.LogDriver != ecsv1.LogDriverNone) {
			fwd, err := fireLens.forward(task, d, lsruntime.ContainerID(string(task.UID), d.Name, in.Attempt))
			if err != nil {
				return userErrorf("container %s: %v", d.Name, err)
			}
			u, err := logURI(task, d, fwd)
			if err != nil {
				return userErrorf("logConfiguration of container %s: %v", d.Name, err)
			}
			in.LogURI = u
		}
		spec, err := buildContainerSpec(in)
		if err != nil {
			return userErrorf("container %s: %v", d.Name, err)
		}
		if d.Interactive != nil && *d.Interactive {
			if spec.StdinFIFO, err = t.stdinFIFO(d.Name); err != nil {
				return err
			}
		}
		if err := r.Runtime.Create(ctx, spec); err != nil {
			return userErrorf("CannotCreateContainerError: container %s: %v", d.Name, err)
		}
		if err := os.Remove(t.restartFile(d.Name)); err != nil && !os.IsNotExist(err) {
			return err
		}
	}
	return nil
}

// stdinFIFO makes the FIFO an interactive container's stdin is: nobody
// writes to it (yet), so the process's stdin stays open instead of ending
// at once. It lives in the agent's run directory and goes with the task.
func (t *taskRun) stdinFIFO(container string) (string, error) {
	dir := t.r.stdinDir(t.task)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	p := filepath.Join(dir, container)
	if err := unix.Mkfifo(p, 0o600); err != nil && !errors.Is(err, os.ErrExist) {
		return "", fmt.Errorf("stdin of container %s: %w", container, err)
	}
	return p, nil
}

// restartFile records a restart-policy restart of a container between the
// removal of its exited attempt and the creation of the next one.
func (t *taskRun) restartFile(container string) string {
	return filepath.Join(t.r.taskDir(t.task), "restart-"+container)
}

func (t *taskRun) recordRestart(container string, next int) error {
	if err := os.MkdirAll(t.r.taskDir(t.task), 0o700); err != nil {
		return err
	}
	return os.WriteFile(t.restartFile(container), []byte(strconv.Itoa(next)), 0o600)
}

// pendingRestart returns the attempt a recorded restart of container is to
// create.
func (t *taskRun) pendingRestart(container string) (int, bool) {
	b, err := os.ReadFile(t.restartFile(container))
	if err != nil {
		return 0, false
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	return n, err == nil && n > 0
}

// taskLimits are the task-level cpu units and memory MiB (overrides win).
func taskLimits(task *ecsv1.Task, td *ecsv1.TaskDefinitionSpec) (int64, int64, error) {
	cpuS, memS := td.CPU, td.Memory
	if ov := task.Spec.Overrides; ov != nil {
		if ov.CPU != "" {
			cpuS = ov.CPU
		}
		if ov.Memory != "" {
			memS = ov.Memory
		}
	}
	var cpu, mem int64
	var err error
	if cpuS != "" {
		if cpu, err = ecsv1.ParseTaskCPU(cpuS); err != nil {
			return 0, 0, err
		}
	}
	if memS != "" {
		if mem, err = ecsv1.ParseTaskMemory(memS); err != nil {
			return 0, 0, err
		}
	}
	return cpu, mem, nil
}

// shortHostname is the default hostname of a task's own namespace.
func shortHostname(task *ecsv1.Task) string {
	h := task.Name
	if len(h) > 63 {
		h = h[:63]
	}
	return strings.Trim(h, "-.")
}

// prepareVolumes creates scratch directories and writes Secret and
// ConfigMap volumes as files; host volumes need the Cluster's permission.
func (t *taskRun) prepareVolumes(ctx context.Context, td *ecsv1.TaskDefinitionSpec, dir string) (map[string]string, error) {
	out := map[string]string{}
	for _, v := range td.Volumes {
		switch {
		case v.Host != nil && v.Host.SourcePath != "":
			cl, err := t.cluster(ctx)
			if err != nil {
				return nil, err
			}
			if !cl.Spec.Security.AllowHostPathVolumes {
				return nil, userErrorf("volume %s: host path %s is refused: Cluster %s does not set security.allowHostPathVolumes",
					v.Name, v.Host.SourcePath, t.task.Spec.Cluster)
			}
			out[v.Name] = v.Host.SourcePath
		case v.DockerVolumeConfiguration != nil:
			p, err := t.dockerVolume(v, dir)
			if err != nil {
				return nil, err
			}
			out[v.Name] = p
		case v.Secret != nil, v.ConfigMap != nil:
			data, err := t.volumeData(ctx, v)
			if err != nil {
				return nil, err
			}
			// Parents stay private to root on the host; the mounted
			// directory itself must be readable by the container's user.
			p := filepath.Join(dir, "files", v.Name)
			if err := os.MkdirAll(p, 0o700); err != nil {
				return nil, err
			}
			if err := os.Chmod(p, 0o755); err != nil {
				return nil, err
			}
			for k, val := range data {
				if err := os.WriteFile(filepath.Join(p, k), val, 0o444); err != nil {
					return nil, err
				}
			}
			out[v.Name] = p
		default:
			// A name only, or "host": {} (ECS: a volume the runtime
			// manages): a scratch directory that lives with the task.
			p := filepath.Join(dir, "volumes", v.Name)
			if err := os.MkdirAll(p, 0o777); err != nil {
				return nil, err
			}
			if err := os.Chmod(p, 0o777); err != nil {
				return nil, err
			}
			out[v.Name] = p
		}
	}
	return out, nil
}

func (t *taskRun) volumeData(ctx context.Context, v ecsv1.Volume) (map[string][]byte, error) {
	ns := t.task.Namespace
	if v.Secret != nil {
		s := &corev1.Secret{}
		if err := t.r.APIReader.Get(ctx, client.ObjectKey{Namespace: ns, Name: v.Secret.SecretName}, s); err != nil {
			if apierrors.IsNotFound(err) {
				return nil, userErrorf("ResourceInitializationError: volume %s: Secret %s/%s not found", v.Name, ns, v.Secret.SecretName)
			}
			return nil, err
		}
		return s.Data, nil
	}
	cm := &corev1.ConfigMap{}
	if err := t.r.APIReader.Get(ctx, client.ObjectKey{Namespace: ns, Name: v.ConfigMap.Name}, cm); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, userErrorf("ResourceInitializationError: volume %s: ConfigMap %s/%s not found", v.Name, ns, v.ConfigMap.Name)
		}
		return nil, err
	}
	out := map[string][]byte{}
	for k, val := range cm.Data {
		out[k] = []byte(val)
	}
	for k, val := range cm.BinaryData {
		out[k] = val
	}
	return out, nil
}

// secretEnv reads the values of a container's secrets. Values are never logged.
func (t *taskRun) secretEnv(ctx context.Context, d *ecsv1.ContainerDefinition) (map[string]string, error) {
	return t.secretValues(ctx, d.Name, d.Secrets)
}

// secretValues reads the values of a container's secrets or secretOptions
// from the Secrets they map onto, by name.
func (t *taskRun) secretValues(ctx context.Context, container string, secrets []ecsv1.ContainerSecret) (map[string]string, error) {
	out := map[string]string{}
	cache := map[string]*corev1.Secret{}
	for _, s := range secrets {
		name, key, mapped, err := ecsv1.SecretKeyRef(s.ValueFrom)
		if err != nil {
			return nil, userErrorf("ResourceInitializationError: unable to retrieve secret %s for container %s: %v", s.Name, container, err)
		}
		from := "" // what an ECS reference was mapped from, for the messages
		if mapped {
			from = fmt.Sprintf(" (mapped from %s)", s.ValueFrom)
		}
		sec, ok := cache[name]
		if !ok {
			sec = &corev1.Secret{}
			if err := t.r.APIReader.Get(ctx, client.ObjectKey{Namespace: t.task.Namespace, Name: name}, sec); err != nil {
				if apierrors.IsNotFound(err) {
					return nil, userErrorf("ResourceInitializationError: unable to retrieve secret %s for container %s: Secret %s/%s%s not found",
						s.Name, container, t.task.Namespace, name, from)
				}
				return nil, err
			}
			cache[name] = sec
		}
		val, ok := sec.Data[key]
		if !ok {
			return nil, userErrorf("ResourceInitializationError: unable to retrieve secret %s for container %s: Secret %s/%s%s has no key %q",
				s.Name, container, t.task.Namespace, name, from, key)
		}
		out[s.Name] = string(val)
	}
	return out, nil
}

// fileEnv reads the variables of a container's environmentFiles from the
// ConfigMaps they map onto; a later file overrides an earlier one.
func (t *taskRun) fileEnv(ctx context.Context, d *ecsv1.ContainerDefinition) (map[string]string, error) {
	if len(d.EnvironmentFiles) == 0 {
		return nil, nil
	}
	out := map[string]string{}
	for _, f := range d.EnvironmentFiles {
		name, err := ecsv1.EnvironmentFileConfigMap(f.Value)
		if err != nil {
			return nil, userErrorf("ResourceInitializationError: failed to download env files for container %s: %v", d.Name, err)
		}
		cm, err := t.configMap(ctx, name)
		if err != nil {
			return nil, err
		}
		if cm == nil {
			return nil, userErrorf("ResourceInitializationError: failed to download env files for container %s: ConfigMap %s/%s (mapped from %s) not found",
				d.Name, t.task.Namespace, name, f.Value)
		}
		for k, v := range cm.Data {
			out[k] = v
		}
	}
	return out, nil
}

// configMap reads a ConfigMap of the task's namespace (nil when there is
// none by that name).
func (t *taskRun) configMap(ctx context.Context, name string) (*corev1.ConfigMap, error) {
	cm := &corev1.ConfigMap{}
	if err := t.r.APIReader.Get(ctx, client.ObjectKey{Namespace: t.task.Namespace, Name: name}, cm); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, nil
		}
		return nil, err
	}
	return cm, nil
}

// registryAuth returns credentials from the container's
// repositoryCredentials (a kubernetes.io/dockerconfigjson Secret).
//
// A Secret that does not exist fails the pull (as ECS fails a task whose
// credentials it cannot retrieve), naming the Secret and, for an ECS
// reference, what it was mapped from. One that is not a valid
// dockerconfigjson is logged and the pull goes ahead without credentials.
func (t *taskRun) registryAuth(ctx context.Context, d *ecsv1.ContainerDefinition) (func(host string) (lsruntime.RegistryAuth, bool), error) {
	if d.RepositoryCredentials == nil {
		return nil, nil
	}
	ref := d.RepositoryCredentials.CredentialsParameter
	name, err := ecsv1.SecretName(ref)
	if err != nil {
		return nil, userErrorf("repositoryCredentials of container %s: %v", d.Name, err)
	}
	sec := &corev1.Secret{}
	if err := t.r.APIReader.Get(ctx, client.ObjectKey{Namespace: t.task.Namespace, Name: name}, sec); err != nil {
		if apierrors.IsNotFound(err) {
			from := ""
			if name != ref {
				from = " (mapped from " + ref + ")"
			}
			return nil, userErrorf("unable to retrieve repositoryCredentials of container %s: Secret %s/%s%s not found", d.Name, t.task.Namespace, name, from)
		}
		return nil, err
	}
	var cfg struct {
		Auths map[string]struct {
			Username string `json:"username"`
			Password string `json:"password"`
			Auth     string `json:"auth"`
		} `json:"auths"`
	}
	if err := json.Unmarshal(sec.Data[corev1.DockerConfigJsonKey], &cfg); err != nil {
		t.log.Info("repositoryCredentials Secret is not a valid dockerconfigjson; pulling without credentials", "secret", sec.Name)
		return nil, nil
	}
	return func(host string) (lsruntime.RegistryAuth, bool) {
		for server, a := range cfg.Auths {
			if registryHost(server) != host {
				continue
			}
			if a.Username == "" && a.Auth != "" {
				if u, p, ok := decodeBasic(a.Auth); ok {
					return lsruntime.RegistryAuth{Username: u, Password: p}, true
				}
			}
			return lsruntime.RegistryAuth{Username: a.Username, Password: a.Password}, true
		}
		return lsruntime.RegistryAuth{}, false
	}, nil
}

// equalStatus compares statuses semantically (times at second precision).
func equalStatus(a, b *ecsv1.TaskStatus) bool { return apiequality.Semantic.DeepEqual(a, b) }
