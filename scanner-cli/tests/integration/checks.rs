//! Readiness checks through `upcheck cluster`, against the recorded v1.20 server: for every
//! check, a cluster state that triggers it and one that does not (the recorded lists, edited
//! and served by the same loopback server), plus `upcheck checks` and `upcheck explain`.
#![allow(clippy::unwrap_used)] // tests fail loudly on purpose

use crate::common::readiness::{check, edited, fixture, found, recorded, run};
use crate::common::{upcheck, workspace};
use serde_json::{Value, json};
use upcheck_test_server::{Scenario, Server};

#[test]
fn path001_lists_the_hops_and_path002_refuses_downgrades() {
    assert_eq!(check("PATH001", "1.22", vec![]), ["info cluster"]);
    assert!(check("PATH001", "1.21", vec![]).is_empty());
    assert!(check("PATH001", "1.19", vec![]).is_empty());
    assert_eq!(check("PATH002", "1.19", vec![]), ["blocker cluster"]);
    assert!(check("PATH002", "1.22", vec![]).is_empty());
}

#[test]
fn skew001_kubelets_per_hop() {
    assert_eq!(
        check("SKEW001", "1.22", vec![]),
        [
            "blocker Node node-a1 @1.21",
            "blocker Node node-a2 @1.22",
            "warning Node node-b1",
            "warning Node node-b2",
        ]
    );
    let aligned = edited("/api/v1/nodes", |n| {
        n["status"]["nodeInfo"]["kubeletVersion"] = json!("v1.20.2");
        true
    });
    assert!(check("SKEW001", "1.20", vec![aligned]).is_empty());
}

#[test]
fn skew003_kube_proxy() {
    // No kube-proxy DaemonSet in the recording: nothing to judge.
    assert!(check("SKEW003", "1.22", vec![]).is_empty());
    let mut list = recorded("/apis/apps/v1/daemonsets");
    list["items"].as_array_mut().unwrap().push(json!({
        "metadata": {"name": "kube-proxy", "namespace": "kube-system", "labels": {"k8s-app": "kube-proxy"}},
        "spec": {"template": {"spec": {"containers": [{"name": "kube-proxy", "image": "registry.k8s.io/kube-proxy:v1.18.20"}]}}},
        "status": {"desiredNumberScheduled": 4, "numberReady": 4}
    }));
    let old = ("/apis/apps/v1/daemonsets".to_owned(), list);
    let f = check("SKEW003", "1.22", vec![old]);
    assert!(
        f.iter()
            .any(|f| f.starts_with("blocker DaemonSet kube-system/kube-proxy")),
        "{f:?}"
    );
}

#[test]
fn drn001_budgets_that_allow_no_disruption() {
    assert_eq!(
        check("DRN001", "1.22", vec![]),
        [
            "blocker PodDisruptionBudget legacy-apps/batch-runner",
            "blocker PodDisruptionBudget team-a/legacy-web-pdb",
            "blocker PodDisruptionBudget team-b/db-pdb",
        ]
    );
    let relaxed = edited("/apis/policy/v1beta1/poddisruptionbudgets", |p| {
        p["status"]["disruptionsAllowed"] = json!(1);
        true
    });
    assert!(check("DRN001", "1.22", vec![relaxed]).is_empty());
}

#[test]
fn drn002_budgets_that_can_never_allow_an_eviction() {
    let f = check("DRN002", "1.22", vec![]);
    for pdb in [
        "legacy-apps/batch-runner",
        "team-a/legacy-web-pdb",
        "team-b/db-pdb",
    ] {
        assert!(f.iter().any(|x| x.contains(pdb)), "{pdb}: {f:?}");
    }
    assert!(!f.iter().any(|x| x.contains("frontend-pdb")), "{f:?}");
    // A budget over a bare pod never allows an eviction whatever it says (the disruption
    // controller cannot scale a pod without a controller), so that one goes.
    let max_one = edited("/apis/policy/v1beta1/poddisruptionbudgets", |p| {
        if p["metadata"]["name"] == "batch-runner" {
            return false;
        }
        let spec = p["spec"].as_object_mut().unwrap();
        spec.remove("minAvailable");
        spec.insert("maxUnavailable".into(), json!(1));
        true
    });
    assert!(check("DRN002", "1.22", vec![max_one]).is_empty());
}

#[test]
fn drn003_pods_under_two_budgets() {
    assert!(check("DRN003", "1.22", vec![]).is_empty());
    let mut list = recorded("/apis/policy/v1beta1/poddisruptionbudgets");
    list["items"].as_array_mut().unwrap().push(json!({
        "metadata": {"name": "namespace-wide", "namespace": "team-a", "generation": 1},
        "spec": {"maxUnavailable": 1, "selector": {}},
        "status": {"observedGeneration": 1, "disruptionsAllowed": 1}
    }));
    let twice = ("/apis/policy/v1beta1/poddisruptionbudgets".to_owned(), list);
    let f = check("DRN003", "1.22", vec![twice]);
    assert!(
        f.iter().any(|x| x.contains("Deployment team-a/legacy-web")),
        "{f:?}"
    );
}

