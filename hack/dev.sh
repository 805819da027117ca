#!/usr/bin/env bash
# The local control plane of `make dev`: etcd, kube-apiserver (TLS, client
# certificates, RBAC), a private containerd, longshore-manager and one
# longshore-agent, all on 127.0.0.1 and all under $LONGSHORE_DEV_DIR.
#
#   hack/dev.sh up       start what is not running (idempotent), print next steps
#   hack/dev.sh down     stop everything `up` started, and nothing else
#   hack/dev.sh status   what runs, where its logs are
#   hack/dev.sh purge    down, then delete $LONGSHORE_DEV_DIR (etcd data, certificates, logs)
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

DEV_DIR=${LONGSHORE_DEV_DIR:-/var/lib/longshore/dev}
PKI=$DEV_DIR/pki
LOGS=$DEV_DIR/logs
RUN=$DEV_DIR/run
KUBECTL=$K8S_BIN/kubectl
ADMIN_KUBECONFIG=$DEV_DIR/admin.kubeconfig

ETCD_PORT=${LONGSHORE_DEV_ETCD_PORT:-23790}
APISERVER_PORT=${LONGSHORE_DEV_APISERVER_PORT:-16443}
MANAGER_PORTS=(18080 18081) # metrics, probes
AGENT_PORTS=(18090 18091)
AGENT_NAME=${LONGSHORE_DEV_AGENT_NAME:-dev-a}
COMPONENTS=(etcd kube-apiserver containerd manager agent)
NETNS_DIR=/run/longshore-dev/netns
BRIDGE=ls-br0
TASK_BRIDGE=ls-vpc0
IMAGE=localhost/longshore/busybox:latest

pidfile() { echo "$RUN/$1.pid"; }
running() { [[ -f $(pidfile "$1") ]] && kill -0 "$(cat "$(pidfile "$1")")" 2>/dev/null; }

# start_bg NAME CMD...: run CMD in its own session, output to $LOGS/NAME.log.
start_bg() {
	local name=$1
	shift
	if running "$name"; then
		log "$name already running (pid $(cat "$(pidfile "$name")"))"
		return
	fi
	log "starting $name (log: $LOGS/$name.log)"
	setsid "$@" >>"$LOGS/$name.log" 2>&1 </dev/null &
	echo $! >"$(pidfile "$name")"
}

# wait_for NAME SECONDS CMD...: poll CMD until it succeeds.
wait_for() {
	local name=$1 secs=$2
	shift 2
	for _ in $(seq 1 $((secs * 5))); do
		if "$@" >/dev/null 2>&1; then return 0; fi
		if ! running "$name"; then
			tail -n 30 "$LOGS/$name.log" >&2
			die "$name exited (log: $LOGS/$name.log)"
		fi
		sleep 0.2
	done
	tail -n 30 "$LOGS/$name.log" >&2
	die "$name not ready after ${secs}s (log: $LOGS/$name.log)"
}

# ---- certificates -----------------------------------------------------------

client_cert() { # NAME CN ORG
	local name=$1 cn=$2 org=$3
	[[ -f $PKI/$name.crt ]] && return
	openssl req -new -newkey rsa:2048 -nodes -keyout "$PKI/$name.key" -subj "/CN=$cn/O=$org" -out "$PKI/$name.csr" 2>/dev/null
	openssl x509 -req -in "$PKI/$name.csr" -CA "$PKI/ca.crt" -CAkey "$PKI/ca.key" -CAcreateserial -days 365 \
		-extfile <(printf 'extendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature,keyEncipherment\n') \
		-out "$PKI/$name.crt" 2>/dev/null
	rm -f "$PKI/$name.csr"
}

kubeconfig() { # FILE USER CERTNAME
	local file=$1 user=$2 cert=$3
	[[ -f $file ]] && return
	"$KUBECTL" config set-cluster longshore-dev --kubeconfig "$file" --server "https://127.0.0.1:$APISERVER_PORT" \
		--certificate-authority "$PKI/ca.crt" --embed-certs >/dev/null
	"$KUBECTL" config set-credentials "$user" --kubeconfig "$file" --client-certificate "$PKI/$cert.crt" \
		--client-key "$PKI/$cert.key" --embed-certs >/dev/null
	"$KUBECTL" config set-context longshore-dev --kubeconfig "$file" --cluster longshore-dev --user "$user" >/dev/null
	"$KUBECTL" config use-context longshore-dev --kubeconfig "$file" >/dev/null
	chmod 600 "$file"
}

