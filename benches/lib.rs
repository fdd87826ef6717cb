//! Deterministic synthetic corpora for upcheck's benchmarks.
//!
//! [`generate`] writes `files` manifest files into a directory from a seed: small Deployments,
//! Services and RBAC objects, multi-document files, `List`s, large CRDs with deep schemas,
//! Helm templates, JSON, and YAML that is not Kubernetes at all, with a mix of current,
//! deprecated and removed API versions. The same spec always writes the same bytes, so
//! benchmark runs compare like with like. Nothing large is committed: corpora go to
//! `fixtures/generated/` (git-ignored) or a temporary directory.

use std::fmt::Write as _;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// A small, fast, seedable PRNG (splitmix64): enough for shaping test data.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// The next pseudo-random number.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
}

/// What kind of corpus to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    /// Files of a few KB, like application repositories: mostly small objects, some
    /// multi-document files, lists, JSON, templates and non-Kubernetes YAML.
    SmallFiles,
    /// Dominated by large `CustomResourceDefinition`s (100 KB to 2 MB each, deep schemas).
    LargeCrds,
    /// `kubectl get -o json` dumps: JSON `List`s of 20 to 400 live objects (50 KB to 1 MB),
    /// with status, managed fields and escaped `last-applied-configuration` annotations.
    JsonLists,
    /// Larger files than [`Profile::SmallFiles`] (about 5 KB on average): 80 % the small-file
    /// mix, 10 % bundles of 3 to 12 documents, 5 % JSON `List`s of 5 to 25 objects, 5 % CRDs of
    /// 10 to 40 KB.
    Mixed,
}

/// What to generate.
#[derive(Debug, Clone, Copy)]
pub struct Spec {
    /// Number of files.
    pub files: usize,
    /// Seed of the generator.
    pub seed: u64,
    /// Shape of the corpus.
    pub profile: Profile,
}

/// What was written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Written {
    /// Files written.
    pub files: u64,
    /// Bytes written.
    pub bytes: u64,
    /// Documents with content (what a scan counts).
    pub documents: u64,
}

const WORKLOAD_APIS: &[(&str, &str)] = &[
    ("apps/v1", "Deployment"),
    ("apps/v1", "Deployment"),
    ("apps/v1", "Deployment"),
    ("apps/v1", "StatefulSet"),
    ("apps/v1", "DaemonSet"),
    ("extensions/v1beta1", "Deployment"),
    ("apps/v1beta2", "Deployment"),
];

const OTHER_APIS: &[(&str, &str)] = &[
    ("v1", "Service"),
    ("v1", "ConfigMap"),
    ("v1", "ServiceAccount"),
    ("rbac.authorization.k8s.io/v1", "Role"),
    ("rbac.authorization.k8s.io/v1", "RoleBinding"),
    ("rbac.authorization.k8s.io/v1beta1", "ClusterRole"),
    ("networking.k8s.io/v1", "Ingress"),
    ("networking.k8s.io/v1beta1", "Ingress"),
    ("batch/v1", "CronJob"),
    ("batch/v1beta1", "CronJob"),
    ("policy/v1", "PodDisruptionBudget"),
    ("policy/v1beta1", "PodDisruptionBudget"),
    ("autoscaling/v2", "HorizontalPodAutoscaler"),
    ("autoscaling/v2beta2", "HorizontalPodAutoscaler"),
    ("flowcontrol.apiserver.k8s.io/v1beta3", "FlowSchema"),
    ("monitoring.coreos.com/v1", "ServiceMonitor"),
];

fn pick<'a>(rng: &mut Rng, items: &'a [(&'a str, &'a str)]) -> (&'a str, &'a str) {
    items[usize::try_from(rng.below(items.len() as u64)).unwrap_or(0)]
}

