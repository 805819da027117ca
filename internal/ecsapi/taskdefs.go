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
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ecsv1 "github.com/longshore-io/longshore/api/v1alpha1"
	"github.com/longshore-io/longshore/controllers/taskdefinition"
	"github.com/longshore-io/longshore/internal/ecsconvert"
)

// taskDefinitionOf is the ECS view of a revision: its spec as ECS JSON
// read into the SDK's type, with what ECS adds (ARN, revision, status,
// times).
func (s *Server) taskDefinitionOf(rev *ecsv1.TaskDefinitionRevision) (*types.TaskDefinition, *Error) {
	b, err := json.Marshal(rev.Spec.TaskDefinition.Registered())
	if err != nil {
		return nil, serverError("task definition %s:%d: %v", rev.Spec.Family, rev.Spec.Revision, err)
	}
	out := &types.TaskDefinition{}
	if err := json.Unmarshal(b, out); err != nil {
		return nil, serverError("task definition %s:%d does not read as an ECS task definition: %v", rev.Spec.Family, rev.Spec.Revision, err)
	}
	out.TaskDefinitionArn = aws.String(s.o.ARN.TaskDefinition(rev.Spec.Family, int64(rev.Spec.Revision)))
	out.Family = aws.String(rev.Spec.Family)
	out.Revision = rev.Spec.Revision
	out.Status = types.TaskDefinitionStatus(rev.EffectiveStatus())
	out.Compatibilities = []types.Compatibility{types.CompatibilityEc2}
	out.RegisteredAt = aws.Time(rev.CreationTimestamp.Time)
	if c := meta.FindStatusCondition(rev.Status.Conditions, ecsv1.ConditionReady); c != nil && c.Reason == ecsv1.ReasonRevisionDeregistered {
		out.DeregisteredAt = aws.Time(c.LastTransitionTime.Time)
	}
	if rev.DeletionTimestamp != nil {
		out.DeleteRequestedAt = aws.Time(rev.DeletionTimestamp.Time)
	}
	return out, nil
}

// revisionTags are a revision's tags: those it was registered with
// (spec.tags, immutable) and those TagResource added since (annotation).
func revisionTags(rev *ecsv1.TaskDefinitionRevision) ([]types.Tag, error) {
	var tags []types.Tag
	for _, t := range rev.Spec.TaskDefinition.Tags {
		tags = append(tags, types.Tag{Key: aws.String(t.Key), Value: aws.String(t.Value)})
	}
	added, err := readTags(rev.Annotations)
	if err != nil {
		return nil, fmt.Errorf("task definition %s:%d: %w", rev.Spec.Family, rev.Spec.Revision, err)
	}
	return mergeTags(tags, added), nil
}

// revisions lists the revisions of the namespace (of one family when
// family is set).
func (s *Server) revisions(c *call, family string) ([]ecsv1.TaskDefinitionRevision, *Error) {
	var list ecsv1.TaskDefinitionRevisionList
	opts := []client.ListOption{client.InNamespace(c.ns)}
	if family != "" {
		opts = append(opts, client.MatchingLabels{ecsv1.LabelFamily: family})
	}
	if err := c.c.List(c.ctx, &list, opts...); err != nil {
		return nil, kubeError(err, "listing task definitions in namespace "+c.ns)
	}
	return list.Items, nil
}

// findRevision resolves ref: a pinned revision, or the family's newest
// ACTIVE one. nil, nil when there is none.
func (s *Server) findRevision(c *call, ref tdRef) (*ecsv1.TaskDefinitionRevision, *Error) {
	if ref.Revision > 0 {
		rev := &ecsv1.TaskDefinitionRevision{}
		if err := c.c.Get(c.ctx, client.ObjectKey{Namespace: c.ns, Name: ecsv1.RevisionName(ref.Family, ref.Revision)}, rev); err != nil {
			if apierrors.IsNotFound(err) {
				return nil, nil
			}
			return nil, kubeError(err, "reading task definition "+ref.String())
		}
		return rev, nil
	}
	revs, e := s.revisions(c, ref.Family)
	if e != nil {
		return nil, e
	}
	var best *ecsv1.TaskDefinitionRevision
	for i := range revs {
		r := &revs[i]
		if r.Spec.Family == ref.Family && r.EffectiveStatus() == ecsv1.RevisionActive && (best == nil || r.Spec.Revision > best.Spec.Revision) {
			best = r
		}
	}
	return best, nil
}

