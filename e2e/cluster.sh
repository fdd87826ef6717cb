#!/usr/bin/env bash
# Start or stop a throw-away Kubernetes v1.20.2 control plane on loopback:
# etcd + kube-apiserver + kube-controller-manager, all state inside <workdir>.
#
#   e2e/cluster.sh start <workdir>   # prints the kubeconfig path when the server is ready
#   e2e/cluster.sh stop  <workdir>   # stops exactly the processes recorded in <workdir>/pids/
#
# Binaries come from e2e/build-apiserver.sh's cache; etcd from Debian's etcd-server package.
# Every listener is on 127.0.0.1 and every port is picked free at start.
#
# <workdir> afterwards holds:
#   kubeconfig       cluster "e2e"; users admin / scanner / bad; contexts e2e-admin (current),
#                    e2e-scanner, e2e-bad
#   cluster.env      shell variables E2E_SERVER, E2E_CA, E2E_ADMIN_TOKEN, E2E_SCANNER_TOKEN, ...
#   pki/             CA, serving certificate, service-account key pair
#   logs/            one log per process
#   pids/            one pid file per process
set -euo pipefail

K8S_VERSION=v1.20.2
BIN="${UPCHECK_E2E_CACHE:-$HOME/.cache/upcheck-e2e}/k8s-$K8S_VERSION/bin"
READY_TIMEOUT="${E2E_READY_TIMEOUT:-120}"

t0=$(date +%s)
log() { printf '[cluster %3ss] %s\n' "$(($(date +%s) - t0))" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

usage() { echo "usage: $0 start|stop <workdir>" >&2; exit 2; }

# True if pid file $1 names a live process that was started for this workdir (guards against a
# recycled pid belonging to something else).
pid_is_ours() {
  local pidfile=$1 pid
  [[ -f $pidfile ]] || return 1
  pid=$(<"$pidfile")
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  [[ -r /proc/$pid/cmdline ]] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$WD/" || return 1
}

stop_one() {
  local name=$1 pidfile="$WD/pids/$1.pid" pid i
  if ! pid_is_ours "$pidfile"; then
    rm -f "$pidfile"
    return 0
  fi
  pid=$(<"$pidfile")
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 100; i++)); do
    [[ -d /proc/$pid ]] || break
    # A zombie (our own child, when called from start's error path) counts as gone.
    [[ $(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null) == Z ]] && break
    sleep 0.1
  done
  if [[ -d /proc/$pid ]] && [[ $(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null) != Z ]]; then
    log "$name (pid $pid) ignored SIGTERM for 10s; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$pidfile"
  log "stopped $name (pid $pid)"
}

stop_all() {
  # Reverse start order: clients before the store.
  stop_one kube-controller-manager
  stop_one kube-apiserver
  stop_one etcd
}

# Starts "$@" in its own session with output to logs/$name.log and records its pid.
# setsid keeps the process out of the caller's process group, so a Ctrl-C in a terminal reaches
# only the caller, whose trap then stops the cluster in order.
spawn() {
  local name=$1
  shift
  setsid "$@" >"$WD/logs/$name.log" 2>&1 </dev/null &
  local pid=$!
  echo "$pid" >"$WD/pids/$name.pid"
  log "started $name (pid $pid)"
}

# Fails with the log tail if process $1 has exited.
check_alive() {
  local name=$1 pid
  pid=$(<"$WD/pids/$name.pid")
  if ! kill -0 "$pid" 2>/dev/null || [[ $(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null) == Z ]]; then
    log "$name exited early; last lines of $WD/logs/$name.log:"
    tail -n 30 "$WD/logs/$name.log" >&2 || true
    return 1
  fi
}

# wait_for <name> <description> <command...>: polls the command until it succeeds.
wait_for() {
  local name=$1 what=$2
  shift 2
  local deadline=$(($(date +%s) + READY_TIMEOUT))
  until "$@" >/dev/null 2>&1; do
    check_alive "$name" || return 1
    if (($(date +%s) >= deadline)); then
      log "timed out after ${READY_TIMEOUT}s waiting for $what; last lines of $WD/logs/$name.log:"
      tail -n 30 "$WD/logs/$name.log" >&2 || true
      return 1
    fi
    sleep 0.5
  done
  log "$what: ok"
}

# Asks the kernel for n distinct free TCP ports on 127.0.0.1 (all bound at once, so distinct).
free_ports() {
  python3 - "$1" <<'PY'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
for s in socks:
    s.close()
PY
}

