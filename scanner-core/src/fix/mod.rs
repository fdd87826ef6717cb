//! `upcheck fix`: rewrites objects that use deprecated or removed API versions to their
//! replacements, converting the fields that changed, and edits only the bytes that must change.
//!
//! For each finding of a file scan: the replacement is chosen (served now, or the furthest
//! step of the migration path that is), the object is converted ([`convert`]), checked against
//! the replacement's schema ([`validate`]), turned into minimal text edits, and the edited
//! document is parsed again and compared with the converted object before anything is kept.
//! What cannot be done safely is left untouched and reported with the reason.
//!
//! ```
//! use scanner_core::fix::Fixer;
//! use scanner_core::{Catalog, KubeVersion, ScanSettings, Targets};
//!
//! let settings = ScanSettings::new(Targets::kubernetes(KubeVersion::new(1, 22), None));
//! let fixer = Fixer::new(Catalog::embedded(), settings);
//! let text = "# read-only\napiVersion: rbac.authorization.k8s.io/v1beta1 # old\nkind: ClusterRole\n\
//!             metadata:\n  name: reader\nrules: []\n";
//! let fixed = fixer.fix_text("role.yaml", text);
//! assert_eq!(fixed.fixed, text.replace("/v1beta1", "/v1"));
//! assert_eq!(fixed.changes[0].to, "rbac.authorization.k8s.io/v1");
//! ```

pub mod convert;
mod edit;
mod tree;
pub mod validate;

use std::collections::BTreeMap;

use rayon::prelude::*;
use serde_json::Value;

use crate::parse::{self, ParseLimits};
use crate::report::{ErrorKind, FileFix, Finding, FixReport, LeftObject, ObjectChange, TextEdit};
use crate::{ApiStatus, Catalog, Input, ScanSettings, Scanner};

use self::convert::{Conversion, TypeRef};
use self::validate::Validation;

/// Rewrites manifests to replacement APIs.
#[derive(Debug)]
pub struct Fixer<'c> {
    catalog: &'c Catalog,
    scanner: Scanner<'c>,
}

impl<'c> Fixer<'c> {
    /// A fixer judging with `settings` (targets, `only_removed`, walking, parse limits).
    pub fn new(catalog: &'c Catalog, settings: ScanSettings) -> Self {
        Self {
            catalog,
            scanner: Scanner::new(catalog, settings),
        }
    }

    /// Fixes every file of `inputs` (paths are walked as `upcheck files` walks them). Files
    /// are read once by the scan; those with findings are read again and fixed in parallel.
    pub fn fix(&self, inputs: Vec<Input>) -> FixReport {
        // In-memory inputs (stdin) cannot be read twice: keep their text.
        let mut texts: BTreeMap<String, String> = BTreeMap::new();
        for input in &inputs {
            if let Input::Bytes { name, bytes } = input {
                texts.insert(name.clone(), String::from_utf8_lossy(bytes).into_owned());
            }
        }
        let report = self.scanner.scan(inputs);
        let mut paths: Vec<&str> = report
            .findings
            .iter()
            .map(|f| f.location.path.as_str())
            .chain(
                report
                    .errors
                    .iter()
                    .filter(|e| e.document.is_some())
                    .map(|e| e.path.as_str()),
            )
            .collect();
        paths.sort_unstable();
        paths.dedup();
        let files: Vec<FileFix> = paths
            .par_iter()
            .map(|path| match texts.get(*path) {
                Some(text) => self.fix_text(path, text),
                None => self.fix_file(path),
            })
            .collect();
        let errors = report
            .errors
            .into_iter()
            .filter(|e| e.document.is_none())
            .collect();
        FixReport {
            files,
            errors,
            files_read: report.stats.files,
        }
    }

    fn fix_file(&self, path: &str) -> FileFix {
        match std::fs::read(path) {
            Ok(bytes) => match String::from_utf8(bytes) {
                Ok(text) => self.fix_text(path, &text),
                Err(_) => FileFix {
                    path: path.to_owned(),
                    errors: vec![file_error(
                        path,
                        ErrorKind::Encoding,
                        "not UTF-8: re-encode the file to UTF-8 to fix it (nothing was changed)",
                    )],
                    ..FileFix::default()
                },
            },
            Err(e) => FileFix {
                path: path.to_owned(),
                errors: vec![file_error(
                    path,
                    ErrorKind::Io,
                    &format!("cannot read it again to fix it: {e}"),
                )],
                ..FileFix::default()
            },
        }
    }

