//! `upcheck snapshot save` and `diff` against the recorded v1.20 server: a "before" state as
//! recorded (node groups labelled), "after" states edited one regression at a time, and a
//! rolling restart that renames every pod without losing readiness.
#![allow(clippy::unwrap_used)] // tests fail loudly on purpose

use crate::common;

use std::collections::BTreeMap;
use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};

use crate::common::readiness::{fixture, recorded};
use crate::common::{Run, upcheck};
use base64::Engine as _;
use serde_json::Value;
use upcheck_test_server::{Scenario, Server};

type Replace = BTreeMap<String, Value>;

/// The nodes with pool labels: node-a* in ng-a, node-b* in ng-b.
fn labelled_nodes() -> Value {
    let mut nodes = recorded("/api/v1/nodes");
    for n in nodes["items"].as_array_mut().unwrap() {
        let name = n["metadata"]["name"].as_str().unwrap().to_owned();
        let pool = if name.starts_with("node-a") {
            "ng-a"
        } else {
            "ng-b"
        };
        n["metadata"]["labels"]["eks.amazonaws.com/nodegroup"] = Value::from(pool);
    }
    nodes
}

fn base() -> Replace {
    [("/api/v1/nodes".to_owned(), labelled_nodes())]
        .into_iter()
        .collect()
}

/// Saves a snapshot of the server with `replace` into `dir/name`.
fn save(dir: &Path, name: &str, replace: Replace) -> (PathBuf, Run) {
    save_from(&fixture(), dir, name, replace)
}

/// The same, from the recording in `recording`.
fn save_from(recording: &Path, dir: &Path, name: &str, replace: Replace) -> (PathBuf, Run) {
    let server = Server::recorded(
        recording,
        Scenario {
            replace,
            ..Scenario::default()
        },
    )
    .unwrap();
    let kubeconfig = server.kubeconfig(dir).unwrap();
    let path = dir.join(name);
    let run = upcheck(&[
        "snapshot",
        "save",
        "--kubeconfig",
        kubeconfig.to_str().unwrap(),
        "-o",
        path.to_str().unwrap(),
    ]);
    (path, run)
}

fn diff(before: &Path, after: &Path) -> (Run, Value) {
    let run = upcheck(&[
        "snapshot",
        "diff",
        before.to_str().unwrap(),
        after.to_str().unwrap(),
        "-o",
        "json",
    ]);
    let v =
        serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}\n{}", run.transcript()));
    (run, v)
}

/// `code subject` of every regression.
fn regressions(v: &Value) -> Vec<String> {
    v["regressions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            format!(
                "{} {}",
                c["code"].as_str().unwrap(),
                c["subject"].as_str().unwrap()
            )
        })
        .collect()
}

