#!/usr/bin/env python3
"""Build Helm v3 release storage objects (Secret and ConfigMap drivers) for the e2e seed.

Usage: python3 e2e/helm_release.py
Prints one line per storage object: "<api path>\t<compact JSON body>", ready for a POST.

Helm 3 stores a release as base64(gzip(JSON of the release)). The Secret driver puts that text into
the Secret's data, and the API shows Secret data base64-encoded again; the ConfigMap driver puts the
text straight into data.release. Labels are the ones Helm's drivers write and select on.

The releases here must agree with e2e/expected.json ("helm_findings").
"""
import base64
import gzip
import json
import sys

# A fixed clock keeps the payloads reproducible.
T1 = "2021-01-15T10:00:00.000000000Z"
T2 = "2021-02-20T14:30:00.000000000Z"

DEPLOYMENT_APPS_V1 = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels:
    app.kubernetes.io/name: web
spec:
  replicas: 2
  selector:
    matchLabels:
      app.kubernetes.io/name: web
  template:
    metadata:
      labels:
        app.kubernetes.io/name: web
    spec:
      containers:
        - name: web
          image: "nginx:1.19"
          ports:
            - containerPort: 80
"""

INGRESS_EXTENSIONS = """apiVersion: extensions/v1beta1
kind: Ingress
metadata:
  name: web
spec:
  rules:
    - host: web.example.test
      http:
        paths:
          - path: /
            backend:
              serviceName: web
              servicePort: 80
"""

INGRESS_NETWORKING_BETA = """apiVersion: networking.k8s.io/v1beta1
kind: Ingress
metadata:
  name: web
spec:
  rules:
    - host: web.example.test
      http:
        paths:
          - path: /
            pathType: Prefix
            backend:
              serviceName: web
              servicePort: 80
"""

PDB_POLICY_BETA = """apiVersion: policy/v1beta1
kind: PodDisruptionBudget
metadata:
  name: web
spec:
  minAvailable: 1
  selector:
    matchLabels:
      app.kubernetes.io/name: web
"""

SERVICE_V1 = """apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector:
    app.kubernetes.io/name: web
  ports:
    - port: 80
      targetPort: 80
"""

DASH_DEPLOYMENT_EXTENSIONS = """apiVersion: extensions/v1beta1
kind: Deployment
metadata:
  name: dash
  labels:
    app: dash
spec:
  replicas: 1
  template:
    metadata:
      labels:
        app: dash
    spec:
      containers:
        - name: dash
          image: "example.test/dash:2.0"
"""


def manifest(chart, docs):
    """Helm's rendered manifest: each template prefixed by '---' and a '# Source:' comment."""
    parts = []
    for template, body in docs:
        parts.append("---\n# Source: %s/templates/%s\n%s" % (chart, template, body))
    return "\n".join(parts)


# name, namespace, revision, status, chart, chart version, app version, driver, manifest docs
RELEASES = [
    ("web", "team-a", 1, "superseded", "web", "0.1.0", "1.19.0", "secret", T1, [
        ("service.yaml", SERVICE_V1),
        ("deployment.yaml", DEPLOYMENT_APPS_V1),
        ("ingress.yaml", INGRESS_EXTENSIONS),
    ]),
    ("web", "team-a", 2, "deployed", "web", "0.2.0", "1.19.0", "secret", T2, [
        ("service.yaml", SERVICE_V1),
        ("deployment.yaml", DEPLOYMENT_APPS_V1),
        ("ingress.yaml", INGRESS_NETWORKING_BETA),
        ("pdb.yaml", PDB_POLICY_BETA),
    ]),
    ("dash", "kube-system", 1, "deployed", "dash", "1.4.0", "2.0.0", "configmap", T1, [
        ("deployment.yaml", DASH_DEPLOYMENT_EXTENSIONS),
    ]),
]


def release_json(name, namespace, revision, status, chart, chart_version, app_version, when, docs):
    return {
        "name": name,
        "info": {
            "first_deployed": T1,
            "last_deployed": when,
            "deleted": "",
            "description": "Install complete" if revision == 1 else "Upgrade complete",
            "status": status,
            "notes": "",
        },
        "chart": {
            "metadata": {
                "name": chart,
                "version": chart_version,
                "appVersion": app_version,
                "description": "e2e test chart",
                "apiVersion": "v2",
                "type": "application",
            },
            "lock": None,
            "templates": [
                {"name": "templates/" + t, "data": base64.b64encode(b.encode()).decode()}
                for t, b in docs
            ],
            "values": {},
            "schema": None,
            "files": [],
        },
        "config": {},
        "manifest": manifest(chart, docs),
        "version": revision,
        "namespace": namespace,
    }


def encode_release(rel):
    """Helm's encodeRelease: base64(gzip(json))."""
    raw = json.dumps(rel, separators=(",", ":")).encode()
    return base64.b64encode(gzip.compress(raw, compresslevel=9, mtime=0)).decode()


def storage_object(spec):
    name, namespace, revision, status, chart, chart_version, app_version, driver, when, docs = spec
    encoded = encode_release(release_json(
        name, namespace, revision, status, chart, chart_version, app_version, when, docs))
    meta = {
        "name": "sh.helm.release.v1.%s.v%d" % (name, revision),
        "namespace": namespace,
        "labels": {
            "owner": "helm",
            "name": name,
            "status": status,
            "version": str(revision),
        },
    }
    if driver == "secret":
        body = {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": meta,
            "type": "helm.sh/release.v1",
            # Secret data values are base64 of the bytes, and the bytes are already base64 text.
            "data": {"release": base64.b64encode(encoded.encode()).decode()},
        }
        path = "/api/v1/namespaces/%s/secrets" % namespace
    else:
        body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta,
                "data": {"release": encoded}}
        path = "/api/v1/namespaces/%s/configmaps" % namespace
    return path, body


def decode_storage(kind, obj):
    """Inverse of storage_object, for self-checks: returns the release dict."""
    data = obj["data"]["release"]
    text = base64.b64decode(data).decode() if kind == "Secret" else data
    return json.loads(gzip.decompress(base64.b64decode(text)))


def main():
    for spec in RELEASES:
        path, body = storage_object(spec)
        # Round-trip check so a broken encoder fails here and not in the scanner.
        back = decode_storage(body["kind"], body)
        assert back["name"] == spec[0] and back["version"] == spec[2], back
        sys.stdout.write("%s\t%s\n" % (path, json.dumps(body, separators=(",", ":"))))


if __name__ == "__main__":
    main()
