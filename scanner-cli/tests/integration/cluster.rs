//! `upcheck cluster` and `upcheck helm` against a real HTTP server on 127.0.0.1 that serves
//! responses recorded from a kube-apiserver (`Server::recorded` of `fixtures/server`), through the real
//! kube client in the binary.
#![allow(clippy::unwrap_used)] // tests fail loudly on purpose

use crate::common;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

use crate::common::{Run, upcheck, workspace};
use serde_json::Value;
use upcheck_test_server::{Scenario, Server};

pub(crate) fn fixture(version: &str) -> PathBuf {
    workspace().join("fixtures/cluster").join(version)
}

pub(crate) struct Cluster {
    pub(crate) server: Server,
    _dir: tempfile::TempDir,
    pub(crate) kubeconfig: String,
}

pub(crate) fn cluster(version: &str, scenario: Scenario) -> Cluster {
    let server = Server::recorded(&fixture(version), scenario).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = server
        .kubeconfig(dir.path())
        .unwrap()
        .to_string_lossy()
        .into_owned();
    Cluster {
        server,
        _dir: dir,
        kubeconfig,
    }
}

impl Cluster {
    pub(crate) fn run(&self, args: &[&str]) -> Run {
        let mut all = vec![args[0], "--kubeconfig", &self.kubeconfig];
        all.extend_from_slice(&args[1..]);
        upcheck(&all)
    }
}

pub(crate) fn json(run: &Run) -> Value {
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}\n{}", run.transcript()))
}

/// Port numbers and temp paths change between runs.
fn snapshot_settings() -> insta::Settings {
    let mut s = insta::Settings::clone_current();
    s.add_filter(r"127\.0\.0\.1:\d+", "127.0.0.1:PORT");
    s.add_filter(r"/tmp/[^ ]*kubeconfig", "KUBECONFIG");
    s
}

pub(crate) type Row = (String, String, String, String, String, String);

/// Object findings as (status, kind, namespace, name, apiVersion, writers).
pub(crate) fn object_findings(report: &Value) -> BTreeSet<Row> {
    let mut out = BTreeSet::new();
    for f in report["findings"].as_array().unwrap() {
        let origin = &f["origin"];
        if origin["type"] != "object" {
            continue;
        }
        let writers: BTreeSet<&str> = origin["evidence"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| match e["source"].as_str().unwrap() {
                "managed-fields" => e["manager"].as_str().unwrap(),
                other => other,
            })
            .collect();
        let text = |k: &str| f[k].as_str().unwrap_or("").to_owned();
        out.insert((
            text("status"),
            text("kind"),
            text("namespace"),
            text("name"),
            text("api_version"),
            writers.into_iter().collect::<Vec<_>>().join(","),
        ));
    }
    out
}

pub(crate) fn rows(list: &[(&str, &str, &str, &str, &str, &str)]) -> BTreeSet<Row> {
    list.iter()
        .map(|r| {
            (
                r.0.to_owned(),
                r.1.to_owned(),
                r.2.to_owned(),
                r.3.to_owned(),
                r.4.to_owned(),
                r.5.to_owned(),
            )
        })
        .collect()
}

/// Helm findings as "namespace/release rN: kind name apiVersion status".
pub(crate) fn helm_findings(report: &Value) -> BTreeSet<String> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["origin"]["type"] == "helm")
        .map(|f| {
            let o = &f["origin"];
            format!(
                "{}/{} r{}: {} {} {} {}",
                o["namespace"].as_str().unwrap(),
                o["release"].as_str().unwrap(),
                o["revision"],
                f["kind"].as_str().unwrap(),
                f["name"].as_str().unwrap(),
                f["api_version"].as_str().unwrap(),
                f["status"].as_str().unwrap()
            )
        })
        .collect()
}

