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
    /// fields, wrong types). The message carries the line and column.
    #[error("{origin}: {message}")]
    Parse {
        /// Where the catalog came from (a path, or `embedded`).
        origin: String,
        /// The parser's message, with line and column.
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
