#!/usr/bin/env bash
# A real one-node Kubernetes cluster on this host, for the cluster test
# layer (test/cluster) and for trying `kubectl apply -k config/default` by
# hand: etcd, kube-apiserver, kube-controller-manager and kube-scheduler; a
# node made of containerd with its CRI plugin (on /run/containerd, where
# config/default's agent looks), a kubelet and kube-proxy. Everything is
# built at the versions of hack/versions.env (hack/install-tools.sh cluster)
# and lives under $LONGSHORE_CLUSTER_DIR (default /var/lib/longshore/cluster).
#
#   hack/cluster.sh up       start what is not running (idempotent), print next steps
#   hack/cluster.sh down     delete every pod, stop everything, remove what the node added to the host
#   hack/cluster.sh status   what runs, where its logs are
#   hack/cluster.sh purge    down, then delete $LONGSHORE_CLUSTER_DIR, the agent's host directories and containerd's root
#   hack/cluster.sh env      print KUBECONFIG=… and the paths the tests use
#
# Network, all of it on this host: the node's address (the API server's
# advertise address) is on an interface of its own (a bridge without ports),
# pods get addresses on a bridge of their own, and the Service range is
# routed to that portless bridge, so that nothing meant for a Service leaves
# the host when kube-proxy has no rule for it.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=pki.sh
source "$(dirname "$0")/pki.sh"

DIR=${LONGSHORE_CLUSTER_DIR:-/var/lib/longshore/cluster}
PKI=$DIR/pki
LOGS=$DIR/logs
RUN=$DIR/run
KUBECTL=$K8S_BIN/kubectl
ADMIN_KUBECONFIG=$DIR/admin.kubeconfig
NODE_NAME=${LONGSHORE_CLUSTER_NODE:-longshore-node-1}

NODE_IF=lsk-node0
NODE_IP=172.28.255.1
POD_BRIDGE=lsk-cni0
POD_CIDR=172.28.0.0/24
SERVICE_CIDR=172.28.128.0/24
SERVICE_API_IP=172.28.128.1
ETCD_PORT=23791
APISERVER_PORT=26443
KCM_PORT=26257
SCHEDULER_PORT=26259
KUBELET_PORT=26250
KUBELET_HEALTHZ_PORT=26248
PROXY_HEALTHZ_PORT=26256
PROXY_METRICS_PORT=26249
# The node's containerd at the paths of a node's containerd: the agent
# DaemonSet mounts the socket's directory, and the root, where the client
# side of the agent reads image snapshots (users, groups) by host path.
CONTAINERD_ROOT=/var/lib/containerd
CONTAINERD_STATE=/run/containerd
CONTAINERD_SOCK=$CONTAINERD_STATE/containerd.sock
PAUSE_IMAGE=localhost/longshore/pause:1
# config/agent's mount-propagating host paths: the state and run directories.
AGENT_HOST_DIRS=(/var/lib/longshore/agent /run/longshore)
# The links config/agent's agent makes (its default bridge names).
AGENT_LINKS=(ls-br0 ls-vpc0 ls-vxlan0)
COMPONENTS=(etcd kube-apiserver kube-controller-manager kube-scheduler containerd kubelet kube-proxy)

pidfile() { echo "$RUN/$1.pid"; }
running() { [[ -f $(pidfile "$1") ]] && kill -0 "$(cat "$(pidfile "$1")")" 2>/dev/null; }