/// The README of `fixtures/cluster/v1.20` says how each object was written. Removed by 1.22:
/// every object written through a v1beta1 API that 1.22 no longer serves (and batch/v2alpha1,
/// gone in 1.21). The `APIService` was written through v1beta1 too, but this server keeps no
/// managed fields for it: it is reported as a warning, not guessed.
const REMOVED_BY_1_22: &[(&str, &str, &str, &str, &str, &str)] = &[
    (
        "removed",
        "CertificateSigningRequest",
        "",
        "jane-client",
        "certificates.k8s.io/v1beta1",
        "ci-deployer",
    ),
    (
        "removed",
        "ClusterRoleBinding",
        "",
        "legacy-reader-binding",
        "rbac.authorization.k8s.io/v1beta1",
        "kubectl",
    ),
    (
        "removed",
        "ClusterRole",
        "",
        "legacy-reader",
        "rbac.authorization.k8s.io/v1beta1",
        "kubectl-client-side-apply,last-applied",
    ),
    (
        "removed",
        "CronJob",
        "legacy-apps",
        "sync-job",
        "batch/v2alpha1",
        "ci-deployer",
    ),
    (
        "removed",
        "CSIDriver",
        "",
        "ebs.csi.aws.com",
        "storage.k8s.io/v1beta1",
        "kubectl-create",
    ),
    (
        "removed",
        "CustomResourceDefinition",
        "",
        "crontabs.stable.example.com",
        "apiextensions.k8s.io/v1beta1",
        "crd-migrator,kubectl-create",
    ),
    (
        "removed",
        "IngressClass",
        "",
        "legacy-haproxy",
        "networking.k8s.io/v1beta1",
        "kubectl-create",
    ),
    (
        "removed",
        "Ingress",
        "default",
        "legacy-web",
        "extensions/v1beta1",
        "kubectl-client-side-apply,last-applied",
    ),
    (
        "removed",
        "Ingress",
        "legacy-apps",
        "old-admin",
        "extensions/v1beta1",
        "kubectl-create",
    ),
    (
        "removed",
        "Ingress",
        "team-a",
        "api-gateway",
        "networking.k8s.io/v1beta1",
        "kubectl",
    ),
    (
        "removed",
        "Ingress",
        "team-a",
        "raw-ingress",
        "extensions/v1beta1",
        "ci-deployer",
    ),
    (
        "removed",
        "Lease",
        "kube-system",
        "legacy-operator-lock",
        "coordination.k8s.io/v1beta1",
        "legacy-operator",
    ),
    (
        "removed",
        "MutatingWebhookConfiguration",
        "",
        "legacy-injector",
        "admissionregistration.k8s.io/v1beta1",
        "kubectl-client-side-apply,last-applied",
    ),
    (
        "removed",
        "PriorityClass",
        "",
        "legacy-high",
        "scheduling.k8s.io/v1beta1",
        "kubectl-client-side-apply,last-applied",
    ),
    (
        "removed",
        "RoleBinding",
        "team-b",
        "deployer",
        "rbac.authorization.k8s.io/v1beta1",
        "ci-deployer",
    ),
    (
        "removed",
        "StorageClass",
        "",
        "legacy-standard",
        "storage.k8s.io/v1beta1",
        "kubectl-create",
    ),
    (
        "removed",
        "ValidatingWebhookConfiguration",
        "",
        "policy-enforcer",
        "admissionregistration.k8s.io/v1beta1",
        "policy-installer",
    ),
];

/// Deprecated at 1.22 (removed in 1.25), by the same README. The `EndpointSlices` the
/// endpointslice controller (kube-controller-manager) wrote through discovery.k8s.io/v1beta1
/// are not findings: the upgraded controller rewrites them; a note counts them.
const DEPRECATED_AT_1_22: &[(&str, &str, &str, &str, &str, &str)] = &[
    // Through the version its CRD marks deprecated (the CRD's own deprecationWarning).
    (
        "deprecated",
        "AlertRule",
        "team-b",
        "high-cpu",
        "monitoring.example.com/v1alpha1",
        "kubectl-client-side-apply,last-applied",
    ),
    (
        "deprecated",
        "CronJob",
        "team-a",
        "nightly-report",
        "batch/v1beta1",
        "kube-controller-manager,kubectl-create",
    ),
    (
        "deprecated",
        "CronJob",
        "team-b",
        "db-backup",
        "batch/v1beta1",
        "kubectl",
    ),
    (
        "deprecated",
        "Event",
        "team-b",
        "api.legacy-operator.1",
        "events.k8s.io/v1beta1",
        "legacy-operator",
    ),
    (
        "deprecated",
        "HorizontalPodAutoscaler",
        "team-a",
        "legacy-web",
        "autoscaling/v2beta1",
        "kubectl",
    ),
    (
        "deprecated",
        "PodDisruptionBudget",
        "default",
        "frontend-pdb",
        "policy/v1beta1",
        "kube-controller-manager,kubectl-create",
    ),
    (
        "deprecated",
        "PodDisruptionBudget",
        "legacy-apps",
        "batch-runner",
        "policy/v1beta1",
        "ci-deployer,kube-controller-manager",
    ),
    (
        "deprecated",
        "PodDisruptionBudget",
        "team-a",
        "legacy-web-pdb",
        "policy/v1beta1",
        "kube-controller-manager,kubectl-client-side-apply,last-applied",
    ),
    (
        "deprecated",
        "PodDisruptionBudget",
        "team-b",
        "db-pdb",
        "policy/v1beta1",
        "kube-controller-manager,kubectl",
    ),
    (
        "deprecated",
        "PodSecurityPolicy",
        "",
        "privileged",
        "policy/v1beta1",
        "ci-deployer",
    ),
    (
        "deprecated",
        "PodSecurityPolicy",
        "",
        "restricted",
        "policy/v1beta1",
        "kubectl-client-side-apply,last-applied",
    ),
    (
        "deprecated",
        "RuntimeClass",
        "",
        "gvisor",
        "node.k8s.io/v1beta1",
        "kubectl-client-side-apply,last-applied",
    ),
];

