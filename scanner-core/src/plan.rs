//! The upgrade plan: hop by hop from the running control plane to the target, with what must
//! happen before each hop (API migrations, node rolls, blockers), add-on versions, the
//! provider's own steps, and the support status of both ends.
//!
//! The plan is computed from facts (apiserver versions, node pools, the provider) and a
//! [`Report`] of the same upgrade (deprecated-API findings and readiness checks), so a live
//! cluster and an offline description give the same kind of plan.
//!
//! ```
//! use scanner_core::plan::{NodePool, Plan, PlanInput, Provider};
//! use scanner_core::{KubeVersion, Report};
//!
//! // Worked example A: 1.29 → 1.33 with every node at 1.27.
//! let mut input = PlanInput::new(vec![KubeVersion::new(1, 29)], KubeVersion::new(1, 33));
//! input.pools = vec![NodePool::new("workers", KubeVersion::new(1, 27), 3)];
//! input.provider = Provider::Generic;
//! input.catalog_newest = Some(KubeVersion::new(1, 36));
//! let plan = Plan::build(input, None).unwrap();
//! let hops: Vec<String> = plan.hops.iter().map(|h| h.to.to_string()).collect();
//! assert_eq!(hops, ["1.30", "1.31", "1.32", "1.33"]);
//! // One roll to 1.30 before the 1.31 hop, one to 1.33 at the end.
//! assert_eq!(plan.node_rolls(), 2);
//! assert_eq!(plan.hops[1].node_rolls[0].to, KubeVersion::new(1, 30));
//! ```

use std::collections::BTreeMap;
use std::fmt;

use api_catalog::{ApiStatus, KubeVersion};
use serde::Serialize;
use thiserror::Error;

use crate::checks::add002::kubeadm_coredns;
use crate::checks::path003::{Calendar, Date, End, judge, releases};
use crate::checks::skew001::{Skew, oldest_allowed, skew};
use crate::checks::skew004::{self, Spread, spread};
use crate::checks::skew006::{kubectl_range, outside};
use crate::checks::util::lag;
use crate::report::{CodeInfo, Finding, Origin, PathStep, Report, Severity};

/// Every code only the plan reports, declared once (see [`crate::registry`]): none now. The
/// plan carries readiness findings under their checks' codes, and judges the apiservers'
/// spread with SKEW004's own rule ([`crate::checks::skew004::spread`]).
pub static CODES: &[&CodeInfo] = &[];

/// Where the cluster runs: decides the commands named in the playbook and extra rules.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Provider {
    /// Amazon EKS.
    Eks,
    /// Azure AKS.
    Aks,
    /// Google GKE.
    Gke,
    /// Self-managed with kubeadm.
    Kubeadm,
    /// k3s.
    K3s,
    /// Unknown: generic steps.
    #[default]
    Generic,
}

impl Provider {
    /// Every provider, for argument parsing.
    pub const ALL: [Provider; 6] = [
        Self::Eks,
        Self::Aks,
        Self::Gke,
        Self::Kubeadm,
        Self::K3s,
        Self::Generic,
    ];

    /// The name on the command line and in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Eks => "eks",
            Self::Aks => "aks",
            Self::Gke => "gke",
            Self::Kubeadm => "kubeadm",
            Self::K3s => "k3s",
            Self::Generic => "generic",
        }
    }

    /// For people.
    pub fn title(self) -> &'static str {
        match self {
            Self::Eks => "Amazon EKS",
            Self::Aks => "Azure AKS",
            Self::Gke => "Google GKE",
            Self::Kubeadm => "kubeadm",
            Self::K3s => "k3s",
            Self::Generic => "generic Kubernetes",
        }
    }

    /// Tells the provider from what a cluster shows: the server's `gitVersion` and node labels.
    pub fn detect<'a>(
        server_version: Option<&str>,
        node_labels: impl IntoIterator<Item = &'a str>,
    ) -> Self {
        let v = server_version.unwrap_or_default();
        if v.contains("-eks-") {
            return Self::Eks;
        }
        if v.contains("-gke.") {
            return Self::Gke;
        }
        if v.contains("+k3s") {
            return Self::K3s;
        }
        let mut kubeadm = false;
        for label in node_labels {
            if label.starts_with("eks.amazonaws.com/") {
                return Self::Eks;
            }
            if label.starts_with("kubernetes.azure.com/") {
                return Self::Aks;
            }
            if label.starts_with("cloud.google.com/gke-") {
                return Self::Gke;
            }
            if label == "node-role.kubernetes.io/control-plane" {
                kubeadm = true;
            }
        }
        if kubeadm {
            Self::Kubeadm
        } else {
            Self::Generic
        }
    }

    /// Whether the provider runs the control plane (no etcd to back up yourself).
    pub fn managed(self) -> bool {
        matches!(self, Self::Eks | Self::Aks | Self::Gke)
    }
}

impl fmt::Display for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Nodes that are upgraded together (a node group, node pool, or the nodes at one version).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct NodePool {
    /// Its name (`ng-1`, or `kubelet 1.27` when the cluster names no pools).
    pub name: String,
    /// Its kubelet minor (the oldest among its nodes).
    pub kubelet: KubeVersion,
    /// How many nodes it has.
    pub nodes: usize,
}

impl NodePool {
    /// A pool.
    pub fn new(name: impl Into<String>, kubelet: KubeVersion, nodes: usize) -> Self {
        Self {
            name: name.into(),
            kubelet,
            nodes,
        }
    }
}

/// What a plan is computed from.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct PlanInput {
    /// The minor of every apiserver instance (one for a managed or single control plane).
    pub apiservers: Vec<KubeVersion>,
    /// The target minor.
    pub target: KubeVersion,
    /// Node pools.
    pub pools: Vec<NodePool>,
    /// The kubectl version pipelines use, when known.
    pub kubectl: Option<KubeVersion>,
    /// Where the cluster runs.
    pub provider: Provider,
    /// Today as `YYYY-MM-DD`, for end-of-life warnings (`None`: not judged).
    pub today: Option<String>,
    /// The newest release the catalog covers.
    pub catalog_newest: Option<KubeVersion>,
    /// EKS, when its API was read: the cluster's name and, per hop's minor, each managed
    /// add-on's version to move to (ADD001's table), which replace the placeholders in the
    /// add-on commands.
    pub eks_addons: Option<EksAddonPlan>,
    /// EKS's `upgradePolicy.supportType` (`STANDARD`, `EXTENDED`), when read: with `STANDARD`
    /// a minor past its standard support is upgraded by EKS itself.
    pub eks_support_type: Option<String>,
    /// AKS, when its API was read: the names the commands need, each pool's upgrade
    /// settings, and the versions AKS offers.
    pub aks: Option<AksPlan>,
}

