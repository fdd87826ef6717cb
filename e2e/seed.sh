#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Seed a cluster started by e2e/cluster.sh with the objects that e2e/expected.json describes.
#
#   e2e/seed.sh <workdir>
#
# Every write is a raw curl request as the admin user with an explicit ?fieldManager=, sent through
# the API version under test, so metadata.managedFields[].apiVersion records that version. Runs once
# per fresh cluster: a second run fails on the first 409 AlreadyExists.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
[[ $# == 1 ]] || { echo "usage: $0 <workdir>" >&2; exit 2; }
WD=$(cd "$1" && pwd -P)
# shellcheck source=lib.sh
. "$HERE/lib.sh"
load_cluster_env

t0=$(date +%s)
log() { printf '[seed %3ss] %s\n' "$(($(date +%s) - t0))" "$*" >&2; }

# post PATH MANAGER <body: creates through the version in PATH.
post() {
  api POST "$1?fieldManager=$2" >/dev/null
  log "POST  $1 (manager $2)"
}

# Imitates `kubectl apply` (client-side) of a new object: the body gains the
# last-applied-configuration annotation holding the object as applied, and the manager is
# kubectl-client-side-apply.
csa_create() {
  local path=$1 body
  body=$(python3 -c '
import json, sys
obj = json.load(sys.stdin)
applied = json.loads(json.dumps(obj))
applied.setdefault("metadata", {}).setdefault("annotations", {})
obj["metadata"].setdefault("annotations", {})[
    "kubectl.kubernetes.io/last-applied-configuration"
] = json.dumps(applied, separators=(",", ":"), sort_keys=True) + "\n"
print(json.dumps(obj))
')
  api POST "$path?fieldManager=kubectl-client-side-apply" <<<"$body" >/dev/null
  log "POST  $path (client-side apply imitation)"
}

log "seeding $E2E_SERVER"

# --- namespaces --------------------------------------------------------------------------------
for ns in team-a team-b legacy-apps; do
  post /api/v1/namespaces kubectl-create <<EOF
{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"$ns"}}
EOF
done

# --- Ingress ------------------------------------------------------------------------------------
post /apis/extensions/v1beta1/namespaces/default/ingresses ci-deployer <<'EOF'
{"apiVersion":"extensions/v1beta1","kind":"Ingress",
 "metadata":{"name":"legacy-web","namespace":"default","labels":{"app":"legacy-web"}},
 "spec":{"rules":[{"host":"legacy.example.test","http":{"paths":[
   {"path":"/","backend":{"serviceName":"legacy-web","servicePort":80}}]}}]}}
EOF

# Server-side apply, as a GitOps tool would (operation Apply).
api PATCH '/apis/networking.k8s.io/v1beta1/namespaces/team-a/ingresses/api-gateway?fieldManager=gitops-bot' \
  application/apply-patch+yaml >/dev/null <<'EOF'
{"apiVersion":"networking.k8s.io/v1beta1","kind":"Ingress",
 "metadata":{"name":"api-gateway","namespace":"team-a","labels":{"app":"api-gateway"}},
 "spec":{"rules":[{"host":"api.example.test","http":{"paths":[
   {"path":"/","pathType":"Prefix","backend":{"serviceName":"api","servicePort":8080}}]}}]}}
EOF
log "PATCH networking.k8s.io/v1beta1 team-a/api-gateway (server-side apply, manager gitops-bot)"

# Created through extensions/v1beta1, then replaced through networking.k8s.io/v1 by another manager
# that changes the spec. ci-deployer keeps only the label it set, and with it its managedFields entry.
post /apis/extensions/v1beta1/namespaces/team-a/ingresses ci-deployer <<'EOF'
{"apiVersion":"extensions/v1beta1","kind":"Ingress",
 "metadata":{"name":"raw-ingress","namespace":"team-a","labels":{"app":"raw-ingress"}},
 "spec":{"rules":[{"host":"raw.example.test","http":{"paths":[
   {"path":"/v1","backend":{"serviceName":"raw-v1","servicePort":8080}}]}}]}}
EOF
current=$(api GET /apis/networking.k8s.io/v1/namespaces/team-a/ingresses/raw-ingress)
updated=$(python3 -c '
import json, sys
obj = json.loads(sys.argv[1])
obj["metadata"]["labels"]["release"] = "r2"
obj["spec"]["rules"] = [{"host": "raw.example.test", "http": {"paths": [
    {"path": "/v2", "pathType": "Prefix",
     "backend": {"service": {"name": "raw-v2", "port": {"number": 8080}}}}]}}]
print(json.dumps(obj))
' "$current")
api PUT '/apis/networking.k8s.io/v1/namespaces/team-a/ingresses/raw-ingress?fieldManager=release-bot' \
  <<<"$updated" >/dev/null
log "PUT   networking.k8s.io/v1 team-a/raw-ingress (manager release-bot)"

post /apis/networking.k8s.io/v1/namespaces/team-b/ingresses kubectl-create <<'EOF'
{"apiVersion":"networking.k8s.io/v1","kind":"Ingress",
 "metadata":{"name":"web","namespace":"team-b"},
 "spec":{"rules":[{"host":"web.example.test","http":{"paths":[
   {"path":"/","pathType":"Prefix","backend":{"service":{"name":"web","port":{"number":80}}}}]}}]}}
EOF

# --- RBAC: client-side apply through v1beta1 and through v1 -----------------------------------
csa_create /apis/rbac.authorization.k8s.io/v1beta1/clusterroles <<'EOF'
{"apiVersion":"rbac.authorization.k8s.io/v1beta1","kind":"ClusterRole",
 "metadata":{"name":"legacy-reader"},
 "rules":[{"apiGroups":[""],"resources":["pods"],"verbs":["get","list","watch"]},
          {"apiGroups":["extensions","networking.k8s.io"],"resources":["ingresses"],"verbs":["get","list"]}]}
EOF
csa_create /apis/rbac.authorization.k8s.io/v1/clusterroles <<'EOF'
{"apiVersion":"rbac.authorization.k8s.io/v1","kind":"ClusterRole",
 "metadata":{"name":"modern-reader"},
 "rules":[{"apiGroups":[""],"resources":["pods","services"],"verbs":["get","list","watch"]}]}
EOF

# --- deprecated (still served after 1.22) ---------------------------------------------------------
post /apis/batch/v1beta1/namespaces/team-a/cronjobs kubectl-create <<'EOF'
{"apiVersion":"batch/v1beta1","kind":"CronJob",
 "metadata":{"name":"nightly","namespace":"team-a"},
 "spec":{"schedule":"0 2 * * *","jobTemplate":{"spec":{"template":{"spec":{
   "restartPolicy":"OnFailure",
   "containers":[{"name":"report","image":"busybox:1.33","command":["sh","-c","date"]}]}}}}}}
EOF
post /apis/policy/v1beta1/namespaces/team-a/poddisruptionbudgets ci-deployer <<'EOF'
{"apiVersion":"policy/v1beta1","kind":"PodDisruptionBudget",
 "metadata":{"name":"web-pdb","namespace":"team-a"},
 "spec":{"minAvailable":1,"selector":{"matchLabels":{"app":"web"}}}}
EOF

# --- removed in 1.22, and GA-only counterparts ------------------------------------------------------
post /apis/scheduling.k8s.io/v1beta1/priorityclasses ci-deployer <<'EOF'
{"apiVersion":"scheduling.k8s.io/v1beta1","kind":"PriorityClass",
 "metadata":{"name":"legacy-high"},"value":100000,"globalDefault":false,
 "description":"written through scheduling.k8s.io/v1beta1"}
EOF
post /apis/scheduling.k8s.io/v1/priorityclasses kubectl-create <<'EOF'
{"apiVersion":"scheduling.k8s.io/v1","kind":"PriorityClass",
 "metadata":{"name":"critical"},"value":1000000,"globalDefault":false,
 "description":"written through scheduling.k8s.io/v1 only"}
EOF
post /apis/storage.k8s.io/v1beta1/storageclasses kubectl-create <<'EOF'
{"apiVersion":"storage.k8s.io/v1beta1","kind":"StorageClass",
 "metadata":{"name":"legacy-standard"},"provisioner":"example.test/legacy","reclaimPolicy":"Delete"}
EOF
post /apis/storage.k8s.io/v1/storageclasses kubectl-create <<'EOF'
{"apiVersion":"storage.k8s.io/v1","kind":"StorageClass",
 "metadata":{"name":"fast"},"provisioner":"kubernetes.io/no-provisioner",
 "volumeBindingMode":"WaitForFirstConsumer"}
EOF
# The rule matches a group nobody serves, so the (unreachable) webhook is never called.
post /apis/admissionregistration.k8s.io/v1beta1/validatingwebhookconfigurations policy-installer <<'EOF'
{"apiVersion":"admissionregistration.k8s.io/v1beta1","kind":"ValidatingWebhookConfiguration",
 "metadata":{"name":"legacy-validator"},
 "webhooks":[{"name":"validate.legacy.example.test",
   "clientConfig":{"service":{"namespace":"team-b","name":"legacy-webhook","path":"/validate"}},
   "rules":[{"apiGroups":["widgets.example.test"],"apiVersions":["v1"],"operations":["CREATE"],"resources":["widgets"]}],
   "failurePolicy":"Ignore","sideEffects":"None","admissionReviewVersions":["v1beta1"],"timeoutSeconds":5}]}
EOF
post /apis/coordination.k8s.io/v1beta1/namespaces/kube-system/leases legacy-operator <<'EOF'
{"apiVersion":"coordination.k8s.io/v1beta1","kind":"Lease",
 "metadata":{"name":"legacy-operator-lock","namespace":"kube-system"},
 "spec":{"holderIdentity":"legacy-operator-0","leaseDurationSeconds":15}}
EOF

# --- not deprecated at 1.22 ------------------------------------------------------------------------
post /apis/autoscaling/v2beta2/namespaces/team-b/horizontalpodautoscalers kubectl-create <<'EOF'
{"apiVersion":"autoscaling/v2beta2","kind":"HorizontalPodAutoscaler",
 "metadata":{"name":"api","namespace":"team-b"},
 "spec":{"scaleTargetRef":{"apiVersion":"apps/v1","kind":"Deployment","name":"api"},
   "minReplicas":1,"maxReplicas":3,
   "metrics":[{"type":"Resource","resource":{"name":"cpu","target":{"type":"Utilization","averageUtilization":80}}}]}}
EOF

# --- CRDs ------------------------------------------------------------------------------------------
post /apis/apiextensions.k8s.io/v1beta1/customresourcedefinitions crd-installer <<'EOF'
{"apiVersion":"apiextensions.k8s.io/v1beta1","kind":"CustomResourceDefinition",
 "metadata":{"name":"crontabs.stable.example.com"},
 "spec":{"group":"stable.example.com","scope":"Namespaced","preserveUnknownFields":true,
   "names":{"plural":"crontabs","singular":"crontab","kind":"CronTab","shortNames":["ct"]},
   "versions":[{"name":"v1beta1","served":true,"storage":true}]}}
EOF
# Moving storage to v1 leaves v1beta1 in status.storedVersions: objects may still be stored as v1beta1.
api PATCH '/apis/apiextensions.k8s.io/v1beta1/customresourcedefinitions/crontabs.stable.example.com?fieldManager=crd-migrator' \
  application/merge-patch+json >/dev/null <<'EOF'
{"spec":{"versions":[{"name":"v1beta1","served":true,"storage":false},
                     {"name":"v1","served":true,"storage":true}]}}
EOF
log "PATCH apiextensions.k8s.io/v1beta1 crontabs.stable.example.com: storage v1beta1 -> v1 (manager crd-migrator)"

post /apis/apiextensions.k8s.io/v1/customresourcedefinitions crd-installer <<'EOF'
{"apiVersion":"apiextensions.k8s.io/v1","kind":"CustomResourceDefinition",
 "metadata":{"name":"alertrules.monitoring.example.com"},
 "spec":{"group":"monitoring.example.com","scope":"Namespaced",
   "names":{"plural":"alertrules","singular":"alertrule","kind":"AlertRule"},
   "versions":[
     {"name":"v1alpha1","served":true,"storage":false,"deprecated":true,
      "deprecationWarning":"monitoring.example.com/v1alpha1 AlertRule is deprecated; use monitoring.example.com/v1 AlertRule",
      "schema":{"openAPIV3Schema":{"type":"object","x-kubernetes-preserve-unknown-fields":true}}},
     {"name":"v1","served":true,"storage":true,
      "schema":{"openAPIV3Schema":{"type":"object","x-kubernetes-preserve-unknown-fields":true}}}]}}
EOF

# --- Helm v3 release records ---------------------------------------------------------------------
while IFS=$'\t' read -r path body; do
  api POST "$path?fieldManager=helm" <<<"$body" >/dev/null
  log "POST  $path (helm release record)"
done < <(python3 "$HERE/helm_release.py")

# --- reads through deprecated versions, for apiserver_requested_deprecated_apis -------------------
for path in \
  /apis/extensions/v1beta1/ingresses \
  /apis/networking.k8s.io/v1beta1/ingresses \
  /apis/rbac.authorization.k8s.io/v1beta1/clusterroles \
  /apis/scheduling.k8s.io/v1beta1/priorityclasses \
  /apis/storage.k8s.io/v1beta1/storageclasses \
  /apis/apiextensions.k8s.io/v1beta1/customresourcedefinitions \
  /apis/batch/v1beta1/cronjobs \
  /apis/policy/v1beta1/poddisruptionbudgets; do
  api GET "$path" >/dev/null
done
log "GET   8 lists through deprecated versions"

log "done in $(($(date +%s) - t0))s"
