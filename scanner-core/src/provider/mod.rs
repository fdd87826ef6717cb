//! Cloud providers' own APIs: what a managed cluster's provider knows and the Kubernetes API
//! does not (managed add-ons, managed node groups). Which provider and cluster comes from the
//! command line or is told from the kubeconfig ([`detect`]); the EKS reader ([`eks`], feature
//! `eks`) fills [`ProviderState`] for the checks.

#[cfg(feature = "aks")]
pub mod aks;
pub mod detect;
#[cfg(feature = "eks")]
pub mod eks;

pub use crate::report::provider::{
    AddonVersions, EksAddon, EksCall, EksFacts, EksNodegroup, ProviderProblem, ProviderState,
};
pub use crate::report::provider::{AksCall, AksFacts, AksPool, AksUpgrade};
pub use detect::{AksTarget, ContextAuth, EksTarget, detect_aks, detect_eks};
