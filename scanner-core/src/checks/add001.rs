//! ADD001: EKS managed add-ons at versions a hop's Kubernetes minor does not support, with the
//! version to move to at that hop (`DescribeAddonVersions`).

use super::{Check, CheckFinding, CodeInfo, Context, Family, Severity};
use crate::report::provider::{EksCall, EksFacts};

pub static CHECK: Check = Check {
    info: CodeInfo {
        code: "ADD001",
        family: Family::Readiness,
        title: "Managed add-on compatibility (EKS)",
        severity: Severity::Blocker,
        reads: "EKS ListAddons, DescribeAddon (addonVersion), DescribeAddonVersions(addonName, kubernetesVersion = each hop) (addonVersions[].compatibilities[].defaultVersion)",
        applies: "every hop of an EKS cluster (provider facts; never offline)",
        remediation: "After each control-plane update, update every managed add-on to the version named for that hop (aws eks update-addon --cluster-name NAME --addon-name ADDON --addon-version VERSION), VPC CNI, CoreDNS and kube-proxy in that order, before the next hop.",
        explanation: "EKS managed add-ons (VPC CNI, CoreDNS, kube-proxy, EBS CSI, ...) are versioned apart from the control plane, and each add-on version is compatible with a few Kubernetes minors only. EKS does not update them with UpdateClusterVersion: an add-on left at a version the new minor does not list keeps running unsupported (kube-proxy older than the API server, CoreDNS missing RBAC the new minor needs) and later updates refuse to skip versions. The check reads the installed version of each managed add-on and, for every hop's minor, the versions DescribeAddonVersions lists as compatible: not among them is a blocker naming the version to move to (the one EKS marks default at that minor, else the newest); compatible but not the default at the target is advice.",
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
    facts
        .addons
        .as_ref()
        .err()
        .or(facts.addon_versions.as_ref().err())
        .map(|p| p.reason.clone())
}

/// The EKS calls the check needs.
pub(super) const CALLS: &[EksCall] = &[
    EksCall::ListAddons,
    EksCall::DescribeAddon,
    EksCall::DescribeAddonVersions,
];

fn run(ctx: &Context<'_>, out: &mut Vec<CheckFinding>) {
    let Some(facts) = ctx.state.provider().eks() else {
        return;
    };
    let Ok(addons) = &facts.addons else {
        return;
    };
    for addon in addons {
        let object = format!("EKS add-on {}", addon.name);
        let mut blocked = false;
        for &hop in &ctx.hops {
            let versions = facts.addon_versions_at(&addon.name, hop);
            if versions.is_some_and(|v| v.compatible.contains(&addon.version)) {
                continue;
            }
            blocked = true;
            let message = match versions.and_then(|v| v.recommended()) {
                Some(to) => format!(
                    "add-on {} is at {}, which EKS does not list as compatible with Kubernetes {hop}: update it to {to} after the control plane reaches {hop}",
                    addon.name, addon.version
                ),
                None => format!(
                    "add-on {} is at {}, and EKS lists no version of it for Kubernetes {hop}: remove it or replace it with a self-managed install before the hop",
                    addon.name, addon.version
                ),
            };
            out.push(CheckFinding::new(&CHECK, Severity::Blocker, &object, message).at_hop(hop));
        }
        let Some(&last) = ctx.hops.last() else {
            continue;
        };
        if !blocked
            && let Some(default) = facts
                .addon_versions_at(&addon.name, last)
                .and_then(|v| v.default.as_deref())
            && default != addon.version
        {
            out.push(
                CheckFinding::new(
                    &CHECK,
                    Severity::Info,
                    &object,
                    format!(
                        "add-on {} is at {}, compatible with Kubernetes {last} but not its default {default}",
                        addon.name, addon.version
                    ),
                )
                .at_hop(last),
            );
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::checks::ClusterState;
    use crate::report::provider::{AddonVersions, EksAddon, ProviderProblem, ProviderState};
    use api_catalog::KubeVersion;

    fn versions(compatible: &[&str], default: Option<&str>) -> AddonVersions {
        AddonVersions {
            compatible: compatible.iter().map(|s| (*s).to_owned()).collect(),
            default: default.map(str::to_owned),
        }
    }

    fn facts(installed: &str, at_31: AddonVersions) -> EksFacts {
        let mut table = BTreeMap::new();
        table.insert("1.31".to_owned(), at_31);
        let mut all = BTreeMap::new();
        all.insert("kube-proxy".to_owned(), table);
        EksFacts {
            cluster: "prod".into(),
            region: "eu-west-1".into(),
            version: Some("1.30".into()),
            addons: Ok(vec![EksAddon {
                name: "kube-proxy".into(),
                version: installed.into(),
                health: Vec::new(),
            }]),
            addon_versions: Ok(all),
            nodegroups: Ok(Vec::new()),
            health: Vec::new(),
            support_type: None,
            insights: Ok(Vec::new()),
        }
    }

    fn state(installed: &str, at_31: AddonVersions) -> ClusterState {
        let mut s = ClusterState::new();
        s.set_provider(ProviderState::Eks(Box::new(facts(installed, at_31))));
        s
    }

    fn findings(s: &ClusterState) -> Vec<CheckFinding> {
        let ctx = Context::new(s, KubeVersion::new(1, 30), KubeVersion::new(1, 31));
        let mut out = Vec::new();
        run(&ctx, &mut out);
        out
    }

    #[test]
    fn incompatible_version_is_a_blocker_naming_the_default() {
        let s = state(
            "v1.29.0-eksbuild.1",
            versions(
                &["v1.31.2-eksbuild.3", "v1.31.0-eksbuild.2"],
                Some("v1.31.0-eksbuild.2"),
            ),
        );
        let out = findings(&s);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].severity, Severity::Blocker);
        assert_eq!(out[0].hop, Some(KubeVersion::new(1, 31)));
        assert!(
            out[0].message.contains("update it to v1.31.0-eksbuild.2"),
            "{}",
            out[0].message
        );
    }

    #[test]
    fn without_a_default_the_newest_is_named_and_none_listed_says_so() {
        let out = findings(&state(
            "v1.29.0-eksbuild.1",
            versions(&["v1.31.2-eksbuild.3", "v1.31.0-eksbuild.2"], None),
        ));
        assert!(out[0].message.contains("update it to v1.31.2-eksbuild.3"));
        let out = findings(&state("v1.29.0-eksbuild.1", versions(&[], None)));
        assert!(
            out[0].message.contains("lists no version"),
            "{}",
            out[0].message
        );
    }

    #[test]
    fn compatible_default_passes_and_compatible_non_default_is_advice() {
        let v = versions(
            &["v1.31.2-eksbuild.3", "v1.31.0-eksbuild.2"],
            Some("v1.31.2-eksbuild.3"),
        );
        assert!(findings(&state("v1.31.2-eksbuild.3", v.clone())).is_empty());
        let out = findings(&state("v1.31.0-eksbuild.2", v));
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].severity, Severity::Info);
    }

    #[test]
    fn a_denied_call_is_the_reason_it_did_not_run() {
        let mut f = facts("v1", versions(&[], None));
        assert_eq!(unavailable(&f), None);
        f.addon_versions = Err(ProviderProblem::new(
            crate::report::ErrorKind::Forbidden,
            "needs eks:DescribeAddonVersions",
            "AccessDeniedException",
        ));
        assert_eq!(
            unavailable(&f).as_deref(),
            Some("needs eks:DescribeAddonVersions")
        );
    }
}
