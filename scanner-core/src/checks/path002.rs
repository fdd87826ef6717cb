//! PATH002: a target older than the running control plane (a downgrade).

use super::{Check, CheckFinding, CodeInfo, Context, Family, Severity};

pub static CHECK: Check = Check {
    info: CodeInfo {
        code: "PATH002",
        family: Family::Readiness,
        title: "Control-plane downgrade",
        severity: Severity::Blocker,
        reads: "the running control-plane minor (GET /version) and the target minor",
        applies: "targets older than the running minor",
        remediation: "To go back to an older minor, restore a backup taken on it instead of downgrading.",
        explanation: "Going to an older control-plane minor is not supported: objects already stored in a newer format and newer fields cannot be read back reliably, and no provider offers it.",
        retired: None,
    },
    needs: &[],
    offline: true,
    needs_kubectl: false,
    uses: &[],
    run,
};

fn run(ctx: &Context<'_>, out: &mut Vec<CheckFinding>) {
    if ctx.target < ctx.current {
        out.push(CheckFinding::new(
            &CHECK,
            CHECK.info.severity,
            "cluster",
            format!(
                "the target {} is older than the running {}: Kubernetes does not support downgrading the control plane; restore a backup taken on {} instead",
                ctx.target, ctx.current, ctx.target
            ),
        ));
    }
}

#[cfg(test)]
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
    fn downgrade_blocks() {
        let f = findings(22, 20);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].severity, Severity::Blocker);
        assert_eq!(f[0].severity, CHECK.info.severity);
        assert_eq!(f[0].object, "cluster");
        assert!(f[0].message.contains("downgrading"));
    }

    #[test]
    fn upgrades_say_nothing() {
        assert!(findings(20, 20).is_empty());
        assert!(findings(20, 24).is_empty());
    }
}
