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

package taskendpoint

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/clock"

	ecsv1 "github.com/longshore-io/longshore/api/v1alpha1"
	"github.com/longshore-io/longshore/internal/ecsarn"
	"github.com/longshore-io/longshore/internal/network"
	lsruntime "github.com/longshore-io/longshore/internal/runtime"
)

// TaskAddress is where a task with a network namespace of its own reaches
// its endpoints: ECS's address, 169.254.170.2 (on the namespace's loopback
// interface), and the port ECS's agent serves them on, 51679. Not port
// 80: a listener on 169.254.170.2:80 in the task's namespace would make
// the bind of a container that serves 0.0.0.0:80 there (a web server in
// awsvpc mode) fail with "address already in use". The variables carry
// the port, and clients use them as given.
var TaskAddress = netip.MustParseAddrPort("169.254.170.2:51679")

// DefaultHostAddress is where host-mode tasks reach them: the port ECS's
// agent serves them on, on the host's loopback.
const DefaultHostAddress = "127.0.0.1:51679"

// The variables every container gets.
const (
	EnvMetadataV4 = "ECS_CONTAINER_METADATA_URI_V4"
	EnvMetadataV3 = "ECS_CONTAINER_METADATA_URI"
	EnvAgentURI   = "ECS_AGENT_URI"
)

// ErrNotFound is what a Source returns for a task it does not know (any more).
var ErrNotFound = errors.New("task not found")

// Source is what the endpoints read and write of the agent's tasks.
type Source interface {
	// Task is the task ref as the agent knows it now; ErrNotFound when it
	// is gone or has another UID.
	Task(ctx context.Context, ref TaskRef) (*Snapshot, error)
	// Tasks are the tasks bound to the instance.
	Tasks(ctx context.Context) ([]*Snapshot, error)
	// Protect records the task's scale-in protection and returns the task
	// as written.
	Protect(ctx context.Context, ref TaskRef, p *ecsv1.TaskProtection) (*ecsv1.Task, error)
	// Instance describes the instance.
	Instance(ctx context.Context) Instance
}

// Server serves the task endpoints of the tasks of one agent.
type Server struct {
	Source Source
	ARN    ecsarn.Config
	// HostAddress is the listener of host-mode tasks ("" disables it, and
	// host-mode containers get no endpoint variables).
	HostAddress string
	// KeyFile holds the secret the per-container ids are derived from
	// (created at first start); the ids stay the same across restarts.
	KeyFile string
	// CgroupOf is the cgroup (relative to the hierarchies' roots) of
	// container id of task uid.
	CgroupOf func(uid types.UID, containerID string) string
	Clock    clock.Clock
	Log      logr.Logger

	key   []byte
	stats *statsReader

	mu    sync.Mutex
	tasks map[types.UID]*taskListeners
	// hostIDs are the per-container ids of host-mode containers.
	hostIDs map[string]hostEntry
}

type taskListeners struct {
	ref     TaskRef
	servers map[string]*http.Server // by network namespace path
	hostIDs []string
}

type hostEntry struct {
	ref       TaskRef
	container string
}

// Init reads (or creates) the key; call it before anything else.
func (s *Server) Init() error {
	if s.Clock == nil {
		s.Clock = clock.RealClock{}
	}
	s.stats = newStatsReader()
	s.tasks = map[types.UID]*taskListeners{}
	s.hostIDs = map[string]hostEntry{}
	if s.KeyFile == "" {
		return errors.New("task endpoints: no key file")
	}
	b, err := os.ReadFile(s.KeyFile)
	if errors.Is(err, os.ErrNotExist) {
		b = make([]byte, 32)
		if _, err := rand.Read(b); err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Dir(s.KeyFile), 0o700); err != nil {
			return err
		}
		tmp := s.KeyFile + ".tmp"
		if err := os.WriteFile(tmp, b, 0o600); err != nil {
			return err
		}
		if err := os.Rename(tmp, s.KeyFile); err != nil {
			return err
		}
	} else if err != nil {
		return fmt.Errorf("reading the task endpoints' key: %w", err)
	}
	if len(b) < 16 {
		return fmt.Errorf("the task endpoints' key %s is too short", s.KeyFile)
	}
	s.key = b
	return nil
}

// EndpointID is the id in the paths of a container's endpoints: derived
// from the agent's secret, the task's UID and the container's name, so
// that nobody who does not have it can guess another container's (what
// tells host-mode tasks apart, who share one listener).
func (s *Server) EndpointID(uid types.UID, container string) string {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte(string(uid) + "/" + container))
	return hex.EncodeToString(m.Sum(nil)[:16])
}

