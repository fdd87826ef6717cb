//! Errors of the catalog crate. Every message names the input it is about.

use thiserror::Error;

/// A version string that is not a Kubernetes (or add-on) release version.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("invalid version {input:?}: {reason}")]
pub struct VersionError {
    /// The text as given.
    pub input: String,
    /// Why it was refused.
    pub reason: &'static str,
}

/// An `apiVersion` string that cannot be split into group and version.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("invalid apiVersion {input:?}: {reason}")]
pub struct ApiVersionError {
    /// The text as given.
    pub input: String,
    /// Why it was refused.
    pub reason: &'static str,
}

/// A catalog that could not be loaded. Nothing of a failing catalog is kept.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CatalogError {
    /// The file is not valid YAML, or does not have the catalog's shape (unknown or missing
    /// fields, wrong types).
    #[error("{origin}:{line}:{column}: {message}")]
    Parse {
        /// Where the catalog came from (a path, or `embedded`).
        origin: String,
        /// 1-based line (0 when unknown).
        line: u64,
        /// 1-based column (0 when unknown).
        column: u64,
        /// What is wrong.
        message: String,
    },
    /// The file parsed, but an entry breaks a rule (for example deprecated after removed).
    #[error("{origin}:{line}: {subject}: field `{field}`: {reason}")]
    Invalid {
        /// Where the catalog came from.
        origin: String,
        /// 1-based line of the entry (0 when unknown).
        line: u64,
        /// The entry, as `apiVersion Kind`, or the section.
        subject: String,
        /// The offending field.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
}

impl CatalogError {
    /// A row of `origin` that parsed but breaks a rule of the schema.
    pub(crate) fn invalid(
        origin: &str,
        line: u64,
        subject: String,
        field: &'static str,
        reason: String,
    ) -> Self {
        Self::Invalid {
            origin: origin.to_owned(),
            line,
            subject,
            field,
            reason,
        }
    }

    /// A parse error of `origin`, with the parser's position and message.
    pub(crate) fn parse(origin: &str, e: &serde_saphyr::Error) -> Self {
        let (line, column) = e.location().map_or((0, 0), |l| (l.line(), l.column()));
        let text = e.without_snippet().to_string();
        // The position is in the fields; drop the parser's own " at line L, column C".
        let message = match text.rfind(" at line ") {
            Some(i) if text[i..].contains(", column ") => text[..i].to_owned(),
            _ => text,
        };
        Self::Parse {
            origin: origin.to_owned(),
            line,
            column,
            message,
        }
    }
}

/// Reading the lifecycle CSV failed (see [`crate::import`]).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{origin}:{line}: {reason}")]
pub struct ImportError {
    /// Which CSV file.
    pub origin: String,
    /// 1-based line in the CSV.
    pub line: usize,
    /// What is wrong.
    pub reason: String,
}
