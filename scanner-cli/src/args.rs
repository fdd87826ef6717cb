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
  1  error, or incomplete scan (something could not be read, parsed or listed)
  2  deprecated API versions in use at the target
  3  removed API versions in use at the target, or versions that never existed
  4  a replacement exists but no migration path reaches it
  5  readiness blockers found (warnings too with --fail-on warning)
  6  snapshot diff found regressions
  130  interrupted (Ctrl-C or SIGTERM); no report was printed
The first of 1, 4, 3, 5, 6, 2 that applies wins; --ignore-* flags drop a class first.";

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
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, global = true, help_heading = "Global options")]
    pub color: ColorChoice,

    /// Print only the report: no warnings or notes on stderr (errors are still printed)
    #[arg(short, long, global = true, help_heading = "Global options")]
    pub quiet: bool,

    /// Log what upcheck does to stderr (-v info, -vv debug)
    #[arg(short, long, action = clap::ArgAction::Count, global = true, help_heading = "Global options")]
    pub verbose: u8,

    /// Read settings from this file instead of the upcheck.toml found by walking up from the
    /// working directory
    #[arg(
        long,
        value_name = "FILE",
        global = true,
        conflicts_with = "no_config",
        help_heading = "Global options"
    )]
    pub config: Option<PathBuf>,

    /// Read no upcheck.toml
    #[arg(long, global = true, help_heading = "Global options")]
    pub no_config: bool,

    /// What the config file added (filled after parsing).
    #[arg(skip)]
    pub policy: crate::policy::Policy,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Scan manifest files, directories and stdin for deprecated and removed API versions
    #[command(after_help = EXIT_CODES_HELP)]
    Files(FilesArgs),
    /// Rewrite manifests to the replacement APIs, converting the fields that changed: a
    /// unified diff by default, --write edits the files, `-` converts stdin to stdout
    Fix(FixArgs),
    /// Scan a live cluster: objects by the API versions they were written through (managed
    /// fields, last-applied), Helm releases, the apiserver's deprecated-API metric, CRDs
    #[command(after_help = EXIT_CODES_HELP)]
    Cluster(ClusterArgs),
    /// Scan the Helm releases stored in a cluster
    #[command(
        after_help = EXIT_CODES_HELP,
        mut_arg("namespace", |a| a.help("Only the Helm releases stored in this namespace. Default: all namespaces"))
    )]
    Helm(HelmArgs),
    /// List, show and update the API catalog
    #[command(subcommand)]
    Catalog(CatalogCommand),
    /// List the readiness check codes (and the permissions they need)
    Checks(ChecksArgs),
    /// Explain a check code (DRN001, SKEW001, DEP001, ...)
    Explain(ExplainArgs),
    /// Print the upcheck version and what the catalog covers
    Version(VersionArgs),
    /// Plan the upgrade hop by hop: API migrations, node rolls, add-ons, blockers and the
    /// provider's commands per hop, as a checklist (live, or offline with --current)
    #[command(after_help = EXIT_CODES_HELP)]
    Plan(PlanArgs),
    /// Capture the cluster before an upgrade and compare after: what regressed
    #[command(subcommand)]
    Snapshot(SnapshotCommand),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell)
    Completions(CompletionsArgs),
    /// Print the man page (roff) of upcheck and its commands
    Man(ManArgs),
    /// Run as a Prometheus exporter: scan the cluster every --interval and serve the last
    /// report as metrics (/metrics) and JSON (/report), with /healthz and /readyz
    Serve(ServeArgs),
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// Manifest files and directories to check for APIs the hops remove (offline plans; `-`
    /// reads stdin)
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,

    /// The Kubernetes minor to upgrade to
    #[arg(short = 't', long = "target-version", value_name = "VERSION")]
    pub target_version: String,

    /// Plan offline from this control-plane version instead of reading a cluster; several
    /// comma-separated versions are the apiservers of a control plane mid-upgrade
    #[arg(long, value_name = "VERSION", value_delimiter = ',')]
    pub current: Vec<String>,

    /// Offline: kubelet versions of the node pools, comma-separated (1.27,1.28 or
    /// NAME=VERSION)
    #[arg(
        long,
        value_name = "VERSIONS",
        value_delimiter = ',',
        requires = "current"
    )]
    pub nodes: Vec<String>,

    /// Where the cluster runs (names the provider's commands and rules). Default: told from
    /// the cluster (server version, node labels); generic offline
    #[arg(long, value_enum)]
    pub provider: Option<ProviderArg>,

    /// AKS (live plans): the cluster's name in Azure, for its pools, upgrade settings and the
    /// versions AKS offers
    #[arg(long, value_name = "NAME")]
    pub provider_cluster: Option<String>,

    /// AKS (live plans): the cluster's resource group
    #[arg(long, value_name = "RG")]
    pub resource_group: Option<String>,

    /// AKS (live plans): the cluster's subscription ID (default: AZURE_SUBSCRIPTION_ID)
    #[arg(long, value_name = "ID")]
    pub subscription: Option<String>,

    /// Output format
    #[arg(short, long, value_enum, default_value_t = PlanFormat::Text)]
    pub output: PlanFormat,

    #[command(flatten)]
    pub connection: ConnectionArgs,

    #[command(flatten)]
    pub fleet: FleetArgs,

    #[command(flatten)]
    pub catalog: CatalogArgs,

    #[command(flatten)]
    pub checks: CheckSelectArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ProviderArg {
    Eks,
    Aks,
    Gke,
    Kubeadm,
    K3s,
    Generic,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PlanFormat {
    /// For the terminal
    Text,
    /// Markdown to paste into the upgrade story (plan: a checklist per phase)
    Markdown,
    /// For tools
    Json,
}

#[derive(Debug, Subcommand)]
pub enum SnapshotCommand {
    /// Write a JSON snapshot of nodes, pods, workloads, PDBs, served APIs, Helm releases and
    /// CRDs (no Secret or ConfigMap values)
    Save(SnapshotSaveArgs),
    /// Compare a snapshot with a later one (or with the live cluster) and name what regressed
    #[command(after_help = EXIT_CODES_HELP)]
    Diff(SnapshotDiffArgs),
    /// Watch the live cluster against a snapshot while nodes roll: print each regression once
    /// when it appears and once when it recovers, until interrupted or --settle
    Watch(SnapshotWatchArgs),
}

#[derive(Debug, Args)]
pub struct SnapshotSaveArgs {
    /// Write the snapshot to FILE instead of stdout
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,

    #[command(flatten)]
    pub connection: ConnectionArgs,

    #[command(flatten)]
    pub provider: ProviderArgs,
}

#[derive(Debug, Args)]
pub struct SnapshotDiffArgs {
    /// The snapshot taken before
    #[arg(value_name = "BEFORE")]
    pub before: PathBuf,

    /// The snapshot taken after; default: the live cluster now
    #[arg(value_name = "AFTER")]
    pub after: Option<PathBuf>,

    /// Output format
    #[arg(short, long, value_enum, default_value_t = PlanFormat::Text)]
    pub output: PlanFormat,

    /// Restarts of one pod since the first snapshot that count as a regression
    #[arg(long, value_name = "N", default_value_t = 3)]
    pub restart_threshold: u32,

    #[command(flatten)]
    pub connection: ConnectionArgs,
}

#[derive(Debug, Args)]
pub struct SnapshotWatchArgs {
    /// The snapshot taken before the upgrade
    #[arg(value_name = "BEFORE")]
    pub before: PathBuf,

    /// Seconds between reads of the cluster
    #[arg(long, value_name = "SECONDS", default_value_t = 10.0, value_parser = parse_seconds)]
    pub interval: f64,

    /// Stop once the regressions have not changed for this many seconds (default: watch until
    /// interrupted); exit 6 if regressions remain, 0 if none
    #[arg(long, value_name = "SECONDS", value_parser = parse_seconds)]
    pub settle: Option<f64>,

    /// Restarts of one pod since the snapshot that count as a regression
    #[arg(long, value_name = "N", default_value_t = 3)]
    pub restart_threshold: u32,

    #[command(flatten)]
    pub connection: ConnectionArgs,
}

fn parse_seconds(value: &str) -> Result<f64, String> {
    match value.trim().parse::<f64>() {
        Ok(s) if s.is_finite() && s >= 0.05 => Ok(s),
        Ok(_) => Err("must be at least 0.05 seconds".to_owned()),
        Err(_) => Err(format!("{value:?} is not a number of seconds")),
    }
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell
    #[arg(value_enum, value_name = "SHELL")]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub struct ManArgs {
    /// Write one page per command (upcheck.1, upcheck-files.1, ...) into this directory instead
    /// of printing the main page
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum CatalogCommand {
    /// List catalog rows (the yaml and json output is itself a catalog file)
    List(CatalogListArgs),
    /// Show one API's lifecycle, replacement and what changes when migrating
    Show(CatalogShowArgs),
    /// Download a newer catalog file, check it, and keep it for later runs
    Fetch(CatalogFetchArgs),
}

/// Which catalog to use.
#[derive(Debug, Args)]
pub struct CatalogArgs {
    /// A catalog file in upcheck's schema (repeatable). Its rows replace built-in rows with the
    /// same group/version/kind; each replacement is reported
    #[arg(long = "catalog", value_name = "FILE")]
    pub catalog: Vec<PathBuf>,

    /// A Pluto versions.yaml file (repeatable), read as Pluto reads it
    #[arg(short = 'f', long = "additional-versions", value_name = "FILE")]
    pub additional_versions: Vec<PathBuf>,

    /// Use the embedded catalog even when `upcheck catalog fetch` stored a newer one
    #[arg(long)]
    pub offline: bool,
}

/// Which components are judged, at which version.
#[derive(Debug, Args)]
pub struct TargetArgs {
    /// Version to judge against: `1.33`, `v1.33.4-eks-...`, or Pluto's `k8s=v1.33.0,cert-manager=v1.7.0`
    /// (comma-separated or repeated). Default for k8s: the newest release the catalog knows;
    /// add-ons are judged only when given a target
    #[arg(
        short = 't',
        long = "target-version",
        alias = "target-versions",
        value_name = "VERSION",
        value_delimiter = ','
    )]
    pub target_version: Vec<String>,

    /// Version running today (`1.29` or `NAME=VERSION`): replacements must be available here to
    /// migrate before the upgrade (exit code 4 otherwise). Default: judged at the target
    #[arg(long, value_name = "VERSION", value_delimiter = ',')]
    pub current: Vec<String>,

    /// Judge only these catalog components (comma-separated: k8s, cert-manager, istio,
    /// gateway-api, or a user catalog's own)
    #[arg(long, value_name = "NAMES", value_delimiter = ',')]
    pub components: Vec<String>,
}

