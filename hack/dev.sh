#!/usr/bin/env bash
# The local system of `make dev`: etcd, kube-apiserver (TLS, client
# certificates, RBAC), one containerd, a local image registry,
# longshore-manager and two longshore-agents (instances dev-a and dev-b in
# availability zones a and b), all on 127.0.0.1 and all under
# $LONGSHORE_DEV_DIR. The end-to-end tests (test/e2e) run this same script
# with their own directory.
#
#   hack/dev.sh up            start what is not running (idempotent), print next steps
#   hack/dev.sh down          stop everything `up` started, and nothing else
#   hack/dev.sh status        what runs, where its logs are
#   hack/dev.sh purge         down, then delete $LONGSHORE_DEV_DIR (etcd data, certificates, logs)
#   hack/dev.sh stop-agent X  stop agent X (a or b) alone; `up` starts it again
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
REGISTRY_PORT=${LONGSHORE_DEV_REGISTRY_PORT:-15000}
MANAGER_PORTS=(18080 18081) # metrics, probes
# Extra manager flags, e.g. LONGSHORE_DEV_MANAGER_FLAGS="--instance-lost-timeout 20s".
read -r -a MANAGER_FLAGS <<<"${LONGSHORE_DEV_MANAGER_FLAGS:-}"

# The two agents share the host, so everything host-wide is split between
# them: containerd namespace, state, log and netns directories, bridges,
# bridge subnets and the dynamic host-port range. The awsvpc subnets come
# from the Cluster (a /24 per instance, assigned by the manager).
AGENTS=(a b)
declare -A AGENT_PORTS=([a]="18090 18091" [b]="18092 18093") # metrics, probes
declare -A AGENT_BRIDGE_CIDR=([a]=172.29.1.0/24 [b]=172.29.2.0/24)
declare -A AGENT_PORT_RANGE=([a]=49153-57343 [b]=57344-65535)
NETNS_BASE=/run/longshore-$(basename "$DEV_DIR")
agent_name() { echo "dev-$1"; }
agent_netns() { echo "$NETNS_BASE/netns-$1"; }
agent_bridges() { echo "ls-$1-br ls-$1-vpc"; }
COMPONENTS=(etcd kube-apiserver containerd registry manager agent-a agent-b)

IMAGE=localhost/longshore/busybox:latest
REGISTRY=127.0.0.1:$REGISTRY_PORT

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
	kubeconfig "$ADMIN_KUBECONFIG" longshore-admin admin
	kubeconfig "$DEV_DIR/manager.kubeconfig" longshore-manager manager
	local x name
	for x in "${AGENTS[@]}"; do
		name=$(agent_name "$x")
		client_cert "agent-$name" "longshore-agent:$name" longshore:agents
		kubeconfig "$DEV_DIR/agent-$name.kubeconfig" "longshore-agent:$name" "agent-$name"
	done
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
		-f "$LONGSHORE_ROOT/config/policy/dependson-acyclic.yaml" -f "$LONGSHORE_ROOT/config/policy/ecs-mapped-fields.yaml" \
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

	registry
	images

	start_bg manager "$LONGSHORE_ROOT/bin/longshore-manager" --kubeconfig "$DEV_DIR/manager.kubeconfig" \
		--metrics-bind-address "127.0.0.1:${MANAGER_PORTS[0]}" --health-probe-bind-address "127.0.0.1:${MANAGER_PORTS[1]}" \
		--leader-election-namespace longshore-system "${MANAGER_FLAGS[@]}"
	wait_for manager 60 curl -fsS "http://127.0.0.1:${MANAGER_PORTS[1]}/readyz"

	local x ports
	for x in "${AGENTS[@]}"; do start_agent "$x"; done
	for x in "${AGENTS[@]}"; do
		read -r -a ports <<<"${AGENT_PORTS[$x]}"
		wait_for "agent-$x" 60 curl -fsS "http://127.0.0.1:${ports[1]}/readyz"
	done

	status
	cat <<EOF

