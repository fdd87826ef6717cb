//! `upcheck.toml`: found by walking up from the working directory (or `--config FILE`), read
//! strictly (an unknown key is an error naming the key and the line), and merged under the
//! command line: a flag wins over the file, the file over the default.
//!
//! Paths in the file are relative to the file's directory, whatever the working directory.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result};
use scanner_core::suppress::{self, Exclude, IgnoreRule};

pub use crate::policy::Policy;
use serde::Deserialize;

use crate::args::{CatalogArgs, Cli, Command, TargetArgs};

/// The file name looked for.
pub const FILE_NAME: &str = "upcheck.toml";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct ConfigFile {
    /// As `--target-version`: `1.33` or `k8s=1.33,cert-manager=1.14`.
    target_version: Option<String>,
    /// As `--current`.
    current: Option<String>,
    components: Option<Vec<String>>,
    catalogs: Option<Vec<PathBuf>>,
    additional_versions: Option<Vec<PathBuf>>,
    /// Paths `upcheck files` scans when none are given.
    include: Option<Vec<PathBuf>>,
    /// Globs left out of directory walks.
    exclude: Option<Vec<String>>,
    #[serde(default)]
    ignore: Vec<toml::Spanned<IgnoreEntry>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct IgnoreEntry {
    reason: String,
    path: Option<String>,
    api_version: Option<String>,
    kind: Option<String>,
    namespace: Option<String>,
    name: Option<String>,
    codes: Option<Vec<String>>,
}

/// Finds the config file: `--config`, or the nearest `upcheck.toml` from `cwd` up.
fn locate(cli: &Cli, cwd: &Path) -> Option<PathBuf> {
    if cli.no_config {
        return None;
    }
    if let Some(p) = &cli.config {
        return Some(p.clone());
    }
    cwd.ancestors()
        .map(|d| d.join(FILE_NAME))
        .find(|p| p.is_file())
}

/// Reads the config file (if any) into `cli`: fills what the flags left unset and returns the
/// ignore rules and exclusions.
pub fn apply(cli: &mut Cli) -> Result<()> {
    if !matches!(
        cli.command,
        Command::Files(_)
            | Command::Fix(_)
            | Command::Cluster(_)
            | Command::Helm(_)
            | Command::Plan(_)
            | Command::Serve(_)
    ) {
        return Ok(());
    }
    let cwd = std::env::current_dir().context("cannot read the working directory")?;
    let Some(path) = locate(cli, &cwd) else {
        return Ok(());
    };
    // Named as the user would type it from here (`upcheck.toml`, `../upcheck.toml`).
    let shown = relative_path(&cwd, &cwd.join(&path)).display().to_string();
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("cannot read config {shown}"))?;
    let file: ConfigFile = toml::from_str(&text)
        .map_err(|e| anyhow::anyhow!("config {shown}: {}", e.to_string().trim_end()))?;
    let root = cwd.join(&path);
    let root = root.parent().unwrap_or(&cwd).to_path_buf();
    // Paths in the file are relative to it; shown relative to the working directory when
    // they lie under it, as paths typed on the command line are.
    let resolve = |p: &Path| -> PathBuf {
        let full = root.join(p);
        if full.is_absolute() {
            relative_path(&cwd, &full)
        } else {
            full
        }
    };

    let mut ignores = Vec::with_capacity(file.ignore.len());
    for spanned in &file.ignore {
        let line = text[..spanned.span().start].matches('\n').count() + 1;
        let origin = format!("{shown}:{line}");
        ignores.push(rule(spanned.get_ref(), origin)?);
    }
    let exclude = match &file.exclude {
        Some(globs) if !globs.is_empty() => {
            Some(Arc::new(Exclude::new(&root, &cwd, globs).map_err(|e| {
                anyhow::anyhow!("config {shown}: exclude: {e}")
            })?))
        }
        _ => None,
    };

    let (targets, catalog) = match &mut cli.command {
        Command::Files(a) => {
            if a.paths.is_empty()
                && let Some(include) = &file.include
            {
                a.paths = include.iter().map(|p| resolve(p)).collect();
            }
            (&mut a.targets, &mut a.catalog)
        }
        Command::Fix(a) => {
            if a.paths.is_empty()
                && let Some(include) = &file.include
            {
                a.paths = include.iter().map(|p| resolve(p)).collect();
            }
            (&mut a.targets, &mut a.catalog)
        }
        Command::Cluster(a) => (&mut a.targets, &mut a.catalog),
        Command::Helm(a) => (&mut a.targets, &mut a.catalog),
        Command::Serve(a) => (&mut a.targets, &mut a.catalog),
        Command::Plan(a) => {
            // The plan takes one Kubernetes target and its own --current; only catalogs and
            // the manifests to read come from the file.
            if a.paths.is_empty()
                && !a.current.is_empty()
                && let Some(include) = &file.include
            {
                a.paths = include.iter().map(|p| resolve(p)).collect();
            }
            merge_catalogs(&mut a.catalog, &file, &resolve);
            cli.policy = Policy {
                source: Some(path),
                root,
                cwd,
                ignores,
                exclude,
            };
            return Ok(());
        }
        _ => return Ok(()),
    };
    merge_targets(targets, &file);
    merge_catalogs(catalog, &file, &resolve);
    cli.policy = Policy {
        source: Some(path),
        root,
        cwd,
        ignores,
        exclude,
    };
    Ok(())
}