#[derive(Debug, Args)]
pub struct VersionArgs {
    #[command(flatten)]
    pub catalog: CatalogArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ListFormat {
    /// A table
    Text,
    /// The rows as a catalog file in JSON
    Json,
    /// The rows as a catalog file in YAML (usable with --catalog)
    Yaml,
    /// A Markdown table
    Markdown,
    /// Comma-separated values with a header row
    Csv,
}

#[derive(Debug, Args)]
pub struct CatalogListArgs {
    /// Output format
    #[arg(short, long, value_enum, default_value_t = ListFormat::Text)]
    pub output: ListFormat,

    /// Only rows of these components (comma-separated)
    #[arg(long, value_name = "NAMES", value_delimiter = ',')]
    pub component: Vec<String>,

    /// Only rows of this API group (`""` or `core` for the core group)
    #[arg(long, value_name = "GROUP")]
    pub group: Option<String>,

    /// Only rows removed at or before this release (of --component, default k8s)
    #[arg(long, value_name = "VERSION")]
    pub removed_by: Option<String>,

    /// Only rows deprecated at or before this release (of --component, default k8s)
    #[arg(long, value_name = "VERSION")]
    pub deprecated_by: Option<String>,

    /// Only rows removed in exactly this release (of --component, default k8s): what it removed
    #[arg(long, value_name = "VERSION")]
    pub removed_in: Option<String>,