/// The newest deployed revision of each release, by the README's Helm table.
const HELM_AT_1_22: &[&str] = &[
    "kube-system/old-dashboard r1: ClusterRoleBinding old-dashboard rbac.authorization.k8s.io/v1beta1 removed",
    "kube-system/old-dashboard r1: Deployment old-dashboard extensions/v1beta1 removed",
    "kube-system/old-dashboard r1: Ingress old-dashboard extensions/v1beta1 removed",
    "team-a/legacy-web r2: CronJob legacy-web-cleanup batch/v1beta1 deprecated",
    "team-a/legacy-web r2: Ingress legacy-web networking.k8s.io/v1beta1 removed",
    "team-a/legacy-web r2: PodDisruptionBudget legacy-web policy/v1beta1 deprecated",
    "team-b/metrics-stack r2: PodSecurityPolicy metrics-stack policy/v1beta1 deprecated",
    "team-b/metrics-stack r2: ValidatingWebhookConfiguration metrics-stack-validator admissionregistration.k8s.io/v1beta1 removed",
];

#[test]
fn recorded_1_20_at_1_22_reports_objects_by_how_they_were_written() {
    let c = cluster("v1.20", Scenario::default());
    let run = c.run(&["cluster", "--target-version", "1.22", "-o", "json"]);
    // metrics.k8s.io is registered but has no backend (503); the catalog knows no deprecated
    // version of that group, so nothing the scan needed is missing: the content decides. The
    // batch/v1 CronJob replacement is not served by the 1.20 server yet, but the CronJobs can
    // move to it at 1.21, and every other object has a path too: removed APIs (3), not "no
    // migration path" (4).
    assert_eq!(run.code, 3, "{}", run.transcript());
    let report = json(&run);
    let found = object_findings(&report);
    let removed: BTreeSet<Row> = found.iter().filter(|r| r.0 == "removed").cloned().collect();
    assert_eq!(removed, rows(REMOVED_BY_1_22));
    let deprecated: BTreeSet<Row> = found
        .iter()
        .filter(|r| r.0 == "deprecated")
        .cloned()
        .collect();
    assert_eq!(deprecated, rows(DEPRECATED_AT_1_22));

    // Written only through GA versions: never reported, whatever version they are read at.
    for name in [
        "shop",
        "web",
        "modern-reader",
        "ga-validator",
        "fast-ssd",
        "standard-ssa",
        "critical-apps",
        "nginx",
        "frontend",
        "nightly-report-1611104400",
        "new-cron",
        "disk-full",
    ] {
        assert!(
            !found
                .iter()
                .any(|r| r.3 == name && r.1 != "PodDisruptionBudget"),
            "{name} was written through GA versions only"
        );
    }

    let helm: Vec<String> = helm_findings(&report).into_iter().collect();
    assert_eq!(helm, HELM_AT_1_22);

    // Every entry of the apiserver's metric, judged by its removed_release.
    let metrics = std::fs::read_to_string(fixture("v1.20").join("metrics.txt")).unwrap();
    let metric_lines = metrics
        .lines()
        .filter(|l| l.starts_with("apiserver_requested_deprecated_apis{"))
        .count();
    let requested = report["cluster"]["requested_apis"].as_array().unwrap();
    assert_eq!(requested.len(), metric_lines);
    for r in requested {
        let expected = match r["removed_release"].as_str().unwrap() {
            "1.21" | "1.22" => "removed",
            _ => "deprecated",
        };
        assert_eq!(r["status"], expected, "{r}");
    }

    let crds: Vec<String> = report["cluster"]["crds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            format!(
                "{} {} {}",
                c["crd"].as_str().unwrap(),
                c["api_version"].as_str().unwrap(),
                c["issue"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        crds,
        [
            "alertrules.monitoring.example.com monitoring.example.com/v1alpha1 deprecated-version",
            "crontabs.stable.example.com stable.example.com/v1beta1 storage-migration-pending",
        ]
    );

    assert_eq!(report["errors"], serde_json::json!([]));
    assert_eq!(
        warnings_of(&report, "api-unavailable").len(),
        1,
        "{}",
        report["warnings"]
    );
    assert_eq!(report["cluster"]["server_version"], "v1.20.2");
    assert_eq!(report["cluster"]["stats"]["control_plane_writes"], 7);
    // ComponentStatus (deprecated, made up on every read) is never listed, so the server has
    // no deprecation to warn about and the metric gets no request of upcheck's.
    assert!(
        !warnings_of(&report, "server-warning")
            .iter()
            .any(|w| w.contains("ComponentStatus")),
        "{}",
        report["warnings"]
    );
}

#[test]
fn recorded_1_20_at_1_23_adds_the_alpha_versions_removed_then() {
    let c = cluster("v1.20", Scenario::default());
    let run = c.run(&[
        "cluster",
        "-t",
        "1.23",
        "--current",
        "1.22",
        "-o",
        "json",
        "--no-helm",
    ]);
    let found = object_findings(&json(&run));
    for expected in [
        (
            "removed",
            "ClusterRole",
            "",
            "alpha-auditor",
            "rbac.authorization.k8s.io/v1alpha1",
            "kubectl-create",
        ),
        (
            "removed",
            "PriorityClass",
            "",
            "alpha-low",
            "scheduling.k8s.io/v1alpha1",
            "ci-deployer",
        ),
    ] {
        assert!(
            found.contains(&rows(&[expected]).pop_first().unwrap()),
            "{expected:?}"
        );
    }
}

#[test]
fn recorded_1_20_text_report() {
    let c = cluster("v1.20", Scenario::default());
    let run = c.run(&["cluster", "-t", "1.22"]);
    snapshot_settings().bind(|| insta::assert_snapshot!(run.transcript()));
}

#[test]
fn recorded_1_20_markdown_report() {
    let c = cluster("v1.20", Scenario::default());
    let run = c.run(&["cluster", "-t", "1.22", "-o", "markdown", "--only-removed"]);
    snapshot_settings().bind(|| insta::assert_snapshot!(run.transcript()));
}

#[test]
fn small_pages_and_expired_continue_tokens_change_nothing() {
    let baseline = cluster("v1.20", Scenario::default());
    let expected = json(&baseline.run(&["cluster", "-t", "1.22", "-o", "json"]));

    let scenario = Scenario {
        expire_continue: ["/apis/policy/v1beta1/poddisruptionbudgets".to_owned()].into(),
        expire_continue_without_token: ["/apis/networking.k8s.io/v1/ingresses".to_owned()].into(),
        ..Scenario::default()
    };
    let c = cluster("v1.20", scenario);
    let run = c.run(&["cluster", "-t", "1.22", "-o", "json", "--page-size", "1"]);
    let report = json(&run);
    assert_eq!(report["findings"], expected["findings"]);
    assert_eq!(report["cluster"]["stats"]["list_resumes"], 2);
    let resumed = warnings_of(&report, "list-resumed");
    assert_eq!(resumed.len(), 2, "{resumed:?}");
    assert!(
        resumed
            .iter()
            .any(|m| m.contains("continued from a newer snapshot"))
    );
    assert!(
        resumed
            .iter()
            .any(|m| m.contains("restarted, skipping objects already read"))
    );
    // Every list went page by page.
    let requests = c.server.requests();
    assert!(
        requests
            .iter()
            .any(|r| r.starts_with("/apis/networking.k8s.io/v1/ingresses?limit=1&continue="))
    );
    assert!(
        requests
            .iter()
            .filter(|r| r.contains("limit="))
            .all(|r| r.contains("limit=1"))
    );
}

#[test]
fn a_forbidden_resource_is_reported_as_not_checked() {
    let scenario = Scenario {
        forbidden: ["/apis/networking.k8s.io/v1/ingresses".to_owned()].into(),
        ..Scenario::default()
    };
    let c = cluster("v1.20", scenario);
    let run = c.run(&["cluster", "-t", "1.22", "-o", "json", "--no-helm"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("error: ingresses.networking.k8s.io: not checked: needs list on ingresses.networking.k8s.io (403 Forbidden:"),
        "{}",
        run.stderr
    );
    let report = json(&run);
    assert_eq!(
        report["cluster"]["not_checked"],
        serde_json::json!([{"resource": "ingresses.networking.k8s.io", "verb": "list", "namespace": null}])
    );
    let found = object_findings(&report);
    assert!(!found.iter().any(|r| r.1 == "Ingress"));
    // The other resources were still read.
    assert!(found.iter().any(|r| r.1 == "CronJob"));
}

#[test]
fn rejected_credentials_name_the_context() {
    let c = cluster("v1.20", Scenario::default());
    let run = c.run(&["cluster", "--context", "bad-creds"]);
    snapshot_settings().bind(|| insta::assert_snapshot!(run.transcript()));
}

#[test]
fn an_unknown_context_lists_the_known_ones() {
    let c = cluster("v1.20", Scenario::default());
    let run = c.run(&["cluster", "--context", "prod"]);
    snapshot_settings().bind(|| insta::assert_snapshot!(run.transcript()));
}

#[test]
fn an_unreachable_server_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    // A port that was free a moment ago: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let path = dir.path().join("kubeconfig");
    std::fs::write(
        &path,
        format!("apiVersion: v1\nkind: Config\nclusters:\n- name: gone\n  cluster: {{server: http://127.0.0.1:{port}}}\ncontexts:\n- name: gone\n  context: {{cluster: gone, user: u}}\ncurrent-context: gone\nusers:\n- name: u\n  user: {{token: t}}\n"),
    )
    .unwrap();
    let run = upcheck(&["cluster", "--kubeconfig", path.to_str().unwrap()]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.starts_with(&format!(
            "error: cannot reach the API server at http://127.0.0.1:{port} (context \"gone\"): "
        )),
        "{}",
        run.stderr
    );
}

#[test]
fn a_slow_resource_times_out_and_the_scan_goes_on() {
    let scenario = Scenario {
        slow: [(
            "/apis/batch/v1beta1/cronjobs".to_owned(),
            Duration::from_secs(4),
        )]
        .into(),
        ..Scenario::default()
    };
    let c = cluster("v1.20", scenario);
    let run = c.run(&[
        "cluster",
        "-t",
        "1.22",
        "-o",
        "json",
        "--timeout",
        "1",
        "--no-helm",
    ]);
    assert_eq!(run.code, 1);
    let report = json(&run);
    let errors: Vec<String> = report["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            format!(
                "{}: {}",
                e["path"].as_str().unwrap(),
                e["message"].as_str().unwrap()
            )
        })
        .collect();
    assert!(
        errors.contains(
            &"cronjobs.batch: not checked: GET /apis/batch/v1beta1/cronjobs: no answer within 1 s"
                .to_owned()
        ),
        "{errors:?}"
    );
    let found = object_findings(&report);
    assert!(
        !found
            .iter()
            .any(|r| r.1 == "CronJob" && r.4 == "batch/v1beta1")
    );
    assert!(found.iter().any(|r| r.1 == "Ingress"));
}