/// Edits one item (by name) of a recorded list.
fn edit(replace: &mut Replace, path: &str, name: &str, f: impl Fn(&mut Value)) {
    let list = replace
        .entry(path.to_owned())
        .or_insert_with(|| recorded(path));
    let item = list["items"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|i| i["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("{name} in {path}"));
    f(item);
}

/// The Helm release record of `name` in team-a rewritten with `status` at `revision`.
fn helm_revision(status: &str, revision: u64) -> Value {
    let engine = base64::engine::general_purpose::STANDARD;
    let mut secrets = recorded("/api/v1/secrets");
    let items = secrets["items"].as_array_mut().unwrap();
    let mut record = items
        .iter()
        .find(|i| i["metadata"]["name"] == "sh.helm.release.v1.legacy-web.v2")
        .unwrap()
        .clone();
    let outer = engine
        .decode(record["data"]["release"].as_str().unwrap())
        .unwrap();
    let gz = engine.decode(outer).unwrap();
    let mut json = String::new();
    flate2::read::GzDecoder::new(&gz[..])
        .read_to_string(&mut json)
        .unwrap();
    let mut release: Value = serde_json::from_str(&json).unwrap();
    release["info"]["status"] = Value::from(status);
    release["version"] = Value::from(revision);
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(release.to_string().as_bytes()).unwrap();
    let inner = engine.encode(enc.finish().unwrap());
    record["data"]["release"] = Value::from(engine.encode(inner));
    record["metadata"]["name"] = Value::from(format!("sh.helm.release.v1.legacy-web.v{revision}"));
    record["metadata"]["labels"]["status"] = Value::from(status);
    record["metadata"]["labels"]["version"] = Value::from(revision.to_string());
    items.push(record);
    secrets
}

#[test]
fn save_writes_a_versioned_snapshot_without_secret_values() {
    let dir = tempfile::tempdir().unwrap();
    let (path, run) = save(dir.path(), "before.json", base());
    // The recorded server has an unavailable aggregated API whose group the catalog knows no
    // deprecated version of: nothing needed is missing (it is recorded in `unavailable`).
    assert_eq!(run.code, 0, "{}", run.transcript());
    let text = std::fs::read_to_string(&path).unwrap();
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["schema_version"], 1);
    assert_eq!(v["nodes"].as_array().unwrap().len(), 4);
    assert_eq!(v["nodes"][0]["pool"], "ng-a");
    assert!(v["pods"].as_array().unwrap().len() > 5);
    let helm: Vec<String> = v["helm"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            format!(
                "{}/{} {}",
                h["namespace"].as_str().unwrap(),
                h["name"].as_str().unwrap(),
                h["status"].as_str().unwrap()
            )
        })
        .collect();
    assert!(
        helm.contains(&"team-a/legacy-web deployed".to_owned()),
        "{helm:?}"
    );
    assert!(
        v["used_api_versions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|u| u == "policy/v1beta1")
    );
    // No Secret value, token or Helm payload.
    let secrets = recorded("/api/v1/secrets");
    for s in secrets["items"].as_array().unwrap() {
        for value in s["data"].as_object().into_iter().flatten().map(|(_, v)| v) {
            assert!(!text.contains(value.as_str().unwrap()));
        }
    }
    assert!(!text.contains("\n  "), "compact JSON");
    // The same cluster twice: no difference at all.
    let (again, _) = save(dir.path(), "again.json", base());
    let (run, d) = diff(&path, &again);
    common::assert_codes_registered(&d);
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert!(regressions(&d).is_empty());
}

#[test]
fn every_regression_kind_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let mut after = base();
    // A Deployment loses a ready replica.
    edit(&mut after, "/apis/apps/v1/deployments", "frontend", |d| {
        d["status"]["readyReplicas"] = Value::from(1);
    });
    // A DaemonSet pod is no longer ready.
    edit(
        &mut after,
        "/apis/apps/v1/daemonsets",
        "node-exporter",
        |d| d["status"]["numberReady"] = Value::from(2),
    );
    // A node group loses a node, and the other one's node goes NotReady.
    let nodes = after.get_mut("/api/v1/nodes").unwrap();
    nodes["items"]
        .as_array_mut()
        .unwrap()
        .retain(|n| n["metadata"]["name"] != "node-a2");
    for n in nodes["items"].as_array_mut().unwrap() {
        if n["metadata"]["name"] == "node-a1" {
            for c in n["status"]["conditions"].as_array_mut().unwrap() {
                if c["type"] == "Ready" {
                    c["status"] = Value::from("False");
                }
            }
        }
    }
    // Pods: one not running, one without its sidecar, one restarting.
    let pods = recorded("/api/v1/pods");
    let healthy: Vec<String> = pods["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| {
            p["status"]["phase"] == "Running"
                && p["status"]["containerStatuses"]
                    .as_array()
                    .is_some_and(|c| c.iter().all(|c| c["ready"] == true))
        })
        .map(|p| p["metadata"]["name"].as_str().unwrap().to_owned())
        .collect();
    assert!(healthy.len() >= 3, "{healthy:?}");
    edit(&mut after, "/api/v1/pods", &healthy[0], |p| {
        p["status"]["phase"] = Value::from("Pending");
    });
    edit(&mut after, "/api/v1/pods", &healthy[1], |p| {
        let c = p["spec"]["containers"][0].clone();
        p["spec"]["containers"] = Value::from(vec![c]);
    });
    edit(&mut after, "/api/v1/pods", &healthy[2], |p| {
        p["status"]["containerStatuses"][0]["restartCount"] = Value::from(40);
    });
    // A Helm upgrade that failed.
    after.insert("/api/v1/secrets".to_owned(), helm_revision("failed", 3));
    // A Job run after the upgrade that failed.
    after.insert(
        "/apis/batch/v1/jobs".to_owned(),
        serde_json::json!({"kind": "JobList", "apiVersion": "batch/v1", "metadata": {"resourceVersion": "9"}, "items": [
            {"metadata": {"name": "report-29001", "namespace": "team-a"},
             "spec": {"completions": 1},
             "status": {"failed": 6, "conditions": [{"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded"}]}}
        ]}),
    );
    // An API version objects were written through is no longer served.
    after.insert("/apis/policy/v1beta1".to_owned(), Value::Null);

    // The sidecar case needs a pod that had two containers: give it one before, too.
    let mut before_two = base();
    edit(&mut before_two, "/api/v1/pods", &healthy[1], |p| {
        let c = p["spec"]["containers"][0].clone();
        let mut second = c.clone();
        second["name"] = Value::from("log-shipper");
        p["spec"]["containers"] = Value::from(vec![c, second]);
        let mut st = p["status"]["containerStatuses"][0].clone();
        st["name"] = Value::from("log-shipper");
        p["status"]["containerStatuses"]
            .as_array_mut()
            .unwrap()
            .push(st);
    });
    let (before2, _) = save(dir.path(), "before2.json", before_two);

    let (after_path, _) = save(dir.path(), "after.json", after);
    let (run, d) = diff(&before2, &after_path);
    common::assert_codes_registered(&d);
    assert_eq!(run.code, 6, "{}", run.transcript());
    let found = regressions(&d);
    let codes: Vec<&str> = found.iter().map(|f| f.split(' ').next().unwrap()).collect();
    for code in [
        "workload-ready",
        "daemonset-unscheduled",
        "node-not-ready",
        "pod-not-ready",
        "containers-missing",
        "restarts",
        "helm-failed",
        "api-not-served",
        "job-failed",
    ] {
        assert!(codes.contains(&code), "{code} missing from {found:?}");
    }
    assert!(
        found.contains(&"workload-ready Deployment default/frontend".to_owned()),
        "{found:?}"
    );
    assert!(
        found.contains(&"helm-failed Helm release team-a/legacy-web".to_owned()),
        "{found:?}"
    );
    assert!(
        found.contains(&"api-not-served policy/v1beta1".to_owned()),
        "{found:?}"
    );

    // Node group gone entirely.
    let mut gone = base();
    gone.get_mut("/api/v1/nodes").unwrap()["items"]
        .as_array_mut()
        .unwrap()
        .retain(|n| {
            !n["metadata"]["name"]
                .as_str()
                .unwrap()
                .starts_with("node-b")
        });
    let (gone_path, _) = save(dir.path(), "gone.json", gone);
    let (_, d) = diff(&before2, &gone_path);
    common::assert_codes_registered(&d);
    assert!(
        regressions(&d).contains(&"node-gone pool ng-b".to_owned()),
        "{:?}",
        regressions(&d)
    );

    let text = upcheck(&[
        "snapshot",
        "diff",
        before2.to_str().unwrap(),
        after_path.to_str().unwrap(),
    ]);
    assert_eq!(text.code, 6);
    insta::assert_snapshot!(text.stdout);
}

