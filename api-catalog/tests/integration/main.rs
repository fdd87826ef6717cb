//! The catalog's integration tests, in one test binary (one link instead of one per file).

mod catalog;
mod paths;
mod properties;
mod upstream;
mod user_catalogs;