#[test]
fn a_group_version_no_longer_served_is_a_warning() {
    let scenario = Scenario {
        not_found: ["/apis/extensions/v1beta1".to_owned()].into(),
        ..Scenario::default()
    };
    let c = cluster("v1.20", scenario);
    let run = c.run(&[
        "cluster",
        "-t",
        "1.22",
        "-o",
        "json",
        "--no-helm",
        "--allow-incomplete",
    ]);
    let report = json(&run);
    let warnings: Vec<String> = report["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| {
            format!(
                "{}: {}",
                w["path"].as_str().unwrap(),
                w["message"].as_str().unwrap()
            )
        })
        .collect();
    assert!(
        warnings.contains(&"/apis/extensions/v1beta1: not served (404): the server could not find the requested resource".to_owned()),
        "{warnings:?}"
    );
    // Ingresses are still listed (through networking.k8s.io/v1) and judged by how they were
    // written, so the extensions/v1beta1 writers are still found.
    let found = object_findings(&report);
    assert_eq!(
        found.iter().filter(|r| r.4 == "extensions/v1beta1").count(),
        3
    );
}

#[test]
fn helm_scans_the_newest_deployed_revision_or_all() {
    let c = cluster("v1.20", Scenario::default());
    let run = c.run(&["helm", "-t", "1.22", "-o", "json"]);
    // batch/v1 CronJob (for the chart's batch/v1beta1 one) is not served by 1.20 yet, but
    // from 1.21 it is: a path, so the removed Ingress decides (3), not "no path" (4).
    assert_eq!(run.code, 3, "{}", run.transcript());
    let report = json(&run);
    let helm: Vec<String> = helm_findings(&report).into_iter().collect();
    assert_eq!(helm, HELM_AT_1_22);
    assert!(object_findings(&report).is_empty());

    let all = json(&c.run(&["helm", "-t", "1.22", "-o", "json", "--all-revisions"]));
    let extra: Vec<String> = helm_findings(&all)
        .difference(&helm_findings(&report))
        .cloned()
        .collect();
    assert_eq!(
        extra,
        [
            "team-a/legacy-web r1: Ingress legacy-web extensions/v1beta1 removed",
            "team-a/legacy-web r1: PodDisruptionBudget legacy-web policy/v1beta1 deprecated",
            "team-b/metrics-stack r1: ClusterRole metrics-stack-reader rbac.authorization.k8s.io/v1beta1 removed",
            "team-b/metrics-stack r1: DaemonSet node-exporter extensions/v1beta1 removed",
            "team-b/metrics-stack r1: PodSecurityPolicy metrics-stack policy/v1beta1 deprecated",
        ]
    );

    // Secrets are only ever listed with Helm's label and type selectors.
    for r in c
        .server
        .requests()
        .iter()
        .filter(|r| r.contains("/secrets"))
    {
        assert!(
            r.starts_with("/api/v1/secrets?labelSelector=owner%3Dhelm&fieldSelector=type%3Dhelm.sh%2Frelease.v1&limit="),
            "{r}"
        );
    }
}