start_bg() { # NAME CMD...
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

# start_supervised NAME CMD...: like start_bg, under hack/supervise.sh, for
# the components that exit by design when they lose their leader election
# (a node's kubelet restarts its static pods the same way).
start_supervised() {
	local name=$1
	shift
	if running "$name"; then
		log "$name already running (pid $(cat "$(pidfile "$name")"))"
		return
	fi
	log "starting $name under a supervisor (log: $LOGS/$name.log)"
	setsid "$LONGSHORE_ROOT/hack/supervise.sh" "$name" "$RUN" "$LOGS" -- "$@" >>"$LOGS/$name.log" 2>&1 </dev/null &
	for _ in $(seq 1 50); do
		running "$name" && return
		sleep 0.1
	done
	die "the supervisor of $name did not start it (log: $LOGS/$name.log)"
}

wait_for() { # NAME SECONDS CMD...
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

stop_pid() { # NAME
	local name=$1 pid sup=$RUN/$1.supervisor.pid
	# A supervisor first (SIGTERM ends it alone), so nothing restarts NAME.
	if [[ -f $sup ]] && kill -0 "$(cat "$sup")" 2>/dev/null; then
		kill "$(cat "$sup")" 2>/dev/null || true
		for _ in $(seq 1 50); do kill -0 "$(cat "$sup")" 2>/dev/null || break; sleep 0.1; done
	fi
	rm -f "$sup"
	running "$name" || { rm -f "$(pidfile "$name")"; return 0; }
	pid=$(cat "$(pidfile "$name")")
	log "stopping $name (pid $pid)"
	kill "$pid" 2>/dev/null || true
	for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	if kill -0 "$pid" 2>/dev/null; then
		warn "$name did not stop in 15s; killing it"
		kill -9 "$pid" 2>/dev/null || true
	fi
	rm -f "$(pidfile "$name")"
}

kc() { "$KUBECTL" --kubeconfig "$ADMIN_KUBECONFIG" "$@"; }

# write_config FILE: stdin into FILE when it differs, so that a second `up`
# leaves the files of running components alone (kube-proxy exits when its
# configuration file changes).
write_config() {
	local file=$1 tmp
	tmp=$(mktemp)
	cat >"$tmp"
	if cmp -s "$tmp" "$file"; then rm -f "$tmp"; else mv "$tmp" "$file"; fi
}

# ---- host network ---------------------------------------------------------------

host_network() {
	if ! ip link show "$NODE_IF" >/dev/null 2>&1; then
		log "adding $NODE_IF ($NODE_IP, the node's address, and the route of Services, $SERVICE_CIDR)"
		# A bridge without ports: this kernel may lack the dummy link type.
		ip link add "$NODE_IF" type bridge
	fi
	ip link set "$NODE_IF" up
	ip addr replace "$NODE_IP/32" dev "$NODE_IF"
	# Not a blackhole route: a host process's connect() would fail on it
	# before kube-proxy's OUTPUT DNAT. A bridge without ports goes nowhere.
	ip route replace "$SERVICE_CIDR" dev "$NODE_IF"
	# Pods reach Services through kube-proxy's DNAT and leave through the
	# bridge plugin's masquerade.
	sysctl -qw net.ipv4.ip_forward=1
	# The agent's Bidirectional host paths need shared mounts, as every
	# directory is on a systemd host; here / is private.
	local d
	for d in "${AGENT_HOST_DIRS[@]}"; do
		mkdir -p "$d"
		mountpoint -q "$d" || mount --bind "$d" "$d"
		mount --make-shared "$d"
	done
}

remove_host_network() {
	local d
	for d in "${AGENT_HOST_DIRS[@]}"; do
		if mountpoint -q "$d"; then umount -R -l "$d" 2>/dev/null || true; fi
	done
	ip route del "$SERVICE_CIDR" 2>/dev/null || true
	if ip link show "$NODE_IF" >/dev/null 2>&1; then ip link delete "$NODE_IF"; fi
	if ip link show "$POD_BRIDGE" >/dev/null 2>&1; then ip link delete "$POD_BRIDGE"; fi
	# What an agent killed with its tasks (an interrupted test) left: the
	# DaemonSet agent's bridges and tunnel, by config/agent's defaults.
	local br
	for br in "${AGENT_LINKS[@]}"; do
		if ip link show "$br" >/dev/null 2>&1; then
			warn "removing $br, left by the node's agent"
			ip link delete "$br"
		fi
	done
	# What the kubelet added (KUBE-FIREWALL, KUBE-KUBELET-CANARY,
	# KUBE-IPTABLES-HINT) and kube-proxy --cleanup missed: every KUBE-
	# chain and the jumps to it. This host runs no other Kubernetes (up
	# refuses a containerd it did not start).
	local t rule chain
	for t in mangle nat filter; do
		{ iptables -w -t "$t" -S 2>/dev/null | grep -E -- '^-A .* -j KUBE-' || true; } | sed 's/^-A/-D/' | while read -r rule; do
			# shellcheck disable=SC2086 # a rule is words
			iptables -w -t "$t" $rule 2>/dev/null || true
		done
		for chain in $(iptables -w -t "$t" -S 2>/dev/null | awk '$1 == "-N" && $2 ~ /^KUBE-/ {print $2}'); do
			iptables -w -t "$t" -F "$chain" 2>/dev/null || true
		done
		for chain in $(iptables -w -t "$t" -S 2>/dev/null | awk '$1 == "-N" && $2 ~ /^KUBE-/ {print $2}'); do
			iptables -w -t "$t" -X "$chain" 2>/dev/null || true
		done
	done
	# The bridge plugin's masquerade chains of pods whose DEL never ran.
	local chain
	for chain in $(iptables -w -t nat -S POSTROUTING 2>/dev/null | awk -v c="$POD_CIDR" '$0 ~ c && /-j CNI-/ {for (i = 1; i <= NF; i++) if ($i == "-j") print $(i + 1)}'); do
		{ iptables -w -t nat -S POSTROUTING | grep -- "-j $chain" || true; } | sed 's/^-A/-D/' | while read -r rule; do
			# shellcheck disable=SC2086 # a rule is words
			iptables -w -t nat $rule 2>/dev/null || true
		done
		iptables -w -t nat -F "$chain" 2>/dev/null || true
		iptables -w -t nat -X "$chain" 2>/dev/null || true
	done
}

# ---- certificates -----------------------------------------------------------

pki() {
	pki_ca "$PKI" longshore-cluster-ca
	pki_sa_key "$PKI"
	pki_cert "$PKI" apiserver kube-apiserver "" serverAuth \
		"IP:$NODE_IP,IP:$SERVICE_API_IP,IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
	pki_cert "$PKI" apiserver-kubelet-client kube-apiserver-kubelet-client system:masters clientAuth
	pki_cert "$PKI" admin longshore-admin system:masters clientAuth
	pki_cert "$PKI" kcm system:kube-controller-manager "" clientAuth
	pki_cert "$PKI" scheduler system:kube-scheduler "" clientAuth
	pki_cert "$PKI" kube-proxy system:kube-proxy "" clientAuth
	pki_cert "$PKI" kubelet "system:node:$NODE_NAME" system:nodes clientAuth
	local server=https://$NODE_IP:$APISERVER_PORT
	pki_kubeconfig "$ADMIN_KUBECONFIG" "$server" "$PKI" admin longshore-admin
	pki_kubeconfig "$DIR/kcm.kubeconfig" "$server" "$PKI" kcm system:kube-controller-manager
	pki_kubeconfig "$DIR/scheduler.kubeconfig" "$server" "$PKI" scheduler system:kube-scheduler
	pki_kubeconfig "$DIR/kube-proxy.kubeconfig" "$server" "$PKI" kube-proxy system:kube-proxy
	pki_kubeconfig "$DIR/kubelet.kubeconfig" "$server" "$PKI" kubelet "system:node:$NODE_NAME"
}

# ---- control plane ------------------------------------------------------------

control_plane() {
	start_bg etcd "$K8S_BIN/etcd" --name longshore-cluster --data-dir "$DIR/etcd" \
		--listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
		--listen-peer-urls "http://127.0.0.1:$((ETCD_PORT + 10))" \
		--initial-advertise-peer-urls "http://127.0.0.1:$((ETCD_PORT + 10))" \
		--initial-cluster "longshore-cluster=http://127.0.0.1:$((ETCD_PORT + 10))" --log-level warn
	wait_for etcd 30 curl -fsS "http://127.0.0.1:$ETCD_PORT/health"

	start_bg kube-apiserver "$K8S_BIN/kube-apiserver" \
		--etcd-servers "http://127.0.0.1:$ETCD_PORT" \
		--bind-address "$NODE_IP" --advertise-address "$NODE_IP" --secure-port "$APISERVER_PORT" \
		--tls-cert-file "$PKI/apiserver.crt" --tls-private-key-file "$PKI/apiserver.key" \
		--client-ca-file "$PKI/ca.crt" --authorization-mode Node,RBAC --anonymous-auth=false \
		--enable-admission-plugins NodeRestriction \
		--kubelet-client-certificate "$PKI/apiserver-kubelet-client.crt" --kubelet-client-key "$PKI/apiserver-kubelet-client.key" \
		--kubelet-preferred-address-types InternalIP \
		--service-account-key-file "$PKI/sa.pub" --service-account-signing-key-file "$PKI/sa.key" \
		--service-account-issuer https://kubernetes.default.svc --service-cluster-ip-range "$SERVICE_CIDR" \
		--allow-privileged=true
	wait_for kube-apiserver 90 kc get --raw /readyz

	start_supervised kube-controller-manager "$K8S_BIN/kube-controller-manager" \
		--kubeconfig "$DIR/kcm.kubeconfig" --authentication-kubeconfig "$DIR/kcm.kubeconfig" \
		--authorization-kubeconfig "$DIR/kcm.kubeconfig" \
		--bind-address 127.0.0.1 --secure-port "$KCM_PORT" \
		--use-service-account-credentials --service-account-private-key-file "$PKI/sa.key" \
		--root-ca-file "$PKI/ca.crt" --cluster-signing-cert-file "$PKI/ca.crt" --cluster-signing-key-file "$PKI/ca.key" \
		--service-cluster-ip-range "$SERVICE_CIDR" --allocate-node-cidrs=false --leader-elect=true
	start_supervised kube-scheduler "$K8S_BIN/kube-scheduler" \
		--kubeconfig "$DIR/scheduler.kubeconfig" --authentication-kubeconfig "$DIR/scheduler.kubeconfig" \
		--authorization-kubeconfig "$DIR/scheduler.kubeconfig" \
		--bind-address 127.0.0.1 --secure-port "$SCHEDULER_PORT" --leader-elect=true
	wait_for kube-controller-manager 60 curl -fsSk "https://127.0.0.1:$KCM_PORT/healthz"
	wait_for kube-scheduler 60 curl -fsSk "https://127.0.0.1:$SCHEDULER_PORT/healthz"
}

# ---- node -------------------------------------------------------------------

containerd_config() {
	mkdir -p "$DIR/containerd" "$DIR/cni/net.d"
	write_config "$DIR/containerd/config.toml" <<EOF
# The node's containerd: CRI for the kubelet's pods (namespace k8s.io) and
# Longshore's agent (namespace longshore) side by side, on the socket path
# a node's containerd has.
version = 3
root = "$CONTAINERD_ROOT"
state = "$CONTAINERD_STATE"

[grpc]
  address = "$CONTAINERD_SOCK"

[ttrpc]
  address = "$CONTAINERD_SOCK.ttrpc"

[debug]
  address = "$DIR/containerd/debug.sock"
  level = "info"

[plugins."io.containerd.grpc.v1.cri"]
  stream_server_address = "127.0.0.1"

[plugins."io.containerd.cri.v1.runtime"]
  # A negative oom_score_adj is refused on these machines (runtime-notes.md).
  restrict_oom_score_adj = true
  # Pod network namespaces under the state directory, not /var/run/netns.
  netns_mounts_under_state_dir = true

  [plugins."io.containerd.cri.v1.runtime".cni]
    bin_dirs = ["/usr/lib/cni", "/opt/cni/bin"]
    conf_dir = "$DIR/cni/net.d"
    max_conf_num = 1

  [plugins."io.containerd.cri.v1.runtime".containerd]
    default_runtime_name = "runc"

    [plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"

      [plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc.options]
        BinaryName = "$RUNC_BIN/runc"

[plugins."io.containerd.cri.v1.images"]
  [plugins."io.containerd.cri.v1.images".pinned_images]
    sandbox = "$PAUSE_IMAGE"
EOF
	write_config "$DIR/cni/net.d/10-pods.conflist" <<EOF
{
  "cniVersion": "1.0.0",
  "name": "longshore-cluster-pods",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "$POD_BRIDGE",
      "isGateway": true,
      "ipMasq": true,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "dataDir": "$DIR/cni/ipam",
        "ranges": [[{"subnet": "$POD_CIDR"}]],
        "routes": [{"dst": "0.0.0.0/0"}]
      }
    },
    {"type": "portmap", "capabilities": {"portMappings": true}}
  ]
}
EOF
}