// registrationPending says td carries a registration (of the ECS API)
// that the manager has not minted yet: its minted-hash annotation is not
// the hash of its spec and registration, and its spec is not known to be
// invalid (which would never be minted).
func registrationPending(td *ecsv1.TaskDefinition) bool {
	if td.Annotations[ecsv1.AnnotationRegistration] == "" {
		return false
	}
	h, err := taskdefinition.RegistrationHash(td)
	if err != nil || td.Annotations[taskdefinition.AnnotationMintedSpecHash] == h {
		return false
	}
	v := meta.FindStatusCondition(td.Status.Conditions, ecsv1.ConditionValid)
	return v == nil || v.Status != metav1.ConditionFalse || v.ObservedGeneration < td.Generation
}

// sleep waits d, or fails when the call's context ends.
func sleep(c *call, d time.Duration) *Error {
	select {
	case <-c.ctx.Done():
		return serverError("%s: %v", c.action, c.ctx.Err())
	case <-time.After(d):
		return nil
	}
}

func newRegistration() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func (s *Server) registerTaskDefinition(c *call, body []byte) (any, *Error) {
	var in ecs.RegisterTaskDefinitionInput
	if e := decode(body, &in); e != nil {
		return nil, e
	}
	if aws.ToString(in.Family) == "" {
		return nil, clientError("family is required")
	}
	if len(in.ContainerDefinitions) == 0 {
		return nil, clientError("containerDefinitions is required: a task definition needs at least one container")
	}
	if e := validateTags(in.Tags); e != nil {
		return nil, e
	}
	res, err := ecsconvert.Convert(body, ecsconvert.Options{Namespace: c.ns})
	if err != nil {
		return nil, clientError("%v", err)
	}
	want := res.TaskDefinition
	for _, w := range res.Warnings {
		c.log.V(1).Info("Task definition conversion", "family", want.Name, "note", w)
	}
	reg := newRegistration()
	key := client.ObjectKey{Namespace: c.ns, Name: want.Name}
	var gen int64
	deadline := s.o.Clock.Now().Add(s.o.RegisterTimeout)
	for {
		if s.o.Clock.Now().After(deadline) {
			// ECS's own answer when a family's registrations pile up.
			return nil, clientError("Too many concurrent attempts to create a new revision of the specified family: %s's earlier registration was not minted within %s (is longshore-manager running?)", want.Name, s.o.RegisterTimeout)
		}
		td := &ecsv1.TaskDefinition{}
		err := c.c.Get(c.ctx, key, td)
		switch {
		case apierrors.IsNotFound(err):
			td = want.DeepCopy()
			td.TypeMeta = metav1.TypeMeta{}
			td.Annotations = map[string]string{ecsv1.AnnotationRegistration: reg}
			c.log.Info("Registering task definition", "family", td.Name, "registration", reg)
			err = c.c.Create(c.ctx, td)
		case err != nil:
			return nil, kubeError(err, "reading task definition "+want.Name)
		default:
			if !td.DeletionTimestamp.IsZero() {
				return nil, clientError("task definition family %s is being deleted (its TaskDefinition object is): register it again once it is gone", want.Name)
			}
			if registrationPending(td) {
				// Another call's registration is not minted yet: writing
				// ours now would fold both into one revision. Wait for it
				// (the optimistic lock below catches one that lands
				// between this read and our write).
				if e := sleep(c, 50*time.Millisecond); e != nil {
					return nil, e
				}
				continue
			}
			base := td.DeepCopy()
			spec := *want.Spec.DeepCopy()
			spec.RevisionHistoryLimit = td.Spec.RevisionHistoryLimit // Longshore's own, not part of an ECS body
			td.Spec = spec
			if td.Annotations == nil {
				td.Annotations = map[string]string{}
			}
			td.Annotations[ecsv1.AnnotationRegistration] = reg
			c.log.Info("Registering task definition", "family", td.Name, "registration", reg)
			err = c.c.Patch(c.ctx, td, client.MergeFromWithOptions(base, client.MergeFromWithOptimisticLock{}))
		}
		if err == nil {
			gen = td.Generation
			break
		}
		if apierrors.IsConflict(err) || apierrors.IsAlreadyExists(err) {
			continue // another writer got there first: read again
		}
		return nil, kubeError(err, "registering task definition "+want.Name)
	}
	rev, e := s.waitRegistration(c, key, reg, gen)
	if e != nil {
		return nil, e
	}
	out, e := s.taskDefinitionOf(rev)
	if e != nil {
		return nil, e
	}
	tags, err := revisionTags(rev)
	if err != nil {
		return nil, serverError("%v", err)
	}
	return &ecs.RegisterTaskDefinitionOutput{TaskDefinition: out, Tags: tags}, nil
}

