//! SKEW002: EKS managed node groups behind the control plane: `UpdateClusterVersion` refuses
//! the next minor until every managed node group is at the control plane's minor. Read from
//! the EKS API when it was read, else from the nodes' own labels and kubelets (which also
//! show Fargate nodes and self-managed EKS nodes). AKS node pools: never newer than the
//! control plane, at most two minors behind it at any hop, and a pool whose asked-for version
//! is not the one it runs (an upgrade left unfinished).

use std::collections::BTreeMap;

use serde_json::Value;

use super::util::{name, names, node_pool, text, version_of};
use super::{Check, CheckFinding, CodeInfo, Context, Family, Resource, Severity};
use crate::report::provider::{AksFacts, EksCall, EksFacts};
use api_catalog::KubeVersion;

pub static CHECK: Check = Check {
    info: CodeInfo {
        code: "SKEW002",
        family: Family::Readiness,
        title: "Provider node-version rule (EKS managed node groups and Fargate, AKS node pools)",
        severity: Severity::Blocker,
        reads: "EKS DescribeCluster (version), ListNodegroups, DescribeNodegroup (version); Node metadata.labels (eks.amazonaws.com/nodegroup, eks.amazonaws.com/compute-type), spec.providerID and status.nodeInfo.kubeletVersion; AKS managedClusters (currentKubernetesVersion), agentPools (orchestratorVersion, currentOrchestratorVersion)",
        applies: "the first hop of an EKS cluster (provider facts, else node labels); every hop of an AKS cluster (provider facts); never offline",
        remediation: "Update each managed node group to the control plane's minor (aws eks update-nodegroup-version --cluster-name NAME --nodegroup-name NG) before updating the control plane, and after every later hop. On AKS, upgrade a pool that would fall more than two minors behind before the hop (az aks nodepool upgrade --resource-group RG --cluster-name NAME --name POOL --kubernetes-version V), and finish an interrupted pool upgrade first.",
        explanation: "Kubernetes lets kubelets trail the API server by up to three minors, but EKS is stricter for managed node groups: UpdateClusterVersion to the next minor is refused while a managed node group is not at the control plane's current minor. A node group left behind by an earlier upgrade therefore blocks the next control-plane update even when the upstream skew rule would allow it. The check compares each managed node group's version with the control plane's (DescribeCluster, else the server's version) and reports the groups behind at the hop they block; without the EKS API, the nodes' own labels tell managed node groups and Fargate nodes (both blockers when behind) and self-managed EC2 nodes (a warning: EKS does not update them). AKS has its own rule: a node pool may never be newer than the control plane and at most two minors behind it (AKS refuses the control-plane upgrade with NodePoolMcVersionIncompatible otherwise), so the check names, per AKS pool, the hop at which it would fall more than two minors behind; a pool whose orchestratorVersion (asked for) differs from its currentOrchestratorVersion (running) has an upgrade that did not finish, which AKS wants settled before the next one.",
        retired: None,
    },
    needs: &[],
    offline: false,
    needs_kubectl: false,
    uses: &[Resource::Nodes],
    run,
};

/// The label EKS puts on every node of a managed node group.
const NODEGROUP_LABEL: &str = "eks.amazonaws.com/nodegroup";
/// The label (`fargate`) on Fargate nodes.
const COMPUTE_TYPE_LABEL: &str = "eks.amazonaws.com/compute-type";

/// Why the EKS facts do not suffice, when they do not.
pub(super) fn unavailable(facts: &EksFacts) -> Option<String> {
    facts.nodegroups.as_ref().err().map(|p| p.reason.clone())
}

/// The EKS calls the check needs.
pub(super) const CALLS: &[EksCall] = &[
    EksCall::DescribeCluster,
    EksCall::ListNodegroups,
    EksCall::DescribeNodegroup,
];

/// Why the AKS facts do not suffice, when they do not.
pub(super) fn aks_unavailable(facts: &AksFacts) -> Option<String> {
    facts.reason(&[facts.pools.as_ref().err()])
}

/// How many minors an AKS node pool may trail the control plane.
const AKS_MAX_POOL_LAG: u16 = 2;

