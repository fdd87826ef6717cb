//! The entry points of a live scan: connect, read in the order `requests` decides, judge,
//! and build the report.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use super::client::{Connection, LiveClient};
use super::cluster::{ClusterInfo, ClusterJudge, ClusterOutcome};
use super::error::LiveError;
use super::helm::HelmRelease;
use super::requests::{self, Options};
use super::settings::LiveSettings;
use crate::checks::{self, ClusterState, Resource};
use crate::snapshot::{ClusterFacts, Snapshot};
use crate::{Report, ScanError, ScanSettings, ScanWarning, Target, WalkOptions};

/// A live scan's report and the lists its readiness checks read.
#[derive(Debug)]
#[non_exhaustive]
pub struct LiveScan {
    /// The same report a file scan makes, with its `cluster` section.
    pub report: Report,
    /// The lists read for the readiness checks (nodes, pods, workloads, ...), each object
    /// trimmed to the fields the checks, snapshots and `plan` read; a list that could not be
    /// read holds the reason.
    pub state: ClusterState,
}

/// What a snapshot read found, with what went wrong on the way.
#[derive(Debug)]
#[non_exhaustive]
pub struct SnapshotRead {
    /// The cluster's state: nodes, workloads, served APIs, Helm releases, CRDs.
    pub snapshot: Snapshot,
    /// Reads that failed; any error makes the snapshot incomplete.
    pub errors: Vec<ScanError>,
    /// Notices (retried requests, server warnings, lists resumed).
    pub warnings: Vec<ScanWarning>,
}

/// Scans a cluster and returns the report.
///
/// Fails only when the cluster cannot be scanned at all (unreachable, credentials refused,
/// [`LiveSettings::scan_timeout`](LiveSettings#structfield.scan_timeout) passed);
/// anything narrower (a forbidden list, an API without a backend) is recorded in the report,
/// and makes it incomplete.
///
/// ```no_run
/// # async fn scan() -> Result<(), scanner_core::live::LiveError> {
/// use scanner_core::live::{LiveClient, LiveSettings, scan_cluster};
/// use scanner_core::{Catalog, Targets};
///
/// let client = LiveClient::from_kubeconfig(None, Some("staging")).await?;
/// let target = "1.33".parse().expect("a version");
/// let settings = LiveSettings::new(Catalog::embedded(), Targets::kubernetes(target, None));
/// let report = scan_cluster(&client, &settings).await?;
/// for finding in &report.findings {
///     println!("{}: {}", finding.code, finding.message);
/// }
/// # Ok(())
/// # }
/// ```
pub async fn scan_cluster(
    client: &LiveClient,
    settings: &LiveSettings<'_>,
) -> Result<Report, LiveError> {
    scan_cluster_with_state(client, settings)
        .await
        .map(|scan| scan.report)
}

/// As [`scan_cluster`], and also returns the lists the readiness checks read.
pub async fn scan_cluster_with_state(
    client: &LiveClient,
    settings: &LiveSettings<'_>,
) -> Result<LiveScan, LiveError> {
    settings.validate()?;
    within(settings.scan_timeout, scan(client, settings)).await
}

/// Reads what a [`Snapshot`] records: served APIs, every readiness list, the newest revision
/// of each Helm release, and the provider facts given with [`LiveSettings::provider`]. Of
/// `settings`, only the connection settings, the namespace and the provider count.
pub async fn read_snapshot(
    client: &LiveClient,
    settings: &LiveSettings<'_>,
) -> Result<SnapshotRead, LiveError> {
    settings.validate()?;
    within(settings.scan_timeout, snapshot(client, settings)).await
}

/// Scans the cluster of `context` in the kubeconfig at `kubeconfig` (defaults as
/// [`LiveClient::from_kubeconfig`]) on a runtime of its own, for callers without one.
///
/// ```no_run
/// use std::path::Path;
/// use scanner_core::live::{LiveSettings, scan_cluster_blocking};
/// use scanner_core::{Catalog, Targets};
///
/// let target = "1.33".parse().expect("a version");
/// let settings = LiveSettings::new(Catalog::embedded(), Targets::kubernetes(target, None));
/// let report = scan_cluster_blocking(Some(Path::new("kubeconfig")), None, &settings)?;
/// println!("{} finding(s)", report.findings.len());
/// # Ok::<(), scanner_core::live::LiveError>(())
/// ```
pub fn scan_cluster_blocking(
    kubeconfig: Option<&Path>,
    context: Option<&str>,
    settings: &LiveSettings<'_>,
) -> Result<Report, LiveError> {
    block_on(settings.scan_timeout, async {
        let client =
            LiveClient::from_kubeconfig_with_timeout(kubeconfig, context, settings.timeout).await?;
        scan_cluster(&client, settings).await
    })
}

/// Runs `work` on a new single-threaded runtime, bounded by `scan_timeout`: whatever the
/// cluster does, the call returns, and work cut short is [`LiveError::ScanTimeout`].
///
/// Make the [`LiveClient`] inside `work`: the kube client belongs to the runtime it was
/// made on. One thread is enough: the scan waits on the network, and parsing a page is
/// cheap next to fetching it.
pub fn block_on<T>(
    scan_timeout: Option<Duration>,
    work: impl Future<Output = Result<T, LiveError>>,
) -> Result<T, LiveError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(LiveError::Runtime)?;
    runtime.block_on(within(scan_timeout, work))
}

