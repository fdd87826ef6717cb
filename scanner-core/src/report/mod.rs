//! The result of a scan, in a form every renderer and the exit-code logic read.
//!
//! This is the floor of the crate: these modules hold the report's types and import nothing
//! that produces them. Producers (file scan, live scan, checks, plan, snapshot) import the
//! report, never the reverse.

pub mod cluster;
pub mod code;
mod error;
mod finding;
pub(crate) mod fingerprint;
pub mod fix;
pub mod fleet;
pub mod provider;
pub mod readiness;
pub mod suppressed;

use api_catalog::{Catalog, KubeVersion, Targets};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use cluster::{
    ClusterInfo, ClusterSection, ClusterStats, CrdFinding, CrdIssue, DeprecatedApiRequest,
    Evidence, NotChecked, ProviderApiClient, RequestedApi, ServedApi, ServedResource, Storage,
};
pub use code::{CodeInfo, Family};
pub use error::{ErrorKind, ScanError, ScanWarning, WarningKind};
pub use finding::{Code, Finding, FindingReplacement, Location, Origin, PathStep, Position};
pub use fix::{FileFix, FixReport, LeftObject, ObjectChange, TextEdit};
pub use fleet::{FleetMember, FleetReport, FleetRow};
pub use readiness::{CheckFinding, NotRun, Readiness, Severity};
pub use suppressed::{IGNORE_ANNOTATION, Suppressed, SuppressedBy};

/// A byte range in a file.
pub type Span = std::ops::Range<usize>;

/// Version of the JSON/YAML report schema. Bumped on every breaking change, which the
/// CHANGELOG lists.
pub const REPORT_SCHEMA_VERSION: u32 = 1;

/// What produced the report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct ToolInfo {
    /// `upcheck`.
    pub name: String,
    /// Version of the scanner.
    pub version: String,
    /// Version of the catalog data used.
    pub catalog_version: String,
    /// Newest Kubernetes release the catalog covers.
    pub catalog_kubernetes_release: Option<KubeVersion>,
}

impl ToolInfo {
    /// Tool facts for a scan with `catalog`.
    pub fn new(catalog: &Catalog) -> Self {
        Self {
            name: "upcheck".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            catalog_version: catalog.meta().data_version.clone(),
            catalog_kubernetes_release: catalog.component("k8s").and_then(|c| c.newest_release),
        }
    }
}

/// Counts of what was read.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct ScanStats {
    /// Files (and stdin) read.
    pub files: u64,
    /// Bytes read.
    pub bytes: u64,
    /// Documents with content (empty documents are not counted).
    pub documents: u64,
    /// Kubernetes objects found (list items counted one by one, list wrappers not).
    pub objects: u64,
    /// Documents without a string `apiVersion` and `kind` (values files, kustomize
    /// configurations): read, counted, not reported.
    pub non_objects: u64,
    /// Documents that are not valid YAML.
    pub unparsed_documents: u64,
    /// Findings left out by `--only-removed`.
    pub suppressed: u64,
}

impl ScanStats {
    pub(crate) fn add(&mut self, other: &ScanStats) {
        self.files += other.files;
        self.bytes += other.bytes;
        self.documents += other.documents;
        self.objects += other.objects;
        self.non_objects += other.non_objects;
        self.unparsed_documents += other.unparsed_documents;
        self.suppressed += other.suppressed;
    }
}

/// A scan's findings, the inputs it could not read, and what it read.
///
/// Findings, errors and warnings are sorted by a total order (path, document, item, line,
/// code, identity), so a report is byte-identical whatever the thread count.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct Report {
    /// [`REPORT_SCHEMA_VERSION`].
    pub schema_version: u32,
    /// Tool and catalog versions.
    pub tool: ToolInfo,
    /// Target (and current) version per catalog component.
    pub targets: Targets,
    /// Objects using deprecated, removed or unknown API versions.
    pub findings: Vec<Finding>,
    /// Inputs, or parts of them, that could not be scanned. Non-empty means incomplete.
    pub errors: Vec<ScanError>,
    /// Notices that did not prevent scanning.
    pub warnings: Vec<ScanWarning>,
    /// Objects of catalog components that were not judged, because the component has no
    /// target version (or was not selected), per component.
    pub not_judged: Vec<NotJudged>,
    /// Notes about the judgement itself: targets beyond what the catalog covers, catalog rows
    /// replaced by user catalogs.
    pub notes: Vec<Note>,
    /// Counts.
    pub stats: ScanStats,
    /// What a live-cluster scan read beyond objects: served APIs, the apiserver's metric,
    /// CRDs, missing permissions. Absent for manifest scans.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<ClusterSection>,
    /// Upgrade readiness checks, when they ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub readiness: Option<Readiness>,
    /// Findings accepted by ignore rules, inline annotations or a baseline, and by what.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub suppressed: Vec<Suppressed>,
}

