#!/usr/bin/env bash
# The local system of `make dev`: etcd, kube-apiserver (TLS, client
# certificates, RBAC), kube-controller-manager (namespace lifecycle, garbage
# collection, service accounts), one containerd, a local image registry,
# longshore-manager, two longshore-agents (instances dev-a and dev-b in
# availability zones a and b) and longshore-ecs-api (the ECS API, with one
# access key for the admin), all on 127.0.0.1 and all under
# $LONGSHORE_DEV_DIR. The end-to-end tests (test/e2e) run this same script
# with their own directory.
#
# Each component runs under its own hack/supervise.sh, which starts it again
# whenever it exits (the manager after a lost leader election, a crashed
# agent, containerd), with a back-off, and records the restart.
#
#   hack/dev.sh up            start what is not running or not supervised (idempotent), print next steps
#   hack/dev.sh down          stop the supervisors, then everything `up` started, and nothing else
#   hack/dev.sh status        what runs, its restarts and last exit, where its logs are
#   hack/dev.sh purge         down, then delete $LONGSHORE_DEV_DIR (etcd data, certificates, logs)
#   hack/dev.sh stop-agent X  stop agent X (a or b) and its supervisor: it stays down until `up`
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=pki.sh
source "$(dirname "$0")/pki.sh"

DEV_DIR=${LONGSHORE_DEV_DIR:-/var/lib/longshore/dev}
PKI=$DEV_DIR/pki
LOGS=$DEV_DIR/logs
RUN=$DEV_DIR/run
KUBECTL=$K8S_BIN/kubectl
ADMIN_KUBECONFIG=$DEV_DIR/admin.kubeconfig

ETCD_PORT=${LONGSHORE_DEV_ETCD_PORT:-23790}
APISERVER_PORT=${LONGSHORE_DEV_APISERVER_PORT:-16443}
REGISTRY_PORT=${LONGSHORE_DEV_REGISTRY_PORT:-15000}
CONTROLLER_MANAGER_PORT=${LONGSHORE_DEV_CONTROLLER_MANAGER_PORT:-16444}
MANAGER_PORTS=(18080 18081) # metrics, probes
# The ECS API (docs/ecs-api.md): HTTPS, its serving certificate signed by
# make dev's CA. ECS_API_DIR holds the admin's access key as environment
# variables for the aws CLI (aws.env, mode 0600).
ECS_API_PORT=${LONGSHORE_DEV_ECS_API_PORT:-18443}
ECS_API_REGION=us-east-1
ECS_API_DIR=$DEV_DIR/ecs-api
# The admin's access key acts as this Kubernetes user, in namespace default
# (hack/dev/ecs-api.yaml binds it to config/ecs-api's user roles).
ECS_API_ADMIN_USER=longshore-dev-ecs-admin
# Extra manager flags, e.g. LONGSHORE_DEV_MANAGER_FLAGS="--instance-lost-timeout 20s".
read -r -a MANAGER_FLAGS <<<"${LONGSHORE_DEV_MANAGER_FLAGS:-}"

# The two agents share the host, so everything host-wide is split between
# them: containerd namespace, state, log and netns directories, bridges,
# bridge subnets and the dynamic host-port range. The awsvpc subnets come
# from the Cluster (a /24 per instance, assigned by the manager).
AGENTS=(a b)
# metrics, probes, logs and exec (HTTPS), task endpoints of host-mode tasks,
# introspection: the two agents share the host's loopback.
declare -A AGENT_PORTS=([a]="18090 18091 18094 18096 18097" [b]="18092 18093 18095 18098 18099")
declare -A AGENT_BRIDGE_CIDR=([a]=172.29.1.0/24 [b]=172.29.2.0/24)
declare -A AGENT_PORT_RANGE=([a]=49153-57343 [b]=57344-65535)
NETNS_BASE=/run/longshore-$(basename "$DEV_DIR")
agent_name() { echo "dev-$1"; }
agent_netns() { echo "$NETNS_BASE/netns-$1"; }
agent_bridges() { echo "ls-$1-br ls-$1-vpc"; }
COMPONENTS=(etcd kube-apiserver kube-controller-manager containerd registry manager agent-a agent-b ecs-api)

