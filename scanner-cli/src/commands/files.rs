//! `upcheck files`: scan manifests.

use std::io::{self, IsTerminal, Write};

use anyhow::{Context, Result};
use scanner_core::{Input, ScanSettings, Scanner, WalkOptions};

use crate::args::{Cli, FilesArgs, OutputFormat};
use crate::render::{self, RenderOptions};
use crate::{Stderr, exit, setup, targets};

pub fn run(cli: &Cli, args: &FilesArgs, err: &mut Stderr) -> Result<u8> {
    let loaded = setup::load(&args.catalog)?;
    let catalog = &*loaded.catalog;
    let (targets, target_notes) = targets::resolve(&args.targets, catalog, &loaded.file_targets)?;
    let columns = if args.columns.is_empty() {
        None
    } else {
        if matches!(args.output, OutputFormat::Json | OutputFormat::Yaml) {
            let name = clap::ValueEnum::to_possible_value(&args.output)
                .map_or_else(String::new, |v| v.get_name().to_owned());
            anyhow::bail!("--columns applies to text, wide, markdown and csv output, not {name}");
        }
        Some(render::columns::parse_columns(&args.columns)?)
    };
    let settings = ScanSettings {
        targets,
        only_removed: args.only_removed,
        walk: WalkOptions {
            respect_ignore_files: !args.no_ignore,
            hidden: !args.skip_hidden,
            follow_symlinks: !args.no_follow,
        },
    };

    let mut inputs = Vec::new();
    let mut stdin_read = false;
    let paths: Vec<std::path::PathBuf> = if args.paths.is_empty() {
        vec![".".into()]
    } else {
        args.paths.clone()
    };
    for p in paths {
        if p.as_os_str() == "-" {
            if stdin_read {
                anyhow::bail!("`-` (stdin) given more than once");
            }
            stdin_read = true;
            inputs.push(Input::stdin().context("cannot read stdin")?);
        } else {
            inputs.push(Input::Path(p));
        }
    }

    let scanner = Scanner::new(catalog, settings);
    let report = match args.threads {
        Some(0) => anyhow::bail!("--threads must be at least 1"),
        Some(n) => rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build()
            .context("cannot start the worker threads")?
            .install(|| scanner.scan(inputs)),
        None => scanner.scan(inputs),
    };

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
    let written = render::render(&report, &opts, &mut out)
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
        for n in loaded.notes.iter().chain(&target_notes) {
            err.note(n);
        }
        for n in &report.notes {
            err.note(&n.message);
        }
    }
    Ok(exit::exit_code(
        &report,
        exit::Gate {
            ignore_deprecations: args.ignore_deprecations,
            ignore_removals: args.ignore_removals,
            ignore_unavailable_replacements: args.ignore_unavailable_replacements,
            allow_incomplete: args.allow_incomplete,
        },
    ))
}