fn run_aks(ctx: &Context<'_>, facts: &AksFacts, out: &mut Vec<CheckFinding>) {
    let Ok(pools) = &facts.pools else {
        return;
    };
    let control_plane = facts.control_plane().unwrap_or(ctx.current);
    for pool in pools {
        let Some(minor) = pool.minor() else {
            continue;
        };
        let object = format!("AKS node pool {}", pool.name);
        if minor > control_plane {
            let mut f = CheckFinding::new(
                &CHECK,
                Severity::Blocker,
                object.clone(),
                format!(
                    "node pool {} is at {minor}, newer than the {control_plane} control plane: AKS never lets a pool run ahead of the control plane; upgrade the control plane first or recreate the pool at {control_plane}",
                    pool.name
                ),
            );
            if let Some(&hop) = ctx.hops.first() {
                f = f.at_hop(hop);
            }
            out.push(f);
            continue;
        }
        if let Some(&hop) = ctx
            .hops
            .iter()
            .find(|h| h.major == minor.major && h.minor > minor.minor + AKS_MAX_POOL_LAG)
        {
            let needs = KubeVersion::new(hop.major, hop.minor - AKS_MAX_POOL_LAG);
            out.push(
                CheckFinding::new(
                    &CHECK,
                    Severity::Blocker,
                    object.clone(),
                    format!(
                        "node pool {} is at {minor}: AKS refuses the control-plane upgrade to {hop} while a pool is more than {AKS_MAX_POOL_LAG} minors behind (NodePoolMcVersionIncompatible); upgrade it to at least {needs} before that hop (`az aks nodepool upgrade --resource-group {} --cluster-name {} --name {} --kubernetes-version {needs}`)",
                        pool.name, facts.resource_group, facts.cluster, pool.name
                    ),
                )
                .at_hop(hop),
            );
        }
        if let (Some(asked), Some(running)) = (
            pool.orchestrator_version.as_deref(),
            pool.current_orchestrator_version.as_deref(),
        ) && !running.starts_with(asked)
        {
            let mut f = CheckFinding::new(
                &CHECK,
                Severity::Warning,
                object,
                format!(
                    "node pool {} asks for {asked} (orchestratorVersion) but runs {running} (currentOrchestratorVersion): an earlier upgrade did not finish; settle it before the next hop",
                    pool.name
                ),
            );
            if let Some(&hop) = ctx.hops.first() {
                f = f.at_hop(hop);
            }
            out.push(f);
        }
    }
}

fn run(ctx: &Context<'_>, out: &mut Vec<CheckFinding>) {
    if let Some(facts) = ctx.state.provider().aks() {
        run_aks(ctx, facts, out);
        return;
    }
    let Some(&hop) = ctx.hops.first() else {
        return;
    };
    let facts = ctx.state.provider().eks();
    let control_plane = facts
        .and_then(|f| f.version.as_deref())
        .and_then(|v| v.parse::<KubeVersion>().ok())
        .unwrap_or(ctx.current);
    let groups = facts.and_then(|f| f.nodegroups.as_ref().ok());
    if let Some(groups) = groups {
        for group in groups {
            let Some(version) = group
                .version
                .as_deref()
                .and_then(|v| v.parse::<KubeVersion>().ok())
            else {
                continue;
            };
            if version < control_plane {
                out.push(
                    CheckFinding::new(
                        &CHECK,
                        Severity::Blocker,
                        format!("EKS node group {}", group.name),
                        format!(
                            "managed node group {} is at {version}, control plane {control_plane}: EKS refuses the update to {hop} until the node group is at {control_plane}",
                            group.name
                        ),
                    )
                    .at_hop(hop),
                );
            }
        }
    }
    let known: Vec<&str> = groups
        .into_iter()
        .flatten()
        .map(|g| g.name.as_str())
        .collect();
    from_nodes(ctx, hop, control_plane, &known, out);
}

/// What kind of EKS node a node is, by its labels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum EksNode {
    Managed,
    Fargate,
    SelfManaged,
}

