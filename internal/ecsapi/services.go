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

package ecsapi

import (
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ecsv1 "github.com/longshore-io/longshore/api/v1alpha1"
	"github.com/longshore-io/longshore/internal/inactive"
)

// maxServiceEvents is how many of a service's newest events
// DescribeServices returns (ECS returns up to 100).
const maxServiceEvents = 100

// tdArn is the ARN of "family:n", or of the family when no revision is
// known yet.
func (s *Server) tdArn(ref string) *string {
	if ref == "" {
		return nil
	}
	family, rev, _ := strings.Cut(ref, ":")
	if rev == "" {
		return aws.String(strings.TrimSuffix(s.o.ARN.TaskDefinition(family, 0), ":0"))
	}
	return aws.String(s.o.ARN.TaskDefinition(family, parseRevision(rev)))
}

// serviceOf is the ECS view of a Service; events, when not nil, are its
// Kubernetes Events (newest first).
func (s *Server) serviceOf(svc *ecsv1.Service, withTags bool, events []types.ServiceEvent) (types.Service, *Error) {
	cluster := ecsv1.ClusterName(svc.Spec.Cluster)
	status := "ACTIVE"
	if !svc.DeletionTimestamp.IsZero() {
		status = "DRAINING"
	}
	strategy := svc.Spec.SchedulingStrategy
	if strategy == "" {
		strategy = ecsv1.SchedulingReplica
	}
	td := svc.Status.TaskDefinition
	if td == "" {
		td = svc.Spec.TaskDefinition
	}
	out := types.Service{
		ServiceArn:                    aws.String(s.o.ARN.Service(cluster, svc.Name)),
		ServiceName:                   aws.String(svc.Name),
		ClusterArn:                    aws.String(s.o.ARN.Cluster(cluster)),
		Status:                        aws.String(status),
		DesiredCount:                  svc.Status.DesiredCount,
		RunningCount:                  svc.Status.RunningCount,
		PendingCount:                  svc.Status.PendingCount,
		TaskDefinition:                s.tdArn(td),
		LaunchType:                    types.LaunchTypeEc2,
		SchedulingStrategy:            types.SchedulingStrategy(strategy),
		CreatedAt:                     aws.Time(svc.CreationTimestamp.Time),
		HealthCheckGracePeriodSeconds: svc.Spec.HealthCheckGracePeriodSeconds,
		DeploymentController:          &types.DeploymentController{Type: types.DeploymentControllerTypeEcs},
		Deployments:                   []types.Deployment{},
		Events:                        events,
		PlacementConstraints:          []types.PlacementConstraint{},
		PlacementStrategy:             []types.PlacementStrategy{},
		LoadBalancers:                 []types.LoadBalancer{},
		ServiceRegistries:             []types.ServiceRegistry{},
	}
	if svc.Spec.DesiredCount != nil && svc.Status.ObservedGeneration < svc.Generation {
		out.DesiredCount = *svc.Spec.DesiredCount // what was just asked, before the manager reports it
	}
	if out.Events == nil {
		out.Events = []types.ServiceEvent{}
	}
	dc := svc.Spec.DeploymentConfiguration
	out.DeploymentConfiguration = &types.DeploymentConfiguration{MinimumHealthyPercent: dc.MinimumHealthyPercent, MaximumPercent: dc.MaximumPercent}
	if cb := dc.DeploymentCircuitBreaker; cb != nil {
		out.DeploymentConfiguration.DeploymentCircuitBreaker = &types.DeploymentCircuitBreaker{Enable: cb.Enable, Rollback: cb.Rollback}
	}
	for _, pc := range svc.Spec.PlacementConstraints {
		v := types.PlacementConstraint{Type: types.PlacementConstraintType(pc.Type)}
		if pc.Expression != "" {
			v.Expression = aws.String(pc.Expression)
		}
		out.PlacementConstraints = append(out.PlacementConstraints, v)
	}
	for _, ps := range svc.Spec.PlacementStrategy {
		v := types.PlacementStrategy{Type: types.PlacementStrategyType(ps.Type)}
		if ps.Field != "" {
			v.Field = aws.String(ps.Field)
		}
		out.PlacementStrategy = append(out.PlacementStrategy, v)
	}
	for _, d := range svc.Status.Deployments {
		if d.Status == ecsv1.DeploymentInactive {
			continue // ECS lists the PRIMARY and ACTIVE deployments
		}
		v := types.Deployment{
			Id: aws.String(d.ID), Status: aws.String(string(d.Status)), TaskDefinition: s.tdArn(d.TaskDefinition),
			DesiredCount: d.DesiredCount, PendingCount: d.PendingCount, RunningCount: d.RunningCount, FailedTasks: d.FailedTasks,
			RolloutState: types.DeploymentRolloutState(d.RolloutState), LaunchType: types.LaunchTypeEc2,
		}
		if d.RolloutStateReason != "" {
			v.RolloutStateReason = aws.String(d.RolloutStateReason)
		}
		if d.CreatedAt != nil {
			v.CreatedAt = aws.Time(d.CreatedAt.Time)
		}
		if d.UpdatedAt != nil {
			v.UpdatedAt = aws.Time(d.UpdatedAt.Time)
		}
		out.Deployments = append(out.Deployments, v)
	}
	if withTags {
		tags, err := readTags(svc.Annotations)
		if err != nil {
			return out, serverError("service %s: %v", svc.Name, err)
		}
		out.Tags = tags
		if out.Tags == nil {
			out.Tags = []types.Tag{}
		}
	}
	return out, nil
}

