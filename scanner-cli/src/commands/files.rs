//! `upcheck files`: scan manifests.

use anyhow::{Context, Result};
use scanner_core::{Input, ScanSettings, Scanner, WalkOptions};

use crate::args::{Cli, FilesArgs};
use crate::{Stderr, setup, targets};

pub fn run(cli: &Cli, args: &FilesArgs, err: &mut Stderr) -> Result<u8> {
    let loaded = setup::load(&args.catalog)?;
    let catalog = &*loaded.catalog;
    let (targets, target_notes) = targets::resolve(&args.targets, catalog, &loaded.file_targets)?;
    let columns = super::columns(&args.report)?;
    let settings = ScanSettings {
        targets,
        only_removed: args.report.only_removed,
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

    let notes: Vec<&String> = loaded.notes.iter().chain(&target_notes).collect();
    super::emit(cli, &report, &args.report, columns, &notes, err)
}
