//! upcheck's engine: finds Kubernetes manifests that use API versions which are deprecated,
//! removed, or never existed at a target release.
//!
//! The pipeline runs one way:
//!
//! ```text
//! Input ─collect→ files ─read/decode→ text ─split→ documents ─parse→ objects
//!       ─assess (api-catalog)→ findings ─sort→ Report
//! ```
//!
//! Files are read and parsed in parallel with rayon on the caller's thread pool, then sorted by
//! a total order, so the report is the same whatever the thread count. Nothing is skipped
//! silently: unreadable paths, binary files and invalid documents become [`ScanError`]s in
//! the report, and the scan goes on with everything else. File scanning pulls in no async
//! runtime, HTTP or Kubernetes client.
//!
//! The crate is a library for tools that embed the scan; the `upcheck` binary (crate
//! `scanner-cli`) adds arguments, rendering and exit codes.
//!
//! ```
//! use scanner_core::{Catalog, KubeVersion, ScanSettings, Scanner, Targets};
//!
//! let settings = ScanSettings::new(Targets::kubernetes(KubeVersion::new(1, 22), None));
//! let report = Scanner::new(Catalog::embedded(), settings).scan_text(
//!     "ingress.yaml",
//!     "apiVersion: extensions/v1beta1\nkind: Ingress\nmetadata:\n  name: web\n",
//! );
//! assert_eq!(report.findings.len(), 1);
//! assert_eq!(report.findings[0].removed_in, Some(KubeVersion::new(1, 22)));
//! ```
#![warn(missing_docs)]

// Layers, bottom up (ARCHITECTURE.md): report (types) → parse, source, code_pattern, settings
// → build (the one report builder) → judge (the one judge) → scan, inspect, checks, suppress →
// plan, snapshot, fix → live (the client) → registry (every code). No module imports one above it.
mod build;
pub mod checks;
pub mod code_pattern;
pub mod fix;
pub mod inspect;
mod judge;
pub mod live;
pub mod parse;
pub mod plan;
pub mod provider;
pub mod registry;
pub mod report;
mod scan;
mod settings;
pub mod snapshot;
mod source;
pub mod suppress;

pub use api_catalog::{
    ApiEntry, ApiStatus, Catalog, CatalogBuilder, CatalogError, KubeVersion, MatchBasis, Target,
    Targets, VersionError, WILDCARD,
};
pub use build::Outcome;
pub use report::{
    Code, CodeInfo, ErrorKind, Family, Finding, FindingReplacement, FleetMember, FleetReport,
    FleetRow, Location, NotJudged, Note, NoteKind, Origin, PathStep, Position,
    REPORT_SCHEMA_VERSION, Report, ScanError, ScanStats, ScanWarning, Severity, Span, ToolInfo,
    WarningKind,
};
pub use scan::{ScanSettings, Scanner};
pub use source::{DEFAULT_MAX_FILE_BYTES, Input, WalkOptions};
