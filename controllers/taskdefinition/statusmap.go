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
	"context"
	"fmt"
	"maps"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ecsv1 "github.com/longshore-io/longshore/api/v1alpha1"
)

// The revision status map: the ValidatingAdmissionPolicy
// longshore-revision-not-active (config/policy/revision-status.yaml)
// refuses, at `kubectl apply` time, a new Task or a Service created with
// or changed to a revision that is not ACTIVE. A policy cannot read other
// objects than the one admitted and its param, so the manager keeps, in
// every namespace with such revisions, the param: the ConfigMap
// RevisionStatusConfigMapName, one data key per revision that is not
// ACTIVE (its object name, <family>-<n>) whose value is its status
// (INACTIVE or DELETE_IN_PROGRESS). A revision leaves the map when it is
// gone (its name then resolves to nothing, which the Task and Service
// controllers report). Nothing owns the ConfigMap; the policy reads it
// with parameterNotFoundAction Allow, so a namespace without one admits
// everything and the controllers' own checks (controllers/task: "new
// tasks need an ACTIVE revision") remain the backstop for the moment
// between a deregistration and its entry in the map.

// desiredStatusMap is the map of namespace ns from the revisions in the
// cache: what their spec and metadata say (EffectiveStatus), not the
// status this controller may not have written yet.
func (r *RevisionReconciler) desiredStatusMap(ctx context.Context, ns string) (map[string]string, error) {
	var list ecsv1.TaskDefinitionRevisionList
	if err := r.Client.List(ctx, &list, client.InNamespace(ns)); err != nil {
		return nil, fmt.Errorf("listing the revisions of namespace %s: %w", ns, err)
	}
	want := map[string]string{}
	for i := range list.Items {
		if st := list.Items[i].EffectiveStatus(); st != ecsv1.RevisionActive {
			want[list.Items[i].Name] = string(st)
		}
	}
	return want, nil
}

// syncStatusMap brings the namespace's map to what its revisions say. It
// remembers what it last wrote per namespace, so that a pass that changes
// nothing costs no API call; the first pass of a namespace after a start
// reads the ConfigMap from the API server.
func (r *RevisionReconciler) syncStatusMap(ctx context.Context, ns string) error {
	want, err := r.desiredStatusMap(ctx, ns)
	if err != nil {
		return err
	}
	r.mu.Lock()
	last, known := r.written[ns]
	r.mu.Unlock()
	if known && maps.Equal(last, want) {
		return nil
	}
	key := client.ObjectKey{Namespace: ns, Name: RevisionStatusConfigMapName}
	cm := &corev1.ConfigMap{}
	err = r.APIReader.Get(ctx, key, cm)
	switch {
	case apierrors.IsNotFound(err):
		if len(want) == 0 {
			r.remember(ns, want)
			return nil
		}
		cm = &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: RevisionStatusConfigMapName,
			Labels: map[string]string{"app.kubernetes.io/managed-by": "longshore"}}, Data: want}
		ctrl.LoggerFrom(ctx).Info("Recording the revisions that are not ACTIVE for admission", "configMap", key, "revisions", len(want))
		if err := r.Client.Create(ctx, cm); err != nil {
			if apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause) {
				// Nothing new can be created in the namespace: there is no
				// one left for admission to refuse.
				r.remember(ns, want)
				return nil
			}
			return fmt.Errorf("creating ConfigMap %s: %w", key, err) // AlreadyExists: a conflict, retried
		}
	case err != nil:
		return fmt.Errorf("reading ConfigMap %s: %w", key, err)
	default:
		if maps.Equal(cm.Data, want) {
			r.remember(ns, want)
			return nil
		}
		base := cm.DeepCopy()
		cm.Data = want
		ctrl.LoggerFrom(ctx).Info("Recording the revisions that are not ACTIVE for admission", "configMap", key, "revisions", len(want))
		if err := r.Client.Patch(ctx, cm, client.MergeFromWithOptions(base, client.MergeFromWithOptimisticLock{})); err != nil {
			return fmt.Errorf("patching ConfigMap %s: %w", key, err)
		}
	}
	r.remember(ns, want)
	return nil
}

func (r *RevisionReconciler) remember(ns string, data map[string]string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.written == nil {
		r.written = map[string]map[string]string{}
	}
	r.written[ns] = data
}
