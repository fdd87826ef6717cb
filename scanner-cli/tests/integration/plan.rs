//! `upcheck plan`: offline and against the recorded v1.20 server, every format, the worked
//! examples of the readiness guide through the command line, and the refusals.
#![allow(clippy::unwrap_used)] // tests fail loudly on purpose

use std::path::Path;

use crate::common::{Run, upcheck_with, workspace};
use serde_json::Value;
use upcheck_test_server::{Scenario, Server};

/// Runs upcheck from the workspace root on a fixed day, so support warnings do not change.
fn plan(args: &[&str]) -> Run {
    let mut all = vec!["plan"];
    all.extend_from_slice(args);
    upcheck_with(
        &workspace(),
        &all,
        None,
        &[("UPCHECK_TODAY", Path::new("2026-12-01"))],
    )
}

fn json(run: &Run) -> Value {
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}\n{}", run.transcript()))
}

/// (hop, pool, from, to) of every node roll, the final alignment as hop "after".
fn rolls(plan: &Value) -> Vec<String> {
    let mut out = Vec::new();
    for h in plan["hops"].as_array().unwrap() {
        for r in h["node_rolls"].as_array().unwrap() {
            out.push(format!(
                "before {}: {} {} → {}",
                h["to"].as_str().unwrap(),
                r["pool"].as_str().unwrap(),
                r["from"].as_str().unwrap(),
                r["to"].as_str().unwrap()
            ));
        }
    }
    for r in plan["after_rolls"].as_array().unwrap() {
        out.push(format!(
            "after: {} {} → {}",
            r["pool"].as_str().unwrap(),
            r["from"].as_str().unwrap(),
            r["to"].as_str().unwrap()
        ));
    }
    out
}

#[test]
fn offline_playbook_markdown() {
    let run = plan(&[
        "-t",
        "1.33",
        "--current",
        "1.29",
        "--nodes",
        "1.27",
        "--kubectl-version",
        "1.29",
        "fixtures/examples",
        "-o",
        "markdown",
    ]);
    assert_eq!(run.code, 3, "{}", run.transcript());
    insta::assert_snapshot!(run.transcript());
}

/// Every code the plan emits, offline and live, is in the one registry: `upcheck explain`
/// answers for each (SKEW004 used to be emitted without being declared).
#[test]
fn every_code_the_plan_emits_is_registered() {
    let offline = plan(&[
        "-t",
        "1.33",
        "--current",
        "1.29",
        "--nodes",
        "1.27",
        "--kubectl-version",
        "1.29",
        "fixtures/examples",
        "-o",
        "json",
    ]);
    let apart = plan(&["-t", "1.33", "--current", "1.33,1.31", "-o", "json"]);
    let mut seen = 0;
    for run in [&offline, &apart] {
        seen += crate::common::assert_codes_registered(&json(run));
    }
    assert!(seen >= 5, "the plans carried only {seen} codes");
    for code in ["SKEW004", "SKEW006", "DEP001"] {
        assert!(
            offline.stdout.contains(code) || apart.stdout.contains(code),
            "{code} not emitted"
        );
        let explained = crate::common::upcheck(&["explain", code]);
        assert_eq!(explained.code, 0, "{}", explained.transcript());
    }
}