/// Objects of one catalog component that were not judged.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct NotJudged {
    /// The component (`cert-manager`).
    pub component: String,
    /// How many objects use its APIs.
    pub objects: u64,
}

/// What a [`Note`] is about.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[non_exhaustive]
#[serde(rename_all = "kebab-case")]
pub enum NoteKind {
    /// A target is newer than the catalog's data for the component.
    CatalogCoverage,
    /// A user catalog replaced a row of an earlier catalog.
    CatalogOverride,
    /// Objects of a component were not judged.
    NotJudged,
    /// Objects written through old versions only by Kubernetes' own components.
    BuiltinWriters,
}

/// A note about how the scan judged, shown with every report.
#[derive(
    Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[non_exhaustive]
pub struct Note {
    /// What it is about.
    pub kind: NoteKind,
    /// For people.
    pub message: String,
}

impl Note {
    /// Notes that follow from the catalog and the targets alone.
    pub fn for_catalog(catalog: &Catalog, targets: &Targets) -> Vec<Note> {
        let mut notes = Vec::new();
        for (component, t) in targets.iter() {
            if let Some(meta) = catalog.component(component)
                && let Some(newest) = meta.newest_release
                && t.target > newest
            {
                notes.push(Note {
                    kind: NoteKind::CatalogCoverage,
                    message: format!(
                        "the catalog covers {} up to {newest}; removals after {newest} that it does not list are not known (target {})",
                        meta.title, t.target
                    ),
                });
            }
        }
        for o in &catalog.meta().overrides {
            notes.push(Note {
                kind: NoteKind::CatalogOverride,
                message: format!(
                    "{} from {} is replaced by the row in {}",
                    o.api, o.replaced, o.by
                ),
            });
        }
        notes
    }
}

impl Report {
    /// The JSON Schema (draft 2020-12) of the report as `-o json` writes it, generated from
    /// these types. `docs/report.schema.json` is this text; a test keeps the two equal.
    pub fn json_schema() -> String {
        let schema = schemars::schema_for!(Report);
        let mut text = serde_json::to_string_pretty(&schema).unwrap_or_default();
        text.push('\n');
        text
    }

    /// Whether something could not be scanned.
    pub fn is_incomplete(&self) -> bool {
        !self.errors.is_empty()
    }

    pub(crate) fn sort(&mut self) {
        self.findings
            .sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
        self.errors.sort();
        self.warnings.sort();
        self.suppressed.sort();
    }
}

#[cfg(test)]
mod tests {
    use super::Report;

    /// The committed schema is what the types describe; regenerate it with
    /// `cargo run -p scanner-core --example report_schema > docs/report.schema.json`.
    #[test]
    fn reports_read_back_equal() {
        use crate::inspect::cluster::{ClusterInfo, ClusterJudge, ClusterOutcome};
        use crate::{Catalog, KubeVersion, ScanSettings, Scanner, Targets};

        let settings = ScanSettings::new(Targets::kubernetes(KubeVersion::new(1, 25), None));
        let fixtures = concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/manifests");
        let files = Scanner::new(Catalog::embedded(), settings.clone()).scan_paths([fixtures]);
        assert!(!files.findings.is_empty() && !files.errors.is_empty());
        let judge = ClusterJudge::new(Catalog::embedded(), settings);
        let mut out = ClusterOutcome::default();
        judge.metrics(
            "apiserver_requested_deprecated_apis{group=\"batch\",removed_release=\"1.25\",resource=\"cronjobs\",subresource=\"\",version=\"v1beta1\"} 1\n",
            &mut out,
        );
        let live = judge.finish(ClusterInfo::default(), out);
        for report in [files, live] {
            let json = serde_json::to_string(&report).unwrap_or_default();
            let back: Report = serde_json::from_str(&json)
                .unwrap_or_else(|e| panic!("reading the report back: {e}"));
            assert_eq!(back, report);
        }
    }

    #[test]
    fn committed_schema_matches_the_types() {
        let committed = include_str!("../../../docs/report.schema.json");
        assert!(
            committed == Report::json_schema(),
            "docs/report.schema.json is out of date: cargo run -p scanner-core --example report_schema > docs/report.schema.json"
        );
    }
}
