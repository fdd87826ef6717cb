//! What the checks read: lists of objects per resource, each either read or unavailable
//! with the reason (a 403 names the missing permission). Objects are kept as JSON trimmed to
//! the fields the checks, snapshots and `plan` read (see `checks/projection.rs`), so a large
//! cluster's lists stay small.

use std::collections::BTreeMap;

use serde_json::Value;

use super::projection;
use crate::inspect::evidence::LAST_APPLIED_ANNOTATION;
use crate::inspect::health::ReadyzCheck;
use crate::report::DeprecatedApiRequest;
use crate::report::provider::ProviderState;

/// A resource the checks read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Resource {
    /// Nodes.
    Nodes,
    /// Pods.
    Pods,
    /// Services.
    Services,
    /// Endpoints.
    Endpoints,
    /// `PersistentVolumes`.
    PersistentVolumes,
    /// `PodDisruptionBudgets`.
    PodDisruptionBudgets,
    /// Deployments.
    Deployments,
    /// `StatefulSets`.
    StatefulSets,
    /// `DaemonSets`.
    DaemonSets,
    /// `ReplicaSets`.
    ReplicaSets,
    /// `HorizontalPodAutoscalers`.
    HorizontalPodAutoscalers,
    /// `ValidatingWebhookConfigurations`.
    ValidatingWebhooks,
    /// `MutatingWebhookConfigurations`.
    MutatingWebhooks,
    /// `APIServices`.
    ApiServices,
    /// `CSIDrivers`.
    CsiDrivers,
    /// `CustomResourceDefinitions`.
    CustomResourceDefinitions,
    /// Jobs.
    Jobs,
    /// Flux `Kustomizations` (kustomize.toolkit.fluxcd.io).
    FluxKustomizations,
    /// Flux `HelmReleases` (helm.toolkit.fluxcd.io).
    FluxHelmReleases,
    /// Argo CD `Applications` (argoproj.io).
    ArgoApplications,
    /// Argo CD `ApplicationSets` (argoproj.io).
    ArgoApplicationSets,
    /// Cluster API `KubeadmControlPlanes` (controlplane.cluster.x-k8s.io).
    CapiControlPlanes,
    /// Cluster API `MachineDeployments` (cluster.x-k8s.io).
    CapiMachineDeployments,
    /// Cluster API `Machines` (cluster.x-k8s.io).
    CapiMachines,
    /// `ConfigMaps` of kube-system, and of them only the few the checks read: `coredns`,
    /// `kube-proxy`, `kube-proxy-config` and `kubeadm-config`, each for one key.
    ConfigMaps,
}

impl Resource {
    /// Every resource, in a fixed order.
    pub const ALL: [Resource; 25] = [
        Self::Nodes,
        Self::Pods,
        Self::Services,
        Self::Endpoints,
        Self::PersistentVolumes,
        Self::PodDisruptionBudgets,
        Self::Deployments,
        Self::StatefulSets,
        Self::DaemonSets,
        Self::ReplicaSets,
        Self::HorizontalPodAutoscalers,
        Self::ValidatingWebhooks,
        Self::MutatingWebhooks,
        Self::ApiServices,
        Self::CsiDrivers,
        Self::CustomResourceDefinitions,
        Self::Jobs,
        Self::FluxKustomizations,
        Self::FluxHelmReleases,
        Self::ArgoApplications,
        Self::ArgoApplicationSets,
        Self::CapiControlPlanes,
        Self::CapiMachineDeployments,
        Self::CapiMachines,
        Self::ConfigMaps,
    ];