# kube-controller-manager runs what a control plane without kubelets needs:
# namespace deletion, garbage collection of owner references, service
# accounts and their tokens, kube-root-ca.crt, aggregated ClusterRoles,
# ResourceQuota status (quota admission refuses creates without it), and the
# type checks of ValidatingAdmissionPolicies. Nothing that makes Pods or
# manages Nodes: no kubelet would run them.
CONTROLLER_MANAGER_CONTROLLERS=namespace-controller,garbage-collector-controller,serviceaccount-controller,serviceaccount-token-controller,legacy-serviceaccount-token-cleaner-controller,root-ca-certificate-publisher-controller,clusterrole-aggregation-controller,resourcequota-controller,validatingadmissionpolicy-status-controller

# reserved_ports: every TCP port make dev listens on, and ssh. Each agent
# reserves them, so the scheduler places no task that wants one of them.
reserved_ports() {
	local p=(22 "$ETCD_PORT" $((ETCD_PORT + 10)) "$APISERVER_PORT" "$CONTROLLER_MANAGER_PORT" "$REGISTRY_PORT" "${MANAGER_PORTS[@]}" "$ECS_API_PORT") x
	for x in "${AGENTS[@]}"; do
		# shellcheck disable=SC2206 # the five ports
		p+=(${AGENT_PORTS[$x]})
	done
	local IFS=,
	echo "${p[*]}"
}

IMAGE=localhost/longshore/busybox:latest
REGISTRY=127.0.0.1:$REGISTRY_PORT

pidfile() { echo "$RUN/$1.pid"; }
alive_pidfile() { [[ -f $1 ]] && kill -0 "$(cat "$1")" 2>/dev/null; }
running() { alive_pidfile "$(pidfile "$1")"; }
supervised() { alive_pidfile "$RUN/$1.supervisor.pid"; }
# restart_count NAME: restarts since its supervisor started (hack/supervise.sh's state file).
restart_count() { local n; n=$(cut -f1 "$RUN/$1.restarts" 2>/dev/null) && [[ $n =~ ^[0-9]+$ ]] && echo "$n" || echo 0; }

# Components are supervised, except while down cleans up.
SUPERVISE=1

# start_bg NAME CMD...: run CMD under hack/supervise.sh in its own session,
# output to $LOGS/NAME.log. A component running without a supervisor (one
# whose supervisor was killed) gets one, which adopts it.
start_bg() {
	local name=$1
	shift
	if ((!SUPERVISE)); then
		running "$name" && return
		log "starting $name without a supervisor (log: $LOGS/$name.log)"
		setsid "$@" >>"$LOGS/$name.log" 2>&1 </dev/null &
		echo $! >"$(pidfile "$name")"
		return
	fi
	if supervised "$name"; then
		log "$name already running under its supervisor (pid $(cat "$(pidfile "$name")"), $(restart_count "$name") restarts)"
		return
	fi
	if running "$name"; then
		log "$name runs (pid $(cat "$(pidfile "$name")")) without a supervisor: supervising it"
	else
		log "starting $name (log: $LOGS/$name.log)"
	fi
	setsid "$LONGSHORE_ROOT/hack/supervise.sh" "$name" "$RUN" "$LOGS" -- "$@" >>"$LOGS/$name.log" 2>&1 </dev/null &
	# The supervisor writes the component's pid file at once.
	for _ in $(seq 1 50); do
		running "$name" && return
		sleep 0.1
	done
	die "the supervisor of $name did not start it (log: $LOGS/$name.log)"
}

