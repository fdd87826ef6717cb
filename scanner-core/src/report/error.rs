//! Problems met while scanning. None of them stops a scan: each is recorded in the report and
//! the scan goes on with the other inputs and documents.

use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// What kind of input problem a [`ScanError`] is.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[non_exhaustive]
#[serde(rename_all = "kebab-case")]
pub enum ErrorKind {
    /// The path does not exist (or a symlink points nowhere).
    NotFound,
    /// The operating system refused access.
    PermissionDenied,
    /// Any other read failure.
    Io,
    /// The file holds NUL bytes and is not UTF-16 text.
    Binary,
    /// The file is not valid UTF-8 (or UTF-16 with a byte-order mark).
    Encoding,
    /// A document is not valid YAML or JSON.
    Syntax,
    /// A directory could not be walked.
    Walk,
    /// The API server refused a request for lack of permission (HTTP 403).
    Forbidden,
    /// The API server could not serve a request: an aggregated API without a backend (503),
    /// or another server-side failure.
    Unavailable,
    /// A request to the API server timed out or the connection failed.
    Connection,
    /// The API server answered with something that is not what the API defines.
    Response,
    /// A Helm release record could not be decoded.
    HelmRecord,
    /// Over a limit on input: the size of one file, or a document's nesting depth or alias
    /// expansion.
    TooLarge,
    /// A pipe, FIFO or device did not deliver its data in time.
    Timeout,
}

impl ErrorKind {
    /// The kebab-case name used in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NotFound => "not-found",
            Self::PermissionDenied => "permission-denied",
            Self::Io => "io",
            Self::Binary => "binary",
            Self::Encoding => "encoding",
            Self::Syntax => "syntax",
            Self::Walk => "walk",
            Self::Forbidden => "forbidden",
            Self::Unavailable => "unavailable",
            Self::Connection => "connection",
            Self::Response => "response",
            Self::HelmRecord => "helm-record",
            Self::TooLarge => "too-large",
            Self::Timeout => "timeout",
        }
    }
}

/// An input (or part of one) that could not be scanned. Its presence makes a scan incomplete.
#[derive(
    Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[non_exhaustive]
pub struct ScanError {
    /// The path as given on the command line (or `<stdin>`).
    pub path: String,
    /// 0-based document index, for errors inside one document.
    pub document: Option<usize>,
    /// 1-based line, when known.
    pub line: Option<u32>,
    /// 1-based column, when known.
    pub column: Option<u32>,
    /// The kind of problem.
    pub kind: ErrorKind,
    /// What went wrong, for people.
    pub message: String,
}

impl fmt::Display for ScanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.path)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(column) = self.column {
                write!(f, ":{column}")?;
            }
        }
        if let Some(doc) = self.document {
            write!(f, " (document {doc})")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// What kind of notice a [`ScanWarning`] is.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[non_exhaustive]
#[serde(rename_all = "kebab-case")]
pub enum WarningKind {
    /// A mapping key appears twice; the last value was used.
    DuplicateKey,
    /// A symbolic link points back to a directory being walked; it was not followed again.
    SymlinkLoop,
    /// A path was skipped because it is not a regular file (FIFO, socket, device).
    NotRegularFile,
    /// A directory given on the command line holds no manifest file.
    NoManifests,
    /// The API server sent a `Warning` header.
    ServerWarning,
    /// A group/version listed by discovery was not served when asked (HTTP 404).
    NotServed,
    /// An aggregated API did not answer discovery (HTTP 5xx), and the catalog knows no
    /// deprecated or removed version of its group, so the scan needed nothing from it.
    ApiUnavailable,
    /// Objects carry no write history (no managed fields, no last-applied annotation), so the
    /// API version they were written through cannot be told.
    NoWriteHistory,
    /// Part of an object's write history could not be read.
    UnreadableHistory,
    /// A list had to be resumed after its continue token expired (HTTP 410).
    ListResumed,
    /// A request met transient failures (throttling, server errors, broken connections) and
    /// was sent again.
    Retried,
    /// An `upcheck.io/ignore` annotation could not be read; nothing was suppressed by it.
    BadAnnotation,
}

/// Something worth knowing that did not prevent scanning.
#[derive(
    Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[non_exhaustive]
pub struct ScanWarning {
    /// The path as given.
    pub path: String,
    /// 0-based document index, when the warning is about one document.
    pub document: Option<usize>,
    /// 1-based line, when known.
    pub line: Option<u32>,
    /// The kind of notice.
    pub kind: WarningKind,
    /// The notice, for people.
    pub message: String,
}

impl fmt::Display for ScanWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.path)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if let Some(doc) = self.document {
            write!(f, " (document {doc})")?;
        }
        write!(f, ": {}", self.message)
    }
}
