//! HLT003's Kubernetes half: the API server's own readiness checks (`GET /readyz?verbose`).
//! An API server that reports a check failing (etcd unreachable, informers not synced, a
//! post-start hook stuck) is not a control plane to start an upgrade from.

use super::{CheckFinding, CodeInfo, Context, Severity};

/// The failing readiness checks, as one blocker naming each (with the server's reason).
pub(super) fn findings(check: &CodeInfo, ctx: &Context<'_>, out: &mut Vec<CheckFinding>) {
    let failing: Vec<String> = ctx
        .state
        .readyz()
        .iter()
        .filter(|c| !c.ok)
        .map(|c| match &c.reason {
            Some(why) => format!("{} ({why})", c.name),
            None => c.name.clone(),
        })
        .collect();
    if failing.is_empty() {
        return;
    }
    out.push(CheckFinding::new(
        check,
        Severity::Blocker,
        "kube-apiserver /readyz",
        format!(
            "the API server reports {} readiness check(s) failing: {}; fix them before the upgrade (behind a load balancer this is the instance that answered: check each one)",
            failing.len(),
            failing.join(", ")
        ),
    ));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::ClusterState;
    use crate::inspect::health::parse_readyz;
    use api_catalog::KubeVersion;

    static INFO: CodeInfo = CodeInfo::new(
        "TEST001",
        crate::report::code::Family::Readiness,
        "test",
        Severity::Blocker,
        "test",
    );

    fn findings_for(body: &str) -> Vec<CheckFinding> {
        let mut state = ClusterState::new();
        state.set_readyz(parse_readyz(body));
        let ctx = Context::new(&state, KubeVersion::new(1, 30), KubeVersion::new(1, 31));
        let mut out = Vec::new();
        findings(&INFO, &ctx, &mut out);
        out
    }

    #[test]
    fn a_failing_check_blocks_and_is_named() {
        let out =
            findings_for("[+]ping ok\n[-]etcd failed: reason withheld\nreadyz check failed\n");
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].severity, Severity::Blocker);
        assert!(
            out[0]
                .message
                .contains("1 readiness check(s) failing: etcd (reason withheld)"),
            "{}",
            out[0].message
        );
    }

    #[test]
    fn the_recorded_healthy_servers_pass() {
        for body in [
            include_str!("../../../fixtures/cluster/v1.20/readyz-verbose.txt"),
            include_str!("../../../fixtures/cluster/v1.34/readyz-verbose.txt"),
        ] {
            assert!(findings_for(body).is_empty());
        }
    }
}
