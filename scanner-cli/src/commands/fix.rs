//! `upcheck fix`: rewrite manifests to the replacement APIs.
//!
//! stdout carries only the diff (or the converted stream, or JSON), so it can be piped to
//! `git apply`; what was converted and what was left go to stderr.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};
use scanner_core::fix::Fixer;
use scanner_core::report::FixReport;
use scanner_core::{Input, ScanSettings, WalkOptions};

use crate::args::{Cli, FixArgs, FixFormat};
use crate::render::diff;
use crate::{Stderr, exit, setup, targets};

pub fn run(cli: &Cli, args: &FixArgs, err: &mut Stderr) -> Result<u8> {
    let loaded = setup::load(&args.catalog)?;
    let catalog = &*loaded.catalog;
    let (targets, target_notes) = targets::resolve(&args.targets, catalog, &loaded.file_targets)?;
    for n in loaded.notes.iter().chain(&target_notes) {
        err.note(n);
    }
    let mut settings = ScanSettings::new(targets);
    settings.only_removed = args.only_removed;
    settings.walk = WalkOptions {
        exclude: cli.policy.exclude.clone(),
        respect_ignore_files: !args.no_ignore,
        hidden: !args.skip_hidden,
        max_file_bytes: args.max_file_size.saturating_mul(1 << 20),
        ..WalkOptions::default()
    };
    if args.threads == Some(0) {
        anyhow::bail!("--threads must be at least 1");
    }

    let stdin = args.paths.iter().any(|p| p.as_os_str() == "-");
    if stdin && args.paths.len() > 1 {
        anyhow::bail!(
            "`-` converts stdin to stdout and cannot be combined with other paths; fix files in a separate run"
        );
    }
    if stdin && args.write {
        anyhow::bail!("--write edits files; stdin is converted to stdout without it");
    }
    let mut stdin_text = String::new();
    let inputs = if stdin {
        let input = Input::stdin_up_to(args.max_file_size.saturating_mul(1 << 20))
            .context("cannot read stdin")?;
        if let Input::Bytes { bytes, .. } = &input {
            stdin_text = String::from_utf8_lossy(bytes).into_owned();
        }
        vec![input]
    } else if args.paths.is_empty() {
        vec![Input::Path(".".into())]
    } else {
        args.paths.iter().cloned().map(Input::Path).collect()
    };

    let fixer = Fixer::new(catalog, settings);
    let mut report = super::worker_pool(args.threads)?.install(|| fixer.fix(inputs));

    let mut write_failed = false;
    if args.write {
        for f in &mut report.files {
            if f.changed()
                && let Err(e) = write_atomically(Path::new(&f.path), &f.fixed)
            {
                err.error(&format!("{e:#}"));
                write_failed = true;
                // Nothing of this file was written: report it unchanged.
                f.fixed.clone_from(&f.original);
            }
        }
    }

    match args.output {
        FixFormat::Json => {
            let mut json =
                serde_json::to_string_pretty(&report).context("cannot serialize the report")?;
            json.push('\n');
            super::write_stdout(json.as_bytes())?;
        }
        FixFormat::Diff if stdin => {
            // A filter: the stream comes out whole, converted where it needed to be.
            let text = report
                .files
                .first()
                .map_or(stdin_text.as_str(), |f| f.fixed.as_str());
            super::write_stdout(text.as_bytes())?;
        }
        FixFormat::Diff if !args.write => {
            super::write_stdout(diff::unified(&report.files).as_bytes())?;
        }
        FixFormat::Diff => {}
    }
    summarize(&report, args.write || stdin, err);
    Ok(code(&report, write_failed))
}

/// 1 when something could not be read, converted or written; 2 when changes were proposed
/// (or made) or objects need a person; 0 when nothing needs changing.
fn code(report: &FixReport, write_failed: bool) -> u8 {
    if write_failed || report.has_errors() {
        exit::ERROR
    } else if report.converted() > 0 || report.left() > 0 {
        exit::DEPRECATED
    } else {
        exit::OK
    }
}

fn summarize(report: &FixReport, written: bool, err: &mut Stderr) {
    for e in &report.errors {
        err.error(&e.to_string());
    }
    for f in &report.files {
        for e in &f.errors {
            err.error(&format!("{e} (left unchanged)"));
        }
        for c in &f.changes {
            let verb = if written {
                "converted"
            } else {
                "would convert"
            };
            let what = if c.api_version_only {
                " (apiVersion line only: a template)"
            } else {
                ""
            };
            err.note(&format!(
                "{}:{}: {verb} {} {} from {} to {}{what}",
                f.path,
                c.line,
                c.kind,
                name(c.name.as_deref()),
                c.from,
                c.to
            ));
            for n in &c.notes {
                err.note(&format!("{}:{}:   {n}", f.path, c.line));
            }
        }
        for l in &f.left {
            let text = format!(
                "{}:{}: {} {} ({}) left unchanged: {}",
                f.path,
                l.line,
                l.kind,
                name(l.name.as_deref()),
                l.api_version,
                l.reason
            );
            if l.failed {
                err.error(&text);
            } else {
                err.warning(&text);
            }
        }
    }
    let files = report.files.iter().filter(|f| f.changed()).count();
    err.note(&format!(
        "{} object(s) {} in {files} file(s); {} left for a person; {} file(s) read",
        report.converted(),
        if written { "converted" } else { "to convert" },
        report.left(),
        report.files_read
    ));
}

fn name(name: Option<&str>) -> &str {
    name.unwrap_or("(unnamed)")
}

/// Replaces `path` with `text` through a temporary file in the same directory and a rename,
/// so a reader sees the old file or the new one, never half of one. A read-only file is
/// refused (the rename would succeed on Unix, silently defeating the protection).
fn write_atomically(path: &Path, text: &str) -> Result<()> {
    let shown = path.display();
    let meta = std::fs::metadata(path).with_context(|| format!("cannot write {shown}"))?;
    if meta.permissions().readonly() {
        anyhow::bail!("cannot write {shown}: the file is read-only (nothing was changed in it)");
    }
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::NamedTempFile::new_in(dir).with_context(|| {
        format!("cannot write {shown}: cannot create a temporary file beside it")
    })?;
    tmp.write_all(text.as_bytes())
        .and_then(|()| tmp.as_file().sync_all())
        .with_context(|| format!("cannot write {shown}"))?;
    std::fs::set_permissions(tmp.path(), meta.permissions())
        .with_context(|| format!("cannot write {shown}: cannot keep its permissions"))?;
    tmp.persist(path)
        .map_err(|e| e.error)
        .with_context(|| format!("cannot write {shown}"))?;
    Ok(())
}
