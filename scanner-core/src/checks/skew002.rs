//! SKEW002: EKS managed node groups behind the control plane: `UpdateClusterVersion` refuses
//! the next minor until every managed node group is at the control plane's minor. AKS node
//! pools: never newer than the control plane, at most two minors behind it at any hop, and a
//! pool whose asked-for version is not the one it runs (an upgrade left unfinished).

use super::{Check, CheckFinding, CodeInfo, Context, Family, Severity};
use crate::report::provider::{AksFacts, EksCall, EksFacts};
use api_catalog::KubeVersion;

pub static CHECK: Check = Check {
    info: CodeInfo {
        code: "SKEW002",
        family: Family::Readiness,
        title: "Provider node-version rule (EKS managed node groups, AKS node pools)",
        severity: Severity::Blocker,
        reads: "EKS DescribeCluster (version), ListNodegroups, DescribeNodegroup (version); AKS managedClusters (currentKubernetesVersion), agentPools (orchestratorVersion, currentOrchestratorVersion)",
        applies: "the first hop of an EKS cluster; every hop of an AKS cluster (provider facts; never offline)",
        remediation: "Update each managed node group to the control plane's minor (aws eks update-nodegroup-version --cluster-name NAME --nodegroup-name NG) before updating the control plane, and after every later hop. On AKS, upgrade a pool that would fall more than two minors behind before the hop (az aks nodepool upgrade --resource-group RG --cluster-name NAME --name POOL --kubernetes-version V), and finish an interrupted pool upgrade first.",
        explanation: "Kubernetes lets kubelets trail the API server by up to three minors, but EKS is stricter for managed node groups: UpdateClusterVersion to the next minor is refused while a managed node group is not at the control plane's current minor. A node group left behind by an earlier upgrade therefore blocks the next control-plane update even when the upstream skew rule would allow it. The check compares each managed node group's version with the control plane's (DescribeCluster, else the server's version) and reports the groups behind at the hop they block. AKS has its own rule: a node pool may never be newer than the control plane and at most two minors behind it (AKS refuses the control-plane upgrade with NodePoolMcVersionIncompatible otherwise), so the check names, per AKS pool, the hop at which it would fall more than two minors behind; a pool whose orchestratorVersion (asked for) differs from its currentOrchestratorVersion (running) has an upgrade that did not finish, which AKS wants settled before the next one.",
        retired: None,
    },
    needs: &[],
    offline: false,
    needs_kubectl: false,
    uses: &[],
    run,
};

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
    let Some(facts) = ctx.state.provider().eks() else {
        return;
    };
    let Ok(groups) = &facts.nodegroups else {
        return;
    };
    let Some(&hop) = ctx.hops.first() else {
        return;
    };
    let control_plane = facts
        .version
        .as_deref()
        .and_then(|v| v.parse::<KubeVersion>().ok())
        .unwrap_or(ctx.current);
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
            }]),
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
