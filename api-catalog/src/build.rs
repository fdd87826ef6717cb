//! Builds a [`Catalog`] from catalog files: the embedded ones, then users' own, each later file
//! overriding rows of earlier ones with the same group/version/kind.
//!
//! A file is checked completely before any of it is used: a malformed file is refused with its
//! name, line and field, and nothing of it is kept.

use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

use crate::catalog::{
    ApiEntry, Catalog, CatalogMeta, ComponentMeta, GvIndex, Override, Replacement, WILDCARD,
    group_version_lifecycle,
};
use crate::error::CatalogError;
use crate::file::{CatalogFile, SCHEMA_VERSION};
use crate::gvk::{Gvk, split_api_version};
use crate::version::KubeVersion;

/// Where a row or component was written: for error messages.
#[derive(Clone, Debug)]
pub(crate) struct Origin {
    pub file: String,
    pub line: u64,
}

#[derive(Clone, Debug)]
struct Component {
    meta: ComponentMeta,
    origin: Origin,
}

/// Collects catalog files and builds a validated [`Catalog`].
///
/// ```
/// use api_catalog::{ApiStatus, CatalogBuilder, KubeVersion, Target, Targets};
///
/// let mut builder = CatalogBuilder::embedded();
/// builder.add_yaml("team.yaml", "schema_version: 1\ncomponents:\n  - name: widgets\napis:\n  - component: widgets\n    api_version: example.com/v1beta1\n    kind: Widget\n    removed: \"2.0\"\n    replacement: {api_version: example.com/v1, kind: Widget}\n").unwrap();
/// let catalog = builder.build().unwrap();
/// let mut targets = Targets::new();
/// targets.set("widgets", Target { target: KubeVersion::new(2, 0), current: None });
/// assert_eq!(catalog.assess("example.com/v1beta1", "Widget", &targets).status, ApiStatus::Removed);
/// ```
#[derive(Clone, Debug, Default)]
pub struct CatalogBuilder {
    data_version: Option<String>,
    sources: Vec<String>,
    components: Vec<Component>,
    served_without_lifecycle: HashSet<String>,
    entries: Vec<(ApiEntry, Origin)>,
    index: HashMap<(String, String), usize>,
    overrides: Vec<Override>,
}

