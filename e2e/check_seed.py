#!/usr/bin/env python3
"""Check a seeded e2e cluster against e2e/expected.json, without upcheck.

Usage: python3 e2e/check_seed.py WORKDIR EXPECTED.json

Reads the live server (admin token from WORKDIR/cluster.env) and verifies that expected.json tells
the truth about it, so that a failing report check points at the scanner and not at the seed:
  * every expected object finding exists, and its managedFields hold the expected managers with the
    expected apiVersion (plus the last-applied annotation where expected);
  * GA-only objects carry no alpha/beta apiVersion in managedFields or last-applied;
  * a sweep over every listable resource finds no other object written through an alpha/beta
    version, apart from the versions expected.json lists as not at risk at the target;
  * the Helm release records decode, and the CRD and /metrics state is as expected;
  * the static tokens behave: scanner authenticates but has no RBAC, bad gets 401.
Prints the managedFields of each checked object. Exit 1 on any mismatch.
"""
import base64
import gzip
import json
import re
import ssl
import sys
import urllib.error
import urllib.request


def load_env(path):
    env = {}
    with open(path) as fh:
        for line in fh:
            m = re.match(r"^(\w+)='(.*)'$", line.strip())
            if m:
                env[m.group(1)] = m.group(2)
    return env


class Api:
    def __init__(self, env):
        self.server = env["E2E_SERVER"]
        self.ctx = ssl.create_default_context(cafile=env["E2E_CA"])
        self.env = env

    def request(self, path, token=None, raw=False):
        """Returns (status, body); body is parsed JSON unless raw."""
        req = urllib.request.Request(self.server + path, headers={
            "Accept": "application/json", "User-Agent": "upcheck-e2e-check-seed",
            "Authorization": "Bearer " + (token or self.env["E2E_ADMIN_TOKEN"])})
        try:
            with urllib.request.urlopen(req, context=self.ctx, timeout=30) as resp:
                status, data = resp.status, resp.read()
        except urllib.error.HTTPError as err:
            status, data = err.code, err.read()
        text = data.decode("utf-8", "replace")
        if raw:
            return status, text
        try:
            return status, json.loads(text)
        except ValueError:
            return status, text

    def get(self, path):
        status, body = self.request(path)
        if status != 200:
            raise RuntimeError("GET %s -> %s: %s" % (path, status, str(body)[:300]))
        return body


def obj_path(api_version, resource, namespace, name):
    base = "/api/v1" if api_version == "v1" else "/apis/" + api_version
    ns = "/namespaces/%s" % namespace if namespace else ""
    return "%s%s/%s/%s" % (base, ns, resource, name)


def at_risk(api_version, safe):
    return bool(re.search(r"/v\d+(alpha|beta)\d+$", api_version)) and api_version not in safe


def describe_mf(obj):
    return ["%s / %s / %s" % (m.get("manager"), m.get("operation"), m.get("apiVersion"))
            for m in obj["metadata"].get("managedFields") or []]