/// `work`, or [`LiveError::ScanTimeout`] once `limit` has passed; the work is dropped then.
async fn within<T>(
    limit: Option<Duration>,
    work: impl Future<Output = Result<T, LiveError>>,
) -> Result<T, LiveError> {
    let Some(limit) = limit.filter(|l| !l.is_zero()) else {
        return work.await;
    };
    match tokio::time::timeout(limit, work).await {
        Ok(result) => result,
        Err(_) => Err(LiveError::ScanTimeout(limit)),
    }
}

fn options(settings: &LiveSettings<'_>) -> Options {
    Options {
        namespace: settings.namespace.clone(),
        concurrency: settings.concurrency,
        page_size: settings.page_size,
        objects: settings.objects,
        helm: settings.helm,
        all_revisions: settings.all_revisions,
        endpoints: BTreeSet::new(),
    }
}

async fn scan(client: &LiveClient, settings: &LiveSettings<'_>) -> Result<LiveScan, LiveError> {
    let conn = Connection::new(client, settings.timeout, settings.retries);
    let mut out = ClusterOutcome::default();
    let server_version = requests::server_version(&conn, &mut out).await?;
    let mut targets = settings.targets.clone();
    if settings.current_from_server
        && let Some(v) = server_version
            .as_deref()
            .and_then(|v| v.parse::<crate::KubeVersion>().ok())
        && let Some(t) = targets.get("k8s").copied()
    {
        targets.set(
            "k8s",
            Target {
                target: t.target,
                current: Some(v),
            },
        );
    }
    let k8s = targets.get("k8s").copied();
    let scan_settings = ScanSettings {
        targets,
        only_removed: settings.only_removed,
        walk: WalkOptions::default(),
        keep_for_checks: false,
        parse: crate::parse::ParseLimits::default(),
    };
    let judge = ClusterJudge::new(settings.catalog, scan_settings);
    let info = ClusterInfo {
        context: conn.context.clone(),
        server: conn.server.clone(),
        server_version,
        namespace: settings.namespace.clone(),
    };
    // The lists the selected readiness checks need.
    let needs: BTreeSet<Resource> = match &settings.checks {
        Some(sel) => checks::REGISTRY
            .iter()
            .filter(|c| sel.includes(c.code))
            .flat_map(|c| c.needs.iter().chain(c.uses).copied())
            .collect(),
        None => BTreeSet::new(),
    };
    let endpoints = settings
        .checks
        .as_ref()
        .map(checks::endpoints)
        .unwrap_or_default();
    let progress = settings.progress.clone().unwrap_or_default();
    let opts = Options {
        endpoints,
        ..options(settings)
    };
    let (mut out, mut state) = requests::scan(
        &conn,
        &judge,
        settings.catalog,
        &opts,
        &needs,
        &progress,
        out,
    )
    .await?;
    requests::record_retries(&conn, &mut out);
    let mut report = judge.finish(info, out);
    // A provider that could not be read leaves the scan incomplete, as a 403 does.
    report.errors.extend(settings.provider.errors());
    // What the provider saw clients call joins what the apiserver's metric says.
    if let (Some(cluster), Some(facts), Some(t)) =
        (report.cluster.as_mut(), settings.provider.eks(), k8s)
    {
        cluster.provider_api_clients = facts.api_clients(t.target);
    }
    state.set_provider(settings.provider.clone());
    if let (Some(selection), Some(t)) = (&settings.checks, k8s) {
        // From the current version (the server's, or the one given) to the target.
        let current = t.current.unwrap_or(t.target);
        report.readiness = Some(checks::run_with(
            &state,
            current,
            t.target,
            selection,
            false,
            checks::Options::new(settings.kubectl, settings.drain_budget).today(settings.today),
        ));
    }
    Ok(LiveScan { report, state })
}

async fn snapshot(
    client: &LiveClient,
    settings: &LiveSettings<'_>,
) -> Result<SnapshotRead, LiveError> {
    let conn = Connection::new(client, settings.timeout, settings.retries);
    let mut out = ClusterOutcome::default();
    let server_version = requests::server_version(&conn, &mut out).await?;
    let opts = Options {
        objects: true,
        helm: true,
        all_revisions: true,
        ..options(settings)
    };
    let (served, state, used, releases) =
        requests::snapshot_read(&conn, settings.catalog, &opts, &mut out).await?;
    requests::record_retries(&conn, &mut out);
    // Per release, the newest revision whatever its status: a failed upgrade shows.
    let mut newest: Vec<HelmRelease> = Vec::new();
    for r in releases {
        match newest
            .iter_mut()
            .find(|n| n.namespace == r.namespace && n.name == r.name)
        {
            Some(n) if n.revision < r.revision => *n = r,
            Some(_) => {}
            None => newest.push(r),
        }
    }
    let facts = ClusterFacts {
        context: conn.context.clone(),
        server: conn.server.clone(),
        server_version,
    };
    let mut snapshot = Snapshot::capture(facts, &state, &served, &used, &newest);
    for api in &out.unavailable_apis {
        snapshot.record_unavailable_api(&api.api_version, api.status);
    }
    snapshot.record_provider(&settings.provider);
    let mut errors = out.common.errors;
    errors.extend(settings.provider.errors());
    Ok(SnapshotRead {
        snapshot,
        errors,
        warnings: out.common.warnings,
    })
}
