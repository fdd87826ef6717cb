//! The public live-scan API (`scanner_core::live`, feature `live`) against a recorded
//! kube-apiserver served on 127.0.0.1, with no `scanner-cli` code: what an embedder gets.
//!
//! The server is the tests' shared loopback server (`fixtures/server`). The oracle for the
//! recorded cluster is the CLI's reviewed snapshot of the same scan, so the library and
//! `upcheck cluster` cannot drift apart.
#![allow(clippy::unwrap_used)] // tests fail loudly on purpose

/// The example program, run here against the test server.
#[path = "../../examples/live_scan.rs"]
#[allow(dead_code)] // its `main`
mod example;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use scanner_core::live::{
    LiveClient, LiveError, LiveSettings, Progress, block_on, read_snapshot, scan_cluster,
    scan_cluster_blocking, scan_cluster_with_state,
};
use scanner_core::{Catalog, KubeVersion, Report, Targets};
use upcheck_test_server::{Scenario, Server};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

struct Cluster {
    server: Server,
    _dir: tempfile::TempDir,
    kubeconfig: PathBuf,
}

fn cluster(scenario: Scenario) -> Cluster {
    let server = Server::recorded(&workspace().join("fixtures/cluster/v1.20"), scenario).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = server.kubeconfig(dir.path()).unwrap();
    Cluster {
        server,
        _dir: dir,
        kubeconfig,
    }
}

fn settings_at(target: &str) -> LiveSettings<'static> {
    let target: KubeVersion = target.parse().unwrap();
    // One retry: the fixture's metrics API answers 503 for good, and backoff is slow.
    // The day the CLI's snapshots are taken on (`UPCHECK_TODAY` in its tests): the support
    // window (PATH003) depends on it.
    LiveSettings::new(Catalog::embedded(), Targets::kubernetes(target, None))
        .requests(Duration::from_secs(30), 1)
        .today("2026-12-01".parse().ok())
}

fn scan_blocking(
    c: &Cluster,
    context: &str,
    settings: &LiveSettings<'_>,
) -> Result<Report, LiveError> {
    scan_cluster_blocking(Some(&c.kubeconfig), Some(context), settings)
}

/// The rows of one table in the CLI's text snapshot of `upcheck cluster -t 1.22` on this
/// fixture: the first `columns` cells of each line after the header starting with `header`,
/// up to the blank line.
fn snapshot_rows(header: &str, columns: usize) -> Vec<Vec<String>> {
    let path =
        workspace().join(
            "scanner-cli/tests/integration/snapshots/integration__cluster__recorded_1_20_text_report.snap",
        );
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines().skip_while(|l| !l.starts_with(header)).skip(1);
    let mut rows = Vec::new();
    for line in lines.by_ref() {
        if line.trim().is_empty() {
            break;
        }
        rows.push(
            line.split_whitespace()
                .take(columns)
                .map(str::to_owned)
                .collect(),
        );
    }
    assert!(!rows.is_empty(), "no rows under {header:?}");
    rows.sort();
    rows
}