    /// Only rows deprecated in exactly this release (of --component, default k8s)
    #[arg(long, value_name = "VERSION")]
    pub deprecated_in: Option<String>,

    #[command(flatten)]
    pub catalog: CatalogArgs,
}

#[derive(Debug, Args)]
pub struct CatalogShowArgs {
    /// The apiVersion (`networking.k8s.io/v1beta1`, `v1`)
    #[arg(value_name = "API_VERSION")]
    pub api_version: String,

    /// The kind; without it, every kind of the apiVersion
    #[arg(value_name = "KIND")]
    pub kind: Option<String>,

    /// Output format
    #[arg(short, long, value_enum, default_value_t = ShowFormat::Text)]
    pub output: ShowFormat,

    #[command(flatten)]
    pub catalog: CatalogArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ShowFormat {
    /// For people
    Text,
    /// The rows as a catalog file in JSON
    Json,
}

#[derive(Debug, Args)]
pub struct CatalogFetchArgs {
    /// Where to download the catalog file from (https://..., or http:// on your network)
    #[arg(value_name = "URL")]
    pub url: String,

    /// Give up after this many seconds
    #[arg(long, value_name = "SECONDS", default_value_t = 30)]
    pub timeout: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// A table with Pluto's default columns plus the location (Pluto's name: normal)
    #[value(alias = "normal")]
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
    /// SARIF 2.1.0, for code scanning (GitHub, GitLab, Azure DevOps)
    Sarif,
    /// JUnit XML, for CI test reports
    Junit,
    /// GitHub Actions workflow commands that annotate files and lines
    Github,
}

impl OutputFormat {
    /// The name used on the command line.
    pub fn name(self) -> String {
        self.to_possible_value()
            .map_or_else(String::new, |v| v.get_name().to_owned())
    }
}

/// One `-o` value: a format, written to stdout or to a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputSpec {
    pub format: OutputFormat,
    pub file: Option<PathBuf>,
}

fn parse_output_spec(value: &str) -> Result<OutputSpec, String> {
    let (name, file) = match value.split_once('=') {
        Some((n, "")) => return Err(format!("no file after `{n}=`")),
        Some((n, f)) => (n, Some(PathBuf::from(f))),
        None => (value, None),
    };
    let format = OutputFormat::from_str(name, true).map_err(|_| {
        let names: Vec<String> = OutputFormat::value_variants()
            .iter()
            .map(|f| f.name())
            .collect();
        format!("unknown format {name:?}; use one of {}", names.join(", "))
    })?;
    Ok(OutputSpec { format, file })
}

#[derive(Debug, Args)]
#[allow(clippy::struct_excessive_bools)] // one bool per command-line switch
pub struct FilesArgs {
    /// Files and directories to scan (directories recursively: *.yaml, *.yml, *.json); `-` reads
    /// stdin. Default: the current directory
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,

