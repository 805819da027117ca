# shellcheck shell=bash
# Certificates and kubeconfigs for the local control planes (hack/dev.sh,
# hack/cluster.sh).
# Source it after lib.sh; do not run it. Every function is idempotent: what
# exists is kept.

# pki_ca DIR CN: a certificate authority DIR/ca.{crt,key}.
pki_ca() {
	local dir=$1 cn=$2
	mkdir -p "$dir"
	chmod 700 "$dir"
	[[ -f $dir/ca.crt ]] && return
	openssl req -x509 -new -newkey rsa:2048 -nodes -keyout "$dir/ca.key" -subj "/CN=$cn" \
		-days 3650 -out "$dir/ca.crt" 2>/dev/null
}

# pki_cert DIR NAME CN ORG USAGE [SAN]: DIR/NAME.{crt,key} signed by DIR/ca,
# for USAGE clientAuth, serverAuth or both ("serverAuth,clientAuth"); ORG
# may be empty; SAN is an openssl subjectAltName value.
pki_cert() {
	local dir=$1 name=$2 cn=$3 org=$4 usage=$5 san=${6:-}
	[[ -f $dir/$name.crt ]] && return
	local subj="/CN=$cn"
	[[ -z $org ]] || subj+="/O=$org"
	local ext
	ext=$(printf 'extendedKeyUsage=%s\nkeyUsage=critical,digitalSignature,keyEncipherment\n' "$usage")
	[[ -z $san ]] || ext+=$(printf '\nsubjectAltName=%s' "$san")
	openssl req -new -newkey rsa:2048 -nodes -keyout "$dir/$name.key" -subj "$subj" -out "$dir/$name.csr" 2>/dev/null
	openssl x509 -req -in "$dir/$name.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" -CAcreateserial -days 365 \
		-extfile <(echo "$ext") -out "$dir/$name.crt" 2>/dev/null
	rm -f "$dir/$name.csr"
}

# pki_sa_key DIR: the service-account signing key pair DIR/sa.{key,pub}.
pki_sa_key() {
	local dir=$1
	[[ -f $dir/sa.key ]] && return
	openssl genrsa -out "$dir/sa.key" 2048 2>/dev/null
	openssl rsa -in "$dir/sa.key" -pubout -out "$dir/sa.pub" 2>/dev/null
}

# pki_kubeconfig FILE SERVER DIR CERTNAME USER: a kubeconfig for USER with
# the client certificate DIR/CERTNAME, trusting DIR/ca.crt.
pki_kubeconfig() {
	local file=$1 server=$2 dir=$3 cert=$4 user=$5 kubectl=$K8S_BIN/kubectl
	[[ -f $file ]] && return
	"$kubectl" config set-cluster longshore --kubeconfig "$file" --server "$server" \
		--certificate-authority "$dir/ca.crt" --embed-certs >/dev/null
	"$kubectl" config set-credentials "$user" --kubeconfig "$file" --client-certificate "$dir/$cert.crt" \
		--client-key "$dir/$cert.key" --embed-certs >/dev/null
	"$kubectl" config set-context longshore --kubeconfig "$file" --cluster longshore --user "$user" >/dev/null
	"$kubectl" config use-context longshore --kubeconfig "$file" >/dev/null
	chmod 600 "$file"
}
