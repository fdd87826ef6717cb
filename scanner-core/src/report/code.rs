//! What a code means: the declaration every code that any command emits carries, and the
//! deprecated-API codes themselves. The full list is [`crate::registry`].

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// How bad a readiness finding is.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The upgrade will be refused, fail, or break a workload (exit code 5).
    Blocker,
    /// Likely to hang a drain or disrupt a workload (exit code 5 with `--fail-on warning`).
    Warning,
    /// Advice.
    Info,
}

impl Severity {
    /// The lowercase word used in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Blocker => "blocker",
            Self::Warning => "warning",
            Self::Info => "info",
        }
    }
}

/// Which part of upcheck emits a code.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Family {
    /// Objects using deprecated, removed or unknown API versions (`DEP001`).
    Deprecation,
    /// Upgrade readiness checks (`DRN001`).
    Readiness,
    /// Steps of `upcheck plan` that no readiness check reports.
    Plan,
    /// Differences `upcheck snapshot diff` reports (`workload-ready`).
    Snapshot,
}

impl Family {
    /// The word used in listings.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Deprecation => "deprecation",
            Self::Readiness => "readiness",
            Self::Plan => "plan",
            Self::Snapshot => "snapshot",
        }
    }
}

/// The declaration of one code. Codes never change meaning once released; a retired code stays
/// declared with [`CodeInfo::retired`] set, so old reports and ignore files still explain.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct CodeInfo {
    /// The code (`DRN001`, `DEP001`, `workload-ready`).
    pub code: &'static str,
    /// What emits it.
    pub family: Family,
    /// One line.
    pub title: &'static str,
    /// The most severe result reported under it.
    pub severity: Severity,
    /// The fields or data it reads.
    pub reads: &'static str,
    /// The versions and situations it applies to.
    pub applies: &'static str,
    /// What to do about it.
    pub remediation: &'static str,
    /// Why it matters: the long explanation.
    pub explanation: &'static str,
    /// Why it was retired, for a code no release emits any more.
    pub retired: Option<&'static str>,
}

impl CodeInfo {
    /// A declaration with the texts every code has; the rest empty (filled by struct update).
    pub const fn new(
        code: &'static str,
        family: Family,
        title: &'static str,
        severity: Severity,
        explanation: &'static str,
    ) -> Self {
        Self {
            code,
            family,
            title,
            severity,
            reads: "",
            applies: "",
            remediation: "",
            explanation,
            retired: None,
        }
    }

    /// The same declaration with what it reads, when it applies and the remediation.
    #[must_use]
    pub const fn with_details(
        mut self,
        reads: &'static str,
        applies: &'static str,
        remediation: &'static str,
    ) -> Self {
        self.reads = reads;
        self.applies = applies;
        self.remediation = remediation;
        self
    }
}

/// `DEP001`: the API version is no longer served at the target.
pub static DEP001: CodeInfo = CodeInfo::new(
    "DEP001",
    Family::Deprecation,
    "removed-api",
    Severity::Blocker,
    "API version no longer served at the target version. Reported for every object (manifest, stored object written through the API version, or Helm release manifest) whose apiVersion is no longer served at the target version.",
)
.with_details(
    "apiVersion and kind of every object; for live objects metadata.managedFields[].apiVersion and the last-applied annotation",
    "every object whose API version the catalog lists as removed at or before the target",
    "Move the object to the replacement API version the finding names (upcheck fix rewrites manifests), before the upgrade.",
);

/// `DEP002`: the API version is deprecated at the target.
pub static DEP002: CodeInfo = CodeInfo::new(
    "DEP002",
    Family::Deprecation,
    "deprecated-api",
    Severity::Warning,
    "API version deprecated at the target version. Reported for every object (manifest, stored object written through the API version, or Helm release manifest) whose apiVersion is deprecated at the target version.",
)
.with_details(
    "apiVersion and kind of every object; for live objects metadata.managedFields[].apiVersion and the last-applied annotation",
    "every object whose API version the catalog lists as deprecated at the target and not yet removed",
    "Move the object to the replacement API version before the release that removes it.",
);

/// `DEP003`: a version of a built-in group that never existed.
pub static DEP003: CodeInfo = CodeInfo::new(
    "DEP003",
    Family::Deprecation,
    "unknown-api-version",
    Severity::Blocker,
    "version of a built-in API group that never existed. Reported for every object (manifest, stored object written through the API version, or Helm release manifest) whose apiVersion is a version of a built-in group that no release served at the target version.",
)
.with_details(
    "apiVersion of every object in a built-in API group",
    "every object whose group is built in and whose version no Kubernetes release served",
    "Correct the apiVersion: it is most likely a typo, or a version that only existed in a fork.",
);
