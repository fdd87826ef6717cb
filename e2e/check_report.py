#!/usr/bin/env python3
"""Compare an `upcheck cluster -o json` report with e2e/expected.json.

Usage:
  python3 e2e/check_report.py REPORT.json EXPECTED.json
  python3 e2e/check_report.py --self-test EXPECTED.json

Exit status 0 when the report matches, 1 with a list of every mismatch otherwise, 2 on bad input.
--self-test builds a matching report from EXPECTED.json, checks that it passes, and checks that a few
broken variants fail; it needs no cluster and no upcheck binary.

Report shape (the parts read here):
  {"findings": [{"status", "api_version", "kind", "name", "namespace",
                 "origin": {"type": "object", "resource", "evidence": [{"source", "manager", ...}]}
                        | {"type": "helm", "release", "namespace", "revision", "chart", "storage", ...}}],
   "errors": [...],
   "cluster": {"server_version", "crds": [{"crd", "api_version", "kind", "issue"}],
               "requested_apis": [{"group", "version", "resource", "subresource", "removed_release"}],
               "not_checked": [...]}}
"""
import copy
import json
import sys


def obj_key(f):
    return (f.get("kind"), f.get("namespace"), f.get("name"), f.get("api_version"), f.get("status"))


def helm_key(release, namespace, revision, kind, api_version):
    return (release, namespace, revision, kind, api_version)


def fmt_obj(k):
    kind, ns, name, av, status = k
    where = "%s/%s" % (ns, name) if ns else name
    return "%s %s via %s (%s)" % (kind, where, av, status)


def fmt_helm(k):
    release, ns, rev, kind, av = k
    return "release %s/%s r%s: %s %s" % (ns, release, rev, kind, av)


class Checker:
    def __init__(self):
        self.failures = []
        self.warnings = []
        self.passed = 0

    def check(self, ok, message):
        if ok:
            self.passed += 1
        else:
            self.failures.append(message)
        return ok


