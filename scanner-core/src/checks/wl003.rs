//! WL003: multi-replica workloads that nothing spreads, and replicas that run on one node or
//! in one pool.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::util::{is_finished, name, names, node_pool, object_ref, owner_of, text};
use super::{Check, CheckFinding, CodeInfo, Context, Family, Resource, Severity};

pub static CHECK: Check = Check {
    info: CodeInfo {
        code: "WL003",
        family: Family::Readiness,
        title: "Replicas concentrated on one node or pool",
        severity: Severity::Info,
        reads: "Deployment and StatefulSet spec.replicas, spec.template.spec.{affinity.podAntiAffinity,topologySpreadConstraints}; Pod spec.nodeName, metadata.ownerReferences; Node metadata.labels (the pool label)",
        applies: "every hop that drains or replaces nodes, to workloads of 2 or more replicas; on manifests the template part only",
        remediation: "Add a topologySpreadConstraint on kubernetes.io/hostname (and on the zone or pool label where pools are rolled one at a time) or a podAntiAffinity on the workload's own labels, then let the pods be rescheduled; or roll that node or pool alone, at a quiet time.",
        explanation: "Replicas only protect a workload during a node roll if they are on different nodes: a drain evicts every pod of its node, and a pool upgrade replaces all of its nodes in a row. Without podAntiAffinity or topologySpreadConstraints the scheduler is free to put all replicas together (nodeAffinity and nodeSelector choose where pods may go, they do not spread them), and after earlier rolls they often are. WL003 flags multi-replica templates that declare no spreading, and, on a live cluster, workloads whose running replicas all sit on one node, or all in one pool while the cluster has several. A PodDisruptionBudget still slows the drain down, but the service runs on fewer replicas than planned while the pool is rolled.",
        retired: None,
    },
    needs: &[Resource::Deployments, Resource::StatefulSets],
    offline: true,
    needs_kubectl: false,
    // Placement needs pods, pools need nodes; the template part runs without either.
    uses: &[Resource::Pods, Resource::Nodes],
    run,
};

/// Whether a pod template asks the scheduler to spread its pods.
fn declares_spread(spec: Option<&Value>) -> bool {
    let non_empty = |v: Option<&Value>| match v {
        Some(Value::Array(a)) => !a.is_empty(),
        Some(Value::Object(o)) => !o.is_empty(),
        _ => false,
    };
    let Some(spec) = spec else {
        return false;
    };
    let anti = spec.pointer("/affinity/podAntiAffinity");
    non_empty(spec.get("topologySpreadConstraints"))
        || non_empty(anti.and_then(|a| a.get("requiredDuringSchedulingIgnoredDuringExecution")))
        || non_empty(anti.and_then(|a| a.get("preferredDuringSchedulingIgnoredDuringExecution")))
}

