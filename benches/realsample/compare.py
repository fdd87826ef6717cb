#!/usr/bin/env python3
"""Compare upcheck's answers with the ground truth of the real-world manifest sample.

Usage: compare.py UPCHECK_BINARY REALSAMPLE_DIR [TARGET]

REALSAMPLE_DIR is the unpacked `realsample/` directory (EXPECTED.tsv and real/). The script runs
`upcheck files real -t TARGET -o json --allow-incomplete` from inside it, then prints:
  * how many objects EXPECTED.tsv lists as removed (and deprecated) at TARGET,
  * how many upcheck reports, and every disagreement with the reason category.
Exit status 1 when an expected removal is not reported (a false negative).
"""
import collections
import json
import os
import subprocess
import sys


def ver(s):
    return tuple(int(x) for x in s.split(".")) if s else None


def main():
    binary, root = os.path.abspath(sys.argv[1]), sys.argv[2]
    target = ver(sys.argv[3] if len(sys.argv) > 3 else "1.37")
    tstr = ".".join(map(str, target))
    run = subprocess.run([binary, "files", "real", "-t", tstr, "-o", "json", "--allow-incomplete"],
                         cwd=root, capture_output=True, text=True)
    if run.returncode not in (0, 2, 3, 4):
        sys.exit(f"upcheck failed ({run.returncode}): {run.stderr}")
    report = json.loads(run.stdout)

    expected = {}
    with open(f"{root}/EXPECTED.tsv") as f:
        next(f)
        for line in f:
            path, doc, item, api, kind, name, ns, removed, deprecated, via = line.rstrip("\n").split("\t")
            key = ("real/" + path, int(doc), None if item == "-" else int(item))
            expected[key] = dict(api=api, kind=kind, name=name, ns=ns,
                                 removed=ver(removed), deprecated=ver(deprecated))

    got = {}
    for f in report["findings"]:
        loc = f["location"]
        got[(loc["path"], loc["document"], loc["item"])] = f

    def exp_status(e):
        if e["removed"] and e["removed"] <= target:
            return "removed"
        if e["deprecated"] and e["deprecated"] <= target:
            return "deprecated"
        return None

    exp_by_status = collections.Counter(exp_status(e) for e in expected.values())
    got_by_status = collections.Counter(f["status"] for f in got.values())
    print(f"target {tstr}; upcheck stats: {report['stats']}")
    print(f"errors: {len(report['errors'])}, warnings: {len(report['warnings'])}")
    print(f"EXPECTED: {exp_by_status['removed']} removed, {exp_by_status['deprecated']} deprecated")
    print(f"upcheck:  {got_by_status['removed']} removed, {got_by_status['deprecated']} deprecated, "
          f"{got_by_status['unknown']} unknown")

    missing = collections.Counter()
    extra = collections.Counter()
    mismatch = collections.Counter()
    false_negatives = 0
    for key, e in expected.items():
        want = exp_status(e)
        f = got.get(key)
        have = f["status"] if f else None
        if want == have:
            if f and (f["api_version"], f["kind"]) != (e["api"], e["kind"]):
                mismatch[(e["api"], e["kind"], "identity differs")] += 1
            if f and (f["name"] or "") != e["name"]:
                mismatch[(e["api"], e["kind"], f"name {f['name']!r} vs {e['name']!r}")] += 1
            continue
        if want == "removed" and have != "removed":
            false_negatives += 1
            missing[(e["api"], e["kind"], f"expected removed, upcheck {have}")] += 1
        elif want is None:
            why = "matched by group/version" if f and f["matched_by"] == "group-version" else \
                  "version never existed" if have == "unknown" else "other"
            extra[(e["api"], e["kind"], f"upcheck {have}: {why}")] += 1
        else:
            missing[(e["api"], e["kind"], f"expected {want}, upcheck {have}")] += 1
    for key, f in got.items():
        if key not in expected:
            extra[(f["api_version"], f["kind"], f"upcheck {f['status']}: not an EXPECTED row")] += 1

    for title, counter in (("Expected but not reported the same way", missing),
                           ("Reported beyond EXPECTED", extra),
                           ("Matched rows with other differences", mismatch)):
        print(f"\n{title}: {sum(counter.values())}")
        for (api, kind, why), n in sorted(counter.items(), key=lambda kv: (-kv[1], kv[0])):
            print(f"  {n:5d}  {api} {kind}: {why}")
    sys.exit(1 if false_negatives else 0)


if __name__ == "__main__":
    main()