# stop_supervisor NAME: end NAME's supervisor (the component keeps running).
stop_supervisor() {
	local name=$1 pid
	supervised "$name" || { rm -f "$RUN/$name.supervisor.pid"; return 0; }
	pid=$(cat "$RUN/$name.supervisor.pid")
	kill -TERM "$pid" 2>/dev/null || true
	for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	kill -9 "$pid" 2>/dev/null || true
	rm -f "$RUN/$name.supervisor.pid"
}

# wait_for NAME SECONDS CMD...: poll CMD until it succeeds. A component that
# exits and is not restarted, or exits twice, fails `up`; its supervisor is
# stopped then, so that it does not go on restarting it.
wait_for() {
	local name=$1 secs=$2 first
	shift 2
	first=$(restart_count "$name")
	for _ in $(seq 1 $((secs * 5))); do
		if "$@" >/dev/null 2>&1; then return 0; fi
		if ! running "$name" && ! supervised "$name"; then
			not_up "$name" "exited"
		fi
		if (($(restart_count "$name") - first >= 2)); then
			not_up "$name" "exited $(($(restart_count "$name") - first)) times while starting"
		fi
		sleep 0.2
	done
	not_up "$name" "not ready after ${secs}s"
}

not_up() { # NAME WHAT
	stop_supervisor "$1"
	tail -n 30 "$LOGS/$1.log" >&2
	die "$1 $2 (log: $LOGS/$1.log)"
}

# ---- certificates -----------------------------------------------------------

