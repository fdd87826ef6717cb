//! Accepting known findings without turning the gate off: ignore rules (from a config file),
//! the inline annotation on an object, and baselines of earlier findings.
//!
//! A suppressed finding is never dropped silently: it moves to [`Report::suppressed`] with
//! what suppressed it, and reports count it.
//!
//! Findings are matched by a stable identity (a fingerprint), never by line number, so a
//! baseline survives edits that move objects around. The identity of a file finding is its
//! path, apiVersion, kind, namespace, name and code, plus how many identical objects precede it
//! in the same file; of a live object, its resource, namespace, name, apiVersion and code; of a
//! Helm object, the release (not the revision) and the object; of a readiness finding, its
//! code, object and hop.
//!
//! ```
//! use scanner_core::suppress::{Baseline, InlineIgnore};
//! use scanner_core::{Catalog, KubeVersion, ScanSettings, Scanner, Targets};
//!
//! let settings = ScanSettings::new(Targets::kubernetes(KubeVersion::new(1, 22), None));
//! let scanner = Scanner::new(Catalog::embedded(), settings);
//! let before = scanner.scan_text("a.yaml", "apiVersion: extensions/v1beta1\nkind: Ingress\nmetadata:\n  name: web\n");
//! let baseline = Baseline::from_report(&before);
//!
//! // The same object two lines further down is not new.
//! let mut after = scanner.scan_text("a.yaml", "# moved\n\napiVersion: extensions/v1beta1\nkind: Ingress\nmetadata:\n  name: web\n");
//! after.apply_baseline(&baseline);
//! assert!(after.findings.is_empty());
//! assert_eq!(after.suppressed.len(), 1);
//!
//! let inline = InlineIgnore::parse("DEP001: migrated with the ingress controller in Q3").unwrap();
//! assert!(inline.covers("DEP001") && !inline.covers("DEP002"));
//! ```

use std::collections::BTreeSet;

use globset::{Glob, GlobMatcher};
use serde::{Deserialize, Serialize};

use crate::report::suppressed::subject;
use crate::report::{CheckFinding, Finding, Report};
pub use crate::report::{IGNORE_ANNOTATION, Suppressed, SuppressedBy};
pub use crate::source::{Exclude, GlobError, relative_to};

/// Why an annotation, a rule or a baseline could not be used.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SuppressError {
    /// The annotation is not `CODES: reason`.
    #[error(
        "{IGNORE_ANNOTATION} must be `CODES: reason` (for example `DEP002: migrating in PLAT-12`), got {0:?}"
    )]
    AnnotationShape(String),
    /// The annotation names no code.
    #[error("{IGNORE_ANNOTATION} names no code before the colon: {0:?}")]
    AnnotationNoCode(String),
    /// A code in the annotation is not a code or prefix.
    #[error("{IGNORE_ANNOTATION}: {0:?} is not a check code or prefix")]
    AnnotationBadCode(String),
    /// The annotation gives no reason.
    #[error("{IGNORE_ANNOTATION} needs a reason after the codes: {0:?}")]
    AnnotationNoReason(String),
    /// The annotation's value is not a string.
    #[error("{IGNORE_ANNOTATION} must be a string")]
    AnnotationNotString,
    /// A glob of a rule cannot be compiled.
    #[error(transparent)]
    Glob(#[from] GlobError),
    /// The baseline file is not the JSON a baseline is.
    #[error("{0}")]
    BaselineJson(String),
    /// The baseline was written by an upcheck with another baseline schema.
    #[error(
        "baseline schema_version {found} is not supported (this upcheck reads {BASELINE_SCHEMA_VERSION})"
    )]
    BaselineVersion {
        /// The version the file declares.
        found: u32,
    },
}

/// Version of the baseline file format.
pub const BASELINE_SCHEMA_VERSION: u32 = 1;

/// Whether a code pattern (a code, a prefix such as `DEP` or `DRN`, or `*` wildcards) matches
/// `code`: the one syntax of [`crate::code_pattern`], shared with `--select` and `--ignore`.
pub use crate::code_pattern::matches as code_matches;

