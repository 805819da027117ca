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
	"slices"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ecsv1 "github.com/longshore-io/longshore/api/v1alpha1"
)

// clusterOf is the ECS view of a Cluster; include holds the DescribeClusters
// include values asked for.
func (s *Server) clusterOf(cl *ecsv1.Cluster, include []types.ClusterField) (types.Cluster, *Error) {
	status := "ACTIVE"
	if !cl.DeletionTimestamp.IsZero() {
		status = "DEPROVISIONING"
	}
	out := types.Cluster{
		ClusterArn:                        aws.String(s.o.ARN.Cluster(cl.Name)),
		ClusterName:                       aws.String(cl.Name),
		Status:                            aws.String(status),
		RegisteredContainerInstancesCount: cl.Status.RegisteredContainerInstancesCount,
		RunningTasksCount:                 cl.Status.RunningTasksCount,
		PendingTasksCount:                 cl.Status.PendingTasksCount,
		ActiveServicesCount:               cl.Status.ActiveServicesCount,
	}
	for _, f := range include {
		switch f {
		case types.ClusterFieldTags:
			tags, err := readTags(cl.Annotations)
			if err != nil {
				return out, serverError("cluster %s: %v", cl.Name, err)
			}
			out.Tags = tags
		case types.ClusterFieldStatistics:
			stat := func(k string, v int32) types.KeyValuePair {
				return types.KeyValuePair{Name: aws.String(k), Value: aws.String(strconv.Itoa(int(v)))}
			}
			out.Statistics = []types.KeyValuePair{
				stat("runningEC2TasksCount", cl.Status.RunningTasksCount), stat("runningFargateTasksCount", 0),
				stat("pendingEC2TasksCount", cl.Status.PendingTasksCount), stat("pendingFargateTasksCount", 0),
				stat("activeEC2ServiceCount", cl.Status.ActiveServicesCount), stat("activeFargateServiceCount", 0),
				stat("drainingEC2ServiceCount", 0), stat("drainingFargateServiceCount", 0),
			}
		case types.ClusterFieldSettings:
			out.Settings = []types.ClusterSetting{{Name: types.ClusterSettingNameContainerInsights, Value: aws.String("disabled")}}
		case types.ClusterFieldAttachments, types.ClusterFieldConfigurations:
			// Longshore clusters have neither capacity provider attachments
			// nor execute-command configurations: nothing to include.
		default:
			return out, invalidParameter("include %q: want one of %s", f, strings.Join(enumStrings(types.ClusterFieldTags.Values()), ", "))
		}
	}
	return out, nil
}

func enumStrings[T ~string](vs []T) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = string(v)
	}
	return out
}

