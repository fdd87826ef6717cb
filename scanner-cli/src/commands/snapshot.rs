//! `upcheck snapshot save` and `upcheck snapshot diff`.

use std::fmt::Write as _;

use anyhow::{Context, Result};
use scanner_core::live;
use scanner_core::snapshot::{self, Change, Diff, DiffOptions, Snapshot};

use crate::args::{
    Cli, ConnectionArgs, PlanFormat, ProviderArgs, SnapshotDiffArgs, SnapshotSaveArgs,
    SnapshotWatchArgs,
};
use crate::{Stderr, exit};

/// Reads the live cluster into a snapshot; errors and warnings go to stderr.
fn capture(
    cli: &Cli,
    connection: &ConnectionArgs,
    provider: Option<&ProviderArgs>,
    err: &mut Stderr,
) -> Result<(Snapshot, bool)> {
    super::cluster::check_connection(connection)?;
    // Snapshots judge nothing: the catalog and targets are not read.
    let settings = super::cluster::settings(
        connection,
        scanner_core::Catalog::embedded(),
        scanner_core::Targets::new(),
    );
    let eks = provider.and_then(|p| super::provider::snapshot_eks_settings(p, connection));
    let out = super::cluster::with_client(connection, |client| async move {
        let settings = match eks {
            Some(eks) => settings.provider(scanner_core::provider::eks::read(&eks).await),
            None => settings,
        };
        live::read_snapshot(&client, &settings).await
    })?;
    let snap = out.snapshot;
    for e in &out.errors {
        err.error(&e.to_string());
    }
    if !cli.quiet {
        for w in &out.warnings {
            err.warning(&w.to_string());
        }
    }
    Ok((snap, out.errors.is_empty()))
}

pub fn save(cli: &Cli, args: &SnapshotSaveArgs, err: &mut Stderr) -> Result<u8> {
    let (snap, complete) = capture(cli, &args.connection, Some(&args.provider), err)?;
    // Compact: a snapshot of a large cluster is read by tools, not people.
    let text = serde_json::to_string(&snap)? + "\n";
    crate::interrupt::begin_output();
    match &args.output {
        Some(path) => std::fs::write(path, text)
            .with_context(|| format!("cannot write the snapshot to {}", path.display()))?,
        None => super::write_stdout(text.as_bytes())?,
    }
    if !cli.quiet {
        err.note(&format!(
            "snapshot of {} node(s), {} pod(s), {} workload(s), {} Helm release(s)",
            snap.nodes.len(),
            snap.pods.len(),
            snap.workloads.len(),
            snap.helm.len()
        ));
    }
    Ok(if complete { exit::OK } else { exit::ERROR })
}

