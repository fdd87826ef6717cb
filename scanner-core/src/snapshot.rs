//! Cluster snapshots before and after an upgrade, and what regressed between them.
//!
//! A [`Snapshot`] is a versioned JSON document of what an upgrade can break: node versions,
//! pools and conditions; pods with phase, ready containers and restarts, under their owner
//! workload; workload replicas; PDBs; served API versions; Helm release status; CRD versions.
//! It never holds Secret or `ConfigMap` values.
//!
//! [`diff`] matches what upgrades rename by something stable: pods by their owner workload
//! (a rolling restart renames every pod), nodes by pool (node groups are replaced). It sorts
//! the differences into regressions (which fail), improvements and expected changes.
//!
//! ```
//! use scanner_core::snapshot::{diff, DiffOptions, Snapshot, Workload};
//!
//! let mut before = Snapshot::empty();
//! before.workloads.push(Workload { kind: "Deployment".into(), namespace: Some("shop".into()), name: "web".into(), desired: 3, ready: 3, images: vec![], failed: false });
//! let mut after = before.clone();
//! after.workloads[0].ready = 2;
//! let d = diff(&before, &after, &DiffOptions::default());
//! assert_eq!(d.regressions.len(), 1);
//! assert_eq!(d.regressions[0].code, "workload-ready");
//! ```

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::checks::util::{name, namespace, owner_of, text};
use crate::checks::{ClusterState, Resource};
use crate::inspect::discovery::ServedResource;
use crate::inspect::helm::HelmRelease;
use crate::report::provider::ProviderState;
use crate::report::{CodeInfo, Family, Severity};

/// Version of the snapshot format. A reader accepts this version and every older one it
/// knows how to read; a newer one is refused with a message naming both.
pub const SNAPSHOT_SCHEMA_VERSION: u32 = 1;

/// The cluster, as an upgrade can break it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    /// [`SNAPSHOT_SCHEMA_VERSION`].
    pub schema_version: u32,
    /// The upcheck version that wrote it.
    pub tool_version: String,
    /// Context, server and version.
    pub cluster: ClusterFacts,
    /// Nodes.
    pub nodes: Vec<Node>,
    /// Pods.
    pub pods: Vec<Pod>,
    /// Deployments, `StatefulSets`, `DaemonSets` and Jobs.
    pub workloads: Vec<Workload>,
    /// Pod disruption budgets.
    pub pdbs: Vec<Pdb>,
    /// `group/version` of every served API version.
    pub served: Vec<String>,
    /// API versions objects were written through (managed fields) or Helm manifests use.
    pub used_api_versions: Vec<String>,
    /// Helm releases (newest revision each).
    pub helm: Vec<HelmStatus>,
    /// CRDs.
    pub crds: Vec<Crd>,
    /// What could not be read, so a diff does not mistake a gap for a loss.
    pub unavailable: Vec<String>,
    /// What the cloud provider's API said (node groups, managed add-ons), when it was read.
    /// Absent from snapshots of other clusters and from those written before it existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<ProviderFacts>,
}

/// The provider's view of the cluster, as far as a diff needs it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderFacts {
    /// `eks`.
    pub provider: String,
    /// The provider's name of the cluster.
    pub cluster: String,
    /// The control plane's version as the provider reports it.
    pub version: Option<String>,
    /// Managed node groups (pools), by name.
    pub node_groups: Vec<ProviderNodeGroup>,
    /// Managed add-ons, by name.
    pub addons: Vec<ProviderAddon>,
}

/// A managed node group.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ProviderNodeGroup {
    /// Its name.
    pub name: String,
    /// Its Kubernetes version.
    pub version: Option<String>,
    /// Its image type (EKS `amiType`).
    pub image: Option<String>,
}

/// A managed add-on.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ProviderAddon {
    /// Its name.
    pub name: String,
    /// Its installed version.
    pub version: String,
}

/// Where the snapshot was taken.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterFacts {
    /// Kubeconfig context.
    pub context: String,
    /// API server URL.
    pub server: String,
    /// `gitVersion`.
    pub server_version: Option<String>,
}

/// A node.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Node {
    /// Name.
    pub name: String,
    /// Pool (node group label, else `kubelet <minor>`).
    pub pool: String,
    /// Kubelet version.
    pub kubelet: String,
    /// Container runtime (`containerd://1.7.2`).
    pub runtime: String,
    /// OS image.
    pub os_image: String,
    /// Ready condition is True.
    pub ready: bool,
    /// Cordoned.
    pub unschedulable: bool,
}

/// A pod.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pod {
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
    /// Owner workload (`Deployment shop/web`), or the pod itself.
    pub owner: String,
    /// Node.
    pub node: Option<String>,
    /// Phase.
    pub phase: String,
    /// Container names.
    pub containers: Vec<String>,
    /// Ready containers.
    pub ready: u32,
    /// Restarts, summed over containers.
    pub restarts: u32,
}

impl Pod {
    fn healthy(&self) -> bool {
        self.phase == "Running" && self.ready as usize == self.containers.len()
    }
}

/// A workload.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Workload {
    /// `Deployment`, `StatefulSet`, `DaemonSet`.
    pub kind: String,
    /// Namespace.
    pub namespace: Option<String>,
    /// Name.
    pub name: String,
    /// Desired replicas (scheduled pods for a `DaemonSet`).
    pub desired: u32,
    /// Ready replicas.
    pub ready: u32,
    /// Container images.
    pub images: Vec<String>,
    /// A Job whose `Failed` condition is true.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub failed: bool,
}

impl Workload {
    fn id(&self) -> String {
        match &self.namespace {
            Some(ns) => format!("{} {ns}/{}", self.kind, self.name),
            None => format!("{} {}", self.kind, self.name),
        }
    }
}

/// A PDB.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pdb {
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
    /// `status.disruptionsAllowed`.
    pub allowed_disruptions: i64,
}

/// A Helm release.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HelmStatus {
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
    /// Revision.
    pub revision: u64,
    /// Status.
    pub status: String,
    /// `chart-version`.
    pub chart: Option<String>,
    /// The `group/version`s its manifest uses, so a diff sees a release move off an API.
    /// Empty in snapshots written before upcheck recorded it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub api_versions: Vec<String>,
}

/// A CRD's versions.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Crd {
    /// Name.
    pub name: String,
    /// Served versions.
    pub served: Vec<String>,
    /// `status.storedVersions`.
    pub stored: Vec<String>,
}

/// Why a snapshot file cannot be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SnapshotError {
    /// Not JSON, or not a snapshot.
    #[error("not an upcheck snapshot: {0}")]
    Invalid(String),
    /// Written by a newer upcheck.
    #[error(
        "snapshot schema_version {found} is newer than this upcheck reads ({SNAPSHOT_SCHEMA_VERSION}); use the upcheck that wrote it, or a newer one"
    )]
    TooNew {
        /// The version in the file.
        found: u32,
    },
}

pub use crate::checks::util::node_pool;

fn num(v: &Value, ptr: &str) -> u32 {
    v.pointer(ptr)
        .and_then(Value::as_u64)
        .map_or(0, |n| u32::try_from(n).unwrap_or(u32::MAX))
}

impl Snapshot {
    /// A snapshot with nothing in it (current schema).
    pub fn empty() -> Self {
        Self {
            schema_version: SNAPSHOT_SCHEMA_VERSION,
            tool_version: env!("CARGO_PKG_VERSION").into(),
            ..Self::default()
        }
    }

    /// Reads a snapshot file's JSON, checking its schema version.
    pub fn parse(text: &str) -> Result<Self, SnapshotError> {
        // The version first, with a struct that skips everything else: a newer snapshot is
        // refused by version, not by whichever field it changed.
        #[derive(Deserialize)]
        struct Version {
            schema_version: Option<u64>,
        }
        let found = serde_json::from_str::<Version>(text)
            .map_err(|e| SnapshotError::Invalid(e.to_string()))?
            .schema_version
            .ok_or_else(|| SnapshotError::Invalid("no schema_version".into()))?;
        let found = u32::try_from(found).unwrap_or(u32::MAX);
        if found > SNAPSHOT_SCHEMA_VERSION {
            return Err(SnapshotError::TooNew { found });
        }
        serde_json::from_str(text).map_err(|e| SnapshotError::Invalid(e.to_string()))
    }

