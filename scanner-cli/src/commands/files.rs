//! `upcheck files`: scan manifests.

use anyhow::{Context, Result};
use scanner_core::checks;
use scanner_core::{Input, ScanSettings, Scanner, WalkOptions};

use crate::args::{Cli, FilesArgs};
use crate::{Stderr, setup, targets};

pub fn run(cli: &Cli, args: &FilesArgs, err: &mut Stderr) -> Result<u8> {
    let loaded = setup::load(&args.catalog)?;
    let catalog = &*loaded.catalog;
    let (targets, target_notes) = targets::resolve(&args.targets, catalog, &loaded.file_targets)?;
    let columns = super::columns(&args.report)?;
    let mut settings = ScanSettings::new(targets);
    settings.only_removed = args.report.only_removed;
    settings.walk = WalkOptions {
        exclude: cli.policy.exclude.clone(),
        respect_ignore_files: !args.no_ignore,
        hidden: !args.skip_hidden,
        follow_symlinks: !args.no_follow,
        max_file_bytes: args.max_file_size.saturating_mul(1 << 20),
        pipe_timeout: std::time::Duration::from_secs(args.pipe_timeout),
    };
    settings.keep_for_checks = args.checks;
    settings.parse = scanner_core::parse::ParseLimits {
        max_depth: args.max_yaml_depth,
        max_alias_expansion: args.max_yaml_expansion,
    };
    let selection = super::cluster::selection(&args.check_select)?;
    let kubectl = super::cluster::kubectl_version(&args.check_select)?;

    let mut inputs = Vec::new();
    let mut stdin_read = false;
    let given: Vec<std::path::PathBuf> =
        args.paths.iter().chain(&args.directory).cloned().collect();
    let paths: Vec<std::path::PathBuf> = if given.is_empty() {
        vec![".".into()]
    } else {
        given
    };
    for p in paths {
        if p.as_os_str() == "-" {
            if stdin_read {
                anyhow::bail!("`-` (stdin) given more than once");
            }
            stdin_read = true;
            inputs.push(
                Input::stdin_up_to(args.max_file_size.saturating_mul(1 << 20))
                    .context("cannot read stdin")?,
            );
        } else {
            inputs.push(Input::Path(p));
        }
    }

    let k8s = settings.targets.get("k8s").copied();
    let scanner = Scanner::new(catalog, settings);
    if args.threads == Some(0) {
        anyhow::bail!("--threads must be at least 1");
    }
    let (mut report, state) =
        super::worker_pool(args.threads)?.install(|| scanner.scan_for_checks(inputs));
    let mut fail_on = None;
    if args.checks
        && let Some(t) = k8s
    {
        let current = t.current.unwrap_or(t.target);
        report.readiness = Some(checks::run_with(
            &state,
            current,
            t.target,
            &selection,
            true,
            checks::Options::new(kubectl, args.check_select.drain_budget)
                .today(Some(super::today()?)),
        ));
        fail_on = super::cluster::fail_on(&args.check_select);
    }

    // A scan that read no object judged nothing: an upstream `helm template` that failed
    // without `pipefail`, a path typo, an exclude that matches everything. That must not pass
    // a gate. Read errors already make the code 1 and say why.
    let judged_nothing = report.stats.objects == 0 && report.errors.is_empty();
    let read = (report.stats.files, report.stats.documents);
    let notes: Vec<&String> = loaded.notes.iter().chain(&target_notes).collect();
    let code = super::emit(
        cli,
        report,
        &args.report,
        columns.as_deref(),
        &notes,
        fail_on,
        err,
    )?;
    if judged_nothing && !args.allow_empty {
        err.error(&format!(
            "nothing to judge: {} file(s) and {} document(s) read, no Kubernetes object among \
             them (empty stdin, or no manifests in the paths given); pass --allow-empty if \
             that is expected",
            read.0, read.1
        ));
        return Ok(crate::exit::ERROR);
    }
    Ok(code)
}
