//! The scan pipeline: collect inputs → read and parse in parallel → classify → check → sort.

use api_catalog::Catalog;
use rayon::prelude::*;

use serde_json::Value;

use crate::build::{self, Outcome};
use crate::checks::{ClusterState, Resource};
use crate::judge::Judge;
use crate::parse;
use crate::report::Report;
pub use crate::settings::ScanSettings;
use crate::source::{self, FileJob, Input};

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

/// What some files contributed: the report's part, and the objects kept for the checks.
#[derive(Debug, Default)]
struct FileOutcome {
    common: Outcome,
    kept: Vec<(Resource, Value)>,
}

impl FileOutcome {
    fn merge(mut self, mut other: Self) -> Self {
        self.common.merge(other.common);
        self.kept.append(&mut other.kept);
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
        let mut common = outcome.common;
        // Walk errors and warnings first, as the walk found them; the builder sorts anyway.
        let mut errors = collected.errors;
        errors.append(&mut common.errors);
        common.errors = errors;
        let mut warnings = collected.warnings;
        warnings.append(&mut common.warnings);
        common.warnings = warnings;
        let report = build::finish(self.catalog, &self.settings.targets, common, None);
        (report, outcome.kept)
    }

    /// Reads one file and adds what it holds to `out`.
    fn scan_file(&self, job: FileJob, out: &mut FileOutcome) {
        let (display, bytes) = match source::read(job, &self.settings.walk) {
            Ok(r) => r,
            Err(e) => {
                out.common.errors.push(e);
                return;
            }
        };
        out.common.stats.files += 1;
        out.common.stats.bytes += bytes.len() as u64;
        let mut decoded = match source::decode(&display, bytes) {
            Ok(d) => d,
            Err(e) => {
                out.common.errors.push(e);
                return;
            }
        };
        out.common.errors.extend(decoded.error.take());
        let judge = Judge {
            catalog: self.catalog,
            targets: &self.settings.targets,
            only_removed: self.settings.only_removed,
            limits: self.settings.parse,
        };
        let keep_for_checks = self.settings.keep_for_checks;
        let kept = &mut out.kept;
        judge.text(
            &display,
            &decoded,
            |doc, text| {
                if keep_for_checks
                    && doc
                        .objects
                        .iter()
                        .any(|o| o.parsed && Resource::for_kind(&o.kind).is_some())
                {
                    keep_objects(text, judge.limits, kept);
                }
            },
            &mut out.common,
        );
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
        let api_version = item.get("apiVersion").and_then(Value::as_str).unwrap_or("");
        if let Some(r) = item
            .get("kind")
            .and_then(Value::as_str)
            .and_then(Resource::for_kind)
            // A kustomize `Kustomization` is no Flux one: custom kinds must match their group.
            .filter(|r| !r.optional() || r.has_api_version(api_version))
        {
            kept.push((r, item));
        }
    }
}