    /// Fixes one text. `fixed` is the converted text (equal to the input when nothing
    /// changes).
    pub fn fix_text(&self, path: &str, text: &str) -> FileFix {
        let report = self.scanner.scan_text(path, text);
        let limits = self.scanner.settings().parse;
        let mut out = FileFix {
            path: path.to_owned(),
            original: text.to_owned(),
            fixed: text.to_owned(),
            ..FileFix::default()
        };
        // Invalid documents are left as they are; a template is only an error when nothing
        // in it could be handled.
        let mut by_document: BTreeMap<usize, Vec<&Finding>> = BTreeMap::new();
        for f in &report.findings {
            match f.status {
                ApiStatus::Deprecated | ApiStatus::Removed => {
                    by_document.entry(f.location.document).or_default().push(f);
                }
                // No release ever served it (a typo, an invented version): which version was
                // meant is not for a tool to guess.
                ApiStatus::Unknown => out.left.push(left(
                    f,
                    None,
                    format!(
                        "{} is not a version any Kubernetes release serves for {}: correct the apiVersion by hand",
                        f.api_version, f.kind
                    ),
                    false,
                )),
                _ => {}
            }
        }
        // A template is not broken input here: its plainly written objects are handled below
        // and the rest is for `helm template`. Documents that are simply not valid YAML are
        // errors, left untouched.
        let mut templates: Vec<usize> = Vec::new();
        if !report.errors.is_empty() {
            templates = parse::parse_documents_with(text, limits)
                .into_iter()
                .filter(|d| matches!(&d.kind, parse::DocumentKind::Invalid(e) if e.templated))
                .map(|d| d.index)
                .collect();
            out.errors.extend(report.errors.into_iter().filter(|e| {
                !(e.kind == ErrorKind::Syntax && e.document.is_some_and(|d| templates.contains(&d)))
            }));
        }
        let mut edits: Vec<edit::Edit> = Vec::new();
        for findings in by_document.values() {
            let Some(span) = findings[0].location.document_span.clone() else {
                for f in findings {
                    out.left.push(left(
                        f,
                        None,
                        "the file had to be re-encoded to be read (UTF-16 or invalid UTF-8): convert it to UTF-8 first".to_owned(),
                        true,
                    ));
                }
                continue;
            };
            // A comment after the document's last value belongs to its last line.
            let span = with_rest_of_line(text, span);
            let doc_text = &text[span.clone()];
            // Valid YAML that has no JSON reading (`value: {{ region }}` is a mapping used as
            // a key) is a template too.
            let readable =
                findings.iter().all(|f| f.parsed) && parse::yaml_value(doc_text, limits).is_some();
            let broken = findings.iter().any(|f| !f.parsed)
                && !templates.contains(&findings[0].location.document);
            let doc_edits = if readable {
                self.fix_document(doc_text, findings, limits, &mut out)
            } else if broken {
                // Broken, not a template: its error is reported; nothing in it is touched.
                for f in findings {
                    let reason = "the document is not valid YAML (see the error): correct it, then run fix again".to_owned();
                    out.left.push(left(f, None, reason, false));
                }
                Vec::new()
            } else {
                self.fix_template(doc_text, findings, limits, &mut out)
            };
            edits.extend(doc_edits.into_iter().map(|e| edit::Edit {
                start: e.start + span.start,
                end: e.end + span.start,
                text: e.text,
            }));
        }
        edits.sort_by_key(|e| (e.start, e.end));
        out.fixed = edit::apply(text, &edits);
        let mut at = 0;
        for e in edits {
            // `apply` skips an edit that overlaps the one before; so does the record.
            if e.start >= at {
                at = e.end;
                out.edits.push(TextEdit {
                    start: e.start,
                    end: e.end,
                    text: e.text,
                });
            }
        }
        out.left.sort_by_key(|l| l.line);
        out
    }