/// What the AKS API says the plan's commands and rolls need.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct AksPlan {
    /// The cluster's name.
    pub cluster: String,
    /// Its resource group.
    pub resource_group: String,
    /// `KubernetesOfficial` or `AKSLongTermSupport`, when read.
    pub support_plan: Option<String>,
    /// The agent pools, by name.
    pub pools: Vec<AksPoolPlan>,
    /// Per minor, the exact version to upgrade to: the newest generally available one the
    /// upgrade profile offers (it lists versions reachable from the running one, so only the
    /// first hop has one; later hops use the minor alone, which AKS resolves to its newest
    /// patch).
    pub offered: BTreeMap<KubeVersion, String>,
}

/// One AKS agent pool's upgrade settings.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct AksPoolPlan {
    /// Its name.
    pub name: String,
    /// `System` or `User`.
    pub mode: Option<String>,
    /// Nodes.
    pub nodes: Option<u64>,
    /// `maxSurge`, or AKS's default named so.
    pub max_surge: String,
    /// Minutes AKS waits for each node's drain (`drainTimeoutInMinutes`, default 30).
    pub drain_minutes: u64,
    /// Whether the drain timeout is AKS's default.
    pub drain_default: bool,
    /// `undrainableNodeBehavior`, when set.
    pub undrainable: Option<String>,
}

impl AksPlan {
    /// The plan's view of the facts read from the AKS API.
    pub fn from_facts(facts: &crate::report::provider::AksFacts) -> Self {
        let pools = facts
            .pools
            .as_ref()
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .map(|p| AksPoolPlan {
                name: p.name.clone(),
                mode: p.mode.clone(),
                nodes: p.count,
                max_surge: p.surge(),
                drain_minutes: p.drain_minutes(),
                drain_default: p.drain_timeout_minutes.is_none(),
                undrainable: p.undrainable_node_behavior.clone(),
            })
            .collect();
        let mut offered: BTreeMap<KubeVersion, (Vec<u32>, String)> = BTreeMap::new();
        for u in facts
            .upgrades
            .as_ref()
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .filter(|u| !u.preview)
        {
            // The running minor's newer patches are no hop.
            let Ok(minor) = u.version.parse::<KubeVersion>() else {
                continue;
            };
            if facts.control_plane().is_some_and(|cp| minor <= cp) {
                continue;
            }
            // Compare patches as numbers: 1.31.10 is newer than 1.31.9.
            let key: Vec<u32> = u
                .version
                .split('.')
                .map(|n| n.parse().unwrap_or(0))
                .collect();
            let entry = offered
                .entry(minor)
                .or_insert_with(|| (key.clone(), u.version.clone()));
            if key > entry.0 {
                *entry = (key, u.version.clone());
            }
        }
        Self {
            cluster: facts.cluster.clone(),
            resource_group: facts.resource_group.clone(),
            support_plan: facts.support_plan.clone(),
            pools,
            offered: offered.into_iter().map(|(m, (_, v))| (m, v)).collect(),
        }
    }

    /// The version to give `az aks` for the hop to `to`.
    fn version(&self, to: KubeVersion) -> String {
        self.offered
            .get(&to)
            .cloned()
            .unwrap_or_else(|| to.to_string())
    }

    /// `az aks nodepool upgrade` for `pool` to `to`, with the cluster's names.
    pub fn pool_command(&self, pool: &str, to: KubeVersion) -> String {
        format!(
            "`az aks nodepool upgrade --resource-group {} --cluster-name {} --name {pool} --kubernetes-version {}`",
            self.resource_group,
            self.cluster,
            self.version(to)
        )
    }
}

/// The managed add-on versions to install at each hop, from the EKS API.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EksAddonPlan {
    /// The EKS cluster's name.
    pub cluster: String,
    /// Per minor: `(add-on, version)`, by add-on name.
    pub versions: BTreeMap<KubeVersion, Vec<(String, String)>>,
}

impl EksAddonPlan {
    /// The plan ADD001's facts give: per hop's minor, the version EKS recommends there (its
    /// default, else the newest compatible) for every installed managed add-on.
    pub fn from_facts(facts: &crate::report::provider::EksFacts, hops: &[KubeVersion]) -> Self {
        let mut versions = BTreeMap::new();
        for &hop in hops {
            let list: Vec<(String, String)> = facts
                .addons
                .as_ref()
                .map(Vec::as_slice)
                .unwrap_or_default()
                .iter()
                .filter_map(|a| {
                    let to = facts.addon_versions_at(&a.name, hop)?.recommended()?;
                    Some((a.name.clone(), to.to_owned()))
                })
                .collect();
            if !list.is_empty() {
                versions.insert(hop, list);
            }
        }
        Self {
            cluster: facts.cluster.clone(),
            versions,
        }
    }
}

impl PlanInput {
    /// A plan from `apiservers` to `target`, with no node pools, no kubectl version, a generic
    /// provider and no dates; set the other fields as they are known.
    pub fn new(apiservers: Vec<KubeVersion>, target: KubeVersion) -> Self {
        Self {
            apiservers,
            target,
            pools: Vec::new(),
            kubectl: None,
            provider: Provider::default(),
            today: None,
            catalog_newest: None,
            eks_addons: None,
            eks_support_type: None,
            aks: None,
        }
    }
}

