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

package ecsapi

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/go-logr/logr"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"

	"github.com/longshore-io/longshore/internal/ecsarn"
)

// MaxBodyBytes bounds a request body (a large RegisterTaskDefinition is
// some tens of kilobytes).
const MaxBodyBytes = 4 << 20

// DefaultRegisterTimeout is how long RegisterTaskDefinition waits for the
// manager to mint the revision.
const DefaultRegisterTimeout = 30 * time.Second

// DefaultQPS and DefaultBurst are the client-side rate limit of the
// requests to the API server, per access key identity (each has its own
// client); the API server's priority and fairness is the shared limit.
const (
	DefaultQPS   = 50
	DefaultBurst = 100
)

// KeyLookup finds an access key by id (SecretKeys in the component).
type KeyLookup interface {
	Lookup(ctx context.Context, id string) (*AccessKey, bool, error)
}

// Options configure a Server.
type Options struct {
	// Config is the component's own identity; every call on behalf of a
	// key impersonates the key's identity with it.
	Config *rest.Config
	Scheme *runtime.Scheme
	// Mapper is shared by the per-identity clients (nil: built from Config).
	Mapper meta.RESTMapper
	Keys   KeyLookup
	// ARN is the partition, region and account id of every ARN; the region
	// is also the one requests must be signed for.
	ARN             ecsarn.Config
	Log             logr.Logger
	Clock           clock.PassiveClock
	RegisterTimeout time.Duration
	// NewClient makes the client of one identity (nil: impersonation
	// through Config). Tests replace it.
	NewClient func(Identity) (client.Client, error)
}

// Server is the ECS API: an http.Handler.
type Server struct {
	o       Options
	mu      sync.Mutex
	clients map[string]client.Client
}

// NewServer checks o and returns the server.
func NewServer(o Options) (*Server, error) {
	o.ARN = o.ARN.WithDefaults()
	if err := o.ARN.Validate(); err != nil {
		return nil, err
	}
	if o.Keys == nil {
		return nil, errors.New("ecsapi: no access key lookup")
	}
	if o.Clock == nil {
		o.Clock = clock.RealClock{}
	}
	if o.RegisterTimeout <= 0 {
		o.RegisterTimeout = DefaultRegisterTimeout
	}
	if o.NewClient == nil {
		if o.Config == nil || o.Scheme == nil {
			return nil, errors.New("ecsapi: no rest config or scheme")
		}
		if o.Mapper == nil {
			hc, err := rest.HTTPClientFor(o.Config)
			if err != nil {
				return nil, err
			}
			if o.Mapper, err = apiutil.NewDynamicRESTMapper(o.Config, hc); err != nil {
				return nil, err
			}
		}
		o.NewClient = func(id Identity) (client.Client, error) {
			cfg := rest.CopyConfig(o.Config)
			cfg.Impersonate = rest.ImpersonationConfig{UserName: id.User, Groups: id.Groups}
			c, err := client.New(cfg, client.Options{Scheme: o.Scheme, Mapper: o.Mapper})
			if err != nil {
				return nil, err
			}
			// Refuse unknown fields, as kubectl apply does.
			return client.WithFieldValidation(c, metav1.FieldValidationStrict), nil
		}
	}
	return &Server{o: o, clients: map[string]client.Client{}}, nil
}

// clientFor is the cached client that impersonates id.
func (s *Server) clientFor(id Identity) (client.Client, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.clients[id.key()]; ok {
		return c, nil
	}
	c, err := s.o.NewClient(id)
	if err != nil {
		return nil, err
	}
	s.clients[id.key()] = c
	return c, nil
}

// call is one authenticated request: the client that impersonates its
// key's identity, and the namespace it acts in.
type call struct {
	ctx    context.Context
	c      client.Client
	id     Identity
	ns     string
	action string
	log    logr.Logger
}

type handler func(s *Server, c *call, body []byte) (any, *Error)