pki() {
	if [[ ! -f $PKI/ca.crt ]]; then
		log "creating a certificate authority and certificates in $PKI"
	fi
	pki_ca "$PKI" longshore-dev-ca
	pki_cert "$PKI" apiserver kube-apiserver "" serverAuth \
		"IP:127.0.0.1,IP:10.96.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc"
	pki_sa_key "$PKI"
	local server=https://127.0.0.1:$APISERVER_PORT
	pki_cert "$PKI" admin longshore-admin system:masters clientAuth
	pki_cert "$PKI" manager longshore-manager longshore:managers clientAuth
	# The user the apiserver's bootstrap RBAC binds to system:kube-controller-manager.
	pki_cert "$PKI" kube-controller-manager system:kube-controller-manager "" clientAuth
	pki_kubeconfig "$ADMIN_KUBECONFIG" "$server" "$PKI" admin longshore-admin
	pki_kubeconfig "$DEV_DIR/manager.kubeconfig" "$server" "$PKI" manager longshore-manager
	pki_kubeconfig "$DEV_DIR/kube-controller-manager.kubeconfig" "$server" "$PKI" kube-controller-manager system:kube-controller-manager
	# longshore-ecs-api: its client identity (hack/dev/ecs-api.yaml binds it
	# to config/ecs-api's roles) and its serving certificate.
	pki_cert "$PKI" ecs-api longshore-ecs-api "" clientAuth
	pki_kubeconfig "$DEV_DIR/ecs-api.kubeconfig" "$server" "$PKI" ecs-api longshore-ecs-api
	pki_cert "$PKI" ecs-api-serving longshore-ecs-api "" serverAuth "IP:127.0.0.1,IP:::1,DNS:localhost"
	local x name
	for x in "${AGENTS[@]}"; do
		name=$(agent_name "$x")
		pki_cert "$PKI" "agent-$name" "longshore-agent:$name" longshore:agents clientAuth
		pki_kubeconfig "$DEV_DIR/agent-$name.kubeconfig" "$server" "$PKI" "agent-$name" "longshore-agent:$name"
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
	check_port_free kube-controller-manager "$CONTROLLER_MANAGER_PORT"
	check_port_free ecs-api "$ECS_API_PORT"
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

	# Each controller acts as its own service account (kube-system:<name>-controller),
	# whose tokens the apiserver issues; the secure port is for health and metrics.
	local kcm_kubeconfig=$DEV_DIR/kube-controller-manager.kubeconfig
	start_bg kube-controller-manager "$K8S_BIN/kube-controller-manager" \
		--kubeconfig "$kcm_kubeconfig" --authorization-kubeconfig "$kcm_kubeconfig" \
		--authentication-kubeconfig "$kcm_kubeconfig" --authentication-skip-lookup --client-ca-file "$PKI/ca.crt" \
		--bind-address 127.0.0.1 --secure-port "$CONTROLLER_MANAGER_PORT" --cert-dir "$PKI/kube-controller-manager" \
		--use-service-account-credentials --service-account-private-key-file "$PKI/sa.key" --root-ca-file "$PKI/ca.crt" \
		--controllers "$CONTROLLER_MANAGER_CONTROLLERS" --leader-elect=true
	wait_for kube-controller-manager 60 curl -fsSk "https://127.0.0.1:$CONTROLLER_MANAGER_PORT/healthz"

	log "installing CRDs, admission policies and RBAC"
	"$KUBECTL" --kubeconfig "$ADMIN_KUBECONFIG" apply --server-side --force-conflicts -f "$LONGSHORE_ROOT/config/crd/bases" >"$LOGS/install.log"
	# The bindings first: they make the namespace longshore-system, where the
	# agents' Lease Role lives. The agent-confinement policies confine the
	# agents' writes; the manager keeps their reads (controllers/agentaccess).
	"$KUBECTL" --kubeconfig "$ADMIN_KUBECONFIG" apply --server-side --force-conflicts \
		-f "$LONGSHORE_ROOT/hack/dev/rbac-bindings.yaml" \
		-f "$LONGSHORE_ROOT/config/policy/dependson-acyclic.yaml" -f "$LONGSHORE_ROOT/config/policy/ecs-mapped-fields.yaml" \
		-f "$LONGSHORE_ROOT/config/policy/agent-confinement.yaml" -f "$LONGSHORE_ROOT/config/policy/agent-access.yaml" \
		-f "$LONGSHORE_ROOT/config/policy/revision-status.yaml" \
		-f "$LONGSHORE_ROOT/config/rbac/manager/role.yaml" -f "$LONGSHORE_ROOT/config/rbac/agent/role.yaml" \
		-f "$LONGSHORE_ROOT/config/rbac/task_access_roles.yaml" >>"$LOGS/install.log"
	"$KUBECTL" --kubeconfig "$ADMIN_KUBECONFIG" wait --for condition=Established --timeout 60s \
		-f "$LONGSHORE_ROOT/config/crd/bases" >>"$LOGS/install.log"
	# Refresh kubectl's discovery cache so `kubectl get ecs` knows the new category.
	"$KUBECTL" --kubeconfig "$ADMIN_KUBECONFIG" api-resources >/dev/null

	# containerd's root, state and socket are under $DEV_DIR/containerd, and
	# its log too (linked from $LOGS). A restart keeps the containers: their
	# shims outlive it.
	mkdir -p "$DEV_DIR/containerd"
	[[ -L $LOGS/containerd.log ]] || ln -sf "$DEV_DIR/containerd/containerd.log" "$LOGS/containerd.log"
	start_bg containerd "$LONGSHORE_ROOT/hack/containerd.sh" run "$DEV_DIR/containerd"
	wait_for containerd 30 "$CONTAINERD_BIN/ctr" --address "$DEV_DIR/containerd/containerd.sock" version

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

	ecs_api

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

The ECS API (docs/ecs-api.md) with the admin's access key (user $ECS_API_ADMIN_USER, namespace default),
for Debian's aws CLI v2 (/usr/bin/aws; no 'aws configure' needed):

  . $ECS_API_DIR/aws.env    # AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_DEFAULT_REGION=$ECS_API_REGION, AWS_CA_BUNDLE=$PKI/ca.crt
  /usr/bin/aws ecs list-task-definitions --endpoint-url https://127.0.0.1:$ECS_API_PORT
  /usr/bin/aws ecs describe-services --endpoint-url https://127.0.0.1:$ECS_API_PORT --services web

Images: $IMAGE (imported into both instances), $REGISTRY/longshore/{busybox,worker}:latest (pulled from the local registry).
Logs: $LOGS/{etcd,kube-apiserver,kube-controller-manager,containerd,registry,manager,agent-a,agent-b,ecs-api}.log, task output under $LOGS/tasks/
Every component is restarted when it exits; make dev-status shows the restarts, $LOGS/restarts.log lists them.
Stop: make dev-down (keeps data; 'hack/dev.sh purge' deletes it)
EOF
}