def main(argv):
    if len(argv) != 3:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    env = load_env(argv[1].rstrip("/") + "/cluster.env")
    with open(argv[2]) as fh:
        expected = json.load(fh)
    api = Api(env)
    safe = set(expected["not_at_risk_versions"]["versions"])
    failures = []
    passed = 0

    def check(ok, msg):
        nonlocal passed
        if ok:
            passed += 1
        else:
            failures.append(msg)
        return ok

    # --- expected findings: managedFields as claimed ------------------------------------------
    print("objects expected as findings (manager / operation / apiVersion):")
    for e in expected["object_findings"]:
        where = "%s/%s" % (e["namespace"], e["name"]) if e["namespace"] else e["name"]
        obj = api.get(obj_path(e["api_version"], e["resource"], e["namespace"], e["name"]))
        mf = obj["metadata"].get("managedFields") or []
        print("  %s %s [%s]" % (e["kind"], where, e["status"]))
        for line in describe_mf(obj):
            print("      " + line)
        managers = {m["manager"] for m in mf if m.get("apiVersion") == e["api_version"]}
        for m in e["managers"]:
            check(m in managers, "%s %s: no managedFields entry %s / %s (have: %s)"
                  % (e["kind"], where, m, e["api_version"], describe_mf(obj)))
        la = (obj["metadata"].get("annotations") or {}).get("kubectl.kubernetes.io/last-applied-configuration")
        if e.get("last_applied"):
            if check(la is not None, "%s %s: last-applied annotation missing" % (e["kind"], where)):
                check(json.loads(la).get("apiVersion") == e["api_version"],
                      "%s %s: last-applied names %s" % (e["kind"], where, json.loads(la).get("apiVersion")))

    # --- GA-only objects: nothing at risk ---------------------------------------------------------
    print("GA-only objects:")
    for g in expected["ga_only_objects"]:
        where = "%s/%s" % (g["namespace"], g["name"]) if g["namespace"] else g["name"]
        obj = api.get(obj_path(g["api_version"], g["resource"], g["namespace"], g["name"]))
        print("  %s %s: %s" % (g["kind"], where, "; ".join(describe_mf(obj))))
        bad = [m for m in obj["metadata"].get("managedFields") or [] if at_risk(m.get("apiVersion", ""), safe)]
        check(not bad, "GA-only %s %s has at-risk managedFields: %s" % (g["kind"], where, bad))
        la = (obj["metadata"].get("annotations") or {}).get("kubectl.kubernetes.io/last-applied-configuration")
        if la:
            check(not at_risk(json.loads(la).get("apiVersion", ""), safe),
                  "GA-only %s %s: last-applied names an at-risk version" % (g["kind"], where))

    # --- sweep: nothing at risk beyond expected.json ----------------------------------------------
    want = {(e["kind"], e["namespace"], e["name"], e["api_version"]) for e in expected["object_findings"]}
    seen = set()
    # Every version of every group, preferred first, listing each (group, resource) once: a
    # resource may be missing from the preferred version (1.20 has CronJob only in batch/v1beta1).
    group_versions = [("", "v1")]
    for g in api.get("/apis")["groups"]:
        pref = g["preferredVersion"]["groupVersion"]
        group_versions += [(g["name"], pref)] + [
            (g["name"], v["groupVersion"]) for v in g["versions"] if v["groupVersion"] != pref]
    listed = 0
    done = set()
    for group, gv in group_versions:
        base = "/api/v1" if gv == "v1" else "/apis/" + gv
        status, rl = api.request(base)
        if status != 200:
            print("  (skipping %s: HTTP %s)" % (gv, status))
            continue
        for r in rl["resources"]:
            if "/" in r["name"] or "list" not in r.get("verbs", []) or (group, r["name"]) in done:
                continue
            done.add((group, r["name"]))
            items = api.get("%s/%s" % (base, r["name"])).get("items") or []
            listed += 1
            for it in items:
                md = it["metadata"]
                for m in md.get("managedFields") or []:
                    av = m.get("apiVersion", "")
                    if at_risk(av, safe):
                        seen.add((r["kind"], md.get("namespace"), md["name"], av))
    extra = sorted(seen - want, key=str)
    missing = sorted(want - seen, key=str)
    check(not extra, "objects written through alpha/beta versions that expected.json does not list:\n    "
          + "\n    ".join(map(str, extra)))
    check(not missing, "expected findings not found by the sweep:\n    " + "\n    ".join(map(str, missing)))
    print("sweep: %d resource lists, %d at-risk (object, version) pairs" % (listed, len(seen)))

    # --- Helm records -------------------------------------------------------------------------------
    releases = []
    for kind, path in (("Secret", "/api/v1/secrets?labelSelector=owner%3Dhelm"),
                       ("ConfigMap", "/api/v1/configmaps?labelSelector=owner%3Dhelm")):
        for it in api.get(path)["items"]:
            data = it["data"]["release"]
            text = base64.b64decode(data).decode() if kind == "Secret" else data
            rel = json.loads(gzip.decompress(base64.b64decode(text)))
            versions = sorted(set(re.findall(r"^apiVersion: (\S+)\nkind: (\S+)", rel["manifest"], re.M)))
            releases.append((rel["namespace"], rel["name"], rel["version"], rel["info"]["status"]))
            print("helm %s %s/%s r%d %s (%s): %s" % (kind, rel["namespace"], rel["name"], rel["version"],
                  rel["info"]["status"], it["metadata"]["labels"].get("status"), versions))
            check(it["metadata"]["labels"].get("status") == rel["info"]["status"],
                  "helm %s: label status differs from info.status" % it["metadata"]["name"])
            if rel["info"]["status"] == "deployed":
                for h in expected["helm_findings"]:
                    if (h["release"], h["namespace"], h["revision"]) == (rel["name"], rel["namespace"], rel["version"]):
                        check((h["api_version"], h["kind"]) in versions,
                              "helm %s: manifest lacks %s %s" % (rel["name"], h["api_version"], h["kind"]))
    for h in expected["helm_findings"]:
        check((h["namespace"], h["release"], h["revision"], "deployed") in releases,
              "helm release %s/%s r%d (deployed) not stored" % (h["namespace"], h["release"], h["revision"]))

    # --- CRDs ---------------------------------------------------------------------------------------
    ct = api.get("/apis/apiextensions.k8s.io/v1/customresourcedefinitions/crontabs.stable.example.com")
    check(ct["status"].get("storedVersions") == ["v1beta1", "v1"],
          "crontabs storedVersions: %s" % ct["status"].get("storedVersions"))
    ar = api.get("/apis/apiextensions.k8s.io/v1/customresourcedefinitions/alertrules.monitoring.example.com")
    check(any(v["name"] == "v1alpha1" and v.get("deprecated") for v in ar["spec"]["versions"]),
          "alertrules v1alpha1 is not marked deprecated")
    print("crd crontabs storedVersions=%s; alertrules versions=%s" % (
        ct["status"].get("storedVersions"),
        [(v["name"], "deprecated" if v.get("deprecated") else "", "storage" if v["storage"] else "")
         for v in ar["spec"]["versions"]]))

    # --- /metrics -------------------------------------------------------------------------------------
    status, metrics = api.request("/metrics", raw=True)
    lines = [ln for ln in metrics.splitlines() if ln.startswith("apiserver_requested_deprecated_apis{")]
    print("/metrics: %d apiserver_requested_deprecated_apis series" % len(lines))
    for ln in lines:
        print("  " + ln)
    for e in expected["requested_apis_include"]:
        labels = ['%s="%s"' % (k, v) for k, v in e.items()]
        check(any(all(lb in ln for lb in labels) for ln in lines), "/metrics lacks a series with %s" % labels)

    # --- users -----------------------------------------------------------------------------------------
    s, _ = api.request("/api", token=env["E2E_SCANNER_TOKEN"])
    check(s == 200, "scanner GET /api -> %s, expected 200" % s)
    s, _ = api.request("/api/v1/namespaces", token=env["E2E_SCANNER_TOKEN"])
    check(s == 403, "scanner GET /api/v1/namespaces -> %s, expected 403 (no RBAC yet)" % s)
    s, _ = api.request("/api", token=env["E2E_BAD_TOKEN"])
    check(s == 401, "bad token GET /api -> %s, expected 401" % s)

    if failures:
        print("\ncheck_seed: %d problem(s):" % len(failures))
        for i, f in enumerate(failures, 1):
            print("%d. %s" % (i, f))
        print("%d passed, %d failed" % (passed, len(failures)))
        return 1
    print("check_seed: cluster matches %s" % argv[2])
    print("%d passed, 0 failed" % passed)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
