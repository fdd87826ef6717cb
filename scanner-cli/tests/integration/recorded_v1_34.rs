//! Issue 18 against the recorded kube-apiserver 1.34.9 (`fixtures/cluster/v1.34`): the
//! readiness checks and the wording the README's ground truth asks for.
#![allow(clippy::unwrap_used)] // tests fail loudly on purpose

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::common::{Run, upcheck, workspace};
use serde_json::Value;
use upcheck_test_server::{Scenario, Server};

fn recording() -> PathBuf {
    workspace().join("fixtures/cluster/v1.34")
}

/// `upcheck COMMAND --kubeconfig K ARGS` against the recording served with `scenario`.
fn run_with(scenario: Scenario, command: &str, args: &[&str]) -> Run {
    let server = Server::recorded(&recording(), scenario).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = server.kubeconfig(dir.path()).unwrap();
    let mut all = vec![command, "--kubeconfig", kubeconfig.to_str().unwrap()];
    all.extend_from_slice(args);
    upcheck(&all)
}

fn run(command: &str, args: &[&str]) -> Run {
    run_with(Scenario::default(), command, args)
}

/// `object: message` of the readiness findings of `code` at `target`.
fn findings(code: &str, target: &str) -> Vec<String> {
    let r = run(
        "cluster",
        &["--no-helm", "-t", target, "--select", code, "-o", "json"],
    );
    let v: Value =
        serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("{e}\n{}", r.transcript()));
    assert!(
        v["readiness"]["ran"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c == code),
        "{code} did not run: {}",
        v["readiness"]["not_run"]
    );
    v["readiness"]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["code"] == code)
        .map(|f| {
            format!(
                "{}: {}",
                f["object"].as_str().unwrap(),
                f["message"].as_str().unwrap()
            )
        })
        .collect()
}

#[test]
fn hlt002_reports_the_scheduled_pod_that_never_starts() {
    let f = findings("HLT002", "1.35");
    assert!(
        f.iter().any(|f| f.starts_with(
            "Pod legacy/git-sync-legacy: Pending: scheduled on pool-a-2 but not started (container web is waiting in ContainerCreating)"
        )),
        "{f:#?}"
    );
}

#[test]
fn containerd_1_is_not_a_blocker_before_1_38() {
    // containerd 1.x nodes: pool-a-2, pool-b-1, pool-b-2. The removal moved to 1.38.
    for target in ["1.35", "1.36"] {
        let f = findings("NODE001", target);
        assert!(f.is_empty(), "at {target}: {f:#?}");
    }
}

#[test]
fn skew001_says_a_kubelet_is_already_outside_the_window_first() {
    for target in ["1.35", "1.36"] {
        let f = findings("SKEW001", target);
        assert!(
            f.iter().any(|f| f.starts_with(
                "Node pool-b-2: kubelet 1.30 on pool-b-2 is already outside the window of the 1.34 control plane (needs ≥ 1.31)"
            )),
            "at {target}: {f:#?}"
        );
    }
}

#[test]
fn drn007_cites_no_managed_platform_on_a_kubeadm_cluster() {
    let f = findings("DRN007", "1.35");
    let old_app: Vec<&String> = f
        .iter()
        .filter(|f| f.starts_with("Deployment legacy/old-app:"))
        .collect();
    assert_eq!(old_app.len(), 1, "{f:#?}");
    assert!(
        !old_app[0].contains("EKS") && !old_app[0].contains("AKS"),
        "{}",
        old_app[0]
    );
}

#[test]
fn a_failed_helm_release_says_failed_in_text_and_markdown() {
    for format in ["text", "markdown"] {
        let r = run("cluster", &["-t", "1.35", "-o", format, "--no-checks"]);
        let lines: Vec<&str> = r
            .stdout
            .lines()
            .filter(|l| l.contains("legacy/old-ingress"))
            .collect();
        assert!(!lines.is_empty(), "{format}: {}", r.transcript());
        for l in &lines {
            assert!(l.contains("r1 (failed)"), "{format}: {l}");
        }
        // The deployed revision of another release keeps its plain location.
        assert!(
            r.stdout.contains("helm release shop/storefront r2,"),
            "{format}: {}",
            r.stdout
        );
    }
}

#[test]
fn the_kubeadm_plan_names_each_add_on_version_and_the_snapshot_capture() {
    let r = run("plan", &["-t", "1.36"]);
    let text = &r.stdout;
    assert!(
        text.contains("kubeadm upgrades kube-proxy to 1.35 and CoreDNS to "),
        "{}",
        r.transcript()
    );
    assert!(!text.contains("kube-proxy and CoreDNS"), "{text}");
    assert!(
        text.contains("`upcheck snapshot save -o before-upgrade.json`"),
        "{text}"
    );
    assert!(!text.contains("upcheck cluster -o json >"), "{text}");
}

#[test]
fn the_view_role_sees_each_refusal_once() {
    // What the built-in `view` role may not read (errors/403-viewer-* in the recording, and
    // the other cluster-scoped lists outside the role).
    let forbidden: Vec<String> = [
        "/api/v1/secrets",
        "/api/v1/nodes",
        "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
        "/metrics",
        "/api/v1/persistentvolumes",
        "/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations",
        "/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations",
        "/apis/apiregistration.k8s.io/v1/apiservices",
        "/apis/storage.k8s.io/v1/csidrivers",
    ]
    .map(str::to_owned)
    .to_vec();
    let scenario = Scenario {
        forbidden: forbidden.iter().cloned().collect(),
        ..Scenario::default()
    };
    let r = run_with(scenario, "cluster", &["-t", "1.35"]);
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    for line in r.stdout.lines().chain(r.stderr.lines()) {
        if line.contains("403") || line.to_ascii_lowercase().contains("forbidden") {
            *seen.entry(line.trim()).or_default() += 1;
        }
    }
    assert!(!seen.is_empty(), "{}", r.transcript());
    let repeated: Vec<(&&str, &usize)> = seen.iter().filter(|(_, n)| **n > 1).collect();
    assert!(repeated.is_empty(), "{repeated:#?}\n{}", r.transcript());
}
