//! The library's integration tests, in one test binary (one link instead of one per file).

mod fast_path;
mod live;
// The public live-scan API exists with the `live` feature (the workspace build turns it on).
#[cfg(feature = "live")]
mod live_api;
mod properties;
mod scan;