pki() {
	mkdir -p "$PKI"
	if [[ ! -f $PKI/ca.crt ]]; then
		log "creating a certificate authority and certificates in $PKI"
		openssl req -x509 -new -newkey rsa:2048 -nodes -keyout "$PKI/ca.key" -subj "/CN=longshore-dev-ca" \
			-days 3650 -out "$PKI/ca.crt" 2>/dev/null
	fi
	if [[ ! -f $PKI/apiserver.crt ]]; then
		openssl req -new -newkey rsa:2048 -nodes -keyout "$PKI/apiserver.key" -subj "/CN=kube-apiserver" \
			-out "$PKI/apiserver.csr" 2>/dev/null
		openssl x509 -req -in "$PKI/apiserver.csr" -CA "$PKI/ca.crt" -CAkey "$PKI/ca.key" -CAcreateserial -days 365 \
			-extfile <(printf 'subjectAltName=IP:127.0.0.1,IP:10.96.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc\nextendedKeyUsage=serverAuth\n') \
			-out "$PKI/apiserver.crt" 2>/dev/null
		rm -f "$PKI/apiserver.csr"
	fi
	[[ -f $PKI/sa.key ]] || {
		openssl genrsa -out "$PKI/sa.key" 2048 2>/dev/null
		openssl rsa -in "$PKI/sa.key" -pubout -out "$PKI/sa.pub" 2>/dev/null
	}
	client_cert admin longshore-admin system:masters
	client_cert manager longshore-manager longshore:managers
	client_cert "agent-$AGENT_NAME" "longshore-agent:$AGENT_NAME" longshore:agents
	kubeconfig "$ADMIN_KUBECONFIG" longshore-admin admin
	kubeconfig "$DEV_DIR/manager.kubeconfig" longshore-manager manager
	kubeconfig "$DEV_DIR/agent-$AGENT_NAME.kubeconfig" "longshore-agent:$AGENT_NAME" "agent-$AGENT_NAME"
}

# ---- up / down ----------------------------------------------------------------

check_port_free() { # NAME PORT
	if ! running "$1" && (exec 3<>"/dev/tcp/127.0.0.1/$2") 2>/dev/null; then
		die "port 127.0.0.1:$2 for $1 is taken by another process; set LONGSHORE_DEV_*_PORT or stop it"
	fi
}

