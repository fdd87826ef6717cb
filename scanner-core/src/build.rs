//! The one report builder: every command that produces a [`Report`] fills an [`Outcome`] and
//! hands it to [`finish`], which writes the notes, sorts, removes exact duplicates and assigns
//! fingerprints. Files, live clusters and Helm releases differ in what they read, never in how
//! the report is assembled.

use std::collections::BTreeMap;

use api_catalog::{Catalog, Targets};

use crate::report::fingerprint;
use crate::report::{
    ClusterSection, Finding, NotJudged, Note, NoteKind, REPORT_SCHEMA_VERSION, Report, ScanError,
    ScanStats, ScanWarning, Suppressed, ToolInfo,
};

/// Field managers that are Kubernetes' own components. They are upgraded with the cluster and
/// then write through current versions, so their old writes are not something to migrate.
pub(crate) const CONTROL_PLANE_MANAGERS: [&str; 5] = [
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
    "kubelet",
    "cloud-controller-manager",
];

/// What some inputs contributed to a report. Outcomes from parallel work merge in any order;
/// the report builder makes the order.
#[derive(Debug, Default)]
#[non_exhaustive]
pub struct Outcome {
    /// Objects using deprecated, removed or unknown API versions.
    pub findings: Vec<Finding>,
    /// Findings accepted by inline annotations.
    pub suppressed: Vec<Suppressed>,
    /// What could not be read. Any error makes the report incomplete.
    pub errors: Vec<ScanError>,
    /// Notices.
    pub warnings: Vec<ScanWarning>,
    /// Objects of components with no target, per component.
    pub not_judged: BTreeMap<String, u64>,
    /// Counts.
    pub stats: ScanStats,
    /// Objects written through old versions only by Kubernetes' own components.
    pub control_plane_writes: u64,
}

impl Outcome {
    /// Adds `other` to `self`, keeping the larger vectors so merging stays linear.
    pub fn merge(&mut self, mut other: Outcome) {
        if self.findings.len() < other.findings.len() {
            std::mem::swap(&mut self.findings, &mut other.findings);
        }
        self.findings.append(&mut other.findings);
        self.suppressed.append(&mut other.suppressed);
        self.errors.append(&mut other.errors);
        self.warnings.append(&mut other.warnings);
        for (component, n) in other.not_judged {
            *self.not_judged.entry(component).or_default() += n;
        }
        self.stats.add(&other.stats);
        self.control_plane_writes += other.control_plane_writes;
    }
}

/// Assembles the report: notes from the catalog and the outcome, a total order (so output is
/// byte-identical for any thread count or response order), exact duplicates removed (a list
/// resumed after an expired continue token may return an object twice), fingerprints.
pub fn finish(
    catalog: &Catalog,
    targets: &Targets,
    out: Outcome,
    cluster: Option<ClusterSection>,
) -> Report {
    let not_judged: Vec<NotJudged> = out
        .not_judged
        .into_iter()
        .map(|(component, objects)| NotJudged { component, objects })
        .collect();
    let mut notes = Note::for_catalog(catalog, targets);
    for nj in &not_judged {
        let title = catalog
            .component(&nj.component)
            .map_or(nj.component.as_str(), |c| c.title.as_str());
        notes.push(Note {
            kind: NoteKind::NotJudged,
            message: format!(
                "{} {title} {} not judged: no target version for {}",
                nj.objects,
                if nj.objects == 1 {
                    "object was"
                } else {
                    "objects were"
                },
                nj.component
            ),
        });
    }
    if out.control_plane_writes > 0 {
        notes.push(Note {
            kind: NoteKind::BuiltinWriters,
            message: format!(
                "{} object(s) were written through deprecated or removed versions only by Kubernetes' own components ({}); those rewrite them through current versions once upgraded, so they are not reported",
                out.control_plane_writes,
                CONTROL_PLANE_MANAGERS.join(", ")
            ),
        });
    }
    let mut report = Report {
        schema_version: REPORT_SCHEMA_VERSION,
        tool: ToolInfo::new(catalog),
        targets: targets.clone(),
        findings: out.findings,
        errors: out.errors,
        warnings: out.warnings,
        not_judged,
        notes,
        stats: out.stats,
        cluster,
        readiness: None,
        suppressed: out.suppressed,
    };
    report.sort();
    report.findings.dedup();
    report.warnings.dedup();
    report.suppressed.dedup();
    fingerprint::assign(&mut report);
    report
}
