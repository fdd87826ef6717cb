#!/usr/bin/env bash
# Build kube-apiserver and kube-controller-manager v1.20.2 from Debian's `kubernetes` source package
# and cache the binaries. Idempotent: with the binaries cached it only makes sure the runtime tools
# (etcd, openssl, curl, python3) are installed and returns in well under a second.
#
#   e2e/build-apiserver.sh            # build once, then reuse
#   UPCHECK_E2E_CACHE=/some/dir e2e/build-apiserver.sh
#
# Facts behind the steps are in shared/docs/real-apiserver.md.
set -euo pipefail

K8S_VERSION=v1.20.2
CACHE_ROOT="${UPCHECK_E2E_CACHE:-$HOME/.cache/upcheck-e2e}"
CACHE="$CACHE_ROOT/k8s-$K8S_VERSION"
BIN="$CACHE/bin"
LOG="$CACHE/build.log"
BINARIES=(kube-apiserver kube-controller-manager)

# Needed to run the cluster (cluster.sh, seed.sh) and to build.
RUNTIME_PKGS=(etcd-server etcd-client openssl curl ca-certificates python3)
BUILD_PKGS=(golang-go golang-github-modern-go-reflect2-dev dpkg-dev rsync make)

t0=$(date +%s)
log() { printf '[build-apiserver %3ss] %s\n' "$(($(date +%s) - t0))" "$*"; }
die() { log "ERROR: $*" >&2; exit 1; }

cached() {
  local b
  for b in "${BINARIES[@]}"; do [[ -x "$BIN/$b" ]] || return 1; done
}

missing_pkgs() {
  local p
  for p in "$@"; do
    dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' || printf '%s\n' "$p"
  done
}

APT_UPDATED=0
apt_update() {
  if [[ $APT_UPDATED == 0 ]]; then
    log "apt-get update"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >>"$LOG" 2>&1 || { tail -n 30 "$LOG" >&2; die "apt-get update failed"; }
    APT_UPDATED=1
  fi
}