start_containerd() {
	if [[ -S $CONTAINERD_SOCK ]] && ! running containerd &&
		"$CONTAINERD_BIN/ctr" --address "$CONTAINERD_SOCK" version >/dev/null 2>&1; then
		die "a containerd that hack/cluster.sh did not start answers on $CONTAINERD_SOCK; stop it first (the cluster layer's node uses that path)"
	fi
	containerd_config
	mkdir -p "$CONTAINERD_ROOT"
	# purge deletes the root only when this script made it.
	[[ -n $(ls -A "$CONTAINERD_ROOT") ]] || touch "$CONTAINERD_ROOT/.longshore-cluster"
	# The v2 shim first in PATH; Longshore's own containers use the host's
	# runc, the kubelet's pods the runc of the CRI runtime above.
	start_bg containerd env PATH="$CONTAINERD_BIN:$PATH" "$CONTAINERD_BIN/containerd" --config "$DIR/containerd/config.toml"
	wait_for containerd 30 "$CONTAINERD_BIN/ctr" --address "$CONTAINERD_SOCK" version
}

pause_image() {
	if "$CONTAINERD_BIN/ctr" --address "$CONTAINERD_SOCK" -n k8s.io images ls -q | grep -qx "$PAUSE_IMAGE"; then
		return
	fi
	log "building the pods' sandbox image $PAUSE_IMAGE"
	(
		cd "$LONGSHORE_ROOT"
		CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$DIR/pause" ./hack/pause
		go build -o "$DIR/imagebuild" ./hack/imagebuild
		"$DIR/imagebuild" --ref "$PAUSE_IMAGE" --scratch --busybox-applets=false --file "$DIR/pause:/pause:0755" \
			--entrypoint '["/pause"]' --address "$CONTAINERD_SOCK" --namespace k8s.io
	) >>"$LOGS/install.log" 2>&1 || die "building the sandbox image failed (log: $LOGS/install.log)"
}

