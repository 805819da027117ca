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

// Command longshore-agent runs on every host ("container instance"): it
// registers the host as a ContainerInstance, heartbeats through a Lease and
// runs the Tasks bound to it on containerd.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	ecsv1 "github.com/longshore-io/longshore/api/v1alpha1"
	"github.com/longshore-io/longshore/internal/agent"
	"github.com/longshore-io/longshore/internal/agentapi"
	"github.com/longshore-io/longshore/internal/ecsarn"
	"github.com/longshore-io/longshore/internal/initproc"
	"github.com/longshore-io/longshore/internal/kube"
	"github.com/longshore-io/longshore/internal/logs"
	"github.com/longshore-io/longshore/internal/network"
	lsruntime "github.com/longshore-io/longshore/internal/runtime"
	"github.com/longshore-io/longshore/internal/taskendpoint"
	"github.com/longshore-io/longshore/internal/version"
)

type options struct {
	cluster             string
	instanceName        string
	availabilityZone    string
	containerdAddress   string
	containerdNamespace string
	memoryReserveMiB    int64
	reservedPorts       string
	reservedPortsUDP    string
	hostAddress         string
	leaseNamespace      string
	leaseRenewInterval  time.Duration
	leaseDuration       time.Duration
	stateDir            string
	runDir              string
	logDir              string
	netnsDir            string
	cniPluginDirs       string
	cniConfDir          string
	bridgeName          string
	bridgeCIDR          string
	taskBridgeName      string
	taskCIDR            string
	portRange           string
	pullPolicy          string
	concurrency         int
	metricsAddr         string
	probeAddr           string
	qps                 float64
	burst               int
	nodeIdentity        bool
	showVersion         bool
	agentAPI            agentAPIOptions
	// The ECS endpoints inside tasks and on the instance (docs/task-endpoints.md).
	taskEndpointsHost string
	introspectionAddr string
	arn               ecsarn.Config
}

