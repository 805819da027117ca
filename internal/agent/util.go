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
	"encoding/base64"
	"net/url"
	"strings"
	"time"

	ctrl "sigs.k8s.io/controller-runtime"

	ecsv1 "github.com/longshore-io/longshore/api/v1alpha1"
	"github.com/longshore-io/longshore/internal/logs"
	lsruntime "github.com/longshore-io/longshore/internal/runtime"
)

// registryHost normalizes a dockerconfigjson server key ("https://reg:5000/v1/",
// "reg:5000") to the host containerd asks credentials for.
func registryHost(server string) string {
	s := strings.TrimPrefix(strings.TrimPrefix(server, "https://"), "http://")
	s, _, _ = strings.Cut(s, "/")
	if s == "index.docker.io" || s == "docker.io" {
		return "registry-1.docker.io"
	}
	return s
}

// decodeBasic decodes a dockerconfigjson "auth" (base64 of user:password).
func decodeBasic(auth string) (string, string, bool) {
	b, err := base64.StdEncoding.DecodeString(auth)
	if err != nil {
		return "", "", false
	}
	return strings.Cut(string(b), ":")
}

// runtimeEvents subscribes to the runtime's exit and OOM events and wakes
// the task a container belongs to. When the subscription breaks (containerd
// restarted), it resubscribes and wakes every task (nothing was missed
// then: the next reconcile reads the runtime's state).
type runtimeEvents struct {
	runtime lsruntime.Containers
	notify  func(namespace, name string)
}

// Start implements manager.Runnable.
func (e *runtimeEvents) Start(ctx context.Context) error {
	log := ctrl.LoggerFrom(ctx).WithName("runtime-events")
	backoff := time.Second
	for ctx.Err() == nil {
		ch, err := e.runtime.Events(ctx)
		if err != nil {
			log.Error(err, "Subscribing to containerd events failed; retrying", "in", backoff.String())
		} else {
			backoff = time.Second
			for ev := range ch {
				if ns, name := ev.Labels[lsruntime.LabelTaskNamespace], ev.Labels[lsruntime.LabelTaskName]; name != "" {
					e.notify(ns, name)
				}
			}
			if ctx.Err() == nil {
				log.Info("containerd event stream ended; resubscribing")
			}
		}
		select {
		case <-ctx.Done():
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 30*time.Second)
	}
	return nil
}

// FileLogs keeps container output in rotated json-file logs under root,
// written by the agent binary at self acting as the shim's logging binary.
func FileLogs(self, root string) LogURIFunc {
	return func(task *ecsv1.Task, def *ecsv1.ContainerDefinition, fwd *logs.Forward) (*url.URL, error) {
		opts := logs.DefaultOptions()
		// The options of the drivers mapped onto the local store (awslogs,
		// …) are theirs, not json-file's: those keep the default rotation.
		if lc := def.LogConfiguration; lc != nil && lc.LogDriver == ecsv1.LogDriverJSONFile && len(lc.Options) > 0 {
			var err error
			if opts, err = logs.ParseOptions(string(lc.Options["max-size"]), string(lc.Options["max-file"])); err != nil {
				return nil, err
			}
		}
		file, err := logs.Path(root, task.Namespace, task.Name, def.Name)
		if err != nil {
			return nil, err
		}
		opts.Forward = fwd
		return logs.LoggerURI(self, file, opts)
	}
}