#[test]
fn helm_text_report() {
    let c = cluster("v1.20", Scenario::default());
    let run = c.run(&["helm", "-t", "1.25", "-n", "team-a"]);
    snapshot_settings().bind(|| insta::assert_snapshot!(run.transcript()));
}

#[test]
fn no_secret_or_config_map_value_reaches_the_output() {
    let c = cluster("v1.31", Scenario::default());
    for args in [
        &["cluster", "-t", "1.32", "-o", "json"][..],
        &["cluster", "-t", "1.32", "-o", "yaml", "--all-revisions"][..],
        &["helm", "-t", "1.32", "-o", "markdown", "-v"][..],
    ] {
        let run = c.run(args);
        let all = format!("{}{}", run.stdout, run.stderr);
        // db-password's value, a Helm payload's gzip magic in base64, the release's notes.
        for secret in ["hunter2", "aHVudGVyMi", "H4sI", "SDRzS"] {
            assert!(!all.contains(secret), "{args:?} leaked {secret}");
        }
    }
}

#[test]
fn hand_made_1_31_at_1_32() {
    let c = cluster("v1.31", Scenario::default());
    let run = c.run(&["cluster", "-t", "1.32", "-o", "json"]);
    assert_eq!(run.code, 3, "{}", run.transcript());
    let report = json(&run);
    assert_eq!(
        object_findings(&report),
        rows(&[
            // Written through the version its CRD marks deprecated (README of v1.31).
            (
                "deprecated",
                "CronTab",
                "team-a",
                "old-cron",
                "stable.example.com/v1beta1",
                "kubectl-client-side-apply,last-applied"
            ),
            (
                "removed",
                "FlowSchema",
                "",
                "legacy-operator-fs",
                "flowcontrol.apiserver.k8s.io/v1beta3",
                "legacy-operator"
            ),
            (
                "removed",
                "PriorityLevelConfiguration",
                "",
                "legacy-pl",
                "flowcontrol.apiserver.k8s.io/v1beta3",
                "legacy-operator"
            ),
        ])
    );
    let helm: Vec<String> = helm_findings(&report).into_iter().collect();
    assert_eq!(
        helm,
        ["team-a/web r3: FlowSchema web-fs flowcontrol.apiserver.k8s.io/v1beta3 removed"]
    );
    let crds: Vec<&str> = report["cluster"]["crds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["issue"].as_str().unwrap())
        .collect();
    assert_eq!(crds, ["deprecated-version", "storage-migration-pending"]);
    assert!(report["errors"].as_array().unwrap().is_empty());
    // The v1beta3 flowcontrol list answers with the server's deprecation Warning header only
    // if upcheck reads through v1beta3; it reads through v1, the version that outlives it.
    assert!(c.server.requests().iter().all(|r| !r.contains("/v1beta3/")));
}

#[test]
fn a_namespace_limits_the_scan() {
    let c = cluster("v1.20", Scenario::default());
    let run = c.run(&["cluster", "-t", "1.22", "-o", "json", "-n", "team-a"]);
    let report = json(&run);
    let found = object_findings(&report);
    assert!(!found.is_empty());
    assert!(found.iter().all(|r| r.2 == "team-a"), "{found:?}");
    assert!(c.server.requests().iter().all(|r| r != "/metrics"));
}

#[test]
fn rbac_prints_the_cluster_role() {
    let run = upcheck(&["cluster", "--rbac"]);
    assert_eq!(run.code, 0);
    insta::assert_snapshot!(run.stdout);
    let role: Value =
        serde_json::from_str(&upcheck(&["cluster", "--rbac", "-o", "json"]).stdout).unwrap();
    assert_eq!(role["kind"], "ClusterRole");
    // Read-only.
    for rule in role["rules"].as_array().unwrap() {
        for verb in rule["verbs"].as_array().unwrap() {
            assert!(matches!(verb.as_str().unwrap(), "get" | "list"), "{rule}");
        }
    }
}

#[test]
fn a_terminal_gets_a_progress_line_and_a_pipe_does_not() {
    let c = cluster("v1.20", Scenario::default());
    // python3's pty module gives the binary a terminal for stdout and stderr.
    let out = std::process::Command::new("python3")
        .args([
            "-c",
            "import pty, sys; pty.spawn(sys.argv[1:])",
            env!("CARGO_BIN_EXE_upcheck"),
            "cluster",
            "--kubeconfig",
            &c.kubeconfig,
            "-t",
            "1.22",
            "--no-helm",
            "--page-size",
            "1",
        ])
        .env("UPCHECK_CACHE_DIR", common::empty_cache())
        .env("UPCHECK_TODAY", crate::common::TODAY)
        .env(
            "UPCHECK_RETRY_BACKOFF_MS",
            common::RETRY_BACKOFF_MS.to_string(),
        )
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("\r\u{1b}[2Kupcheck: ") && text.contains("resources listed"),
        "{text}"
    );
    // The line is erased before the report.
    assert!(text.contains("\r\u{1b}[2KNAME"), "{text}");
    let piped = c.run(&["cluster", "-t", "1.22", "--no-helm"]);
    assert!(!piped.stderr.contains("resources listed"));
}

