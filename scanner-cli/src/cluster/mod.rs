//! Scanning a live cluster with the kube client. The client code lives in the binary's crate
//! so that `scanner-core` (and file scanning) stays free of an async runtime and HTTP stack.

pub mod client;
pub mod progress;
pub mod rbac;
pub mod scan;