    /// A directory to scan, as Pluto's detect-files takes it (repeatable; same as a PATH)
    #[arg(short = 'd', long = "directory", value_name = "DIR")]
    pub directory: Vec<PathBuf>,

    #[command(flatten)]
    pub targets: TargetArgs,

    #[command(flatten)]
    pub catalog: CatalogArgs,

    #[command(flatten)]
    pub report: ReportArgs,

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

    /// Files larger than this many MiB are not read (an error names them); bounds memory on
    /// hostile or runaway inputs
    #[arg(long, value_name = "MIB", default_value_t = 64)]
    pub max_file_size: u64,

    /// Documents nested deeper than this are not read (an error names them)
    #[arg(long, value_name = "LEVELS", default_value_t = scanner_core::parse::DEFAULT_MAX_DEPTH,
          value_parser = clap::builder::TypedValueParser::map(
              clap::value_parser!(u16).range(1..=4096), usize::from))]
    pub max_yaml_depth: usize,

    /// Documents whose YAML aliases expand to more than this many events are not read (an
    /// error names them): stops "billion laughs" alias bombs
    #[arg(long, value_name = "EVENTS", default_value_t = scanner_core::parse::DEFAULT_MAX_ALIAS_EXPANSION)]
    pub max_yaml_expansion: usize,

    /// A pipe or device named on the command line (`<(helm template ...)`) that has not
    /// delivered all its data after this many seconds is an error, not a hang (0: no limit)
    #[arg(long, value_name = "SECONDS", default_value_t = 60)]
    pub pipe_timeout: u64,

    /// Also run the readiness checks that work on manifests alone (PDB specs, bare pods,
    /// single replicas, ...); the others are listed as not run. Judged from --current to the
    /// target
    #[arg(long)]
    pub checks: bool,

    #[command(flatten)]
    pub check_select: CheckSelectArgs,

    /// Exit 0 when the input holds no Kubernetes object (empty stdin, a directory without
    /// manifests); without it such a scan is an error (exit code 1)
    #[arg(long)]
    pub allow_empty: bool,
}

#[derive(Debug, Args)]
#[allow(clippy::struct_excessive_bools)] // one bool per command-line switch
pub struct FixArgs {
    /// Files and directories to fix (directories recursively: *.yaml, *.yml, *.json); `-`
    /// converts stdin and writes the converted stream to stdout. Default: the current directory
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,

    #[command(flatten)]
    pub targets: TargetArgs,

