//! Findings that were found and then accepted, and by what.

use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::finding::{Finding, Origin};
use super::readiness::CheckFinding;

/// The annotation that suppresses findings on the object that carries it:
/// `upcheck.io/ignore: "DEP002,DRN: reason"`.
pub const IGNORE_ANNOTATION: &str = "upcheck.io/ignore";

/// What suppressed a finding.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum SuppressedBy {
    /// An ignore rule of the configuration.
    Rule {
        /// Where the rule is (`upcheck.toml:12`).
        rule: String,
        /// The rule's reason.
        reason: String,
    },
    /// The object's own [`IGNORE_ANNOTATION`].
    Annotation {
        /// The annotation's reason.
        reason: String,
    },
    /// The finding is in the baseline.
    Baseline,
}

impl fmt::Display for SuppressedBy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Rule { rule, reason } => write!(f, "ignore rule at {rule} ({reason})"),
            Self::Annotation { reason } => write!(f, "{IGNORE_ANNOTATION} annotation ({reason})"),
            Self::Baseline => f.write_str("baseline"),
        }
    }
}

/// A finding that was found and then accepted.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct Suppressed {
    /// The finding's code.
    pub code: String,
    /// What it is about: `deploy/web.yaml:3 Ingress default/web`.
    pub subject: String,
    /// What suppressed it.
    pub by: SuppressedBy,
}

impl Suppressed {
    pub(crate) fn finding(f: &Finding, by: SuppressedBy) -> Self {
        Self {
            code: f.code.as_str().to_owned(),
            subject: subject(f),
            by,
        }
    }

    pub(crate) fn check(f: &CheckFinding, by: SuppressedBy) -> Self {
        Self {
            code: f.code.clone(),
            subject: f.object.clone(),
            by,
        }
    }
}

pub(crate) fn subject(f: &Finding) -> String {
    let object = f.object_ref();
    match &f.origin {
        None => format!("{}:{} {object}", f.location.path, f.location.line),
        Some(Origin::Object { .. }) => format!("{} ({})", f.location.path, f.api_version),
        Some(Origin::Helm {
            release, namespace, ..
        }) => format!("helm release {namespace}/{release}: {object}"),
    }
}
