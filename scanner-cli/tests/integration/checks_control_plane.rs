//! SKEW005, DRN007, API003, NODE004, NODE005, ADD004, SKEW004, INF003, SNAP002, HLT003 (`/readyz`) and API001 (`/metrics`) through `upcheck cluster`, against the recorded v1.20 server: for
//! each, the recorded lists (which trigger none of them) and the same lists edited so that they
//! do, served by the same loopback server.
#![allow(clippy::unwrap_used)] // tests fail loudly on purpose

use crate::common::readiness::{check, edited, found, recorded, run, run_in};
use crate::common::{upcheck, workspace};
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

/// The recorded `ConfigMaps` plus kube-system ones named `name` with `key: text`.
fn config_maps_with(extra: &[(&str, &str, &str)]) -> (String, Value) {
    let mut list = recorded("/api/v1/configmaps");
    for (name, key, text) in extra {
        list["items"].as_array_mut().unwrap().push(json!({
            "metadata": {"name": name, "namespace": "kube-system"},
            "data": {*key: text}
        }));
    }
    ("/api/v1/configmaps".to_owned(), list)
}

#[test]
fn node005_kube_proxy_ipvs_mode() {
    // The recording has no kube-proxy configuration: nothing, at any target.
    assert!(check("NODE005", "1.35", vec![]).is_empty());
    let ipvs = || {
        config_maps_with(&[(
            "kube-proxy",
            "config.conf",
            "kind: KubeProxyConfiguration\nmode: ipvs\n",
        )])
    };
    assert_eq!(
        check("NODE005", "1.35", vec![ipvs()]),
        ["warning ConfigMap kube-system/kube-proxy @1.35"]
    );
    // Before the deprecation: nothing yet.
    assert!(check("NODE005", "1.34", vec![ipvs()]).is_empty());
    // EKS's configuration, and another namespace's kube-proxy ConfigMap that is not read.
    let mut eks = config_maps_with(&[(
        "kube-proxy-config",
        "config",
        "kind: KubeProxyConfiguration\nmode: \"ipvs\"\n",
    )]);
    eks.1["items"].as_array_mut().unwrap().push(json!({
        "metadata": {"name": "kube-proxy", "namespace": "default"},
        "data": {"config.conf": "mode: ipvs"}
    }));
    assert_eq!(
        check("NODE005", "1.36", vec![eks]),
        ["warning ConfigMap kube-system/kube-proxy-config @1.35"]
    );
}

