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

// Command longshore-manager runs the Longshore controllers and scheduler
// against a Kubernetes API server. It is stateless and leader-elected: run
// one or more replicas anywhere that can reach the API server.
package main

import (
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"time"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/longshore-io/longshore/controllers/service"
	"github.com/longshore-io/longshore/controllers/setup"
	"github.com/longshore-io/longshore/internal/kube"
	"github.com/longshore-io/longshore/internal/version"
)

type options struct {
	metricsAddr             string
	probeAddr               string
	pprofAddr               string
	leaderElect             bool
	leaderElectionNamespace string
	leaseDuration           time.Duration
	renewDeadline           time.Duration
	agentGrace              time.Duration
	instanceLostTimeout     time.Duration
	taskConcurrency         int
	binders                 int
	clusterConcurrency      int
	tdConcurrency           int
	serviceConcurrency      int
	inactiveRetention       time.Duration
	qps                     float64
	burst                   int
	showVersion             bool
}

func main() {
	var o options
	fs := flag.CommandLine
	fs.Usage = func() {
		_, _ = fmt.Fprintf(fs.Output(), `longshore-manager runs the Longshore controllers (Cluster, TaskDefinition,
Task with the scheduler, Service) against a Kubernetes API server.

Usage: longshore-manager [flags]

Flags:
`)
		fs.PrintDefaults()
	}
	// --kubeconfig is registered by controller-runtime: a path, else $KUBECONFIG, else in-cluster.
	fs.StringVar(&o.metricsAddr, "metrics-bind-address", ":8080", "Address of the Prometheus /metrics endpoint; \"0\" disables it.")
	fs.StringVar(&o.probeAddr, "health-probe-bind-address", ":8081", "Address of the /healthz and /readyz endpoints.")
	fs.StringVar(&o.pprofAddr, "pprof-bind-address", "", "Address of the Go profiler's /debug/pprof/ endpoints (e.g. 127.0.0.1:8082); empty disables it.")
	fs.BoolVar(&o.leaderElect, "leader-elect", true, "Elect a leader through a Lease so that only one replica acts.")
	fs.StringVar(&o.leaderElectionNamespace, "leader-election-namespace", "longshore-system", "Namespace of the leader election Lease.")
	fs.DurationVar(&o.leaseDuration, "leader-election-lease-duration", 15*time.Second, "How long a standby waits before taking over an unrenewed leadership.")
	fs.DurationVar(&o.renewDeadline, "leader-election-renew-deadline", 10*time.Second, "How long the leader retries renewing before it gives up leadership.")
	fs.DurationVar(&o.agentGrace, "agent-grace", 10*time.Second, "How long an agent's Lease may go unrenewed before its instance is agentConnected: false.")
	fs.DurationVar(&o.instanceLostTimeout, "instance-lost-timeout", 60*time.Second, "How long an instance may stay disconnected before its tasks are stopped (InfrastructureHealth) and released for replacement.")
	fs.IntVar(&o.taskConcurrency, "task-concurrency", 8, "Tasks resolved at once (the scheduler then places them one after the other).")
	fs.IntVar(&o.binders, "scheduler-binders", 16, "Binds the scheduler writes to the API server at once.")
	fs.IntVar(&o.clusterConcurrency, "cluster-concurrency", 2, "Clusters reconciled at once.")
	fs.IntVar(&o.tdConcurrency, "taskdefinition-concurrency", 4, "TaskDefinitions reconciled at once.")
	fs.IntVar(&o.serviceConcurrency, "service-concurrency", 2, "Services reconciled at once.")
	fs.DurationVar(&o.inactiveRetention, "inactive-service-retention", service.DefaultInactiveRetention,
		"How long the ECS API describes a deleted Service as INACTIVE after its drain (ConfigMap longshore-inactive-services of its namespace).")
	fs.Float64Var(&o.qps, "kube-api-qps", 50, "Sustained requests per second to the API server.")
	fs.IntVar(&o.burst, "kube-api-burst", 100, "Burst of requests to the API server.")
	fs.BoolVar(&o.showVersion, "version", false, "Print the version and exit.")
	zapOpts := zap.Options{}
	zapOpts.BindFlags(fs)
	flag.Parse()

	if o.showVersion {
		fmt.Println("longshore-manager", version.Version)
		return
	}
	if err := run(o, zapOpts); err != nil {
		ctrl.Log.Error(err, "Manager failed")
		os.Exit(1)
	}
}

func run(o options, zapOpts zap.Options) error {
	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&zapOpts)))
	log := ctrl.Log.WithName("setup")

	scheme := kube.Scheme()

	cfg, err := kube.RESTConfig("longshore-manager", o.qps, o.burst)
	if err != nil {
		return err
	}

	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                  scheme,
		Metrics:                 metricsserver.Options{BindAddress: o.metricsAddr},
		HealthProbeBindAddress:  o.probeAddr,
		PprofBindAddress:        o.pprofAddr,
		LeaderElection:          o.leaderElect,
		LeaderElectionID:        "longshore-manager",
		LeaderElectionNamespace: o.leaderElectionNamespace,
		LeaseDuration:           &o.leaseDuration,
		RenewDeadline:           &o.renewDeadline,
		// Give up leadership on a clean shutdown so a standby takes over at once.
		LeaderElectionReleaseOnCancel: true,
		Cache:                         setup.CacheOptions(o.leaderElectionNamespace),
	})
	if err != nil {
		return fmt.Errorf("creating the manager: %w", err)
	}
	if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
		return err
	}
	// Ready once the informer caches are synced (and, for the leader, once
	// controllers start; standbys are ready too, so a rollout can proceed).
	if err := mgr.AddReadyzCheck("readyz", func(req *http.Request) error {
		if !mgr.GetCache().WaitForCacheSync(req.Context()) {
			return errors.New("informer caches not synced")
		}
		return nil
	}); err != nil {
		return err
	}

	ctx := ctrl.SetupSignalHandler()
	if err := setup.SetupControllers(ctx, mgr, setup.Options{
		LeaseNamespace: o.leaderElectionNamespace, AgentGrace: o.agentGrace, InstanceLostTimeout: o.instanceLostTimeout,
		ClusterConcurrency: o.clusterConcurrency, TaskConcurrency: o.taskConcurrency,
		TaskDefinitionConcurrency: o.tdConcurrency, AgentAccessConcurrency: 4, SchedulerBinders: o.binders,
		Service: &service.Reconciler{MaxConcurrentReconciles: o.serviceConcurrency, InactiveRetention: o.inactiveRetention},
	}); err != nil {
		return err
	}

	log.Info("Starting longshore-manager", "version", version.Version, "leaderElection", o.leaderElect,
		"metrics", o.metricsAddr, "probes", o.probeAddr)
	return mgr.Start(ctx)
}
