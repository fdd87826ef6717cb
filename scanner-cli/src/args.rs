//! Command-line arguments (clap derive).
//!
//! Doc comments here are the `--help` text, printed verbatim: no Markdown backticks.
#![allow(clippy::doc_markdown)]

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Exit codes, shown by `--help`. The README carries the same table; a test keeps them equal.
pub const EXIT_CODES_HELP: &str = "\
Exit codes:
  0  nothing that fails the gate
  1  error, or incomplete scan (an input could not be read or parsed)
  2  deprecated API versions in use at the target
  3  removed API versions in use at the target, or versions that never existed
  4  a replacement exists but is not served yet at the current version
The first of 1, 4, 3, 2 that applies wins; --ignore-* flags drop a class first.";

#[derive(Debug, Parser)]
#[command(
    name = "upcheck",
    version,
    about = "Find what breaks before a Kubernetes upgrade: deprecated and removed API versions in manifests",
    after_help = EXIT_CODES_HELP,
    propagate_version = true,
    disable_help_subcommand = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,

    /// When to use colour: auto (on a terminal, unless NO_COLOR is set), always, never
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, global = true)]
    pub color: ColorChoice,

    /// Print only the report: no warnings or notes on stderr (errors are still printed)
    #[arg(short, long, global = true)]
    pub quiet: bool,

    /// Log what upcheck does to stderr (-v info, -vv debug)
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Scan manifest files, directories and stdin for deprecated and removed API versions
    #[command(after_help = EXIT_CODES_HELP)]
    Files(FilesArgs),
    /// Print the upcheck version and the catalog data version
    Version,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// A table with Pluto's default columns plus the location
    Text,
    /// A table with every lifecycle column
    Wide,
    /// The full report as JSON (schema_version, targets, findings, errors, stats)
    Json,
    /// The full report as YAML
    Yaml,
    /// A Markdown table and summary, to paste into an upgrade ticket
    Markdown,
    /// Comma-separated values with a header row
    Csv,
}

#[derive(Debug, Args)]
#[allow(clippy::struct_excessive_bools)] // one bool per command-line switch
pub struct FilesArgs {
    /// Files and directories to scan (directories recursively: *.yaml, *.yml, *.json); `-` reads
    /// stdin. Default: the current directory
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,

    /// Version to judge against: `1.33`, `v1.33.4-eks-...`, or Pluto's `k8s=v1.33.0`
    /// (comma-separated or repeated). Default: the newest Kubernetes release the catalog knows
    #[arg(
        short = 't',
        long = "target-version",
        alias = "target-versions",
        value_name = "VERSION",
        value_delimiter = ','
    )]
    pub target_version: Vec<String>,

    /// Version the cluster runs today: replacements must be available here to migrate before
    /// the upgrade (exit code 4 otherwise). Default: judged at the target
    #[arg(long, value_name = "VERSION", value_delimiter = ',')]
    pub current: Vec<String>,

    /// Output format
    #[arg(short, long, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,

    /// Columns for text, wide, markdown and csv, comma-separated, in order (case-insensitive):
    /// NAME, NAMESPACE, KIND, VERSION, REPLACEMENT, STATUS, CODE, DEPRECATED, DEPRECATED IN,
    /// REMOVED, REMOVED IN, REPL AVAIL, REPL AVAIL IN, COMPONENT, FILEPATH, LINE, DOCUMENT,
    /// LOCATION, PARSED, MESSAGE
    #[arg(long, value_name = "COLUMNS", value_delimiter = ',')]
    pub columns: Vec<String>,

    /// Leave out the header row of text, wide, markdown and csv output
    #[arg(short = 'H', long)]
    pub no_headers: bool,

    /// Report only API versions that are removed at the target (and unknown versions)
    #[arg(short = 'r', long = "only-removed", alias = "only-show-removed")]
    pub only_removed: bool,

    /// Deprecated API versions do not change the exit code (still reported)
    #[arg(long)]
    pub ignore_deprecations: bool,

    /// Removed API versions do not change the exit code (still reported)
    #[arg(long)]
    pub ignore_removals: bool,

    /// Replacements that are not available yet do not change the exit code (still reported)
    #[arg(long)]
    pub ignore_unavailable_replacements: bool,

    /// Inputs that could not be read or parsed are still listed, but do not make the exit code 1
    #[arg(long)]
    pub allow_incomplete: bool,

    /// Do not honour .gitignore, .ignore and .upcheckignore files
    #[arg(long)]
    pub no_ignore: bool,

    /// Skip hidden files and directories (by default they are scanned; .git, .hg and .svn
    /// never are)
    #[arg(long)]
    pub skip_hidden: bool,

    /// Do not follow symbolic links in directories
    #[arg(long)]
    pub no_follow: bool,

    /// Number of threads (default: one per CPU)
    #[arg(short = 'j', long, value_name = "N")]
    pub threads: Option<usize>,
}
