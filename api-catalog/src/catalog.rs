//! The validated, indexed catalog and its lookups.

use std::collections::{BTreeMap, HashMap, HashSet};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::gvk::{Gvk, split_api_version, version_priority};
use crate::path::{self, Candidate, MigrationStep};
use crate::version::KubeVersion;

/// Where to migrate an API to, and since when that is possible.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Replacement {
    /// `apiVersion` of the replacement.
    pub api_version: String,
    /// Its kind. `None` when the old kind has no single successor (Istio's `Policy` splits
    /// into `PeerAuthentication` and `RequestAuthentication`) or the row names none (Pluto
    /// files give only an apiVersion): the object's own kind is then meant, or the link says.
    pub kind: Option<String>,
    /// First release that serves the replacement; `None` when not recorded.
    pub available_in: Option<KubeVersion>,
    /// The upstream data names no replacement, and this one was derived (the newest version of
    /// the same kind in the same group).
    pub derived: bool,
}

impl Replacement {
    /// `apiVersion` and kind for people (`networking.k8s.io/v1 Ingress`).
    pub fn display(&self) -> String {
        match &self.kind {
            Some(k) => format!("{} {k}", self.api_version),
            None => self.api_version.clone(),
        }
    }
}

/// The lifecycle of one group/version/kind.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ApiEntry {
    /// The component whose version line the releases below belong to (`k8s` for built-ins).
    pub component: String,
    /// The API.
    #[serde(flatten)]
    pub gvk: Gvk,
    /// First release that served it, when recorded.
    pub introduced: Option<KubeVersion>,
    /// First release in which it is deprecated.
    pub deprecated_in: Option<KubeVersion>,
    /// First release that no longer serves it.
    pub removed_in: Option<KubeVersion>,
    /// What to migrate to. `None`: there is no replacement (for example `PodSecurityPolicy`).
    pub replacement: Option<Replacement>,
    /// What changes in the object when migrating to the replacement.
    pub migration: Vec<String>,
    /// Where the facts are documented.
    pub link: Option<String>,
    /// Which upstream source the row was taken from.
    pub source: Option<String>,
    /// Which catalog file the row comes from (`embedded`, or a path given by the user).
    pub origin: String,
}

impl ApiEntry {
    /// Whether the row matches every kind of its apiVersion (Pluto rows with an empty kind).
    pub fn is_wildcard(&self) -> bool {
        self.gvk.kind == WILDCARD
    }
}

/// The kind of a row that matches every kind of its apiVersion.
pub const WILDCARD: &str = "*";

/// Facts about one component's version line.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ComponentMeta {
    /// Short name used in `--target-version NAME=VERSION` (`k8s`).
    pub name: String,
    /// Human name (`Kubernetes`).
    pub title: String,
    /// Whether every version its groups ever served is listed. Only then is an unlisted version
    /// of one of its groups reported as unknown.
    pub complete: bool,
    /// Newest released version the data covers; for Kubernetes also the default target. A
    /// target beyond it is judged, with a warning that later removals are not known.
    pub newest_release: Option<KubeVersion>,
    /// Group/versions of the component served without lifecycle data (never "unknown").
    pub served_without_lifecycle: Vec<String>,
}

/// A built-in row replaced by a row of a user catalog.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Override {
    /// The row's `apiVersion` and kind.
    pub api: String,
    /// The file whose row now applies.
    pub by: String,
    /// The file whose row it replaced.
    pub replaced: String,
}

/// What the catalog is and how current it is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CatalogMeta {
    /// Version of the data (changes whenever a row changes).
    pub data_version: String,
    /// Components, sorted by name.
    pub components: Vec<ComponentMeta>,
    /// The files the catalog was built from, in order (`embedded` first).
    pub sources: Vec<String>,
    /// Rows replaced by later files.
    pub overrides: Vec<Override>,
}

/// How an object's apiVersion and kind were matched against the catalog.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Lookup<'c> {
    /// The exact group/version/kind is in the catalog.
    Entry(&'c ApiEntry),
    /// The group/version is in the catalog but this kind is not (`v1 List`,
    /// `apps/v1beta1 DeploymentRollback`).
    GroupVersion {
        /// Component of the group.
        component: &'c str,
        /// The group/version's lifecycle as a whole: deprecated (removed) only once every
        /// listed kind is.
        lifecycle: Lifecycle,
    },
    /// The group belongs to a component whose catalog is complete, yet this version was never
    /// served (`apps/v1beta3`, `networking.k8s.io/v2`). For the core group (a bare
    /// `apiVersion: v1beta3`) only kinds the core group has are judged: tools use bare versions
    /// for their own configuration files.
    UnknownVersion {
        /// Component of the group.
        component: &'c str,
    },
    /// The catalog does not know the group (custom resources of other projects).
    NotCovered,
}

