//! Facts read from a cloud provider's own API (EKS first): what the Kubernetes API cannot show
//! (managed add-on versions and what each Kubernetes minor supports, managed node groups).
//! Types only: the provider client fills them, the checks and the plan read them.

use std::collections::BTreeMap;

use api_catalog::KubeVersion;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::cluster::ProviderApiClient;
use super::{ErrorKind, ScanError};

/// Why part of the provider's facts could not be read.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ProviderProblem {
    /// What kind of failure: forbidden (access denied), not found, connection, unavailable
    /// (throttled or failing after the retries), response.
    pub kind: ErrorKind,
    /// What the checks that needed it say ("needs eks:DescribeAddonVersions").
    pub reason: String,
    /// What went wrong, for people, with the provider's own words.
    pub message: String,
}

impl ProviderProblem {
    /// A problem of `kind`: `reason` for the checks, `message` for the report's errors.
    pub fn new(kind: ErrorKind, reason: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            kind,
            reason: reason.into(),
            message: message.into(),
        }
    }

    fn error(&self, path: &str) -> ScanError {
        ScanError {
            path: path.to_owned(),
            document: None,
            line: None,
            column: None,
            kind: self.kind,
            message: self.message.clone(),
        }
    }
}

/// One EKS API operation, as IAM names it without the `eks:` prefix.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
pub enum EksCall {
    /// `DescribeCluster`.
    DescribeCluster,
    /// `ListAddons`.
    ListAddons,
    /// `DescribeAddon`.
    DescribeAddon,
    /// `DescribeAddonVersions`.
    DescribeAddonVersions,
    /// `ListNodegroups`.
    ListNodegroups,
    /// `DescribeNodegroup`.
    DescribeNodegroup,
    /// `ListInsights`.
    ListInsights,
    /// `DescribeInsight`.
    DescribeInsight,
}

impl EksCall {
    /// Every call the provider layer makes, in a fixed order (the IAM policy lists them).
    pub const ALL: [EksCall; 8] = [
        Self::DescribeCluster,
        Self::ListAddons,
        Self::DescribeAddon,
        Self::DescribeAddonVersions,
        Self::ListNodegroups,
        Self::DescribeNodegroup,
        Self::ListInsights,
        Self::DescribeInsight,
    ];

    /// The IAM action: `eks:DescribeAddonVersions`.
    pub fn action(self) -> &'static str {
        match self {
            Self::DescribeCluster => "eks:DescribeCluster",
            Self::ListAddons => "eks:ListAddons",
            Self::DescribeAddon => "eks:DescribeAddon",
            Self::DescribeAddonVersions => "eks:DescribeAddonVersions",
            Self::ListNodegroups => "eks:ListNodegroups",
            Self::DescribeNodegroup => "eks:DescribeNodegroup",
            Self::ListInsights => "eks:ListInsights",
            Self::DescribeInsight => "eks:DescribeInsight",
        }
    }
}

/// A managed add-on as `DescribeAddon` tells it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct EksAddon {
    /// `vpc-cni`, `kube-proxy`, `coredns`, ...
    pub name: String,
    /// The installed version (`v1.18.3-eksbuild.2`).
    pub version: String,
    /// What `DescribeAddon.health.issues` reports (empty when healthy).
    pub health: Vec<EksIssue>,
}

/// What `DescribeAddonVersions` says an add-on may run at one Kubernetes minor.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct AddonVersions {
    /// Every version compatible with that minor, newest first as the API lists them.
    pub compatible: Vec<String>,
    /// The version EKS installs by default at that minor, when it names one.
    pub default: Option<String>,
}

impl AddonVersions {
    /// The version to move to at that minor: the default, else the newest compatible.
    pub fn recommended(&self) -> Option<&str> {
        self.default
            .as_deref()
            .or_else(|| self.compatible.first().map(String::as_str))
    }
}

/// A managed node group as `DescribeNodegroup` tells it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct EksNodegroup {
    /// Its name.
    pub name: String,
    /// Its Kubernetes version (`1.30`), when given.
    pub version: Option<String>,
    /// Its AMI type (`AL2_x86_64`, `AL2023_x86_64_STANDARD`, `BOTTLEROCKET_x86_64`, `CUSTOM`).
    pub ami_type: Option<String>,
    /// What `DescribeNodegroup.health.issues` reports (empty when healthy).
    pub health: Vec<EksIssue>,
}

/// One health issue EKS reports on a cluster, node group or add-on (`health.issues[]`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
pub struct EksIssue {
    /// The issue code (`IamRoleNotFound`, `AsgInstanceLaunchFailures`, `ConfigurationConflict`).
    pub code: String,
    /// EKS's own description.
    pub message: String,
    /// The AWS or Kubernetes resources it concerns.
    pub resource_ids: Vec<String>,
}

