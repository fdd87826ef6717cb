//! Drain and runbook readiness cases (DRN007's drain estimate, NODE006's Docker socket
//! mounts) through `upcheck cluster` against the recorded v1.20 server, and offline through
//! `upcheck files --checks` on the runbook fixtures.
#![allow(clippy::unwrap_used)] // tests fail loudly on purpose

use crate::common::readiness::{check, edited, found, recorded, rows, run, with_groups};
use crate::common::{upcheck, workspace};
use serde_json::{Value, json};

/// A recorded list with `items` added.
fn appended(path: &str, items: Vec<Value>) -> (String, Value) {
    let mut list = recorded(path);
    list["items"].as_array_mut().unwrap().extend(items);
    (path.to_owned(), list)
}

/// The messages of `code`'s findings in a JSON report.
fn messages(stdout: &str, code: &str) -> Vec<String> {
    let report: Value = serde_json::from_str(stdout).unwrap_or_else(|e| panic!("{e}\n{stdout}"));
    report["readiness"]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["code"] == code)
        .map(|f| f["message"].as_str().unwrap().to_owned())
        .collect()
}

/// The seconds DRN007 estimates in `message` ("an estimated 1500 s").
fn estimate(message: &str) -> f64 {
    let rest = message.split("an estimated ").nth(1).unwrap();
    rest.split(' ').next().unwrap().parse().unwrap()
}

/// The `KServe` predictor of the EKS runbook, served live: 5 replicas on the `ml` node group
/// (node-a1, node-a2), grace 300, preStop `sleep 20`, a PDB with `maxUnavailable: 1`.
fn kserve_cluster() -> Vec<(String, Value)> {
    let labels =
        json!({"serving.kserve.io/inferenceservice": "sklearn-iris", "pod-template-hash": "5d8f7"});
    let pods = (0..5)
        .map(|i| {
            json!({"metadata": {"name": format!("sklearn-iris-predictor-5d8f7-{i}"), "namespace": "kserve-models",
                "labels": labels,
                "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "sklearn-iris-predictor-5d8f7",
                    "uid": "7b0e", "controller": true}]},
                "spec": {"nodeName": if i % 2 == 0 { "node-a1" } else { "node-a2" }, "terminationGracePeriodSeconds": 300,
                    "containers": [{"name": "kserve-container", "image": "kserve/sklearnserver:v0.11.0",
                        "lifecycle": {"preStop": {"exec": {"command": ["/bin/sh", "-c", "sleep 20"]}}}}]},
                "status": {"phase": "Running"}})
        })
        .collect();
    let pdb = json!({"metadata": {"name": "sklearn-iris", "namespace": "kserve-models"},
        "spec": {"maxUnavailable": 1, "selector": {"matchLabels": {"serving.kserve.io/inferenceservice": "sklearn-iris"}}},
        "status": {"disruptionsAllowed": 1, "currentHealthy": 5, "desiredHealthy": 4, "expectedPods": 5, "observedGeneration": 1}});
    let mut nodes = recorded("/api/v1/nodes");
    for n in nodes["items"].as_array_mut().unwrap() {
        if n["metadata"]["name"]
            .as_str()
            .unwrap()
            .starts_with("node-a")
        {
            n["metadata"]["labels"]["eks.amazonaws.com/nodegroup"] = json!("ml");
        }
    }
    vec![
        appended("/api/v1/pods", pods),
        appended("/apis/policy/v1beta1/poddisruptionbudgets", vec![pdb]),
        ("/api/v1/nodes".to_owned(), nodes),
    ]
}