func main() {
	// The shim starts this binary as the containers' logging binary.
	if len(os.Args) > 1 && os.Args[1] == logs.LoggerSubcommand {
		os.Exit(logs.RunLogger(os.Args[2:]))
	}
	// Containers with initProcessEnabled run this binary as their PID 1.
	if len(os.Args) > 1 && os.Args[1] == initproc.Subcommand {
		os.Exit(initproc.Main(os.Args[2:]))
	}
	// A task's namespace holder (pidMode/ipcMode task) runs it as pause.
	if len(os.Args) == 2 && os.Args[1] == initproc.PauseSubcommand {
		os.Exit(initproc.Pause())
	}
	var o options
	fs := flag.CommandLine
	fs.Usage = func() {
		_, _ = fmt.Fprintf(fs.Output(), `longshore-agent registers this host as a Longshore ContainerInstance,
heartbeats through a Lease, and runs the Tasks bound to it on containerd.
It must run as root next to a containerd daemon.

Usage: longshore-agent [flags]

Flags:
`)
		fs.PrintDefaults()
	}
	fs.StringVar(&o.cluster, "cluster", ecsv1.DefaultClusterName, "Cluster this instance joins.")
	fs.StringVar(&o.instanceName, "instance-name", "", "ContainerInstance name. Default: the hostname.")
	fs.StringVar(&o.availabilityZone, "availability-zone", "", "Reported as attribute ecs.availability-zone, for spread and memberOf placement.")
	fs.StringVar(&o.containerdAddress, "containerd-address", "/run/containerd/containerd.sock", "containerd socket.")
	fs.StringVar(&o.containerdNamespace, "containerd-namespace", "longshore", "containerd namespace the agent's containers live in (never k8s.io).")
	fs.Int64Var(&o.memoryReserveMiB, "memory-reserve-mib", 256, "Memory (MiB) kept back from tasks for the system and the agent.")
	fs.StringVar(&o.reservedPorts, "reserved-ports", "22", "Comma-separated TCP host ports tasks may never use.")
	fs.StringVar(&o.reservedPortsUDP, "reserved-ports-udp", "", "Comma-separated UDP host ports tasks may never use.")
	fs.StringVar(&o.hostAddress, "host-address", "", "IPv4 address other instances reach this host at (the next hop or tunnel end of the routes to its task subnet). Default: the source address of the default route.")
	fs.StringVar(&o.leaseNamespace, "lease-namespace", "longshore-system", "Namespace of the heartbeat Lease (the manager's namespace).")
	fs.DurationVar(&o.leaseRenewInterval, "lease-renew-interval", 2*time.Second, "How often the heartbeat Lease is renewed.")
	fs.DurationVar(&o.leaseDuration, "lease-duration", 10*time.Second, "Validity written into the Lease; keep it several renew intervals long.")
	fs.StringVar(&o.stateDir, "state-dir", "/var/lib/longshore/agent", "Agent state: task directories (volumes, Secret files, /etc files) and network state.")
	fs.StringVar(&o.runDir, "run-dir", agent.DefaultRunDir, "Per-task sockets (FireLens); keep it short: a Unix socket path has at most 107 bytes.")
	fs.StringVar(&o.logDir, "log-dir", logs.DefaultRoot, "Container logs, as <log-dir>/<namespace>/<task>/<container>.log (json-file format, rotated).")
	fs.StringVar(&o.netnsDir, "netns-dir", "/run/longshore/netns", "Where task network namespaces are pinned; must belong to this agent alone.")
	fs.StringVar(&o.cniPluginDirs, "cni-plugin-dirs", "/usr/lib/cni,/opt/cni/bin", "Comma-separated directories of CNI plugin binaries.")
	fs.StringVar(&o.cniConfDir, "cni-conf-dir", "/etc/cni/net.d", "Directory of the CNI conflists a Cluster's taskNetwork.cniConfig may name.")
	fs.StringVar(&o.bridgeName, "bridge-name", "ls-br0", "Linux bridge of bridge-mode tasks.")
	fs.StringVar(&o.bridgeCIDR, "bridge-cidr", "172.29.0.0/16", "Subnet of bridge-mode tasks (the Cluster's bridgeNetwork.cidr).")
	fs.StringVar(&o.taskBridgeName, "task-bridge-name", "ls-vpc0", "Linux bridge of awsvpc-mode tasks.")
	fs.StringVar(&o.taskCIDR, "task-cidr", "", "This instance's awsvpc subnet. Empty: the ContainerInstance's status.taskCIDR, assigned by the manager.")
	fs.StringVar(&o.portRange, "dynamic-port-range", "49153-65535", "Host ports bridge-mode tasks get when hostPort is 0 or omitted.")
	fs.StringVar(&o.pullPolicy, "image-pull-behavior", string(lsruntime.PullDefault), "ECS image pull behaviour: default (pull, fall back to a cached image), always, once, prefer-cached.")
	fs.IntVar(&o.concurrency, "task-concurrency", 16, "Tasks started or stopped at the same time.")
	fs.StringVar(&o.metricsAddr, "metrics-bind-address", ":8090", "Address of the Prometheus /metrics endpoint; \"0\" disables it.")
	fs.StringVar(&o.probeAddr, "health-probe-bind-address", ":8091", "Address of the /healthz and /readyz endpoints.")
	fs.Float64Var(&o.qps, "kube-api-qps", 20, "Sustained requests per second to the API server.")
	fs.IntVar(&o.burst, "kube-api-burst", 40, "Burst of requests to the API server.")
	fs.BoolVar(&o.nodeIdentity, "node-identity", false, "Act as this node's own identity, ServiceAccount longshore-agents/<node> (the DaemonSet): "+
		"the kubeconfig's credentials, the pod's ServiceAccount token (bound to its node), only obtain tokens of it. "+
		"--instance-name must be the node (default: it).")
	fs.StringVar(&o.agentAPI.bindAddress, "agent-api-bind-address", fmt.Sprintf(":%d", agentapi.DefaultPort),
		"Address of the HTTPS endpoint of task logs and exec (kubectl ecs logs, kubectl ecs exec); \"0\" disables it.")
	fs.StringVar(&o.agentAPI.advertise, "agent-api-advertise-address", "",
		"HOST:PORT clients reach the endpoint at, published in the ContainerInstance. Default: the bind address, else --host-address (or the default route's source address) and the port, else the hostname.")
	fs.StringVar(&o.agentAPI.clientCA, "client-ca-file", "",
		"CA bundle that signs the client certificates the endpoint accepts. Default: the API server's, from ConfigMap kube-system/extension-apiserver-authentication.")
	fs.StringVar(&o.taskEndpointsHost, "task-endpoints-host-address", taskendpoint.DefaultHostAddress,
		"Where host-mode tasks reach their task metadata and agent endpoints; \"0\" disables them for host-mode tasks. "+
			"Tasks with a network namespace of their own reach theirs at "+taskendpoint.TaskAddress.String()+" inside it.")
	fs.StringVar(&o.introspectionAddr, "introspection-bind-address", taskendpoint.DefaultIntrospectionAddress,
		"Address of the agent introspection endpoint (/v1/metadata, /v1/tasks); \"0\" disables it.")
	fs.StringVar(&o.arn.Region, "ecs-region", ecsarn.DefaultRegion, "Region in the ECS ARNs the task endpoints show.")
	fs.StringVar(&o.arn.AccountID, "ecs-account-id", ecsarn.DefaultAccountID, "Account id (twelve digits) in the ECS ARNs the task endpoints show.")
	fs.StringVar(&o.arn.Partition, "ecs-partition", ecsarn.DefaultPartition, "Partition in the ECS ARNs the task endpoints show.")
	fs.BoolVar(&o.showVersion, "version", false, "Print the version and exit.")
	// --kubeconfig is registered by controller-runtime: a path, else $KUBECONFIG, else in-cluster.
	zapOpts := zap.Options{}
	zapOpts.BindFlags(fs)
	flag.Parse()

	if o.showVersion {
		fmt.Println("longshore-agent", version.Version)
		return
	}
	if err := run(o, zapOpts); err != nil {
		ctrl.Log.Error(err, "Agent failed")
		os.Exit(1)
	}
}

