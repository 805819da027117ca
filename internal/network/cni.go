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

package network

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	gocni "github.com/containerd/go-cni"
	"github.com/containernetworking/cni/libcni"
	cnitypes "github.com/containernetworking/cni/pkg/types"
	types100 "github.com/containernetworking/cni/pkg/types/100"
	ctrl "sigs.k8s.io/controller-runtime"
)

// Defaults of Config.
const (
	DefaultStateDir       = "/var/lib/longshore/network"
	DefaultNetNSDir       = "/run/longshore/netns"
	DefaultPluginDir      = "/usr/lib/cni"
	DefaultConfDir        = "/etc/cni/net.d"
	DefaultBridgeName     = "ls-br0"
	DefaultBridgeCIDR     = "172.29.0.0/16"
	DefaultTaskBridgeName = "ls-vpc0"
	DefaultPortRangeMin   = 49153
	DefaultPortRangeMax   = 65535
)

// Config configures the CNI implementation. Every path and name is
// configurable so that two agents can run side by side on one machine:
// give each its own StateDir, NetNSDir, bridge names and CIDRs, and
// disjoint port ranges.
type Config struct {
	// StateDir holds one state file per attachment (StateDir/attachments),
	// the host-local IPAM data (StateDir/ipam) and libcni's result cache
	// (StateDir/cache). Default DefaultStateDir.
	StateDir string
	// NetNSDir is where namespaces are pinned, as NetNSDir/<attachment ID>.
	// It must belong to this agent alone. Default DefaultNetNSDir.
	NetNSDir string
	// PluginDirs are searched for CNI plugin binaries. Default
	// [DefaultPluginDir].
	PluginDirs []string
	// ConfDir holds the user conflists that SetupRequest.CNIConfig names.
	// Default DefaultConfDir.
	ConfDir string
	// BridgeName is the Linux bridge of bridge mode (at most 15 bytes).
	// Default DefaultBridgeName.
	BridgeName string
	// BridgeCIDR is the IPv4 subnet of bridge mode, the same on every host
	// (traffic leaving it is masqueraded). Default DefaultBridgeCIDR.
	BridgeCIDR string
	// TaskBridgeName is the Linux bridge of awsvpc mode (at most 15
	// bytes). Default DefaultTaskBridgeName.
	TaskBridgeName string
	// TaskCIDR is this instance's IPv4 awsvpc subnet, e.g. 10.222.3.0/24;
	// the host is its gateway (.1). Empty: awsvpc needs a CNIConfig.
	TaskCIDR string
	// PortRangeMin and PortRangeMax bound the dynamic host ports (both
	// inclusive). Defaults DefaultPortRangeMin and DefaultPortRangeMax.
	PortRangeMin int32
	PortRangeMax int32
	// ReservedPorts are never handed out as dynamic ports and refused as
	// static ones, for tcp and udp alike.
	ReservedPorts []int32
}

// requiredPlugins are the plugin binaries the built-in conflists use.
var requiredPlugins = []string{"bridge", "host-local", "portmap", "firewall", "loopback"}

// pluginTimeout bounds one CNI ADD or DEL. Plugins run without the
// caller's cancellation: a plugin killed half-way leaves iptables and links
// in a state that only a DEL repairs.
const pluginTimeout = 2 * time.Minute