#[test]
fn drn007_kserve_drain_estimate_live() {
    let r = run(kserve_cluster(), &["-t", "1.21", "--select", "DRN007"]);
    assert_eq!(
        found(&r, "DRN007"),
        ["warning Deployment kserve-models/sklearn-iris-predictor"]
    );
    let m = messages(&r.stdout, "DRN007");
    assert!(
        m[0].contains("in node pool ml")
            && m[0].contains("PodDisruptionBudget kserve-models/sklearn-iris allows 1 disruption at a time: 5 waves")
            && m[0].contains("over the budget of 900 s (the 15 minutes EKS managed node groups wait"),
        "{}",
        m[0]
    );
    // Within 10% of 5 x (grace + preStop) = 1600 s.
    let s = estimate(&m[0]);
    assert!((s - 1600.0).abs() <= 160.0, "{s}");
    // A pipeline allowing 30 minutes passes; the recorded cluster alone has nothing this slow.
    let roomy = run(
        kserve_cluster(),
        &["-t", "1.21", "--select", "DRN007", "--drain-budget", "1800"],
    );
    assert!(found(&roomy, "DRN007").is_empty());
    let plain = run(vec![], &["-t", "1.21", "--select", "DRN007"]);
    assert!(found(&plain, "DRN007").is_empty());
    // A scan limited to a namespace reads no nodes: DRN007 still runs, naming nodes, not pools.
    let scoped = run(
        kserve_cluster(),
        &[
            "-t",
            "1.21",
            "--select",
            "DRN007",
            "--namespace",
            "kserve-models",
        ],
    );
    let m = messages(&scoped.stdout, "DRN007");
    assert!(
        m.len() == 1 && m[0].contains("on node-a1, node-a2 take up to 300 s"),
        "{m:?}"
    );
}

/// `upcheck files --checks` over a runbook fixture, with extra arguments.
fn offline(fixture: &str, extra: &[&str]) -> crate::common::Run {
    let path = workspace()
        .join("fixtures/manifests/runbooks")
        .join(fixture);
    let mut args = vec![
        "files",
        path.to_str().unwrap(),
        "--checks",
        "--current",
        "1.23",
        "-t",
        "1.24",
    ];
    args.extend_from_slice(extra);
    upcheck(&args)
}

#[test]
fn drn007_kserve_drain_estimate_offline() {
    let r = offline(
        "kserve-slow-termination.yaml",
        &["--select", "DRN007", "-o", "json"],
    );
    let m = messages(&r.stdout, "DRN007");
    assert_eq!(m.len(), 1, "{}", r.transcript());
    assert!(
        m[0].starts_with("5 replicas take up to 300 s each"),
        "{}",
        m[0]
    );
    let s = estimate(&m[0]);
    assert!((s - 1600.0).abs() <= 160.0, "{s}");
    let roomy = offline(
        "kserve-slow-termination.yaml",
        &["--select", "DRN007", "-o", "json", "--drain-budget", "1500"],
    );
    assert!(
        messages(&roomy.stdout, "DRN007").is_empty(),
        "{}",
        roomy.stdout
    );
    insta::assert_snapshot!(
        "drn007_kserve_offline",
        offline("kserve-slow-termination.yaml", &["--select", "DRN007"]).transcript()
    );
}

#[test]
fn drain_budget_is_accepted_by_files_cluster_and_plan() {
    for cmd in ["files", "cluster", "plan"] {
        let help = upcheck(&[cmd, "--help"]).stdout;
        assert!(help.contains("--drain-budget <SECONDS>"), "{cmd}: {help}");
    }
    let zero = offline("kserve-slow-termination.yaml", &["--drain-budget", "0"]);
    assert_eq!(zero.code, 1, "{}", zero.transcript());
    assert!(
        zero.stderr
            .contains("invalid value '0' for '--drain-budget <SECONDS>'")
    );
}

/// The recorded `node-exporter` `DaemonSet` and its pods mounting `path` from the node.
fn node_exporter_mounting(path: &str) -> Vec<(String, Value)> {
    let volume = json!({"name": "docker", "hostPath": {"path": path}});
    let ds = crate::common::readiness::edited("/apis/apps/v1/daemonsets", |d| {
        d["spec"]["template"]["spec"]["volumes"]
            .as_array_mut()
            .unwrap()
            .push(volume.clone());
        true
    });
    let pods = crate::common::readiness::edited("/api/v1/pods", |p| {
        if p["metadata"]["labels"]["app"] == "node-exporter" {
            p["spec"]["volumes"]
                .as_array_mut()
                .unwrap()
                .push(volume.clone());
        }
        true
    });
    vec![ds, pods]
}