#[test]
fn drn004_bare_pods() {
    let f = check("DRN004", "1.22", vec![]);
    for pod in [
        "default/debug-shell",
        "legacy-apps/batch-runner",
        "team-a/cache-warmer",
    ] {
        assert!(f.iter().any(|x| x.contains(pod)), "{pod}: {f:?}");
    }
    let owned = edited("/api/v1/pods", |p| {
        p["metadata"]["ownerReferences"].is_array()
    });
    assert!(check("DRN004", "1.22", vec![owned]).is_empty());
}

#[test]
fn drn005_node_local_data() {
    assert!(!check("DRN005", "1.22", vec![]).is_empty());
    let no_volumes = edited("/api/v1/pods", |p| {
        if let Some(spec) = p["spec"].as_object_mut() {
            spec.remove("volumes");
        }
        true
    });
    assert!(check("DRN005", "1.22", vec![no_volumes]).is_empty());
}

#[test]
fn drn008_do_not_disrupt_annotations() {
    let f = check("DRN008", "1.22", vec![]);
    assert!(f.iter().any(|x| x.contains("team-b/api")), "{f:?}");
    assert!(
        f.iter().any(|x| x.contains("legacy-apps/batch-runner")),
        "{f:?}"
    );
    let plain = edited("/api/v1/pods", |p| {
        if let Some(m) = p["metadata"].as_object_mut() {
            m.remove("annotations");
        }
        true
    });
    assert!(check("DRN008", "1.22", vec![plain]).is_empty());
}

#[test]
fn wl001_single_replica_workloads() {
    assert!(check("WL001", "1.22", vec![]).is_empty());
    // The StatefulSet has no autoscaler to raise it again.
    let single = edited("/apis/apps/v1/statefulsets", |d| {
        d["spec"]["replicas"] = json!(1);
        true
    });
    assert_eq!(
        check("WL001", "1.22", vec![single]),
        ["warning StatefulSet team-b/db"]
    );
    // A single replica that an autoscaler keeps at two or more is fine.
    let autoscaled = edited("/apis/apps/v1/deployments", |d| {
        if d["metadata"]["name"] == "frontend" {
            d["spec"]["replicas"] = json!(1);
        }
        true
    });
    assert!(check("WL001", "1.22", vec![autoscaled]).is_empty());
}

#[test]
fn hlt001_node_health() {
    assert_eq!(
        check("HLT001", "1.22", vec![]),
        ["warning Node node-b1", "warning Node node-b2"]
    );
    let healthy = edited("/api/v1/nodes", |n| {
        for c in n["status"]["conditions"].as_array_mut().unwrap() {
            let good = if c["type"] == "Ready" {
                "True"
            } else {
                "False"
            };
            c["status"] = json!(good);
        }
        n["spec"].as_object_mut().unwrap().remove("unschedulable");
        true
    });
    assert!(check("HLT001", "1.22", vec![healthy]).is_empty());
}

#[test]
fn hlt002_workload_health() {
    let f = check("HLT002", "1.22", vec![]);
    assert!(
        f.iter().any(|x| x.contains("team-b/api-5f7c8d9b4c-hz6dc")),
        "{f:?}"
    );
    assert!(f.iter().any(|x| x.contains("default/pending-pod")), "{f:?}");
    let running = edited("/api/v1/pods", |p| {
        p["status"]["phase"] == "Succeeded"
            || p["status"]["conditions"].as_array().is_some_and(|c| {
                c.iter()
                    .any(|c| c["type"] == "Ready" && c["status"] == "True")
            })
    });
    let available = edited("/apis/apps/v1/deployments", |d| {
        let replicas = d["spec"]["replicas"].clone();
        let status = d["status"].as_object_mut().unwrap();
        status.remove("unavailableReplicas");
        status.insert("availableReplicas".into(), replicas.clone());
        status.insert("readyReplicas".into(), replicas);
        true
    });
    let scheduled = edited("/apis/apps/v1/daemonsets", |d| {
        let desired = d["status"]["desiredNumberScheduled"].clone();
        let status = d["status"].as_object_mut().unwrap();
        status.remove("numberUnavailable");
        status.insert("numberReady".into(), desired.clone());
        status.insert("numberAvailable".into(), desired);
        true
    });
    let healthy = check("HLT002", "1.22", vec![running, available, scheduled]);
    assert!(healthy.is_empty(), "{healthy:?}");
}

