//! SKEW005, DRN007 and API003 through `upcheck cluster`, against the recorded v1.20 server: for
//! each, the recorded lists (which trigger none of them) and the same lists edited so that they
//! do, served by the same loopback server.
#![allow(clippy::unwrap_used)] // tests fail loudly on purpose

use crate::common::readiness::{check, edited, found, recorded, run};
use serde_json::{Value, json};

/// The recorded pods plus `extra`.
fn pods_with(extra: Vec<Value>) -> (String, Value) {
    let mut list = recorded("/api/v1/pods");
    list["items"].as_array_mut().unwrap().extend(extra);
    ("/api/v1/pods".to_owned(), list)
}

/// A kubeadm mirror pod of `component` on control-plane node cp1.
fn mirror(component: &str, tag: &str, command: &[&str]) -> Value {
    json!({
        "metadata": {"name": format!("{component}-cp1"), "namespace": "kube-system",
            "labels": {"component": component, "tier": "control-plane"},
            "annotations": {"kubernetes.io/config.mirror": "0d1f4c"}},
        "spec": {"nodeName": "cp1", "containers": [{"name": component,
            "image": format!("k8s.gcr.io/{component}:{tag}"), "command": command}]},
        "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}
    })
}

#[test]
fn skew005_control_plane_components() {
    // The recording has no control-plane pods (a managed control plane): nothing to judge.
    assert!(check("SKEW005", "1.22", vec![]).is_empty());
    let behind = pods_with(vec![mirror(
        "kube-controller-manager",
        "v1.19.0",
        &["kube-controller-manager"],
    )]);
    assert_eq!(
        check("SKEW005", "1.22", vec![behind]),
        ["warning Pod kube-system/kube-controller-manager-cp1 @1.21"]
    );
    let too_old = pods_with(vec![mirror(
        "kube-scheduler",
        "v1.18.20",
        &["kube-scheduler"],
    )]);
    assert_eq!(
        check("SKEW005", "1.22", vec![too_old]),
        ["blocker Pod kube-system/kube-scheduler-cp1 @1.21"]
    );
    let aligned = pods_with(vec![
        mirror(
            "kube-controller-manager",
            "v1.20.2",
            &["kube-controller-manager", "--cloud-provider=aws"],
        ),
        mirror("kube-scheduler", "v1.20.2", &["kube-scheduler"]),
    ]);
    assert!(check("SKEW005", "1.22", vec![aligned.clone()]).is_empty());
    // The in-tree AWS provider is gone in 1.27: the controller-manager would not start there.
    assert_eq!(
        check("SKEW005", "1.27", vec![aligned]),
        ["blocker Pod kube-system/kube-controller-manager-cp1 @1.27"]
    );
}

