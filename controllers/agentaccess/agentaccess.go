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

// Package agentaccess keeps each agent's reads confined to what its tasks
// use: in every namespace where Tasks bound to a ContainerInstance (and not
// STOPPED) reference Secrets or ConfigMaps, a Role longshore-agent:<instance>
// that grants get on exactly those names, and a RoleBinding of the same
// name to the instance's agent identities. A task that stops, is deleted
// or goes to another instance takes its names away; an instance that goes
// takes its Roles and RoleBindings (they are also owned by it, for the
// garbage collector). This is the kubelet's Node authorizer made of RBAC:
// the agent's ClusterRole grants no Secret or ConfigMap at all.
//
// The manager grants reads it does not hold itself (RBAC verbs escalate and
// bind on Roles); config/policy/agent-access.yaml confines those writes to
// this shape.
package agentaccess

import (
	"context"
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/labels"
	metav1ac "k8s.io/client-go/applyconfigurations/meta/v1"
	rbacv1ac "k8s.io/client-go/applyconfigurations/rbac/v1"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	ecsv1 "github.com/longshore-io/longshore/api/v1alpha1"
	"github.com/longshore-io/longshore/controllers/cluster"
)

// RBAC of this controller (config/rbac/manager/role.yaml): escalate to
// create Roles with reads the manager does not have, bind to bind them.
//
// +kubebuilder:rbac:groups=rbac.authorization.k8s.io,resources=roles,verbs=get;list;watch;create;update;patch;delete;escalate;bind
// +kubebuilder:rbac:groups=rbac.authorization.k8s.io,resources=rolebindings,verbs=get;list;watch;create;update;patch;delete

const (
	// FieldOwner is the server-side apply field manager of the Roles and
	// RoleBindings: the only writer of them.
	FieldOwner = "longshore-manager-agentaccess"
	// LabelAgentAccess marks them; the manager caches only those.
	LabelAgentAccess = "ecs.longshore.io/agent-access"
	// IndexInstance indexes them by the instance whose agent they are for.
	IndexInstance = "ecs.longshore.io/agent-access-instance"
)

// CacheByObject restricts the manager's cache of Roles and RoleBindings to
// the ones this controller writes.
func CacheByObject() map[client.Object]cache.ByObject {
	sel := labels.SelectorFromSet(labels.Set{LabelAgentAccess: "true"})
	return map[client.Object]cache.ByObject{
		&rbacv1.Role{}:        {Label: sel},
		&rbacv1.RoleBinding{}: {Label: sel},
	}
}

// SetupIndexes registers the indexes of Roles and RoleBindings by
// instance. The controller also uses cluster.IndexTaskInstance
// (cluster.SetupIndexes).
func SetupIndexes(ctx context.Context, mgr ctrl.Manager) error {
	byInstance := func(o client.Object) []string {
		if i := ecsv1.AgentAccessInstance(o.GetName()); i != "" {
			return []string{i}
		}
		return nil
	}
	if err := mgr.GetFieldIndexer().IndexField(ctx, &rbacv1.Role{}, IndexInstance, byInstance); err != nil {
		return err
	}
	return mgr.GetFieldIndexer().IndexField(ctx, &rbacv1.RoleBinding{}, IndexInstance, byInstance)
}

// Reconciler keeps the Roles and RoleBindings of one instance.
type Reconciler struct {
	Client client.Client
	// MaxConcurrentReconciles bounds how many instances reconcile at once.
	MaxConcurrentReconciles int
}

// SetupWithManager registers the reconciler: an instance is reconciled
// when it, one of its Tasks, or one of its Roles or RoleBindings changes.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).
		Named("agentaccess").
		For(&ecsv1.ContainerInstance{}).
		Watches(&ecsv1.Task{}, handler.EnqueueRequestsFromMapFunc(func(_ context.Context, o client.Object) []reconcile.Request {
			if i := o.(*ecsv1.Task).Spec.ContainerInstance; i != "" {
				return []reconcile.Request{{NamespacedName: client.ObjectKey{Name: i}}}
			}
			return nil
		}), builder.WithPredicates(predicate.Funcs{UpdateFunc: func(e event.UpdateEvent) bool {
			return !grantsAlike(e.ObjectOld.(*ecsv1.Task), e.ObjectNew.(*ecsv1.Task))
		}})).
		Watches(&rbacv1.Role{}, handler.EnqueueRequestsFromMapFunc(toInstance)).
		Watches(&rbacv1.RoleBinding{}, handler.EnqueueRequestsFromMapFunc(toInstance)).
		WithOptions(controller.Options{MaxConcurrentReconciles: max(r.MaxConcurrentReconciles, 1)}).
		Complete(r)
}

func toInstance(_ context.Context, o client.Object) []reconcile.Request {
	if i := ecsv1.AgentAccessInstance(o.GetName()); i != "" {
		return []reconcile.Request{{NamespacedName: client.ObjectKey{Name: i}}}
	}
	return nil
}