# ecs_api installs the ECS API's RBAC (config/ecs-api, and hack/dev/ecs-api.yaml
# for make dev's identities), makes the admin's access key once (kept in
# $ECS_API_DIR/aws.env, the same Secret applied again on every up) and
# starts longshore-ecs-api.
ecs_api() {
	[[ -x $LONGSHORE_ROOT/bin/longshore-ecs-api ]] ||
		die "bin/longshore-ecs-api is missing: run 'make build' (make dev does)"
	log "installing the ECS API's RBAC and the admin's access key"
	"$KUBECTL" --kubeconfig "$ADMIN_KUBECONFIG" apply --server-side --force-conflicts \
		-f "$LONGSHORE_ROOT/config/ecs-api/rbac.yaml" -f "$LONGSHORE_ROOT/config/ecs-api/user_roles.yaml" \
		-f "$LONGSHORE_ROOT/hack/dev/ecs-api.yaml" >>"$LOGS/install.log"
	mkdir -p "$ECS_API_DIR"
	local env=$ECS_API_DIR/aws.env id secret
	if [[ ! -f $env ]]; then
		# An access key id as AWS prints them: AKIA and 16 upper-case letters and digits.
		id=AKIA$(openssl rand -hex 8 | tr '[:lower:]' '[:upper:]')
		secret=$(openssl rand -base64 30)
		(
			umask 077
			cat >"$env.tmp" <<EOF
export AWS_ACCESS_KEY_ID=$id
export AWS_SECRET_ACCESS_KEY=$secret
export AWS_DEFAULT_REGION=$ECS_API_REGION
export AWS_CA_BUNDLE=$PKI/ca.crt
EOF
		)
		mv "$env.tmp" "$env"
	fi
	id=$(sed -n 's/^export AWS_ACCESS_KEY_ID=//p' "$env")
	secret=$(sed -n 's/^export AWS_SECRET_ACCESS_KEY=//p' "$env")
	[[ -n $id && -n $secret ]] || die "$env holds no AWS_ACCESS_KEY_ID or AWS_SECRET_ACCESS_KEY: delete it and run up again"
	# The Secret's shape is docs/ecs-api.md's ("Credentials").
	"$KUBECTL" --kubeconfig "$ADMIN_KUBECONFIG" -n longshore-system create secret generic ecs-key-dev-admin \
		--type ecs.longshore.io/access-key --from-literal "accessKeyId=$id" --from-literal "secretAccessKey=$secret" \
		--from-literal "user=$ECS_API_ADMIN_USER" --from-literal namespace=default --dry-run=client -o yaml |
		"$KUBECTL" --kubeconfig "$ADMIN_KUBECONFIG" label --local -f - "ecs.longshore.io/access-key-id=$id" -o yaml |
		"$KUBECTL" --kubeconfig "$ADMIN_KUBECONFIG" apply --server-side --force-conflicts -f - >>"$LOGS/install.log"

	start_bg ecs-api "$LONGSHORE_ROOT/bin/longshore-ecs-api" --kubeconfig "$DEV_DIR/ecs-api.kubeconfig" \
		--bind-address "127.0.0.1:$ECS_API_PORT" --tls-cert-file "$PKI/ecs-api-serving.crt" --tls-key-file "$PKI/ecs-api-serving.key" \
		--namespace longshore-system --region "$ECS_API_REGION"
	wait_for ecs-api 30 curl -fsS --cacert "$PKI/ca.crt" "https://127.0.0.1:$ECS_API_PORT/healthz"
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
		--lease-namespace longshore-system --reserved-ports "$(reserved_ports)" \
		--metrics-bind-address "127.0.0.1:${ports[0]}" --health-probe-bind-address "127.0.0.1:${ports[1]}" \
		--agent-api-bind-address "127.0.0.1:${ports[2]}" \
		--task-endpoints-host-address "127.0.0.1:${ports[3]}" --introspection-bind-address "127.0.0.1:${ports[4]}"
}