#[test]
fn configmaps_forbidden_make_only_their_checks_not_run() {
    let server = upcheck_test_server::Server::recorded(
        &crate::common::readiness::fixture(),
        upcheck_test_server::Scenario {
            forbidden: ["/api/v1/namespaces/kube-system/configmaps".to_owned()].into(),
            ..upcheck_test_server::Scenario::default()
        },
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = server.kubeconfig(dir.path()).unwrap();
    let r = crate::common::upcheck(&[
        "cluster",
        "--kubeconfig",
        kubeconfig.to_str().unwrap(),
        "--no-helm",
        "-o",
        "json",
        "-t",
        "1.35",
        "--select",
        "NODE005,ADD004,SKEW004",
    ]);
    assert_eq!(r.code, 1, "{}", r.transcript());
    let report: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(report["readiness"]["ran"], json!(["SKEW004"]));
    let not_run = report["readiness"]["not_run"].as_array().unwrap();
    assert_eq!(not_run.len(), 2, "{not_run:?}");
    assert!(
        not_run
            .iter()
            .all(|n| n["reason"].as_str().unwrap().starts_with("configmaps:")),
        "{not_run:?}"
    );
}

#[test]
fn add004_corefile_and_dns_pdbs() {
    let current = ".:53 {\n    errors\n    health\n    ready\n    kubernetes cluster.local in-addr.arpa ip6.arpa {\n       pods insecure\n       fallthrough in-addr.arpa ip6.arpa\n    }\n    forward . /etc/resolv.conf\n    cache 30\n}\n";
    assert!(
        check(
            "ADD004",
            "1.22",
            vec![config_maps_with(&[("coredns", "Corefile", current)])]
        )
        .is_empty()
    );
    let old = ".:53 {\n    errors\n    kubernetes cluster.local {\n       upstream\n    }\n    proxy . /etc/resolv.conf\n}\n";
    assert_eq!(
        check(
            "ADD004",
            "1.22",
            vec![config_maps_with(&[("coredns", "Corefile", old)])]
        ),
        [
            "warning ConfigMap kube-system/coredns @1.21",
            "warning ConfigMap kube-system/coredns @1.21",
            "warning ConfigMap kube-system/coredns @1.21",
        ]
    );
    // A PDB of the user's over the DNS pods, beside the add-on's own (not reported).
    let mut pdbs = recorded("/apis/policy/v1beta1/poddisruptionbudgets");
    for name in ["coredns", "dns-guard"] {
        pdbs["items"].as_array_mut().unwrap().push(json!({
            "metadata": {"name": name, "namespace": "kube-system"},
            "spec": {"minAvailable": 1, "selector": {"matchLabels": {"k8s-app": "kube-dns"}}}
        }));
    }
    assert_eq!(
        check(
            "ADD004",
            "1.22",
            vec![
                config_maps_with(&[("coredns", "Corefile", current)]),
                ("/apis/policy/v1beta1/poddisruptionbudgets".to_owned(), pdbs)
            ]
        ),
        ["warning PodDisruptionBudget kube-system/dns-guard @1.21"]
    );
}

#[test]
fn skew004_apiserver_spread() {
    assert!(check("SKEW004", "1.22", vec![]).is_empty());
    let apiserver = |node: &str, tag: &str| {
        let mut p = mirror("kube-apiserver", tag, &["kube-apiserver"]);
        p["metadata"]["name"] = json!(format!("kube-apiserver-{node}"));
        p
    };
    let apart = pods_with(vec![
        apiserver("cp1", "v1.20.2"),
        apiserver("cp2", "v1.18.20"),
    ]);
    assert_eq!(
        check("SKEW004", "1.22", vec![apart]),
        ["blocker control plane"]
    );
    let rolling = pods_with(vec![
        apiserver("cp1", "v1.20.2"),
        apiserver("cp2", "v1.19.16"),
    ]);
    assert_eq!(
        check("SKEW004", "1.22", vec![rolling]),
        ["info control plane"]
    );
    let together = pods_with(vec![
        apiserver("cp1", "v1.20.2"),
        apiserver("cp2", "v1.20.4"),
    ]);
    assert!(check("SKEW004", "1.22", vec![together]).is_empty());
}

#[test]
fn inf003_fargate_owners_to_restart() {
    // The recording has no Fargate nodes.
    assert!(check("INF003", "1.21", vec![]).is_empty());
    let mut nodes = recorded("/api/v1/nodes");
    nodes["items"].as_array_mut().unwrap().push(json!({
        "metadata": {"name": "fargate-ip-10-0-9-9.ec2.internal",
            "labels": {"eks.amazonaws.com/compute-type": "fargate"}},
        "status": {"nodeInfo": {"kubeletVersion": "v1.20.4-eks-6b7464"},
            "conditions": [{"type": "Ready", "status": "True"}]}
    }));
    let coredns = json!({
        "metadata": {"name": "coredns-6d5f7c-x1", "namespace": "kube-system",
            "labels": {"k8s-app": "kube-dns", "pod-template-hash": "6d5f7c"},
            "ownerReferences": [{"kind": "ReplicaSet", "name": "coredns-6d5f7c", "controller": true}]},
        "spec": {"nodeName": "fargate-ip-10-0-9-9.ec2.internal",
            "containers": [{"name": "coredns", "image": "coredns:1.8.0"}]},
        "status": {"phase": "Running"}
    });
    let replace = || {
        vec![
            ("/api/v1/nodes".to_owned(), nodes.clone()),
            pods_with(vec![coredns.clone()]),
        ]
    };
    assert_eq!(
        check("INF003", "1.21", replace()),
        ["warning Deployment kube-system/coredns"]
    );
    // At the target already: nothing to restart.
    assert!(check("INF003", "1.20", replace()).is_empty());
}

#[test]
fn snap002_backups_before_the_first_hop() {
    // The recording: a managed control plane, and one StatefulSet with a claim (team-b/db).
    assert_eq!(check("SNAP002", "1.21", vec![]), ["info StatefulSets"]);
    let etcd = pods_with(vec![mirror(
        "etcd",
        "3.4.13-0",
        &["etcd", "--data-dir=/var/lib/etcd"],
    )]);
    let r = run(vec![etcd], &["-t", "1.22", "--select", "SNAP002"]);
    assert_eq!(
        found(&r, "SNAP002"),
        ["warning etcd", "info StatefulSets", "info etcd @1.22"]
    );
    assert!(r.stdout.contains("data dir /var/lib/etcd"), "{}", r.stdout);
}

#[test]
fn control_plane_checks_offline_from_a_kube_system_backup() {
    let path =
        crate::common::workspace().join("fixtures/manifests/runbooks/kubeadm-control-plane.yaml");
    let r = crate::common::upcheck(&[
        "files",
        path.to_str().unwrap(),
        "--checks",
        "--current",
        "1.31",
        "-t",
        "1.35",
        "--select",
        "NODE005,ADD004,SKEW004,SNAP002",
        "-o",
        "json",
    ]);
    let report: Value =
        serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("{e}\n{}", r.transcript()));
    let got: Vec<String> = report["readiness"]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            format!(
                "{} {} {}{}",
                f["code"].as_str().unwrap(),
                f["severity"].as_str().unwrap(),
                f["object"].as_str().unwrap(),
                f["hop"]
                    .as_str()
                    .map_or_else(String::new, |h| format!(" @{h}"))
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            "SKEW004 blocker control plane",
            "ADD004 warning ConfigMap kube-system/coredns @1.32",
            "ADD004 warning ConfigMap kube-system/coredns @1.32",
            "NODE005 warning ConfigMap kube-system/kube-proxy @1.35",
            "SNAP002 warning etcd",
            "SNAP002 info StatefulSets",
            "SNAP002 info etcd @1.34",
        ],
        "{}",
        r.transcript()
    );
    assert!(r.stdout.contains("data dir /var/lib/etcd"), "{}", r.stdout);
}

