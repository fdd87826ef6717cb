//! `upcheck serve` end to end: the real binary scans the recorded 1.20 cluster behind the
//! loopback test server, and the tests scrape it over plain HTTP.
#![allow(clippy::unwrap_used)] // tests fail loudly on purpose
#![allow(clippy::float_cmp)] // the values compared are counts and timestamps, parsed exactly

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use upcheck_test_server::Scenario;

use crate::cluster::{Cluster, cluster, json as report_json};
use crate::common;

/// A running exporter; killed when dropped (a failed test must not leave it running).
struct Exporter {
    child: Child,
    address: String,
    stderr: Arc<Mutex<String>>,
}

impl Exporter {
    fn start(kubeconfig: &str, extra: &[&str]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_upcheck"))
            .args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--kubeconfig",
                kubeconfig,
            ])
            .args(extra)
            .current_dir(common::workspace())
            .env("UPCHECK_CACHE_DIR", common::empty_cache())
            .env("UPCHECK_TODAY", crate::common::TODAY)
            .env(
                "UPCHECK_RETRY_BACKOFF_MS",
                common::RETRY_BACKOFF_MS.to_string(),
            )
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // The bound address is the first line on stderr; the rest is kept for failure messages
        // (and read, so the exporter never blocks on a full pipe).
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let first = lines.next().unwrap().unwrap();
        let address = first
            .strip_prefix("upcheck: serving http://")
            .and_then(|rest| rest.split_whitespace().next())
            .unwrap_or_else(|| panic!("no address in {first:?}"))
            .to_owned();
        let stderr = Arc::new(Mutex::new(String::new()));
        let sink = Arc::clone(&stderr);
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                let mut s = sink.lock().unwrap();
                s.push_str(&line);
                s.push('\n');
            }
        });
        Self {
            child,
            address,
            stderr,
        }
    }

    fn get(&self, path: &str) -> (u16, String) {
        get(&self.address, path)
    }

    fn metrics(&self) -> Exposition {
        let (status, text) = self.get("/metrics");
        assert_eq!(status, 200, "{text}");
        Exposition::parse(&text)
    }

    fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Waits up to 30 s for `done`, scraping `/metrics` every 50 ms.
    fn wait_for(&self, what: &str, done: impl Fn(&Exposition) -> bool) -> Exposition {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let m = self.metrics();
            if done(&m) {
                return m;
            }
            assert!(
                Instant::now() < deadline,
                "never saw {what}; stderr:\n{}",
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Exporter {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A plain HTTP/1.1 GET: the status and the body.
fn get(address: &str, path: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(address).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = String::new();
    stream.read_to_string(&mut raw).unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    assert!(
        !head
            .to_ascii_lowercase()
            .contains("transfer-encoding: chunked"),
        "bodies have a known length: {head}"
    );
    (status, body.to_owned())
}

/// One sample line.
#[derive(Debug, Clone, PartialEq)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

/// A page in the Prometheus text format (0.0.4), checked while it is read: every line is a
/// `# HELP`/`# TYPE` comment or `name{labels} value`; each family has one HELP and one TYPE,
/// both before its samples; names and label names are valid; label values are properly
/// quoted and escaped; no series appears twice.
#[derive(Debug)]
struct Exposition {
    samples: Vec<Sample>,
    types: BTreeMap<String, String>,
}

fn valid_name(name: &str, colons: bool) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || (colons && c == ':'))
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || (colons && c == ':'))
}