fn workload(out: &mut String, rng: &mut Rng, i: usize) {
    let (api, kind) = pick(rng, WORKLOAD_APIS);
    let containers = 1 + rng.below(3);
    let _ = write!(
        out,
        "apiVersion: {api}\nkind: {kind}\nmetadata:\n  name: app-{i}\n  namespace: team-{ns}\n  labels:\n    app.kubernetes.io/name: app-{i}\n    app.kubernetes.io/part-of: shop\n  annotations:\n    example.com/owner: \"team-{ns}@example.com\"\nspec:\n  replicas: {r}\n  selector:\n    matchLabels:\n      app.kubernetes.io/name: app-{i}\n  template:\n    metadata:\n      labels:\n        app.kubernetes.io/name: app-{i}\n    spec:\n      serviceAccountName: app-{i}\n      containers:\n",
        ns = rng.below(20),
        r = 1 + rng.below(5)
    );
    for c in 0..containers {
        let _ = write!(
            out,
            "        - name: c{c}\n          image: registry.example.com/team/app-{i}:{v}.{c}.0\n          args: [\"--port=8080\", \"--log-level=info\"]\n          ports:\n            - containerPort: {port}\n              name: http\n          env:\n            - name: MODE\n              value: production\n            - name: REPLICA\n              valueFrom:\n                fieldRef:\n                  fieldPath: metadata.name\n          resources:\n            requests: {{cpu: 100m, memory: 128Mi}}\n            limits: {{cpu: \"1\", memory: 512Mi}}\n          readinessProbe:\n            httpGet: {{path: /ready, port: http}}\n            periodSeconds: 10\n",
            v = rng.below(9),
            port = 8000 + rng.below(1000)
        );
    }
}

fn small_object(out: &mut String, rng: &mut Rng, i: usize) {
    let (api, kind) = pick(rng, OTHER_APIS);
    let _ = write!(
        out,
        "apiVersion: {api}\nkind: {kind}\nmetadata:\n  name: obj-{i}\n  namespace: team-{}\n  labels:\n    app: obj-{i}\nspec:\n  selector:\n    app: obj-{i}\n  ports:\n    - port: 80\n      targetPort: 8080\n",
        rng.below(20)
    );
}

/// A CRD with a schema nested `depth` levels deep and grown to about `target` bytes.
fn crd(out: &mut String, rng: &mut Rng, i: usize, target: usize) {
    let api = if rng.below(4) == 0 {
        "apiextensions.k8s.io/v1beta1"
    } else {
        "apiextensions.k8s.io/v1"
    };
    let _ = write!(
        out,
        "apiVersion: {api}\nkind: CustomResourceDefinition\nmetadata:\n  name: widgets{i}.example.com\n  annotations:\n    controller-gen.kubebuilder.io/version: v0.14.0\nspec:\n  group: example.com\n  names:\n    kind: Widget{i}\n    plural: widgets{i}\n  scope: Namespaced\n  versions:\n    - name: v1\n      served: true\n      storage: true\n      schema:\n        openAPIV3Schema:\n          type: object\n          properties:\n"
    );
    let start = out.len();
    let mut field = 0usize;
    while out.len() - start < target {
        let depth = 1 + usize::try_from(rng.below(12)).unwrap_or(0);
        for d in 0..depth {
            let indent = " ".repeat(12 + d * 4);
            let _ = write!(
                out,
                "{indent}field{field}x{d}:\n{indent}  description: Field {field} at depth {d} controls how the widget behaves when it is reconciled; see the documentation.\n{indent}  type: object\n{indent}  properties:\n"
            );
        }
        let indent = " ".repeat(12 + depth * 4);
        let _ = write!(
            out,
            "{indent}leaf{field}:\n{indent}  type: string\n{indent}  enum: [alpha, beta, gamma]\n{indent}  pattern: \"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$\"\n"
        );
        field += 1;
    }
}

fn helm_template(out: &mut String, rng: &mut Rng, i: usize) {
    let api = if rng.below(2) == 0 {
        "extensions/v1beta1"
    } else {
        "apps/v1"
    };
    let _ = write!(
        out,
        "apiVersion: {api}\nkind: Deployment\nmetadata:\n  name: {{{{ include \"chart.fullname\" . }}}}-{i}\n  labels:\n    {{{{- include \"chart.labels\" . | nindent 4 }}}}\nspec:\n  replicas: {{{{ .Values.replicaCount }}}}\n  template:\n    spec:\n      containers:\n        - name: app\n          image: \"{{{{ .Values.image.repository }}}}:{{{{ .Values.image.tag }}}}\"\n"
    );
}

