#!/usr/bin/env python3
"""Writes the seed corpus of each fuzz target from the project's fixtures into fuzz/seeds/.

The seeds are derived, so they are not committed: `fuzz/run.sh` calls this first.
"""
import base64
import glob
import gzip
import json
import os
import pathlib

root = pathlib.Path(__file__).resolve().parent
fixtures = root.parent / "fixtures"
out = root / "seeds"


def put(target, name, data):
    d = out / target
    d.mkdir(parents=True, exist_ok=True)
    (d / name).write_bytes(data)


def files(pattern):
    return sorted(p for p in glob.glob(str(fixtures / pattern), recursive=True) if os.path.isfile(p))


# Manifests: every fixture manifest small enough to mutate quickly.
for i, p in enumerate(files("manifests/**/*") + files("examples/**/*")):
    data = pathlib.Path(p).read_bytes()
    if len(data) <= 64 * 1024:
        put("documents", f"m{i:04}", data)

# Catalogs: the fixture catalogs plus a small slice of the embedded one.
for i, p in enumerate(files("catalogs/*.yaml")):
    text = pathlib.Path(p).read_bytes()
    put("pluto" if "pluto" in p else "catalog", f"c{i:02}", text)

# Helm: every release record in the recorded clusters, at each of the target's depths.
seen = 0
for p in files("cluster/**/*.json"):
    try:
        doc = json.loads(pathlib.Path(p).read_text())
    except (ValueError, UnicodeDecodeError):
        continue
    items = doc.get("items", [doc]) if isinstance(doc, dict) else []
    for item in items:
        if not isinstance(item, dict) or item.get("type") != "helm.sh/release.v1":
            continue
        release = item.get("data", {}).get("release")
        if not isinstance(release, str):
            continue
        payload = base64.b64decode(base64.b64decode(release))
        body = gzip.decompress(payload) if payload[:2] == b"\x1f\x8b" else payload
        put("helm", f"h{seen:03}-object", b"\x00" + json.dumps(item).encode())
        put("helm", f"h{seen:03}-release", b"\x01" + body)
        put("helm", f"h{seen:03}-payload", b"\x02" + payload)
        seen += 1

for target in ("documents", "catalog", "pluto", "helm"):
    n = len(list((out / target).iterdir()))
    print(f"{target}: {n} seeds")