// Env is the variables of container in task ref: hostMode when it runs
// in the host's network namespace. nil when it gets none (host mode
// without a host listener).
func (s *Server) Env(ref TaskRef, container string, hostMode bool) map[string]string {
	base := "http://" + TaskAddress.String()
	if hostMode {
		if s.HostAddress == "" {
			return nil
		}
		base = "http://" + s.HostAddress
	}
	id := s.EndpointID(ref.UID, container)
	return map[string]string{
		EnvMetadataV4: base + "/v4/" + id,
		EnvMetadataV3: base + "/v3/" + id,
		EnvAgentURI:   base + "/api/" + id,
	}
}

// Ensure makes the endpoints of task ref reachable: a listener in each
// network namespace of netns (container → path, "" for the host's) that
// has none yet, and the ids of its host-mode containers on the host
// listener. Idempotent: every sync of a running task calls it, so the
// tasks an agent adopts after a restart get their listeners back.
func (s *Server) Ensure(ctx context.Context, ref TaskRef, containers []string, netns map[string]string) error {
	s.mu.Lock()
	tl := s.tasks[ref.UID]
	if tl == nil {
		tl = &taskListeners{ref: ref, servers: map[string]*http.Server{}}
		s.tasks[ref.UID] = tl
	}
	var paths []string
	for _, c := range containers {
		p := netns[c]
		if p == "" {
			id := s.EndpointID(ref.UID, c)
			if _, ok := s.hostIDs[id]; !ok {
				s.hostIDs[id] = hostEntry{ref: ref, container: c}
				tl.hostIDs = append(tl.hostIDs, id)
			}
			continue
		}
		if _, ok := tl.servers[p]; !ok && !slices.Contains(paths, p) {
			paths = append(paths, p)
		}
	}
	s.mu.Unlock()
	for _, p := range paths {
		l, err := network.ListenInNetNS(p, TaskAddress)
		if err != nil {
			return fmt.Errorf("task metadata endpoint: %w", err)
		}
		fixed := ref
		srv := &http.Server{Handler: s.handler(&fixed), ReadHeaderTimeout: 10 * time.Second}
		s.mu.Lock()
		if cur := s.tasks[ref.UID]; cur != tl {
			// Closed meanwhile: the task is going away.
			s.mu.Unlock()
			_ = l.Close()
			return nil
		}
		tl.servers[p] = srv
		s.mu.Unlock()
		s.Log.V(1).Info("Serving the task endpoints in the task's network namespace", "task", ref.Namespace+"/"+ref.Name, "netns", p)
		go func() {
			if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
				s.Log.Error(err, "Task endpoint listener failed", "task", ref.Namespace+"/"+ref.Name, "netns", p)
			}
		}()
	}
	return nil
}

// Close closes the listeners of task uid and forgets its ids; idempotent.
// It must run before the task's network namespaces are torn down (an
// open listener keeps its namespace alive).
func (s *Server) Close(uid types.UID) {
	s.mu.Lock()
	tl := s.tasks[uid]
	delete(s.tasks, uid)
	if tl != nil {
		for _, id := range tl.hostIDs {
			delete(s.hostIDs, id)
		}
	}
	s.mu.Unlock()
	if tl == nil {
		return
	}
	s.stats.forgetTask(strings.ReplaceAll(string(uid), "-", ""))
	for _, srv := range tl.servers {
		_ = srv.Close()
	}
}

// Start serves the host listener until ctx ends, then closes every
// listener (a manager.Runnable).
func (s *Server) Start(ctx context.Context) error {
	if s.HostAddress != "" {
		l, err := net.Listen("tcp", s.HostAddress)
		if err != nil {
			return fmt.Errorf("task metadata endpoint of host-mode tasks: %w", err)
		}
		srv := &http.Server{Handler: s.handler(nil), ReadHeaderTimeout: 10 * time.Second}
		go func() { <-ctx.Done(); _ = srv.Close() }()
		s.Log.Info("Serving the task endpoints of host-mode tasks", "address", s.HostAddress)
		if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			return err
		}
	} else {
		<-ctx.Done()
	}
	s.mu.Lock()
	uids := make([]types.UID, 0, len(s.tasks))
	for uid := range s.tasks {
		uids = append(uids, uid)
	}
	s.mu.Unlock()
	for _, uid := range uids {
		s.Close(uid)
	}
	return nil
}

// Listening tells which network namespaces task uid is served in.
func (s *Server) Listening(uid types.UID) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	if tl := s.tasks[uid]; tl != nil {
		for p := range tl.servers {
			out = append(out, p)
		}
	}
	slices.Sort(out)
	return out
}

