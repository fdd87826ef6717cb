//! DRN003: a pod selected by more than one `PodDisruptionBudget`.

use std::collections::BTreeMap;

use super::util::{drain_evicts, name, names, namespace, owner_of, selects, text};
use super::{Check, CheckFinding, CodeInfo, Context, Family, Resource, Severity};

pub static CHECK: Check = Check {
    info: CodeInfo {
        code: "DRN003",
        family: Family::Readiness,
        title: "Pod selected by more than one PodDisruptionBudget",
        severity: Severity::Blocker,
        reads: "PodDisruptionBudget spec.selector (matchLabels, matchExpressions); Pod labels, phase, metadata.{ownerReferences,deletionTimestamp}, annotation kubernetes.io/config.mirror",
        applies: "every hop that drains or replaces nodes",
        remediation: "Make the budgets' selectors disjoint (watch for selector: {}, which takes every pod of the namespace), or delete the redundant budget.",
        explanation: "The eviction API supports exactly one PodDisruptionBudget per pod. When two or more budgets in a namespace select the same running pod, every eviction of that pod is refused with a 500 error whatever the budgets allow, so kubectl drain stops with an error and managed node-group upgrades report an eviction failure for the node. A catch-all budget with an empty selector next to per-application budgets is the usual cause.",
        retired: None,
    },
    needs: &[Resource::Pods, Resource::PodDisruptionBudgets],
    offline: false,
    needs_kubectl: false,
    uses: &[],
    run,
};

fn run(ctx: &Context<'_>, out: &mut Vec<CheckFinding>) {
    let pdbs = ctx.state.list(Resource::PodDisruptionBudgets);
    // (owner, budgets) → the pods under them, so a Deployment's replicas make one finding.
    let mut groups: BTreeMap<(String, Vec<&str>), Vec<&str>> = BTreeMap::new();
    for pod in ctx.state.list(Resource::Pods) {
        // Only what a drain evicts; of that, the eviction API lets Pending pods pass
        // whatever the budgets say.
        if !drain_evicts(pod) || text(pod, "/status/phase") == Some("Pending") {
            continue;
        }
        let mut budgets: Vec<&str> = pdbs
            .iter()
            .filter(|b| namespace(b) == namespace(pod))
            .filter(|b| selects(b.pointer("/spec/selector"), pod.pointer("/metadata/labels")))
            .map(name)
            .collect();
        if budgets.len() < 2 {
            continue;
        }
        budgets.sort_unstable();
        groups
            .entry((owner_of(pod), budgets))
            .or_default()
            .push(name(pod));
    }
    for ((owner, budgets), pods) in groups {
        let message = if let [pod] = pods.as_slice() {
            format!(
                "pod {pod} is selected by {} PodDisruptionBudgets ({}): its eviction answers 500, so draining its node fails",
                budgets.len(),
                budgets.join(", ")
            )
        } else {
            format!(
                "{} pods ({}) are selected by {} PodDisruptionBudgets ({}): their evictions answer 500, so draining their nodes fails",
                pods.len(),
                names(&pods),
                budgets.len(),
                budgets.join(", ")
            )
        };
        out.push(CheckFinding::new(&CHECK, Severity::Blocker, owner, message));
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::checks::{ClusterState, Context};
    use api_catalog::KubeVersion;
    use serde_json::Value;
    use serde_json::json;

    use crate::checks::util::recorded_items as fixture;

    fn findings(s: &ClusterState) -> Vec<CheckFinding> {
        let ctx = Context::new(s, KubeVersion::new(1, 29), KubeVersion::new(1, 30));
        let mut out = Vec::new();
        run(&ctx, &mut out);
        out
    }

    fn budget(name: &str, selector: &Value) -> Value {
        json!({"metadata": {"name": name, "namespace": "a"}, "spec": {"minAvailable": 1, "selector": selector}})
    }

    fn state(budgets: Vec<Value>) -> ClusterState {
        let mut s = ClusterState::new();
        s.set(Resource::PodDisruptionBudgets, budgets);
        let pod = |n: &str, phase: &str| {
            json!({"metadata": {"name": n, "namespace": "a", "labels": {"app": "web"},
                "ownerReferences": [{"kind": "ReplicaSet", "name": "web-1", "controller": true}]},
                "spec": {"nodeName": "n1"}, "status": {"phase": phase}})
        };
        s.set(
            Resource::Pods,
            vec![
                pod("web-1-a", "Running"),
                pod("web-1-b", "Running"),
                pod("web-1-c", "Pending"),
            ],
        );
        s
    }

    #[test]
    fn overlapping_budgets_block() {
        let f = findings(&state(vec![
            budget("web", &json!({"matchLabels": {"app": "web"}})),
            budget("all", &json!({})),
        ]));
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].object, "ReplicaSet a/web-1");
        assert_eq!(
            f[0].message,
            "2 pods (web-1-a, web-1-b) are selected by 2 PodDisruptionBudgets (all, web): their evictions answer 500, so draining their nodes fails"
        );
    }

    #[test]
    fn disjoint_budgets_pass() {
        let f = findings(&state(vec![
            budget("web", &json!({"matchLabels": {"app": "web"}})),
            budget("db", &json!({"matchLabels": {"app": "db"}})),
            budget("none", &Value::Null),
        ]));
        assert!(f.is_empty());
    }

    #[test]
    fn daemon_set_pods_stay_out() {
        // A drain with --ignore-daemonsets never evicts them, so their budgets never answer
        // 500 during it (before the shared drain rule, DRN003 reported them).
        let mut s = state(vec![
            budget("web", &json!({"matchLabels": {"app": "web"}})),
            budget("all", &json!({})),
        ]);
        let ds = json!({"metadata": {"name": "agent-x", "namespace": "a", "labels": {"app": "web"},
            "ownerReferences": [{"kind": "DaemonSet", "name": "agent", "controller": true}]},
            "spec": {"nodeName": "n1"}, "status": {"phase": "Running"}});
        s.set(Resource::Pods, vec![ds]);
        assert!(findings(&s).is_empty());
    }

    #[test]
    fn recorded_v1_20_cluster() {
        let mut s = ClusterState::new();
        let mut budgets = fixture("policy/v1beta1/poddisruptionbudgets.json");
        s.set(Resource::PodDisruptionBudgets, budgets.clone());
        s.set(Resource::Pods, fixture("core/v1/pods.json"));
        // Each recorded budget selects its own app.
        assert!(findings(&s).is_empty());
        // A namespace-wide budget next to batch-runner's own makes its pod unevictable.
        budgets.push(
            json!({"metadata": {"name": "everything", "namespace": "legacy-apps"},
            "spec": {"maxUnavailable": 1, "selector": {}}}),
        );
        s.set(Resource::PodDisruptionBudgets, budgets);
        let f = findings(&s);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].object, "Pod legacy-apps/batch-runner");
        assert_eq!(
            f[0].message,
            "pod batch-runner is selected by 2 PodDisruptionBudgets (batch-runner, everything): its eviction answers 500, so draining its node fails"
        );
    }
}
