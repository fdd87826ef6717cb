//! Pluto's `versions.yaml` (`-f/--additional-versions`), read as Pluto writes it, so a team's
//! existing custom file keeps working.
//!
//! Differences from Pluto, on purpose: a row with the group/version/kind of a built-in row
//! replaces it (Pluto refuses the file) and the replacement is listed in the catalog's
//! overrides; a version without the leading `v` (`1.22`) is read as `v1.22` instead of being
//! treated as always reached; a malformed value is an error naming the file, line and field.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_saphyr::Spanned;

use crate::build::{CatalogBuilder, check_lifecycle};
use crate::catalog::{ApiEntry, ComponentMeta, Replacement, WILDCARD};
use crate::error::CatalogError;
use crate::gvk::{Gvk, split_api_version};
use crate::version::KubeVersion;

#[derive(Debug, Deserialize)]
struct PlutoFile {
    #[serde(rename = "target-versions", default)]
    target_versions: BTreeMap<String, Spanned<String>>,
    #[serde(rename = "deprecated-versions", default)]
    deprecated_versions: Vec<PlutoRow>,
}

/// One row. Unknown fields are ignored, as Pluto ignores them.
#[derive(Debug, Deserialize)]
struct PlutoRow {
    version: Spanned<String>,
    #[serde(default)]
    kind: Option<String>,
    #[serde(rename = "deprecated-in", default)]
    deprecated_in: Option<Spanned<String>>,
    #[serde(rename = "removed-in", default)]
    removed_in: Option<Spanned<String>>,
    #[serde(rename = "replacement-api", default)]
    replacement_api: Option<Spanned<String>>,
    #[serde(rename = "replacement-available-in", default)]
    replacement_available_in: Option<Spanned<String>>,
    #[serde(default)]
    component: Option<Spanned<String>>,
}

impl CatalogBuilder {
    /// Adds the rows of a Pluto `versions.yaml`. Returns its `target-versions`, which the
    /// caller uses as defaults for components that have none of their own (Pluto's rule:
    /// command-line targets win over both).
    pub fn add_pluto(
        &mut self,
        origin: &str,
        text: &str,
    ) -> Result<BTreeMap<String, KubeVersion>, CatalogError> {
        let file: PlutoFile =
            serde_saphyr::from_str(text).map_err(|e| CatalogError::parse(origin, &e))?;
        let invalid = |line: u64, subject: String, field: &'static str, reason: String| {
            CatalogError::invalid(origin, line, subject, field, reason)
        };
        let version = |v: &Option<Spanned<String>>,
                       subject: &str,
                       field: &'static str|
         -> Result<Option<KubeVersion>, CatalogError> {
            match v {
                Some(s) if !s.value.trim().is_empty() => {
                    s.value
                        .parse()
                        .map(Some)
                        .map_err(|e: crate::error::VersionError| {
                            invalid(
                                s.referenced.line(),
                                subject.to_owned(),
                                field,
                                e.to_string(),
                            )
                        })
                }
                _ => Ok(None),
            }
        };
        let mut targets = BTreeMap::new();
        for (component, v) in &file.target_versions {
            let parsed = v.value.parse().map_err(|e: crate::error::VersionError| {
                invalid(
                    v.referenced.line(),
                    format!("target-versions {component}"),
                    "target-versions",
                    e.to_string(),
                )
            })?;
            targets.insert(component.clone(), parsed);
        }
        let mut rows = Vec::new();
        let mut components: Vec<(ComponentMeta, u64)> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for r in &file.deprecated_versions {
            let line = r.version.referenced.line();
            let api_version = r.version.value.trim().to_owned();
            let kind = r
                .kind
                .as_deref()
                .map(str::trim)
                .filter(|k| !k.is_empty())
                .unwrap_or(WILDCARD)
                .to_owned();
            let subject = format!("{api_version} {kind}");
            split_api_version(&api_version)
                .map_err(|e| invalid(line, subject.clone(), "version", e.to_string()))?;
            let component = match &r.component {
                Some(c) if !c.value.trim().is_empty() => c.value.trim().to_owned(),
                _ => {
                    return Err(invalid(
                        line,
                        subject,
                        "component",
                        "is required (k8s, istio, cert-manager or your own name)".into(),
                    ));
                }
            };
            if !component
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            {
                return Err(invalid(
                    line,
                    subject,
                    "component",
                    "use letters, digits and '-' only".into(),
                ));
            }
            if !seen.insert((api_version.clone(), kind.clone())) {
                return Err(invalid(line, subject, "kind", "listed twice".into()));
            }
            let deprecated = version(&r.deprecated_in, &subject, "deprecated-in")?;
            let removed = version(&r.removed_in, &subject, "removed-in")?;
            check_lifecycle(None, deprecated, removed).map_err(|(field, reason)| {
                invalid(
                    line,
                    subject.clone(),
                    if field == "deprecated" {
                        "deprecated-in"
                    } else {
                        "removed-in"
                    },
                    reason,
                )
            })?;
            let replacement = match &r.replacement_api {
                Some(rep) if !rep.value.trim().is_empty() => {
                    let api = rep.value.trim().to_owned();
                    split_api_version(&api).map_err(|e| {
                        invalid(
                            rep.referenced.line(),
                            subject.clone(),
                            "replacement-api",
                            e.to_string(),
                        )
                    })?;
                    Some(Replacement {
                        api_version: api,
                        kind: None,
                        available_in: version(
                            &r.replacement_available_in,
                            &subject,
                            "replacement-available-in",
                        )?,
                        derived: false,
                    })
                }
                _ => None,
            };
            if !components.iter().any(|(c, _)| c.name == component) {
                components.push((
                    ComponentMeta {
                        name: component.clone(),
                        title: component.clone(),
                        complete: false,
                        newest_release: None,
                        served_without_lifecycle: Vec::new(),
                    },
                    line,
                ));
            }
            rows.push((
                ApiEntry {
                    component,
                    gvk: Gvk::new(api_version, kind),
                    introduced: None,
                    deprecated_in: deprecated,
                    removed_in: removed,
                    replacement,
                    migration: Vec::new(),
                    link: None,
                    source: Some("pluto-versions-file".into()),
                    origin: origin.to_owned(),
                },
                line,
            ));
        }
        self.add_rows(origin, components, rows);
        Ok(targets)
    }
}
