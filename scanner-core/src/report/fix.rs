//! What `upcheck fix` did and left: the types, read by renderers and embedders.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::ScanError;

/// The result of fixing manifests: per file, what changed and what was left for a person.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct FixReport {
    /// Files with a finding, in path order (files with nothing to fix are not listed).
    pub files: Vec<FileFix>,
    /// What could not be read at all (missing paths, binary files, walk failures).
    pub errors: Vec<ScanError>,
    /// Files read.
    pub files_read: u64,
}

impl FixReport {
    /// Objects converted, across files.
    pub fn converted(&self) -> usize {
        self.files.iter().map(|f| f.changes.len()).sum()
    }

    /// Objects left for a person, across files (by design or because a conversion failed).
    pub fn left(&self) -> usize {
        self.files.iter().map(|f| f.left.len()).sum()
    }

    /// Whether anything could not be read or converted.
    pub fn has_errors(&self) -> bool {
        !self.errors.is_empty()
            || self
                .files
                .iter()
                .any(|f| !f.errors.is_empty() || f.left.iter().any(|l| l.failed))
    }
}

/// One file: its text before and after, and what happened to each object in it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct FileFix {
    /// The path as given (or `<stdin>`).
    pub path: String,
    /// The text as read. Not serialized.
    #[serde(skip)]
    pub original: String,
    /// The text with every conversion applied (equal to `original` when nothing changed).
    /// Not serialized.
    #[serde(skip)]
    pub fixed: String,
    /// What was replaced in `original` to make `fixed`: sorted, not overlapping. Renderers
    /// build the diff from these instead of comparing the texts line by line. Not serialized.
    #[serde(skip)]
    pub edits: Vec<TextEdit>,
    /// Objects converted.
    pub changes: Vec<ObjectChange>,
    /// Objects not converted, and why.
    pub left: Vec<LeftObject>,
    /// Documents of the file that could not be read (not valid YAML): left untouched.
    pub errors: Vec<ScanError>,
}

impl FileFix {
    /// Whether the file's text changes.
    pub fn changed(&self) -> bool {
        self.original != self.fixed
    }
}

/// One replacement in a text: bytes `start..end` became `text`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct TextEdit {
    /// First byte replaced.
    pub start: usize,
    /// Byte after the last one replaced (`start` for an insertion).
    pub end: usize,
    /// What stands there now.
    pub text: String,
}

/// An object rewritten to its replacement API.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct ObjectChange {
    /// 1-based line where the object starts.
    pub line: u32,
    /// Kind.
    pub kind: String,
    /// `metadata.name`, when set.
    pub name: Option<String>,
    /// `metadata.namespace`, when set.
    pub namespace: Option<String>,
    /// `apiVersion` before.
    pub from: String,
    /// `apiVersion` after.
    pub to: String,
    /// Only the `apiVersion` line changed: a template whose other lines were left as written.
    pub api_version_only: bool,
    /// What the reviewer should know: defaults written out so behaviour stays, fields dropped,
    /// annotations to review.
    pub notes: Vec<String>,
}

/// An object that needs a person.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct LeftObject {
    /// 1-based line where the object starts.
    pub line: u32,
    /// Kind.
    pub kind: String,
    /// `metadata.name`, when set.
    pub name: Option<String>,
    /// `apiVersion`.
    pub api_version: String,
    /// The API it should move to, when there is one.
    pub to: Option<String>,
    /// Why it was not converted, and the manual step.
    pub reason: String,
    /// True when the conversion was tried and failed (did not validate, could not be edited in
    /// place); false when there is no automatic conversion by design (`PodSecurityPolicy`,
    /// a template's fields, a replacement not served yet).
    pub failed: bool,
}