ensure_pkgs() {
  local missing
  mapfile -t missing < <(missing_pkgs "$@")
  [[ ${#missing[@]} -eq 0 ]] && return 0
  [[ $(id -u) == 0 ]] || die "packages missing (${missing[*]}) and not root: install them first"
  apt_update
  log "installing: ${missing[*]}"
  # etcd-server's maintainer scripts would start a system etcd on the default ports where an init
  # system exists; this harness starts its own, so forbid service starts while installing.
  local made_policy=0
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod +x /usr/sbin/policy-rc.d
    made_policy=1
  fi
  local rc=0
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >>"$LOG" 2>&1 || rc=$?
  [[ $made_policy == 1 ]] && rm -f /usr/sbin/policy-rc.d
  if [[ $rc != 0 ]]; then tail -n 30 "$LOG" >&2; die "apt-get install failed"; fi
}

# The deb-src list this script added, if any: removed again once the source is downloaded (or
# the build fails), so the machine's apt configuration is left as it was found.
ADDED_SRC=""
remove_deb_src() {
  if [[ -n $ADDED_SRC ]]; then
    rm -f "$ADDED_SRC"
    log "removed $ADDED_SRC"
    ADDED_SRC=""
  fi
}

# Adds a deb-src twin of the distribution's own apt source, unless one is already configured.
ensure_deb_src() {
  if grep -rqsE '^(Types:.*deb-src|deb-src[[:space:]])' /etc/apt/sources.list /etc/apt/sources.list.d/; then
    return 0
  fi
  [[ $(id -u) == 0 ]] || die "no deb-src entry and not root"
  local deb822=/etc/apt/sources.list.d/debian.sources
  if [[ -f $deb822 ]]; then
    log "adding deb-src entry (copy of $deb822)"
    ADDED_SRC=/etc/apt/sources.list.d/upcheck-e2e-src.sources
    sed -E 's/^Types:[[:space:]]*deb$/Types: deb-src/' "$deb822" >"$ADDED_SRC"
  elif [[ -f /etc/apt/sources.list ]]; then
    log "adding deb-src entry (copy of /etc/apt/sources.list)"
    ADDED_SRC=/etc/apt/sources.list.d/upcheck-e2e-src.list
    sed -nE 's/^deb[[:space:]]+/deb-src /p' /etc/apt/sources.list >"$ADDED_SRC"
  else
    die "cannot find the distribution's apt source to copy"
  fi
  APT_UPDATED=0
}

mkdir -p "$CACHE"

if cached; then
  ensure_pkgs "${RUNTIME_PKGS[@]}"
  log "cached: $BIN ($(cd "$BIN" && echo "${BINARIES[*]}"))"
  exit 0
fi

# One build at a time per cache (two parallel runs would share the source tree).
exec 9>"$CACHE/.build.lock"
flock 9
if cached; then log "built by a concurrent run: $BIN"; exit 0; fi

: >"$LOG"
log "no cached binaries in $BIN; building (log: $LOG)"
on_fail() {
  local rc=$?
  remove_deb_src
  if [[ $rc != 0 ]]; then
    printf '\n----- last 40 lines of %s -----\n' "$LOG" >&2
    tail -n 40 "$LOG" >&2 || true
    log "FAILED after $(($(date +%s) - t0))s" >&2
  fi
}
trap on_fail EXIT

ensure_deb_src
ensure_pkgs "${RUNTIME_PKGS[@]}" "${BUILD_PKGS[@]}"
log "packages ready ($(go version))"

SRC_PARENT="$CACHE/src"
rm -rf "$SRC_PARENT"
mkdir -p "$SRC_PARENT"
apt_update
log "apt-get source kubernetes"
# apt downloads as the unprivileged _apt user where it can; a root-owned dir just yields a warning.
(cd "$SRC_PARENT" && apt-get source -qq kubernetes) >>"$LOG" 2>&1
remove_deb_src
SRC=$(find "$SRC_PARENT" -mindepth 1 -maxdepth 1 -type d -name 'kubernetes-*' | head -n 1)
[[ -n $SRC && -f $SRC/Makefile ]] || die "source tree not found under $SRC_PARENT"
log "source: $(basename "$SRC")"

# The vendored reflect2 v1.0.1 crashes at run time with Go >= 1.18; v1.0.2 from Debian fixes it.
R2_NEW=/usr/share/gocode/src/github.com/modern-go/reflect2
[[ -d $R2_NEW ]] || die "$R2_NEW missing (golang-github-modern-go-reflect2-dev)"
rm -rf "$SRC/vendor/github.com/modern-go/reflect2"
cp -r "$R2_NEW" "$SRC/vendor/github.com/modern-go/reflect2"

# GOPATH mode: the 1.20 build scripts expect the tree at $GOPATH/src/k8s.io/kubernetes.
mkdir -p "$SRC/.go/src/k8s.io"
ln -sfn "$SRC" "$SRC/.go/src/k8s.io/kubernetes"

log "make WHAT='cmd/kube-apiserver cmd/kube-controller-manager' (several minutes)"
tb=$(date +%s)
(
  cd "$SRC/.go/src/k8s.io/kubernetes"
  GOPATH="$SRC/.go" CGO_ENABLED=0 GOFLAGS='' KUBE_VERBOSE=1 \
    make WHAT='cmd/kube-apiserver cmd/kube-controller-manager'
) >>"$LOG" 2>&1
log "make took $(($(date +%s) - tb))s"

mkdir -p "$BIN.tmp"
for b in "${BINARIES[@]}"; do
  f=$(find "$SRC/_output" -type f -name "$b" -perm -u+x | head -n 1)
  [[ -n $f ]] || die "$b not found under $SRC/_output"
  cp "$f" "$BIN.tmp/$b"
done
"$BIN.tmp/kube-apiserver" --version >>"$LOG" 2>&1
ver=$("$BIN.tmp/kube-apiserver" --version)
[[ $ver == "Kubernetes $K8S_VERSION"* ]] || die "unexpected version: $ver"
rm -rf "$BIN"
mv "$BIN.tmp" "$BIN"
# The source tree and its build output are several GB; only the binaries are worth keeping.
rm -rf "$SRC_PARENT"
log "done: $ver -> $BIN (total $(($(date +%s) - t0))s)"