/// Why no plan can be made.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum PlanError {
    /// No apiserver version was given.
    #[error("no control-plane version: give --current or scan a cluster")]
    NoControlPlane,
    /// The control plane is already at the target.
    #[error(
        "the control plane is already at {0}: there is nothing to upgrade (give a newer --target-version; `upcheck cluster -t {0}` checks the cluster as it is)"
    )]
    AlreadyAtTarget(KubeVersion),
    /// The target is older than the control plane.
    #[error(
        "the target {target} is older than the running control plane {current}: Kubernetes does not support downgrades; restore a backup taken on {target} instead"
    )]
    Downgrade {
        /// The running minor.
        current: KubeVersion,
        /// The older target.
        target: KubeVersion,
    },
}

/// A warning about support: end of life, or a target the catalog does not cover.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SupportNote {
    /// The minor it is about.
    pub version: KubeVersion,
    /// For people.
    pub message: String,
}

/// A node pool roll before a hop (or after the last one).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct NodeRoll {
    /// The pool.
    pub pool: String,
    /// Its kubelet minor before the roll.
    pub from: KubeVersion,
    /// The minor it is rolled to (the control plane's at that moment, never newer).
    pub to: KubeVersion,
    /// Whether the plan cannot go on without it (a blocker) or it is only recommended.
    pub required: bool,
    /// Why.
    pub reason: String,
}

/// Objects using one API version that a hop removes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RemovedApi {
    /// `apiVersion kind`.
    pub api: String,
    /// What to migrate to.
    pub replacement: Option<String>,
    /// When this is a later move of the objects' migration path: their `apiVersion kind` as
    /// found (an earlier move took them to `api`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub found_as: Option<String>,
    /// The objects (`Ingress shop/web (deploy/web.yaml:3)`).
    pub objects: Vec<String>,
}

/// A readiness finding that applies to a hop or to the whole upgrade.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Blocker {
    /// The check code.
    pub code: String,
    /// How bad.
    pub severity: Severity,
    /// The object.
    pub object: String,
    /// For people.
    pub message: String,
}

/// One control-plane minor upgrade.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Hop {
    /// The control plane before the hop (the oldest apiserver).
    pub from: KubeVersion,
    /// The control plane after it.
    pub to: KubeVersion,
    /// True when the hop finishes an upgrade already under way (apiservers at two minors).
    pub finishing: bool,
    /// Node pools to roll before the hop.
    pub node_rolls: Vec<NodeRoll>,
    /// APIs this hop removes that are still in use.
    pub removed_apis: Vec<RemovedApi>,
    /// Clients still calling APIs this hop removes (the apiserver's metric).
    pub removed_api_clients: Vec<String>,
    /// Readiness findings tied to this hop.
    pub blockers: Vec<Blocker>,
    /// The `CoreDNS` version kubeadm ships with `to` (a reference for other providers).
    pub coredns: Option<String>,
    /// The kubectl range the hop's control plane supports.
    pub kubectl_range: (KubeVersion, KubeVersion),
    /// The provider's steps for the hop, in order.
    pub steps: Vec<String>,
}

/// The plan.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Plan {
    /// The oldest apiserver minor.
    pub current: KubeVersion,
    /// Every apiserver minor, as given.
    pub apiservers: Vec<KubeVersion>,
    /// The target minor.
    pub target: KubeVersion,
    /// Where the cluster runs.
    pub provider: Provider,
    /// Node pools as they are.
    pub pools: Vec<NodePool>,
    /// Support-status warnings.
    pub support: Vec<SupportNote>,
    /// Blockers that stop the plan before any hop (apiservers too far apart, nodes newer than
    /// the control plane, readiness findings not tied to a hop).
    pub before: Vec<Blocker>,
    /// APIs already removed at the running version, or removed after the target but deprecated.
    pub fix_now: Vec<RemovedApi>,
    /// Deprecated APIs that the target still serves (removed later): migrate before the next upgrade.
    pub later: Vec<RemovedApi>,
    /// The hops, in order.
    pub hops: Vec<Hop>,
    /// Rolls after the last hop, to bring nodes to the target.
    pub after_rolls: Vec<NodeRoll>,
    /// What to back up before the first hop.
    pub backups: Vec<String>,
    /// What to check after the last hop.
    pub after_checks: Vec<String>,
    /// AKS, when its API was read: names, pools and offered versions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aks: Option<AksPlan>,
}