    /// Builds a snapshot from what a live read returned; `written_through` holds the API
    /// versions in the managed fields of the objects read.
    pub fn capture(
        cluster: ClusterFacts,
        state: &ClusterState,
        served: &[ServedResource],
        written_through: &BTreeSet<String>,
        helm: &[HelmRelease],
    ) -> Self {
        let mut s = Self::empty();
        s.cluster = cluster;
        for n in state.list(Resource::Nodes) {
            let kubelet = text(n, "/status/nodeInfo/kubeletVersion").unwrap_or_default();
            let pool = node_pool(n);
            let ready = n
                .pointer("/status/conditions")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .any(|c| c["type"] == "Ready" && c["status"] == "True");
            s.nodes.push(Node {
                name: name(n).to_owned(),
                pool,
                kubelet: kubelet.to_owned(),
                runtime: text(n, "/status/nodeInfo/containerRuntimeVersion")
                    .unwrap_or_default()
                    .to_owned(),
                os_image: text(n, "/status/nodeInfo/osImage")
                    .unwrap_or_default()
                    .to_owned(),
                ready,
                unschedulable: n
                    .pointer("/spec/unschedulable")
                    .and_then(Value::as_bool)
                    .unwrap_or(false),
            });
        }
        for p in state.list(Resource::Pods) {
            let statuses = p
                .pointer("/status/containerStatuses")
                .and_then(Value::as_array);
            let containers: Vec<String> = p
                .pointer("/spec/containers")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|c| c["name"].as_str().map(str::to_owned))
                .collect();
            let ready = statuses
                .into_iter()
                .flatten()
                .filter(|c| c["ready"] == true)
                .count();
            let restarts = statuses
                .into_iter()
                .flatten()
                .filter_map(|c| c["restartCount"].as_u64())
                .sum::<u64>();
            s.pods.push(Pod {
                namespace: namespace(p).unwrap_or_default().to_owned(),
                name: name(p).to_owned(),
                owner: owner_of(p),
                node: text(p, "/spec/nodeName").map(str::to_owned),
                phase: text(p, "/status/phase").unwrap_or("Unknown").to_owned(),
                containers,
                ready: u32::try_from(ready).unwrap_or(u32::MAX),
                restarts: u32::try_from(restarts).unwrap_or(u32::MAX),
            });
        }
        for (resource, kind) in [
            (Resource::Deployments, "Deployment"),
            (Resource::StatefulSets, "StatefulSet"),
            (Resource::DaemonSets, "DaemonSet"),
        ] {
            for w in state.list(resource) {
                let (desired, ready) = if kind == "DaemonSet" {
                    (
                        num(w, "/status/desiredNumberScheduled"),
                        num(w, "/status/numberReady"),
                    )
                } else {
                    (
                        w.pointer("/spec/replicas")
                            .and_then(Value::as_u64)
                            .map_or(1, |n| u32::try_from(n).unwrap_or(u32::MAX)),
                        num(w, "/status/readyReplicas"),
                    )
                };
                let images = w
                    .pointer("/spec/template/spec/containers")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(|c| c["image"].as_str().map(str::to_owned))
                    .collect();
                s.workloads.push(Workload {
                    kind: kind.into(),
                    namespace: namespace(w).map(str::to_owned),
                    name: name(w).to_owned(),
                    desired,
                    ready,
                    images,
                    failed: false,
                });
            }
        }
        for j in state.list(Resource::Jobs) {
            let failed = j
                .pointer("/status/conditions")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .any(|c| c["type"] == "Failed" && c["status"] == "True");
            s.workloads.push(Workload {
                kind: "Job".into(),
                namespace: namespace(j).map(str::to_owned),
                name: name(j).to_owned(),
                desired: j
                    .pointer("/spec/completions")
                    .and_then(Value::as_u64)
                    .map_or(1, |n| u32::try_from(n).unwrap_or(u32::MAX)),
                ready: num(j, "/status/succeeded"),
                images: Vec::new(),
                failed,
            });
        }
        for p in state.list(Resource::PodDisruptionBudgets) {
            s.pdbs.push(Pdb {
                namespace: namespace(p).unwrap_or_default().to_owned(),
                name: name(p).to_owned(),
                allowed_disruptions: p
                    .pointer("/status/disruptionsAllowed")
                    .and_then(Value::as_i64)
                    .unwrap_or(0),
            });
        }
        for c in state.list(Resource::CustomResourceDefinitions) {
            let served = c
                .pointer("/spec/versions")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter(|v| v["served"] != false)
                .filter_map(|v| v["name"].as_str().map(str::to_owned))
                .collect();
            let stored = c
                .pointer("/status/storedVersions")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect();
            s.crds.push(Crd {
                name: name(c).to_owned(),
                served,
                stored,
            });
        }
        let mut served_gv: BTreeSet<String> =
            served.iter().map(|r| r.api_version.clone()).collect();
        s.served = std::mem::take(&mut served_gv).into_iter().collect();
        // What objects were written through (managed fields, read by the caller before the
        // state dropped them) and what Helm manifests use.
        let mut used: BTreeSet<String> = written_through.clone();
        for h in helm {
            let mut versions = BTreeSet::new();
            for doc in crate::parse::parse_documents(&h.manifest) {
                for o in doc.objects {
                    versions.insert(o.api_version);
                }
            }
            used.extend(versions.iter().cloned());
            s.helm.push(HelmStatus {
                namespace: h.namespace.clone(),
                name: h.name.clone(),
                revision: h.revision,
                status: h.status.clone(),
                chart: h.chart.clone(),
                api_versions: versions.into_iter().collect(),
            });
        }
        s.used_api_versions = used.into_iter().collect();
        // Snapshots never read the GitOps controllers' objects (the live snapshot read skips them).
        for r in Resource::ALL.into_iter().filter(|r| !r.optional()) {
            if let Some(reason) = state.unavailable(r) {
                s.unavailable.push(reason);
            }
        }
        s.sort();
        s
    }

    fn sort(&mut self) {
        self.nodes.sort_by(|a, b| a.name.cmp(&b.name));
        self.pods
            .sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
        self.workloads.sort_by_key(Workload::id);
        self.pdbs
            .sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
        self.helm
            .sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
        self.crds.sort_by(|a, b| a.name.cmp(&b.name));
        self.unavailable.sort();
    }
}

/// How the diff judges.
#[derive(Clone, Debug)]
pub struct DiffOptions {
    /// Restarts since the first snapshot (or since a renamed pod started) that count as
    /// climbing.
    pub restart_threshold: u32,
}

impl Default for DiffOptions {
    fn default() -> Self {
        Self {
            restart_threshold: 3,
        }
    }
}

/// Every code `snapshot diff` reports, declared once (see [`crate::registry`]).
pub static CODES: &[&CodeInfo] = &[
    &VERSION,
    &NODE_GONE,
    &NODE_NOT_READY,
    &NODE_READY,
    &JOB_FAILED,
    &WORKLOAD_GONE,
    &DAEMONSET_UNSCHEDULED,
    &WORKLOAD_READY,
    &WORKLOAD_SCALED,
    &PDB_GONE,
    &POOL_MOVED,
    &IMAGE,
    &POD_NOT_READY,
    &POD_READY,
    &CONTAINERS_MISSING,
    &PODS_REPLACED,
    &RESTARTS,
    &HELM_FAILED,
    &HELM_REVISION,
    &HELM_GONE,
    &HELM_API_MOVED,
    &API_NOT_SERVED,
    &API_REMOVED,
    &API_UNAVAILABLE,
    &API_RECOVERED,
    &NODE_GROUP_VERSION,
    &NODE_GROUP_GONE,
    &ADDON_VERSION,
    &ADDON_GONE,
];

/// `version`.
pub static VERSION: CodeInfo = CodeInfo::new(
    "version",
    Family::Snapshot,
    "Version changed",
    Severity::Info,
    "A component's version differs between the snapshots: the control plane (`gitVersion`) or the kubelets of a node pool. Expected during an upgrade; listed so the diff shows that the upgrade reached every pool.",
);

/// `node-gone`.
pub static NODE_GONE: CodeInfo = CodeInfo::new(
    "node-gone",
    Family::Snapshot,
    "Node pool lost its nodes",
    Severity::Blocker,
    "A node pool that had nodes in the first snapshot has none in the second. Its workloads have nowhere to run: a roll that deleted the old nodes before the new ones joined, or a node group that failed to come up.",
);

/// `node-not-ready`.
pub static NODE_NOT_READY: CodeInfo = CodeInfo::new(
    "node-not-ready",
    Family::Snapshot,
    "Fewer Ready nodes",
    Severity::Blocker,
    "A node pool (or the nodes without a pool label) has fewer Ready nodes than before, or a named node that was Ready is not. New nodes that never join (no free IPs, a kubelet too new for the control plane, a broken CNI) show up here first.",
);

