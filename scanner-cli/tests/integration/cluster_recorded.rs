//! The ground truth of the recorded kube-apiserver 1.34.9 (`fixtures/cluster/v1.34/README.md`)
//! and the recorded 1.20 server, end to end through the binary: the objects written through
//! deprecated, beta and alpha versions, the Helm releases, at the targets the README covers,
//! with the exit code the report's content implies. Both recordings have an aggregated API
//! (metrics.k8s.io, no endpoints) that answers 503: the catalog knows no deprecated version of
//! that group, so the scan needed nothing from it and it never makes the exit code 1.
#![allow(clippy::unwrap_used)] // tests fail loudly on purpose

use std::collections::BTreeSet;

use crate::cluster::{Row, cluster, fixture, helm_findings, json, object_findings, rows};
use crate::common::upcheck;
use serde_json::Value;
use upcheck_test_server::Scenario;

/// Objects of the 1.34 README's table "Objects written through deprecated / beta / alpha
/// versions" that are findings at every target from 1.34 (`VolumeAttributesClass` `bronze` was
/// added after the list was recorded, so it is not in the recording). Endpoints written by the
/// endpoints controller are not for users to migrate (counted as control-plane writes).
const DEPRECATED_AT_1_34: &[(&str, &str, &str, &str, &str, &str)] = &[
    (
        "deprecated",
        "VolumeAttributesClass",
        "",
        "gold",
        "storage.k8s.io/v1beta1",
        "kubectl-client-side-apply,last-applied",
    ),
    (
        "deprecated",
        "ServiceCIDR",
        "",
        "extra-cidr",
        "networking.k8s.io/v1beta1",
        "kubectl",
    ),
    (
        "deprecated",
        "Endpoints",
        "legacy",
        "external-db",
        "v1",
        "kubectl-client-side-apply,last-applied",
    ),
    // Through the CRD's own deprecated version; the CRD is the source of the verdict.
    (
        "deprecated",
        "Widget",
        "shop",
        "legacy-widget",
        "example.com/v1alpha1",
        "kubectl-client-side-apply,last-applied",
    ),
];

/// Deprecated from 1.35 (resource.k8s.io v1beta1, the alpha `MutatingAdmissionPolicy`).
const DEPRECATED_FROM_1_35: &[(&str, &str, &str, &str, &str, &str)] = &[
    (
        "deprecated",
        "ResourceClaim",
        "dra-lab",
        "gpu-claim",
        "resource.k8s.io/v1beta1",
        "dra-operator",
    ),
    (
        "deprecated",
        "DeviceClass",
        "",
        "fpga.example.com",
        "resource.k8s.io/v1beta1",
        "kubectl-create",
    ),
    (
        "deprecated",
        "MutatingAdmissionPolicy",
        "",
        "add-team-label-alpha",
        "admissionregistration.k8s.io/v1alpha1",
        "policy-bot",
    ),
];

/// Deprecated from 1.36 (resource.k8s.io v1beta2, coordination v1beta1 `LeaseCandidate`).
const DEPRECATED_FROM_1_36: &[(&str, &str, &str, &str, &str, &str)] = &[
    (
        "deprecated",
        "DeviceClass",
        "",
        "gpu.example.com",
        "resource.k8s.io/v1beta2",
        "kubectl-client-side-apply,last-applied",
    ),
    (
        "deprecated",
        "LeaseCandidate",
        "kube-system",
        "legacy-operator-a",
        "coordination.k8s.io/v1beta1",
        "legacy-operator",
    ),
];

/// The README's Helm table, newest deployed revisions, at every target from 1.34. The failed
/// release `legacy/old-ingress` is "debatable" there and left out of the comparison.
const HELM_AT_1_34: &[&str] = &[
    "dra-lab/gpu-operator r3: Endpoints gpu-metrics-external v1 deprecated",
    "dra-lab/gpu-operator r3: ServiceCIDR gpu-services networking.k8s.io/v1beta1 deprecated",
    "kube-system/ingress-nginx r1: Ingress ingress-nginx-default networking.k8s.io/v1beta1 removed",
    "kube-system/ingress-nginx r1: PodSecurityPolicy ingress-nginx policy/v1beta1 removed",
    "platform/apf-tuning r1: FlowSchema ci-bots flowcontrol.apiserver.k8s.io/v1beta3 removed",
    "platform/apf-tuning r1: PriorityLevelConfiguration ci-bots flowcontrol.apiserver.k8s.io/v1beta3 removed",
    "platform/apf-tuning r1: VolumeAttributesClass ci-fast storage.k8s.io/v1beta1 deprecated",
    "shop/storefront r2: CronJob storefront-cleanup batch/v1beta1 removed",
    "shop/storefront r2: HorizontalPodAutoscaler storefront autoscaling/v2beta2 removed",
];

