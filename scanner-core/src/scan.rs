//! The scan pipeline: collect inputs → read and parse in parallel → classify → check → sort.

use std::collections::BTreeMap;

use api_catalog::{ApiStatus, Catalog, Targets};
use rayon::prelude::*;

use serde_json::Value;

use crate::checks::{ClusterState, Resource};
use crate::error::{ErrorKind, ScanError, ScanWarning, WarningKind};
use crate::finding::{Finding, Location, Position};
use crate::parse::{self, DocumentKind};
use crate::report::{
    NotJudged, Note, NoteKind, REPORT_SCHEMA_VERSION, Report, ScanStats, ToolInfo,
};
use crate::source::{self, FileJob, Input, WalkOptions};
use crate::suppress::{IGNORE_ANNOTATION, Inline, Suppressed, inline};

/// Everything a scan needs to know, already resolved (the core never reads config files).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScanSettings {
    /// Target (and current) version per catalog component.
    pub targets: Targets,
    /// Report only APIs that are removed (or unknown) at the target.
    pub only_removed: bool,
    /// How directories are walked.
    pub walk: WalkOptions,
    /// Keep the objects the readiness checks read (PDBs, workloads, webhooks, ...), for
    /// [`Scanner::scan_for_checks`].
    pub keep_for_checks: bool,
    /// Limits on parsing one YAML document (nesting depth, alias expansion).
    pub parse: parse::ParseLimits,
}

impl ScanSettings {
    /// Settings that judge Kubernetes APIs at `targets`, with default walking.
    pub fn new(targets: Targets) -> Self {
        Self {
            targets,
            only_removed: false,
            walk: WalkOptions::default(),
            keep_for_checks: false,
            parse: parse::ParseLimits::default(),
        }
    }
}

/// Scans manifests against the catalog. Runs on the current rayon thread pool, so the caller
/// chooses the thread count (`ThreadPool::install`).
///
/// ```
/// use api_catalog::{Catalog, KubeVersion, Targets};
/// use scanner_core::{Input, ScanSettings, Scanner};
///
/// let catalog = Catalog::embedded();
/// let settings = ScanSettings::new(Targets::kubernetes(KubeVersion::new(1, 25), None));
/// let scanner = Scanner::new(catalog, settings);
/// let manifest = "apiVersion: batch/v1beta1\nkind: CronJob\nmetadata:\n  name: nightly\n";
/// let report = scanner.scan(vec![Input::Bytes { name: "cron.yaml".into(), bytes: manifest.into() }]);
/// let finding = &report.findings[0];
/// assert_eq!(finding.code.as_str(), "DEP001");
/// assert_eq!(finding.name.as_deref(), Some("nightly"));
/// assert_eq!(finding.replacement.as_ref().unwrap().api_version, "batch/v1");
/// assert!(report.errors.is_empty());
/// ```
#[derive(Debug)]
pub struct Scanner<'c> {
    catalog: &'c Catalog,
    settings: ScanSettings,
}

/// What some files contributed.
#[derive(Debug, Default)]
struct FileOutcome {
    findings: Vec<Finding>,
    errors: Vec<ScanError>,
    warnings: Vec<ScanWarning>,
    not_judged: BTreeMap<String, u64>,
    stats: ScanStats,
    kept: Vec<(Resource, Value)>,
    suppressed: Vec<Suppressed>,
}

impl FileOutcome {
    fn merge(mut self, mut other: Self) -> Self {
        // Keep the larger vectors and append the smaller ones to them.
        if self.findings.len() < other.findings.len() {
            std::mem::swap(&mut self.findings, &mut other.findings);
        }
        self.findings.append(&mut other.findings);
        self.errors.append(&mut other.errors);
        self.warnings.append(&mut other.warnings);
        self.kept.append(&mut other.kept);
        self.suppressed.append(&mut other.suppressed);
        for (component, n) in other.not_judged {
            *self.not_judged.entry(component).or_default() += n;
        }
        self.stats.add(&other.stats);
        self
    }
}