kubelet() {
	mkdir -p "$DIR/kubelet" "$DIR/pod-logs"
	write_config "$DIR/kubelet/config.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: $NODE_IP
port: $KUBELET_PORT
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: $KUBELET_HEALTHZ_PORT
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: $PKI/ca.crt}
authorization:
  mode: Webhook
containerRuntimeEndpoint: unix://$CONTAINERD_SOCK
cgroupDriver: cgroupfs
# The host is cgroup v1 with swap (runtime-notes.md).
failCgroupV1: false
failSwapOn: false
evictionHard: {}
imageGCHighThresholdPercent: 100
podLogsDir: $DIR/pod-logs
registerNode: true
EOF
	start_bg kubelet "$K8S_BIN/kubelet" --config "$DIR/kubelet/config.yaml" --kubeconfig "$DIR/kubelet.kubeconfig" \
		--root-dir "$DIR/kubelet/root" --hostname-override "$NODE_NAME" --node-ip "$NODE_IP" \
		--node-labels ecs.longshore.io/agent=true
	wait_for kubelet 60 curl -fsS "http://127.0.0.1:$KUBELET_HEALTHZ_PORT/healthz"
}

kube_proxy() {
	write_config "$DIR/kube-proxy.yaml" <<EOF
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection:
  kubeconfig: $DIR/kube-proxy.kubeconfig
mode: iptables
clusterCIDR: $POD_CIDR
hostnameOverride: $NODE_NAME
bindAddress: 127.0.0.1
healthzBindAddress: 127.0.0.1:$PROXY_HEALTHZ_PORT
metricsBindAddress: 127.0.0.1:$PROXY_METRICS_PORT
# Leave the host's conntrack sysctls alone.
conntrack:
  maxPerCore: 0
EOF
	start_bg kube-proxy "$K8S_BIN/kube-proxy" --config "$DIR/kube-proxy.yaml"
	wait_for kube-proxy 60 curl -fsS "http://127.0.0.1:$PROXY_HEALTHZ_PORT/healthz"
}