// serviceEvents are the Kubernetes Events of a Service, newest first, as
// ECS service events. An identity that may not list Events gets none
// (logged).
func (s *Server) serviceEvents(c *call, svc *ecsv1.Service) []types.ServiceEvent {
	var list corev1.EventList
	if err := c.c.List(c.ctx, &list, client.InNamespace(c.ns), client.MatchingFields{"involvedObject.name": svc.Name, "involvedObject.kind": "Service"}); err != nil {
		c.log.V(1).Info("Leaving out a service's events", "service", svc.Name, "reason", err.Error())
		return []types.ServiceEvent{}
	}
	type ev struct {
		at time.Time
		e  types.ServiceEvent
	}
	var evs []ev
	for _, e := range list.Items {
		if e.InvolvedObject.UID != svc.UID {
			continue
		}
		at := e.EventTime.Time
		if at.IsZero() {
			at = e.LastTimestamp.Time
		}
		if at.IsZero() {
			at = e.CreationTimestamp.Time
		}
		evs = append(evs, ev{at, types.ServiceEvent{Id: aws.String(string(e.UID)), CreatedAt: aws.Time(at), Message: aws.String(e.Message)}})
	}
	slices.SortFunc(evs, func(a, b ev) int { return b.at.Compare(a.at) })
	out := make([]types.ServiceEvent, 0, min(len(evs), maxServiceEvents))
	for _, e := range evs[:min(len(evs), maxServiceEvents)] {
		out = append(out, e.e)
	}
	return out
}

// serviceName is the Service a name or service ARN names in cluster.
func (s *Server) serviceName(ref, cluster string) (string, *Error) {
	kind, rest, isARN, e := s.parseARN(ref)
	if e != nil {
		return "", e
	}
	name := ref
	if isARN {
		cl, n, ok := strings.Cut(rest, "/")
		if kind != "service" || !ok {
			return "", invalidParameter("%q is not a service ARN (%s)", ref, s.o.ARN.Service("<cluster>", "<name>"))
		}
		if cl != cluster {
			return "", invalidParameter("service %q is of cluster %s, not %s", ref, cl, cluster)
		}
		name = n
	}
	if errs := validation.IsDNS1123Label(name); len(errs) > 0 {
		return "", invalidParameter("service name %q: Longshore's service names are Kubernetes object names and label values: %s", name, strings.Join(errs, "; "))
	}
	return name, nil
}