#[test]
fn a_rolling_restart_is_not_a_regression() {
    let dir = tempfile::tempdir().unwrap();
    let (before, _) = save(dir.path(), "before.json", base());
    let mut after = base();
    let mut pods = recorded("/api/v1/pods");
    for p in pods["items"].as_array_mut().unwrap() {
        let name = p["metadata"]["name"].as_str().unwrap().to_owned();
        // Controller-owned pods get new names; their restart counts start over.
        if p["metadata"]["ownerReferences"].is_array() {
            p["metadata"]["name"] = Value::from(format!("{name}-r2"));
            for c in p["status"]["containerStatuses"]
                .as_array_mut()
                .into_iter()
                .flatten()
            {
                c["restartCount"] = Value::from(0);
            }
        }
    }
    after.insert("/api/v1/pods".to_owned(), pods);
    let (after_path, _) = save(dir.path(), "after.json", after);
    let (run, d) = diff(&before, &after_path);
    common::assert_codes_registered(&d);
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert!(regressions(&d).is_empty(), "{:?}", regressions(&d));
    assert!(
        d["expected"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["code"] == "pods-replaced")
    );
}

#[test]
fn diff_against_the_live_cluster_and_bad_snapshots() {
    let dir = tempfile::tempdir().unwrap();
    let (before, _) = save(dir.path(), "before.json", base());
    let server = Server::recorded(
        &fixture(),
        Scenario {
            replace: base(),
            ..Scenario::default()
        },
    )
    .unwrap();
    let kubeconfig = server.kubeconfig(dir.path()).unwrap();
    let live = upcheck(&[
        "snapshot",
        "diff",
        before.to_str().unwrap(),
        "--kubeconfig",
        kubeconfig.to_str().unwrap(),
        "-o",
        "markdown",
    ]);
    // Same state; the recorded server's broken aggregated API was broken before too.
    assert_eq!(live.code, 0, "{}", live.transcript());
    assert!(live.stdout.contains("0 regression(s)"), "{}", live.stdout);

    let newer = dir.path().join("newer.json");
    std::fs::write(&newer, "{\"schema_version\": 99, \"nodes\": []}").unwrap();
    let not_json = dir.path().join("notes.txt");
    std::fs::write(&not_json, "nodes: 3\n").unwrap();
    let a = upcheck(&[
        "snapshot",
        "diff",
        newer.to_str().unwrap(),
        before.to_str().unwrap(),
    ]);
    let b = upcheck(&[
        "snapshot",
        "diff",
        not_json.to_str().unwrap(),
        before.to_str().unwrap(),
    ]);
    assert_eq!((a.code, b.code), (1, 1));
    let dirname = dir.path().to_str().unwrap();
    insta::assert_snapshot!(format!("{}{}", a.stderr, b.stderr).replace(dirname, "[TMP]"));
}