/// The value of an [`IGNORE_ANNOTATION`]: which codes, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InlineIgnore {
    /// Codes or prefixes (`DEP002`, `DEP`, `*`).
    pub codes: Vec<String>,
    /// Why these findings are accepted (required).
    pub reason: String,
}

impl InlineIgnore {
    /// Parses `CODES: reason`, where CODES is a comma-separated list of codes or prefixes.
    pub fn parse(value: &str) -> Result<Self, SuppressError> {
        let Some((codes, reason)) = value.split_once(':') else {
            return Err(SuppressError::AnnotationShape(value.to_owned()));
        };
        let codes: Vec<String> = codes
            .split(',')
            .map(|c| c.trim().to_ascii_uppercase())
            .filter(|c| !c.is_empty())
            .collect();
        if codes.is_empty() {
            return Err(SuppressError::AnnotationNoCode(value.to_owned()));
        }
        if let Some(bad) = codes
            .iter()
            .find(|c| *c != "*" && !c.bytes().all(|b| b.is_ascii_alphanumeric()))
        {
            return Err(SuppressError::AnnotationBadCode(bad.clone()));
        }
        let reason = reason.trim();
        if reason.is_empty() {
            return Err(SuppressError::AnnotationNoReason(value.to_owned()));
        }
        Ok(Self {
            codes,
            reason: reason.to_owned(),
        })
    }

    /// Whether it suppresses findings of `code`.
    pub fn covers(&self, code: &str) -> bool {
        self.codes.iter().any(|p| code_matches(p, code))
    }
}

/// The object's [`IGNORE_ANNOTATION`], parsed, when it has one.
fn annotation(object: Option<&serde_json::Value>) -> Option<Result<InlineIgnore, SuppressError>> {
    let value = object?
        .get("metadata")?
        .get("annotations")?
        .get(IGNORE_ANNOTATION)?;
    Some(match value.as_str() {
        Some(text) => InlineIgnore::parse(text),
        None => Err(SuppressError::AnnotationNotString),
    })
}

/// What an object's own annotation says about one of its findings.
#[derive(Debug)]
pub(crate) enum Inline {
    /// Report it.
    Keep,
    /// Accepted by the annotation.
    Suppress(Suppressed),
    /// The annotation cannot be read: report the finding and warn with this message.
    Bad(String),
}

/// Judges finding `f` of `object` by the object's annotation.
pub(crate) fn inline(object: Option<&serde_json::Value>, f: &Finding) -> Inline {
    match annotation(object) {
        Some(Ok(ignore)) if ignore.covers(f.code.as_str()) => {
            Inline::Suppress(Suppressed::finding(
                f,
                SuppressedBy::Annotation {
                    reason: ignore.reason,
                },
            ))
        }
        Some(Err(message)) => Inline::Bad(format!("{message}; the finding is reported")),
        _ => Inline::Keep,
    }
}

/// An ignore rule: every field that is set must match; `codes` empty means every code.
#[derive(Clone, Debug)]
pub struct IgnoreRule {
    /// Where the rule was written (`upcheck.toml:12`), for the report.
    pub origin: String,
    /// Why (required by the config format).
    pub reason: String,
    /// Glob over the file path, relative to the directory of the config file.
    pub path: Option<GlobMatcher>,
    /// Exact `apiVersion`.
    pub api_version: Option<String>,
    /// Kind, case-insensitive.
    pub kind: Option<String>,
    /// Glob over the namespace (`*` also matches cluster-scoped objects).
    pub namespace: Option<GlobMatcher>,
    /// Glob over the name.
    pub name: Option<GlobMatcher>,
    /// Codes or prefixes; empty: all.
    pub codes: Vec<String>,
}

/// A glob for an ignore rule field.
pub fn glob(pattern: &str) -> Result<GlobMatcher, GlobError> {
    Glob::new(pattern)
        .map(|g| g.compile_matcher())
        .map_err(|e| GlobError::new(pattern, &e))
}

impl IgnoreRule {
    fn covers_code(&self, code: &str) -> bool {
        self.codes.is_empty() || self.codes.iter().any(|p| code_matches(p, code))
    }

