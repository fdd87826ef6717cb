//! Manifest text → documents → objects, with positions.
//!
//! A stream is split into documents first, then each document is read on its own, so one
//! broken document never hides its siblings. Each document goes through a fast line-based
//! reader first, which answers only for regular block-style YAML it can check completely; any
//! other document is read by the full YAML parser (serde-saphyr). A document that is not valid
//! YAML is recorded as an error and, when its identity is written plainly, still yields an
//! object marked as unparsed. Concatenated JSON values (`{..}\n{..}`), which are not YAML, are
//! read as a JSON stream.
//!
//! ```
//! use scanner_core::parse::{DocumentKind, parse_documents};
//!
//! let docs = parse_documents("apiVersion: v1\nkind: List\nitems:\n- apiVersion: apps/v1\n  kind: Deployment\n  metadata: {name: web}\n---\nnot: [valid\n");
//! assert_eq!(docs[0].objects[0].name.as_deref(), Some("web"));
//! assert_eq!(docs[0].objects[0].item, Some(0));
//! assert!(matches!(docs[1].kind, DocumentKind::Invalid(_)));
//! ```

mod fast;
mod head;
mod salvage;
pub(crate) mod split;

use serde_saphyr::options::{DuplicateKeyPolicy, NonFiniteFloatPolicy};

use self::head::{Element, Head, Items, Located, Scalar, Shape};
use self::split::RawDocument;

pub use crate::report::Span;

/// An object found in a document: its identity and where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestObject {
    /// `apiVersion`.
    pub api_version: String,
    /// `kind`.
    pub kind: String,
    /// `metadata.name`, when set (numbers are given as text).
    pub name: Option<String>,
    /// `metadata.namespace`, when set.
    pub namespace: Option<String>,
    /// Index in the `items` of a list, or in a top-level sequence.
    pub item: Option<usize>,
    /// 1-based line where the object starts.
    pub line: u32,
    /// Byte range of the `apiVersion` value (without quotes), when it can be rewritten in
    /// place.
    pub api_version_span: Option<Span>,
    /// False when read from a document that is not valid YAML.
    pub parsed: bool,
}

/// A problem with one document that did not stop it from being read (duplicate keys).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentWarning {
    /// 1-based line.
    pub line: u32,
    /// The notice.
    pub message: String,
}

/// Why a document could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentError {
    /// 1-based line of the problem.
    pub line: u32,
    /// 1-based column, when known.
    pub column: Option<u32>,
    /// The parser's message.
    pub message: String,
    /// The document went over a parsing limit ([`ParseLimits`]) rather than being invalid.
    pub over_limit: bool,
    /// The document contains template markup (`{{`), so it is a template, not a manifest.
    pub templated: bool,
}

/// What a document turned out to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DocumentKind {
    /// Blank, comments only, or `null`.
    Empty,
    /// Valid YAML without a string `apiVersion` and `kind` (values files, kustomize configs).
    NotObject,
    /// One object, or the items of a list (possibly none).
    Objects {
        /// Whether the objects are the items of a list (or of a top-level sequence).
        list: bool,
    },
    /// Not valid YAML.
    Invalid(DocumentError),
}

/// One document of a stream, read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    /// 0-based index among all documents of the stream, empty ones included.
    pub index: usize,
    /// Byte range of the document in the text.
    pub span: Span,
    /// What the document is.
    pub kind: DocumentKind,
    /// Its objects (for an invalid document: the one read from plain lines, if any).
    pub objects: Vec<ManifestObject>,
    /// Notices about it.
    pub warnings: Vec<DocumentWarning>,
}

/// Limits on what one YAML document may make the parser do, so hostile input ends in an
/// error instead of exhausting memory or stack. The defaults never trip on real manifests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ParseLimits {
    /// Deepest nesting of mappings and sequences (default [`DEFAULT_MAX_DEPTH`]).
    pub max_depth: usize,
    /// Most events replayed through aliases in one document (default
    /// [`DEFAULT_MAX_ALIAS_EXPANSION`]): "billion laughs" documents hit this.
    pub max_alias_expansion: usize,
}

