//! `upcheck cluster` over several kubeconfig contexts: each cluster is scanned on its own
//! thread (at most `--parallel-clusters` at once), with its own timeouts; a cluster that
//! cannot be read is an error for that cluster only. The exit code is the worst of them.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::{Context, Result, bail};
use globset::Glob;
use scanner_core::live;
use scanner_core::{FleetMember, FleetReport, Report};

use super::cluster::{LiveArgs, What, fail_on};
use crate::args::{ClusterArgs, ConnectionArgs, FleetArgs, OutputFormat};
use crate::cluster::progress::Progress;
use crate::{Stderr, exit, render};

/// The contexts to scan: those named with `--context` in their order, then the kubeconfig's
/// (all of them, or those matching the glob) in the file's order, each once.
pub fn contexts(connection: &ConnectionArgs, fleet: &FleetArgs) -> Result<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    for c in &connection.context {
        if !out.contains(c) {
            out.push(c.clone());
        }
    }
    if !fleet.all_contexts && fleet.contexts_matching.is_none() {
        return Ok(out);
    }
    let known = live::kubeconfig_contexts(connection.kubeconfig.as_deref())
        .context("cannot read the kubeconfig's contexts")?;
    if known.is_empty() {
        match &connection.kubeconfig {
            Some(path) => bail!("the kubeconfig {} has no contexts", path.display()),
            None => bail!(
                "no kubeconfig with contexts was found ($KUBECONFIG, ~/.kube/config): pass --kubeconfig"
            ),
        }
    }
    let matcher = fleet
        .contexts_matching
        .as_deref()
        .map(|g| {
            Glob::new(g)
                .map(|g| g.compile_matcher())
                .with_context(|| format!("invalid --contexts-matching glob {g:?}"))
        })
        .transpose()?;
    let chosen: Vec<&String> = known
        .iter()
        .filter(|c| matcher.as_ref().is_none_or(|m| m.is_match(c.as_str())))
        .collect();
    if let Some(glob) = &fleet.contexts_matching
        && chosen.is_empty()
    {
        bail!(
            "no context matches --contexts-matching {glob:?} (contexts: {})",
            known.join(", ")
        );
    }
    for c in chosen {
        if !out.contains(c) {
            out.push(c.clone());
        }
    }
    Ok(out)
}

/// Scans every context and writes the fleet report.
pub fn run(cli: &crate::args::Cli, args: &ClusterArgs, err: &mut Stderr) -> Result<u8> {
    if args.report.write_baseline.is_some() {
        bail!("--write-baseline writes one cluster's findings; scan that cluster alone");
    }
    let specs = super::outputs(&args.report)?;
    if let Some(spec) = specs.iter().find(|s| {
        !matches!(
            s.format,
            OutputFormat::Text
                | OutputFormat::Wide
                | OutputFormat::Markdown
                | OutputFormat::Json
                | OutputFormat::Yaml
        )
    }) {
        bail!(
            "-o {} is not written for several clusters; use text, wide, markdown, json or yaml",
            spec.format.name()
        );
    }
    let columns = super::columns(&args.report)?;
    let contexts = contexts(&args.connection, &args.fleet)?;
    if contexts.is_empty() {
        bail!("no context to scan");
    }
    let results = scan_all(args, &contexts);

    let readiness_fail_on = (!args.no_checks).then(|| fail_on(&args.checks)).flatten();
    let gate = super::gate(&args.report, readiness_fail_on);
    let mut members = Vec::with_capacity(results.len());
    let mut codes = Vec::with_capacity(results.len());
    let mut notes: Vec<String> = Vec::new();
    for (context, result) in contexts.iter().zip(results) {
        match result {
            Ok((mut report, scan_notes)) => {
                let suppressed = super::apply_suppressions(cli, &mut report, &args.report)?;
                codes.push(exit::exit_code(&report, gate));
                diagnostics(Some(context), &report, Some(&suppressed), cli.quiet, err);
                for n in scan_notes {
                    if !notes.contains(&n) {
                        notes.push(n);
                    }
                }
                members.push(FleetMember::scanned(context.clone(), report));
            }
            Err(e) => {
                let message = format!("{e:#}");
                err.error(&format!("cluster {context}: {message}"));
                codes.push(exit::ERROR);
                members.push(FleetMember::failed(context.clone(), message));
            }
        }
    }
    let fleet = FleetReport::new(members);
    crate::interrupt::begin_output();
    super::write_outputs(
        cli,
        &specs,
        columns.as_deref(),
        gate,
        &args.report,
        |opts, out| render::fleet::render(&fleet, opts, out),
    )?;
    if !cli.quiet {
        for n in &notes {
            err.note(n);
        }
    }
    Ok(exit::worst(codes))
}