fn read(path: &std::path::Path) -> Result<Snapshot> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the snapshot {}", path.display()))?;
    Snapshot::parse(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

pub fn diff(cli: &Cli, args: &SnapshotDiffArgs, err: &mut Stderr) -> Result<u8> {
    let before = read(&args.before)?;
    let (after, complete) = match &args.after {
        Some(p) => (read(p)?, true),
        None => capture(cli, &args.connection, None, err)?,
    };
    let d = snapshot::diff(
        &before,
        &after,
        &DiffOptions {
            restart_threshold: args.restart_threshold,
        },
    );
    let text = match args.output {
        PlanFormat::Json => serde_json::to_string_pretty(&d)? + "\n",
        PlanFormat::Text => render(&d, false),
        PlanFormat::Markdown => render(&d, true),
    };
    super::write_stdout(text.as_bytes())?;
    Ok(if !complete {
        exit::ERROR
    } else if d.regressions.is_empty() {
        exit::OK
    } else {
        exit::REGRESSIONS
    })
}

/// `snapshot watch`: reads the cluster every `--interval` seconds, diffs it with the snapshot,
/// and prints a line when a regression appears and when it recovers, each once. A read that
/// fails (the apiserver restarting mid-upgrade) is a warning and the watch goes on.
pub fn watch(cli: &Cli, args: &SnapshotWatchArgs, err: &mut Stderr) -> Result<u8> {
    use std::collections::BTreeMap;
    use std::io::Write as _;
    use std::time::{Duration, Instant};

    let before = read(&args.before)?;
    crate::interrupt::watching();
    let options = DiffOptions {
        restart_threshold: args.restart_threshold,
    };
    let mut shown: BTreeMap<(&'static str, String), Change> = BTreeMap::new();
    let mut last_change = Instant::now();
    let mut reads = 0u64;
    if !cli.quiet {
        err.note(&format!(
            "watching against {} every {}s{}; Ctrl-C stops",
            args.before.display(),
            args.interval,
            args.settle
                .map(|s| format!(", until {s}s without change"))
                .unwrap_or_default()
        ));
    }
    loop {
        match capture(cli, &args.connection, None, err) {
            Ok((now, _)) => {
                reads += 1;
                let d = snapshot::diff(&before, &now, &options);
                let current: BTreeMap<(&'static str, String), Change> = d
                    .regressions
                    .into_iter()
                    .map(|c| ((c.code, c.subject.clone()), c))
                    .collect();
                let mut lines = String::new();
                for (key, c) in &current {
                    if !shown.contains_key(key) {
                        let _ = writeln!(
                            lines,
                            "regression  {:<8} {:<22} {}: {}",
                            c.severity.as_str(),
                            c.code,
                            c.subject,
                            c.message
                        );
                    }
                }
                for (key, c) in &shown {
                    if !current.contains_key(key) {
                        let _ =
                            writeln!(lines, "recovered   {:<8} {:<22} {}", "", c.code, c.subject);
                    }
                }
                if !lines.is_empty() {
                    last_change = Instant::now();
                    let mut out = std::io::stdout().lock();
                    if out
                        .write_all(lines.as_bytes())
                        .and_then(|()| out.flush())
                        .is_err()
                    {
                        // The reader went away (`| head`): nothing left to tell.
                        break;
                    }
                }
                shown = current;
            }
            // The first read must work: a wrong kubeconfig or context is not worth watching.
            Err(e) if reads == 0 => return Err(e),
            Err(e) => err.warning(&format!("cannot read the cluster now: {e:#}; trying again")),
        }
        if let Some(settle) = args.settle
            && reads > 0
            && last_change.elapsed() >= Duration::from_secs_f64(settle)
        {
            break;
        }
        std::thread::sleep(Duration::from_secs_f64(args.interval));
    }
    if !cli.quiet {
        err.note(&format!(
            "{} regression(s) remain after {reads} read(s) of the cluster",
            shown.len()
        ));
    }
    Ok(if shown.is_empty() {
        exit::OK
    } else {
        exit::REGRESSIONS
    })
}

fn render(d: &Diff, markdown: bool) -> String {
    let mut o = String::new();
    let section = |o: &mut String, title: &str, list: &[Change]| {
        if list.is_empty() {
            return;
        }
        if markdown {
            let _ = writeln!(o, "### {title}\n");
            let _ = writeln!(
                o,
                "| severity | change | subject | detail |\n|---|---|---|---|"
            );
            for c in list {
                let _ = writeln!(
                    o,
                    "| {} | {} | {} | {} |",
                    c.severity.as_str(),
                    c.code,
                    c.subject.replace('|', "\\|"),
                    c.message.replace('|', "\\|")
                );
            }
        } else {
            let _ = writeln!(o, "{title}:");
            for c in list {
                let _ = writeln!(
                    o,
                    "  {:<8} {:<22} {}: {}",
                    c.severity.as_str(),
                    c.code,
                    c.subject,
                    c.message
                );
            }
        }
        let _ = writeln!(o);
    };
    section(&mut o, "Regressions", &d.regressions);
    section(&mut o, "Improvements", &d.improvements);
    section(&mut o, "Expected changes", &d.expected);
    let _ = writeln!(
        o,
        "{} regression(s), {} improvement(s), {} expected change(s).",
        d.regressions.len(),
        d.improvements.len(),
        d.expected.len()
    );
    o
}
