//! NODE003: node operating systems the target's provider no longer builds: EKS managed node
//! groups on Amazon Linux 2 AMI types, which EKS stops building at Kubernetes 1.33
//! (`DescribeNodegroup.amiType`), and, from the nodes themselves (`nodeInfo.osImage`), the OS
//! images EKS and AKS drop at a minor.

use std::collections::BTreeMap;

use serde_json::Value;

use super::util::{name, names, node_pool, text};
use super::{Check, CheckFinding, CodeInfo, Context, Family, Resource, Severity};
use crate::report::provider::{EksCall, EksFacts};
use api_catalog::KubeVersion;

pub static CHECK: Check = Check {
    info: CodeInfo {
        code: "NODE003",
        family: Family::Readiness,
        title: "Node OS or AMI type not built at the target",
        severity: Severity::Blocker,
        reads: "EKS ListNodegroups, DescribeNodegroup (amiType); Node status.nodeInfo.osImage and the pool labels (eks.amazonaws.com/*, kubernetes.azure.com/*)",
        applies: "EKS: hops to 1.32 (warning) and from 1.33 (blocker) for AL2; AKS: Windows Server 2019 from 1.33, Windows Server 2022 from 1.37, Ubuntu 18.04 from 1.25 (warning at the last minor that has them); never offline",
        remediation: "Move each AL2 node group to AL2023 (AL2023_x86_64_STANDARD, AL2023_ARM_64_STANDARD, AL2023_x86_64_NVIDIA) or Bottlerocket with a new node group or a blue/green roll, before or with the roll to 1.33; check user data and bootstrap scripts, which AL2023 replaces with nodeadm.",
        explanation: "Amazon Linux 2 reaches its end of support, and EKS publishes no AL2 accelerated or standard AMIs for Kubernetes 1.33 or later: a managed node group with an AL2_* AMI type cannot be updated to 1.33, so the control-plane hop is followed by node groups stuck behind it. 1.32 is the last minor with AL2 AMIs, reported as a warning. The check reads the AMI type of every managed node group and names the AL2023 and Bottlerocket types for the same architecture.",
        retired: None,
    },
    needs: &[],
    offline: false,
    needs_kubectl: false,
    uses: &[Resource::Nodes],
    run,
};

/// A platform whose node images follow its own calendar.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Platform {
    Eks,
    Aks,
}

/// An OS image a provider stops building node images for.
struct DroppedOs {
    platform: Platform,
    /// `nodeInfo.osImage` starts with this...
    image: &'static str,
    /// ...but not with this (`Amazon Linux 2023` is not `Amazon Linux 2`).
    unless: Option<&'static str>,
    /// The last minor the provider builds it for.
    last: KubeVersion,
    replacement: &'static str,
}

/// Sources: Amazon EKS AMI docs (no AL2 AMIs for Kubernetes 1.33 and later); Azure/AKS release
/// notes 2023-07-30 and 2026-05-29 (Windows Server 2019: not supported on 1.33 and later),
/// 2026-06-19 (Windows Server 2022: not supported on 1.37 and later); AKS node images are
/// Ubuntu 22.04 from Kubernetes 1.25.
static DROPPED_OS: &[DroppedOs] = &[
    DroppedOs {
        platform: Platform::Eks,
        image: "Amazon Linux 2",
        unless: Some("Amazon Linux 2023"),
        last: KubeVersion::new(1, 32),
        replacement: "Amazon Linux 2023 or Bottlerocket",
    },
    DroppedOs {
        platform: Platform::Aks,
        image: "Windows Server 2019",
        unless: None,
        last: KubeVersion::new(1, 32),
        replacement: "Windows Server 2022 or 2025",
    },
    DroppedOs {
        platform: Platform::Aks,
        image: "Windows Server 2022",
        unless: None,
        last: KubeVersion::new(1, 36),
        replacement: "Windows Server 2025",
    },
    DroppedOs {
        platform: Platform::Aks,
        image: "Ubuntu 18.04",
        unless: None,
        last: KubeVersion::new(1, 24),
        replacement: "Ubuntu 22.04",
    },
];

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
    from_nodes(ctx, out);
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

/// The platform the nodes tell, by their providers' labels.
fn platform(ctx: &Context<'_>) -> Option<Platform> {
    if ctx.state.provider().eks().is_some() {
        return Some(Platform::Eks);
    }
    let has = |prefix: &str| {
        ctx.state.list(Resource::Nodes).iter().any(|n| {
            n.pointer("/metadata/labels")
                .and_then(Value::as_object)
                .is_some_and(|l| l.keys().any(|k| k.starts_with(prefix)))
        })
    };
    if has("eks.amazonaws.com/") {
        Some(Platform::Eks)
    } else if has("kubernetes.azure.com/") {
        Some(Platform::Aks)
    } else {
        None
    }
}

