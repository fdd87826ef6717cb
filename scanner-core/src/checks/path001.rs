//! PATH001: the upgrade path (how many control-plane upgrades it takes), and on AKS whether
//! AKS offers the first hop from the running version (`upgradeProfiles/default`).

use super::{Check, CheckFinding, CodeInfo, Context, Family, Severity};
use crate::report::provider::AksFacts;

pub static CHECK: Check = Check {
    info: CodeInfo {
        code: "PATH001",
        family: Family::Readiness,
        title: "Upgrade path",
        // Only informs: the hops themselves block nothing; a downgrade, which does, is PATH002.
        severity: Severity::Info,
        reads: "the running control-plane minor (GET /version) and the target minor; on AKS managedClusters/upgradeProfiles/default (controlPlaneProfile.upgrades[].kubernetesVersion, isPreview)",
        applies: "targets more than one minor ahead; on AKS every upgrade (a blocker when AKS does not offer the next minor)",
        remediation: "Upgrade one control-plane minor at a time in the listed order, re-scanning between hops. On AKS, pick a version `az aks get-upgrades --resource-group RG --name NAME` lists; when the next minor is not offered, upgrade to the newest patch of the running minor first, or wait for the minor to reach the region.",
        explanation: "The control plane moves one minor per upgrade: kube-apiserver, its storage and the skew rules for every other component are only tested for a step from s to s+1, and kubeadm, EKS, AKS and GKE all refuse to skip a minor. A target several minors ahead is therefore a sequence of upgrades, and each one has its own removed APIs and skew limits, so the other findings name the hop they belong to. AKS adds its own list: the upgrade profile of a cluster names the versions AKS will upgrade it to from the version it runs (some only as previews), and az aks upgrade refuses any other; when the next minor is not in that list (the running patch is too old, or the minor has not reached the region) the first hop is blocked, and the finding names what AKS offers.",
        retired: None,
    },
    needs: &[],
    offline: true,
    needs_kubectl: false,
    uses: &[],
    run,
};

/// Why the AKS facts do not suffice, when they do not.
pub(super) fn aks_unavailable(facts: &AksFacts) -> Option<String> {
    facts.reason(&[facts.upgrades.as_ref().err()])
}

/// On AKS: whether the upgrade profile offers the first hop's minor.
fn run_aks(ctx: &Context<'_>, facts: &AksFacts, out: &mut Vec<CheckFinding>) {
    let (Ok(offered), Some(&hop)) = (&facts.upgrades, ctx.hops.first()) else {
        return;
    };
    let minor_of = |v: &str| v.parse::<api_catalog::KubeVersion>().ok();
    let at_hop: Vec<&crate::report::provider::AksUpgrade> = offered
        .iter()
        .filter(|u| minor_of(&u.version) == Some(hop))
        .collect();
    if at_hop.iter().any(|u| !u.preview) {
        return;
    }
    let running = facts
        .current_version
        .clone()
        .or_else(|| facts.version.clone())
        .unwrap_or_else(|| ctx.current.to_string());
    let mut list: Vec<String> = offered
        .iter()
        .map(|u| {
            if u.preview {
                format!("{} (preview)", u.version)
            } else {
                u.version.clone()
            }
        })
        .collect();
    list.sort();
    let offers = if list.is_empty() {
        "no upgrade at all".to_owned()
    } else {
        list.join(", ")
    };
    let why = if at_hop.is_empty() {
        format!("AKS does not offer {hop} from {running}")
    } else {
        format!("AKS offers {hop} from {running} only as a preview")
    };
    out.push(
        CheckFinding::new(
            &CHECK,
            Severity::Blocker,
            format!("AKS cluster {}", facts.cluster),
            format!(
                "{why} (upgradeProfiles/default offers: {offers}): there is no generally available {hop} to upgrade to; upgrade to the newest {} patch first or wait until AKS offers {hop} in the region",
                ctx.current
            ),
        )
        .at_hop(hop),
    );
}

