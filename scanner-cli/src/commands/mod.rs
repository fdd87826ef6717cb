//! One file per command, plus what the scanning commands share: writing the report,
//! printing diagnostics and choosing the exit code.

pub mod catalog;
pub mod checks;
pub mod cluster;
pub mod docs;
pub mod files;
pub mod fix;
pub mod fleet;
pub mod plan;
pub mod provider;
pub mod serve;
pub mod snapshot;
pub mod version;

use std::io::{self, IsTerminal, Write};
use std::path::Path;

use anyhow::{Context, Result};
use scanner_core::Report;
use scanner_core::suppress::Baseline;

use crate::args::{Cli, OutputFormat, OutputSpec, ReportArgs};
use crate::render::{self, RenderOptions, columns::Column};
use crate::{Stderr, exit};

/// Today (UTC), for support windows and end-of-life notes; `UPCHECK_TODAY=YYYY-MM-DD` sets it
/// (reproducible plans and tests).
pub fn today() -> Result<scanner_core::checks::Date> {
    if let Ok(t) = std::env::var("UPCHECK_TODAY")
        && !t.is_empty()
    {
        return t
            .parse()
            .with_context(|| format!("UPCHECK_TODAY={t}: not a date"));
    }
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    Ok(scanner_core::checks::Date::from_unix_days(
        i64::try_from(secs / 86_400).unwrap_or(0),
    ))
}

/// Writes a whole output to stdout. A reader that went away (`| head`) is not an error: the
/// exit code still tells the result.
pub fn write_stdout(bytes: &[u8]) -> Result<()> {
    crate::interrupt::begin_output();
    let mut out = io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => Err(e).context("cannot write to stdout"),
        _ => Ok(()),
    }
}

/// The threads that read and parse files: `threads` of them (default: one per core), each
/// with a stack deep enough for the deepest document `--max-yaml-depth` allows, so the parser
/// runs in place instead of on a stack allocated per document.
pub fn worker_pool(threads: Option<usize>) -> Result<rayon::ThreadPool> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads.unwrap_or(0))
        .stack_size(32 << 20)
        .build()
        .context("cannot start the worker threads")
}

/// The `-o` values: at most one to stdout; when every one goes to a file, stdout still gets
/// the text table, so CI logs stay readable.
fn outputs(args: &ReportArgs) -> Result<Vec<OutputSpec>> {
    let mut specs = args.output.clone();
    let to_stdout = specs.iter().filter(|o| o.file.is_none()).count();
    if to_stdout > 1 {
        anyhow::bail!(
            "only one -o can write to stdout; give the others a file (-o sarif=upcheck.sarif)"
        );
    }
    if to_stdout == 0 {
        specs.insert(
            0,
            OutputSpec {
                format: OutputFormat::Text,
                file: None,
            },
        );
    }
    let mut files: Vec<&Path> = specs.iter().filter_map(|o| o.file.as_deref()).collect();
    files.sort();
    if let Some(w) = files.windows(2).find(|w| w[0] == w[1]) {
        anyhow::bail!("two -o outputs write to {}", w[0].display());
    }
    Ok(specs)
}

/// `--columns`, checked against the output formats.
fn columns(args: &ReportArgs) -> Result<Option<Vec<Column>>> {
    if args.columns.is_empty() {
        return Ok(None);
    }
    let specs = outputs(args)?;
    if !specs.iter().any(|o| {
        matches!(
            o.format,
            OutputFormat::Text | OutputFormat::Wide | OutputFormat::Markdown | OutputFormat::Csv
        )
    }) {
        let names: Vec<String> = specs.iter().map(|o| o.format.name()).collect();
        anyhow::bail!(
            "--columns applies to text, wide, markdown and csv output, not {}",
            names.join(", ")
        );
    }
    Ok(Some(render::columns::parse_columns(&args.columns)?))
}

