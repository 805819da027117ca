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

// Package agentclient is the client side of the agent's endpoint
// (internal/agentapi): its URLs, the options of a log request, and the
// configuration that reaches an agent with a user's credentials.
package agentclient

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"time"

	"k8s.io/client-go/rest"

	ecsv1 "github.com/longshore-io/longshore/api/v1alpha1"
)

// ClientConfig is user's configuration (a kubeconfig's credentials:
// client certificate, token, exec plugin) turned towards the agent of
// instance at ep: the API server's address and CA replaced by the
// endpoint's address and its certificate, pinned, with the instance as
// the server name.
func ClientConfig(user *rest.Config, instance string, ep ecsv1.AgentEndpoint) *rest.Config {
	cfg := rest.CopyConfig(user)
	cfg.Host = "https://" + ep.Address
	cfg.APIPath = ""
	cfg.Insecure = false
	cfg.CAFile = ""
	cfg.CAData = []byte(ep.Certificate)
	cfg.ServerName = instance
	cfg.NextProtos = nil
	cfg.Proxy = nil
	// Streams can last: no overall timeout (the kubeconfig's is for API calls).
	cfg.Timeout = 0
	return cfg
}

// The subresources of tasks the endpoint serves, and RBAC grants (group
// ecs.longshore.io), with the verbs checked on them, as for pods/log and
// pods/exec.
const (
	SubresourceLog   = "log"
	SubresourceExec  = "exec"
	SubresourceStats = "stats"
	VerbLog          = "get"
	VerbExec         = "create"
	VerbStats        = "get"
)

// Verb is the verb RBAC must grant on subresource of tasks.
func Verb(subresource string) string {
	switch subresource {
	case SubresourceExec:
		return VerbExec
	case SubresourceStats:
		return VerbStats
	}
	return VerbLog
}

// ExecCommandParam is the query key of an exec's arguments, one per
// value, in order; the streams are asked for with input=1, output=1,
// error=1 and tty=1 (the kubelet's keys).
const ExecCommandParam = "command"

// LogOptions are the query of a log request, as kubectl logs has them.
type LogOptions struct {
	Follow     bool
	Previous   bool
	Timestamps bool
	// Tail is the number of last lines; negative: all.
	Tail int
	// SinceSeconds, when positive, and SinceTime, when set, skip older lines.
	SinceSeconds int64
	SinceTime    time.Time
}

// Query encodes the options as a log request's query.
func (o LogOptions) Query() url.Values {
	q := url.Values{}
	if o.Follow {
		q.Set("follow", "true")
	}
	if o.Previous {
		q.Set("previous", "true")
	}
	if o.Timestamps {
		q.Set("timestamps", "true")
	}
	if o.Tail >= 0 {
		q.Set("tail", strconv.Itoa(o.Tail))
	}
	if o.SinceSeconds > 0 {
		q.Set("sinceSeconds", strconv.FormatInt(o.SinceSeconds, 10))
	}
	if !o.SinceTime.IsZero() {
		q.Set("sinceTime", o.SinceTime.UTC().Format(time.RFC3339Nano))
	}
	return q
}

// ParseLogOptions reads a log request's query.
func ParseLogOptions(q url.Values) (LogOptions, error) {
	o := LogOptions{Tail: -1}
	var err error
	for _, b := range []struct {
		key string
		dst *bool
	}{{"follow", &o.Follow}, {"previous", &o.Previous}, {"timestamps", &o.Timestamps}} {
		if v := q.Get(b.key); v != "" {
			if *b.dst, err = strconv.ParseBool(v); err != nil {
				return o, fmt.Errorf("%s=%q: want true or false", b.key, v)
			}
		}
	}
	if v := q.Get("tail"); v != "" {
		if o.Tail, err = strconv.Atoi(v); err != nil || o.Tail < -1 {
			return o, fmt.Errorf("tail=%q: want a number of lines, -1 for all", v)
		}
	}
	if v := q.Get("sinceSeconds"); v != "" {
		if o.SinceSeconds, err = strconv.ParseInt(v, 10, 64); err != nil || o.SinceSeconds <= 0 {
			return o, fmt.Errorf("sinceSeconds=%q: want a positive number of seconds", v)
		}
	}
	if v := q.Get("sinceTime"); v != "" {
		if o.SinceTime, err = time.Parse(time.RFC3339Nano, v); err != nil {
			return o, fmt.Errorf("sinceTime=%q: want an RFC 3339 time", v)
		}
	}
	if o.SinceSeconds > 0 && !o.SinceTime.IsZero() {
		return o, errors.New("give at most one of sinceSeconds and sinceTime")
	}
	if o.Previous && o.Follow {
		return o, errors.New("previous and follow exclude each other: a previous attempt writes no more")
	}
	return o, nil
}

// LogURL is the endpoint's URL of a container's log.
func LogURL(cfg *rest.Config, namespace, task, container string, opts LogOptions) *url.URL {
	return endpointURL(cfg, namespace, task, container, SubresourceLog, opts.Query())
}

// ExecURL is the endpoint's URL of an exec in a container.
func ExecURL(cfg *rest.Config, namespace, task, container string, cmd []string, stdin, stdout, stderr, tty bool) *url.URL {
	q := url.Values{ExecCommandParam: cmd}
	for k, on := range map[string]bool{"input": stdin, "output": stdout, "error": stderr, "tty": tty} {
		if on {
			q.Set(k, "1")
		}
	}
	return endpointURL(cfg, namespace, task, container, SubresourceExec, q)
}

// StatsURL is the endpoint's URL of a task's stats.
func StatsURL(cfg *rest.Config, namespace, task string) *url.URL {
	u, _ := url.Parse(cfg.Host)
	u.Path = "/v1/tasks/" + namespace + "/" + task + "/" + SubresourceStats
	return u
}

func endpointURL(cfg *rest.Config, namespace, task, container, sub string, q url.Values) *url.URL {
	u, _ := url.Parse(cfg.Host)
	u.Path = "/v1/tasks/" + namespace + "/" + task + "/containers/" + container + "/" + sub
	u.RawQuery = q.Encode()
	return u
}
