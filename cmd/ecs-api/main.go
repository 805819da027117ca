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

// Command longshore-ecs-api serves the Amazon ECS API (AWS JSON 1.1 over
// HTTPS, SigV4-signed) over Longshore's objects, so that the aws CLI, the
// AWS SDKs and the tools built on them drive Longshore with
// --endpoint-url. It is stateless: run as many replicas as the load needs.
// It holds the impersonate permission (it acts as each access key's
// Kubernetes identity), which is why it is not part of longshore-manager.
// docs/ecs-api.md has the set-up.
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/longshore-io/longshore/internal/ecsapi"
	"github.com/longshore-io/longshore/internal/ecsarn"
	"github.com/longshore-io/longshore/internal/kube"
	"github.com/longshore-io/longshore/internal/version"
)

type options struct {
	bindAddress, certFile, keyFile, certHosts, writeCert string
	namespace                                            string
	arn                                                  ecsarn.Config
	registerTimeout                                      time.Duration
	qps                                                  float64
	burst                                                int
	showVersion                                          bool
}

func main() {
	var o options
	fs := flag.CommandLine
	fs.Usage = func() {
		_, _ = fmt.Fprintf(fs.Output(), `longshore-ecs-api serves the Amazon ECS API over Longshore's objects:
point the aws CLI or an AWS SDK at it with --endpoint-url.

Usage: longshore-ecs-api [flags]

Flags:
`)
		fs.PrintDefaults()
	}
	defNS := os.Getenv("POD_NAMESPACE")
	if defNS == "" {
		defNS = "longshore-system"
	}
	host, _ := os.Hostname()
	fs.StringVar(&o.bindAddress, "bind-address", ":8443", "Address of the HTTPS endpoint.")
	fs.StringVar(&o.certFile, "tls-cert-file", "", "Serving certificate (PEM); with --tls-key-file. Neither: a self-signed certificate generated at start, in memory.")
	fs.StringVar(&o.keyFile, "tls-key-file", "", "Key of --tls-cert-file (PEM).")
	fs.StringVar(&o.certHosts, "tls-generated-hosts", strings.Join([]string{"localhost", "127.0.0.1", "::1", host}, ","), "Comma-separated DNS names and IP addresses of the generated certificate.")
	fs.StringVar(&o.writeCert, "write-generated-cert", "", "Write the serving certificate (PEM) to this file at start, for clients to trust (AWS_CA_BUNDLE).")
	fs.StringVar(&o.namespace, "namespace", defNS, "Namespace of the access key Secrets (default $POD_NAMESPACE, else longshore-system).")
	fs.StringVar(&o.arn.Region, "region", ecsarn.DefaultRegion, "Region of the ARNs, and the one requests must be signed for.")
	fs.StringVar(&o.arn.AccountID, "account-id", ecsarn.DefaultAccountID, "Account id of the ARNs (twelve digits).")
	fs.StringVar(&o.arn.Partition, "partition", ecsarn.DefaultPartition, "Partition of the ARNs.")
	fs.DurationVar(&o.registerTimeout, "register-timeout", ecsapi.DefaultRegisterTimeout, "How long RegisterTaskDefinition waits for the manager to mint the revision.")
	fs.Float64Var(&o.qps, "kube-api-qps", ecsapi.DefaultQPS, "Sustained requests per second to the API server, per access key identity.")
	fs.IntVar(&o.burst, "kube-api-burst", ecsapi.DefaultBurst, "Burst of requests to the API server, per access key identity.")
	fs.BoolVar(&o.showVersion, "version", false, "Print the version and exit.")
	zapOpts := zap.Options{}
	zapOpts.BindFlags(fs)
	flag.Parse()

	if o.showVersion {
		fmt.Println("longshore-ecs-api", version.Version)
		return
	}
	if err := run(o, zapOpts); err != nil {
		ctrl.Log.Error(err, "longshore-ecs-api failed")
		os.Exit(1)
	}
}

func run(o options, zapOpts zap.Options) error {
	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&zapOpts)))
	log := ctrl.Log.WithName("ecs-api")
	if err := o.arn.Validate(); err != nil {
		return err
	}
	cfg, err := kube.RESTConfig("longshore-ecs-api", o.qps, o.burst)
	if err != nil {
		return err
	}
	ctx := ctrl.SetupSignalHandler()
	r, err := ecsapi.Serve(ctx, ecsapi.ServeOptions{
		Config: cfg, Scheme: kube.Scheme(), Namespace: o.namespace, ARN: o.arn,
		BindAddress: o.bindAddress, CertFile: o.certFile, KeyFile: o.keyFile, CertHosts: strings.Split(o.certHosts, ","),
		RegisterTimeout: o.registerTimeout, Log: log,
	})
	if err != nil {
		return err
	}
	if o.writeCert != "" {
		if err := os.WriteFile(o.writeCert, r.CertPEM, 0o644); err != nil {
			return fmt.Errorf("writing the serving certificate: %w", err)
		}
	}
	log.Info("Starting longshore-ecs-api", "version", version.Version, "address", r.Addr)
	return r.Wait()
}
