//! DRN008: autoscaler annotations that keep Cluster Autoscaler or Karpenter off a node.

use std::collections::BTreeMap;

use super::util::{Drain, PodGroup, annotation, drain, names, object_ref, owner_of};
use super::{Check, CheckFinding, CodeInfo, Context, Family, Resource, Severity};

pub static CHECK: Check = Check {
    info: CodeInfo {
        code: "DRN008",
        family: Family::Readiness,
        title: "Autoscaler do-not-disrupt annotations",
        severity: Severity::Warning,
        reads: "Pod annotations cluster-autoscaler.kubernetes.io/safe-to-evict, karpenter.sh/do-not-disrupt, karpenter.sh/do-not-evict, spec.nodeName, status.phase, metadata.ownerReferences; Node annotation karpenter.sh/do-not-disrupt",
        applies: "hops whose nodes Cluster Autoscaler or Karpenter remove or replace",
        remediation: "Drop the annotation for the upgrade window, or cordon the old nodes and restart the annotated workloads so they move to new nodes first.",
        explanation: "kubectl drain and the eviction API ignore these annotations, but the autoscalers that retire old nodes honour them. Cluster Autoscaler will not scale down a node that runs a pod marked safe-to-evict \"false\", and Karpenter will not voluntarily disrupt a node that runs a pod marked do-not-disrupt (or the older do-not-evict), or a node that carries do-not-disrupt itself, which includes replacing drifted nodes with ones on the new version. Old nodes then linger past the upgrade, still on the old kubelet, until someone moves the pods by hand.",
        retired: None,
    },
    needs: &[Resource::Pods, Resource::Nodes],
    offline: false,
    needs_kubectl: false,
    uses: &[],
    run,
};

/// The pod annotations that hold an autoscaler back: key, the value that does, who honours it
/// and how, and whether it counts on pods a drain does not evict (mirror and `DaemonSet` pods):
/// Cluster Autoscaler passes over those before reading the annotation, Karpenter honours it on
/// every pod that runs on the node.
const POD_ANNOTATIONS: [(&str, &str, &str, &str, bool); 3] = [
    (
        "cluster-autoscaler.kubernetes.io/safe-to-evict",
        "false",
        "Cluster Autoscaler will not remove",
        "",
        false,
    ),
    (
        "karpenter.sh/do-not-disrupt",
        "true",
        "Karpenter will not voluntarily disrupt",
        ", drift to the new version included",
        true,
    ),
    (
        "karpenter.sh/do-not-evict",
        "true",
        "Karpenter will not voluntarily disrupt",
        ", drift to the new version included",
        true,
    ),
];