#[test]
fn node006_docker_socket_live() {
    // Two of the recorded nodes already run containerd: reported before any 1.24 hop.
    let r = run(
        node_exporter_mounting("/var/run/docker.sock"),
        &["-t", "1.21", "--select", "NODE006"],
    );
    assert_eq!(
        found(&r, "NODE006"),
        ["warning DaemonSet monitoring/node-exporter"]
    );
    let m = messages(&r.stdout, "NODE006");
    assert!(
        m[0].starts_with("mounts /var/run/docker.sock from the node (4 pods on node-a1, node-a2, node-b1, node-b2): 2 nodes already run containerd (node-a2, node-b1)"),
        "{}",
        m[0]
    );
    // At the dockershim hop it is tied to that hop.
    let at = run(
        node_exporter_mounting("/var/run/dockershim.sock"),
        &["-t", "1.24", "--select", "NODE006"],
    );
    assert_eq!(
        found(&at, "NODE006"),
        ["warning DaemonSet monitoring/node-exporter @1.24"]
    );
    // The recorded cluster mounts only /proc.
    let plain = run(vec![], &["-t", "1.24", "--select", "NODE006"]);
    assert!(found(&plain, "NODE006").is_empty());
}

#[test]
fn node006_docker_socket_offline() {
    let r = offline(
        "telegraf-docker-sock.yaml",
        &["--select", "NODE006", "-o", "json"],
    );
    assert_eq!(
        messages(&r.stdout, "NODE006").len(),
        1,
        "{}",
        r.transcript()
    );
    // Before the hop that removes dockershim, with no nodes to say otherwise: nothing yet.
    let path = workspace().join("fixtures/manifests/runbooks/telegraf-docker-sock.yaml");
    let early = upcheck(&[
        "files",
        path.to_str().unwrap(),
        "--checks",
        "--current",
        "1.21",
        "-t",
        "1.22",
        "--select",
        "NODE006",
        "-o",
        "json",
    ]);
    assert!(
        messages(&early.stdout, "NODE006").is_empty(),
        "{}",
        early.stdout
    );
    insta::assert_snapshot!(
        "explain_node006",
        upcheck(&["explain", "NODE006"]).transcript()
    );
    insta::assert_snapshot!(
        "node006_telegraf_offline",
        offline("telegraf-docker-sock.yaml", &["--select", "NODE006"]).transcript()
    );
}

/// The recorded server with Flux's and Argo CD's groups served and `objects` in them
/// (`(collection path, items)`).
fn gitops_cluster(objects: Vec<(&str, Vec<Value>)>) -> Vec<(String, Value)> {
    with_groups(
        &[
            (
                "kustomize.toolkit.fluxcd.io",
                "v1",
                &[("kustomizations", "Kustomization")],
            ),
            (
                "helm.toolkit.fluxcd.io",
                "v2beta1",
                &[("helmreleases", "HelmRelease")],
            ),
            (
                "argoproj.io",
                "v1alpha1",
                &[
                    ("applications", "Application"),
                    ("applicationsets", "ApplicationSet"),
                ],
            ),
        ],
        objects,
    )
}

const FLUX_KS: &str = "/apis/kustomize.toolkit.fluxcd.io/v1/kustomizations";
const ARGO_APPS: &str = "/apis/argoproj.io/v1alpha1/applications";

