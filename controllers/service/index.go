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

package service

import (
	"context"
	"fmt"
	"slices"

	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	ecsv1 "github.com/longshore-io/longshore/api/v1alpha1"
)

// SetupIndexes registers IndexTaskService, IndexServiceFamily and
// IndexServiceCluster with the manager's cache. Call it once, before the
// manager starts. The Reconciler also uses cluster.IndexInstanceCluster,
// registered by cluster.SetupIndexes.
func SetupIndexes(ctx context.Context, mgr ctrl.Manager) error {
	fi := mgr.GetFieldIndexer()
	if err := fi.IndexField(ctx, &ecsv1.Task{}, IndexTaskService, func(o client.Object) []string {
		if name := controllingService(o); name != "" {
			return []string{name}
		}
		return nil
	}); err != nil {
		return fmt.Errorf("indexing Tasks by %s: %w", IndexTaskService, err)
	}
	if err := fi.IndexField(ctx, &ecsv1.Service{}, IndexServiceFamily, func(o client.Object) []string {
		ref, err := ecsv1.ParseTaskDefinitionRef(o.(*ecsv1.Service).Spec.TaskDefinition)
		if err != nil {
			return nil
		}
		return []string{ref.Family}
	}); err != nil {
		return fmt.Errorf("indexing Services by %s: %w", IndexServiceFamily, err)
	}
	if err := fi.IndexField(ctx, &ecsv1.Service{}, IndexServiceCluster, func(o client.Object) []string {
		return []string{ecsv1.ClusterName(o.(*ecsv1.Service).Spec.Cluster)}
	}); err != nil {
		return fmt.Errorf("indexing Services by %s: %w", IndexServiceCluster, err)
	}
	return nil
}

// controllingService is the name of the Service that controls o, or "".
func controllingService(o client.Object) string {
	for _, ref := range o.GetOwnerReferences() {
		if ref.Controller != nil && *ref.Controller && ref.Kind == "Service" && ref.APIVersion == ecsv1.GroupVersion.String() {
			return ref.Name
		}
	}
	return ""
}

// servicesOfFamily maps a TaskDefinition or TaskDefinitionRevision to the
// Services of its namespace that name its family.
func (r *Reconciler) servicesOfFamily(ctx context.Context, o client.Object) []reconcile.Request {
	family := o.GetName()
	if rev, ok := o.(*ecsv1.TaskDefinitionRevision); ok {
		family = rev.Spec.Family
	}
	var list ecsv1.ServiceList
	if err := r.Client.List(ctx, &list, client.InNamespace(o.GetNamespace()), client.MatchingFields{IndexServiceFamily: family}); err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "Cannot list the Services of a task definition family", "family", family)
		return nil
	}
	return requests(list.Items)
}

// servicesOfCluster maps a ContainerInstance to the Services of its
// Cluster: DAEMON services follow instances, REPLICA services replace
// their tasks on DRAINING instances.
func (r *Reconciler) servicesOfCluster(ctx context.Context, o client.Object) []reconcile.Request {
	ci := o.(*ecsv1.ContainerInstance)
	var list ecsv1.ServiceList
	if err := r.Client.List(ctx, &list, client.MatchingFields{IndexServiceCluster: ecsv1.ClusterName(ci.Spec.Cluster)}); err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "Cannot list the Services of a cluster", "cluster", ecsv1.ClusterName(ci.Spec.Cluster))
		return nil
	}
	return requests(list.Items)
}

func requests(items []ecsv1.Service) []reconcile.Request {
	out := make([]reconcile.Request, 0, len(items))
	for i := range items {
		out = append(out, reconcile.Request{NamespacedName: types.NamespacedName{Namespace: items[i].Namespace, Name: items[i].Name}})
	}
	return out
}

// instanceChanged passes the ContainerInstance updates that matter to a
// Service: state, attributes, agent connection, deletion — not the
// accounting the cluster controller writes on every task change.
var instanceChanged = predicate.Funcs{
	UpdateFunc: func(e event.UpdateEvent) bool {
		o, ok1 := e.ObjectOld.(*ecsv1.ContainerInstance)
		n, ok2 := e.ObjectNew.(*ecsv1.ContainerInstance)
		if !ok1 || !ok2 {
			return true
		}
		return o.Spec.State != n.Spec.State || o.Spec.Cluster != n.Spec.Cluster ||
			!slices.Equal(o.Spec.Attributes, n.Spec.Attributes) || !slices.Equal(o.Status.Attributes, n.Status.Attributes) ||
			o.Status.Connected() != n.Status.Connected() || (o.DeletionTimestamp == nil) != (n.DeletionTimestamp == nil)
	},
}