/// The node half: per pool, nodes whose OS image the provider stops building at a hop. Pools
/// the EKS API described are judged by their AMI type instead.
fn from_nodes(ctx: &Context<'_>, out: &mut Vec<CheckFinding>) {
    let Some(platform) = platform(ctx) else {
        return;
    };
    let described: Vec<&str> = match ctx.state.provider().eks().map(|f| &f.nodegroups) {
        Some(Ok(groups)) => groups.iter().map(|g| g.name.as_str()).collect(),
        _ => Vec::new(),
    };
    let mut pools: BTreeMap<(String, usize), Vec<&str>> = BTreeMap::new();
    for node in ctx.state.list(Resource::Nodes) {
        let Some(image) = text(node, "/status/nodeInfo/osImage") else {
            continue;
        };
        let Some(i) = DROPPED_OS.iter().position(|d| {
            d.platform == platform
                && image.starts_with(d.image)
                && d.unless.is_none_or(|u| !image.starts_with(u))
        }) else {
            continue;
        };
        let pool = node_pool(node);
        if described.contains(&pool.as_str()) {
            continue;
        }
        pools.entry((pool, i)).or_default().push(name(node));
    }
    for ((pool, i), mut nodes) in pools {
        let dropped = &DROPPED_OS[i];
        nodes.sort_unstable();
        let which = names(&nodes);
        let object = format!("node pool {pool}");
        if let Some(&hop) = ctx.hops.iter().find(|h| **h > dropped.last) {
            out.push(
                CheckFinding::new(
                    &CHECK,
                    Severity::Blocker,
                    object,
                    format!(
                        "{} node(s) of pool {pool} ({which}) run {}, which has no node images for Kubernetes {hop}: move the pool to {} before or with the roll to {hop}",
                        nodes.len(),
                        dropped.image,
                        dropped.replacement
                    ),
                )
                .at_hop(hop),
            );
        } else if let Some(&hop) = ctx.hops.iter().find(|h| **h == dropped.last) {
            out.push(
                CheckFinding::new(
                    &CHECK,
                    Severity::Warning,
                    object,
                    format!(
                        "{} node(s) of pool {pool} ({which}) run {}: {hop} is the last Kubernetes minor with node images for it; plan the move to {}",
                        nodes.len(),
                        dropped.image,
                        dropped.replacement
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

    fn node(name: &str, image: &str, labels: Value) -> Value {
        crate::checks::util::test_node(name, "v1.30.2", image, labels)
    }

    fn from_nodes(nodes: Vec<Value>, target: u16) -> Vec<CheckFinding> {
        let mut s = ClusterState::new();
        s.set(Resource::Nodes, nodes);
        findings(&s, target)
    }

    #[test]
    fn al2_nodes_of_an_undescribed_group_block_from_1_33() {
        let nodes = vec![
            node(
                "ip-1",
                "Amazon Linux 2",
                serde_json::json!({"eks.amazonaws.com/nodegroup": "legacy"}),
            ),
            node(
                "ip-2",
                "Amazon Linux 2023.6.20241121",
                serde_json::json!({"eks.amazonaws.com/nodegroup": "new"}),
            ),
        ];
        let out = from_nodes(nodes.clone(), 33);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].severity, Severity::Blocker);
        assert_eq!(out[0].object, "node pool legacy");
        assert_eq!(out[0].hop, Some(KubeVersion::new(1, 33)));
        let warned = from_nodes(nodes, 32);
        assert_eq!(warned.len(), 1);
        assert_eq!(warned[0].severity, Severity::Warning);
    }

    #[test]
    fn windows_2019_on_aks_blocks_1_33_and_not_elsewhere() {
        let aks = node(
            "aksnpwin000000",
            "Windows Server 2019 Datacenter",
            serde_json::json!({"kubernetes.azure.com/agentpool": "npwin"}),
        );
        let out = from_nodes(vec![aks], 33);
        assert_eq!(out.len(), 1);
        assert!(
            out[0].message.contains("Windows Server 2022"),
            "{}",
            out[0].message
        );
        // The same image on a cluster with no provider labels: no provider calendar applies.
        let plain = node(
            "win1",
            "Windows Server 2019 Datacenter",
            serde_json::json!({}),
        );
        assert!(from_nodes(vec![plain], 33).is_empty());
    }

    #[test]
    fn groups_judged_by_ami_type_are_not_judged_again() {
        let mut s = state("AL2_x86_64");
        s.set(
            Resource::Nodes,
            vec![node(
                "ip-1",
                "Amazon Linux 2",
                serde_json::json!({"eks.amazonaws.com/nodegroup": "general"}),
            )],
        );
        assert_eq!(findings(&s, 33).len(), 1);
    }
}
