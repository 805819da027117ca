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
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ecsv1 "github.com/longshore-io/longshore/api/v1alpha1"
	"github.com/longshore-io/longshore/internal/inactive"
)

// The record of deleted Services (internal/inactive): as ECS, the ECS API
// describes a deleted Service as INACTIVE for InactiveRetention after its
// drain. The Service is gone once its finalizer is removed, so the pass
// that removes it first writes the Service's record into the namespace's
// ConfigMap inactive.ConfigMapName, whoever deleted the Service (the ECS
// API, kubectl, GitOps). A record that cannot be written holds the
// finalizer (the pass fails and is retried), except in a terminating
// namespace, where nothing can be created and no one is left to ask.
// Records past their expiry are pruned at each write, and when the
// reconcile of the deleted Service's name, requeued until its record
// expires, finds it still gone. The manager caches no ConfigMaps: the map
// is read from the API server (APIReader).
//
// +kubebuilder:rbac:groups="",resources=configmaps,verbs=get;create;patch

// recordInactive writes the record of the drained Service p.svc.
func (p *pass) recordInactive(ctx context.Context) error {
	svc := p.svc
	td := svc.Status.TaskDefinition
	if td == "" {
		td = svc.Spec.TaskDefinition
	}
	strategy := svc.Spec.SchedulingStrategy
	if strategy == "" {
		strategy = ecsv1.SchedulingReplica
	}
	rec := inactive.Record{UID: string(svc.UID), Cluster: ecsv1.ClusterName(svc.Spec.Cluster), TaskDefinition: td,
		SchedulingStrategy: string(strategy), CreatedAt: svc.CreationTimestamp.UTC(), InactiveAt: p.now.UTC(),
		ExpiresAt: p.now.UTC().Add(p.r.InactiveRetention)}
	if svc.DeletionTimestamp != nil {
		rec.DeletedAt = svc.DeletionTimestamp.UTC()
	}
	value, err := inactive.Encode(rec)
	if err != nil {
		return err
	}
	key := client.ObjectKey{Namespace: svc.Namespace, Name: inactive.ConfigMapName}
	cm := &corev1.ConfigMap{}
	err = p.r.APIReader.Get(ctx, key, cm)
	switch {
	case apierrors.IsNotFound(err):
		cm = &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: key.Namespace, Name: key.Name,
			Labels: map[string]string{"app.kubernetes.io/managed-by": "longshore"}}, Data: map[string]string{svc.Name: value}}
		p.log.Info("Recording the drained service as INACTIVE", "configMap", key, "expiresAt", rec.ExpiresAt)
		if err := p.r.Client.Create(ctx, cm); err != nil {
			if apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause) {
				p.log.Info("Not recording the drained service as INACTIVE: its namespace is terminating", "configMap", key)
				return nil
			}
			if apierrors.IsAlreadyExists(err) {
				// Created meanwhile (another Service's drain): a conflict, retried.
				return apierrors.NewConflict(corev1.Resource("configmaps"), key.Name, err)
			}
			return fmt.Errorf("recording service %s as INACTIVE: creating ConfigMap %s: %w", svc.Name, key, err)
		}
		return nil
	case err != nil:
		return fmt.Errorf("recording service %s as INACTIVE: reading ConfigMap %s: %w", svc.Name, key, err)
	}
	if have, err := inactive.Decode(svc.Name, cm.Data[svc.Name]); err == nil && have.UID == rec.UID {
		return nil // recorded by an earlier pass whose finalizer patch failed
	}
	base := cm.DeepCopy()
	kept, pruned := prune(p.log, cm, p.now)
	kept[svc.Name] = value
	cm.Data = kept
	p.log.Info("Recording the drained service as INACTIVE", "configMap", key, "expiresAt", rec.ExpiresAt, "pruned", len(pruned))
	if err := p.r.Client.Patch(ctx, cm, client.MergeFromWithOptions(base, client.MergeFromWithOptimisticLock{})); err != nil {
		return fmt.Errorf("recording service %s as INACTIVE: patching ConfigMap %s: %w", svc.Name, key, err)
	}
	return nil
}

// prune is cm's data without the expired records (and values that are
// not records, logged), and the names pruned.
func prune(log logr.Logger, cm *corev1.ConfigMap, now time.Time) (map[string]string, []inactive.Pruned) {
	kept, pruned, _ := inactive.Prune(cm.Data, now)
	for _, p := range pruned {
		log.Info("Pruning an inactive service record", "configMap", client.ObjectKeyFromObject(cm), "service", p.Name, "reason", p.Reason)
	}
	return kept, pruned
}

// pruneInactive runs when the Service key is gone: it prunes the expired
// records of its namespace and says when to look again (when key's own
// record expires; 0 when it has none).
func (r *Reconciler) pruneInactive(ctx context.Context, key client.ObjectKey) (time.Duration, error) {
	cmKey := client.ObjectKey{Namespace: key.Namespace, Name: inactive.ConfigMapName}
	cm := &corev1.ConfigMap{}
	if err := r.APIReader.Get(ctx, cmKey, cm); err != nil {
		if apierrors.IsNotFound(err) {
			return 0, nil
		}
		return 0, fmt.Errorf("pruning inactive service records: reading ConfigMap %s: %w", cmKey, err)
	}
	now := r.Clock.Now()
	base := cm.DeepCopy()
	kept, pruned := prune(ctrl.LoggerFrom(ctx), cm, now)
	if len(pruned) > 0 {
		cm.Data = kept
		if err := r.Client.Patch(ctx, cm, client.MergeFromWithOptions(base, client.MergeFromWithOptimisticLock{})); err != nil {
			return 0, fmt.Errorf("pruning inactive service records: patching ConfigMap %s: %w", cmKey, err)
		}
	}
	rec, err := inactive.Decode(key.Name, kept[key.Name])
	if _, ok := kept[key.Name]; !ok || err != nil {
		return 0, nil
	}
	// A second past the expiry, so that the next look prunes it.
	return rec.ExpiresAt.Sub(now) + time.Second, nil
}