// handler serves requests of one task's namespace (fixed) or of the host
// listener (nil: the id in the path names the task).
func (s *Server) handler(fixed *TaskRef) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		parts := strings.Split(strings.Trim(req.URL.Path, "/"), "/")
		if len(parts) < 2 || (parts[0] != "v4" && parts[0] != "v3" && parts[0] != "api") {
			writeJSON(w, http.StatusNotFound, "Unknown path: "+req.URL.Path)
			return
		}
		version, id, rest := parts[0], parts[1], strings.Join(parts[2:], "/")
		snap, container, status := s.resolve(req.Context(), fixed, id)
		if version == "api" {
			if rest != "task-protection/v1/state" {
				writeJSON(w, http.StatusNotFound, "Unknown path: "+req.URL.Path)
				return
			}
			s.protection(w, req, snap, status)
			return
		}
		if status != http.StatusOK {
			writeJSON(w, status, fmt.Sprintf("%s container metadata handler: unable to find the task of the request's endpoint id", strings.ToUpper(version)))
			return
		}
		if req.Method != http.MethodGet {
			writeJSON(w, http.StatusMethodNotAllowed, "Only GET is allowed")
			return
		}
		b := builder{arn: s.ARN, instance: s.Source.Instance(req.Context())}
		v4 := version == "v4"
		switch rest {
		case "":
			writeJSON(w, http.StatusOK, b.containerResponse(snap, container, v4))
		case "task":
			writeJSON(w, http.StatusOK, b.taskResponse(snap, v4))
		case "stats":
			st, err := s.containerStats(snap, container, v4)
			if err != nil {
				writeJSON(w, http.StatusInternalServerError, "Unable to get container stats: "+err.Error())
				return
			}
			writeJSON(w, http.StatusOK, st)
		case "task/stats":
			out := map[string]*StatsResponse{}
			for name, st := range s.taskStats(snap, v4) {
				out[snap.Containers[name].ID] = st
			}
			writeJSON(w, http.StatusOK, out)
		default:
			writeJSON(w, http.StatusNotFound, "Unknown path: "+req.URL.Path)
		}
	})
}

// resolve finds the task and container of an endpoint id: among the
// containers of the listener's own task, or the host-mode ids.
func (s *Server) resolve(ctx context.Context, fixed *TaskRef, id string) (*Snapshot, string, int) {
	var ref TaskRef
	container := ""
	if fixed != nil {
		ref = *fixed
	} else {
		s.mu.Lock()
		e, ok := s.hostIDs[id]
		s.mu.Unlock()
		if !ok {
			return nil, "", http.StatusNotFound
		}
		ref, container = e.ref, e.container
	}
	snap, err := s.Source.Task(ctx, ref)
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return nil, "", http.StatusNotFound
		}
		s.Log.Error(err, "Reading a task for its endpoints", "task", ref.Namespace+"/"+ref.Name)
		return nil, "", http.StatusInternalServerError
	}
	if container == "" {
		for _, d := range snap.Revision.Spec.TaskDefinition.ContainerDefinitions {
			if hmac.Equal([]byte(s.EndpointID(ref.UID, d.Name)), []byte(id)) {
				container = d.Name
			}
		}
		if container == "" {
			return nil, "", http.StatusNotFound
		}
	}
	return snap, container, http.StatusOK
}

// TaskStats is the stats of each container of task ref that the runtime
// has, by container name, in the shape of the v4 endpoint's /task/stats
// (nil: the container is not running, as ECS shows it); ErrNotFound when
// the agent does not know the task.
func (s *Server) TaskStats(ctx context.Context, ref TaskRef) (map[string]*StatsResponse, error) {
	snap, err := s.Source.Task(ctx, ref)
	if err != nil {
		return nil, err
	}
	return s.taskStats(snap, true), nil
}

func (s *Server) taskStats(snap *Snapshot, v4 bool) map[string]*StatsResponse {
	out := map[string]*StatsResponse{}
	for _, d := range snap.Revision.Spec.TaskDefinition.ContainerDefinitions {
		if _, ok := snap.Containers[d.Name]; !ok {
			continue
		}
		st, err := s.containerStats(snap, d.Name, v4)
		if err != nil {
			st = nil // not running: null, as ECS
		}
		out[d.Name] = st
	}
	return out
}

func (s *Server) containerStats(snap *Snapshot, container string, v4 bool) (*StatsResponse, error) {
	c, ok := snap.Containers[container]
	if !ok || c.State != lsruntime.StateRunning {
		return nil, fmt.Errorf("container %s is not running", container)
	}
	st, err := s.stats.read(c.ID, c.ID, s.CgroupOf(snap.Task.UID, c.ID), c.Pid, func() time.Time { return s.Clock.Now().UTC() })
	if err != nil {
		return nil, err
	}
	if !v4 {
		st.NetworkRateStats = nil
	}
	return &st, nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`"encoding the response failed"`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
