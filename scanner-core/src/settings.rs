//! What a scan of files or of a cluster is asked to do, already resolved (the core never reads
//! configuration files). Shared by every producer, so it sits below them.

use api_catalog::Targets;

use crate::parse;
use crate::source::WalkOptions;

/// Everything a scan needs to know, already resolved (the core never reads config files).
///
/// Built with [`ScanSettings::new`] and then adjusted field by field, so fields can be added
/// without breaking embedders.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ScanSettings {
    /// Target (and current) version per catalog component.
    pub targets: Targets,
    /// Report only APIs that are removed (or unknown) at the target.
    pub only_removed: bool,
    /// How directories are walked.
    pub walk: WalkOptions,
    /// Keep the objects the readiness checks read (PDBs, workloads, webhooks, ...), for
    /// [`crate::Scanner::scan_for_checks`].
    pub keep_for_checks: bool,
    /// Limits on parsing one YAML document (nesting depth, alias expansion).
    pub parse: parse::ParseLimits,
}

impl ScanSettings {
    /// Settings that judge Kubernetes APIs at `targets`, with default walking.
    pub fn new(targets: Targets) -> Self {
        Self {
            targets,
            only_removed: false,
            walk: WalkOptions::default(),
            keep_for_checks: false,
            parse: parse::ParseLimits::default(),
        }
    }
}
