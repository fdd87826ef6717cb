//! The `ClusterRole` a scan needs: read-only, and only what the scan requests. The core builds
//! it, with the readiness checks' role, so the two keep one shape.

pub use scanner_core::checks::rbac::{SCANNER_ROLE as ROLE_NAME, scanner_role as cluster_role};