/// `node-ready`.
pub static NODE_READY: CodeInfo = CodeInfo::new(
    "node-ready",
    Family::Snapshot,
    "More Ready nodes",
    Severity::Info,
    "A node pool has more Ready nodes than in the first snapshot: an improvement, listed so a recovered pool is visible.",
);

/// `job-failed`.
pub static JOB_FAILED: CodeInfo = CodeInfo::new(
    "job-failed",
    Family::Snapshot,
    "Job failed since the first snapshot",
    Severity::Warning,
    "A Job that had not failed in the first snapshot has failed in the second. Jobs come and go, so only new failures count; a failing migration or backup job during an upgrade often means a removed API or a changed admission rule.",
);

/// `workload-gone`.
pub static WORKLOAD_GONE: CodeInfo = CodeInfo::new(
    "workload-gone",
    Family::Snapshot,
    "Workload no longer exists",
    Severity::Warning,
    "A Deployment, StatefulSet or DaemonSet of the first snapshot is gone. Deleted on purpose, or removed by a Helm release or GitOps reconciler that failed to re-create it with a removed API.",
);

/// `daemonset-unscheduled`.
pub static DAEMONSET_UNSCHEDULED: CodeInfo = CodeInfo::new(
    "daemonset-unscheduled",
    Family::Snapshot,
    "DaemonSet runs on fewer nodes",
    Severity::Blocker,
    "A DaemonSet has fewer ready pods than before and fewer than it wants: nodes that joined during the roll are missing a node agent (CNI, CSI, log shipper), often because its image or configuration does not support the new kubelet or runtime.",
);

/// `workload-ready`.
pub static WORKLOAD_READY: CodeInfo = CodeInfo::new(
    "workload-ready",
    Family::Snapshot,
    "Workload readiness changed",
    Severity::Blocker,
    "A Deployment or StatefulSet has fewer ready replicas than before and fewer than it wants (a regression), or more than before (an improvement). Pods that do not come back after a drain block the next node's drain through their PodDisruptionBudget.",
);

/// `workload-scaled`.
pub static WORKLOAD_SCALED: CodeInfo = CodeInfo::new(
    "workload-scaled",
    Family::Snapshot,
    "Workload scaled",
    Severity::Warning,
    "A Deployment or StatefulSet wants a different number of replicas than in the first snapshot. Scaled to zero it is a regression: nothing of it runs any more (an autoscaler or a GitOps sync that lost its configuration, or a manual scale-down during the upgrade that was never undone). Any other change is listed as expected, and its pods are then judged against the new replica count.",
);

/// `pdb-gone`.
pub static PDB_GONE: CodeInfo = CodeInfo::new(
    "pdb-gone",
    Family::Snapshot,
    "PodDisruptionBudget gone",
    Severity::Warning,
    "A PodDisruptionBudget of the first snapshot no longer exists: the pods it protected can now all be evicted at once by the next drain. Often removed to unblock a stuck drain and never put back.",
);

/// `pool-moved`.
pub static POOL_MOVED: CodeInfo = CodeInfo::new(
    "pool-moved",
    Family::Snapshot,
    "Pods on a node pool they did not run on",
    Severity::Warning,
    "A workload's pods now run on a node pool where none of them ran in the first snapshot: the roll drained the pool they were kept on and the scheduler placed them wherever there was room, because nothing (node affinity, a nodeSelector, taints) holds them to their pool. Workloads meant for dedicated nodes (databases, licensed software) then share nodes they must not. DaemonSet pods and pools named by kubelet version, which change with every upgrade, are not judged.",
);

/// `image`.
pub static IMAGE: CodeInfo = CodeInfo::new(
    "image",
    Family::Snapshot,
    "Add-on image changed",
    Severity::Info,
    "The image of a kube-system workload differs between the snapshots: expected when the upgrade moves CoreDNS, kube-proxy or CNI to the new minor's version; listed so each add-on's move is visible.",
);

/// `pod-not-ready`.
pub static POD_NOT_READY: CodeInfo = CodeInfo::new(
    "pod-not-ready",
    Family::Snapshot,
    "Pod not ready",
    Severity::Blocker,
    "A pod that was ready in the first snapshot is not ready in the second (CrashLoopBackOff, ImagePullBackOff, failing probes), matched by its owning workload so a restarted pod with a new name still counts.",
);

/// `pod-ready`.
pub static POD_READY: CodeInfo = CodeInfo::new(
    "pod-ready",
    Family::Snapshot,
    "Pod ready again",
    Severity::Info,
    "A pod (matched by its owning workload) that was not ready in the first snapshot is ready in the second: an improvement.",
);

/// `containers-missing`.
pub static CONTAINERS_MISSING: CodeInfo = CodeInfo::new(
    "containers-missing",
    Family::Snapshot,
    "Pods with fewer containers",
    Severity::Warning,
    "A workload's pods run fewer containers than before: an injected sidecar (service mesh, secrets agent) whose mutating webhook failed or was skipped during the upgrade.",
);

/// `pods-replaced`.
pub static PODS_REPLACED: CodeInfo = CodeInfo::new(
    "pods-replaced",
    Family::Snapshot,
    "Pods replaced",
    Severity::Info,
    "A workload's pods have new names after the upgrade: drains evicted them and their controller re-created them elsewhere. Expected; listed so the rest of the diff matches pods by owner, not by name.",
);

/// `restarts`.
pub static RESTARTS: CodeInfo = CodeInfo::new(
    "restarts",
    Family::Snapshot,
    "Restarts increased",
    Severity::Warning,
    "A workload's containers restarted more often since the first snapshot than the diff's restart threshold allows: crash loops after the upgrade that readiness alone may hide.",
);

/// `helm-failed`.
pub static HELM_FAILED: CodeInfo = CodeInfo::new(
    "helm-failed",
    Family::Snapshot,
    "Helm release failed",
    Severity::Blocker,
    "A Helm release that was deployed in the first snapshot is now failed or pending: an upgrade of the release during the window failed, often on an API version the new control plane no longer serves.",
);

/// `helm-revision`.
pub static HELM_REVISION: CodeInfo = CodeInfo::new(
    "helm-revision",
    Family::Snapshot,
    "Helm release upgraded",
    Severity::Info,
    "A Helm release moved to another revision between the snapshots, with its status. Expected when charts are upgraded with the cluster.",
);

/// `helm-gone`.
pub static HELM_GONE: CodeInfo = CodeInfo::new(
    "helm-gone",
    Family::Snapshot,
    "Helm release record gone",
    Severity::Warning,
    "A Helm release of the first snapshot has no release record any more: uninstalled, or its storage Secrets deleted, so Helm can no longer upgrade or roll it back.",
);

/// `helm-api-moved`.
pub static HELM_API_MOVED: CodeInfo = CodeInfo::new(
    "helm-api-moved",
    Family::Snapshot,
    "Helm release moved off an API no longer served",
    Severity::Info,
    "A Helm release's newest revision no longer uses an API version its earlier revision used and the cluster does not serve: an improvement, since Helm can upgrade or roll back a release only while every object in its stored manifest has a served API version.",
);

/// `api-not-served`.
pub static API_NOT_SERVED: CodeInfo = CodeInfo::new(
    "api-not-served",
    Family::Snapshot,
    "Used API no longer served",
    Severity::Blocker,
    "Objects of the first snapshot were written through an API version (managed fields or Helm manifests) that the cluster no longer serves: their owners (CI pipelines, Helm charts, operators) fail on their next write until they move to the replacement.",
);

/// `api-removed`.
pub static API_REMOVED: CodeInfo = CodeInfo::new(
    "api-removed",
    Family::Snapshot,
    "API no longer served, unused",
    Severity::Info,
    "An API version that the first snapshot served is no longer served, and nothing in the first snapshot was written through it. Expected when a minor removes an API; listed for completeness.",
);

/// One difference.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Change {
    /// How bad (regressions: blocker or warning; others: info).
    pub severity: Severity,
    /// What kind of change (`workload-ready`, `pod-not-ready`, `containers-missing`,
    /// `restarts`, `node-gone`, `node-not-ready`, `daemonset-unscheduled`, `helm-failed`,
    /// `api-not-served`, `version`, `image`, ...).
    pub code: &'static str,
    /// What it is about.
    pub subject: String,
    /// For people.
    pub message: String,
}

/// The differences between two snapshots.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Diff {
    /// What got worse: fails the gate.
    pub regressions: Vec<Change>,
    /// What got better.
    pub improvements: Vec<Change>,
    /// What an upgrade is expected to change (versions, add-on images, renamed pods).
    pub expected: Vec<Change>,
}