/// Reads `{a="x",b="y"}` from the start of `text`; returns the labels and the rest.
fn parse_labels(text: &str) -> Result<(BTreeMap<String, String>, &str), String> {
    let mut labels = BTreeMap::new();
    let mut rest = text.strip_prefix('{').ok_or("no {")?;
    loop {
        if let Some(after) = rest.strip_prefix('}') {
            return Ok((labels, after));
        }
        let (name, after) = rest.split_once("=\"").ok_or("no =\"")?;
        if !valid_name(name, false) {
            return Err(format!("bad label name {name:?}"));
        }
        let mut value = String::new();
        let mut chars = after.char_indices();
        let end = loop {
            match chars.next().ok_or("unterminated value")? {
                (i, '"') => break i,
                (_, '\\') => match chars.next().ok_or("dangling escape")?.1 {
                    '\\' => value.push('\\'),
                    '"' => value.push('"'),
                    'n' => value.push('\n'),
                    c => return Err(format!("bad escape \\{c}")),
                },
                (_, '\n') => return Err("newline in a value".into()),
                (_, c) => value.push(c),
            }
        };
        if labels.insert(name.to_owned(), value).is_some() {
            return Err(format!("label {name} twice"));
        }
        rest = &after[end + 1..];
        rest = rest.strip_prefix(',').unwrap_or(rest);
    }
}

impl Exposition {
    fn parse(text: &str) -> Self {
        assert!(text.ends_with('\n'), "the page ends with a newline");
        let mut help = BTreeMap::new();
        let mut types = BTreeMap::new();
        let mut samples: Vec<Sample> = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let fail = |why: &str| -> ! { panic!("line {}: {why}: {line:?}\n{text}", n + 1) };
            if let Some(comment) = line.strip_prefix('#') {
                let mut words = comment.trim_start().splitn(3, ' ');
                let (Some(keyword), Some(name)) = (words.next(), words.next()) else {
                    fail("comment without a name")
                };
                let rest = words.next().unwrap_or("");
                if !valid_name(name, true) {
                    fail("bad metric name");
                }
                if samples.iter().any(|s| s.name == name) {
                    fail("HELP or TYPE after the family's samples");
                }
                let seen = match keyword {
                    "HELP" => help.insert(name.to_owned(), rest.to_owned()),
                    "TYPE" => {
                        if !["counter", "gauge", "histogram", "summary", "untyped"].contains(&rest)
                        {
                            fail("unknown type");
                        }
                        types.insert(name.to_owned(), rest.to_owned())
                    }
                    _ => fail("a comment other than HELP or TYPE"),
                };
                if seen.is_some() {
                    fail("HELP or TYPE twice");
                }
                continue;
            }
            let name_end = line.find(['{', ' ']).unwrap_or_else(|| fail("no value"));
            let name = &line[..name_end];
            if !valid_name(name, true) {
                fail("bad metric name");
            }
            let (labels, rest) = if line[name_end..].starts_with('{') {
                parse_labels(&line[name_end..]).unwrap_or_else(|e| fail(&e))
            } else {
                (BTreeMap::new(), &line[name_end..])
            };
            let value = rest
                .strip_prefix(' ')
                .unwrap_or_else(|| fail("no space before the value"));
            let value: f64 = match value {
                "+Inf" => f64::INFINITY,
                "-Inf" => f64::NEG_INFINITY,
                "NaN" => f64::NAN,
                v => v
                    .parse()
                    .unwrap_or_else(|_| fail("the value is not a number")),
            };
            if !help.contains_key(name) || !types.contains_key(name) {
                fail("a sample without HELP and TYPE before it");
            }
            if samples.iter().any(|s| s.name == name && s.labels == labels) {
                fail("the same series twice");
            }
            samples.push(Sample {
                name: name.to_owned(),
                labels,
                value,
            });
        }
        assert_eq!(
            help.keys().collect::<Vec<_>>(),
            types.keys().collect::<Vec<_>>(),
            "every family has both HELP and TYPE"
        );
        Self { samples, types }
    }

    fn series(&self, name: &str) -> Vec<&Sample> {
        self.samples.iter().filter(|s| s.name == name).collect()
    }

    /// The value of a family without labels.
    fn value(&self, name: &str) -> Option<f64> {
        self.series(name)
            .first()
            .filter(|s| s.labels.is_empty())
            .map(|s| s.value)
    }

    /// `upcheck_findings` as (code, status, apiVersion, kind, namespace, target) → count.
    fn findings(&self) -> BTreeMap<Vec<String>, f64> {
        self.series("upcheck_findings")
            .into_iter()
            .map(|s| (finding_key(|k| s.labels[k].clone()), s.value))
            .collect()
    }

    /// `upcheck_readiness_findings` as (code, severity) → count.
    fn readiness(&self) -> BTreeMap<(String, String), f64> {
        self.series("upcheck_readiness_findings")
            .into_iter()
            .map(|s| {
                (
                    (s.labels["code"].clone(), s.labels["severity"].clone()),
                    s.value,
                )
            })
            .collect()
    }
}