    #[command(flatten)]
    pub catalog: CatalogArgs,

    /// Edit the files in place (each written to a temporary file and renamed over the
    /// original, so no manifest is ever half-written) instead of printing a diff
    #[arg(long)]
    pub write: bool,

    /// Convert only APIs removed at the target; leave the deprecated ones
    #[arg(long)]
    pub only_removed: bool,

    /// Output: `diff` (a unified diff that `git apply` takes) or `json` (what was converted
    /// and left, per object)
    #[arg(short, long, value_enum, default_value_t = FixFormat::Diff)]
    pub output: FixFormat,

    /// Do not honour .gitignore, .ignore and .upcheckignore files
    #[arg(long)]
    pub no_ignore: bool,

    /// Skip hidden files and directories
    #[arg(long)]
    pub skip_hidden: bool,

    /// Number of threads (default: one per CPU)
    #[arg(short = 'j', long, value_name = "N")]
    pub threads: Option<usize>,

    /// Files larger than this many MiB are not read (an error names them)
    #[arg(long, value_name = "MIB", default_value_t = 64)]
    pub max_file_size: u64,
}

/// What `upcheck fix` prints on stdout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FixFormat {
    /// A unified diff of every change (`git apply`-able); with --write, nothing
    Diff,
    /// The fix report as JSON: per file, the objects converted (with notes) and left (with
    /// the reason)
    Json,
}

/// How the report is written and which findings fail the gate.
#[derive(Debug, Args)]
#[allow(clippy::struct_excessive_bools)] // one bool per command-line switch
pub struct ReportArgs {
    /// Output format: text, wide, json, yaml, markdown, csv, sarif, junit, github. Repeatable;
    /// FORMAT=FILE writes that format to FILE (-o text -o sarif=upcheck.sarif). Default: text
    #[arg(short, long, value_name = "FORMAT[=FILE]", value_parser = parse_output_spec)]
    pub output: Vec<OutputSpec>,

    /// Report only findings that are not in this baseline file (matched by identity: path,
    /// object and code, not line); says how many it suppressed
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,

    /// Write the findings of this run (after ignores) to FILE as a baseline
    #[arg(long, value_name = "FILE")]
    pub write_baseline: Option<PathBuf>,

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
}

impl ReportArgs {
    /// The format written to stdout (text when none is).
    pub fn stdout_format(&self) -> OutputFormat {
        self.output
            .iter()
            .find(|o| o.file.is_none())
            .map_or(OutputFormat::Text, |o| o.format)
    }
}

/// How to reach the cluster.
#[derive(Debug, Clone, Args)]
pub struct ConnectionArgs {
    /// Kubeconfig file. Default: $KUBECONFIG, then ~/.kube/config, then the pod's service
    /// account when running in a cluster
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,

    /// Kubeconfig context. Default: the current context. `upcheck cluster` takes it several
    /// times to scan each of those clusters
    #[arg(long, value_name = "NAME")]
    pub context: Vec<String>,

    /// Only this namespace (cluster-scoped resources, CRDs and /metrics are then not read).
    /// Default: all namespaces
    #[arg(short = 'n', long, value_name = "NAMESPACE")]
    pub namespace: Option<String>,

    /// Give up on a request after this many seconds
    #[arg(long, value_name = "SECONDS", default_value_t = 30)]
    pub timeout: u64,

    /// Retry a read this many times after throttling (429), a server error (500, 502, 503,
    /// 504) or a broken connection, with backoff (honouring Retry-After)
    #[arg(long, value_name = "N", default_value_t = 3)]
    pub retries: u32,

    /// Give up on the whole cluster read after this many seconds (0: no limit); a read cut
    /// short reports nothing and exits 1
    #[arg(long, value_name = "SECONDS", default_value_t = 600)]
    pub scan_timeout: u64,

    /// Requests in flight at once
    #[arg(long, value_name = "N", default_value_t = 8)]
    pub concurrency: usize,

    /// Objects per list page
    #[arg(long, value_name = "N", default_value_t = 500)]
    pub page_size: u32,

    /// Never show the progress line (it is shown only when stderr is a terminal)
    #[arg(long)]
    pub no_progress: bool,
}

#[derive(Debug, Args)]
#[allow(clippy::struct_excessive_bools)] // one bool per command-line switch
pub struct ClusterArgs {
    #[command(flatten)]
    pub connection: ConnectionArgs,

    #[command(flatten)]
    pub targets: TargetArgs,