/// One cluster's errors, warnings and notes on stderr, each naming the cluster.
/// A report's errors and warnings on stderr, each named with its cluster in a fleet
/// (`cluster prod: ...`). With `notes`, the report's notes and those lines (suppressed
/// findings) too; `upcheck plan` shows its notes in the plan instead.
pub fn diagnostics(
    context: Option<&str>,
    report: &Report,
    notes: Option<&[String]>,
    quiet: bool,
    err: &mut Stderr,
) {
    let named = |text: &dyn std::fmt::Display| match context {
        Some(c) => format!("cluster {c}: {text}"),
        None => text.to_string(),
    };
    for e in &report.errors {
        err.error(&named(e));
    }
    if quiet {
        return;
    }
    for w in &report.warnings {
        err.warning(&named(w));
    }
    if let Some(extra) = notes {
        for n in report.notes.iter().map(|n| &n.message).chain(extra) {
            err.note(&named(n));
        }
    }
}

type Scanned = Result<(Report, Vec<String>)>;

/// Scans each context with [`scan_one`].
fn scan_all(args: &ClusterArgs, contexts: &[String]) -> Vec<Scanned> {
    each_context(contexts, args.fleet.parallel_clusters, |context| {
        scan_one(args, context)
    })
}

/// Runs `work` for each context on a pool of `parallel` threads; results in the contexts'
/// order, whatever order the work finishes in.
pub fn each_context<T: Send>(
    contexts: &[String],
    parallel: u16,
    work: impl Fn(&str) -> Result<T> + Sync,
) -> Vec<Result<T>> {
    let next = AtomicUsize::new(0);
    let results: Vec<Mutex<Option<Result<T>>>> =
        contexts.iter().map(|_| Mutex::new(None)).collect();
    let workers = usize::from(parallel).clamp(1, contexts.len().max(1));
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(context) = contexts.get(i) else {
                        break;
                    };
                    let done = work(context);
                    if let Ok(mut slot) = results[i].lock() {
                        *slot = Some(done);
                    }
                }
            });
        }
    });
    results
        .into_iter()
        .map(|slot| {
            slot.into_inner()
                .ok()
                .flatten()
                .unwrap_or_else(|| Err(anyhow::anyhow!("the scan stopped before it reported")))
        })
        .collect()
}

/// One cluster, read exactly as `upcheck cluster --context CONTEXT` reads it.
fn scan_one(args: &ClusterArgs, context: &str) -> Scanned {
    let mut connection = args.connection.clone();
    connection.context = vec![context.to_owned()];
    let live = LiveArgs {
        connection: &connection,
        targets: &args.targets,
        catalog: &args.catalog,
        report: &args.report,
        checks: (!args.no_checks).then_some(&args.checks),
        what: What {
            objects: true,
            helm: !args.no_helm,
            all_revisions: args.all_revisions,
        },
        provider: Some(&args.provider),
    };
    let (report, notes, _) = super::cluster::report(&live, &Progress::new(false))?;
    Ok((report, notes))
}
