//! The catalog compiled into the binary.
//!
//! The YAML is embedded with `include_str!` and parsed once, on first use. A `build.rs` that
//! turned it into Rust tables would save microseconds but turn a data typo into a compile error
//! far from the data; a failing test with the file and line is the better failure.

use std::sync::LazyLock;

use crate::catalog::Catalog;

/// The embedded built-in Kubernetes catalog, as text.
pub const KUBERNETES_YAML: &str = include_str!("../data/kubernetes.yaml");
/// The embedded add-on catalog (cert-manager, Istio, Gateway API), as text.
pub const COMPONENTS_YAML: &str = include_str!("../data/components.yaml");

/// Kubernetes minors with their release and end-of-life dates
/// (`minor,release_date,end_of_life,notes`; dates are ISO `YYYY-MM-DD`, empty when not set).
pub const KUBERNETES_RELEASES_CSV: &str = include_str!("../data/source/kubernetes-releases.csv");

/// Every embedded catalog file, in load order.
pub(crate) const FILES: [(&str, &str); 2] = [
    ("kubernetes.yaml", KUBERNETES_YAML),
    ("components.yaml", COMPONENTS_YAML),
];

static EMBEDDED: LazyLock<Catalog> = LazyLock::new(|| {
    crate::build::CatalogBuilder::embedded()
        .build()
        .unwrap_or_else(|e| panic!("the embedded catalog is validated by tests: {e}"))
});

impl Catalog {
    /// The catalog built into upcheck: every built-in Kubernetes API version from the 1.16
    /// removals to the newest scheduled removal, and the deprecated APIs of common add-ons.
    pub fn embedded() -> &'static Catalog {
        &EMBEDDED
    }
}