fn json_object(out: &mut String, rng: &mut Rng, i: usize) {
    let (api, kind) = pick(rng, OTHER_APIS);
    let _ = write!(
        out,
        "{{\n  \"apiVersion\": \"{api}\",\n  \"kind\": \"{kind}\",\n  \"metadata\": {{\"name\": \"json-{i}\", \"namespace\": \"team-{}\", \"labels\": {{\"app\": \"json-{i}\"}}}},\n  \"spec\": {{\"ports\": [{{\"port\": 80, \"targetPort\": 8080}}]}}\n}}\n",
        rng.below(20)
    );
}

fn values_file(out: &mut String, rng: &mut Rng) {
    let _ = write!(
        out,
        "replicaCount: {}\nimage:\n  repository: registry.example.com/app\n  tag: \"1.{}.0\"\nservice:\n  type: ClusterIP\n  port: 80\ningress:\n  enabled: false\nresources: {{}}\n",
        1 + rng.below(5),
        rng.below(30)
    );
}

/// One object as `kubectl get -o json` prints it inside a `List` (4-space indentation, keys
/// sorted, the applied configuration kept as an escaped JSON string).
fn live_json_item(out: &mut String, rng: &mut Rng, i: usize) {
    let (api, kind) = if rng.below(2) == 0 {
        pick(rng, WORKLOAD_APIS)
    } else {
        pick(rng, OTHER_APIS)
    };
    let ns = rng.below(20);
    let generation = 1 + rng.below(9);
    let replicas = 1 + rng.below(5);
    let _ = write!(
        out,
        r#"        {{
            "apiVersion": "{api}",
            "kind": "{kind}",
            "metadata": {{
                "annotations": {{
                    "deployment.kubernetes.io/revision": "{generation}",
                    "kubectl.kubernetes.io/last-applied-configuration": "{{\"apiVersion\":\"{api}\",\"kind\":\"{kind}\",\"metadata\":{{\"annotations\":{{}},\"labels\":{{\"app\":\"live-{i}\"}},\"name\":\"live-{i}\",\"namespace\":\"team-{ns}\"}},\"spec\":{{\"replicas\":{replicas},\"selector\":{{\"matchLabels\":{{\"app\":\"live-{i}\"}}}}}}}}\n"
                }},
                "creationTimestamp": "2025-0{month}-1{day}T10:2{day}:00Z",
                "generation": {generation},
                "labels": {{
                    "app": "live-{i}",
                    "app.kubernetes.io/part-of": "shop"
                }},
                "managedFields": [
                    {{
                        "apiVersion": "{api}",
                        "fieldsType": "FieldsV1",
                        "fieldsV1": {{
                            "f:metadata": {{
                                "f:annotations": {{
                                    ".": {{}},
                                    "f:kubectl.kubernetes.io/last-applied-configuration": {{}}
                                }},
                                "f:labels": {{
                                    ".": {{}},
                                    "f:app": {{}}
                                }}
                            }},
                            "f:spec": {{
                                "f:replicas": {{}},
                                "f:selector": {{}}
                            }}
                        }},
                        "manager": "kubectl-client-side-apply",
                        "operation": "Update",
                        "time": "2025-0{month}-1{day}T10:2{day}:00Z"
                    }}
                ],
                "name": "live-{i}",
                "namespace": "team-{ns}",
                "resourceVersion": "{rv}",
                "uid": "{uid:016x}-0000-4000-8000-{i:012}"
            }},
            "spec": {{
                "replicas": {replicas},
                "selector": {{
                    "matchLabels": {{
                        "app": "live-{i}"
                    }}
                }},
                "template": {{
                    "metadata": {{
                        "labels": {{
                            "app": "live-{i}"
                        }}
                    }},
                    "spec": {{
                        "containers": [
                            {{
                                "image": "registry.example.com/team/live-{i}:1.{minor}.0",
                                "imagePullPolicy": "IfNotPresent",
                                "name": "app",
                                "ports": [
                                    {{
                                        "containerPort": 8080,
                                        "protocol": "TCP"
                                    }}
                                ],
                                "resources": {{
                                    "limits": {{
                                        "cpu": "1",
                                        "memory": "512Mi"
                                    }},
                                    "requests": {{
                                        "cpu": "100m",
                                        "memory": "128Mi"
                                    }}
                                }}
                            }}
                        ],
                        "restartPolicy": "Always",
                        "terminationGracePeriodSeconds": 30
                    }}
                }}
            }},
            "status": {{
                "availableReplicas": {replicas},
                "conditions": [
                    {{
                        "lastTransitionTime": "2025-0{month}-1{day}T10:2{day}:05Z",
                        "message": "Deployment has minimum availability.",
                        "reason": "MinimumReplicasAvailable",
                        "status": "True",
                        "type": "Available"
                    }}
                ],
                "observedGeneration": {generation},
                "readyReplicas": {replicas}
            }}
        }}"#,
        month = 1 + rng.below(9),
        day = rng.below(10),
        rv = 100_000 + rng.below(900_000),
        uid = rng.next_u64() >> 8,
        minor = rng.below(30),
    );
}