up() {
	require_root "make dev"
	"$LONGSHORE_ROOT/hack/install-tools.sh" apt k8s containerd
	[[ -x $LONGSHORE_ROOT/bin/longshore-manager && -x $LONGSHORE_ROOT/bin/longshore-agent ]] ||
		die "bin/longshore-manager and bin/longshore-agent are missing: run 'make build' (make dev does)"
	mkdir -p "$LOGS" "$RUN"
	check_port_free etcd "$ETCD_PORT"
	check_port_free kube-apiserver "$APISERVER_PORT"
	pki

	start_bg etcd "$K8S_BIN/etcd" --name longshore-dev --data-dir "$DEV_DIR/etcd" \
		--listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
		--listen-peer-urls "http://127.0.0.1:$((ETCD_PORT + 10))" \
		--initial-advertise-peer-urls "http://127.0.0.1:$((ETCD_PORT + 10))" \
		--initial-cluster "longshore-dev=http://127.0.0.1:$((ETCD_PORT + 10))" --log-level warn
	wait_for etcd 30 curl -fsS "http://127.0.0.1:$ETCD_PORT/health"

	start_bg kube-apiserver "$K8S_BIN/kube-apiserver" \
		--etcd-servers "http://127.0.0.1:$ETCD_PORT" \
		--bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port "$APISERVER_PORT" \
		--tls-cert-file "$PKI/apiserver.crt" --tls-private-key-file "$PKI/apiserver.key" \
		--client-ca-file "$PKI/ca.crt" --authorization-mode RBAC --anonymous-auth=false \
		--service-account-key-file "$PKI/sa.pub" --service-account-signing-key-file "$PKI/sa.key" \
		--service-account-issuer https://kubernetes.default.svc --service-cluster-ip-range 10.96.0.0/24 \
		--allow-privileged=true --endpoint-reconciler-type none
	wait_for kube-apiserver 90 "$KUBECTL" --kubeconfig "$ADMIN_KUBECONFIG" get --raw /readyz

	log "installing CRDs, admission policies and RBAC"
	"$KUBECTL" --kubeconfig "$ADMIN_KUBECONFIG" apply --server-side --force-conflicts -f "$LONGSHORE_ROOT/config/crd/bases" >"$LOGS/install.log"
	"$KUBECTL" --kubeconfig "$ADMIN_KUBECONFIG" apply --server-side --force-conflicts \
		-f "$LONGSHORE_ROOT/config/policy/dependson-acyclic.yaml" \
		-f "$LONGSHORE_ROOT/config/rbac/manager/role.yaml" -f "$LONGSHORE_ROOT/config/rbac/agent/role.yaml" \
		-f "$LONGSHORE_ROOT/hack/dev/rbac-bindings.yaml" >>"$LOGS/install.log"
	"$KUBECTL" --kubeconfig "$ADMIN_KUBECONFIG" wait --for condition=Established --timeout 60s \
		-f "$LONGSHORE_ROOT/config/crd/bases" >>"$LOGS/install.log"
	# Refresh kubectl's discovery cache so `kubectl get ecs` knows the new category.
	"$KUBECTL" --kubeconfig "$ADMIN_KUBECONFIG" api-resources >/dev/null

	log "starting containerd (root, state and socket under $DEV_DIR/containerd)"
	"$LONGSHORE_ROOT/hack/containerd.sh" start "$DEV_DIR/containerd"
	# hack/containerd.sh keeps its own pid file; link it so status/down see it.
	ln -sf "$DEV_DIR/containerd/containerd.pid" "$(pidfile containerd)"
	ln -sf "$DEV_DIR/containerd/containerd.log" "$LOGS/containerd.log"
	log "importing the sample image $IMAGE (built from busybox-static; no registry needed)"
	(cd "$LONGSHORE_ROOT" && go run ./hack/imagebuild --ref "$IMAGE" --address "$DEV_DIR/containerd/containerd.sock" \
		--namespace longshore) >>"$LOGS/install.log" 2>&1 || die "importing $IMAGE failed (log: $LOGS/install.log)"

	start_bg manager "$LONGSHORE_ROOT/bin/longshore-manager" --kubeconfig "$DEV_DIR/manager.kubeconfig" \
		--metrics-bind-address "127.0.0.1:${MANAGER_PORTS[0]}" --health-probe-bind-address "127.0.0.1:${MANAGER_PORTS[1]}" \
		--leader-election-namespace longshore-system
	wait_for manager 60 curl -fsS "http://127.0.0.1:${MANAGER_PORTS[1]}/readyz"

	start_bg agent "$LONGSHORE_ROOT/bin/longshore-agent" --kubeconfig "$DEV_DIR/agent-$AGENT_NAME.kubeconfig" \
		--instance-name "$AGENT_NAME" --availability-zone a \
		--containerd-address "$DEV_DIR/containerd/containerd.sock" --containerd-namespace longshore \
		--state-dir "$DEV_DIR/agent" --log-dir "$LOGS/tasks" --netns-dir "$NETNS_DIR" \
		--bridge-name "$BRIDGE" --task-bridge-name "$TASK_BRIDGE" \
		--lease-namespace longshore-system \
		--metrics-bind-address "127.0.0.1:${AGENT_PORTS[0]}" --health-probe-bind-address "127.0.0.1:${AGENT_PORTS[1]}"
	wait_for agent 60 curl -fsS "http://127.0.0.1:${AGENT_PORTS[1]}/readyz"

	status
	cat <<EOF

Longshore is up. Next:

  export KUBECONFIG=$ADMIN_KUBECONFIG
  kubectl get ecs                          # every Longshore object (the agent registered ContainerInstance $AGENT_NAME)
  kubectl apply -f config/samples/         # a Cluster, task definitions, a Task, Services
  kubectl get ecs                          # and again
  kubectl explain task.spec                # the API, field by field

Logs: $LOGS/{etcd,kube-apiserver,containerd,manager,agent}.log
Stop: make dev-down (keeps data; 'hack/dev.sh purge' deletes it)
EOF
}