fn run(ctx: &Context<'_>, out: &mut Vec<CheckFinding>) {
    if let Some(facts) = ctx.state.provider().aks() {
        run_aks(ctx, facts, out);
    }
    if ctx.target > ctx.current && ctx.hops.len() > 1 {
        let steps: Vec<String> = ctx.hops.iter().map(ToString::to_string).collect();
        out.push(CheckFinding::new(
            &CHECK,
            CHECK.info.severity,
            "cluster",
            format!(
                "{} → {} takes {} control-plane upgrades: {}; later findings say which hop they apply to",
                ctx.current,
                ctx.target,
                ctx.hops.len(),
                steps.join(" → ")
            ),
        ));
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::checks::ClusterState;
    use api_catalog::KubeVersion;

    fn findings(current: u16, target: u16) -> Vec<CheckFinding> {
        let state = ClusterState::new();
        let ctx = Context::new(
            &state,
            KubeVersion::new(1, current),
            KubeVersion::new(1, target),
        );
        let mut out = Vec::new();
        run(&ctx, &mut out);
        out
    }

    #[test]
    fn findings_carry_the_registered_severity() {
        for f in findings(20, 24) {
            assert_eq!(f.severity, CHECK.info.severity);
        }
    }

    #[test]
    fn one_hop_or_none_says_nothing() {
        assert!(findings(20, 21).is_empty());
        assert!(findings(20, 20).is_empty());
        assert!(findings(22, 20).is_empty(), "a downgrade is PATH002's");
    }

    #[test]
    fn several_hops_are_listed() {
        let f = findings(20, 22);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].severity, Severity::Info);
        assert_eq!(f[0].hop, None);
        assert_eq!(
            f[0].message,
            "1.20 → 1.22 takes 2 control-plane upgrades: 1.21 → 1.22; later findings say which hop they apply to"
        );
        let f = findings(29, 33);
        assert!(
            f[0].message
                .contains("takes 4 control-plane upgrades: 1.30 → 1.31 → 1.32 → 1.33")
        );
    }

    #[test]
    fn recorded_cluster() {
        // PATH001 reads no lists: the recorded 1.20 cluster is only its version.
        let version: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../fixtures/cluster/v1.20/version.json"
            ))
            .unwrap(),
        )
        .unwrap();
        let current: KubeVersion = version["gitVersion"].as_str().unwrap().parse().unwrap();
        assert_eq!(current, KubeVersion::new(1, 20));
        let state = ClusterState::new();
        let mut out = Vec::new();
        run(
            &Context::new(&state, current, KubeVersion::new(1, 22)),
            &mut out,
        );
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].severity, Severity::Info);
    }

    fn aks(offered: &[(&str, bool)], target: u16) -> Vec<CheckFinding> {
        use crate::report::provider::{AksFacts, AksUpgrade, ProviderState};
        let mut state = ClusterState::new();
        state.set_provider(ProviderState::Aks(Box::new(AksFacts {
            cluster: "prod".into(),
            resource_group: "rg".into(),
            subscription: "sub".into(),
            version: Some("1.30".into()),
            current_version: Some("1.30.7".into()),
            support_plan: None,
            read: Ok(()),
            pools: Ok(Vec::new()),
            upgrades: Ok(offered
                .iter()
                .map(|(v, p)| AksUpgrade {
                    version: (*v).into(),
                    preview: *p,
                })
                .collect()),
            pool_upgrades: Ok(()),
        })));
        let ctx = Context::new(&state, KubeVersion::new(1, 30), KubeVersion::new(1, target));
        let mut out = Vec::new();
        run(&ctx, &mut out);
        out.retain(|f| f.severity == Severity::Blocker);
        out
    }

    #[test]
    fn aks_next_minor_not_offered_is_a_blocker_naming_the_offer() {
        let out = aks(&[("1.30.12", false), ("1.31.1", true)], 32);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].hop, Some(KubeVersion::new(1, 31)));
        assert_eq!(
            out[0].message,
            "AKS offers 1.31 from 1.30.7 only as a preview (upgradeProfiles/default offers: 1.30.12, 1.31.1 (preview)): there is no generally available 1.31 to upgrade to; upgrade to the newest 1.30 patch first or wait until AKS offers 1.31 in the region"
        );
        let out = aks(&[], 31);
        assert!(
            out[0].message.contains("does not offer 1.31 from 1.30.7"),
            "{}",
            out[0].message
        );
    }

    #[test]
    fn aks_next_minor_offered_passes() {
        assert!(aks(&[("1.31.2", false), ("1.31.5", false)], 33).is_empty());
    }
}