// Taking the declaration, not a string, means a code that is not declared cannot be emitted.
fn change(severity: Severity, code: &'static CodeInfo, subject: String, message: String) -> Change {
    Change {
        severity,
        code: code.code,
        subject,
        message,
    }
}

/// Compares two snapshots.
pub fn diff(before: &Snapshot, after: &Snapshot, opts: &DiffOptions) -> Diff {
    let mut d = Diff::default();
    compare_cluster(before, after, &mut d);
    compare_nodes(before, after, &mut d);
    compare_workloads(before, after, &mut d);
    compare_pods(before, after, opts, &mut d);
    compare_pod_pools(before, after, &mut d);
    compare_pdbs(before, after, &mut d);
    compare_helm(before, after, &mut d);
    compare_apis(before, after, &mut d);
    compare_unavailable_apis(before, after, &mut d);
    compare_provider(before, after, &mut d);
    d.regressions.sort();
    d.improvements.sort();
    d.expected.sort();
    d
}

fn compare_cluster(before: &Snapshot, after: &Snapshot, d: &mut Diff) {
    if before.cluster.server_version != after.cluster.server_version {
        d.expected.push(change(
            Severity::Info,
            &VERSION,
            "control plane".into(),
            format!(
                "{} → {}",
                before.cluster.server_version.as_deref().unwrap_or("?"),
                after.cluster.server_version.as_deref().unwrap_or("?")
            ),
        ));
    }
}

fn compare_nodes(before: &Snapshot, after: &Snapshot, d: &mut Diff) {
    // Pools are matched by name; node groups replaced by the upgrade keep their pool label.
    fn pools(s: &Snapshot) -> BTreeMap<String, Vec<&Node>> {
        let mut m: BTreeMap<String, Vec<&Node>> = BTreeMap::new();
        for n in &s.nodes {
            m.entry(n.pool.clone()).or_default().push(n);
        }
        m
    }
    let (b, a) = (pools(before), pools(after));
    // A node still there but no longer Ready is named, whatever its pool. Counts per pool
    // (before) keep the pool totals below from reporting the same node again.
    let after_by_name: BTreeMap<&str, &Node> =
        after.nodes.iter().map(|n| (n.name.as_str(), n)).collect();
    let mut named: BTreeMap<&str, usize> = BTreeMap::new();
    for n in &before.nodes {
        if let Some(now) = after_by_name.get(n.name.as_str())
            && n.ready
            && !now.ready
        {
            *named.entry(n.pool.as_str()).or_default() += 1;
            d.regressions.push(change(
                Severity::Blocker,
                &NODE_NOT_READY,
                format!("Node {}", n.name),
                "was Ready, is not now".into(),
            ));
        }
    }
    let lost = |ready_before: usize, ready_after: usize, named: usize| {
        let unexplained = ready_before.saturating_sub(ready_after);
        (unexplained > named).then(|| {
            let also = if named == 0 {
                String::new()
            } else {
                format!(" ({named} of them reported by name)")
            };
            format!("{ready_before} Ready node(s) before, {ready_after} now{also}")
        })
    };
    // Kubelet minors change pool names when nodes are grouped by version: compare totals then.
    let by_version = |p: &str| p.starts_with("kubelet ");
    let mut b_loose = 0;
    let mut a_loose = 0;
    let mut named_loose = 0;
    for (pool, nodes) in &b {
        let ready_before = nodes.iter().filter(|n| n.ready).count();
        let named_here = named.get(pool.as_str()).copied().unwrap_or(0);
        if by_version(pool) {
            b_loose += ready_before;
            named_loose += named_here;
            continue;
        }
        let after_nodes = a.get(pool).map(Vec::as_slice).unwrap_or_default();
        let ready_after = after_nodes.iter().filter(|n| n.ready).count();
        if after_nodes.is_empty() {
            d.regressions.push(change(
                Severity::Blocker,
                &NODE_GONE,
                format!("pool {pool}"),
                format!("had {} node(s), none now", nodes.len()),
            ));
        } else if let Some(message) = lost(ready_before, ready_after, named_here) {
            d.regressions.push(change(
                Severity::Blocker,
                &NODE_NOT_READY,
                format!("pool {pool}"),
                message,
            ));
        } else if ready_after > ready_before {
            d.improvements.push(change(
                Severity::Info,
                &NODE_READY,
                format!("pool {pool}"),
                format!("{ready_before} Ready node(s) before, {ready_after} now"),
            ));
        }
        let versions = |ns: &[&Node]| {
            ns.iter()
                .map(|n| n.kubelet.clone())
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect::<Vec<_>>()
                .join(", ")
        };
        if !after_nodes.is_empty() && versions(nodes) != versions(after_nodes) {
            d.expected.push(change(
                Severity::Info,
                &VERSION,
                format!("pool {pool}"),
                format!("kubelet {} → {}", versions(nodes), versions(after_nodes)),
            ));
        }
    }
    for (pool, nodes) in &a {
        if by_version(pool) {
            a_loose += nodes.iter().filter(|n| n.ready).count();
        }
    }
    if let Some(message) = lost(b_loose, a_loose, named_loose) {
        d.regressions.push(change(
            Severity::Blocker,
            &NODE_NOT_READY,
            "nodes without a pool label".into(),
            message,
        ));
    }
}

fn compare_workloads(before: &Snapshot, after: &Snapshot, d: &mut Diff) {
    let a: BTreeMap<String, &Workload> = after.workloads.iter().map(|w| (w.id(), w)).collect();
    let b: BTreeMap<String, &Workload> = before.workloads.iter().map(|w| (w.id(), w)).collect();
    // Jobs finish and are cleaned up; what matters is one that failed since the first snapshot.
    for j in after
        .workloads
        .iter()
        .filter(|w| w.kind == "Job" && w.failed)
    {
        if !b.get(&j.id()).is_some_and(|was| was.failed) {
            d.regressions.push(change(
                Severity::Warning,
                &JOB_FAILED,
                j.id(),
                format!(
                    "failed ({} of {} completions succeeded)",
                    j.ready, j.desired
                ),
            ));
        }
    }
    for w in before.workloads.iter().filter(|w| w.kind != "Job") {
        let id = w.id();
        let Some(now) = a.get(&id) else {
            d.regressions.push(change(
                Severity::Warning,
                &WORKLOAD_GONE,
                id,
                "no longer exists".into(),
            ));
            continue;
        };
        // Deployments and StatefulSets only: a DaemonSet's count follows the nodes.
        if now.desired != w.desired && w.kind != "DaemonSet" {
            let message = format!(
                "{} replica(s) wanted before, {} now",
                w.desired, now.desired
            );
            if now.desired == 0 {
                d.regressions.push(change(
                    Severity::Warning,
                    &WORKLOAD_SCALED,
                    id.clone(),
                    format!("{message}: scaled to zero, nothing of it runs"),
                ));
            } else {
                d.expected.push(change(
                    Severity::Info,
                    &WORKLOAD_SCALED,
                    id.clone(),
                    message,
                ));
            }
        }
        if now.ready < w.ready && now.ready < now.desired {
            let code = if w.kind == "DaemonSet" {
                &DAEMONSET_UNSCHEDULED
            } else {
                &WORKLOAD_READY
            };
            d.regressions.push(change(
                Severity::Blocker,
                code,
                id.clone(),
                format!(
                    "{} of {} ready before, {} of {} now",
                    w.ready, w.desired, now.ready, now.desired
                ),
            ));
        } else if now.ready > w.ready && w.ready < w.desired {
            // Only a workload that was short counts: more replicas because more are wanted
            // is the scale above, not a recovery.
            d.improvements.push(change(
                Severity::Info,
                &WORKLOAD_READY,
                id.clone(),
                format!(
                    "{} of {} ready before, {} of {} now",
                    w.ready, w.desired, now.ready, now.desired
                ),
            ));
        }
        if now.images != w.images {
            d.expected.push(change(
                Severity::Info,
                &IMAGE,
                id,
                format!("{} → {}", w.images.join(", "), now.images.join(", ")),
            ));
        }
    }
}