// grantsAlike tells whether two versions of a task ask the same of their
// instance's grants: the same instance, revision and whether it is STOPPED
// (a task's status changes many times, its grants at most twice).
func grantsAlike(a, b *ecsv1.Task) bool {
	return a.Spec.ContainerInstance == b.Spec.ContainerInstance && revisionName(a) == revisionName(b) &&
		(a.Status.LastStatus == ecsv1.TaskStopped) == (b.Status.LastStatus == ecsv1.TaskStopped)
}

// grant is what one instance's agent may read in one namespace.
type grant struct{ secrets, configMaps []string }

// Reconcile implements reconcile.Reconciler.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	instance := req.Name
	ci := &ecsv1.ContainerInstance{}
	if err := r.Client.Get(ctx, req.NamespacedName, ci); err != nil {
		if !apierrors.IsNotFound(err) {
			return ctrl.Result{}, err
		}
		ci = nil
	}
	want := map[string]*grant{}
	if ci != nil && ci.DeletionTimestamp.IsZero() {
		var err error
		if want, err = r.grants(ctx, instance); err != nil {
			return ctrl.Result{}, err
		}
	}
	var roles rbacv1.RoleList
	if err := r.Client.List(ctx, &roles, client.MatchingFields{IndexInstance: instance}); err != nil {
		return ctrl.Result{}, err
	}
	var bindings rbacv1.RoleBindingList
	if err := r.Client.List(ctx, &bindings, client.MatchingFields{IndexInstance: instance}); err != nil {
		return ctrl.Result{}, err
	}

	// Revoke first: a RoleBinding, then its Role.
	for i := range bindings.Items {
		b := &bindings.Items[i]
		if want[b.Namespace] == nil {
			if err := r.delete(ctx, b, "RoleBinding", instance); err != nil {
				return ctrl.Result{}, err
			}
		}
	}
	for i := range roles.Items {
		role := &roles.Items[i]
		if want[role.Namespace] == nil {
			if err := r.delete(ctx, role, "Role", instance); err != nil {
				return ctrl.Result{}, err
			}
		}
	}
	// Grant: a Role, then its RoleBinding.
	namespaces := make([]string, 0, len(want))
	for ns := range want {
		namespaces = append(namespaces, ns)
	}
	slices.Sort(namespaces)
	for _, ns := range namespaces {
		err := r.applyRole(ctx, ci, ns, want[ns], find(roles.Items, ns))
		if err == nil {
			err = r.applyBinding(ctx, ci, ns, findBinding(bindings.Items, ns))
		}
		if apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause) {
			// Its tasks go with the namespace, and they read nothing to stop.
			continue
		}
		if err != nil {
			return ctrl.Result{}, err
		}
	}
	return ctrl.Result{}, nil
}

// grants collects, per namespace, what the instance's tasks that are not
// STOPPED reference (their revisions are immutable).
func (r *Reconciler) grants(ctx context.Context, instance string) (map[string]*grant, error) {
	// Read only: no copy of the instance's tasks and their revisions on
	// each pass.
	var tasks ecsv1.TaskList
	if err := r.Client.List(ctx, &tasks, client.MatchingFields{cluster.IndexTaskInstance: instance}, client.UnsafeDisableDeepCopy); err != nil {
		return nil, err
	}
	want := map[string]*grant{}
	for i := range tasks.Items {
		t := &tasks.Items[i]
		if t.Status.LastStatus == ecsv1.TaskStopped {
			continue
		}
		name := revisionName(t)
		if name == "" {
			continue // the manager has not resolved it yet: the agent waits too
		}
		rev := &ecsv1.TaskDefinitionRevision{}
		if err := r.Client.Get(ctx, client.ObjectKey{Namespace: t.Namespace, Name: name}, rev, client.UnsafeDisableDeepCopy); err != nil {
			if apierrors.IsNotFound(err) {
				continue // the agent fails the task for it
			}
			return nil, err
		}
		secrets, configMaps := rev.Spec.TaskDefinition.References()
		if len(secrets) == 0 && len(configMaps) == 0 {
			continue
		}
		g := want[t.Namespace]
		if g == nil {
			g = &grant{}
			want[t.Namespace] = g
		}
		g.secrets = append(g.secrets, secrets...)
		g.configMaps = append(g.configMaps, configMaps...)
	}
	for _, g := range want {
		slices.Sort(g.secrets)
		g.secrets = slices.Compact(g.secrets)
		slices.Sort(g.configMaps)
		g.configMaps = slices.Compact(g.configMaps)
	}
	return want, nil
}

// revisionName is the TaskDefinitionRevision the agent runs the task from:
// the one the manager resolved, else the one spec.taskDefinition pins.
func revisionName(t *ecsv1.Task) string {
	ref := t.Status.TaskDefinitionRevision
	if ref == "" {
		ref = t.Spec.TaskDefinition
	}
	parsed, err := ecsv1.ParseTaskDefinitionRef(ref)
	if err != nil {
		return ""
	}
	return parsed.RevisionName()
}

