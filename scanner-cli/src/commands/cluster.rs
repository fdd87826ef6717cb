//! `upcheck cluster` and `upcheck helm`: scan a live cluster.

use std::collections::BTreeSet;
use std::io::{self, IsTerminal};
use std::time::Duration;

use anyhow::{Context, Result};
use scanner_core::checks::{self, ClusterState, Resource, Selection, Severity};
use scanner_core::live::cluster::{ClusterInfo, ClusterJudge, ClusterOutcome};
use scanner_core::{KubeVersion, ScanSettings, Target, WalkOptions};

use crate::args::{
    CatalogArgs, CheckSelectArgs, Cli, Command, ConnectionArgs, FailOn, OutputFormat, ReportArgs,
    TargetArgs,
};
use crate::cluster::client::{self, Connection};
use crate::cluster::progress::Progress;
use crate::cluster::{rbac, scan};
use crate::{Stderr, setup, targets};

/// `upcheck cluster` or `upcheck helm`.
pub fn run(cli: &Cli, err: &mut Stderr) -> Result<u8> {
    if let Command::Cluster(args) = &cli.command
        && args.rbac
    {
        return print_rbac(&args.catalog, args.report.stdout_format());
    }
    let live = options_of(&cli.command).context("not a live-cluster command")?;
    // Checked before connecting: a typo in --columns should not cost a cluster scan.
    let columns = super::columns(live.report)?;
    let progress =
        Progress::new(!live.connection.no_progress && !cli.quiet && io::stderr().is_terminal());
    let (report, notes, _) = report(&live, &progress)?;
    let notes: Vec<&String> = notes.iter().collect();
    let fail_on = live.checks.and_then(fail_on);
    super::emit(
        cli,
        report,
        live.report,
        columns.as_deref(),
        &notes,
        fail_on,
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
    super::write_stdout(text.as_bytes())?;
    Ok(crate::exit::OK)
}

/// The options of `upcheck cluster` or `upcheck helm`.
pub fn options_of(command: &Command) -> Option<LiveArgs<'_>> {
    match command {
        Command::Cluster(a) => Some(LiveArgs {
            connection: &a.connection,
            targets: &a.targets,
            catalog: &a.catalog,
            report: &a.report,
            checks: (!a.no_checks).then_some(&a.checks),
            what: scan::Options {
                namespace: a.connection.namespace.clone(),
                concurrency: a.connection.concurrency,
                page_size: a.connection.page_size,
                objects: true,
                helm: !a.no_helm,
                all_revisions: a.all_revisions,
            },
        }),
        Command::Helm(a) => Some(LiveArgs {
            connection: &a.connection,
            targets: &a.targets,
            catalog: &a.catalog,
            report: &a.report,
            checks: None,
            what: scan::Options {
                namespace: a.connection.namespace.clone(),
                concurrency: a.connection.concurrency,
                page_size: a.connection.page_size,
                objects: false,
                helm: true,
                all_revisions: a.all_revisions,
            },
        }),
        _ => None,
    }
}

/// Borrowed arguments of a live scan.
#[derive(Debug)]
pub struct LiveArgs<'a> {
    pub connection: &'a ConnectionArgs,
    pub targets: &'a TargetArgs,
    pub catalog: &'a CatalogArgs,
    pub report: &'a ReportArgs,
    /// The readiness checks to run; `None` for none.
    pub checks: Option<&'a CheckSelectArgs>,
    pub what: scan::Options,
}

impl LiveArgs<'_> {
    /// Runs the scan without a progress line.
    pub fn report(&self) -> Result<scanner_core::Report> {
        report(self, &Progress::new(false)).map(|(r, _, _)| r)
    }
}

