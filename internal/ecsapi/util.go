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
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"k8s.io/apimachinery/pkg/util/validation"
)

// AnnotationTags holds the ECS tags of a Cluster, and the tags a
// TaskDefinitionRevision was given after its registration (TagResource),
// as a JSON list of {"key","value"}.
const AnnotationTags = "ecs.longshore.io/tags"

// parseARN splits an ECS ARN of this endpoint into its resource type and
// the rest ("cluster", "prod"). ok is false when s is not an ARN at all
// (a name); an ARN of another partition, region, account or service is
// an error.
func (s *Server) parseARN(ref string) (kind, rest string, ok bool, e *Error) {
	if !strings.HasPrefix(ref, "arn:") {
		return "", "", false, nil
	}
	f := strings.SplitN(ref, ":", 6)
	if len(f) != 6 || f[2] != "ecs" {
		return "", "", true, invalidParameter("%q is not an ECS ARN (arn:%s:ecs:%s:%s:<resource>)", ref, s.o.ARN.Partition, s.o.ARN.Region, s.o.ARN.AccountID)
	}
	if f[1] != s.o.ARN.Partition || f[3] != s.o.ARN.Region || f[4] != s.o.ARN.AccountID {
		return "", "", true, invalidParameter("ARN %q is not of this endpoint: it serves partition %s, region %s, account %s", ref, s.o.ARN.Partition, s.o.ARN.Region, s.o.ARN.AccountID)
	}
	kind, rest, found := strings.Cut(f[5], "/")
	if !found || rest == "" {
		return "", "", true, invalidParameter("ARN %q names no resource (<type>/<name>)", ref)
	}
	return kind, rest, true, nil
}

// clusterName is the Cluster a cluster name or ARN names ("" is the
// default cluster, as in ECS).
func (s *Server) clusterName(ref string) (string, *Error) {
	if ref == "" {
		return "default", nil
	}
	name := ref
	kind, rest, isARN, e := s.parseARN(ref)
	if e != nil {
		return "", e
	}
	if isARN {
		if kind != "cluster" {
			return "", invalidParameter("ARN %q is not a cluster ARN (%s)", ref, s.o.ARN.Cluster("<name>"))
		}
		name = rest
	}
	if errs := validation.IsDNS1123Label(name); len(errs) > 0 {
		return "", invalidParameter("cluster name %q: Longshore's cluster names are Kubernetes object names and label values: %s", name, strings.Join(errs, "; "))
	}
	return name, nil
}

// tdRef is a task definition reference: family (the TaskDefinition's
// name), and revision (0: the newest ACTIVE one).
type tdRef struct {
	Family   string
	Revision int32
}

func (r tdRef) String() string {
	if r.Revision == 0 {
		return r.Family
	}
	return r.Family + ":" + strconv.Itoa(int(r.Revision))
}

// taskDefinitionRef parses "family", "family:revision" or a task
// definition ARN.
func (s *Server) taskDefinitionRef(ref string) (tdRef, *Error) {
	v := ref
	kind, rest, isARN, e := s.parseARN(ref)
	if e != nil {
		return tdRef{}, e
	}
	if isARN {
		if kind != "task-definition" {
			return tdRef{}, invalidParameter("ARN %q is not a task definition ARN (%s)", ref, s.o.ARN.TaskDefinition("<family>", 1))
		}
		v = rest
		if !strings.Contains(v, ":") {
			return tdRef{}, invalidParameter("task definition ARN %q names no revision", ref)
		}
	}
	family, rev, pinned := strings.Cut(v, ":")
	if family == "" {
		return tdRef{}, invalidParameter("task definition %q has no family", ref)
	}
	r := tdRef{Family: familyName(family)}
	if errs := validation.IsDNS1123Subdomain(r.Family); len(errs) > 0 || len(r.Family) > 63 {
		return tdRef{}, invalidParameter("task definition family %q does not name a TaskDefinition (at most 63 letters, digits, '-', '_' and '.')", family)
	}
	if pinned {
		n, err := strconv.ParseInt(rev, 10, 32)
		if err != nil || n < 1 {
			return tdRef{}, invalidParameter("task definition %q: revision %q is not a number of 1 or more", ref, rev)
		}
		r.Revision = int32(n)
	}
	return r, nil
}

// familyName is the TaskDefinition name of an ECS family (ecsconvert's
// mapping: lower case, '_' as '-').
func familyName(family string) string {
	return strings.ReplaceAll(strings.ToLower(family), "_", "-")
}

// Tag rules of ECS.
const (
	maxTags        = 50
	maxTagKeyLen   = 128
	maxTagValueLen = 256
)

