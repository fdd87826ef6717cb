//! The exit code: computed from the report and the `--ignore-*` flags, in one place.
//!
//! Pluto's numbering, so existing pipelines keep working. Unlike Pluto, an API with no
//! replacement at all counts as removed (3), never as "replacement unavailable" (4), and each
//! `--ignore-*` flag removes only its own class.

use scanner_core::checks::Severity;
use scanner_core::{ApiStatus, Report};

/// Nothing fails the gate.
pub const OK: u8 = 0;
/// Tool error, or an incomplete scan.
pub const ERROR: u8 = 1;
/// Deprecated API versions in use at the target.
pub const DEPRECATED: u8 = 2;
/// Removed (or unknown) API versions in use at the target.
pub const REMOVED: u8 = 3;
/// A replacement exists but no migration path from the current version reaches it.
pub const REPLACEMENT_UNAVAILABLE: u8 = 4;
/// Readiness blockers (or warnings, with `--fail-on warning`).
pub const READINESS: u8 = 5;
/// `upcheck snapshot diff` found regressions.
pub const REGRESSIONS: u8 = 6;
/// Stopped by Ctrl-C or SIGTERM (128 + SIGINT, as shells report it).
pub const INTERRUPTED: u8 = 130;

/// The codes in the order the gate reports them: the first that applies wins.
const PRECEDENCE: [u8; 7] = [
    ERROR,
    REPLACEMENT_UNAVAILABLE,
    REMOVED,
    READINESS,
    REGRESSIONS,
    DEPRECATED,
    OK,
];

/// The worst of several exit codes (several clusters), by the gate's precedence.
pub fn worst(codes: impl IntoIterator<Item = u8>) -> u8 {
    codes
        .into_iter()
        .min_by_key(|c| PRECEDENCE.iter().position(|p| p == c).unwrap_or(0))
        .unwrap_or(OK)
}

/// Which classes of findings are left out of the exit code.
#[derive(Debug, Clone, Copy, Default)]
#[allow(clippy::struct_excessive_bools)] // independent switches, one per CLI flag
pub struct Gate {
    pub ignore_deprecations: bool,
    pub ignore_removals: bool,
    pub ignore_unavailable_replacements: bool,
    pub allow_incomplete: bool,
    /// The lowest readiness severity that fails the gate; `None`: readiness never does.
    pub readiness_fail_on: Option<Severity>,
}

/// The exit code for a report: the first of 1, 4, 3, 5, 2 that applies (6 is only
/// `upcheck snapshot diff`'s).
pub fn exit_code(report: &Report, gate: Gate) -> u8 {
    if report.is_incomplete() && !gate.allow_incomplete {
        return ERROR;
    }
    let unavailable = report
        .findings
        .iter()
        .any(scanner_core::Finding::replacement_unavailable);
    let removed = report
        .findings
        .iter()
        .any(|f| matches!(f.status, ApiStatus::Removed | ApiStatus::Unknown));
    let mut deprecated = report
        .findings
        .iter()
        .any(|f| f.status == ApiStatus::Deprecated);
    let mut removed = removed;
    // What the apiserver's metric says clients still call counts like stored objects; CRD
    // versions marked deprecated, or stored versions still to migrate, count as deprecated.
    if let Some(c) = &report.cluster {
        removed |= c
            .requested_apis
            .iter()
            .any(|r| r.status == ApiStatus::Removed)
            || c.provider_api_clients
                .iter()
                .any(|r| r.status == ApiStatus::Removed);
        deprecated |= c
            .requested_apis
            .iter()
            .any(|r| r.status == ApiStatus::Deprecated)
            || c.provider_api_clients
                .iter()
                .any(|r| r.status == ApiStatus::Deprecated)
            || !c.crds.is_empty();
    }
    let readiness = match (&report.readiness, gate.readiness_fail_on) {
        (Some(r), Some(level)) => r.has(level),
        _ => false,
    };
    if unavailable && !gate.ignore_unavailable_replacements {
        REPLACEMENT_UNAVAILABLE
    } else if removed && !gate.ignore_removals {
        REMOVED
    } else if readiness {
        READINESS
    } else if deprecated && !gate.ignore_deprecations {
        DEPRECATED
    } else {
        OK
    }
}

/// Whether one finding fails the gate on its own (JUnit failures, GitHub error annotations).
pub fn fails(f: &scanner_core::Finding, gate: Gate) -> bool {
    (f.replacement_unavailable() && !gate.ignore_unavailable_replacements)
        || (matches!(f.status, ApiStatus::Removed | ApiStatus::Unknown) && !gate.ignore_removals)
        || (f.status == ApiStatus::Deprecated && !gate.ignore_deprecations)
}

/// Whether a readiness finding fails the gate.
pub fn check_fails(f: &scanner_core::checks::CheckFinding, gate: Gate) -> bool {
    gate.readiness_fail_on
        .is_some_and(|level| f.severity <= level)
}

#[cfg(test)]
mod worst_tests {
    use super::*;

    #[test]
    fn the_worst_code_follows_the_gates_precedence() {
        assert_eq!(worst([]), OK);
        assert_eq!(worst([OK, DEPRECATED]), DEPRECATED);
        assert_eq!(worst([DEPRECATED, READINESS, REMOVED]), REMOVED);
        assert_eq!(
            worst([REMOVED, REPLACEMENT_UNAVAILABLE]),
            REPLACEMENT_UNAVAILABLE
        );
        assert_eq!(worst([REPLACEMENT_UNAVAILABLE, OK, ERROR]), ERROR);
    }
}
