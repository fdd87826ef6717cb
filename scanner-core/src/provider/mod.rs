//! Cloud providers' own APIs: what a managed cluster's provider knows and the Kubernetes API
//! does not (managed add-ons, managed node groups). Which provider and cluster comes from the
//! command line or is told from the kubeconfig ([`detect`]); the EKS reader ([`eks`], feature
//! `eks`) fills [`ProviderState`] for the checks.

pub mod detect;
#[cfg(feature = "eks")]
pub mod eks;

pub use crate::report::provider::{
    AddonVersions, EksAddon, EksCall, EksFacts, EksNodegroup, ProviderProblem, ProviderState,
};
pub use detect::{ContextAuth, EksTarget, detect_eks};
