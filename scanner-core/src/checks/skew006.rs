//! SKEW006: kubectl (and the tooling that pins it) outside the supported skew at a hop.

use api_catalog::KubeVersion;

use super::{Check, CheckFinding, CodeInfo, Context, Family, Severity};

pub static CHECK: Check = Check {
    info: CodeInfo {
        code: "SKEW006",
        family: Family::Readiness,
        title: "kubectl version skew per hop",
        severity: Severity::Info,
        reads: "the kubectl version given with --kubectl-version (the one CI images, runbooks and IaC pin)",
        applies: "every hop; only when --kubectl-version is given",
        remediation: "Bump the pinned kubectl (CI images, toolboxes, Terraform providers) with each hop, so it stays within one minor of the control plane; scripts using `kubectl drain --delete-local-data` need `--delete-emptydir-data` from 1.31.",
        explanation: "kubectl is supported within one minor of the API server, older or newer. Pipelines and runbooks usually pin a kubectl in an image and forget it: after two control-plane upgrades that kubectl is outside the window, and the drain, apply and rollout commands the upgrade itself relies on may misbehave or lack flags the new server expects. The flag --delete-local-data, still common in drain scripts, was removed from kubectl in 1.31.",
        retired: None,
    },
    needs: &[],
    offline: true,
    needs_kubectl: true,
    uses: &[],
    run,
};

/// The kubectl versions an API server at `server` supports: one minor older to one newer.
pub(crate) fn kubectl_range(server: KubeVersion) -> (KubeVersion, KubeVersion) {
    (
        KubeVersion::new(server.major, server.minor.saturating_sub(1)),
        KubeVersion::new(server.major, server.minor + 1),
    )
}

/// Whether `kubectl` is outside the range `server` supports.
pub(crate) fn outside(kubectl: KubeVersion, server: KubeVersion) -> bool {
    let (lo, hi) = kubectl_range(server);
    kubectl < lo || kubectl > hi
}

fn run(ctx: &Context<'_>, out: &mut Vec<CheckFinding>) {
    let Some(kubectl) = ctx.kubectl else {
        return;
    };
    if outside(kubectl, ctx.current) {
        out.push(CheckFinding::new(
            &CHECK,
            Severity::Info,
            "kubectl",
            format!(
                "kubectl {kubectl} is already outside the supported ±1 minor of the {} control plane",
                ctx.current
            ),
        ));
        return;
    }
    if let Some(&hop) = ctx.hops.iter().find(|h| outside(kubectl, **h)) {
        out.push(
            CheckFinding::new(
                &CHECK,
                Severity::Info,
                "kubectl",
                format!(
                    "kubectl {kubectl} is unsupported against the {hop} control plane (±1 minor): bump the pinned kubectl to at least {} before that hop",
                    kubectl_range(hop).0
                ),
            )
            .at_hop(hop),
        );
    }
    let flag_gone = super::facts::find(
        "SKEW006",
        "drain-delete-local-data",
        super::facts::Effect::Removed,
    )
    .map(|f| f.minor);
    if let Some(gone) = flag_gone
        && kubectl < gone
        && let Some(&hop) = ctx.hops.iter().find(|h| **h >= gone)
    {
        out.push(
            CheckFinding::new(
                &CHECK,
                Severity::Info,
                "kubectl",
                format!("when kubectl moves to {gone} or later, `kubectl drain --delete-local-data` stops working: use --delete-emptydir-data in scripts now"),
            )
            .at_hop(hop),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::ClusterState;

    fn findings(kubectl: &str, current: u16, target: u16) -> Vec<CheckFinding> {
        let state = ClusterState::new();
        let mut ctx = Context::new(
            &state,
            KubeVersion::new(1, current),
            KubeVersion::new(1, target),
        );
        ctx.kubectl = kubectl.parse().ok();
        let mut out = Vec::new();
        run(&ctx, &mut out);
        out
    }

    #[test]
    fn kubectl_falls_out_of_the_window_at_a_later_hop() {
        let f = findings("v1.29.3", 27, 28);
        assert!(f.iter().any(|f| f.message.contains("already outside")));
        let f = findings("1.29", 29, 33);
        assert_eq!(f[0].hop, Some(KubeVersion::new(1, 31)));
        assert!(f[0].message.contains("at least 1.30"), "{}", f[0].message);
        assert!(
            f.iter()
                .any(|f| f.message.contains("--delete-emptydir-data"))
        );
    }

    #[test]
    fn kubectl_within_one_minor_passes() {
        assert!(findings("1.30", 29, 30).is_empty());
        assert!(findings("1.32", 31, 32).is_empty());
    }
}
