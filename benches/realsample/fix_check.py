#!/usr/bin/env python3
"""Check `upcheck fix` on the real-world manifest sample (issue 22's acceptance).

Usage: fix_check.py UPCHECK_BINARY REALSAMPLE_DIR [TARGET]

Copies REALSAMPLE_DIR to a temporary directory, then:
  1. `upcheck files . -t TARGET -o json` on the copy: the removed objects before,
  2. `upcheck fix . -t TARGET --write -o json` on it (timed): converted and left objects,
  3. `upcheck files` again: every removed object still there must be one that fix left for a
     person (with its reason), never one it claimed to convert,
  4. every file whose bytes changed must be a file that had a finding,
  5. `upcheck fix` once more must change nothing (idempotent).
Prints the counts, the reasons objects were left (grouped), and the time taken. Exit status 1
on any violation.
"""
import collections
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time


def run(binary, cwd, *args):
    done = subprocess.run([binary, *args], cwd=cwd, capture_output=True, text=True)
    if done.returncode not in (0, 1, 2, 3, 4):
        sys.exit(f"upcheck {' '.join(args)} failed ({done.returncode}): {done.stderr}")
    return done


def removed_objects(binary, root, target):
    out = json.loads(run(binary, root, "files", ".", "-t", target, "-o", "json", "--allow-incomplete").stdout)
    return [f for f in out["findings"] if f["status"] == "removed"], out


def main():
    binary = os.path.abspath(sys.argv[1])
    source = sys.argv[2]
    target = sys.argv[3] if len(sys.argv) > 3 else "1.37"
    work = tempfile.mkdtemp(prefix="upcheck-fix-check.")
    root = os.path.join(work, "sample")
    shutil.copytree(source, root, symlinks=True)
    before_bytes = {}
    for d, _, files in os.walk(root):
        for f in files:
            p = os.path.join(d, f)
            if not os.path.islink(p):
                before_bytes[p] = open(p, "rb").read()

    removed_before, scan = removed_objects(binary, root, target)
    with_findings = {os.path.normpath(os.path.join(root, f["location"]["path"])) for f in scan["findings"]}
    with_findings |= {os.path.normpath(os.path.join(root, e["path"])) for e in scan["errors"]}

    t0 = time.monotonic()
    fixed = run(binary, root, "fix", ".", "-t", target, "--write", "-o", "json")
    seconds = time.monotonic() - t0
    report = json.loads(fixed.stdout)
    converted = [(f["path"], c) for f in report["files"] for c in f["changes"]]
    left = [(f["path"], l) for f in report["files"] for l in f["left"]]
    converted_at = {(os.path.normpath(p), c["line"]) for p, c in converted}

    removed_after, _ = removed_objects(binary, root, target)
    problems = []
    left_keys = {(os.path.normpath(p), l["kind"], l.get("name")) for p, l in left}
    for f in removed_after:
        key = (os.path.normpath(f["location"]["path"]), f["kind"], f.get("name"))
        if key not in left_keys:
            problems.append(f"still removed and not reported as left: {key} {f['api_version']}")

    changed = []
    for p, old in before_bytes.items():
        if open(p, "rb").read() != old:
            changed.append(p)
            if os.path.normpath(p) not in with_findings:
                problems.append(f"changed without a finding: {os.path.relpath(p, root)}")

    again = run(binary, root, "fix", ".", "-t", target, "-o", "json")
    if json.loads(again.stdout)["files"] and any(f["changes"] for f in json.loads(again.stdout)["files"]):
        problems.append("a second run still converts objects (not idempotent)")

    print(f"target {target}: {len(removed_before)} removed objects before, {len(removed_after)} after")
    print(f"fix --write: {len(converted)} objects converted in {len(changed)} files, "
          f"{len(left)} left for a person, {seconds:.1f} s")
    reasons = collections.Counter()
    for _, l in left:
        r = l["reason"]
        reasons[(l["api_version"] + " " + l["kind"], r[:110])] += 1
    print("left for a person:")
    for (what, r), n in reasons.most_common():
        print(f"  {n:4}  {what}: {r}")
    for p in problems:
        print("PROBLEM: " + p, file=sys.stderr)
    shutil.rmtree(work)
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