/// `to` relative to `from`, lexically (`../deploy` from a sibling directory); `to` itself
/// when they share no prefix but the root.
fn relative_path(from: &Path, to: &Path) -> PathBuf {
    use std::path::Component;
    fn clean(p: &Path) -> Vec<Component<'_>> {
        let mut out = Vec::new();
        for c in p.components() {
            match c {
                Component::CurDir => {}
                Component::ParentDir => {
                    out.pop();
                }
                c => out.push(c),
            }
        }
        out
    }
    let (f, t) = (clean(from), clean(to));
    let common = f.iter().zip(&t).take_while(|(a, b)| a == b).count();
    if common <= 1 {
        return to.to_path_buf();
    }
    let mut rel = PathBuf::new();
    for _ in common..f.len() {
        rel.push("..");
    }
    for c in &t[common..] {
        rel.push(c.as_os_str());
    }
    if rel.as_os_str().is_empty() {
        rel.push(".");
    }
    rel
}

fn merge_targets(t: &mut TargetArgs, file: &ConfigFile) {
    let split = |s: &str| -> Vec<String> {
        s.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()
    };
    if t.target_version.is_empty()
        && let Some(v) = &file.target_version
    {
        t.target_version = split(v);
    }
    if t.current.is_empty()
        && let Some(v) = &file.current
    {
        t.current = split(v);
    }
    if t.components.is_empty()
        && let Some(c) = &file.components
    {
        t.components.clone_from(c);
    }
}

fn merge_catalogs(c: &mut CatalogArgs, file: &ConfigFile, resolve: &dyn Fn(&Path) -> PathBuf) {
    if c.catalog.is_empty()
        && let Some(list) = &file.catalogs
    {
        c.catalog = list.iter().map(|p| resolve(p)).collect();
    }
    if c.additional_versions.is_empty()
        && let Some(list) = &file.additional_versions
    {
        c.additional_versions = list.iter().map(|p| resolve(p)).collect();
    }
}

fn rule(e: &IgnoreEntry, origin: String) -> Result<IgnoreRule> {
    let fail = |msg: String| anyhow::anyhow!("config {origin}: [[ignore]]: {msg}");
    if e.reason.trim().is_empty() {
        return Err(fail(
            "`reason` is empty; say why these findings are accepted".into(),
        ));
    }
    let codes = e.codes.clone().unwrap_or_default();
    // Every pattern must match some code: a typo would silently ignore nothing.
    let unknown = scanner_core::registry::unmatched(&codes);
    if !unknown.is_empty() {
        return Err(fail(format!(
            "`codes` has {}, which matches no code (see upcheck checks; DEP001-DEP003)",
            crate::policy::show_patterns(&unknown)
        )));
    }
    if e.path.is_none()
        && e.api_version.is_none()
        && e.kind.is_none()
        && e.namespace.is_none()
        && e.name.is_none()
        && codes.is_empty()
    {
        return Err(fail(
            "matches every finding; give at least one of path, api-version, kind, namespace, name, codes".into(),
        ));
    }
    let glob = |field: &str, v: &Option<String>| {
        v.as_deref()
            .map(suppress::glob)
            .transpose()
            .map_err(|m| fail(format!("`{field}`: {m}")))
    };
    Ok(IgnoreRule {
        reason: e.reason.trim().to_owned(),
        path: glob("path", &e.path)?,
        api_version: e.api_version.clone(),
        kind: e.kind.clone(),
        namespace: glob("namespace", &e.namespace)?,
        name: glob("name", &e.name)?,
        codes,
        origin,
    })
}