fn expected_objects(target: &str) -> BTreeSet<Row> {
    let mut all = rows(DEPRECATED_AT_1_34);
    if target != "1.34" {
        all.extend(rows(DEPRECATED_FROM_1_35));
    }
    if target == "1.36" {
        all.extend(rows(DEPRECATED_FROM_1_36));
    }
    all
}

fn expected_helm(target: &str) -> BTreeSet<String> {
    let mut all: BTreeSet<String> = HELM_AT_1_34.iter().map(|s| (*s).to_owned()).collect();
    if target != "1.34" {
        all.insert(
            "dra-lab/gpu-operator r3: DeviceClass nvidia-gpu resource.k8s.io/v1beta1 deprecated"
                .into(),
        );
    }
    if target == "1.36" {
        all.insert(
            "dra-lab/gpu-operator r3: ResourceClaimTemplate single-gpu resource.k8s.io/v1beta2 deprecated"
                .into(),
        );
    }
    all
}

/// The exit code a complete report's content implies: 4, 3, 5, 2, 0, the first that applies
/// (the order of `exit.rs`, with readiness failing on blockers, the default).
fn implied_exit(report: &Value) -> i32 {
    let findings = report["findings"].as_array().unwrap();
    let requested = report["cluster"]["requested_apis"].as_array().unwrap();
    let crds = report["cluster"]["crds"].as_array().unwrap();
    let blockers = report["readiness"]["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|f| f["severity"] == "blocker");
    // Exit 4: a replacement exists but no migration path reaches it.
    if findings.iter().any(|f| {
        f["replacement"]["available"] == false
            && f["replacement"]["path"]
                .as_array()
                .is_none_or(Vec::is_empty)
    }) {
        4
    } else if findings
        .iter()
        .any(|f| f["status"] == "removed" || f["status"] == "unknown")
        || requested.iter().any(|r| r["status"] == "removed")
    {
        3
    } else if blockers {
        5
    } else if !findings.is_empty() || !requested.is_empty() || !crds.is_empty() {
        2
    } else {
        0
    }
}

/// The "aggregated API unavailable" notice for metrics.k8s.io, which is no error.
fn assert_metrics_api_is_a_notice(report: &Value) {
    let notices: Vec<&Value> = report["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|w| w["kind"] == "api-unavailable")
        .collect();
    assert_eq!(notices.len(), 1, "{}", report["warnings"]);
    assert_eq!(notices[0]["path"], "/apis/metrics.k8s.io/v1beta1");
    assert!(
        notices[0]["message"].as_str().unwrap().contains("HTTP 503"),
        "{}",
        notices[0]
    );
}

#[test]
fn recorded_1_34_ground_truth_at_1_34_1_35_1_36() {
    let c = cluster("v1.34", Scenario::default());
    for target in ["1.34", "1.35", "1.36"] {
        let run = c.run(&["cluster", "-t", target, "-o", "json"]);
        let report = json(&run);
        assert_eq!(
            report["errors"],
            serde_json::json!([]),
            "at {target}: {}",
            run.stderr
        );
        assert_metrics_api_is_a_notice(&report);
        // Nothing the scan asked for was missing from the recording.
        let not_served: Vec<&Value> = report["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|w| w["kind"] == "not-served")
            .collect();
        assert!(not_served.is_empty(), "at {target}: {not_served:?}");

        let found = object_findings(&report);
        assert_eq!(found, expected_objects(target), "at {target}");
        let mut helm = helm_findings(&report);
        helm.retain(|h| !h.starts_with("legacy/old-ingress "));
        assert_eq!(helm, expected_helm(target), "at {target}");

        let widget = report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["kind"] == "Widget")
            .unwrap();
        // The CRD's own deprecationWarning, as the server sends it.
        let warning = crd_deprecation_warning();
        assert!(
            widget["message"].as_str().unwrap().contains(&warning),
            "{widget}"
        );
        assert_eq!(widget["replacement"]["api_version"], "example.com/v1");

        assert_ne!(run.code, 1, "at {target}: {}", run.stderr);
        assert_eq!(
            run.code,
            implied_exit(&report),
            "at {target}: {}",
            run.stderr
        );
        if target == "1.34" {
            // Removed APIs in deployed Helm releases, nothing without a replacement today.
            assert_eq!(run.code, 3, "{}", run.stderr);
        }
    }
}

/// The `deprecationWarning` of widgets.example.com v1alpha1, from the recorded CRD.
fn crd_deprecation_warning() -> String {
    let text = std::fs::read_to_string(
        fixture("v1.34").join("list/apiextensions.k8s.io/v1/customresourcedefinitions.json"),
    )
    .unwrap();
    let list: Value = serde_json::from_str(&text).unwrap();
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["metadata"]["name"] == "widgets.example.com")
        .and_then(|c| {
            c["spec"]["versions"]
                .as_array()?
                .iter()
                .find(|v| v["name"] == "v1alpha1")?["deprecationWarning"]
                .as_str()
                .map(str::to_owned)
        })
        .unwrap()
}

/// Request paths (without query) whose recorded answer carries a deprecation `Warning`.
fn deprecated_paths(version: &str) -> BTreeSet<String> {
    let index = std::fs::read_to_string(fixture(version).join("INDEX.tsv")).unwrap();
    index
        .lines()
        .skip(1)
        .filter_map(|l| {
            let cols: Vec<&str> = l.split('\t').collect();
            let warning = cols.get(6).copied().unwrap_or("");
            (cols[1] == "GET" && warning.contains("deprecated"))
                .then(|| cols[2].split('?').next().unwrap().to_owned())
        })
        .collect()
}

#[test]
fn upcheck_requests_no_deprecated_version_it_can_avoid() {
    for version in ["v1.34", "v1.20"] {
        let c = cluster(version, Scenario::default());
        let run = c.run(&["cluster", "-t", "1.36", "-o", "json"]);
        let deprecated = deprecated_paths(version);
        let requested: BTreeSet<String> = c
            .server
            .requests()
            .iter()
            .map(|r| r.split('?').next().unwrap().to_owned())
            .collect();
        // ComponentStatus objects are made up by the server on every read: never listed.
        assert!(
            !requested.iter().any(|r| r.contains("componentstatuses")),
            "{requested:?}"
        );
        // The only deprecated request left is v1 Endpoints on 1.34: no other version serves
        // those objects, and Endpoints written by users are findings (the endpoints
        // controller itself calls v1 Endpoints, so the metric shows it on any such cluster).
        let used: BTreeSet<&str> = requested
            .iter()
            .filter(|r| deprecated.contains(*r))
            .map(String::as_str)
            .collect();
        let allowed: BTreeSet<&str> = if version == "v1.34" {
            ["/api/v1/endpoints"].into()
        } else {
            BTreeSet::new()
        };
        assert_eq!(used, allowed, "{version}");
        // The widgets of the deprecated CRD version are read through the storage version.
        if version == "v1.34" {
            assert!(requested.contains("/apis/example.com/v1/widgets"));
            assert!(!requested.contains("/apis/example.com/v1alpha1/widgets"));
        }
        assert_ne!(run.code, 1, "{}", run.transcript());
    }
}

#[test]
fn recorded_1_34_as_the_scanner_role_reports_what_it_cannot_list() {
    // The `upcheck-scanner` ClusterRole has no list on CRD groups such as example.com
    // (`errors/403-scanner-list-widgets-crd-group-not-in-role.json`).
    let scenario = Scenario {
        forbidden: ["/apis/example.com/v1/widgets".to_owned()].into(),
        ..Scenario::default()
    };
    let c = cluster("v1.34", scenario);
    let run = c.run(&["cluster", "-t", "1.35", "-o", "json"]);
    let report = json(&run);
    assert_eq!(
        report["cluster"]["not_checked"],
        serde_json::json!([{"resource": "widgets.example.com", "verb": "list", "namespace": null}])
    );
    assert!(
        run.stderr
            .contains("widgets.example.com: not checked: needs list on widgets.example.com"),
        "{}",
        run.stderr
    );
    // The rest is the ground truth; the Widget could not be judged, and the scan says so.
    let mut expected = expected_objects("1.35");
    expected.retain(|r| r.1 != "Widget");
    assert_eq!(object_findings(&report), expected);
    assert_metrics_api_is_a_notice(&report);
    assert_eq!(run.code, 1, "{}", run.stderr);
}

/// Every cluster-scoped resource the 1.34 server serves, from the recorded discovery.
fn cluster_scoped_collections() -> Vec<String> {
    let dir = fixture("v1.34");
    let index = std::fs::read_to_string(dir.join("INDEX.tsv")).unwrap();
    let mut out = Vec::new();
    for line in index.lines().skip(1) {
        let cols: Vec<&str> = line.split('\t').collect();
        let (file, path) = (cols[0], cols[2]);
        let is_resource_list =
            (file.starts_with("apis/") && file.matches('/').count() == 2) || file == "api/v1.json";
        if !is_resource_list || cols[3] != "200" {
            continue;
        }
        let doc: Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join(file)).unwrap()).unwrap();
        for r in doc["resources"].as_array().unwrap() {
            let name = r["name"].as_str().unwrap();
            if r["namespaced"] == false && !name.contains('/') {
                out.push(format!("{path}/{name}"));
            }
        }
    }
    out
}

