//! Add-on, CRD and node OS readiness checks (EXT003, ADD002, NODE002) through `upcheck
//! cluster`, against the recorded v1.20 server: for each, a cluster state that triggers it and
//! one that does not (the recorded lists, edited and served by the same loopback server).
#![allow(clippy::unwrap_used)] // tests fail loudly on purpose

use crate::common::readiness::{check, edited, recorded, run};
use serde_json::{Value, json};

/// The messages of `code`'s findings.
fn messages(code: &str, target: &str, replace: Vec<(String, Value)>) -> Vec<String> {
    let r = run(replace, &["-t", target, "--select", code]);
    let report: Value =
        serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("{e}\n{}", r.transcript()));
    report["readiness"]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["code"] == code)
        .map(|f| f["message"].as_str().unwrap().to_owned())
        .collect()
}

const CRDS: &str = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions";

/// The recorded CRDs with crontabs converted through a webhook behind `service`, and only
/// the storage version left in its `storedVersions`.
fn crontabs_webhook(ns: &str, service: &str) -> (String, Value) {
    edited(CRDS, |crd| {
        if crd["metadata"]["name"] == "crontabs.stable.example.com" {
            crd["spec"]["conversion"] = json!({"strategy": "Webhook", "webhook": {
                "conversionReviewVersions": ["v1"],
                "clientConfig": {"service": {"namespace": ns, "name": service, "path": "/convert", "port": 443}}}});
            crd["status"]["storedVersions"] = json!(["v1"]);
        }
        true
    })
}

#[test]
fn ext003_stored_versions_to_migrate() {
    // crontabs still lists v1beta1 (served) next to the storage version v1.
    assert_eq!(
        check("EXT003", "1.22", vec![]),
        ["warning CustomResourceDefinition crontabs.stable.example.com"]
    );
    let m = messages("EXT003", "1.22", vec![]);
    assert!(
        m[0].contains("migrate stored objects to v1 and remove it from status.storedVersions before a chart or operator drops it"),
        "{m:?}"
    );
    let migrated = edited(CRDS, |crd| {
        crd["status"]["storedVersions"] = json!(["v1"]);
        true
    });
    assert!(check("EXT003", "1.22", vec![migrated]).is_empty());
}

#[test]
fn ext003_conversion_webhooks_without_a_backend() {
    // team-b/policy-webhook has no endpoints at all in the recording.
    assert_eq!(
        check(
            "EXT003",
            "1.22",
            vec![crontabs_webhook("team-b", "policy-webhook")]
        ),
        ["blocker CustomResourceDefinition crontabs.stable.example.com"]
    );
    // team-b/api has ready endpoints.
    assert!(check("EXT003", "1.22", vec![crontabs_webhook("team-b", "api")]).is_empty());
}

/// The recorded Deployments plus a kube-system `CoreDNS` running `image`.
fn with_coredns(image: &str) -> (String, Value) {
    let mut list = recorded("/apis/apps/v1/deployments");
    list["items"].as_array_mut().unwrap().push(json!({
        "metadata": {"name": "coredns", "namespace": "kube-system", "labels": {"k8s-app": "kube-dns"}},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"k8s-app": "kube-dns"}},
            "template": {"metadata": {"labels": {"k8s-app": "kube-dns"}},
                "spec": {"containers": [{"name": "coredns", "image": image}]}}},
        "status": {"replicas": 2, "readyReplicas": 2, "availableReplicas": 2}
    }));
    ("/apis/apps/v1/deployments".to_owned(), list)
}

#[test]
fn add002_coredns_behind_the_target() {
    // No CoreDNS Deployment in the recording: nothing to judge.
    assert!(check("ADD002", "1.22", vec![]).is_empty());
    // 1.7.0 is what kubeadm shipped with 1.20: behind 1.21's 1.8.0 at the 1.21 → 1.22 step,
    // and the EndpointSlice RBAC note for 1.22.
    assert_eq!(
        check(
            "ADD002",
            "1.22",
            vec![with_coredns("k8s.gcr.io/coredns:1.7.0")]
        ),
        [
            "warning Deployment kube-system/coredns @1.22",
            "warning Deployment kube-system/coredns @1.22",
        ]
    );
    assert_eq!(
        check(
            "ADD002",
            "1.21",
            vec![with_coredns("k8s.gcr.io/coredns:1.7.0")]
        ),
        ["info Deployment kube-system/coredns @1.21"]
    );
    assert!(
        check(
            "ADD002",
            "1.22",
            vec![with_coredns("registry.k8s.io/coredns/coredns:v1.8.4")]
        )
        .is_empty()
    );
}

#[test]
fn node002_cgroup_v1_nodes() {
    // Below 1.35 no kubelet refuses cgroup v1.
    assert!(check("NODE002", "1.22", vec![]).is_empty());
    // Every recorded node runs Ubuntu 18.04 or 20.04, which boot with cgroup v1.
    assert_eq!(
        check("NODE002", "1.35", vec![]),
        [
            "blocker Node node-a1 @1.35",
            "blocker Node node-a2 @1.35",
            "blocker Node node-b1 @1.35",
            "blocker Node node-b2 @1.35",
        ]
    );
    let m = messages("NODE002", "1.35", vec![]);
    assert!(
        m[0].contains("inferred from the OS image") && m[0].contains("stat -fc %T /sys/fs/cgroup/"),
        "{m:?}"
    );
    let jammy = edited("/api/v1/nodes", |n| {
        n["status"]["nodeInfo"]["osImage"] = json!("Ubuntu 22.04.4 LTS");
        n["status"]["nodeInfo"]["kernelVersion"] = json!("6.5.0-1022-aws");
        true
    });
    assert!(check("NODE002", "1.35", vec![jammy]).is_empty());
}
