//! DRN004: unmanaged (bare) pods, which a drain refuses or deletes for good.

use super::util::{controller, drain_evicts, object_ref, text};
use super::{Check, CheckFinding, CodeInfo, Context, Family, Resource, Severity};

pub static CHECK: Check = Check {
    info: CodeInfo {
        code: "DRN004",
        family: Family::Readiness,
        title: "Unmanaged (bare) pods",
        severity: Severity::Warning,
        reads: "Pod metadata.{ownerReferences[].controller,deletionTimestamp}, annotation kubernetes.io/config.mirror, spec.nodeName, status.phase",
        applies: "every hop that drains or replaces nodes; on manifests every bare Pod",
        remediation: "Run the pod under a controller (Deployment, StatefulSet, Job), or accept that it is gone after the drain and recreate it by hand.",
        explanation: "A pod that no controller owns is not recreated anywhere once it leaves its node. kubectl drain therefore refuses to touch the node while such a pod runs on it, and the usual way past that, --force, deletes the pod for good. Upgrade pipelines that always pass --force lose debug shells, one-off jobs and hand-made pods silently; pipelines that do not stop at the first node that carries one. Mirror (static) pods and finished pods are left out, as drains skip them.",
        retired: None,
    },
    needs: &[Resource::Pods],
    offline: true,
    needs_kubectl: false,
    uses: &[],
    run,
};

fn run(ctx: &Context<'_>, out: &mut Vec<CheckFinding>) {
    for pod in ctx.state.list(Resource::Pods) {
        // A pod with a controller is not bare (that includes DaemonSet pods, which a drain
        // leaves running).
        if controller(pod).is_some() || !drain_evicts(pod) {
            continue;
        }
        let node = text(pod, "/spec/nodeName");
        let place = node.map_or_else(String::new, |n| format!(" on {n}"));
        out.push(CheckFinding::new(
            &CHECK,
            Severity::Warning,
            object_ref("Pod", pod),
            format!(
                "bare pod{place} with no controller: kubectl drain refuses it without --force, and with --force it is deleted and never recreated"
            ),
        ));
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::checks::{ClusterState, Context};
    use api_catalog::KubeVersion;
    use serde_json::{Value, json};

    use crate::checks::util::recorded_items as fixture;

    fn findings(pods: Vec<Value>) -> Vec<CheckFinding> {
        let mut s = ClusterState::new();
        s.set(Resource::Pods, pods);
        let ctx = Context::new(&s, KubeVersion::new(1, 29), KubeVersion::new(1, 30));
        let mut out = Vec::new();
        run(&ctx, &mut out);
        out
    }

    #[test]
    fn running_bare_pods_and_bare_manifests_warn() {
        let f = findings(vec![
            json!({"metadata": {"name": "shell", "namespace": "a"}, "spec": {"nodeName": "n1"}, "status": {"phase": "Running"}}),
            json!({"kind": "Pod", "metadata": {"name": "tool", "namespace": "a"}, "spec": {}}),
        ]);
        assert_eq!(f.len(), 2);
        assert_eq!(f[0].object, "Pod a/shell");
        assert_eq!(
            f[0].message,
            "bare pod on n1 with no controller: kubectl drain refuses it without --force, and with --force it is deleted and never recreated"
        );
        assert_eq!(f[1].object, "Pod a/tool");
    }

    #[test]
    fn controlled_mirror_finished_and_unscheduled_pods_pass() {
        let f = findings(vec![
            json!({"metadata": {"name": "web-1", "namespace": "a",
                "ownerReferences": [{"kind": "ReplicaSet", "name": "web", "controller": true}]},
                "spec": {"nodeName": "n1"}, "status": {"phase": "Running"}}),
            json!({"metadata": {"name": "etcd-n1", "namespace": "kube-system",
                "annotations": {"kubernetes.io/config.mirror": "abc"}},
                "spec": {"nodeName": "n1"}, "status": {"phase": "Running"}}),
            json!({"metadata": {"name": "done", "namespace": "a"}, "spec": {"nodeName": "n1"}, "status": {"phase": "Succeeded"}}),
            json!({"metadata": {"name": "waiting", "namespace": "a"}, "spec": {}, "status": {"phase": "Pending"}}),
        ]);
        assert!(f.is_empty(), "{f:?}");
    }

    #[test]
    fn recorded_v1_20_cluster() {
        let f: Vec<(String, String)> = findings(fixture("core/v1/pods.json"))
            .into_iter()
            .map(|f| (f.object, f.message))
            .collect();
        let objects: Vec<&str> = f.iter().map(|(o, _)| o.as_str()).collect();
        // pending-pod is on no node; the Job's pod has finished.
        assert_eq!(
            objects,
            [
                "Pod default/debug-shell",
                "Pod legacy-apps/batch-runner",
                "Pod team-a/cache-warmer"
            ]
        );
        assert!(f[0].1.starts_with("bare pod on node-a1 with no controller"));
        assert!(f[1].1.starts_with("bare pod on node-a2 with no controller"));
        assert!(f[2].1.starts_with("bare pod on node-a1 with no controller"));
    }
}