#[test]
fn recorded_1_34_as_the_view_role_still_judges_what_it_can_read() {
    // The built-in `view` role: no Secrets, no cluster-scoped objects, no /metrics, no CRD
    // groups (recorded: `errors/403-viewer-*`).
    let mut forbidden: BTreeSet<String> = cluster_scoped_collections().into_iter().collect();
    forbidden.extend(
        [
            "/api/v1/secrets",
            "/metrics",
            "/apis/example.com/v1/widgets",
        ]
        .map(str::to_owned),
    );
    assert!(forbidden.contains("/api/v1/nodes"));
    let c = cluster(
        "v1.34",
        Scenario {
            forbidden,
            ..Scenario::default()
        },
    );
    let run = c.run(&["cluster", "-t", "1.36", "-o", "json"]);
    let report = json(&run);
    let not_checked: BTreeSet<&str> = report["cluster"]["not_checked"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["resource"].as_str().unwrap())
        .collect();
    for r in [
        "/metrics",
        "secrets",
        "customresourcedefinitions.apiextensions.k8s.io",
        "volumeattributesclasses.storage.k8s.io",
    ] {
        assert!(not_checked.contains(r), "{r}: {not_checked:?}");
    }
    // Namespaced objects are still judged by how they were written.
    let expected: BTreeSet<Row> = expected_objects("1.36")
        .into_iter()
        .filter(|r| !r.2.is_empty() && r.1 != "Widget")
        .collect();
    assert_eq!(object_findings(&report), expected);
    // Helm records are Secrets (forbidden) or ConfigMaps (readable).
    assert_eq!(
        helm_findings(&report),
        HELM_AT_1_34
            .iter()
            .filter(|h| h.starts_with("kube-system/ingress-nginx"))
            .map(|h| (*h).to_owned())
            .collect::<BTreeSet<_>>()
    );
    assert_metrics_api_is_a_notice(&report);
    assert_eq!(run.code, 1, "{}", run.stderr);
}