#[test]
fn hlt004_gitops_reconcilers_live() {
    let aws_node = json!({"apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
        "metadata": {"name": "aws-node", "namespace": "flux-system"},
        "spec": {"interval": "10m", "path": "./clusters/prod/kube-system/aws-node"}});
    let coredns = json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
        "metadata": {"name": "coredns", "namespace": "argocd"},
        "spec": {"destination": {"namespace": "kube-system"}, "syncPolicy": {"automated": {"selfHeal": true}}}});
    let r = run(
        gitops_cluster(vec![
            (FLUX_KS, vec![aws_node.clone()]),
            (ARGO_APPS, vec![coredns]),
        ]),
        &["-t", "1.21", "--select", "HLT004"],
    );
    assert_eq!(
        found(&r, "HLT004"),
        [
            "info Application argocd/coredns",
            "info Kustomization flux-system/aws-node"
        ]
    );
    let m = messages(&r.stdout, "HLT004");
    assert!(
        m.iter()
            .any(|m| m.contains("`flux suspend kustomization aws-node -n flux-system`")),
        "{m:?}"
    );
    assert!(
        m.iter()
            .any(|m| m.contains("`argocd app set coredns --sync-policy none`")),
        "{m:?}"
    );
    // Suspended, nothing automated: nothing to say.
    let mut paused = aws_node;
    paused["spec"]["suspend"] = json!(true);
    let quiet = run(
        gitops_cluster(vec![(FLUX_KS, vec![paused])]),
        &["-t", "1.21", "--select", "HLT004"],
    );
    assert!(found(&quiet, "HLT004").is_empty());
    // No Flux or Argo CD at all (the recording): the check runs and finds none.
    let none = run(vec![], &["-t", "1.21", "--select", "HLT004"]);
    assert!(found(&none, "HLT004").is_empty());
    // Exit 3 is the recording's removed APIs; 1 would be an incomplete scan.
    assert_eq!(none.code, 3, "{}", none.transcript());
}

#[test]
fn hlt004_forbidden_or_missing_lists_are_not_run_not_errors() {
    for (forbidden, not_found) in [(true, false), (false, true)] {
        let set = |on: bool| {
            if on {
                [FLUX_KS.to_owned()].into_iter().collect()
            } else {
                std::collections::BTreeSet::new()
            }
        };
        let server = upcheck_test_server::Server::recorded(
            &crate::common::readiness::fixture(),
            upcheck_test_server::Scenario {
                replace: gitops_cluster(vec![]).into_iter().collect(),
                forbidden: set(forbidden),
                not_found: set(not_found),
                ..upcheck_test_server::Scenario::default()
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
            "HLT004",
        ]);
        let report: Value =
            serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("{e}\n{}", r.transcript()));
        let not_run = &report["readiness"]["not_run"];
        assert_eq!(not_run[0]["code"], "HLT004", "{not_run}");
        assert!(
            not_run[0]["reason"]
                .as_str()
                .unwrap()
                .contains("kustomizations.kustomize.toolkit.fluxcd.io"),
            "{not_run}"
        );
        assert!(
            report["errors"].as_array().is_none_or(Vec::is_empty),
            "{}",
            report["errors"]
        );
        // Exit 3 is the recording's removed APIs; 1 would be an incomplete scan.
        assert_eq!(r.code, 3, "{}", r.transcript());
    }
}

#[test]
fn hlt004_gitops_reconcilers_offline() {
    let r = offline(
        "flux-owns-addons.yaml",
        &["--select", "HLT004", "-o", "json"],
    );
    assert_eq!(messages(&r.stdout, "HLT004").len(), 3, "{}", r.transcript());
    insta::assert_snapshot!(
        "explain_hlt004",
        upcheck(&["explain", "HLT004"]).transcript()
    );
    insta::assert_snapshot!(
        "explain_drn007",
        upcheck(&["explain", "DRN007"]).transcript()
    );
    insta::assert_snapshot!(
        "hlt004_flux_offline",
        offline("flux-owns-addons.yaml", &["--select", "HLT004"]).transcript()
    );
}

#[test]
fn drn006_daemonset_pods_and_orphans() {
    use crate::common::readiness::{check, edited};
    // The recorded node-exporter: the --ignore-daemonsets note only.
    assert_eq!(check("DRN006", "1.21", vec![]), ["info cluster"]);
    // Its DaemonSet deleted with --cascade=orphan: the pods remain, the drain stops on them.
    let gone = edited("/apis/apps/v1/daemonsets", |_| false);
    assert_eq!(
        check("DRN006", "1.21", vec![gone.clone()]),
        ["warning DaemonSet monitoring/node-exporter"]
    );
    // No DaemonSet and none of its pods: nothing.
    let no_pods = edited("/api/v1/pods", |p| {
        p["metadata"]["labels"]["app"] != "node-exporter"
    });
    assert!(check("DRN006", "1.21", vec![gone, no_pods]).is_empty());
}

