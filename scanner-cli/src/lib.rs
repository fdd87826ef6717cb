//! The `upcheck` command line: argument parsing, rendering and exit codes over `scanner-core`.
//!
//! `main.rs` only calls [`main_with_args`]; everything else lives here so tests can drive it.

pub mod args;
mod cluster;
mod commands;
pub mod config;
pub mod exit;
mod interrupt;
pub mod policy;
pub mod render;
mod setup;
mod targets;

use std::ffi::OsString;
use std::io::{self, IsTerminal, Write};

use clap::{CommandFactory, FromArgMatches, Parser};

use args::{CatalogCommand, Cli, ColorChoice, Command};

/// Diagnostics on stderr: `error:`, `warning:` and `note:` lines, coloured on a terminal.
#[derive(Debug)]
pub struct Stderr {
    color: bool,
}

impl Stderr {
    fn line(&mut self, label: &str, code: &str, text: &str) {
        let mut err = io::stderr().lock();
        let _ = if self.color {
            writeln!(err, "\x1b[{code}m{label}\x1b[0m: {text}")
        } else {
            writeln!(err, "{label}: {text}")
        };
    }

    /// An error (always printed).
    pub fn error(&mut self, text: &str) {
        self.line("error", "31", text);
    }

    /// A warning.
    pub fn warning(&mut self, text: &str) {
        self.line("warning", "33", text);
    }

    /// A note.
    pub fn note(&mut self, text: &str) {
        self.line("note", "36", text);
    }
}

/// Parses arguments, runs the command, prints diagnostics, and returns the exit code.
pub fn main_with_args(raw_args: impl IntoIterator<Item = OsString>) -> u8 {
    let raw_args: Vec<OsString> = raw_args.into_iter().collect();
    // Installed as `kubectl-upcheck`, kubectl runs it as `kubectl upcheck`: say so in help.
    let plugin = raw_args
        .first()
        .and_then(|a| std::path::Path::new(a).file_stem())
        .is_some_and(|n| n == "kubectl-upcheck");
    let mut command = Cli::command();
    if plugin {
        command = command.bin_name("kubectl upcheck");
    }
    let parsed = command
        .try_get_matches_from(raw_args)
        .and_then(|m| Cli::from_arg_matches(&m));
    let mut cli = match parsed {
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
    interrupt::install();
    let mut diag = Stderr {
        color: use_color(cli.color, io::stderr().is_terminal()),
    };
    if let Err(e) = config::apply(&mut cli) {
        diag.error(&e.to_string());
        return exit::ERROR;
    }
    let result = match &cli.command {
        Command::Files(args) => commands::files::run(&cli, args, &mut diag),
        Command::Fix(args) => commands::fix::run(&cli, args, &mut diag),
        Command::Cluster(args) if !args.rbac && args.fleet.requested(&args.connection.context) => {
            commands::fleet::run(&cli, args, &mut diag)
        }
        Command::Cluster(_) | Command::Helm(_) => commands::cluster::run(&cli, &mut diag),
        Command::Catalog(CatalogCommand::List(args)) => commands::catalog::list(args, &mut diag),
        Command::Catalog(CatalogCommand::Show(args)) => commands::catalog::show(args, &mut diag),
        Command::Catalog(CatalogCommand::Fetch(args)) => commands::catalog::fetch(args, &mut diag),
        Command::Version(args) => commands::version::run(args, &mut diag),
        Command::Checks(args) => commands::checks::list(args),
        Command::Explain(args) => commands::checks::explain(args),
        Command::Plan(args) => commands::plan::run(&cli, args, &mut diag),
        Command::Snapshot(args::SnapshotCommand::Save(args)) => {
            commands::snapshot::save(&cli, args, &mut diag)
        }
        Command::Snapshot(args::SnapshotCommand::Diff(args)) => {
            commands::snapshot::diff(&cli, args, &mut diag)
        }
        Command::Snapshot(args::SnapshotCommand::Watch(args)) => {
            commands::snapshot::watch(&cli, args, &mut diag)
        }
        Command::Completions(args) => commands::docs::completions(args),
        Command::Man(args) => commands::docs::man(args),
        Command::Serve(args) => commands::serve::run(&cli, args, &mut diag),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            let mut last = e.to_string();
            diag.error(&last);
            let mut stderr = io::stderr().lock();
            for cause in e.chain().skip(1) {
                // Libraries often repeat their source's text in their own message: print a
                // cause only when it adds something.
                let text = cause.to_string();
                if last.contains(&text) {
                    continue;
                }
                let _ = writeln!(stderr, "  cause: {text}");
                last = text;
            }
            exit::ERROR
        }
    }
}

/// Runs `upcheck cluster ...` or `upcheck helm ...` (the arguments as on the command line,
/// program name first) and returns the report instead of printing it, for benchmarks of the
/// command as a whole. Programs that embed a live scan call `scanner_core::live` (feature
/// `live`) with typed settings instead.
pub fn live_report<I, T>(raw_args: I) -> anyhow::Result<scanner_core::Report>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let cli = Cli::try_parse_from(raw_args)?;
    let Some(live) = commands::cluster::options_of(&cli.command) else {
        anyhow::bail!("live_report runs `cluster` and `helm` only");
    };
    live.report()
}

fn init_logging(verbose: u8) {
    // The kube client logs every 4xx/5xx at error level; upcheck reports those itself.
    let level = match verbose {
        0 => "warn,kube_client=off,tower_http=off",
        1 => "info,kube_client=warn",
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

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<io::Error>()
            .is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
            || c.downcast_ref::<serde_json::Error>()
                .is_some_and(|j| j.io_error_kind() == Some(io::ErrorKind::BrokenPipe))
    })
}
