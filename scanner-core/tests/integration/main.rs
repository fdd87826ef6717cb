//! The library's integration tests, in one test binary (one link instead of one per file).

// The EKS reader exists with the `eks` feature (the CLI, and so the workspace build, turns it on).
#[cfg(feature = "eks")]
mod eks;
mod fast_path;
mod live;
// The public live-scan API exists with the `live` feature (the workspace build turns it on).
#[cfg(feature = "live")]
mod live_api;
mod properties;
mod scan;
