//! The one judge: every object, whether read from a file, a live list or a Helm release
//! manifest, is decided by [`Judge::object`] against the catalog and the settings. It yields a
//! finding, a finding suppressed by the object's own annotation, or a counted drop (component
//! without a target, `--only-removed`, written only by Kubernetes' own components); nothing
//! else decides.

use api_catalog::{ApiStatus, Catalog, Targets};
use serde_json::Value;

use crate::build::{CONTROL_PLANE_MANAGERS, Outcome};
use crate::parse::{self, DocumentKind, ParseLimits};
use crate::report::{
    ErrorKind, Evidence, Finding, Location, Origin, Position, ScanError, ScanWarning, WarningKind,
};
use crate::source::Decoded;
use crate::suppress::{IGNORE_ANNOTATION, Inline, inline};

/// Whether a field manager is part of Kubernetes itself.
pub fn is_control_plane_manager(manager: &str) -> bool {
    CONTROL_PLANE_MANAGERS.contains(&manager)
        // The API server's priority-and-fairness bootstrap writers.
        || manager.starts_with("api-priority-and-fairness-config-")
}

/// One object to judge: its identity, where it was found, and how it was written.
#[derive(Debug)]
pub(crate) struct Subject {
    pub api_version: String,
    pub kind: String,
    pub name: Option<String>,
    pub namespace: Option<String>,
    pub location: Location,
    /// Whether the document was valid YAML (salvaged objects are marked in the finding).
    pub parsed: bool,
    /// How a live object was written, or which Helm release holds it; `None` for files.
    pub origin: Option<Origin>,
}

/// Judges objects against a catalog at the settings' targets.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Judge<'a> {
    pub catalog: &'a Catalog,
    pub targets: &'a Targets,
    pub only_removed: bool,
    pub limits: ParseLimits,
}

impl Judge<'_> {
    /// Decides one object and records the decision in `out`. `read` returns the whole object,
    /// for its `upcheck.io/ignore` annotation; it is called only for objects that have a
    /// finding, so a file scan parses a document fully only when it must.
    pub fn object<'v>(
        &self,
        subject: Subject,
        read: impl FnOnce() -> Option<&'v Value>,
        out: &mut Outcome,
    ) {
        let verdict = self
            .catalog
            .assess(&subject.api_version, &subject.kind, self.targets);
        if verdict.status == ApiStatus::NotJudged {
            let component = verdict.component.unwrap_or_default().to_owned();
            *out.not_judged.entry(component).or_default() += 1;
        }
        if !verdict.status.is_reportable() {
            return;
        }
        let origin = subject.origin;
        let Some(mut f) = Finding::from_verdict(
            &verdict,
            subject.api_version,
            subject.kind,
            subject.name,
            subject.namespace,
            subject.location,
            subject.parsed,
        ) else {
            return;
        };
        f.origin = origin;
        self.keep(f, read, out);
    }

    /// Records a finding unless it is dropped: written only by Kubernetes' own components,
    /// a deprecation under `--only-removed`, or suppressed by the object's own annotation.
    /// Findings the catalog does not decide (a CRD's own deprecated versions) come here too.
    pub fn keep<'v>(
        &self,
        f: Finding,
        read: impl FnOnce() -> Option<&'v Value>,
        out: &mut Outcome,
    ) {
        if let Some(Origin::Object { evidence, .. }) = &f.origin {
            let by_clients = evidence.iter().any(|e| match e {
                Evidence::ManagedFields { manager, .. } => !is_control_plane_manager(manager),
                Evidence::LastApplied => true,
            });
            if !by_clients {
                out.control_plane_writes += 1;
                return;
            }
        }
        if self.only_removed && f.status == ApiStatus::Deprecated {
            out.stats.suppressed += 1;
            return;
        }
        let live = matches!(f.origin, Some(Origin::Object { .. }));
        match inline(read(), &f) {
            Inline::Suppress(s) => {
                out.suppressed.push(s);
                return;
            }
            Inline::Bad(message) => out.warnings.push(ScanWarning {
                path: f.location.path.clone(),
                // A live object has no document or line: its path names it.
                document: (!live).then_some(f.location.document),
                line: (!live).then_some(f.location.line),
                kind: WarningKind::BadAnnotation,
                message,
            }),
            Inline::Keep => {}
        }
        out.findings.push(f);
    }

    /// Judges every object of a decoded text (a file, stdin, a Helm release manifest) and
    /// records errors, warnings and counts. `keep` sees each document that holds objects, with
    /// its text, for callers that keep objects for the readiness checks.
    pub fn text(
        &self,
        display: &str,
        decoded: &Decoded,
        mut keep: impl FnMut(&parse::Document, &str),
        out: &mut Outcome,
    ) {
        let shift = |span: parse::Span| (span.start + decoded.base)..(span.end + decoded.base);
        let mut lines = LineCursor::default();
        for doc in parse::parse_documents_with(&decoded.text, self.limits) {
            match &doc.kind {
                DocumentKind::Empty => continue,
                DocumentKind::NotObject => out.stats.non_objects += 1,
                DocumentKind::Objects { .. } => {}
                DocumentKind::Invalid(e) => {
                    out.stats.unparsed_documents += 1;
                    out.errors.push(ScanError {
                        path: display.to_owned(),
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
            let doc_text = &decoded.text[doc.span.clone()];
            if matches!(doc.kind, DocumentKind::Objects { .. }) {
                keep(&doc, doc_text);
            }
            for w in &doc.warnings {
                out.warnings.push(ScanWarning {
                    path: display.to_owned(),
                    document: Some(doc.index),
                    line: Some(w.line),
                    kind: WarningKind::DuplicateKey,
                    message: w.message.clone(),
                });
            }
            // The whole document is read only when it mentions the annotation and one of its
            // objects has a finding.
            let annotated =
                memchr::memmem::find(doc_text.as_bytes(), IGNORE_ANNOTATION.as_bytes()).is_some();
            let mut full: Option<Option<Value>> = None;
            for obj in doc.objects {
                out.stats.objects += 1;
                let item = obj.item;
                let location = Location {
                    path: display.to_owned(),
                    document: doc.index,
                    item,
                    line: obj.line,
                    document_span: decoded.exact.then(|| shift(doc.span.clone())),
                    api_version_position: obj
                        .api_version_span
                        .as_ref()
                        .map(|span| lines.position(&decoded.text, span.start)),
                    api_version_span: obj.api_version_span.filter(|_| decoded.exact).map(shift),
                };
                let subject = Subject {
                    api_version: obj.api_version,
                    kind: obj.kind,
                    name: obj.name,
                    namespace: obj.namespace,
                    location,
                    parsed: obj.parsed,
                    origin: None,
                };
                let full = &mut full;
                let limits = self.limits;
                self.object(
                    subject,
                    move || {
                        if !annotated {
                            return None;
                        }
                        let value = full
                            .get_or_insert_with(|| parse::yaml_value(doc_text, limits))
                            .as_ref();
                        match (value, item) {
                            (Some(v), Some(i)) => v.get("items").and_then(|items| items.get(i)),
                            (v, None) => v,
                            _ => None,
                        }
                    },
                    out,
                );
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