impl<'c> Scanner<'c> {
    /// A scanner over `catalog` with `settings`.
    pub fn new(catalog: &'c Catalog, settings: ScanSettings) -> Self {
        Self { catalog, settings }
    }

    /// The settings in use.
    pub fn settings(&self) -> &ScanSettings {
        &self.settings
    }

    /// Scans paths (files and directories), walking directories recursively.
    pub fn scan_paths<P: AsRef<std::path::Path>>(
        &self,
        paths: impl IntoIterator<Item = P>,
    ) -> Report {
        self.scan(
            paths
                .into_iter()
                .map(|p| Input::Path(p.as_ref().to_path_buf()))
                .collect(),
        )
    }

    /// Scans in-memory text under a display name.
    pub fn scan_text(&self, name: &str, text: &str) -> Report {
        self.scan(vec![Input::Bytes {
            name: name.to_owned(),
            bytes: text.as_bytes().to_vec(),
        }])
    }

    /// Scans inputs. Never fails: what cannot be read is recorded in [`Report::errors`].
    pub fn scan(&self, inputs: Vec<Input>) -> Report {
        self.run(inputs).0
    }

    /// Scans inputs and also returns the objects the readiness checks read, as a
    /// [`ClusterState`] (manifests instead of a live cluster). Needs
    /// [`ScanSettings::keep_for_checks`].
    pub fn scan_for_checks(&self, inputs: Vec<Input>) -> (Report, ClusterState) {
        let (report, mut kept) = self.run(inputs);
        // Files are read in parallel: sort so the checks see the same order every time.
        kept.sort_by(|a, b| {
            let key = |v: &Value| {
                (
                    v.pointer("/metadata/namespace")
                        .and_then(Value::as_str)
                        .map(str::to_owned),
                    v.pointer("/metadata/name")
                        .and_then(Value::as_str)
                        .map(str::to_owned),
                )
            };
            (a.0, key(&a.1)).cmp(&(b.0, key(&b.1)))
        });
        let mut state = ClusterState::new();
        for r in Resource::ALL {
            state.set(r, Vec::new());
        }
        for (r, v) in kept {
            state.extend(r, [v]);
        }
        (report, state)
    }