/// Applies the config's ignore rules and the baseline (and writes `--write-baseline`);
/// returns the notes that say what was suppressed or written.
fn apply_suppressions(cli: &Cli, report: &mut Report, args: &ReportArgs) -> Result<Vec<String>> {
    let policy = &cli.policy;
    report.apply_ignores(&policy.ignores, &|p| policy.rel_path(p));
    let mut extra_notes: Vec<String> = Vec::new();
    if let Some(path) = &args.write_baseline {
        let baseline = Baseline::from_report(report);
        let text = serde_json::to_string_pretty(&baseline)? + "\n";
        std::fs::write(path, text)
            .with_context(|| format!("cannot write the baseline {}", path.display()))?;
        extra_notes.push(format!(
            "wrote {} finding(s) to the baseline {}",
            baseline.findings.len(),
            path.display()
        ));
    }
    if let Some(path) = &args.baseline {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the baseline {}", path.display()))?;
        let baseline = Baseline::parse(&text).map_err(|e| {
            anyhow::anyhow!(
                "the baseline {} is not a baseline file: {e}",
                path.display()
            )
        })?;
        report.apply_baseline(&baseline);
    }
    let (rules, annotations, baselined) = report.suppressed_counts();
    if rules + annotations + baselined > 0 {
        extra_notes.push(format!(
            "suppressed {} finding(s): {rules} by ignore rules, {annotations} by {} annotations, {baselined} by the baseline (listed in -o json)",
            rules + annotations + baselined,
            scanner_core::suppress::IGNORE_ANNOTATION
        ));
    }

    Ok(extra_notes)
}

/// What fails the gate, from the `--ignore-*` flags and `--fail-on`.
fn gate(
    args: &ReportArgs,
    readiness_fail_on: Option<scanner_core::checks::Severity>,
) -> exit::Gate {
    exit::Gate {
        ignore_deprecations: args.ignore_deprecations,
        ignore_removals: args.ignore_removals,
        ignore_unavailable_replacements: args.ignore_unavailable_replacements,
        allow_incomplete: args.allow_incomplete,
        readiness_fail_on,
    }
}

/// Writes one output per `-o` (stdout or a file), each rendered by `write`.
fn write_outputs(
    cli: &Cli,
    specs: &[OutputSpec],
    columns: Option<&[Column]>,
    gate: exit::Gate,
    args: &ReportArgs,
    write: impl Fn(&RenderOptions, &mut dyn Write) -> Result<()>,
) -> Result<()> {
    for spec in specs {
        let mut opts = RenderOptions {
            format: spec.format,
            columns: columns.map(<[Column]>::to_vec),
            headers: !args.no_headers,
            color: false,
            gate,
        };
        match &spec.file {
            None => {
                let stdout = io::stdout();
                opts.color = matches!(spec.format, OutputFormat::Text | OutputFormat::Wide)
                    && crate::use_color(cli.color, stdout.is_terminal());
                let mut out = io::BufWriter::with_capacity(1 << 16, stdout.lock());
                let written = write(&opts, &mut out)
                    .and_then(|()| out.flush().context("cannot write the report to stdout"));
                // The reader went away (`| head`): stop quietly, the exit code still tells.
                if let Err(e) = written
                    && !crate::is_broken_pipe(&e)
                {
                    return Err(e);
                }
            }
            Some(path) => {
                let file = std::fs::File::create(path)
                    .with_context(|| format!("cannot create {}", path.display()))?;
                let mut out = io::BufWriter::new(file);
                write(&opts, &mut out)
                    .and_then(|()| out.flush().map_err(Into::into))
                    .with_context(|| format!("cannot write {}", path.display()))?;
            }
        }
    }
    Ok(())
}

/// Applies the config's ignore rules and the baseline, writes the report in every requested
/// format (stdout and files), its errors, warnings and notes to stderr, and returns the exit
/// code.
fn emit(
    cli: &Cli,
    mut report: Report,
    args: &ReportArgs,
    columns: Option<&[Column]>,
    notes: &[&String],
    readiness_fail_on: Option<scanner_core::checks::Severity>,
    err: &mut Stderr,
) -> Result<u8> {
    let specs = outputs(args)?;
    crate::interrupt::begin_output();
    let extra_notes = apply_suppressions(cli, &mut report, args)?;

    let gate = gate(args, readiness_fail_on);
    write_outputs(cli, &specs, columns, gate, args, |opts, out| {
        render::render(&report, opts, out)
    })?;

    for e in &report.errors {
        err.error(&e.to_string());
    }
    if !cli.quiet {
        for w in &report.warnings {
            err.warning(&w.to_string());
        }
        for n in notes {
            err.note(n);
        }
        for n in &report.notes {
            err.note(&n.message);
        }
        for n in &extra_notes {
            err.note(n);
        }
    }
    Ok(exit::exit_code(&report, gate))
}