    /// Converts the objects of one parsed document; returns edits relative to the document.
    fn fix_document(
        &self,
        doc: &str,
        findings: &[&Finding],
        limits: ParseLimits,
        out: &mut FileFix,
    ) -> Vec<edit::Edit> {
        let read = match (parse::yaml_value(doc, limits), tree::parse(doc)) {
            (Some(value), Ok(Some(root))) => Ok((value, root)),
            (_, Err(tree::TreeError(why))) => Err(why),
            _ => Err("it is empty or not valid YAML".to_owned()),
        };
        let (value, root) = match read {
            Ok(read) => read,
            Err(why) => {
                for f in findings {
                    let reason = format!("the document could not be read again for editing: {why}");
                    out.left.push(left(f, None, reason, true));
                }
                return Vec::new();
            }
        };
        let layout = edit::Layout::detect(doc, &root);
        let mut expected = value.clone();
        let mut edits: Vec<edit::Edit> = Vec::new();
        for f in findings {
            let to = match self.destination(f, object_at(&value, f.location.item)) {
                Ok(to) => to,
                Err(reason) => {
                    out.left.push(left(f, None, reason, false));
                    continue;
                }
            };
            let (Some(before), Some(node)) = (
                object_at(&value, f.location.item),
                node_at(&root, f.location.item),
            ) else {
                out.left.push(left(
                    f,
                    Some(&to),
                    "the object could not be found in its document again".to_owned(),
                    true,
                ));
                continue;
            };
            let (after, notes) = match Self::convert(before, f, &to, true) {
                Ok(done) => done,
                Err((reason, failed)) => {
                    out.left.push(left(f, Some(&to), reason, failed));
                    continue;
                }
            };
            let object_edits = match edit::plan(doc, node, before, &after, &layout) {
                Ok(e) => e,
                Err(reason) => {
                    out.left.push(left(f, Some(&to), reason, true));
                    continue;
                }
            };
            // Safety net: the edited document must read back as exactly the converted object.
            let mut candidate = expected.clone();
            if let Some(slot) = object_at_mut(&mut candidate, f.location.item) {
                *slot = after.clone();
            }
            let mut all = edits.clone();
            all.extend(object_edits.iter().cloned());
            all.sort_by_key(|e| (e.start, e.end));
            let edited = edit::apply(doc, &all);
            if parse::yaml_value(&edited, limits).as_ref() != Some(&candidate) {
                out.left.push(left(
                    f,
                    Some(&to),
                    "the converted object could not be written in place without changing something else; convert it by hand".to_owned(),
                    true,
                ));
                continue;
            }
            expected = candidate;
            edits = all;
            out.changes.push(change(f, to, false, notes));
        }
        edits
    }

    /// A template (a document with `{{ }}` markup): only a plainly written `apiVersion` line
    /// is rewritten, and only when nothing else in the object needs converting.
    fn fix_template(
        &self,
        doc: &str,
        findings: &[&Finding],
        limits: ParseLimits,
        out: &mut FileFix,
    ) -> Vec<edit::Edit> {
        let mut edits = Vec::new();
        // The object as far as it can be read with the markup taken out.
        let readable = parse::yaml_value(&without_markup(doc), limits).filter(Value::is_object);
        for f in findings {
            let to = match self.destination(f, readable.as_ref()) {
                Ok(to) => to,
                Err(reason) => {
                    out.left.push(left(f, None, reason, false));
                    continue;
                }
            };
            let Some(span) = f.location.api_version_span.clone() else {
                out.left.push(left(f, Some(&to), format!("a template whose apiVersion is not written plainly: change it to {to} by hand"), false));
                continue;
            };
            let doc_start = f.location.document_span.as_ref().map_or(0, |s| s.start);
            let (start, end) = (span.start - doc_start, span.end - doc_start);
            let line_start = doc[..start].rfind('\n').map_or(0, |i| i + 1);
            let line_end = doc[end..].find('\n').map_or(doc.len(), |i| end + i);
            if doc[line_start..line_end].contains("{{") {
                out.left.push(left(f, Some(&to), format!("a template whose apiVersion line holds template markup: change it to {to} by hand"), false));
                continue;
            }
            let Some(object) = readable.as_ref() else {
                let steps = self.migration_notes(f);
                out.left.push(left(f, Some(&to), format!("a template that cannot be read without rendering: change apiVersion to {to} and check by hand{steps}"), false));
                continue;
            };
            // Not validated: the markup's placeholders are not the values the chart renders.
            match Self::convert(object, f, &to, false) {
                Ok((after, _)) => {
                    let mut only_version = object.clone();
                    only_version["apiVersion"] = Value::String(to.clone());
                    if after == only_version {
                        edits.push(edit::Edit {
                            start,
                            end,
                            text: to.clone(),
                        });
                        out.changes.push(change(f, to, true, Vec::new()));
                    } else {
                        let fields = changed_fields(object, &after);
                        out.left.push(left(
                            f,
                            Some(&to),
                            format!(
                                "a template whose fields change too ({}): convert it by hand",
                                fields.join(", ")
                            ),
                            false,
                        ));
                    }
                }
                Err((reason, failed)) => out.left.push(left(f, Some(&to), reason, failed)),
            }
        }
        edits
    }