# ---- up / down ----------------------------------------------------------------

up() {
	require_root "hack/cluster.sh"
	"$LONGSHORE_ROOT/hack/install-tools.sh" apt containerd cluster
	mkdir -p "$LOGS" "$RUN"
	host_network
	pki
	control_plane
	start_containerd
	pause_image
	kubelet
	kube_proxy
	log "waiting for node $NODE_NAME to be Ready"
	for _ in $(seq 1 120); do
		kc get node "$NODE_NAME" >/dev/null 2>&1 && break
		sleep 0.5
	done
	kc wait --for condition=Ready --timeout 120s "node/$NODE_NAME" >/dev/null ||
		die "node $NODE_NAME is not Ready (log: $LOGS/kubelet.log)"
	status
	cat <<EOF

A one-node Kubernetes cluster is up (node $NODE_NAME, label ecs.longshore.io/agent=true).
Next:

  export KUBECONFIG=$ADMIN_KUBECONFIG PATH=$K8S_BIN:\$PATH
  hack/images.sh import $CONTAINERD_SOCK       # build the images and import them into the node
  kubectl apply -k config/default              # CRDs, RBAC, the manager Deployment, the agent DaemonSet
  kubectl -n longshore-system get pods -o wide
  kubectl apply -f config/samples/00-cluster.yaml && kubectl get ecs

Stop: hack/cluster.sh down (removes every pod and what the node added to the host)
EOF
}

