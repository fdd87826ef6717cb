//! NODE003: EKS managed node groups on Amazon Linux 2 AMI types, which EKS stops building at
//! Kubernetes 1.33 (`DescribeNodegroup.amiType`); AKS node pools on an OS SKU or node image
//! AKS retires at a minor on the way (`agentPools` `osSKU`, `nodeImageVersion`; the table is
//! api-catalog's `aks-node-os.csv`). Without the provider's API, the same from the nodes
//! themselves: `nodeInfo.osImage` on EKS, AKS's `os-sku` and `node-image-version` labels.

use std::collections::BTreeMap;

use serde_json::Value;

use super::util::{name, names, node_pool, text};
use super::{Check, CheckFinding, CodeInfo, Context, Family, Resource, Severity};
use crate::report::provider::{AksFacts, EksCall, EksFacts};
use api_catalog::KubeVersion;

pub static CHECK: Check = Check {
    info: CodeInfo {
        code: "NODE003",
        family: Family::Readiness,
        title: "Node OS not supported at the target (EKS AL2, AKS OS SKUs and node images)",
        severity: Severity::Blocker,
        reads: "EKS ListNodegroups, DescribeNodegroup (amiType); AKS agentPools (osSKU, nodeImageVersion); without them, Node status.nodeInfo.osImage (EKS) and labels kubernetes.azure.com/os-sku, kubernetes.azure.com/node-image-version (AKS)",
        applies: "hops to 1.32 (warning) and from 1.33 (blocker) of an EKS cluster; the first hop past the last minor AKS supports a pool's OS at (provider facts, else the nodes; never offline)",
        remediation: "Move each AL2 node group to AL2023 (AL2023_x86_64_STANDARD, AL2023_ARM_64_STANDARD, AL2023_x86_64_NVIDIA) or Bottlerocket with a new node group or a blue/green roll, before or with the roll to 1.33; check user data and bootstrap scripts, which AL2023 replaces with nodeadm. On AKS, move Windows Server 2019 pools (last minor 1.32) and Windows Server 2022 pools (last 1.36) to a new pool with a newer osSKU, and Azure Linux 2.0 pools (osSKU CBLMariner or an AzureLinux V2 image, last 1.31) to osSKU AzureLinux (3.0), before the hop named; pools whose Ubuntu release changes with the upgrade are warnings: test the new image.",
        explanation: "Amazon Linux 2 reaches its end of support, and EKS publishes no AL2 accelerated or standard AMIs for Kubernetes 1.33 or later: a managed node group with an AL2_* AMI type cannot be updated to 1.33, so the control-plane hop is followed by node groups stuck behind it. 1.32 is the last minor with AL2 AMIs, reported as a warning. The check reads the AMI type of every managed node group and names the AL2023 and Bottlerocket types for the same architecture. AKS retires node operating systems at its own minors: Windows Server 2019 node pools cannot go past 1.32, Windows Server 2022 past 1.36 (extended in 2026 from 1.34), Azure Linux 2.0 past 1.31 (and it is out of support since 2025-11-30); the Ubuntu release follows the Kubernetes minor (18.04 up to 1.24, 22.04 on 1.25-1.34, 24.04 from 1.35), so an upgrade that changes it is reported as a warning to test. The check reads each pool's osSKU and node image and the dated table in upcheck's catalog (aks-node-os.csv, with its sources). Without the provider's API it reads the same from the nodes: the OS image on EKS nodes, the os-sku and node-image-version labels AKS puts on its nodes; pools the provider's API described are not judged twice.",
        retired: None,
    },
    needs: &[],
    offline: false,
    needs_kubectl: false,
    uses: &[Resource::Nodes],
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

/// Why the AKS facts do not suffice, when they do not.
pub(super) fn aks_unavailable(facts: &AksFacts) -> Option<String> {
    facts.reason(&[facts.pools.as_ref().err()]).or_else(|| {
        api_catalog::aks_node_os_rules()
            .err()
            .map(|e| format!("needs upcheck's AKS node OS table, which cannot be read: {e}"))
    })
}

fn run_aks(ctx: &Context<'_>, facts: &AksFacts, out: &mut Vec<CheckFinding>) {
    let (Ok(pools), Ok(rules)) = (&facts.pools, api_catalog::aks_node_os_rules()) else {
        return;
    };
    for pool in pools {
        let os_sku = pool.os_sku.as_deref();
        let image = pool.node_image_version.as_deref();
        let Some(rule) = rules.iter().find(|r| r.matches(os_sku, image)) else {
            continue;
        };
        let Some(&hop) = ctx.hops.iter().find(|h| **h > rule.last_minor) else {
            continue;
        };
        let what = aks_what(rule, os_sku, image);
        let (severity, message) =
            aks_message(rule, &format!("node pool {}", pool.name), &what, hop);
        out.push(
            CheckFinding::new(
                &CHECK,
                severity,
                format!("AKS node pool {}", pool.name),
                message,
            )
            .at_hop(hop),
        );
    }
}

/// What an AKS rule matched: `osSKU Windows2019` or `node image AKSUbuntu-2004-...`.
fn aks_what(rule: &api_catalog::NodeOsRule, os_sku: Option<&str>, image: Option<&str>) -> String {
    match rule.field {
        api_catalog::NodeOsField::OsSku => format!("osSKU {}", os_sku.unwrap_or_default()),
        api_catalog::NodeOsField::NodeImage => format!("node image {}", image.unwrap_or_default()),
    }
}

/// What a pool (`node pool NAME`, or its nodes) on a retired AKS OS is told at `hop`.
fn aks_message(
    rule: &api_catalog::NodeOsRule,
    who: &str,
    what: &str,
    hop: KubeVersion,
) -> (Severity, String) {
    let last = rule.last_minor;
    if rule.blocks {
        (
            Severity::Blocker,
            format!(
                "{who} runs {what}, which AKS supports up to Kubernetes {last} only (retired {}): move its workloads to a new pool on {} before the roll to {hop}",
                rule.retired, rule.replacement
            ),
        )
    } else {
        (
            Severity::Warning,
            format!(
                "{who} runs {what}, which AKS uses up to Kubernetes {last} only (retired {}): the roll to {hop} moves it to {}; test workloads that depend on the OS (kernel, cgroups, packages) on that image first",
                rule.retired, rule.replacement
            ),
        )
    }
}

fn run(ctx: &Context<'_>, out: &mut Vec<CheckFinding>) {
    if let Some(facts) = ctx.state.provider().aks() {
        run_aks(ctx, facts, out);
        return;
    }
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

/// A label of a node.
fn label<'a>(node: &'a Value, key: &str) -> Option<&'a str> {
    node.pointer("/metadata/labels")?.get(key)?.as_str()
}

