//! DRN005: pods that keep data on their node (`emptyDir`, `hostPath`).

use std::collections::BTreeMap;

use serde_json::Value;

use super::util::{PodGroup, drain_evicts, names, owner_of, text};
use super::{Check, CheckFinding, CodeInfo, Context, Family, Resource, Severity};

pub static CHECK: Check = Check {
    info: CodeInfo {
        code: "DRN005",
        family: Family::Readiness,
        title: "Pods with node-local data",
        severity: Severity::Warning,
        reads: "Pod spec.volumes[].{name,emptyDir,hostPath}, spec.nodeName, metadata.{ownerReferences,deletionTimestamp}, annotation kubernetes.io/config.mirror, status.phase",
        applies: "every hop that drains or replaces nodes; on manifests every Pod with such volumes",
        remediation: "Move data that must survive to a PersistentVolumeClaim; for scratch space, accept the loss and drain with --delete-emptydir-data.",
        explanation: "An emptyDir volume lives and dies with the pod on its node. kubectl drain refuses to evict such pods unless it is given --delete-emptydir-data, and once evicted their contents are gone. hostPath volumes do not stop a drain, but what the pod wrote there stays on the old node and is lost when that node is replaced by a new one, as managed node-group upgrades do. DaemonSet pods are left out: a drain with --ignore-daemonsets leaves them in place, and their per-node data goes with the node by design.",
        retired: None,
    },
    needs: &[Resource::Pods],
    offline: true,
    needs_kubectl: false,
    uses: &[],
    run,
};

fn run(ctx: &Context<'_>, out: &mut Vec<CheckFinding>) {
    // (owner, volumes described) → (pods, nodes), so a Deployment's replicas make one finding.
    let mut groups: BTreeMap<(String, String), PodGroup<'_>> = BTreeMap::new();
    for pod in ctx.state.list(Resource::Pods) {
        if !drain_evicts(pod) {
            continue;
        }
        let Some(volumes) = describe(pod) else {
            continue;
        };
        groups.entry((owner_of(pod), volumes)).or_default().add(pod);
    }
    for ((owner, volumes), group) in groups {
        let pods = &group.pods;
        let (subject, verb) = if let [pod] = pods.as_slice() {
            (format!("pod {pod}"), "uses")
        } else {
            (format!("{} pods ({})", pods.len(), names(pods)), "use")
        };
        let place = group.place();
        out.push(CheckFinding::new(
            &CHECK,
            Severity::Warning,
            owner,
            format!("{subject}{place} {verb} {volumes}"),
        ));
    }
}