#[test]
fn ext001_fail_closed_webhooks_without_endpoints() {
    assert_eq!(
        check("EXT001", "1.22", vec![]),
        ["blocker ValidatingWebhookConfiguration policy-enforcer"]
    );
    let serving = edited("/api/v1/endpoints", |e| {
        if e["metadata"]["name"] == "policy-webhook" {
            e["subsets"] = json!([{"addresses": [{"ip": "10.0.0.9"}], "ports": [{"port": 443}]}]);
        }
        true
    });
    assert!(check("EXT001", "1.22", vec![serving]).is_empty());
}

#[test]
fn ext002_unavailable_api_services() {
    assert_eq!(
        check("EXT002", "1.22", vec![]),
        ["warning APIService v1beta1.metrics.k8s.io"]
    );
    let available = edited("/apis/apiregistration.k8s.io/v1/apiservices", |a| {
        for c in a["status"]["conditions"]
            .as_array_mut()
            .into_iter()
            .flatten()
        {
            c["status"] = json!("True");
        }
        true
    });
    assert!(check("EXT002", "1.22", vec![available]).is_empty());
}

#[test]
fn node001_container_runtimes() {
    assert!(check("NODE001", "1.22", vec![]).is_empty());
    let f = check("NODE001", "1.24", vec![]);
    assert!(
        f.iter().any(|x| x.starts_with("blocker Node node-a1")),
        "{f:?}"
    );
    assert!(
        f.iter().any(|x| x.starts_with("blocker Node node-b2")),
        "{f:?}"
    );
    assert!(!f.iter().any(|x| x.contains("node-a2")), "{f:?}");
}

#[test]
fn api002_in_tree_volume_plugins() {
    assert!(check("API002", "1.22", vec![]).is_empty());
    let f = check("API002", "1.28", vec![]);
    assert!(f.iter().any(|x| x.starts_with("blocker")), "{f:?}");
    let mut drivers = recorded("/apis/storage.k8s.io/v1/csidrivers");
    drivers["items"]
        .as_array_mut()
        .unwrap()
        .push(json!({"metadata": {"name": "pd.csi.storage.gke.io"}, "spec": {}}));
    let with_driver = ("/apis/storage.k8s.io/v1/csidrivers".to_owned(), drivers);
    assert!(check("API002", "1.28", vec![with_driver]).is_empty());
}