/// Workloads whose pods reached a named node pool none of them ran on before.
fn compare_pod_pools(before: &Snapshot, after: &Snapshot, d: &mut Diff) {
    fn pools_by_owner(s: &Snapshot) -> BTreeMap<&str, BTreeSet<&str>> {
        let pool_of: BTreeMap<&str, &str> = s
            .nodes
            .iter()
            .map(|n| (n.name.as_str(), n.pool.as_str()))
            .collect();
        let mut m: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
        for p in &s.pods {
            // A DaemonSet runs on every pool; a bare pod has no workload to keep together.
            if p.owner.starts_with("DaemonSet ") || !p.owner.contains(' ') {
                continue;
            }
            if let Some(pool) = p.node.as_deref().and_then(|n| pool_of.get(n)) {
                m.entry(p.owner.as_str()).or_default().insert(pool);
            }
        }
        m
    }
    let (b, a) = (pools_by_owner(before), pools_by_owner(after));
    let named = |p: &&str| !p.starts_with("kubelet ");
    for (owner, now) in &a {
        let Some(was) = b.get(owner) else { continue };
        if was.is_empty() || !was.iter().all(named) {
            continue;
        }
        let new: Vec<&str> = now
            .iter()
            .filter(|p| named(p) && !was.contains(*p))
            .copied()
            .collect();
        if !new.is_empty() {
            d.regressions.push(change(
                Severity::Warning,
                &POOL_MOVED,
                (*owner).to_owned(),
                format!(
                    "pods now on pool {} (before only on {})",
                    new.join(", "),
                    was.iter().copied().collect::<Vec<_>>().join(", ")
                ),
            ));
        }
    }
}

fn compare_pods(before: &Snapshot, after: &Snapshot, opts: &DiffOptions, d: &mut Diff) {
    fn group(s: &Snapshot) -> BTreeMap<String, Vec<&Pod>> {
        let mut m: BTreeMap<String, Vec<&Pod>> = BTreeMap::new();
        for p in &s.pods {
            m.entry(p.owner.clone()).or_default().push(p);
        }
        m
    }
    let (b, a) = (group(before), group(after));
    let workloads = |s: &Snapshot| -> BTreeMap<String, u32> {
        s.workloads
            .iter()
            .filter(|w| w.kind != "Job")
            .map(|w| (w.id(), w.desired))
            .collect()
    };
    let (wanted_before, wanted_after) = (workloads(before), workloads(after));
    let before_by_name: BTreeMap<(&str, &str), &Pod> = before
        .pods
        .iter()
        .map(|p| ((p.namespace.as_str(), p.name.as_str()), p))
        .collect();
    for (owner, pods) in &b {
        let now = a.get(owner).map(Vec::as_slice).unwrap_or_default();
        let healthy_before = pods.iter().filter(|p| p.healthy()).count();
        let healthy_now = now.iter().filter(|p| p.healthy()).count();
        // Fewer pods because the workload is gone (workload-gone) or wants fewer and has them
        // all (workload-scaled) is reported once, there.
        let explained = wanted_before.contains_key(owner)
            && wanted_after
                .get(owner)
                .is_none_or(|&want| healthy_now >= want as usize);
        if healthy_now < healthy_before && !explained {
            let broken: Vec<String> = now
                .iter()
                .filter(|p| !p.healthy())
                .map(|p| {
                    format!(
                        "{} ({}, {}/{} ready)",
                        p.name,
                        p.phase,
                        p.ready,
                        p.containers.len()
                    )
                })
                .collect();
            d.regressions.push(change(
                Severity::Blocker,
                &POD_NOT_READY,
                owner.clone(),
                format!(
                    "{healthy_before} pod(s) Running and Ready before, {healthy_now} now{}",
                    if broken.is_empty() {
                        String::new()
                    } else {
                        format!(": {}", broken.join(", "))
                    }
                ),
            ));
        } else if healthy_now > healthy_before {
            d.improvements.push(change(
                Severity::Info,
                &POD_READY,
                owner.clone(),
                format!("{healthy_before} pod(s) Running and Ready before, {healthy_now} now"),
            ));
        }
        // Sidecars: a pod still there is compared with itself; a renamed one with the
        // containers every pod of the owner had before.
        let common: BTreeSet<&str> = pods
            .iter()
            .map(|p| {
                p.containers
                    .iter()
                    .map(String::as_str)
                    .collect::<BTreeSet<_>>()
            })
            .reduce(|a, b| a.intersection(&b).copied().collect())
            .unwrap_or_default();
        for p in now {
            let had: BTreeSet<&str> = before_by_name
                .get(&(p.namespace.as_str(), p.name.as_str()))
                .map_or_else(
                    || common.clone(),
                    |b| b.containers.iter().map(String::as_str).collect(),
                );
            let has: BTreeSet<&str> = p.containers.iter().map(String::as_str).collect();
            let missing: Vec<&str> = had.difference(&has).copied().collect();
            if !missing.is_empty() {
                d.regressions.push(change(
                    Severity::Warning,
                    &CONTAINERS_MISSING,
                    format!("Pod {}/{}", p.namespace, p.name),
                    format!(
                        "{owner}: container(s) {} missing ({} container(s) now, {} before)",
                        missing.join(", "),
                        has.len(),
                        had.len()
                    ),
                ));
            }
        }
        if now
            .iter()
            .any(|p| !before_by_name.contains_key(&(p.namespace.as_str(), p.name.as_str())))
        {
            d.expected.push(change(
                Severity::Info,
                &PODS_REPLACED,
                owner.clone(),
                format!(
                    "{} pod(s) before, {} now, with new names",
                    pods.len(),
                    now.len()
                ),
            ));
        }
    }
    // Restarts: counted from the first snapshot for pods in both, from zero for new ones.
    for p in &after.pods {
        let since = before_by_name
            .get(&(p.namespace.as_str(), p.name.as_str()))
            .map_or(0, |b| b.restarts);
        let up = p.restarts.saturating_sub(since);
        if up > 0 && up >= opts.restart_threshold {
            d.regressions.push(change(
                Severity::Warning,
                &RESTARTS,
                format!("Pod {}/{}", p.namespace, p.name),
                format!(
                    "{}: {up} restart(s) since the first snapshot ({since} → {})",
                    p.owner, p.restarts
                ),
            ));
        }
    }
}

/// Whether the snapshot read `resource` (its `unavailable` entries start with the resource's
/// reference): a list that could not be read is a gap, not a loss.
fn was_read(s: &Snapshot, resource: Resource) -> bool {
    let reference = resource.reference();
    !s.unavailable.iter().any(|u| {
        u.strip_prefix(reference.as_str())
            .is_some_and(|rest| rest.starts_with(':') || rest == " was not read")
    })
}

fn compare_pdbs(before: &Snapshot, after: &Snapshot, d: &mut Diff) {
    if !was_read(before, Resource::PodDisruptionBudgets)
        || !was_read(after, Resource::PodDisruptionBudgets)
    {
        return;
    }
    let a: BTreeSet<(&str, &str)> = after
        .pdbs
        .iter()
        .map(|p| (p.namespace.as_str(), p.name.as_str()))
        .collect();
    for p in &before.pdbs {
        if !a.contains(&(p.namespace.as_str(), p.name.as_str())) {
            d.regressions.push(change(
                Severity::Warning,
                &PDB_GONE,
                format!("PodDisruptionBudget {}/{}", p.namespace, p.name),
                "no longer exists: the next drain may evict all the pods it protected at once"
                    .into(),
            ));
        }
    }
}

fn compare_helm(before: &Snapshot, after: &Snapshot, d: &mut Diff) {
    let served: BTreeSet<&str> = after.served.iter().map(String::as_str).collect();
    let a: BTreeMap<(&str, &str), &HelmStatus> = after
        .helm
        .iter()
        .map(|h| ((h.namespace.as_str(), h.name.as_str()), h))
        .collect();
    for h in &before.helm {
        let subject = format!("Helm release {}/{}", h.namespace, h.name);
        match a.get(&(h.namespace.as_str(), h.name.as_str())) {
            Some(now) if now.status != "deployed" && h.status == "deployed" => {
                d.regressions.push(change(
                    Severity::Blocker,
                    &HELM_FAILED,
                    subject,
                    format!(
                        "was deployed (revision {}), is {} (revision {})",
                        h.revision, now.status, now.revision
                    ),
                ));
            }
            Some(now) if now.revision != h.revision => {
                let dropped: Vec<&str> = h
                    .api_versions
                    .iter()
                    .filter(|v| !now.api_versions.contains(v))
                    .map(String::as_str)
                    .filter(|v| !served.is_empty() && !served.contains(v))
                    .collect();
                let revision = format!(
                    "revision {} → {} ({})",
                    h.revision, now.revision, now.status
                );
                if dropped.is_empty() {
                    d.expected
                        .push(change(Severity::Info, &HELM_REVISION, subject, revision));
                } else {
                    d.improvements.push(change(
                        Severity::Info,
                        &HELM_API_MOVED,
                        subject,
                        format!(
                            "{revision} no longer uses {}, which the cluster does not serve",
                            dropped.join(", ")
                        ),
                    ));
                }
            }
            Some(_) => {}
            None => d.regressions.push(change(
                Severity::Warning,
                &HELM_GONE,
                subject,
                "no longer has a release record".into(),
            )),
        }
    }
}

