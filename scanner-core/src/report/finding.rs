//! Findings: an object whose API version is deprecated, removed or unknown at the target.

use std::fmt;
use std::fmt::Write as _;

use api_catalog::{ApiStatus, KubeVersion, MatchBasis, MigrationStep, Verdict};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize, Serializer};

use super::Span;
use super::cluster::{Evidence, Storage};

/// A stable check code. Codes never change meaning once released; users put them in CI
/// configurations and ignore lists.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Code {
    /// `DEP001` removed-api: the API version is no longer served at the target.
    RemovedApi,
    /// `DEP002` deprecated-api: the API version is deprecated at the target.
    DeprecatedApi,
    /// `DEP003` unknown-api-version: a version of a built-in group that never existed.
    UnknownApiVersion,
}

impl Code {
    /// Every code, in order.
    pub const ALL: [Code; 3] = [
        Self::RemovedApi,
        Self::DeprecatedApi,
        Self::UnknownApiVersion,
    ];

    /// The code as written in reports (`DEP001`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::RemovedApi => "DEP001",
            Self::DeprecatedApi => "DEP002",
            Self::UnknownApiVersion => "DEP003",
        }
    }

    /// A short name for the condition (`removed-api`).
    pub fn name(self) -> &'static str {
        match self {
            Self::RemovedApi => "removed-api",
            Self::DeprecatedApi => "deprecated-api",
            Self::UnknownApiVersion => "unknown-api-version",
        }
    }

    /// One line on what the code means.
    pub fn summary(self) -> &'static str {
        match self {
            Self::RemovedApi => "API version no longer served at the target version",
            Self::DeprecatedApi => "API version deprecated at the target version",
            Self::UnknownApiVersion => "version of a built-in API group that never existed",
        }
    }

    fn for_status(status: ApiStatus) -> Option<Self> {
        match status {
            ApiStatus::Removed => Some(Self::RemovedApi),
            ApiStatus::Deprecated => Some(Self::DeprecatedApi),
            ApiStatus::Unknown => Some(Self::UnknownApiVersion),
            _ => None,
        }
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Code {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Code {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Self::ALL
            .into_iter()
            .find(|c| c.as_str() == text)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown deprecation code {text:?}")))
    }
}

// Written as its string (`DEP001`), one of three.
impl JsonSchema for Code {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Code".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "enum": ["DEP001", "DEP002", "DEP003"],
            "description": "DEP001 removed-api, DEP002 deprecated-api, DEP003 unknown-api-version."
        })
    }
}

/// Where an object was found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct Location {
    /// The path as given on the command line (relative stays relative), or `<stdin>`.
    pub path: String,
    /// 0-based index of the document in the file, empty documents included.
    pub document: usize,
    /// Index in the `items` of a `List` (or of a top-level sequence).
    pub item: Option<usize>,
    /// 1-based line where the object starts.
    pub line: u32,
    /// Byte range of the whole document in the file. `None` when the file had to be
    /// re-encoded to be read (UTF-16, invalid UTF-8), so offsets would not match the bytes.
    pub document_span: Option<Span>,
    /// Byte range of the `apiVersion` value in the file (without quotes), for rewriting it in
    /// place. `None` when it cannot be rewritten safely (alias, escapes, re-encoded file).
    pub api_version_span: Option<Span>,
    /// Line and column of the `apiVersion` value, when its span is known: where an editor or
    /// a code-scanning annotation should point.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version_position: Option<Position>,
}

/// A position in a file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct Position {
    /// 1-based line.
    pub line: u32,
    /// 1-based column, in characters.
    pub column: u32,
}

/// The API to migrate to, as it applies at the target.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct FindingReplacement {
    /// `apiVersion` of the replacement.
    pub api_version: String,
    /// Kind of the replacement; `None` when there is no single successor kind (the
    /// catalog link explains).
    pub kind: Option<String>,
    /// First release that serves it, when recorded.
    pub available_in: Option<KubeVersion>,
    /// Whether it is served at the current version (or the target when no current version is
    /// given). `None` when unknown. When it is not, `path` says how to get there: through
    /// other versions, or by moving once a later release serves it.
    pub available: Option<bool>,
    /// The migration path from the current version to the target, in order; the last step is
    /// this replacement. Empty when no path exists (exit code 4: the object cannot stay on
    /// served versions through the upgrade), when the replacement is a custom resource's
    /// version served now (CRD versions have no releases to plan by), or the report predates
    /// paths.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub path: Vec<PathStep>,
}