#[test]
fn schema_1_snapshots_stay_readable() {
    // A snapshot as schema 1 wrote it, kept as a file: later schemas must still read it.
    let path = common::workspace().join("fixtures/snapshots/schema-v1.json");
    let run = upcheck(&[
        "snapshot",
        "diff",
        path.to_str().unwrap(),
        path.to_str().unwrap(),
        "-o",
        "json",
    ]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    let dir = tempfile::tempdir().unwrap();
    let mut v: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    v["pods"][0]["containers"] = serde_json::json!(["app"]);
    v["pods"][0]["ready"] = Value::from(1);
    let after = dir.path().join("after.json");
    std::fs::write(&after, v.to_string()).unwrap();
    let (run, d) = diff(&path, &after);
    common::assert_codes_registered(&d);
    assert_eq!(run.code, 6);
    assert_eq!(
        regressions(&d),
        ["containers-missing Pod shop/web-7d4b9-x2x9q"]
    );
}

fn v134() -> PathBuf {
    common::workspace().join("fixtures/cluster/v1.34")
}

/// A list of the 1.34 recording.
fn recorded_v134(path: &str) -> Value {
    let rel = path
        .strip_prefix("/api/")
        .map(|p| format!("core/{p}"))
        .or_else(|| path.strip_prefix("/apis/").map(str::to_owned))
        .unwrap();
    let file = v134().join("list").join(format!("{rel}.json"));
    serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap()
}

/// Decodes a Helm release Secret's payload, edits it, and encodes it back.
fn edit_release(record: &mut Value, f: impl Fn(&mut Value)) {
    let engine = base64::engine::general_purpose::STANDARD;
    let outer = engine
        .decode(record["data"]["release"].as_str().unwrap())
        .unwrap();
    let gz = engine.decode(outer).unwrap();
    let mut json = String::new();
    flate2::read::GzDecoder::new(&gz[..])
        .read_to_string(&mut json)
        .unwrap();
    let mut release: Value = serde_json::from_str(&json).unwrap();
    f(&mut release);
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(release.to_string().as_bytes()).unwrap();
    let inner = engine.encode(enc.finish().unwrap());
    record["data"]["release"] = Value::from(engine.encode(inner));
}

fn changes(v: &Value, kind: &str) -> Vec<String> {
    v[kind]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            format!(
                "{} {}",
                c["code"].as_str().unwrap(),
                c["subject"].as_str().unwrap()
            )
        })
        .collect()
}

#[test]
fn a_snapshot_diffed_with_itself_reports_nothing_on_both_recordings() {
    let dir = tempfile::tempdir().unwrap();
    for (recording, replace) in [(v134(), Replace::new()), (fixture(), base())] {
        let (path, run) = save_from(&recording, dir.path(), "self.json", replace);
        assert!(path.exists(), "{}", run.transcript());
        let (run, d) = diff(&path, &path);
        common::assert_codes_registered(&d);
        assert_eq!(run.code, 0, "{}: {}", recording.display(), run.transcript());
        for kind in ["regressions", "improvements", "expected"] {
            assert!(changes(&d, kind).is_empty(), "{kind}: {}", run.stdout);
        }
    }
}

