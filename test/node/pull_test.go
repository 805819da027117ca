//go:build node

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

package node

import (
	"encoding/base64"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	ecsv1 "github.com/longshore-io/longshore/api/v1alpha1"
	"github.com/longshore-io/longshore/internal/imagebuild"
	"github.com/longshore-io/longshore/internal/imagebuild/registrytest"
)

// TestPullWithRepositoryCredentials pulls from a local registry that wants
// a password: with repositoryCredentials the task runs, without it fails
// with CannotPullContainerError.
func TestPullWithRepositoryCredentials(t *testing.T) {
	n := newNode(t, "node-pull-auth")
	reg := registrytest.New(t)
	img, err := imagebuild.Build(imagebuild.BusyboxSpec(reg.Host + "/longshore/private:1"))
	if err != nil {
		t.Fatal(err)
	}
	if err := imagebuild.Push(t.Context(), reg.URL, "longshore/private", "1", reg.Username, reg.Password, img); err != nil {
		t.Fatal(err)
	}
	auth := base64.StdEncoding.EncodeToString([]byte(reg.Username + ":" + reg.Password))
	sec := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: n.NS, Name: "regcred"}, Type: corev1.SecretTypeDockerConfigJson,
		Data: map[string][]byte{corev1.DockerConfigJsonKey: fmt.Appendf(nil, `{"auths":{%q:{"auth":%q}}}`, reg.Host, auth)}}
	if err := env.Client.Create(t.Context(), sec); err != nil {
		t.Fatal(err)
	}

	c := container("main", "sleep", "3600")
	c.Image = reg.Host + "/longshore/private:1"
	c.RepositoryCredentials = &ecsv1.RepositoryCredentials{CredentialsParameter: "regcred"}
	ok := n.task("private", ecsv1.TaskDefinitionSpec{NetworkMode: ecsv1.NetworkModeNone, ContainerDefinitions: []ecsv1.ContainerDefinition{c}})
	got := n.wait(ok, 60*time.Second, "RUNNING", phase(ecsv1.TaskRunning))
	if d := got.Status.Containers[0].ImageDigest; d != img.Manifest.Descriptor.Digest.String() {
		t.Errorf("imageDigest %q, want the pushed manifest %s", d, img.Manifest.Descriptor.Digest)
	}
	if got.Status.PullStartedAt == nil || got.Status.PullStoppedAt == nil || got.Status.PullStoppedAt.Before(got.Status.PullStartedAt) {
		t.Errorf("pull times %v → %v", got.Status.PullStartedAt, got.Status.PullStoppedAt)
	}
	n.deleteTask(ok)
	// Remove the pulled image, so that the next task must pull again.
	if err := n.ctrd.ImageService().Delete(namespacesCtx(t), reg.Host+"/longshore/private:1"); err != nil {
		t.Fatal(err)
	}

	c2 := c
	c2.RepositoryCredentials = nil
	bad := n.task("nocreds", ecsv1.TaskDefinitionSpec{NetworkMode: ecsv1.NetworkModeNone, ContainerDefinitions: []ecsv1.ContainerDefinition{c2}})
	got = n.wait(bad, 60*time.Second, "STOPPED", phase(ecsv1.TaskStopped))
	if got.Status.StopCode != ecsv1.StopCodeTaskFailedToStart || !strings.HasPrefix(got.Status.StoppedReason, "CannotPullContainerError: ") ||
		!strings.Contains(got.Status.StoppedReason, "authorization") {
		t.Errorf("stopCode %q reason %q, want CannotPullContainerError … authorization", got.Status.StopCode, got.Status.StoppedReason)
	}

	// ECS task definitions name the credentials by Secrets Manager ARN:
	// mapped onto the Secret "regcred".
	c3 := c
	c3.RepositoryCredentials = &ecsv1.RepositoryCredentials{CredentialsParameter: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:regcred"}
	byARN := n.task("byarn", ecsv1.TaskDefinitionSpec{NetworkMode: ecsv1.NetworkModeNone, ContainerDefinitions: []ecsv1.ContainerDefinition{c3}})
	n.wait(byARN, 60*time.Second, "RUNNING", phase(ecsv1.TaskRunning))
	n.deleteTask(byARN)
	// A reference whose Secret does not exist fails to start, naming both.
	c4 := c
	c4.RepositoryCredentials = &ecsv1.RepositoryCredentials{CredentialsParameter: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:dockerhub-AbCdEf"}
	missing := n.task("missingcreds", ecsv1.TaskDefinitionSpec{NetworkMode: ecsv1.NetworkModeNone, ContainerDefinitions: []ecsv1.ContainerDefinition{c4}})
	got = n.wait(missing, 60*time.Second, "STOPPED", phase(ecsv1.TaskStopped))
	want := fmt.Sprintf("Secret %s/dockerhub-abcdef (mapped from arn:aws:secretsmanager:eu-west-1:123456789012:secret:dockerhub-AbCdEf) not found", n.NS)
	if got.Status.StopCode != ecsv1.StopCodeTaskFailedToStart || !strings.Contains(got.Status.StoppedReason, want) {
		t.Errorf("stopCode %q reason %q, want TaskFailedToStart with %q", got.Status.StopCode, got.Status.StoppedReason, want)
	}
}