/// The node-label half: nodes of managed node groups the EKS API did not describe (not read,
/// or not asked), Fargate nodes, and self-managed nodes of an EKS cluster, behind the control
/// plane. One finding per group of nodes, naming them.
fn from_nodes(
    ctx: &Context<'_>,
    hop: KubeVersion,
    control_plane: KubeVersion,
    known_groups: &[&str],
    out: &mut Vec<CheckFinding>,
) {
    let nodes = ctx.state.list(Resource::Nodes);
    let label = |n: &Value, key: &str| -> Option<String> {
        n.pointer("/metadata/labels")
            .and_then(|l| l.get(key))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    // Self-managed nodes carry no EKS label: they count only on a cluster known to be EKS.
    let is_eks = ctx.state.provider().eks().is_some()
        || nodes
            .iter()
            .any(|n| label(n, NODEGROUP_LABEL).is_some() || label(n, COMPUTE_TYPE_LABEL).is_some());
    if !is_eks {
        return;
    }
    let mut behind: BTreeMap<(EksNode, String, KubeVersion), Vec<&str>> = BTreeMap::new();
    for node in nodes {
        let Some(kubelet) = text(node, "/status/nodeInfo/kubeletVersion").and_then(version_of)
        else {
            continue;
        };
        if kubelet >= control_plane {
            continue;
        }
        let (kind, group) = match (
            label(node, NODEGROUP_LABEL),
            label(node, COMPUTE_TYPE_LABEL),
        ) {
            (Some(g), _) if known_groups.contains(&g.as_str()) => continue,
            (Some(g), _) => (EksNode::Managed, g),
            (None, Some(t)) if t == "fargate" => (EksNode::Fargate, "fargate".to_owned()),
            // An EC2 instance joined by hand or by a self-managed group; anything else (a
            // node of another kind, a fixture) is SKEW001's alone.
            _ if text(node, "/spec/providerID").is_some_and(|p| p.starts_with("aws://")) => {
                (EksNode::SelfManaged, node_pool(node))
            }
            _ => continue,
        };
        behind
            .entry((kind, group, kubelet))
            .or_default()
            .push(name(node));
    }
    for ((kind, group, kubelet), mut nodes) in behind {
        nodes.sort_unstable();
        let count = nodes.len();
        let which = names(&nodes);
        let (severity, object, message) = match kind {
            EksNode::Managed => (
                Severity::Blocker,
                format!("EKS node group {group}"),
                format!(
                    "managed node group {group} runs kubelet {kubelet} on {count} node(s) ({which}), control plane {control_plane}: EKS refuses the update to {hop} until the node group is at {control_plane}"
                ),
            ),
            EksNode::Fargate => (
                Severity::Blocker,
                "Fargate nodes".to_owned(),
                format!(
                    "{count} Fargate node(s) ({which}) run kubelet {kubelet}, control plane {control_plane}: restart the pods on them (kubectl rollout restart of their owners) so they come back on {control_plane} Fargate nodes before the update to {hop}"
                ),
            ),
            EksNode::SelfManaged => (
                Severity::Warning,
                format!("node pool {group}"),
                format!(
                    "{count} self-managed node(s) of pool {group} ({which}) run kubelet {kubelet}, control plane {control_plane}: EKS does not update them; roll them to new nodes at {control_plane} after the control plane, as after every hop"
                ),
            ),
        };
        out.push(CheckFinding::new(&CHECK, severity, object, message).at_hop(hop));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::ClusterState;
    use crate::report::provider::{EksNodegroup, ProviderState};

    fn state(group_version: &str) -> ClusterState {
        let mut s = ClusterState::new();
        s.set_provider(ProviderState::Eks(Box::new(EksFacts {
            cluster: "prod".into(),
            region: "eu-west-1".into(),
            version: Some("1.30".into()),
            addons: Ok(Vec::new()),
            addon_versions: Ok(std::collections::BTreeMap::new()),
            nodegroups: Ok(vec![EksNodegroup {
                name: "batch".into(),
                version: Some(group_version.into()),
                ami_type: None,
                health: Vec::new(),
            }]),
            health: Vec::new(),
            support_type: None,
            insights: Ok(Vec::new()),
        })));
        s
    }

    fn findings(s: &ClusterState) -> Vec<CheckFinding> {
        let ctx = Context::new(s, KubeVersion::new(1, 30), KubeVersion::new(1, 32));
        let mut out = Vec::new();
        run(&ctx, &mut out);
        out
    }

    #[test]
    fn a_group_behind_blocks_the_first_hop() {
        let out = findings(&state("1.29"));
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].hop, Some(KubeVersion::new(1, 31)));
        assert!(
            out[0].message.contains("at 1.29, control plane 1.30"),
            "{}",
            out[0].message
        );
    }

    #[test]
    fn a_group_at_the_control_plane_passes() {
        assert!(findings(&state("1.30")).is_empty());
    }

    fn node(name: &str, kubelet: &str, labels: Value) -> Value {
        crate::checks::util::test_node(name, kubelet, "Amazon Linux 2023", labels)
    }

    fn from_labels(nodes: Vec<Value>) -> Vec<CheckFinding> {
        let mut s = ClusterState::new();
        s.set(Resource::Nodes, nodes);
        findings(&s)
    }

    #[test]
    fn managed_and_fargate_nodes_behind_block_without_the_eks_api() {
        let out = from_labels(vec![
            node(
                "ip-1",
                "v1.29.8-eks-a737599",
                serde_json::json!({NODEGROUP_LABEL: "batch"}),
            ),
            node(
                "ip-2",
                "v1.29.8-eks-a737599",
                serde_json::json!({NODEGROUP_LABEL: "batch"}),
            ),
            node(
                "ip-3",
                "v1.30.4-eks-a737599",
                serde_json::json!({NODEGROUP_LABEL: "web"}),
            ),
            node(
                "fargate-ip-4",
                "v1.29.6-eks-1552ad0",
                serde_json::json!({COMPUTE_TYPE_LABEL: "fargate"}),
            ),
        ]);
        let summary: Vec<(Severity, &str)> = out
            .iter()
            .map(|f| (f.severity, f.object.as_str()))
            .collect();
        assert_eq!(
            summary,
            vec![
                (Severity::Blocker, "EKS node group batch"),
                (Severity::Blocker, "Fargate nodes"),
            ]
        );
        assert!(
            out[0].message.contains("on 2 node(s) (ip-1, ip-2)"),
            "{}",
            out[0].message
        );
        assert!(out.iter().all(|f| f.hop == Some(KubeVersion::new(1, 31))));
    }

    #[test]
    fn self_managed_nodes_warn_only_on_an_eks_cluster() {
        let mut ec2 = node("ip-9", "v1.28.2-eks-a737599", serde_json::json!({}));
        ec2["spec"] = serde_json::json!({"providerID": "aws:///eu-west-1a/i-0abc"});
        let eks = from_labels(vec![
            node(
                "ip-1",
                "v1.30.4-eks-a737599",
                serde_json::json!({NODEGROUP_LABEL: "web"}),
            ),
            ec2,
            // No EC2 provider ID: not a node EKS could own; SKEW001 judges its kubelet.
            node("other", "v1.28.2", serde_json::json!({})),
        ]);
        assert_eq!(eks.len(), 1);
        assert_eq!(eks[0].severity, Severity::Warning);
        assert!(
            eks[0]
                .message
                .contains("self-managed node(s) of pool kubelet 1.28 (ip-9)"),
            "{}",
            eks[0].message
        );
        // The same node on a cluster with no EKS sign is another platform's: nothing.
        let other = from_labels(vec![node("n1", "v1.28.2", serde_json::json!({}))]);
        assert!(other.is_empty());
    }

    #[test]
    fn groups_the_eks_api_described_are_not_reported_twice() {
        let mut s = state("1.29");
        s.set(
            Resource::Nodes,
            vec![node(
                "ip-1",
                "v1.29.8-eks-a737599",
                serde_json::json!({NODEGROUP_LABEL: "batch"}),
            )],
        );
        let out = findings(&s);
        assert_eq!(out.len(), 1);
        assert!(
            out[0]
                .message
                .starts_with("managed node group batch is at 1.29")
        );
    }

    fn aks_state(pools: &[(&str, &str, &str)]) -> ClusterState {
        use crate::report::provider::{AksFacts, AksPool};
        let mut s = ClusterState::new();
        s.set_provider(ProviderState::Aks(Box::new(AksFacts {
            cluster: "prod".into(),
            resource_group: "rg".into(),
            subscription: "sub".into(),
            version: Some("1.30".into()),
            current_version: Some("1.30.7".into()),
            support_plan: None,
            read: Ok(()),
            pools: Ok(pools
                .iter()
                .map(|(name, asked, running)| AksPool {
                    name: (*name).into(),
                    orchestrator_version: Some((*asked).into()),
                    current_orchestrator_version: Some((*running).into()),
                    ..AksPool::default()
                })
                .collect()),
            upgrades: Ok(Vec::new()),
            pool_upgrades: Ok(()),
        })));
        s
    }

    #[test]
    fn aks_pools_too_far_behind_ahead_or_unfinished() {
        let s = aks_state(&[
            ("old", "1.29", "1.29.9"),
            ("ahead", "1.31", "1.31.2"),
            ("stuck", "1.30.7", "1.29.9"),
        ]);
        let ctx = Context::new(&s, KubeVersion::new(1, 30), KubeVersion::new(1, 33));
        let mut out = Vec::new();
        run(&ctx, &mut out);
        let got: Vec<(String, Severity, Option<KubeVersion>)> = out
            .iter()
            .map(|f| (f.object.clone(), f.severity, f.hop))
            .collect();
        assert_eq!(
            got,
            [
                (
                    "AKS node pool old".to_owned(),
                    Severity::Blocker,
                    Some(KubeVersion::new(1, 32))
                ),
                (
                    "AKS node pool ahead".to_owned(),
                    Severity::Blocker,
                    Some(KubeVersion::new(1, 31))
                ),
                (
                    "AKS node pool stuck".to_owned(),
                    Severity::Blocker,
                    Some(KubeVersion::new(1, 32))
                ),
                (
                    "AKS node pool stuck".to_owned(),
                    Severity::Warning,
                    Some(KubeVersion::new(1, 31))
                ),
            ]
        );
        assert!(
            out[0].message.contains("at least 1.30"),
            "{}",
            out[0].message
        );
    }

    #[test]
    fn aks_pools_at_the_control_plane_pass() {
        let s = aks_state(&[("system", "1.30", "1.30.7"), ("user", "1.30.7", "1.30.7")]);
        let ctx = Context::new(&s, KubeVersion::new(1, 30), KubeVersion::new(1, 32));
        let mut out = Vec::new();
        run(&ctx, &mut out);
        assert!(out.is_empty(), "{out:?}");
    }
}
