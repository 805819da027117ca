//go:build integration && bench

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
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ecsv1 "github.com/longshore-io/longshore/api/v1alpha1"
)

// TestBenchDescribeTasks: how many DescribeTasks of 100 tasks one
// instance of the component answers per second, called with the AWS SDK
// for Go v2 by benchWorkers clients at once, against its floor in the same
// run: the Kubernetes reads every such call makes (the Cluster, the
// namespace's Tasks, their revision), made directly by the same identity
// through the same API server, by as many workers. The ratio is the
// component's own cost (SigV4, decoding, the ECS view, encoding) and the
// SDK's (signing, decoding) over the reads it cannot avoid.
func TestBenchDescribeTasks(t *testing.T) {
	k := user(t)
	ctx := t.Context()
	cluster := "bench-" + k.Namespace
	env.NewCluster(t, cluster, nil)
	if _, err := k.ECS.RegisterTaskDefinition(ctx, webInput("busybox:1")); err != nil {
		t.Fatal(err)
	}
	var arns []string
	for len(arns) < 100 {
		run, err := k.ECS.RunTask(ctx, &ecs.RunTaskInput{Cluster: aws.String(cluster), TaskDefinition: aws.String("web"), Count: aws.Int32(10)})
		if err != nil {
			t.Fatal(err)
		}
		for _, tk := range run.Tasks {
			arns = append(arns, aws.ToString(tk.TaskArn))
		}
	}
	in := &ecs.DescribeTasksInput{Cluster: aws.String(cluster), Tasks: arns}
	out, err := k.ECS.DescribeTasks(ctx, in)
	if err != nil || len(out.Tasks) != 100 || len(out.Failures) != 0 {
		t.Fatalf("DescribeTasks of 100: %d tasks, failures %v, %v", len(out.Tasks), out.Failures, err)
	}

	// The floor: the same identity's own client, as the component makes it
	// (impersonation through the component's configuration).
	cfg := rest.CopyConfig(env.Env.Config)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: k.User, Groups: []string{"ecs-testers"}}
	cfg.QPS, cfg.Burst = -1, 0
	direct, err := client.New(cfg, client.Options{Scheme: env.Scheme})
	if err != nil {
		t.Fatal(err)
	}
	floor := func(ctx context.Context) error {
		if err := direct.Get(ctx, client.ObjectKey{Name: cluster}, &ecsv1.Cluster{}); err != nil {
			return err
		}
		var list ecsv1.TaskList
		if err := direct.List(ctx, &list, client.InNamespace(k.Namespace)); err != nil {
			return err
		}
		if len(list.Items) != 100 {
			return fmt.Errorf("%d tasks listed", len(list.Items))
		}
		return direct.Get(ctx, client.ObjectKey{Namespace: k.Namespace, Name: "web-1"}, &ecsv1.TaskDefinitionRevision{})
	}
	describe := func(ctx context.Context) error {
		out, err := k.ECS.DescribeTasks(ctx, in)
		if err == nil && len(out.Tasks) != 100 {
			err = fmt.Errorf("%d tasks described", len(out.Tasks))
		}
		return err
	}
	const benchWorkers = 4
	const benchTime = 10 * time.Second
	rate := func(name string, call func(context.Context) error) float64 {
		t.Helper()
		_ = call(ctx) // warm: connections, caches
		var n atomic.Int64
		var firstErr error
		var once sync.Once
		deadline := time.Now().Add(benchTime)
		start := time.Now()
		var wg sync.WaitGroup
		for range benchWorkers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for time.Now().Before(deadline) {
					if err := call(ctx); err != nil {
						once.Do(func() { firstErr = err })
						return
					}
					n.Add(1)
				}
			}()
		}
		wg.Wait()
		if firstErr != nil {
			t.Fatalf("%s: %v", name, firstErr)
		}
		return float64(n.Load()) / time.Since(start).Seconds()
	}
	floorRate := rate("floor", floor)
	apiRate := rate("DescribeTasks", describe)
	fmt.Printf("\nlongshore-ecs-api benchmark: DescribeTasks of 100 tasks, %d clients at once for %v each\n", benchWorkers, benchTime)
	fmt.Printf("  floor      the same reads (Cluster, the namespace's 100 Tasks, their revision) by the same identity: %7.1f per s\n", floorRate)
	fmt.Printf("  component  DescribeTasks through the AWS SDK for Go v2 (SigV4, HTTPS):                         %7.1f per s\n", apiRate)
	fmt.Printf("  ratio      component / floor:                                                                 %7.2fx\n\n", apiRate/floorRate)
}
