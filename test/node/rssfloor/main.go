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

// Command rssfloor is the memory baseline of `make bench-agent`: a program
// that links the same libraries as longshore-agent (controller-runtime, the
// containerd v2 client, go-cni, zap), runs their package initialisation and
// then does nothing. Its resident set is a lower bound for the agent while
// it uses these libraries (a lower bound only: the linker keeps just the
// code their initialisation reaches, the agent calls much more of them);
// the benchmark prints the agent's figures next to it.
package main

import (
	"os"
	"os/signal"
	"syscall"

	_ "github.com/containerd/containerd/v2/client"
	_ "github.com/containerd/go-cni"
	_ "sigs.k8s.io/controller-runtime"
	_ "sigs.k8s.io/controller-runtime/pkg/cache"
	_ "sigs.k8s.io/controller-runtime/pkg/client"
	_ "sigs.k8s.io/controller-runtime/pkg/log/zap"
)

func main() {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	<-sig
}