/// One move of a migration path: to which API version, and while the cluster runs which
/// releases (both the version moved from and this one are served there).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct PathStep {
    /// `apiVersion` to move to.
    pub api_version: String,
    /// Its kind; `None` when there is no single successor kind.
    pub kind: Option<String>,
    /// First release that serves it, when recorded.
    pub available_in: Option<KubeVersion>,
    /// First release that no longer serves it, when it is removed.
    pub removed_in: Option<KubeVersion>,
    /// The first release at which the move can be made.
    pub earliest: KubeVersion,
    /// The last release at which it can be made: before the hop to the next minor.
    pub latest: KubeVersion,
}

impl PathStep {
    /// `apiVersion` and kind for people.
    pub fn display(&self) -> String {
        match &self.kind {
            Some(k) => format!("{} {k}", self.api_version),
            None => self.api_version.clone(),
        }
    }
}

impl From<&MigrationStep<'_>> for PathStep {
    fn from(s: &MigrationStep<'_>) -> Self {
        Self {
            api_version: s.api_version.to_owned(),
            kind: s.kind.map(str::to_owned),
            available_in: s.introduced,
            removed_in: s.removed_in,
            earliest: s.earliest,
            latest: s.latest,
        }
    }
}

/// Where a finding from a live cluster came from. Absent for manifest files.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum Origin {
    /// An object stored in the cluster, judged by the API versions it was written through.
    Object {
        /// The resource it was listed as (`ingresses.networking.k8s.io`).
        resource: String,
        /// Why the object is said to use the API version: the managers that wrote through it,
        /// and the last-applied annotation.
        evidence: Vec<Evidence>,
    },
    /// An object in the rendered manifest of a Helm release.
    Helm {
        /// Release name.
        release: String,
        /// Release namespace.
        namespace: String,
        /// Revision.
        revision: u64,
        /// `chart-version`.
        chart: Option<String>,
        /// Release status of that revision (`deployed`, `superseded`, ...).
        status: String,
        /// Secret or `ConfigMap`.
        storage: Storage,
        /// `namespace/name` of the storage object.
        storage_object: String,
    },
}

/// An object that uses a deprecated, removed or unknown API version at the target.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct Finding {
    /// Stable code of the condition.
    pub code: Code,
    /// The verdict at the target.
    pub status: ApiStatus,
    /// The object's `apiVersion`.
    pub api_version: String,
    /// The object's kind.
    pub kind: String,
    /// `metadata.name`, when set.
    pub name: Option<String>,
    /// `metadata.namespace`, when set.
    pub namespace: Option<String>,
    /// Where the object is.
    pub location: Location,
    /// False when the object was read from a document that is not valid YAML (a template):
    /// its identity was read from plain lines, the rest of the document was not.
    pub parsed: bool,
    /// The catalog component whose version line applies (`k8s`).
    pub component: String,
    /// The target (and current) version the object was judged at.
    pub target: KubeVersion,
    /// First release in which the API is deprecated.
    pub deprecated_in: Option<KubeVersion>,
    /// First release that no longer serves the API.
    pub removed_in: Option<KubeVersion>,
    /// Whether the exact kind, or only its group/version, is in the catalog.
    pub matched_by: MatchBasis,
    /// What to migrate to at the target; `None` when there is nothing (`PodSecurityPolicy`).
    pub replacement: Option<FindingReplacement>,
    /// Documentation of the lifecycle.
    pub link: Option<String>,
    /// One sentence for people.
    pub message: String,
    /// Where a finding from a live cluster came from (object evidence, Helm release).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<Origin>,
    /// Stable identity across runs and edits (not the line): for baselines and SARIF.
    pub fingerprint: String,
}

impl Finding {
    /// Builds a finding from an object's verdict; `None` when the verdict is not reportable.
    pub(crate) fn from_verdict(
        verdict: &Verdict<'_>,
        api_version: String,
        kind: String,
        name: Option<String>,
        namespace: Option<String>,
        location: Location,
        parsed: bool,
    ) -> Option<Self> {
        let code = Code::for_status(verdict.status)?;
        let target = verdict.target?;
        let replacement = replacement(verdict);
        let message = message(code, &api_version, &kind, verdict, replacement.as_ref());
        Some(Self {
            code,
            status: verdict.status,
            api_version,
            kind,
            name,
            namespace,
            location,
            parsed,
            component: verdict.component.unwrap_or("k8s").to_owned(),
            target: target.target,
            deprecated_in: verdict.lifecycle.deprecated_in,
            removed_in: verdict.lifecycle.removed_in,
            matched_by: verdict.basis,
            replacement,
            link: verdict.entry.and_then(|e| e.link.clone()),
            message,
            origin: None,
            fingerprint: String::new(),
        })
    }

