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

// kubectl-ecs is the kubectl plugin of Longshore (`kubectl ecs …` once it
// is on PATH):
//
//	kubectl ecs convert -f task-def.json [--image-map FROM=TO]… [-n NS]
//	kubectl ecs register-task-definition --cli-input-json file://task-def.json [-n NS]
//	kubectl ecs logs TASK [-c CONTAINER] [-f] [--since D] [--tail N] [--timestamps] [-p]
//	kubectl ecs exec TASK [-c CONTAINER] [-i] [-t] -- COMMAND [ARG...]
//	kubectl ecs stats TASK [-c CONTAINER] [-o table|json] [-w]
//	kubectl ecs deregister-task-definition FAMILY:REVISION [-n NS]
//	kubectl ecs delete-task-definitions FAMILY:REVISION... [-n NS]
//
// Exit codes: 0 done; 1 the input or the cluster refused it (the message
// says why); 2 wrong usage; exec: the command's.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ecsv1 "github.com/longshore-io/longshore/api/v1alpha1"
	"github.com/longshore-io/longshore/internal/ecsconvert"
)

const usage = `kubectl ecs: Longshore's kubectl plugin.

  kubectl ecs convert -f FILE [--image-map FROM=TO]... [-n NAMESPACE]
      Print the TaskDefinition YAML of an ECS task definition (a
      RegisterTaskDefinition body or a describe-task-definition export,
      JSON or YAML; FILE "-" is standard input). Warnings go to stderr.

  kubectl ecs register-task-definition --cli-input-json file://FILE [--image-map FROM=TO]... [-n NAMESPACE]
      Convert and apply it (server-side apply), as aws ecs
      register-task-definition would register it, and wait for the revision.
      --cli-input-yaml takes YAML.

  kubectl ecs logs TASK [-c CONTAINER] [-f] [--since D] [--tail N] [--timestamps] [-p] [-n NAMESPACE]
      Print a container's output, from the agent that runs the task
      (RBAC: get tasks/log). -f follows it until the container stops; -p is
      the attempt its restart policy replaced.

  kubectl ecs exec TASK [-c CONTAINER] [-i] [-t] [-n NAMESPACE] -- COMMAND [ARG...]
      Run a command in a running container (RBAC: create tasks/exec); the
      exit code is the command's. Every exec is an Event on the task.

  kubectl ecs stats TASK [-c CONTAINER] [-o table|json] [-w] [-n NAMESPACE]
      The containers' CPU, memory, network, block I/O and processes, as
      docker stats shows them, from the agent that runs the task (RBAC: get
      tasks/stats); -o json is the Docker stats shape; -w reads again every 2s.

  --kubeconfig, --context and -n work as with kubectl.
  Exit codes: 0 done, 1 refused (the message says why), 2 wrong usage.
`

type imageMap map[string]string

func (m imageMap) String() string { return "" }
func (m imageMap) Set(v string) error {
	from, to, ok := strings.Cut(v, "=")
	if !ok || from == "" || to == "" {
		return fmt.Errorf("--image-map takes FROM=TO, got %q", v)
	}
	m[from] = to
	return nil
}