// getService reads the Service name of cluster in the key's namespace;
// nil when there is none (or it is of another cluster).
// lookupService resolves the cluster and service references of a call on
// one service: the cluster must exist, the service be named; svc is nil
// when no live Service of that name is in the cluster.
func (s *Server) lookupService(c *call, clusterRef, serviceRef *string) (cluster, name string, svc *ecsv1.Service, e *Error) {
	if cluster, e = s.requireCluster(c, aws.ToString(clusterRef)); e != nil {
		return "", "", nil, e
	}
	if aws.ToString(serviceRef) == "" {
		return "", "", nil, invalidParameter("service is required")
	}
	if name, e = s.serviceName(aws.ToString(serviceRef), cluster); e != nil {
		return "", "", nil, e
	}
	svc, e = s.getService(c, name, cluster)
	return cluster, name, svc, e
}

func (s *Server) getService(c *call, name, cluster string) (*ecsv1.Service, *Error) {
	svc := &ecsv1.Service{}
	if err := c.c.Get(c.ctx, client.ObjectKey{Namespace: c.ns, Name: name}, svc); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, nil
		}
		return nil, kubeError(err, "reading service "+name)
	}
	if ecsv1.ClusterName(svc.Spec.Cluster) != cluster {
		return nil, nil
	}
	return svc, nil
}

func deploymentConfiguration(dc *types.DeploymentConfiguration) (ecsv1.DeploymentConfiguration, *Error) {
	var out ecsv1.DeploymentConfiguration
	if dc == nil {
		return out, nil
	}
	switch {
	case dc.Alarms != nil && dc.Alarms.Enable:
		return out, invalidParameter("deploymentConfiguration.alarms: Longshore has no CloudWatch alarms")
	case dc.Strategy != "" && dc.Strategy != types.DeploymentStrategyRolling:
		return out, invalidParameter("deploymentConfiguration.strategy %s: Longshore deploys ROLLING only", dc.Strategy)
	case dc.BakeTimeInMinutes != nil:
		return out, invalidParameter("deploymentConfiguration.bakeTimeInMinutes: Longshore has no blue/green bake time")
	case len(dc.LifecycleHooks) > 0:
		return out, invalidParameter("deploymentConfiguration.lifecycleHooks: Longshore has no deployment lifecycle hooks")
	}
	out.MinimumHealthyPercent, out.MaximumPercent = dc.MinimumHealthyPercent, dc.MaximumPercent
	if cb := dc.DeploymentCircuitBreaker; cb != nil {
		out.DeploymentCircuitBreaker = &ecsv1.DeploymentCircuitBreaker{Enable: cb.Enable, Rollback: cb.Rollback}
	}
	return out, nil
}

// serviceFieldsRefused names the CreateService/UpdateService members
// Longshore cannot honour.
func serviceFieldsRefused(launchType types.LaunchType, capacity []types.CapacityProviderStrategyItem, lbs []types.LoadBalancer,
	registries []types.ServiceRegistry, platform *string, connect *types.ServiceConnectConfiguration, volumes []types.ServiceVolumeConfiguration,
	lattice []types.VpcLatticeConfiguration, managedTags *bool, propagate types.PropagateTags, nc *types.NetworkConfiguration) *Error {
	switch {
	case launchType != "" && launchType != types.LaunchTypeEc2:
		return invalidParameter("launchType %s: Longshore runs tasks on its container instances: EC2 is the only launch type", launchType)
	case len(capacity) > 0:
		return invalidParameter("capacityProviderStrategy: Longshore has no capacity providers")
	case len(lbs) > 0:
		return invalidParameter("loadBalancers: Longshore has no Elastic Load Balancing integration (yet)")
	case len(registries) > 0:
		return invalidParameter("serviceRegistries: Longshore has no Cloud Map integration")
	case platform != nil:
		return invalidParameter("platformVersion: a Fargate setting; Longshore has no Fargate")
	case connect != nil && connect.Enabled:
		return invalidParameter("serviceConnectConfiguration: Longshore has no Service Connect")
	case len(volumes) > 0:
		return invalidParameter("volumeConfigurations: Longshore has no EBS volumes")
	case len(lattice) > 0:
		return invalidParameter("vpcLatticeConfigurations: Longshore has no VPC Lattice")
	case managedTags != nil && *managedTags:
		return invalidParameter("enableECSManagedTags: Longshore does not add ECS managed tags (yet)")
	case propagate != "" && propagate != types.PropagateTagsNone:
		return invalidParameter("propagateTags %s: not supported by Longshore's services (yet)", propagate)
	case nc != nil && nc.AwsvpcConfiguration != nil && nc.AwsvpcConfiguration.AssignPublicIp == types.AssignPublicIpEnabled:
		return invalidParameter("networkConfiguration.awsvpcConfiguration.assignPublicIp ENABLED: Longshore task addresses come from the cluster's taskNetwork, none is public")
	}
	return nil
}