    /// An object written through a version its `CustomResourceDefinition` marks
    /// `deprecated`. The catalog knows nothing of custom resources: the CRD is the source, and
    /// its own `deprecationWarning` (what the server sends on every request) is the message.
    #[allow(clippy::too_many_arguments)] // the identity of one object, as `from_verdict` takes it
    pub(crate) fn crd_deprecated(
        crd: &str,
        api_version: String,
        kind: String,
        name: Option<String>,
        namespace: Option<String>,
        location: Location,
        target: KubeVersion,
        warning: Option<&str>,
        replacement: Option<&str>,
    ) -> Self {
        let mut message = match warning {
            Some(w) => {
                format!("{api_version} {kind} is deprecated by its CRD {crd}, which warns: \"{w}\"")
            }
            // What the API server says for a deprecated CRD version without its own text.
            None => format!("{api_version} {kind} is deprecated by the CRD {crd}"),
        };
        if let Some(r) = replacement {
            let _ = write!(message, "; migrate to {r} {kind} (served now)");
        }
        Self {
            code: Code::DeprecatedApi,
            status: ApiStatus::Deprecated,
            api_version,
            location,
            parsed: true,
            component: "crd".to_owned(),
            target,
            deprecated_in: None,
            removed_in: None,
            matched_by: MatchBasis::Kind,
            replacement: replacement.map(|r| FindingReplacement {
                api_version: r.to_owned(),
                kind: Some(kind.clone()),
                available_in: None,
                available: Some(true),
                // A CRD's versions have no release lines to plan moves by: the one move is to
                // the version served now.
                path: Vec::new(),
            }),
            kind,
            name,
            namespace,
            link: None,
            message,
            origin: None,
            fingerprint: String::new(),
        }
    }

    /// The object as people name it: `Ingress shop/web`, `ClusterRole reader`, or the kind alone.
    pub fn object_ref(&self) -> String {
        match (&self.namespace, &self.name) {
            (Some(ns), Some(n)) => format!("{} {ns}/{n}", self.kind),
            (None, Some(n)) => format!("{} {n}", self.kind),
            _ => self.kind.clone(),
        }
    }

    /// Whether a replacement exists but no migration path reaches it: the object cannot move
    /// to it before the upgrade leaves it unserved (exit code 4).
    pub fn replacement_unavailable(&self) -> bool {
        self.replacement
            .as_ref()
            .is_some_and(|r| r.available == Some(false) && r.path.is_empty())
    }

    /// The total order findings are reported in: location, then code, then identity.
    pub(crate) fn sort_key(&self) -> impl Ord + '_ {
        (
            self.location.path.as_str(),
            self.location.document,
            self.location.item,
            self.location.line,
            self.code,
            self.api_version.as_str(),
            self.kind.as_str(),
            self.namespace.as_deref(),
            self.name.as_deref(),
        )
    }
}

/// The replacement a finding names: the end of the chosen migration path, or, when no path
/// exists, the catalog's replacement at the target (and `available` says why not).
fn replacement(verdict: &Verdict<'_>) -> Option<FindingReplacement> {
    let current = verdict.target.map(|t| t.current.unwrap_or(t.target));
    match verdict.path.as_deref() {
        Some(steps @ [.., last]) => Some(FindingReplacement {
            api_version: last.api_version.to_owned(),
            kind: last.kind.map(str::to_owned),
            available_in: last.introduced,
            available: last
                .introduced
                .zip(current)
                .map(|(a, current)| a <= current),
            path: steps.iter().map(PathStep::from).collect(),
        }),
        _ => verdict.replacement.map(|r| FindingReplacement {
            api_version: r.api_version.clone(),
            kind: r.kind.clone(),
            available_in: r.available_in,
            available: verdict.replacement_available,
            path: Vec::new(),
        }),
    }
}

