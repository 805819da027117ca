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
	"fmt"
	"sync"

	"sigs.k8s.io/controller-runtime/pkg/client"

	ecsv1 "github.com/longshore-io/longshore/api/v1alpha1"
	"github.com/longshore-io/longshore/internal/network"
)

// instanceNetwork is the agent's Network: CNI configured with this
// instance's task subnet. The subnet is the --task-cidr flag when given,
// else the ContainerInstance's status.taskCIDR, which the manager assigns
// after registration; until then awsvpc tasks cannot start and say why.
type instanceNetwork struct {
	base         network.Config
	reader       client.Reader
	instanceName string

	mu  sync.Mutex
	cni *network.CNI
}

// NewInstanceNetwork builds the network; base.TaskCIDR may be empty.
func NewInstanceNetwork(base network.Config, reader client.Reader, instanceName string) (network.Network, error) {
	n := &instanceNetwork{base: base, reader: reader, instanceName: instanceName}
	cni, err := network.New(base)
	if err != nil {
		return nil, err
	}
	n.cni = cni
	return n, nil
}

func (n *instanceNetwork) current(ctx context.Context, needTaskCIDR bool) (*network.CNI, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if !needTaskCIDR || n.base.TaskCIDR != "" {
		return n.cni, nil
	}
	ci := &ecsv1.ContainerInstance{}
	if err := n.reader.Get(ctx, client.ObjectKey{Name: n.instanceName}, ci); err != nil {
		return nil, fmt.Errorf("reading ContainerInstance %s for its task subnet: %w", n.instanceName, err)
	}
	if ci.Status.TaskCIDR == "" {
		return nil, fmt.Errorf("container instance %s has no task subnet yet (status.taskCIDR, assigned by longshore-manager from the Cluster's taskNetwork.cidr); awsvpc tasks cannot start here until it has one", n.instanceName)
	}
	// The same CNI learns its subnet: a new one would reload the state
	// files of attachments being set up (and take them for interrupted).
	if err := n.cni.SetTaskCIDR(ci.Status.TaskCIDR); err != nil {
		return nil, err
	}
	n.base.TaskCIDR = ci.Status.TaskCIDR
	return n.cni, nil
}

// Setup implements network.Network.
func (n *instanceNetwork) Setup(ctx context.Context, req network.SetupRequest) (*network.Attachment, error) {
	cni, err := n.current(ctx, req.Mode == network.ModeAWSVPC && req.CNIConfig == "")
	if err != nil {
		return nil, err
	}
	return cni.Setup(ctx, req)
}

// Teardown implements network.Network.
func (n *instanceNetwork) Teardown(ctx context.Context, id string) error {
	cni, _ := n.current(ctx, false)
	return cni.Teardown(ctx, id)
}

// NetNSPath implements network.Network.
func (n *instanceNetwork) NetNSPath(id string) string {
	cni, _ := n.current(context.Background(), false)
	return cni.NetNSPath(id)
}

// List implements network.Network.
func (n *instanceNetwork) List(ctx context.Context) ([]network.Attachment, error) {
	cni, _ := n.current(ctx, false)
	return cni.List(ctx)
}

// GC implements network.Network.
func (n *instanceNetwork) GC(ctx context.Context, keep map[string]bool) error {
	cni, _ := n.current(ctx, false)
	return cni.GC(ctx, keep)
}