func placement(pcs []types.PlacementConstraint, pss []types.PlacementStrategy) ([]ecsv1.PlacementConstraint, []ecsv1.PlacementStrategy) {
	var c []ecsv1.PlacementConstraint
	for _, pc := range pcs {
		c = append(c, ecsv1.PlacementConstraint{Type: ecsv1.PlacementConstraintType(pc.Type), Expression: aws.ToString(pc.Expression)})
	}
	var st []ecsv1.PlacementStrategy
	for _, ps := range pss {
		st = append(st, ecsv1.PlacementStrategy{Type: ecsv1.PlacementStrategyType(ps.Type), Field: aws.ToString(ps.Field)})
	}
	return c, st
}

func (s *Server) createService(c *call, body []byte) (any, *Error) {
	var in ecs.CreateServiceInput
	if e := decode(body, &in); e != nil {
		return nil, e
	}
	managed := in.EnableECSManagedTags
	if e := serviceFieldsRefused(in.LaunchType, in.CapacityProviderStrategy, in.LoadBalancers, in.ServiceRegistries, in.PlatformVersion,
		in.ServiceConnectConfiguration, in.VolumeConfigurations, in.VpcLatticeConfigurations, &managed, in.PropagateTags, in.NetworkConfiguration); e != nil {
		return nil, e
	}
	switch {
	case in.DeploymentController != nil && in.DeploymentController.Type != types.DeploymentControllerTypeEcs:
		return nil, invalidParameter("deploymentController %s: Longshore's services are deployed by Longshore (ECS type) only", in.DeploymentController.Type)
	case in.Role != nil:
		return nil, invalidParameter("role: Longshore has no IAM roles (the role is for load balancers, which it has none of)")
	case in.AvailabilityZoneRebalancing == types.AvailabilityZoneRebalancingEnabled:
		return nil, invalidParameter("availabilityZoneRebalancing ENABLED: not supported by Longshore (spread tasks with placementStrategy spread attribute:ecs.availability-zone)")
	}
	if aws.ToString(in.ServiceName) == "" {
		return nil, invalidParameter("serviceName is required")
	}
	if e := validateTags(in.Tags); e != nil {
		return nil, e
	}
	cluster, e := s.requireCluster(c, aws.ToString(in.Cluster))
	if e != nil {
		return nil, e
	}
	name, e := s.serviceName(aws.ToString(in.ServiceName), cluster)
	if e != nil {
		return nil, e
	}
	if aws.ToString(in.TaskDefinition) == "" {
		return nil, invalidParameter("taskDefinition is required")
	}
	ref, e := s.taskDefinitionRef(aws.ToString(in.TaskDefinition))
	if e != nil {
		return nil, e
	}
	rev, e := s.findRevision(c, ref)
	if e != nil {
		return nil, e
	}
	if rev == nil {
		return nil, clientError("TaskDefinition not found: %s has no %s in namespace %s", ref, map[bool]string{true: "such revision", false: "ACTIVE revision"}[ref.Revision > 0], c.ns)
	}
	dc, e := deploymentConfiguration(in.DeploymentConfiguration)
	if e != nil {
		return nil, e
	}
	spec := ecsv1.ServiceSpec{Cluster: cluster, TaskDefinition: ref.String(), SchedulingStrategy: ecsv1.SchedulingStrategy(in.SchedulingStrategy),
		DeploymentConfiguration: dc, HealthCheckGracePeriodSeconds: in.HealthCheckGracePeriodSeconds}
	spec.PlacementConstraints, spec.PlacementStrategy = placement(in.PlacementConstraints, in.PlacementStrategy)
	if spec.SchedulingStrategy == "" {
		spec.SchedulingStrategy = ecsv1.SchedulingReplica
	}
	if spec.SchedulingStrategy == ecsv1.SchedulingReplica {
		n := int32(0)
		if in.DesiredCount != nil {
			n = *in.DesiredCount
		}
		spec.DesiredCount = &n
	} else if in.DesiredCount != nil {
		return nil, invalidParameter("desiredCount: a DAEMON service runs one task per instance and takes none")
	}
	svc := &ecsv1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: c.ns, Name: name}, Spec: spec}
	if len(in.Tags) > 0 {
		svc.Annotations = writeTags(nil, in.Tags)
	}
	c.log.Info("Creating service", "service", name, "cluster", cluster, "taskDefinition", ref.String())
	if err := c.c.Create(c.ctx, svc); err != nil {
		if !apierrors.IsAlreadyExists(err) {
			return nil, kubeError(err, "creating service "+name)
		}
		have := &ecsv1.Service{}
		if err := c.c.Get(c.ctx, client.ObjectKeyFromObject(svc), have); err != nil {
			return nil, kubeError(err, "reading service "+name)
		}
		// As ECS: the same request again returns the service; another
		// one is refused.
		if !have.DeletionTimestamp.IsZero() || !apiequality.Semantic.DeepDerivative(spec, have.Spec) {
			return nil, invalidParameter("Creation of service was not idempotent: service %s exists in cluster %s with another definition (UpdateService changes it)", name, ecsv1.ClusterName(have.Spec.Cluster))
		}
		svc = have
	}
	out, e := s.serviceOf(svc, true, nil)
	if e != nil {
		return nil, e
	}
	return &ecs.CreateServiceOutput{Service: &out}, nil
}