/// An EKS upgrade insight (`DescribeInsight`, category `UPGRADE_READINESS`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct EksInsight {
    /// Its ID.
    pub id: String,
    /// Its name (`Deprecated APIs removed in Kubernetes v1.32`).
    pub name: String,
    /// The Kubernetes minor it judges the cluster for (`1.32`): the hop it blocks.
    pub kubernetes_version: Option<String>,
    /// `ERROR`, `WARNING`, `UNKNOWN` or `PASSING`.
    pub status: String,
    /// Why it has that status, in EKS's words.
    pub reason: Option<String>,
    /// What it checks.
    pub description: Option<String>,
    /// What EKS recommends.
    pub recommendation: Option<String>,
    /// For deprecated-API insights, each API and who still calls it
    /// (`categorySpecificSummary.deprecationDetails`).
    pub deprecations: Vec<EksDeprecation>,
}

/// One deprecated API an insight saw in use (`DeprecationDetail`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct EksDeprecation {
    /// The API in use (`/apis/flowcontrol.apiserver.k8s.io/v1beta3/flowschemas`).
    pub usage: String,
    /// Its replacement, when there is one.
    pub replaced_with: Option<String>,
    /// The first minor that no longer serves it.
    pub stop_serving_version: Option<String>,
    /// The first minor that serves the replacement.
    pub start_serving_replacement_version: Option<String>,
    /// The clients that called it in the last 30 days.
    pub clients: Vec<EksClientStat>,
}

/// A client that called a deprecated API (`ClientStat`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct EksClientStat {
    /// Its user agent (`kubectl/v1.29.3 (linux/amd64) kubernetes/6813625`).
    pub user_agent: String,
    /// Its requests over the last 30 days.
    pub requests_last_30_days: i64,
    /// Its last request (RFC 3339), when known.
    pub last_request_time: Option<String>,
}

/// What was read from the EKS API for one cluster. Each part is either what was read or why
/// it could not be ("needs eks:DescribeAddonVersions"), as the Kubernetes lists are.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct EksFacts {
    /// The EKS cluster name.
    pub cluster: String,
    /// The region it was read in.
    pub region: String,
    /// The control plane's version from `DescribeCluster` (`1.30`).
    pub version: Option<String>,
    /// Managed add-ons, by name.
    pub addons: Result<Vec<EksAddon>, ProviderProblem>,
    /// Per add-on name, per Kubernetes minor (`1.31`), what that minor supports.
    pub addon_versions: Result<BTreeMap<String, BTreeMap<String, AddonVersions>>, ProviderProblem>,
    /// Managed node groups, by name.
    pub nodegroups: Result<Vec<EksNodegroup>, ProviderProblem>,
    /// The cluster's own health issues (`DescribeCluster.health.issues`).
    pub health: Vec<EksIssue>,
    /// `DescribeCluster.upgradePolicy.supportType` (`STANDARD` or `EXTENDED`), when given.
    pub support_type: Option<String>,
    /// Upgrade-readiness insights, by Kubernetes version and name.
    pub insights: Result<Vec<EksInsight>, ProviderProblem>,
}

impl EksFacts {
    /// The clients the upgrade insights saw calling deprecated APIs, judged at `target`, in
    /// the order of the API, then the client.
    pub fn api_clients(&self, target: KubeVersion) -> Vec<ProviderApiClient> {
        let Ok(insights) = &self.insights else {
            return Vec::new();
        };
        let mut out: Vec<ProviderApiClient> = insights
            .iter()
            .flat_map(|i| i.deprecations.iter().map(move |d| (i, d)))
            .flat_map(|(i, d)| {
                d.clients.iter().map(move |c| {
                    ProviderApiClient::new(
                        d.usage.clone(),
                        c.user_agent.clone(),
                        c.requests_last_30_days,
                        c.last_request_time.clone(),
                        d.stop_serving_version.clone(),
                        d.replaced_with.clone(),
                        format!("EKS upgrade insight {:?}", i.name),
                        target,
                    )
                })
            })
            .collect();
        out.sort();
        out.dedup();
        out
    }

    /// What `addon` may run at `minor`, when it was read.
    pub fn addon_versions_at(&self, addon: &str, minor: KubeVersion) -> Option<&AddonVersions> {
        self.addon_versions
            .as_ref()
            .ok()?
            .get(addon)?
            .get(&minor.to_string())
    }
}

