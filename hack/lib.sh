# shellcheck shell=bash
# Common paths and helpers for hack/*.sh. Source it; do not run it.
#
# Everything Longshore installs lives in $LONGSHORE_CACHE (default
# ~/.cache/longshore), outside the checkout, keyed by version, so a second
# run and CI on a clean clone reuse it.

LONGSHORE_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=versions.env
source "$LONGSHORE_ROOT/hack/versions.env"

LONGSHORE_CACHE=${LONGSHORE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/longshore}
# kube-apiserver, etcd and kubectl side by side: this directory is KUBEBUILDER_ASSETS.
K8S_BIN=$LONGSHORE_CACHE/k8s-$K8S_VERSION-etcd-$ETCD_VERSION
CONTAINERD_BIN=$LONGSHORE_CACHE/containerd-$CONTAINERD_VERSION
RUNC_BIN=$LONGSHORE_CACHE/runc-$RUNC_VERSION
TOOLS_BIN=$LONGSHORE_CACHE/tools
CONTROLLER_GEN=$TOOLS_BIN/controller-gen-$CONTROLLER_TOOLS_VERSION
GOLANGCI_LINT=$TOOLS_BIN/golangci-lint-$GOLANGCI_LINT_VERSION
LOCALBIN=$LONGSHORE_ROOT/bin

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
warn() { printf '\033[33mwarning: %s\033[0m\n' "$*" >&2; }
die() { printf '\033[31merror: %s\033[0m\n' "$*" >&2; exit 1; }

# with_progress NAME LOGFILE CMD...: runs CMD with its output in LOGFILE and
# prints a line every 20 s so a long cold build is visibly alive. On failure
# the tail of the log is shown.
with_progress() {
	local name=$1 logfile=$2
	shift 2
	mkdir -p "$(dirname "$logfile")"
	local start=$SECONDS
	"$@" >"$logfile" 2>&1 &
	local pid=$!
	while kill -0 "$pid" 2>/dev/null; do
		sleep 1
		local el=$((SECONDS - start))
		if ((el > 0 && el % 20 == 0)); then
			printf '    ... %s: %dm%02ds elapsed (log: %s)\n' "$name" $((el / 60)) $((el % 60)) "$logfile" >&2
		fi
	done
	if ! wait "$pid"; then
		tail -n 40 "$logfile" >&2
		die "$name failed after $((SECONDS - start))s; full log: $logfile"
	fi
	printf '    %s done in %ds\n' "$name" $((SECONDS - start)) >&2
}

require_root() {
	[[ $(id -u) == 0 ]] || die "$1 needs root (containerd, netns and CNI are host-level)"
}