    fn run(&self, inputs: Vec<Input>) -> (Report, Vec<(Resource, Value)>) {
        // A walker thread feeds files to the rayon pool as it finds them; results are sorted
        // at the end, so the order of arrival does not matter.
        let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<FileJob>>(64);
        let walk = self.settings.walk.clone();
        let (collected, outcome) = std::thread::scope(|scope| {
            let walker = scope.spawn(move || source::collect(inputs, &walk, &tx));
            // Each worker folds its files into one outcome; outcomes are merged at the end.
            let outcome = rx
                .into_iter()
                .par_bridge()
                .flat_map_iter(IntoIterator::into_iter)
                .fold(FileOutcome::default, |mut acc, job| {
                    self.scan_file(job, &mut acc);
                    acc
                })
                .reduce(FileOutcome::default, FileOutcome::merge);
            let collected = walker
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            (collected, outcome)
        });
        let mut report = Report {
            schema_version: REPORT_SCHEMA_VERSION,
            tool: ToolInfo::new(self.catalog),
            targets: self.settings.targets.clone(),
            findings: outcome.findings,
            errors: collected.errors,
            warnings: collected.warnings,
            not_judged: outcome
                .not_judged
                .iter()
                .map(|(component, &objects)| NotJudged {
                    component: component.clone(),
                    objects,
                })
                .collect(),
            notes: Note::for_catalog(self.catalog, &self.settings.targets),
            stats: outcome.stats,
            cluster: None,
            readiness: None,
            suppressed: outcome.suppressed,
        };
        report.errors.extend(outcome.errors);
        report.warnings.extend(outcome.warnings);
        for nj in &report.not_judged {
            let title = self
                .catalog
                .component(&nj.component)
                .map_or(nj.component.as_str(), |c| c.title.as_str());
            report.notes.push(Note {
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
        report.sort();
        report.assign_fingerprints();
        (report, outcome.kept)
    }

    /// Reads one file and adds what it holds to `out`.
    fn scan_file(&self, job: FileJob, out: &mut FileOutcome) {
        let (display, bytes) = match source::read(job, &self.settings.walk) {
            Ok(r) => r,
            Err(e) => {
                out.errors.push(e);
                return;
            }
        };
        out.stats.files += 1;
        out.stats.bytes += bytes.len() as u64;
        let decoded = match source::decode(&display, bytes) {
            Ok(d) => d,
            Err(e) => {
                out.errors.push(e);
                return;
            }
        };
        out.errors.extend(decoded.error);
        let shift = |span: parse::Span| (span.start + decoded.base)..(span.end + decoded.base);
        let mut lines = LineCursor::default();
        let limits = self.settings.parse;
        for doc in parse::parse_documents_with(&decoded.text, limits) {
            match &doc.kind {
                DocumentKind::Empty => continue,
                DocumentKind::NotObject => out.stats.non_objects += 1,
                DocumentKind::Objects { .. } => {}
                DocumentKind::Invalid(e) => {
                    out.stats.unparsed_documents += 1;
                    out.errors.push(ScanError {
                        path: display.clone(),
                        document: Some(doc.index),
                        line: Some(e.line),
                        column: e.column,
                        kind: if e.over_limit {
                            ErrorKind::TooLarge
                        } else {
                            ErrorKind::Syntax
                        },
                        message: invalid_message(e, !doc.objects.is_empty()),
                    });
                }
            }
            out.stats.documents += 1;
            for w in doc.warnings {
                out.warnings.push(ScanWarning {
                    path: display.clone(),
                    document: Some(doc.index),
                    line: Some(w.line),
                    kind: WarningKind::DuplicateKey,
                    message: w.message,
                });
            }
            if self.settings.keep_for_checks
                && matches!(doc.kind, DocumentKind::Objects { .. })
                && doc
                    .objects
                    .iter()
                    .any(|o| o.parsed && Resource::for_kind(&o.kind).is_some())
            {
                keep_objects(&decoded.text[doc.span.clone()], limits, &mut out.kept);
            }
            // Read lazily: only documents that mention the annotation and hold a finding.
            let doc_text = &decoded.text[doc.span.clone()];
            let annotated =
                memchr::memmem::find(doc_text.as_bytes(), IGNORE_ANNOTATION.as_bytes()).is_some();
            let mut full: Option<Option<Value>> = None;
            for obj in doc.objects {
                out.stats.objects += 1;
                let verdict =
                    self.catalog
                        .assess(&obj.api_version, &obj.kind, &self.settings.targets);
                if verdict.status == ApiStatus::NotJudged {
                    let component = verdict.component.unwrap_or_default().to_owned();
                    *out.not_judged.entry(component).or_default() += 1;
                }
                if !verdict.status.is_reportable() {
                    continue;
                }
                if self.settings.only_removed && verdict.status == ApiStatus::Deprecated {
                    out.stats.suppressed += 1;
                    continue;
                }
                let location = Location {
                    path: display.clone(),
                    document: doc.index,
                    item: obj.item,
                    line: obj.line,
                    document_span: decoded.exact.then(|| shift(doc.span.clone())),
                    api_version_position: obj
                        .api_version_span
                        .as_ref()
                        .map(|span| lines.position(&decoded.text, span.start)),
                    api_version_span: obj.api_version_span.filter(|_| decoded.exact).map(shift),
                };
                if let Some(f) = Finding::from_verdict(
                    &verdict,
                    obj.api_version,
                    obj.kind,
                    obj.name,
                    obj.namespace,
                    location,
                    obj.parsed,
                ) {
                    if annotated {
                        let value = full.get_or_insert_with(|| parse::yaml_value(doc_text, limits));
                        let object = match (value.as_ref(), f.location.item) {
                            (Some(v), Some(i)) => v.get("items").and_then(|items| items.get(i)),
                            (v, None) => v,
                            _ => None,
                        };
                        match inline(object, &f) {
                            Inline::Suppress(s) => {
                                out.suppressed.push(s);
                                continue;
                            }
                            Inline::Bad(message) => out.warnings.push(ScanWarning {
                                path: display.clone(),
                                document: Some(doc.index),
                                line: Some(f.location.line),
                                kind: WarningKind::BadAnnotation,
                                message,
                            }),
                            Inline::Keep => {}
                        }
                    }
                    out.findings.push(f);
                }
            }
        }
    }
}

/// Turns byte offsets into line and column. Findings come in file order, so the cursor only
/// moves forward: each byte of a file is looked at once, however many findings it holds (a
/// minified JSON list is one long line).
#[derive(Debug, Default)]
struct LineCursor {
    offset: usize,
    /// 0-based line at `offset`.
    line: usize,
    /// Characters between the start of that line and `offset`.
    column: usize,
}

impl LineCursor {
    fn position(&mut self, text: &str, offset: usize) -> Position {
        let offset = offset.min(text.len());
        if offset < self.offset {
            *self = Self::default();
        }
        let bytes = text.as_bytes();
        let seg = &bytes[self.offset..offset];
        // UTF-8 continuation bytes do not start a character.
        let chars = |b: &[u8]| b.iter().filter(|&&c| c & 0xC0 != 0x80).count();
        match memchr::memrchr(b'\n', seg) {
            Some(i) => {
                self.line += memchr::memchr_iter(b'\n', seg).count();
                self.column = chars(&seg[i + 1..]);
            }
            None => self.column += chars(seg),
        }
        self.offset = offset;
        Position {
            line: u32::try_from(self.line + 1).unwrap_or(u32::MAX),
            column: u32::try_from(self.column + 1).unwrap_or(u32::MAX),
        }
    }
}

/// Reads a document fully and keeps the objects (list items included) the checks read.
fn keep_objects(text: &str, limits: parse::ParseLimits, kept: &mut Vec<(Resource, Value)>) {
    let Some(value) = parse::yaml_value(text, limits) else {
        return;
    };
    let items = match value.get("items").and_then(Value::as_array) {
        Some(items)
            if value
                .get("kind")
                .and_then(Value::as_str)
                .is_some_and(|k| k.ends_with("List")) =>
        {
            items.clone()
        }
        _ => vec![value],
    };
    for item in items {
        if let Some(r) = item
            .get("kind")
            .and_then(Value::as_str)
            .and_then(Resource::for_kind)
        {
            kept.push((r, item));
        }
    }
}

fn invalid_message(e: &parse::DocumentError, salvaged: bool) -> String {
    let mut m = if e.over_limit {
        format!("not read: {}", e.message)
    } else {
        format!("not valid YAML: {}", e.message)
    };
    if e.templated {
        m.push_str("; it looks like a template: render it (helm template, kustomize build) and scan the output");
    }
    if salvaged {
        m.push_str(" (its apiVersion and kind were still read from plain lines; findings from it are marked unparsed)");
    }
    m
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // tests fail loudly on purpose
    use super::*;

    #[test]
    fn positions_move_forward_and_count_characters() {
        let text = "a: b\nkind: x\n  apiVersion: v1\n- é: apps/v1\n";
        let mut c = LineCursor::default();
        let at = |c: &mut LineCursor, needle: &str| c.position(text, text.find(needle).unwrap());
        assert_eq!(at(&mut c, "kind"), Position { line: 2, column: 1 });
        assert_eq!(
            at(&mut c, "v1\n"),
            Position {
                line: 3,
                column: 15
            }
        );
        assert_eq!(at(&mut c, "apps"), Position { line: 4, column: 6 });
        // Going back starts over rather than miscounting.
        assert_eq!(at(&mut c, "b\n"), Position { line: 1, column: 4 });
    }
}