// hostAddress is the --host-address flag, else the source address of the
// default route; without either the instance is not routable from others.
func hostAddress(flag string) (netip.Addr, error) {
	if flag != "" {
		a, err := netip.ParseAddr(flag)
		if err != nil || !a.Is4() {
			return netip.Addr{}, fmt.Errorf("--host-address %q: want an IPv4 address", flag)
		}
		return a, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	a, err := network.DefaultHostAddress(ctx)
	if err != nil {
		ctrl.Log.WithName("setup").Info("No host address: other instances cannot route to this one's task subnet", "reason", err.Error())
		return netip.Addr{}, nil
	}
	return a, nil
}

func addrString(a netip.Addr) string {
	if !a.IsValid() {
		return ""
	}
	return a.String()
}

// sibling is the executable name next to self, or self when there is none.
func sibling(self, name string) string {
	p := filepath.Join(filepath.Dir(self), name)
	if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
		return p
	}
	return self
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

func parsePortRange(s string) (int32, int32, error) {
	lo, hi, ok := strings.Cut(s, "-")
	a, err1 := strconv.ParseUint(strings.TrimSpace(lo), 10, 16)
	b, err2 := strconv.ParseUint(strings.TrimSpace(hi), 10, 16)
	if !ok || err1 != nil || err2 != nil || a == 0 || a > b {
		return 0, 0, fmt.Errorf("--dynamic-port-range=%q: want LOW-HIGH, e.g. 49153-65535", s)
	}
	return int32(a), int32(b), nil
}

func parsePorts(flagName, s string) ([]int32, error) {
	var out []int32
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		p, err := strconv.ParseUint(f, 10, 16)
		if err != nil || p == 0 {
			return nil, fmt.Errorf("--%s: %q is not a port number (1-65535)", flagName, f)
		}
		out = append(out, int32(p))
	}
	return out, nil
}