// idPattern is what an attachment ID may look like: it becomes a file name
// and a CNI container ID.
var idPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,199}$`)

// cniMu serializes every CNI plugin invocation in the process, across CNI
// instances: plugins race on iptables chains. It also guards
// libcni.CacheDir, the only way to give go-cni a cache directory: it is
// set to the instance's cache directory for the duration of each call.
var cniMu sync.Mutex

// CNI is the Network implementation on CNI plugins. Create it with New.
type CNI struct {
	cfg      Config
	store    stateStore
	ipamDir  string
	cacheDir string

	bridgeConf []byte
	taskConf   []byte // nil when TaskCIDR is empty

	// mu guards everything below and is held for the whole of Setup,
	// Teardown and GC, so one attachment is never half-visible to another
	// call.
	mu     sync.Mutex
	states map[string]*attachmentState
	ports  *portAllocator

	// delAttempts and delBackoff control how often a failing CNI DEL is
	// retried within one Teardown.
	delAttempts int
	delBackoff  time.Duration
}

var _ Network = (*CNI)(nil)

func (c Config) withDefaults() Config {
	if c.StateDir == "" {
		c.StateDir = DefaultStateDir
	}
	if c.NetNSDir == "" {
		c.NetNSDir = DefaultNetNSDir
	}
	if len(c.PluginDirs) == 0 {
		c.PluginDirs = []string{DefaultPluginDir}
	}
	if c.ConfDir == "" {
		c.ConfDir = DefaultConfDir
	}
	if c.BridgeName == "" {
		c.BridgeName = DefaultBridgeName
	}
	if c.BridgeCIDR == "" {
		c.BridgeCIDR = DefaultBridgeCIDR
	}
	if c.TaskBridgeName == "" {
		c.TaskBridgeName = DefaultTaskBridgeName
	}
	if c.PortRangeMin == 0 {
		c.PortRangeMin = DefaultPortRangeMin
	}
	if c.PortRangeMax == 0 {
		c.PortRangeMax = DefaultPortRangeMax
	}
	return c
}

func (c Config) validate() error {
	for _, b := range []struct{ field, name string }{{"BridgeName", c.BridgeName}, {"TaskBridgeName", c.TaskBridgeName}} {
		if len(b.name) > 15 || strings.ContainsAny(b.name, "/ \t\n:") {
			return fmt.Errorf("%s %q is not a valid interface name (at most 15 bytes, no '/', ':' or spaces)", b.field, b.name)
		}
	}
	if c.BridgeName == c.TaskBridgeName {
		return fmt.Errorf("BridgeName and TaskBridgeName must differ (both %q)", c.BridgeName)
	}
	bridgeNet, err := parseIPv4CIDR("BridgeCIDR", c.BridgeCIDR)
	if err != nil {
		return err
	}
	if c.TaskCIDR != "" {
		taskNet, err := parseIPv4CIDR("TaskCIDR", c.TaskCIDR)
		if err != nil {
			return err
		}
		if bridgeNet.Contains(taskNet.IP) || taskNet.Contains(bridgeNet.IP) {
			return fmt.Errorf("TaskCIDR %s overlaps BridgeCIDR %s", c.TaskCIDR, c.BridgeCIDR)
		}
	}
	if c.PortRangeMin < 1 || c.PortRangeMax > 65535 || c.PortRangeMin > c.PortRangeMax {
		return fmt.Errorf("dynamic host port range %d-%d is invalid (1 ≤ min ≤ max ≤ 65535)", c.PortRangeMin, c.PortRangeMax)
	}
	for _, d := range []struct{ field, dir string }{{"StateDir", c.StateDir}, {"NetNSDir", c.NetNSDir}, {"ConfDir", c.ConfDir}} {
		if !filepath.IsAbs(d.dir) {
			return fmt.Errorf("%s %q must be an absolute path", d.field, d.dir)
		}
	}
	return nil
}

func parseIPv4CIDR(field, s string) (*net.IPNet, error) {
	ip, n, err := net.ParseCIDR(s)
	if err != nil || ip.To4() == nil {
		return nil, fmt.Errorf("%s %q is not an IPv4 CIDR", field, s)
	}
	if ones, _ := n.Mask.Size(); ones > 30 {
		return nil, fmt.Errorf("%s %q is too small (at most /30)", field, s)
	}
	return n, nil
}

// New checks cfg (after filling defaults), creates the directories, checks
// that the plugins are installed and loads the recorded attachments, whose
// host ports count as used from then on.
func New(cfg Config) (*CNI, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("network configuration: %w", err)
	}
	c := &CNI{
		cfg:         cfg,
		store:       stateStore{dir: filepath.Join(cfg.StateDir, "attachments")},
		ipamDir:     filepath.Join(cfg.StateDir, "ipam"),
		cacheDir:    filepath.Join(cfg.StateDir, "cache"),
		states:      map[string]*attachmentState{},
		ports:       newPortAllocator(cfg.PortRangeMin, cfg.PortRangeMax, cfg.ReservedPorts, probeHostPort),
		delAttempts: 5,
		delBackoff:  200 * time.Millisecond,
	}
	for _, d := range []string{c.store.dir, c.ipamDir, c.cacheDir} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("create network state directory: %w", err)
		}
	}
	if err := os.MkdirAll(cfg.NetNSDir, 0o755); err != nil {
		return nil, fmt.Errorf("create network namespace directory: %w", err)
	}
	for _, p := range requiredPlugins {
		if _, err := findPlugin(cfg.PluginDirs, p); err != nil {
			return nil, err
		}
	}
	var err error
	if c.bridgeConf, err = bridgeConfList(cfg.BridgeName, cfg.BridgeCIDR, c.ipamDir); err != nil {
		return nil, err
	}
	if cfg.TaskCIDR != "" {
		if c.taskConf, err = taskConfList(cfg.TaskBridgeName, cfg.TaskCIDR, c.ipamDir); err != nil {
			return nil, err
		}
	}
	states, err := c.store.loadAll()
	if err != nil {
		return nil, err
	}
	for _, st := range states {
		c.states[st.ID] = st
		c.ports.hold(st.ID, st.Ports)
	}
	return c, nil
}

// SetTaskCIDR gives an instance created without a task subnet the one it
// was assigned since (awsvpc). The same CNI goes on with its attachments:
// a second CNI on the same state directory would load their state files
// while a setup is under way and take an attachment being set up for one
// whose setup was interrupted.
func (c *CNI) SetTaskCIDR(cidr string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cfg.TaskCIDR == cidr && c.taskConf != nil {
		return nil
	}
	if c.cfg.TaskCIDR != "" {
		return fmt.Errorf("this instance already has the task subnet %s, not %s", c.cfg.TaskCIDR, cidr)
	}
	cfg := c.cfg
	cfg.TaskCIDR = cidr
	if err := cfg.validate(); err != nil {
		return err
	}
	conf, err := taskConfList(cfg.TaskBridgeName, cidr, c.ipamDir)
	if err != nil {
		return err
	}
	c.cfg, c.taskConf = cfg, conf
	return nil
}

func findPlugin(dirs []string, name string) (string, error) {
	for _, d := range dirs {
		p := filepath.Join(d, name)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("CNI plugin %q not found in %s (install containernetworking-plugins)", name, strings.Join(dirs, ", "))
}

// NetNSPath implements Network.
func (c *CNI) NetNSPath(id string) string { return filepath.Join(c.cfg.NetNSDir, id) }

// Setup implements Network. Port mappings are published in bridge mode
// only; CNIConfig is used in awsvpc mode only.
func (c *CNI) Setup(ctx context.Context, req SetupRequest) (*Attachment, error) {
	log := ctrl.LoggerFrom(ctx).WithValues("attachment", req.ID, "mode", req.Mode)
	req, err := normalizeRequest(req)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	existing, st, err := c.beginLocked(ctx, req)
	if existing != nil || err != nil {
		return existing, err
	}
	done := false
	defer func() {
		if done {
			return
		}
		// Fresh context: the caller's may be what failed us.
		cctx := context.WithoutCancel(ctx)
		if err := c.teardownLocked(cctx, st); err != nil {
			log.Error(err, "Cleaning up a failed network setup failed; GC or Teardown will retry")
		}
	}()
	if err := createNetNS(st.NetNSPath); err != nil {
		return nil, err
	}
	res, err := c.cniAdd(ctx, st)
	if err != nil {
		return nil, fmt.Errorf("CNI ADD for %s: %w", req.ID, err)
	}
	a, err := c.finishLocked(ctx, st, res)
	if err != nil {
		return nil, err
	}
	done = true
	log.Info("Network attachment is set up", "ip", a.IPv4, "bindings", len(a.Bindings))
	return a, nil
}

// finishLocked applies what follows CNI ADD (the proxy redirect, the
// addresses the plugins gave) and records the attachment as ready.
func (c *CNI) finishLocked(ctx context.Context, st *attachmentState, res *gocni.Result) (*Attachment, error) {
	if st.Proxy != nil {
		if err := applyProxyRedirect(ctx, st.NetNSPath, st.Proxy); err != nil {
			return nil, err
		}
	}
	if st.ConfList != nil {
		var first *types100.Result
		if raw := res.Raw(); len(raw) > 0 {
			first = raw[0]
		}
		if err := st.setFacts(first); err != nil {
			return nil, err
		}
	}
	st.Phase = phaseReady
	if err := c.store.write(st); err != nil {
		return nil, err
	}
	a := st.attachment()
	return &a, nil
}

// normalizeRequest checks req and clears what its mode does not use.
func normalizeRequest(req SetupRequest) (SetupRequest, error) {
	if !idPattern.MatchString(req.ID) {
		return req, fmt.Errorf("network attachment ID %q is invalid (letters, digits, '_', '.', '-'; at most 200)", req.ID)
	}
	switch req.Mode {
	case ModeBridge:
		var err error
		if req.PortMappings, err = normalizeMappings(req.PortMappings); err != nil {
			return req, err
		}
		req.CNIConfig = ""
		req.Proxy = nil
	case ModeAWSVPC:
		req.PortMappings = nil
		if req.Proxy != nil {
			if err := req.Proxy.Validate(); err != nil {
				return req, err
			}
		}
	case ModeNone:
		req.PortMappings = nil
		req.CNIConfig = ""
		req.Proxy = nil
	default:
		return req, fmt.Errorf("network mode %q is not handled by CNI (bridge, awsvpc or none)", req.Mode)
	}
	return req, nil
}

// beginLocked returns the attachment when it is set up already; else it
// records a new one (its state file first: whatever happens after it,
// Teardown or GC can find and undo) and returns its state, for Setup to
// carry on with: pin the namespace, CNI ADD, finishLocked.
func (c *CNI) beginLocked(ctx context.Context, req SetupRequest) (*Attachment, *attachmentState, error) {
	log := ctrl.LoggerFrom(ctx).WithValues("attachment", req.ID, "mode", req.Mode)
	if st, ok := c.states[req.ID]; ok {
		if st.Phase == phaseReady {
			if !sameRequest(st, req) {
				return nil, nil, fmt.Errorf("network attachment %s already exists with a different configuration; tear it down first", req.ID)
			}
			mounted, err := isNetNS(st.NetNSPath)
			if err != nil {
				return nil, nil, err
			}
			if mounted {
				a := st.attachment()
				return &a, nil, nil
			}
			log.Info("Network namespace of a recorded attachment is gone; setting it up again", "netns", st.NetNSPath)
		} else {
			log.Info("Tearing down an attachment whose setup was interrupted")
		}
		if err := c.teardownLocked(ctx, st); err != nil {
			return nil, nil, fmt.Errorf("clean up previous network attachment %s: %w", req.ID, err)
		}
	} else if _, err := os.Lstat(filepath.Join(c.cfg.NetNSDir, req.ID)); err == nil {
		// A namespace without a state file: the state file was lost.
		log.Info("Tearing down an unrecorded namespace with this ID")
		if err := c.teardownUnrecordedLocked(ctx, req.ID); err != nil {
			return nil, nil, fmt.Errorf("clean up unrecorded network attachment %s: %w", req.ID, err)
		}
	}

	st := &attachmentState{
		ID:        req.ID,
		Mode:      req.Mode,
		Phase:     phaseCreating,
		NetNSPath: c.NetNSPath(req.ID),
		CNIConfig: req.CNIConfig,
		Labels:    req.Labels,
		Proxy:     req.Proxy,
	}
	switch {
	case req.Mode == ModeBridge:
		st.NetworkName, st.ConfList = networkName(c.cfg.BridgeName), c.bridgeConf
	case req.Mode == ModeAWSVPC && req.CNIConfig != "":
		name, data, err := loadUserConfList(c.cfg.ConfDir, req.CNIConfig)
		if err != nil {
			return nil, nil, err
		}
		st.NetworkName, st.ConfList = name, data
	case req.Mode == ModeAWSVPC:
		if c.taskConf == nil {
			return nil, nil, errors.New("awsvpc network mode needs a task subnet: set the agent's TaskCIDR for this instance, or name a CNI config in the Cluster's spec.taskNetwork.cniConfig")
		}
		st.NetworkName, st.ConfList = networkName(c.cfg.TaskBridgeName), c.taskConf
	}
	if len(req.PortMappings) > 0 {
		ports, err := c.ports.assign(req.ID, req.PortMappings)
		if err != nil {
			return nil, nil, err
		}
		st.Ports = ports
	}

	log.Info("Setting up network attachment", "netns", st.NetNSPath, "network", st.NetworkName)
	// The state file comes first: whatever happens after it, Teardown or GC
	// can find and undo.
	if err := c.store.write(st); err != nil {
		c.ports.release(req.ID)
		return nil, nil, err
	}
	c.states[req.ID] = st
	return nil, st, nil
}

// sameRequest tells whether a (normalized) request asks for what st
// records.
func sameRequest(st *attachmentState, req SetupRequest) bool {
	if st.Mode != req.Mode || st.CNIConfig != req.CNIConfig || len(st.Ports) != len(req.PortMappings) ||
		!reflect.DeepEqual(st.Proxy, req.Proxy) {
		return false
	}
	for i, m := range req.PortMappings {
		p := st.Ports[i]
		if p.ContainerPort != m.ContainerPort || p.Protocol != m.Protocol || p.HostIP != m.HostIP {
			return false
		}
		if m.HostPort == 0 && !p.Dynamic || m.HostPort != 0 && p.HostPort != m.HostPort {
			return false
		}
	}
	return true
}

// setFacts records the address facts of the CNI result of the attachment's
// own network (the first one; loopback comes after it).
func (st *attachmentState) setFacts(r *types100.Result) error {
	if r == nil {
		return errors.New("CNI ADD returned no result")
	}
	idx := -1
	for i, intf := range r.Interfaces {
		if intf.Name == podInterface && intf.Sandbox != "" {
			idx = i
			st.Interface, st.MAC = intf.Name, intf.Mac
			break
		}
	}
	for _, ipc := range r.IPs {
		if ipc.Interface != nil && idx >= 0 && *ipc.Interface != idx {
			continue
		}
		ip4 := ipc.Address.IP.To4()
		if ip4 == nil {
			continue
		}
		st.IPv4 = ip4.String()
		st.Subnet = (&net.IPNet{IP: ip4.Mask(ipc.Address.Mask), Mask: ipc.Address.Mask}).String()
		if ipc.Gateway != nil {
			st.Gateway = ipc.Gateway.String()
		}
		if st.Interface == "" {
			st.Interface = podInterface
		}
		break
	}
	if st.IPv4 == "" && st.CNIConfig == "" {
		return fmt.Errorf("CNI ADD (%s mode) returned no IPv4 address for %s", st.Mode, podInterface)
	}
	return nil
}

// goCNI builds a go-cni instance for the recorded network list: the list
// first (so its interface is eth0), loopback after it.
func (c *CNI) goCNI(st *attachmentState) (gocni.CNI, error) {
	opts := []gocni.Opt{gocni.WithPluginDir(c.cfg.PluginDirs), gocni.WithMinNetworkCount(1)}
	if len(st.ConfList) > 0 {
		opts = append(opts, gocni.WithConfListBytes(st.ConfList))
	}
	opts = append(opts, gocni.WithLoNetwork)
	l, err := gocni.New(opts...)
	if err != nil {
		return nil, fmt.Errorf("load CNI configuration of %s: %w", st.ID, err)
	}
	return l, nil
}

func portMappingOpts(st *attachmentState) []gocni.NamespaceOpts {
	if len(st.Ports) == 0 {
		return nil
	}
	pm := make([]gocni.PortMapping, 0, len(st.Ports))
	for _, p := range st.Ports {
		pm = append(pm, gocni.PortMapping{HostPort: p.HostPort, ContainerPort: p.ContainerPort, Protocol: p.Protocol, HostIP: p.HostIP})
	}
	return []gocni.NamespaceOpts{gocni.WithCapabilityPortMap(pm)}
}

// withCNILock runs fn holding the process-wide CNI lock, with libcni's
// cache directory pointing into this instance's state directory.
func (c *CNI) withCNILock(fn func() error) error {
	cniMu.Lock()
	defer cniMu.Unlock()
	prev := libcni.CacheDir
	libcni.CacheDir = c.cacheDir
	defer func() { libcni.CacheDir = prev }()
	return fn()
}

func (c *CNI) cniAdd(ctx context.Context, st *attachmentState) (*gocni.Result, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	l, err := c.goCNI(st)
	if err != nil {
		return nil, err
	}
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), pluginTimeout)
	defer cancel()
	var res *gocni.Result
	err = c.withCNILock(func() error {
		var err error
		res, err = l.SetupSerially(pctx, st.ID, st.NetNSPath, portMappingOpts(st)...)
		return err
	})
	return res, err
}

func (c *CNI) cniDel(ctx context.Context, st *attachmentState, nsPath string) error {
	l, err := c.goCNI(st)
	if err != nil {
		return err
	}
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), pluginTimeout)
	defer cancel()
	return c.withCNILock(func() error {
		return l.Remove(pctx, st.ID, nsPath, portMappingOpts(st)...)
	})
}

// Teardown implements Network.
func (c *CNI) Teardown(ctx context.Context, id string) error {
	if !idPattern.MatchString(id) {
		return fmt.Errorf("network attachment ID %q is invalid", id)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	st, ok := c.states[id]
	if !ok {
		return c.teardownUnrecordedLocked(ctx, id)
	}
	return c.teardownLocked(ctx, st)
}

// teardownLocked runs CNI DEL (retried) while the namespace still exists,
// then removes the namespace, then the state file, then releases the ports.
// On error the attachment stays recorded so that a later call retries.
func (c *CNI) teardownLocked(ctx context.Context, st *attachmentState) error {
	log := ctrl.LoggerFrom(ctx).WithValues("attachment", st.ID, "mode", st.Mode)
	log.Info("Tearing down network attachment", "netns", st.NetNSPath)
	mounted, err := isNetNS(st.NetNSPath)
	if err != nil {
		return err
	}
	nsPath := ""
	if mounted {
		nsPath = st.NetNSPath
	} else if err := removeNetNS(st.NetNSPath); err != nil { // a bare mount point left by a crash
		return err
	}

	// Without the namespace the bridge plugin cannot find its masquerade
	// rules; note the addresses now, the cache is gone after DEL.
	var masqList *libcni.NetworkConfigList
	var masqIPs []string
	if nsPath == "" && len(st.ConfList) > 0 {
		if l, err := libcni.ConfListFromBytes(st.ConfList); err == nil && bridgeMasquerades(l) {
			masqList, masqIPs = l, c.cachedIPv4s(l, st.ID)
			if st.IPv4 != "" && !slices.Contains(masqIPs, st.IPv4) {
				masqIPs = append(masqIPs, st.IPv4)
			}
		}
	}

	var delErr error
	for attempt := 1; attempt <= c.delAttempts; attempt++ {
		if delErr = c.cniDel(ctx, st, nsPath); delErr == nil {
			break
		}
		log.Info("CNI DEL failed", "attempt", attempt, "error", delErr.Error())
		if attempt == c.delAttempts {
			break
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("CNI DEL for %s: %w (then %w)", st.ID, delErr, ctx.Err())
		case <-time.After(c.delBackoff * time.Duration(attempt)):
		}
	}
	if delErr != nil {
		return fmt.Errorf("CNI DEL for %s: %w", st.ID, delErr)
	}
	if masqList != nil {
		pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), pluginTimeout)
		err := c.withCNILock(func() error { return removeMasquerade(pctx, masqList.Name, st.ID, masqIPs) })
		cancel()
		if err != nil {
			return fmt.Errorf("remove masquerade rules of %s: %w", st.ID, err)
		}
	}
	if err := removeNetNS(st.NetNSPath); err != nil {
		return err
	}
	if err := c.store.remove(st.ID); err != nil {
		return err
	}
	delete(c.states, st.ID)
	c.ports.release(st.ID)
	return nil
}

// teardownUnrecordedLocked handles an ID without a state file: nothing to
// do normally, but if libcni's cache or a pinned namespace still knows it
// (the state file was lost), DEL it from the cache and remove the
// namespace.
func (c *CNI) teardownUnrecordedLocked(ctx context.Context, id string) error {
	cached, err := libcni.NewCNIConfigWithCacheDir(c.cfg.PluginDirs, c.cacheDir, nil).GetCachedAttachments(id)
	if err != nil {
		return fmt.Errorf("read CNI cache: %w", err)
	}
	if len(cached) > 0 {
		ctrl.LoggerFrom(ctx).Info("Tearing down unrecorded network attachment found in the CNI cache", "attachment", id)
		if err := c.delCachedLocked(ctx, cached); err != nil {
			return err
		}
	}
	return removeNetNS(filepath.Join(c.cfg.NetNSDir, id))
}

// delCachedLocked runs DEL for cached attachments with their cached
// configuration and arguments. Once every cached network of a container ID
// is deleted, its namespace is removed if it is pinned in our NetNSDir.
func (c *CNI) delCachedLocked(ctx context.Context, cached []*libcni.NetworkAttachment) error {
	cfg := libcni.NewCNIConfigWithCacheDir(c.cfg.PluginDirs, c.cacheDir, nil)
	var errs []error
	failed := map[string]bool{}
	for _, a := range cached {
		list, err := libcni.ConfListFromBytes(a.Config)
		if err != nil {
			errs = append(errs, fmt.Errorf("cached CNI config of %s/%s: %w", a.ContainerID, a.IfName, err))
			failed[a.ContainerID] = true
			continue
		}
		rt := &libcni.RuntimeConf{ContainerID: a.ContainerID, NetNS: a.NetNS, IfName: a.IfName, Args: a.CniArgs, CapabilityArgs: a.CapabilityArgs}
		var masqIPs []string
		masq := false
		if ok, _ := isNetNS(a.NetNS); !ok {
			rt.NetNS = ""
			if masq = bridgeMasquerades(list); masq {
				masqIPs = c.cachedIPv4s(list, a.ContainerID)
			}
		}
		pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), pluginTimeout)
		err = c.withCNILock(func() error {
			if err := cfg.DelNetworkList(pctx, list, rt); err != nil {
				return err
			}
			if masq {
				return removeMasquerade(pctx, list.Name, a.ContainerID, masqIPs)
			}
			return nil
		})
		cancel()
		if err != nil {
			errs = append(errs, fmt.Errorf("CNI DEL of cached attachment %s/%s: %w", a.ContainerID, a.IfName, err))
			failed[a.ContainerID] = true
		}
	}
	for _, a := range cached {
		if failed[a.ContainerID] || !idPattern.MatchString(a.ContainerID) {
			continue
		}
		if p := filepath.Join(c.cfg.NetNSDir, a.ContainerID); a.NetNS == p {
			if err := removeNetNS(p); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// List implements Network. Attachments whose setup was interrupted are
// listed too (without addresses).
func (c *CNI) List(_ context.Context) ([]Attachment, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]Attachment, 0, len(c.states))
	for _, id := range c.sortedIDsLocked() {
		out = append(out, c.states[id].attachment())
	}
	return out, nil
}

func (c *CNI) sortedIDsLocked() []string {
	ids := make([]string, 0, len(c.states))
	for id := range c.states {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// GC implements Network. After tearing down the recorded attachments not in
// keep, it runs libcni GC for every network found in the CNI cache (this
// DELs cached attachments that no state file records; plugins speaking
// spec 1.1+ also get a GC call) and releases host-local IPAM reservations
// held by container IDs that no attachment records (plugins speaking 1.0.0
// have no GC of their own).
func (c *CNI) GC(ctx context.Context, keep map[string]bool) error {
	log := ctrl.LoggerFrom(ctx)
	c.mu.Lock()
	defer c.mu.Unlock()
	var errs []error
	for _, id := range c.sortedIDsLocked() {
		if keep[id] {
			continue
		}
		log.Info("Garbage-collecting network attachment", "attachment", id)
		if err := c.teardownLocked(ctx, c.states[id]); err != nil {
			errs = append(errs, err)
		}
	}
	if err := c.gcCNILocked(ctx); err != nil {
		errs = append(errs, err)
	}
	if err := c.gcIPAMLocked(ctx); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// gcCNILocked calls libcni's GCNetworkList for the built-in networks,
// loopback and every network with cache entries, with every recorded
// attachment (eth0 and lo) as valid.
func (c *CNI) gcCNILocked(ctx context.Context) error {
	cfg := libcni.NewCNIConfigWithCacheDir(c.cfg.PluginDirs, c.cacheDir, nil)
	cached, err := cfg.GetCachedAttachments("")
	if err != nil {
		return fmt.Errorf("read CNI cache: %w", err)
	}
	lists := map[string]*libcni.NetworkConfigList{}
	addList := func(data []byte) error {
		l, err := libcni.ConfListFromBytes(data)
		if err != nil {
			return err
		}
		if _, ok := lists[l.Name]; !ok {
			lists[l.Name] = l
		}
		return nil
	}
	var errs []error
	var stale []*libcni.NetworkAttachment
	for _, a := range cached {
		if _, ok := c.states[a.ContainerID]; !ok {
			stale = append(stale, a)
		}
	}
	if len(stale) > 0 {
		ctrl.LoggerFrom(ctx).Info("Deleting unrecorded attachments found in the CNI cache", "count", len(stale))
		if err := c.delCachedLocked(ctx, stale); err != nil {
			errs = append(errs, err)
		}
	}
	for _, a := range cached {
		if err := addList(a.Config); err != nil {
			errs = append(errs, fmt.Errorf("cached CNI config of %s/%s: %w", a.ContainerID, a.IfName, err))
		}
	}
	for _, data := range [][]byte{c.bridgeConf, c.taskConf} {
		if data != nil {
			if err := addList(data); err != nil {
				errs = append(errs, err)
			}
		}
	}
	valid := make([]cnitypes.GCAttachment, 0, 2*len(c.states))
	for _, id := range c.sortedIDsLocked() {
		valid = append(valid,
			cnitypes.GCAttachment{ContainerID: id, IfName: podInterface},
			cnitypes.GCAttachment{ContainerID: id, IfName: loopbackInterface})
	}
	names := make([]string, 0, len(lists))
	for n := range lists {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		list := lists[n]
		pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), pluginTimeout)
		err := c.withCNILock(func() error {
			return cfg.GCNetworkList(pctx, list, &libcni.GCArgs{ValidAttachments: valid})
		})
		cancel()
		if err != nil {
			errs = append(errs, fmt.Errorf("CNI GC of network %s: %w", n, err))
		}
	}

	return errors.Join(errs...)
}

// gcIPAMLocked removes host-local reservations (StateDir/ipam/<network>/<ip>,
// content "<container ID>\r\n<ifname>") whose container ID no attachment
// records. The directory belongs to this agent alone, and no plugin runs
// concurrently (c.mu is held, and state is written before ADD).
func (c *CNI) gcIPAMLocked(ctx context.Context) error {
	log := ctrl.LoggerFrom(ctx)
	nets, err := os.ReadDir(c.ipamDir)
	if err != nil {
		return fmt.Errorf("read IPAM directory: %w", err)
	}
	var errs []error
	for _, n := range nets {
		if !n.IsDir() {
			continue
		}
		dir := filepath.Join(c.ipamDir, n.Name())
		files, err := os.ReadDir(dir)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, f := range files {
			if f.IsDir() || net.ParseIP(f.Name()) == nil {
				continue
			}
			p := filepath.Join(dir, f.Name())
			owner, err := ipamOwner(p)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			if _, ok := c.states[owner]; ok {
				continue
			}
			log.Info("Releasing leaked IP reservation", "network", n.Name(), "ip", f.Name(), "attachment", owner)
			if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// ipamOwner reads the container ID from a host-local reservation file.
func ipamOwner(p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer func() { _ = f.Close() }()
	s := bufio.NewScanner(f)
	if s.Scan() {
		return strings.TrimSpace(s.Text()), nil
	}
	return "", s.Err()
}