def check(report, expected):
    c = Checker()
    if not isinstance(report, dict) or not isinstance(report.get("findings"), list):
        c.check(False, "report is not an object with a 'findings' list")
        return c
    findings = report["findings"]
    cluster = report.get("cluster") or {}

    # --- errors ---------------------------------------------------------------------------------
    errors = report.get("errors")
    c.check(errors == [], "report.errors is not empty: %s" % json.dumps(errors, indent=2))

    # --- server version --------------------------------------------------------------------------
    want_sv = expected.get("server_version")
    if want_sv:
        got_sv = cluster.get("server_version")
        c.check(got_sv == want_sv, "cluster.server_version is %r, expected %r" % (got_sv, want_sv))

    # --- object findings: exact set ---------------------------------------------------------------
    obj_findings = [f for f in findings if (f.get("origin") or {}).get("type") == "object"]
    helm_findings = [f for f in findings if (f.get("origin") or {}).get("type") == "helm"]
    other = [f for f in findings if f not in obj_findings and f not in helm_findings]
    c.check(not other, "findings with an unknown origin.type: %s" % json.dumps(other, indent=2))

    got = {}
    for f in obj_findings:
        got.setdefault(obj_key(f), []).append(f)
    want = {obj_key(e): e for e in expected["object_findings"]}

    missing = sorted(set(want) - set(got), key=str)
    extra = sorted(set(got) - set(want), key=str)
    if missing or extra:
        lines = ["object findings differ from expected (kind, namespace, name, api_version, status):"]
        lines += ["  - missing:    " + fmt_obj(k) for k in missing]
        lines += ["  + unexpected: " + fmt_obj(k) for k in extra]
        # A near miss (same object, other version or status) is the usual cause; say so.
        for k in missing:
            near = [g for g in got if g[:3] == k[:3]]
            for g in near:
                lines.append("    note: %s is reported as %s" % (fmt_obj(k), fmt_obj(g)))
        c.check(False, "\n".join(lines))
    else:
        c.passed += 1
    dups = [k for k, v in got.items() if len(v) > 1]
    c.check(not dups, "object findings reported more than once: %s" % ", ".join(fmt_obj(k) for k in dups))

    # --- object findings: managers and last-applied evidence --------------------------------------
    for k, e in want.items():
        if k not in got:
            continue
        evidence = [ev for f in got[k] for ev in ((f.get("origin") or {}).get("evidence") or [])]
        managers = {ev.get("manager") for ev in evidence if ev.get("source") == "managed-fields"}
        for m in e.get("managers", []):
            c.check(m in managers, "%s: manager %r missing from managed-fields evidence (got %s)"
                    % (fmt_obj(k), m, sorted(x for x in managers if x) or "none"))
        if e.get("last_applied"):
            c.check(any(ev.get("source") == "last-applied" for ev in evidence),
                    "%s: no last-applied evidence" % fmt_obj(k))
        for f in got[k]:
            # "ingresses" or the qualified "ingresses.networking.k8s.io" (the scanner may name the
            # resource by the group it listed, which need not be the group written through).
            res = (f.get("origin") or {}).get("resource")
            if e.get("resource") and res is not None:
                c.check(res.split(".", 1)[0] == e["resource"], "%s: origin.resource is %r, expected %r"
                        % (fmt_obj(k), res, e["resource"]))

    # --- GA-only objects are never reported (any version, any origin) ------------------------------
    for g in expected.get("ga_only_objects", []):
        hits = [f for f in obj_findings
                if (f.get("kind"), f.get("namespace"), f.get("name")) == (g["kind"], g["namespace"], g["name"])]
        c.check(not hits, "GA-only object %s %s/%s was reported: %s"
                % (g["kind"], g["namespace"] or "", g["name"], [obj_key(h) for h in hits]))

    # --- Helm findings: exact set over (release, namespace, revision, kind, api_version) ----------
    got_h = {}
    for f in helm_findings:
        o = f["origin"]
        got_h.setdefault(helm_key(o.get("release"), o.get("namespace"), o.get("revision"),
                                  f.get("kind"), f.get("api_version")), []).append(f)
    want_h = {helm_key(e["release"], e["namespace"], e["revision"], e["kind"], e["api_version"]): e
              for e in expected.get("helm_findings", [])}
    missing = sorted(set(want_h) - set(got_h), key=str)
    extra = sorted(set(got_h) - set(want_h), key=str)
    if missing or extra:
        lines = ["helm findings differ from expected (release, namespace, revision, kind, api_version):"]
        lines += ["  - missing:    " + fmt_helm(k) for k in missing]
        lines += ["  + unexpected: " + fmt_helm(k) for k in extra]
        c.check(False, "\n".join(lines))
    else:
        c.passed += 1
    for k, e in want_h.items():
        for f in got_h.get(k, []):
            o = f["origin"]
            c.check(f.get("status") == e["status"], "%s: status %r, expected %r"
                    % (fmt_helm(k), f.get("status"), e["status"]))
            for field in ("chart", "storage"):
                if field in e:
                    c.check(o.get(field) == e[field], "%s: origin.%s is %r, expected %r"
                            % (fmt_helm(k), field, o.get(field), e[field]))
    for n in expected.get("helm_not_reported", []):
        hits = [k for k in got_h if k[:3] == (n["release"], n["namespace"], n["revision"])]
        c.check(not hits, "helm release %s/%s revision %s must not be reported (%s), got: %s"
                % (n["namespace"], n["release"], n["revision"], n.get("why", ""),
                   ", ".join(fmt_helm(k) for k in hits)))

    # --- CRD issues --------------------------------------------------------------------------------
    crds = cluster.get("crds")
    if c.check(isinstance(crds, list), "cluster.crds is missing or not a list"):
        for e in expected.get("crd_issues", []):
            entries = [x for x in crds if x.get("crd") == e["crd"]]
            texts = [json.dumps(x, sort_keys=True).lower() for x in entries]
            ok = any(all(m.lower() in t for m in e["mentions"]) for t in texts)
            msg = ("CRD %s: no cluster.crds entry mentions %s (%s); entries for it: %s"
                   % (e["crd"], e["mentions"], e.get("why", ""), json.dumps(entries) if entries else "none"))
            if e.get("required", True):
                c.check(ok, msg)
            elif not ok:
                c.warnings.append(msg)

    # --- requested deprecated APIs (from /metrics) --------------------------------------------------
    req = cluster.get("requested_apis")
    if c.check(isinstance(req, list) and len(req) > 0, "cluster.requested_apis is empty or missing"):
        for e in expected.get("requested_apis_include", []):
            hit = any(all(r.get(k) == v for k, v in e.items()) for r in req)
            c.check(hit, "cluster.requested_apis lacks %s" % json.dumps(e, sort_keys=True))

    nc = cluster.get("not_checked")
    if nc:
        c.warnings.append("cluster.not_checked is not empty: %s" % json.dumps(nc))

    # --- readiness -------------------------------------------------------------------------------
    # The role printed by `upcheck cluster --rbac` must let every readiness check run.
    readiness = report.get("readiness")
    if readiness is not None:
        not_run = readiness.get("not_run")
        c.check(not_run == [], "readiness checks did not run: %s" % json.dumps(not_run))
        ran = readiness.get("ran") or []
        for code in expected.get("readiness_ran_include", []):
            c.check(code in ran, "readiness check %s did not run" % code)
        codes = {(f.get("code"), f.get("object")) for f in readiness.get("findings") or []}
        for e in expected.get("readiness_findings_include", []):
            c.check((e["code"], e["object"]) in codes,
                    "readiness finding %s on %s missing" % (e["code"], e["object"]))
    elif expected.get("readiness_ran_include"):
        c.check(False, "report has no readiness section")
    return c


