//! SKEW002: EKS managed node groups behind the control plane: `UpdateClusterVersion` refuses
//! the next minor until every managed node group is at the control plane's minor.

use super::{Check, CheckFinding, CodeInfo, Context, Family, Severity};
use crate::report::provider::{EksCall, EksFacts};
use api_catalog::KubeVersion;

pub static CHECK: Check = Check {
    info: CodeInfo {
        code: "SKEW002",
        family: Family::Readiness,
        title: "Provider node-version rule (EKS managed node groups)",
        severity: Severity::Blocker,
        reads: "EKS DescribeCluster (version), ListNodegroups, DescribeNodegroup (version)",
        applies: "the first hop of an EKS cluster (provider facts; never offline)",
        remediation: "Update each managed node group to the control plane's minor (aws eks update-nodegroup-version --cluster-name NAME --nodegroup-name NG) before updating the control plane, and after every later hop.",
        explanation: "Kubernetes lets kubelets trail the API server by up to three minors, but EKS is stricter for managed node groups: UpdateClusterVersion to the next minor is refused while a managed node group is not at the control plane's current minor. A node group left behind by an earlier upgrade therefore blocks the next control-plane update even when the upstream skew rule would allow it. The check compares each managed node group's version with the control plane's (DescribeCluster, else the server's version) and reports the groups behind at the hop they block.",
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

fn run(ctx: &Context<'_>, out: &mut Vec<CheckFinding>) {
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
}
