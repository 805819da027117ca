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

// Package agentapi is the agent's HTTPS endpoint, the kubelet's
// counterpart for Tasks: the logs of and exec into the containers of the
// Tasks bound to this instance, and their stats, for `kubectl ecs logs`,
// `kubectl ecs exec` and `kubectl ecs stats`.
//
// Every request is authenticated and authorised by the Kubernetes API, as
// the kubelet's are (its x509 + webhook model): a client certificate
// signed by the cluster's client CA, or a bearer token checked with a
// TokenReview; then a SubjectAccessReview of
//
//	get    tasks/log   (group ecs.longshore.io) in the Task's namespace
//	create tasks/exec  (group ecs.longshore.io) in the Task's namespace
//	get    tasks/stats (group ecs.longshore.io) in the Task's namespace
//
// An agent serves only the Tasks bound to its own instance (agent
// confinement). The endpoint's address and its self-signed certificate
// are published in the instance's ContainerInstance status
// (status.agentEndpoint), which only that agent may write; clients pin
// that certificate.
//
// Routes (docs/logs-and-exec.md):
//
//	GET  /v1/tasks/{namespace}/{task}/containers/{container}/log
//	     ?follow=true&tail=N&sinceSeconds=N|sinceTime=RFC3339&timestamps=true&previous=true
//	GET|POST /v1/tasks/{namespace}/{task}/containers/{container}/exec
//	     ?command=…&command=…&input=1&output=1&error=1&tty=1   (SPDY, the kubelet's protocol)
//	GET  /v1/tasks/{namespace}/{task}/stats
//	     {"<container>": <Docker stats, as the task metadata endpoint's /task/stats>|null, …}
package agentapi

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/go-logr/logr"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apiserver/pkg/authentication/authenticator"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ecsv1 "github.com/longshore-io/longshore/api/v1alpha1"
	"github.com/longshore-io/longshore/internal/agentapi/agentclient"
	lsruntime "github.com/longshore-io/longshore/internal/runtime"
	"github.com/longshore-io/longshore/internal/taskendpoint"
)

// The subresources and verbs RBAC grants (agentclient's).
const (
	SubresourceLog   = agentclient.SubresourceLog
	SubresourceExec  = agentclient.SubresourceExec
	SubresourceStats = agentclient.SubresourceStats
	VerbLog          = agentclient.VerbLog
	VerbExec         = agentclient.VerbExec
	VerbStats        = agentclient.VerbStats
)

var taskResource = schema.GroupResource{Group: ecsv1.GroupVersion.Group, Resource: "tasks"}

// DefaultPort is the agent's default --agent-api-port.
const DefaultPort = 8095

// StatsFunc is the stats of each container of a task, by container name,
// in the Docker stats shape of the task metadata endpoint (nil: not running).
type StatsFunc func(ctx context.Context, task *ecsv1.Task) (map[string]*taskendpoint.StatsResponse, error)

// PreviousAttemptFunc tells when the attempt of a container that its
// restart policy last replaced started and exited (ok false: none).
type PreviousAttemptFunc func(uid types.UID, container string) (started, exited time.Time, ok bool, err error)

// Server serves the endpoint. It is a manager.Runnable.
type Server struct {
	// Addr is the address to listen on (host:port).
	Addr string
	// Instance is this agent's ContainerInstance.
	Instance string
	// Certificate is the serving certificate (see ServingCertificate).
	Certificate tls.Certificate
	// Authenticator authenticates requests (client certificate, bearer
	// token); Authorizer authorises them (see NewDelegatingAuth).
	Authenticator authenticator.Request
	Authorizer    authorizer.Authorizer
	// Tasks reads the Tasks bound to this instance (the agent's cache).
	Tasks client.Reader
	// Runtime runs the containers.
	Runtime lsruntime.Containers
	// LogRoot is the agent's --log-dir.
	LogRoot string
	// PreviousAttempt answers logs?previous=true.
	PreviousAttempt PreviousAttemptFunc
	// Stats answers a task's stats (nil: the route answers 501).
	Stats StatsFunc
	// Events creates an Event on the Task for every exec (nil: none).
	Events client.Writer
	// StreamIdleTimeout closes an exec session idle that long; default 4h
	// (the kubelet's streaming-connection-idle-timeout).
	StreamIdleTimeout time.Duration
	// LogPoll is how often a followed log is looked at; default 100ms.
	LogPoll time.Duration

	log logr.Logger
	ctx context.Context // ends when the agent stops
}

