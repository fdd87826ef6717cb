//! One file per command, plus what the scanning commands share: writing the report,
//! printing diagnostics and choosing the exit code.

pub mod catalog;
pub mod checks;
pub mod cluster;
pub mod files;
pub mod version;

use std::io::{self, IsTerminal, Write};

use anyhow::{Context, Result};
use scanner_core::Report;

use crate::args::{Cli, OutputFormat, ReportArgs};
use crate::render::{self, RenderOptions, columns::Column};
use crate::{Stderr, exit};

/// `--columns`, checked against the output format.
fn columns(args: &ReportArgs) -> Result<Option<Vec<Column>>> {
    if args.columns.is_empty() {
        return Ok(None);
    }
    if matches!(args.output, OutputFormat::Json | OutputFormat::Yaml) {
        let name = clap::ValueEnum::to_possible_value(&args.output)
            .map_or_else(String::new, |v| v.get_name().to_owned());
        anyhow::bail!("--columns applies to text, wide, markdown and csv output, not {name}");
    }
    Ok(Some(render::columns::parse_columns(&args.columns)?))
}

/// Writes the report to stdout, its errors, warnings and notes to stderr, and returns the
/// exit code.
fn emit(
    cli: &Cli,
    report: &Report,
    args: &ReportArgs,
    columns: Option<Vec<Column>>,
    notes: &[&String],
    readiness_fail_on: Option<scanner_core::checks::Severity>,
    err: &mut Stderr,
) -> Result<u8> {
    let stdout = io::stdout();
    let color = matches!(args.output, OutputFormat::Text | OutputFormat::Wide)
        && crate::use_color(cli.color, stdout.is_terminal());
    let opts = RenderOptions {
        format: args.output,
        columns,
        headers: !args.no_headers,
        color,
    };
    let mut out = io::BufWriter::with_capacity(1 << 16, stdout.lock());
    let written = render::render(report, &opts, &mut out)
        .and_then(|()| out.flush().context("cannot write the report to stdout"));
    // The reader went away (`| head`): stop quietly, the exit code still tells the result.
    if let Err(e) = written
        && !crate::is_broken_pipe(&e)
    {
        return Err(e);
    }

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
    }
    Ok(exit::exit_code(
        report,
        exit::Gate {
            ignore_deprecations: args.ignore_deprecations,
            ignore_removals: args.ignore_removals,
            ignore_unavailable_replacements: args.ignore_unavailable_replacements,
            allow_incomplete: args.allow_incomplete,
            readiness_fail_on,
        },
    ))
}