/// The provider facts of a scan: none (not a provider cluster, or `--no-provider`), read, or
/// not readable and why.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum ProviderState {
    /// No provider was asked for or detected.
    #[default]
    None,
    /// EKS facts.
    Eks(Box<EksFacts>),
    /// The provider was asked for or detected but could not be read at all (no region, no
    /// credentials, unknown cluster): the message says what is missing.
    Failed(ProviderProblem),
    /// AKS facts (read, or each part with why it could not be).
    Aks(Box<AksFacts>),
}

impl ProviderState {
    /// The EKS facts, when read.
    pub fn eks(&self) -> Option<&EksFacts> {
        match self {
            Self::Eks(f) => Some(f),
            _ => None,
        }
    }

    /// The AKS facts, when an AKS cluster was asked for or detected.
    pub fn aks(&self) -> Option<&AksFacts> {
        match self {
            Self::Aks(f) => Some(f),
            _ => None,
        }
    }

    /// What could not be read, as the report's errors (one per failed part): a scan that
    /// could not read its provider is incomplete, as one with a 403 from the API server is.
    pub fn errors(&self) -> Vec<ScanError> {
        match self {
            Self::None => Vec::new(),
            Self::Aks(f) => f.errors(),
            Self::Failed(p) => vec![p.error("eks")],
            Self::Eks(f) => {
                let path = format!("eks cluster {} ({})", f.cluster, f.region);
                let mut out: Vec<ScanError> = [
                    f.addons.as_ref().err(),
                    f.addon_versions.as_ref().err(),
                    f.nodegroups.as_ref().err(),
                    f.insights.as_ref().err(),
                ]
                .into_iter()
                .flatten()
                .map(|p| p.error(&path))
                .collect();
                out.dedup();
                out
            }
        }
    }
}

/// One Azure Resource Manager read, as Azure RBAC names its action.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
pub enum AksCall {
    /// `GET managedClusters/{name}`.
    GetCluster,
    /// `GET managedClusters/{name}/agentPools`.
    ListAgentPools,
    /// `GET managedClusters/{name}/upgradeProfiles/default`.
    GetUpgradeProfile,
    /// `GET managedClusters/{name}/agentPools/{pool}/upgradeProfiles/default`.
    GetAgentPoolUpgradeProfile,
}

impl AksCall {
    /// Every read the AKS provider layer makes, in a fixed order (the role lists them).
    pub const ALL: [AksCall; 4] = [
        Self::GetCluster,
        Self::ListAgentPools,
        Self::GetUpgradeProfile,
        Self::GetAgentPoolUpgradeProfile,
    ];

    /// The Azure RBAC action that allows it.
    pub fn action(self) -> &'static str {
        match self {
            Self::GetCluster => "Microsoft.ContainerService/managedClusters/read",
            Self::ListAgentPools => "Microsoft.ContainerService/managedClusters/agentPools/read",
            Self::GetUpgradeProfile => {
                "Microsoft.ContainerService/managedClusters/upgradeProfiles/read"
            }
            Self::GetAgentPoolUpgradeProfile => {
                "Microsoft.ContainerService/managedClusters/agentPools/upgradeProfiles/read"
            }
        }
    }
}

/// A version AKS offers to upgrade to (`upgrades[]` of an upgrade profile).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct AksUpgrade {
    /// The full version (`1.31.2`).
    pub version: String,
    /// Whether AKS offers it as a preview only.
    pub preview: bool,
}

/// An AKS agent pool as `agentPools` and its upgrade profile tell it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct AksPool {
    /// Its name.
    pub name: String,
    /// `System` or `User`.
    pub mode: Option<String>,
    /// `Linux` or `Windows`.
    pub os_type: Option<String>,
    /// `Ubuntu`, `AzureLinux`, `CBLMariner`, `Windows2019`, `Windows2022`, ...
    pub os_sku: Option<String>,
    /// The version asked for (`1.30` or `1.30.7`).
    pub orchestrator_version: Option<String>,
    /// The version running (`1.30.7`).
    pub current_orchestrator_version: Option<String>,
    /// The node image (`AKSUbuntu-2204gen2containerd-202501.12.0`).
    pub node_image_version: Option<String>,
    /// Nodes.
    pub count: Option<u64>,
    /// `upgradeSettings.maxSurge` as given (`1`, `33%`); AKS's default when absent.
    pub max_surge: Option<String>,
    /// `upgradeSettings.drainTimeoutInMinutes`; AKS's default (30) when absent.
    pub drain_timeout_minutes: Option<u64>,
    /// `upgradeSettings.undrainableNodeBehavior` (`Cordon`, `Schedule`).
    pub undrainable_node_behavior: Option<String>,
    /// The versions AKS offers this pool (its upgrade profile), when read.
    pub upgrades: Option<Vec<AksUpgrade>>,
}