/// The verdict for one apiVersion/kind at a target.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum ApiStatus {
    /// Served at the target and not deprecated.
    Served,
    /// Still served at the target, but deprecated.
    Deprecated,
    /// No longer served at the target.
    Removed,
    /// A version of a known group that never existed; no server accepts it.
    Unknown,
    /// The component has no target, so it was not judged.
    NotJudged,
    /// The catalog has nothing about this group.
    NotCovered,
}

impl ApiStatus {
    /// Whether the status is worth a finding (deprecated, removed or unknown).
    pub fn is_reportable(self) -> bool {
        matches!(self, Self::Deprecated | Self::Removed | Self::Unknown)
    }

    /// The lowercase word used in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Served => "served",
            Self::Deprecated => "deprecated",
            Self::Removed => "removed",
            Self::Unknown => "unknown",
            Self::NotJudged => "not-judged",
            Self::NotCovered => "not-covered",
        }
    }
}

/// The version a component is judged at, and optionally the version it runs today.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Target {
    /// The version being upgraded to.
    pub target: KubeVersion,
    /// The version running now; replacements must be available here to migrate before the
    /// upgrade. When `None`, availability is judged at the target.
    pub current: Option<KubeVersion>,
}

/// Targets per component (`k8s` → 1.33). A component without a target is not judged.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(transparent)]
pub struct Targets(BTreeMap<String, Target>);

impl Targets {
    /// No targets.
    pub fn new() -> Self {
        Self::default()
    }

    /// Targets with only Kubernetes (`k8s`) set.
    pub fn kubernetes(target: KubeVersion, current: Option<KubeVersion>) -> Self {
        let mut t = Self::new();
        t.set("k8s", Target { target, current });
        t
    }

    /// Sets the target of a component.
    pub fn set(&mut self, component: impl Into<String>, target: Target) {
        self.0.insert(component.into(), target);
    }

    /// The target of a component.
    pub fn get(&self, component: &str) -> Option<&Target> {
        self.0.get(component)
    }

    /// All targets, sorted by component.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Target)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v))
    }
}

/// Lifecycle releases that apply to a verdict (the entry's, or the group/version's).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Lifecycle {
    /// First release that served it.
    pub introduced: Option<KubeVersion>,
    /// First release in which it is deprecated.
    pub deprecated_in: Option<KubeVersion>,
    /// First release that no longer serves it.
    pub removed_in: Option<KubeVersion>,
}

/// Which catalog fact a verdict rests on.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum MatchBasis {
    /// The exact group/version/kind.
    Kind,
    /// The group/version, whose every listed kind shares the status.
    GroupVersion,
    /// The group is known but the version never existed.
    UnknownVersion,
    /// Nothing matched.
    None,
}

/// The full answer for one apiVersion/kind at the component's target.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verdict<'c> {
    /// Served, deprecated, removed, unknown, ...
    pub status: ApiStatus,
    /// What the verdict rests on.
    pub basis: MatchBasis,
    /// The component whose target applied.
    pub component: Option<&'c str>,
    /// The target and current version used.
    pub target: Option<Target>,
    /// Lifecycle releases behind the verdict.
    pub lifecycle: Lifecycle,
    /// The exact catalog entry, when the kind is listed.
    pub entry: Option<&'c ApiEntry>,
    /// The replacement to use at the target: the entry's replacement, followed along its own
    /// replacements while those are removed at the target too. `None`: nothing to migrate to.
    pub replacement: Option<&'c Replacement>,
    /// Whether that replacement is served at the current version (or at the target when no
    /// current version is known). `None` when there is no replacement or its release is not
    /// recorded.
    pub replacement_available: Option<bool>,
    /// How to get there (`Catalog::migration_path`) for a deprecated or removed kind: the
    /// versions to move through from the current version (or the target when none is known)
    /// to one served at the target. `None` when there is no replacement or no such path.
    pub path: Option<Vec<MigrationStep<'c>>>,
}

#[derive(Debug, Default)]
pub(crate) struct GvIndex {
    pub(crate) component: usize,
    pub(crate) kinds: HashMap<String, usize>,
    /// Entries of this group/version in catalog order (deterministic).
    pub(crate) entries: Vec<usize>,
    /// Lifecycle of the group/version as a whole, for kinds it does not list.
    pub(crate) lifecycle: Lifecycle,
}

