//! The cluster part of a report: which cluster, what it serves and what its clients call, its
//! CRDs, what the scan was not allowed to read, and counts. Types only; `live` fills them.

use std::fmt::Write as _;

use api_catalog::{ApiStatus, KubeVersion};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Which cluster was scanned.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct ClusterInfo {
    /// The kubeconfig context (`in-cluster` for the pod's service account).
    pub context: String,
    /// The API server URL.
    pub server: String,
    /// `gitVersion` from `/version`, when it could be read.
    pub server_version: Option<String>,
    /// The namespace the scan was limited to, if any.
    pub namespace: Option<String>,
}

impl ClusterInfo {
    /// The cluster behind `context` at `server`; the version and namespace are filled later.
    pub fn new(context: impl Into<String>, server: impl Into<String>) -> Self {
        Self {
            context: context.into(),
            server: server.into(),
            server_version: None,
            namespace: None,
        }
    }
}

/// A call the API server says some client still makes through a deprecated API
/// (`apiserver_requested_deprecated_apis`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct RequestedApi {
    /// What the metric says.
    #[serde(flatten)]
    pub request: DeprecatedApiRequest,
    /// `removed` when the API is gone at the target, otherwise `deprecated`.
    pub status: ApiStatus,
    /// One sentence for people.
    pub message: String,
}

/// A client the cloud provider saw calling a deprecated API (EKS upgrade insights'
/// `deprecationDetails[].clientStats[]`): traffic over the last 30 days, which a scan of the
/// apiserver's metric (reset at every restart) may not see.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct ProviderApiClient {
    /// The API called (`/apis/flowcontrol.apiserver.k8s.io/v1beta3/flowschemas`).
    pub api: String,
    /// The client's user agent.
    pub user_agent: String,
    /// Its requests over the last 30 days.
    pub requests_last_30_days: i64,
    /// Its last request (RFC 3339), when known.
    pub last_request_time: Option<String>,
    /// The first minor that no longer serves the API, when the provider says.
    pub removed_in: Option<String>,
    /// What to use instead, when the provider says.
    pub replacement: Option<String>,
    /// `removed` when the API is gone at the target, otherwise `deprecated`.
    pub status: ApiStatus,
    /// Where it was seen (`EKS upgrade insight "Deprecated APIs removed in Kubernetes v1.32"`).
    pub source: String,
    /// One sentence for people.
    pub message: String,
}

impl ProviderApiClient {
    /// A client of `api` seen by `source`; `removed_in` decides the status at `target`.
    #[allow(clippy::too_many_arguments)] // one record, built in one place
    pub fn new(
        api: impl Into<String>,
        user_agent: impl Into<String>,
        requests_last_30_days: i64,
        last_request_time: Option<String>,
        removed_in: Option<String>,
        replacement: Option<String>,
        source: impl Into<String>,
        target: KubeVersion,
    ) -> Self {
        let (api, user_agent, source) = (api.into(), user_agent.into(), source.into());
        let removed_at_target = removed_in
            .as_deref()
            .and_then(|v| v.parse::<KubeVersion>().ok())
            .is_some_and(|r| r <= target);
        let status = if removed_at_target {
            ApiStatus::Removed
        } else {
            ApiStatus::Deprecated
        };
        let mut message = format!(
            "{user_agent} called {api} {requests_last_30_days} time{} in the last 30 days",
            if requests_last_30_days == 1 { "" } else { "s" }
        );
        if let Some(t) = &last_request_time {
            let _ = write!(message, " (last {t})");
        }
        match &removed_in {
            Some(r) => {
                let _ = write!(message, "; removed in {r}");
            }
            None => message.push_str("; deprecated"),
        }
        if let Some(r) = &replacement {
            let _ = write!(message, ", use {r}");
        }
        let _ = write!(message, " ({source})");
        Self {
            api,
            user_agent,
            requests_last_30_days,
            last_request_time,
            removed_in,
            replacement,
            status,
            source,
            message,
        }
    }
}

/// Something the scan was not allowed to read, and the permission it needs.
#[derive(
    Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[non_exhaustive]
pub struct NotChecked {
    /// The resource (`ingresses.networking.k8s.io`) or non-resource URL (`/metrics`).
    pub resource: String,
    /// The verb it needs (`list`, `get`).
    pub verb: String,
    /// The namespace, when the request was namespaced.
    pub namespace: Option<String>,
}