    #[command(flatten)]
    pub catalog: CatalogArgs,

    #[command(flatten)]
    pub report: ReportArgs,

    /// Scan every stored revision of each Helm release, not only the newest deployed one
    #[arg(long)]
    pub all_revisions: bool,

    /// Do not read Helm releases
    #[arg(long)]
    pub no_helm: bool,

    /// Print the ClusterRole a scan needs (yaml, or json with -o json) and exit
    #[arg(long)]
    pub rbac: bool,

    /// With --rbac: print the IAM policy (JSON) the provider reads need instead of the ClusterRole
    #[arg(long, requires = "rbac")]
    pub iam: bool,

    /// With --rbac: print the Azure custom role (JSON) with the read-only actions the AKS reads need
    #[arg(long, requires = "rbac", conflicts_with = "iam")]
    pub azure: bool,

    /// Do not run the readiness checks (only deprecated and removed APIs)
    #[arg(long)]
    pub no_checks: bool,

    #[command(flatten)]
    pub checks: CheckSelectArgs,

    #[command(flatten)]
    pub fleet: FleetArgs,

    #[command(flatten)]
    pub provider: ProviderArgs,
}

/// The cloud provider's own API (EKS): add-on versions, node groups.
#[derive(Debug, Args)]
pub struct ProviderArgs {
    /// Read the cluster's provider API (default: when the kubeconfig shows an EKS cluster)
    #[arg(long = "provider", value_enum, value_name = "PROVIDER")]
    pub provider: Option<ProviderApi>,

    /// The provider's name of the cluster (default: the kubeconfig's `aws eks get-token --cluster-name`)
    #[arg(long, value_name = "NAME")]
    pub provider_cluster: Option<String>,

    /// The provider's region (default: the kubeconfig's, else AWS_REGION or the profile's)
    #[arg(long, value_name = "REGION")]
    pub region: Option<String>,

    /// AKS: the cluster's resource group
    #[arg(long, value_name = "RG")]
    pub resource_group: Option<String>,

    /// AKS: the cluster's subscription ID (default: AZURE_SUBSCRIPTION_ID)
    #[arg(long, value_name = "ID")]
    pub subscription: Option<String>,

    /// Do not read the provider's API, even for an EKS or AKS cluster
    #[arg(long, conflicts_with_all = ["provider", "provider_cluster", "region", "resource_group", "subscription"])]
    pub no_provider: bool,
}

/// A provider whose API `upcheck cluster` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ProviderApi {
    /// Amazon EKS, with the AWS SDK's standard credential chain.
    Eks,
    /// Azure AKS, through Azure Resource Manager with `azure_identity`'s credentials.
    Aks,
}

/// Several clusters in one run.
#[derive(Debug, Args)]
pub struct FleetArgs {
    /// Scan every context of the kubeconfig
    #[arg(long, conflicts_with_all = ["context", "contexts_matching"])]
    pub all_contexts: bool,

    /// Scan every context of the kubeconfig whose name matches this glob (`prod-*`); may be
    /// given with --context
    #[arg(long, value_name = "GLOB")]
    pub contexts_matching: Option<String>,

    /// Clusters scanned at once
    #[arg(long, value_name = "N", default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..))]
    pub parallel_clusters: u16,
}

impl FleetArgs {
    /// Whether these options (with `contexts` from --context) ask for a fleet scan.
    pub fn requested(&self, contexts: &[String]) -> bool {
        self.all_contexts || self.contexts_matching.is_some() || contexts.len() > 1
    }
}

/// Which readiness checks run and what fails the gate.
#[derive(Debug, Args)]
pub struct CheckSelectArgs {
    /// Run only these readiness checks: codes or prefixes, `*` for any characters, comma-separated (DRN, SKEW001, DRN*4)
    #[arg(long, value_name = "CODES", value_delimiter = ',')]
    pub select: Vec<String>,

    /// Skip these readiness checks: codes or prefixes, `*` for any characters, comma-separated
    #[arg(long, value_name = "CODES", value_delimiter = ',')]
    pub ignore: Vec<String>,

    /// The lowest readiness severity that fails the gate (exit code 5)
    #[arg(long, value_enum, value_name = "SEVERITY", default_value_t = FailOn::Blocker)]
    pub fail_on: FailOn,

    /// The kubectl version your pipelines and runbooks use, for SKEW006 (not run without)
    #[arg(long, value_name = "VERSION")]
    pub kubectl_version: Option<String>,