#[test]
fn offline_text() {
    let run = plan(&[
        "-t",
        "1.26",
        "--current",
        "1.24",
        "--nodes",
        "ng-a=1.22,ng-b=1.24",
        "--provider",
        "eks",
    ]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    insta::assert_snapshot!(run.transcript());
}

#[test]
fn worked_example_a_through_the_cli() {
    let v = json(&plan(&[
        "-t",
        "1.33",
        "--current",
        "1.29",
        "--nodes",
        "1.27",
        "-o",
        "json",
    ]));
    let p = &v["plan"];
    let hops: Vec<&str> = p["hops"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["to"].as_str().unwrap())
        .collect();
    assert_eq!(hops, ["1.30", "1.31", "1.32", "1.33"]);
    assert_eq!(
        rolls(p),
        [
            "before 1.31: nodes-1.27 1.27 → 1.30",
            "after: nodes-1.27 1.30 → 1.33"
        ]
    );
    // The strict EKS reading rolls before every hop.
    let v = json(&plan(&[
        "-t",
        "1.33",
        "--current",
        "1.29",
        "--nodes",
        "1.27",
        "--provider",
        "eks",
        "-o",
        "json",
    ]));
    assert_eq!(rolls(&v["plan"]).len(), 5);
}

#[test]
fn worked_examples_b_c_d_through_the_cli() {
    let b = json(&plan(&[
        "-t",
        "1.28",
        "--current",
        "1.26",
        "--nodes",
        "1.24",
        "-o",
        "json",
    ]));
    assert_eq!(
        rolls(&b["plan"]),
        [
            "before 1.27: nodes-1.24 1.24 → 1.26",
            "after: nodes-1.24 1.26 → 1.28"
        ]
    );

    let c = plan(&[
        "-t",
        "1.24",
        "--current",
        "1.22",
        "--nodes",
        "1.24",
        "-o",
        "json",
    ]);
    assert_eq!(
        c.code,
        0,
        "node rolls are the plan, not readiness findings: {}",
        c.transcript()
    );
    let roll = &json(&c)["plan"]["hops"][0]["node_rolls"][0];
    assert!(
        roll["reason"]
            .as_str()
            .unwrap()
            .contains("newer than the 1.22 control plane")
    );

    let d = json(&plan(&[
        "-t",
        "1.33",
        "--current",
        "1.33,1.32,1.32",
        "--nodes",
        "1.30,1.32,1.33",
        "--provider",
        "kubeadm",
        "-o",
        "json",
    ]));
    let p = &d["plan"];
    assert_eq!(p["hops"].as_array().unwrap().len(), 1);
    assert_eq!(p["hops"][0]["finishing"], true);
    assert_eq!(rolls(p)[0], "before 1.33: nodes-1.33 1.33 → 1.32");
    let apart = plan(&["-t", "1.33", "--current", "1.33,1.31", "-o", "json"]);
    assert_eq!(apart.code, 5);
    assert_eq!(json(&apart)["plan"]["before"][0]["code"], "SKEW004");
}

#[test]
fn refusals_are_clear() {
    let same = plan(&["-t", "1.29", "--current", "1.29"]);
    let older = plan(&["-t", "1.28", "--current", "1.29"]);
    let bad = plan(&["-t", "1.30", "--current", "one.two"]);
    let no_current = plan(&["-t", "1.30", "--nodes", "1.28"]);
    for r in [&same, &older, &bad, &no_current] {
        assert_eq!(r.code, 1);
        assert!(r.stdout.is_empty());
    }
    insta::assert_snapshot!(format!(
        "{}\n{}\n{}\n{}",
        same.stderr, older.stderr, bad.stderr, no_current.stderr
    ));
}

#[test]
fn recorded_1_20_cluster_playbook() {
    let server = Server::recorded(
        &workspace().join("fixtures/cluster/v1.20"),
        Scenario::default(),
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = server.kubeconfig(dir.path()).unwrap();
    let run = plan(&[
        "--kubeconfig",
        kubeconfig.to_str().unwrap(),
        "-t",
        "1.23",
        "-o",
        "markdown",
    ]);
    // The recorded server's unavailable aggregated API (metrics.k8s.io) is a notice, not an
    // unread input: the content decides (batch/v1 CronJob is not served at 1.20 yet, but the
    // CronJobs can move to it at 1.21: removed APIs, 3).
    assert_eq!(
        run.code,
        3,
        "the exit code comes from the content: {}",
        run.transcript()
    );
    let port = kubeconfig_port(&kubeconfig);
    insta::assert_snapshot!(run.transcript().replace(&port, "PORT"));

    let v = json(&plan(&[
        "--kubeconfig",
        kubeconfig.to_str().unwrap(),
        "-t",
        "1.23",
        "-o",
        "json",
    ]));
    let p = &v["plan"];
    let hops: Vec<&str> = p["hops"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["to"].as_str().unwrap())
        .collect();
    assert_eq!(hops, ["1.21", "1.22", "1.23"]);
    // The 1.22 hop carries the Ingress, CRD and webhook v1beta1 removals in use.
    let apis: Vec<&str> = p["hops"][1]["removed_apis"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["api"].as_str().unwrap())
        .collect();
    assert!(
        apis.iter()
            .any(|a| a.starts_with("extensions/v1beta1 Ingress")),
        "{apis:?}"
    );
}

fn kubeconfig_port(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    let at = text.find("127.0.0.1:").unwrap() + "127.0.0.1:".len();
    text[at..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect()
}

#[test]
fn config_ignores_and_include_apply_to_the_plan() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("deploy")).unwrap();
    std::fs::write(
        dir.path().join("deploy/web.yaml"),
        "apiVersion: extensions/v1beta1\nkind: Ingress\nmetadata: {name: web, namespace: shop}\n---\napiVersion: rbac.authorization.k8s.io/v1beta1\nkind: Role\nmetadata: {name: reader, namespace: shop}\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("upcheck.toml"),
        "include = [\"deploy\"]\n\n[[ignore]]\nkind = \"Ingress\"\nreason = \"replaced by the gateway in PLAT-9\"\n",
    )
    .unwrap();
    let run = upcheck_with(
        dir.path(),
        &["plan", "-t", "1.22", "--current", "1.21", "-o", "json"],
        None,
        &[("UPCHECK_TODAY", Path::new("2026-12-01"))],
    );
    let v = json(&run);
    let apis: Vec<&str> = v["plan"]["hops"][0]["removed_apis"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["api"].as_str().unwrap())
        .collect();
    assert_eq!(apis, ["rbac.authorization.k8s.io/v1beta1 Role"]);
    assert_eq!(v["report"]["suppressed"].as_array().unwrap().len(), 1);
}

/// `apiVersion@earliest-latest` of each move of a finding's migration path.
fn path_of(finding: &Value) -> Vec<String> {
    finding["replacement"]["path"]
        .as_array()
        .map(|steps| {
            steps
                .iter()
                .map(|s| {
                    format!(
                        "{}@{}-{}",
                        s["api_version"].as_str().unwrap(),
                        s["earliest"].as_str().unwrap(),
                        s["latest"].as_str().unwrap()
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn files_and_plan_choose_the_same_flowschema_path() {
    let fs = "fixtures/manifests/removed/v1.29-flowschema-v1beta2.yaml";
    let expected = [
        "flowcontrol.apiserver.k8s.io/v1beta3@1.27-1.28",
        "flowcontrol.apiserver.k8s.io/v1@1.29-1.31",
    ];
    let files =
        crate::common::upcheck(&["files", fs, "-t", "1.33", "--current", "1.27", "-o", "json"]);
    // A path exists: removed at the target (3), not "no replacement available" (4).
    assert_eq!(files.code, 3, "{}", files.transcript());
    let files = json(&files);
    let finding = &files["findings"][0];
    assert_eq!(path_of(finding), expected);
    assert_eq!(
        finding["message"].as_str().unwrap(),
        "flowcontrol.apiserver.k8s.io/v1beta2 FlowSchema is no longer served since 1.29; migrate to flowcontrol.apiserver.k8s.io/v1beta3 FlowSchema now, then to flowcontrol.apiserver.k8s.io/v1 FlowSchema from 1.29"
    );

    let run = plan(&["-t", "1.33", "--current", "1.27", fs, "-o", "json"]);
    assert_eq!(run.code, 3, "{}", run.transcript());
    let doc = json(&run);
    assert_eq!(path_of(&doc["report"]["findings"][0]), expected);
    // Each move on the hop before which it must happen, and only once its version is served.
    let mut moves = Vec::new();
    for h in doc["plan"]["hops"].as_array().unwrap() {
        for a in h["removed_apis"].as_array().unwrap() {
            moves.push(format!(
                "{} → {}: {} to {}",
                h["from"].as_str().unwrap(),
                h["to"].as_str().unwrap(),
                a["api"].as_str().unwrap(),
                a["replacement"].as_str().unwrap()
            ));
        }
    }
    assert_eq!(
        moves,
        [
            "1.28 → 1.29: flowcontrol.apiserver.k8s.io/v1beta2 FlowSchema to flowcontrol.apiserver.k8s.io/v1beta3 FlowSchema",
            "1.31 → 1.32: flowcontrol.apiserver.k8s.io/v1beta3 FlowSchema to flowcontrol.apiserver.k8s.io/v1 FlowSchema"
        ]
    );
    assert!(doc["plan"]["fix_now"].as_array().unwrap().is_empty());
    assert!(doc["plan"]["later"].as_array().unwrap().is_empty());

    // Up to 1.29 only the first move is needed, and both commands name it.
    let files = json(&crate::common::upcheck(&[
        "files",
        fs,
        "-t",
        "1.29",
        "--current",
        "1.27",
        "-o",
        "json",
    ]));
    let plan29 = json(&plan(&[
        "-t",
        "1.29",
        "--current",
        "1.27",
        fs,
        "-o",
        "json",
    ]));
    assert_eq!(
        path_of(&files["findings"][0]),
        ["flowcontrol.apiserver.k8s.io/v1beta3@1.27-1.28"]
    );
    assert_eq!(
        path_of(&plan29["report"]["findings"][0]),
        path_of(&files["findings"][0])
    );
}

#[test]
fn plan_text_shows_the_later_move_with_its_objects() {
    let fs = "fixtures/manifests/removed/v1.29-flowschema-v1beta2.yaml";
    let run = plan(&["-t", "1.33", "--current", "1.27", fs]);
    assert!(
        run.stdout.contains("Migrate flowcontrol.apiserver.k8s.io/v1beta3 FlowSchema to flowcontrol.apiserver.k8s.io/v1 FlowSchema (the objects found as flowcontrol.apiserver.k8s.io/v1beta2 FlowSchema, after their earlier move): batch-jobs"),
        "{}",
        run.stdout
    );
}