fn message(
    code: Code,
    api_version: &str,
    kind: &str,
    verdict: &Verdict<'_>,
    replacement: Option<&FindingReplacement>,
) -> String {
    let subject = match verdict.basis {
        MatchBasis::Kind => format!("{api_version} {kind}"),
        _ => api_version.to_owned(),
    };
    let mut m = match code {
        Code::RemovedApi => match verdict.lifecycle.removed_in {
            Some(r) => format!("{subject} is no longer served since {r}"),
            None => format!("{subject} is no longer served"),
        },
        Code::DeprecatedApi => {
            let mut m = match verdict.lifecycle.deprecated_in {
                Some(d) => format!("{subject} is deprecated since {d}"),
                None => format!("{subject} is deprecated"),
            };
            if let Some(r) = verdict.lifecycle.removed_in {
                let _ = write!(m, " and will be removed in {r}");
            }
            m
        }
        Code::UnknownApiVersion => {
            format!(
                "{api_version} is not a version any Kubernetes release served; check for a typo"
            )
        }
    };
    let current = verdict.target.map(|t| t.current.unwrap_or(t.target));
    match replacement {
        // More than one move, or one that waits for a later release: say when.
        Some(r) if r.path.len() > 1 || r.path.first().map(|s| s.earliest) > current => {
            for (i, step) in r.path.iter().enumerate() {
                let when = if Some(step.earliest) == current {
                    "now".to_owned()
                } else {
                    format!("from {}", step.earliest)
                };
                let _ = match i {
                    0 => write!(m, "; migrate to {} {when}", step.display()),
                    _ => write!(m, ", then to {} {when}", step.display()),
                };
            }
        }
        Some(r) => {
            let _ = write!(m, "; migrate to {}", r.api_version);
            if let Some(k) = &r.kind {
                let _ = write!(m, " {k}");
            }
            match (r.available_in, r.available) {
                (Some(a), Some(false)) => {
                    let _ = match verdict.target.map(|t| t.current.unwrap_or(t.target)) {
                        Some(at) => write!(m, " (only served from {a}; not available at {at})"),
                        None => write!(m, " (only served from {a})"),
                    };
                }
                (Some(a), _) => {
                    let _ = write!(m, " (served since {a})");
                }
                (None, _) => {}
            }
        }
        None if code == Code::RemovedApi && verdict.basis == MatchBasis::Kind => {
            m.push_str("; it has no replacement: remove the object or replace what it does");
        }
        None => {}
    }
    m
}

#[cfg(test)]
mod tests {
    use api_catalog::{Catalog, KUBERNETES_RELEASES_CSV, KubeVersion, Target, Targets};

    use super::{Finding, Location};

    /// For every Kubernetes row and every pair of released minors: a finding either names
    /// its path (the replacement is the path's end, the message names the first move) or
    /// says that there is none, and only then is its replacement "unavailable" (exit 4).
    #[test]
    fn every_finding_names_its_path_or_says_there_is_none() {
        let catalog = Catalog::embedded();
        let releases: Vec<KubeVersion> = KUBERNETES_RELEASES_CSV
            .lines()
            .skip(1)
            .filter_map(|l| l.split(',').next()?.parse().ok())
            .collect();
        let (mut with_path, mut unavailable) = (0, 0);
        for e in catalog.entries().iter().filter(|e| e.component == "k8s") {
            for (i, &current) in releases.iter().enumerate() {
                for &target in &releases[i..] {
                    let mut targets = Targets::new();
                    let current = Some(current);
                    targets.set("k8s", Target { target, current });
                    let verdict = catalog.assess(&e.gvk.api_version, &e.gvk.kind, &targets);
                    let location = Location {
                        path: "x.yaml".into(),
                        document: 0,
                        item: None,
                        line: 1,
                        document_span: None,
                        api_version_span: None,
                        api_version_position: None,
                    };
                    let Some(f) = Finding::from_verdict(
                        &verdict,
                        e.gvk.api_version.clone(),
                        e.gvk.kind.clone(),
                        None,
                        None,
                        location,
                        true,
                    ) else {
                        continue;
                    };
                    let ctx = format!("{} at {current:?} → {target}: {}", e.gvk, f.message);
                    match (&f.replacement, &verdict.path) {
                        (Some(r), Some(path)) => {
                            with_path += 1;
                            let last = path.last().expect("a path has a move");
                            assert_eq!(r.api_version, last.api_version, "{ctx}");
                            assert_eq!(r.path.len(), path.len(), "{ctx}");
                            assert!(!f.replacement_unavailable(), "{ctx}");
                            let first = format!("; migrate to {}", path[0].display());
                            assert!(f.message.contains(&first), "{ctx}");
                        }
                        (Some(_), None) => {
                            unavailable += 1;
                            assert!(f.replacement_unavailable(), "{ctx}");
                            assert!(f.message.contains("not available at"), "{ctx}");
                        }
                        (None, _) => {
                            assert!(!f.replacement_unavailable(), "{ctx}");
                            assert!(
                                verdict.path.is_none()
                                    && (f.code != super::Code::RemovedApi
                                        || f.message.contains("it has no replacement")),
                                "{ctx}"
                            );
                        }
                    }
                }
            }
        }
        assert!(with_path > 1_000, "{with_path} {unavailable}");
    }
}
