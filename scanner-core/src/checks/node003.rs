//! NODE003: EKS managed node groups on Amazon Linux 2 AMI types, which EKS stops building at
//! Kubernetes 1.33 (`DescribeNodegroup.amiType`); AKS node pools on an OS SKU or node image
//! AKS retires at a minor on the way (`agentPools` `osSKU`, `nodeImageVersion`; the table is
//! api-catalog's `aks-node-os.csv`).

use super::{Check, CheckFinding, CodeInfo, Context, Family, Severity};
use crate::report::provider::{AksFacts, EksCall, EksFacts};
use api_catalog::KubeVersion;

pub static CHECK: Check = Check {
    info: CodeInfo {
        code: "NODE003",
        family: Family::Readiness,
        title: "Node OS not supported at the target (EKS AL2, AKS OS SKUs and node images)",
        severity: Severity::Blocker,
        reads: "EKS ListNodegroups, DescribeNodegroup (amiType); AKS agentPools (osSKU, nodeImageVersion)",
        applies: "hops to 1.32 (warning) and from 1.33 (blocker) of an EKS cluster; the first hop past the last minor AKS supports a pool's OS at (provider facts; never offline)",
        remediation: "Move each AL2 node group to AL2023 (AL2023_x86_64_STANDARD, AL2023_ARM_64_STANDARD, AL2023_x86_64_NVIDIA) or Bottlerocket with a new node group or a blue/green roll, before or with the roll to 1.33; check user data and bootstrap scripts, which AL2023 replaces with nodeadm. On AKS, move Windows Server 2019 pools (last minor 1.32) and Windows Server 2022 pools (last 1.34) to a new pool with a newer osSKU, and Azure Linux 2.0 pools (osSKU CBLMariner or an AzureLinux V2 image, last 1.31) to osSKU AzureLinux (3.0), before the hop named; pools whose Ubuntu release changes with the upgrade are warnings: test the new image.",
        explanation: "Amazon Linux 2 reaches its end of support, and EKS publishes no AL2 accelerated or standard AMIs for Kubernetes 1.33 or later: a managed node group with an AL2_* AMI type cannot be updated to 1.33, so the control-plane hop is followed by node groups stuck behind it. 1.32 is the last minor with AL2 AMIs, reported as a warning. The check reads the AMI type of every managed node group and names the AL2023 and Bottlerocket types for the same architecture. AKS retires node operating systems at its own minors: Windows Server 2019 node pools cannot go past 1.32, Windows Server 2022 past 1.34 (AKS blocks the upgrade to 1.35), Azure Linux 2.0 past 1.31 (and it is out of support since 2025-11-30); the Ubuntu release follows the Kubernetes minor (18.04 up to 1.24, 22.04 on 1.25-1.34, 24.04 from 1.35), so an upgrade that changes it is reported as a warning to test. The check reads each pool's osSKU and node image and the dated table in upcheck's catalog (aks-node-os.csv, with its sources).",
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
        let what = match rule.field {
            api_catalog::NodeOsField::OsSku => format!("osSKU {}", os_sku.unwrap_or_default()),
            api_catalog::NodeOsField::NodeImage => {
                format!("node image {}", image.unwrap_or_default())
            }
        };
        let last = rule.last_minor;
        let (severity, message) = if rule.blocks {
            (
                Severity::Blocker,
                format!(
                    "node pool {} runs {what}, which AKS supports up to Kubernetes {last} only (retired {}): move its workloads to a new pool on {} before the roll to {hop}",
                    pool.name, rule.retired, rule.replacement
                ),
            )
        } else {
            (
                Severity::Warning,
                format!(
                    "node pool {} runs {what}, which AKS uses up to Kubernetes {last} only (retired {}): the roll to {hop} moves it to {}; test workloads that depend on the OS (kernel, cgroups, packages) on that image first",
                    pool.name, rule.retired, rule.replacement
                ),
            )
        };
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

fn run(ctx: &Context<'_>, out: &mut Vec<CheckFinding>) {
    if let Some(facts) = ctx.state.provider().aks() {
        run_aks(ctx, facts, out);
        return;
    }
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
            }]),
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
}
