//! The `upcheck` command line: argument parsing, rendering and exit codes over `scanner-core`.
//!
//! `main.rs` only calls [`main_with_args`]; everything else lives here so tests can drive it.

pub mod args;
pub mod exit;
pub mod render;
mod targets;

use std::ffi::OsString;
use std::io::{self, IsTerminal, Write};

use anyhow::{Context, Result};
use clap::Parser;
use scanner_core::{Catalog, Input, ScanSettings, Scanner, WalkOptions};

use args::{Cli, ColorChoice, Command, FilesArgs, OutputFormat};
use render::RenderOptions;

/// Parses arguments, runs the command, prints diagnostics, and returns the exit code.
pub fn main_with_args(argv: impl IntoIterator<Item = OsString>) -> u8 {
    let cli = match Cli::try_parse_from(argv) {
        Ok(cli) => cli,
        Err(e) => {
            // clap exits 2 on usage errors, which here means "deprecated APIs found".
            let code = if e.use_stderr() {
                exit::ERROR
            } else {
                exit::OK
            };
            let _ = e.print();
            return code;
        }
    };
    init_logging(cli.verbose);
    let stderr_color = use_color(cli.color, io::stderr().is_terminal());
    match run(&cli) {
        Ok(code) => code,
        Err(e) => {
            let mut err = io::stderr().lock();
            let label = if stderr_color {
                "\x1b[31merror\x1b[0m"
            } else {
                "error"
            };
            let _ = writeln!(err, "{label}: {e}");
            for cause in e.chain().skip(1) {
                let _ = writeln!(err, "  cause: {cause}");
            }
            exit::ERROR
        }
    }
}

fn init_logging(verbose: u8) {
    let level = match verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("UPCHECK_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(io::stderr)
        .with_ansi(io::stderr().is_terminal())
        .without_time()
        .try_init();
}

fn use_color(choice: ColorChoice, is_terminal: bool) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            is_terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        }
    }
}

fn run(cli: &Cli) -> Result<u8> {
    match &cli.command {
        Command::Files(args) => files(cli, args),
        Command::Version => {
            let catalog = Catalog::embedded();
            let newest = catalog
                .component("k8s")
                .and_then(|c| c.newest_release)
                .map_or_else(|| "unknown".to_owned(), |v| v.to_string());
            let mut out = io::stdout().lock();
            writeln!(out, "upcheck {}", env!("CARGO_PKG_VERSION"))?;
            writeln!(
                out,
                "catalog {} (Kubernetes up to {newest})",
                catalog.meta().data_version
            )?;
            Ok(exit::OK)
        }
    }
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<io::Error>()
            .is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
            || c.downcast_ref::<serde_json::Error>()
                .is_some_and(|j| j.io_error_kind() == Some(io::ErrorKind::BrokenPipe))
    })
}

fn files(cli: &Cli, args: &FilesArgs) -> Result<u8> {
    let catalog = Catalog::embedded();
    let (targets, notes) = targets::resolve(&args.target_version, &args.current, catalog)?;
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
        && use_color(cli.color, stdout.is_terminal());
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
        && !is_broken_pipe(&e)
    {
        return Err(e);
    }

    let stderr_color = use_color(cli.color, io::stderr().is_terminal());
    let mut err = io::stderr().lock();
    for e in &report.errors {
        let label = if stderr_color {
            "\x1b[31merror\x1b[0m"
        } else {
            "error"
        };
        let _ = writeln!(err, "{label}: {e}");
    }
    if !cli.quiet {
        for w in &report.warnings {
            let label = if stderr_color {
                "\x1b[33mwarning\x1b[0m"
            } else {
                "warning"
            };
            let _ = writeln!(err, "{label}: {w}");
        }
        for n in notes {
            let _ = writeln!(err, "note: {n}");
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