func run(o options, zapOpts zap.Options) error {
	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&zapOpts)))
	// The agent is small and long-lived on every host: collect garbage more
	// eagerly than Go's default (GOGC=100) unless the operator chose.
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(50)
	}
	log := ctrl.Log.WithName("setup")

	if o.leaseRenewInterval <= 0 || o.leaseDuration < 2*o.leaseRenewInterval {
		return fmt.Errorf("--lease-duration (%s) must be at least twice --lease-renew-interval (%s)", o.leaseDuration, o.leaseRenewInterval)
	}
	ports, err := parsePorts("reserved-ports", o.reservedPorts)
	if err != nil {
		return err
	}
	portsUDP, err := parsePorts("reserved-ports-udp", o.reservedPortsUDP)
	if err != nil {
		return err
	}
	hostAddr, err := hostAddress(o.hostAddress)
	if err != nil {
		return err
	}

	host, err := agent.DetectHost()
	if err != nil {
		return err
	}

	scheme := kube.Scheme()
	cfg, err := kube.RESTConfig("longshore-agent", o.qps, o.burst)
	if err != nil {
		return err
	}
	if o.nodeIdentity {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		id, err := agent.NewNodeIdentity(ctx, cfg, o.instanceName)
		cancel()
		if err != nil {
			return err
		}
		o.instanceName = id.Node
		cfg = id.Config(cfg)
		log.Info("Acting as this node's agent identity", "user", id.UserName())
	}
	if o.instanceName == "" {
		o.instanceName = strings.ToLower(host.Hostname)
	}

	pullPolicy := lsruntime.PullPolicy(o.pullPolicy)
	switch pullPolicy {
	case lsruntime.PullDefault, lsruntime.PullAlways, lsruntime.PullOnce, lsruntime.PullPreferCached:
	default:
		return fmt.Errorf("--image-pull-behavior=%q: want default, always, once or prefer-cached", o.pullPolicy)
	}
	portMin, portMax, err := parsePortRange(o.portRange)
	if err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("locating the agent binary (it is the containers' logging binary): %w", err)
	}

	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                 scheme,
		Metrics:                metricsserver.Options{BindAddress: o.metricsAddr},
		HealthProbeBindAddress: o.probeAddr,
		// Cache only what concerns this instance: its own Tasks (a field
		// selector served by the CRD's selectableFields) and its own
		// ContainerInstance. API load grows with tasks per host, not with
		// the size of the cluster.
		Cache: cache.Options{ByObject: map[client.Object]cache.ByObject{
			&ecsv1.Task{}:              {Field: fields.OneTermEqualSelector("spec.containerInstance", o.instanceName)},
			&ecsv1.ContainerInstance{}: {Field: fields.OneTermEqualSelector("metadata.name", o.instanceName)},
		}},
	})
	if err != nil {
		return fmt.Errorf("creating the agent's manager: %w", err)
	}
	// Registration and heartbeat read and write single objects: a direct
	// client, so the agent never caches (and watches) cluster-wide lists.
	direct, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		return err
	}

	// One logger runs per container, and init in every container that asks
	// for it: the small longshore-logger and longshore-init next to this
	// binary cost ~3 MiB each instead of this one's ~7 MiB; this binary
	// serves both roles when they are missing. containerd's shim and the
	// containers use them by host path, which an agent in a container
	// (the DaemonSet) does not share: they are installed into the state
	// directory, a host path at the same place inside and out.
	helpers, err := agent.InstallHostHelpers(filepath.Join(o.stateDir, "bin"),
		sibling(self, agent.HelperLogger), sibling(self, agent.HelperInit))
	if err != nil {
		return fmt.Errorf("installing the logger and init binaries onto the host: %w", err)
	}
	log.Info("Installed the helper binaries", "dir", helpers.Dir)
	rt, err := lsruntime.NewContainerd(o.containerdAddress, o.containerdNamespace)
	if err != nil {
		return err
	}
	rt.InitBinary = helpers.Init
	defer func() { _ = rt.Close() }()

	reg := &agent.Registrar{
		Client: direct, Runtime: rt, Host: host, Clock: clock.RealClock{},
		Config: agent.Config{
			InstanceName: o.instanceName, Cluster: o.cluster, AvailabilityZone: o.availabilityZone,
			MemoryReserveMiB: o.memoryReserveMiB, ReservedPorts: ports, ReservedPortsUDP: portsUDP,
			HostAddress: addrString(hostAddr),
		},
	}
	hb := &agent.Heartbeat{
		Client: direct, Namespace: o.leaseNamespace, InstanceName: o.instanceName,
		Interval: o.leaseRenewInterval, Duration: o.leaseDuration, Clock: clock.RealClock{},
	}
	netw, err := agent.NewInstanceNetwork(network.Config{
		StateDir: filepath.Join(o.stateDir, "network"), NetNSDir: o.netnsDir,
		PluginDirs: splitList(o.cniPluginDirs), ConfDir: o.cniConfDir,
		BridgeName: o.bridgeName, BridgeCIDR: o.bridgeCIDR, TaskBridgeName: o.taskBridgeName, TaskCIDR: o.taskCIDR,
		PortRangeMin: portMin, PortRangeMax: portMax, ReservedPorts: ports,
	}, direct, o.instanceName)
	if err != nil {
		return fmt.Errorf("setting up CNI: %w", err)
	}
	tasks := &agent.TaskReconciler{
		Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), Runtime: rt, Network: netw,
		InstanceName: o.instanceName, StateDir: o.stateDir, RunDir: o.runDir, PullPolicy: pullPolicy,
		LogURI:   agent.FileLogs(helpers.Logger, o.logDir),
		Recorder: mgr.GetEventRecorder("longshore-agent"), Clock: clock.RealClock{},
		MaxConcurrentReconciles: o.concurrency,
	}
	if err := setupTaskEndpoints(mgr, o, tasks); err != nil {
		return err
	}
	if err := tasks.SetupWithManager(mgr); err != nil {
		return err
	}
	endpoint, apiPort, err := setupAgentAPI(o, cfg, host, hostAddr, mgr, tasks, o.logDir)
	if err != nil {
		return err
	}
	if endpoint != nil {
		reg.Config.AgentEndpoint = endpoint
		reg.Config.ReservedPorts = append(reg.Config.ReservedPorts, apiPort)
	}
	// The agent's listeners on the host are ports no host-mode task may
	// take (ECS reserves 51678 and 51679 the same way).
	for _, addr := range []string{o.taskEndpointsHost, o.introspectionAddr} {
		if p, ok := listenPort(addr); ok {
			reg.Config.ReservedPorts = append(reg.Config.ReservedPorts, p)
		}
	}
	if err := mgr.Add(&agent.GarbageCollector{Cache: mgr.GetCache(), Client: mgr.GetClient(), Tasks: tasks,
		Instance: o.instanceName, Interval: 10 * time.Minute, Helpers: &helpers}); err != nil {
		return err
	}
	if err := mgr.Add(reg); err != nil {
		return err
	}
	// Routes to the other instances' task subnets, from a cache of every
	// ContainerInstance (the main cache holds this one alone).
	routesCache, err := cache.New(cfg, cache.Options{Scheme: scheme, ByObject: map[client.Object]cache.ByObject{
		&ecsv1.ContainerInstance{}: {}, &ecsv1.Cluster{}: {Field: fields.OneTermEqualSelector("metadata.name", o.cluster)},
	}})
	if err != nil {
		return err
	}
	if err := mgr.Add(routesCache); err != nil {
		return err
	}
	router := &network.Router{}
	if err := mgr.Add(&agent.TaskRoutes{Cache: routesCache, Instance: o.instanceName, Cluster: o.cluster,
		HostAddress: hostAddr, Router: router, Resync: time.Minute}); err != nil {
		return err
	}
	if err := mgr.Add(hb); err != nil {
		return err
	}
	if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
		return err
	}
	if err := mgr.AddReadyzCheck("containerd", func(req *http.Request) error {
		ctx, cancel := context.WithTimeout(req.Context(), 2*time.Second)
		defer cancel()
		_, err := rt.Version(ctx)
		return err
	}); err != nil {
		return err
	}
	if err := mgr.AddReadyzCheck("registered", func(*http.Request) error {
		if !reg.Registered() {
			return errors.New("ContainerInstance not registered yet")
		}
		return nil
	}); err != nil {
		return err
	}
	if err := mgr.AddReadyzCheck("heartbeat", func(*http.Request) error {
		if last := hb.LastRenew(); time.Since(last) > 3*o.leaseRenewInterval {
			return fmt.Errorf("lease not renewed since %s", last.Format(time.RFC3339))
		}
		return nil
	}); err != nil {
		return err
	}

	log.Info("Starting longshore-agent", "version", version.Version, "instance", o.instanceName, "cluster", o.cluster,
		"containerd", o.containerdAddress, "namespace", o.containerdNamespace, "metrics", o.metricsAddr, "probes", o.probeAddr)
	if err := mgr.Start(ctrl.SetupSignalHandler()); err != nil {
		return err
	}
	leaveNothingIfIdle(rt, netw, router, o.bridgeName, o.taskBridgeName)
	return nil
}

