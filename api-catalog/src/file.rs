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
    /// What changes in the object when migrating to the replacement.
    #[serde(default)]
    pub migration: Vec<String>,
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
    /// Absent when there is no single successor kind.
    #[serde(default)]
    pub kind: Option<String>,
    /// First release that serves the replacement. When absent it is taken from the
    /// replacement's own `introduced`, if the catalog has it.
    #[serde(default)]
    pub available: Option<KubeVersion>,
    /// The upstream data names no replacement; this one was derived.
    #[serde(default)]
    pub derived: bool,
}

/// A catalog written back in this schema: `upcheck catalog list -o yaml|json`. Reading the
/// output with `--catalog` gives the same rows.
#[derive(Debug, serde::Serialize)]
pub struct CatalogExport<'c> {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// The data version of the exported catalog.
    pub data_version: &'c str,
    /// Components of the exported rows.
    pub components: Vec<ComponentExport<'c>>,
    /// The rows.
    pub apis: Vec<EntryExport<'c>>,
}

/// A component in [`CatalogExport`].
#[derive(Debug, serde::Serialize)]
pub struct ComponentExport<'c> {
    /// Short name.
    pub name: &'c str,
    /// Human name.
    pub title: &'c str,
    /// Whether every version of its groups is listed.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub complete: bool,
    /// Newest release covered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub newest_release: Option<KubeVersion>,
    /// Served group/versions without lifecycle data.
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    pub served_without_lifecycle: &'c [String],
}

/// A row in [`CatalogExport`].
#[derive(Debug, serde::Serialize)]
pub struct EntryExport<'c> {
    /// Component.
    pub component: &'c str,
    /// `apiVersion`.
    pub api_version: &'c str,
    /// Kind (`*` for every kind).
    pub kind: &'c str,
    /// First release serving it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub introduced: Option<KubeVersion>,
    /// First release deprecating it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deprecated: Option<KubeVersion>,
    /// First release no longer serving it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub removed: Option<KubeVersion>,
    /// Where to migrate to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replacement: Option<ReplacementExport<'c>>,
    /// What changes when migrating.
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    pub migration: &'c [String],
    /// Documentation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub link: Option<&'c str>,
    /// Where the facts come from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<&'c str>,
}

/// A replacement in [`EntryExport`].
#[derive(Debug, serde::Serialize)]
pub struct ReplacementExport<'c> {
    /// `apiVersion`.
    pub api_version: &'c str,
    /// Kind, when there is a single one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<&'c str>,
    /// First release serving it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub available: Option<KubeVersion>,
    /// Derived where the upstream data names none.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub derived: bool,
}

impl crate::catalog::Catalog {
    /// The rows for which `keep` holds, as a catalog file.
    pub fn export(&self, keep: impl Fn(&crate::catalog::ApiEntry) -> bool) -> CatalogExport<'_> {
        let apis: Vec<EntryExport<'_>> = self
            .entries()
            .iter()
            .filter(|e| keep(e))
            .map(|e| EntryExport {
                component: &e.component,
                api_version: &e.gvk.api_version,
                kind: &e.gvk.kind,
                introduced: e.introduced,
                deprecated: e.deprecated_in,
                removed: e.removed_in,
                replacement: e.replacement.as_ref().map(|r| ReplacementExport {
                    api_version: &r.api_version,
                    kind: r.kind.as_deref(),
                    available: r.available_in,
                    derived: r.derived,
                }),
                migration: &e.migration,
                link: e.link.as_deref(),
                source: e.source.as_deref(),
            })
            .collect();
        let components = self
            .meta()
            .components
            .iter()
            .filter(|c| apis.iter().any(|a| a.component == c.name))
            .map(|c| ComponentExport {
                name: &c.name,
                title: &c.title,
                complete: c.complete,
                newest_release: c.newest_release,
                served_without_lifecycle: &c.served_without_lifecycle,
            })
            .collect();
        CatalogExport {
            schema_version: SCHEMA_VERSION,
            data_version: &self.meta().data_version,
            components,
            apis,
        }
    }
}
