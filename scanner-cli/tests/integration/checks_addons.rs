//! Add-on, CRD and node OS readiness checks (EXT003, ADD002, ADD003, NODE002) through `upcheck
//! cluster`, against the recorded v1.20 server: for each, a cluster state that triggers it and
//! one that does not (the recorded lists, edited and served by the same loopback server); and
//! ADD002 offline on the EKS add-on fixture.
#![allow(clippy::unwrap_used)] // tests fail loudly on purpose

use crate::common::readiness::{check, edited, fixture, found, recorded, rows, run};
use crate::common::{upcheck, workspace};
use serde_json::{Value, json};
use upcheck_test_server::{Scenario, Server};

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

const DAEMONSETS: &str = "/apis/apps/v1/daemonsets";
const DEPLOYMENTS: &str = "/apis/apps/v1/deployments";
const PODS: &str = "/api/v1/pods";

/// A recorded list with `items` added.
fn appended(path: &str, items: Vec<Value>) -> (String, Value) {
    let mut list = recorded(path);
    list["items"].as_array_mut().unwrap().extend(items);
    (path.to_owned(), list)
}

/// A kube-system workload of `kind` with one container.
fn addon(kind: &str, name: &str, container: &Value) -> Value {
    json!({"apiVersion": "apps/v1", "kind": kind,
        "metadata": {"name": name, "namespace": "kube-system", "labels": {"k8s-app": name}},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"k8s-app": name}},
            "template": {"metadata": {"labels": {"k8s-app": name}},
                "spec": {"containers": [container]}}}})
}

#[test]
fn add002_vpc_cni_and_cluster_autoscaler() {
    let cni = |tag: &str, security: Value| {
        appended(
            DAEMONSETS,
            vec![addon(
                "DaemonSet",
                "aws-node",
                &json!({"name": "aws-node", "securityContext": security,
                    "image": format!("602401143452.dkr.ecr.eu-west-1.amazonaws.com/amazon-k8s-cni:{tag}")}),
            )],
        )
    };
    let ca = |tag: &str| {
        appended(
            DEPLOYMENTS,
            vec![addon(
                "Deployment",
                "cluster-autoscaler",
                &json!({"name": "cluster-autoscaler",
                    "image": format!("registry.k8s.io/autoscaling/cluster-autoscaler:{tag}")}),
            )],
        )
    };
    // 1.7 CNI with runAsNonRoot, and a 1.20 cluster-autoscaler, from 1.20 to 1.22.
    assert_eq!(
        check(
            "ADD002",
            "1.22",
            vec![
                cni("v1.7.5-eksbuild.1", json!({"runAsNonRoot": true})),
                ca("v1.20.3")
            ]
        ),
        [
            "blocker DaemonSet kube-system/aws-node @1.21",
            "warning DaemonSet kube-system/aws-node",
            "warning Deployment kube-system/cluster-autoscaler @1.21",
            "warning Deployment kube-system/cluster-autoscaler @1.22",
        ]
    );
    let m = messages(
        "ADD002",
        "1.21",
        vec![cni("v1.7.5-eksbuild.1", json!({})), ca("v1.20.3")],
    );
    assert!(
        m.iter()
            .any(|m| m
                .contains("update it before the control plane moves to 1.21, one minor at a time")),
        "{m:?}"
    );
    assert!(
        m.iter()
            .any(|m| m.contains("move it to the latest 1.21 release right after that step")),
        "{m:?}"
    );
    // A current CNI without runAsNonRoot, and cluster-autoscaler on the target's line.
    assert!(
        check(
            "ADD002",
            "1.21",
            vec![cni("v1.8.0", json!({"runAsNonRoot": false})), ca("v1.21.0")]
        )
        .is_empty()
    );
}

#[test]
fn add002_runs_without_daemonsets() {
    // DaemonSets forbidden: the CoreDNS part still runs (DaemonSets are only used).
    let (path, deployments) = with_coredns("k8s.gcr.io/coredns:1.7.0");
    let server = Server::recorded(
        &fixture(),
        Scenario {
            forbidden: [DAEMONSETS.to_owned()].into(),
            replace: [(path, deployments)].into(),
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
        "1.21",
        "--select",
        "ADD002",
    ]);
    assert_eq!(
        found(&r, "ADD002"),
        ["info Deployment kube-system/coredns @1.21"]
    );
}

#[test]
fn add002_eks_addons_offline() {
    let path = workspace().join("fixtures/manifests/runbooks/eks-addons.yaml");
    let args = |format: &'static str| {
        vec![
            "files".to_owned(),
            path.to_str().unwrap().to_owned(),
            "--checks".to_owned(),
            "--current".to_owned(),
            "1.23".to_owned(),
            "-t".to_owned(),
            "1.24".to_owned(),
            "--select".to_owned(),
            "ADD002".to_owned(),
            "-o".to_owned(),
            format.to_owned(),
        ]
    };
    let json_args = args("json");
    let r = upcheck(&json_args.iter().map(String::as_str).collect::<Vec<_>>());
    let got = rows(&r, "severity", "object");
    assert_eq!(
        got,
        [
            "blocker DaemonSet kube-system/aws-node",
            "warning DaemonSet kube-system/aws-node",
            "warning Deployment ingress-nginx/ingress-nginx-controller",
            "warning Deployment kube-system/cluster-autoscaler",
        ]
    );
    let text_args = args("text");
    insta::assert_snapshot!(
        "add002_eks_addons_offline",
        upcheck(&text_args.iter().map(String::as_str).collect::<Vec<_>>()).transcript()
    );
}