// setupTaskEndpoints gives the task reconciler the ECS endpoints inside
// tasks (task metadata v4/v3, task protection) and adds the host-mode and
// introspection listeners.
func setupTaskEndpoints(mgr ctrl.Manager, o options, tasks *agent.TaskReconciler) error {
	if err := o.arn.Validate(); err != nil {
		return fmt.Errorf("--ecs-region/--ecs-account-id/--ecs-partition: %w", err)
	}
	src := &agent.EndpointSource{Reconciler: tasks, Cluster: o.cluster, AvailabilityZone: o.availabilityZone, ARN: o.arn}
	host := o.taskEndpointsHost
	if host == "0" {
		host = ""
	}
	srv := &taskendpoint.Server{Source: src, ARN: o.arn, HostAddress: host,
		KeyFile: filepath.Join(o.stateDir, "task-endpoints.key"), CgroupOf: agent.EndpointCgroup,
		Clock: clock.RealClock{}, Log: ctrl.Log.WithName("task-endpoints")}
	if err := srv.Init(); err != nil {
		return err
	}
	tasks.Endpoints = srv
	if err := mgr.Add(srv); err != nil {
		return err
	}
	if o.introspectionAddr == "0" || o.introspectionAddr == "" {
		return nil
	}
	return mgr.Add(&taskendpoint.Introspection{Address: o.introspectionAddr, Source: src, ARN: o.arn,
		Version: version.Version, Log: ctrl.Log.WithName("introspection")})
}