impl Plan {
    /// Builds the plan; `report` (the deprecated-API scan and readiness checks judged at the
    /// target) fills in migrations and blockers.
    pub fn build(input: PlanInput, report: Option<&Report>) -> Result<Self, PlanError> {
        let a_lo = *input
            .apiservers
            .iter()
            .min()
            .ok_or(PlanError::NoControlPlane)?;
        let a_hi = *input
            .apiservers
            .iter()
            .max()
            .ok_or(PlanError::NoControlPlane)?;
        let target = input.target;
        if target < a_hi {
            return Err(PlanError::Downgrade {
                current: a_hi,
                target,
            });
        }
        if target == a_hi && a_lo == a_hi {
            return Err(PlanError::AlreadyAtTarget(target));
        }
        let mut before = Vec::new();
        // SKEW004's rule; a roll one minor apart is the finishing hop below, not a blocker.
        if let Some(s @ Spread::TooFar { .. }) = spread(&input.apiservers) {
            before.push(Blocker {
                code: skew004::CHECK.code.into(),
                severity: s.severity(),
                object: "control plane".into(),
                message: s.message(""),
            });
        }

        // Hops: finish a roll under way first, then one minor at a time.
        let mut hops = Vec::new();
        if a_lo < a_hi {
            hops.push(hop(
                a_lo,
                a_hi,
                true,
                input.provider,
                input.eks_addons.as_ref(),
                input.aks.as_ref(),
            ));
        }
        let mut v = a_hi;
        while v < target {
            let next = v.next_minor();
            hops.push(hop(
                v,
                next,
                false,
                input.provider,
                input.eks_addons.as_ref(),
                input.aks.as_ref(),
            ));
            v = next;
        }

        // Node rolls, pool by pool: the fewest rolls keep each pool inside the window, rolling
        // it to the control plane's minor at the moment it would fall out.
        let mut after_rolls = Vec::new();
        for pool in &input.pools {
            let mut at = pool.kubelet;
            for h in &mut hops {
                let s = h.from;
                // The kubelet window is SKEW001's; EKS adds its own stricter rule.
                let roll = match skew(s, h.to, at) {
                    Some(Skew::Newer) => Some(format!(
                        "kubelet {at} is newer than the {s} control plane (SKEW001: a kubelet may never be newer than any apiserver): replace the nodes with {s} ones"
                    )),
                    Some(Skew::TooOld { needs }) => Some(format!(
                        "after the {} hop a kubelet must be at least {needs} (SKEW001; {at} may trail by {})",
                        h.to,
                        lag(at)
                    )),
                    None if input.provider == Provider::Eks && at < s => Some(format!(
                        "EKS asks managed node groups and Fargate to match the control plane ({s}) before it moves (a stricter rule than the upstream skew; self-managed nodes may trail)"
                    )),
                    None => None,
                };
                if let Some(reason) = roll {
                    h.node_rolls.push(NodeRoll {
                        pool: pool.name.clone(),
                        from: at,
                        to: s,
                        required: true,
                        reason,
                    });
                    at = s;
                }
            }
            if at < target {
                let must = at <= oldest_allowed(target, at);
                after_rolls.push(NodeRoll {
                    pool: pool.name.clone(),
                    from: at,
                    to: target,
                    required: must,
                    reason: if must {
                        format!(
                            "at {at} the pool is as old as a {target} control plane allows: it must move before the next control-plane upgrade"
                        )
                    } else {
                        format!("align with the {target} control plane")
                    },
                });
            }
        }

        // kubectl, per hop.
        if let Some(k) = input.kubectl {
            for h in &hops {
                if outside(k, h.to) {
                    let (lo, hi) = h.kubectl_range;
                    before.push(Blocker {
                        code: crate::checks::skew006::CHECK.code.into(),
                        // The check's own severity: the plan does not make it worse.
                        severity: crate::checks::skew006::CHECK.severity,
                        object: format!("kubectl {k}"),
                        message: format!(
                            "kubectl {k} is outside the {lo}–{hi} range a {} control plane supports: update pipelines and runbooks before the {} hop",
                            h.to, h.to
                        ),
                    });
                    break;
                }
            }
        }

        let support = support(&input);
        let mut plan = Plan {
            current: a_lo,
            apiservers: input.apiservers,
            target,
            provider: input.provider,
            pools: input.pools,
            support,
            before,
            fix_now: Vec::new(),
            later: Vec::new(),
            hops,
            after_rolls,
            backups: backups(input.provider),
            after_checks: after_checks(target),
            aks: input.aks,
        };
        if let Some(r) = report {
            plan.add_report(r, a_hi);
        }
        Ok(plan)
    }

    /// Node rolls in the plan, the final alignment included.
    pub fn node_rolls(&self) -> usize {
        self.hops.iter().map(|h| h.node_rolls.len()).sum::<usize>() + self.after_rolls.len()
    }

    /// Whether something blocks the plan.
    pub fn has_blockers(&self) -> bool {
        self.before
            .iter()
            .chain(self.hops.iter().flat_map(|h| &h.blockers))
            .any(|b| b.severity == Severity::Blocker)
    }

    fn add_report(&mut self, report: &Report, running: KubeVersion) {
        for f in &report.findings {
            if f.component == "k8s"
                && let Some(path) = f.replacement.as_ref().map(|r| &r.path)
                && !path.is_empty()
            {
                self.add_path(f, path, running);
                continue;
            }
            let removed = f.removed_in.filter(|_| f.component == "k8s");
            match removed.and_then(|r| self.hops.iter_mut().find(|h| h.to == r && !h.finishing)) {
                Some(h) => add_api(&mut h.removed_apis, f),
                None => match removed {
                    Some(r) if r > self.target => add_api(&mut self.later, f),
                    Some(r) if r <= running => add_api(&mut self.fix_now, f),
                    _ if f.status == ApiStatus::Deprecated => add_api(&mut self.later, f),
                    _ => add_api(&mut self.fix_now, f),
                },
            }
        }
        if let Some(c) = &report.cluster {
            for r in &c.requested_apis {
                let Ok(removed) = r.request.removed_release.parse::<KubeVersion>() else {
                    continue;
                };
                if let Some(h) = self.hops.iter_mut().find(|h| h.to == removed) {
                    h.removed_api_clients.push(r.message.clone());
                }
            }
            // Clients the provider saw (EKS insights) go to the hop that removes their API.
            for r in &c.provider_api_clients {
                let Some(removed) = r.removed_in.as_deref().and_then(|v| v.parse().ok()) else {
                    continue;
                };
                if let Some(h) = self
                    .hops
                    .iter_mut()
                    .find(|h: &&mut Hop| h.to == removed && !h.finishing)
                {
                    h.removed_api_clients.push(r.message.clone());
                }
            }
        }
        if let Some(readiness) = &report.readiness {
            for f in &readiness.findings {
                // PATH001 describes the hops; the plan shows them itself. Node skew is planned
                // above from the pools, so SKEW001 rows would repeat it. Notes stay out, except
                // HLT004's: pausing a reconciler is a step of the window.
                // SKEW004 is judged above from the same apiservers with the same rule, and
                // API001's clients are the hops' `removed_api_clients`, from the same metric.
                // PATH003's support windows are the plan's support notes (the same rule).
                if matches!(
                    f.code.as_str(),
                    "PATH001" | "PATH003" | "SKEW001" | "SKEW004" | "API001"
                ) || (f.severity == Severity::Info && f.code != "HLT004")
                {
                    continue;
                }
                let b = Blocker {
                    code: f.code.clone(),
                    severity: f.severity,
                    object: f.object.clone(),
                    message: f.message.clone(),
                };
                match f
                    .hop
                    .and_then(|hop| self.hops.iter_mut().find(|h| h.to == hop))
                {
                    Some(h) => h.blockers.push(b),
                    None => self.before.push(b),
                }
            }
        }
    }
}