#[test]
fn a_blocking_scan_reports_what_upcheck_cluster_reports() {
    let c = cluster(Scenario::default());
    let report = scan_blocking(&c, "recorded", &settings_at("1.22")).unwrap();

    let mut findings: Vec<Vec<String>> = report
        .findings
        .iter()
        .map(|f| {
            vec![
                f.name.clone().unwrap_or_default(),
                f.kind.clone(),
                f.api_version.clone(),
            ]
        })
        .collect();
    findings.sort();
    assert_eq!(findings, snapshot_rows("NAME ", 3));

    let readiness = report.readiness.as_ref().expect("checks ran");
    // The server's /version made 1.20 the current version.
    assert_eq!(readiness.current.to_string(), "1.20");
    let mut checks: Vec<Vec<String>> = readiness
        .findings
        .iter()
        .map(|f| vec![f.severity.as_str().to_owned(), f.code.clone()])
        .collect();
    checks.sort();
    // The table ends with a "not run:" line about the checks that could not run.
    let mut expected = snapshot_rows("SEVERITY ", 2);
    expected.retain(|row| row[0] != "not");
    assert_eq!(checks, expected);

    let cluster = report.cluster.as_ref().expect("a cluster section");
    assert_eq!(cluster.info.context, "recorded");
    assert_eq!(
        cluster.info.server,
        format!("http://127.0.0.1:{}", c.server.port)
    );
    // The recorded aggregated API without a backend (metrics.k8s.io, 503) is a notice: the
    // catalog knows no deprecated version of its group, so nothing the scan needed is missing.
    assert!(!report.is_incomplete(), "{:?}", report.errors);
    assert!(
        report
            .warnings
            .iter()
            .any(|w| w.kind == scanner_core::WarningKind::ApiUnavailable
                && w.path == "/apis/metrics.k8s.io/v1beta1"),
        "{:?}",
        report.warnings
    );
}

/// A resource that both the write-history judge and the checks read (PDBs, HPAs, webhooks,
/// ...) is listed once, through one version: no collection is requested twice.
#[test]
fn each_collection_is_listed_once() {
    let c = cluster(Scenario::default());
    scan_blocking(&c, "recorded", &settings_at("1.22")).unwrap();
    let mut lists: Vec<String> = c
        .server
        .requests()
        .iter()
        // First pages only (no continue token), without the paging and selector query.
        .filter(|r| !r.contains("continue="))
        .map(|r| r.split('?').next().unwrap_or_default().to_owned())
        // Collections, not discovery documents: /api/v1/RESOURCE, /apis/GROUP/VERSION/RESOURCE.
        .filter(|p| {
            let depth = p.matches('/').count();
            (p.starts_with("/api/") && depth >= 3) || (p.starts_with("/apis/") && depth >= 4)
        })
        .collect();
    lists.sort();
    let twice: Vec<&String> = lists
        .windows(2)
        .filter(|w| w[0] == w[1])
        .map(|w| &w[0])
        .collect();
    assert!(twice.is_empty(), "listed twice: {twice:?}");
    for shared in [
        "/apis/policy/v1beta1/poddisruptionbudgets",
        "/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations",
    ] {
        assert!(
            lists.iter().any(|l| l == shared),
            "{shared} not listed: {lists:?}"
        );
    }
}

#[test]
fn an_async_caller_brings_its_own_client_and_runtime() {
    let c = cluster(Scenario::default());
    let settings = settings_at("1.22").checks(None, None);
    let expected = scan_blocking(&c, "recorded", &settings).unwrap();

    let kubeconfig = c.kubeconfig.clone();
    let server = format!("http://127.0.0.1:{}", c.server.port);
    let progress = Arc::new(Progress::new());
    let settings = settings.progress(Arc::clone(&progress));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (report, state) = runtime.block_on(async {
        // A client configured by the caller, as an operator or controller would hold one.
        let mut config = kube::Config::from_custom_kubeconfig(
            kube::config::Kubeconfig::read_from(&kubeconfig).unwrap(),
            &kube::config::KubeConfigOptions::default(),
        )
        .await
        .unwrap();
        // As `from_client` asks: the scan retries 503s itself, with a budget.
        config.default_retry = false;
        let client = LiveClient::from_client(kube::Client::try_from(config).unwrap())
            .named("recorded", server.clone());
        let report = scan_cluster(&client, &settings).await.unwrap();
        let with_state = scan_cluster_with_state(&client, &settings).await.unwrap();
        (report, with_state.state)
    });
    assert_eq!(
        serde_json::to_value(&report).unwrap(),
        serde_json::to_value(&expected).unwrap()
    );
    assert!(report.readiness.is_none());
    // No checks: no readiness list was read.
    assert!(state.list(scanner_core::checks::Resource::Nodes).is_empty());
    // Both scans counted what they read.
    assert!(progress.total() > 0);
    assert_eq!(progress.done(), 2 * progress.total());
    assert!(progress.objects() > 0);
}