impl CatalogBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        Self::default()
    }

    /// A builder holding the embedded catalog files.
    ///
    /// # Panics
    ///
    /// If the embedded files do not validate: a build defect that the tests catch.
    pub fn embedded() -> Self {
        let mut b = Self::new();
        for (name, text) in crate::embedded::FILES {
            // The embedded files are validated by tests; a failure here is a build defect.
            b.add_yaml(&format!("embedded {name}"), text)
                .unwrap_or_else(|e| panic!("the embedded catalog is validated by tests: {e}"));
        }
        b.sources = vec!["embedded".into()];
        b
    }

    fn component_known(&self, name: &str) -> bool {
        self.components.iter().any(|c| c.meta.name == name)
    }

    /// Adds a catalog file in upcheck's schema (`data/SCHEMA.md`). Rows with the group,
    /// version and kind of an earlier row replace it; the replacement is recorded in
    /// [`CatalogMeta::overrides`].
    pub fn add_yaml(&mut self, origin: &str, text: &str) -> Result<(), CatalogError> {
        let file: CatalogFile =
            serde_saphyr::from_str(text).map_err(|e| CatalogError::parse(origin, &e))?;
        let invalid = |line: u64, subject: String, field: &'static str, reason: String| {
            CatalogError::invalid(origin, line, subject, field, reason)
        };
        if file.schema_version.value != SCHEMA_VERSION {
            return Err(invalid(
                file.schema_version.referenced.line(),
                "catalog".into(),
                "schema_version",
                format!(
                    "this upcheck reads schema version {SCHEMA_VERSION}, the file has {}",
                    file.schema_version.value
                ),
            ));
        }
        // Check everything first; change nothing until the whole file is known good.
        let mut components = Vec::new();
        let mut served = Vec::new();
        for c in file.components {
            let line = c.name.referenced.line();
            let name = c.name.value;
            if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
                return Err(invalid(
                    line,
                    format!("component {name:?}"),
                    "name",
                    "use letters, digits and '-' only".into(),
                ));
            }
            if components.iter().any(|m: &Component| m.meta.name == name) {
                return Err(invalid(
                    line,
                    format!("component {name}"),
                    "name",
                    "listed twice".into(),
                ));
            }
            for gv in &c.served_without_lifecycle {
                split_api_version(gv).map_err(|e| {
                    invalid(
                        line,
                        format!("component {name}"),
                        "served_without_lifecycle",
                        e.to_string(),
                    )
                })?;
                served.push(gv.clone());
            }
            components.push(Component {
                meta: ComponentMeta {
                    title: c.title.unwrap_or_else(|| name.clone()),
                    name,
                    complete: c.complete,
                    newest_release: c.newest_release,
                    served_without_lifecycle: c.served_without_lifecycle,
                },
                origin: Origin {
                    file: origin.to_owned(),
                    line,
                },
            });
        }
        let mut rows = Vec::with_capacity(file.apis.len());
        let mut seen = HashSet::new();
        for raw in file.apis {
            let line = raw.api_version.referenced.line();
            let api_version = raw.api_version.value;
            let subject = format!("{api_version} {}", raw.kind);
            split_api_version(&api_version)
                .map_err(|e| invalid(line, subject.clone(), "api_version", e.to_string()))?;
            if raw.kind.is_empty() || raw.kind.bytes().any(|b| b.is_ascii_whitespace()) {
                return Err(invalid(
                    line,
                    subject,
                    "kind",
                    format!("must be a kind, or {WILDCARD:?} for every kind"),
                ));
            }
            if !components.iter().any(|c| c.meta.name == raw.component)
                && !self.component_known(&raw.component)
            {
                return Err(invalid(
                    line,
                    subject,
                    "component",
                    format!(
                        "component {:?} is not declared under `components` (nor built in)",
                        raw.component
                    ),
                ));
            }
            if !seen.insert((api_version.clone(), raw.kind.clone())) {
                return Err(invalid(line, subject, "kind", "listed twice".into()));
            }
            check_lifecycle(raw.introduced, raw.deprecated, raw.removed)
                .map_err(|(field, reason)| invalid(line, subject.clone(), field, reason))?;
            let replacement = match raw.replacement {
                None => None,
                Some(r) => {
                    split_api_version(&r.api_version).map_err(|e| {
                        invalid(
                            line,
                            subject.clone(),
                            "replacement.api_version",
                            e.to_string(),
                        )
                    })?;
                    if r.api_version == api_version
                        && r.kind.as_deref().is_none_or(|k| k == raw.kind)
                    {
                        return Err(invalid(
                            line,
                            subject,
                            "replacement",
                            "an API cannot replace itself".into(),
                        ));
                    }
                    Some(Replacement {
                        api_version: r.api_version,
                        kind: r.kind,
                        available_in: r.available,
                        derived: r.derived,
                    })
                }
            };
            rows.push((
                ApiEntry {
                    component: raw.component,
                    gvk: Gvk::new(api_version, raw.kind),
                    introduced: raw.introduced,
                    deprecated_in: raw.deprecated,
                    removed_in: raw.removed,
                    replacement,
                    migration: raw.migration,
                    link: raw.link,
                    source: raw.source,
                    origin: origin.to_owned(),
                },
                Origin {
                    file: origin.to_owned(),
                    line,
                },
            ));
        }

        // The file is good: merge it.
        if self.data_version.is_none() {
            self.data_version = file.data_version;
        }
        self.sources.push(origin.to_owned());
        for c in components {
            match self
                .components
                .iter_mut()
                .find(|k| k.meta.name == c.meta.name)
            {
                Some(existing) => {
                    self.overrides.push(Override {
                        api: format!("component {}", c.meta.name),
                        by: origin.to_owned(),
                        replaced: existing.origin.file.clone(),
                    });
                    *existing = c;
                }
                None => self.components.push(c),
            }
        }
        self.served_without_lifecycle.extend(served);
        for (entry, at) in rows {
            self.insert_row(origin, entry, at);
        }
        Ok(())
    }

    /// Adds rows read from another format (the Pluto reader), with their lines.
    pub(crate) fn add_rows(
        &mut self,
        origin: &str,
        components: Vec<(ComponentMeta, u64)>,
        rows: Vec<(ApiEntry, u64)>,
    ) {
        self.sources.push(origin.to_owned());
        for (meta, line) in components {
            if !self.component_known(&meta.name) {
                self.components.push(Component {
                    meta,
                    origin: Origin {
                        file: origin.to_owned(),
                        line,
                    },
                });
            }
        }
        for (entry, line) in rows {
            self.insert_row(
                origin,
                entry,
                Origin {
                    file: origin.to_owned(),
                    line,
                },
            );
        }
    }

    /// Adds a row, replacing (and recording) an earlier row with the same group/version/kind.
    fn insert_row(&mut self, origin: &str, entry: ApiEntry, at: Origin) {
        let key = (entry.gvk.api_version.clone(), entry.gvk.kind.clone());
        if let Some(&i) = self.index.get(&key) {
            self.overrides.push(Override {
                api: entry.gvk.to_string(),
                by: origin.to_owned(),
                replaced: self.entries[i].1.file.clone(),
            });
            self.entries[i] = (entry, at);
        } else {
            self.index.insert(key, self.entries.len());
            self.entries.push((entry, at));
        }
    }

    /// Validates the rows together and indexes them.
    ///
    /// # Panics
    ///
    /// Never: every row names a component that was checked when its file was added.
    pub fn build(self) -> Result<Catalog, CatalogError> {
        let invalid = |at: &Origin, subject: String, field: &'static str, reason: String| {
            CatalogError::Invalid {
                origin: at.file.clone(),
                line: at.line,
                subject,
                field,
                reason,
            }
        };
        let mut components: Vec<ComponentMeta> =
            self.components.into_iter().map(|c| c.meta).collect();
        components.sort_by(|a, b| a.name.cmp(&b.name));
        let mut rows = self.entries;
        rows.sort_by(|(a, _), (b, _)| {
            (&a.component, a.gvk.group(), a.gvk.version(), &a.gvk.kind).cmp(&(
                &b.component,
                b.gvk.group(),
                b.gvk.version(),
                &b.gvk.kind,
            ))
        });
        let (mut entries, origins): (Vec<ApiEntry>, Vec<Origin>) = rows.into_iter().unzip();

        let mut by_api_version: HashMap<String, GvIndex> = HashMap::new();
        let mut complete_groups = HashMap::new();
        for (i, e) in entries.iter().enumerate() {
            let component = components
                .iter()
                .position(|c| c.name == e.component)
                .expect("rows name known components: checked when their file was added");
            let gv = by_api_version.entry(e.gvk.api_version.clone()).or_default();
            if !gv.entries.is_empty() && gv.component != component {
                return Err(invalid(
                    &origins[i],
                    e.gvk.to_string(),
                    "component",
                    format!(
                        "{} is already listed under component {}",
                        e.gvk.api_version, components[gv.component].name
                    ),
                ));
            }
            gv.component = component;
            gv.kinds.insert(e.gvk.kind.clone(), i);
            gv.entries.push(i);
            if components[component].complete {
                complete_groups.insert(e.gvk.group().to_owned(), component);
            }
        }
        // The migration path chooser looks for the other versions of a kind in its group.
        let mut by_group_kind: HashMap<(String, String), Vec<usize>> = HashMap::new();
        for (i, e) in entries.iter().enumerate() {
            by_group_kind
                .entry((e.gvk.group().to_owned(), e.gvk.kind.clone()))
                .or_default()
                .push(i);
        }
        // Each value is computed from its own entries: the visiting order cannot matter.
        #[allow(clippy::iter_over_hash_type)]
        for gv in by_api_version.values_mut() {
            gv.lifecycle = group_version_lifecycle(
                gv.entries
                    .iter()
                    .map(|&i| &entries[i])
                    .filter(|e| !e.is_wildcard()),
            );
        }

        // Replacements: derive a missing release from the replacement's own row, check a given
        // one against it, and refuse chains that loop.
        let find = |api_version: &str, kind: &str| {
            by_api_version
                .get(api_version)
                .and_then(|gv| gv.kinds.get(kind))
                .copied()
        };
        for i in 0..entries.len() {
            let Some(rep) = entries[i].replacement.clone() else {
                continue;
            };
            let subject = entries[i].gvk.to_string();
            let target_introduced = rep
                .kind
                .as_deref()
                .and_then(|k| find(&rep.api_version, k))
                .and_then(|j| entries[j].introduced);
            let available = match (rep.available_in, target_introduced) {
                (Some(a), Some(t)) if a != t => {
                    return Err(invalid(
                        &origins[i],
                        subject,
                        "replacement.available",
                        format!("{a}, but {} was introduced in {t}", rep.display()),
                    ));
                }
                (a, t) => a.or(t),
            };
            if let Some(r) = entries[i].replacement.as_mut() {
                r.available_in = available;
            }
            let mut seen = vec![i];
            let mut next = rep.kind.map(|k| (rep.api_version, k));
            while let Some((api_version, kind)) = next.take() {
                let Some(j) = find(&api_version, &kind) else {
                    break;
                };
                if seen.contains(&j) {
                    return Err(invalid(
                        &origins[i],
                        subject,
                        "replacement",
                        format!("replacements loop back through {api_version} {kind}"),
                    ));
                }
                seen.push(j);
                next = entries[j]
                    .replacement
                    .as_ref()
                    .and_then(|r| r.kind.clone().map(|k| (r.api_version.clone(), k)));
            }
        }

        let core_kinds = entries
            .iter()
            .filter(|e| e.gvk.group().is_empty() && complete_groups.contains_key(""))
            .map(|e| e.gvk.kind.clone())
            .collect();
        Ok(Catalog {
            meta: CatalogMeta {
                data_version: self.data_version.unwrap_or_else(|| "unversioned".into()),
                components,
                sources: self.sources,
                overrides: self.overrides,
            },
            entries,
            by_group_kind,
            by_api_version,
            complete_groups,
            served_without_lifecycle: self.served_without_lifecycle,
            core_kinds,
        })
    }
}

