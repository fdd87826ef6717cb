#!/usr/bin/env python3
"""Converts every fixture of fixtures/fix with `upcheck fix` and has the real kube-apiserver
1.20 accept each converted object with a server-side dry-run create (what
`kubectl apply --dry-run=server` does for a new object): admission, defaulting and
validation run, nothing is stored. Runs before the cluster is seeded, so no name is taken;
namespaced objects go to one namespace of their own (created for real), whatever namespace
the fixture names.

    e2e/fix_dry_run.py WORKDIR UPCHECK FIXTURE_DIR

Objects whose API version the server does not serve (add-on kinds without their CRDs,
versions removed before 1.20) are listed as skipped. Fails on any rejection, and when no
converted object was checked at all.
"""
import json
import os
import re
import subprocess
import sys
import tempfile

WD, UPCHECK, FIXTURES = sys.argv[1:4]

env = {}
for line in open(os.path.join(WD, "cluster.env")):
    m = re.match(r"^(E2E_\w+)='(.*)'$", line.strip())
    if m:
        env[m.group(1)] = m.group(2)


def api(method, path, body=None, ctype="application/json"):
    """One request as the admin user: (HTTP status, parsed body or text)."""
    with tempfile.NamedTemporaryFile() as out:
        args = ["curl", "-sS", "-o", out.name, "-w", "%{http_code}", "-X", method,
                "--cacert", env["E2E_CA"], "-H", "Authorization: Bearer " + env["E2E_ADMIN_TOKEN"],
                "-H", "Accept: application/json"]
        if body is not None:
            args += ["-H", "Content-Type: " + ctype, "--data-binary", "@-"]
        done = subprocess.run(args + [env["E2E_SERVER"] + path], input=(body or "").encode(),
                              capture_output=True, check=False)
        if done.returncode != 0:
            sys.exit("curl failed for %s %s: %s" % (method, path, done.stderr.decode()))
        text = open(out.name).read()
        try:
            return int(done.stdout), json.loads(text)
        except ValueError:
            return int(done.stdout), text


discovery = {}


def resource_for(api_version, kind):
    """(plural, namespaced) of a kind, from discovery; None when the version is not served."""
    if api_version not in discovery:
        path = "/api/v1" if api_version == "v1" else "/apis/" + api_version
        status, body = api("GET", path)
        discovery[api_version] = body.get("resources", []) if status == 200 else None
    for r in discovery[api_version] or []:
        if r.get("kind") == kind and "/" not in r["name"]:
            return r["name"], r["namespaced"]
    return None


NAMESPACE = "upcheck-fix-e2e"


def documents(text):
    """The documents of a converted stream, each with its apiVersion, kind and namespace."""
    if text.lstrip().startswith("{"):
        obj = json.loads(text)
        if (obj.get("metadata") or {}).get("namespace"):
            obj["metadata"]["namespace"] = NAMESPACE
        yield json.dumps(obj), obj.get("apiVersion"), obj.get("kind"), NAMESPACE, "application/json"
        return
    for doc in re.split(r"(?m)^---[ \t]*(?:#.*)?$\n?", text):
        version = re.search(r"(?m)^apiVersion:\s*[\"']?([^\"'\s#]+)", doc)
        kind = re.search(r"(?m)^kind:\s*[\"']?([^\"'\s#]+)", doc)
        if not version or not kind:
            continue
        # The object's own namespace line, moved to the test's namespace.
        doc = re.sub(r"(?m)^(metadata:\n(?:[ \t]+.*\n)*?  namespace:[ \t]*)[\"']?[^\"'\s#]+[\"']?",
                     lambda m: m.group(1) + NAMESPACE, doc, count=1)
        yield doc, version.group(1), kind.group(1), NAMESPACE, "application/yaml"


checked = converted = skipped = 0
failures = []
created_namespaces = set()
for name in sorted(os.listdir(FIXTURES)):
    path = os.path.join(FIXTURES, name)
    if not os.path.isfile(path) or not name.endswith((".yaml", ".yml", ".json")) or name.startswith("broken"):
        continue
    source = open(path, newline="").read()
    run = subprocess.run([UPCHECK, "fix", "-t", "1.22", "--current", "1.20", "-"], input=source.encode(),
                         capture_output=True, check=False)
    if run.returncode not in (0, 2):
        failures.append("%s: upcheck fix exited %d: %s" % (name, run.returncode, run.stderr.decode()))
        continue
    before = {(v, k) for _, v, k, _, _ in documents(source)}
    for doc, version, kind, namespace, ctype in documents(run.stdout.decode()):
        found = resource_for(version, kind)
        if found is None:
            print("  skipped  %-28s %s %s: not served by kube-apiserver 1.20" % (name, version, kind))
            skipped += 1
            continue
        plural, namespaced = found
        prefix = "/api/v1" if version == "v1" else "/apis/" + version
        if namespaced:
            if namespace not in created_namespaces:
                api("POST", "/api/v1/namespaces", json.dumps({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}))
                created_namespaces.add(namespace)
            prefix += "/namespaces/" + namespace
        status, body = api("POST", "%s/%s?dryRun=All&fieldManager=upcheck-e2e" % (prefix, plural), doc, ctype)
        was_converted = (version, kind) not in before
        checked += 1
        converted += was_converted
        if status not in (200, 201):
            message = body.get("message") if isinstance(body, dict) else body
            failures.append("%s: %s %s rejected (HTTP %d): %s" % (name, version, kind, status, message))
        else:
            print("  accepted %-28s %s %s%s" % (name, version, kind, " (converted)" if was_converted else ""))

print("%d objects accepted by a dry-run create (%d of them converted by upcheck fix), %d skipped"
      % (checked - len(failures), converted, skipped))
for f in failures:
    print("FAILED: " + f, file=sys.stderr)
if failures:
    sys.exit(1)
if converted == 0:
    sys.exit("no converted object was checked: is %s empty?" % FIXTURES)