#[test]
fn a_deleted_pdb_a_scale_to_zero_and_a_helm_release_off_a_removed_api_on_1_34() {
    let dir = tempfile::tempdir().unwrap();
    let (before, _) = save_from(&v134(), dir.path(), "before.json", Replace::new());
    let mut after = Replace::new();
    let mut pdbs = recorded_v134("/apis/policy/v1/poddisruptionbudgets");
    pdbs["items"]
        .as_array_mut()
        .unwrap()
        .retain(|p| p["metadata"]["name"] != "web-pdb");
    after.insert("/apis/policy/v1/poddisruptionbudgets".into(), pdbs);
    let mut deployments = recorded_v134("/apis/apps/v1/deployments");
    for d in deployments["items"].as_array_mut().unwrap() {
        if d["metadata"]["name"] == "old-app" {
            d["spec"]["replicas"] = Value::from(0);
            for field in [
                "replicas",
                "readyReplicas",
                "availableReplicas",
                "updatedReplicas",
            ] {
                d["status"].as_object_mut().unwrap().remove(field);
            }
        }
    }
    after.insert("/apis/apps/v1/deployments".into(), deployments);
    let mut pods = recorded_v134("/api/v1/pods");
    pods["items"].as_array_mut().unwrap().retain(|p| {
        !p["metadata"]["name"]
            .as_str()
            .unwrap()
            .starts_with("old-app-")
    });
    after.insert("/api/v1/pods".into(), pods);
    // storefront revision 3 drops autoscaling/v2beta2 (the HPA moves to autoscaling/v2);
    // revision 2 is superseded.
    let mut secrets = recorded_v134("/api/v1/secrets");
    let items = secrets["items"].as_array_mut().unwrap();
    let r2 = items
        .iter_mut()
        .find(|i| i["metadata"]["name"] == "sh.helm.release.v1.storefront.v2")
        .unwrap();
    let mut r3 = r2.clone();
    edit_release(r2, |r| r["info"]["status"] = Value::from("superseded"));
    r2["metadata"]["labels"]["status"] = Value::from("superseded");
    edit_release(&mut r3, |r| {
        let manifest = r["manifest"].as_str().unwrap();
        assert!(manifest.contains("autoscaling/v2beta2"));
        r["manifest"] = Value::from(manifest.replace("autoscaling/v2beta2", "autoscaling/v2"));
        r["version"] = Value::from(3);
    });
    r3["metadata"]["name"] = Value::from("sh.helm.release.v1.storefront.v3");
    r3["metadata"]["labels"]["version"] = Value::from("3");
    items.push(r3);
    after.insert("/api/v1/secrets".into(), secrets);
    let (after_path, _) = save_from(&v134(), dir.path(), "after.json", after);

    let (run, d) = diff(&before, &after_path);
    common::assert_codes_registered(&d);
    assert_eq!(run.code, 6, "{}", run.transcript());
    assert_eq!(
        changes(&d, "regressions"),
        [
            "pdb-gone PodDisruptionBudget shop/web-pdb",
            "workload-scaled Deployment legacy/old-app"
        ],
        "{}",
        run.stdout
    );
    assert_eq!(
        changes(&d, "improvements"),
        ["helm-api-moved Helm release shop/storefront"],
        "{}",
        run.stdout
    );
    assert!(changes(&d, "expected").is_empty(), "{}", run.stdout);
    let text = upcheck(&[
        "snapshot",
        "diff",
        before.to_str().unwrap(),
        after_path.to_str().unwrap(),
    ]);
    assert_eq!(text.code, 6);
    insta::assert_snapshot!(text.stdout);
}

