#!/usr/bin/env bash
# Starts and stops a private containerd (root, state and socket under DIR),
# built at the version pinned in hack/versions.env. Used by `make dev` and by
# the node tests. Needs root.
#
#   hack/containerd.sh start DIR   # waits until the socket answers; prints nothing else
#   hack/containerd.sh run DIR     # runs containerd in the foreground (for a supervisor: hack/dev.sh)
#   hack/containerd.sh stop DIR    # kills its containers and shims, unmounts, keeps DIR
#   hack/containerd.sh env         # prints CONTAINERD_BIN=…
#
# containerd may exit and be started again (start or run) while its
# containers run: their shims outlive it, and it reconnects to them. Only
# stop ends them.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

# prepare DIR: checks and the configuration, shared by start and run.
prepare() {
	local dir=$1
	require_root "containerd"
	[[ -x $CONTAINERD_BIN/containerd ]] || die "containerd $CONTAINERD_VERSION is not installed: run hack/install-tools.sh containerd"
	command -v runc >/dev/null || die "runc is not installed: run hack/install-tools.sh apt"
	mkdir -p "$dir"
	sed "s#@DIR@#$dir#g" "$LONGSHORE_ROOT/hack/containerd-config.toml" >"$dir/config.toml"
}

alive() { [[ -f $1/containerd.pid ]] && kill -0 "$(cat "$1/containerd.pid")" 2>/dev/null; }

start() {
	local dir=$1
	alive "$dir" && return 0
	prepare "$dir"
	# The v2 shim must come first in PATH, or containerd picks a distro's 1.x shim.
	PATH="$CONTAINERD_BIN:$PATH" setsid "$CONTAINERD_BIN/containerd" --config "$dir/config.toml" \
		>>"$dir/containerd.log" 2>&1 </dev/null &
	echo $! >"$dir/containerd.pid"
	for _ in $(seq 1 100); do
		if "$CONTAINERD_BIN/ctr" --address "$dir/containerd.sock" version >/dev/null 2>&1; then
			return 0
		fi
		kill -0 "$(cat "$dir/containerd.pid")" 2>/dev/null || break
		sleep 0.1
	done
	tail -n 20 "$dir/containerd.log" >&2
	die "containerd did not come up (log: $dir/containerd.log)"
}

# run DIR: containerd in the foreground, its output on stdout and stderr;
# its pid (this shell's, exec'd) in DIR/containerd.pid so that stop finds it.
run() {
	local dir=$1
	alive "$dir" && die "containerd already runs for $dir (pid $(cat "$dir/containerd.pid"))"
	prepare "$dir"
	echo $$ >"$dir/containerd.pid"
	# The v2 shim must come first in PATH, or containerd picks a distro's 1.x shim.
	PATH="$CONTAINERD_BIN:$PATH" exec "$CONTAINERD_BIN/containerd" --config "$dir/config.toml"
}

stop() {
	local dir=$1 sock=$1/containerd.sock
	local ctr=("$CONTAINERD_BIN/ctr" --address "$sock")
	if [[ -f $dir/containerd.pid ]] && kill -0 "$(cat "$dir/containerd.pid")" 2>/dev/null; then
		# Remove every task and container it runs, in every namespace.
		for ns in $("${ctr[@]}" namespaces ls -q 2>/dev/null); do
			for t in $("${ctr[@]}" -n "$ns" tasks ls -q 2>/dev/null); do
				"${ctr[@]}" -n "$ns" tasks kill -a -s SIGKILL "$t" >/dev/null 2>&1 || true
				"${ctr[@]}" -n "$ns" tasks delete -f "$t" >/dev/null 2>&1 || true
			done
			for c in $("${ctr[@]}" -n "$ns" containers ls -q 2>/dev/null); do
				"${ctr[@]}" -n "$ns" containers delete "$c" >/dev/null 2>&1 || true
			done
		done
		local pid
		pid=$(cat "$dir/containerd.pid")
		kill "$pid" 2>/dev/null || true
		for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -9 "$pid" 2>/dev/null || true
	fi
	rm -f "$dir/containerd.pid"
	# Shims outlive containerd by design; end the ones of this daemon.
	pkill -9 -f "containerd-shim-runc-v2 .*-address $sock( |$)" 2>/dev/null || true
	# Unmount whatever is left under DIR (snapshots, shm), deepest first.
	awk -v d="$dir/" 'index($2, d) == 1 {print $2}' /proc/self/mounts | sort -r | while read -r m; do
		umount -l "$m" 2>/dev/null || true
	done
}

case ${1:-} in
start) start "${2:?usage: $0 start DIR}" ;;
run) run "${2:?usage: $0 run DIR}" ;;
stop) stop "${2:?usage: $0 stop DIR}" ;;
env) echo "CONTAINERD_BIN=$CONTAINERD_BIN" ;;
*) die "usage: $0 start|run|stop DIR | env" ;;
esac
