//! The `ClusterRole` a live scan needs: read-only, and only what the scan requests. Built by
//! the checks' role builder, so the scanner's role and the readiness checks' role keep one shape.

pub use crate::checks::rbac::{SCANNER_ROLE as ROLE_NAME, scanner_role as cluster_role};
