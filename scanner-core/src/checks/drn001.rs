//! DRN001: a `PodDisruptionBudget` that allows no disruption right now.

use serde_json::Value;

use super::util::{object_ref, pods_of};
use super::{Check, CheckFinding, CodeInfo, Context, Family, Resource, Severity};

pub static CHECK: Check = Check {
    info: CodeInfo {
        code: "DRN001",
        family: Family::Readiness,
        title: "PodDisruptionBudget currently allows no disruption",
        severity: Severity::Blocker,
        reads: "PodDisruptionBudget metadata.generation, status.{disruptionsAllowed,currentHealthy,desiredHealthy,expectedPods,observedGeneration}, spec.selector; Pod labels, phase",
        applies: "every hop that drains or replaces nodes",
        remediation: "Add a replica, relax the budget, make the not-ready pods ready, or set unhealthyPodEvictionPolicy: AlwaysAllow; as a last resort delete the pod in a maintenance window.",
        explanation: "A drain evicts pods through the eviction API, which answers 429 while evicting a pod would take its budget below what it demands. kubectl drain retries every 5 seconds forever, EKS managed node groups give up after 15 minutes per node, AKS fails the upgrade after drainTimeoutInMinutes (30 by default). A budget whose status says disruptionsAllowed is 0 while it covers running pods will stop every drain of their nodes. A status older than the spec (observedGeneration behind generation) answers 429 as well.",
        retired: None,
    },
    needs: &[Resource::PodDisruptionBudgets, Resource::Pods],
    offline: false,
    needs_kubectl: false,
    uses: &[],
    run,
};

fn run(ctx: &Context<'_>, out: &mut Vec<CheckFinding>) {
    let pods = ctx.state.list(Resource::Pods);
    for pdb in ctx.state.list(Resource::PodDisruptionBudgets) {
        let int = |p: &str| pdb.pointer(p).and_then(Value::as_i64);
        let active = pods_of(pdb, pods)
            .into_iter()
            .filter(|p| {
                matches!(
                    p.pointer("/status/phase").and_then(Value::as_str),
                    Some("Running")
                ) && p.pointer("/metadata/deletionTimestamp").is_none()
            })
            .count();
        if active == 0 {
            continue;
        }
        let stale = match (
            int("/metadata/generation"),
            int("/status/observedGeneration"),
        ) {
            (Some(g), Some(o)) => o < g,
            _ => false,
        };
        let allowed = int("/status/disruptionsAllowed");
        let what = object_ref("PodDisruptionBudget", pdb);
        if stale {
            out.push(CheckFinding::new(
                &CHECK,
                Severity::Blocker,
                what,
                format!("its status is older than its spec (observedGeneration {} < generation {}): evictions of its {active} running pod(s) answer 429 until the disruption controller catches up", int("/status/observedGeneration").unwrap_or(0), int("/metadata/generation").unwrap_or(0)),
            ));
        } else if allowed == Some(0) {
            out.push(CheckFinding::new(
                &CHECK,
                Severity::Blocker,
                what,
                format!(
                    "allows 0 disruptions (healthy {} of desired {}): its {active} running pod(s) cannot be evicted, so draining their nodes hangs",
                    int("/status/currentHealthy").unwrap_or(0),
                    int("/status/desiredHealthy").unwrap_or(0)
                ),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::{ClusterState, Context};
    use api_catalog::KubeVersion;
    use serde_json::json;

    fn state(allowed: i64) -> ClusterState {
        let mut s = ClusterState::new();
        s.set(
            Resource::PodDisruptionBudgets,
            vec![json!({"metadata": {"name": "web", "namespace": "a", "generation": 1},
                "spec": {"minAvailable": 2, "selector": {"matchLabels": {"app": "web"}}},
                "status": {"observedGeneration": 1, "disruptionsAllowed": allowed, "currentHealthy": 2, "desiredHealthy": 2}})],
        );
        s.set(
            Resource::Pods,
            vec![json!({"metadata": {"name": "web-1", "namespace": "a", "labels": {"app": "web"}}, "status": {"phase": "Running"}})],
        );
        s
    }

    fn findings(s: &ClusterState) -> Vec<CheckFinding> {
        let ctx = Context::new(s, KubeVersion::new(1, 29), KubeVersion::new(1, 30));
        let mut out = Vec::new();
        run(&ctx, &mut out);
        out
    }

    #[test]
    fn zero_allowed_blocks_one_allowed_does_not() {
        let f = findings(&state(0));
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].object, "PodDisruptionBudget a/web");
        assert!(findings(&state(1)).is_empty());
    }
}
