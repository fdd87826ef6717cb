//! NODE006: workloads that mount the Docker socket or dockershim's paths from the node.

use std::collections::BTreeMap;

use api_catalog::KubeVersion;
use serde_json::Value;

use super::facts::{self, Effect};
use super::util::{PodGroup, name, names, object_ref, owner_of, text};
use super::{Check, CheckFinding, CodeInfo, Context, Family, Resource, Severity};

pub static CHECK: Check = Check {
    info: CodeInfo {
        code: "NODE006",
        family: Family::Readiness,
        title: "Workloads mounting the Docker socket or dockershim paths",
        severity: Severity::Warning,
        reads: "Pod spec.volumes[].hostPath.path, metadata.ownerReferences; DaemonSet, Deployment and StatefulSet spec.template.spec.volumes[].hostPath.path; Node status.nodeInfo.containerRuntimeVersion (whether nodes already run containerd or CRI-O)",
        applies: "the hop that removes dockershim (1.24) and every hop after it; any hop while nodes run containerd or CRI-O; on manifests every DaemonSet, Deployment, StatefulSet and Pod",
        remediation: "Point the agent at the CRI socket (/run/containerd/containerd.sock, or /var/run/crio/crio.sock) or read container metrics from the kubelet (/metrics/cadvisor, the Summary API) instead; drop the Docker inputs of telegraf, Datadog, Fluentd or log shippers and read /var/log/pods; if the node must keep Docker Engine, install cri-dockerd before the kubelet reaches 1.24.",
        explanation: "Monitoring and logging agents (telegraf's docker input, old Datadog and Fluentd setups, CI runners doing docker-in-docker) often mount /var/run/docker.sock or /var/lib/docker from the node and talk to Docker Engine directly. That only works while the node runs Docker Engine: kubelets from 1.24 have no dockershim, so nodes move to containerd or CRI-O (or keep Docker only through cri-dockerd), and after the switch the socket is gone or belongs to a daemon the kubelet no longer uses. The pods keep running but the agent errors out or reports nothing (the AKS runbook: telegraf socket errors and changed dashboards after the containerd switch), and a hostPath of type Socket keeps the pod from starting at all. NODE001 judges the node runtimes; NODE006 finds the workloads that assume Docker, from their volumes, so it also runs on manifests.",
        retired: None,
    },
    needs: &[
        Resource::Pods,
        Resource::DaemonSets,
        Resource::Deployments,
        Resource::StatefulSets,
    ],
    offline: true,
    needs_kubectl: false,
    uses: &[Resource::Nodes],
    run,
};

/// Host paths that only mean something to Docker Engine or dockershim.
const DOCKER_PATHS: [&str; 6] = [
    "/var/run/docker.sock",
    "/run/docker.sock",
    "/var/lib/docker",
    "/var/run/dockershim.sock",
    "/run/dockershim.sock",
    "/var/run/docker",
];

