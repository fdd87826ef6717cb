//! PATH001: the upgrade path (how many control-plane upgrades it takes).

use super::{Check, CheckFinding, CodeInfo, Context, Family, Severity};

pub static CHECK: Check = Check {
    info: CodeInfo {
        code: "PATH001",
        family: Family::Readiness,
        title: "Upgrade path",
        // Only informs: the hops themselves block nothing; a downgrade, which does, is PATH002.
        severity: Severity::Info,
        reads: "the running control-plane minor (GET /version) and the target minor",
        applies: "targets more than one minor ahead",
        remediation: "Upgrade one control-plane minor at a time in the listed order, re-scanning between hops.",
        explanation: "The control plane moves one minor per upgrade: kube-apiserver, its storage and the skew rules for every other component are only tested for a step from s to s+1, and kubeadm, EKS, AKS and GKE all refuse to skip a minor. A target several minors ahead is therefore a sequence of upgrades, and each one has its own removed APIs and skew limits, so the other findings name the hop they belong to.",
        retired: None,
    },
    needs: &[],
    offline: true,
    needs_kubectl: false,
    uses: &[],
    run,
};

fn run(ctx: &Context<'_>, out: &mut Vec<CheckFinding>) {
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
}