fn compare_apis(before: &Snapshot, after: &Snapshot, d: &mut Diff) {
    let served: BTreeSet<&str> = after.served.iter().map(String::as_str).collect();
    if served.is_empty() {
        return;
    }
    let before_served: BTreeSet<&str> = before.served.iter().map(String::as_str).collect();
    // Only a version that was served and is not now: a Helm manifest can name a version the
    // cluster never served (a failed release, a chart older than the cluster), and that did
    // not change between the snapshots.
    for v in &before.used_api_versions {
        if before_served.contains(v.as_str()) && !served.contains(v.as_str()) {
            d.regressions.push(change(
                Severity::Blocker,
                &API_NOT_SERVED,
                v.clone(),
                "objects in the first snapshot were written through it (managed fields or Helm manifests), and it is no longer served: their owners (CI, Helm charts, operators) fail on their next write".into(),
            ));
        }
    }
    for v in before_served.difference(&served) {
        if !before.used_api_versions.iter().any(|u| u == v) {
            d.expected.push(change(
                Severity::Info,
                &API_REMOVED,
                (*v).to_owned(),
                "no longer served (nothing in the first snapshot used it)".into(),
            ));
        }
    }
}

/// `api-unavailable`.
pub static API_UNAVAILABLE: CodeInfo = CodeInfo::new(
    "api-unavailable",
    Family::Snapshot,
    "API became unavailable",
    Severity::Warning,
    "An API group version (typically an aggregated API such as metrics.k8s.io) did not answer discovery when the second snapshot was taken, but did in the first: its backing service broke during the upgrade. Clients of it (HPAs, `kubectl top`) fail until it recovers.",
);

/// `api-recovered`.
pub static API_RECOVERED: CodeInfo = CodeInfo::new(
    "api-recovered",
    Family::Snapshot,
    "API available again",
    Severity::Info,
    "An API group version that did not answer discovery in the first snapshot is served in the second: an improvement, listed so the recovery is visible.",
);

/// How an unavailable API group version is written in [`Snapshot::unavailable`]; the diff
/// reads the group version back from it.
const UNAVAILABLE_API: &str = "api ";

impl Snapshot {
    /// Records an API group version whose discovery answered `status` (5xx): a snapshot
    /// taken while an aggregated API is down says so, and a diff sees it break or recover.
    pub fn record_unavailable_api(&mut self, api_version: &str, status: u16) {
        self.unavailable.push(format!(
            "{UNAVAILABLE_API}{api_version}: discovery answered HTTP {status}"
        ));
        self.unavailable.sort();
        self.unavailable.dedup();
    }

    /// The API group versions recorded by [`Snapshot::record_unavailable_api`].
    pub fn unavailable_apis(&self) -> BTreeSet<&str> {
        self.unavailable
            .iter()
            .filter_map(|u| u.strip_prefix(UNAVAILABLE_API)?.split(':').next())
            .collect()
    }
}

fn compare_unavailable_apis(before: &Snapshot, after: &Snapshot, d: &mut Diff) {
    let (b, a) = (before.unavailable_apis(), after.unavailable_apis());
    for v in a.difference(&b) {
        d.regressions.push(change(
            Severity::Warning,
            &API_UNAVAILABLE,
            (*v).to_owned(),
            "did not answer discovery in the second snapshot; it did in the first".into(),
        ));
    }
    for v in b.difference(&a) {
        if after.served.iter().any(|s| s == v) {
            d.improvements.push(change(
                Severity::Info,
                &API_RECOVERED,
                (*v).to_owned(),
                "unavailable in the first snapshot, served in the second".into(),
            ));
        }
    }
}

/// `node-group-version`.
pub static NODE_GROUP_VERSION: CodeInfo = CodeInfo::new(
    "node-group-version",
    Family::Snapshot,
    "Managed node group changed",
    Severity::Info,
    "A managed node group's Kubernetes version or image type (EKS amiType) differs between the snapshots, as the provider's API reports them. Expected when the upgrade rolls the group; listed so the diff shows which groups the upgrade reached.",
);

/// `node-group-gone`.
pub static NODE_GROUP_GONE: CodeInfo = CodeInfo::new(
    "node-group-gone",
    Family::Snapshot,
    "Managed node group gone",
    Severity::Warning,
    "A managed node group the provider listed in the first snapshot is not listed in the second: deleted during the upgrade (a blue/green swap that removed the old group) or failed. Its workloads need another group to run on.",
);

/// `addon-version`.
pub static ADDON_VERSION: CodeInfo = CodeInfo::new(
    "addon-version",
    Family::Snapshot,
    "Managed add-on version changed",
    Severity::Info,
    "A managed add-on (EKS vpc-cni, kube-proxy, coredns, aws-ebs-csi-driver, ...) runs another version in the second snapshot. Expected with each hop; listed so the diff shows every add-on moved with the control plane.",
);

/// `addon-gone`.
pub static ADDON_GONE: CodeInfo = CodeInfo::new(
    "addon-gone",
    Family::Snapshot,
    "Managed add-on gone",
    Severity::Warning,
    "A managed add-on the provider listed in the first snapshot is not listed in the second: removed (perhaps to self-manage it) or failed to install at the new version. What it ran (networking, DNS, storage) must still be there.",
);

impl Snapshot {
    /// Records what the provider's API said: the node groups and add-ons read, and what could
    /// not be read as unavailable (so a diff does not take a denied call for a loss).
    pub fn record_provider(&mut self, provider: &ProviderState) {
        match provider {
            ProviderState::None => {}
            ProviderState::Failed(p) => self.unavailable.push(format!("provider: {}", p.reason)),
            ProviderState::Aks(f) => {
                let mut facts = ProviderFacts {
                    provider: "aks".into(),
                    cluster: f.cluster.clone(),
                    version: f.version.clone(),
                    ..ProviderFacts::default()
                };
                match &f.pools {
                    Ok(pools) => {
                        facts.node_groups = pools
                            .iter()
                            .map(|p| ProviderNodeGroup {
                                name: p.name.clone(),
                                version: p.current_orchestrator_version.clone(),
                                image: p.node_image_version.clone(),
                            })
                            .collect();
                    }
                    Err(p) => self
                        .unavailable
                        .push(format!("{PROVIDER_NODE_GROUPS}{}", p.reason)),
                }
                facts.node_groups.sort();
                self.provider = Some(facts);
            }
            ProviderState::Eks(f) => {
                let mut facts = ProviderFacts {
                    provider: "eks".into(),
                    cluster: f.cluster.clone(),
                    version: f.version.clone(),
                    ..ProviderFacts::default()
                };
                match &f.nodegroups {
                    Ok(groups) => {
                        facts.node_groups = groups
                            .iter()
                            .map(|g| ProviderNodeGroup {
                                name: g.name.clone(),
                                version: g.version.clone(),
                                image: g.ami_type.clone(),
                            })
                            .collect();
                    }
                    Err(p) => self
                        .unavailable
                        .push(format!("{PROVIDER_NODE_GROUPS}{}", p.reason)),
                }
                match &f.addons {
                    Ok(addons) => {
                        facts.addons = addons
                            .iter()
                            .map(|a| ProviderAddon {
                                name: a.name.clone(),
                                version: a.version.clone(),
                            })
                            .collect();
                    }
                    Err(p) => self
                        .unavailable
                        .push(format!("{PROVIDER_ADDONS}{}", p.reason)),
                }
                facts.node_groups.sort();
                facts.addons.sort();
                self.provider = Some(facts);
            }
        }
        self.unavailable.sort();
        self.unavailable.dedup();
    }
}

/// How unreadable provider parts are written in [`Snapshot::unavailable`].
const PROVIDER_NODE_GROUPS: &str = "provider node groups: ";
const PROVIDER_ADDONS: &str = "provider add-ons: ";