/// The API catalog: every known group/version/kind lifecycle, indexed for lookups.
///
/// ```
/// use api_catalog::{ApiStatus, Catalog, KubeVersion, Targets};
///
/// let catalog = Catalog::embedded();
/// let targets = Targets::kubernetes(KubeVersion::new(1, 25), None);
/// let verdict = catalog.assess("policy/v1beta1", "PodSecurityPolicy", &targets);
/// assert_eq!(verdict.status, ApiStatus::Removed);
/// assert!(verdict.replacement.is_none()); // PSP has no replacement
///
/// let ingress = catalog.assess("extensions/v1beta1", "Ingress", &targets);
/// assert_eq!(ingress.replacement.unwrap().api_version, "networking.k8s.io/v1");
/// ```
#[derive(Debug)]
pub struct Catalog {
    pub(crate) meta: CatalogMeta,
    pub(crate) entries: Vec<ApiEntry>,
    pub(crate) by_api_version: HashMap<String, GvIndex>,
    /// (group, kind) → entries in catalog order: the versions a path may move through.
    pub(crate) by_group_kind: HashMap<(String, String), Vec<usize>>,
    /// group → component index, for components whose catalog is complete.
    pub(crate) complete_groups: HashMap<String, usize>,
    /// `apiVersion`s served without lifecycle data.
    pub(crate) served_without_lifecycle: HashSet<String>,
    /// Kinds of the core group (`v1`) in complete components: a bare `apiVersion` is judged
    /// only for these, since tools use `apiVersion: v1alpha1` for their own configuration.
    pub(crate) core_kinds: HashSet<String>,
}

impl Catalog {
    /// Catalog metadata: data version and components.
    pub fn meta(&self) -> &CatalogMeta {
        &self.meta
    }

    /// Every entry, in catalog order.
    pub fn entries(&self) -> &[ApiEntry] {
        &self.entries
    }

    /// A component's metadata.
    pub fn component(&self, name: &str) -> Option<&ComponentMeta> {
        self.meta.components.iter().find(|c| c.name == name)
    }

    /// The exact entry for a group/version/kind.
    pub fn entry(&self, api_version: &str, kind: &str) -> Option<&ApiEntry> {
        let gv = self.by_api_version.get(api_version)?;
        gv.kinds.get(kind).map(|&i| &self.entries[i])
    }