impl NotChecked {
    /// The scan needed `verb` on `resource` (in `namespace`, when namespaced).
    pub fn new(
        resource: impl Into<String>,
        verb: impl Into<String>,
        namespace: Option<String>,
    ) -> Self {
        Self {
            resource: resource.into(),
            verb: verb.into(),
            namespace,
        }
    }

    /// "needs list on ingresses.networking.k8s.io".
    pub fn needs(&self) -> String {
        match &self.namespace {
            Some(ns) => format!("needs {} on {} in {ns}", self.verb, self.resource),
            None => format!("needs {} on {}", self.verb, self.resource),
        }
    }
}

/// Counts of what a cluster scan read.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct ClusterStats {
    /// Group/version/resources the server serves.
    pub served_resources: u64,
    /// Resources whose objects were listed for write evidence.
    pub resources_listed: u64,
    /// Objects read from those lists.
    pub objects: u64,
    /// List pages read.
    pub pages: u64,
    /// Lists resumed after an expired continue token.
    pub list_resumes: u64,
    /// Requests sent again after transient failures (throttling, server errors, broken
    /// connections).
    pub request_retries: u64,
    /// Helm release records read (every revision).
    pub helm_records: u64,
    /// Helm release revisions whose manifests were scanned.
    pub helm_releases_scanned: u64,
    /// Objects written through a deprecated or removed version only by Kubernetes' own
    /// components (not reported: they are rewritten when those components are upgraded).
    pub control_plane_writes: u64,
}

impl ClusterStats {
    pub(crate) fn add(&mut self, o: &ClusterStats) {
        self.served_resources += o.served_resources;
        self.resources_listed += o.resources_listed;
        self.objects += o.objects;
        self.pages += o.pages;
        self.list_resumes += o.list_resumes;
        self.request_retries += o.request_retries;
        self.helm_records += o.helm_records;
        self.helm_releases_scanned += o.helm_releases_scanned;
        self.control_plane_writes += o.control_plane_writes;
    }
}

/// The cluster part of a report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct ClusterSection {
    /// Which cluster.
    #[serde(flatten)]
    pub info: ClusterInfo,
    /// Served API versions that are deprecated or removed at the target. Informational: a
    /// server serves old versions whether or not anything uses them.
    pub served_at_risk: Vec<ServedApi>,
    /// Deprecated APIs some client still calls, from the apiserver's own metric.
    pub requested_apis: Vec<RequestedApi>,
    /// Clients the cloud provider saw calling deprecated APIs (EKS upgrade insights), by
    /// API and client.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub provider_api_clients: Vec<ProviderApiClient>,
    /// Deprecated CRD versions and stored versions that need migrating.
    pub crds: Vec<CrdFinding>,
    /// What the scan was not allowed to read.
    pub not_checked: Vec<NotChecked>,
    /// Counts.
    pub stats: ClusterStats,
}

/// A top-level resource served at one group/version (subresources are left out).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct ServedResource {
    /// `group/version`, or `version` for the core group.
    pub api_version: String,
    /// Plural resource name (`ingresses`).
    pub resource: String,
    /// Kind (`Ingress`).
    pub kind: String,
    /// Whether objects live in namespaces.
    pub namespaced: bool,
    /// The verbs the server allows.
    pub verbs: Vec<String>,
    /// Same value for every version and group that share one storage (for example
    /// `extensions/v1beta1` and `networking.k8s.io/v1` ingresses), when the server sends it.
    pub storage_version_hash: Option<String>,
}

impl ServedResource {
    /// Whether the server allows listing it.
    pub fn listable(&self) -> bool {
        self.verbs.iter().any(|v| v == "list")
    }

    /// The API group (empty for core).
    pub fn group(&self) -> &str {
        self.api_version.rsplit_once('/').map_or("", |(g, _)| g)
    }
}

/// A served API that is deprecated, removed or unknown at the target.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct ServedApi {
    /// The served resource.
    #[serde(flatten)]
    pub served: ServedResource,
    /// Verdict at the target.
    pub status: ApiStatus,
    /// First release that deprecates it.
    pub deprecated_in: Option<KubeVersion>,
    /// First release that no longer serves it.
    pub removed_in: Option<KubeVersion>,
    /// `apiVersion` and kind to use instead.
    pub replacement: Option<String>,
}

