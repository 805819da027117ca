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

package main

// The verbs of ECS DeregisterTaskDefinition and DeleteTaskDefinitions:
//
//	kubectl ecs deregister-task-definition [--task-definition] FAMILY:REVISION [-n NS]
//	kubectl ecs delete-task-definitions [--task-definitions] FAMILY:REVISION... [-n NS]
//
// Deregistering sets the revision's spec.state to INACTIVE; deleting deletes
// an INACTIVE revision, which the manager holds DELETE_IN_PROGRESS while
// Tasks or Services use it. The cluster enforces both rules (CRD validation
// and config/policy/revision-status.yaml); the verbs say it first, in ECS
// words, and report per revision as ECS does (the others go on when one
// fails; the exit code is 1 if any failed).

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ecsv1 "github.com/longshore-io/longshore/api/v1alpha1"
)

const revisionsUsage = `
  kubectl ecs deregister-task-definition [--task-definition] FAMILY:REVISION [-n NAMESPACE]
      Deregister a revision (ECS DeregisterTaskDefinition): it becomes
      INACTIVE. Its running tasks keep running and the services that use it
      can still scale, but no new task or service may use it. There is no
      way back: register a new revision instead.

  kubectl ecs delete-task-definitions [--task-definitions] FAMILY:REVISION... [-n NAMESPACE]
      Delete INACTIVE revisions (ECS DeleteTaskDefinitions). Each stays
      DELETE_IN_PROGRESS while a task or service uses it, then goes.
      An ARN (arn:aws:ecs:REGION:ACCOUNT:task-definition/FAMILY:REVISION)
      is accepted wherever FAMILY:REVISION is.
`

// revisionVerb carries out one verb on the revisions of namespace ns.
type revisionVerb func(ctx context.Context, c client.Client, ns string, refs []ecsv1.TaskDefinitionRef, stdout io.Writer) error

var revisionVerbs = map[string]struct {
	flag string // the aws CLI's flag for the references
	many bool
	run  revisionVerb
}{
	"deregister-task-definition": {flag: "task-definition", run: deregisterRevisions},
	"delete-task-definitions":    {flag: "task-definitions", many: true, run: deleteRevisions},
}

// runRevisionVerb parses the arguments of a revision verb, connects and
// runs it. newClient is how it connects (tests pass a fake).
func runRevisionVerb(cmd string, args []string, stdout, stderr io.Writer,
	newClient func(kubeconfig, kubeContext string) (client.Client, string, error)) int {
	verb := revisionVerbs[cmd]
	fs := flag.NewFlagSet("kubectl ecs "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	ns := fs.String("n", "", "namespace")
	fs.StringVar(ns, "namespace", "", "namespace")
	kubeconfig := fs.String("kubeconfig", "", "kubeconfig file")
	kubeContext := fs.String("context", "", "kubeconfig context")
	var flagged []string
	fs.Func(verb.flag, "FAMILY:REVISION (or its ARN)", func(v string) error {
		flagged = append(flagged, v)
		return nil
	})
	if err := fs.Parse(args); err != nil {
		return 2
	}
	raw := slices.Concat(flagged, fs.Args())
	// Flags after the references (kubectl's habit): parse what follows.
	for i := 0; i < len(raw); i++ {
		if strings.HasPrefix(raw[i], "-") {
			if err := fs.Parse(raw[i:]); err != nil {
				return 2
			}
			raw = append(raw[:i:i], fs.Args()...)
			i--
		}
	}
	switch {
	case len(raw) == 0:
		_, _ = fmt.Fprintf(stderr, "kubectl ecs %s: give the task definition as FAMILY:REVISION\n", cmd)
		return 2
	case len(raw) > 1 && !verb.many:
		_, _ = fmt.Fprintf(stderr, "kubectl ecs %s: one task definition at a time, got %q (delete-task-definitions takes several)\n", cmd, raw)
		return 2
	}
	refs := make([]ecsv1.TaskDefinitionRef, 0, len(raw))
	for _, s := range raw {
		ref, err := parseRevisionRef(s)
		if err != nil {
			_, _ = fmt.Fprintf(stderr, "kubectl ecs %s: %v\n", cmd, err)
			return 2
		}
		refs = append(refs, ref)
	}
	c, namespace, err := newClient(*kubeconfig, *kubeContext)
	if err != nil {
		_, _ = fmt.Fprintf(stderr, "kubectl ecs %s: %v\n", cmd, err)
		return 1
	}
	if *ns != "" {
		namespace = *ns
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := verb.run(ctx, c, namespace, refs, stdout); err != nil {
		_, _ = fmt.Fprintf(stderr, "kubectl ecs %s: %v\n", cmd, err)
		return 1
	}
	return 0
}

// parseRevisionRef parses FAMILY:REVISION or a task definition ARN; the
// revision is required (ECS: "You must specify a revision").
func parseRevisionRef(s string) (ecsv1.TaskDefinitionRef, error) {
	in := s
	if strings.HasPrefix(s, "arn:") {
		_, after, ok := strings.Cut(s, ":task-definition/")
		if !ok {
			return ecsv1.TaskDefinitionRef{}, fmt.Errorf("%q is not a task definition ARN (arn:aws:ecs:REGION:ACCOUNT:task-definition/FAMILY:REVISION)", in)
		}
		s = after
	}
	if !strings.Contains(s, ":") {
		return ecsv1.TaskDefinitionRef{}, fmt.Errorf("%q names no revision: give FAMILY:REVISION, as ECS requires", in)
	}
	ref, err := ecsv1.ParseTaskDefinitionRef(s)
	if err != nil {
		return ecsv1.TaskDefinitionRef{}, err
	}
	return ref, nil
}

// getRevision reads the revision ref names in ns.
func getRevision(ctx context.Context, c client.Client, ns string, ref ecsv1.TaskDefinitionRef) (*ecsv1.TaskDefinitionRevision, error) {
	rev := &ecsv1.TaskDefinitionRevision{}
	err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: ref.RevisionName()}, rev)
	if apierrors.IsNotFound(err) || err == nil && (rev.Spec.Family != ref.Family || rev.Spec.Revision != ref.Revision) {
		return nil, fmt.Errorf("task definition %s does not exist in namespace %s", ref, ns)
	}
	return rev, err
}