    /// Matches an object's `apiVersion` and `kind` against the catalog.
    pub fn lookup(&self, api_version: &str, kind: &str) -> Lookup<'_> {
        if let Some(gv) = self.by_api_version.get(api_version) {
            // The exact kind first; a wildcard row of the apiVersion matches any other kind.
            if let Some(&i) = gv.kinds.get(kind).or_else(|| gv.kinds.get(WILDCARD)) {
                return Lookup::Entry(&self.entries[i]);
            }
            return Lookup::GroupVersion {
                component: &self.meta.components[gv.component].name,
                lifecycle: gv.lifecycle,
            };
        }
        let Ok((group, _)) = split_api_version(api_version) else {
            return Lookup::NotCovered;
        };
        if group.is_empty() && !self.core_kinds.contains(kind) {
            return Lookup::NotCovered;
        }
        match self.complete_groups.get(group) {
            Some(&c) if !self.served_without_lifecycle.contains(api_version) => {
                Lookup::UnknownVersion {
                    component: &self.meta.components[c].name,
                }
            }
            _ => Lookup::NotCovered,
        }
    }

    /// Judges an object's `apiVersion` and `kind` at the target of its component.
    pub fn assess(&self, api_version: &str, kind: &str, targets: &Targets) -> Verdict<'_> {
        let not_covered = Verdict {
            status: ApiStatus::NotCovered,
            basis: MatchBasis::None,
            component: None,
            target: None,
            lifecycle: Lifecycle::default(),
            entry: None,
            replacement: None,
            replacement_available: None,
            path: None,
        };
        match self.lookup(api_version, kind) {
            Lookup::NotCovered => not_covered,
            Lookup::UnknownVersion { component } => {
                let target = targets.get(component).copied();
                Verdict {
                    status: if target.is_some() {
                        ApiStatus::Unknown
                    } else {
                        ApiStatus::NotJudged
                    },
                    basis: MatchBasis::UnknownVersion,
                    component: Some(component),
                    target,
                    ..not_covered
                }
            }
            Lookup::Entry(entry) => {
                let component = entry.component.as_str();
                let Some(target) = targets.get(component).copied() else {
                    return Verdict {
                        status: ApiStatus::NotJudged,
                        basis: MatchBasis::Kind,
                        component: Some(component),
                        entry: Some(entry),
                        ..not_covered
                    };
                };
                let lifecycle = Lifecycle {
                    introduced: entry.introduced,
                    deprecated_in: entry.deprecated_in,
                    removed_in: entry.removed_in,
                };
                let status = status_at(&lifecycle, target.target);
                let replacement = self.effective_replacement(entry, target.target);
                let replacement_available = replacement.and_then(|r| {
                    r.available_in
                        .map(|a| a <= target.current.unwrap_or(target.target))
                });
                // Only what becomes a finding needs a path; served objects are the bulk.
                let path = if matches!(status, ApiStatus::Deprecated | ApiStatus::Removed) {
                    self.path_for(
                        entry,
                        target.current.unwrap_or(target.target),
                        target.target,
                    )
                } else {
                    None
                };
                Verdict {
                    status,
                    basis: MatchBasis::Kind,
                    component: Some(component),
                    target: Some(target),
                    lifecycle,
                    entry: Some(entry),
                    replacement,
                    replacement_available,
                    path,
                }
            }
            Lookup::GroupVersion {
                component,
                lifecycle,
            } => {
                let Some(target) = targets.get(component).copied() else {
                    return Verdict {
                        status: ApiStatus::NotJudged,
                        basis: MatchBasis::GroupVersion,
                        component: Some(component),
                        ..not_covered
                    };
                };
                Verdict {
                    status: status_at(&lifecycle, target.target),
                    basis: MatchBasis::GroupVersion,
                    component: Some(component),
                    target: Some(target),
                    lifecycle,
                    ..not_covered
                }
            }
        }
    }

    /// The migration path for objects of an API from `current` (the target when `None`) to
    /// `target`, on the API's own component's version line: the versions to move through, the
    /// first move made at `current` or later, each version served from the release where the
    /// object moves to it until it moves on, the last one served at the target. The fewest
    /// moves win, then the most stable final version (GA over beta), then the newest. The
    /// candidates are the replacement chain and the other versions of the same kind in the
    /// groups along it (`extensions` → `networking.k8s.io`), none older than the API itself (an
    /// earlier version, a less stable stage, the GA version of a lower major). Moves are made while the cluster
    /// runs a release before the target (the target itself when there is no upgrade): the
    /// object is on a served version when the upgrade reaches it. `None`: the API is not
    /// listed, has no replacement, or no path exists.
    ///
    /// ```
    /// use api_catalog::{Catalog, KubeVersion};
    ///
    /// let c = Catalog::embedded();
    /// let fs = "flowcontrol.apiserver.k8s.io/v1beta2";
    /// let path = c
    ///     .migration_path(fs, "FlowSchema", Some(KubeVersion::new(1, 27)), KubeVersion::new(1, 33))
    ///     .unwrap();
    /// let versions: Vec<_> = path.iter().map(|s| s.api_version).collect();
    /// assert_eq!(versions, ["flowcontrol.apiserver.k8s.io/v1beta3", "flowcontrol.apiserver.k8s.io/v1"]);
    /// assert_eq!(path[1].earliest, KubeVersion::new(1, 29)); // v1 is served from 1.29
    /// assert_eq!(path[1].latest, KubeVersion::new(1, 31)); // v1beta3 is gone in 1.32
    /// ```
    pub fn migration_path(
        &self,
        api_version: &str,
        kind: &str,
        current: Option<KubeVersion>,
        target: KubeVersion,
    ) -> Option<Vec<MigrationStep<'_>>> {
        match self.lookup(api_version, kind) {
            Lookup::Entry(entry) => self.path_for(entry, current.unwrap_or(target), target),
            _ => None,
        }
    }

    fn path_for<'a>(
        &'a self,
        entry: &'a ApiEntry,
        current: KubeVersion,
        target: KubeVersion,
    ) -> Option<Vec<MigrationStep<'a>>> {
        // No replacement means none (PodSecurityPolicy): other versions of the kind are not
        // offered where the data says there is nothing to move to.
        let first = entry.replacement.as_ref()?;
        let own = candidate(entry);
        let priority = |api_version: &str| {
            let (_, version) = split_api_version(api_version).unwrap_or(("", api_version));
            version_priority(version).unwrap_or((0, 0, 0))
        };
        let own_priority = priority(&entry.gvk.api_version);
        let own_group = entry.gvk.group();
        // Forward only: not an older version of its own group, nor less stable, nor the GA
        // version of an older generation (autoscaling/v1 for v2beta1 lacks its fields; a
        // beta of a lower major, batch/v1beta1 for v2alpha1, is the way forward).
        let forward = |e: &ApiEntry| {
            let p = priority(&e.gvk.api_version);
            !(p.0 == 2 && p.1 < own_priority.1)
                && if e.gvk.group() == own_group {
                    p > own_priority
                } else {
                    p >= own_priority
                }
        };
        let mut candidates: Vec<Candidate<'a>> = Vec::new();
        let mut add = |c: Candidate<'a>| {
            let same = |o: &Candidate<'_>| o.api_version == c.api_version && o.kind == c.kind;
            if !same(&own) && !candidates.iter().any(same) {
                candidates.push(c);
            }
        };
        let mut groups: Vec<(&'a str, &'a str)> = vec![(entry.gvk.group(), &entry.gvk.kind)];
        let mut link = Some(first);
        // Chains were checked for loops at load time; the bound only guards the invariant.
        for _ in 0..=self.entries.len() {
            let Some(r) = link else { break };
            let next = r
                .kind
                .as_deref()
                .and_then(|k| self.entry(&r.api_version, k));
            let Some(e) = next else {
                // A replacement without a row of its own: served from its recorded release.
                add(Candidate {
                    api_version: &r.api_version,
                    kind: r.kind.as_deref(),
                    introduced: r.available_in,
                    removed_in: None,
                });
                break;
            };
            add(Candidate {
                introduced: e.introduced.or(r.available_in),
                ..candidate(e)
            });
            groups.push((e.gvk.group(), &e.gvk.kind));
            link = e.replacement.as_ref();
        }
        for (group, kind) in groups {
            let Some(rows) = self.by_group_kind.get(&(group.to_owned(), kind.to_owned())) else {
                continue;
            };
            for &i in rows {
                let e = &self.entries[i];
                if e.component == entry.component && !e.is_wildcard() && forward(e) {
                    add(candidate(e));
                }
            }
        }
        path::choose(&own, &candidates, current, target)
    }

    /// The entry's replacement, followed while the replacement is itself removed at `target`
    /// (flowcontrol v1beta2 → v1beta3 → v1). `None` when the chain ends without a served API.
    pub fn effective_replacement<'a>(
        &'a self,
        entry: &'a ApiEntry,
        target: KubeVersion,
    ) -> Option<&'a Replacement> {
        let mut current = entry.replacement.as_ref()?;
        // Chains were checked for loops at load time; the bound only guards the invariant.
        for _ in 0..=self.entries.len() {
            let next = current
                .kind
                .as_deref()
                .and_then(|k| self.entry(&current.api_version, k));
            match next {
                Some(next) if next.removed_in.is_some_and(|r| r <= target) => {
                    current = next.replacement.as_ref()?;
                }
                _ => return Some(current),
            }
        }
        None
    }
}