func (s *Server) createCluster(c *call, body []byte) (any, *Error) {
	var in ecs.CreateClusterInput
	if e := decode(body, &in); e != nil {
		return nil, e
	}
	switch {
	case len(in.CapacityProviders) > 0:
		return nil, invalidParameter("capacityProviders: Longshore has no capacity providers: a cluster's capacity is the container instances whose agents register in it")
	case len(in.DefaultCapacityProviderStrategy) > 0:
		return nil, invalidParameter("defaultCapacityProviderStrategy: Longshore has no capacity providers")
	case in.Configuration != nil:
		return nil, invalidParameter("configuration: Longshore has no execute-command or managed storage configuration (kubectl ecs exec reaches containers through the agent)")
	case in.ServiceConnectDefaults != nil:
		return nil, invalidParameter("serviceConnectDefaults: Longshore has no Service Connect")
	}
	for _, st := range in.Settings {
		if st.Name != types.ClusterSettingNameContainerInsights || aws.ToString(st.Value) != "disabled" {
			return nil, invalidParameter("settings: %s=%s: Longshore has no Container Insights (only containerInsights=disabled is accepted)", st.Name, aws.ToString(st.Value))
		}
	}
	if e := validateTags(in.Tags); e != nil {
		return nil, e
	}
	name, e := s.clusterName(aws.ToString(in.ClusterName))
	if e != nil {
		return nil, e
	}
	cl := &ecsv1.Cluster{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if len(in.Tags) > 0 {
		cl.Annotations = writeTags(nil, in.Tags)
	}
	c.log.Info("Creating cluster", "cluster", name)
	if err := c.c.Create(c.ctx, cl); err != nil {
		if !apierrors.IsAlreadyExists(err) {
			return nil, kubeError(err, "creating cluster "+name)
		}
		// As ECS: creating a cluster that exists returns it.
		if err := c.c.Get(c.ctx, client.ObjectKey{Name: name}, cl); err != nil {
			return nil, kubeError(err, "reading cluster "+name)
		}
	}
	out, e := s.clusterOf(cl, []types.ClusterField{types.ClusterFieldTags})
	if e != nil {
		return nil, e
	}
	return &ecs.CreateClusterOutput{Cluster: &out}, nil
}

func (s *Server) describeClusters(c *call, body []byte) (any, *Error) {
	var in ecs.DescribeClustersInput
	if e := decode(body, &in); e != nil {
		return nil, e
	}
	refs := in.Clusters
	if len(refs) == 0 {
		refs = []string{"default"}
	}
	if len(refs) > 100 {
		return nil, invalidParameter("clusters: %d given, at most 100 are allowed", len(refs))
	}
	out := &ecs.DescribeClustersOutput{Clusters: []types.Cluster{}, Failures: []types.Failure{}}
	for _, ref := range refs {
		name, e := s.clusterName(ref)
		if e != nil {
			return nil, e
		}
		cl := &ecsv1.Cluster{}
		if err := c.c.Get(c.ctx, client.ObjectKey{Name: name}, cl); err != nil {
			if apierrors.IsNotFound(err) {
				out.Failures = append(out.Failures, types.Failure{Arn: aws.String(s.o.ARN.Cluster(name)), Reason: aws.String("MISSING")})
				continue
			}
			return nil, kubeError(err, "reading cluster "+name)
		}
		v, e := s.clusterOf(cl, in.Include)
		if e != nil {
			return nil, e
		}
		out.Clusters = append(out.Clusters, v)
	}
	return out, nil
}

func (s *Server) listClusters(c *call, body []byte) (any, *Error) {
	var in ecs.ListClustersInput
	if e := decode(body, &in); e != nil {
		return nil, e
	}
	var list ecsv1.ClusterList
	if err := c.c.List(c.ctx, &list); err != nil {
		return nil, kubeError(err, "listing clusters")
	}
	names := make([]string, 0, len(list.Items))
	for _, cl := range list.Items {
		names = append(names, cl.Name)
	}
	slices.Sort(names)
	start, end, next, e := page(names, false, aws.ToString(in.NextToken), in.MaxResults, 100)
	if e != nil {
		return nil, e
	}
	out := &ecs.ListClustersOutput{ClusterArns: []string{}}
	for _, n := range names[start:end] {
		out.ClusterArns = append(out.ClusterArns, s.o.ARN.Cluster(n))
	}
	if next != "" {
		out.NextToken = aws.String(next)
	}
	return out, nil
}

func (s *Server) deleteCluster(c *call, body []byte) (any, *Error) {
	var in ecs.DeleteClusterInput
	if e := decode(body, &in); e != nil {
		return nil, e
	}
	if in.Cluster == nil {
		return nil, invalidParameter("cluster is required")
	}
	cl, e := s.getCluster(c, aws.ToString(in.Cluster))
	if e != nil {
		return nil, e
	}
	name := cl.Name
	// As ECS, a cluster that still has instances, services or tasks is not
	// deleted; the counts are the manager's (Cluster.status).
	switch st := cl.Status; {
	case st.RegisteredContainerInstancesCount > 0:
		return nil, newError("ClusterContainsContainerInstancesException", 400, "The Cluster cannot be deleted while Container Instances are active or draining: %s has %d (stop their agents and delete the ContainerInstances)", name, st.RegisteredContainerInstancesCount)
	case st.ActiveServicesCount > 0:
		return nil, newError("ClusterContainsServicesException", 400, "The Cluster cannot be deleted while Services are active: %s has %d", name, st.ActiveServicesCount)
	case st.RunningTasksCount+st.PendingTasksCount > 0:
		return nil, newError("ClusterContainsTasksException", 400, "The Cluster cannot be deleted while Tasks are active: %s has %d running and %d pending", name, st.RunningTasksCount, st.PendingTasksCount)
	}
	c.log.Info("Deleting cluster", "cluster", name)
	if err := c.c.Delete(c.ctx, cl, client.Preconditions{UID: &cl.UID}); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, clusterNotFound("Cluster not found.")
		}
		return nil, kubeError(err, "deleting cluster "+name)
	}
	out, e := s.clusterOf(cl, []types.ClusterField{types.ClusterFieldTags})
	if e != nil {
		return nil, e
	}
	out.Status = aws.String("INACTIVE")
	return &ecs.DeleteClusterOutput{Cluster: &out}, nil
}

// getCluster reads the Cluster that ref (a name or an ARN) names, or
// answers ClusterNotFoundException as ECS does (naming the cluster).
func (s *Server) getCluster(c *call, ref string) (*ecsv1.Cluster, *Error) {
	name, e := s.clusterName(ref)
	if e != nil {
		return nil, e
	}
	cl := &ecsv1.Cluster{}
	if err := c.c.Get(c.ctx, client.ObjectKey{Name: name}, cl); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, clusterNotFound("Cluster not found: %s", name)
		}
		return nil, kubeError(err, "reading cluster "+name)
	}
	return cl, nil
}

// requireCluster is the name of the existing Cluster that ref names
// (getCluster).
func (s *Server) requireCluster(c *call, ref string) (string, *Error) {
	cl, e := s.getCluster(c, ref)
	if e != nil {
		return "", e
	}
	return cl.Name, nil
}
