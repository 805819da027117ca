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
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	ecsv1 "github.com/longshore-io/longshore/api/v1alpha1"
)

// Error codes of the task protection endpoint, ECS's.
const (
	codeInvalidParameter = "InvalidParameterException"
	codeNotFound         = "ResourceNotFoundException"
	codeServer           = "ServerException"
)

// taskNotFoundMessage is ECS's message for a request whose task the agent
// cannot find.
const taskNotFoundMessage = "Failed to find a task for the request"

// ProtectionFailureResponse is the answer ECS gives with HTTP 200 when
// the task cannot be protected (a stopped task): failure, not error.
type ProtectionFailureResponse struct {
	Failure *Failure `json:"failure"`
}

// Failure is ECS's Failure.
type Failure struct {
	Arn    string `json:"Arn,omitempty"`
	Detail string `json:"Detail,omitempty"`
	Reason string `json:"Reason"`
}

func protectionError(w http.ResponseWriter, status int, arn, code, msg string) {
	writeJSON(w, status, ProtectionResponse{Error: &ProtectionFailure{Arn: arn, Code: code, Message: msg}})
}

// protection serves GET and PUT of ${ECS_AGENT_URI}/task-protection/v1/state.
func (s *Server) protection(w http.ResponseWriter, req *http.Request, snap *Snapshot, status int) {
	if req.Method != http.MethodGet && req.Method != http.MethodPut {
		protectionError(w, http.StatusMethodNotAllowed, "", codeInvalidParameter, "Only GET and PUT are allowed on task-protection/v1/state")
		return
	}
	var body ProtectionRequest
	if req.Method == http.MethodPut {
		// As ECS: the body is decoded first, unknown fields refused.
		dec := json.NewDecoder(io.LimitReader(req.Body, 64<<10))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&body); err != nil {
			protectionError(w, http.StatusBadRequest, "", codeInvalidParameter, "UpdateTaskProtection: failed to decode request: "+err.Error())
			return
		}
	}
	switch status {
	case http.StatusOK:
	case http.StatusNotFound:
		protectionError(w, http.StatusNotFound, "", codeNotFound, taskNotFoundMessage)
		return
	default:
		protectionError(w, http.StatusInternalServerError, "", codeServer, taskNotFoundMessage)
		return
	}
	t := snap.Task
	arn := s.ARN.Task(builder{}.cluster(t), string(t.UID))
	now := s.Clock.Now()
	if req.Method == http.MethodGet {
		writeJSON(w, http.StatusOK, ProtectionResponse{Protection: protectedTask(arn, t.Status.Protection, now)})
		return
	}
	if body.ProtectionEnabled == nil {
		protectionError(w, http.StatusBadRequest, arn, codeInvalidParameter, "Invalid request: does not contain 'ProtectionEnabled' field")
		return
	}
	p := &ecsv1.TaskProtection{Enabled: *body.ProtectionEnabled}
	if p.Enabled {
		minutes := int64(ecsv1.DefaultProtectionMinutes)
		if body.ExpiresInMinutes != nil {
			minutes = *body.ExpiresInMinutes
		}
		if minutes < 1 || minutes > ecsv1.MaxProtectionMinutes {
			protectionError(w, http.StatusBadRequest, arn, codeInvalidParameter,
				fmt.Sprintf("Invalid parameter: ExpiresInMinutes must be between 1 and %d (48 hours); got %d", ecsv1.MaxProtectionMinutes, minutes))
			return
		}
		at := metav1.NewTime(now.Add(time.Duration(minutes) * time.Minute).UTC().Truncate(time.Second))
		p.ExpiresAt = &at
	}
	if taskKnown(t) == "STOPPED" || taskDesired(t) == "STOPPED" {
		writeJSON(w, http.StatusOK, ProtectionFailureResponse{Failure: &Failure{Arn: arn, Reason: "TASK_NOT_VALID",
			Detail: "The task is stopping or stopped: it cannot be protected"}})
		return
	}
	written, err := s.Source.Protect(req.Context(), TaskRef{Namespace: t.Namespace, Name: t.Name, UID: t.UID}, p)
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			protectionError(w, http.StatusNotFound, arn, codeNotFound, taskNotFoundMessage)
			return
		}
		s.Log.Error(err, "Recording a task's scale-in protection", "task", t.Namespace+"/"+t.Name)
		protectionError(w, http.StatusInternalServerError, arn, codeServer, "Recording the task's protection failed: "+err.Error())
		return
	}
	writeJSON(w, http.StatusOK, ProtectionResponse{Protection: protectedTask(arn, written.Status.Protection, now)})
}

// protectedTask is the task's protection as ECS shows it: an expired
// protection is no protection.
func protectedTask(arn string, p *ecsv1.TaskProtection, now time.Time) *ProtectedTask {
	out := &ProtectedTask{TaskArn: arn}
	if p.Protected(now) {
		out.ProtectionEnabled = true
		out.ExpirationDate = timeOf(p.ExpiresAt)
	}
	return out
}