const FINDING_LABELS: [&str; 6] = [
    "code",
    "status",
    "api_version",
    "kind",
    "namespace",
    "target",
];

fn finding_key(label: impl Fn(&str) -> String) -> Vec<String> {
    FINDING_LABELS.iter().map(|k| label(k)).collect()
}

/// What the metrics must say about a `-o json` report, counted from the JSON.
fn expected_findings(report: &Value) -> BTreeMap<Vec<String>, f64> {
    let mut out = BTreeMap::new();
    for f in report["findings"].as_array().unwrap() {
        let key = finding_key(|k| f[k].as_str().unwrap_or("").to_owned());
        *out.entry(key).or_insert(0.0) += 1.0;
    }
    out
}

fn expected_readiness(report: &Value) -> BTreeMap<(String, String), f64> {
    let mut out = BTreeMap::new();
    for f in report["readiness"]["findings"].as_array().unwrap() {
        let key = (
            f["code"].as_str().unwrap().to_owned(),
            f["severity"].as_str().unwrap().to_owned(),
        );
        *out.entry(key).or_insert(0.0) += 1.0;
    }
    out
}

const INGRESSES: &str = "/apis/networking.k8s.io/v1/ingresses";

fn recorded_v1_20(scenario: Scenario) -> Cluster {
    cluster("v1.20", scenario)
}

