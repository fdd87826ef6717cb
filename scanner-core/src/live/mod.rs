//! Reading what a live cluster holds, without a Kubernetes client.
//!
//! The cluster scanner (which talks HTTP) hands this module plain JSON: objects from list
//! pages, Helm release storage objects, and the apiserver's `/metrics` text. Keeping the
//! interpretation here keeps it synchronous, testable on recorded responses, and usable by
//! tools that fetch objects their own way.
//!
//! - [`cluster`]: the judge that turns all of the above into a report.
//! - [`crd`]: deprecated CRD versions and stored versions that still need migrating.
//! - [`discovery`]: served APIs at risk, and which resources to list for evidence.
//! - [`evidence`]: which API versions an object was *written* through (managed fields and the
//!   last-applied annotation), never the version it happened to be read at.
//! - [`helm`]: decoding Helm 3 release records stored in Secrets and `ConfigMaps`.
//! - [`metrics`]: the `apiserver_requested_deprecated_apis` gauge.

pub mod cluster;
pub mod crd;
pub mod discovery;
pub mod evidence;
pub mod helm;
pub mod metrics;
