//! Which catalog a run uses: the embedded one, or a newer one stored by `upcheck catalog fetch`,
//! then the user's `--catalog` and `-f/--additional-versions` files on top.

use std::collections::BTreeMap;
use std::ops::Deref;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use scanner_core::{Catalog, CatalogBuilder, KubeVersion};

use crate::args::CatalogArgs;

/// The catalog in use: the process-wide embedded one, or one built for this run.
#[derive(Debug)]
pub enum CatalogInUse {
    /// The embedded catalog, unchanged.
    Embedded(&'static Catalog),
    /// Built from a fetched catalog and/or user files.
    Built(Box<Catalog>),
}

impl Deref for CatalogInUse {
    type Target = Catalog;

    fn deref(&self) -> &Catalog {
        match self {
            Self::Embedded(c) => c,
            Self::Built(c) => c,
        }
    }
}

/// The catalog, the `target-versions` of Pluto files, and notes for stderr.
#[derive(Debug)]
pub struct Loaded {
    pub catalog: CatalogInUse,
    pub file_targets: BTreeMap<String, KubeVersion>,
    pub notes: Vec<String>,
}

/// Where `upcheck catalog fetch` keeps the catalog: `$UPCHECK_CACHE_DIR`, else
/// `$XDG_CACHE_HOME/upcheck`, else `~/.cache/upcheck`.
pub fn cache_dir() -> Option<PathBuf> {
    let env = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    env("UPCHECK_CACHE_DIR")
        .or_else(|| env("XDG_CACHE_HOME").map(|d| d.join("upcheck")))
        .or_else(|| env("HOME").map(|d| d.join(".cache/upcheck")))
}

/// The file a fetched catalog is stored in.
pub fn cached_catalog_path() -> Option<PathBuf> {
    cache_dir().map(|d| d.join("catalog.yaml"))
}

/// Whether data version `a` is newer than `b` (both `YYYY.MM.N`-style semver).
pub fn is_newer(a: &str, b: &str) -> bool {
    match (semver::Version::parse(a), semver::Version::parse(b)) {
        (Ok(a), Ok(b)) => a > b,
        _ => false,
    }
}

/// Checks a catalog file that is to replace the embedded one: valid, and complete for
/// Kubernetes.
pub fn check_full_catalog(origin: &str, text: &str) -> Result<Catalog> {
    let mut b = CatalogBuilder::new();
    b.add_yaml(origin, text)?;
    let catalog = b.build()?;
    let k8s = catalog.component("k8s").with_context(|| {
        format!("{origin}: it has no k8s component, so it cannot replace the embedded catalog")
    })?;
    if !k8s.complete || k8s.newest_release.is_none() {
        anyhow::bail!(
            "{origin}: its k8s component must be complete and name its newest release to replace the embedded catalog"
        );
    }
    Ok(catalog)
}

fn read(path: &Path, what: &str) -> Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("cannot read {what} {}", path.display()))
}

/// Builds the catalog for a run.
pub fn load(args: &CatalogArgs) -> Result<Loaded> {
    let mut notes = Vec::new();
    let embedded = Catalog::embedded();
    // A fetched catalog replaces the embedded one when it is newer and still valid.
    let mut base: Option<(String, String)> = None;
    if !args.offline
        && let Some(path) = cached_catalog_path()
        && path.is_file()
    {
        let origin = format!("fetched catalog {}", path.display());
        match read(&path, "the fetched catalog")
            .and_then(|text| check_full_catalog(&origin, &text).map(|c| (c, text)))
        {
            Ok((cached, text))
                if is_newer(&cached.meta().data_version, &embedded.meta().data_version) =>
            {
                base = Some((origin, text));
            }
            Ok(_) => {}
            Err(e) => notes.push(format!("ignoring the fetched catalog: {e:#}")),
        }
    }
    if base.is_none() && args.catalog.is_empty() && args.additional_versions.is_empty() {
        return Ok(Loaded {
            catalog: CatalogInUse::Embedded(embedded),
            file_targets: BTreeMap::new(),
            notes,
        });
    }
    let mut builder = match &base {
        Some((origin, text)) => {
            let mut b = CatalogBuilder::new();
            b.add_yaml(origin, text)?;
            b
        }
        None => CatalogBuilder::embedded(),
    };
    for path in &args.catalog {
        let text = read(path, "catalog file")?;
        builder.add_yaml(&path.display().to_string(), &text)?;
    }
    let mut file_targets = BTreeMap::new();
    for path in &args.additional_versions {
        let text = read(path, "Pluto versions file")?;
        file_targets.extend(builder.add_pluto(&path.display().to_string(), &text)?);
    }
    let catalog = builder.build()?;
    Ok(Loaded {
        catalog: CatalogInUse::Built(Box::new(catalog)),
        file_targets,
        notes,
    })
}
