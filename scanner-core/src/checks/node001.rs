//! NODE001: node container runtimes the target's kubelets no longer support.

use api_catalog::KubeVersion;

use super::facts::{self, Effect};
use super::util::{name, object_ref, text, version_of};
use super::{Check, CheckFinding, CodeInfo, Context, Family, Resource, Severity};

pub static CHECK: Check = Check {
    info: CodeInfo {
        code: "NODE001",
        family: Family::Readiness,
        title: "Container runtime support at the target",
        severity: Severity::Blocker,
        reads: "Node status.nodeInfo.{containerRuntimeVersion,kubeletVersion}",
        applies: "hops reaching the minors in its facts below: dockershim's removal, and the end of containerd 1.x support (a warning when a hop reaches the last minor that supports it)",
        remediation: "Move the node pool to containerd 2.x (or CRI-O) with the node roll, or install cri-dockerd on nodes that must keep Docker Engine; check that nothing on the nodes talks to the Docker socket.",
        explanation: "The kubelet talks to the container runtime through CRI. Until 1.23 it carried dockershim, a built-in adapter for Docker Engine; kubelets from 1.24 do not, so a node reporting docker:// must either get cri-dockerd or switch to containerd before its kubelet moves to 1.24, or it will not run pods at all. Likewise the kubelet's fallback for runtimes without the RuntimeConfig CRI call, which is what keeps containerd 1.x working, goes away at a later minor, and from then the node needs containerd 2. That minor has been deferred more than once, so it is kept as data with its source. Replacing the runtime is a node rebuild, so it belongs in the node roll plan, not in the middle of an upgrade.",
        retired: None,
    },
    needs: &[Resource::Nodes],
    offline: false,
    needs_kubectl: false,
    uses: &[],
    run,
};

fn first_hop_at(ctx: &Context<'_>, version: KubeVersion) -> Option<KubeVersion> {
    ctx.hops.iter().copied().find(|h| *h >= version)
}

fn run(ctx: &Context<'_>, out: &mut Vec<CheckFinding>) {
    // The minors come from data/removals.yaml (a unit test makes sure both are there).
    let dockershim = facts::find("NODE001", "dockershim", Effect::Removed).map(|f| f.minor);
    let containerd_gone = facts::find("NODE001", "containerd-1", Effect::Removed).map(|f| f.minor);
    for node in ctx.state.list(Resource::Nodes) {
        let Some(runtime) = text(node, "/status/nodeInfo/containerRuntimeVersion") else {
            continue;
        };
        let kubelet = text(node, "/status/nodeInfo/kubeletVersion").and_then(version_of);
        let node_name = name(node);
        if runtime.starts_with("docker://") {
            let Some(removed) = dockershim else { continue };
            // A kubelet at or past the removal that reports docker:// is already on cri-dockerd.
            let through_dockershim = kubelet.is_none_or(|k| k < removed);
            if let Some(hop) = first_hop_at(ctx, removed).filter(|_| through_dockershim) {
                out.push(
                    CheckFinding::new(
                        &CHECK,
                        Severity::Blocker,
                        object_ref("Node", node),
                        format!("{node_name} runs Docker Engine ({runtime}) through dockershim, which kubelets from {removed} no longer have: switch it to containerd or add cri-dockerd before its kubelet reaches {removed}"),
                    )
                    .at_hop(hop),
                );
            }
        } else if let Some(version) = runtime.strip_prefix("containerd://") {
            if !version.trim_start_matches('v').starts_with("1.") {
                continue;
            }
            let Some(removed) = containerd_gone else {
                continue;
            };
            let last = KubeVersion::new(removed.major, removed.minor.saturating_sub(1));
            if let Some(hop) = first_hop_at(ctx, removed) {
                out.push(
                    CheckFinding::new(
                        &CHECK,
                        Severity::Blocker,
                        object_ref("Node", node),
                        format!("{node_name} runs containerd {version}; {last} is the last minor whose kubelet supports containerd 1.x: move the node to containerd 2 before its kubelet reaches {removed}"),
                    )
                    .at_hop(hop),
                );
            } else if let Some(hop) = first_hop_at(ctx, last) {
                out.push(
                    CheckFinding::new(
                        &CHECK,
                        Severity::Warning,
                        object_ref("Node", node),
                        format!("{node_name} runs containerd {version}; {last} is the last minor whose kubelet supports containerd 1.x: plan the move to containerd 2 before any {removed} upgrade"),
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
    fn containerd_1_warns_at_137_and_blocks_at_138() {
        let nodes = vec![
            node("old", "v1.34.1", "containerd://1.7.27"),
            node("new", "v1.34.1", "containerd://2.1.0"),
        ];
        // The removal was deferred from 1.36 to 1.38 (kubernetes/kubernetes#139121).
        assert!(findings(nodes.clone(), 34, 36).is_empty());
        let f = findings(nodes.clone(), 34, 37);
        assert_eq!(f.len(), 1);
        assert_eq!((f[0].severity, f[0].hop), (Severity::Warning, Some(v(37))));
        let f = findings(nodes, 34, 38);
        assert_eq!(f.len(), 1);
        assert_eq!((f[0].severity, f[0].hop), (Severity::Blocker, Some(v(38))));
        assert_eq!(f[0].object, "Node old");
        assert!(
            f[0].message
                .contains("1.37 is the last minor whose kubelet supports containerd 1.x"),
            "{}",
            f[0].message
        );
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