/// A `kubectl get -o json` list of `items` objects.
fn json_list(out: &mut String, rng: &mut Rng, i: usize, items: u64) {
    out.push_str("{\n    \"apiVersion\": \"v1\",\n    \"items\": [\n");
    for n in 0..items {
        if n > 0 {
            out.push_str(",\n");
        }
        live_json_item(out, rng, i * 1000 + usize::try_from(n).unwrap_or(0));
    }
    out.push_str("\n    ],\n    \"kind\": \"List\",\n    \"metadata\": {\n        \"resourceVersion\": \"\"\n    }\n}\n");
}

/// One file's content and its document count.
fn file(rng: &mut Rng, profile: Profile, i: usize) -> (String, &'static str, u64) {
    let mut out = String::with_capacity(4096);
    match profile {
        Profile::LargeCrds => {
            // 100 KB to 2 MB, most files near the small end like real CRD bundles.
            let size = 100_000
                + usize::try_from(rng.below(1_900_000) * rng.below(1000) / 1000).unwrap_or(0);
            crd(&mut out, rng, i, size);
            (out, "yaml", 1)
        }
        Profile::JsonLists => {
            let items = 20 + rng.below(381);
            json_list(&mut out, rng, i, items);
            (out, "json", 1)
        }
        Profile::Mixed => match rng.below(100) {
            0..=79 => file(rng, Profile::SmallFiles, i),
            80..=89 => {
                let docs = 3 + rng.below(10);
                for d in 0..docs {
                    if d > 0 {
                        out.push_str("---\n");
                    }
                    let n = i * 100 + usize::try_from(d).unwrap_or(0);
                    if d % 3 == 0 {
                        small_object(&mut out, rng, n);
                    } else {
                        workload(&mut out, rng, n);
                    }
                }
                (out, "yaml", docs)
            }
            90..=94 => {
                let items = 5 + rng.below(21);
                json_list(&mut out, rng, i, items);
                (out, "json", 1)
            }
            _ => {
                let size = 10_000 + usize::try_from(rng.below(30_000)).unwrap_or(0);
                crd(&mut out, rng, i, size);
                (out, "yaml", 1)
            }
        },
        Profile::SmallFiles => match rng.below(100) {
            0..=39 => {
                workload(&mut out, rng, i);
                (out, "yaml", 1)
            }
            40..=64 => {
                let docs = 2 + rng.below(4);
                for d in 0..docs {
                    if d > 0 {
                        out.push_str("---\n");
                    }
                    if d % 2 == 0 {
                        workload(&mut out, rng, i * 10 + usize::try_from(d).unwrap_or(0));
                    } else {
                        small_object(&mut out, rng, i * 10 + usize::try_from(d).unwrap_or(0));
                    }
                }
                (out, "yaml", docs)
            }
            65..=74 => {
                out.push_str("apiVersion: v1\nkind: List\nitems:\n");
                let mut item = String::new();
                for d in 0..3 {
                    item.clear();
                    small_object(&mut item, rng, i * 10 + d);
                    for (n, line) in item.lines().enumerate() {
                        out.push_str(if n == 0 { "  - " } else { "    " });
                        out.push_str(line);
                        out.push('\n');
                    }
                }
                (out, "yaml", 1)
            }
            75..=84 => {
                json_object(&mut out, rng, i);
                (out, "json", 1)
            }
            85..=89 => {
                helm_template(&mut out, rng, i);
                (out, "yaml", 1)
            }
            90..=94 => {
                values_file(&mut out, rng);
                (out, "yaml", 1)
            }
            _ => {
                small_object(&mut out, rng, i);
                (out, "yml", 1)
            }
        },
    }
}