/// The Docker host paths a pod spec mounts (`/var/lib/docker/containers` counts too).
fn docker_paths(spec: &Value) -> Vec<&str> {
    let mut found: Vec<&str> = spec
        .get("volumes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|v| text(v, "/hostPath/path"))
        .filter(|p| {
            let p = p.trim_end_matches('/');
            DOCKER_PATHS
                .iter()
                .any(|d| p == *d || p.strip_prefix(d).is_some_and(|rest| rest.starts_with('/')))
        })
        .collect();
    found.sort_unstable();
    found.dedup();
    found
}

/// Why the mount is a problem at this upgrade, and the hop it belongs to; `None` when nothing
/// says the node will not run Docker Engine (an older target, nodes still on Docker).
fn reason(ctx: &Context<'_>) -> Option<(String, Option<KubeVersion>)> {
    let removed = facts::find("NODE001", "dockershim", Effect::Removed)
        .map_or(KubeVersion::new(1, 24), |f| f.minor);
    if ctx.current < removed
        && let Some(hop) = ctx.hops.iter().copied().find(|h| *h >= removed)
    {
        return Some((
            format!(
                "kubelets from {removed} have no dockershim, so nodes move to containerd (or keep Docker only through cri-dockerd)"
            ),
            Some(hop),
        ));
    }
    let runtimes: BTreeMap<&str, Vec<&str>> = ctx
        .state
        .list(Resource::Nodes)
        .iter()
        .filter_map(|n| {
            let runtime = text(n, "/status/nodeInfo/containerRuntimeVersion")?;
            (!runtime.starts_with("docker://"))
                .then(|| (runtime.split("://").next().unwrap_or(runtime), name(n)))
        })
        .fold(BTreeMap::new(), |mut m, (runtime, node)| {
            m.entry(runtime).or_insert_with(Vec::new).push(node);
            m
        });
    if let Some((runtime, nodes)) = runtimes.iter().next() {
        return Some((
            format!(
                "{} already {} {runtime} ({})",
                if nodes.len() == 1 {
                    "1 node".to_owned()
                } else {
                    format!("{} nodes", nodes.len())
                },
                if nodes.len() == 1 { "runs" } else { "run" },
                names(nodes)
            ),
            None,
        ));
    }
    (ctx.current >= removed && ctx.state.list(Resource::Nodes).is_empty()).then(|| {
        (
            format!("kubelets from {removed} have no dockershim, so the nodes of a {} cluster run containerd or CRI-O unless cri-dockerd was added", ctx.current),
            None,
        )
    })
}

fn run(ctx: &Context<'_>, out: &mut Vec<CheckFinding>) {
    let Some((why, hop)) = reason(ctx) else {
        return;
    };
    // Per owner: the paths and its pods (templates give the paths before any pod exists).
    let mut found: BTreeMap<String, (Vec<&str>, PodGroup<'_>)> = BTreeMap::new();
    for resource in [
        Resource::DaemonSets,
        Resource::Deployments,
        Resource::StatefulSets,
    ] {
        for w in ctx.state.list(resource) {
            let paths = w
                .pointer("/spec/template/spec")
                .map(docker_paths)
                .unwrap_or_default();
            if !paths.is_empty() {
                found.entry(object_ref(resource.kind(), w)).or_default().0 = paths;
            }
        }
    }
    for pod in ctx.state.list(Resource::Pods) {
        let paths = pod.get("spec").map(docker_paths).unwrap_or_default();
        if paths.is_empty() {
            continue;
        }
        let entry = found.entry(owner_of(pod)).or_default();
        for p in paths {
            if !entry.0.contains(&p) {
                entry.0.push(p);
            }
        }
        entry.1.add(pod);
    }
    for (object, (mut paths, group)) in found {
        paths.sort_unstable();
        let pods = match group.pods.as_slice() {
            [] => String::new(),
            [p] => format!(" (pod {p}{})", group.place()),
            many => format!(" ({} pods{})", many.len(), group.place()),
        };
        let mut finding = CheckFinding::new(
            &CHECK,
            Severity::Warning,
            object,
            format!(
                "mounts {} from the node{pods}: {why}; whatever talks to Docker Engine through it stops working: read from the CRI socket or the kubelet instead",
                paths.join(", ")
            ),
        );
        if let Some(h) = hop {
            finding = finding.at_hop(h);
        }
        out.push(finding);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::checks::ClusterState;
    use serde_json::json;

    use crate::checks::util::recorded_items as fixture;

    fn v(minor: u16) -> KubeVersion {
        KubeVersion::new(1, minor)
    }

    fn telegraf(path: &str) -> Value {
        json!({"metadata": {"name": "telegraf-ds", "namespace": "monitoring"},
            "spec": {"template": {"spec": {"containers": [{"name": "telegraf"}],
                "volumes": [{"name": "docker", "hostPath": {"path": path, "type": "Socket"}},
                    {"name": "proc", "hostPath": {"path": "/proc"}}]}}}})
    }

    fn findings(
        nodes: Vec<Value>,
        ds: Vec<Value>,
        pods: Vec<Value>,
        from: u16,
        to: u16,
    ) -> Vec<CheckFinding> {
        let mut s = ClusterState::new();
        s.set(Resource::Nodes, nodes);
        s.set(Resource::Pods, pods);
        s.set(Resource::DaemonSets, ds);
        s.set(Resource::Deployments, vec![]);
        s.set(Resource::StatefulSets, vec![]);
        let ctx = Context::new(&s, v(from), v(to));
        let mut out = Vec::new();
        run(&ctx, &mut out);
        out
    }

    fn node(name: &str, runtime: &str) -> Value {
        json!({"metadata": {"name": name}, "status": {"nodeInfo": {"containerRuntimeVersion": runtime}}})
    }

    #[test]
    fn docker_socket_before_the_dockershim_hop() {
        let f = findings(
            vec![node("n1", "docker://20.10.7")],
            vec![telegraf("/var/run/docker.sock")],
            vec![],
            22,
            24,
        );
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].object, "DaemonSet monitoring/telegraf-ds");
        assert_eq!(f[0].hop, Some(v(24)));
        assert_eq!(
            f[0].message,
            "mounts /var/run/docker.sock from the node: kubelets from 1.24 have no dockershim, so nodes move to containerd (or keep Docker only through cri-dockerd); whatever talks to Docker Engine through it stops working: read from the CRI socket or the kubelet instead"
        );
        // Docker nodes and a hop that stays before 1.24: nothing changes for the agent yet.
        assert!(
            findings(
                vec![node("n1", "docker://20.10.7")],
                vec![telegraf("/var/run/docker.sock")],
                vec![],
                21,
                23
            )
            .is_empty()
        );
    }

    #[test]
    fn containerd_nodes_already() {
        let pod = json!({"metadata": {"name": "telegraf-ds-x1", "namespace": "monitoring",
            "ownerReferences": [{"kind": "DaemonSet", "name": "telegraf-ds", "controller": true}]},
            "spec": {"nodeName": "aks-1", "volumes": [{"name": "d", "hostPath": {"path": "/var/lib/docker/containers/"}}]},
            "status": {"phase": "Running"}});
        let f = findings(
            vec![
                node("aks-1", "containerd://1.6.4+azure"),
                node("aks-2", "docker://20.10.7"),
            ],
            vec![telegraf("/run/docker.sock")],
            vec![pod],
            21,
            22,
        );
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].hop, None);
        assert!(f[0].message.starts_with("mounts /run/docker.sock, /var/lib/docker/containers/ from the node (pod telegraf-ds-x1 on aks-1): 1 node already runs containerd (aks-1)"), "{}", f[0].message);
        // Other host paths are fine.
        assert!(
            findings(
                vec![node("aks-1", "containerd://1.6.4")],
                vec![telegraf("/var/run/containerd/containerd.sock")],
                vec![],
                21,
                22
            )
            .is_empty()
        );
        assert!(
            findings(
                vec![node("aks-1", "containerd://1.6.4")],
                vec![telegraf("/var/lib/dockerd")],
                vec![],
                21,
                22
            )
            .is_empty()
        );
    }

    #[test]
    fn manifests_past_124() {
        let f = findings(
            vec![],
            vec![telegraf("/var/run/dockershim.sock")],
            vec![],
            25,
            26,
        );
        assert_eq!(f.len(), 1);
        assert!(
            f[0].message
                .contains("the nodes of a 1.25 cluster run containerd or CRI-O"),
            "{}",
            f[0].message
        );
    }

    #[test]
    fn recorded_cluster() {
        let mut s = ClusterState::new();
        s.set(Resource::Nodes, fixture("core/v1/nodes.json"));
        s.set(Resource::Pods, fixture("core/v1/pods.json"));
        s.set(Resource::DaemonSets, fixture("apps/v1/daemonsets.json"));
        s.set(Resource::Deployments, fixture("apps/v1/deployments.json"));
        s.set(Resource::StatefulSets, fixture("apps/v1/statefulsets.json"));
        let ctx = Context::new(&s, v(20), v(24));
        let mut out = Vec::new();
        run(&ctx, &mut out);
        assert!(out.is_empty(), "{out:?}");
    }
}