/// The messages of the warnings of one kind.
fn warnings_of<'r>(report: &'r Value, kind: &str) -> Vec<&'r str> {
    report["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|w| w["kind"] == kind)
        .map(|w| w["message"].as_str().unwrap())
        .collect()
}

/// Errors as `path: message`, without the recorded aggregated API whose discovery answers
/// 503 in every run.
fn error_lines(report: &Value) -> Vec<String> {
    report["errors"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["path"] != "/apis/metrics.k8s.io/v1beta1")
        .map(|e| {
            format!(
                "{}: {}",
                e["path"].as_str().unwrap(),
                e["message"].as_str().unwrap()
            )
        })
        .collect()
}

const INGRESSES: &str = "/apis/networking.k8s.io/v1/ingresses";
const CRONJOBS: &str = "/apis/batch/v1beta1/cronjobs";
const DEPLOYMENTS: &str = "/apis/apps/v1/deployments";

#[test]
fn transient_failures_are_retried_and_change_nothing() {
    use upcheck_test_server::Fault;
    let baseline = cluster("v1.20", Scenario::default());
    let expected = baseline.run(&["cluster", "-t", "1.22", "-o", "json", "--no-helm"]);

    let scenario = Scenario {
        faults: [
            (
                INGRESSES.to_owned(),
                vec![Fault::Status(429, Some(1)), Fault::Status(503, None)],
            ),
            (
                CRONJOBS.to_owned(),
                vec![Fault::Reset, Fault::Status(502, None)],
            ),
            (
                DEPLOYMENTS.to_owned(),
                vec![Fault::Status(500, None), Fault::Status(504, None)],
            ),
            ("/version".to_owned(), vec![Fault::Reset]),
            ("/apis".to_owned(), vec![Fault::Status(503, None)]),
        ]
        .into(),
        ..Scenario::default()
    };
    let c = cluster("v1.20", scenario);
    let run = c.run(&["cluster", "-t", "1.22", "-o", "json", "--no-helm"]);
    assert_eq!(run.code, expected.code, "{}", run.transcript());
    let report = json(&run);
    let expected = json(&expected);
    assert_eq!(report["findings"], expected["findings"]);
    assert_eq!(report["errors"], expected["errors"]);
    // 8 more than the recorded aggregated API that answers 503 for good, which is retried too.
    assert_eq!(
        report["cluster"]["stats"]["request_retries"]
            .as_u64()
            .unwrap(),
        expected["cluster"]["stats"]["request_retries"]
            .as_u64()
            .unwrap()
            + 8
    );
    let retried = warnings_of(&report, "retried");
    // Sorted by path. A reset is named in the kube client's own words.
    assert_eq!(retried.len(), 5, "{retried:#?}");
    assert_eq!(
        retried[0],
        "GET /apis succeeded on attempt 2 after HTTP 503"
    );
    assert_eq!(
        retried[1],
        "GET /apis/apps/v1/deployments succeeded on attempt 3 after HTTP 500, HTTP 504"
    );
    assert!(
        retried[2].starts_with("GET /apis/batch/v1beta1/cronjobs succeeded on attempt 3 after ")
            && retried[2].ends_with(", HTTP 502"),
        "{retried:#?}"
    );
    assert_eq!(
        retried[3],
        "GET /apis/networking.k8s.io/v1/ingresses succeeded on attempt 3 after HTTP 429, HTTP 503"
    );
    assert!(retried[4].starts_with("GET /version succeeded on attempt 2 after "));

    // Retry-After: 1 was honoured; without one, the backoff still waited: at least half the
    // first backoff, then at least the first backoff (jitter takes up to half off).
    let ingresses = c.server.arrivals(INGRESSES);
    assert_eq!(ingresses.len(), 3);
    assert!(ingresses[1] - ingresses[0] >= Duration::from_secs(1));
    let cronjobs = c.server.arrivals(CRONJOBS);
    assert_eq!(cronjobs.len(), 3);
    let first = Duration::from_millis(common::RETRY_BACKOFF_MS);
    assert!(cronjobs[1] - cronjobs[0] >= first / 2);
    assert!(cronjobs[2] - cronjobs[1] >= first);
}