    /// The resource name (`poddisruptionbudgets`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Nodes => "nodes",
            Self::Pods => "pods",
            Self::Services => "services",
            Self::Endpoints => "endpoints",
            Self::PersistentVolumes => "persistentvolumes",
            Self::PodDisruptionBudgets => "poddisruptionbudgets",
            Self::Deployments => "deployments",
            Self::StatefulSets => "statefulsets",
            Self::DaemonSets => "daemonsets",
            Self::ReplicaSets => "replicasets",
            Self::HorizontalPodAutoscalers => "horizontalpodautoscalers",
            Self::ValidatingWebhooks => "validatingwebhookconfigurations",
            Self::MutatingWebhooks => "mutatingwebhookconfigurations",
            Self::ApiServices => "apiservices",
            Self::CsiDrivers => "csidrivers",
            Self::CustomResourceDefinitions => "customresourcedefinitions",
            Self::Jobs => "jobs",
            Self::FluxKustomizations => "kustomizations",
            Self::FluxHelmReleases => "helmreleases",
            Self::ArgoApplications => "applications",
            Self::ArgoApplicationSets => "applicationsets",
            Self::CapiControlPlanes => "kubeadmcontrolplanes",
            Self::CapiMachineDeployments => "machinedeployments",
            Self::CapiMachines => "machines",
            Self::ConfigMaps => "configmaps",
        }
    }

    /// The object kind (`PodDisruptionBudget`), as manifests name it.
    pub fn kind(self) -> &'static str {
        match self {
            Self::Nodes => "Node",
            Self::Pods => "Pod",
            Self::Services => "Service",
            Self::Endpoints => "Endpoints",
            Self::PersistentVolumes => "PersistentVolume",
            Self::PodDisruptionBudgets => "PodDisruptionBudget",
            Self::Deployments => "Deployment",
            Self::StatefulSets => "StatefulSet",
            Self::DaemonSets => "DaemonSet",
            Self::ReplicaSets => "ReplicaSet",
            Self::HorizontalPodAutoscalers => "HorizontalPodAutoscaler",
            Self::ValidatingWebhooks => "ValidatingWebhookConfiguration",
            Self::MutatingWebhooks => "MutatingWebhookConfiguration",
            Self::ApiServices => "APIService",
            Self::CsiDrivers => "CSIDriver",
            Self::CustomResourceDefinitions => "CustomResourceDefinition",
            Self::Jobs => "Job",
            Self::FluxKustomizations => "Kustomization",
            Self::FluxHelmReleases => "HelmRelease",
            Self::ArgoApplications => "Application",
            Self::ArgoApplicationSets => "ApplicationSet",
            Self::CapiControlPlanes => "KubeadmControlPlane",
            Self::CapiMachineDeployments => "MachineDeployment",
            Self::CapiMachines => "Machine",
            Self::ConfigMaps => "ConfigMap",
        }
    }

    /// The API versions to read it through, most preferred first (the fields the checks read
    /// are the same in each).
    pub fn api_versions(self) -> &'static [&'static str] {
        match self {
            Self::Nodes
            | Self::Pods
            | Self::Services
            | Self::Endpoints
            | Self::PersistentVolumes
            | Self::ConfigMaps => &["v1"],
            Self::PodDisruptionBudgets => &["policy/v1", "policy/v1beta1"],
            Self::Deployments | Self::StatefulSets | Self::DaemonSets | Self::ReplicaSets => {
                &["apps/v1"]
            }
            Self::HorizontalPodAutoscalers => &["autoscaling/v2", "autoscaling/v1"],
            Self::ValidatingWebhooks | Self::MutatingWebhooks => &[
                "admissionregistration.k8s.io/v1",
                "admissionregistration.k8s.io/v1beta1",
            ],
            Self::ApiServices => &[
                "apiregistration.k8s.io/v1",
                "apiregistration.k8s.io/v1beta1",
            ],
            Self::CsiDrivers => &["storage.k8s.io/v1", "storage.k8s.io/v1beta1"],
            Self::CustomResourceDefinitions => {
                &["apiextensions.k8s.io/v1", "apiextensions.k8s.io/v1beta1"]
            }
            Self::Jobs => &["batch/v1"],
            // Custom resources: whichever version the installed controller serves.
            Self::FluxKustomizations => &[
                "kustomize.toolkit.fluxcd.io/v1",
                "kustomize.toolkit.fluxcd.io/v1beta2",
                "kustomize.toolkit.fluxcd.io/v1beta1",
            ],
            Self::FluxHelmReleases => &[
                "helm.toolkit.fluxcd.io/v2",
                "helm.toolkit.fluxcd.io/v2beta2",
                "helm.toolkit.fluxcd.io/v2beta1",
            ],
            Self::ArgoApplications | Self::ArgoApplicationSets => &["argoproj.io/v1alpha1"],
            Self::CapiControlPlanes => &[
                "controlplane.cluster.x-k8s.io/v1beta2",
                "controlplane.cluster.x-k8s.io/v1beta1",
            ],
            Self::CapiMachineDeployments | Self::CapiMachines => {
                &["cluster.x-k8s.io/v1beta2", "cluster.x-k8s.io/v1beta1"]
            }
        }
    }

    /// A custom resource of an optional controller (Flux, Argo CD, Cluster API): a cluster without it has
    /// none of these objects, so a group that is not served reads as an empty list, and a 403
    /// or 404 makes the checks that need it "not run" without an error.
    pub fn optional(self) -> bool {
        matches!(
            self,
            Self::FluxKustomizations
                | Self::FluxHelmReleases
                | Self::ArgoApplications
                | Self::ArgoApplicationSets
                | Self::CapiControlPlanes
                | Self::CapiMachineDeployments
                | Self::CapiMachines
        )
    }

    /// The one namespace the resource is read in, when it is not read cluster-wide: the
    /// `ConfigMaps` the checks need are all kube-system's, and the rest of a cluster's
    /// `ConfigMaps` (application configuration) is neither needed nor small.
    pub fn namespace(self) -> Option<&'static str> {
        match self {
            Self::ConfigMaps => Some("kube-system"),
            _ => None,
        }
    }

    /// Whether a manifest's `apiVersion` is one this resource is read through (kinds such as
    /// `Kustomization` and `Application` also exist in other groups).
    pub fn has_api_version(self, api_version: &str) -> bool {
        let group = api_version.rsplit_once('/').map_or("", |(g, _)| g);
        group == self.group()
    }

    /// The resource for a manifest's kind.
    pub fn for_kind(kind: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.kind() == kind)
    }

    /// The API group (`policy`; empty for the core group), as RBAC rules name it.
    pub fn group(self) -> &'static str {
        self.api_versions()[0]
            .split_once('/')
            .map_or("", |(group, _)| group)
    }

    /// `poddisruptionbudgets.policy`, as RBAC and kubectl name it.
    pub fn reference(self) -> String {
        match self.group() {
            "" => self.name().to_owned(),
            group => format!("{}.{group}", self.name()),
        }
    }
}

