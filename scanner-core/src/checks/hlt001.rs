//! HLT001: nodes that are not healthy before the upgrade starts.

use serde_json::Value;

use super::util::{name, object_ref};
use super::{Check, CheckFinding, CodeInfo, Context, Family, Resource, Severity};

pub static CHECK: Check = Check {
    info: CodeInfo {
        code: "HLT001",
        family: Family::Readiness,
        title: "Node health",
        severity: Severity::Blocker,
        reads: "Node status.conditions[] (Ready, MemoryPressure, DiskPressure, PIDPressure, NetworkUnavailable), spec.unschedulable, labels node-role.kubernetes.io/control-plane and node-role.kubernetes.io/master",
        applies: "before the first hop and after each hop",
        remediation: "Repair, replace or remove unhealthy nodes and uncordon nodes left cordoned before starting, or record them as an accepted baseline; control-plane nodes must be Ready.",
        explanation: "An upgrade drains and replaces nodes, and every pod it evicts needs a healthy node to land on. Nodes that are NotReady, under memory, disk or PID pressure, without a network, or still cordoned from earlier work shrink the capacity the drain relies on, and problems that exist before the upgrade later get blamed on it. kubeadm refuses to upgrade while a control-plane node is not Ready, and a control plane missing a member has less room for the apiserver restarts each hop brings.",
        retired: None,
    },
    needs: &[Resource::Nodes],
    offline: false,
    needs_kubectl: false,
    uses: &[],
    run,
};

/// The node role labels that mark a control-plane node.
const CONTROL_PLANE_LABELS: [&str; 2] = [
    "node-role.kubernetes.io/control-plane",
    "node-role.kubernetes.io/master",
];

/// The pressure conditions, which are a problem when `True`.
const PRESSURE: [&str; 4] = [
    "MemoryPressure",
    "DiskPressure",
    "PIDPressure",
    "NetworkUnavailable",
];

/// `status.conditions[type=kind]`.
fn condition_entry<'a>(node: &'a Value, kind: &str) -> Option<&'a Value> {
    node.pointer("/status/conditions")?
        .as_array()?
        .iter()
        .find(|c| c.get("type").and_then(Value::as_str) == Some(kind))
}

/// A condition's status and reason: (`False`, `, KubeletNotReady`).
fn status_reason(c: &Value) -> (&str, String) {
    let status = c.get("status").and_then(Value::as_str).unwrap_or("");
    match c.get("reason").and_then(Value::as_str) {
        Some(reason) if !reason.is_empty() => (status, format!(", {reason}")),
        _ => (status, String::new()),
    }
}

fn run(ctx: &Context<'_>, out: &mut Vec<CheckFinding>) {
    for node in ctx.state.list(Resource::Nodes) {
        let mut problems = Vec::new();
        match condition_entry(node, "Ready") {
            Some(c) if c.get("status").and_then(Value::as_str) == Some("True") => {}
            Some(c) => {
                let (status, reason) = status_reason(c);
                problems.push(format!("not Ready (Ready={status}{reason})"));
            }
            None => problems.push("no Ready condition reported".to_owned()),
        }
        for kind in PRESSURE {
            if let Some(c) = condition_entry(node, kind)
                .filter(|c| c.get("status").and_then(Value::as_str) == Some("True"))
            {
                let (status, reason) = status_reason(c);
                problems.push(format!("{kind}={status}{reason}"));
            }
        }
        if node.pointer("/spec/unschedulable").and_then(Value::as_bool) == Some(true) {
            problems.push("cordoned (spec.unschedulable)".to_owned());
        }
        if problems.is_empty() {
            continue;
        }
        let labels = node.pointer("/metadata/labels");
        let control_plane = CONTROL_PLANE_LABELS
            .iter()
            .any(|l| labels.and_then(|ls| ls.get(*l)).is_some());
        let (severity, consequence) = if control_plane {
            (
                Severity::Blocker,
                "a control-plane node must be healthy before its components are upgraded (kubeadm refuses)",
            )
        } else {
            (
                Severity::Warning,
                "repair, replace or uncordon it before starting: drains need somewhere to move pods, and its problems would be blamed on the upgrade",
            )
        };
        out.push(CheckFinding::new(
            &CHECK,
            severity,
            object_ref("Node", node),
            format!("{}: {}; {consequence}", name(node), problems.join(", ")),
        ));
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::checks::ClusterState;
    use api_catalog::KubeVersion;
    use serde_json::json;

    use crate::checks::util::recorded_items as fixture;

    fn node(name: &str, labels: &Value, ready: &str, extra: &Value) -> Value {
        let mut conditions =
            vec![json!({"type": "Ready", "status": ready, "reason": "KubeletReady"})];
        if let Some(more) = extra.as_array() {
            conditions.extend(more.iter().cloned());
        }
        json!({"metadata": {"name": name, "labels": labels},
            "spec": {"taints": [{"key": "node.kubernetes.io/not-ready", "effect": "NoSchedule"}]},
            "status": {"conditions": conditions}})
    }

    fn findings(nodes: Vec<Value>) -> Vec<CheckFinding> {
        let mut s = ClusterState::new();
        s.set(Resource::Nodes, nodes);
        let ctx = Context::new(&s, KubeVersion::new(1, 20), KubeVersion::new(1, 22));
        let mut out = Vec::new();
        run(&ctx, &mut out);
        out.sort();
        out
    }

    #[test]
    fn ready_node_passes_even_with_a_not_ready_taint() {
        let ok = node(
            "ok",
            &json!({}),
            "True",
            &json!([{"type": "DiskPressure", "status": "False"}]),
        );
        assert!(findings(vec![ok]).is_empty());
    }

    #[test]
    fn unhealthy_nodes_warn_and_control_plane_blocks() {
        let f = findings(vec![
            node(
                "w1",
                &json!({}),
                "True",
                &json!([{"type": "DiskPressure", "status": "True", "reason": "KubeletHasDiskPressure"}]),
            ),
            node(
                "cp",
                &json!({"node-role.kubernetes.io/control-plane": ""}),
                "False",
                &json!([]),
            ),
            node(
                "m",
                &json!({"node-role.kubernetes.io/master": ""}),
                "True",
                &json!([]),
            ),
        ]);
        assert_eq!(f.len(), 2);
        assert_eq!(
            (f[0].object.as_str(), f[0].severity),
            ("Node cp", Severity::Blocker)
        );
        assert_eq!(
            (f[1].object.as_str(), f[1].severity),
            ("Node w1", Severity::Warning)
        );
        assert!(
            f[1].message
                .contains("DiskPressure=True, KubeletHasDiskPressure")
        );
    }

    #[test]
    fn recorded_cluster() {
        let f = findings(fixture("core/v1/nodes.json"));
        let got: Vec<(&str, Severity)> =
            f.iter().map(|f| (f.object.as_str(), f.severity)).collect();
        assert_eq!(
            got,
            [
                ("Node node-b1", Severity::Warning),
                ("Node node-b2", Severity::Warning)
            ]
        );
        assert!(
            f[0].message
                .starts_with("node-b1: not Ready (Ready=False, KubeletNotReady); ")
        );
        assert!(f[1].message.starts_with(
            "node-b2: not Ready (Ready=Unknown, NodeStatusUnknown), cordoned (spec.unschedulable); "
        ));
    }
}