#[test]
fn a_list_that_keeps_failing_is_not_checked_and_the_rest_is() {
    use upcheck_test_server::Fault;
    for (fault, retries, expected) in [
        (
            Fault::Status(503, None),
            "2",
            "ingresses.networking.k8s.io: not checked: the API server at http://127.0.0.1:PORT answered HTTP 503 (after 3 attempts): injected fault 503",
        ),
        (
            Fault::Status(500, None),
            "0",
            "ingresses.networking.k8s.io: not checked: the API server at http://127.0.0.1:PORT answered HTTP 500: injected fault 500",
        ),
        (
            Fault::Reset,
            "1",
            "ingresses.networking.k8s.io: not checked: GET /apis/networking.k8s.io/v1/ingresses: ",
        ),
    ] {
        let scenario = Scenario {
            failing: [(INGRESSES.to_owned(), fault.clone())].into(),
            ..Scenario::default()
        };
        let c = cluster("v1.20", scenario);
        let run = c.run(&[
            "cluster",
            "-t",
            "1.22",
            "-o",
            "json",
            "--no-helm",
            "--retries",
            retries,
        ]);
        assert_eq!(run.code, 1, "{fault:?}: {}", run.transcript());
        let report = json(&run);
        let errors: Vec<String> = error_lines(&report)
            .iter()
            .map(|e| e.replace(&format!(":{}", c.server.port), ":PORT"))
            .collect();
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(errors[0].starts_with(expected), "{fault:?}: {errors:?}");
        if matches!(fault, Fault::Reset) {
            assert!(errors[0].ends_with(" (after 2 attempts)"), "{errors:?}");
        }
        let attempts = 1 + retries.parse::<usize>().unwrap();
        assert_eq!(c.server.arrivals(INGRESSES).len(), attempts, "{fault:?}");
        // Nothing about ingresses was claimed; everything else was read.
        let found = object_findings(&report);
        assert!(!found.iter().any(|r| r.1 == "Ingress"));
        assert!(found.iter().any(|r| r.1 == "CronJob"));
        assert!(
            found.iter().any(|r| r.1 == "PodDisruptionBudget"),
            "{found:?}"
        );
    }
}

#[test]
fn a_server_that_repeats_its_continue_token_cannot_loop_the_scan() {
    let scenario = Scenario {
        repeat_continue: [INGRESSES.to_owned()].into(),
        ..Scenario::default()
    };
    let c = cluster("v1.20", scenario);
    let run = c.run(&[
        "cluster",
        "-t",
        "1.22",
        "-o",
        "json",
        "--no-helm",
        "--page-size",
        "1",
    ]);
    assert_eq!(run.code, 1, "{}", run.transcript());
    let report = json(&run);
    assert_eq!(
        error_lines(&report),
        [
            "ingresses.networking.k8s.io: the server sent a continue token it had sent before; the list was stopped and not all objects were checked"
        ]
    );
    assert!(object_findings(&report).iter().any(|r| r.1 == "CronJob"));
}