/// Whether any node carries a label starting with `prefix`.
fn any_label(ctx: &Context<'_>, prefix: &str) -> bool {
    ctx.state.list(Resource::Nodes).iter().any(|n| {
        n.pointer("/metadata/labels")
            .and_then(Value::as_object)
            .is_some_and(|l| l.keys().any(|k| k.starts_with(prefix)))
    })
}

/// The node half, for clusters whose provider API was not read: EKS nodes on Amazon Linux 2
/// (by `osImage`; groups the EKS API described are judged by their AMI type instead), and AKS
/// nodes whose `os-sku` or `node-image-version` label the AKS table retires. One finding per
/// pool.
fn from_nodes(ctx: &Context<'_>, out: &mut Vec<CheckFinding>) {
    let eks = ctx.state.provider().eks().is_some() || any_label(ctx, "eks.amazonaws.com/");
    let aks = !eks && any_label(ctx, "kubernetes.azure.com/");
    if !eks && !aks {
        return;
    }
    let described: Vec<&str> = match ctx.state.provider().eks().map(|f| &f.nodegroups) {
        Some(Ok(groups)) => groups.iter().map(|g| g.name.as_str()).collect(),
        _ => Vec::new(),
    };
    let rules = api_catalog::aks_node_os_rules().unwrap_or_default();
    // Per pool and what it runs (an AKS rule's index, or None for EKS's AL2).
    let mut pools: BTreeMap<(String, Option<usize>, String), Vec<&str>> = BTreeMap::new();
    for node in ctx.state.list(Resource::Nodes) {
        let pool = node_pool(node);
        if eks {
            let Some(image) = text(node, "/status/nodeInfo/osImage") else {
                continue;
            };
            if image.starts_with("Amazon Linux 2")
                && !image.starts_with("Amazon Linux 2023")
                && !described.contains(&pool.as_str())
            {
                pools
                    .entry((pool, None, "Amazon Linux 2".to_owned()))
                    .or_default()
                    .push(name(node));
            }
        } else {
            let os_sku = label(node, "kubernetes.azure.com/os-sku");
            let image = label(node, "kubernetes.azure.com/node-image-version");
            if let Some(i) = rules.iter().position(|r| r.matches(os_sku, image)) {
                let what = aks_what(&rules[i], os_sku, image);
                pools
                    .entry((pool, Some(i), what))
                    .or_default()
                    .push(name(node));
            }
        }
    }
    for ((pool, rule, what), mut nodes) in pools {
        nodes.sort_unstable();
        let who = format!("{} node(s) of pool {pool} ({})", nodes.len(), names(&nodes));
        let object = format!("node pool {pool}");
        match rule {
            Some(i) => {
                let Some(&hop) = ctx.hops.iter().find(|h| **h > rules[i].last_minor) else {
                    continue;
                };
                let (severity, message) = aks_message(&rules[i], &who, &what, hop);
                out.push(CheckFinding::new(&CHECK, severity, object, message).at_hop(hop));
            }
            None => {
                if let Some(&hop) = ctx.hops.iter().find(|h| **h >= AL2_LAST_PLUS_ONE) {
                    out.push(
                        CheckFinding::new(
                            &CHECK,
                            Severity::Blocker,
                            object,
                            format!(
                                "{who} run {what}, which has no EKS AMIs for Kubernetes {hop}: move the pool to Amazon Linux 2023 or Bottlerocket before or with the roll to {hop}"
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
                                "{who} run {what}: {hop} is the last Kubernetes minor with EKS AMIs for it; plan the move to Amazon Linux 2023 or Bottlerocket"
                            ),
                        )
                        .at_hop(hop),
                    );
                }
            }
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

    fn aks(pools: &[(&str, &str, &str)], target: u16) -> Vec<CheckFinding> {
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
                .map(|(name, sku, image)| AksPool {
                    name: (*name).into(),
                    os_sku: Some((*sku).into()),
                    node_image_version: Some((*image).into()),
                    ..AksPool::default()
                })
                .collect()),
            upgrades: Ok(Vec::new()),
            pool_upgrades: Ok(()),
        })));
        findings(&s, target)
    }

    #[test]
    fn aks_retired_os_skus_block_the_hop_past_their_last_minor() {
        let out = aks(
            &[
                (
                    "win19",
                    "Windows2019",
                    "AKSWindows-2019-containerd-17763.6775.250117",
                ),
                ("mariner", "AzureLinux", "AKSAzureLinux-V2gen2-202501.12.0"),
                (
                    "ubuntu",
                    "Ubuntu",
                    "AKSUbuntu-2004fipscontainerd-202501.12.0",
                ),
            ],
            34,
        );
        let got: Vec<(String, Severity, Option<KubeVersion>)> = out
            .iter()
            .map(|f| (f.object.clone(), f.severity, f.hop))
            .collect();
        assert_eq!(
            got,
            [
                (
                    "AKS node pool win19".to_owned(),
                    Severity::Blocker,
                    Some(KubeVersion::new(1, 33))
                ),
                (
                    "AKS node pool mariner".to_owned(),
                    Severity::Blocker,
                    Some(KubeVersion::new(1, 32))
                ),
                (
                    "AKS node pool ubuntu".to_owned(),
                    Severity::Warning,
                    Some(KubeVersion::new(1, 34))
                ),
            ]
        );
        assert!(out[0].message.contains("Windows2025"), "{}", out[0].message);
    }

    #[test]
    fn aks_supported_os_skus_pass() {
        assert!(
            aks(
                &[
                    (
                        "win22",
                        "Windows2022",
                        "AKSWindows-2022-containerd-20348.3091.250117"
                    ),
                    ("linux", "AzureLinux", "AKSAzureLinux-V3gen2-202501.12.0"),
                    (
                        "ubuntu",
                        "Ubuntu",
                        "AKSUbuntu-2204gen2containerd-202501.12.0"
                    ),
                ],
                34
            )
            .is_empty()
        );
        // Windows Server 2019 to 1.32 is still within its last minor.
        assert!(aks(&[("win19", "Windows2019", "AKSWindows-2019")], 32).is_empty());
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
    fn aks_nodes_are_judged_by_the_same_table_from_their_labels() {
        let win = node(
            "aksnpwin000000",
            "Windows Server 2019 Datacenter",
            serde_json::json!({
                "kubernetes.azure.com/agentpool": "npwin",
                "kubernetes.azure.com/os-sku": "Windows2019",
                "kubernetes.azure.com/node-image-version": "AKSWindows-2019-containerd-17763.6775.250117"
            }),
        );
        let out = from_nodes(vec![win.clone()], 33);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].severity, Severity::Blocker);
        assert!(
            out[0].message.contains("1 node(s) of pool npwin"),
            "{}",
            out[0].message
        );
        assert!(from_nodes(vec![win], 32).is_empty());
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