/// What is wrong with one version of a CRD.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
#[serde(tag = "issue", rename_all = "kebab-case")]
pub enum CrdIssue {
    /// The version is marked `deprecated: true` in `spec.versions`.
    DeprecatedVersion {
        /// The CRD's own `deprecationWarning`, when set.
        warning: Option<String>,
    },
    /// `status.storedVersions` lists a version that is not the storage version: objects may
    /// still be persisted at it.
    StorageMigrationPending {
        /// Whether the version is still served (if not, its stored objects cannot even be
        /// read at that version).
        served: bool,
        /// The current storage version objects should be migrated to.
        storage_version: Option<String>,
    },
}

/// One finding on a CRD version.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct CrdFinding {
    /// The CRD's name (`crontabs.stable.example.com`).
    pub crd: String,
    /// `group/version` of the affected version.
    pub api_version: String,
    /// The custom resource's kind.
    pub kind: String,
    /// What is wrong.
    #[serde(flatten)]
    pub issue: CrdIssue,
}

impl CrdFinding {
    /// One sentence for people.
    pub fn message(&self) -> String {
        match &self.issue {
            CrdIssue::DeprecatedVersion { warning } => match warning {
                Some(w) => format!(
                    "{} {} is marked deprecated: {w}",
                    self.api_version, self.kind
                ),
                None => format!("{} {} is marked deprecated", self.api_version, self.kind),
            },
            CrdIssue::StorageMigrationPending {
                served,
                storage_version,
            } => {
                let to = storage_version
                    .as_deref()
                    .map_or_else(String::new, |v| format!(" to {v}"));
                let state = if *served {
                    ""
                } else {
                    ", and it is no longer served"
                };
                format!(
                    "status.storedVersions of {} still lists {}{state}: migrate stored objects{to} and remove it from storedVersions before dropping it",
                    self.crd, self.api_version
                )
            }
        }
    }
}

/// How an API version was found on an object.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "source", rename_all = "kebab-case")]
pub enum Evidence {
    /// A `metadata.managedFields` entry.
    ManagedFields {
        /// The field manager (`kubectl-client-side-apply`, `helm`, `argocd-controller`, ...).
        manager: String,
        /// `Apply` or `Update`.
        operation: Option<String>,
        /// When the manager last wrote (RFC 3339), when recorded.
        time: Option<String>,
        /// The subresource written (`status`, `scale`), when not the main resource.
        subresource: Option<String>,
    },
    /// The `kubectl.kubernetes.io/last-applied-configuration` annotation.
    LastApplied,
}

impl Evidence {
    /// A short human description: `manager kubectl-create (Update, 2026-11-23T15:19:40Z)`.
    pub fn describe(&self) -> String {
        match self {
            Self::ManagedFields {
                manager,
                operation,
                time,
                subresource,
            } => {
                let mut details: Vec<&str> = Vec::new();
                if let Some(op) = operation {
                    details.push(op);
                }
                if let Some(sub) = subresource {
                    details.push(sub);
                }
                if let Some(t) = time {
                    details.push(t);
                }
                if details.is_empty() {
                    format!("manager {manager}")
                } else {
                    format!("manager {manager} ({})", details.join(", "))
                }
            }
            Self::LastApplied => "last-applied-configuration annotation".to_owned(),
        }
    }
}

/// One deprecated API some client requested.
#[derive(
    Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[non_exhaustive]
pub struct DeprecatedApiRequest {
    /// API group; empty for the core group.
    pub group: String,
    /// API version.
    pub version: String,
    /// Resource (plural), e.g. `ingresses`.
    pub resource: String,
    /// Subresource (`status`), empty for the resource itself.
    pub subresource: String,
    /// Release that removes it, as the server states it (`1.22`); empty when no removal is
    /// planned.
    pub removed_release: String,
}

impl DeprecatedApiRequest {
    /// `group/version`, or `version` for the core group.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }
}

/// Where a release record was stored.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[non_exhaustive]
#[serde(rename_all = "lowercase")]
pub enum Storage {
    /// A Secret of type `helm.sh/release.v1`.
    Secret,
    /// A `ConfigMap` labelled `owner=helm`.
    ConfigMap,
}