    /// Seconds a node pool's drain may take, for DRN007's drain estimate (default: the platform's drain timeout, 900 s as EKS managed node groups allow)
    #[arg(long, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..))]
    pub drain_budget: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    /// Blockers fail the gate
    Blocker,
    /// Blockers and warnings fail the gate
    Warning,
    /// Readiness findings never change the exit code
    Never,
}

#[derive(Debug, Args)]
pub struct ChecksArgs {
    /// Output format
    #[arg(short, long, value_enum, default_value_t = ChecksFormat::Text)]
    pub output: ChecksFormat,

    /// Print the ClusterRole the readiness checks need (yaml, or json with -o json)
    #[arg(long)]
    pub rbac: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ChecksFormat {
    /// A table
    Text,
    /// Every check with its explanation, as JSON
    Json,
    /// A Markdown table
    Markdown,
    /// The ClusterRole as YAML (with --rbac)
    Yaml,
}

#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// The code (case-insensitive)
    #[arg(value_name = "CODE")]
    pub code: String,
}

#[derive(Debug, Args)]
pub struct HelmArgs {
    #[command(flatten)]
    pub connection: ConnectionArgs,

    #[command(flatten)]
    pub targets: TargetArgs,

    #[command(flatten)]
    pub catalog: CatalogArgs,

    #[command(flatten)]
    pub report: ReportArgs,

    /// Scan every stored revision of each release, not only the newest deployed one
    #[arg(long)]
    pub all_revisions: bool,
}

/// The default port of `upcheck serve`. The Prometheus wiki's "Default port allocations"
/// list has given out all of 9100-9999, so it lies outside that range, on a port no exporter
/// there claims.
pub const SERVE_PORT: u16 = 8397;

#[derive(Debug, Args)]
#[allow(clippy::struct_excessive_bools)] // one bool per command-line switch
pub struct ServeArgs {
    /// Address and port to serve /metrics, /report, /healthz and /readyz on (port 0: any free
    /// port; the address in use is printed on stderr)
    #[arg(long, value_name = "ADDR", default_value_t = std::net::SocketAddr::from(([0, 0, 0, 0], SERVE_PORT)))]
    pub listen: std::net::SocketAddr,

    /// Time to wait after a scan before the next one: seconds (90, 0.5) or with a unit (30s,
    /// 15m, 1h). Up to 10 % more is added at random, so exporters started together do not scan together
    #[arg(long, value_name = "DURATION", default_value = "1h", value_parser = parse_interval)]
    pub interval: std::time::Duration,

    #[command(flatten)]
    pub connection: ConnectionArgs,

    #[command(flatten)]
    pub targets: TargetArgs,

    #[command(flatten)]
    pub catalog: CatalogArgs,

    /// Report only API versions that are removed at the target (and unknown versions)
    #[arg(short = 'r', long = "only-removed")]
    pub only_removed: bool,

    /// Scan every stored revision of each Helm release, not only the newest deployed one
    #[arg(long)]
    pub all_revisions: bool,

    /// Do not read Helm releases
    #[arg(long)]
    pub no_helm: bool,

    /// Do not run the readiness checks (only deprecated and removed APIs)
    #[arg(long)]
    pub no_checks: bool,

    #[command(flatten)]
    pub checks: CheckSelectArgs,
}

/// An interval: plain seconds, or a number with `ms`, `s`, `m` or `h`; at least 0.1 s.
pub fn parse_interval(value: &str) -> Result<std::time::Duration, String> {
    let v = value.trim();
    let (number, unit) = match v.find(|c: char| c.is_ascii_alphabetic()) {
        Some(i) => v.split_at(i),
        None => (v, "s"),
    };
    let scale = match unit {
        "ms" => 0.001,
        "s" => 1.0,
        "m" => 60.0,
        "h" => 3600.0,
        _ => return Err(format!("{value:?}: the unit must be ms, s, m or h")),
    };
    let seconds = number
        .trim()
        .parse::<f64>()
        .map_err(|_| format!("{value:?} is not a duration (90, 30s, 15m, 1h)"))?
        * scale;
    if !seconds.is_finite() || !(0.1..=366.0 * 86_400.0).contains(&seconds) {
        return Err(format!("{value:?}: must be between 0.1 seconds and a year"));
    }
    Ok(std::time::Duration::from_secs_f64(seconds))
}
