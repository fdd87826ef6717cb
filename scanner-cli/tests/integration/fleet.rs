//! `upcheck cluster` over several contexts: three recorded clusters behind loopback test
//! servers (one on current APIs, one with removed APIs, one answering 403 on a resource) and a
//! fourth context whose port is closed. One run reports each, the closed one is an error for
//! that cluster only, and the exit code is the worst of them.
#![allow(clippy::unwrap_used)] // tests fail loudly on purpose

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::cluster::fixture;
use crate::common::upcheck;
use serde_json::Value;
use upcheck_test_server::{Scenario, Server};

/// A kubeconfig with one context per `(name, port)`, all with the token the recordings accept.
fn kubeconfig(dir: &Path, contexts: &[(&str, u16)]) -> PathBuf {
    let mut clusters = String::new();
    let mut named = String::new();
    for (name, port) in contexts {
        writeln!(
            clusters,
            "- name: {name}\n  cluster:\n    server: http://127.0.0.1:{port}"
        )
        .unwrap();
        writeln!(
            named,
            "- name: {name}\n  context: {{cluster: {name}, user: admin}}"
        )
        .unwrap();
    }
    let text = format!(
        "apiVersion: v1\nkind: Config\nclusters:\n{clusters}contexts:\n{named}current-context: {}\nusers:\n- name: admin\n  user: {{token: admin-token}}\n",
        contexts[0].0
    );
    let path = dir.join("kubeconfig");
    std::fs::write(&path, text).unwrap();
    path
}

/// A loopback port nothing listens on.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

fn port(server: &Server) -> u16 {
    server.url().rsplit(':').next().unwrap().parse().unwrap()
}

struct Fleet {
    _servers: Vec<Server>,
    _dir: tempfile::TempDir,
    kubeconfig: String,
    ports: Vec<u16>,
}

