//go:build e2e

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

package e2e

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	kstatus "sigs.k8s.io/cli-utils/pkg/kstatus/status"

	"github.com/longshore-io/longshore/internal/argocdhealth"
	"github.com/longshore-io/longshore/test/integration/framework"
)

// testGitOpsHealth runs after testSamples: every object of config/samples,
// as the API server serves it, is Current to kstatus (what Flux waits
// for) and Healthy to the Argo CD health checks of config/argocd.
func testGitOpsHealth(t *testing.T) {
	objs, err := framework.SampleObjects()
	if err != nil {
		t.Fatal(err)
	}
	d := framework.Eventually(t, 2*time.Minute, "every sample Current and Healthy", func() error {
		var notYet []string
		for _, o := range objs {
			ref := o.DeepCopy()
			namespaced, err := sys.c.IsObjectNamespaced(ref)
			if err != nil {
				return err
			}
			if namespaced && ref.GetNamespace() == "" {
				ref.SetNamespace("default")
			}
			_, h, err := framework.LiveHealth(context.Background(), sys.c, ref)
			var dis *framework.DisagreementError
			if errors.As(err, &dis) {
				t.Fatal(err)
			}
			if err != nil {
				return err
			}
			if h.Kstatus != kstatus.CurrentStatus || (h.ArgoCD.Status != "" && h.ArgoCD.Status != argocdhealth.Healthy) {
				notYet = append(notYet, fmt.Sprintf("%s %s: %s", ref.GetKind(), ref.GetName(), h))
			}
		}
		if len(notYet) > 0 {
			return fmt.Errorf("not yet:\n  %s", strings.Join(notYet, "\n  "))
		}
		return nil
	})
	addReport("samples → kstatus Current and Argo CD Healthy (%d objects): %.1f s after the samples answered", len(objs), d.Seconds())
}