#[test]
fn serve_exports_the_recorded_cluster_and_follows_its_changes() {
    // Every answer to /version waits, so the first scan is still running when the test
    // first asks: /readyz must say 503 then.
    let c = recorded_v1_20(Scenario {
        slow: [("/version".to_owned(), Duration::from_millis(2500))].into(),
        ..Scenario::default()
    });
    let reference = c.run(&["cluster", "-o", "json"]);
    let expected = report_json(&reference);
    let exporter = Exporter::start(&c.kubeconfig, &["--interval", "0.5"]);

    assert_eq!(exporter.get("/healthz").0, 200);
    assert_eq!(exporter.get("/readyz").0, 503, "{}", exporter.stderr());
    assert_eq!(exporter.get("/report").0, 503);
    let before = exporter.metrics();
    assert!(before.series("upcheck_findings").is_empty());
    assert_eq!(before.value("upcheck_scan_errors_total"), Some(0.0));
    assert_eq!(before.types["upcheck_scan_errors_total"], "counter");
    let build = before.series("upcheck_build_info");
    assert_eq!(build.len(), 1);
    assert_eq!(build[0].labels["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(
        build[0].labels["catalog"],
        expected["tool"]["catalog_version"].as_str().unwrap()
    );

    let first = exporter.wait_for("the first scan", |m| {
        m.value("upcheck_scan_timestamp_seconds").is_some()
    });
    assert_eq!(exporter.get("/readyz").0, 200);
    // The findings of the recorded cluster, counted per label set, and its readiness
    // findings per code and severity: the same as `upcheck cluster` reports.
    let findings = first.findings();
    assert_eq!(findings, expected_findings(&expected));
    assert_eq!(
        findings[&finding_key(|k| {
            match k {
                "code" => "DEP001",
                "status" => "removed",
                "api_version" => "policy/v1beta1",
                "kind" => "PodSecurityPolicy",
                "namespace" => "",
                _ => "1.37",
            }
            .to_owned()
        })],
        3.0
    );
    let readiness = first.readiness();
    assert_eq!(readiness, expected_readiness(&expected));
    assert_eq!(
        readiness[&("SKEW001".to_owned(), "blocker".to_owned())],
        25.0
    );
    assert_eq!(first.value("upcheck_scan_incomplete"), Some(0.0));
    assert!(first.value("upcheck_scan_duration_seconds").unwrap() >= 2.5);
    // No object names in labels: they are in /report, which is `-o json`'s output.
    let (status, report) = exporter.get("/report");
    assert_eq!(status, 200);
    assert_eq!(report, reference.stdout);
    // The alerts in deploy/ use only metrics the exporter has.
    let rules = std::fs::read_to_string(
        common::workspace().join("deploy/prometheus-operator/prometheusrule.yaml"),
    )
    .unwrap();
    let used: std::collections::BTreeSet<&str> = rules
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| w.starts_with("upcheck_"))
        .collect();
    assert!(used.len() >= 5, "{used:?}");
    for name in used {
        assert!(
            first.types.contains_key(name),
            "the rules use {name}, which is not exported"
        );
    }

    // The cluster changes: its Ingresses are deleted (those in Helm releases stay). The next
    // scan shows it, as `upcheck cluster` on the changed cluster does.
    c.server.set_list(
        INGRESSES,
        json!({"kind": "IngressList", "apiVersion": "networking.k8s.io/v1",
               "metadata": {"resourceVersion": "1"}, "items": []}),
    );
    let changed_reference = report_json(&c.run(&["cluster", "-o", "json"]));
    let ingresses = |m: &BTreeMap<Vec<String>, f64>| {
        m.iter()
            .filter(|(k, _)| k[3] == "Ingress")
            .map(|(_, v)| v)
            .sum::<f64>()
    };
    let after = expected_findings(&changed_reference);
    assert_eq!(ingresses(&findings), 6.0);
    assert_eq!(ingresses(&after), 2.0, "the Helm releases' Ingresses");
    let changed = exporter.wait_for("the Ingresses gone", |m| m.findings() == after);
    assert!(
        changed.value("upcheck_scan_timestamp_seconds")
            > first.value("upcheck_scan_timestamp_seconds")
    );
    let (_, report) = exporter.get("/report");
    assert_eq!(
        serde_json::from_str::<Value>(&report).unwrap(),
        changed_reference
    );
}

#[test]
fn a_failing_scan_keeps_the_last_report_and_counts_the_error() {
    let c = recorded_v1_20(Scenario::default());
    let exporter = Exporter::start(&c.kubeconfig, &["--interval", "0.3", "--retries", "0"]);
    let first = exporter.wait_for("the first scan", |m| {
        m.value("upcheck_scan_timestamp_seconds").is_some()
    });
    let (_, report) = exporter.get("/report");

    // The cluster goes away: the kubeconfig (read again for every scan) now points at a
    // port nobody listens on.
    let closed = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let text = std::fs::read_to_string(&c.kubeconfig).unwrap();
    let moved = text.replace(
        &format!("127.0.0.1:{}", c.server.port),
        &format!("127.0.0.1:{port}"),
    );
    assert_ne!(text, moved);
    std::fs::write(&c.kubeconfig, moved).unwrap();

    let failed = exporter.wait_for("two failed scans", |m| {
        m.value("upcheck_scan_errors_total") >= Some(2.0)
    });
    // The last report is still served, in the metrics and as JSON.
    assert_eq!(failed.findings(), first.findings());
    assert_eq!(failed.readiness(), first.readiness());
    assert_eq!(
        failed.value("upcheck_scan_timestamp_seconds"),
        first.value("upcheck_scan_timestamp_seconds")
    );
    assert_eq!(exporter.get("/report"), (200, report));
    assert_eq!(exporter.get("/readyz").0, 200);
    assert!(
        exporter
            .stderr()
            .contains("still serving the previous report"),
        "{}",
        exporter.stderr()
    );

    // Back again: the next scan succeeds and the counter stays where it was.
    std::fs::write(&c.kubeconfig, text).unwrap();
    let errors = exporter
        .metrics()
        .value("upcheck_scan_errors_total")
        .unwrap();
    let recovered = exporter.wait_for("a scan after the recovery", |m| {
        m.value("upcheck_scan_timestamp_seconds") > failed.value("upcheck_scan_timestamp_seconds")
    });
    assert!(recovered.value("upcheck_scan_errors_total").unwrap() >= errors);
    assert_eq!(recovered.findings(), first.findings());
}