    /// Converts and validates; errors carry the reason and whether the attempt failed (as
    /// opposed to a conversion that does not exist).
    fn convert(
        before: &Value,
        f: &Finding,
        to: &str,
        validated: bool,
    ) -> Result<(Value, Vec<String>), (String, bool)> {
        let (from_group, from_version) = split_api_version(&f.api_version);
        let (to_group, to_version) = split_api_version(to);
        let to_kind = f
            .replacement
            .as_ref()
            .and_then(|r| r.kind.clone())
            .unwrap_or_else(|| f.kind.clone());
        let conversion = convert::convert(
            before,
            TypeRef {
                group: from_group,
                version: from_version,
                kind: &f.kind,
            },
            TypeRef {
                group: to_group,
                version: to_version,
                kind: &to_kind,
            },
        );
        match conversion {
            Conversion::Converted { object, notes } if !validated => Ok((object, notes)),
            Conversion::Converted { object, notes } => match validate::validate(&object) {
                Validation::Valid | Validation::Unchecked => Ok((object, notes)),
                Validation::Invalid(problems) => Err((
                    format!(
                        "the converted object does not validate against {to} {to_kind}: {}",
                        problems.join("; ")
                    ),
                    true,
                )),
            },
            Conversion::Manual { reason } => Err((reason, false)),
        }
    }

    /// The API version to convert to: the replacement when it is served now, otherwise the
    /// furthest step of the migration path that is.
    fn destination(&self, f: &Finding, object: Option<&Value>) -> Result<String, String> {
        let Some(r) = &f.replacement else {
            // The conversion may know the manual step (PodSecurityPolicy: the Pod Security
            // level and namespace labels that match the policy).
            let (group, version) = split_api_version(&f.api_version);
            let here = TypeRef {
                group,
                version,
                kind: &f.kind,
            };
            if let Some(object) = object
                && let Conversion::Manual { reason } = convert::convert(object, here, here)
            {
                return Err(reason);
            }
            let mut reason = format!("{} {} has no replacement API", f.api_version, f.kind);
            reason.push_str(&self.migration_notes(f));
            return Err(reason);
        };
        if r.available != Some(false) {
            return Ok(r.api_version.clone());
        }
        let current = self
            .scanner
            .settings()
            .targets
            .get(&f.component)
            .map(|t| t.current.unwrap_or(t.target));
        let served_now = r.path.iter().rev().find(|s| {
            current.is_some_and(|c| {
                s.available_in.is_none_or(|a| a <= c) && s.removed_in.is_none_or(|x| x > c)
            })
        });
        match served_now {
            Some(step) if step.api_version != f.api_version => Ok(step.api_version.clone()),
            _ => Err(match r.available_in {
                Some(v) => format!(
                    "{} is first served in {v}, after the version the cluster runs now: move once it runs {v}",
                    r.api_version
                ),
                None => format!("{} is not served at the current version", r.api_version),
            }),
        }
    }

    fn migration_notes(&self, f: &Finding) -> String {
        self.catalog
            .entry(&f.api_version, &f.kind)
            .filter(|e| !e.migration.is_empty())
            .map(|e| format!(" ({})", e.migration.join("; ")))
            .unwrap_or_default()
    }
}