/// `--select` and `--ignore`, with unknown codes refused.
pub fn selection(c: &CheckSelectArgs) -> Result<Selection> {
    let selection = Selection {
        select: c.select.clone(),
        ignore: c.ignore.clone(),
    };
    let patterns: Vec<String> = selection
        .select
        .iter()
        .chain(&selection.ignore)
        .cloned()
        .collect();
    let unknown = scanner_core::registry::unmatched(&patterns);
    if !unknown.is_empty() {
        anyhow::bail!(
            "unknown check code or prefix in --select/--ignore: {} (see upcheck checks)",
            unknown.join(", ")
        );
    }
    Ok(selection)
}

/// `--fail-on` as the lowest failing severity.
pub fn fail_on(c: &CheckSelectArgs) -> Option<Severity> {
    match c.fail_on {
        FailOn::Blocker => Some(Severity::Blocker),
        FailOn::Warning => Some(Severity::Warning),
        FailOn::Never => None,
    }
}

/// `--kubectl-version`, parsed.
pub fn kubectl_version(c: &CheckSelectArgs) -> Result<Option<KubeVersion>> {
    c.kubectl_version
        .as_deref()
        .map(|v| {
            v.parse::<KubeVersion>()
                .with_context(|| format!("invalid --kubectl-version {v:?}"))
        })
        .transpose()
}

/// Runs the readiness checks from the current version (the server's, or `--current`).
fn readiness(
    state: &ClusterState,
    k8s: Target,
    selection: &Selection,
    kubectl: Option<KubeVersion>,
) -> checks::Readiness {
    let current = k8s.current.unwrap_or(k8s.target);
    checks::run(state, current, k8s.target, selection, false, kubectl)
}

/// Runs the scan; returns the report, the notes about the catalog and targets, and the state
/// the readiness checks read (nodes among it, for `upcheck plan`).
pub fn report(
    live: &LiveArgs<'_>,
    progress: &Progress,
) -> Result<(scanner_core::Report, Vec<String>, ClusterState)> {
    let LiveArgs {
        connection,
        targets: target_args,
        catalog: catalog_args,
        report: report_args,
        checks,
        ref what,
    } = *live;
    let selection = checks.map(selection).transpose()?;
    let kubectl = match checks {
        Some(c) => kubectl_version(c)?,
        None => None,
    };
    let loaded = setup::load(catalog_args)?;
    let catalog = &*loaded.catalog;
    let (mut targets, target_notes) = targets::resolve(target_args, catalog, &loaded.file_targets)?;

    let report = client::run(connection, async {
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
        let k8s = targets.get("k8s").copied();
        let settings = ScanSettings {
            targets,
            only_removed: report_args.only_removed,
            walk: WalkOptions::default(),
            keep_for_checks: false,
            parse: scanner_core::parse::ParseLimits::default(),
        };
        let judge = ClusterJudge::new(catalog, settings);
        let mut info = ClusterInfo::new(conn.context.clone(), conn.server.clone());
        info.server_version = server_version;
        info.namespace.clone_from(&what.namespace);
        // The lists the selected readiness checks need.
        let needs: BTreeSet<Resource> = match &selection {
            Some(sel) => checks::REGISTRY
                .iter()
                .filter(|c| sel.includes(c.code))
                .flat_map(|c| c.needs.iter().copied())
                .collect(),
            None => BTreeSet::new(),
        };
        let scanning = scan::scan(&conn, &judge, catalog, what, &needs, progress, out);
        tokio::pin!(scanning);
        let mut tick = tokio::time::interval(Duration::from_millis(200));
        let out = loop {
            tokio::select! {
                r = &mut scanning => break r,
                _ = tick.tick(), if progress.enabled() => progress.draw(),
            }
        };
        progress.clear();
        let (mut out, state) = out?;
        scan::record_retries(&conn, &mut out);
        let mut report = judge.finish(info, out);
        if let (Some(sel), Some(t)) = (&selection, k8s) {
            report.readiness = Some(readiness(&state, t, sel, kubectl));
        }
        anyhow::Ok((report, state))
    })?;

    let notes = loaded.notes.iter().chain(&target_notes).cloned().collect();
    Ok((report.0, notes, report.1))
}
