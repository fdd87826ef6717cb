//! `upcheck cluster` and `upcheck helm`: scan a live cluster.

use std::io::{self, IsTerminal, Write};
use std::time::Duration;

use anyhow::{Context, Result};
use scanner_core::live::cluster::{ClusterInfo, ClusterJudge, ClusterOutcome};
use scanner_core::{KubeVersion, ScanSettings, Target, WalkOptions};

use crate::args::{
    CatalogArgs, Cli, ClusterArgs, ConnectionArgs, HelmArgs, OutputFormat, ReportArgs, TargetArgs,
};
use crate::cluster::client::Connection;
use crate::cluster::progress::Progress;
use crate::cluster::{rbac, scan};
use crate::{Stderr, setup, targets};

pub fn run_cluster(cli: &Cli, args: &ClusterArgs, err: &mut Stderr) -> Result<u8> {
    if args.rbac {
        return print_rbac(&args.catalog, args.report.output);
    }
    let what = scan::Options {
        namespace: args.connection.namespace.clone(),
        concurrency: args.connection.concurrency,
        page_size: args.connection.page_size,
        objects: true,
        helm: !args.no_helm,
        all_revisions: args.all_revisions,
    };
    run(
        cli,
        &args.connection,
        &args.targets,
        &args.catalog,
        &args.report,
        &what,
        err,
    )
}

pub fn run_helm(cli: &Cli, args: &HelmArgs, err: &mut Stderr) -> Result<u8> {
    let what = scan::Options {
        namespace: args.connection.namespace.clone(),
        concurrency: args.connection.concurrency,
        page_size: args.connection.page_size,
        objects: false,
        helm: true,
        all_revisions: args.all_revisions,
    };
    run(
        cli,
        &args.connection,
        &args.targets,
        &args.catalog,
        &args.report,
        &what,
        err,
    )
}

fn print_rbac(catalog_args: &CatalogArgs, format: OutputFormat) -> Result<u8> {
    let loaded = setup::load(catalog_args)?;
    let role = rbac::cluster_role(&loaded.catalog);
    let text = match format {
        OutputFormat::Json => serde_json::to_string_pretty(&role)? + "\n",
        OutputFormat::Yaml | OutputFormat::Text => {
            let yaml = serde_saphyr::to_string(&role).context("cannot write the role as YAML")?;
            format!(
                "# The ClusterRole `upcheck cluster` needs (read-only). Bind it with:\n#   kubectl create clusterrolebinding {0} --clusterrole={0} --user=<user>\n{yaml}",
                rbac::ROLE_NAME
            )
        }
        _ => anyhow::bail!("--rbac prints yaml (default) or json"),
    };
    let mut out = io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .context("cannot write to stdout")?;
    Ok(crate::exit::OK)
}

fn run(
    cli: &Cli,
    connection: &ConnectionArgs,
    target_args: &TargetArgs,
    catalog_args: &CatalogArgs,
    report_args: &ReportArgs,
    what: &scan::Options,
    err: &mut Stderr,
) -> Result<u8> {
    let loaded = setup::load(catalog_args)?;
    let catalog = &*loaded.catalog;
    let (mut targets, target_notes) = targets::resolve(target_args, catalog, &loaded.file_targets)?;
    let columns = super::columns(report_args)?;
    let progress =
        Progress::new(!connection.no_progress && !cli.quiet && io::stderr().is_terminal());

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let report = runtime.block_on(async {
        let conn = Connection::open(connection).await?;
        let mut out = ClusterOutcome::default();
        let server_version = scan::server_version(&conn, &mut out).await?;
        // The server's version is today's version: replacements must be served there to
        // migrate before the upgrade.
        if target_args.current.is_empty()
            && let Some(v) = server_version
                .as_deref()
                .and_then(|v| v.parse::<KubeVersion>().ok())
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
        let settings = ScanSettings {
            targets,
            only_removed: report_args.only_removed,
            walk: WalkOptions::default(),
        };
        let judge = ClusterJudge::new(catalog, settings);
        let info = ClusterInfo {
            context: conn.context.clone(),
            server: conn.server.clone(),
            server_version,
            namespace: what.namespace.clone(),
        };
        let scanning = scan::scan(&conn, &judge, catalog, what, &progress, out);
        tokio::pin!(scanning);
        let mut tick = tokio::time::interval(Duration::from_millis(200));
        let out = loop {
            tokio::select! {
                r = &mut scanning => break r,
                _ = tick.tick(), if progress.enabled() => progress.draw(),
            }
        };
        progress.clear();
        anyhow::Ok(judge.finish(info, out?))
    })?;

    let notes: Vec<&String> = loaded.notes.iter().chain(&target_notes).collect();
    super::emit(cli, &report, report_args, columns, &notes, err)
}
