//! NODE001: node container runtimes the target's kubelets no longer support.

use api_catalog::KubeVersion;

use super::util::{name, object_ref, text, version_of};
use super::{Check, CheckFinding, CodeInfo, Context, Family, Resource, Severity};

pub static CHECK: Check = Check {
    info: CodeInfo {
        code: "NODE001",
        family: Family::Readiness,
        title: "Container runtime support at the target",
        severity: Severity::Blocker,
        reads: "Node status.nodeInfo.{containerRuntimeVersion,kubeletVersion}",
        applies: "hops reaching 1.24 (dockershim removed) and 1.35/1.36 (containerd 1.x)",
        remediation: "Move the node pool to containerd 2.x (or CRI-O) with the node roll, or install cri-dockerd on nodes that must keep Docker Engine; check that nothing on the nodes talks to the Docker socket.",
        explanation: "The kubelet talks to the container runtime through CRI. Until 1.23 it carried dockershim, a built-in adapter for Docker Engine; kubelets from 1.24 do not, so a node reporting docker:// must either get cri-dockerd or switch to containerd before its kubelet moves to 1.24, or it will not run pods at all. Likewise 1.35 is the last minor whose kubelet supports containerd 1.x; from 1.36 the node needs containerd 2. Replacing the runtime is a node rebuild, so it belongs in the node roll plan, not in the middle of an upgrade.",
        retired: None,
    },
    needs: &[Resource::Nodes],
    offline: false,
    needs_kubectl: false,
    run,
};

/// The minor whose kubelets no longer have dockershim.
const DOCKERSHIM_REMOVED: KubeVersion = KubeVersion::new(1, 24);
/// The last minor supporting containerd 1.x (a warning when a hop reaches it).
const CONTAINERD_1_LAST: KubeVersion = KubeVersion::new(1, 35);
/// The first minor that needs containerd 2.
const CONTAINERD_1_REMOVED: KubeVersion = KubeVersion::new(1, 36);

fn first_hop_at(ctx: &Context<'_>, version: KubeVersion) -> Option<KubeVersion> {
    ctx.hops.iter().copied().find(|h| *h >= version)
}

fn run(ctx: &Context<'_>, out: &mut Vec<CheckFinding>) {
    for node in ctx.state.list(Resource::Nodes) {
        let Some(runtime) = text(node, "/status/nodeInfo/containerRuntimeVersion") else {
            continue;
        };
        let kubelet = text(node, "/status/nodeInfo/kubeletVersion").and_then(version_of);
        let node_name = name(node);
        if runtime.starts_with("docker://") {
            // A kubelet at 1.24 or later that reports docker:// is already on cri-dockerd.
            let dockershim = kubelet.is_none_or(|k| k < DOCKERSHIM_REMOVED);
            if let Some(hop) = first_hop_at(ctx, DOCKERSHIM_REMOVED).filter(|_| dockershim) {
                out.push(
                    CheckFinding::new(
                        &CHECK,
                        Severity::Blocker,
                        object_ref("Node", node),
                        format!("{node_name} runs Docker Engine ({runtime}) through dockershim, which kubelets from 1.24 no longer have: switch it to containerd or add cri-dockerd before its kubelet reaches 1.24"),
                    )
                    .at_hop(hop),
                );
            }
        } else if let Some(version) = runtime.strip_prefix("containerd://") {
            if !version.trim_start_matches('v').starts_with("1.") {
                continue;
            }
            if let Some(hop) = first_hop_at(ctx, CONTAINERD_1_REMOVED) {
                out.push(
                    CheckFinding::new(
                        &CHECK,
                        Severity::Blocker,
                        object_ref("Node", node),
                        format!("{node_name} runs containerd {version}; 1.35 is the last minor whose kubelet supports containerd 1.x: move the node to containerd 2 before its kubelet reaches 1.36"),
                    )
                    .at_hop(hop),
                );
            } else if let Some(hop) = first_hop_at(ctx, CONTAINERD_1_LAST) {
                out.push(
                    CheckFinding::new(
                        &CHECK,
                        Severity::Warning,
                        object_ref("Node", node),
                        format!("{node_name} runs containerd {version}; 1.35 is the last minor that supports containerd 1.x: plan the move to containerd 2 before any 1.36 upgrade"),
                    )
                    .at_hop(hop),
                );
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::checks::ClusterState;
    use serde_json::{Value, json};

    use crate::checks::util::recorded_items as fixture;

    fn v(minor: u16) -> KubeVersion {
        KubeVersion::new(1, minor)
    }

    fn node(name: &str, kubelet: &str, runtime: &str) -> Value {
        json!({"metadata": {"name": name},
            "status": {"nodeInfo": {"kubeletVersion": kubelet, "containerRuntimeVersion": runtime}}})
    }

    fn findings(nodes: Vec<Value>, current: u16, target: u16) -> Vec<CheckFinding> {
        let mut s = ClusterState::new();
        s.set(Resource::Nodes, nodes);
        let ctx = Context::new(&s, v(current), v(target));
        let mut out = Vec::new();
        run(&ctx, &mut out);
        out.sort();
        out
    }

    #[test]
    fn dockershim_blocks_at_the_124_hop() {
        let nodes = vec![
            node("d", "v1.22.3", "docker://20.10.7"),
            node("c", "v1.22.3", "containerd://1.6.8"),
        ];
        let f = findings(nodes.clone(), 22, 25);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].object, "Node d");
        assert_eq!(f[0].hop, Some(v(24)));
        assert!(findings(nodes, 22, 23).is_empty());
        // A 1.24 kubelet still saying docker:// uses cri-dockerd.
        assert!(findings(vec![node("d", "v1.24.1", "docker://20.10.7")], 24, 26).is_empty());
    }

    #[test]
    fn containerd_1_warns_at_135_and_blocks_at_136() {
        let nodes = vec![
            node("old", "v1.34.1", "containerd://1.7.27"),
            node("new", "v1.34.1", "containerd://2.1.0"),
        ];
        let f = findings(nodes.clone(), 34, 35);
        assert_eq!(f.len(), 1);
        assert_eq!((f[0].severity, f[0].hop), (Severity::Warning, Some(v(35))));
        let f = findings(nodes, 34, 36);
        assert_eq!(f.len(), 1);
        assert_eq!((f[0].severity, f[0].hop), (Severity::Blocker, Some(v(36))));
        assert_eq!(f[0].object, "Node old");
    }

    #[test]
    fn recorded_cluster() {
        let nodes = fixture("core/v1/nodes.json");
        assert!(findings(nodes.clone(), 20, 22).is_empty());
        let f = findings(nodes, 20, 24);
        let got: Vec<(&str, Severity, Option<KubeVersion>)> = f
            .iter()
            .map(|f| (f.object.as_str(), f.severity, f.hop))
            .collect();
        assert_eq!(
            got,
            [
                ("Node node-a1", Severity::Blocker, Some(v(24))),
                ("Node node-b2", Severity::Blocker, Some(v(24))),
            ]
        );
        assert!(
            f[0].message
                .starts_with("node-a1 runs Docker Engine (docker://19.3.15) through dockershim")
        );
    }
}