down() {
	[[ -d $RUN ]] || { log "nothing to stop ($DIR does not exist)"; return 0; }
	if running kube-apiserver && running kubelet; then
		# The kubelet tears pods down properly (CNI DEL, unmounts); kill
		# their containers only as a last resort below.
		log "deleting every pod so that the kubelet tears them down"
		kc delete daemonsets,deployments,replicasets --all --all-namespaces --wait=false >/dev/null 2>&1 || true
		kc delete pods --all --all-namespaces --grace-period 10 --timeout 60s >/dev/null 2>&1 ||
			warn "some pods were not deleted within 60s"
		for _ in $(seq 1 60); do
			[[ -z $("$CONTAINERD_BIN/ctr" --address "$CONTAINERD_SOCK" -n k8s.io tasks ls -q 2>/dev/null | grep -v '^$' || true) ]] && break
			sleep 0.5
		done
	fi
	stop_pid kube-proxy
	if [[ -x $K8S_BIN/kube-proxy && -f $DIR/kube-proxy.yaml ]]; then
		log "removing kube-proxy's rules"
		"$K8S_BIN/kube-proxy" --cleanup --config "$DIR/kube-proxy.yaml" >>"$LOGS/kube-proxy.log" 2>&1 || true
	fi
	stop_pid kubelet
	stop_containerd
	stop_pid kube-scheduler
	stop_pid kube-controller-manager
	stop_pid kube-apiserver
	stop_pid etcd
	remove_host_network
	local left
	left=$(awk -v d="$DIR/" 'index($2, d) == 1 {print $2}' /proc/self/mounts)
	[[ -z $left ]] || warn "mounts left under $DIR: $left"
	log "stopped; data and logs stay in $DIR"
}

