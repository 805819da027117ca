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

package main

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"

	ecsv1 "github.com/longshore-io/longshore/api/v1alpha1"
	"github.com/longshore-io/longshore/internal/agent"
	"github.com/longshore-io/longshore/internal/agentapi"
)

// agentAPIOptions are the flags of the logs and exec endpoint.
type agentAPIOptions struct {
	bindAddress string
	advertise   string
	clientCA    string
}

// setupAgentAPI adds the logs, exec and stats endpoint to mgr and returns what
// the ContainerInstance publishes of it, and its port, which no task may
// take; nil and 0 when it is disabled. Without
// the cluster's client CA (neither --client-ca-file nor the API server's
// ConfigMap) the agent runs without it, and says so.
func setupAgentAPI(o options, cfg *rest.Config, host agent.HostInfo, hostAddr netip.Addr, mgr ctrl.Manager, tasks *agent.TaskReconciler, logDir string) (*ecsv1.AgentEndpoint, int32, error) {
	a := o.agentAPI
	if a.bindAddress == "0" || a.bindAddress == "" {
		return nil, 0, nil
	}
	bindHost, port, err := net.SplitHostPort(a.bindAddress)
	if err != nil {
		return nil, 0, fmt.Errorf("--agent-api-bind-address=%q: want HOST:PORT or :PORT", a.bindAddress)
	}
	portNum, err := strconv.ParseUint(port, 10, 16)
	if err != nil || portNum == 0 {
		return nil, 0, fmt.Errorf("--agent-api-bind-address=%q: %q is not a port", a.bindAddress, port)
	}
	advertise := a.advertise
	switch {
	case advertise != "":
		if _, _, err := net.SplitHostPort(advertise); err != nil {
			return nil, 0, fmt.Errorf("--agent-api-advertise-address=%q: want HOST:PORT", advertise)
		}
	case bindHost != "" && bindHost != "0.0.0.0" && bindHost != "::":
		advertise = a.bindAddress
	case hostAddr.IsValid():
		advertise = net.JoinHostPort(hostAddr.String(), port)
	default:
		advertise = net.JoinHostPort(host.Hostname, port)
	}
	log := ctrl.Log.WithName("setup")
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, 0, err
	}
	var ca []byte
	if a.clientCA != "" {
		if ca, err = os.ReadFile(a.clientCA); err != nil {
			return nil, 0, fmt.Errorf("--client-ca-file: %w", err)
		}
	} else {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		ca, err = agentapi.ClientCA(ctx, cs)
		cancel()
		if err != nil {
			log.Error(err, "No logs and exec endpoint: kubectl ecs logs and exec will not reach this instance's tasks")
			return nil, 0, nil
		}
	}
	authn, authz, err := agentapi.NewDelegatingAuth(cs, ca)
	if err != nil {
		return nil, 0, err
	}
	cert, certPEM, err := agentapi.ServingCertificate(o.stateDir, o.instanceName, time.Now())
	if err != nil {
		return nil, 0, fmt.Errorf("the logs and exec endpoint's certificate: %w", err)
	}
	srv := &agentapi.Server{
		Addr: a.bindAddress, Instance: o.instanceName, Certificate: cert,
		Authenticator: authn, Authorizer: authz,
		Tasks: mgr.GetClient(), Runtime: tasks.Runtime, LogRoot: logDir,
		PreviousAttempt: tasks.PreviousAttempt, Events: mgr.GetClient(),
	}
	if tasks.Endpoints != nil {
		srv.Stats = tasks.TaskStats
	}
	if err := mgr.Add(srv); err != nil {
		return nil, 0, err
	}
	return &ecsv1.AgentEndpoint{Address: advertise, Certificate: string(certPEM)}, int32(portNum), nil
}