#[test]
fn a_snapshot_read_holds_the_clusters_state() {
    let c = cluster(Scenario::default());
    let settings = LiveSettings::default();
    let read = block_on(None, async {
        let client = LiveClient::from_kubeconfig(Some(&c.kubeconfig), None).await?;
        read_snapshot(&client, &settings).await
    })
    .unwrap();
    assert_eq!(read.snapshot.cluster.context, "recorded");
    assert!(read.snapshot.cluster.server_version.is_some());
    assert!(!read.snapshot.nodes.is_empty());
    assert!(!read.snapshot.helm.is_empty());
}

#[test]
fn failures_that_end_the_scan_are_typed() {
    let c = cluster(Scenario::default());
    let settings = settings_at("1.22");

    match scan_blocking(&c, "bad-creds", &settings) {
        Err(LiveError::Unauthorized { context, .. }) => assert_eq!(context, "bad-creds"),
        other => panic!("expected a 401, got {other:?}"),
    }
    match scan_blocking(&c, "prod", &settings) {
        Err(LiveError::UnknownContext { context, known, .. }) => {
            assert_eq!(context, "prod");
            assert_eq!(known, ["recorded", "bad-creds"]);
        }
        other => panic!("expected an unknown context, got {other:?}"),
    }
    let missing = c.kubeconfig.with_file_name("missing");
    match scan_cluster_blocking(Some(&missing), None, &settings) {
        Err(e @ LiveError::Kubeconfig { .. }) => {
            assert!(std::error::Error::source(&e).is_some(), "the cause is kept");
        }
        other => panic!("expected a kubeconfig error, got {other:?}"),
    }
    match scan_blocking(&c, "recorded", &settings.clone().concurrency(0)) {
        Err(LiveError::Settings(_)) => {}
        other => panic!("expected refused settings, got {other:?}"),
    }
}

#[test]
fn an_unreachable_server_and_a_slow_one_end_the_scan() {
    let dir = tempfile::tempdir().unwrap();
    // A port that was free a moment ago: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let kubeconfig = dir.path().join("kubeconfig");
    std::fs::write(
        &kubeconfig,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: gone\n  cluster: {{server: http://127.0.0.1:{port}}}\ncontexts:\n- name: gone\n  context: {{cluster: gone, user: u}}\ncurrent-context: gone\nusers:\n- name: u\n  user: {{token: t}}\n"
        ),
    )
    .unwrap();
    let settings = settings_at("1.22").requests(Duration::from_secs(5), 0);
    match scan_cluster_blocking(Some(&kubeconfig), None, &settings) {
        Err(LiveError::Unreachable { context, .. }) => assert_eq!(context, "gone"),
        other => panic!("expected an unreachable server, got {other:?}"),
    }

    // Discovery hangs; the whole read is cut short and no report is made.
    let c = cluster(Scenario {
        slow: [("/apis".to_owned(), Duration::from_secs(3))].into(),
        ..Scenario::default()
    });
    let settings = settings_at("1.22").scan_timeout(Some(Duration::from_millis(300)));
    match scan_blocking(&c, "recorded", &settings) {
        Err(LiveError::ScanTimeout(limit)) => assert_eq!(limit, Duration::from_millis(300)),
        other => panic!("expected a scan timeout, got {other:?}"),
    }
}

#[test]
fn the_example_program_scans_the_test_server() {
    let c = cluster(Scenario::default());
    let args = [
        "--kubeconfig",
        c.kubeconfig.to_str().unwrap(),
        "--context",
        "recorded",
        "--target",
        "1.22",
    ];
    let report = example::run(args.map(str::to_owned)).unwrap();
    assert_eq!(report.findings.len(), snapshot_rows("NAME ", 3).len());
    assert!(report.readiness.is_some());

    let err = example::run(["--context".to_owned()]).unwrap_err();
    assert_eq!(err, "--context needs a value");
}