/// Waits until the server has answered `path` at least `n` times.
fn wait_for_reads(server: &Server, path: &str, n: usize) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_mins(1);
    while server.arrivals(path).len() < n {
        assert!(
            std::time::Instant::now() < deadline,
            "{path} read fewer than {n} times"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// The recorded pods with the first healthy one crash-looping: not ready, restarting.
fn crash_looping() -> (Value, String) {
    let mut pods = recorded("/api/v1/pods");
    let pod = pods["items"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|p| {
            p["status"]["phase"] == "Running"
                && p["status"]["containerStatuses"]
                    .as_array()
                    .is_some_and(|c| c.iter().all(|c| c["ready"] == true))
        })
        .unwrap();
    let name = pod["metadata"]["name"].as_str().unwrap().to_owned();
    let status = &mut pod["status"]["containerStatuses"][0];
    status["ready"] = Value::from(false);
    status["restartCount"] = Value::from(12);
    status["state"] = serde_json::json!({"waiting": {"reason": "CrashLoopBackOff"}});
    (pods, name)
}

fn start_watch(before: &Path, kubeconfig: &Path, extra: &[&str]) -> std::process::Child {
    std::process::Command::new(env!("CARGO_BIN_EXE_upcheck"))
        .args(["snapshot", "watch", before.to_str().unwrap()])
        .args([
            "--kubeconfig",
            kubeconfig.to_str().unwrap(),
            "--interval",
            "0.1",
        ])
        .args(extra)
        .env(
            "UPCHECK_RETRY_BACKOFF_MS",
            common::RETRY_BACKOFF_MS.to_string(),
        )
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap()
}

#[test]
fn watch_prints_a_regression_once_when_it_appears_and_once_when_it_recovers() {
    let dir = tempfile::tempdir().unwrap();
    let (before, _) = save(dir.path(), "before.json", base());
    let server = Server::recorded(
        &fixture(),
        Scenario {
            replace: base(),
            ..Scenario::default()
        },
    )
    .unwrap();
    let kubeconfig = server.kubeconfig(dir.path()).unwrap();
    let child = start_watch(&before, &kubeconfig, &["--settle", "2"]);

    wait_for_reads(&server, "/api/v1/pods", 2);
    let (broken, name) = crash_looping();
    server.set_list("/api/v1/pods", broken);
    // Several reads see the same regression: it is printed once.
    let seen = server.arrivals("/api/v1/pods").len();
    wait_for_reads(&server, "/api/v1/pods", seen + 5);
    server.set_list("/api/v1/pods", recorded("/api/v1/pods"));
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "recovered before settling:\n{stdout}{stderr}"
    );

    let lines: Vec<&str> = stdout.lines().collect();
    let appeared: Vec<&&str> = lines
        .iter()
        .filter(|l| l.starts_with("regression"))
        .collect();
    let recovered: Vec<&&str> = lines
        .iter()
        .filter(|l| l.starts_with("recovered"))
        .collect();
    assert_eq!(
        appeared.len(),
        2,
        "pod-not-ready and restarts, once each:\n{stdout}"
    );
    assert!(
        appeared
            .iter()
            .any(|l| l.contains("pod-not-ready") && l.contains(&name)),
        "{stdout}"
    );
    assert!(
        appeared
            .iter()
            .any(|l| l.contains("restarts") && l.contains(&name)),
        "{stdout}"
    );
    assert_eq!(recovered.len(), 2, "both recover, once each:\n{stdout}");
    assert!(stderr.contains("0 regression(s) remain"), "{stderr}");
}

#[test]
fn watch_exits_6_when_regressions_remain_and_130_on_ctrl_c() {
    let dir = tempfile::tempdir().unwrap();
    let (before, _) = save(dir.path(), "before.json", base());
    let mut replace = base();
    replace.insert("/api/v1/pods".to_owned(), crash_looping().0);
    let server = Server::recorded(
        &fixture(),
        Scenario {
            replace,
            ..Scenario::default()
        },
    )
    .unwrap();
    let kubeconfig = server.kubeconfig(dir.path()).unwrap();
    let out = start_watch(&before, &kubeconfig, &["--settle", "0.5"])
        .wait_with_output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(6), "{stdout}");
    assert_eq!(
        stdout
            .lines()
            .filter(|l| l.starts_with("regression"))
            .count(),
        2,
        "{stdout}"
    );

    let reads_before = server.arrivals("/api/v1/pods").len();
    let args = [
        "snapshot",
        "watch",
        before.to_str().unwrap(),
        "--kubeconfig",
        kubeconfig.to_str().unwrap(),
        "--interval",
        "0.1",
    ];
    let (run, took) = common::interrupted(&args, &|_| {
        server.arrivals("/api/v1/pods").len() >= reads_before + 2
    });
    assert_eq!(run.code, 130, "{}", run.transcript());
    assert!(run.stderr.contains("stopped watching"), "{}", run.stderr);
    assert!(
        took < std::time::Duration::from_secs(5),
        "stopped in {took:?}"
    );

    // A watch that cannot read the cluster at all stops at once.
    let bad = upcheck(&[
        "snapshot",
        "watch",
        before.to_str().unwrap(),
        "--kubeconfig",
        kubeconfig.to_str().unwrap(),
        "--context",
        "no-such-context",
    ]);
    assert_eq!(bad.code, 1, "{}", bad.transcript());
}