/// Real CRD schemas nest deeper than the parser's default of 64 levels; the deepest seen in
/// the real-world sample is under 100.
pub const DEFAULT_MAX_DEPTH: usize = 256;
/// A million events: far above any real use of anchors, far below what a bomb expands to.
pub const DEFAULT_MAX_ALIAS_EXPANSION: usize = 1_000_000;

impl Default for ParseLimits {
    fn default() -> Self {
        Self {
            max_depth: DEFAULT_MAX_DEPTH,
            max_alias_expansion: DEFAULT_MAX_ALIAS_EXPANSION,
        }
    }
}

impl ParseLimits {
    fn yaml_options(self) -> serde_saphyr::Options {
        serde_saphyr::options! {
            // Duplicates reach our visitors, which keep the last value and warn.
            duplicate_keys: DuplicateKeyPolicy::PassThrough,
            // `.inf` and `.nan` are valid YAML floats (as keys too); rejecting them would
            // call a valid document invalid (found by fuzzing).
            non_finite_float_policy: NonFiniteFloatPolicy::PassThrough,
            with_snippet: false,
            budget: serde_saphyr::budget! {
                // Documents are parsed one at a time; real CRDs hold more than 250k nodes.
                max_depth: self.max_depth,
                max_nodes: 20_000_000,
                max_events: 100_000_000,
                max_documents: 2,
                max_total_scalar_bytes: 1 << 30,
                max_reader_input_bytes: None,
                max_recorded_anchor_events: self.max_alias_expansion,
                // Flow collections (`[[[...`) have a nesting limit of their own.
                flow_nesting_limit: self.max_depth,
            },
            // Events copied into anchors and events replayed from aliases share one limit.
            alias_limits: serde_saphyr::alias_limits! {
                max_total_replayed_events: self.max_alias_expansion,
            },
        }
    }

    /// Stack the full parser may need: it recurses once per nesting level, with frames of
    /// several KiB in unoptimised builds.
    fn red_zone(self) -> usize {
        self.max_depth.saturating_mul(16 << 10).max(4 << 20)
    }

    /// Runs `parse` on a stack deep enough for the deepest document these limits allow: a
    /// 200-level document overflowed the 2 MiB stack of a default worker thread (found while
    /// testing nesting limits). Threads with room to spare (the CLI's) run it in place.
    fn with_stack<T>(self, parse: impl FnOnce() -> T) -> T {
        let red_zone = self.red_zone();
        stacker::maybe_grow(red_zone, red_zone.saturating_mul(4), parse)
    }
}

/// The full YAML parse of one document.
fn full_parse(text: &str, limits: ParseLimits) -> Result<Shape, serde_saphyr::Error> {
    limits.with_stack(|| serde_saphyr::from_str_with_options::<Shape>(text, limits.yaml_options()))
}

/// One document as a JSON value, under the same limits as the document reader; `None` when it
/// is not valid YAML (already reported by the document reader).
pub(crate) fn yaml_value(text: &str, limits: ParseLimits) -> Option<serde_json::Value> {
    limits.with_stack(|| {
        serde_saphyr::from_str_with_options::<serde_json::Value>(text, limits.yaml_options()).ok()
    })
}

/// The parser's error, in words that say which limit was hit and how to raise it.
fn error_message(e: &serde_saphyr::Error, limits: ParseLimits) -> (String, bool) {
    use serde_saphyr::Error;
    use serde_saphyr::budget::BudgetBreach;
    let depth = || {
        format!(
            "nested deeper than the limit of {} levels (raise it with --max-yaml-depth)",
            limits.max_depth
        )
    };
    let bomb = || {
        format!(
            "its aliases expand past the limit of {} events, as an alias bomb does (raise it with --max-yaml-expansion)",
            limits.max_alias_expansion
        )
    };
    let nested_aliases =
        || "its aliases refer to aliases too deeply or too often, as an alias bomb does".to_owned();
    match e.without_snippet() {
        // The error met while replaying an alias is wrapped with where the anchor was.
        Error::AliasError { error, .. } => error_message(error, limits),
        Error::Budget { breach, .. } => match breach {
            BudgetBreach::Depth { .. } => (depth(), true),
            BudgetBreach::RecordedAnchorEvents { .. } => (bomb(), true),
            BudgetBreach::RecordedAnchorBytes { .. }
            | BudgetBreach::Aliases { .. }
            | BudgetBreach::AliasAnchorRatio { .. } => (nested_aliases(), true),
            other => (format!("too large to parse ({other:?})"), true),
        },
        Error::AliasReplayLimitExceeded { .. } => (bomb(), true),
        Error::AliasExpansionLimitExceeded { .. } | Error::AliasReplayStackDepthExceeded { .. } => {
            (nested_aliases(), true)
        }
        other => {
            let message = message_without_location(other);
            // The scanner's own guard on flow collections (`[[[[...`).
            if message.contains("recursion limit exceeded") {
                (depth(), true)
            } else {
                (message, false)
            }
        }
    }
}

