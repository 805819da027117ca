#!/usr/bin/env bash
# Builds Longshore's three images without Docker, from the same static Go
# build as the Dockerfile's stages, as OCI image archives:
#
#   bin/images/longshore-manager.tar  the manager binary alone, as uid 65532
#                                     (the Dockerfile's distroless "nonroot")
#   bin/images/longshore-ecs-api.tar  the ECS API binary alone, likewise
#   bin/images/longshore-agent.tar    a Debian bookworm minbase tree with the
#                                     CNI plugins, iptables and iproute2 (the
#                                     Dockerfile's bookworm-slim + apt-get),
#                                     made by mmdebstrap and cached, plus the
#                                     agent, logger and init in /usr/local/bin
#
#   hack/images.sh                          build them (IMG_MANAGER, IMG_ECS_API, IMG_AGENT name them)
#   hack/images.sh import SOCKET [NS]       build, then import them into a containerd (namespace k8s.io by default)
#
# IMG_MANAGER, IMG_ECS_API and IMG_AGENT default to
# longshore/{manager,ecs-api,agent}:latest, the names config/default and
# config/ecs-api deploy. VERSION is stamped into the binaries and the
# image labels. Needs root for mmdebstrap on the first build of the base.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

IMG_MANAGER=${IMG_MANAGER:-longshore/manager:latest}
IMG_AGENT=${IMG_AGENT:-longshore/agent:latest}
IMG_ECS_API=${IMG_ECS_API:-longshore/ecs-api:latest}
VERSION=${VERSION:-$(git -C "$LONGSHORE_ROOT" describe --tags --always --dirty 2>/dev/null || echo dev)}
OUT=$LOCALBIN/images
# What the agent image needs besides Debian's minbase: the plugins it runs,
# the tools they call (and the agent's masquerade and App Mesh rules).
AGENT_BASE_SUITE=bookworm
AGENT_BASE_PACKAGES=containernetworking-plugins,iptables,iproute2,ca-certificates

# agent_base prints the path of the cached Debian tree, building it first
# when the suite, packages or apt sources changed.
agent_base() {
	local sources key tar
	sources=$(cat /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null || true)
	key=$(printf '%s\n%s\n%s\n' "$AGENT_BASE_SUITE" "$AGENT_BASE_PACKAGES" "$sources" | sha256sum | cut -c1-16)
	tar=$LONGSHORE_CACHE/images/agent-base-$AGENT_BASE_SUITE-$key.tar
	if [[ ! -s $tar ]]; then
		command -v mmdebstrap >/dev/null || die "mmdebstrap is missing: run hack/install-tools.sh apt"
		require_root "building the agent image's Debian base with mmdebstrap"
		mkdir -p "$(dirname "$tar")"
		log "building the agent image's Debian $AGENT_BASE_SUITE base (about 30 s; cached in $tar)"
		# The host's apt sources, so it works wherever apt-get does.
		local srcfile
		srcfile=$(mktemp --suffix .sources)
		if compgen -G '/etc/apt/sources.list.d/*.sources' >/dev/null; then
			cat /etc/apt/sources.list.d/*.sources >"$srcfile"
		fi
		local mirrors=("$srcfile")
		[[ -s $srcfile ]] || mirrors=(/etc/apt/sources.list)
		with_progress mmdebstrap "$LONGSHORE_CACHE/logs/mmdebstrap.log" env SOURCE_DATE_EPOCH=0 \
			mmdebstrap --format=tar --variant=minbase --include="$AGENT_BASE_PACKAGES" \
			--dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/doc/*' \
			--dpkgopt='path-exclude=/usr/share/locale/*' \
			"$AGENT_BASE_SUITE" "$tar.tmp" "${mirrors[@]}"
		rm -f "$srcfile"
		mv "$tar.tmp" "$tar"
	fi
	echo "$tar"
}

build() {
	mkdir -p "$OUT/build"
	local ldflags="-s -w -X github.com/longshore-io/longshore/internal/version.Version=$VERSION"
	log "building static binaries ($VERSION)"
	(
		cd "$LONGSHORE_ROOT"
		CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$OUT/build/longshore-manager" ./cmd/manager
		CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$OUT/build/longshore-ecs-api" ./cmd/ecs-api
		CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$OUT/build/longshore-agent" ./cmd/agent
		CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$OUT/build/longshore-logger" ./cmd/logger
		CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$OUT/build/longshore-init" ./cmd/init
		go build -o "$OUT/build/imagebuild" ./hack/imagebuild
	)
	local base
	base=$(agent_base)
	printf 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' >"$OUT/build/passwd"
	printf 'root:x:0:\nnonroot:x:65532:\n' >"$OUT/build/group"
	local labels=(--label "org.opencontainers.image.version=$VERSION" --label "org.opencontainers.image.source=https://github.com/longshore-io/longshore")

	log "building $IMG_MANAGER -> $OUT/longshore-manager.tar"
	"$OUT/build/imagebuild" --ref "$IMG_MANAGER" --scratch --busybox-applets=false "${labels[@]}" \
		--label "org.opencontainers.image.title=longshore-manager" \
		--file "$OUT/build/longshore-manager:/longshore-manager:0755" \
		--file "$OUT/build/passwd:/etc/passwd:0644" --file "$OUT/build/group:/etc/group:0644" \
		--entrypoint '["/longshore-manager"]' --user 65532:65532 -o "$OUT/longshore-manager.tar"

	log "building $IMG_ECS_API -> $OUT/longshore-ecs-api.tar"
	"$OUT/build/imagebuild" --ref "$IMG_ECS_API" --scratch --busybox-applets=false "${labels[@]}" \
		--label "org.opencontainers.image.title=longshore-ecs-api" \
		--file "$OUT/build/longshore-ecs-api:/longshore-ecs-api:0755" \
		--file "$OUT/build/passwd:/etc/passwd:0644" --file "$OUT/build/group:/etc/group:0644" \
		--entrypoint '["/longshore-ecs-api"]' --user 65532:65532 -o "$OUT/longshore-ecs-api.tar"

	log "building $IMG_AGENT -> $OUT/longshore-agent.tar"
	"$OUT/build/imagebuild" --ref "$IMG_AGENT" --base "$base" --busybox-applets=false "${labels[@]}" \
		--label "org.opencontainers.image.title=longshore-agent" \
		--file "$OUT/build/longshore-agent:/usr/local/bin/longshore-agent:0755" \
		--file "$OUT/build/longshore-logger:/usr/local/bin/longshore-logger:0755" \
		--file "$OUT/build/longshore-init:/usr/local/bin/longshore-init:0755" \
		--entrypoint '["/usr/local/bin/longshore-agent"]' -o "$OUT/longshore-agent.tar"
}

import() {
	local sock=$1 ns=${2:-k8s.io}
	[[ -x $CONTAINERD_BIN/ctr ]] || die "ctr is missing: run hack/install-tools.sh containerd"
	local t
	for t in longshore-manager longshore-ecs-api longshore-agent; do
		log "importing $OUT/$t.tar into containerd $sock (namespace $ns)"
		"$CONTAINERD_BIN/ctr" --address "$sock" -n "$ns" images import "$OUT/$t.tar" >/dev/null
	done
}

case ${1:-build} in
build) build ;;
import)
	build
	import "${2:?usage: $0 import SOCKET [NAMESPACE]}" "${3:-}"
	;;
*) die "usage: $0 [build | import SOCKET [NAMESPACE]]" ;;
esac
