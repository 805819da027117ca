# Longshore — developer entry points. `make help` lists them.
#
# Versions live in hack/versions.env; tools are installed into
# $(LONGSHORE_CACHE) (default ~/.cache/longshore), outside the checkout.

SHELL := /usr/bin/env bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

include hack/versions.env
export

LONGSHORE_CACHE ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/longshore
K8S_BIN := $(LONGSHORE_CACHE)/k8s-$(K8S_VERSION)-etcd-$(ETCD_VERSION)
CONTAINERD_BIN := $(LONGSHORE_CACHE)/containerd-$(CONTAINERD_VERSION)
CONTROLLER_GEN := $(LONGSHORE_CACHE)/tools/controller-gen-$(CONTROLLER_TOOLS_VERSION)
GOLANGCI_LINT := $(LONGSHORE_CACHE)/tools/golangci-lint-$(GOLANGCI_LINT_VERSION)

VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X github.com/longshore-io/longshore/internal/version.Version=$(VERSION)
GO_TEST_FLAGS ?=
# Packages with node tests (build tag node: root, real containerd, runc, CNI).
NODE_PKGS := ./internal/network/... ./internal/imagebuild/... ./test/node/...
# The names config/default deploys; set them for a release.
IMG_MANAGER ?= longshore/manager:latest
IMG_AGENT ?= longshore/agent:latest
IMG_ECS_API ?= longshore/ecs-api:latest

##@ General

.PHONY: help
help: ## Show this help.
	@awk 'BEGIN {FS = ":.*##"; printf "Usage: make <target>\n"} /^[a-zA-Z_0-9-]+:.*?##/ { printf "  \033[36m%-18s\033[0m %s\n", $$1, $$2 } /^##@/ { printf "\n\033[1m%s\033[0m\n", substr($$0, 5) } ' $(MAKEFILE_LIST)

##@ Development

.PHONY: tools
tools: ## Install the whole toolchain (apt packages, controller-gen, etcd, kube-apiserver, kube-controller-manager, kubectl, containerd, the cluster layer's kubelet, golangci-lint).
	hack/install-tools.sh all

$(CONTROLLER_GEN):
	hack/install-tools.sh codegen

.PHONY: generate
generate: $(CONTROLLER_GEN) ## Generate deepcopy code.
	$(CONTROLLER_GEN) object:headerFile=hack/boilerplate.go.txt paths=./api/...

.PHONY: manifests
manifests: $(CONTROLLER_GEN) ## Generate CRDs and RBAC roles.
	$(CONTROLLER_GEN) crd paths=./api/... output:crd:artifacts:config=config/crd/bases
	$(CONTROLLER_GEN) rbac:roleName=longshore-manager paths=./controllers/... paths=./cmd/manager/... output:rbac:artifacts:config=config/rbac/manager
	$(CONTROLLER_GEN) rbac:roleName=longshore-agent paths=./internal/agent/... paths=./cmd/agent/... output:rbac:artifacts:config=config/rbac/agent

.PHONY: fmt
fmt: ## gofmt the tree.
	gofmt -s -w $$(git ls-files '*.go')

.PHONY: vet
vet: ## go vet, with and without the test build tags.
	go vet ./...
	go vet -tags integration,node,bench,e2e,cluster ./...

.PHONY: lint
lint: vet ## gofmt check, go vet and golangci-lint (when it could be built).
	@out=$$(gofmt -s -l $$(git ls-files '*.go')); if [[ -n "$$out" ]]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	@hack/install-tools.sh lint
	@if [[ -x $(GOLANGCI_LINT) ]]; then $(GOLANGCI_LINT) run --build-tags integration,node,bench,e2e,cluster ./...; else echo "golangci-lint unavailable: gofmt + go vet only"; fi

.PHONY: verify
verify: generate manifests ## Fail if generated files are out of date.
	@if [[ -n "$$(git status --porcelain -- api config)" ]]; then \
		echo "generated files are stale; run 'make generate manifests' and commit:"; git status --porcelain -- api config; git diff --stat -- api config; exit 1; fi
	go mod tidy -diff

.PHONY: build
build: ## Build bin/longshore-manager, bin/longshore-agent, the agent's helpers (longshore-logger, longshore-init) and the kubectl plugin bin/kubectl-ecs.
	go build -trimpath -ldflags "$(LDFLAGS)" -o bin/longshore-manager ./cmd/manager
	CGO_ENABLED=0 go build -trimpath -ldflags "$(LDFLAGS)" -o bin/longshore-agent ./cmd/agent
	CGO_ENABLED=0 go build -trimpath -ldflags "-s -w $(LDFLAGS)" -o bin/longshore-logger ./cmd/logger
	CGO_ENABLED=0 go build -trimpath -ldflags "-s -w $(LDFLAGS)" -o bin/longshore-init ./cmd/init
	CGO_ENABLED=0 go build -trimpath -ldflags "$(LDFLAGS)" -o bin/kubectl-ecs ./cmd/kubectl-ecs
	CGO_ENABLED=0 go build -trimpath -ldflags "$(LDFLAGS)" -o bin/longshore-ecs-api ./cmd/ecs-api

##@ Test