fn run(ctx: &Context<'_>, out: &mut Vec<CheckFinding>) {
    // (owner, annotations) → (pods, nodes), so a Deployment's replicas make one finding.
    let mut groups: BTreeMap<(String, Vec<usize>), PodGroup<'_>> = BTreeMap::new();
    for pod in ctx.state.list(Resource::Pods) {
        let fate = drain(pod);
        if fate == Drain::Leaves {
            continue;
        }
        let held: Vec<usize> = POD_ANNOTATIONS
            .iter()
            .enumerate()
            .filter(|(_, (key, value, _, _, unevicted))| {
                annotation(pod, key) == Some(value) && (fate == Drain::Evicted || *unevicted)
            })
            .map(|(i, _)| i)
            .collect();
        if held.is_empty() {
            continue;
        }
        // A mirror pod's controller is its Node: name the pod, not a namespaced "Node".
        let owner = if fate == Drain::Skipped {
            object_ref("Pod", pod)
        } else {
            owner_of(pod)
        };
        groups.entry((owner, held)).or_default().add(pod);
    }
    for ((owner, held), group) in groups {
        let pods = &group.pods;
        let annotations: Vec<String> = held
            .iter()
            .map(|&i| {
                let (key, value, ..) = POD_ANNOTATIONS[i];
                format!("{}={value}", key.rsplit('/').next().unwrap_or(key))
            })
            .collect();
        let whose = if pods.len() == 1 {
            "its node"
        } else {
            "their nodes"
        };
        let mut effects: Vec<String> = held
            .iter()
            .map(|&i| {
                let (_, _, who, how, _) = POD_ANNOTATIONS[i];
                format!("{who} {whose}{how}")
            })
            .collect();
        effects.dedup();
        let place = group.place();
        let message = if let [pod] = pods.as_slice() {
            format!(
                "pod {pod}{place} is {}: {}",
                annotations.join(" and "),
                effects.join("; ")
            )
        } else {
            format!(
                "{} pods are {} ({}){place}: {}",
                pods.len(),
                annotations.join(" and "),
                names(pods),
                effects.join("; ")
            )
        };
        out.push(CheckFinding::new(&CHECK, Severity::Warning, owner, message));
    }
    for node in ctx.state.list(Resource::Nodes) {
        if annotation(node, "karpenter.sh/do-not-disrupt") == Some("true") {
            out.push(CheckFinding::new(
                &CHECK,
                Severity::Warning,
                object_ref("Node", node),
                "annotated karpenter.sh/do-not-disrupt=true: Karpenter will not voluntarily disrupt it, drift to the new version included",
            ));
        }
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

    fn findings(pods: Vec<Value>, nodes: Vec<Value>) -> Vec<CheckFinding> {
        let mut s = ClusterState::new();
        s.set(Resource::Pods, pods);
        s.set(Resource::Nodes, nodes);
        let ctx = Context::new(&s, KubeVersion::new(1, 29), KubeVersion::new(1, 30));
        let mut out = Vec::new();
        run(&ctx, &mut out);
        out
    }

    fn pod(name: &str, node: &str, annotations: &Value) -> Value {
        json!({"metadata": {"name": name, "namespace": "a", "annotations": annotations,
            "ownerReferences": [{"kind": "ReplicaSet", "name": "web-1", "controller": true}]},
            "spec": {"nodeName": node}, "status": {"phase": "Running"}})
    }

    #[test]
    fn annotated_pods_and_nodes_warn() {
        let f = findings(
            vec![
                pod(
                    "web-1-a",
                    "n1",
                    &json!({"karpenter.sh/do-not-disrupt": "true"}),
                ),
                pod(
                    "web-1-b",
                    "n2",
                    &json!({"karpenter.sh/do-not-disrupt": "true"}),
                ),
            ],
            vec![
                json!({"metadata": {"name": "n3", "annotations": {"karpenter.sh/do-not-disrupt": "true"}}}),
            ],
        );
        assert_eq!(f.len(), 2);
        assert_eq!(f[0].object, "ReplicaSet a/web-1");
        assert_eq!(
            f[0].message,
            "2 pods are do-not-disrupt=true (web-1-a, web-1-b) on n1, n2: Karpenter will not voluntarily disrupt their nodes, drift to the new version included"
        );
        assert_eq!(f[1].object, "Node n3");
    }

    #[test]
    fn permissive_or_missing_annotations_pass() {
        let f = findings(
            vec![
                pod(
                    "web-1-a",
                    "n1",
                    &json!({"cluster-autoscaler.kubernetes.io/safe-to-evict": "true"}),
                ),
                pod(
                    "web-1-b",
                    "n1",
                    &json!({"karpenter.sh/do-not-disrupt": "false"}),
                ),
                pod("web-1-c", "n1", &json!({})),
            ],
            vec![json!({"metadata": {"name": "n1"}})],
        );
        assert!(f.is_empty(), "{f:?}");
    }

    #[test]
    fn pods_a_drain_leaves_count_for_karpenter_only() {
        // Cluster Autoscaler passes over DaemonSet and mirror pods before it reads
        // safe-to-evict; Karpenter lets any pod on the node hold it with do-not-disrupt.
        // Before the shared drain rule, DRN008 reported DaemonSet pods for both and mirror
        // pods for neither.
        let mut daemon = pod(
            "agent-x",
            "n1",
            &json!({"cluster-autoscaler.kubernetes.io/safe-to-evict": "false",
                "karpenter.sh/do-not-disrupt": "true"}),
        );
        daemon["metadata"]["ownerReferences"] =
            json!([{"kind": "DaemonSet", "name": "agent", "controller": true}]);
        let mirror = json!({"metadata": {"name": "etcd-n2", "namespace": "kube-system",
            "annotations": {"kubernetes.io/config.mirror": "x",
                "cluster-autoscaler.kubernetes.io/safe-to-evict": "false",
                "karpenter.sh/do-not-disrupt": "true"},
            "ownerReferences": [{"kind": "Node", "name": "n2", "controller": true}]},
            "spec": {"nodeName": "n2"}, "status": {"phase": "Running"}});
        let f: Vec<(String, String)> = findings(vec![daemon, mirror], vec![])
            .into_iter()
            .map(|f| (f.object, f.message))
            .collect();
        assert_eq!(
            f,
            [
                (
                    "DaemonSet a/agent".to_owned(),
                    "pod agent-x on n1 is do-not-disrupt=true: Karpenter will not voluntarily disrupt its node, drift to the new version included".to_owned()
                ),
                (
                    "Pod kube-system/etcd-n2".to_owned(),
                    "pod etcd-n2 on n2 is do-not-disrupt=true: Karpenter will not voluntarily disrupt its node, drift to the new version included".to_owned()
                ),
            ]
        );
    }

    #[test]
    fn recorded_v1_20_cluster() {
        let f: Vec<(String, String)> =
            findings(fixture("core/v1/pods.json"), fixture("core/v1/nodes.json"))
                .into_iter()
                .map(|f| (f.object, f.message))
                .collect();
        assert_eq!(
            f,
            [
                (
                    "Deployment team-b/api".to_owned(),
                    "3 pods are safe-to-evict=false (api-5f7c8d9b4c-b7tln, api-5f7c8d9b4c-hz6dc, api-5f7c8d9b4c-q5v8r) on node-a1, node-a2, node-b1: Cluster Autoscaler will not remove their nodes".to_owned()
                ),
                (
                    "Pod legacy-apps/batch-runner".to_owned(),
                    "pod batch-runner on node-a2 is safe-to-evict=false: Cluster Autoscaler will not remove its node".to_owned()
                ),
            ]
        );
    }
}