#[test]
fn the_whole_read_has_a_deadline() {
    let scenario = Scenario {
        slow: [(DEPLOYMENTS.to_owned(), Duration::from_secs(20))].into(),
        ..Scenario::default()
    };
    let c = cluster("v1.20", scenario);
    let started = std::time::Instant::now();
    let run = c.run(&[
        "cluster",
        "-t",
        "1.22",
        "-o",
        "json",
        "--timeout",
        "30",
        "--scan-timeout",
        "1",
    ]);
    let took = started.elapsed();
    assert_eq!(run.code, 1, "{}", run.transcript());
    assert!(took < Duration::from_secs(10), "{took:?}");
    assert_eq!(run.stdout, "", "no partial report");
    assert_eq!(
        run.stderr,
        "error: the cluster read did not finish within 1 s (--scan-timeout); nothing was reported\n"
    );
}

#[test]
fn ctrl_c_stops_a_cluster_scan_at_once_and_reports_nothing() {
    let scenario = Scenario {
        slow: [(DEPLOYMENTS.to_owned(), Duration::from_secs(30))].into(),
        ..Scenario::default()
    };
    let c = cluster("v1.20", scenario);
    let (run, took) = common::interrupted(
        &[
            "cluster",
            "--kubeconfig",
            &c.kubeconfig,
            "-t",
            "1.22",
            "-o",
            "json",
        ],
        // Signalled once the slow list has been asked for: mid-scan.
        &|_| !c.server.arrivals(DEPLOYMENTS).is_empty(),
    );
    assert!(took < Duration::from_secs(2), "{took:?}");
    assert_eq!(run.code, 130, "{}", run.transcript());
    assert_eq!(run.stdout, "");
    assert_eq!(
        run.stderr,
        "upcheck: interrupted; the scan was stopped and nothing was reported\n"
    );
}

/// (apiVersion, earliest, latest) of each move of a finding's migration path.
fn path_of(finding: &Value) -> Vec<(String, String, String)> {
    finding["replacement"]["path"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| {
            (
                s["api_version"].as_str().unwrap().to_owned(),
                s["earliest"].as_str().unwrap().to_owned(),
                s["latest"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[test]
fn files_cluster_and_plan_choose_the_same_path_on_the_1_34_recording() {
    let map = "admissionregistration.k8s.io/v1alpha1";
    let beta = "admissionregistration.k8s.io/v1beta1";
    let expected = vec![(beta.to_owned(), "1.34".to_owned(), "1.35".to_owned())];
    let c = cluster("v1.34", Scenario::default());

    // cluster: the objects written through v1alpha1 move to v1beta1, served at 1.34 and
    // 1.36; never "v1 only served from 1.36; not available at 1.34" with exit 4.
    let run = c.run(&["cluster", "-t", "1.36", "-o", "json", "--allow-incomplete"]);
    assert_ne!(run.code, 4, "{}", run.transcript());
    let report = json(&run);
    let found: Vec<&Value> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["api_version"] == map && f["kind"] == "MutatingAdmissionPolicy")
        .collect();
    assert!(!found.is_empty(), "{}", run.transcript());
    for f in &found {
        assert_eq!(path_of(f), expected, "{f}");
        assert_eq!(f["replacement"]["api_version"], beta);
        let message = f["message"].as_str().unwrap();
        assert!(
            message.ends_with(&format!(
                "migrate to {beta} MutatingAdmissionPolicy (served since 1.34)"
            )),
            "{message}"
        );
    }

    // files: the same object as a manifest, at the same current version.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("map.yaml");
    std::fs::write(
        &file,
        format!("apiVersion: {map}\nkind: MutatingAdmissionPolicy\nmetadata:\n  name: add-team-label-alpha\n"),
    )
    .unwrap();
    let files = upcheck(&[
        "files",
        file.to_str().unwrap(),
        "-t",
        "1.36",
        "--current",
        "1.34",
        "-o",
        "json",
    ]);
    assert_eq!(files.code, 2, "{}", files.transcript());
    assert_eq!(path_of(&json(&files)["findings"][0]), expected);

    // plan: still served at 1.36, so the move is listed for after the upgrade, to v1beta1.
    let run = c.run(&["plan", "-t", "1.36", "-o", "json"]);
    let doc = json(&run);
    assert_ne!(run.code, 4, "{}", run.transcript());
    let later: Vec<(String, String)> = doc["plan"]["later"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["api"].as_str().unwrap().to_owned(),
                a["replacement"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    assert!(
        later.contains(&(
            format!("{map} MutatingAdmissionPolicy"),
            format!("{beta} MutatingAdmissionPolicy")
        )),
        "{later:?}"
    );
    for f in doc["report"]["findings"].as_array().unwrap() {
        if f["api_version"] == map && f["kind"] == "MutatingAdmissionPolicy" {
            assert_eq!(path_of(f), expected);
        }
    }
}