#[test]
fn a_scan_limited_to_a_namespace_reads_kube_system_config_maps_only_there() {
    let ipvs = config_maps_with(&[(
        "kube-proxy",
        "config.conf",
        "kind: KubeProxyConfiguration\nmode: ipvs\n",
    )]);
    // Limited to kube-system: the ConfigMaps are read there.
    let there = run(
        vec![ipvs.clone()],
        &[
            "-t",
            "1.35",
            "--select",
            "NODE005",
            "--namespace",
            "kube-system",
        ],
    );
    assert_eq!(
        found(&there, "NODE005"),
        ["warning ConfigMap kube-system/kube-proxy @1.35"]
    );
    // Limited to another namespace: not read, and the check says why.
    let elsewhere = run(
        vec![ipvs],
        &["-t", "1.35", "--select", "NODE005", "--namespace", "team-b"],
    );
    let report: Value = serde_json::from_str(&elsewhere.stdout).unwrap();
    let reason = report["readiness"]["not_run"][0]["reason"]
        .as_str()
        .unwrap();
    assert!(
        reason.contains("kept in namespace kube-system") && reason.contains("team-b"),
        "{reason}"
    );
}

#[test]
fn inf004_aws_auth_lock_out() {
    // No aws-auth in the recording: not an EKS cluster, nothing to judge.
    assert!(check("INF004", "1.21", vec![]).is_empty());
    let broken = config_maps_with(&[(
        "aws-auth",
        "mapRoles",
        "- rolearn: arn:aws:iam::1:role/admin\n  groups: [system:masters\n",
    )]);
    assert_eq!(
        check("INF004", "1.21", vec![broken]),
        ["blocker ConfigMap kube-system/aws-auth"]
    );
    let two_admins = config_maps_with(&[(
        "aws-auth",
        "mapRoles",
        "- rolearn: arn:aws:iam::1:role/admin\n  groups: [system:masters]\n- rolearn: arn:aws:iam::1:role/breakglass\n  groups: [system:masters]\n",
    )]);
    assert!(check("INF004", "1.21", vec![two_admins]).is_empty());
}