func (s *Server) describeServices(c *call, body []byte) (any, *Error) {
	var in ecs.DescribeServicesInput
	if e := decode(body, &in); e != nil {
		return nil, e
	}
	if len(in.Services) == 0 || len(in.Services) > 10 {
		return nil, invalidParameter("services: give 1 to 10, not %d", len(in.Services))
	}
	withTags := false
	for _, f := range in.Include {
		if f != types.ServiceFieldTags {
			return nil, invalidParameter("include %q: want TAGS", f)
		}
		withTags = true
	}
	cluster, e := s.requireCluster(c, aws.ToString(in.Cluster))
	if e != nil {
		return nil, e
	}
	out := &ecs.DescribeServicesOutput{Services: []types.Service{}, Failures: []types.Failure{}}
	var recs inactiveRecords
	for _, ref := range in.Services {
		name, e := s.serviceName(ref, cluster)
		if e != nil {
			return nil, e
		}
		svc, e := s.getService(c, name, cluster)
		if e != nil {
			return nil, e
		}
		if svc == nil {
			// Deleted and drained: INACTIVE while the manager's record
			// lasts (a live Service of the name, re-created, wins).
			rec, e := s.inactiveService(c, &recs, name, cluster)
			if e != nil {
				return nil, e
			}
			if rec != nil {
				out.Services = append(out.Services, s.inactiveServiceOf(name, rec, withTags))
				continue
			}
			out.Failures = append(out.Failures, types.Failure{Arn: aws.String(s.o.ARN.Service(cluster, name)), Reason: aws.String("MISSING")})
			continue
		}
		v, e := s.serviceOf(svc, withTags, s.serviceEvents(c, svc))
		if e != nil {
			return nil, e
		}
		out.Services = append(out.Services, v)
	}
	return out, nil
}

