#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# End-to-end test of `upcheck cluster` against a real kube-apiserver v1.20.2 on loopback.
#
#   e2e/run.sh                       # UPCHECK defaults to target/debug/upcheck
#   UPCHECK=target/release/upcheck E2E_KEEP=1 e2e/run.sh
#
# Steps: build the control plane (cached), start it in a fresh temp workdir, seed it, check the seed
# against e2e/expected.json, grant the `scanner` user the ClusterRole from `upcheck cluster --rbac`,
# scan as that user, and compare the JSON report with e2e/expected.json. The cluster is always
# stopped at the end; the workdir is removed on success unless E2E_KEEP=1 (kept on failure).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
cd "$ROOT"
UPCHECK="${UPCHECK:-target/debug/upcheck}"
EXPECTED="$HERE/expected.json"

t0=$(date +%s)
log() { printf '\n[e2e %3ss] %s\n' "$(($(date +%s) - t0))" "$*"; }
die() { printf '[e2e] ERROR: %s\n' "$*" >&2; exit 1; }

resolved=$(command -v "$UPCHECK") ||
  die "upcheck binary not found at $UPCHECK (build it: cargo build -p scanner-cli, or set UPCHECK=path)"
UPCHECK=$resolved

log "build kube-apiserver (cached)"
"$HERE/build-apiserver.sh"

