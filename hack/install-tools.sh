#!/usr/bin/env bash
# Installs Longshore's toolchain, pinned in hack/versions.env, idempotently.
#
#   hack/install-tools.sh [apt|codegen|lint|k8s|containerd|all]...
#
# apt         Debian packages (runc, CNI plugins, iptables, busybox-static, ...)
# codegen     controller-gen
# lint        golangci-lint (best effort: skipped with a warning if it won't build)
# k8s         etcd, kube-apiserver, kube-controller-manager and kubectl, built
#             from the Go module proxy; the directory is KUBEBUILDER_ASSETS for envtest
# cluster     what a real node adds (the cluster test layer): kubelet,
#             kube-scheduler and kube-proxy beside them, and runc $RUNC_VERSION
# containerd  containerd, containerd-shim-runc-v2 and ctr at the go.mod version
#
# Binaries are cached in $LONGSHORE_CACHE (default ~/.cache/longshore); a warm
# run takes seconds. A cold k8s build takes ~10 minutes on 2 cores.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

install_apt() {
	local missing=()
	for p in $APT_PACKAGES; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
	done
	if ((${#missing[@]} == 0)); then
		log "apt packages present"
		return
	fi
	require_root "installing apt packages"
	log "apt-get install ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	with_progress "apt-get update" "$LONGSHORE_CACHE/logs/apt-update.log" apt-get update
	with_progress "apt-get install" "$LONGSHORE_CACHE/logs/apt-install.log" \
		apt-get install -y --no-install-recommends "${missing[@]}"
}

install_codegen() {
	if [[ -x $CONTROLLER_GEN ]]; then
		log "controller-gen $CONTROLLER_TOOLS_VERSION present"
		return
	fi
	log "building controller-gen $CONTROLLER_TOOLS_VERSION"
	mkdir -p "$TOOLS_BIN"
	local tmp
	tmp=$(mktemp -d)
	with_progress "controller-gen" "$LONGSHORE_CACHE/logs/controller-gen.log" \
		env GOBIN="$tmp" go install "sigs.k8s.io/controller-tools/cmd/controller-gen@$CONTROLLER_TOOLS_VERSION"
	mv "$tmp/controller-gen" "$CONTROLLER_GEN"
	rmdir "$tmp"
}

install_lint() {
	if [[ -x $GOLANGCI_LINT ]]; then
		log "golangci-lint $GOLANGCI_LINT_VERSION present"
		return
	fi
	log "building golangci-lint $GOLANGCI_LINT_VERSION"
	mkdir -p "$TOOLS_BIN"
	local tmp
	tmp=$(mktemp -d)
	if (GOBIN="$tmp" go install "github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$GOLANGCI_LINT_VERSION" \
		>"$LONGSHORE_CACHE/logs/golangci-lint.log" 2>&1); then
		mv "$tmp/golangci-lint" "$GOLANGCI_LINT"
	else
		warn "golangci-lint did not build (see $LONGSHORE_CACHE/logs/golangci-lint.log); make lint falls back to gofmt + go vet"
	fi
	rm -rf "$tmp"
}

# A throwaway module under the cache builds etcd at the pinned version.
build_etcd() {
	local src=$LONGSHORE_CACHE/src/etcd-$ETCD_VERSION
	mkdir -p "$src"
	cat >"$src/go.mod" <<EOF
module longshore.local/etcd-build

go 1.26
EOF
	(
		cd "$src"
		go get "go.etcd.io/etcd/server/v3@$ETCD_VERSION"
		go build -trimpath -o "$K8S_BIN/etcd.tmp" go.etcd.io/etcd/server/v3
	)
	mv "$K8S_BIN/etcd.tmp" "$K8S_BIN/etcd"
}

# k8s.io/kubernetes cannot be built with 'go install pkg@version' because its
# go.mod replaces the 33 k8s.io/* staging modules with local paths. A throwaway
# module replaces each of them with its published v0.x version instead.
k8s_module() {
	local src=$LONGSHORE_CACHE/src/kubernetes-$K8S_VERSION
	mkdir -p "$src"
	if [[ ! -f $src/.ready ]]; then
		local gomod
		gomod=$(go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
		[[ -f $gomod ]] || die "could not download k8s.io/kubernetes@$K8S_VERSION go.mod"
		{
			echo "module longshore.local/kubernetes-build"
			echo
			echo "go 1.26"
			echo
			echo "replace ("
			sed -n 's#^[[:space:]]*\(k8s.io/[^[:space:]]*\) => ./staging/.*#\t\1 => \1 '"$K8S_STAGING_VERSION"'#p' "$gomod"
			echo ")"
		} >"$src/go.mod"
		(cd "$src" && go get "k8s.io/kubernetes/cmd/kube-apiserver@$K8S_VERSION" "k8s.io/kubernetes/cmd/kubectl@$K8S_VERSION")
		touch "$src/.ready"
	fi
	echo "$src"
}

k8s_ldflags() {
	local minor=${K8S_VERSION#v1.}
	minor=${minor%%.*}
	local p=k8s.io/component-base/version
	echo "-s -w -X $p.gitVersion=$K8S_VERSION -X $p.gitMajor=1 -X $p.gitMinor=$minor -X $p.gitTreeState=clean -X $p.buildDate=1970-01-01T00:00:00Z"
}

build_k8s_cmd() {
	local cmd=$1 src
	src=$(k8s_module)
	# Each command brings go.sum entries of its own (the kubelet: cadvisor, ...).
	(cd "$src" && go get "k8s.io/kubernetes/cmd/$cmd@$K8S_VERSION" &&
		go build -trimpath -ldflags "$(k8s_ldflags)" -o "$K8S_BIN/$cmd.tmp" "k8s.io/kubernetes/cmd/$cmd")
	mv "$K8S_BIN/$cmd.tmp" "$K8S_BIN/$cmd"
}

# install_k8s_cmd CMD WHAT: build k8s.io/kubernetes/cmd/CMD into $K8S_BIN unless it is there.
install_k8s_cmd() {
	local cmd=$1 what=$2
	if [[ -x $K8S_BIN/$cmd ]]; then
		log "$cmd $K8S_VERSION present"
	else
		log "building $cmd $K8S_VERSION ($what; cached afterwards)"
		with_progress "$cmd" "$LONGSHORE_CACHE/logs/$cmd.log" build_k8s_cmd "$cmd"
	fi
}

install_k8s() {
	mkdir -p "$K8S_BIN"
	if [[ -x $K8S_BIN/etcd ]]; then
		log "etcd $ETCD_VERSION present"
	else
		log "building etcd $ETCD_VERSION (about 1 minute cold)"
		with_progress "etcd" "$LONGSHORE_CACHE/logs/etcd.log" build_etcd
	fi
	install_k8s_cmd kube-apiserver "about 9 minutes cold on 2 cores"
	# Namespace lifecycle and the garbage collector: without it a deleted
	# namespace stays Terminating and owner references are never followed.
	install_k8s_cmd kube-controller-manager "about 1 minute after kube-apiserver"
	# envtest, make dev and the e2e tests want kubectl next to the apiserver,
	# at its version (a host's kubectl may be outside the version skew
	# policy). A symlink to the host's, from older caches, is replaced.
	if [[ -x $K8S_BIN/kubectl && ! -L $K8S_BIN/kubectl ]]; then
		log "kubectl $K8S_VERSION present"
	else
		rm -f "$K8S_BIN/kubectl"
		log "building kubectl $K8S_VERSION (about 2 minutes cold)"
		with_progress "kubectl" "$LONGSHORE_CACHE/logs/kubectl.log" build_k8s_cmd kubectl
	fi
}

# The cluster layer's node: a kubelet (with kube-scheduler and kube-proxy, so
# that pods are placed and Services reach the API server) and a runc new
# enough for the kubelet's pods.
install_cluster() {
	install_k8s
	install_k8s_cmd kubelet "about 6 minutes cold"
	install_k8s_cmd kube-scheduler "seconds after the kubelet"
	install_k8s_cmd kube-proxy "seconds after the kubelet"
	if [[ -x $RUNC_BIN/runc && $("$RUNC_BIN/runc" --version 2>/dev/null | head -n 1) == "runc version ${RUNC_VERSION#v}" ]]; then
		log "runc $RUNC_VERSION present"
	else
		log "building runc $RUNC_VERSION (about 1 minute cold)"
		with_progress "runc" "$LONGSHORE_CACHE/logs/runc.log" build_runc
	fi
}

# runc's go.mod replaces github.com/opencontainers/selinux with a fork path
# the module proxy build cannot follow; a copy of the module without that
# replace builds with libseccomp (apt: libseccomp-dev).
build_runc() {
	local dir src=$LONGSHORE_CACHE/src/runc-$RUNC_VERSION
	dir=$(go mod download -json "github.com/opencontainers/runc@$RUNC_VERSION" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
	[[ -d $dir ]] || die "could not download github.com/opencontainers/runc@$RUNC_VERSION"
	rm -rf "$src"
	cp -r "$dir" "$src"
	chmod -R u+w "$src"
	(
		cd "$src"
		go mod edit -dropreplace github.com/opencontainers/selinux
		# The vendor tree holds the replaced module; build from the proxy instead.
		rm -rf vendor
		go mod tidy
		CGO_ENABLED=1 go build -trimpath -tags seccomp -ldflags "-X main.version=${RUNC_VERSION#v} -X main.gitCommit=module-proxy" -o runc.tmp .
	)
	mkdir -p "$RUNC_BIN"
	mv "$src/runc.tmp" "$RUNC_BIN/runc"
}

build_containerd() {
	local tmp
	tmp=$(mktemp -d)
	# Stamp the version as containerd's own release builds do, so that
	# `containerd --version` and the agent's runtimeVersion are exact.
	local ldflags="-X github.com/containerd/containerd/v2/version.Version=$CONTAINERD_VERSION -X github.com/containerd/containerd/v2/version.Revision=module-proxy"
	for c in containerd containerd-shim-runc-v2 ctr; do
		GOBIN="$tmp" go install -trimpath -ldflags "$ldflags" "github.com/containerd/containerd/v2/cmd/$c@$CONTAINERD_VERSION"
	done
	mkdir -p "$CONTAINERD_BIN"
	mv "$tmp"/* "$CONTAINERD_BIN/"
	rmdir "$tmp"
}

install_containerd() {
	if [[ -x $CONTAINERD_BIN/containerd-shim-runc-v2 && -x $CONTAINERD_BIN/ctr ]] &&
		"$CONTAINERD_BIN/containerd" --version 2>/dev/null | grep -q " $CONTAINERD_VERSION "; then
		log "containerd $CONTAINERD_VERSION present"
		return
	fi
	log "building containerd $CONTAINERD_VERSION (about 3 minutes cold)"
	with_progress "containerd" "$LONGSHORE_CACHE/logs/containerd.log" build_containerd
}

main() {
	local what=("$@")
	((${#what[@]})) || what=(all)
	mkdir -p "$LONGSHORE_CACHE/logs"
	for w in "${what[@]}"; do
		case $w in
		apt) install_apt ;;
		codegen) install_codegen ;;
		lint) install_lint ;;
		k8s) install_k8s ;;
		containerd) install_containerd ;;
		cluster) install_cluster ;;
		all)
			install_apt
			install_codegen
			install_k8s
			install_containerd
			install_cluster
			install_lint
			;;
		*) die "unknown component '$w' (want apt|codegen|lint|k8s|containerd|cluster|all)" ;;
		esac
	done
}

main "$@"
