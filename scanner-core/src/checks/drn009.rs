//! DRN009: pods outside `DaemonSets` that tolerate every taint, so they return to the node
//! being drained.

use std::collections::BTreeMap;

use serde_json::Value;

use super::util::{PodGroup, controller, drain_evicts, names, object_ref, owner_of};
use super::{Check, CheckFinding, CodeInfo, Context, Family, Resource, Severity};

pub static CHECK: Check = Check {
    info: CodeInfo {
        code: "DRN009",
        family: Family::Readiness,
        title: "Non-DaemonSet pods tolerating every taint",
        severity: Severity::Warning,
        reads: "Pod spec.tolerations[], metadata.ownerReferences; Deployment and StatefulSet spec.template.spec.tolerations[]",
        applies: "every hop that drains or replaces nodes; on manifests every Deployment, StatefulSet and Pod",
        remediation: "Narrow the toleration to the taints the workload really needs (a key, or NoSchedule only), or run it as a DaemonSet if it belongs on every node.",
        explanation: "A toleration with operator Exists and no key tolerates every taint, node.kubernetes.io/unschedulable included, the taint a cordon adds. A drain evicts such a pod, and its controller's replacement can be scheduled straight back onto the cordoned node, which the drain then has to evict again: the drain loops until it times out (an EKS-documented cause of PodEvictionFailure). DaemonSets are meant to tolerate everything and are left running by drains; this check looks at everything else.",
        retired: None,
    },
    needs: &[
        Resource::Pods,
        Resource::Deployments,
        Resource::StatefulSets,
    ],
    offline: true,
    needs_kubectl: false,
    uses: &[],
    run,
};

/// Whether `spec` tolerates every taint (an `Exists` toleration without a key, any effect).
fn tolerates_all(spec: &Value) -> bool {
    spec.get("tolerations")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .any(|t| {
            t.get("operator").and_then(Value::as_str) == Some("Exists")
                && t.get("key")
                    .and_then(Value::as_str)
                    .is_none_or(str::is_empty)
                && t.get("effect")
                    .and_then(Value::as_str)
                    .is_none_or(|e| e.is_empty() || e == "NoSchedule")
        })
}

fn run(ctx: &Context<'_>, out: &mut Vec<CheckFinding>) {
    let mut found: BTreeMap<String, PodGroup<'_>> = BTreeMap::new();
    for resource in [Resource::Deployments, Resource::StatefulSets] {
        for w in ctx.state.list(resource) {
            if w.pointer("/spec/template/spec").is_some_and(tolerates_all) {
                found.entry(object_ref(resource.kind(), w)).or_default();
            }
        }
    }
    for pod in ctx.state.list(Resource::Pods) {
        // DaemonSet pods are left running by the drain (and the rule says so for them).
        if !drain_evicts(pod) || matches!(controller(pod), Some(("DaemonSet", _))) {
            continue;
        }
        if pod.get("spec").is_some_and(tolerates_all) {
            found.entry(owner_of(pod)).or_default().add(pod);
        }
    }
    for (object, group) in found {
        let pods = match group.pods.as_slice() {
            [] => String::new(),
            many => format!(" ({}{})", names(many), group.place()),
        };
        out.push(CheckFinding::new(
            &CHECK,
            Severity::Warning,
            object,
            format!("tolerates every taint (operator Exists without a key){pods}, the cordon's too: evicted pods can be scheduled back onto the node being drained and the drain loops"),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::ClusterState;
    use api_catalog::KubeVersion;
    use serde_json::json;

    #[test]
    fn catch_all_tolerations_outside_daemonsets() {
        let pod = |name: &str, owner: &str, tolerations: Value| {
            json!({"metadata": {"name": name, "namespace": "ops",
                "ownerReferences": [{"kind": owner, "name": "x", "controller": true}]},
                "spec": {"nodeName": "n1", "tolerations": tolerations}, "status": {"phase": "Running"}})
        };
        let all = json!([{"operator": "Exists"}]);
        let mut s = ClusterState::new();
        s.set(
            Resource::Pods,
            vec![
                pod("agent", "DaemonSet", all.clone()),
                pod("batch-1", "Job", all.clone()),
                pod(
                    "web-1",
                    "StatefulSet",
                    json!([{"key": "gpu", "operator": "Exists"}]),
                ),
                pod(
                    "exec-1",
                    "StatefulSet",
                    json!([{"operator": "Exists", "effect": "NoExecute"}]),
                ),
            ],
        );
        s.set(
            Resource::Deployments,
            vec![json!({"metadata": {"name": "runner", "namespace": "ci"},
                "spec": {"template": {"spec": {"tolerations": all}}}})],
        );
        s.set(Resource::StatefulSets, vec![]);
        let ctx = Context::new(&s, KubeVersion::new(1, 29), KubeVersion::new(1, 30));
        let mut out = Vec::new();
        run(&ctx, &mut out);
        let got: Vec<&str> = out.iter().map(|f| f.object.as_str()).collect();
        assert_eq!(got, ["Deployment ci/runner", "Job ops/x"]);
        assert!(
            out[1].message.contains("(batch-1 on n1)"),
            "{}",
            out[1].message
        );
    }
}
