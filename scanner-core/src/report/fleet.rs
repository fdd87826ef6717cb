//! Many clusters in one run: one report per cluster and a summary row for each.
//!
//! A cluster that could not be scanned at all (unreachable, credentials refused) is a member
//! with an error and no report; it never hides the others.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use api_catalog::ApiStatus;

use super::{REPORT_SCHEMA_VERSION, Report, Severity};

/// The reports of several clusters, in the order the contexts were named.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct FleetReport {
    /// [`REPORT_SCHEMA_VERSION`]: each member's report has the same shape as a single one.
    pub schema_version: u32,
    /// One summary row per cluster, in the same order as `clusters`.
    pub fleet: Vec<FleetRow>,
    /// Each cluster's report, or why there is none.
    pub clusters: Vec<FleetMember>,
}

impl FleetReport {
    /// The fleet of `members`, each summarised.
    pub fn new(members: Vec<FleetMember>) -> Self {
        Self {
            schema_version: REPORT_SCHEMA_VERSION,
            fleet: members.iter().map(FleetRow::of).collect(),
            clusters: members,
        }
    }
}

/// One cluster of a fleet.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct FleetMember {
    /// The kubeconfig context.
    pub context: String,
    /// The scan's report, when the cluster could be read at all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report: Option<Box<Report>>,
    /// Why the cluster could not be scanned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl FleetMember {
    /// A cluster that was scanned.
    pub fn scanned(context: impl Into<String>, report: Report) -> Self {
        Self {
            context: context.into(),
            report: Some(Box::new(report)),
            error: None,
        }
    }

    /// A cluster that could not be scanned, and why.
    pub fn failed(context: impl Into<String>, error: impl Into<String>) -> Self {
        Self {
            context: context.into(),
            report: None,
            error: Some(error.into()),
        }
    }
}

/// The fleet table's row for one cluster.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct FleetRow {
    /// The kubeconfig context.
    pub context: String,
    /// The API server's `gitVersion`, when it was read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Objects on removed (or unknown) API versions at the target.
    pub removed: u64,
    /// Objects on deprecated API versions.
    pub deprecated: u64,
    /// Readiness blockers.
    pub blockers: u64,
    /// What could not be checked: inputs or resources that could not be read, plus readiness
    /// checks that did not run. A cluster that could not be scanned has none of these
    /// counts and an `error` instead.
    pub not_checked: u64,
    /// Why the cluster could not be scanned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl FleetRow {
    /// The summary of one member.
    pub fn of(member: &FleetMember) -> Self {
        let mut row = Self {
            context: member.context.clone(),
            error: member.error.clone(),
            ..Self::default()
        };
        let Some(report) = &member.report else {
            return row;
        };
        row.version = report
            .cluster
            .as_ref()
            .and_then(|c| c.info.server_version.clone());
        for f in &report.findings {
            match f.status {
                ApiStatus::Removed | ApiStatus::Unknown => row.removed += 1,
                ApiStatus::Deprecated => row.deprecated += 1,
                _ => {}
            }
        }
        row.not_checked = count(report.errors.len());
        if let Some(r) = &report.readiness {
            row.blockers = count(
                r.findings
                    .iter()
                    .filter(|f| f.severity == Severity::Blocker)
                    .count(),
            );
            row.not_checked += count(r.not_run.len());
        }
        row
    }
}

fn count(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}