/// The rules every row keeps: deprecated not after removed, neither before introduced.
pub(crate) fn check_lifecycle(
    introduced: Option<KubeVersion>,
    deprecated: Option<KubeVersion>,
    removed: Option<KubeVersion>,
) -> Result<(), (&'static str, String)> {
    if let (Some(d), Some(r)) = (deprecated, removed)
        && d > r
    {
        return Err((
            "deprecated",
            format!("deprecated in {d}, after its removal in {r}"),
        ));
    }
    for (field, v) in [("deprecated", deprecated), ("removed", removed)] {
        if let (Some(i), Some(v)) = (introduced, v)
            && v < i
        {
            return Err((field, format!("{v} is before its introduction in {i}")));
        }
    }
    Ok(())
}

static EMBEDDED: LazyLock<Catalog> = LazyLock::new(|| {
    CatalogBuilder::embedded()
        .build()
        .unwrap_or_else(|e| panic!("the embedded catalog is validated by tests: {e}"))
});

// The constructors that need the builder live with it, so `catalog.rs` stays below `build.rs`.
impl Catalog {
    /// The catalog built into upcheck: every built-in Kubernetes API version from the 1.16
    /// removals to the newest scheduled removal, and the deprecated APIs of common add-ons.
    pub fn embedded() -> &'static Catalog {
        &EMBEDDED
    }

    /// Parses and validates one catalog file on its own. `origin` names it in errors.
    pub fn from_yaml(origin: &str, text: &str) -> Result<Self, CatalogError> {
        let mut b = CatalogBuilder::new();
        b.add_yaml(origin, text)?;
        b.build()
    }
}