# --- self-test -----------------------------------------------------------------------------------------

def synthetic_report(expected):
    """A report that matches expected.json, in the shape upcheck is meant to print."""
    findings = []
    for e in expected["object_findings"]:
        ev = [{"source": "managed-fields", "manager": m, "operation": "Update",
               "time": "2021-01-01T00:00:00Z", "subresource": None} for m in e["managers"]]
        if e.get("last_applied"):
            ev.append({"source": "last-applied"})
        findings.append({
            "code": "DEP001" if e["status"] == "removed" else "DEP002",
            "status": e["status"], "api_version": e["api_version"], "kind": e["kind"],
            "name": e["name"], "namespace": e["namespace"],
            "origin": {"type": "object", "resource": e["resource"], "evidence": ev}})
    for e in expected.get("helm_findings", []):
        findings.append({
            "code": "DEP001" if e["status"] == "removed" else "DEP002",
            "status": e["status"], "api_version": e["api_version"], "kind": e["kind"],
            "name": "x", "namespace": None,
            "origin": {"type": "helm", "release": e["release"], "namespace": e["namespace"],
                       "revision": e["revision"], "chart": e.get("chart"), "status": "deployed",
                       "storage": e.get("storage")}})
    crds = [{"crd": e["crd"], "api_version": "example/v", "kind": "K",
             "issue": {"text": " ".join(e["mentions"])}} for e in expected.get("crd_issues", [])]
    req = [dict(e, subresource="") for e in expected.get("requested_apis_include", [])]
    readiness = {"ran": list(expected.get("readiness_ran_include", [])), "not_run": [],
                 "findings": [dict(e, severity="info")
                              for e in expected.get("readiness_findings_include", [])]}
    return {"findings": findings, "errors": [],
            "cluster": {"server_version": expected.get("server_version"), "crds": crds,
                        "requested_apis": req, "not_checked": []},
            "readiness": readiness}


def self_test(expected):
    good = synthetic_report(expected)
    c = check(good, expected)
    if c.failures:
        print("self-test: a matching report failed:\n" + "\n".join(c.failures))
        return 1

    def broken(name, mutate):
        r = copy.deepcopy(good)
        mutate(r)
        if not check(r, expected).failures:
            print("self-test: broken report %r passed" % name)
            return 1
        return 0

    def add_ga(r):
        g = expected["ga_only_objects"][0]
        r["findings"].append({"status": "removed", "api_version": g["api_version"], "kind": g["kind"],
                              "name": g["name"], "namespace": g["namespace"],
                              "origin": {"type": "object", "resource": g["resource"], "evidence": []}})

    def add_superseded(r):
        n = expected["helm_not_reported"][0]
        r["findings"].append({"status": "removed", "api_version": "extensions/v1beta1", "kind": "Ingress",
                              "name": "web", "namespace": None,
                              "origin": {"type": "helm", "release": n["release"], "namespace": n["namespace"],
                                         "revision": n["revision"]}})

    bad = 0
    bad += broken("missing finding", lambda r: r["findings"].pop(0))
    bad += broken("wrong status", lambda r: r["findings"][0].update(status="deprecated"))
    bad += broken("wrong manager", lambda r: r["findings"][0]["origin"]["evidence"][0].update(manager="nobody"))
    bad += broken("GA object reported", add_ga)
    bad += broken("superseded helm revision", add_superseded)
    bad += broken("errors", lambda r: r["errors"].append({"message": "boom"}))
    bad += broken("no requested_apis", lambda r: r["cluster"].update(requested_apis=[]))
    bad += broken("no crd issue", lambda r: r["cluster"].update(crds=[]))
    if bad:
        return 1
    print("check_report self-test: ok (%d checks on the matching report)" % c.passed)
    return 0


def main(argv):
    if len(argv) == 3 and argv[1] == "--self-test":
        with open(argv[2]) as fh:
            return self_test(json.load(fh))
    if len(argv) != 3:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    try:
        with open(argv[1]) as fh:
            report = json.load(fh)
    except (OSError, ValueError) as err:
        print("check_report: cannot read report %s: %s" % (argv[1], err), file=sys.stderr)
        return 2
    with open(argv[2]) as fh:
        expected = json.load(fh)

    c = check(report, expected)
    for w in c.warnings:
        print("WARNING: " + w)
    if c.failures:
        print("check_report: %d mismatch(es) in %s:\n" % (len(c.failures), argv[1]))
        for i, f in enumerate(c.failures, 1):
            print("%d. %s\n" % (i, f))
        print("%d passed, %d failed" % (c.passed, len(c.failures)))
        return 1
    print("check_report: report matches %s (%d object findings, %d helm findings)"
          % (argv[2], len(expected["object_findings"]), len(expected.get("helm_findings", []))))
    print("%d passed, 0 failed" % c.passed)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
