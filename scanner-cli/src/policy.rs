//! What the configuration file resolved to: ignore rules and exclusions. A plain value the
//! arguments carry, below both `args` and `config`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use scanner_core::suppress::{self, Exclude, IgnoreRule};

/// What the config file contributes beyond flag defaults: ignore rules and exclusions.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    /// The file read, if any.
    pub source: Option<PathBuf>,
    /// Directory rule paths are relative to.
    pub root: PathBuf,
    /// The working directory (finding paths are relative to it).
    pub cwd: PathBuf,
    pub ignores: Vec<IgnoreRule>,
    pub exclude: Option<Arc<Exclude>>,
}

impl Policy {
    /// A finding's path relative to the config file's directory.
    pub fn rel_path(&self, path: &str) -> Option<String> {
        suppress::relative_to(&self.root, &self.cwd, Path::new(path))
    }
}

/// Code patterns for an error message: an empty or blank one is shown quoted, so the message
/// does not read as if nothing were named.
pub fn show_patterns(patterns: &[&str]) -> String {
    patterns
        .iter()
        .map(|p| {
            if p.trim().is_empty() {
                format!("{p:?} (empty)")
            } else {
                (*p).to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}