impl Plan {
    /// Each move of a finding's migration path goes where it must happen: before the hop that
    /// removes the version it moves from (the path's `latest` is the release before that
    /// hop, and the new version is served there), at once when that version is already gone,
    /// or after the upgrade when the version moved from is still served at the target.
    fn add_path(&mut self, f: &Finding, path: &[PathStep], running: KubeVersion) {
        let found = format!("{} {}", f.api_version, f.kind);
        for (i, step) in path.iter().enumerate() {
            let (from, from_removed) = match i {
                0 => (found.clone(), f.removed_in),
                _ => (path[i - 1].display(), path[i - 1].removed_in),
            };
            let found_as = (i > 0).then(|| found.clone());
            let hop = self
                .hops
                .iter_mut()
                .find(|h| h.from == step.latest && !h.finishing);
            let list = match from_removed {
                Some(r) if r <= running => &mut self.fix_now,
                Some(r) if r <= self.target => match hop {
                    Some(h) => &mut h.removed_apis,
                    None => &mut self.fix_now,
                },
                _ => &mut self.later,
            };
            add_entry(list, f, from, Some(step.display()), found_as);
        }
    }
}

fn add_api(list: &mut Vec<RemovedApi>, f: &Finding) {
    let replacement = f.replacement.as_ref().map(|r| match &r.kind {
        Some(k) => format!("{} {k}", r.api_version),
        None => r.api_version.clone(),
    });
    add_entry(
        list,
        f,
        format!("{} {}", f.api_version, f.kind),
        replacement,
        None,
    );
}

fn add_entry(
    list: &mut Vec<RemovedApi>,
    f: &Finding,
    api: String,
    replacement: Option<String>,
    found_as: Option<String>,
) {
    let object = match (&f.namespace, &f.name) {
        (Some(ns), Some(n)) => format!("{ns}/{n}"),
        (None, Some(n)) => n.clone(),
        _ => "(unnamed)".into(),
    };
    let place = match &f.origin {
        None => format!("{}:{}", f.location.path, f.location.line),
        Some(Origin::Object { .. }) => "in the cluster".into(),
        Some(Origin::Helm {
            release, namespace, ..
        }) => format!("Helm release {namespace}/{release}"),
    };
    let entry = format!("{object} ({place})");
    match list
        .iter_mut()
        .find(|a| a.api == api && a.replacement == replacement && a.found_as == found_as)
    {
        Some(a) => a.objects.push(entry),
        None => list.push(RemovedApi {
            api,
            replacement,
            found_as,
            objects: vec![entry],
        }),
    }
}

fn hop(
    from: KubeVersion,
    to: KubeVersion,
    finishing: bool,
    provider: Provider,
    eks: Option<&EksAddonPlan>,
    aks: Option<&AksPlan>,
) -> Hop {
    let dns = kubeadm_coredns(to);
    let mut steps = steps(provider, to, dns.as_deref(), finishing);
    if provider == Provider::Aks
        && let Some(plan) = aks
        && let Some(at) = steps.iter().position(|l| l.starts_with("Control plane:"))
    {
        // The cluster's own names and the version AKS offers, then every pool after the
        // control plane, with the settings that decide how long its roll takes.
        steps[at] = format!(
            "Control plane: `az aks upgrade --resource-group {} --name {} --kubernetes-version {} --control-plane-only` (AKS refuses while an API removed in {to} was called in the last 12 hours)",
            plan.resource_group,
            plan.cluster,
            plan.version(to)
        );
        for (i, pool) in plan.pools.iter().enumerate() {
            let mode = pool.mode.as_deref().unwrap_or("pool");
            let nodes = pool
                .nodes
                .map_or_else(String::new, |n| format!(", {n} nodes"));
            let drain = if pool.drain_default {
                format!("drain timeout {} min (AKS's default)", pool.drain_minutes)
            } else {
                format!("drain timeout {} min", pool.drain_minutes)
            };
            let undrainable = pool
                .undrainable
                .as_deref()
                .map_or_else(String::new, |u| format!("; undrainableNodeBehavior {u}"));
            steps.insert(
                at + 1 + i,
                format!(
                    "Node pool {} ({mode}{nodes}; maxSurge {}, {drain}{undrainable}): {}",
                    pool.name,
                    pool.max_surge,
                    plan.pool_command(&pool.name, to)
                ),
            );
        }
    }
    if provider == Provider::Eks
        && let Some(plan) = eks
        && let Some(versions) = plan.versions.get(&to)
        && let Some(line) = steps.iter_mut().find(|l| l.starts_with("Managed add-ons:"))
    {
        // The exact versions the EKS API lists for this minor, in place of the placeholder.
        let commands: Vec<String> = versions
            .iter()
            .map(|(addon, version)| {
                format!(
                    "`aws eks update-addon --cluster-name {} --addon-name {addon} --addon-version {version}`",
                    plan.cluster
                )
            })
            .collect();
        *line = format!(
            "Managed add-ons, after the control plane (versions EKS lists for {to}): {}",
            commands.join(", ")
        );
    }
    Hop {
        from,
        to,
        finishing,
        node_rolls: Vec::new(),
        removed_apis: Vec::new(),
        removed_api_clients: Vec::new(),
        blockers: Vec::new(),
        steps,
        coredns: dns,
        kubectl_range: kubectl_range(to),
    }
}