// ServeHTTP answers one ECS call.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	log := s.o.Log.WithValues("remote", r.RemoteAddr)
	if r.Method != http.MethodPost || r.URL.Path != "/" {
		writeError(w, newError("UnknownOperationException", http.StatusNotFound, "the ECS API is POST / (AWS JSON 1.1), not %s %s", r.Method, r.URL.Path))
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		writeError(w, newError("SerializationException", http.StatusRequestEntityTooLarge, "reading the request body: %v", err))
		return
	}
	var key *AccessKey
	lookup := func(ctx context.Context, id string) (string, bool, error) {
		k, ok, err := s.o.Keys.Lookup(ctx, id)
		if err != nil || !ok {
			if err != nil {
				log.Error(err, "Refusing an access key", "accessKeyId", id)
			}
			return "", false, nil
		}
		key = k
		return k.Secret, true, nil
	}
	keyID, aerr := verify(r.Context(), r, body, s.o.ARN.Region, s.o.Clock.Now(), lookup)
	if aerr != nil {
		log.V(1).Info("Refusing a request", "error", aerr.Type, "message", aerr.Message)
		writeError(w, aerr)
		return
	}
	target := r.Header.Get("X-Amz-Target")
	action, ok := strings.CutPrefix(target, TargetPrefix)
	if !ok || action == "" {
		writeError(w, newError("UnknownOperationException", http.StatusBadRequest, "X-Amz-Target %q does not name an ECS operation (%s<Action>)", target, TargetPrefix))
		return
	}
	h, ok := actions[action]
	if !ok {
		writeError(w, newError("UnknownOperationException", http.StatusBadRequest, "Longshore's ECS API does not serve the operation %s (docs/ecs-api.md lists those it serves)", action))
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, ContentType) {
		writeError(w, newError("SerializationException", http.StatusBadRequest, "Content-Type %q: the ECS API takes %s", ct, ContentType))
		return
	}
	c, err := s.clientFor(key.Identity)
	if err != nil {
		writeError(w, serverError("a client for %s: %v", key.Identity.User, err))
		return
	}
	log = log.WithValues("action", action, "accessKeyId", keyID, "user", key.Identity.User, "namespace", key.Identity.Namespace)
	cl := &call{ctx: r.Context(), c: c, id: key.Identity, ns: key.Identity.Namespace, action: action, log: log}
	start := s.o.Clock.Now()
	out, herr := h(s, cl, body)
	if herr != nil {
		log.V(1).Info("Call failed", "error", herr.Type, "message", herr.Message, "took", s.o.Clock.Since(start))
		writeError(w, herr)
		return
	}
	log.V(1).Info("Call served", "took", s.o.Clock.Since(start))
	writeResult(w, out)
}

// kubeError turns a Kubernetes error of what into the ECS error a client
// understands: Forbidden is AccessDeniedException naming what RBAC
// refused, Invalid is InvalidParameterException with the API server's
// message.
func kubeError(err error, what string) *Error {
	switch {
	case apierrors.IsForbidden(err):
		return accessDenied("%s: Kubernetes RBAC refused it: %s", what, apiMessage(err))
	case apierrors.IsInvalid(err), apierrors.IsBadRequest(err):
		return invalidParameter("%s: %s", what, apiMessage(err))
	case apierrors.IsNotFound(err):
		return resourceNotFound("%s: %s", what, apiMessage(err))
	case apierrors.IsConflict(err), apierrors.IsAlreadyExists(err):
		return clientError("%s: %s", what, apiMessage(err))
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return serverError("%s: %v", what, err)
	default:
		return serverError("%s: %v", what, err)
	}
}

func apiMessage(err error) string {
	var s apierrors.APIStatus
	if errors.As(err, &s) {
		return s.Status().Message
	}
	return err.Error()
}

// maxConflictRetries bounds the retries of a write that lost an
// optimistic-lock race (the manager writes the same objects).
const maxConflictRetries = 5

// patch applies mutate to obj and writes the change as a merge patch with
// optimistic locking; when another writer changed obj meanwhile (a
// conflict), it reads obj again and applies mutate again. mutate returns
// false when obj needs no change.
func patch(c *call, obj client.Object, what string, mutate func() (bool, *Error)) *Error {
	for attempt := 0; ; attempt++ {
		base := obj.DeepCopyObject().(client.Object)
		changed, e := mutate()
		if e != nil || !changed {
			return e
		}
		err := c.c.Patch(c.ctx, obj, client.MergeFromWithOptions(base, client.MergeFromWithOptimisticLock{}))
		if err == nil {
			return nil
		}
		if !apierrors.IsConflict(err) || attempt >= maxConflictRetries {
			return kubeError(err, what)
		}
		c.log.V(1).Info("Lost a race with another writer, retrying", "object", what)
		if err := c.c.Get(c.ctx, client.ObjectKeyFromObject(obj), obj); err != nil {
			return kubeError(err, what)
		}
	}
}