make_pki() {
  local d="$WD/pki"
  mkdir -p "$d"
  # An explicit config keeps the result independent of the system openssl.cnf defaults.
  cat >"$d/openssl.cnf" <<'EOF'
[req]
distinguished_name = dn
prompt = no
[dn]
CN = upcheck-e2e
[ca_ext]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[server_ext]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1, DNS:localhost
authorityKeyIdentifier = keyid
EOF
  openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days 3650 -config "$d/openssl.cnf" \
    -extensions ca_ext -subj "/CN=upcheck-e2e-ca" -keyout "$d/ca.key" -out "$d/ca.crt" 2>/dev/null
  openssl req -new -newkey rsa:2048 -nodes -sha256 -config "$d/openssl.cnf" \
    -subj "/CN=kube-apiserver" -keyout "$d/server.key" -out "$d/server.csr" 2>/dev/null
  openssl x509 -req -sha256 -days 3650 -in "$d/server.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" \
    -CAcreateserial -extfile "$d/openssl.cnf" -extensions server_ext -out "$d/server.crt" 2>/dev/null
  openssl genrsa -out "$d/sa.key" 2048 2>/dev/null
  openssl rsa -in "$d/sa.key" -pubout -out "$d/sa.pub" 2>/dev/null
  chmod 600 "$d"/*.key
}

write_kubeconfig() {
  local ca_data
  ca_data=$(base64 -w0 <"$WD/pki/ca.crt")
  cat >"$WD/kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: e2e
  cluster:
    server: $SERVER
    certificate-authority-data: $ca_data
users:
- name: admin
  user:
    token: $ADMIN_TOKEN
- name: scanner
  user:
    token: $SCANNER_TOKEN
- name: bad
  user:
    token: $BAD_TOKEN
contexts:
- name: e2e-admin
  context:
    cluster: e2e
    user: admin
- name: e2e-scanner
  context:
    cluster: e2e
    user: scanner
- name: e2e-bad
  context:
    cluster: e2e
    user: bad
current-context: e2e-admin
EOF
  chmod 600 "$WD/kubeconfig"
  # kube-controller-manager's own kubeconfig.
  cat >"$WD/kcm.kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: e2e
  cluster:
    server: $SERVER
    certificate-authority: $WD/pki/ca.crt
users:
- name: kcm
  user:
    token: $KCM_TOKEN
contexts:
- name: kcm
  context:
    cluster: e2e
    user: kcm
current-context: kcm
EOF
  chmod 600 "$WD/kcm.kubeconfig"
}

api_ready() {
  [[ $(curl -sS --max-time 5 --cacert "$WD/pki/ca.crt" -H "Authorization: Bearer $ADMIN_TOKEN" \
    "$SERVER/readyz") == ok ]]
}

etcd_ready() {
  curl -sS --max-time 5 "http://127.0.0.1:$ETCD_CLIENT_PORT/health" | grep -q '"health":"true"'
}

# The serviceaccount controller creating default/default shows kube-controller-manager works.
kcm_ready() {
  curl -sSf --max-time 5 --cacert "$WD/pki/ca.crt" -H "Authorization: Bearer $ADMIN_TOKEN" \
    "$SERVER/api/v1/namespaces/default/serviceaccounts/default" >/dev/null
}

cmd_start() {
  for b in kube-apiserver kube-controller-manager; do
    [[ -x $BIN/$b ]] || die "$BIN/$b missing: run e2e/build-apiserver.sh first"
  done
  command -v etcd >/dev/null || die "etcd not installed: run e2e/build-apiserver.sh first"
  for f in etcd kube-apiserver kube-controller-manager; do
    pid_is_ours "$WD/pids/$f.pid" && die "$f already running for $WD (run: $0 stop $WD)"
  done
  mkdir -p "$WD/logs" "$WD/pids" "$WD/etcd" "$WD/apiserver-certs"
  chmod 700 "$WD"

  STARTED=0
  trap 'if [[ $STARTED == 0 ]]; then log "start failed; stopping what was started"; stop_all; fi' EXIT
  # Turn signals into a normal exit so the EXIT trap above runs.
  trap 'exit 130' INT TERM HUP

  make_pki
  read -r ETCD_CLIENT_PORT ETCD_PEER_PORT ETCD_METRICS_PORT API_PORT < <(free_ports 4)
  SERVER="https://127.0.0.1:$API_PORT"
  ADMIN_TOKEN=$(openssl rand -hex 24)
  SCANNER_TOKEN=$(openssl rand -hex 24)
  KCM_TOKEN=$(openssl rand -hex 24)
  # Not in the token file, so the server answers 401.
  BAD_TOKEN="invalid-$(openssl rand -hex 12)"

  # Static tokens: token,user,uid,"groups". The controller manager runs as system:masters so that
  # its controllers need no per-controller service-account credentials.
  cat >"$WD/pki/tokens.csv" <<EOF
$ADMIN_TOKEN,admin,uid-admin,"system:masters"
$SCANNER_TOKEN,upgrade-scanner,uid-upgrade-scanner,"scanners"
$KCM_TOKEN,system:kube-controller-manager,uid-kcm,"system:masters"
EOF
  chmod 600 "$WD/pki/tokens.csv"

  spawn etcd etcd --name default --data-dir "$WD/etcd" \
    --listen-client-urls "http://127.0.0.1:$ETCD_CLIENT_PORT" \
    --advertise-client-urls "http://127.0.0.1:$ETCD_CLIENT_PORT" \
    --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-cluster "default=http://127.0.0.1:$ETCD_PEER_PORT" \
    --listen-metrics-urls "http://127.0.0.1:$ETCD_METRICS_PORT"
  wait_for etcd "etcd health" etcd_ready

  spawn kube-apiserver "$BIN/kube-apiserver" \
    --etcd-servers="http://127.0.0.1:$ETCD_CLIENT_PORT" \
    --bind-address=127.0.0.1 --advertise-address=127.0.0.1 \
    --secure-port="$API_PORT" --insecure-port=0 \
    --tls-cert-file="$WD/pki/server.crt" --tls-private-key-file="$WD/pki/server.key" \
    --client-ca-file="$WD/pki/ca.crt" \
    --service-account-key-file="$WD/pki/sa.pub" \
    --service-account-signing-key-file="$WD/pki/sa.key" \
    --service-account-issuer=https://kubernetes.default.svc.cluster.local \
    --api-audiences=https://kubernetes.default.svc.cluster.local \
    --token-auth-file="$WD/pki/tokens.csv" \
    --authorization-mode=RBAC \
    --service-cluster-ip-range=10.96.0.0/12 \
    --runtime-config=api/all=true \
    --enable-aggregator-routing=true \
    --allow-privileged=true \
    --cert-dir="$WD/apiserver-certs"
  wait_for kube-apiserver "kube-apiserver /readyz at $SERVER" api_ready

  write_kubeconfig

  # --port=0 / --secure-port=0: no HTTP(S) listener at all (1.20's insecure port would otherwise
  # bind 0.0.0.0:10252).
  spawn kube-controller-manager "$BIN/kube-controller-manager" \
    --kubeconfig="$WD/kcm.kubeconfig" \
    --controllers=serviceaccount,serviceaccount-token,disruption,endpoint,endpointslice \
    --service-account-private-key-file="$WD/pki/sa.key" \
    --root-ca-file="$WD/pki/ca.crt" \
    --leader-elect=false \
    --bind-address=127.0.0.1 --port=0 --secure-port=0
  wait_for kube-controller-manager "kube-controller-manager (default ServiceAccount)" kcm_ready

  cat >"$WD/cluster.env" <<EOF
# Written by e2e/cluster.sh; source it.
E2E_SERVER='$SERVER'
E2E_CA='$WD/pki/ca.crt'
E2E_KUBECONFIG='$WD/kubeconfig'
E2E_ADMIN_TOKEN='$ADMIN_TOKEN'
E2E_SCANNER_TOKEN='$SCANNER_TOKEN'
E2E_BAD_TOKEN='$BAD_TOKEN'
E2E_ETCD='http://127.0.0.1:$ETCD_CLIENT_PORT'
EOF
  chmod 600 "$WD/cluster.env"
  STARTED=1
  log "cluster ready: $SERVER (kubeconfig: $WD/kubeconfig)"
  echo "$WD/kubeconfig"
}

cmd_stop() {
  [[ -d $WD/pids ]] || { log "nothing to stop in $WD"; return 0; }
  stop_all
}

[[ $# == 2 ]] || usage
mkdir -p "$2"
WD=$(cd "$2" && pwd -P)
case $1 in
  start) cmd_start ;;
  stop) cmd_stop ;;
  *) usage ;;
esac