#[test]
fn drn007_slow_shutdown() {
    assert!(check("DRN007", "1.22", vec![]).is_empty());
    // Pods of the api Deployment with an hour to stop; they are reported under the Deployment.
    let slow_pods = edited("/api/v1/pods", |p| {
        if p["metadata"]["labels"]["app"] == "api" {
            p["spec"]["terminationGracePeriodSeconds"] = json!(3600);
        }
        true
    });
    assert_eq!(
        check("DRN007", "1.22", vec![slow_pods]),
        ["warning Deployment team-b/api"]
    );
    // A template on manifests or in the cluster counts even before its pods are replaced.
    let slow_template = edited("/apis/apps/v1/statefulsets", |s| {
        s["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] = json!(1200);
        true
    });
    assert_eq!(
        check("DRN007", "1.22", vec![slow_template]),
        ["warning StatefulSet team-b/db"]
    );
    // Ten minutes each is within the limit for one pod, but frontend's budget releases its two
    // pods on the kubelet 1.18 nodes one at a time: 2 x 600 s, over the default 900 s.
    let ten = || {
        edited("/api/v1/pods", |p| {
            p["spec"]["terminationGracePeriodSeconds"] = json!(600);
            true
        })
    };
    assert_eq!(
        check("DRN007", "1.22", vec![ten()]),
        ["warning Deployment default/frontend"]
    );
    let roomy = run(
        vec![ten()],
        &["-t", "1.22", "--select", "DRN007", "--drain-budget", "1200"],
    );
    assert!(found(&roomy, "DRN007").is_empty());
}

#[test]
fn api003_deprecated_labels_taints_and_annotations() {
    assert!(check("API003", "1.22", vec![]).is_empty());
    assert!(check("API003", "1.27", vec![]).is_empty());
    // A beta label in the frontend template and in its pods: one finding, on the Deployment.
    let beta = json!({"beta.kubernetes.io/os": "linux"});
    let template = edited("/apis/apps/v1/deployments", |d| {
        if d["metadata"]["name"] == "frontend" {
            d["spec"]["template"]["spec"]["nodeSelector"] = beta.clone();
        }
        true
    });
    let pods = edited("/api/v1/pods", |p| {
        if p["metadata"]["labels"]["app"] == "frontend" {
            p["spec"]["nodeSelector"] = beta.clone();
        }
        true
    });
    assert_eq!(
        check("API003", "1.22", vec![template, pods]),
        ["warning Deployment default/frontend"]
    );
    // The master toleration matters from the 1.24 hop on.
    let master = edited("/apis/apps/v1/daemonsets", |d| {
        d["spec"]["template"]["spec"]["tolerations"] =
            json!([{"key": "node-role.kubernetes.io/master", "effect": "NoSchedule"}]);
        true
    });
    assert!(check("API003", "1.23", vec![master.clone()]).is_empty());
    assert_eq!(
        check("API003", "1.24", vec![master]),
        ["warning DaemonSet monitoring/node-exporter @1.24"]
    );
    // A seccomp annotation on a bare pod has no effect from 1.27.
    let seccomp = edited("/api/v1/pods", |p| {
        if p["metadata"]["name"] == "debug-shell" {
            p["metadata"]["annotations"] =
                json!({"seccomp.security.alpha.kubernetes.io/pod": "runtime/default"});
        }
        true
    });
    assert!(check("API003", "1.26", vec![seccomp.clone()]).is_empty());
    assert_eq!(
        check("API003", "1.27", vec![seccomp]),
        ["warning Pod default/debug-shell @1.27"]
    );
}

#[test]
fn node004_removed_flags_of_control_plane_pods() {
    // Managed control planes have no such pods: nothing to judge.
    assert!(check("NODE004", "1.28", vec![]).is_empty());
    // The kubeadm runbook's recommendation, still set when the hop to 1.27 comes.
    let flagged = pods_with(vec![mirror(
        "kube-controller-manager",
        "v1.20.2",
        &["kube-controller-manager", "--pod-eviction-timeout=5m0s"],
    )]);
    assert_eq!(
        check("NODE004", "1.28", vec![flagged.clone()]),
        ["blocker Pod kube-system/kube-controller-manager-cp1 @1.27"]
    );
    assert!(check("NODE004", "1.26", vec![flagged]).is_empty());
    let plugin = pods_with(vec![mirror(
        "kube-apiserver",
        "v1.20.2",
        &[
            "kube-apiserver",
            "--enable-admission-plugins=NodeRestriction,PodSecurityPolicy",
        ],
    )]);
    assert_eq!(
        check("NODE004", "1.25", vec![plugin]),
        ["blocker Pod kube-system/kube-apiserver-cp1 @1.25"]
    );
}

#[test]
fn node004_offline_from_static_pod_manifests() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: kube-controller-manager\n  namespace: kube-system\n  labels:\n    component: kube-controller-manager\n    tier: control-plane\nspec:\n  containers:\n  - name: kube-controller-manager\n    image: registry.k8s.io/kube-controller-manager:v1.26.5\n    command:\n    - kube-controller-manager\n    - --pod-eviction-timeout=5m0s\n    - --leader-elect=true\n";
    std::fs::write(dir.path().join("kube-controller-manager.yaml"), manifest).unwrap();
    let run = crate::common::upcheck_with(
        dir.path(),
        &[
            "files",
            ".",
            "-t",
            "1.27",
            "--current",
            "1.26",
            "--checks",
            "--select",
            "NODE004",
        ],
        None,
        &[],
    );
    assert!(
        run.stdout.contains("NODE004") && run.stdout.contains("--pod-eviction-timeout=5m0s"),
        "{}",
        run.transcript()
    );
}
