//! Kubernetes API lifecycle facts for upcheck: which group/version/kind is deprecated or removed
//! in which release, what replaces it and since when.
//!
//! The facts are data (`data/kubernetes.yaml`, generated from reviewed CSV files in
//! `data/source/`), embedded at compile time and validated on load. The crate has no scanning
//! logic and no Kubernetes client: it describes APIs that current typed bindings no longer
//! contain.
//!
//! ```
//! use api_catalog::{ApiStatus, Catalog, KubeVersion, Targets};
//!
//! let catalog = Catalog::embedded();
//! let at_1_22 = Targets::kubernetes("v1.22.3".parse().unwrap(), None);
//! let v = catalog.assess("extensions/v1beta1", "Ingress", &at_1_22);
//! assert_eq!(v.status, ApiStatus::Removed);
//! assert_eq!(v.lifecycle.removed_in, Some(KubeVersion::new(1, 22)));
//! let replacement = v.replacement.unwrap();
//! assert_eq!(replacement.display(), "networking.k8s.io/v1 Ingress");
//! assert_eq!(replacement.available_in, Some(KubeVersion::new(1, 19)));
//! ```
#![warn(missing_docs)]

pub mod aks;
mod build;
mod catalog;
mod embedded;
mod error;
pub mod file;
mod gvk;
pub mod import;
mod path;
mod pluto;
pub mod upstream;
mod version;

pub use aks::{
    AksDataError, AksRelease, NodeOsField, NodeOsRule, aks_node_os_rules, aks_release, aks_releases,
};
pub use build::CatalogBuilder;
pub use catalog::{
    ApiEntry, ApiStatus, Catalog, CatalogMeta, ComponentMeta, Lifecycle, Lookup, MatchBasis,
    Override, Replacement, Target, Targets, Verdict, WILDCARD,
};
pub use embedded::{COMPONENTS_YAML, EKS_SUPPORT_CSV, KUBERNETES_RELEASES_CSV, KUBERNETES_YAML};
pub use error::{ApiVersionError, CatalogError, ImportError, VersionError};
pub use file::SCHEMA_VERSION;
pub use gvk::{GroupVersion, Gvk};
pub use path::MigrationStep;
pub use version::KubeVersion;