func main() { os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) }

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		_, _ = fmt.Fprint(stderr, usage+revisionsUsage)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	if code, ok := taskCommand(args, stdin, stdout, stderr); ok {
		return code
	}
	cmd := args[0]
	if _, ok := revisionVerbs[cmd]; ok {
		return runRevisionVerb(cmd, args[1:], stdout, stderr, kubeClient)
	}
	fs := flag.NewFlagSet("kubectl ecs "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	images := imageMap{}
	fs.Var(images, "image-map", "swap an image: FROM=TO (FROM an image as written, or a repository without tag); repeatable")
	ns := fs.String("n", "", "namespace")
	fs.StringVar(ns, "namespace", "", "namespace")
	kubeconfig := fs.String("kubeconfig", "", "kubeconfig file")
	kubeContext := fs.String("context", "", "kubeconfig context")
	var file, inputJSON, inputYAML string
	switch cmd {
	case "convert":
		fs.StringVar(&file, "f", "", "task definition file (JSON or YAML), - for standard input")
		fs.StringVar(&file, "filename", "", "task definition file (JSON or YAML), - for standard input")
	case "register-task-definition":
		fs.StringVar(&inputJSON, "cli-input-json", "", "file://FILE of a task definition in JSON")
		fs.StringVar(&inputYAML, "cli-input-yaml", "", "file://FILE of a task definition in YAML")
	default:
		_, _ = fmt.Fprintf(stderr, "kubectl ecs: unknown command %q\n\n%s", cmd, usage+revisionsUsage)
		return 2
	}
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		_, _ = fmt.Fprintf(stderr, "kubectl ecs %s: unexpected arguments %q\n", cmd, fs.Args())
		return 2
	}
	if cmd == "register-task-definition" {
		switch {
		case inputJSON != "" && inputYAML != "", inputJSON == "" && inputYAML == "":
			_, _ = fmt.Fprintln(stderr, "kubectl ecs register-task-definition: give one of --cli-input-json and --cli-input-yaml")
			return 2
		case inputJSON != "":
			file = inputJSON
		default:
			file = inputYAML
		}
		file = strings.TrimPrefix(file, "file://")
	}
	if file == "" {
		_, _ = fmt.Fprintf(stderr, "kubectl ecs %s: no input file (-f FILE)\n", cmd)
		return 2
	}
	data, err := readInput(file, stdin)
	if err != nil {
		_, _ = fmt.Fprintf(stderr, "kubectl ecs %s: %v\n", cmd, err)
		return 1
	}
	loader := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(
		&clientcmd.ClientConfigLoadingRules{ExplicitPath: *kubeconfig, Precedence: clientcmd.NewDefaultClientConfigLoadingRules().Precedence},
		&clientcmd.ConfigOverrides{CurrentContext: *kubeContext})
	namespace := *ns
	if namespace == "" && cmd == "register-task-definition" {
		if namespace, _, err = loader.Namespace(); err != nil {
			namespace = "default"
		}
	}
	res, err := ecsconvert.Convert(data, ecsconvert.Options{Namespace: namespace, ImageMap: images})
	if err != nil {
		_, _ = fmt.Fprintf(stderr, "kubectl ecs %s: %s: %v\n", cmd, file, err)
		return 1
	}
	for _, w := range res.Warnings {
		_, _ = fmt.Fprintf(stderr, "Warning: %s\n", w)
	}
	if cmd == "convert" {
		out, err := ecsconvert.YAML(res.TaskDefinition)
		if err != nil {
			_, _ = fmt.Fprintf(stderr, "kubectl ecs convert: %v\n", err)
			return 1
		}
		_, _ = stdout.Write(out)
		return 0
	}
	cfg, err := loader.ClientConfig()
	if err != nil {
		_, _ = fmt.Fprintf(stderr, "kubectl ecs register-task-definition: %v\n", err)
		return 1
	}
	if err := register(cfg, res.TaskDefinition, stdout, stderr); err != nil {
		_, _ = fmt.Fprintf(stderr, "kubectl ecs register-task-definition: %v\n", err)
		return 1
	}
	return 0
}

func readInput(file string, stdin io.Reader) ([]byte, error) {
	if file == "-" {
		return io.ReadAll(stdin)
	}
	return os.ReadFile(file)
}

// register applies td (server-side apply, field manager kubectl-ecs) and
// waits for the revision that holds it.
func register(cfg *rest.Config, td *ecsv1.TaskDefinition, stdout, stderr io.Writer) error {
	cfg = rest.CopyConfig(cfg)
	cfg.WarningHandler = rest.NewWarningWriter(stderr, rest.WarningWriterOptions{})
	scheme := runtime.NewScheme()
	if err := ecsv1.AddToScheme(scheme); err != nil {
		return err
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	u, err := runtime.DefaultUnstructuredConverter.ToUnstructured(td)
	if err != nil {
		return err
	}
	delete(u, "status")
	if md, ok := u["metadata"].(map[string]any); ok {
		delete(md, "creationTimestamp")
	}
	obj := &unstructured.Unstructured{Object: u}
	if err := c.Apply(ctx, client.ApplyConfigurationFromUnstructured(obj), client.FieldOwner("kubectl-ecs"), client.ForceOwnership); err != nil {
		var st apierrors.APIStatus
		if errors.As(err, &st) {
			return fmt.Errorf("the cluster refused task definition %s: %s", td.Name, st.Status().Message)
		}
		return err
	}
	key := client.ObjectKey{Namespace: td.Namespace, Name: td.Name}
	for {
		got := &ecsv1.TaskDefinition{}
		if err := c.Get(ctx, key, got); err != nil {
			return err
		}
		if got.Status.ObservedGeneration >= got.Generation {
			for _, cond := range got.Status.Conditions {
				if cond.Type == ecsv1.ConditionValid && cond.Status == "False" {
					return fmt.Errorf("task definition %s is invalid: %s", td.Name, cond.Message)
				}
				if cond.Type == ecsv1.ConditionReady && cond.Status == "True" {
					_, _ = fmt.Fprintf(stdout, "Registered task definition %s:%d in namespace %s\n", td.Name, got.Status.LatestRevision, td.Namespace)
					return nil
				}
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("task definition %s applied, but no revision holds it after a minute: is longshore-manager running? (kubectl describe td %s)", td.Name, td.Name)
		case <-time.After(200 * time.Millisecond):
		}
	}
}
