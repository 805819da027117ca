#!/usr/bin/env bash
# Keeps one component of `make dev` running: starts CMD, and whenever it
# exits starts it again after a back-off (1 s, doubling up to 30 s; back to
# 1 s once the component had stayed up 60 s). hack/dev.sh runs one per
# component, in its own session.
#
#   hack/supervise.sh NAME RUN_DIR LOG_DIR -- CMD [ARG...]
#
# RUN_DIR/NAME.pid             the component's current pid (what `hack/dev.sh status` shows)
# RUN_DIR/NAME.supervisor.pid  this supervisor's pid
# RUN_DIR/NAME.restarts        "COUNT<TAB>TIME<TAB>LAST EXIT" of this supervisor's restarts
# LOG_DIR/NAME.log             the component's output, and a line per restart
# LOG_DIR/restarts.log         a line per restart, of every component
#
# SIGTERM or SIGINT ends the supervisor and only the supervisor: the
# component keeps running, so that the caller can then stop it the way it
# chooses (hack/dev.sh down and stop-agent do). A component already running
# (its pid file names a live process) when the supervisor starts is adopted:
# watched until it exits (its exit status is then unknown), then restarted.
#
# LONGSHORE_SUPERVISE_BACKOFF_MIN_MS, LONGSHORE_SUPERVISE_BACKOFF_MAX_MS and
# LONGSHORE_SUPERVISE_RESET_S change the back-off (for tests).
set -uo pipefail

usage() { echo "usage: $0 NAME RUN_DIR LOG_DIR -- CMD [ARG...]" >&2; exit 2; }
if (($# < 5)) || [[ $4 != -- ]]; then usage; fi
name=$1 run=$2 logs=$3
shift 4

min_ms=${LONGSHORE_SUPERVISE_BACKOFF_MIN_MS:-1000}
max_ms=${LONGSHORE_SUPERVISE_BACKOFF_MAX_MS:-30000}
reset_s=${LONGSHORE_SUPERVISE_RESET_S:-60}

pidfile=$run/$name.pid
statefile=$run/$name.restarts
logfile=$logs/$name.log
history=$logs/restarts.log
mkdir -p "$run" "$logs"

stop=0
trap 'stop=1' TERM INT
trap '' HUP
echo $$ >"$run/$name.supervisor.pid"

now() { date -u +%Y-%m-%dT%H:%M:%SZ; }
say() { printf '==> supervisor %s: %s\n' "$(now)" "$*" >>"$logfile"; }

# describe RC: an exit status as a person reads it.
describe() {
	local rc=$1 sig
	if [[ $rc == unknown ]]; then
		echo "an unknown status (adopted, not a child of this supervisor)"
	elif ((rc > 128)) && sig=$(kill -l $((rc - 128)) 2>/dev/null); then
		echo "status $rc (killed by SIG$sig)"
	else
		echo "status $rc"
	fi
}

# pause MS: sleep, but return at once on SIGTERM.
pause() {
	local ms=$1
	sleep "$((ms / 1000)).$(printf '%03d' $((ms % 1000)))" &
	local s=$!
	wait "$s" 2>/dev/null
	kill "$s" 2>/dev/null
	wait "$s" 2>/dev/null
}

restarts=0
delay=$min_ms
printf '0\t-\t-\n' >"$statefile"

# A component that runs already (started before this supervisor) is watched
# by polling: it is not our child, so its exit status cannot be had.
child=
if [[ -f $pidfile ]] && p=$(cat "$pidfile" 2>/dev/null) && [[ $p =~ ^[0-9]+$ ]] && kill -0 "$p" 2>/dev/null; then
	child=$p
	say "supervising $name, already running as pid $child"
	started=$SECONDS
	while kill -0 "$child" 2>/dev/null; do
		pause 1000
		((stop)) && exit 0
	done
	rc=unknown
fi

while :; do
	if [[ -n $child ]]; then
		up=$((SECONDS - started))
		((up >= reset_s)) && delay=$min_ms
		restarts=$((restarts + 1))
		what="$(describe "$rc") after ${up}s up"
		printf '%s\t%s\t%s\n' "$restarts" "$(now)" "$what" >"$statefile.tmp" && mv -f "$statefile.tmp" "$statefile"
		say "$name (pid $child) exited with $what; restart $restarts in $((delay / 1000)).$(printf '%03d' $((delay % 1000)))s"
		printf '%s %s (pid %s) exited with %s; restart %d in %d ms\n' "$(now)" "$name" "$child" "$what" "$restarts" "$delay" >>"$history"
		pause "$delay"
		((stop)) && exit 0
		delay=$((delay * 2))
		((delay > max_ms)) && delay=$max_ms
	fi
	"$@" >>"$logfile" 2>&1 </dev/null &
	child=$!
	started=$SECONDS
	echo "$child" >"$pidfile.tmp" && mv -f "$pidfile.tmp" "$pidfile"
	# SIGTERM arrived while starting: the component runs; leave it to the caller.
	((stop)) && exit 0
	while :; do
		wait "$child"
		rc=$?
		((stop)) && exit 0
		# wait returns early only for a signal to this shell; the child exited otherwise.
		kill -0 "$child" 2>/dev/null || break
	done
done
