//! DRN011: pods whose required node selection leaves them nowhere to go once their node drains.

use std::collections::BTreeMap;

use serde_json::Value;

use super::placement::{selects_node, tolerates};
use super::util::{PodGroup, drain_evicts, name, names, owner_of, text};
use super::{Check, CheckFinding, CodeInfo, Context, Family, Resource, Severity};

pub static CHECK: Check = Check {
    info: CodeInfo {
        code: "DRN011",
        family: Family::Readiness,
        title: "Pods that cannot be rescheduled elsewhere",
        severity: Severity::Warning,
        reads: "Pod spec.{nodeName,nodeSelector,affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution,tolerations}; Node metadata.{name,labels}, spec.{unschedulable,taints}",
        applies: "every hop that drains or replaces nodes (live: it needs the nodes and where each pod runs)",
        remediation: "Surge first (add a node that matches before draining, as managed node groups and AKS surge do), widen the selector or affinity to more nodes, or roll that pool on its own and book the gap; keep pools that must not move together (an application and its database) in separate rolls.",
        explanation: "A drain evicts every pod of the node, and each must be scheduled somewhere else. A pod whose nodeSelector or required node affinity matches only the node being drained (a pool of one node, a label set by hand on one machine), or whose other matching nodes are cordoned or carry taints it does not tolerate, stays Pending until a new matching node joins: the workload is down for the whole replacement, and a PodDisruptionBudget may stall the drain instead. DRN011 compares each evicted pod's required node selection (nodeSelector, required nodeAffinity terms with In, NotIn, Exists, DoesNotExist, Gt, Lt and metadata.name fields) and tolerations with the other schedulable nodes. Resource requests, zone-bound volumes and pod anti-affinity are not weighed.",
        retired: None,
    },
    needs: &[Resource::Pods, Resource::Nodes],
    offline: false,
    needs_kubectl: false,
    uses: &[],
    run,
};

/// The pod's required node selection, for the message (`nodeSelector pool=mongodb`).
fn constraint(spec: &Value) -> String {
    let mut parts = Vec::new();
    if let Some(sel) = spec.get("nodeSelector").and_then(Value::as_object)
        && !sel.is_empty()
    {
        let pairs: Vec<String> = sel
            .iter()
            .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("")))
            .collect();
        parts.push(format!("nodeSelector {}", pairs.join(",")));
    }
    if spec
        .pointer("/affinity/nodeAffinity/requiredDuringSchedulingIgnoredDuringExecution")
        .is_some()
    {
        parts.push("a required node affinity".to_owned());
    }
    parts.join(" and ")
}

fn run(ctx: &Context<'_>, out: &mut Vec<CheckFinding>) {
    let nodes = ctx.state.list(Resource::Nodes);
    let mut stuck: BTreeMap<String, (String, PodGroup<'_>)> = BTreeMap::new();
    for pod in ctx.state.list(Resource::Pods) {
        if !drain_evicts(pod) {
            continue;
        }
        let (Some(spec), Some(own)) = (pod.get("spec"), text(pod, "/spec/nodeName")) else {
            continue;
        };
        let what = constraint(spec);
        // Only pods that ask for particular nodes: the others fit on any node left.
        if what.is_empty() {
            continue;
        }
        let elsewhere = nodes.iter().any(|n| {
            name(n) != own
                && n.pointer("/spec/unschedulable").and_then(Value::as_bool) != Some(true)
                && selects_node(spec, n)
                && tolerates(spec, n)
        });
        if !elsewhere {
            stuck
                .entry(owner_of(pod))
                .or_insert_with(|| (what, PodGroup::default()))
                .1
                .add(pod);
        }
    }
    for (object, (what, group)) in stuck {
        out.push(CheckFinding::new(
            &CHECK,
            Severity::Warning,
            object,
            format!(
                "{} require{} {what}, which no schedulable node but its own matches{}: evicted, it stays Pending until a new matching node joins; surge first or relax the selection",
                names(&group.pods),
                if group.pods.len() == 1 { "s" } else { "" },
                group.place()
            ),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::ClusterState;
    use api_catalog::KubeVersion;
    use serde_json::json;

    #[allow(clippy::needless_pass_by_value)] // built inline at each call
    fn node(name: &str, labels: Value, spec: Value) -> Value {
        json!({"metadata": {"name": name, "labels": labels}, "spec": spec})
    }

    #[allow(clippy::needless_pass_by_value)] // built inline at each call
    fn pod(name: &str, node: &str, spec: Value) -> Value {
        let mut p = json!({"metadata": {"name": name, "namespace": "db",
            "ownerReferences": [{"kind": "StatefulSet", "name": "mongo", "controller": true}]},
            "spec": spec, "status": {"phase": "Running"}});
        p["spec"]["nodeName"] = json!(node);
        p
    }

    fn findings(nodes: Vec<Value>, pods: Vec<Value>) -> Vec<CheckFinding> {
        let mut s = ClusterState::new();
        s.set(Resource::Nodes, nodes);
        s.set(Resource::Pods, pods);
        let ctx = Context::new(&s, KubeVersion::new(1, 29), KubeVersion::new(1, 30));
        let mut out = Vec::new();
        run(&ctx, &mut out);
        out
    }

    #[test]
    fn a_pool_of_one_node() {
        let nodes = || {
            vec![
                node("m1", json!({"pool": "mongodb"}), json!({})),
                node("a1", json!({"pool": "app"}), json!({})),
                node(
                    "m2",
                    json!({"pool": "mongodb"}),
                    json!({"unschedulable": true}),
                ),
                node(
                    "m3",
                    json!({"pool": "mongodb"}),
                    json!({"taints": [{"key": "dedicated", "value": "x", "effect": "NoSchedule"}]}),
                ),
            ]
        };
        let sel = json!({"nodeSelector": {"pool": "mongodb"}});
        let f = findings(nodes(), vec![pod("mongo-1", "m1", sel.clone())]);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].object, "StatefulSet db/mongo");
        assert_eq!(
            f[0].message,
            "mongo-1 requires nodeSelector pool=mongodb, which no schedulable node but its own matches on m1: evicted, it stays Pending until a new matching node joins; surge first or relax the selection"
        );
        // Tolerating m3's taint gives it somewhere to go.
        let mut tolerant = sel.clone();
        tolerant["tolerations"] = json!([{"key": "dedicated", "operator": "Equal", "value": "x", "effect": "NoSchedule"}]);
        assert!(findings(nodes(), vec![pod("mongo-1", "m1", tolerant)]).is_empty());
        // Required affinity: In over two pools fits a1.
        let affinity = json!({"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
            "nodeSelectorTerms": [{"matchExpressions": [{"key": "pool", "operator": "In", "values": ["mongodb", "app"]}]}]}}}});
        assert!(findings(nodes(), vec![pod("mongo-1", "m1", affinity)]).is_empty());
        // Pinned by name.
        let by_name = json!({"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
            "nodeSelectorTerms": [{"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["m1"]}]}]}}}});
        assert_eq!(
            findings(nodes(), vec![pod("mongo-1", "m1", by_name)]).len(),
            1
        );
        // No selection: anywhere will do.
        assert!(findings(nodes(), vec![pod("web-1", "m1", json!({}))]).is_empty());
    }
}
