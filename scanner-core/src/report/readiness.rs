//! The readiness part of a report: findings of the upgrade readiness checks and the checks
//! that could not run. Types only; `checks` fills them.

use api_catalog::KubeVersion;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::code::CodeInfo;
pub use super::code::Severity;

/// One readiness finding.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct CheckFinding {
    /// The check's code.
    pub code: String,
    /// How bad it is.
    pub severity: Severity,
    /// What it is about: `Node node-a1`, `PodDisruptionBudget team-a/web`.
    pub object: String,
    /// The hop it applies to, when it depends on one.
    pub hop: Option<KubeVersion>,
    /// One sentence for people, with the evidence.
    pub message: String,
    /// Stable identity across runs: for baselines and SARIF.
    pub fingerprint: String,
}

impl CheckFinding {
    /// A finding of `check` about `object`.
    pub fn new(
        check: &CodeInfo,
        severity: Severity,
        object: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            code: check.code.to_owned(),
            severity,
            object: object.into(),
            hop: None,
            message: message.into(),
            fingerprint: String::new(),
        }
    }

    /// The same finding, tied to a hop.
    #[must_use]
    pub fn at_hop(mut self, hop: KubeVersion) -> Self {
        self.hop = Some(hop);
        self
    }
}

/// A check that did not run, and why (the verdict cannot be "ready" while it is unknown).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct NotRun {
    /// The check's code.
    pub code: String,
    /// Why.
    pub reason: String,
}

/// The readiness part of a report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct Readiness {
    /// The version the upgrade starts from.
    pub current: KubeVersion,
    /// The version it ends at.
    pub target: KubeVersion,
    /// The control-plane minors on the way.
    pub hops: Vec<KubeVersion>,
    /// Codes of the checks that ran.
    pub ran: Vec<String>,
    /// Findings, most severe first.
    pub findings: Vec<CheckFinding>,
    /// Checks that could not run, and why.
    pub not_run: Vec<NotRun>,
}

impl Readiness {
    /// Whether a finding of at least `severity` was reported.
    pub fn has(&self, severity: Severity) -> bool {
        self.findings.iter().any(|f| f.severity <= severity)
    }
}