#[test]
fn recorded_1_20_alert_rule_written_through_the_deprecated_crd_version_is_a_finding() {
    let c = cluster("v1.20", Scenario::default());
    let run = c.run(&["cluster", "-t", "1.22", "-o", "json"]);
    let report = json(&run);
    assert_eq!(report["errors"], serde_json::json!([]), "{}", run.stderr);
    assert_metrics_api_is_a_notice(&report);
    let found = object_findings(&report);
    let alert_rules: Vec<&Row> = found.iter().filter(|r| r.1 == "AlertRule").collect();
    assert_eq!(
        alert_rules,
        [&(
            "deprecated".to_owned(),
            "AlertRule".to_owned(),
            "team-b".to_owned(),
            "high-cpu".to_owned(),
            "monitoring.example.com/v1alpha1".to_owned(),
            "kubectl-client-side-apply,last-applied".to_owned(),
        )]
    );
    assert_ne!(run.code, 1, "{}", run.stderr);
    assert_eq!(run.code, implied_exit(&report), "{}", run.stderr);
}

#[test]
fn snapshot_save_records_the_unavailable_api_and_exits_0() {
    for version in ["v1.34", "v1.20"] {
        let c = cluster(version, Scenario::default());
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("snap.json");
        let run = upcheck(&[
            "snapshot",
            "save",
            "--kubeconfig",
            &c.kubeconfig,
            "-o",
            path.to_str().unwrap(),
        ]);
        assert_eq!(run.code, 0, "{version}: {}", run.transcript());
        let snap: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(
            snap["unavailable"],
            serde_json::json!(["api metrics.k8s.io/v1beta1: discovery answered HTTP 503"]),
            "{version}"
        );

        // Recovered in a later snapshot: an improvement, once.
        let mut later = snap.clone();
        later["unavailable"] = serde_json::json!([]);
        later["served"]
            .as_array_mut()
            .unwrap()
            .push("metrics.k8s.io/v1beta1".into());
        let later_path = dir.path().join("later.json");
        std::fs::write(&later_path, later.to_string()).unwrap();
        let diffed = upcheck(&[
            "snapshot",
            "diff",
            path.to_str().unwrap(),
            later_path.to_str().unwrap(),
            "-o",
            "json",
        ]);
        let d: Value = serde_json::from_str(&diffed.stdout)
            .unwrap_or_else(|e| panic!("{e}\n{}", diffed.transcript()));
        let codes = |k: &str| -> Vec<String> {
            d[k].as_array()
                .unwrap()
                .iter()
                .filter(|c| c["code"].as_str().unwrap().starts_with("api-"))
                .map(|c| {
                    format!(
                        "{} {}",
                        c["code"].as_str().unwrap(),
                        c["subject"].as_str().unwrap()
                    )
                })
                .collect()
        };
        assert_eq!(
            codes("improvements"),
            ["api-recovered metrics.k8s.io/v1beta1"]
        );
        assert!(
            !codes("regressions")
                .iter()
                .any(|c| c.contains("metrics.k8s.io")),
            "{d}"
        );
        // And broken again: a regression, once.
        let back = upcheck(&[
            "snapshot",
            "diff",
            later_path.to_str().unwrap(),
            path.to_str().unwrap(),
            "-o",
            "json",
        ]);
        let d: Value = serde_json::from_str(&back.stdout).unwrap();
        let broke: Vec<&Value> = d["regressions"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["code"] == "api-unavailable")
            .collect();
        assert_eq!(broke.len(), 1, "{d}");
        assert_eq!(broke[0]["subject"], "metrics.k8s.io/v1beta1");
    }
}

#[test]
fn an_unavailable_api_whose_group_has_deprecated_versions_stays_an_error() {
    // policy/v1beta1 (PodDisruptionBudget, PodSecurityPolicy) has objects to judge: when its
    // discovery fails, something the scan needed was not read.
    let scenario = Scenario {
        failing: [(
            "/apis/policy/v1beta1".to_owned(),
            upcheck_test_server::Fault::Status(503, None),
        )]
        .into(),
        ..Scenario::default()
    };
    let c = cluster("v1.20", scenario);
    let run = c.run(&["cluster", "-t", "1.22", "-o", "json", "--no-helm"]);
    let report = json(&run);
    let errors: Vec<&str> = report["errors"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "unavailable")
        .map(|e| e["path"].as_str().unwrap())
        .collect();
    assert_eq!(errors, ["/apis/policy/v1beta1"], "{}", run.stderr);
    assert!(run.stderr.contains("policy/v1beta1"), "{}", run.stderr);
    // metrics.k8s.io is still only a notice.
    assert_metrics_api_is_a_notice(&report);
    assert_eq!(run.code, 1, "{}", run.stderr);
}
