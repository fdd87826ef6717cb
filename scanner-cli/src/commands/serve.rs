//! `upcheck serve`: an in-cluster Prometheus exporter. The main thread scans the cluster
//! every `--interval` (plus up to 10 % jitter) exactly as `upcheck cluster` does; an HTTP
//! thread serves what the last scan that made a report found:
//!
//! - `/metrics`: the Prometheus text format (`metrics.rs`);
//! - `/report`: the report as `upcheck cluster -o json` writes it (503 before the first);
//! - `/healthz`: 200 while the process runs; `/readyz`: 503 until the first report, then 200.
//!
//! A scan that fails (the cluster unreachable, credentials refused, `--scan-timeout`) keeps
//! the previous report and counts in `upcheck_scan_errors_total`. A scan that made a report
//! with errors (a list forbidden) replaces it and sets `upcheck_scan_incomplete`: it is the
//! newest truth, and says what it lacks. SIGTERM and Ctrl-C end the process at once with 0.

mod metrics;

use std::hash::{BuildHasher, Hasher};
use std::io::Write;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use prometheus_client::encoding::prometheus_text;
use scanner_core::Report;

use self::metrics::{Exposition, ScanSummary};
use super::cluster::{self, LiveArgs, What};
use crate::args::{Cli, OutputFormat, ReportArgs, ServeArgs};
use crate::render::{self, RenderOptions};
use crate::{Stderr, setup};

/// What the HTTP thread serves, replaced whole after each scan.
#[derive(Debug)]
struct Pages {
    metrics: Bytes,
    /// The last report as JSON; `None` before the first.
    report: Option<Bytes>,
}

type Shared = Arc<RwLock<Pages>>;

/// `upcheck serve`: runs until interrupted.
pub fn run(cli: &Cli, args: &ServeArgs, err: &mut Stderr) -> Result<u8> {
    // From here on an interrupt is the normal end (exit 0), during a scan too.
    crate::interrupt::serving();
    let report_args = report_args(args);
    let live = live_args(args, &report_args);
    // Settings no scan can run with are refused now, not logged once an interval.
    if let Some(c) = live.checks {
        cluster::selection(c)?;
        cluster::kubectl_version(c)?;
    }
    cluster::check_connection(&args.connection)?;
    let loaded = setup::load(&args.catalog)?;
    let mut exposition = Exposition {
        version: env!("CARGO_PKG_VERSION").to_owned(),
        catalog: scanner_core::report::ToolInfo::new(&loaded.catalog).catalog_version,
        interval: args.interval.as_secs_f64(),
        started_at: unix_seconds(SystemTime::now()),
        errors: 0,
        last: None,
    };
    drop(loaded);

    let listener = std::net::TcpListener::bind(args.listen)
        .with_context(|| format!("cannot listen on {} (--listen)", args.listen))?;
    listener
        .set_nonblocking(true)
        .context("cannot set up the listening socket")?;
    let address = listener
        .local_addr()
        .context("cannot read the listening address")?;
    let shared: Shared = Arc::new(RwLock::new(Pages {
        metrics: Bytes::from(exposition.text()?),
        report: None,
    }));
    let serving = Arc::clone(&shared);
    std::thread::Builder::new()
        .name("http".into())
        .spawn(move || http(listener, serving))
        .context("cannot start the HTTP thread")?;
    // Printed whatever --quiet says: with --listen ...:0 it is the only way to know the port.
    let _ = writeln!(
        std::io::stderr(),
        "upcheck: serving http://{address} (/metrics, /report, /healthz, /readyz); scanning every {}",
        show_interval(args.interval)
    );

    let mut scans: u64 = 0;
    loop {
        let started = Instant::now();
        let scanned = scan(cli, &live, err);
        let took = started.elapsed();
        scans += 1;
        let report = match scanned {
            Ok(report) => {
                exposition.last = Some(Arc::new(ScanSummary::of(
                    &report.0,
                    unix_seconds(SystemTime::now()),
                    took.as_secs_f64(),
                )));
                if !cli.quiet {
                    err.note(&format!(
                        "scan {scans} took {:.1} s: {} finding(s), {} readiness finding(s), {} error(s)",
                        took.as_secs_f64(),
                        report.0.findings.len(),
                        report.0.readiness.as_ref().map_or(0, |r| r.findings.len()),
                        report.0.errors.len()
                    ));
                }
                Some(report.1)
            }
            Err(e) => {
                exposition.errors += 1;
                err.error(&format!(
                    "scan {scans} failed; still serving the previous report: {e:#}"
                ));
                None
            }
        };
        let metrics = Bytes::from(exposition.text()?);
        {
            let mut pages = shared.write().unwrap_or_else(PoisonError::into_inner);
            pages.metrics = metrics;
            if let Some(json) = report {
                pages.report = Some(json);
            }
        }
        std::thread::sleep(with_jitter(args.interval));
    }
}

/// A scanned report (after the config's ignore rules) and its JSON.
struct Scanned(Report, Bytes);

