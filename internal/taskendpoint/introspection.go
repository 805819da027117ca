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
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/go-logr/logr"

	"github.com/longshore-io/longshore/internal/ecsarn"
)

// DefaultIntrospectionAddress is where the introspection endpoint listens
// by default: ECS's port, on the host's loopback.
const DefaultIntrospectionAddress = "127.0.0.1:51678"

// Introspection serves the agent introspection endpoint on the instance:
// GET /v1/metadata (the instance) and GET /v1/tasks (its tasks; one with
// ?taskarn= or ?dockerid=), in ECS's shapes.
type Introspection struct {
	Address string
	Source  Source
	ARN     ecsarn.Config
	// Version is the agent's version, reported as "Longshore Agent - <version>".
	Version string
	Log     logr.Logger
}

// Start serves until ctx ends (a manager.Runnable).
func (in *Introspection) Start(ctx context.Context) error {
	l, err := net.Listen("tcp", in.Address)
	if err != nil {
		return fmt.Errorf("introspection endpoint: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/metadata", in.metadata)
	mux.HandleFunc("GET /v1/tasks", in.tasks)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { <-ctx.Done(); _ = srv.Close() }()
	in.Log.Info("Serving the introspection endpoint", "address", in.Address)
	if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func (in *Introspection) metadata(w http.ResponseWriter, req *http.Request) {
	inst := in.Source.Instance(req.Context())
	writeJSON(w, http.StatusOK, IntrospectionMetadata{Cluster: inst.Cluster, ContainerInstanceArn: inst.ARN,
		Version: "Longshore Agent - " + in.Version})
}

func (in *Introspection) tasks(w http.ResponseWriter, req *http.Request) {
	snaps, err := in.Source.Tasks(req.Context())
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, "Unable to list the tasks: "+err.Error())
		return
	}
	out := IntrospectionTasks{Tasks: []IntrospectionTask{}}
	arn, dockerID := req.URL.Query().Get("taskarn"), req.URL.Query().Get("dockerid")
	for _, s := range snaps {
		t := in.task(s)
		match := arn == "" && dockerID == "" || arn != "" && t.Arn == arn
		for _, c := range t.Containers {
			match = match || dockerID != "" && c.DockerID == dockerID
		}
		if match {
			out.Tasks = append(out.Tasks, t)
		}
	}
	if arn != "" || dockerID != "" {
		// ECS answers a query with the task itself, or 404.
		if len(out.Tasks) == 0 {
			writeJSON(w, http.StatusNotFound, "No task found for the query")
			return
		}
		writeJSON(w, http.StatusOK, out.Tasks[0])
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func (in *Introspection) task(s *Snapshot) IntrospectionTask {
	t := s.Task
	out := IntrospectionTask{Arn: in.ARN.Task(builder{}.cluster(t), string(t.UID)), DesiredStatus: taskDesired(t), KnownStatus: taskKnown(t),
		Containers: []IntrospectionContainer{}}
	if s.Revision != nil {
		out.Family, out.Version = s.Revision.Spec.Family, strconv.FormatInt(int64(s.Revision.Spec.Revision), 10)
		for _, d := range s.Revision.Spec.TaskDefinition.ContainerDefinitions {
			if c, ok := s.Containers[d.Name]; ok {
				out.Containers = append(out.Containers, IntrospectionContainer{DockerID: c.ID, DockerName: dockerName(s, d.Name, c.ID), Name: d.Name})
			}
		}
	}
	return out
}