// NeedLeaderElection implements manager.LeaderElectionRunnable: every
// agent serves.
func (s *Server) NeedLeaderElection() bool { return false }

// Start implements manager.Runnable: it serves until ctx ends. Streams in
// progress then end abruptly, so that their clients see the agent go
// rather than a log that ended.
func (s *Server) Start(ctx context.Context) error {
	s.log = ctrl.LoggerFrom(ctx).WithName("agent-api")
	s.ctx = ctx
	ln, err := net.Listen("tcp", s.Addr)
	if err != nil {
		return fmt.Errorf("agent API: listening on %s: %w", s.Addr, err)
	}
	srv := &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return ctx },
		TLSConfig:         s.TLSConfig(),
	}
	s.log.Info("Serving task logs and exec", "address", ln.Addr().String())
	errC := make(chan error, 1)
	go func() { errC <- srv.ServeTLS(ln, "", "") }()
	select {
	case err := <-errC:
		return fmt.Errorf("agent API: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = srv.Shutdown(sctx)
	_ = srv.Close()
	return nil
}

// TLSConfig is the server's TLS configuration: its certificate, and
// client certificates requested (verified by the authenticator against
// the cluster's client CA), TLS 1.2 or later.
func (s *Server) TLSConfig() *tls.Config {
	return &tls.Config{
		Certificates: []tls.Certificate{s.Certificate},
		ClientAuth:   tls.RequestClientCert,
		MinVersion:   tls.VersionTLS12,
		NextProtos:   []string{"http/1.1"}, // SPDY upgrades need HTTP/1.1
	}
}

// Handler returns the endpoint's routes.
func (s *Server) Handler() http.Handler {
	if s.ctx == nil {
		s.ctx = context.Background()
	}
	if s.log.GetSink() == nil {
		s.log = logr.Discard()
	}
	mux := http.NewServeMux()
	base := "/v1/tasks/{namespace}/{task}/containers/{container}/"
	mux.HandleFunc("GET "+base+SubresourceLog, s.guard(SubresourceLog, s.serveLog))
	mux.HandleFunc("GET "+base+SubresourceExec, s.guard(SubresourceExec, s.serveExec))
	mux.HandleFunc("POST "+base+SubresourceExec, s.guard(SubresourceExec, s.serveExec))
	mux.HandleFunc("GET /v1/tasks/{namespace}/{task}/"+SubresourceStats, s.guard(SubresourceStats, s.serveStats))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeStatus(w, apierrors.NewNotFound(schema.GroupResource{}, r.URL.Path).ErrStatus)
	})
	return mux
}

// target is what a request is about, once authorised.
type target struct {
	user      user.Info
	task      *ecsv1.Task
	container string
}

