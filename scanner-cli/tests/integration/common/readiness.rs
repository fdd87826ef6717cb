//! Readiness-check tests through `upcheck cluster` against the recorded v1.20 server: edit a
//! recorded list, serve it, run one check, read its findings.
#![allow(dead_code, clippy::unwrap_used)] // each test file uses part of it; tests fail loudly

use std::path::PathBuf;

use serde_json::{Value, json};

use super::{Run, upcheck, workspace};
use upcheck_test_server::{Scenario, Server};

pub fn fixture() -> PathBuf {
    workspace().join("fixtures/cluster/v1.20")
}

/// The recorded list behind a collection path (`/api/v1/nodes`).
pub fn recorded(path: &str) -> Value {
    let rel = path
        .strip_prefix("/api/")
        .map(|p| format!("core/{p}"))
        .or_else(|| path.strip_prefix("/apis/").map(str::to_owned))
        .unwrap();
    let text = std::fs::read_to_string(fixture().join("list").join(format!("{rel}.json"))).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// A replacement for a recorded list: each item edited, or dropped when `edit` says so.
pub fn edited(path: &str, edit: impl Fn(&mut Value) -> bool) -> (String, Value) {
    let mut list = recorded(path);
    let items = list["items"].as_array_mut().unwrap();
    items.retain_mut(|i| edit(i));
    (path.to_owned(), list)
}

/// A served API group of custom resources: `(group, version, [(plural, kind)])`.
pub type Group<'a> = (&'a str, &'a str, &'a [(&'a str, &'a str)]);

/// The recorded server with `groups` added to its discovery (namespaced resources that can be
/// listed) and `objects` served (`(collection path, items)`), as replacements for [`run`].
pub fn with_groups(groups: &[Group<'_>], objects: Vec<(&str, Vec<Value>)>) -> Vec<(String, Value)> {
    let text = std::fs::read_to_string(fixture().join("apis.json")).unwrap();
    let mut apis: Value = serde_json::from_str(&text).unwrap();
    let served = apis["groups"].as_array_mut().unwrap();
    let mut replace = Vec::new();
    for (group, version, resources) in groups {
        let gv = format!("{group}/{version}");
        served.push(
            json!({"name": group, "versions": [{"groupVersion": gv, "version": version}],
            "preferredVersion": {"groupVersion": gv, "version": version}}),
        );
        let list: Vec<Value> = resources
            .iter()
            .map(|(name, kind)| {
                json!({"name": name, "namespaced": true, "kind": kind,
                "verbs": ["get", "list", "watch"]})
            })
            .collect();
        replace.push((
            format!("/apis/{gv}"),
            json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": list}),
        ));
    }
    replace.push(("/apis".to_owned(), apis));
    for (path, items) in objects {
        replace.push((
            path.to_owned(),
            json!({"kind": "List", "apiVersion": "v1", "metadata": {"resourceVersion": "1"}, "items": items}),
        ));
    }
    replace
}

pub fn run(replace: Vec<(String, Value)>, args: &[&str]) -> Run {
    run_in(
        Scenario {
            replace: replace.into_iter().collect(),
            ..Scenario::default()
        },
        args,
    )
}

/// `upcheck cluster` (JSON, no Helm) against the recorded server with `scenario`'s faults.
pub fn run_in(scenario: Scenario, args: &[&str]) -> Run {
    let server = Server::recorded(&fixture(), scenario).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = server.kubeconfig(dir.path()).unwrap();
    let mut all = vec!["cluster", "--kubeconfig", kubeconfig.to_str().unwrap()];
    all.extend_from_slice(&["--no-helm", "-o", "json"]);
    all.extend_from_slice(args);
    upcheck(&all)
}

/// Readiness findings of `code` as "severity object [@hop]".
pub fn found(run: &Run, code: &str) -> Vec<String> {
    let report: Value =
        serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}\n{}", run.transcript()));
    let readiness = &report["readiness"];
    assert!(
        readiness["ran"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c == code),
        "{code} did not run: {}",
        readiness["not_run"]
    );
    readiness["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["code"] == code)
        .map(|f| {
            let hop = f["hop"]
                .as_str()
                .map_or_else(String::new, |h| format!(" @{h}"));
            format!(
                "{} {}{hop}",
                f["severity"].as_str().unwrap(),
                f["object"].as_str().unwrap()
            )
        })
        .collect()
}

/// Every readiness finding of a JSON report as "`first` `second`" (fields such as `code`,
/// `severity`, `object`), sorted.
pub fn rows(run: &Run, first: &str, second: &str) -> Vec<String> {
    let report: Value =
        serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}\n{}", run.transcript()));
    let mut rows: Vec<String> = report["readiness"]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            format!(
                "{} {}",
                f[first].as_str().unwrap(),
                f[second].as_str().unwrap()
            )
        })
        .collect();
    rows.sort();
    rows
}

pub fn check(code: &str, target: &str, replace: Vec<(String, Value)>) -> Vec<String> {
    let r = run(replace, &["-t", target, "--select", code]);
    found(&r, code)
}
