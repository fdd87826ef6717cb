#!/usr/bin/env bash
# Fetches the client tools the e2e run checks the exporter with: kubectl 1.20 (Debian's
# kubernetes-client, the same source as the apiserver) and promtool (Debian's prometheus).
# Only the binaries are unpacked (no install scripts, no services); cached beside the apiserver.
#
#   e2e/tools.sh        # prints the directory holding kubectl and promtool
set -euo pipefail

TOOLS="${UPCHECK_E2E_CACHE:-$HOME/.cache/upcheck-e2e}/tools"
mkdir -p "$TOOLS"
if [[ -x $TOOLS/kubectl && -x $TOOLS/promtool ]]; then
  echo "$TOOLS"
  exit 0
fi
work=$(mktemp -d)
chown _apt "$work" 2>/dev/null || true # apt downloads as the _apt user where it can
trap 'rm -rf "$work"' EXIT
fetch() {
  (cd "$work" && apt-get download -qq "$1") >&2 2>&1 ||
    { apt-get update -qq >&2 && (cd "$work" && apt-get download -qq "$1") >&2; }
}
fetch kubernetes-client
fetch prometheus
for deb in "$work"/*.deb; do
  dpkg-deb -x "$deb" "$work/root"
done
cp "$work/root/usr/bin/kubectl" "$work/root/usr/bin/promtool" "$TOOLS/"
"$TOOLS/kubectl" version --client >&2
"$TOOLS/promtool" --version >&2
echo "$TOOLS"