// guard authenticates and authorises a request to subresource of a task,
// then finds the task among this instance's (and its container, for the
// routes of one container).
func (s *Server) guard(subresource string, next func(http.ResponseWriter, *http.Request, target)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ns, name, container := r.PathValue("namespace"), r.PathValue("task"), r.PathValue("container")
		resp, ok, err := s.Authenticator.AuthenticateRequest(r)
		if err != nil || !ok {
			msg := "Unauthorized: present a client certificate of the cluster's client CA or a bearer token the API server accepts"
			if err != nil {
				msg += ": " + err.Error()
			}
			writeStatus(w, apierrors.NewUnauthorized(msg).ErrStatus)
			return
		}
		verb := agentclient.Verb(subresource)
		attrs := authorizer.AttributesRecord{
			User: resp.User, Verb: verb, Namespace: ns, APIGroup: ecsv1.GroupVersion.Group,
			APIVersion: ecsv1.GroupVersion.Version, Resource: "tasks", Subresource: subresource, Name: name,
			ResourceRequest: true, Path: r.URL.Path,
		}
		decision, reason, err := s.Authorizer.Authorize(r.Context(), attrs)
		if err != nil && decision != authorizer.DecisionAllow {
			s.log.Error(err, "Authorizing a request", "user", resp.User.GetName(), "verb", verb, "task", ns+"/"+name)
			writeStatus(w, apierrors.NewInternalError(fmt.Errorf("authorizing %s: %w", resp.User.GetName(), err)).ErrStatus)
			return
		}
		if decision != authorizer.DecisionAllow {
			writeStatus(w, forbidden(resp.User.GetName(), verb, subresource, ns, name, reason).ErrStatus)
			return
		}
		task := &ecsv1.Task{}
		err = s.Tasks.Get(r.Context(), client.ObjectKey{Namespace: ns, Name: name}, task)
		if apierrors.IsNotFound(err) || (err == nil && task.Spec.ContainerInstance != s.Instance) {
			writeStatus(w, apierrors.NewNotFound(taskResource,
				fmt.Sprintf("%s/%s (not bound to container instance %s, which serves only its own tasks)", ns, name, s.Instance)).ErrStatus)
			return
		}
		if err != nil {
			writeStatus(w, apierrors.NewInternalError(err).ErrStatus)
			return
		}
		if container != "" && !hasContainer(task, container) {
			writeStatus(w, apierrors.NewBadRequest(fmt.Sprintf("task %s/%s has no container %q; its containers: %s",
				ns, name, container, strings.Join(containerNames(task), ", "))).ErrStatus)
			return
		}
		next(w, r, target{user: resp.User, task: task, container: container})
	}
}

// forbidden is the API server's message for the same refusal, naming the
// verb and the subresource RBAC must grant.
func forbidden(userName, verb, subresource, ns, name, reason string) *apierrors.StatusError {
	msg := fmt.Sprintf("User %q cannot %s resource \"tasks/%s\" in API group %q in the namespace %q", userName, verb, subresource, ecsv1.GroupVersion.Group, ns)
	if reason != "" {
		msg += ": " + reason
	}
	return apierrors.NewForbidden(taskResource, name, errors.New(msg))
}

func hasContainer(task *ecsv1.Task, name string) bool {
	for _, c := range task.Status.Containers {
		if c.Name == name {
			return true
		}
	}
	return false
}

func containerNames(task *ecsv1.Task) []string {
	out := make([]string, 0, len(task.Status.Containers))
	for _, c := range task.Status.Containers {
		out = append(out, c.Name)
	}
	if len(out) == 0 {
		out = append(out, "(none reported yet)")
	}
	return out
}

// current is the latest attempt of the task's container in the runtime
// (ok false when there is none).
func (s *Server) current(ctx context.Context, t target) (lsruntime.ContainerStatus, bool, error) {
	conts, err := s.Runtime.List(ctx, map[string]string{
		lsruntime.LabelTaskUID: string(t.task.UID), lsruntime.LabelContainer: t.container,
	})
	if err != nil || len(conts) == 0 {
		return lsruntime.ContainerStatus{}, false, err
	}
	best := conts[0]
	for _, c := range conts[1:] {
		if attemptOf(c) > attemptOf(best) {
			best = c
		}
	}
	return best, true, nil
}

func attemptOf(c lsruntime.ContainerStatus) int {
	n := 0
	_, _ = fmt.Sscan(c.Labels[lsruntime.LabelAttempt], &n)
	return n
}

// writeStatus writes a Kubernetes Status, the errors client-go decodes.
func writeStatus(w http.ResponseWriter, st metav1.Status) {
	st.Kind, st.APIVersion, st.Status = "Status", "v1", metav1.StatusFailure
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(int(st.Code))
	_ = json.NewEncoder(w).Encode(st)
}
