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

package taskdefinition

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	ecsv1 "github.com/longshore-io/longshore/api/v1alpha1"
)

// SetupIndexes registers the field indexes IndexTaskRevisionInUse and
// IndexServiceRevision with the manager's cache. Call it once, before the
// manager starts and before SetupWithManager.
func SetupIndexes(ctx context.Context, mgr ctrl.Manager) error {
	idx := mgr.GetFieldIndexer()
	if err := idx.IndexField(ctx, &ecsv1.Task{}, IndexTaskRevisionInUse, func(o client.Object) []string {
		return refStrings(revisionRefs(o))
	}); err != nil {
		return fmt.Errorf("indexing Tasks by %s: %w", IndexTaskRevisionInUse, err)
	}
	if err := idx.IndexField(ctx, &ecsv1.Service{}, IndexServiceRevision, func(o client.Object) []string {
		return refStrings(revisionRefs(o))
	}); err != nil {
		return fmt.Errorf("indexing Services by %s: %w", IndexServiceRevision, err)
	}
	return nil
}

// revisionRefs are the pinned revisions a Task (unless STOPPED) or a
// Service (its spec, status and PRIMARY or ACTIVE deployments) keeps in
// use, deduplicated and sorted. Unparsable or family-only
// references ("web", the latest ACTIVE revision) pin nothing.
func revisionRefs(o client.Object) []ecsv1.TaskDefinitionRef {
	var raw []string
	switch x := o.(type) {
	case *ecsv1.Task:
		if x.Status.LastStatus == ecsv1.TaskStopped {
			return nil
		}
		raw = []string{x.Spec.TaskDefinition, x.Status.TaskDefinitionRevision}
	case *ecsv1.Service:
		raw = []string{x.Spec.TaskDefinition, x.Status.TaskDefinition}
		for _, d := range x.Status.Deployments {
			// An INACTIVE deployment (history) starts no task: it does not
			// hold its revision, as in ECS, where only the deployments that
			// may still scale block DeleteTaskDefinitions.
			if d.Status != ecsv1.DeploymentInactive {
				raw = append(raw, d.TaskDefinition)
			}
		}
	default:
		return nil
	}
	var refs []ecsv1.TaskDefinitionRef
	for _, s := range raw {
		ref, err := ecsv1.ParseTaskDefinitionRef(s)
		if err != nil || ref.Revision == 0 || slices.Contains(refs, ref) {
			continue
		}
		refs = append(refs, ref)
	}
	slices.SortFunc(refs, func(a, b ecsv1.TaskDefinitionRef) int {
		return cmp.Or(strings.Compare(a.Family, b.Family), cmp.Compare(a.Revision, b.Revision))
	})
	return refs
}

func refStrings(refs []ecsv1.TaskDefinitionRef) []string {
	if len(refs) == 0 {
		return nil
	}
	out := make([]string, len(refs))
	for i, r := range refs {
		out[i] = r.String()
	}
	return out
}

// refsChanged passes creates, deletes and the updates of a Task or Service
// that change the set of revisions it keeps in use (a Task turning STOPPED,
// a Service rolling to a new revision) — not the many status updates that
// change nothing for revisions.
var refsChanged = predicate.Funcs{
	UpdateFunc: func(e event.UpdateEvent) bool {
		return !slices.Equal(revisionRefs(e.ObjectOld), revisionRefs(e.ObjectNew))
	},
}

// mapToRevisions maps a Task or Service to the revisions it references.
func mapToRevisions(_ context.Context, o client.Object) []reconcile.Request {
	var reqs []reconcile.Request
	for _, ref := range revisionRefs(o) {
		reqs = append(reqs, reconcile.Request{NamespacedName: types.NamespacedName{
			Namespace: o.GetNamespace(), Name: ref.RevisionName()}})
	}
	return reqs
}

// mapToFamilies maps a Task or Service to the TaskDefinitions whose
// revisions it references.
func mapToFamilies(_ context.Context, o client.Object) []reconcile.Request {
	var reqs []reconcile.Request
	for _, ref := range revisionRefs(o) {
		r := reconcile.Request{NamespacedName: types.NamespacedName{Namespace: o.GetNamespace(), Name: ref.Family}}
		if !slices.Contains(reqs, r) {
			reqs = append(reqs, r)
		}
	}
	return reqs
}

// revisionUsers lists, through the field indexes, the Tasks that are not
// STOPPED and the Services of namespace that reference ref
// ("family:revision").
func revisionUsers(ctx context.Context, c client.Reader, namespace, ref string) (tasks, services []string, err error) {
	var tl ecsv1.TaskList
	if err := c.List(ctx, &tl, client.InNamespace(namespace), client.MatchingFields{IndexTaskRevisionInUse: ref}); err != nil {
		return nil, nil, fmt.Errorf("listing the Tasks that use %s: %w", ref, err)
	}
	for i := range tl.Items {
		// The index is computed on the cached object; re-check it.
		if tl.Items[i].Status.LastStatus != ecsv1.TaskStopped {
			tasks = append(tasks, tl.Items[i].Name)
		}
	}
	var sl ecsv1.ServiceList
	if err := c.List(ctx, &sl, client.InNamespace(namespace), client.MatchingFields{IndexServiceRevision: ref}); err != nil {
		return nil, nil, fmt.Errorf("listing the Services that use %s: %w", ref, err)
	}
	for i := range sl.Items {
		services = append(services, sl.Items[i].Name)
	}
	return tasks, services, nil
}