Longshore is up: two container instances, $(agent_name a) (zone a) and $(agent_name b) (zone b).
Next (docs/getting-started.md walks through them):

  export KUBECONFIG=$ADMIN_KUBECONFIG PATH=$K8S_BIN:\$PATH
  kubectl get ecs                          # the Cluster and the two ContainerInstances
  kubectl apply -f config/samples/         # task definitions per network mode, Tasks, Services
  kubectl get ecstask -o wide              # where each task runs, its IP and state
  curl http://\$(kubectl get ecstask web-once -o jsonpath='{.status.attachments[0].details.ipv4Address}'):8080/
  kubectl scale ecssvc web --replicas=5    # and watch: kubectl get ecstask -w

Images: $IMAGE (imported into both instances), $REGISTRY/longshore/{busybox,worker}:latest (pulled from the local registry).
Logs: $LOGS/{etcd,kube-apiserver,containerd,registry,manager,agent-a,agent-b}.log, task output under $LOGS/tasks/
Stop: make dev-down (keeps data; 'hack/dev.sh purge' deletes it)
EOF
}

# registry runs a Docker registry (Debian package docker-registry) on
# 127.0.0.1 without authentication, so task definitions can name images that
# are pulled rather than imported.
registry() {
	mkdir -p "$DEV_DIR/registry"
	check_port_free registry "$REGISTRY_PORT"
	cat >"$DEV_DIR/registry/config.yml" <<EOF
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $DEV_DIR/registry/data
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$REGISTRY_PORT
EOF
	start_bg registry /usr/bin/docker-registry serve "$DEV_DIR/registry/config.yml"
	wait_for registry 30 curl -fsS "http://$REGISTRY/v2/"
}

# images builds the sample images from busybox-static (no registry on the
# internet is needed): the web image is imported into each instance's
# containerd namespace, and it and the stub worker are pushed to the local
# registry.
images() {
	log "building the sample images: $IMAGE into both instances; $REGISTRY/longshore/{busybox,worker}:latest"
	local x
	(
		cd "$LONGSHORE_ROOT"
		go build -o "$DEV_DIR/imagebuild" ./hack/imagebuild
		for x in "${AGENTS[@]}"; do
			"$DEV_DIR/imagebuild" --ref "$IMAGE" --address "$DEV_DIR/containerd/containerd.sock" --namespace "longshore-$x"
		done
		"$DEV_DIR/imagebuild" --ref "$IMAGE" --push-url "http://$REGISTRY" --push-repo longshore/busybox
		"$DEV_DIR/imagebuild" --ref "$REGISTRY/longshore/worker:latest" --worker --push-url "http://$REGISTRY" --push-repo longshore/worker
	) >>"$LOGS/install.log" 2>&1 || die "building the sample images failed (log: $LOGS/install.log)"
}

# start_agent X starts agent X (a or b) with everything host-wide of its own.
start_agent() {
	local x=$1 name ports bridges
	name=$(agent_name "$x")
	read -r -a ports <<<"${AGENT_PORTS[$x]}"
	read -r -a bridges <<<"$(agent_bridges "$x")"
	start_bg "agent-$x" "$LONGSHORE_ROOT/bin/longshore-agent" --kubeconfig "$DEV_DIR/agent-$name.kubeconfig" \
		--instance-name "$name" --availability-zone "$x" \
		--containerd-address "$DEV_DIR/containerd/containerd.sock" --containerd-namespace "longshore-$x" \
		--state-dir "$DEV_DIR/agent-$x" --log-dir "$LOGS/tasks/$name" --netns-dir "$(agent_netns "$x")" \
		--bridge-name "${bridges[0]}" --bridge-cidr "${AGENT_BRIDGE_CIDR[$x]}" --task-bridge-name "${bridges[1]}" \
		--dynamic-port-range "${AGENT_PORT_RANGE[$x]}" --image-pull-behavior prefer-cached \
		--lease-namespace longshore-system \
		--metrics-bind-address "127.0.0.1:${ports[0]}" --health-probe-bind-address "127.0.0.1:${ports[1]}"
}