/// `emptyDir scratch: kubectl drain refuses ...`, or `None` without node-local volumes.
fn describe(pod: &Value) -> Option<String> {
    let mut empty = Vec::new();
    let mut host = Vec::new();
    for v in pod
        .pointer("/spec/volumes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let volume = v.get("name").and_then(Value::as_str).unwrap_or("");
        if let Some(e) = v.get("emptyDir") {
            match e.get("medium").and_then(Value::as_str) {
                Some(m) if !m.is_empty() => empty.push(format!("{volume} (medium {m})")),
                _ => empty.push(volume.to_owned()),
            }
        } else if let Some(path) = v.get("hostPath").map(|h| text(h, "/path").unwrap_or("")) {
            host.push(format!("{volume} ({path})"));
        }
    }
    let mut what = Vec::new();
    let mut effect = Vec::new();
    if !empty.is_empty() {
        what.push(format!("emptyDir {}", empty.join(", ")));
        effect.push("kubectl drain refuses to evict without --delete-emptydir-data, and the emptyDir contents are lost when it does");
    }
    if !host.is_empty() {
        what.push(format!("hostPath {}", host.join(", ")));
        effect.push("hostPath data stays behind on the node and is gone once the node is replaced");
    }
    (!what.is_empty()).then(|| format!("{}: {}", what.join(" and "), effect.join("; ")))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::checks::{ClusterState, Context};
    use api_catalog::KubeVersion;
    use serde_json::json;

    use crate::checks::util::recorded_items as fixture;

    fn findings(pods: Vec<Value>) -> Vec<CheckFinding> {
        let mut s = ClusterState::new();
        s.set(Resource::Pods, pods);
        let ctx = Context::new(&s, KubeVersion::new(1, 29), KubeVersion::new(1, 30));
        let mut out = Vec::new();
        run(&ctx, &mut out);
        out
    }

    fn pod(name: &str, owner: Option<&str>, volumes: &Value) -> Value {
        let refs: Vec<Value> = owner
            .map(|o| {
                let (kind, n) = o.split_once('/').unwrap();
                json!({"kind": kind, "name": n, "controller": true})
            })
            .into_iter()
            .collect();
        json!({"metadata": {"name": name, "namespace": "a", "ownerReferences": refs},
            "spec": {"nodeName": "n1", "volumes": volumes}, "status": {"phase": "Running"}})
    }

    #[test]
    fn empty_dir_and_host_path_warn() {
        let f = findings(vec![
            pod(
                "web-1-a",
                Some("ReplicaSet/web-1"),
                &json!([{"name": "tmp", "emptyDir": {}}]),
            ),
            pod(
                "web-1-b",
                Some("ReplicaSet/web-1"),
                &json!([{"name": "tmp", "emptyDir": {}}]),
            ),
            pod(
                "agent",
                None,
                &json!([{"name": "data", "hostPath": {"path": "/var/lib/agent"}}]),
            ),
        ]);
        assert_eq!(f.len(), 2);
        assert_eq!(f[0].object, "Pod a/agent");
        assert_eq!(
            f[0].message,
            "pod agent on n1 uses hostPath data (/var/lib/agent): hostPath data stays behind on the node and is gone once the node is replaced"
        );
        assert_eq!(f[1].object, "ReplicaSet a/web-1");
        assert!(f[1].message.starts_with(
            "2 pods (web-1-a, web-1-b) on n1 use emptyDir tmp: kubectl drain refuses"
        ));
    }

    #[test]
    fn daemon_sets_persistent_volumes_and_finished_pods_pass() {
        let mut done = pod(
            "job-x",
            Some("Job/job"),
            &json!([{"name": "tmp", "emptyDir": {}}]),
        );
        done["status"]["phase"] = json!("Succeeded");
        let f = findings(vec![
            pod(
                "exporter",
                Some("DaemonSet/exporter"),
                &json!([{"name": "proc", "hostPath": {"path": "/proc"}}]),
            ),
            pod(
                "db-0",
                Some("StatefulSet/db"),
                &json!([{"name": "data", "persistentVolumeClaim": {"claimName": "data-db-0"}}]),
            ),
            done,
        ]);
        assert!(f.is_empty(), "{f:?}");
    }

    #[test]
    fn a_null_phase_counts_as_a_manifest() {
        // No API server writes a null phase, so such a pod is read as a manifest, as DRN004
        // already did (DRN005 used to take it for an unscheduled live pod and pass it).
        let mut p = pod("tool", None, &json!([{"name": "tmp", "emptyDir": {}}]));
        p["spec"]["nodeName"].take();
        p["status"]["phase"] = Value::Null;
        let f = findings(vec![p]);
        assert_eq!(f.len(), 1);
        assert!(f[0].message.starts_with("pod tool uses emptyDir tmp:"));
    }

    #[test]
    fn recorded_v1_20_cluster() {
        let f: Vec<(String, String)> = findings(fixture("core/v1/pods.json"))
            .into_iter()
            .map(|f| (f.object, f.message))
            .collect();
        let empty = "kubectl drain refuses to evict without --delete-emptydir-data, and the emptyDir contents are lost when it does";
        // node-exporter's hostPath /proc is a DaemonSet's and stays; db uses PVCs.
        assert_eq!(
            f,
            [
                (
                    "Deployment team-b/api".to_owned(),
                    format!(
                        "3 pods (api-5f7c8d9b4c-b7tln, api-5f7c8d9b4c-hz6dc, api-5f7c8d9b4c-q5v8r) on node-a1, node-a2, node-b1 use emptyDir scratch: {empty}"
                    )
                ),
                (
                    "Pod legacy-apps/batch-runner".to_owned(),
                    format!("pod batch-runner on node-a2 uses emptyDir work: {empty}")
                ),
                (
                    "Pod team-a/cache-warmer".to_owned(),
                    format!(
                        "pod cache-warmer on node-a1 uses emptyDir cache (medium Memory): {empty}"
                    )
                ),
            ]
        );
    }
}