// waitRegistration waits for the manager to mint the revision of
// registration reg of the family key, or to find the spec invalid.
func (s *Server) waitRegistration(c *call, key client.ObjectKey, reg string, gen int64) (*ecsv1.TaskDefinitionRevision, *Error) {
	deadline := s.o.Clock.Now().Add(s.o.RegisterTimeout)
	for {
		revs, e := s.revisions(c, key.Name)
		if e != nil {
			return nil, e
		}
		for i := range revs {
			if revs[i].Annotations[ecsv1.AnnotationRegistration] == reg {
				return &revs[i], nil
			}
		}
		td := &ecsv1.TaskDefinition{}
		if err := c.c.Get(c.ctx, key, td); err != nil {
			return nil, kubeError(err, "reading task definition "+key.Name)
		}
		if v := meta.FindStatusCondition(td.Status.Conditions, ecsv1.ConditionValid); v != nil && v.Status == metav1.ConditionFalse && v.ObservedGeneration >= gen {
			return nil, clientError("task definition %s is invalid: %s", key.Name, v.Message)
		}
		if td.Annotations[ecsv1.AnnotationRegistration] != reg {
			return nil, serverError("task definition %s was registered again by another call before its revision was minted: describe it to see the newest revision", key.Name)
		}
		if s.o.Clock.Now().After(deadline) {
			return nil, serverError("the revision of task definition %s was not minted within %s: is longshore-manager running?", key.Name, s.o.RegisterTimeout)
		}
		select {
		case <-c.ctx.Done():
			return nil, serverError("registering task definition %s: %v", key.Name, c.ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (s *Server) describeTaskDefinition(c *call, body []byte) (any, *Error) {
	var in ecs.DescribeTaskDefinitionInput
	if e := decode(body, &in); e != nil {
		return nil, e
	}
	if aws.ToString(in.TaskDefinition) == "" {
		return nil, clientError("taskDefinition is required")
	}
	withTags := false
	for _, f := range in.Include {
		if f != types.TaskDefinitionFieldTags {
			return nil, invalidParameter("include %q: want TAGS", f)
		}
		withTags = true
	}
	ref, e := s.taskDefinitionRef(aws.ToString(in.TaskDefinition))
	if e != nil {
		return nil, e
	}
	rev, e := s.findRevision(c, ref)
	if e != nil {
		return nil, e
	}
	if rev == nil {
		return nil, clientError("Unable to describe task definition: %s has no %s in namespace %s", aws.ToString(in.TaskDefinition), map[bool]string{true: "such revision", false: "ACTIVE revision"}[ref.Revision > 0], c.ns)
	}
	td, e := s.taskDefinitionOf(rev)
	if e != nil {
		return nil, e
	}
	out := &ecs.DescribeTaskDefinitionOutput{TaskDefinition: td}
	if withTags {
		tags, err := revisionTags(rev)
		if err != nil {
			return nil, serverError("%v", err)
		}
		out.Tags = tags
		if out.Tags == nil {
			out.Tags = []types.Tag{}
		}
	}
	return out, nil
}

// revisionKey sorts revisions by family, then number.
func revisionKey(rev *ecsv1.TaskDefinitionRevision) string {
	return fmt.Sprintf("%s\x00%010d", rev.Spec.Family, rev.Spec.Revision)
}

func parseTDStatus(v types.TaskDefinitionStatus, def ecsv1.RevisionStatus) (ecsv1.RevisionStatus, *Error) {
	switch v {
	case "":
		return def, nil
	case types.TaskDefinitionStatusActive, types.TaskDefinitionStatusInactive, types.TaskDefinitionStatusDeleteInProgress:
		return ecsv1.RevisionStatus(v), nil
	}
	return "", invalidParameter("status %q: want ACTIVE, INACTIVE or DELETE_IN_PROGRESS", v)
}

func (s *Server) listTaskDefinitions(c *call, body []byte) (any, *Error) {
	var in ecs.ListTaskDefinitionsInput
	if e := decode(body, &in); e != nil {
		return nil, e
	}
	status, e := parseTDStatus(in.Status, ecsv1.RevisionActive)
	if e != nil {
		return nil, e
	}
	desc := false
	switch in.Sort {
	case "", types.SortOrderAsc:
	case types.SortOrderDesc:
		desc = true
	default:
		return nil, invalidParameter("sort %q: want ASC or DESC", in.Sort)
	}
	revs, e := s.revisions(c, "")
	if e != nil {
		return nil, e
	}
	prefix := aws.ToString(in.FamilyPrefix)
	var keep []*ecsv1.TaskDefinitionRevision
	for i := range revs {
		r := &revs[i]
		if r.EffectiveStatus() == status && strings.HasPrefix(r.Spec.Family, familyName(prefix)) {
			keep = append(keep, r)
		}
	}
	slices.SortFunc(keep, func(a, b *ecsv1.TaskDefinitionRevision) int {
		if desc {
			return strings.Compare(revisionKey(b), revisionKey(a))
		}
		return strings.Compare(revisionKey(a), revisionKey(b))
	})
	keys := make([]string, len(keep))
	for i, r := range keep {
		keys[i] = revisionKey(r)
	}
	start, end, next, e := page(keys, desc, aws.ToString(in.NextToken), in.MaxResults, 100)
	if e != nil {
		return nil, e
	}
	out := &ecs.ListTaskDefinitionsOutput{TaskDefinitionArns: []string{}}
	for _, r := range keep[start:end] {
		out.TaskDefinitionArns = append(out.TaskDefinitionArns, s.o.ARN.TaskDefinition(r.Spec.Family, int64(r.Spec.Revision)))
	}
	if next != "" {
		out.NextToken = aws.String(next)
	}
	return out, nil
}

func (s *Server) listTaskDefinitionFamilies(c *call, body []byte) (any, *Error) {
	var in ecs.ListTaskDefinitionFamiliesInput
	if e := decode(body, &in); e != nil {
		return nil, e
	}
	switch in.Status {
	case "", types.TaskDefinitionFamilyStatusActive, types.TaskDefinitionFamilyStatusInactive, types.TaskDefinitionFamilyStatusAll:
	default:
		return nil, invalidParameter("status %q: want ACTIVE, INACTIVE or ALL", in.Status)
	}
	revs, e := s.revisions(c, "")
	if e != nil {
		return nil, e
	}
	active := map[string]bool{}
	for _, r := range revs {
		active[r.Spec.Family] = active[r.Spec.Family] || r.EffectiveStatus() == ecsv1.RevisionActive
	}
	prefix := familyName(aws.ToString(in.FamilyPrefix))
	var families []string
	for f, a := range active {
		if !strings.HasPrefix(f, prefix) {
			continue
		}
		switch in.Status {
		case "", types.TaskDefinitionFamilyStatusActive:
			if !a {
				continue
			}
		case types.TaskDefinitionFamilyStatusInactive:
			if a {
				continue
			}
		}
		families = append(families, f)
	}
	slices.Sort(families)
	start, end, next, e := page(families, false, aws.ToString(in.NextToken), in.MaxResults, 100)
	if e != nil {
		return nil, e
	}
	out := &ecs.ListTaskDefinitionFamiliesOutput{Families: slices.Clone(families[start:end])}
	if out.Families == nil {
		out.Families = []string{}
	}
	if next != "" {
		out.NextToken = aws.String(next)
	}
	return out, nil
}

func (s *Server) deregisterTaskDefinition(c *call, body []byte) (any, *Error) {
	var in ecs.DeregisterTaskDefinitionInput
	if e := decode(body, &in); e != nil {
		return nil, e
	}
	ref, e := s.taskDefinitionRef(aws.ToString(in.TaskDefinition))
	if e != nil {
		return nil, e
	}
	if ref.Revision == 0 {
		return nil, clientError("taskDefinition %q names no revision: give family:revision or a task definition ARN, as ECS requires", aws.ToString(in.TaskDefinition))
	}
	rev, e := s.findRevision(c, ref)
	if e != nil {
		return nil, e
	}
	if rev == nil {
		return nil, clientError("The specified task definition does not exist: %s in namespace %s", ref, c.ns)
	}
	if e := patch(c, rev, "deregistering task definition "+ref.String(), func() (bool, *Error) {
		if rev.Spec.State == ecsv1.RevisionStateInactive {
			return false, nil
		}
		rev.Spec.State = ecsv1.RevisionStateInactive
		c.log.Info("Deregistering task definition", "revision", ref.String())
		return true, nil
	}); e != nil {
		return nil, e
	}
	td, e := s.taskDefinitionOf(rev)
	if e != nil {
		return nil, e
	}
	return &ecs.DeregisterTaskDefinitionOutput{TaskDefinition: td}, nil
}

func (s *Server) deleteTaskDefinitions(c *call, body []byte) (any, *Error) {
	var in ecs.DeleteTaskDefinitionsInput
	if e := decode(body, &in); e != nil {
		return nil, e
	}
	if len(in.TaskDefinitions) == 0 || len(in.TaskDefinitions) > 10 {
		return nil, invalidParameter("taskDefinitions: give 1 to 10, not %d", len(in.TaskDefinitions))
	}
	out := &ecs.DeleteTaskDefinitionsOutput{TaskDefinitions: []types.TaskDefinition{}, Failures: []types.Failure{}}
	for _, v := range in.TaskDefinitions {
		ref, e := s.taskDefinitionRef(v)
		if e != nil {
			return nil, e
		}
		if ref.Revision == 0 {
			return nil, clientError("taskDefinitions: %q names no revision: give family:revision or a task definition ARN", v)
		}
		arn := s.o.ARN.TaskDefinition(ref.Family, int64(ref.Revision))
		fail := func(reason, detail string) {
			out.Failures = append(out.Failures, types.Failure{Arn: aws.String(arn), Reason: aws.String(reason), Detail: aws.String(detail)})
		}
		rev, e := s.findRevision(c, ref)
		if e != nil {
			return nil, e
		}
		if rev == nil {
			fail("MISSING", fmt.Sprintf("task definition %s does not exist in namespace %s", ref, c.ns))
			continue
		}
		if rev.EffectiveStatus() == ecsv1.RevisionActive {
			fail("The specified task definition is not in the INACTIVE state", fmt.Sprintf("task definition %s is ACTIVE: deregister it first", ref))
			continue
		}
		if rev.DeletionTimestamp.IsZero() {
			c.log.Info("Deleting task definition", "revision", ref.String())
			if err := c.c.Delete(c.ctx, rev, client.Preconditions{UID: &rev.UID}); err != nil && !apierrors.IsNotFound(err) {
				return nil, kubeError(err, "deleting task definition "+ref.String())
			}
			if rev.DeletionTimestamp == nil {
				now := metav1.NewTime(s.o.Clock.Now())
				rev.DeletionTimestamp = &now
			}
		}
		td, e := s.taskDefinitionOf(rev)
		if e != nil {
			return nil, e
		}
		td.Status = types.TaskDefinitionStatusDeleteInProgress
		out.TaskDefinitions = append(out.TaskDefinitions, *td)
	}
	return out, nil
}