stop_pid() { # NAME [SIGNAL]
	local name=$1 sig=${2:-TERM} pid
	running "$name" || { rm -f "$(pidfile "$name")"; return 0; }
	pid=$(cat "$(pidfile "$name")")
	log "stopping $name (pid $pid, SIG$sig)"
	kill "-$sig" "$pid" 2>/dev/null || true
	for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	if kill -0 "$pid" 2>/dev/null; then
		warn "$name did not stop in 10s; killing it"
		kill -9 "$pid" 2>/dev/null || true
	fi
	rm -f "$(pidfile "$name")"
}

down() {
	[[ -d $RUN ]] || { log "nothing to stop ($DEV_DIR does not exist)"; return 0; }
	local x ports br ns
	if running kube-apiserver && running containerd; then
		# A stopped agent would leave its tasks (and their network) behind:
		# start it for the clean-up.
		for x in "${AGENTS[@]}"; do
			running "agent-$x" && continue
			log "starting agent-$x again so that it cleans up its tasks"
			start_agent "$x"
			read -r -a ports <<<"${AGENT_PORTS[$x]}"
			for _ in $(seq 1 150); do
				curl -fsS "http://127.0.0.1:${ports[1]}/readyz" >/dev/null 2>&1 && break
				running "agent-$x" || break
				sleep 0.2
			done
		done
	fi
	if { running agent-a || running agent-b; } && running kube-apiserver; then
		# The agents remove each task's containers, namespaces, addresses
		# and firewall rules as the tasks go; stopping containerd alone
		# would leave the network behind.
		# Services first (they drain their tasks and would replace deleted
		# ones), then the remaining Tasks. Tasks of an agent that could not
		# start wait for it until the timeout; its namespaces and bridges
		# are removed below, its containers with containerd's, and its
		# startup garbage collection removes the rest when it runs again.
		log "deleting every Service and Task so that the agents clean up after them"
		"$KUBECTL" --kubeconfig "$ADMIN_KUBECONFIG" delete services.ecs.longshore.io --all --all-namespaces --timeout 120s >/dev/null ||
			warn "some Services were not drained within 120s"
		"$KUBECTL" --kubeconfig "$ADMIN_KUBECONFIG" delete tasks.ecs.longshore.io --all --all-namespaces --timeout 90s >/dev/null ||
			warn "some Tasks were not cleaned up within 90s"
	fi
	for x in "${AGENTS[@]}"; do stop_pid "agent-$x"; done
	stop_pid manager
	stop_pid registry
	if [[ -d $DEV_DIR/containerd ]]; then
		log "stopping containerd and removing its containers"
		"$LONGSHORE_ROOT/hack/containerd.sh" stop "$DEV_DIR/containerd"
	fi
	rm -f "$(pidfile containerd)"
	stop_pid kube-apiserver
	stop_pid etcd
	# Whatever a killed agent could not clean: pinned namespaces and bridges.
	for x in "${AGENTS[@]}"; do
		for ns in "$(agent_netns "$x")"/*; do
			[[ -e $ns ]] || continue
			umount "$ns" 2>/dev/null || true
			rm -f "$ns"
		done
		for br in $(agent_bridges "$x"); do
			if ip link show "$br" >/dev/null 2>&1; then ip link delete "$br"; fi
		done
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
	printf 'registry       http://%s/v2/\n' "$REGISTRY"
	printf 'manager        metrics http://127.0.0.1:%s/metrics  probes http://127.0.0.1:%s/readyz\n' "${MANAGER_PORTS[@]}"
	local x
	for x in "${AGENTS[@]}"; do
		# shellcheck disable=SC2086 # the two ports
		printf 'agent-%s        metrics http://127.0.0.1:%s/metrics  probes http://127.0.0.1:%s/readyz\n' "$x" ${AGENT_PORTS[$x]}
	done
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
stop-agent)
	[[ -n ${AGENT_PORTS[${2:-}]:-} ]] || die "usage: $0 stop-agent a|b [SIGNAL]"
	stop_pid "agent-$2" "${3:-TERM}"
	;;
*) die "usage: $0 up|down|status|purge|stop-agent a|b [SIGNAL]" ;;
esac