func (s *Server) listServices(c *call, body []byte) (any, *Error) {
	var in ecs.ListServicesInput
	if e := decode(body, &in); e != nil {
		return nil, e
	}
	if in.LaunchType != "" && in.LaunchType != types.LaunchTypeEc2 {
		return nil, invalidParameter("launchType %s: Longshore services are all EC2", in.LaunchType)
	}
	cluster, e := s.requireCluster(c, aws.ToString(in.Cluster))
	if e != nil {
		return nil, e
	}
	var list ecsv1.ServiceList
	if err := c.c.List(c.ctx, &list, client.InNamespace(c.ns)); err != nil {
		return nil, kubeError(err, "listing services in namespace "+c.ns)
	}
	var names []string
	for _, svc := range list.Items {
		st := svc.Spec.SchedulingStrategy
		if st == "" {
			st = ecsv1.SchedulingReplica
		}
		if ecsv1.ClusterName(svc.Spec.Cluster) != cluster || (in.SchedulingStrategy != "" && string(st) != string(in.SchedulingStrategy)) {
			continue
		}
		if !svc.DeletionTimestamp.IsZero() {
			continue // DRAINING: ECS lists ACTIVE services only
		}
		names = append(names, svc.Name)
	}
	slices.Sort(names)
	start, end, next, e := page(names, false, aws.ToString(in.NextToken), in.MaxResults, 100)
	if e != nil {
		return nil, e
	}
	out := &ecs.ListServicesOutput{ServiceArns: []string{}}
	for _, n := range names[start:end] {
		out.ServiceArns = append(out.ServiceArns, s.o.ARN.Service(cluster, n))
	}
	if next != "" {
		out.NextToken = aws.String(next)
	}
	return out, nil
}

func (s *Server) updateService(c *call, body []byte) (any, *Error) {
	var in ecs.UpdateServiceInput
	if e := decode(body, &in); e != nil {
		return nil, e
	}
	if e := serviceFieldsRefused("", in.CapacityProviderStrategy, in.LoadBalancers, in.ServiceRegistries, in.PlatformVersion,
		in.ServiceConnectConfiguration, in.VolumeConfigurations, in.VpcLatticeConfigurations, in.EnableECSManagedTags, in.PropagateTags, in.NetworkConfiguration); e != nil {
		return nil, e
	}
	if in.DeploymentController != nil && in.DeploymentController.Type != types.DeploymentControllerTypeEcs {
		return nil, invalidParameter("deploymentController %s: Longshore's services are deployed by Longshore (ECS type) only", in.DeploymentController.Type)
	}
	if in.AvailabilityZoneRebalancing == types.AvailabilityZoneRebalancingEnabled {
		return nil, invalidParameter("availabilityZoneRebalancing ENABLED: not supported by Longshore")
	}
	cluster, name, svc, e := s.lookupService(c, in.Cluster, in.Service)
	if e != nil {
		return nil, e
	}
	if svc == nil {
		return nil, s.serviceNotFound(c, name, cluster)
	}
	if !svc.DeletionTimestamp.IsZero() {
		return nil, newError("ServiceNotActiveException", 400, "Service was not ACTIVE: %s is being deleted", name)
	}
	if in.DesiredCount != nil && svc.Spec.SchedulingStrategy == ecsv1.SchedulingDaemon {
		return nil, invalidParameter("desiredCount: a DAEMON service runs one task per instance and takes none")
	}
	tdRefStr := ""
	if ref := aws.ToString(in.TaskDefinition); ref != "" {
		r, e := s.taskDefinitionRef(ref)
		if e != nil {
			return nil, e
		}
		rev, e := s.findRevision(c, r)
		if e != nil {
			return nil, e
		}
		if rev == nil {
			return nil, clientError("TaskDefinition not found: %s in namespace %s", r, c.ns)
		}
		tdRefStr = r.String()
	}
	var dc *ecsv1.DeploymentConfiguration
	if in.DeploymentConfiguration != nil {
		v, e := deploymentConfiguration(in.DeploymentConfiguration)
		if e != nil {
			return nil, e
		}
		dc = &v
	}
	pc, ps := placement(in.PlacementConstraints, in.PlacementStrategy)
	restartedAt := s.o.Clock.Now().UTC().Format(time.RFC3339Nano)
	oldPrimary := primaryDeployment(svc)
	c.log.Info("Updating service", "service", name, "forceNewDeployment", in.ForceNewDeployment)
	if e := patch(c, svc, "updating service "+name, func() (bool, *Error) {
		if !svc.DeletionTimestamp.IsZero() {
			return false, newError("ServiceNotActiveException", 400, "Service was not ACTIVE: %s is being deleted", name)
		}
		if in.DesiredCount != nil {
			svc.Spec.DesiredCount = in.DesiredCount
		}
		if tdRefStr != "" {
			svc.Spec.TaskDefinition = tdRefStr
		}
		if dc != nil {
			svc.Spec.DeploymentConfiguration = *dc
		}
		if in.PlacementConstraints != nil {
			svc.Spec.PlacementConstraints = pc
		}
		if in.PlacementStrategy != nil {
			svc.Spec.PlacementStrategy = ps
		}
		if in.HealthCheckGracePeriodSeconds != nil {
			svc.Spec.HealthCheckGracePeriodSeconds = in.HealthCheckGracePeriodSeconds
		}
		if in.ForceNewDeployment {
			if svc.Annotations == nil {
				svc.Annotations = map[string]string{}
			}
			svc.Annotations[ecsv1.AnnotationRestartedAt] = restartedAt
		}
		return true, nil
	}); e != nil {
		return nil, e
	}
	svc, e = s.awaitService(c, svc, in.ForceNewDeployment, oldPrimary)
	if e != nil {
		return nil, e
	}
	out, e := s.serviceOf(svc, false, nil)
	if e != nil {
		return nil, e
	}
	if svc.Spec.DesiredCount != nil {
		out.DesiredCount = *svc.Spec.DesiredCount
	}
	return &ecs.UpdateServiceOutput{Service: &out}, nil
}

