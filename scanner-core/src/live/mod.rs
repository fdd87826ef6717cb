//! Reading what a live cluster holds.
//!
//! The interpretation is synchronous and needs no client: it takes plain JSON (objects from
//! list pages, Helm release storage objects) and the apiserver's `/metrics` text, so it is
//! testable on recorded responses and usable by tools that fetch objects their own way. It
//! lives in `crate::inspect` (below the checks and snapshots, which read it too) and is
//! re-exported here:
//!
//! - [`cluster`]: the judge that turns all of the above into a report.
//! - [`crd`]: deprecated CRD versions and stored versions that still need migrating.
//! - [`discovery`]: served APIs at risk, and which resources to list for evidence.
//! - [`evidence`]: which API versions an object was *written* through (managed fields and the
//!   last-applied annotation), never the version it happened to be read at.
//! - [`helm`]: decoding Helm 3 release records stored in Secrets and `ConfigMaps`.
//! - [`metrics`]: the `apiserver_requested_deprecated_apis` gauge.
//! - [`rbac`]: the read-only `ClusterRole` a scan needs.
//!
//! With the cargo feature `live`, the client half is here too: `LiveClient` (a kubeconfig
//! context, the pod's service account, or a `kube::Client` of yours), `LiveSettings`, and
//! `scan_cluster`, which makes the requests (discovery, paginated lists, Helm records, the
//! readiness lists) with bounded concurrency, retries and timeouts and returns the same
//! [`Report`](crate::Report) a file scan does. Without the feature this crate pulls in no
//! async runtime, HTTP stack or Kubernetes client.
//!
//! ```no_run
//! # #[cfg(feature = "live")]
//! # fn main() -> Result<(), scanner_core::live::LiveError> {
//! use scanner_core::live::{LiveSettings, scan_cluster_blocking};
//! use scanner_core::{Catalog, Targets};
//!
//! let target = "1.33".parse().expect("a version");
//! let settings = LiveSettings::new(Catalog::embedded(), Targets::kubernetes(target, None))
//!     .concurrency(4);
//! // The current context of $KUBECONFIG or ~/.kube/config.
//! let report = scan_cluster_blocking(None, None, &settings)?;
//! println!("{} finding(s), complete: {}", report.findings.len(), report.errors.is_empty());
//! # Ok(())
//! # }
//! # #[cfg(not(feature = "live"))]
//! # fn main() {}
//! ```

pub use crate::inspect::{cluster, crd, discovery, evidence, helm, metrics};
pub mod rbac;

#[cfg(feature = "live")]
mod client;
#[cfg(feature = "live")]
mod error;
#[cfg(feature = "live")]
mod progress;
#[cfg(feature = "live")]
mod requests;
#[cfg(feature = "live")]
mod run;
#[cfg(feature = "live")]
mod settings;

#[cfg(feature = "live")]
pub use client::{LiveClient, kubeconfig_auth, kubeconfig_contexts};
#[cfg(feature = "live")]
pub use error::LiveError;
#[cfg(feature = "live")]
pub use progress::Progress;
#[cfg(feature = "live")]
pub use run::{
    LiveScan, SnapshotRead, block_on, read_snapshot, scan_cluster, scan_cluster_blocking,
    scan_cluster_with_state,
};
#[cfg(feature = "live")]
pub use settings::LiveSettings;
