//! The live scan itself is `scanner_core::live`; the command line only draws its progress.

pub mod progress;