    fn matches_finding(&self, f: &Finding, rel_path: Option<&str>) -> bool {
        if !self.covers_code(f.code.as_str()) {
            return false;
        }
        if let Some(g) = &self.path {
            // Only manifest files have paths; live objects and Helm releases do not.
            match (rel_path, &f.origin) {
                (Some(p), None) if g.is_match(p) => {}
                _ => return false,
            }
        }
        if self
            .api_version
            .as_ref()
            .is_some_and(|a| *a != f.api_version)
            || self
                .kind
                .as_ref()
                .is_some_and(|k| !k.eq_ignore_ascii_case(&f.kind))
        {
            return false;
        }
        glob_ok(self.namespace.as_ref(), f.namespace.as_deref())
            && glob_ok(self.name.as_ref(), f.name.as_deref())
    }

    /// Readiness findings name their object as `Kind name` or `Kind namespace/name`.
    fn matches_check(&self, f: &CheckFinding) -> bool {
        if !self.covers_code(&f.code) || self.path.is_some() || self.api_version.is_some() {
            return false;
        }
        let (kind, rest) = f.object.split_once(' ').unwrap_or((f.object.as_str(), ""));
        let (namespace, name) = match rest.split_once('/') {
            Some((ns, n)) => (Some(ns), n),
            None => (None, rest),
        };
        if self
            .kind
            .as_ref()
            .is_some_and(|k| !k.eq_ignore_ascii_case(kind))
        {
            return false;
        }
        glob_ok(self.namespace.as_ref(), namespace) && glob_ok(self.name.as_ref(), Some(name))
    }
}

fn glob_ok(g: Option<&GlobMatcher>, value: Option<&str>) -> bool {
    match g {
        None => true,
        Some(g) => match value {
            Some(v) => g.is_match(v),
            None => g.glob().glob() == "*",
        },
    }
}

/// Fingerprints of findings accepted earlier (`--write-baseline`, `--baseline`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Baseline {
    /// [`BASELINE_SCHEMA_VERSION`].
    pub schema_version: u32,
    /// One entry per accepted finding, sorted.
    pub findings: Vec<BaselineEntry>,
}

/// One accepted finding: its fingerprint, and what it was, for people reviewing the file.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct BaselineEntry {
    /// The stable identity.
    pub fingerprint: String,
    /// The code.
    pub code: String,
    /// What it was about.
    pub subject: String,
}

impl Baseline {
    /// Every finding of `report` (readiness findings included).
    pub fn from_report(report: &Report) -> Self {
        let mut findings: Vec<BaselineEntry> = report
            .findings
            .iter()
            .map(|f| BaselineEntry {
                fingerprint: f.fingerprint.clone(),
                code: f.code.as_str().to_owned(),
                subject: subject(f),
            })
            .chain(report.readiness.iter().flat_map(|r| {
                r.findings.iter().map(|f| BaselineEntry {
                    fingerprint: f.fingerprint.clone(),
                    code: f.code.clone(),
                    subject: f.object.clone(),
                })
            }))
            .collect();
        findings.sort();
        findings.dedup();
        Self {
            schema_version: BASELINE_SCHEMA_VERSION,
            findings,
        }
    }

    /// Reads a baseline file's JSON.
    pub fn parse(text: &str) -> Result<Self, SuppressError> {
        let b: Self =
            serde_json::from_str(text).map_err(|e| SuppressError::BaselineJson(e.to_string()))?;
        if b.schema_version != BASELINE_SCHEMA_VERSION {
            return Err(SuppressError::BaselineVersion {
                found: b.schema_version,
            });
        }
        Ok(b)
    }

    fn fingerprints(&self) -> BTreeSet<&str> {
        self.findings
            .iter()
            .map(|e| e.fingerprint.as_str())
            .collect()
    }
}

