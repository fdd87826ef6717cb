//! Scans a live cluster through `scanner-core`'s public API alone, as a tool embedding
//! upcheck would, and prints the findings.
//!
//! ```text
//! cargo run -p scanner-core --features live --example live_scan -- \
//!     [--kubeconfig FILE] [--context NAME] [--target 1.33] [--no-checks]
//! ```
//!
//! Without `--kubeconfig` the kubeconfig is `$KUBECONFIG`, then `~/.kube/config`, then the
//! pod's service account. Exit code: 0 clean, 2 findings, 1 incomplete scan or error.
#![allow(clippy::print_stderr, clippy::print_stdout)] // a command-line tool

use std::path::PathBuf;
use std::process::ExitCode;

use scanner_core::live::{LiveClient, LiveSettings, block_on, scan_cluster};
use scanner_core::{Catalog, KubeVersion, Report, Targets};

struct Args {
    kubeconfig: Option<PathBuf>,
    context: Option<String>,
    target: KubeVersion,
    checks: bool,
}

fn parse_args(raw: impl IntoIterator<Item = String>) -> Result<Args, String> {
    let mut args = Args {
        kubeconfig: None,
        context: None,
        target: "1.33".parse().map_err(|e| format!("{e}"))?,
        checks: true,
    };
    let mut it = raw.into_iter();
    while let Some(arg) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--kubeconfig" => args.kubeconfig = Some(PathBuf::from(value()?)),
            "--context" => args.context = Some(value()?),
            "--target" => {
                let v = value()?;
                args.target = v.parse().map_err(|e| format!("--target {v:?}: {e}"))?;
            }
            "--no-checks" => args.checks = false,
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(args)
}

fn main() -> ExitCode {
    match run(std::env::args().skip(1)) {
        Ok(report) if !report.errors.is_empty() => ExitCode::FAILURE,
        Ok(report) if report.findings.is_empty() => ExitCode::SUCCESS,
        Ok(_) => ExitCode::from(2),
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Parses the arguments, scans, prints the findings and returns the report.
pub fn run(raw_args: impl IntoIterator<Item = String>) -> Result<Report, String> {
    let args = parse_args(raw_args)?;
    let mut settings =
        LiveSettings::new(Catalog::embedded(), Targets::kubernetes(args.target, None));
    if !args.checks {
        settings = settings.checks(None, None);
    }
    // One runtime for the client and the scan: the kube client belongs to the runtime it was
    // made on. An async program would call `LiveClient::from_kubeconfig` and `scan_cluster`
    // on its own runtime instead.
    let scanned = block_on(settings.scan_timeout, async {
        let client =
            LiveClient::from_kubeconfig(args.kubeconfig.as_deref(), args.context.as_deref())
                .await?;
        println!(
            "scanning context {:?} at {}",
            client.context(),
            client.server()
        );
        scan_cluster(&client, &settings).await
    });
    let report = scanned.map_err(|e| {
        // The error and its causes: "cannot read kubeconfig ...: <why>".
        let mut text = e.to_string();
        let mut source = std::error::Error::source(&e);
        while let Some(s) = source {
            text = format!("{text}: {s}");
            source = s.source();
        }
        text
    })?;
    for f in &report.findings {
        let namespace = f
            .namespace
            .as_deref()
            .map(|n| format!("{n}/"))
            .unwrap_or_default();
        let name = f.name.as_deref().unwrap_or("-");
        println!(
            "{} {} {}/{namespace}{name}: {}",
            f.code, f.api_version, f.kind, f.message
        );
    }
    if let Some(readiness) = &report.readiness {
        for f in &readiness.findings {
            println!("{} {}: {}", f.code, f.severity.as_str(), f.message);
        }
    }
    for e in &report.errors {
        eprintln!("error: {e}");
    }
    println!(
        "{} finding(s), {} readiness finding(s), {} error(s)",
        report.findings.len(),
        report.readiness.as_ref().map_or(0, |r| r.findings.len()),
        report.errors.len()
    );
    Ok(report)
}