#[test]
fn drn009_tolerating_every_taint() {
    use crate::common::readiness::{check, edited};
    assert!(check("DRN009", "1.21", vec![]).is_empty());
    let everything = edited("/api/v1/pods", |p| {
        if p["metadata"]["labels"]["app"] == "api"
            || p["metadata"]["labels"]["app"] == "node-exporter"
        {
            p["spec"]["tolerations"] = json!([{"operator": "Exists"}]);
        }
        true
    });
    // node-exporter is a DaemonSet: meant to tolerate everything.
    assert_eq!(
        check("DRN009", "1.21", vec![everything]),
        ["warning Deployment team-b/api"]
    );
}

#[test]
fn wl002_missing_and_empty_budgets() {
    use crate::common::readiness::{check, edited};
    assert_eq!(
        check("WL002", "1.21", vec![]),
        ["info Deployment team-b/api"]
    );
    let api_pdb = json!({"metadata": {"name": "api", "namespace": "team-b"},
        "spec": {"maxUnavailable": 1, "selector": {"matchLabels": {"app": "api"}}}});
    let covered = appended("/apis/policy/v1beta1/poddisruptionbudgets", vec![api_pdb]);
    assert!(check("WL002", "1.21", vec![covered]).is_empty());
    let emptied = edited("/apis/policy/v1beta1/poddisruptionbudgets", |p| {
        if let Some(spec) = p["spec"].as_object_mut() {
            spec.remove("minAvailable");
            spec.remove("maxUnavailable");
        }
        true
    });
    let f = check("WL002", "1.21", vec![emptied]);
    assert!(
        f.iter()
            .any(|x| x == "info PodDisruptionBudget default/frontend-pdb"),
        "{f:?}"
    );
}

#[test]
fn wl005_statefulset_grace_zero() {
    use crate::common::readiness::{check, edited};
    assert!(check("WL005", "1.21", vec![]).is_empty());
    let zero = edited("/apis/apps/v1/statefulsets", |s| {
        s["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] = json!(0);
        true
    });
    assert_eq!(
        check("WL005", "1.21", vec![zero]),
        ["warning StatefulSet team-b/db"]
    );
}

#[test]
fn workload_hygiene_offline() {
    let r = offline(
        "workload-hygiene.yaml",
        &["--select", "DRN006,DRN009,WL002,WL005", "-o", "json"],
    );
    let got = rows(&r, "code", "object");
    assert_eq!(
        got,
        [
            "DRN006 cluster",
            "DRN009 Deployment ci/runner",
            "WL002 Deployment ci/runner",
            "WL002 PodDisruptionBudget data/old-kafka",
            "WL005 StatefulSet data/kafka",
        ]
    );
    insta::assert_snapshot!(
        "workload_hygiene_offline",
        offline(
            "workload-hygiene.yaml",
            &["--select", "DRN006,DRN009,WL002,WL005"]
        )
        .transcript()
    );
}

/// The recorded cluster with node-a1 alone in pool `mongodb` and the `team-b/db` pods
/// requiring that pool (the AKS runbook's database pool); `also` labels node-a2 too and lifts
/// its recorded `not-ready` taint, so the pods have somewhere to go.
fn mongodb_pool(also: bool) -> Vec<(String, Value)> {
    use crate::common::readiness::edited;
    let nodes = edited("/api/v1/nodes", |n| {
        let name = n["metadata"]["name"].as_str().unwrap().to_owned();
        if name == "node-a1" || (also && name == "node-a2") {
            n["metadata"]["labels"]["pool"] = json!("mongodb");
        }
        if also && name == "node-a2" {
            n["spec"]["taints"] = json!([]);
        }
        true
    });
    let pods = edited("/api/v1/pods", |p| {
        if p["metadata"]["labels"]["app"] == "db" {
            p["spec"]["nodeSelector"] = json!({"pool": "mongodb"});
            p["spec"]["nodeName"] = json!("node-a1");
        }
        true
    });
    vec![nodes, pods]
}

#[test]
fn drn011_pods_with_nowhere_to_go() {
    use crate::common::readiness::check;
    assert!(check("DRN011", "1.21", vec![]).is_empty());
    assert_eq!(
        check("DRN011", "1.21", mongodb_pool(false)),
        ["warning StatefulSet team-b/db"]
    );
    assert!(check("DRN011", "1.21", mongodb_pool(true)).is_empty());
}

#[test]
fn drn011_is_not_run_on_manifests() {
    let r = offline(
        "workload-hygiene.yaml",
        &["--select", "DRN011", "-o", "json"],
    );
    let report: Value =
        serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("{e}\n{}", r.transcript()));
    let not_run = &report["readiness"]["not_run"][0];
    assert_eq!(not_run["code"], "DRN011", "{not_run}");
    assert!(
        not_run["reason"]
            .as_str()
            .unwrap()
            .contains("needs live cluster state"),
        "{not_run}"
    );
}