impl AksPool {
    /// AKS's `drainTimeoutInMinutes` when a pool does not set it.
    pub const DEFAULT_DRAIN_MINUTES: u64 = 30;

    /// The pool's minor: the running version, else the one asked for.
    pub fn minor(&self) -> Option<KubeVersion> {
        self.current_orchestrator_version
            .as_deref()
            .or(self.orchestrator_version.as_deref())
            .and_then(|v| v.parse().ok())
    }

    /// Minutes AKS waits for one node's drain.
    pub fn drain_minutes(&self) -> u64 {
        self.drain_timeout_minutes
            .unwrap_or(Self::DEFAULT_DRAIN_MINUTES)
    }

    /// `maxSurge` as set, or AKS's default named so.
    pub fn surge(&self) -> String {
        self.max_surge
            .clone()
            .unwrap_or_else(|| "AKS default (10% on new pools, 1 on older ones)".to_owned())
    }
}

/// What was read from Azure Resource Manager for one AKS cluster. Each part is either what
/// was read or why it could not be ("needs Microsoft.ContainerService/managedClusters/read");
/// when the cluster itself could not be read, every part carries that problem.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct AksFacts {
    /// The cluster's name.
    pub cluster: String,
    /// Its resource group.
    pub resource_group: String,
    /// Its subscription.
    pub subscription: String,
    /// `properties.kubernetesVersion` (what was asked for; `1.30` or `1.30.7`).
    pub version: Option<String>,
    /// `properties.currentKubernetesVersion` (what runs).
    pub current_version: Option<String>,
    /// `properties.supportPlan`: `KubernetesOfficial` or `AKSLongTermSupport`.
    pub support_plan: Option<String>,
    /// The cluster read itself.
    pub read: Result<(), ProviderProblem>,
    /// Agent pools, by name.
    pub pools: Result<Vec<AksPool>, ProviderProblem>,
    /// The control-plane versions AKS offers (`upgradeProfiles/default`).
    pub upgrades: Result<Vec<AksUpgrade>, ProviderProblem>,
    /// Whether every pool's upgrade profile was read.
    pub pool_upgrades: Result<(), ProviderProblem>,
}

impl AksFacts {
    /// Facts for a cluster that could not be read at all: every part says why.
    pub fn unreadable(
        cluster: impl Into<String>,
        resource_group: impl Into<String>,
        subscription: impl Into<String>,
        problem: &ProviderProblem,
    ) -> Self {
        Self {
            cluster: cluster.into(),
            resource_group: resource_group.into(),
            subscription: subscription.into(),
            version: None,
            current_version: None,
            support_plan: None,
            read: Err(problem.clone()),
            pools: Err(problem.clone()),
            upgrades: Err(problem.clone()),
            pool_upgrades: Err(problem.clone()),
        }
    }

    /// The control plane's minor: the running version, else the one asked for.
    pub fn control_plane(&self) -> Option<KubeVersion> {
        self.current_version
            .as_deref()
            .or(self.version.as_deref())
            .and_then(|v| v.parse().ok())
    }

    /// The pool named `name`, when the pools were read.
    pub fn pool(&self, name: &str) -> Option<&AksPool> {
        self.pools.as_ref().ok()?.iter().find(|p| p.name == name)
    }

    /// The first problem among `parts` (the cluster read first), as a check's "not run"
    /// reason.
    pub fn reason(&self, parts: &[Option<&ProviderProblem>]) -> Option<String> {
        self.read
            .as_ref()
            .err()
            .or_else(|| parts.iter().find_map(|p| *p))
            .map(|p| p.reason.clone())
    }

    fn errors(&self) -> Vec<ScanError> {
        let given = |s: &str| {
            if s.is_empty() {
                "?".to_owned()
            } else {
                s.to_owned()
            }
        };
        let path = format!(
            "aks cluster {} (resource group {}, subscription {})",
            given(&self.cluster),
            given(&self.resource_group),
            given(&self.subscription)
        );
        let mut out: Vec<ScanError> = [
            self.read.as_ref().err(),
            self.pools.as_ref().err(),
            self.upgrades.as_ref().err(),
            self.pool_upgrades.as_ref().err(),
        ]
        .into_iter()
        .flatten()
        .map(|p| p.error(&path))
        .collect();
        // An unreadable cluster carries its one problem in every part: one error.
        out.sort_by(|a, b| a.message.cmp(&b.message));
        out.dedup();
        out
    }
}
