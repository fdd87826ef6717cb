//! INF003: Fargate nodes whose kubelet stays behind the target, named by the owners whose
//! pods run there: a Fargate node is never upgraded, only replaced when its pod restarts, so
//! the fix is a restart of each owner after the control plane moves.
//!
//! Other nodes behind the target are SKEW001's (node by node, with the roll to do); this
//! check adds only what SKEW001 cannot say: which workloads to restart.

use std::collections::BTreeMap;

use api_catalog::KubeVersion;
use serde_json::Value;

use super::util::{name, owner_of, text, version_of};
use super::{Check, CheckFinding, CodeInfo, Context, Family, Resource, Severity};

pub static CHECK: Check = Check {
    info: CodeInfo {
        code: "INF003",
        family: Family::Readiness,
        title: "Fargate pods left on the old version",
        severity: Severity::Warning,
        reads: "Node metadata.labels[eks.amazonaws.com/compute-type], status.nodeInfo.kubeletVersion; Pod spec.nodeName, metadata.ownerReferences",
        applies: "after the last hop (said before the upgrade too): every Fargate node whose kubelet minor is below the target",
        remediation: "After the control plane reaches the target, run kubectl rollout restart on each owner named (Deployment, StatefulSet, DaemonSet) so its pods start on new Fargate nodes; delete and recreate bare pods.",
        explanation: "On EKS Fargate each pod runs on a node of its own, created when the pod starts with the kubelet of the cluster's version at that time. Upgrading the control plane does not touch them: the pods, and their nodes, stay on the old kubelet until they are restarted, and once the next upgrade comes they block it (EKS wants Fargate at the control plane's minor first). The check lists the Fargate nodes whose kubelet is below the target, grouped by the owner of the pods on them, so the restart after the last hop is one command per owner. The runbooks' CoreDNS-on-Fargate restart step is the usual case. Managed and self-managed node groups behind the target are reported by SKEW001, node by node.",
        retired: None,
    },
    needs: &[Resource::Nodes, Resource::Pods],
    uses: &[],
    offline: false,
    needs_kubectl: false,
    run,
};

/// A Fargate node's label.
fn is_fargate(node: &Value) -> bool {
    text(node, "/metadata/labels/eks.amazonaws.com~1compute-type") == Some("fargate")
}

fn run(ctx: &Context<'_>, out: &mut Vec<CheckFinding>) {
    // Fargate nodes behind the target, with their kubelet minor.
    let behind: BTreeMap<&str, KubeVersion> = ctx
        .state
        .list(Resource::Nodes)
        .iter()
        .filter(|n| is_fargate(n))
        .filter_map(|n| {
            let kubelet = text(n, "/status/nodeInfo/kubeletVersion").and_then(version_of)?;
            (kubelet < ctx.target).then_some((name(n), kubelet))
        })
        .collect();
    if behind.is_empty() {
        return;
    }
    // Owner → (oldest kubelet under it, its nodes).
    let mut owners: BTreeMap<String, (KubeVersion, Vec<&str>)> = BTreeMap::new();
    for pod in ctx.state.list(Resource::Pods) {
        let Some(node) = text(pod, "/spec/nodeName") else {
            continue;
        };
        let Some(&kubelet) = behind.get(node) else {
            continue;
        };
        let entry = owners.entry(owner_of(pod)).or_insert((kubelet, Vec::new()));
        entry.0 = entry.0.min(kubelet);
        entry.1.push(node);
    }
    let target = ctx.target;
    for (owner, (kubelet, mut nodes)) in owners {
        nodes.sort_unstable();
        nodes.dedup();
        let how = if owner.starts_with("Pod ") {
            "delete and recreate it"
        } else {
            "kubectl rollout restart it"
        };
        out.push(CheckFinding::new(
            &CHECK,
            Severity::Warning,
            owner,
            format!(
                "runs on Fargate at kubelet {kubelet} ({} node{}: {}), below the {target} target; Fargate nodes are never upgraded: once the control plane is at {target}, {how} so its pods start on {target} nodes",
                nodes.len(),
                if nodes.len() == 1 { "" } else { "s" },
                super::util::names(&nodes)
            ),
        ));
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::checks::ClusterState;
    use serde_json::json;

    fn node(name: &str, kubelet: &str, fargate: bool) -> Value {
        let mut labels = json!({"kubernetes.io/os": "linux"});
        if fargate {
            labels["eks.amazonaws.com/compute-type"] = json!("fargate");
        }
        json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": name, "labels": labels},
            "status": {"nodeInfo": {"kubeletVersion": kubelet}}})
    }

    fn pod(name: &str, node: &str, rs: Option<&str>) -> Value {
        let mut p = json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": "kube-system",
                "labels": {"pod-template-hash": "5d78c9869d"}},
            "spec": {"nodeName": node}});
        if let Some(rs) = rs {
            p["metadata"]["ownerReferences"] =
                json!([{"kind": "ReplicaSet", "name": rs, "controller": true}]);
        }
        p
    }

    fn run_on(nodes: Vec<Value>, pods: Vec<Value>, from: u16, to: u16) -> Vec<CheckFinding> {
        let mut state = ClusterState::new();
        state.set(Resource::Nodes, nodes);
        state.set(Resource::Pods, pods);
        let ctx = Context::new(&state, KubeVersion::new(1, from), KubeVersion::new(1, to));
        let mut out = Vec::new();
        run(&ctx, &mut out);
        out
    }

    #[test]
    fn fargate_pods_behind_the_target_name_their_owner() {
        let nodes = vec![
            node("fargate-ip-10-0-1-1", "v1.28.5-eks-5e0fdde", true),
            node("fargate-ip-10-0-1-2", "v1.28.5-eks-5e0fdde", true),
            node("ip-10-0-2-1", "v1.28.5-eks-5e0fdde", false),
        ];
        let pods = vec![
            pod(
                "coredns-5d78c9869d-a",
                "fargate-ip-10-0-1-1",
                Some("coredns-5d78c9869d"),
            ),
            pod(
                "coredns-5d78c9869d-b",
                "fargate-ip-10-0-1-2",
                Some("coredns-5d78c9869d"),
            ),
            pod("bare", "fargate-ip-10-0-1-2", None),
            // On an EC2 node: SKEW001's, not this check's.
            pod("web-5d78c9869d-c", "ip-10-0-2-1", Some("web-5d78c9869d")),
        ];
        let out = run_on(nodes, pods, 1, 29);
        let got: Vec<(&str, &str)> = out
            .iter()
            .map(|f| (f.object.as_str(), f.message.as_str()))
            .collect();
        assert_eq!(out.len(), 2, "{got:?}");
        assert_eq!(out[0].object, "Deployment kube-system/coredns");
        assert!(out[0].message.contains("2 nodes") && out[0].message.contains("rollout restart"));
        assert_eq!(out[1].object, "Pod kube-system/bare");
        assert!(out[1].message.contains("delete and recreate"));
    }

    #[test]
    fn fargate_at_the_target_or_no_fargate_says_nothing() {
        let nodes = vec![
            node("fargate-ip-10-0-1-1", "v1.29.0-eks-5e0fdde", true),
            node("ip-10-0-2-1", "v1.27.5", false),
            node("fargate-odd", "not a version", true),
        ];
        let pods = vec![
            pod(
                "coredns-5d78c9869d-a",
                "fargate-ip-10-0-1-1",
                Some("coredns-5d78c9869d"),
            ),
            pod("x", "ip-10-0-2-1", None),
            pod("y", "fargate-odd", None),
        ];
        assert!(run_on(nodes, pods, 28, 29).is_empty());
    }
}