#[test]
fn a_forbidden_list_means_the_check_is_not_run() {
    let server = Server::recorded(
        &fixture(),
        Scenario {
            forbidden: ["/api/v1/nodes".to_owned()].into(),
            ..Scenario::default()
        },
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = server.kubeconfig(dir.path()).unwrap();
    let r = upcheck(&[
        "cluster",
        "--kubeconfig",
        kubeconfig.to_str().unwrap(),
        "--no-helm",
        "-o",
        "json",
        "-t",
        "1.22",
        "--select",
        "SKEW001,DRN001",
    ]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let report: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(report["readiness"]["ran"], json!(["DRN001"]));
    assert_eq!(
        report["readiness"]["not_run"],
        json!([{"code": "SKEW001", "reason": "nodes: could not be read completely (see the errors)"}])
    );
}

#[test]
fn blockers_give_exit_code_five_and_warnings_only_when_asked() {
    // Only readiness: the deprecated APIs of the recording would otherwise decide the code.
    let blockers = run(
        vec![],
        &[
            "-t",
            "1.22",
            "--select",
            "DRN001",
            "--ignore-deprecations",
            "--ignore-removals",
            "--ignore-unavailable-replacements",
            "--allow-incomplete",
        ],
    );
    assert_eq!(blockers.code, 5, "{}", blockers.stderr);
    let warnings = run(
        vec![],
        &[
            "-t",
            "1.22",
            "--select",
            "HLT001",
            "--ignore-deprecations",
            "--ignore-removals",
            "--ignore-unavailable-replacements",
            "--allow-incomplete",
        ],
    );
    assert_eq!(warnings.code, 0, "{}", warnings.stderr);
    let strict = run(
        vec![],
        &[
            "-t",
            "1.22",
            "--select",
            "HLT001",
            "--fail-on",
            "warning",
            "--ignore-deprecations",
            "--ignore-removals",
            "--ignore-unavailable-replacements",
            "--allow-incomplete",
        ],
    );
    assert_eq!(strict.code, 5, "{}", strict.stderr);
}

#[test]
fn unknown_selectors_are_refused() {
    let r = upcheck(&["cluster", "--select", "DRN0001"]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr
            .contains("unknown check code or prefix in --select/--ignore: DRN0001"),
        "{}",
        r.stderr
    );
    // An empty pattern (an unset variable) is refused and named, not shown as nothing.
    let r = upcheck(&["files", "fixtures/examples", "--checks", "--ignore", ""]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr
            .contains("unknown check code or prefix in --select/--ignore: \"\" (empty)"),
        "{}",
        r.stderr
    );
}

#[test]
fn every_registered_code_is_explained() {
    let list: Value = serde_json::from_str(&upcheck(&["checks", "-o", "json"]).stdout).unwrap();
    let codes: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["code"].as_str().unwrap())
        .collect();
    assert!(codes.len() >= 16, "{codes:?}");
    for code in codes.iter().chain(&["DEP001", "DEP002", "DEP003"]) {
        let r = upcheck(&["explain", &code.to_ascii_lowercase()]);
        assert_eq!(r.code, 0, "{code}: {}", r.stderr);
        assert!(r.stdout.starts_with(&format!("{code} · ")), "{}", r.stdout);
    }
    let r = upcheck(&["explain", "DRN099"]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("codes starting with DRN: DRN001"),
        "{}",
        r.stderr
    );
}

#[test]
fn checks_and_explain_output() {
    insta::assert_snapshot!("checks_list", upcheck(&["checks"]).transcript());
    insta::assert_snapshot!(
        "explain_drn001",
        upcheck(&["explain", "DRN001"]).transcript()
    );
    insta::assert_snapshot!("checks_rbac", upcheck(&["checks", "--rbac"]).transcript());
}

#[test]
fn explain_prints_removal_facts_with_their_sources() {
    let r = upcheck(&["explain", "NODE001"]);
    assert_eq!(r.code, 0, "{}", r.transcript());
    assert!(
        r.stdout.contains("containerd-1 1.38: ")
            && r.stdout.contains("kubernetes/kubernetes#139121"),
        "{}",
        r.stdout
    );
    insta::assert_snapshot!("explain_node001", r.transcript());
}

#[test]
fn recorded_1_20_readiness_in_markdown() {
    let r = run(vec![], &["-t", "1.22", "-o", "markdown", "--only-removed"]);
    let readiness: String = r
        .stdout
        .lines()
        .skip_while(|l| !l.starts_with("### Upgrade readiness"))
        .take_while(|l| !l.starts_with("22 findings"))
        .collect::<Vec<_>>()
        .join("\n");
    insta::assert_snapshot!(readiness);
}

#[test]
fn offline_checks_on_manifests() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("app.yaml"),
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: api, namespace: shop}\nspec:\n  replicas: 1\n  selector: {matchLabels: {app: api}}\n  template:\n    metadata: {labels: {app: api}}\n    spec: {containers: [{name: api, image: api:1}]}\n---\napiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata: {name: api, namespace: shop}\nspec:\n  minAvailable: 1\n  selector: {matchLabels: {app: api}}\n",
    )
    .unwrap();
    let r = upcheck(&[
        "files",
        dir.path().to_str().unwrap(),
        "--checks",
        "--current",
        "1.29",
        "-t",
        "1.30",
        "-o",
        "json",
    ]);
    let report: Value =
        serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("{e}: {}", r.transcript()));
    let codes: Vec<&str> = report["readiness"]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap())
        .collect();
    assert!(codes.contains(&"WL001"), "{codes:?}");
    assert!(codes.contains(&"DRN002"), "{codes:?}");
    // Live-only checks are listed as not run, with the reason.
    let not_run: Vec<&str> = report["readiness"]["not_run"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["code"].as_str().unwrap())
        .collect();
    assert!(
        not_run.contains(&"DRN001") && not_run.contains(&"SKEW001"),
        "{not_run:?}"
    );
    assert_eq!(r.code, 5, "{}", r.stderr);
}

#[test]
fn the_readme_lists_every_check() {
    let readme = std::fs::read_to_string(workspace().join("README.md")).unwrap();
    let table = upcheck(&["checks", "-o", "markdown"]).stdout;
    assert!(
        readme.contains(&table),
        "README check table is stale:\n{table}"
    );
}

#[test]
fn skew006_kubectl_per_hop() {
    let old = run(
        vec![],
        &[
            "-t",
            "1.22",
            "--select",
            "SKEW006",
            "--kubectl-version",
            "1.20",
        ],
    );
    assert_eq!(found(&old, "SKEW006"), ["info kubectl @1.22"]);
    let current = run(
        vec![],
        &[
            "-t",
            "1.22",
            "--select",
            "SKEW006",
            "--kubectl-version",
            "v1.21.3",
        ],
    );
    assert!(found(&current, "SKEW006").is_empty());
    // Without the version the check cannot judge: listed as not run, never as a pass.
    let unknown = run(vec![], &["-t", "1.22", "--select", "SKEW006"]);
    let report: Value = serde_json::from_str(&unknown.stdout).unwrap();
    assert_eq!(report["readiness"]["not_run"][0]["code"], "SKEW006");
}