stop_containerd() {
	running containerd || { rm -f "$(pidfile containerd)"; return 0; }
	local ctr=("$CONTAINERD_BIN/ctr" --address "$CONTAINERD_SOCK") ns t c
	log "stopping containerd and removing its containers"
	for ns in $("${ctr[@]}" namespaces ls -q 2>/dev/null); do
		for t in $("${ctr[@]}" -n "$ns" tasks ls -q 2>/dev/null); do
			"${ctr[@]}" -n "$ns" tasks kill -a -s SIGKILL "$t" >/dev/null 2>&1 || true
			"${ctr[@]}" -n "$ns" tasks delete -f "$t" >/dev/null 2>&1 || true
		done
		for c in $("${ctr[@]}" -n "$ns" containers ls -q 2>/dev/null); do
			"${ctr[@]}" -n "$ns" containers delete "$c" >/dev/null 2>&1 || true
		done
	done
	stop_pid containerd
	pkill -9 -f "containerd-shim-runc-v2 .*-address $CONTAINERD_SOCK( |$)" 2>/dev/null || true
	local d
	for d in "$DIR" "$CONTAINERD_ROOT" "$CONTAINERD_STATE"; do
		awk -v d="$d/" 'index($2, d) == 1 {print $2}' /proc/self/mounts | sort -r | while read -r m; do
			umount -l "$m" 2>/dev/null || true
		done
	done
	rm -f "$CONTAINERD_SOCK" "$CONTAINERD_SOCK.ttrpc"
}

status() {
	printf '\n%-24s %-8s %-8s %s\n' COMPONENT STATE PID LOG
	for c in "${COMPONENTS[@]}"; do
		if running "$c"; then
			printf '%-24s %-8s %-8s %s\n' "$c" running "$(cat "$(pidfile "$c")")" "$LOGS/$c.log"
		else
			printf '%-24s %-8s %-8s %s\n' "$c" stopped - "$LOGS/$c.log"
		fi
	done
	printf '\nkube-apiserver https://%s:%s  kubeconfig %s\n' "$NODE_IP" "$APISERVER_PORT" "$ADMIN_KUBECONFIG"
	printf 'node %s: containerd %s, pods on %s (%s), Services %s\n' "$NODE_NAME" "$CONTAINERD_SOCK" "$POD_BRIDGE" "$POD_CIDR" "$SERVICE_CIDR"
}

purge() {
	down
	log "deleting $DIR"
	rm -rf "$DIR"
	# What config/agent's agent kept on this node.
	log "deleting the agent's host directories: ${AGENT_HOST_DIRS[*]} /var/log/longshore/tasks"
	rm -rf "${AGENT_HOST_DIRS[@]}" /var/log/longshore/tasks
	# Not $CONTAINERD_STATE: every containerd v2 on the host keeps its shim
	# sockets (s/) and runc state (runc/) under /run/containerd, make
	# dev's private one too.
	if [[ -f $CONTAINERD_ROOT/.longshore-cluster ]]; then
		log "deleting $CONTAINERD_ROOT (made by hack/cluster.sh up)"
		rm -rf "$CONTAINERD_ROOT"
	fi
}

case ${1:-} in
up) up ;;
down) down ;;
status) status ;;
purge) purge ;;
env)
	echo "KUBECONFIG=$ADMIN_KUBECONFIG"
	echo "K8S_BIN=$K8S_BIN"
	echo "CONTAINERD_BIN=$CONTAINERD_BIN"
	echo "CONTAINERD_SOCK=$CONTAINERD_SOCK"
	echo "NODE_NAME=$NODE_NAME"
	echo "CLUSTER_DIR=$DIR"
	echo "POD_BRIDGE=$POD_BRIDGE"
	echo "NODE_IF=$NODE_IF"
	;;
*) die "usage: $0 up|down|status|purge|env" ;;
esac