/// The provider's commands for one hop, in the order the provider wants them.
fn steps(provider: Provider, to: KubeVersion, dns: Option<&str>, finishing: bool) -> Vec<String> {
    let dns_line = dns.map_or_else(
        || "CoreDNS to a version supported at this minor".to_owned(),
        |d| {
            format!(
                "CoreDNS to {d} (what kubeadm ships with {to}) or the provider's build for {to}"
            )
        },
    );
    let mut s = match provider {
        Provider::Eks => vec![
            format!("Control plane: `aws eks update-cluster-version --name CLUSTER --kubernetes-version {to}` and wait for the update to finish"),
            format!("Managed add-ons: `aws eks update-addon --cluster-name CLUSTER --addon-name kube-proxy|coredns|vpc-cni --addon-version VERSION` with versions listed for {to} (`aws eks describe-addon-versions --kubernetes-version {to}`)"),
            format!("Cluster Autoscaler: its minor must be {to}"),
            "Fargate: restart Fargate workloads so their pods get the new kubelet".to_owned(),
        ],
        Provider::Aks => vec![
            format!("Control plane: `az aks upgrade --resource-group RG --name CLUSTER --control-plane-only --kubernetes-version {to}.x` (AKS refuses while an API removed in {to} was called in the last 12 hours)"),
            "Add-ons are upgraded by AKS with the control plane; check `az aks show` for their state".to_owned(),
        ],
        Provider::Gke => vec![
            format!("Control plane: `gcloud container clusters upgrade CLUSTER --master --cluster-version {to}`"),
            format!("Managed add-ons (kube-dns/CoreDNS, kube-proxy) follow the control plane; check {dns_line}"),
        ],
        Provider::Kubeadm => vec![
            format!("First control-plane node: upgrade the kubeadm package to {to}, `kubeadm upgrade plan`, then `kubeadm upgrade apply v{to}.x`"),
            format!("Other control-plane nodes: upgrade kubeadm to {to}, `kubeadm upgrade node`"),
            format!("Control-plane kubelets: drain, upgrade kubelet and kubectl packages to {to}, restart kubelet, uncordon (one node at a time)"),
            // kube-proxy follows the control plane's version; CoreDNS has its own numbering.
            match dns {
                Some(d) => format!("Add-ons: kubeadm upgrades kube-proxy to {to} and CoreDNS to {d} (what kubeadm ships with {to}); upgrade the CNI and CSI drivers to versions supported at {to}"),
                None => format!("Add-ons: kubeadm upgrades kube-proxy to {to} and CoreDNS to the version it ships with {to}; upgrade the CNI and CSI drivers to versions supported at {to}"),
            },
        ],
        Provider::K3s => vec![
            format!("Servers: upgrade with the system-upgrade-controller (a Plan with `version: v{to}.x+k3s1`, servers first) or `curl -sfL https://get.k3s.io | INSTALL_K3S_VERSION=v{to}.x+k3s1 sh -` one server at a time"),
            "Bundled add-ons (CoreDNS, Traefik, metrics-server) come with the k3s release".to_owned(),
        ],
        Provider::Generic => vec![
            format!("Control plane: every kube-apiserver to {to}, then kube-controller-manager, kube-scheduler and cloud-controller-manager"),
            format!("Add-ons: kube-proxy to {to} (never newer than the control plane), {dns_line}, CNI and CSI drivers to versions supported at {to}"),
        ],
    };
    if finishing {
        s.insert(
            0,
            format!(
                "Finish the upgrade under way: every apiserver to {to} before anything else starts"
            ),
        );
    }
    s.push(format!(
        "Re-scan: `upcheck cluster -t {to}` (the apiserver restart reset the deprecated-API metric), and compare with the capture taken before"
    ));
    s
}

impl Plan {
    /// The upgrade command for `pool` to `to`: with the cluster's names when the provider's
    /// API was read (AKS), else the provider's command with placeholders.
    pub fn pool_command(&self, pool: &str, to: KubeVersion) -> String {
        match &self.aks {
            Some(aks) if self.provider == Provider::Aks => aks.pool_command(pool, to),
            _ => pool_command(self.provider, pool, to),
        }
    }
}

/// The pool upgrade command for a provider.
pub fn pool_command(provider: Provider, pool: &str, to: KubeVersion) -> String {
    match provider {
        Provider::Eks => format!(
            "`aws eks update-nodegroup-version --cluster-name CLUSTER --nodegroup-name {pool} --kubernetes-version {to}` (self-managed nodes: new launch template with the {to} AMI)"
        ),
        Provider::Aks => format!(
            "`az aks nodepool upgrade --resource-group RG --cluster-name CLUSTER --name {pool} --kubernetes-version {to}.x`"
        ),
        Provider::Gke => format!(
            "`gcloud container clusters upgrade CLUSTER --node-pool {pool} --cluster-version {to}`"
        ),
        Provider::Kubeadm => format!(
            "per node: `kubectl drain NODE --ignore-daemonsets --delete-emptydir-data`, upgrade kubeadm to {to}, `kubeadm upgrade node`, upgrade kubelet to {to}, restart it, `kubectl uncordon NODE`"
        ),
        Provider::K3s => format!(
            "agents: system-upgrade-controller Plan for agents at `v{to}.x+k3s1` (drain enabled)"
        ),
        Provider::Generic => format!(
            "drain each node, replace or upgrade it to {to}, uncordon; one node (or surge batch) at a time"
        ),
    }
}

fn backups(provider: Provider) -> Vec<String> {
    let mut b = Vec::new();
    if provider.managed() {
        b.push(format!(
            "{} runs etcd: export what you would need to rebuild (Velero or `kubectl get` of every namespace) and keep the cluster's IaC at the current version",
            provider.title()
        ));
    } else {
        b.push("etcd snapshot on a control-plane node: `ETCDCTL_API=3 etcdctl snapshot save before-upgrade.db` (with the etcd client certificates), copied off the node".to_owned());
        b.push("Copy /etc/kubernetes (PKI, static-pod manifests, kubeconfigs) from each control-plane node".to_owned());
    }
    b.push("Stateful workloads: take their own backups (databases, volumes snapshots)".to_owned());
    b.push("Capture the state to compare after each hop: `upcheck snapshot save -o before-upgrade.json` (after each hop, `upcheck snapshot diff before-upgrade.json` names what regressed), `kubectl get nodes -o wide`, `kubectl get pods -A -o wide`".to_owned());
    b
}

fn after_checks(target: KubeVersion) -> Vec<String> {
    vec![
        format!("`upcheck cluster -t {target}`: no removed APIs, no readiness blockers"),
        "Every node Ready and at the target minor: `kubectl get nodes -o wide`".to_owned(),
        "No pod stuck Pending, CrashLoopBackOff or ImagePullBackOff: `kubectl get pods -A --field-selector=status.phase!=Running,status.phase!=Succeeded`".to_owned(),
        format!("kubectl in pipelines and runbooks within one minor of {target}"),
        "`upcheck snapshot diff before-upgrade.json`: compare with the capture taken before the upgrade; fix regressions before closing the story".to_owned(),
    ]
}