// stillThere: the revision can still be read (held by its finalizer).
func stillThere(ctx context.Context, c client.Client, ns string, ref ecsv1.TaskDefinitionRef) bool {
	_, err := getRevision(ctx, c, ns, ref)
	return err == nil
}

// refused words a refusal of the API server (its message, which names the
// rule) or passes other errors on.
func refused(err error) error {
	var st apierrors.APIStatus
	if errors.As(err, &st) {
		return errors.New(st.Status().Message)
	}
	return err
}

func deregisterRevisions(ctx context.Context, c client.Client, ns string, refs []ecsv1.TaskDefinitionRef, stdout io.Writer) error {
	var errs []error
	for _, ref := range refs {
		if err := deregisterRevision(ctx, c, ns, ref, stdout); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func deregisterRevision(ctx context.Context, c client.Client, ns string, ref ecsv1.TaskDefinitionRef, stdout io.Writer) error {
	rev, err := getRevision(ctx, c, ns, ref)
	if err != nil {
		return err
	}
	switch rev.EffectiveStatus() {
	case ecsv1.RevisionDeleteInProgress:
		return fmt.Errorf("task definition %s is DELETE_IN_PROGRESS: it was deleted already", ref)
	case ecsv1.RevisionInactive:
		_, _ = fmt.Fprintf(stdout, "Task definition %s in namespace %s is already INACTIVE\n", ref, ns)
		return nil
	}
	base := rev.DeepCopy()
	rev.Spec.State = ecsv1.RevisionStateInactive
	if err := c.Patch(ctx, rev, client.MergeFromWithOptions(base, client.MergeFromWithOptimisticLock{})); err != nil {
		return fmt.Errorf("deregistering %s: %w", ref, refused(err))
	}
	_, _ = fmt.Fprintf(stdout, "Deregistered task definition %s in namespace %s: INACTIVE (its running tasks keep running and the services that use it can still scale; no new task or service may use it)\n", ref, ns)
	return nil
}

func deleteRevisions(ctx context.Context, c client.Client, ns string, refs []ecsv1.TaskDefinitionRef, stdout io.Writer) error {
	var errs []error
	for _, ref := range refs {
		if err := deleteRevision(ctx, c, ns, ref, stdout); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func deleteRevision(ctx context.Context, c client.Client, ns string, ref ecsv1.TaskDefinitionRef, stdout io.Writer) error {
	rev, err := getRevision(ctx, c, ns, ref)
	if err != nil {
		return err
	}
	switch rev.EffectiveStatus() {
	case ecsv1.RevisionActive:
		return fmt.Errorf("task definition %s is ACTIVE: only an INACTIVE revision can be deleted; deregister it first (kubectl ecs deregister-task-definition %s)", ref, ref)
	case ecsv1.RevisionDeleteInProgress:
		_, _ = fmt.Fprintf(stdout, "Task definition %s in namespace %s is already DELETE_IN_PROGRESS: it goes when no task or service uses it\n", ref, ns)
		return nil
	}
	if err := c.Delete(ctx, rev, client.Preconditions{UID: &rev.UID}); err != nil {
		if apierrors.IsNotFound(err) {
			_, _ = fmt.Fprintf(stdout, "Deleted task definition %s in namespace %s\n", ref, ns)
			return nil
		}
		return fmt.Errorf("deleting %s: %w", ref, refused(err))
	}
	if !stillThere(ctx, c, ns, ref) {
		_, _ = fmt.Fprintf(stdout, "Deleted task definition %s in namespace %s\n", ref, ns)
		return nil
	}
	_, _ = fmt.Fprintf(stdout, "Task definition %s in namespace %s is DELETE_IN_PROGRESS: it goes when no task or service uses it (kubectl describe tdrev %s)\n",
		ref, ns, ref.RevisionName())
	return nil
}

// kubeClient connects as kubectl would (--kubeconfig, --context, the
// context's namespace).
func kubeClient(kubeconfig, kubeContext string) (client.Client, string, error) {
	loader := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(
		&clientcmd.ClientConfigLoadingRules{ExplicitPath: kubeconfig, Precedence: clientcmd.NewDefaultClientConfigLoadingRules().Precedence},
		&clientcmd.ConfigOverrides{CurrentContext: kubeContext})
	namespace, _, err := loader.Namespace()
	if err != nil || namespace == "" {
		namespace = "default"
	}
	cfg, err := loader.ClientConfig()
	if err != nil {
		return nil, "", err
	}
	cfg = rest.CopyConfig(cfg)
	scheme := runtime.NewScheme()
	if err := ecsv1.AddToScheme(scheme); err != nil {
		return nil, "", err
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	return c, namespace, err
}
