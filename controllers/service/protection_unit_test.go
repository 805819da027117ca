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
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	ecsv1 "github.com/longshore-io/longshore/api/v1alpha1"
)

// TestPlanReplicaKeepsProtectedTasks: a task protected from scale-in is
// not stopped to scale in or for a deployment until its protection
// expires; the ones that hold the plan up are noted, and the pass comes
// back when the first protection expires.
func TestPlanReplicaKeepsProtectedTasks(t *testing.T) {
	now := time.Unix(200, 0)
	for name, tc := range map[string]struct {
		desired  int32
		old, new string // one letter a task (planTask); P a healthy protected task, E a healthy one whose protection expired
		deleting bool
		// what the plan stops and keeps, and when it comes back
		wantStops, wantKept []string
		wantRequeue         time.Duration
	}{
		"scale in: the unprotected go, in ECS order": {desired: 1, new: "hhP", wantStops: []string{"new0", "new1"}},
		"scale in: protected newest is skipped":      {desired: 2, new: "hhP", wantStops: []string{"new1"}},
		"scale in: all protected, the service waits": {desired: 1, new: "PPP", wantKept: []string{"new1", "new2"}, wantRequeue: 61 * time.Second},
		"scale in to zero waits for the protected":   {desired: 0, new: "hP", wantStops: []string{"new0"}, wantKept: []string{"new1"}, wantRequeue: 61 * time.Second},
		"an expired protection protects nothing":     {desired: 1, new: "hhE", wantStops: []string{"new1", "new2"}},
		"deployment: the protected old task waits":   {desired: 3, old: "hPh", new: "hhh", wantStops: []string{"old0", "old2"}, wantKept: []string{"old1"}, wantRequeue: 61 * time.Second},
		"deployment: nothing protected, all go":      {desired: 3, old: "hhh", new: "hhh", wantStops: []string{"old0", "old1", "old2"}},
		"deletion stops protected tasks too":         {desired: 0, old: "P", new: "PP", deleting: true, wantStops: []string{"new0", "new1", "old0"}},
	} {
		t.Run(name, func(t *testing.T) {
			r := &Reconciler{}
			r.init()
			svc := &ecsv1.Service{ObjectMeta: metav1.ObjectMeta{Name: "web"}, Spec: ecsv1.ServiceSpec{DesiredCount: ptr.To(tc.desired)}}
			at := func(s int64) *metav1.Time { t := metav1.NewTime(time.Unix(s, 0)); return &t }
			st := &ecsv1.ServiceStatus{Deployments: []ecsv1.Deployment{
				{ID: "new", Status: ecsv1.DeploymentPrimary, RolloutState: ecsv1.RolloutInProgress, CreatedAt: at(100)},
				{ID: "old", Status: ecsv1.DeploymentActive, CreatedAt: at(50)}}}
			p := &pass{r: r, svc: svc, st: st, desired: tc.desired, now: now, log: logr.Discard(), deleting: tc.deleting}
			add := func(dep, kinds string) {
				for i, k := range kinds {
					kind := string(k)
					if k == 'P' || k == 'E' {
						kind = "h"
					}
					ti := planTask(fmt.Sprintf("%s%d", dep, i), dep, kind)
					switch k {
					case 'P':
						ti.t.Status.Protection = &ecsv1.TaskProtection{Enabled: true, ExpiresAt: at(260)}
					case 'E':
						ti.t.Status.Protection = &ecsv1.TaskProtection{Enabled: true, ExpiresAt: at(199)}
					}
					p.tasks = append(p.tasks, ti)
				}
			}
			add("old", tc.old)
			add("new", tc.new)
			p.planReplica()
			stops, kept := []string{}, []string{}
			for _, s := range p.stops {
				stops = append(stops, s.ti.t.Name)
			}
			for _, ti := range p.kept {
				kept = append(kept, ti.t.Name)
			}
			slices.Sort(stops)
			slices.Sort(kept)
			if tc.wantStops == nil {
				tc.wantStops = []string{}
			}
			if tc.wantKept == nil {
				tc.wantKept = []string{}
			}
			if diff := cmp.Diff(tc.wantStops, stops); diff != "" {
				t.Errorf("stops (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantKept, kept); diff != "" {
				t.Errorf("kept (-want +got):\n%s", diff)
			}
			if p.requeue != tc.wantRequeue && len(tc.wantKept) > 0 {
				t.Errorf("requeue %s, want %s", p.requeue, tc.wantRequeue)
			}
			if len(tc.wantKept) > 0 {
				note := p.protectionNote()
				want := fmt.Sprintf("(service web) is unable to stop %d task", len(tc.wantKept))
				if len(note) < len(want) || note[:len(want)] != want {
					t.Errorf("note %q, want it to start with %q", note, want)
				}
			}
		})
	}
}
