//! `upcheck cluster` and `upcheck helm`: scan a live cluster.

use std::io::{self, IsTerminal};
use std::time::Duration;

use anyhow::{Context, Result};
use scanner_core::checks::{ClusterState, Selection, Severity};
use scanner_core::live::{self, LiveClient, LiveError, LiveSettings, rbac};
use scanner_core::{KubeVersion, Targets};

use crate::args::{
    CatalogArgs, CheckSelectArgs, Cli, Command, ConnectionArgs, FailOn, OutputFormat, ProviderArgs,
    ReportArgs, TargetArgs,
};
use crate::cluster::progress::Progress;
use crate::{Stderr, setup, targets};

/// `upcheck cluster` or `upcheck helm`.
pub fn run(cli: &Cli, err: &mut Stderr) -> Result<u8> {
    if let Command::Cluster(args) = &cli.command
        && args.rbac
    {
        if args.azure {
            let role = super::provider::azure_role()?;
            super::write_stdout(role.as_bytes())?;
            return Ok(crate::exit::OK);
        }
        if args.iam {
            let policy = super::provider::iam_policy(&selection(&args.checks)?)?;
            super::write_stdout(policy.as_bytes())?;
            return Ok(crate::exit::OK);
        }
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
            what: What {
                objects: true,
                helm: !a.no_helm,
                all_revisions: a.all_revisions,
            },
            provider: Some(&a.provider),
        }),
        Command::Helm(a) => Some(LiveArgs {
            connection: &a.connection,
            targets: &a.targets,
            catalog: &a.catalog,
            report: &a.report,
            checks: None,
            what: What {
                objects: false,
                helm: true,
                all_revisions: a.all_revisions,
            },
            provider: None,
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
    pub what: What,
    /// The provider API to read with the checks; `None` reads none.
    pub provider: Option<&'a ProviderArgs>,
}

/// What a live command reads.
#[derive(Debug, Clone, Copy)]
pub struct What {
    /// Discovery, object lists, CRDs and `/metrics` (`upcheck cluster`); off for `upcheck helm`.
    pub objects: bool,
    pub helm: bool,
    pub all_revisions: bool,
}

impl LiveArgs<'_> {
    /// Runs the scan without a progress line.
    pub fn report(&self) -> Result<scanner_core::Report> {
        report(self, &Progress::new(false)).map(|(r, _, _)| r)
    }
}

/// `--select` and `--ignore`, with unknown codes refused.
pub fn selection(c: &CheckSelectArgs) -> Result<Selection> {
    let selection = Selection::new(c.select.clone(), c.ignore.clone());
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
            crate::policy::show_patterns(&unknown)
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

/// Refuses connection settings no scan can run with, in the words of the options.
pub fn check_connection(c: &ConnectionArgs) -> Result<()> {
    if c.timeout == 0 {
        anyhow::bail!("--timeout must be at least 1 second");
    }
    if c.concurrency == 0 {
        anyhow::bail!("--concurrency must be at least 1");
    }
    if c.page_size == 0 {
        anyhow::bail!("--page-size must be at least 1");
    }
    Ok(())
}

/// The live-scan settings the connection options give, judging against `catalog` at
/// `targets`.
pub fn settings<'c>(
    c: &ConnectionArgs,
    catalog: &'c scanner_core::Catalog,
    targets: Targets,
) -> LiveSettings<'c> {
    LiveSettings::new(catalog, targets)
        .namespace(c.namespace.clone())
        .concurrency(c.concurrency)
        .page_size(c.page_size)
        .requests(Duration::from_secs(c.timeout), c.retries)
        .scan_timeout((c.scan_timeout > 0).then(|| Duration::from_secs(c.scan_timeout)))
}

/// Runs `work` with a client for the kubeconfig and context of `c`, on a runtime of its own
/// and within `--scan-timeout`.
pub fn with_client<T, F>(c: &ConnectionArgs, work: impl FnOnce(LiveClient) -> F) -> Result<T>
where
    F: Future<Output = Result<T, LiveError>>,
{
    let context = match c.context.as_slice() {
        [] => None,
        [one] => Some(one.as_str()),
        many => anyhow::bail!(
            "--context was given {} times; only `upcheck cluster` scans several clusters in one run",
            many.len()
        ),
    };
    let scan_timeout = (c.scan_timeout > 0).then(|| Duration::from_secs(c.scan_timeout));
    live::block_on(scan_timeout, async {
        let client = LiveClient::from_kubeconfig_with_timeout(
            c.kubeconfig.as_deref(),
            context,
            Duration::from_secs(c.timeout),
        )
        .await?;
        work(client).await
    })
    .map_err(cli_error)
}