/// An API server endpoint a check reads besides the lists (each needs `get` on that
/// non-resource URL).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Endpoint {
    /// `GET /metrics`: the deprecated APIs clients still call.
    Metrics,
    /// `GET /readyz?verbose`: the API server's own readiness checks.
    Readyz,
}

impl Endpoint {
    /// The non-resource URL, as RBAC names it.
    pub fn path(self) -> &'static str {
        match self {
            Self::Metrics => "/metrics",
            Self::Readyz => "/readyz",
        }
    }
}

/// The objects the checks read, per resource, and what the API server's endpoints said.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ClusterState {
    lists: BTreeMap<Resource, Result<Vec<Value>, String>>,
    /// What the cloud provider's API said (EKS add-ons, node groups), when it was read.
    provider: ProviderState,
    /// `apiserver_requested_deprecated_apis` from `/metrics`, or why it was not read.
    requested_apis: Option<Result<Vec<DeprecatedApiRequest>, String>>,
    /// `/readyz?verbose`, or why it was not read.
    readyz: Option<Result<Vec<ReadyzCheck>, String>>,
}

impl ClusterState {
    /// An empty state: every resource unavailable until set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records a resource's objects (every page of its list), trimmed to what is read.
    pub fn set(&mut self, resource: Resource, objects: Vec<Value>) {
        let keep = projection::keep(resource);
        let objects = objects
            .into_iter()
            .filter_map(|o| projection::admit(resource, projection::project(o, keep)))
            .collect();
        self.lists.insert(resource, Ok(objects));
    }

    /// Records objects whole, as the state held them before the projection (to prove the
    /// projection changes no reader's result).
    #[cfg(test)]
    pub(crate) fn set_whole(&mut self, resource: Resource, objects: Vec<Value>) {
        self.lists.insert(resource, Ok(objects));
    }

    /// Records objects already trimmed by [`projection::parse`] (a live list).
    pub(crate) fn set_projected(&mut self, resource: Resource, objects: Vec<Value>) {
        let mut objects: Vec<Value> = objects
            .into_iter()
            .filter_map(|o| projection::admit(resource, o))
            .collect();
        // Pages were appended as they came: give back the list's spare room.
        objects.shrink_to_fit();
        self.lists.insert(resource, Ok(objects));
    }

    /// Adds objects to a resource (a list read page by page, or manifests file by file).
    pub fn extend(&mut self, resource: Resource, objects: impl IntoIterator<Item = Value>) {
        let entry = self.lists.entry(resource).or_insert_with(|| Ok(Vec::new()));
        if let Ok(list) = entry {
            let keep = projection::keep(resource);
            list.extend(
                objects
                    .into_iter()
                    .filter_map(|o| projection::admit(resource, projection::project(o, keep))),
            );
        }
    }

