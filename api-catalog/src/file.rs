//! The catalog file format: a serde mirror of `data/SCHEMA.md`.
//!
//! The embedded catalog and user catalogs share this schema. Unknown fields are errors, so a
//! misspelt `remove:` cannot silently turn into "never removed".

use serde::Deserialize;
use serde_saphyr::Spanned;

use crate::version::KubeVersion;

/// Schema version this crate reads and writes.
pub const SCHEMA_VERSION: u32 = 1;

/// A whole catalog file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CatalogFile {
    pub schema_version: Spanned<u32>,
    #[serde(default)]
    pub data_version: Option<String>,
    #[serde(default)]
    pub components: Vec<ComponentFile>,
    #[serde(default)]
    pub apis: Vec<EntryFile>,
}

/// A component (`k8s`, `cert-manager`, ...): a version line of its own.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ComponentFile {
    pub name: Spanned<String>,
    #[serde(default)]
    pub title: Option<String>,
    /// Every served version of the component's groups is listed, so a version that is not
    /// listed never existed.
    #[serde(default)]
    pub complete: bool,
    /// The newest released version of the component the data covers.
    #[serde(default)]
    pub newest_release: Option<KubeVersion>,
    /// Group/versions that are served but have no lifecycle data; never reported as unknown.
    #[serde(default)]
    pub served_without_lifecycle: Vec<String>,
}

/// One group/version/kind lifecycle.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct EntryFile {
    pub component: String,
    pub api_version: Spanned<String>,
    pub kind: String,
    #[serde(default)]
    pub introduced: Option<KubeVersion>,
    #[serde(default)]
    pub deprecated: Option<KubeVersion>,
    #[serde(default)]
    pub removed: Option<KubeVersion>,
    #[serde(default)]
    pub replacement: Option<ReplacementFile>,
    #[serde(default)]
    pub link: Option<String>,
    #[serde(default)]
    pub source: Option<String>,
}

/// Where to migrate to.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ReplacementFile {
    pub api_version: String,
    pub kind: String,
    /// First release that serves the replacement. When absent it is taken from the
    /// replacement's own `introduced`, if the catalog has it.
    #[serde(default)]
    pub available: Option<KubeVersion>,
}