/// Writes the corpus into `dir` (created if needed), spread over subdirectories of 100 files.
pub fn generate(dir: &Path, spec: Spec) -> io::Result<Written> {
    let mut rng = Rng::new(spec.seed);
    let mut written = Written::default();
    for i in 0..spec.files {
        let (text, ext, docs) = file(&mut rng, spec.profile, i);
        let sub = dir.join(format!("d{:04}", i / 100));
        if i % 100 == 0 {
            fs::create_dir_all(&sub)?;
        }
        fs::write(sub.join(format!("f{i:06}.{ext}")), &text)?;
        written.files += 1;
        written.bytes += text.len() as u64;
        written.documents += docs;
    }
    Ok(written)
}

/// Generates into `fixtures/generated/<name>` unless a corpus with the same spec is already
/// there (a marker file records the spec), and returns its path and size.
pub fn cached_corpus(name: &str, spec: Spec) -> io::Result<(PathBuf, Written)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures/generated")
        .join(name);
    let marker = dir.join(".spec");
    let key = format!("{spec:?}");
    if let Ok(text) = fs::read_to_string(&marker)
        && let Some((k, sizes)) = text.split_once('\n')
        && k == key
    {
        let n: Vec<u64> = sizes
            .split(' ')
            .filter_map(|s| s.trim().parse().ok())
            .collect();
        if let [files, bytes, documents] = n[..] {
            return Ok((
                dir,
                Written {
                    files,
                    bytes,
                    documents,
                },
            ));
        }
    }
    if dir.exists() {
        fs::remove_dir_all(&dir)?;
    }
    fs::create_dir_all(&dir)?;
    let written = generate(&dir, spec)?;
    fs::write(
        &marker,
        format!(
            "{key}\n{} {} {}",
            written.files, written.bytes, written.documents
        ),
    )?;
    Ok((dir, written))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_bytes() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        let spec = Spec {
            files: 120,
            seed: 7,
            profile: Profile::SmallFiles,
        };
        let wa = generate(a.path(), spec).unwrap();
        let wb = generate(b.path(), spec).unwrap();
        assert_eq!(wa, wb);
        let read = |d: &Path| {
            fs::read(d.join("d0001/f000119.yaml"))
                .or_else(|_| fs::read(d.join("d0001/f000119.json")))
                .or_else(|_| fs::read(d.join("d0001/f000119.yml")))
                .unwrap()
        };
        assert_eq!(read(a.path()), read(b.path()));
    }

    #[test]
    fn generated_corpus_scans_with_the_expected_document_count() {
        let dir = tempfile::tempdir().unwrap();
        let written = generate(
            dir.path(),
            Spec {
                files: 300,
                seed: 1,
                profile: Profile::SmallFiles,
            },
        )
        .unwrap();
        let settings = scanner_core::ScanSettings::new(scanner_core::Targets::kubernetes(
            scanner_core::KubeVersion::new(1, 25),
            None,
        ));
        let report = scanner_core::Scanner::new(scanner_core::Catalog::embedded(), settings)
            .scan_paths([dir.path()]);
        assert_eq!(report.stats.files, written.files);
        assert_eq!(report.stats.bytes, written.bytes);
        assert_eq!(report.stats.documents, written.documents);
        // The mix holds removed APIs and templates (errors) on purpose.
        assert!(!report.findings.is_empty());
        assert!(report.errors.iter().all(|e| e.message.contains("template")));
    }
}