/// One scan, as `upcheck cluster -o json` would make and write it.
fn scan(cli: &Cli, live: &LiveArgs<'_>, err: &mut Stderr) -> Result<Scanned> {
    let mut report = live.report()?;
    let policy = &cli.policy;
    report.apply_ignores(&policy.ignores, &|p| policy.rel_path(p));
    for e in &report.errors {
        err.error(&e.to_string());
    }
    let opts = RenderOptions {
        format: OutputFormat::Json,
        columns: None,
        headers: true,
        color: false,
        gate: crate::exit::Gate::default(),
    };
    let mut json = Vec::new();
    render::render(&report, &opts, &mut json)?;
    Ok(Scanned(report, Bytes::from(json)))
}

/// `upcheck cluster`'s report options, as far as they change the report.
fn report_args(args: &ServeArgs) -> ReportArgs {
    ReportArgs {
        output: Vec::new(),
        baseline: None,
        write_baseline: None,
        columns: Vec::new(),
        no_headers: false,
        only_removed: args.only_removed,
        ignore_deprecations: false,
        ignore_removals: false,
        ignore_unavailable_replacements: false,
        allow_incomplete: false,
    }
}

fn live_args<'a>(args: &'a ServeArgs, report: &'a ReportArgs) -> LiveArgs<'a> {
    LiveArgs {
        connection: &args.connection,
        targets: &args.targets,
        catalog: &args.catalog,
        report,
        checks: (!args.no_checks).then_some(&args.checks),
        // The exporter reads the Kubernetes API only; provider facts are `upcheck cluster`'s.
        provider: None,
        what: What {
            objects: true,
            helm: !args.no_helm,
            all_revisions: args.all_revisions,
        },
    }
}

/// Serves the pages until the process ends. The server has no other way to stop, so a
/// failure here ends the process: an exporter that cannot answer must be restarted.
fn http(listener: std::net::TcpListener, shared: Shared) {
    let served = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
        .context("cannot start the HTTP runtime")
        .and_then(|runtime| {
            runtime.block_on(async {
                let listener = tokio::net::TcpListener::from_std(listener)?;
                axum::serve(listener, router(shared)).await
            })?;
            Ok(())
        });
    let _ = writeln!(
        std::io::stderr(),
        "error: the HTTP server stopped: {}",
        served
            .err()
            .map_or_else(|| "no error".to_owned(), |e| format!("{e:#}"))
    );
    std::process::exit(i32::from(crate::exit::ERROR));
}

fn router(shared: Shared) -> Router {
    Router::new()
        .route("/metrics", get(metrics_page))
        .route("/report", get(report_page))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(ready_page))
        .with_state(shared)
}

fn pages<T>(shared: &Shared, read: impl FnOnce(&Pages) -> T) -> T {
    read(&shared.read().unwrap_or_else(PoisonError::into_inner))
}

async fn metrics_page(State(shared): State<Shared>) -> Response {
    let body = pages(&shared, |p| p.metrics.clone());
    (
        [(header::CONTENT_TYPE, prometheus_text::CONTENT_TYPE)],
        body,
    )
        .into_response()
}

async fn report_page(State(shared): State<Shared>) -> Response {
    match pages(&shared, |p| p.report.clone()) {
        Some(json) => ([(header::CONTENT_TYPE, "application/json")], json).into_response(),
        None => not_yet(),
    }
}

async fn ready_page(State(shared): State<Shared>) -> Response {
    if pages(&shared, |p| p.report.is_some()) {
        "ready\n".into_response()
    } else {
        not_yet()
    }
}

fn not_yet() -> Response {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        "no scan has finished yet\n",
    )
        .into_response()
}

/// `interval` plus a random 0-10 %, so exporters started together (a fleet rollout) spread
/// their scans over the API servers' time instead of all reading at once.
fn with_jitter(interval: Duration) -> Duration {
    // The standard library's per-instance random hash keys are random enough for spreading
    // load; no cryptographic quality is needed.
    let random = std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish();
    // 53 random bits as a fraction in [0, 1).
    #[allow(clippy::cast_precision_loss)]
    let fraction = (random >> 11) as f64 / (1_u64 << 53) as f64;
    interval.mul_f64(1.0 + 0.1 * fraction)
}

fn unix_seconds(t: SystemTime) -> f64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

fn show_interval(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s >= 3600.0 && s % 3600.0 == 0.0 {
        format!("{} h", s / 3600.0)
    } else if s >= 60.0 && s % 60.0 == 0.0 {
        format!("{} min", s / 60.0)
    } else {
        format!("{s} s")
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::{show_interval, with_jitter};

    #[test]
    fn jitter_adds_at_most_a_tenth() {
        let base = Duration::from_hours(1);
        let mut seen = std::collections::BTreeSet::new();
        for _ in 0..200 {
            let d = with_jitter(base);
            assert!(d >= base && d < base + Duration::from_mins(6), "{d:?}");
            seen.insert(d);
        }
        assert!(seen.len() > 100, "jitter is random: {} values", seen.len());
    }

    #[test]
    fn intervals_are_shown_in_their_unit() {
        assert_eq!(show_interval(Duration::from_hours(1)), "1 h");
        assert_eq!(show_interval(Duration::from_mins(15)), "15 min");
        assert_eq!(show_interval(Duration::from_millis(1500)), "1.5 s");
    }
}