fn run(ctx: &Context<'_>, out: &mut Vec<CheckFinding>) {
    // Running pods per owner, and each node's pool.
    let mut placed: BTreeMap<String, Vec<&Value>> = BTreeMap::new();
    for pod in ctx.state.list(Resource::Pods) {
        if is_finished(pod)
            || pod.pointer("/metadata/deletionTimestamp").is_some()
            || text(pod, "/spec/nodeName").is_none()
        {
            continue;
        }
        placed.entry(owner_of(pod)).or_default().push(pod);
    }
    let pools: BTreeMap<&str, String> = ctx
        .state
        .list(Resource::Nodes)
        .iter()
        .map(|n| (name(n), node_pool(n)))
        .collect();
    let several_pools = pools.values().collect::<BTreeSet<_>>().len() > 1;

    for resource in [Resource::Deployments, Resource::StatefulSets] {
        for w in ctx.state.list(resource) {
            let replicas = w
                .pointer("/spec/replicas")
                .and_then(Value::as_i64)
                .unwrap_or(1);
            if replicas < 2 {
                continue;
            }
            let object = object_ref(resource.kind(), w);
            let mut why = Vec::new();
            if !declares_spread(w.pointer("/spec/template/spec")) {
                why.push(format!(
                    "{replicas} replicas and neither podAntiAffinity nor topologySpreadConstraints in the template: the scheduler may place them together"
                ));
            }
            let pods = placed.get(&object).map_or(&[][..], Vec::as_slice);
            let nodes: BTreeSet<&str> = pods
                .iter()
                .filter_map(|p| text(p, "/spec/nodeName"))
                .collect();
            if pods.len() >= 2 {
                let pod_names: Vec<&str> = pods.iter().map(|p| name(p)).collect();
                let in_pools: BTreeSet<&str> = nodes
                    .iter()
                    .filter_map(|n| pools.get(n).map(String::as_str))
                    .collect();
                if let [node] = nodes.iter().copied().collect::<Vec<_>>()[..] {
                    why.push(format!(
                        "all {} running replicas are on node {node} ({}): its drain takes them all at once",
                        pods.len(),
                        names(&pod_names)
                    ));
                } else if several_pools
                    && in_pools.len() == 1
                    && nodes.iter().all(|n| pools.contains_key(n))
                {
                    let pool = in_pools.iter().next().copied().unwrap_or_default();
                    why.push(format!(
                        "all {} running replicas are in pool {pool} (nodes {}): rolling that pool replaces every node they run on",
                        pods.len(),
                        nodes.iter().copied().collect::<Vec<_>>().join(", ")
                    ));
                }
            }
            if !why.is_empty() {
                out.push(CheckFinding::new(
                    &CHECK,
                    Severity::Info,
                    object,
                    format!(
                        "{}; spread them with a topologySpreadConstraint on kubernetes.io/hostname or a podAntiAffinity",
                        why.join("; ")
                    ),
                ));
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::checks::ClusterState;
    use crate::checks::util::recorded_items;
    use api_catalog::KubeVersion;
    use serde_json::json;

    fn deployment(name: &str, replicas: i64, extra: &Value) -> Value {
        let mut spec = json!({"containers": [{"name": "c", "image": "i:1"}]});
        for (k, v) in extra.as_object().unwrap() {
            spec[k] = v.clone();
        }
        json!({"metadata": {"name": name, "namespace": "a"},
            "spec": {"replicas": replicas, "template": {"metadata": {"labels": {"app": name}}, "spec": spec}}})
    }

    fn pod(name: &str, deployment: &str, node: &str) -> Value {
        json!({"metadata": {"name": name, "namespace": "a",
                "labels": {"pod-template-hash": "abc"},
                "ownerReferences": [{"kind": "ReplicaSet", "name": format!("{deployment}-abc"), "controller": true}]},
            "spec": {"nodeName": node}, "status": {"phase": "Running"}})
    }

    fn node(name: &str, pool: &str) -> Value {
        json!({"metadata": {"name": name, "labels": {"eks.amazonaws.com/nodegroup": pool}}})
    }

    fn findings(
        deployments: Vec<Value>,
        pods: Option<Vec<Value>>,
        nodes: Vec<Value>,
    ) -> Vec<CheckFinding> {
        let mut s = ClusterState::new();
        s.set(Resource::Deployments, deployments);
        s.set(Resource::StatefulSets, vec![]);
        if let Some(pods) = pods {
            s.set(Resource::Pods, pods);
        }
        s.set(Resource::Nodes, nodes);
        let ctx = Context::new(&s, KubeVersion::new(1, 30), KubeVersion::new(1, 31));
        let mut out = Vec::new();
        run(&ctx, &mut out);
        out
    }

    const SPREAD: &str = "topologySpreadConstraints";

    #[test]
    fn templates_without_spreading() {
        let tsc = json!({SPREAD: [{"maxSkew": 1, "topologyKey": "kubernetes.io/hostname", "whenUnsatisfiable": "ScheduleAnyway"}]});
        let anti = json!({"affinity": {"podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [{"weight": 100}]}}});
        // nodeAffinity chooses nodes, it does not spread.
        let node_only = json!({"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {}}}, SPREAD: []});
        let f = findings(
            vec![
                deployment("plain", 3, &json!({})),
                deployment("tsc", 3, &tsc),
                deployment("anti", 2, &anti),
                deployment("node-only", 2, &node_only),
                deployment("single", 1, &json!({})),
            ],
            None,
            vec![],
        );
        let objects: Vec<&str> = f.iter().map(|f| f.object.as_str()).collect();
        assert_eq!(objects, ["Deployment a/plain", "Deployment a/node-only"]);
        assert_eq!(
            f[0].message,
            "3 replicas and neither podAntiAffinity nor topologySpreadConstraints in the template: the scheduler may place them together; spread them with a topologySpreadConstraint on kubernetes.io/hostname or a podAntiAffinity"
        );
    }

    #[test]
    fn replicas_on_one_node_or_pool() {
        let tsc = json!({SPREAD: [{"maxSkew": 1, "topologyKey": "kubernetes.io/hostname"}]});
        let nodes = vec![node("n1", "apps"), node("n2", "apps"), node("n3", "db")];
        // Declared, yet both replicas ended up on n1.
        let f = findings(
            vec![deployment("web", 2, &tsc)],
            Some(vec![
                pod("web-abc-1", "web", "n1"),
                pod("web-abc-2", "web", "n1"),
            ]),
            nodes.clone(),
        );
        assert_eq!(f.len(), 1);
        assert!(
            f[0].message
                .starts_with("all 2 running replicas are on node n1 (web-abc-1, web-abc-2)"),
            "{}",
            f[0].message
        );
        // Two nodes of the same pool, in a cluster with two pools.
        let f = findings(
            vec![deployment("web", 2, &tsc)],
            Some(vec![
                pod("web-abc-1", "web", "n1"),
                pod("web-abc-2", "web", "n2"),
            ]),
            nodes.clone(),
        );
        assert_eq!(f.len(), 1);
        assert!(
            f[0].message
                .starts_with("all 2 running replicas are in pool apps (nodes n1, n2)")
        );
        // Spread across pools: nothing.
        let f = findings(
            vec![deployment("web", 2, &tsc)],
            Some(vec![
                pod("web-abc-1", "web", "n1"),
                pod("web-abc-2", "web", "n3"),
            ]),
            nodes,
        );
        assert!(f.is_empty(), "{f:?}");
        // One pool in the whole cluster: nothing to choose from.
        let f = findings(
            vec![deployment("web", 2, &tsc)],
            Some(vec![
                pod("web-abc-1", "web", "n1"),
                pod("web-abc-2", "web", "n2"),
            ]),
            vec![node("n1", "apps"), node("n2", "apps")],
        );
        assert!(f.is_empty(), "{f:?}");
    }

    #[test]
    fn recorded_cluster() {
        let mut s = ClusterState::new();
        s.set(
            Resource::Deployments,
            recorded_items("apps/v1/deployments.json"),
        );
        s.set(
            Resource::StatefulSets,
            recorded_items("apps/v1/statefulsets.json"),
        );
        s.set(Resource::Pods, recorded_items("core/v1/pods.json"));
        s.set(Resource::Nodes, recorded_items("core/v1/nodes.json"));
        let ctx = Context::new(&s, KubeVersion::new(1, 20), KubeVersion::new(1, 21));
        let mut out = Vec::new();
        run(&ctx, &mut out);
        let objects: Vec<&str> = out.iter().map(|f| f.object.as_str()).collect();
        // No template spreads; the replicas of each sit on at least two nodes.
        assert_eq!(
            objects,
            [
                "Deployment default/frontend",
                "Deployment team-a/legacy-web",
                "Deployment team-b/api",
                "StatefulSet team-b/db"
            ]
        );
        assert!(out.iter().all(|f| !f.message.contains("running replicas")));
    }
}