/// A live-scan error, naming the option that changes the outcome where there is one.
fn cli_error(e: LiveError) -> anyhow::Error {
    match e {
        LiveError::NoCurrentContext { path } => anyhow::anyhow!(
            "kubeconfig {} has no current-context; choose one with --context",
            path.display()
        ),
        LiveError::ContextWithoutKubeconfig { context } => anyhow::anyhow!(
            "--context {context:?} given, but no kubeconfig was found (pass --kubeconfig)"
        ),
        LiveError::NoConfig(source) => anyhow::Error::new(source).context(
            "no kubeconfig found ($KUBECONFIG, ~/.kube/config) and not running in a pod; pass --kubeconfig",
        ),
        e @ LiveError::NoAnswer { .. } => anyhow::anyhow!("{e} (raise --timeout?)"),
        LiveError::ScanTimeout(limit) => anyhow::anyhow!(
            "the cluster read did not finish within {} s (--scan-timeout); nothing was reported",
            limit.as_secs()
        ),
        e => anyhow::Error::new(e),
    }
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
        what,
        provider,
    } = *live;
    let selection = checks.map(selection).transpose()?;
    let kubectl = match checks {
        Some(c) => kubectl_version(c)?,
        None => None,
    };
    let drain_budget = checks.and_then(|c| c.drain_budget);
    let loaded = setup::load(catalog_args)?;
    let catalog = &*loaded.catalog;
    let (targets, target_notes) = targets::resolve(target_args, catalog, &loaded.file_targets)?;
    check_connection(connection)?;
    let settings = settings(connection, catalog, targets)
        // Without --current, the server's version is today's version: replacements must be
        // served there to migrate before the upgrade.
        .current_from_server(target_args.current.is_empty())
        .only_removed(report_args.only_removed)
        .objects(what.objects)
        .helm(what.helm, what.all_revisions)
        .checks(selection, kubectl)
        .drain_budget(drain_budget)
        .today(Some(super::today()?))
        .progress(progress.counters());
    // The provider's facts are read first: the checks run at the end of the scan on both.
    let eks = super::provider::eks_settings(
        provider.filter(|_| checks.is_some()),
        connection,
        settings.targets.get("k8s").map(|t| t.target),
    );
    let aks = super::provider::aks_settings(
        provider.filter(|_| checks.is_some()),
        connection,
        settings.targets.get("k8s").map(|t| t.target),
    );
    let scan = progress.while_running(|| {
        with_client(connection, |client| async move {
            let settings = match (eks, aks) {
                (Some(eks), _) => settings.provider(scanner_core::provider::eks::read(&eks).await),
                (None, Some(aks)) => {
                    settings.provider(scanner_core::provider::aks::read(&aks).await)
                }
                (None, None) => settings,
            };
            live::scan_cluster_with_state(&client, &settings).await
        })
    })?;
    let notes = loaded.notes.iter().chain(&target_notes).cloned().collect();
    Ok((scan.report, notes, scan.state))
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;
    use std::time::Duration;

    use scanner_core::live::LiveError;

    use super::cli_error;

    #[test]
    fn live_errors_name_the_options_that_change_them() {
        let text = |e| cli_error(e).to_string();
        assert_eq!(
            text(LiveError::NoCurrentContext {
                path: PathBuf::from("kc")
            }),
            "kubeconfig kc has no current-context; choose one with --context"
        );
        assert_eq!(
            text(LiveError::ContextWithoutKubeconfig {
                context: "prod".into()
            }),
            "--context \"prod\" given, but no kubeconfig was found (pass --kubeconfig)"
        );
        assert_eq!(
            text(LiveError::NoAnswer {
                server: "https://k".into(),
                context: "c".into(),
                path: "/version".into(),
                reason: "no answer within 1 s".into(),
            }),
            "the API server at https://k (context \"c\") did not answer GET /version: no answer within 1 s (raise --timeout?)"
        );
        assert_eq!(
            text(LiveError::ScanTimeout(Duration::from_secs(2))),
            "the cluster read did not finish within 2 s (--scan-timeout); nothing was reported"
        );
        // Errors that name no option pass through unchanged.
        assert_eq!(
            text(LiveError::Unauthorized {
                server: "https://k".into(),
                context: "c".into(),
                message: "Unauthorized".into(),
            }),
            "the API server at https://k rejected the credentials of context \"c\" (401 Unauthorized: Unauthorized)"
        );
    }
}