// rules are the Role's rules for g: one per resource, never one without
// resourceNames (which would grant every name).
func rules(g *grant) []rbacv1.PolicyRule {
	var out []rbacv1.PolicyRule
	if len(g.secrets) > 0 {
		out = append(out, rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"get"}, ResourceNames: g.secrets})
	}
	if len(g.configMaps) > 0 {
		out = append(out, rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"get"}, ResourceNames: g.configMaps})
	}
	return out
}

// subjects are the identities of the instance's agent: its certificate
// user and its per-node ServiceAccount.
func subjects(instance string) []rbacv1.Subject {
	return []rbacv1.Subject{
		{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: ecsv1.AgentUserName(instance)},
		{Kind: rbacv1.ServiceAccountKind, Namespace: ecsv1.AgentIdentityNamespace, Name: instance},
	}
}

// ownedBy tells whether o is owned by ci alone (by UID: an instance
// deleted and registered again is another owner).
func ownedBy(ci *ecsv1.ContainerInstance, o client.Object) bool {
	refs := o.GetOwnerReferences()
	return len(refs) == 1 && refs[0].UID == ci.UID
}

func ownerRef(ci *ecsv1.ContainerInstance) *metav1ac.OwnerReferenceApplyConfiguration {
	return metav1ac.OwnerReference().WithAPIVersion(ecsv1.GroupVersion.String()).WithKind("ContainerInstance").
		WithName(ci.Name).WithUID(ci.UID).WithController(true)
}

func (r *Reconciler) applyRole(ctx context.Context, ci *ecsv1.ContainerInstance, ns string, g *grant, have *rbacv1.Role) error {
	want := rules(g)
	if have != nil && apiequality.Semantic.DeepEqual(have.Rules, want) && ownedBy(ci, have) {
		return nil
	}
	name := ecsv1.AgentAccessName(ci.Name)
	ac := rbacv1ac.Role(name, ns).WithLabels(map[string]string{LabelAgentAccess: "true"}).WithOwnerReferences(ownerRef(ci))
	for _, rule := range want {
		ac.WithRules(rbacv1ac.PolicyRule().WithAPIGroups(rule.APIGroups...).WithResources(rule.Resources...).
			WithVerbs(rule.Verbs...).WithResourceNames(rule.ResourceNames...))
	}
	ctrl.LoggerFrom(ctx).Info("Granting the agent its tasks' Secrets and ConfigMaps", "instance", ci.Name, "namespace", ns,
		"secrets", g.secrets, "configMaps", g.configMaps)
	if err := r.Client.Apply(ctx, ac, client.FieldOwner(FieldOwner), client.ForceOwnership); err != nil {
		return fmt.Errorf("applying Role %s/%s: %w", ns, name, err)
	}
	return nil
}

func (r *Reconciler) applyBinding(ctx context.Context, ci *ecsv1.ContainerInstance, ns string, have *rbacv1.RoleBinding) error {
	name := ecsv1.AgentAccessName(ci.Name)
	want := subjects(ci.Name)
	if have != nil && apiequality.Semantic.DeepEqual(have.Subjects, want) && have.RoleRef.Kind == "Role" &&
		have.RoleRef.Name == name && ownedBy(ci, have) {
		return nil
	}
	ac := rbacv1ac.RoleBinding(name, ns).WithLabels(map[string]string{LabelAgentAccess: "true"}).WithOwnerReferences(ownerRef(ci)).
		WithRoleRef(rbacv1ac.RoleRef().WithAPIGroup(rbacv1.GroupName).WithKind("Role").WithName(name))
	for _, s := range want {
		sub := rbacv1ac.Subject().WithKind(s.Kind).WithName(s.Name)
		if s.APIGroup != "" {
			sub.WithAPIGroup(s.APIGroup)
		}
		if s.Namespace != "" {
			sub.WithNamespace(s.Namespace)
		}
		ac.WithSubjects(sub)
	}
	if err := r.Client.Apply(ctx, ac, client.FieldOwner(FieldOwner), client.ForceOwnership); err != nil {
		return fmt.Errorf("applying RoleBinding %s/%s: %w", ns, name, err)
	}
	return nil
}

func (r *Reconciler) delete(ctx context.Context, o client.Object, kind, instance string) error {
	ctrl.LoggerFrom(ctx).Info("Revoking the agent's reads: no task bound to it here needs them",
		"instance", instance, "kind", kind, "namespace", o.GetNamespace())
	if err := r.Client.Delete(ctx, o, client.Preconditions{UID: ptr.To(o.GetUID())}); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("deleting %s %s/%s: %w", kind, o.GetNamespace(), o.GetName(), err)
	}
	return nil
}

func find(roles []rbacv1.Role, ns string) *rbacv1.Role {
	for i := range roles {
		if roles[i].Namespace == ns {
			return &roles[i]
		}
	}
	return nil
}

func findBinding(bindings []rbacv1.RoleBinding, ns string) *rbacv1.RoleBinding {
	for i := range bindings {
		if bindings[i].Namespace == ns {
			return &bindings[i]
		}
	}
	return nil
}
