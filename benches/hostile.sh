#!/usr/bin/env bash
# Hostile inputs against the release binary: each must end in an error, in under 2 s and under
# 200 MB, with the sibling manifest still reported. Prints time and peak memory per case.
# Usage: benches/hostile.sh [DIR]   (DIR holds the generated files; default a temp dir; ~2.1 GB)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
bin="$root/target/release/upcheck"
[[ -x "$bin" ]] || cargo build --release -p scanner-cli --manifest-path "$root/Cargo.toml"
dir="${1:-$(mktemp -d)}"
mkdir -p "$dir"

good="$dir/good.yaml"
printf 'apiVersion: extensions/v1beta1\nkind: Ingress\nmetadata:\n  name: sibling\n' > "$good"

# 1 GB on one line: a JSON object whose one string value is 10^9 bytes long.
line="$dir/one-line-1g.json"
if [[ ! -s "$line" ]]; then
  { printf '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"big"},"data":{"x":"'
    head -c 1000000000 /dev/zero | tr '\0' a
    printf '"}}\n'; } > "$line"
fi

# Billion laughs: ten levels of ten aliases, 10^10 nodes when expanded.
bomb="$dir/alias-bomb.yaml"
python3 - "$bomb" <<'PY'
import sys
lines = ["apiVersion: v1", "kind: ConfigMap", "metadata:", "  name: bomb", "data:",
         "  a0: &a0 [" + ", ".join(["lol"] * 10) + "]"]
for i in range(1, 10):
    lines.append(f"  a{i}: &a{i} [" + ", ".join([f"*a{i-1}"] * 10) + "]")
open(sys.argv[1], "w").write("\n".join(lines) + "\n")
PY

# Nesting 100,000 levels deep, in flow and in block style.
deep="$dir/deep.yaml"
python3 - "$deep" <<'PY'
import sys
n = 100_000
open(sys.argv[1], "w").write("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: deep}\ndata: "
                             + "[" * n + "]" * n + "\n")
PY

run() {
  local label="$1"; shift
  local status=0
  /usr/bin/time -o "$dir/time" -f '%e %M' "$bin" files "$@" "$good" -t 1.22 -q \
    > "$dir/stdout" 2> "$dir/stderr" || status=$?
  read -r secs kb <<< "$(tail -n 1 "$dir/time")"
  local found=no
  grep -q sibling "$dir/stdout" && found=yes
  printf '%-40s %6s s %5s MB  exit %s  sibling reported: %s\n' "$label" "$secs" "$((kb / 1024))" "$status" "$found"
  cut -c1-150 "$dir/stderr" | sed 's/^/    /'
}

run "1 GB single-line file" "$line"
run "1 GB single line on stdin" - < "$line"
run "1 GB single line, --max-file-size 2048" "$line" --max-file-size 2048
run "alias bomb" "$bomb"
run "100,000 levels of nesting" "$deep"