#[test]
fn plan_pauses_reconcilers_before_the_first_hop() {
    let path = workspace().join("fixtures/manifests/runbooks/flux-owns-addons.yaml");
    let r = upcheck(&[
        "plan",
        "-t",
        "1.24",
        "--current",
        "1.23",
        path.to_str().unwrap(),
        "--drain-budget",
        "1200",
    ]);
    let before: String = r
        .stdout
        .lines()
        .skip_while(|l| !l.starts_with("Before"))
        .take_while(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        before.contains("[info] HLT004 Kustomization flux-system/aws-node: Flux reconciles it")
            && before.contains("`flux suspend kustomization aws-node -n flux-system`"),
        "{}",
        r.transcript()
    );
}

#[test]
fn drn010_pods_stuck_terminating() {
    // The recording deletes nothing.
    assert!(check("DRN010", "1.21", vec![]).is_empty());
    let victim = recorded("/api/v1/pods")["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["spec"]["nodeName"].is_string())
        .map(|p| p["metadata"]["name"].clone())
        .unwrap();
    let stuck = edited("/api/v1/pods", |p| {
        if p["metadata"]["name"] == victim {
            p["metadata"]["deletionTimestamp"] = json!("2020-06-01T10:00:00Z");
            p["metadata"]["deletionGracePeriodSeconds"] = json!(30);
            p["metadata"]["finalizers"] = json!(["example.com/backup-hook"]);
        }
        true
    });
    let found = check("DRN010", "1.21", vec![stuck]);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].starts_with("warning Pod "), "{found:?}");
}

/// The recorded nodes without their `not-ready` taint, node-a2 with `cpu` allocatable.
fn untainted_nodes(cpu: &'static str) -> (String, Value) {
    edited("/api/v1/nodes", move |n| {
        n["spec"]["taints"] = json!([]);
        if n["metadata"]["name"] == "node-a2" {
            n["status"]["allocatable"]["cpu"] = json!(cpu);
        }
        true
    })
}

#[test]
fn cap003_no_room_for_a_drained_nodes_pods() {
    // The recording's nodes all carry a NoSchedule taint no pod tolerates: no node takes them
    // at any size, which is DRN011's finding, not a lack of room.
    assert!(check("CAP003", "1.21", vec![]).is_empty());
    // Untainted, node-a2 has 150m CPU of which its own legacy-web replica takes 100m: node-a1's
    // replica (100m) has no room (node-b1 is not Ready, node-b2 is cordoned).
    let r = run(
        vec![untainted_nodes("150m")],
        &["-t", "1.21", "--select", "CAP003"],
    );
    assert_eq!(
        found(&r, "CAP003"),
        ["warning Node node-a1"],
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("leaves 1 pod(s) with nowhere to run (0.05 CPU and 14.4 GiB left on the 1 other Ready, schedulable node(s)")
            && r.stdout.contains("team-a/legacy-web-7d4b9c8f6d-x2kqp"),
        "{}",
        r.stdout
    );
    // With the recorded 3920m, the pods fit.
    assert!(check("CAP003", "1.21", vec![untainted_nodes("3920m")]).is_empty());
}
