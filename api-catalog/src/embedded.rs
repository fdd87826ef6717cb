//! The catalog data compiled into the binary, as text; the builder (`build.rs`) parses it.
//!
//! The YAML is embedded with `include_str!` and parsed once, on first use. A `build.rs` that
//! turned it into Rust tables would save microseconds but turn a data typo into a compile error
//! far from the data; a failing test with the file and line is the better failure.

/// The embedded built-in Kubernetes catalog, as text.
pub const KUBERNETES_YAML: &str = include_str!("../data/kubernetes.yaml");
/// The embedded add-on catalog (cert-manager, Istio, Gateway API), as text.
pub const COMPONENTS_YAML: &str = include_str!("../data/components.yaml");

/// Kubernetes minors with their release and end-of-life dates
/// (`minor,release_date,end_of_life,notes`; dates are ISO `YYYY-MM-DD`, empty when not set).
pub const KUBERNETES_RELEASES_CSV: &str = include_str!("../data/source/kubernetes-releases.csv");

/// Amazon EKS support dates per Kubernetes minor
/// (`minor,eks_release,end_of_standard_support,end_of_extended_support,source`; ISO dates,
/// UTC, as AWS's "Amazon EKS Kubernetes release calendar" gives them).
pub const EKS_SUPPORT_CSV: &str = include_str!("../data/source/eks-support.csv");

/// Every embedded catalog file, in load order.
pub(crate) const FILES: [(&str, &str); 2] = [
    ("kubernetes.yaml", KUBERNETES_YAML),
    ("components.yaml", COMPONENTS_YAML),
];