fn change(f: &Finding, to: String, api_version_only: bool, notes: Vec<String>) -> ObjectChange {
    ObjectChange {
        line: f.location.line,
        kind: f.kind.clone(),
        name: f.name.clone(),
        namespace: f.namespace.clone(),
        from: f.api_version.clone(),
        to,
        api_version_only,
        notes,
    }
}

fn left(f: &Finding, to: Option<&str>, reason: String, failed: bool) -> LeftObject {
    LeftObject {
        line: f.location.line,
        kind: f.kind.clone(),
        name: f.name.clone(),
        api_version: f.api_version.clone(),
        to: to.map(str::to_owned),
        reason,
        failed,
    }
}

fn file_error(path: &str, kind: ErrorKind, message: &str) -> crate::ScanError {
    crate::ScanError {
        path: path.to_owned(),
        document: None,
        line: None,
        column: None,
        kind,
        message: message.to_owned(),
    }
}

/// `span` extended over the rest of its last line (a trailing comment and the line break),
/// so that editing that line edits all of it.
fn with_rest_of_line(text: &str, span: std::ops::Range<usize>) -> std::ops::Range<usize> {
    let rest = &text[span.end..];
    let line = rest.find('\n').map_or(rest, |i| &rest[..=i]);
    let trimmed = line.trim_start_matches([' ', '\t']);
    if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.trim_end().is_empty() {
        span.start..span.end + line.len()
    } else {
        span
    }
}

fn split_api_version(api_version: &str) -> (&str, &str) {
    api_version.rsplit_once('/').unwrap_or(("", api_version))
}

/// The object of a document: the document itself, or an item of its list.
fn object_at(value: &Value, item: Option<usize>) -> Option<&Value> {
    match item {
        None => Some(value),
        Some(i) => match value {
            Value::Array(items) => items.get(i),
            other => other.get("items")?.get(i),
        },
    }
}

fn object_at_mut(value: &mut Value, item: Option<usize>) -> Option<&mut Value> {
    match item {
        None => Some(value),
        Some(i) => match value {
            Value::Array(items) => items.get_mut(i),
            other => other.get_mut("items")?.get_mut(i),
        },
    }
}

fn node_at(root: &tree::Node, item: Option<usize>) -> Option<&tree::Node> {
    let Some(i) = item else { return Some(root) };
    let list = match &root.kind {
        tree::Kind::Seq { .. } => root,
        _ => root.get("items")?,
    };
    match &list.kind {
        tree::Kind::Seq { items, .. } => items.get(i),
        _ => None,
    }
}

/// A template with its markup taken out: lines that are only markup are dropped, markup
/// inside a line becomes a placeholder, so the rest can be read as YAML.
fn without_markup(doc: &str) -> String {
    let mut out = String::with_capacity(doc.len());
    for line in doc.split_inclusive('\n') {
        let trimmed = line.trim();
        if trimmed.starts_with("{{") && trimmed.ends_with("}}") {
            continue;
        }
        let mut rest = line;
        while let Some(open) = rest.find("{{") {
            out.push_str(&rest[..open]);
            match rest[open..].find("}}") {
                Some(close) => {
                    out.push_str("TEMPLATED");
                    rest = &rest[open + close + 2..];
                }
                None => {
                    rest = "";
                }
            }
        }
        out.push_str(rest);
    }
    out
}

/// The top-level paths (two levels deep) whose values differ.
fn changed_fields(before: &Value, after: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let (Value::Object(b), Value::Object(a)) = (before, after) else {
        return out;
    };
    let keys: std::collections::BTreeSet<&String> = b.keys().chain(a.keys()).collect();
    for k in keys {
        if k == "apiVersion" || b.get(k) == a.get(k) {
            continue;
        }
        match (b.get(k), a.get(k)) {
            (Some(Value::Object(bi)), Some(Value::Object(ai))) => {
                let inner: std::collections::BTreeSet<&String> =
                    bi.keys().chain(ai.keys()).collect();
                for ik in inner {
                    if bi.get(ik) != ai.get(ik) {
                        out.push(format!("{k}.{ik}"));
                    }
                }
            }
            _ => out.push(k.clone()),
        }
    }
    out
}