fn compare_provider(before: &Snapshot, after: &Snapshot, d: &mut Diff) {
    let (Some(b), Some(a)) = (&before.provider, &after.provider) else {
        return;
    };
    // A part the second snapshot could not read is a gap, not a loss.
    let unread = |prefix: &str| after.unavailable.iter().any(|u| u.starts_with(prefix));
    let show = |v: &Option<String>| v.clone().unwrap_or_else(|| "?".into());
    if !unread(PROVIDER_NODE_GROUPS) {
        for g in &b.node_groups {
            let subject = format!("node group {}", g.name);
            match a.node_groups.iter().find(|n| n.name == g.name) {
                Some(n) if n.version != g.version || n.image != g.image => {
                    let mut what = Vec::new();
                    if n.version != g.version {
                        what.push(format!(
                            "version {} → {}",
                            show(&g.version),
                            show(&n.version)
                        ));
                    }
                    if n.image != g.image {
                        what.push(format!("image {} → {}", show(&g.image), show(&n.image)));
                    }
                    d.expected.push(change(
                        Severity::Info,
                        &NODE_GROUP_VERSION,
                        subject,
                        what.join(", "),
                    ));
                }
                Some(_) => {}
                None => d.regressions.push(change(
                    Severity::Warning,
                    &NODE_GROUP_GONE,
                    subject,
                    format!("{} no longer lists it", b.provider.to_uppercase()),
                )),
            }
        }
    }
    if !unread(PROVIDER_ADDONS) {
        for x in &b.addons {
            let subject = format!("add-on {}", x.name);
            match a.addons.iter().find(|n| n.name == x.name) {
                Some(n) if n.version != x.version => d.expected.push(change(
                    Severity::Info,
                    &ADDON_VERSION,
                    subject,
                    format!("{} → {}", x.version, n.version),
                )),
                Some(_) => {}
                None => d.regressions.push(change(
                    Severity::Warning,
                    &ADDON_GONE,
                    subject,
                    format!("{} no longer lists it", b.provider.to_uppercase()),
                )),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // tests fail loudly on purpose
    use super::*;

    #[test]
    fn an_api_that_breaks_or_recovers_is_reported_once_in_its_direction() {
        let mut down = Snapshot::empty();
        down.record_unavailable_api("metrics.k8s.io/v1beta1", 503);
        down.record_unavailable_api("metrics.k8s.io/v1beta1", 503);
        assert_eq!(
            down.unavailable,
            ["api metrics.k8s.io/v1beta1: discovery answered HTTP 503"]
        );
        let mut up = Snapshot::empty();
        up.served.push("metrics.k8s.io/v1beta1".into());
        let broke = diff(&up, &down, &DiffOptions::default());
        assert_eq!(broke.regressions.len(), 1, "{broke:?}");
        assert_eq!(broke.regressions[0].code, "api-unavailable");
        assert_eq!(broke.regressions[0].subject, "metrics.k8s.io/v1beta1");
        let recovered = diff(&down, &up, &DiffOptions::default());
        assert!(recovered.regressions.is_empty(), "{recovered:?}");
        assert_eq!(recovered.improvements.len(), 1);
        assert_eq!(recovered.improvements[0].code, "api-recovered");
        let same = diff(&down, &down, &DiffOptions::default());
        assert!(same.regressions.is_empty() && same.improvements.is_empty());
    }

    #[test]
    fn pods_that_land_on_a_pool_their_workload_never_used_are_named() {
        let on = |name: &str, owner: &str, node_name: &str| {
            let mut p = pod(name, owner, &["app"], 1, 0);
            p.node = Some(node_name.into());
            p
        };
        let mut before = Snapshot::empty();
        before.nodes = vec![
            node("db-1", "mongodb", true),
            node("app-1", "general", true),
            node("x-1", "vantiq", true),
        ];
        before.pods = vec![
            on("mongo-0", "StatefulSet data/mongo", "db-1"),
            on("web-1", "Deployment shop/web", "app-1"),
            on("agent-a", "DaemonSet kube-system/agent", "db-1"),
        ];
        let mut after = before.clone();
        // The mongodb pool rolled: its pod now runs on the vantiq pool; the DaemonSet pod
        // runs everywhere anyway; web stays where it was.
        after.pods = vec![
            on("mongo-0", "StatefulSet data/mongo", "x-1"),
            on("web-1", "Deployment shop/web", "app-1"),
            on("agent-b", "DaemonSet kube-system/agent", "x-1"),
        ];
        let d = diff(&before, &after, &DiffOptions::default());
        let moved: Vec<(&str, &str)> = d
            .regressions
            .iter()
            .filter(|c| c.code == "pool-moved")
            .map(|c| (c.subject.as_str(), c.message.as_str()))
            .collect();
        assert_eq!(
            moved,
            [(
                "StatefulSet data/mongo",
                "pods now on pool vantiq (before only on mongodb)"
            )]
        );
        // Pools named by kubelet version change with every roll: not judged.
        let mut by_version = before.clone();
        by_version.nodes = vec![
            node("db-1", "kubelet 1.30", true),
            node("x-1", "kubelet 1.31", true),
        ];
        let mut later = after.clone();
        later.nodes.clone_from(&by_version.nodes);
        let d = diff(&by_version, &later, &DiffOptions::default());
        assert!(
            d.regressions.iter().all(|c| c.code != "pool-moved"),
            "{d:?}"
        );
    }

    fn pod(name: &str, owner: &str, containers: &[&str], ready: u32, restarts: u32) -> Pod {
        Pod {
            namespace: "shop".into(),
            name: name.into(),
            owner: owner.into(),
            node: None,
            phase: "Running".into(),
            containers: containers.iter().map(|c| (*c).to_owned()).collect(),
            ready,
            restarts,
        }
    }

    fn base() -> Snapshot {
        let mut s = Snapshot::empty();
        s.pods = vec![
            pod(
                "web-1",
                "Deployment shop/web",
                &["app", "proxy", "log"],
                3,
                0,
            ),
            pod(
                "web-2",
                "Deployment shop/web",
                &["app", "proxy", "log"],
                3,
                1,
            ),
        ];
        s.helm.push(HelmStatus {
            namespace: "shop".into(),
            name: "web".into(),
            revision: 4,
            status: "deployed".into(),
            chart: None,
            api_versions: vec!["apps/v1".into(), "extensions/v1beta1".into()],
        });
        s.served = vec!["v1".into(), "apps/v1".into(), "extensions/v1beta1".into()];
        s.used_api_versions = vec!["apps/v1".into(), "extensions/v1beta1".into()];
        s
    }

    fn codes(d: &Diff) -> Vec<&str> {
        d.regressions.iter().map(|c| c.code).collect()
    }

    #[test]
    fn a_rolling_restart_is_no_regression() {
        let before = base();
        let mut after = before.clone();
        after.pods = vec![
            pod(
                "web-7",
                "Deployment shop/web",
                &["app", "proxy", "log"],
                3,
                0,
            ),
            pod(
                "web-8",
                "Deployment shop/web",
                &["app", "proxy", "log"],
                3,
                0,
            ),
        ];
        let d = diff(&before, &after, &DiffOptions::default());
        assert!(d.regressions.is_empty(), "{:?}", d.regressions);
        assert_eq!(d.expected[0].code, "pods-replaced");
    }

    #[test]
    fn sidecars_restarts_helm_and_apis() {
        let before = base();
        let mut after = before.clone();
        after.pods[0] = pod("web-1", "Deployment shop/web", &["app", "proxy"], 2, 0);
        after.pods[1].restarts = 9;
        after.helm[0].status = "failed".into();
        after.helm[0].revision = 5;
        after.served.retain(|v| v != "extensions/v1beta1");
        let d = diff(&before, &after, &DiffOptions::default());
        assert_eq!(
            codes(&d),
            [
                "api-not-served",
                "helm-failed",
                "containers-missing",
                "restarts"
            ]
        );
    }

    #[test]
    fn failed_jobs_since_the_first_snapshot() {
        let job = |name: &str, failed: bool| Workload {
            kind: "Job".into(),
            namespace: Some("batch".into()),
            name: name.into(),
            desired: 1,
            ready: u32::from(!failed),
            images: vec![],
            failed,
        };
        let mut before = Snapshot::empty();
        before.workloads = vec![job("old-failure", true), job("nightly-1", false)];
        let mut after = Snapshot::empty();
        // nightly-1 was cleaned up (no regression); nightly-2 ran after the upgrade and failed.
        after.workloads = vec![job("old-failure", true), job("nightly-2", true)];
        let d = diff(&before, &after, &DiffOptions::default());
        assert_eq!(codes(&d), ["job-failed"]);
        assert_eq!(d.regressions[0].subject, "Job batch/nightly-2");
    }

    #[test]
    fn schema_versions() {
        let text = serde_json::to_string(&Snapshot::empty()).unwrap();
        assert_eq!(Snapshot::parse(&text).unwrap(), Snapshot::empty());
        let newer = text.replace("\"schema_version\":1", "\"schema_version\":2");
        assert_eq!(
            Snapshot::parse(&newer),
            Err(SnapshotError::TooNew { found: 2 })
        );
        assert!(matches!(
            Snapshot::parse("{\"nodes\": []}"),
            Err(SnapshotError::Invalid(_))
        ));
    }

    fn node(name: &str, pool: &str, ready: bool) -> Node {
        Node {
            name: name.into(),
            pool: pool.into(),
            kubelet: "v1.34.9".into(),
            runtime: "containerd://2.1.4".into(),
            os_image: "Ubuntu".into(),
            ready,
            unschedulable: false,
        }
    }

    #[test]
    fn a_snapshot_does_not_differ_from_itself() {
        let mut s = base();
        // A Helm manifest naming versions the cluster never served (a failed release).
        s.used_api_versions.push("batch/v1beta1".into());
        s.helm[0].api_versions.push("batch/v1beta1".into());
        s.nodes = vec![
            node("a", "kubelet 1.34", true),
            node("b", "kubelet 1.33", false),
        ];
        s.pdbs.push(Pdb {
            namespace: "shop".into(),
            name: "web".into(),
            allowed_disruptions: 0,
        });
        let d = diff(
            &s,
            &s,
            &DiffOptions {
                restart_threshold: 0,
            },
        );
        assert_eq!(d, Diff::default());
        let fixture = include_str!("../../fixtures/snapshots/schema-v1.json");
        let f = Snapshot::parse(fixture).unwrap();
        assert_eq!(diff(&f, &f, &DiffOptions::default()), Diff::default());
    }

    #[test]
    fn a_node_gone_not_ready_is_reported_once() {
        let mut before = Snapshot::empty();
        before.nodes = (1..=5)
            .map(|i| node(&format!("n{i}"), "kubelet 1.34", true))
            .collect();
        let mut after = before.clone();
        after.nodes[4].ready = false;
        let d = diff(&before, &after, &DiffOptions::default());
        let got: Vec<(&str, &str)> = d
            .regressions
            .iter()
            .map(|c| (c.code, c.subject.as_str()))
            .collect();
        assert_eq!(got, [("node-not-ready", "Node n5")]);
        // A node that left is counted in the total, beside the one named.
        after.nodes.remove(0);
        let d = diff(&before, &after, &DiffOptions::default());
        assert_eq!(d.regressions.len(), 2, "{:?}", d.regressions);
        assert_eq!(
            d.regressions[1].message,
            "5 Ready node(s) before, 3 now (1 of them reported by name)"
        );
    }

    #[test]
    fn pdb_deleted_scaled_to_zero_and_helm_moved_off_a_removed_api() {
        let mut before = base();
        before.served.retain(|v| v != "extensions/v1beta1");
        before.workloads.push(Workload {
            kind: "Deployment".into(),
            namespace: Some("shop".into()),
            name: "web".into(),
            desired: 2,
            ready: 2,
            images: vec![],
            failed: false,
        });
        before.pdbs.push(Pdb {
            namespace: "shop".into(),
            name: "web".into(),
            allowed_disruptions: 1,
        });
        let mut after = before.clone();
        after.pdbs.clear();
        after.workloads[0].desired = 0;
        after.workloads[0].ready = 0;
        after.pods.clear();
        after.helm[0].revision = 5;
        after.helm[0].api_versions = vec!["apps/v1".into(), "networking.k8s.io/v1".into()];
        let d = diff(&before, &after, &DiffOptions::default());
        let show = |cs: &[Change]| -> Vec<String> {
            cs.iter()
                .map(|c| format!("{} {}", c.code, c.subject))
                .collect()
        };
        assert_eq!(
            show(&d.regressions),
            [
                "pdb-gone PodDisruptionBudget shop/web",
                "workload-scaled Deployment shop/web"
            ]
        );
        assert_eq!(
            show(&d.improvements),
            ["helm-api-moved Helm release shop/web"]
        );
        assert!(
            d.improvements[0]
                .message
                .contains("no longer uses extensions/v1beta1"),
            "{}",
            d.improvements[0].message
        );
        assert!(d.expected.is_empty(), "{:?}", d.expected);
        // PDBs that could not be read are a gap, not a loss.
        let mut unread = after.clone();
        unread.unavailable = vec!["poddisruptionbudgets.policy: not served by this cluster".into()];
        let d = diff(&before, &unread, &DiffOptions::default());
        assert_eq!(
            show(&d.regressions),
            ["workload-scaled Deployment shop/web"]
        );
        // Scaled up: expected, not an improvement in readiness.
        let mut up = before.clone();
        up.workloads[0].desired = 4;
        up.workloads[0].ready = 4;
        let d = diff(&before, &up, &DiffOptions::default());
        assert!(
            d.regressions.is_empty() && d.improvements.is_empty(),
            "{d:?}"
        );
        assert_eq!(show(&d.expected), ["workload-scaled Deployment shop/web"]);
    }

    fn eks(groups: &[(&str, &str, &str)], addons: &[(&str, &str)]) -> ProviderState {
        use crate::report::provider::{EksAddon, EksFacts, EksNodegroup};
        ProviderState::Eks(Box::new(EksFacts {
            cluster: "prod".into(),
            region: "eu-west-1".into(),
            version: Some("1.30".into()),
            addons: Ok(addons
                .iter()
                .map(|(n, v)| EksAddon {
                    name: (*n).into(),
                    version: (*v).into(),
                    health: Vec::new(),
                })
                .collect()),
            addon_versions: Ok(BTreeMap::new()),
            nodegroups: Ok(groups
                .iter()
                .map(|(n, v, ami)| EksNodegroup {
                    name: (*n).into(),
                    version: Some((*v).into()),
                    ami_type: Some((*ami).into()),
                    health: Vec::new(),
                })
                .collect()),
            health: Vec::new(),
            support_type: None,
            insights: Ok(Vec::new()),
        }))
    }

    #[test]
    fn provider_node_groups_and_add_ons_are_compared() {
        let mut before = Snapshot::empty();
        before.record_provider(&eks(
            &[
                ("system", "1.30", "AL2_x86_64"),
                ("batch", "1.30", "AL2_x86_64"),
            ],
            &[
                ("coredns", "v1.11.1-eksbuild.9"),
                ("vpc-cni", "v1.18.3-eksbuild.2"),
            ],
        ));
        let mut after = Snapshot::empty();
        after.record_provider(&eks(
            &[("system", "1.31", "AL2023_x86_64_STANDARD")],
            &[("coredns", "v1.11.3-eksbuild.1")],
        ));
        // Written and read back: the provider part survives the file.
        let after = Snapshot::parse(&serde_json::to_string(&after).unwrap()).unwrap();
        let d = diff(&before, &after, &DiffOptions::default());
        let rows: Vec<(&str, &str, &str)> = d
            .regressions
            .iter()
            .chain(&d.expected)
            .map(|c| (c.code, c.subject.as_str(), c.message.as_str()))
            .collect();
        assert_eq!(
            rows,
            [
                ("addon-gone", "add-on vpc-cni", "EKS no longer lists it"),
                (
                    "node-group-gone",
                    "node group batch",
                    "EKS no longer lists it"
                ),
                (
                    "addon-version",
                    "add-on coredns",
                    "v1.11.1-eksbuild.9 → v1.11.3-eksbuild.1"
                ),
                (
                    "node-group-version",
                    "node group system",
                    "version 1.30 → 1.31, image AL2_x86_64 → AL2023_x86_64_STANDARD"
                ),
            ]
        );
    }

    #[test]
    fn a_provider_part_not_read_the_second_time_is_not_a_loss() {
        use crate::report::ErrorKind;
        use crate::report::provider::ProviderProblem;
        let mut before = Snapshot::empty();
        before.record_provider(&eks(
            &[("system", "1.30", "AL2_x86_64")],
            &[("coredns", "v1")],
        ));
        let mut after = Snapshot::empty();
        let mut denied = eks(&[], &[("coredns", "v1")]);
        if let ProviderState::Eks(f) = &mut denied {
            f.nodegroups = Err(ProviderProblem::new(
                ErrorKind::Forbidden,
                "needs eks:ListNodegroups",
                "denied",
            ));
        }
        after.record_provider(&denied);
        assert_eq!(
            after.unavailable,
            ["provider node groups: needs eks:ListNodegroups"]
        );
        let d = diff(&before, &after, &DiffOptions::default());
        assert!(d.regressions.is_empty(), "{:?}", d.regressions);
        // Snapshots without a provider compare as before.
        let plain = Snapshot::empty();
        assert_eq!(
            diff(&plain, &plain, &DiffOptions::default()),
            Diff::default()
        );
    }
}