fn candidate(e: &ApiEntry) -> Candidate<'_> {
    Candidate {
        api_version: &e.gvk.api_version,
        kind: Some(&e.gvk.kind),
        introduced: e.introduced,
        removed_in: e.removed_in,
    }
}

/// An unlisted kind shares its group/version's fate only when every listed kind does: the
/// group/version is then deprecated (or gone) as a whole.
pub(crate) fn group_version_lifecycle<'a>(
    entries: impl Iterator<Item = &'a ApiEntry> + Clone,
) -> Lifecycle {
    let all_removed = entries.clone().all(|e| e.removed_in.is_some());
    let all_deprecated = entries
        .clone()
        .all(|e| e.deprecated_in.or(e.removed_in).is_some());
    Lifecycle {
        introduced: entries.clone().filter_map(|e| e.introduced).min(),
        deprecated_in: if all_deprecated {
            entries
                .clone()
                .filter_map(|e| e.deprecated_in.or(e.removed_in))
                .max()
        } else {
            None
        },
        removed_in: if all_removed {
            entries.filter_map(|e| e.removed_in).max()
        } else {
            None
        },
    }
}

fn status_at(lifecycle: &Lifecycle, target: KubeVersion) -> ApiStatus {
    if lifecycle.removed_in.is_some_and(|r| r <= target) {
        ApiStatus::Removed
    } else if lifecycle.deprecated_in.is_some_and(|d| d <= target) {
        ApiStatus::Deprecated
    } else {
        ApiStatus::Served
    }
}
