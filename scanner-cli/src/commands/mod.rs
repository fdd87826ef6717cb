//! One file per command.

pub mod catalog;
pub mod files;
pub mod version;
