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
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/longshore-io/longshore/internal/ecsarn"
)

// tagged is the object a resource ARN names, with its tags: a Cluster, or
// a TaskDefinitionRevision or Task of the key's namespace.
type tagged struct {
	obj client.Object
	// fixed are the tags the object holds in its spec (a revision's,
	// from its registration): readable, not removable.
	fixed []types.Tag
	what  string
}

func (s *Server) taggedResource(c *call, arn string) (*tagged, *Error) {
	if arn == "" {
		return nil, invalidParameter("resourceArn is required")
	}
	kind, rest, isARN, e := s.parseARN(arn)
	if e != nil {
		return nil, e
	}
	if !isARN {
		return nil, invalidParameter("resourceArn %q is not an ARN", arn)
	}
	switch kind {
	case "cluster":
		cl, e := s.getCluster(c, arn)
		if e != nil {
			return nil, e
		}
		return &tagged{obj: cl, what: "cluster " + cl.Name}, nil
	case "task-definition":
		ref, e := s.taskDefinitionRef(arn)
		if e != nil {
			return nil, e
		}
		rev, e := s.findRevision(c, ref)
		if e != nil {
			return nil, e
		}
		if rev == nil {
			return nil, resourceNotFound("The specified task definition does not exist: %s in namespace %s", ref, c.ns)
		}
		t := &tagged{obj: rev, what: "task definition " + ref.String()}
		for _, tg := range rev.Spec.TaskDefinition.Tags {
			t.fixed = append(t.fixed, types.Tag{Key: aws.String(tg.Key), Value: aws.String(tg.Value)})
		}
		return t, nil
	case "task":
		cluster, _, _ := strings.Cut(rest, "/")
		id, e := s.taskID(arn, cluster)
		if e != nil {
			return nil, e
		}
		tasks, e := s.tasksOf(c, cluster)
		if e != nil {
			return nil, e
		}
		for i := range tasks {
			if ecsarn.TaskID(string(tasks[i].UID)) == id {
				return &tagged{obj: &tasks[i], what: "task " + id}, nil
			}
		}
		return nil, resourceNotFound("The specified task does not exist: %s in cluster %s, namespace %s", id, cluster, c.ns)
	case "service":
		cluster, _, _ := strings.Cut(rest, "/")
		name, e := s.serviceName(arn, cluster)
		if e != nil {
			return nil, e
		}
		svc, e := s.getService(c, name, cluster)
		if e != nil {
			return nil, e
		}
		if svc == nil {
			return nil, newError("ServiceNotFoundException", 400, "Service not found: %s in cluster %s, namespace %s", name, cluster, c.ns)
		}
		return &tagged{obj: svc, what: "service " + name}, nil
	case "container-instance":
		cluster, _, _ := strings.Cut(rest, "/")
		instances, e := s.instancesOf(c, cluster)
		if e != nil {
			return nil, e
		}
		ci, _, e := s.findInstance(instances, arn, cluster)
		if e != nil {
			return nil, e
		}
		if ci == nil {
			return nil, resourceNotFound("The specified container instance does not exist: %s", arn)
		}
		return &tagged{obj: ci, what: "container instance " + ci.Name}, nil
	}
	return nil, invalidParameter("resourceArn %q: Longshore's ECS API tags clusters, task definitions, tasks, services and container instances, not %s resources", arn, kind)
}

func (t *tagged) tags() ([]types.Tag, *Error) {
	added, err := readTags(t.obj.GetAnnotations())
	if err != nil {
		return nil, serverError("%s: %v", t.what, err)
	}
	return mergeTags(t.fixed, added), nil
}

// editTags changes the tags added after creation (the annotation) with
// edit, retrying on a conflict with another writer.
func (s *Server) editTags(c *call, t *tagged, edit func([]types.Tag) []types.Tag) *Error {
	return patch(c, t.obj, "tagging "+t.what, func() (bool, *Error) {
		added, err := readTags(t.obj.GetAnnotations())
		if err != nil {
			return false, serverError("%s: %v", t.what, err)
		}
		added = edit(added)
		if e := validateTags(mergeTags(t.fixed, added)); e != nil {
			return false, e
		}
		t.obj.SetAnnotations(writeTags(t.obj.GetAnnotations(), added))
		return true, nil
	})
}

func (s *Server) tagResource(c *call, body []byte) (any, *Error) {
	var in ecs.TagResourceInput
	if e := decode(body, &in); e != nil {
		return nil, e
	}
	if len(in.Tags) == 0 {
		return nil, invalidParameter("tags is required")
	}
	if e := validateTags(in.Tags); e != nil {
		return nil, e
	}
	t, e := s.taggedResource(c, aws.ToString(in.ResourceArn))
	if e != nil {
		return nil, e
	}
	c.log.Info("Tagging", "resource", t.what)
	if e := s.editTags(c, t, func(added []types.Tag) []types.Tag { return mergeTags(added, in.Tags) }); e != nil {
		return nil, e
	}
	return &ecs.TagResourceOutput{}, nil
}

func (s *Server) untagResource(c *call, body []byte) (any, *Error) {
	var in ecs.UntagResourceInput
	if e := decode(body, &in); e != nil {
		return nil, e
	}
	if len(in.TagKeys) == 0 {
		return nil, invalidParameter("tagKeys is required")
	}
	t, e := s.taggedResource(c, aws.ToString(in.ResourceArn))
	if e != nil {
		return nil, e
	}
	for _, k := range in.TagKeys {
		if slices.ContainsFunc(t.fixed, func(tg types.Tag) bool { return aws.ToString(tg.Key) == k }) {
			return nil, invalidParameter("tagKeys: %q was given at registration of %s and is part of the immutable revision: Longshore cannot remove it (register a new revision without it)", k, t.what)
		}
	}
	c.log.Info("Untagging", "resource", t.what)
	if e := s.editTags(c, t, func(added []types.Tag) []types.Tag {
		return slices.DeleteFunc(added, func(tg types.Tag) bool { return slices.Contains(in.TagKeys, aws.ToString(tg.Key)) })
	}); e != nil {
		return nil, e
	}
	return &ecs.UntagResourceOutput{}, nil
}

func (s *Server) listTagsForResource(c *call, body []byte) (any, *Error) {
	var in ecs.ListTagsForResourceInput
	if e := decode(body, &in); e != nil {
		return nil, e
	}
	t, e := s.taggedResource(c, aws.ToString(in.ResourceArn))
	if e != nil {
		return nil, e
	}
	tags, e := t.tags()
	if e != nil {
		return nil, e
	}
	if tags == nil {
		tags = []types.Tag{}
	}
	return &ecs.ListTagsForResourceOutput{Tags: tags}, nil
}
