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

package kube

import (
	"context"
	"time"

	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Every Longshore writer computes what an object should be from what it
// read, then writes it once: a merge patch from the object read, with
// optimistic locking (the patch carries its resourceVersion), so that a
// write based on a stale read fails with a Conflict instead of undoing
// someone else's. A conflict is retried after ConflictRetry, by every
// controller and the agent alike.

// ConflictRetry is how soon a reconciler runs again after its write lost
// an optimistic-locking race: long enough for the informer to bring the
// winner's write (a few milliseconds on one machine), short enough not to
// be seen.
const ConflictRetry = 50 * time.Millisecond

// PatchStatus writes updated's status subresource as a merge patch from
// orig (the object as read) with optimistic locking, and nothing when the
// two are semantically equal. On success updated has the new
// resourceVersion. A NotFound is not an error: the object is gone.
func PatchStatus(ctx context.Context, c client.Client, orig, updated client.Object) (bool, error) {
	if apiequality.Semantic.DeepEqual(orig, updated) {
		return false, nil
	}
	err := c.Status().Patch(ctx, updated, client.MergeFromWithOptions(orig, client.MergeFromWithOptimisticLock{}))
	return err == nil, client.IgnoreNotFound(err)
}

// Patch is PatchStatus for the object itself (metadata and spec).
func Patch(ctx context.Context, c client.Client, orig, updated client.Object) (bool, error) {
	if apiequality.Semantic.DeepEqual(orig, updated) {
		return false, nil
	}
	err := c.Patch(ctx, updated, client.MergeFromWithOptions(orig, client.MergeFromWithOptimisticLock{}))
	return err == nil, client.IgnoreNotFound(err)
}

// IsConflict tells whether err, or any error joined in it, is a Conflict:
// a write lost an optimistic-locking race. (apierrors.IsConflict alone sees
// only the first API error of a join.)
func IsConflict(err error) bool {
	if j, ok := err.(interface{ Unwrap() []error }); ok { //nolint:errorlint // walking the join
		for _, e := range j.Unwrap() {
			if IsConflict(e) {
				return true
			}
		}
		return false
	}
	return apierrors.IsConflict(err)
}

// Result is what a reconciler returns after a write: a conflict is retried
// after ConflictRetry (not logged as an error: it is the protocol working);
// any other error is returned for controller-runtime's backoff.
func Result(res ctrl.Result, err error) (ctrl.Result, error) {
	if err == nil {
		return res, nil
	}
	if IsConflict(err) {
		return Soonest(res, ctrl.Result{RequeueAfter: ConflictRetry}), nil
	}
	return ctrl.Result{}, err
}

// Soonest is the result that runs a reconciler again the soonest of a and
// b: a result without a requeue loses to any requeue.
func Soonest(a, b ctrl.Result) ctrl.Result {
	if a.RequeueAfter == 0 || (b.RequeueAfter > 0 && b.RequeueAfter < a.RequeueAfter) {
		return b
	}
	return a
}