    /// Records what the provider's API said.
    pub fn set_provider(&mut self, provider: ProviderState) {
        self.provider = provider;
    }

    /// What the provider's API said.
    pub fn provider(&self) -> &ProviderState {
        &self.provider
    }

    /// Records the deprecated APIs clients still call (from `/metrics`), or why they could
    /// not be read.
    pub fn set_requested_apis(&mut self, requests: Result<Vec<DeprecatedApiRequest>, String>) {
        self.requested_apis = Some(requests);
    }

    /// The deprecated APIs clients still call; empty when `/metrics` was not read (checks
    /// reading it only run when it was: see [`ClusterState::endpoint_unavailable`]).
    pub fn requested_apis(&self) -> &[DeprecatedApiRequest] {
        match &self.requested_apis {
            Some(Ok(r)) => r,
            _ => &[],
        }
    }

    /// Records the API server's readiness checks, or why they could not be read.
    pub fn set_readyz(&mut self, checks: Result<Vec<ReadyzCheck>, String>) {
        self.readyz = Some(checks);
    }

    /// The API server's readiness checks; empty when they were not read.
    pub fn readyz(&self) -> &[ReadyzCheck] {
        match &self.readyz {
            Some(Ok(r)) => r,
            _ => &[],
        }
    }

    /// Why an endpoint's answer is not available (`None` when it was read).
    pub fn endpoint_unavailable(&self, endpoint: Endpoint) -> Option<String> {
        let read = match endpoint {
            Endpoint::Metrics => self.requested_apis.as_ref().map(|r| r.as_ref().err()),
            Endpoint::Readyz => self.readyz.as_ref().map(|r| r.as_ref().err()),
        };
        match read {
            Some(None) => None,
            Some(Some(reason)) => Some(format!("GET {}: {reason}", endpoint.path())),
            None => Some(format!("GET {} was not read", endpoint.path())),
        }
    }

    /// Records that a resource could not be read, and why (`needs list on nodes`).
    pub fn unavailable_because(&mut self, resource: Resource, reason: impl Into<String>) {
        self.lists.insert(resource, Err(reason.into()));
    }

    /// The objects of a resource; empty when it was not read (checks only run when every
    /// resource they need was read: see [`ClusterState::unavailable`]).
    pub fn list(&self, resource: Resource) -> &[Value] {
        match self.lists.get(&resource) {
            Some(Ok(list)) => list,
            _ => &[],
        }
    }

    /// The key a kube-system `ConfigMap` the checks read is read for (`coredns` → its
    /// Corefile), when that `ConfigMap` was read and holds it. A manifest
    /// without a namespace counts as kube-system's.
    pub fn config_map(&self, name: &str) -> Option<&str> {
        let (_, keys) = projection::CONFIG_MAPS.iter().find(|(n, _)| *n == name)?;
        self.config_map_key(name, keys.first()?)
    }

    /// One key of a kube-system `ConfigMap` the checks read (`aws-auth`, `mapUsers`).
    pub fn config_map_key(&self, name: &str, key: &str) -> Option<&str> {
        self.list(Resource::ConfigMaps)
            .iter()
            .filter(|c| {
                c.pointer("/metadata/namespace")
                    .and_then(Value::as_str)
                    .is_none_or(|ns| Some(ns) == Resource::ConfigMaps.namespace())
            })
            .find(|c| c.pointer("/metadata/name").and_then(Value::as_str) == Some(name))?
            .get("data")?
            .get(key)?
            .as_str()
    }

    /// Why a resource is not available (`None` when it was read).
    pub fn unavailable(&self, resource: Resource) -> Option<String> {
        match self.lists.get(&resource) {
            Some(Ok(_)) => None,
            Some(Err(reason)) => Some(format!("{}: {reason}", resource.reference())),
            None => Some(format!("{} was not read", resource.reference())),
        }
    }
}

/// Drops what no check reads and what may be large (managed fields) or sensitive (the
/// last-applied annotation can hold applied Secret data). Lists read page by page should slim
/// each page as it arrives, so only the slim objects are ever held.
pub fn slim(object: &mut Value) {
    if let Some(meta) = object.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.remove("managedFields");
        if let Some(a) = meta.get_mut("annotations").and_then(Value::as_object_mut) {
            a.remove(LAST_APPLIED_ANNOTATION);
        }
    }
}