#[test]
fn inf004_sso_role_path_offline() {
    let path = workspace().join("fixtures/manifests/runbooks/eks-aws-auth.yaml");
    let r = upcheck(&[
        "files",
        path.to_str().unwrap(),
        "--checks",
        "--current",
        "1.30",
        "-t",
        "1.31",
        "--select",
        "INF004",
        "-o",
        "json",
    ]);
    let report: Value =
        serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("{e}\n{}", r.transcript()));
    let messages: Vec<&str> = report["readiness"]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["message"].as_str().unwrap())
        .collect();
    assert_eq!(
        messages,
        [
            "mapRoles maps arn:aws:iam::111122223333:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Admin_0123456789abcdef with its IAM path aws-reserved/sso.amazonaws.com/: EKS matches role ARNs without a path, so this mapping grants nothing; write arn:aws:iam::111122223333:role/AWSReservedSSO_Admin_0123456789abcdef",
            "only arn:aws:iam::111122223333:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Admin_0123456789abcdef is mapped to system:masters: map a second administrator (or an EKS access entry with cluster admin) so the upgrade cannot lock everyone out",
        ],
        "{}",
        r.transcript()
    );
}

/// The `not_run` reason of `code`, when it did not run.
fn not_run_reason(run: &crate::common::Run, code: &str) -> Option<String> {
    let report: Value =
        serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}\n{}", run.transcript()));
    report["readiness"]["not_run"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["code"] == code)
        .map(|n| n["reason"].as_str().unwrap().to_owned())
}

#[test]
fn hlt003_reads_the_api_servers_own_readiness_checks() {
    use upcheck_test_server::{Fault, Scenario};
    // The recorded server's /readyz?verbose passes every check.
    assert!(check("HLT003", "1.21", vec![]).is_empty());
    // One failing check: the server answers 500 with the list, which is read, not retried away.
    let failing = Scenario {
        failing: [(
            "/readyz".to_owned(),
            Fault::Text(
                500,
                "[+]ping ok\n[+]log ok\n[-]etcd failed: reason withheld\nreadyz check failed\n"
                    .to_owned(),
            ),
        )]
        .into(),
        ..Scenario::default()
    };
    let r = run_in(failing, &["-t", "1.21", "--select", "HLT003"]);
    assert_eq!(found(&r, "HLT003"), ["blocker kube-apiserver /readyz"]);
    assert!(
        r.stdout
            .contains("1 readiness check(s) failing: etcd (reason withheld)"),
        "{}",
        r.stdout
    );
    // Forbidden: not run, with the reason.
    let forbidden = Scenario {
        forbidden: ["/readyz".to_owned()].into(),
        ..Scenario::default()
    };
    let r = run_in(forbidden, &["-t", "1.21", "--select", "HLT003"]);
    assert_eq!(r.code, 1, "{}", r.transcript());
    let reason = not_run_reason(&r, "HLT003").unwrap();
    assert!(reason.starts_with("GET /readyz: forbidden"), "{reason}");
}

#[test]
fn api001_clients_of_removed_apis_from_the_metric() {
    use upcheck_test_server::Scenario;
    // The recorded metric: clients of flowcontrol v1alpha1 (gone in 1.21) and of the v1beta1
    // APIs 1.22 removes.
    let to_1_21 = check("API001", "1.21", vec![]);
    assert!(
        to_1_21.contains(
            &"blocker flowcontrol.apiserver.k8s.io/v1alpha1 flowschemas @1.21".to_owned()
        ),
        "{to_1_21:?}"
    );
    assert!(
        to_1_21.contains(&"info extensions/v1beta1 ingresses".to_owned()),
        "removed after the target: {to_1_21:?}"
    );
    let to_1_22 = check("API001", "1.22", vec![]);
    assert!(
        to_1_22.contains(&"blocker extensions/v1beta1 ingresses @1.22".to_owned()),
        "{to_1_22:?}"
    );
    // No /metrics: not run, never a pass.
    let forbidden = Scenario {
        forbidden: ["/metrics".to_owned()].into(),
        ..Scenario::default()
    };
    let r = run_in(forbidden, &["-t", "1.22", "--select", "API001"]);
    let reason = not_run_reason(&r, "API001").unwrap();
    assert!(reason.starts_with("GET /metrics: forbidden"), "{reason}");
}