fn clamp(v: u64) -> u32 {
    u32::try_from(v).unwrap_or(u32::MAX)
}

/// Strips the parser's own trailing " at line L, column C" so positions can be re-based on
/// the file.
fn message_without_location(e: &serde_saphyr::Error) -> String {
    let text = e.without_snippet().to_string();
    let Some(i) = text.rfind(" at line ") else {
        return text;
    };
    // Only a suffix that is exactly the location: "(used at line 3, column 2)" is not one.
    let is_location = text[i + " at line ".len()..]
        .split_once(", column ")
        .is_some_and(|(l, c)| {
            !l.is_empty()
                && !c.is_empty()
                && l.bytes().all(|b| b.is_ascii_digit())
                && c.bytes().all(|b| b.is_ascii_digit())
        });
    if is_location {
        text[..i].to_owned()
    } else {
        text
    }
}

/// Reads every document of a manifest text (YAML stream, JSON, or concatenated JSON).
pub fn parse_documents(text: &str) -> Vec<Document> {
    parse_stream(text, true, ParseLimits::default())
}

/// [`parse_documents`] under other limits.
pub fn parse_documents_with(text: &str, limits: ParseLimits) -> Vec<Document> {
    parse_stream(text, true, limits)
}

/// [`parse_documents`] without the fast line-based reader: every document goes through the
/// full YAML parser. Slower, with the same answers; for comparisons and benchmarks.
pub fn parse_documents_full(text: &str) -> Vec<Document> {
    parse_stream(text, false, ParseLimits::default())
}

/// [`parse_documents`], with the fast path on or off.
fn parse_stream(text: &str, fast: bool, limits: ParseLimits) -> Vec<Document> {
    let docs = split::split_documents(text);
    let mut out = Vec::with_capacity(docs.len());
    for doc in &docs {
        out.push(parse_document(doc, fast, limits));
    }
    // Concatenated JSON values are not YAML: when the YAML reading of a JSON-looking file
    // fails, read it as a JSON stream instead, if that works for the whole file.
    // A document over a limit stays refused: serde_json's own depth limit is not ours.
    if docs.len() == 1
        && matches!(&out[0].kind, DocumentKind::Invalid(e) if !e.over_limit)
        && let Some(json) = parse_json_stream(&docs[0])
    {
        return json;
    }
    out
}

fn parse_document(doc: &RawDocument<'_>, fast: bool, limits: ParseLimits) -> Document {
    let span = doc.offset..doc.offset + doc.text.len();
    let mut parsed = Document {
        index: doc.index,
        span,
        kind: DocumentKind::Empty,
        objects: Vec::new(),
        warnings: Vec::new(),
    };
    let Some(content_line) = doc.content_line else {
        return parsed;
    };
    let line_base = doc.first_line - 1;
    let skimmed = if fast {
        fast::skim(doc.text, fast::depth_cap(limits.max_depth))
    } else {
        None
    };
    let read = match skimmed {
        Some(head) => Ok(Shape::Mapping(head.into_head())),
        None => full_parse(doc.text, limits),
    };
    match read {
        Ok(shape) => {
            let src = DocText {
                text: doc.text,
                offset: doc.offset,
                line_base,
                content_line,
                parsed: true,
            };
            classify(shape, &src, &mut parsed);
        }
        Err(e) => {
            let (line, column) = e.location().map_or((content_line, None), |l| {
                (line_base + clamp(l.line()), Some(clamp(l.column())))
            });
            let (message, over_limit) = error_message(&e, limits);
            parsed.kind = DocumentKind::Invalid(DocumentError {
                line,
                column,
                message,
                over_limit,
                templated: memchr::memmem::find(doc.text.as_bytes(), b"{{").is_some(),
            });
            if let Some(s) = salvage::salvage(doc.text) {
                let start = doc.offset + s.api_version_offset;
                parsed.objects.push(ManifestObject {
                    api_version_span: Some(start..start + s.api_version.len()),
                    api_version: s.api_version,
                    kind: s.kind,
                    name: s.name,
                    namespace: s.namespace,
                    item: None,
                    line: content_line,
                    parsed: false,
                });
            }
        }
    }
    parsed
}