// primaryDeployment is the id of the Service's PRIMARY deployment ("": none).
func primaryDeployment(svc *ecsv1.Service) string {
	for _, d := range svc.Status.Deployments {
		if d.Status == ecsv1.DeploymentPrimary {
			return d.ID
		}
	}
	return ""
}

// awaitService waits, up to the register timeout, for the manager to act
// on an update of svc: its generation observed (a new task definition or
// placement makes the new PRIMARY deployment in that same pass) and, for
// forceNewDeployment (an annotation, which no generation counts), a
// PRIMARY deployment other than oldPrimary. ECS makes the deployment
// before UpdateService returns, so its answer and a services-stable waiter
// started right after it see the new deployment; here too. Past the
// timeout (the manager is not running) it answers the Service as it is,
// and logs it.
func (s *Server) awaitService(c *call, svc *ecsv1.Service, force bool, oldPrimary string) (*ecsv1.Service, *Error) {
	deadline := s.o.Clock.Now().Add(s.o.RegisterTimeout)
	for {
		acted := svc.Status.ObservedGeneration >= svc.Generation && (!force || primaryDeployment(svc) != oldPrimary)
		if acted {
			return svc, nil
		}
		if s.o.Clock.Now().After(deadline) {
			c.log.Info("The manager has not acted on the service's update yet: answering it as it is",
				"service", svc.Name, "generation", svc.Generation, "observedGeneration", svc.Status.ObservedGeneration, "waited", s.o.RegisterTimeout)
			return svc, nil
		}
		select {
		case <-c.ctx.Done():
			return nil, serverError("updating service %s: %v", svc.Name, c.ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
		now := &ecsv1.Service{}
		if err := c.c.Get(c.ctx, client.ObjectKeyFromObject(svc), now); err != nil {
			return nil, kubeError(err, "reading service "+svc.Name)
		}
		svc = now
	}
}

func (s *Server) deleteService(c *call, body []byte) (any, *Error) {
	var in ecs.DeleteServiceInput
	if e := decode(body, &in); e != nil {
		return nil, e
	}
	cluster, name, svc, e := s.lookupService(c, in.Cluster, in.Service)
	if e != nil {
		return nil, e
	}
	if svc == nil {
		// An INACTIVE service is answered as it is, as ECS does.
		rec, e := s.inactiveService(c, &inactiveRecords{}, name, cluster)
		if e != nil {
			return nil, e
		}
		if rec == nil {
			return nil, newError("ServiceNotFoundException", 400, "Service not found: %s in cluster %s, namespace %s", name, cluster, c.ns)
		}
		out := s.inactiveServiceOf(name, rec, false)
		return &ecs.DeleteServiceOutput{Service: &out}, nil
	}
	if !aws.ToBool(in.Force) && svc.Spec.SchedulingStrategy != ecsv1.SchedulingDaemon && svc.Spec.DesiredCount != nil && *svc.Spec.DesiredCount > 0 {
		return nil, invalidParameter("The service cannot be stopped while it is scaled above 0: scale %s to 0 first, or delete it with force", name)
	}
	if svc.DeletionTimestamp.IsZero() {
		c.log.Info("Deleting service", "service", name)
		if err := c.c.Delete(c.ctx, svc, client.Preconditions{UID: &svc.UID}); err != nil && !apierrors.IsNotFound(err) {
			return nil, kubeError(err, "deleting service "+name)
		}
	}
	out, e := s.serviceOf(svc, false, nil)
	if e != nil {
		return nil, e
	}
	out.Status = aws.String("DRAINING")
	return &ecs.DeleteServiceOutput{Service: &out}, nil
}

// inactiveRecords are the records of the namespace's deleted Services
// (internal/inactive), read once per call: nil when there is no map.
type inactiveRecords struct {
	read bool
	data map[string]string
}

// inactiveService is the live record of the deleted Service name of
// cluster, nil when there is none. The manager writes the records; the
// ECS API only reads them. A value that is not a record is logged and
// read as no record (the manager prunes it).
func (s *Server) inactiveService(c *call, recs *inactiveRecords, name, cluster string) (*inactive.Record, *Error) {
	if !recs.read {
		cm := &corev1.ConfigMap{}
		err := c.c.Get(c.ctx, client.ObjectKey{Namespace: c.ns, Name: inactive.ConfigMapName}, cm)
		if err != nil && !apierrors.IsNotFound(err) {
			return nil, kubeError(err, "reading the deleted services' records (ConfigMap "+inactive.ConfigMapName+")")
		}
		recs.read, recs.data = true, cm.Data
	}
	rec, err := inactive.Lookup(recs.data, name, cluster, s.o.Clock.Now())
	switch {
	case errors.Is(err, inactive.ErrNotRecorded):
		return nil, nil
	case err != nil:
		c.log.Info("Ignoring a deleted service's record", "service", name, "reason", err.Error())
		return nil, nil
	}
	return &rec, nil
}

// inactiveServiceOf is the ECS view of a deleted Service from its record:
// INACTIVE, no tasks, no deployments, no events; tags, when asked for, are
// none (they went with the object).
func (s *Server) inactiveServiceOf(name string, rec *inactive.Record, withTags bool) types.Service {
	out := types.Service{
		ServiceArn:           aws.String(s.o.ARN.Service(rec.Cluster, name)),
		ServiceName:          aws.String(name),
		ClusterArn:           aws.String(s.o.ARN.Cluster(rec.Cluster)),
		Status:               aws.String("INACTIVE"),
		TaskDefinition:       s.tdArn(rec.TaskDefinition),
		LaunchType:           types.LaunchTypeEc2,
		SchedulingStrategy:   types.SchedulingStrategy(rec.SchedulingStrategy),
		CreatedAt:            aws.Time(rec.CreatedAt),
		DeploymentController: &types.DeploymentController{Type: types.DeploymentControllerTypeEcs},
		Deployments:          []types.Deployment{},
		Events:               []types.ServiceEvent{},
		PlacementConstraints: []types.PlacementConstraint{},
		PlacementStrategy:    []types.PlacementStrategy{},
		LoadBalancers:        []types.LoadBalancer{},
		ServiceRegistries:    []types.ServiceRegistry{},
	}
	if withTags {
		out.Tags = []types.Tag{}
	}
	return out
}

// serviceNotFound is the error of UpdateService for a name without a
// Service: ServiceNotActiveException when it is a deleted
// service still INACTIVE, as ECS, else ServiceNotFoundException.
func (s *Server) serviceNotFound(c *call, name, cluster string) *Error {
	rec, e := s.inactiveService(c, &inactiveRecords{}, name, cluster)
	if e != nil {
		return e
	}
	if rec != nil {
		return newError("ServiceNotActiveException", 400, "Service was not ACTIVE: %s in cluster %s was deleted (INACTIVE since %s)", name, cluster, rec.InactiveAt.UTC().Format(time.RFC3339))
	}
	return newError("ServiceNotFoundException", 400, "Service not found: %s in cluster %s, namespace %s", name, cluster, c.ns)
}