fn support(input: &PlanInput) -> Vec<SupportNote> {
    let table = releases();
    let mut out = Vec::new();
    // The plan starts from the oldest apiserver: mid-upgrade (1.33, 1.32, 1.32) the cluster as
    // a whole still runs 1.32, and that is the version whose support matters until the end.
    let lo = *input.apiservers.iter().min().unwrap_or(&input.target);
    let hi = *input.apiservers.iter().max().unwrap_or(&input.target);
    let (running, running_text) = if lo < hi {
        (End::OldestApiserver, "oldest apiserver's")
    } else {
        (End::Running, "running")
    };
    // AKS keeps its own calendar (and LTS); the others are PATH003's rule, on the calendar of
    // the cluster's provider: the plan shows what has already closed (warnings), PATH003 also
    // what closes soon.
    if input.provider == Provider::Aks {
        aks_support(input, lo, running_text, &mut out);
    }
    let calendar = if input.provider == Provider::Eks {
        Calendar::Eks(input.eks_support_type.as_deref())
    } else {
        Calendar::Upstream
    };
    if let Some(today) = &input.today {
        if input.provider != Provider::Aks
            && let Ok(day) = today.parse::<Date>()
        {
            for (v, end) in [(lo, running), (input.target, End::Target)] {
                if let Some(verdict) = judge(v, end, day, calendar)
                    && verdict.severity == Severity::Warning
                {
                    out.push(SupportNote {
                        version: v,
                        message: verdict.message,
                    });
                }
            }
        }
        if let Some(r) = table.iter().find(|r| r.minor == input.target)
            && r.released
                .as_ref()
                .is_none_or(|d| d.as_str() > today.as_str())
        {
            out.push(SupportNote {
                version: input.target,
                message: format!("{} is not released yet", input.target),
            });
        }
    }
    if table.iter().all(|r| r.minor != input.target) {
        out.push(SupportNote {
            version: input.target,
            message: format!("{} is not in upcheck's release table", input.target),
        });
    }
    if let Some(newest) = input.catalog_newest
        && input.target > newest
    {
        out.push(SupportNote {
            version: input.target,
            message: format!(
                "the catalog covers releases up to {newest}: APIs removed after it are not known; update upcheck or `upcheck catalog fetch`"
            ),
        });
    }
    out
}