fn object_from_head(
    head: Head,
    item: Option<usize>,
    line: u32,
    doc: &DocText<'_>,
) -> Option<ManifestObject> {
    let api_version = head.api_version?;
    let Scalar::Str(kind) = head.kind? else {
        return None;
    };
    let Located {
        value: Scalar::Str(api_version),
        offset: value_offset,
        ..
    } = api_version
    else {
        return None;
    };
    let api_version_span = value_offset.and_then(|o| value_span(doc, o, &api_version));
    Some(ManifestObject {
        api_version,
        kind,
        name: head.name.and_then(Scalar::into_text),
        namespace: head.namespace.and_then(Scalar::into_text),
        item,
        line,
        api_version_span,
        parsed: doc.parsed,
    })
}

/// The document being classified: its text, where it sits in the file, and how it was read.
struct DocText<'a> {
    text: &'a str,
    /// Byte offset of `text` in the file.
    offset: usize,
    /// Lines before the first line of `text`.
    line_base: u32,
    /// 1-based file line of the document's first content.
    content_line: u32,
    parsed: bool,
}

/// The file span of a scalar value whose node starts at `node` (relative to the document). The
/// node may start with a quote; a value whose source text differs from its value (escapes)
/// gets no span, since rewriting it would need re-quoting.
fn value_span(doc: &DocText<'_>, node: usize, value: &str) -> Option<Span> {
    let rest = doc.text.get(node..)?;
    let start = node + usize::from(rest.starts_with(['"', '\'']));
    let end = start + value.len();
    (doc.text.get(start..end)? == value).then(|| doc.offset + start..doc.offset + end)
}

/// One warning per document for all its duplicate keys.
fn duplicate_warning(dups: &[head::Duplicate], line_base: u32) -> DocumentWarning {
    let listed: Vec<String> = dups
        .iter()
        .map(|d| {
            let lines: Vec<String> = d
                .lines
                .iter()
                .map(|l| (line_base + l).to_string())
                .collect();
            format!("`{}` (lines {})", d.key, lines.join(", "))
        })
        .collect();
    let mut message = format!(
        "duplicate {} {}: the last value is used, as kubectl does; Helm 3 rejects such files",
        if dups.len() == 1 { "key" } else { "keys" },
        listed.join(", ")
    );
    let has = |k: &str| dups.iter().any(|d| d.key == k);
    if has("apiVersion") && has("kind") {
        message.push_str(". Two objects may have been merged by a missing `---` separator");
    }
    DocumentWarning {
        line: line_base
            + dups
                .iter()
                .filter_map(|d| d.lines.get(1))
                .copied()
                .min()
                .unwrap_or(0),
        message,
    }
}

fn is_list_kind(kind: &str) -> bool {
    kind.ends_with("List")
}

