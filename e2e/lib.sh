# Shared helpers for the e2e scripts; source it after setting WD (the cluster's workdir).
# shellcheck shell=bash

# Loads the variables e2e/cluster.sh wrote (E2E_SERVER, E2E_CA, E2E_ADMIN_TOKEN, ...).
load_cluster_env() {
  [[ -f $WD/cluster.env ]] || { echo "$WD/cluster.env missing: run e2e/cluster.sh start $WD first" >&2; return 1; }
  # shellcheck source=/dev/null
  . "$WD/cluster.env"
}

# api METHOD PATH [CONTENT_TYPE]: one request as the admin user; a body, if any, is read from
# stdin. Prints the response body; fails with status and body unless the status is 2xx.
api() {
  local method=$1 path=$2 ctype=${3:-application/json} status resp rc=0
  resp=$(mktemp)
  local args=(-sS -o "$resp" -w '%{http_code}' -X "$method" --cacert "$E2E_CA"
    -H "Authorization: Bearer $E2E_ADMIN_TOKEN" -H 'Accept: application/json')
  if [[ $method != GET ]]; then
    args+=(-H "Content-Type: $ctype" --data-binary @-)
  fi
  status=$(curl "${args[@]}" "$E2E_SERVER$path") || rc=$?
  if [[ $rc != 0 || $status != 2?? ]]; then
    echo "FAILED: $method $path -> HTTP ${status:-none} (curl exit $rc)" >&2
    cat "$resp" >&2
    echo >&2
    rm -f "$resp"
    return 1
  fi
  cat "$resp"
  rm -f "$resp"
}