WD=$(mktemp -d "${TMPDIR:-/tmp}/upcheck-e2e.XXXXXX")
OK=0
cleanup() {
  "$HERE/cluster.sh" stop "$WD" || true
  if [[ $OK == 1 && ${E2E_KEEP:-0} != 1 ]]; then
    rm -rf "$WD"
  else
    echo "[e2e] workdir kept: $WD (logs in $WD/logs, report in $WD/report.json)" >&2
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

log "start cluster in $WD"
"$HERE/cluster.sh" start "$WD" >/dev/null

log "upcheck fix: every converted fixture accepted by a server-side dry-run create (before the seed, so no name is taken)"
python3 "$HERE/fix_dry_run.py" "$WD" "$UPCHECK" "$ROOT/fixtures/fix" || die "a converted fixture was rejected"

log "seed"
"$HERE/seed.sh" "$WD"

# Proves expected.json describes the live cluster before the scanner is judged against it.
log "check the seed against expected.json"
python3 "$HERE/check_seed.py" "$WD" "$EXPECTED"

log "grant the scanner user the role from \`upcheck cluster --rbac -o json\`"
if ! "$UPCHECK" cluster --rbac -o json >"$WD/rbac.json" 2>"$WD/rbac.stderr"; then
  cat "$WD/rbac.stderr" >&2
  die "\`$UPCHECK cluster --rbac -o json\` failed: the harness needs the role as JSON (no YAML parser here)"
fi
# Validates the role and prints its name, so a wrong shape fails here with a clear message.
ROLE=$(python3 - "$WD/rbac.json" <<'PY'
import json, sys
try:
    role = json.load(open(sys.argv[1]))
except ValueError as err:
    sys.exit("--rbac -o json did not print JSON: %s" % err)
if role.get("kind") != "ClusterRole" or role.get("apiVersion") != "rbac.authorization.k8s.io/v1":
    sys.exit("--rbac -o json printed %s %s, expected rbac.authorization.k8s.io/v1 ClusterRole"
             % (role.get("apiVersion"), role.get("kind")))
name = (role.get("metadata") or {}).get("name")
if not name or not role.get("rules"):
    sys.exit("--rbac -o json printed a ClusterRole without a name or rules")
print(name)
PY
)
# shellcheck source=lib.sh
. "$HERE/lib.sh"
load_cluster_env
api POST '/apis/rbac.authorization.k8s.io/v1/clusterroles?fieldManager=upcheck-e2e' <"$WD/rbac.json" >/dev/null
api POST '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings?fieldManager=upcheck-e2e' >/dev/null <<EOF
{"apiVersion":"rbac.authorization.k8s.io/v1","kind":"ClusterRoleBinding",
 "metadata":{"name":"$ROLE-e2e"},
 "roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"ClusterRole","name":"$ROLE"},
 "subjects":[{"apiGroup":"rbac.authorization.k8s.io","kind":"User","name":"upgrade-scanner"}]}
EOF
echo "ClusterRole $ROLE bound to user upgrade-scanner"
# upcheck also lists the objects of CRDs that have a deprecated version (AlertRule here), to judge
# them by their write history; `--rbac` cannot know a cluster's CRDs, so, as the README says, that
# list permission is granted apart, per CRD group.
api POST '/apis/rbac.authorization.k8s.io/v1/clusterroles?fieldManager=upcheck-e2e' >/dev/null <<EOF
{"apiVersion":"rbac.authorization.k8s.io/v1","kind":"ClusterRole",
 "metadata":{"name":"upcheck-custom-resources"},
 "rules":[{"apiGroups":["monitoring.example.com"],"resources":["alertrules"],"verbs":["list"]}]}
EOF
api POST '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings?fieldManager=upcheck-e2e' >/dev/null <<EOF
{"apiVersion":"rbac.authorization.k8s.io/v1","kind":"ClusterRoleBinding",
 "metadata":{"name":"upcheck-custom-resources"},
 "roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"ClusterRole","name":"upcheck-custom-resources"},
 "subjects":[{"apiGroup":"rbac.authorization.k8s.io","kind":"User","name":"upgrade-scanner"}]}
EOF

log "upcheck cluster --context e2e-scanner --target-version 1.22 --kubectl-version 1.20 -o json"
rc=0
"$UPCHECK" cluster --kubeconfig "$WD/kubeconfig" --context e2e-scanner --target-version 1.22 --kubectl-version 1.20 -o json \
  >"$WD/report.json" 2>"$WD/upcheck.stderr" || rc=$?
echo "exit code $rc; stderr:"
sed 's/^/  | /' "$WD/upcheck.stderr"
# expected.json's exit_code (3 = removed APIs found), unless E2E_EXPECT_EXIT says otherwise.
want_rc=${E2E_EXPECT_EXIT:-$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["exit_code"])' "$EXPECTED")}
# Compare the report first: its diff explains a wrong exit code best.
report_rc=0
python3 "$HERE/check_report.py" "$WD/report.json" "$EXPECTED" || report_rc=$?
[[ $rc == "$want_rc" ]] || die "upcheck exited $rc, expected $want_rc"
[[ $report_rc == 0 ]] || die "report does not match $EXPECTED"

log "upcheck plan --context e2e-scanner -t 1.22 -o json"
rc=0
"$UPCHECK" plan --kubeconfig "$WD/kubeconfig" --context e2e-scanner -t 1.22 -o json \
  >"$WD/plan.json" 2>"$WD/plan.stderr" || rc=$?
sed 's/^/  | /' "$WD/plan.stderr"
[[ $rc == "$want_rc" ]] || die "upcheck plan exited $rc, expected $want_rc (as the scan)"
python3 - "$WD/plan.json" "$WD/report.json" <<'PY' || die "the plan does not match the scan"
import json, sys
plan = json.load(open(sys.argv[1]))["plan"]
report = json.load(open(sys.argv[2]))
hops = [h["to"] for h in plan["hops"]]
assert hops == ["1.21", "1.22"], "hops %s" % hops
assert plan["current"] == "1.20", plan["current"]
for hop in hops:
    planned = sum(len(a["objects"]) for h in plan["hops"] if h["to"] == hop for a in h["removed_apis"])
    scanned = sum(1 for f in report["findings"] if f["component"] == "k8s" and f.get("removed_in") == hop)
    assert planned == scanned, "hop %s: %d objects planned, %d found by the scan" % (hop, planned, scanned)
    print("hop %s: %d objects to migrate, as the scan found" % (hop, planned))
PY

log "upcheck snapshot save, then diff against the same cluster"
rc=0
"$UPCHECK" snapshot save --kubeconfig "$WD/kubeconfig" --context e2e-scanner -o "$WD/snapshot.json" \
  2>"$WD/snapshot.stderr" || rc=$?
sed 's/^/  | /' "$WD/snapshot.stderr"
[[ $rc == 0 ]] || die "snapshot save exited $rc as the scanner user (the --rbac role must cover it)"
python3 - "$WD/snapshot.json" <<'PY' || die "the snapshot is not what was seeded"
import json, sys
snap = json.load(open(sys.argv[1]))
assert snap["schema_version"] == 1
assert not snap["unavailable"], snap["unavailable"]
assert snap["helm"], "no Helm release in the snapshot"
assert snap["pdbs"], "no PDB in the snapshot"
assert "policy/v1beta1" in snap["used_api_versions"], snap["used_api_versions"]
print("snapshot: %d Helm releases, %d PDBs, %d API versions in use" % (len(snap["helm"]), len(snap["pdbs"]), len(snap["used_api_versions"])))
PY
rc=0
"$UPCHECK" snapshot diff "$WD/snapshot.json" --kubeconfig "$WD/kubeconfig" --context e2e-scanner \
  >"$WD/diff.txt" 2>&1 || rc=$?
sed 's/^/  | /' "$WD/diff.txt"
[[ $rc == 0 ]] || die "snapshot diff against the unchanged cluster exited $rc"

log "kubectl apply --dry-run=server -k deploy/base (kubectl 1.20 from Debian)"
TOOLS=$("$HERE/tools.sh")
KUBECTL=("$TOOLS/kubectl" --kubeconfig "$WD/kubeconfig" --context e2e-admin)
# A server-side dry run cannot create objects in a namespace that does not exist yet; the
# Namespace is created for real first (after the scans, so they did not see it), and the whole
# base, Namespace included, is then applied as a dry run.
"${KUBECTL[@]}" create namespace upcheck >/dev/null
"${KUBECTL[@]}" apply --dry-run=server -k "$ROOT/deploy/base" | sed 's/^/  | /'

log "upcheck serve as the scanner user: readiness, /metrics (promtool), /report, SIGTERM"
python3 "$HERE/serve.py" "$WD" "$UPCHECK" "$TOOLS" "$WD/report.json" || die "upcheck serve failed its e2e check"

OK=1
log "e2e passed"