const PROXY_OK: &str =
    "602401143452.dkr.ecr.eu-west-1.amazonaws.com/eks/kube-proxy:v1.20.4-eksbuild.2";
const PROXY_GUESSED: &str =
    "602401143452.dkr.ecr.eu-west-1.amazonaws.com/eks/kube-proxy:v1.20.4-minimal-eksbuild.2";

/// A kube-proxy pod on `node` running `image`, waiting with `reason` when given.
fn proxy_pod(name: &str, node: &str, image: &str, reason: Option<&str>) -> Value {
    let state = reason.map_or_else(
        || json!({"running": {"startedAt": "2021-01-20T10:00:00Z"}}),
        |r| json!({"waiting": {"reason": r, "message": "manifest unknown"}}),
    );
    json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": "kube-system", "labels": {"k8s-app": "kube-proxy"},
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "DaemonSet", "name": "kube-proxy",
                "uid": "ds-kube-proxy", "controller": true}]},
        "spec": {"nodeName": node, "containers": [{"name": "kube-proxy", "image": image}]},
        "status": {"phase": if reason.is_some() { "Pending" } else { "Running" },
            "containerStatuses": [{"name": "kube-proxy", "ready": reason.is_none(),
                "restartCount": 0, "image": image, "state": state}]}})
}

/// The recorded cluster with a kube-proxy `DaemonSet` whose template runs `template`, and its
/// pods as given.
fn kube_proxy(template: &str, pods: Vec<Value>) -> Vec<(String, Value)> {
    vec![
        appended(
            DAEMONSETS,
            vec![addon(
                "DaemonSet",
                "kube-proxy",
                &json!({"name": "kube-proxy", "image": template}),
            )],
        ),
        appended(PODS, pods),
    ]
}

#[test]
fn add003_pull_failures_and_stuck_rollouts() {
    // The recorded cluster runs no add-on in kube-system: nothing, not even registries.
    assert!(check("ADD003", "1.21", vec![]).is_empty());
    // A guessed -minimal- tag: the new pod cannot pull, the old one still runs the old tag.
    let broken = kube_proxy(
        PROXY_GUESSED,
        vec![
            proxy_pod(
                "kube-proxy-7xk2p",
                "node-a1",
                PROXY_GUESSED,
                Some("ImagePullBackOff"),
            ),
            proxy_pod("kube-proxy-q9z4d", "node-a2", PROXY_OK, None),
        ],
    );
    assert_eq!(
        check("ADD003", "1.21", broken.clone()),
        [
            "blocker DaemonSet kube-system/kube-proxy",
            "blocker DaemonSet kube-system/kube-proxy",
            "info cluster",
        ]
    );
    let m = messages("ADD003", "1.21", broken);
    assert!(
        m.iter().any(|m| m.starts_with(&format!(
            "1/2 pods cannot pull {PROXY_GUESSED} (ImagePullBackOff) on node-a1: kube-proxy-7xk2p"
        ))),
        "{m:?}"
    );
    assert!(
        m.iter().any(|m| m.starts_with(&format!(
            "1/2 pods still run {PROXY_OK} in container kube-proxy while the template asks for {PROXY_GUESSED}"
        ))),
        "{m:?}"
    );
    // Healthy and rolled out: only the registries to allow.
    let healthy = kube_proxy(
        PROXY_OK,
        vec![
            proxy_pod("kube-proxy-7xk2p", "node-a1", PROXY_OK, None),
            proxy_pod("kube-proxy-q9z4d", "node-a2", PROXY_OK, None),
        ],
    );
    assert_eq!(check("ADD003", "1.21", healthy.clone()), ["info cluster"]);
    assert_eq!(
        messages("ADD003", "1.21", healthy),
        [
            "the kube-system add-ons pull from 602401143452.dkr.ecr.eu-west-1.amazonaws.com: new nodes must reach these registries (egress firewall, proxy, VPC endpoints) for the upgrade"
        ]
    );
}

#[test]
fn add002_metrics_server_past_its_line() {
    let ms = |image: &str| {
        appended(
            DEPLOYMENTS,
            vec![addon(
                "Deployment",
                "metrics-server",
                &json!({"name": "metrics-server", "image": image}),
            )],
        )
    };
    // The 0.3 line is supported up to 1.21: the 1.21 → 1.22 step needs a newer line.
    let old = ms("k8s.gcr.io/metrics-server/metrics-server:v0.3.7");
    assert!(check("ADD002", "1.21", vec![old.clone()]).is_empty());
    assert_eq!(
        check("ADD002", "1.23", vec![old.clone()]),
        ["warning Deployment kube-system/metrics-server @1.22"]
    );
    let m = messages("ADD002", "1.22", vec![old]);
    assert!(
        m[0].contains("up to Kubernetes 1.21 only; move it to a release line that supports 1.22 before the 1.21 → 1.22 step"),
        "{m:?}"
    );
    assert!(
        check(
            "ADD002",
            "1.23",
            vec![ms("registry.k8s.io/metrics-server/metrics-server:v0.6.4")]
        )
        .is_empty()
    );
}