# stop_pid NAME [SIGNAL]: stop NAME's supervisor, then NAME.
stop_pid() {
	local name=$1 sig=${2:-TERM} pid
	stop_supervisor "$name"
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
	local x ports br ns c
	# Nothing may be restarted while it is being stopped.
	log "stopping the supervisors"
	for c in "${COMPONENTS[@]}"; do stop_supervisor "$c"; done
	SUPERVISE=0
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
	stop_pid ecs-api
	for x in "${AGENTS[@]}"; do stop_pid "agent-$x"; done
	stop_pid manager
	stop_pid registry
	if [[ -d $DEV_DIR/containerd ]]; then
		log "stopping containerd and removing its containers"
		"$LONGSHORE_ROOT/hack/containerd.sh" stop "$DEV_DIR/containerd"
	fi
	rm -f "$(pidfile containerd)"
	stop_pid kube-controller-manager
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

# status: one line per component. STATE is running (supervised), restarting
# (its supervisor waits out the back-off), unsupervised (it runs, its
# supervisor does not) or stopped; RESTARTS counts the restarts since `up`
# started its supervisor, LAST EXIT is the last one's exit.
status() {
	local c state pid last
	printf '\n%-24s %-12s %-8s %-8s %-58s %s\n' COMPONENT STATE PID RESTARTS LOG 'LAST EXIT'
	for c in "${COMPONENTS[@]}"; do
		pid=-
		if running "$c"; then
			pid=$(cat "$(pidfile "$c")")
			state=running
			supervised "$c" || state=unsupervised
		elif supervised "$c"; then
			state=restarting
		else
			state=stopped
		fi
		last=-
		if [[ -f $RUN/$c.restarts ]] && [[ $(cut -f2 "$RUN/$c.restarts") != - ]]; then
			last="$(cut -f3 "$RUN/$c.restarts"), at $(cut -f2 "$RUN/$c.restarts")"
		fi
		printf '%-24s %-12s %-8s %-8s %-58s %s\n' "$c" "$state" "$pid" "$(restart_count "$c")" "$LOGS/$c.log" "$last"
	done
	printf '\nrestarts       %s\n' "$LOGS/restarts.log"
	printf 'kube-apiserver https://127.0.0.1:%s  kubeconfig %s\n' "$APISERVER_PORT" "$ADMIN_KUBECONFIG"
	printf 'kube-controller-manager https://127.0.0.1:%s/healthz (controllers: %s)\n' "$CONTROLLER_MANAGER_PORT" "${CONTROLLER_MANAGER_CONTROLLERS//-controller/}"
	printf 'registry       http://%s/v2/\n' "$REGISTRY"
	printf 'manager        metrics http://127.0.0.1:%s/metrics  probes http://127.0.0.1:%s/readyz\n' "${MANAGER_PORTS[@]}"
	local x ports
	for x in "${AGENTS[@]}"; do
		read -r -a ports <<<"${AGENT_PORTS[$x]}"
		printf 'agent-%s        metrics http://127.0.0.1:%s/metrics  probes http://127.0.0.1:%s/readyz  logs and exec https://127.0.0.1:%s  host-mode task endpoints 127.0.0.1:%s  introspection http://127.0.0.1:%s/v1/metadata\n' "$x" "${ports[@]}"
	done
	printf 'ecs-api        https://127.0.0.1:%s (CA %s, the admin'"'"'s access key in %s)\n' "$ECS_API_PORT" "$PKI/ca.crt" "$ECS_API_DIR/aws.env"
	printf 'reserved ports (every agent): %s\n' "$(reserved_ports)"
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
