//! What a cluster's responses say, read without a client: the judge of listed objects and
//! Helm manifests, CRD versions, discovery, write evidence, Helm release records, the
//! apiserver's deprecated-API metric and its readiness checks. Below the checks and snapshots
//! (which read CRDs, Helm records and evidence too) and below `live`, whose client feeds it;
//! `live` re-exports it.

pub mod cluster;
pub mod crd;
pub mod discovery;
pub mod evidence;
pub mod health;
pub mod helm;
pub mod metrics;
