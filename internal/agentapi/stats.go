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

package agentapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/longshore-io/longshore/internal/taskendpoint"
)

// serveStats answers a task's stats: each container's, by name, in the
// Docker stats shape the task metadata endpoint serves (read from the
// containers' cgroups now, with the previous read as precpu_stats).
func (s *Server) serveStats(w http.ResponseWriter, r *http.Request, t target) {
	if s.Stats == nil {
		writeStatus(w, apierrors.NewGenericServerResponse(http.StatusNotImplemented, "get", taskResource, t.task.Name,
			"this agent serves no task stats (its task endpoints are off)", 0, false).ErrStatus)
		return
	}
	stats, err := s.Stats(r.Context(), t.task)
	if errors.Is(err, taskendpoint.ErrNotFound) {
		writeStatus(w, apierrors.NewNotFound(taskResource, fmt.Sprintf("%s/%s (the agent runs nothing of it now)", t.task.Namespace, t.task.Name)).ErrStatus)
		return
	}
	if err != nil {
		s.log.Error(err, "Reading a task's stats", "task", t.task.Namespace+"/"+t.task.Name)
		writeStatus(w, apierrors.NewInternalError(fmt.Errorf("reading the stats of task %s/%s: %w", t.task.Namespace, t.task.Name, err)).ErrStatus)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	_ = json.NewEncoder(w).Encode(stats)
}