.PHONY: test
test: ## verify, lint and every test layer: unit, integration (envtest), node (containerd), e2e (make dev + kubectl), cluster (config/default on a real kubelet). Installs what it needs.
	hack/install-tools.sh apt codegen k8s containerd cluster
	$(MAKE) verify
	$(MAKE) lint
	$(MAKE) test-unit
	$(MAKE) test-integration
	$(MAKE) test-node
	$(MAKE) test-e2e
	$(MAKE) test-cluster

.PHONY: test-unit
test-unit: ## Fast unit tests (no apiserver, no root).
	go test $(GO_TEST_FLAGS) -race -count=1 ./...

.PHONY: test-integration
test-integration: ## envtest: the real kube-apiserver + etcd (built by `make tools`).
	hack/install-tools.sh k8s
	KUBEBUILDER_ASSETS=$(K8S_BIN) go test $(GO_TEST_FLAGS) -tags integration -count=1 ./controllers/... ./test/integration/...

.PHONY: test-node
test-node: ## Node tests: the real agent with a real containerd + runc started by the harness (root).
	hack/install-tools.sh apt containerd k8s
	KUBEBUILDER_ASSETS=$(K8S_BIN) go test $(GO_TEST_FLAGS) -tags node -count=1 -timeout 30m $(NODE_PKGS)

.PHONY: test-e2e
test-e2e: build ## End to end: hack/dev.sh up in /var/lib/longshore/e2e, the samples through kubectl, HTTP checks, roll, failover, leaks (root; not while make dev runs).
	hack/install-tools.sh apt containerd k8s
	go test $(GO_TEST_FLAGS) -tags e2e -count=1 -timeout 30m -v -run TestE2E ./test/e2e/

.PHONY: test-cluster
test-cluster: ## A real cluster (hack/cluster.sh: control plane, kubelet, containerd CRI, kube-proxy), make images imported, kubectl apply -k config/default (root; not while make dev runs).
	hack/install-tools.sh apt containerd cluster
	go test $(GO_TEST_FLAGS) -tags cluster -count=1 -timeout 30m -v -run TestCluster ./test/cluster/

##@ Benchmarks

.PHONY: bench-agent
bench-agent: ## Agent: apply→RUNNING p50/p99 vs a direct containerd+CNI baseline, 50 tasks at once, RSS (root).
	hack/install-tools.sh apt containerd k8s
	KUBEBUILDER_ASSETS=$(K8S_BIN) go test -tags node,bench -count=1 -timeout 60m -run TestBenchAgent -v ./test/node/ | grep -v '^\s*{"level"'

.PHONY: bench-manager
bench-manager: ## Scheduler go benchmarks at 100/1,000/5,000 instances; the manager binary binding 1,000 tasks over 20 and 1,000 instances and 10,000 over 1,000 (RSS), as ratios to a floor measured in the same run.
	go test -run '^$$' -bench BenchmarkPlace -benchtime 2s ./internal/scheduler/
	hack/install-tools.sh k8s
	KUBEBUILDER_ASSETS=$(K8S_BIN) go test -tags integration,bench -count=1 -timeout 60m -run TestBenchBinding -v ./test/integration/bench/ | grep -v '^\s*{"level"'

.PHONY: bench-services
bench-services: ## Service 0 → 500 tasks over 50 simulated instances; rolling update of 200 tasks at 100/200 %.
	hack/install-tools.sh k8s
	KUBEBUILDER_ASSETS=$(K8S_BIN) go test -tags integration,bench -count=1 -timeout 40m -run TestBenchService -v ./controllers/service/ | grep -v '^\s*{"level"'

.PHONY: bench-ecs-api
bench-ecs-api: ## longshore-ecs-api: DescribeTasks of 100 tasks per second through the AWS SDK, as a ratio to the same Kubernetes reads made directly.
	hack/install-tools.sh k8s
	KUBEBUILDER_ASSETS=$(K8S_BIN) go test -tags integration,bench -count=1 -timeout 20m -run TestBenchDescribeTasks -v ./test/integration/ecsapi/ | grep -v '^\s*{"level"'

.PHONY: bench
bench: bench-agent bench-manager bench-services bench-ecs-api ## Every benchmark.

##@ Local control plane

.PHONY: dev
dev: build ## Start etcd, kube-apiserver, containerd, the manager, two agents and the ECS API locally (root).
	hack/dev.sh up

.PHONY: dev-down
dev-down: ## Stop everything `make dev` started.
	hack/dev.sh down

.PHONY: dev-status
dev-status: ## Show what `make dev` runs and where its logs are.
	hack/dev.sh status

##@ Images

.PHONY: images
images: ## Build the manager, ECS API and agent images without Docker: OCI archives in bin/images/ (import: ctr -n k8s.io images import FILE).
	hack/install-tools.sh apt
	IMG_MANAGER=$(IMG_MANAGER) IMG_AGENT=$(IMG_AGENT) IMG_ECS_API=$(IMG_ECS_API) VERSION=$(VERSION) hack/images.sh

.PHONY: docker-build
docker-build: ## Build the manager, agent and ECS API images (needs a Docker or BuildKit engine).
	docker build --target manager -t $(IMG_MANAGER) .
	docker build --target agent -t $(IMG_AGENT) .
	docker build --target ecs-api -t $(IMG_ECS_API) .