impl Report {
    /// Moves the findings that an ignore rule matches to [`Report::suppressed`].
    /// `rel_path` maps a finding's path to the form rule globs are written in (relative to
    /// the config file), or `None` when the path lies outside it.
    pub fn apply_ignores(
        &mut self,
        rules: &[IgnoreRule],
        rel_path: &dyn Fn(&str) -> Option<String>,
    ) {
        if rules.is_empty() {
            return;
        }
        let mut kept = Vec::with_capacity(self.findings.len());
        for f in std::mem::take(&mut self.findings) {
            let rel = if f.origin.is_none() {
                rel_path(&f.location.path)
            } else {
                None
            };
            match rules.iter().find(|r| r.matches_finding(&f, rel.as_deref())) {
                Some(r) => self.suppressed.push(Suppressed::finding(
                    &f,
                    SuppressedBy::Rule {
                        rule: r.origin.clone(),
                        reason: r.reason.clone(),
                    },
                )),
                None => kept.push(f),
            }
        }
        self.findings = kept;
        if let Some(readiness) = &mut self.readiness {
            let mut kept = Vec::with_capacity(readiness.findings.len());
            for f in std::mem::take(&mut readiness.findings) {
                match rules.iter().find(|r| r.matches_check(&f)) {
                    Some(r) => self.suppressed.push(Suppressed::check(
                        &f,
                        SuppressedBy::Rule {
                            rule: r.origin.clone(),
                            reason: r.reason.clone(),
                        },
                    )),
                    None => kept.push(f),
                }
            }
            readiness.findings = kept;
        }
        self.suppressed.sort();
    }

    /// Moves the findings whose fingerprint is in `baseline` to [`Report::suppressed`].
    pub fn apply_baseline(&mut self, baseline: &Baseline) {
        let known = baseline.fingerprints();
        let (old, new): (Vec<Finding>, Vec<Finding>) = std::mem::take(&mut self.findings)
            .into_iter()
            .partition(|f| known.contains(f.fingerprint.as_str()));
        self.findings = new;
        self.suppressed.extend(
            old.iter()
                .map(|f| Suppressed::finding(f, SuppressedBy::Baseline)),
        );
        if let Some(readiness) = &mut self.readiness {
            let (old, new): (Vec<CheckFinding>, Vec<CheckFinding>) =
                std::mem::take(&mut readiness.findings)
                    .into_iter()
                    .partition(|f| known.contains(f.fingerprint.as_str()));
            readiness.findings = new;
            self.suppressed.extend(
                old.iter()
                    .map(|f| Suppressed::check(f, SuppressedBy::Baseline)),
            );
        }
        self.suppressed.sort();
    }

    /// How many findings each kind of suppression accepted: (rules, annotations, baseline).
    pub fn suppressed_counts(&self) -> (usize, usize, usize) {
        let mut n = (0, 0, 0);
        for s in &self.suppressed {
            match s.by {
                SuppressedBy::Rule { .. } => n.0 += 1,
                SuppressedBy::Annotation { .. } => n.1 += 1,
                SuppressedBy::Baseline => n.2 += 1,
            }
        }
        n
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // tests fail loudly on purpose
    use super::*;
    use std::path::Path;

    #[test]
    fn inline_values() {
        let i = InlineIgnore::parse(" dep002 , DRN : vendor chart, fixed upstream in 2.0").unwrap();
        assert_eq!(i.codes, ["DEP002", "DRN"]);
        assert_eq!(i.reason, "vendor chart, fixed upstream in 2.0");
        assert!(i.covers("DRN004") && i.covers("DEP002") && !i.covers("DEP001"));
        assert!(
            InlineIgnore::parse("*: all of it")
                .unwrap()
                .covers("SKEW001")
        );
        for bad in ["DEP002", "DEP002:", ": reason", "DEP-2: x", "DEP002:   "] {
            assert!(InlineIgnore::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn paths_relative_to_the_config() {
        let root = Path::new("/repo");
        assert_eq!(
            relative_to(
                root,
                Path::new("/repo/sub"),
                Path::new("../deploy/./a.yaml")
            )
            .as_deref(),
            Some("deploy/a.yaml")
        );
        assert_eq!(
            relative_to(root, Path::new("/elsewhere"), Path::new("a.yaml")),
            None
        );
        let x = Exclude::new(root, Path::new("/repo"), &["vendor/**".into()]).unwrap();
        assert!(x.excludes(Path::new("vendor/chart/a.yaml")));
        assert!(!x.excludes(Path::new("deploy/a.yaml")));
    }
}
