#!/usr/bin/env python3
"""End-to-end check of `upcheck serve` against the real kube-apiserver.

Runs the exporter as the scanner user (bound to the ClusterRole that `deploy/base` ships, which a
test keeps equal to `upcheck cluster --rbac`), waits until /readyz answers 200, scrapes /metrics,
validates the page with promtool, compares its counts with the JSON report of `upcheck cluster`
for the same user and target, checks that /report is that report, and stops it with SIGTERM.

    e2e/serve.py WORKDIR UPCHECK TOOLS_DIR REPORT_JSON
"""

import json
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections import Counter


def fail(message):
    sys.exit("serve: " + message)


def get(url):
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def main():
    workdir, upcheck, tools, report_path = sys.argv[1:5]
    proc = subprocess.Popen(
        [upcheck, "serve", "--kubeconfig", workdir + "/kubeconfig", "--context", "e2e-scanner",
         "--target-version", "1.22", "--kubectl-version", "1.20",
         "--listen", "127.0.0.1:0", "--interval", "1h"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stderr.readline()
        match = re.search(r"serving (http://127\.0\.0\.1:\d+)", line)
        if not match:
            fail("no listening address on stderr: %r" % line)
        base = match.group(1)
        print("exporter at", base)
        deadline = time.time() + 120
        while True:
            status, _ = get(base + "/readyz")
            if status == 200:
                break
            if time.time() > deadline or proc.poll() is not None:
                fail("/readyz never answered 200 (last %s)" % status)
            time.sleep(0.5)
        status, body = get(base + "/healthz")
        if status != 200:
            fail("/healthz answered %s" % status)

        status, page = get(base + "/metrics")
        if status != 200:
            fail("/metrics answered %s" % status)
        with open(workdir + "/metrics.txt", "wb") as out:
            out.write(page)
        check = subprocess.run([tools + "/promtool", "check", "metrics"], input=page,
                               capture_output=True)
        # promtool exits 1 for lint warnings too; only "error" lines are failures of the format.
        problems = (check.stdout + check.stderr).decode()
        if check.returncode != 0 and re.search(r"(?im)^error", problems):
            fail("promtool check metrics: " + problems)
        print("promtool check metrics: exit %d%s" % (
            check.returncode, (": " + problems.strip()) if problems.strip() else ""))

        text = page.decode()
        findings = Counter()
        for line in text.splitlines():
            m = re.match(r"upcheck_findings\{([^}]*)\} (\d+)", line)
            if m:
                labels = dict(re.findall(r'(\w+)="([^"]*)"', m.group(1)))
                findings[(labels["code"], labels["kind"], labels["api_version"])] += int(m.group(2))
        report = json.load(open(report_path))
        want = Counter((f["code"], f["kind"], f["api_version"]) for f in report["findings"])
        if findings != want:
            fail("upcheck_findings %s differ from the report's findings %s" % (
                sorted(findings.items()), sorted(want.items())))
        print("upcheck_findings: %d objects in %d series, as `upcheck cluster` found" % (
            sum(findings.values()), len(findings)))
        for family in ("upcheck_readiness_findings", "upcheck_scan_timestamp_seconds",
                       "upcheck_scan_duration_seconds", "upcheck_scan_incomplete",
                       "upcheck_scan_errors_total", "upcheck_build_info"):
            if not re.search(r"(?m)^%s(\{| )" % family, text):
                fail("%s missing from /metrics" % family)

        status, served = get(base + "/report")
        if status != 200:
            fail("/report answered %s" % status)
        served = json.loads(served)
        if [f["fingerprint"] for f in served["findings"]] != [f["fingerprint"] for f in report["findings"]]:
            fail("/report's findings differ from `upcheck cluster`'s")
        print("/report: %d findings, as `upcheck cluster` wrote" % len(served["findings"]))
    finally:
        t0 = time.time()
        proc.send_signal(signal.SIGTERM)
        try:
            rc = proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            fail("did not stop within 5 s of SIGTERM")
    took = time.time() - t0
    if rc != 0 or took > 1.0:
        fail("SIGTERM: exit %s after %.2f s (want 0 within 1 s)" % (rc, took))
    print("SIGTERM: exit 0 after %.2f s" % took)


if __name__ == "__main__":
    main()
