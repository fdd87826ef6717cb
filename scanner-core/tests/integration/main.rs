//! The library's integration tests, in one test binary (one link instead of one per file).

mod fast_path;
mod live;
mod properties;
mod scan;