fn fleet() -> Fleet {
    let current = Server::recorded(&fixture("v1.34"), Scenario::default()).unwrap();
    let old = Server::recorded(&fixture("v1.20"), Scenario::default()).unwrap();
    let forbidden = Server::recorded(
        &fixture("v1.20"),
        Scenario {
            forbidden: ["/apis/networking.k8s.io/v1/ingresses".to_owned()]
                .into_iter()
                .collect(),
            ..Scenario::default()
        },
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ports = vec![port(&current), port(&old), port(&forbidden), closed_port()];
    let kubeconfig = kubeconfig(
        dir.path(),
        &[
            ("prod-current", ports[0]),
            ("prod-old", ports[1]),
            ("staging-forbidden", ports[2]),
            ("staging-gone", ports[3]),
        ],
    )
    .to_string_lossy()
    .into_owned();
    Fleet {
        _servers: vec![current, old, forbidden],
        _dir: dir,
        kubeconfig,
        ports,
    }
}

/// The text with the loopback ports and the kubeconfig's path replaced by names.
fn redact(text: &str, f: &Fleet) -> String {
    let mut text = text.replace(&f.kubeconfig, "KUBECONFIG");
    for (i, p) in f.ports.iter().enumerate() {
        text = text.replace(&format!("127.0.0.1:{p}"), &format!("127.0.0.1:PORT{i}"));
    }
    text
}

fn scan(f: &Fleet, extra: &[&str]) -> crate::common::Run {
    let mut args = vec![
        "cluster",
        "--kubeconfig",
        &f.kubeconfig,
        "-t",
        "1.34",
        "--no-helm",
        "--no-checks",
        "--timeout",
        "5",
        "--retries",
        "0",
    ];
    args.extend_from_slice(extra);
    upcheck(&args)
}

#[test]
fn one_run_reports_each_cluster_and_exits_with_the_worst() {
    let f = fleet();
    let r = scan(&f, &["--all-contexts", "-o", "json"]);
    let report: Value =
        serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("{e}\n{}", r.transcript()));
    let rows: Vec<String> = report["fleet"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| {
            format!(
                "{} {} removed={} deprecated={} not_checked={} error={}",
                row["context"].as_str().unwrap(),
                row["version"].as_str().unwrap_or("-"),
                row["removed"],
                row["deprecated"],
                row["not_checked"],
                row["error"].is_string()
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            "prod-current v1.34.9 removed=0 deprecated=4 not_checked=0 error=false",
            "prod-old v1.20.2 removed=31 deprecated=1 not_checked=0 error=false",
            "staging-forbidden v1.20.2 removed=27 deprecated=1 not_checked=1 error=false",
            "staging-gone - removed=0 deprecated=0 not_checked=0 error=true",
        ],
        "{}",
        r.transcript()
    );
    // Each cluster's report is whole: the same document a single scan writes.
    let clusters = report["clusters"].as_array().unwrap();
    assert_eq!(clusters.len(), 4);
    assert_eq!(clusters[1]["report"]["cluster"]["context"], "prod-old");
    assert!(clusters[3]["report"].is_null());
    let gone = clusters[3]["error"].as_str().unwrap();
    assert!(
        gone.contains("did not answer") || gone.contains("connect"),
        "{gone}"
    );
    // The closed port is an error for its cluster only; 1 is the worst code.
    assert_eq!(r.code, 1, "{}", r.transcript());
    assert!(
        r.stderr.contains("error: cluster staging-gone: "),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("error: cluster staging-forbidden: "),
        "{}",
        r.stderr
    );

    // Without the broken clusters the worst is the removed APIs.
    let r = scan(&f, &["--contexts-matching", "prod-*", "-o", "json"]);
    assert_eq!(r.code, 3, "{}", r.transcript());
    let report: Value = serde_json::from_str(&r.stdout).unwrap();
    let names: Vec<&str> = report["fleet"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row["context"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["prod-current", "prod-old"]);
    let r = scan(
        &f,
        &[
            "--context",
            "prod-current",
            "--context",
            "prod-current",
            "--context",
            "prod-current",
        ],
    );
    assert_eq!(r.code, 2, "{}", r.transcript());
}

#[test]
fn the_fleet_table_comes_first() {
    let f = fleet();
    let r = scan(&f, &["--all-contexts"]);
    insta::assert_snapshot!("fleet_text", redact(&r.transcript(), &f));
    let r = scan(
        &f,
        &[
            "--all-contexts",
            "-o",
            "markdown",
            "--columns",
            "kind,namespace,name,version",
        ],
    );
    let table: Vec<&str> = r.stdout.lines().take(8).collect();
    insta::assert_snapshot!("fleet_markdown_table", redact(&table.join("\n"), &f));
}

#[test]
fn with_the_checks_the_output_does_not_depend_on_how_many_clusters_run_at_once() {
    let f = fleet();
    let run = |parallel: &str| {
        upcheck(&[
            "cluster",
            "--kubeconfig",
            &f.kubeconfig,
            "-t",
            "1.34",
            "--all-contexts",
            "--timeout",
            "5",
            "--retries",
            "0",
            "--parallel-clusters",
            parallel,
            "-o",
            "json",
        ])
    };
    let one = run("1");
    let four = run("4");
    assert_eq!(one.stdout, four.stdout);
    assert_eq!(one.code, 1, "{}", one.transcript());
    let report: Value = serde_json::from_str(&one.stdout).unwrap();
    // The checks ran on the three clusters that answered.
    for i in 0..3 {
        assert!(
            report["clusters"][i]["report"]["readiness"]["ran"]
                .as_array()
                .is_some_and(|ran| !ran.is_empty()),
            "{i}: {}",
            one.stdout
        );
    }
}

#[test]
fn fleet_options_are_checked_before_any_cluster_is_read() {
    let f = fleet();
    let r = scan(&f, &["--all-contexts", "-o", "sarif"]);
    assert_eq!(r.code, 1);
    assert_eq!(
        r.stderr,
        "error: -o sarif is not written for several clusters; use text, wide, markdown, json or yaml\n"
    );
    let r = scan(&f, &["--contexts-matching", "dev-*"]);
    assert_eq!(r.code, 1);
    assert_eq!(
        r.stderr,
        "error: no context matches --contexts-matching \"dev-*\" (contexts: prod-current, prod-old, staging-forbidden, staging-gone)\n"
    );
    // A kubeconfig without contexts is named, not sent back to --kubeconfig.
    let empty = tempfile::tempdir().unwrap();
    let path = empty.path().join("kubeconfig");
    std::fs::write(&path, "apiVersion: v1\nkind: Config\n").unwrap();
    let r = upcheck(&[
        "cluster",
        "--kubeconfig",
        path.to_str().unwrap(),
        "--all-contexts",
        "-t",
        "1.33",
    ]);
    assert_eq!(r.code, 1);
    assert_eq!(
        r.stderr,
        format!("error: the kubeconfig {} has no contexts\n", path.display())
    );
    // Other live commands read one cluster.
    let r = upcheck(&[
        "helm",
        "--kubeconfig",
        &f.kubeconfig,
        "--context",
        "prod-old",
        "--context",
        "prod-current",
    ]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr
            .contains("--context was given 2 times; only `upcheck cluster` scans several clusters"),
        "{}",
        r.stderr
    );
}

#[test]
fn a_plan_per_cluster() {
    let f = fleet();
    let plan = |extra: &[&str]| {
        let mut args = vec![
            "plan",
            "--kubeconfig",
            &f.kubeconfig,
            "-t",
            "1.35",
            "--timeout",
            "5",
            "--retries",
            "0",
        ];
        args.extend_from_slice(extra);
        upcheck(&args)
    };
    let r = plan(&["--all-contexts", "-o", "json"]);
    let doc: Value =
        serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("{e}\n{}", r.transcript()));
    let got: Vec<String> = doc["clusters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            format!(
                "{} from={} hops={} error={}",
                m["context"].as_str().unwrap(),
                m["plan"]["current"].as_str().unwrap_or("-"),
                m["plan"]["hops"].as_array().map_or(0, Vec::len),
                m["error"].is_string()
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            "prod-current from=1.34 hops=1 error=false",
            "prod-old from=1.20 hops=15 error=false",
            "staging-forbidden from=1.20 hops=15 error=false",
            "staging-gone from=- hops=0 error=true",
        ],
        "{}",
        r.transcript()
    );
    assert_eq!(r.code, 1, "{}", r.transcript());

    let r = plan(&["--contexts-matching", "prod-*"]);
    let headings: Vec<&str> = r.stdout.lines().filter(|l| l.starts_with("=== ")).collect();
    assert_eq!(headings, ["=== prod-current ===", "=== prod-old ==="]);
    // An offline plan reads no cluster.
    let r = plan(&["--all-contexts", "--current", "1.30"]);
    assert_eq!(r.code, 1);
    assert_eq!(
        r.stderr,
        "error: --current plans offline, from no cluster; drop it to plan each cluster of the fleet\n"
    );
}
