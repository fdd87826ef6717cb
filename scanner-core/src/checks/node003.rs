//! NODE003: EKS managed node groups on Amazon Linux 2 AMI types, which EKS stops building at
//! Kubernetes 1.33 (`DescribeNodegroup.amiType`).

use super::{Check, CheckFinding, CodeInfo, Context, Family, Severity};
use crate::report::provider::{EksCall, EksFacts};
use api_catalog::KubeVersion;

pub static CHECK: Check = Check {
    info: CodeInfo {
        code: "NODE003",
        family: Family::Readiness,
        title: "Node AMI type not built at the target (EKS AL2)",
        severity: Severity::Blocker,
        reads: "EKS ListNodegroups, DescribeNodegroup (amiType)",
        applies: "hops to 1.32 (warning) and from 1.33 (blocker) of an EKS cluster (provider facts; never offline)",
        remediation: "Move each AL2 node group to AL2023 (AL2023_x86_64_STANDARD, AL2023_ARM_64_STANDARD, AL2023_x86_64_NVIDIA) or Bottlerocket with a new node group or a blue/green roll, before or with the roll to 1.33; check user data and bootstrap scripts, which AL2023 replaces with nodeadm.",
        explanation: "Amazon Linux 2 reaches its end of support, and EKS publishes no AL2 accelerated or standard AMIs for Kubernetes 1.33 or later: a managed node group with an AL2_* AMI type cannot be updated to 1.33, so the control-plane hop is followed by node groups stuck behind it. 1.32 is the last minor with AL2 AMIs, reported as a warning. The check reads the AMI type of every managed node group and names the AL2023 and Bottlerocket types for the same architecture.",
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
pub(super) const CALLS: &[EksCall] = &[EksCall::ListNodegroups, EksCall::DescribeNodegroup];

/// The first minor EKS builds no AL2 AMIs for.
const AL2_LAST_PLUS_ONE: KubeVersion = KubeVersion::new(1, 33);

/// The AMI types replacing an AL2 one, for the same architecture and accelerator.
fn replacements(ami: &str) -> &'static str {
    match ami {
        "AL2_ARM_64" => "AL2023_ARM_64_STANDARD or BOTTLEROCKET_ARM_64",
        "AL2_x86_64_GPU" => "AL2023_x86_64_NVIDIA or BOTTLEROCKET_x86_64_NVIDIA",
        _ => "AL2023_x86_64_STANDARD or BOTTLEROCKET_x86_64",
    }
}

fn run(ctx: &Context<'_>, out: &mut Vec<CheckFinding>) {
    let Some(Ok(groups)) = ctx.state.provider().eks().map(|f| &f.nodegroups) else {
        return;
    };
    for group in groups {
        let Some(ami) = group.ami_type.as_deref().filter(|a| a.starts_with("AL2_")) else {
            continue;
        };
        let object = format!("EKS node group {}", group.name);
        if let Some(&hop) = ctx.hops.iter().find(|h| **h >= AL2_LAST_PLUS_ONE) {
            out.push(
                CheckFinding::new(
                    &CHECK,
                    Severity::Blocker,
                    object,
                    format!(
                        "node group {} uses AMI type {ami}, which EKS does not build for Kubernetes {hop}: move it to {} before the roll to {hop}",
                        group.name,
                        replacements(ami)
                    ),
                )
                .at_hop(hop),
            );
        } else if let Some(&hop) = ctx
            .hops
            .iter()
            .find(|h| **h == AL2_LAST_PLUS_ONE.prev_minor())
        {
            out.push(
                CheckFinding::new(
                    &CHECK,
                    Severity::Warning,
                    object,
                    format!(
                        "node group {} uses AMI type {ami}: {hop} is the last Kubernetes minor EKS builds AL2 AMIs for; plan the move to {}",
                        group.name,
                        replacements(ami)
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

    fn state(ami: &str) -> ClusterState {
        let mut s = ClusterState::new();
        s.set_provider(ProviderState::Eks(Box::new(EksFacts {
            cluster: "prod".into(),
            region: "eu-west-1".into(),
            version: Some("1.30".into()),
            addons: Ok(Vec::new()),
            addon_versions: Ok(std::collections::BTreeMap::new()),
            nodegroups: Ok(vec![EksNodegroup {
                name: "general".into(),
                version: Some("1.30".into()),
                ami_type: Some(ami.into()),
                health: Vec::new(),
            }]),
            health: Vec::new(),
            support_type: None,
            insights: Ok(Vec::new()),
        })));
        s
    }

    fn findings(s: &ClusterState, target: u16) -> Vec<CheckFinding> {
        let ctx = Context::new(s, KubeVersion::new(1, 30), KubeVersion::new(1, target));
        let mut out = Vec::new();
        run(&ctx, &mut out);
        out
    }

    #[test]
    fn al2_to_1_33_is_a_blocker_at_that_hop() {
        let out = findings(&state("AL2_ARM_64"), 33);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].severity, Severity::Blocker);
        assert_eq!(out[0].hop, Some(KubeVersion::new(1, 33)));
        assert!(
            out[0].message.contains("AL2023_ARM_64_STANDARD"),
            "{}",
            out[0].message
        );
    }

    #[test]
    fn al2_to_1_32_is_a_warning_and_to_1_31_nothing() {
        let out = findings(&state("AL2_x86_64"), 32);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].severity, Severity::Warning);
        assert!(findings(&state("AL2_x86_64"), 31).is_empty());
    }

    #[test]
    fn al2023_and_bottlerocket_pass() {
        assert!(findings(&state("AL2023_x86_64_STANDARD"), 34).is_empty());
        assert!(findings(&state("BOTTLEROCKET_x86_64"), 34).is_empty());
    }
}
