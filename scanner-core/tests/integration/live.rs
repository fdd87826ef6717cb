//! The live-cluster interpretation layer against responses recorded from a real
//! kube-apiserver 1.20 (`fixtures/cluster/v1.20`, ground truth in its README).
#![allow(clippy::unwrap_used)] // tests fail loudly on purpose

use std::path::PathBuf;

use scanner_core::live::evidence::{Evidence, object_evidence};
use scanner_core::live::helm::{self, HelmRelease, Storage};
use scanner_core::live::metrics::requested_deprecated_apis;
use scanner_core::{ApiStatus, Catalog, KubeVersion, ScanSettings, Scanner, Targets};
use serde_json::Value;

fn recorded(path: &str) -> Value {
    let file = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures/cluster/v1.20")
        .join(path);
    let text = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", file.display()))
}

fn items(path: &str) -> Vec<Value> {
    recorded(path)["items"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn id(obj: &Value) -> String {
    let m = &obj["metadata"];
    match m["namespace"].as_str() {
        Some(ns) => format!("{ns}/{}", m["name"].as_str().unwrap_or("")),
        None => m["name"].as_str().unwrap_or("").to_owned(),
    }
}

/// `object -> [api versions written through]`, read from the GA list of a resource.
fn written_through(path: &str) -> Vec<(String, Vec<String>)> {
    let mut out: Vec<_> = items(path)
        .iter()
        .map(|o| {
            let ev = object_evidence(o);
            assert!(ev.problems.is_empty(), "{}: {:?}", id(o), ev.problems);
            (id(o), ev.uses.into_iter().map(|u| u.api_version).collect())
        })
        .collect();
    out.sort();
    out
}

#[test]
fn ingresses_are_judged_by_how_they_were_written_not_how_they_were_read() {
    // The same six Ingresses, read through the GA version: the ground truth table.
    let got = written_through("list/networking.k8s.io/v1/ingresses.json");
    let want = [
        ("default/legacy-web", vec!["extensions/v1beta1"]),
        ("legacy-apps/old-admin", vec!["extensions/v1beta1"]),
        ("team-a/api-gateway", vec!["networking.k8s.io/v1beta1"]),
        (
            "team-a/raw-ingress",
            vec!["extensions/v1beta1", "networking.k8s.io/v1"],
        ),
        ("team-b/shop", vec!["networking.k8s.io/v1"]),
        ("team-b/web", vec!["networking.k8s.io/v1"]),
    ];
    let want: Vec<(String, Vec<String>)> = want
        .iter()
        .map(|(o, v)| ((*o).to_owned(), v.iter().map(|s| (*s).to_owned()).collect()))
        .collect();
    assert_eq!(got, want);

    // Reading the list through the deprecated version changes nothing.
    assert_eq!(
        written_through("list/extensions/v1beta1/ingresses.json"),
        want
    );
}

#[test]
fn evidence_names_the_manager_and_the_annotation() {
    let list = items("list/networking.k8s.io/v1/ingresses.json");
    let legacy = list.iter().find(|o| id(o) == "default/legacy-web").unwrap();
    let ev = object_evidence(legacy);
    assert_eq!(ev.uses.len(), 1);
    assert_eq!(
        ev.uses[0].evidence,
        [
            Evidence::ManagedFields {
                manager: "kubectl-client-side-apply".into(),
                operation: Some("Update".into()),
                time: Some("2026-11-23T15:19:40Z".into()),
                subresource: None,
            },
            Evidence::LastApplied,
        ]
    );

    let raw = list.iter().find(|o| id(o) == "team-a/raw-ingress").unwrap();
    let managers: Vec<String> = object_evidence(raw)
        .uses
        .iter()
        .flat_map(|u| {
            u.evidence
                .iter()
                .map(|e| format!("{} {}", u.api_version, e.describe()))
        })
        .collect();
    assert_eq!(managers.len(), 2, "{managers:?}");
    assert!(managers[0].starts_with("extensions/v1beta1 manager ci-deployer (Update"));
    assert!(managers[1].starts_with("networking.k8s.io/v1 manager release-bot (Update"));
}

#[test]
fn objects_written_only_through_ga_versions_are_not_removed_at_1_22() {
    let catalog = Catalog::embedded();
    let targets = Targets::kubernetes(KubeVersion::new(1, 22), None);
    let mut removed = Vec::new();
    for (path, kind) in [
        ("list/networking.k8s.io/v1/ingresses.json", "Ingress"),
        (
            "list/rbac.authorization.k8s.io/v1/clusterroles.json",
            "ClusterRole",
        ),
        ("list/storage.k8s.io/v1/storageclasses.json", "StorageClass"),
        (
            "list/scheduling.k8s.io/v1/priorityclasses.json",
            "PriorityClass",
        ),
    ] {
        for obj in items(path) {
            for u in object_evidence(&obj).uses {
                if catalog.assess(&u.api_version, kind, &targets).status == ApiStatus::Removed {
                    removed.push(format!("{kind} {} via {}", id(&obj), u.api_version));
                }
            }
        }
    }
    removed.sort();
    // The v1alpha1 RBAC and scheduling objects (alpha-auditor, alpha-low) are still served at
    // 1.22: the catalog records their removal in 1.23.
    assert_eq!(
        removed,
        [
            "ClusterRole legacy-reader via rbac.authorization.k8s.io/v1beta1",
            "Ingress default/legacy-web via extensions/v1beta1",
            "Ingress legacy-apps/old-admin via extensions/v1beta1",
            "Ingress team-a/api-gateway via networking.k8s.io/v1beta1",
            "Ingress team-a/raw-ingress via extensions/v1beta1",
            "PriorityClass legacy-high via scheduling.k8s.io/v1beta1",
            "StorageClass legacy-standard via storage.k8s.io/v1beta1",
        ]
    );
}

fn all_releases() -> Vec<HelmRelease> {
    let mut out = Vec::new();
    for path in [
        "helm/secrets-type-helm-release-v1.json",
        "helm/configmaps-owner-helm.json",
    ] {
        for obj in items(path) {
            let storage = helm::is_release_record(&obj)
                .unwrap_or_else(|| panic!("{} is a release record", id(&obj)));
            out.push(helm::decode_release(&obj, storage).expect("decodes"));
        }
    }
    out
}

#[test]
fn helm_release_records_decode_from_secrets_and_configmaps() {
    let all = helm::select_revisions(all_releases(), true);
    let summary: Vec<String> = all
        .iter()
        .map(|r| {
            format!(
                "{}/{} r{} {} {} {:?}",
                r.namespace,
                r.name,
                r.revision,
                r.status,
                r.chart.as_deref().unwrap_or("-"),
                r.storage
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            "kube-system/old-dashboard r1 deployed old-dashboard-1.10.1 ConfigMap",
            "team-a/legacy-web r1 superseded legacy-web-0.3.1 Secret",
            "team-a/legacy-web r2 deployed legacy-web-0.4.0 Secret",
            "team-b/metrics-stack r1 superseded metrics-stack-1.0.0 Secret",
            "team-b/metrics-stack r2 deployed metrics-stack-1.1.0 Secret",
        ]
    );
    let newest: Vec<String> = helm::select_revisions(all_releases(), false)
        .iter()
        .map(|r| format!("{}/{} r{}", r.namespace, r.name, r.revision))
        .collect();
    assert_eq!(
        newest,
        [
            "kube-system/old-dashboard r1",
            "team-a/legacy-web r2",
            "team-b/metrics-stack r2",
        ]
    );
}

#[test]
fn helm_manifests_are_scanned_for_deprecated_apis() {
    let scanner = Scanner::new(
        Catalog::embedded(),
        ScanSettings::new(Targets::kubernetes(KubeVersion::new(1, 22), None)),
    );
    let mut got = Vec::new();
    for r in helm::select_revisions(all_releases(), true) {
        let name = format!("helm:{}/{}#{}", r.namespace, r.name, r.revision);
        let report = scanner.scan_text(&name, &r.manifest);
        assert!(report.errors.is_empty(), "{name}: {:?}", report.errors);
        for f in report.findings {
            got.push(format!("{name} {} {} {}", f.code, f.api_version, f.kind));
        }
    }
    assert_eq!(
        got,
        [
            "helm:kube-system/old-dashboard#1 DEP001 extensions/v1beta1 Deployment",
            "helm:kube-system/old-dashboard#1 DEP001 extensions/v1beta1 Ingress",
            "helm:kube-system/old-dashboard#1 DEP001 rbac.authorization.k8s.io/v1beta1 ClusterRoleBinding",
            "helm:team-a/legacy-web#1 DEP001 extensions/v1beta1 Ingress",
            "helm:team-a/legacy-web#1 DEP002 policy/v1beta1 PodDisruptionBudget",
            "helm:team-a/legacy-web#2 DEP001 networking.k8s.io/v1beta1 Ingress",
            "helm:team-a/legacy-web#2 DEP002 policy/v1beta1 PodDisruptionBudget",
            "helm:team-a/legacy-web#2 DEP002 batch/v1beta1 CronJob",
            "helm:team-b/metrics-stack#1 DEP001 rbac.authorization.k8s.io/v1beta1 ClusterRole",
            "helm:team-b/metrics-stack#1 DEP002 policy/v1beta1 PodSecurityPolicy",
            "helm:team-b/metrics-stack#1 DEP001 extensions/v1beta1 DaemonSet",
            "helm:team-b/metrics-stack#2 DEP002 policy/v1beta1 PodSecurityPolicy",
            "helm:team-b/metrics-stack#2 DEP001 admissionregistration.k8s.io/v1beta1 ValidatingWebhookConfiguration",
        ]
    );
}

#[test]
fn broken_release_records_name_the_object_and_never_their_content() {
    let mut obj = items("helm/secrets-type-helm-release-v1.json").remove(0);
    let secret_b64 = "c2VjcmV0LXZhbHVlLWh1bnRlcjI="; // base64("secret-value-hunter2")
    obj["data"]["release"] = Value::String(secret_b64.into());
    let err = helm::decode_release(&obj, Storage::Secret).unwrap_err();
    let text = err.to_string();
    assert!(
        text.starts_with("Helm release record team-a/sh.helm.release.v1.legacy-web.v1: "),
        "{text}"
    );
    assert!(
        !text.contains("hunter2") && !text.contains(secret_b64),
        "{text}"
    );

    obj["data"] = serde_json::json!({});
    let err = helm::decode_release(&obj, Storage::Secret).unwrap_err();
    assert_eq!(err.reason, "no data.release");
}

#[test]
fn the_apiservers_deprecated_api_metric_is_read() {
    let file =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures/cluster/v1.20/metrics.txt");
    let text = std::fs::read_to_string(file).unwrap();
    let (found, errors) = requested_deprecated_apis(&text);
    assert!(errors.is_empty(), "{errors:?}");
    let lines: Vec<String> = found
        .iter()
        .map(|r| format!("{} {} {}", r.api_version(), r.resource, r.removed_release))
        .collect();
    assert!(
        lines.contains(&"extensions/v1beta1 ingresses 1.22".to_owned()),
        "{lines:?}"
    );
    assert!(
        lines.contains(&"v1 componentstatuses ".to_owned()),
        "{lines:?}"
    );
    assert!(
        lines.iter().any(
            |l| l.starts_with("flowcontrol.apiserver.k8s.io/v1alpha1 ") && l.ends_with(" 1.21")
        ),
        "{lines:?}"
    );
    // Every sample line of the metric in the recording is accounted for.
    let samples = text
        .lines()
        .filter(|l| l.starts_with("apiserver_requested_deprecated_apis{") && !l.ends_with(" 0"))
        .count();
    assert_eq!(found.len(), samples);
}

#[test]
fn crd_deprecated_versions_and_pending_storage_migrations() {
    use scanner_core::live::crd::inspect_crd;
    let mut lines = Vec::new();
    for crd in items("list/apiextensions.k8s.io/v1/customresourcedefinitions.json") {
        for f in inspect_crd(&crd) {
            lines.push(f.message());
        }
    }
    assert_eq!(
        lines,
        [
            "monitoring.example.com/v1alpha1 AlertRule is marked deprecated: monitoring.example.com/v1alpha1 AlertRule is deprecated; use monitoring.example.com/v1",
            "status.storedVersions of crontabs.stable.example.com still lists stable.example.com/v1beta1: migrate stored objects to v1 and remove it from storedVersions before dropping it",
        ]
    );
}

fn discovery() -> Vec<scanner_core::live::discovery::ServedResource> {
    use scanner_core::live::discovery::parse_resource_list;
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures/cluster/v1.20");
    let mut docs = vec![root.join("api/v1.json")];
    for group in std::fs::read_dir(root.join("apis")).unwrap() {
        let group = group.unwrap().path();
        if group.is_dir() {
            for v in std::fs::read_dir(&group).unwrap() {
                let v = v.unwrap().path();
                let name = v.file_name().unwrap().to_string_lossy().into_owned();
                if !name.ends_with(".meta.json") {
                    docs.push(v);
                }
            }
        }
    }
    docs.sort();
    let mut out = Vec::new();
    for d in docs {
        let text = std::fs::read_to_string(&d).unwrap();
        // The aggregated metrics.k8s.io answered 503 in plain text: not a document.
        let Ok(body) = serde_json::from_str::<Value>(&text) else {
            assert!(
                d.ends_with("metrics.k8s.io/v1beta1.json"),
                "{}",
                d.display()
            );
            continue;
        };
        out.extend(parse_resource_list(&d.display().to_string(), &body).unwrap());
    }
    out
}

#[test]
fn served_apis_removed_at_1_22_are_found_from_discovery() {
    use scanner_core::live::discovery::served_at_risk;
    let served = discovery();
    let targets = Targets::kubernetes(KubeVersion::new(1, 22), None);
    let risky = served_at_risk(&served, Catalog::embedded(), &targets);
    let removed: Vec<String> = risky
        .iter()
        .filter(|r| r.status == ApiStatus::Removed)
        .map(|r| format!("{} {}", r.served.api_version, r.served.resource))
        .collect();
    for expected in [
        "extensions/v1beta1 ingresses",
        "networking.k8s.io/v1beta1 ingresses",
        "rbac.authorization.k8s.io/v1beta1 clusterroles",
        "apiextensions.k8s.io/v1beta1 customresourcedefinitions",
        "admissionregistration.k8s.io/v1beta1 validatingwebhookconfigurations",
    ] {
        assert!(
            removed.contains(&expected.to_owned()),
            "{expected} not in {removed:#?}"
        );
    }
    // GA versions are never at risk.
    assert!(
        !risky
            .iter()
            .any(|r| r.served.api_version == "networking.k8s.io/v1")
    );
    assert!(!risky.iter().any(|r| r.served.api_version == "apps/v1"));
}

#[test]
fn each_storage_is_listed_once_through_its_most_stable_version() {
    use scanner_core::live::discovery::plan_object_lists;
    let plans = plan_object_lists(&discovery(), Catalog::embedded());
    let find = |resource: &str| {
        plans
            .iter()
            .filter(|p| p.list.resource == resource)
            .map(|p| format!("{} also {:?}", p.list.api_version, p.also_served_as))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        find("ingresses"),
        ["networking.k8s.io/v1 also [\"extensions/v1beta1\", \"networking.k8s.io/v1beta1\"]"]
    );
    assert_eq!(
        find("cronjobs"),
        ["batch/v1beta1 also [\"batch/v2alpha1\"]"]
    );
    assert_eq!(
        find("horizontalpodautoscalers"),
        ["autoscaling/v1 also [\"autoscaling/v2beta1\", \"autoscaling/v2beta2\"]"]
    );
    // ConfigMaps never had another version: not listed for evidence.
    assert!(find("configmaps").is_empty());
    assert!(plans.iter().all(|p| p.list.listable()));
}

#[test]
fn a_gzip_bomb_in_a_release_record_stops_at_the_limit() {
    use base64::Engine;
    use std::io::Write;
    // 65 MiB of zeros gzip to about 64 KiB.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..65 {
        gz.write_all(&zeros).unwrap();
    }
    let payload = gz.finish().unwrap();
    assert!(payload.len() < 1 << 20);
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut obj = items("helm/secrets-type-helm-release-v1.json").remove(0);
    obj["data"]["release"] = Value::String(b64.encode(b64.encode(&payload)));
    let err = helm::decode_release(&obj, Storage::Secret).unwrap_err();
    assert_eq!(err.reason, "the release inflates past 64 MiB");
}