func validateTags(tags []types.Tag) *Error {
	if len(tags) > maxTags {
		return invalidParameter("tags: %d tags, at most %d are allowed", len(tags), maxTags)
	}
	seen := map[string]bool{}
	for i, t := range tags {
		k, v := aws.ToString(t.Key), aws.ToString(t.Value)
		switch {
		case k == "" || len(k) > maxTagKeyLen:
			return invalidParameter("tags[%d].key must be 1 to %d characters", i, maxTagKeyLen)
		case len(v) > maxTagValueLen:
			return invalidParameter("tags[%d].value (key %q) must be at most %d characters", i, k, maxTagValueLen)
		case strings.HasPrefix(strings.ToLower(k), "aws:"):
			return invalidParameter("tags[%d].key %q: the prefix aws: is reserved for AWS use", i, k)
		case seen[k]:
			return invalidParameter("tags: key %q is given twice", k)
		}
		seen[k] = true
	}
	return nil
}

// readTags reads the annotation AnnotationTags.
func readTags(annotations map[string]string) ([]types.Tag, error) {
	v := annotations[AnnotationTags]
	if v == "" {
		return nil, nil
	}
	var kv []struct{ Key, Value string }
	if err := json.Unmarshal([]byte(v), &kv); err != nil {
		return nil, fmt.Errorf("annotation %s is not a JSON list of {key, value}: %w", AnnotationTags, err)
	}
	out := make([]types.Tag, 0, len(kv))
	for _, t := range kv {
		out = append(out, types.Tag{Key: aws.String(t.Key), Value: aws.String(t.Value)})
	}
	return out, nil
}

// writeTags sets the annotation AnnotationTags (removes it for none),
// keys sorted.
func writeTags(annotations map[string]string, tags []types.Tag) map[string]string {
	if annotations == nil {
		annotations = map[string]string{}
	}
	if len(tags) == 0 {
		delete(annotations, AnnotationTags)
		return annotations
	}
	type kv struct {
		Key   string `json:"key"`
		Value string `json:"value"`
	}
	out := make([]kv, 0, len(tags))
	for _, t := range tags {
		out = append(out, kv{aws.ToString(t.Key), aws.ToString(t.Value)})
	}
	slices.SortFunc(out, func(a, b kv) int { return strings.Compare(a.Key, b.Key) })
	b, _ := json.Marshal(out)
	annotations[AnnotationTags] = string(b)
	return annotations
}

// mergeTags sets add over have (a key given again takes the new value).
func mergeTags(have, add []types.Tag) []types.Tag {
	out := slices.Clone(have)
	for _, a := range add {
		i := slices.IndexFunc(out, func(t types.Tag) bool { return aws.ToString(t.Key) == aws.ToString(a.Key) })
		if i >= 0 {
			out[i] = a
		} else {
			out = append(out, a)
		}
	}
	return out
}

// page cuts a list, sorted by keys (descending when desc), after
// nextToken, at most maxResults (limit: the action's maximum, also its
// default): it returns the bounds of the page and the token of the next
// one ("" for the last). A token holds the last key returned, so a page
// stays right when objects come and go between calls.
func page(keys []string, desc bool, nextToken string, maxResults *int32, limit int32) (int, int, string, *Error) {
	n := limit
	if maxResults != nil {
		if *maxResults < 1 || *maxResults > limit {
			return 0, 0, "", invalidParameter("maxResults must be 1 to %d, not %d", limit, *maxResults)
		}
		n = *maxResults
	}
	start := 0
	if nextToken != "" {
		b, err := base64.RawURLEncoding.DecodeString(nextToken)
		if err != nil || len(b) == 0 {
			return 0, 0, "", invalidParameter("nextToken %q is not a token this API returned", nextToken)
		}
		after := string(b)
		start = len(keys)
		for i, k := range keys {
			if (!desc && k > after) || (desc && k < after) {
				start = i
				break
			}
		}
	}
	end := min(start+int(n), len(keys))
	if end < len(keys) && end > start {
		return start, end, encodeToken(keys[end-1]), nil
	}
	return start, end, "", nil
}

// keyedARN is a listed resource: the key it sorts by (its id) and its ARN.
type keyedARN struct{ key, arn string }

// pageARNs sorts items by key and returns the ARNs of the page that
// nextToken and maxResults select (at most 100, the List actions' limit)
// and the token of the next page (nil: the last).
func pageARNs(items []keyedARN, nextToken *string, maxResults *int32) ([]string, *string, *Error) {
	slices.SortFunc(items, func(a, b keyedARN) int { return strings.Compare(a.key, b.key) })
	keys := make([]string, len(items))
	for i := range items {
		keys[i] = items[i].key
	}
	start, end, next, e := page(keys, false, aws.ToString(nextToken), maxResults, 100)
	if e != nil {
		return nil, nil, e
	}
	arns := []string{}
	for _, it := range items[start:end] {
		arns = append(arns, it.arn)
	}
	if next == "" {
		return arns, nil, nil
	}
	return arns, aws.String(next), nil
}

func encodeToken(key string) string { return base64.RawURLEncoding.EncodeToString([]byte(key)) }
