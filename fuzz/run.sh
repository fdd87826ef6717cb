#!/usr/bin/env bash
# Runs upcheck's fuzz targets (see README.md). Needs cargo-fuzz and a nightly toolchain:
#   cargo install cargo-fuzz && rustup toolchain install nightly
# Usage: fuzz/run.sh [TARGET...] [-t SECONDS]   (default: every target, 1800 s each, in turn)
set -euo pipefail
cd "$(dirname "$0")"
seconds=1800
targets=()
while (($#)); do
  case "$1" in
    -t) seconds="$2"; shift 2 ;;
    *) targets+=("$1"); shift ;;
  esac
done
((${#targets[@]})) || targets=(documents catalog pluto helm)

python3 seeds.py
for target in "${targets[@]}"; do
  case "$target" in
    documents|catalog) max_len=16384 ;;
    pluto|helm) max_len=8192 ;;
    *) echo "unknown target '$target' (documents, catalog, pluto, helm)" >&2; exit 2 ;;
  esac
  # New inputs go to corpus/TARGET; neither it nor seeds/ is committed (both regenerate).
  mkdir -p "corpus/$target"
  cargo +nightly fuzz run "$target" "corpus/$target" "seeds/$target" -- \
    -max_total_time="$seconds" -max_len="$max_len" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1
done