// listenPort is the port of a HOST:PORT listen address ("0" or empty: none).
func listenPort(addr string) (int32, bool) {
	if addr == "" || addr == "0" {
		return 0, false
	}
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return 0, false
	}
	n, err := strconv.ParseInt(port, 10, 32)
	if err != nil || n <= 0 {
		return 0, false
	}
	return int32(n), true
}

// leaveNothingIfIdle removes this agent's bridges and its routes to other
// instances from the host when it stops with no container and no network
// attachment left: an uninstalled
// agent (its DaemonSet deleted after its tasks) leaves no links behind. A
// restarted agent recreates them with its first task; an agent that stops
// with tasks running keeps everything for the next one to adopt.
func leaveNothingIfIdle(rt lsruntime.Containers, netw network.Network, router *network.Router, bridges ...string) {
	log := ctrl.Log.WithName("shutdown")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conts, err := rt.List(ctx, nil)
	if err != nil {
		log.Error(err, "Listing containers at shutdown; leaving the host network as it is")
		return
	}
	atts, err := netw.List(ctx)
	if err != nil {
		log.Error(err, "Listing network attachments at shutdown; leaving the host network as it is")
		return
	}
	if len(conts) > 0 || len(atts) > 0 {
		log.Info("Stopping with tasks on this host; keeping their network", "containers", len(conts), "attachments", len(atts))
		return
	}
	if err := router.Remove(ctx); err != nil {
		log.Error(err, "Removing the routes to other instances' task subnets")
	}
	removed, err := network.RemoveIdleBridges(ctx, bridges...)
	if err != nil {
		log.Error(err, "Removing the task bridges")
	}
	if len(removed) > 0 {
		log.Info("No tasks left: removed the task bridges", "bridges", removed)
	}
}
