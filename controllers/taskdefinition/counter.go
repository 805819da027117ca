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
	"strconv"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// errCounterRace says that another writer changed or created the counter
// ConfigMap between our read and our write: the pass is retried.
type errCounterRace struct{ err error }

func (e errCounterRace) Error() string {
	return "revision counter changed concurrently: " + e.err.Error()
}
func (e errCounterRace) Unwrap() error { return e.err }

// allocateRevision hands out the next revision number of family in
// namespace and records it in the counter ConfigMap before returning, so a
// number is written down before any revision carries it (see the package
// documentation). floor is the highest revision number that exists: the
// result is always above it, even if the ConfigMap was lost.
func (r *Reconciler) allocateRevision(ctx context.Context, namespace, family string, floor int32) (int32, error) {
	cm := &corev1.ConfigMap{}
	err := r.APIReader.Get(ctx, client.ObjectKey{Namespace: namespace, Name: CounterConfigMapName}, cm)
	if apierrors.IsNotFound(err) {
		n := floor + 1
		cm = &corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{
				Namespace: namespace, Name: CounterConfigMapName,
				Labels: map[string]string{"app.kubernetes.io/managed-by": "longshore"},
				Annotations: map[string]string{"ecs.longshore.io/description": "The last TaskDefinitionRevision number of each " +
					"task definition family of this namespace. Numbers are never reused: do not edit or delete."},
			},
			Data: map[string]string{family: strconv.FormatInt(int64(n), 10)},
		}
		if err := r.Client.Create(ctx, cm); err != nil {
			if apierrors.IsAlreadyExists(err) {
				return 0, errCounterRace{err}
			}
			return 0, fmt.Errorf("creating the revision counter ConfigMap %s/%s: %w", namespace, CounterConfigMapName, err)
		}
		return n, nil
	}
	if err != nil {
		return 0, fmt.Errorf("reading the revision counter ConfigMap %s/%s: %w", namespace, CounterConfigMapName, err)
	}
	last := int64(0)
	if s, ok := cm.Data[family]; ok {
		last, err = strconv.ParseInt(s, 10, 32)
		if err != nil || last < 0 {
			// Refuse to guess: a wrong guess could reuse a number.
			return 0, fmt.Errorf("revision counter ConfigMap %s/%s: family %q holds %q, not a revision number",
				namespace, CounterConfigMapName, family, s)
		}
	}
	n := max(int32(last), floor) + 1
	base := cm.DeepCopy()
	if cm.Data == nil {
		cm.Data = map[string]string{}
	}
	cm.Data[family] = strconv.FormatInt(int64(n), 10)
	// The patch carries the resourceVersion read: a concurrent writer
	// makes it fail with 409 instead of being overwritten.
	if err := r.Client.Patch(ctx, cm, client.MergeFromWithOptions(base, client.MergeFromWithOptimisticLock{})); err != nil {
		if apierrors.IsConflict(err) {
			return 0, errCounterRace{err}
		}
		return 0, fmt.Errorf("recording revision %d of %s in the counter ConfigMap %s/%s: %w",
			n, family, namespace, CounterConfigMapName, err)
	}
	return n, nil
}