/// AKS keeps its own calendar: GA per minor, community support's end, and LTS's end for
/// clusters on the `AKSLongTermSupport` plan (api-catalog's `aks-support.csv`).
fn aks_support(input: &PlanInput, lo: KubeVersion, running: &str, out: &mut Vec<SupportNote>) {
    let plan = input.aks.as_ref().and_then(|a| a.support_plan.as_deref());
    let lts = plan.is_some_and(|p| p.eq_ignore_ascii_case("AKSLongTermSupport"));
    let Some(today) = &input.today else {
        return;
    };
    for (v, what) in [(lo, running), (input.target, "target")] {
        let Some(r) = api_catalog::aks_release(v) else {
            out.push(SupportNote {
                version: v,
                message: format!(
                    "{v} is not in upcheck's AKS release calendar: check `az aks get-versions` for the region"
                ),
            });
            continue;
        };
        let end = r.end_of_support(plan);
        let kind = if lts && r.lts_end_of_life.is_some() {
            "AKS long-term support (AKSLongTermSupport plan)"
        } else {
            "AKS community support"
        };
        if end < today.as_str() {
            out.push(SupportNote {
                version: v,
                message: format!(
                    "the {what} version {v} left {kind} on {end}{}",
                    if what == "target" {
                        "; pick a newer target"
                    } else {
                        ": AKS upgrades clusters that fall out of the platform support window on its own"
                    }
                ),
            });
        } else if what == "target" && r.ga.as_str() > &today[..today.len().min(7)] {
            out.push(SupportNote {
                version: v,
                message: format!(
                    "AKS makes {v} generally available in {} (its calendar); until then it is preview only",
                    r.ga
                ),
            });
        } else {
            out.push(SupportNote {
                version: v,
                message: format!("the {what} version {v} has {kind} until {end}"),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // tests fail loudly on purpose
    use super::*;

    fn v(minor: u16) -> KubeVersion {
        KubeVersion::new(1, minor)
    }

    #[test]
    fn kubeadm_add_on_versions_and_the_capture_step_read_right() {
        let s = steps(Provider::Kubeadm, v(35), Some("1.13.1"), false);
        assert!(
            s.iter().any(|l| l.starts_with(
                "Add-ons: kubeadm upgrades kube-proxy to 1.35 and CoreDNS to 1.13.1 "
            )),
            "{s:?}"
        );
        let b = backups(Provider::Kubeadm);
        let capture = b.iter().find(|l| l.starts_with("Capture")).unwrap();
        assert!(
            capture.contains("`upcheck snapshot save -o before-upgrade.json`"),
            "{capture}"
        );
        assert!(!capture.contains("upcheck cluster -o json"), "{capture}");
    }

    fn input(apiservers: &[u16], target: u16, pools: &[u16], provider: Provider) -> PlanInput {
        PlanInput {
            apiservers: apiservers.iter().map(|m| v(*m)).collect(),
            target: v(target),
            pools: pools
                .iter()
                .enumerate()
                .map(|(i, m)| NodePool::new(format!("pool-{i}"), v(*m), 2))
                .collect(),
            kubectl: None,
            provider,
            today: None,
            catalog_newest: Some(v(36)),
            eks_addons: None,
            eks_support_type: None,
            aks: None,
        }
    }

    /// (hop, pool, from, to) of every roll, then the final ones with hop = target.
    fn rolls(plan: &Plan) -> Vec<(String, u16, u16)> {
        plan.hops
            .iter()
            .flat_map(|h| {
                h.node_rolls
                    .iter()
                    .map(move |r| (format!("before {}", h.to), r.from.minor, r.to.minor))
            })
            .chain(
                plan.after_rolls
                    .iter()
                    .map(|r| ("after".to_owned(), r.from.minor, r.to.minor)),
            )
            .collect()
    }

    #[test]
    fn example_a_two_rolls_or_five_on_eks() {
        let plan = Plan::build(input(&[29], 33, &[27], Provider::Generic), None).unwrap();
        assert_eq!(plan.hops.len(), 4);
        assert_eq!(
            rolls(&plan),
            [("before 1.31".into(), 27, 30), ("after".into(), 30, 33)]
        );
        // At 1.30 under a 1.33 control plane the pool is as old as allowed: must move next.
        assert!(plan.after_rolls[0].required);

        let eks = Plan::build(input(&[29], 33, &[27], Provider::Eks), None).unwrap();
        assert_eq!(
            rolls(&eks),
            [
                ("before 1.30".into(), 27, 29),
                ("before 1.31".into(), 29, 30),
                ("before 1.32".into(), 30, 31),
                ("before 1.33".into(), 31, 32),
                ("after".into(), 32, 33)
            ]
        );
    }

    #[test]
    fn example_a_kubectl_falls_out_at_1_31() {
        let mut i = input(&[29], 33, &[27], Provider::Generic);
        i.kubectl = Some(v(29));
        let plan = Plan::build(i, None).unwrap();
        let skew: Vec<&Blocker> = plan.before.iter().filter(|b| b.code == "SKEW006").collect();
        assert_eq!(skew.len(), 1);
        assert!(
            skew[0].message.contains("before the 1.31 hop"),
            "{}",
            skew[0].message
        );
    }

    #[test]
    fn example_b_pre_n3_rule_blocks_the_first_hop() {
        let plan = Plan::build(input(&[26], 28, &[24], Provider::Generic), None).unwrap();
        assert_eq!(
            rolls(&plan),
            [("before 1.27".into(), 24, 26), ("after".into(), 26, 28)]
        );
        assert!(plan.hops[0].node_rolls[0].reason.contains("at least 1.25"));
    }

    #[test]
    fn example_c_nodes_ahead_are_a_blocker_and_the_legal_plan_rolls_once() {
        // R2's plan: control plane at 1.22 with nodes already at 1.24.
        let plan = Plan::build(input(&[22], 24, &[24], Provider::Generic), None).unwrap();
        let first = &plan.hops[0].node_rolls[0];
        assert!(first.required && first.reason.contains("newer than the 1.22 control plane"));
        // The legal plan from 1.21: one roll to 1.23 before the 1.24 hop, then align.
        let plan = Plan::build(input(&[21], 24, &[21], Provider::Generic), None).unwrap();
        assert_eq!(
            rolls(&plan),
            [("before 1.24".into(), 21, 23), ("after".into(), 23, 24)]
        );
    }

    #[test]
    fn example_d_finishing_an_ha_roll() {
        let plan = Plan::build(
            input(&[33, 32, 32], 33, &[30, 32, 33], Provider::Kubeadm),
            None,
        )
        .unwrap();
        assert_eq!(plan.hops.len(), 1);
        assert!(plan.hops[0].finishing);
        assert_eq!(plan.hops[0].from, v(32));
        // 1.33 kubelets are newer than the 1.32 instances: blocker; 1.30 and 1.32 are fine.
        assert_eq!(rolls(&plan)[0], ("before 1.33".into(), 33, 32));
        assert_eq!(plan.hops[0].kubectl_range, (v(32), v(34)));
        let apart = Plan::build(input(&[33, 31], 33, &[], Provider::Kubeadm), None).unwrap();
        assert_eq!(apart.before[0].code, "SKEW004");
    }

    #[test]
    fn no_plan_for_the_same_or_an_older_version() {
        assert_eq!(
            Plan::build(input(&[29], 29, &[], Provider::Generic), None),
            Err(PlanError::AlreadyAtTarget(v(29)))
        );
        assert_eq!(
            Plan::build(input(&[29], 28, &[], Provider::Generic), None),
            Err(PlanError::Downgrade {
                current: v(29),
                target: v(28)
            })
        );
    }

    #[test]
    fn support_status() {
        let mut i = input(&[27], 28, &[], Provider::Generic);
        i.today = Some("2026-12-01".into());
        let plan = Plan::build(i, None).unwrap();
        let notes: Vec<&str> = plan.support.iter().map(|s| s.message.as_str()).collect();
        assert!(
            notes[0].starts_with("the running version 1.27 reached end of life"),
            "{notes:?}"
        );
        assert!(
            notes[1].starts_with("the target version 1.28 reached end of life"),
            "{notes:?}"
        );
        // Mid-upgrade, the plan (1.27 → 1.28) starts from the oldest apiserver: its support
        // is what the note is about, not the newest apiserver's.
        let mut i = input(&[28, 27, 27], 28, &[], Provider::Generic);
        i.today = Some("2026-12-01".into());
        let notes: Vec<String> = Plan::build(i, None)
            .unwrap()
            .support
            .into_iter()
            .map(|s| s.message)
            .collect();
        assert!(
            notes[0].starts_with("the oldest apiserver's version 1.27 reached end of life"),
            "{notes:?}"
        );
        assert!(
            notes.iter().all(|n| !n.contains("running version 1.28")),
            "{notes:?}"
        );
        let mut i = input(&[36], 38, &[], Provider::Generic);
        i.today = Some("2026-12-01".into());
        let notes: Vec<String> = Plan::build(i, None)
            .unwrap()
            .support
            .into_iter()
            .map(|s| s.message)
            .collect();
        assert!(
            notes.iter().any(|n| n == "1.38 is not released yet"),
            "{notes:?}"
        );
        assert!(
            notes
                .iter()
                .any(|n| n.starts_with("the catalog covers releases up to 1.36"))
        );
    }

    #[test]
    fn providers_are_told_from_versions_and_labels() {
        assert_eq!(
            Provider::detect(Some("v1.29.3-eks-adc7111"), []),
            Provider::Eks
        );
        assert_eq!(
            Provider::detect(Some("v1.30.5-gke.1014001"), []),
            Provider::Gke
        );
        assert_eq!(Provider::detect(Some("v1.30.4+k3s1"), []), Provider::K3s);
        assert_eq!(
            Provider::detect(Some("v1.30.4"), ["kubernetes.azure.com/agentpool"]),
            Provider::Aks
        );
        assert_eq!(
            Provider::detect(Some("v1.30.4"), ["node-role.kubernetes.io/control-plane"]),
            Provider::Kubeadm
        );
        assert_eq!(Provider::detect(None, []), Provider::Generic);
    }
}
