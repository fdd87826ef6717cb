//! Workload placement and readiness checks (WL003, WL004) through `upcheck cluster` against
//! the recorded v1.20 server (a state that triggers each and one that does not), and offline
//! on the runbook fixture `replicas-readiness.yaml`.
#![allow(clippy::unwrap_used)] // tests fail loudly on purpose

use crate::common::readiness::{check, edited, rows, run};
use crate::common::{upcheck, workspace};
use serde_json::{Value, json};

/// The messages of `code`'s findings on `object`.
fn messages(code: &str, object: &str, replace: Vec<(String, Value)>) -> Vec<String> {
    let r = run(replace, &["-t", "1.21", "--select", code]);
    let report: Value =
        serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("{e}\n{}", r.transcript()));
    report["readiness"]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["code"] == code && f["object"] == object)
        .map(|f| f["message"].as_str().unwrap().to_owned())
        .collect()
}

/// The recorded Deployments and `StatefulSets` with `spec` merged into every pod template.
fn templates_with(spec: &Value) -> Vec<(String, Value)> {
    ["/apis/apps/v1/deployments", "/apis/apps/v1/statefulsets"]
        .into_iter()
        .map(|path| {
            edited(path, |w| {
                let template = &mut w["spec"]["template"]["spec"];
                for (k, v) in spec.as_object().unwrap() {
                    if k == "readinessProbe" {
                        for c in template["containers"].as_array_mut().unwrap() {
                            c[k] = v.clone();
                        }
                    } else {
                        template[k] = v.clone();
                    }
                }
                w["spec"]["minReadySeconds"] = json!(10);
                true
            })
        })
        .collect()
}

#[test]
fn wl003_unspread_templates_and_replicas_on_one_node() {
    // No recorded template spreads its replicas, though the pods landed on two nodes each.
    let recorded = [
        "info Deployment default/frontend",
        "info Deployment team-a/legacy-web",
        "info Deployment team-b/api",
        "info StatefulSet team-b/db",
    ];
    assert_eq!(check("WL003", "1.21", vec![]), recorded);
    // All three frontend replicas on node-a1.
    let together = edited("/api/v1/pods", |p| {
        if p["metadata"]["name"]
            .as_str()
            .unwrap()
            .starts_with("frontend-")
        {
            p["spec"]["nodeName"] = json!("node-a1");
        }
        true
    });
    let m = messages("WL003", "Deployment default/frontend", vec![together]);
    assert_eq!(m.len(), 1);
    assert!(
        m[0].contains("; all 3 running replicas are on node node-a1 (frontend-"),
        "{m:?}"
    );
    // Spread declared everywhere: the live placement is on several nodes, nothing left.
    let spread = templates_with(&json!({"topologySpreadConstraints": [{"maxSkew": 1,
        "topologyKey": "kubernetes.io/hostname", "whenUnsatisfiable": "ScheduleAnyway"}]}));
    assert!(check("WL003", "1.21", spread).is_empty());
}

#[test]
fn wl004_no_readiness_probe_behind_a_budget_or_service() {
    assert_eq!(
        check("WL004", "1.21", vec![]),
        [
            "info Deployment default/frontend",
            "info Deployment team-a/legacy-web",
            "info Deployment team-b/api",
            "info StatefulSet team-b/db",
        ]
    );
    let m = messages("WL004", "StatefulSet team-b/db", vec![]);
    assert_eq!(
        m,
        [
            "container postgres has no readinessProbe though 3 replicas sit behind PodDisruptionBudget db-pdb and Service db: each pod is Ready as soon as it starts, so drains move on and traffic arrives before it serves; minReadySeconds is unset with PodDisruptionBudget db-pdb: its rolling restarts move to the next member as soon as one is Ready"
        ]
    );
    // Probes everywhere and minReadySeconds set: nothing.
    let gated = templates_with(&json!({"readinessProbe": {"tcpSocket": {"port": 8080}}}));
    assert!(check("WL004", "1.21", gated).is_empty());
}

#[test]
fn wl003_wl004_offline() {
    let path = workspace().join("fixtures/manifests/runbooks/replicas-readiness.yaml");
    let args = |format: &'static str| {
        [
            "files",
            path.to_str().unwrap(),
            "--checks",
            "--current",
            "1.23",
            "-t",
            "1.24",
            "--select",
            "WL003,WL004",
            "-o",
            format,
        ]
        .map(str::to_owned)
    };
    let json_args = args("json");
    let r = upcheck(&json_args.iter().map(String::as_str).collect::<Vec<_>>());
    let got = rows(&r, "code", "object");
    assert_eq!(
        got,
        [
            "WL003 Deployment shop/checkout",
            "WL004 Deployment shop/checkout",
            "WL004 StatefulSet data/pg",
        ]
    );
    let text_args = args("text");
    insta::assert_snapshot!(
        "wl003_wl004_offline",
        upcheck(&text_args.iter().map(String::as_str).collect::<Vec<_>>()).transcript()
    );
}