stop_pid() { # NAME
	local name=$1 pid
	running "$name" || { rm -f "$(pidfile "$name")"; return 0; }
	pid=$(cat "$(pidfile "$name")")
	log "stopping $name (pid $pid)"
	kill "$pid" 2>/dev/null || true
	for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	if kill -0 "$pid" 2>/dev/null; then
		warn "$name did not stop in 10s; killing it"
		kill -9 "$pid" 2>/dev/null || true
	fi
	rm -f "$(pidfile "$name")"
}

down() {
	[[ -d $RUN ]] || { log "nothing to stop ($DEV_DIR does not exist)"; return 0; }
	if running agent && running kube-apiserver; then
		# The agent removes each task's containers, namespaces, addresses
		# and firewall rules as the tasks go; stopping containerd alone
		# would leave the network behind.
		# Services first (they drain their tasks and would replace deleted
		# ones), then the remaining Tasks.
		log "deleting every Service and Task so that the agent cleans up after them"
		"$KUBECTL" --kubeconfig "$ADMIN_KUBECONFIG" delete services.ecs.longshore.io --all --all-namespaces --timeout 120s >/dev/null ||
			warn "some Services were not drained within 120s"
		"$KUBECTL" --kubeconfig "$ADMIN_KUBECONFIG" delete tasks.ecs.longshore.io --all --all-namespaces --timeout 90s >/dev/null ||
			warn "some Tasks were not cleaned up within 90s"
	fi
	stop_pid agent
	stop_pid manager
	if [[ -d $DEV_DIR/containerd ]]; then
		log "stopping containerd and removing its containers"
		"$LONGSHORE_ROOT/hack/containerd.sh" stop "$DEV_DIR/containerd"
	fi
	rm -f "$(pidfile containerd)"
	stop_pid kube-apiserver
	stop_pid etcd
	# Whatever a killed agent could not clean: pinned namespaces and bridges.
	if [[ -d $NETNS_DIR ]]; then
		for ns in "$NETNS_DIR"/*; do
			[[ -e $ns ]] || continue
			umount "$ns" 2>/dev/null || true
			rm -f "$ns"
		done
	fi
	for br in "$BRIDGE" "$TASK_BRIDGE"; do
		ip link show "$br" >/dev/null 2>&1 && ip link delete "$br"
	done
	local left
	left=$(awk -v d="$DEV_DIR/" 'index($2, d) == 1 {print $2}' /proc/self/mounts)
	[[ -z $left ]] || warn "mounts left under $DEV_DIR: $left"
	log "stopped; data and logs stay in $DEV_DIR"
}

status() {
	printf '\n%-15s %-8s %-8s %s\n' COMPONENT STATE PID LOG
	for c in "${COMPONENTS[@]}"; do
		if running "$c"; then
			printf '%-15s %-8s %-8s %s\n' "$c" running "$(cat "$(pidfile "$c")")" "$LOGS/$c.log"
		else
			printf '%-15s %-8s %-8s %s\n' "$c" stopped - "$LOGS/$c.log"
		fi
	done
	printf '\nkube-apiserver https://127.0.0.1:%s  kubeconfig %s\n' "$APISERVER_PORT" "$ADMIN_KUBECONFIG"
	printf 'manager  metrics http://127.0.0.1:%s/metrics  probes http://127.0.0.1:%s/readyz\n' "${MANAGER_PORTS[@]}"
	printf 'agent    metrics http://127.0.0.1:%s/metrics  probes http://127.0.0.1:%s/readyz\n' "${AGENT_PORTS[@]}"
}

purge() {
	down
	log "deleting $DEV_DIR"
	rm -rf "$DEV_DIR"
}

case ${1:-} in
up) up ;;
down) down ;;
status) status ;;
purge) purge ;;
*) die "usage: $0 up|down|status|purge" ;;
esac