#[test]
fn sigterm_stops_the_exporter_within_a_second_with_exit_0() {
    let c = recorded_v1_20(Scenario::default());
    let mut exporter = Exporter::start(&c.kubeconfig, &["--interval", "1h"]);
    exporter.wait_for("the first scan", |m| {
        m.value("upcheck_scan_timestamp_seconds").is_some()
    });
    let signalled = Instant::now();
    let kill = Command::new("kill")
        .args(["-TERM", &exporter.child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let status = loop {
        if let Some(status) = exporter.child.try_wait().unwrap() {
            break status;
        }
        assert!(
            signalled.elapsed() < Duration::from_secs(1),
            "still running a second after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(10));
    };
    assert_eq!(status.code(), Some(0), "{}", exporter.stderr());
    // The reader thread may lag the exit by a moment.
    let deadline = Instant::now() + Duration::from_secs(5);
    while !exporter.stderr().contains("stopped serving") && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(
        exporter.stderr().contains("stopped serving"),
        "{}",
        exporter.stderr()
    );
}

#[test]
fn serve_refuses_bad_settings_before_listening() {
    let run = common::upcheck(&["serve", "--interval", "0.01"]);
    assert_eq!(run.code, 1, "{}", run.transcript());
    assert!(
        run.stderr.contains("between 0.1 seconds and a year"),
        "{}",
        run.stderr
    );
    let run = common::upcheck(&["serve", "--interval", "5d"]);
    assert!(
        run.stderr.contains("the unit must be ms, s, m or h"),
        "{}",
        run.stderr
    );
    let run = common::upcheck(&["serve", "--select", "NOPE999", "--listen", "127.0.0.1:0"]);
    assert_eq!(run.code, 1, "{}", run.transcript());
    assert!(run.stderr.contains("unknown check code"), "{}", run.stderr);
    assert!(!run.stderr.contains("serving"), "{}", run.stderr);
    // A port in use is an error at once.
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = taken.local_addr().unwrap().to_string();
    let run = common::upcheck(&["serve", "--listen", &address]);
    assert_eq!(run.code, 1, "{}", run.transcript());
    assert!(
        run.stderr
            .contains(&format!("cannot listen on {address} (--listen)")),
        "{}",
        run.stderr
    );
}

#[test]
fn the_exposition_checker_rejects_malformed_pages() {
    let good = "# HELP a_total x\n# TYPE a_total counter\na_total{l=\"v\\\"\"} 1\n";
    assert_eq!(Exposition::parse(good).samples[0].labels["l"], "v\"");
    for bad in [
        "a 1\n",                                         // no HELP/TYPE
        "# HELP a x\n# TYPE a gauge\na{l=\"v} 1\n",      // unterminated value
        "# HELP a x\n# TYPE a gauge\na 1\na 2\n",        // same series twice
        "# HELP a x\n# TYPE a gauge\na one\n",           // not a number
        "# HELP a x\n# TYPE a gauge\na 1\n# HELP a y\n", // HELP after samples
        "# HELP a x\n# TYPE a gauge\n9a 1\n",            // bad name
        "# HELP a x\n# TYPE a wobbly\na 1\n",            // unknown type
        "# HELP a x\n# TYPE a gauge\na{l=\"\\x\"} 1\n",  // bad escape
        "# HELP a x\n# TYPE a gauge\na 1",               // no final newline
    ] {
        let parsed = std::panic::catch_unwind(|| Exposition::parse(bad));
        assert!(parsed.is_err(), "accepted {bad:?}");
    }
}

/// Every file under `deploy/`, sorted.
fn deploy_files() -> Vec<std::path::PathBuf> {
    fn walk(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else {
                out.push(path);
            }
        }
    }
    let mut out = Vec::new();
    walk(&common::workspace().join("deploy"), &mut out);
    out.sort();
    out
}

fn yaml(path: &std::path::Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap();
    serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn deploy_role_is_what_cluster_rbac_prints() {
    let run = common::upcheck(&["cluster", "--rbac"]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    let committed =
        std::fs::read_to_string(common::workspace().join("deploy/base/clusterrole.yaml")).unwrap();
    assert!(
        committed == run.stdout,
        "deploy/base/clusterrole.yaml is not `upcheck cluster --rbac`'s output: regenerate it with\n  upcheck cluster --rbac > deploy/base/clusterrole.yaml"
    );
}

#[test]
fn deploy_manifests_parse_and_use_no_deprecated_api() {
    let files = deploy_files();
    let mut kinds = Vec::new();
    for path in &files {
        assert_eq!(
            path.extension().and_then(|e| e.to_str()),
            Some("yaml"),
            "only YAML under deploy/: {}",
            path.display()
        );
        let doc = yaml(path);
        kinds.push(doc["kind"].as_str().unwrap().to_owned());
        // Each kustomization lists files that exist.
        if doc["kind"] == "Kustomization" {
            for r in doc["resources"].as_array().unwrap() {
                let target = path.parent().unwrap().join(r.as_str().unwrap());
                assert!(target.exists(), "{} lists {r}", path.display());
            }
        }
    }
    kinds.sort();
    assert_eq!(
        kinds,
        [
            "ClusterRole",
            "ClusterRoleBinding",
            "Deployment",
            "Kustomization",
            "Kustomization",
            "Namespace",
            "PrometheusRule",
            "Service",
            "ServiceAccount",
            "ServiceMonitor",
        ]
    );

    // The exporter runs as the issue asks: limits, read-only root, non-root, no escalation,
    // probes on /healthz and /readyz, on the documented port.
    let deployment = yaml(&common::workspace().join("deploy/base/deployment.yaml"));
    let pod = &deployment["spec"]["template"]["spec"];
    let container = &pod["containers"][0];
    let security = &container["securityContext"];
    assert_eq!(security["readOnlyRootFilesystem"], true);
    assert_eq!(security["runAsNonRoot"], true);
    assert_eq!(security["allowPrivilegeEscalation"], false);
    assert!(container["resources"]["limits"]["memory"].is_string());
    assert!(container["resources"]["limits"]["cpu"].is_string());
    assert_eq!(container["livenessProbe"]["httpGet"]["path"], "/healthz");
    assert_eq!(container["readinessProbe"]["httpGet"]["path"], "/readyz");
    assert_eq!(
        container["ports"][0]["containerPort"],
        u64::from(scanner_cli::args::SERVE_PORT)
    );
    assert_eq!(pod["serviceAccountName"], "upcheck");

    // Nothing deprecated at the newest release the catalog knows (the default target).
    let run = common::upcheck(&["files", "deploy", "-o", "json"]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    let report: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(
        report["targets"]["k8s"]["target"],
        report["tool"]["catalog_kubernetes_release"]
    );
    assert_eq!(report["findings"], json!([]));
    assert_eq!(report["stats"]["objects"], files.len());
}