fn classify(shape: Shape, src: &DocText<'_>, doc: &mut Document) {
    let line_base = src.line_base;
    let element_objects = |elements: Vec<Located<Element>>, doc: &mut Document| {
        for (i, e) in elements.into_iter().enumerate() {
            if let Element::Mapping(head) = e.value {
                let line = if e.line == 0 {
                    src.content_line
                } else {
                    line_base + e.line
                };
                if let Some(obj) = object_from_head(head, Some(i), line, src) {
                    doc.objects.push(obj);
                }
            }
        }
    };
    match shape {
        Shape::Null => doc.kind = DocumentKind::Empty,
        Shape::Scalar => doc.kind = DocumentKind::NotObject,
        Shape::Sequence(elements) => {
            element_objects(elements, doc);
            doc.kind = if doc.objects.is_empty() {
                DocumentKind::NotObject
            } else {
                DocumentKind::Objects { list: true }
            };
        }
        Shape::Mapping(mut head) => {
            let dups = std::mem::take(&mut head.duplicates);
            if !dups.is_empty() {
                doc.warnings.push(duplicate_warning(&dups, line_base));
            }
            let is_object = matches!(
                (&head.api_version, &head.kind),
                (
                    Some(Located {
                        value: Scalar::Str(_),
                        ..
                    }),
                    Some(Scalar::Str(_))
                )
            );
            let list_items = match (&head.kind, &head.items) {
                (Some(Scalar::Str(k)), Items::Sequence(_)) if is_object && is_list_kind(k) => {
                    match std::mem::take(&mut head.items) {
                        Items::Sequence(elements) => Some(elements),
                        _ => None,
                    }
                }
                _ => None,
            };
            if let Some(elements) = list_items {
                element_objects(elements, doc);
                doc.kind = DocumentKind::Objects { list: true };
            } else if let Some(obj) = object_from_head(head, None, src.content_line, src) {
                doc.objects.push(obj);
                doc.kind = DocumentKind::Objects { list: false };
            } else {
                doc.kind = DocumentKind::NotObject;
            }
        }
    }
}

/// Reads `text` as concatenated JSON values; `None` unless the whole text is such a stream.
fn parse_json_stream(doc: &RawDocument<'_>) -> Option<Vec<Document>> {
    let trimmed = doc.text.trim_start();
    if !trimmed.starts_with(['{', '[']) {
        return None;
    }
    let mut stream = serde_json::Deserializer::from_str(doc.text).into_iter::<serde_json::Value>();
    let mut values = Vec::new();
    let mut start = doc.text.len() - trimmed.len();
    while let Some(next) = stream.next() {
        let value = next.ok()?;
        let end = stream.byte_offset();
        values.push((start, end, value));
        start = end;
    }
    if values.len() < 2 {
        return None;
    }
    let mut out = Vec::with_capacity(values.len());
    for (index, (start, end, value)) in values.into_iter().enumerate() {
        let text = &doc.text[start..end];
        let lead = text.len() - text.trim_start().len();
        let line = doc.first_line
            + u32::try_from(
                doc.text[..start + lead]
                    .bytes()
                    .filter(|&b| b == b'\n')
                    .count(),
            )
            .unwrap_or(u32::MAX);
        let mut parsed = Document {
            index,
            span: doc.offset + start..doc.offset + end,
            kind: DocumentKind::Empty,
            objects: Vec::new(),
            warnings: Vec::new(),
        };
        let src = DocText {
            text,
            offset: doc.offset + start,
            line_base: line - 1,
            content_line: line,
            parsed: true,
        };
        classify(head::shape_from_json(value, 1), &src, &mut parsed);
        out.push(parsed);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::{fast, split};

    /// The fast path must keep covering the shapes real manifests use; if it silently gave up
    /// on them, scans would stay correct but become several times slower.
    #[test]
    fn fast_path_covers_common_shapes() {
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/");
        for (file, expected_fast) in [
            ("examples/shop/deploy/app.yaml", 2),
            ("examples/shop/deploy/resilience.yaml", 2),
            ("manifests/yaml-features/crd-shapes.yaml", 2),
            ("manifests/list-kind/lists.yaml", 5),
            ("manifests/clean/app.yaml", 3),
            ("manifests/json/deployment.json", 1),
            ("manifests/json/list.json", 1),
            ("manifests/traps/embedded-api-versions.yaml", 4),
        ] {
            let text = std::fs::read_to_string(format!("{root}{file}")).unwrap();
            let fast = split::split_documents(&text)
                .iter()
                .filter(|d| {
                    d.content_line.is_some()
                        && fast::skim(d.text, fast::depth_cap(super::DEFAULT_MAX_DEPTH)).is_some()
                })
                .count();
            assert_eq!(fast, expected_fast, "{file}");
        }
    }
}
