//! CAP003: whether the rest of the cluster has room for the pods of a node being drained.
//!
//! Per pool, the busiest node (the most CPU requested by the pods a drain evicts) is drained
//! on paper: its evicted pods, largest first, go to the other nodes that would take them (Ready,
//! schedulable, taints tolerated, nodeSelector and required node affinity met) where their CPU,
//! memory and pod-count requests still fit. Pods left over would stay Pending until a new node
//! joins.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use serde_json::Value;

use super::placement::{selects_node, tolerates};
use super::util::{condition, drain_evicts, is_finished, name, names, node_pool, text};
use super::{Check, CheckFinding, CodeInfo, Context, Family, Resource, Severity};

pub static CHECK: Check = Check {
    info: CodeInfo {
        code: "CAP003",
        family: Family::Readiness,
        title: "No room elsewhere for a drained node's pods",
        severity: Severity::Warning,
        reads: "Node metadata.{name,labels}, spec.{unschedulable,taints}, status.{allocatable,conditions}; Pod spec.{nodeName,nodeSelector,affinity,tolerations,containers[].resources.requests,initContainers[].resources.requests}, status.phase",
        applies: "before the first hop (a live cluster: it needs the nodes and what runs on them)",
        remediation: "Give the roll room before it starts: let it surge (EKS managed node groups and AKS node pools add nodes before draining; raise maxSurge if one is not enough), add a node to the pool by hand, or lower the requests of the largest pods. Roll one node at a time (maxUnavailable 1) so the drained node's pods only need room for one node.",
        explanation: "A drain evicts the pods of a node and the scheduler must place each on another node with enough unrequested CPU, memory and pod slots. When the other nodes are already full, the evicted pods stay Pending: their workloads run short until the replacement node joins, and a PodDisruptionBudget that counts them can stall the next drain. CAP003 takes, in each pool, the node whose evicted pods request the most CPU, and places those pods (largest first) on the other Ready, schedulable nodes whose taints they tolerate and whose labels match their nodeSelector and required node affinity, counting what each node's pods already request against its allocatable resources. Pods left without room are reported; pods that no other node would take at any size (taints they do not tolerate, node selection) are DRN011's. It assumes no surge node joins first (managed node groups usually add one, which this check cannot see) and does not weigh pod anti-affinity, topology spread or zone-bound volumes, so a pass is a lower bound of what the scheduler needs, not a promise.",
        retired: None,
    },
    needs: &[Resource::Pods, Resource::Nodes],
    offline: false,
    needs_kubectl: false,
    uses: &[],
    run,
};

/// A Kubernetes quantity (`500m`, `2`, `1.5Gi`, `128974848`, `129e6`) as a number.
fn quantity(text: &str) -> Option<f64> {
    const SUFFIXES: [(&str, f64); 13] = [
        ("Ki", 1024.0),
        ("Mi", 1_048_576.0),
        ("Gi", 1_073_741_824.0),
        ("Ti", 1_099_511_627_776.0),
        ("Pi", 1_125_899_906_842_624.0),
        ("Ei", 1_152_921_504_606_846_976.0),
        ("n", 1e-9),
        ("u", 1e-6),
        ("m", 1e-3),
        ("k", 1e3),
        ("M", 1e6),
        ("G", 1e9),
        ("T", 1e12),
    ];
    let t = text.trim();
    let (number, factor) = SUFFIXES
        .iter()
        .find_map(|(s, f)| t.strip_suffix(s).map(|n| (n, *f)))
        .or_else(|| t.strip_suffix('P').map(|n| (n, 1e15)))
        .or_else(|| {
            t.strip_suffix('E')
                .filter(|n| !n.contains(['e', 'E']))
                .map(|n| (n, 1e18))
        })
        .unwrap_or((t, 1.0));
    let value: f64 = number.parse().ok()?;
    (value.is_finite() && value >= 0.0).then_some(value * factor)
}

/// CPU (cores), memory (bytes) and pods.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
struct Room {
    cpu: f64,
    memory: f64,
    pods: f64,
}

impl Room {
    fn fits(self, need: Room) -> bool {
        need.cpu <= self.cpu + 1e-9 && need.memory <= self.memory + 0.5 && need.pods <= self.pods
    }

    fn take(&mut self, need: Room) {
        self.cpu -= need.cpu;
        self.memory -= need.memory;
        self.pods -= need.pods;
    }

    fn add(&mut self, other: Room) {
        self.cpu += other.cpu;
        self.memory += other.memory;
        self.pods += other.pods;
    }
}

/// `resources.requests` of one container.
fn container_requests(c: &Value) -> Room {
    let get = |k: &str| {
        c.pointer("/resources/requests")
            .and_then(|r| r.get(k))
            .and_then(Value::as_str)
            .and_then(quantity)
            .unwrap_or(0.0)
    };
    Room {
        cpu: get("cpu"),
        memory: get("memory"),
        pods: 0.0,
    }
}

/// What a pod asks of its node, as the scheduler counts it: its containers plus sidecars
/// (init containers that keep running), or the largest other init container if that is more.
fn pod_requests(pod: &Value) -> Room {
    let list = |p: &str| {
        pod.pointer(p)
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default()
    };
    let mut running = Room::default();
    for c in list("/spec/containers") {
        running.add(container_requests(c));
    }
    let mut init_peak = Room::default();
    for c in list("/spec/initContainers") {
        let r = container_requests(c);
        if text(c, "/restartPolicy") == Some("Always") {
            running.add(r);
        } else {
            init_peak.cpu = init_peak.cpu.max(r.cpu);
            init_peak.memory = init_peak.memory.max(r.memory);
        }
    }
    Room {
        cpu: running.cpu.max(init_peak.cpu),
        memory: running.memory.max(init_peak.memory),
        pods: 1.0,
    }
}

/// A node's allocatable resources; `None` when it states none (not judged).
fn allocatable(node: &Value) -> Option<Room> {
    let a = node.pointer("/status/allocatable")?;
    let get = |k: &str| a.get(k).and_then(Value::as_str).and_then(quantity);
    Some(Room {
        cpu: get("cpu")?,
        memory: get("memory")?,
        pods: get("pods").unwrap_or(110.0),
    })
}

fn receives_pods(node: &Value) -> bool {
    condition(node, "Ready") == Some("True")
        && node.pointer("/spec/unschedulable").and_then(Value::as_bool) != Some(true)
}

/// `1.5 CPU and 3.0 GiB`.
fn amount(r: Room) -> String {
    format!("{:.2} CPU and {:.1} GiB", r.cpu, r.memory / 1_073_741_824.0)
}

fn run(ctx: &Context<'_>, out: &mut Vec<CheckFinding>) {
    let nodes = ctx.state.list(Resource::Nodes);
    let pods = ctx.state.list(Resource::Pods);
    let mut on_node: BTreeMap<&str, Vec<&Value>> = BTreeMap::new();
    for p in pods.iter().filter(|p| !is_finished(p)) {
        if let Some(n) = text(p, "/spec/nodeName") {
            on_node.entry(n).or_default().push(p);
        }
    }
    // Free room per node: allocatable less what its pods request.
    let free: BTreeMap<&str, Room> = nodes
        .iter()
        .filter_map(|n| {
            let mut room = allocatable(n)?;
            for p in on_node.get(name(n)).into_iter().flatten() {
                room.take(pod_requests(p));
            }
            Some((name(n), room))
        })
        .collect();

    // The busiest node of each pool: the most CPU (then memory) its evicted pods request.
    let mut busiest: BTreeMap<String, (&Value, Vec<&Value>, Room)> = BTreeMap::new();
    for node in nodes.iter().filter(|n| free.contains_key(name(n))) {
        let evicted: Vec<&Value> = on_node
            .get(name(node))
            .into_iter()
            .flatten()
            .copied()
            .filter(|p| drain_evicts(p))
            .collect();
        if evicted.is_empty() {
            continue;
        }
        let mut total = Room::default();
        for p in &evicted {
            total.add(pod_requests(p));
        }
        let pool = node_pool(node);
        let heavier = busiest.get(&pool).is_none_or(|(n, _, t)| {
            (total.cpu, total.memory)
                .partial_cmp(&(t.cpu, t.memory))
                .is_some_and(|o| {
                    o == Ordering::Greater || (o == Ordering::Equal && name(node) < name(n))
                })
        });
        if heavier {
            busiest.insert(pool, (node, evicted, total));
        }
    }

    for (pool, (node, evicted, total)) in busiest {
        let mut room: Vec<(&Value, Room)> = nodes
            .iter()
            .filter(|n| name(n) != name(node) && receives_pods(n))
            .filter_map(|n| free.get(name(n)).map(|r| (n, *r)))
            .collect();
        // Each pod's requests once, not once per comparison.
        let mut evicted: Vec<(&Value, Room)> =
            evicted.into_iter().map(|p| (p, pod_requests(p))).collect();
        // Largest first, as a scheduler facing a full cluster would leave the large ones out.
        evicted.sort_by(|(a, ra), (b, rb)| {
            (rb.cpu, rb.memory)
                .partial_cmp(&(ra.cpu, ra.memory))
                .unwrap_or(Ordering::Equal)
                .then_with(|| name(a).cmp(name(b)))
        });
        let mut homeless: Vec<String> = Vec::new();
        for &(pod, need) in &evicted {
            let spec = pod.get("spec").unwrap_or(&Value::Null);
            let may_run = |n: &Value| tolerates(spec, n) && selects_node(spec, n);
            // A pod no other node takes at any size is DRN011's (node selection and taints);
            // here only room counts.
            if !room.iter().any(|(n, _)| may_run(n)) {
                continue;
            }
            // The node with the most CPU left that takes the pod.
            let target = room
                .iter_mut()
                .filter(|(n, r)| r.fits(need) && may_run(n))
                .max_by(|(na, a), (nb, b)| {
                    a.cpu
                        .partial_cmp(&b.cpu)
                        .unwrap_or(Ordering::Equal)
                        .then_with(|| name(nb).cmp(name(na)))
                });
            match target {
                Some((_, r)) => r.take(need),
                None => homeless.push(format!(
                    "{}/{}",
                    text(pod, "/metadata/namespace").unwrap_or(""),
                    name(pod)
                )),
            }
        }
        if homeless.is_empty() {
            continue;
        }
        let mut spare = Room::default();
        for (_, r) in &room {
            spare.add(Room {
                cpu: r.cpu.max(0.0),
                memory: r.memory.max(0.0),
                pods: r.pods.max(0.0),
            });
        }
        let refs: Vec<&str> = homeless.iter().map(String::as_str).collect();
        out.push(CheckFinding::new(
            &CHECK,
            Severity::Warning,
            format!("Node {}", name(node)),
            format!(
                "draining {} (pool {pool}, its busiest node: {} pod(s) requesting {}) leaves {} pod(s) with nowhere to run ({} left on the {} other Ready, schedulable node(s) they may run on after placing the rest); they stay Pending until a new node joins: {}; add a node or let the roll surge before draining",
                name(node),
                evicted.len(),
                amount(total),
                homeless.len(),
                amount(spare),
                room.len(),
                names(&refs)
            ),
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

    fn node(name: &str, pool: &str, cpu: &str, memory: &str) -> Value {
        json!({"metadata": {"name": name, "labels": {"eks.amazonaws.com/nodegroup": pool}},
            "spec": {},
            "status": {"allocatable": {"cpu": cpu, "memory": memory, "pods": "110"},
                "conditions": [{"type": "Ready", "status": "True"}]}})
    }

    fn pod(name: &str, node: &str, cpu: &str, memory: &str) -> Value {
        json!({"metadata": {"name": name, "namespace": "shop",
                "ownerReferences": [{"kind": "ReplicaSet", "name": "web-1", "controller": true}]},
            "spec": {"nodeName": node, "containers": [{"name": "c",
                "resources": {"requests": {"cpu": cpu, "memory": memory}}}]},
            "status": {"phase": "Running"}})
    }

    fn findings(nodes: Vec<Value>, pods: Vec<Value>) -> Vec<CheckFinding> {
        let mut s = ClusterState::new();
        s.set(Resource::Nodes, nodes);
        s.set(Resource::Pods, pods);
        let ctx = Context::new(&s, KubeVersion::new(1, 30), KubeVersion::new(1, 31));
        let mut out = Vec::new();
        run(&ctx, &mut out);
        out
    }

    #[test]
    fn quantities_in_every_form() {
        assert_eq!(quantity("500m"), Some(0.5));
        assert_eq!(quantity("2"), Some(2.0));
        assert_eq!(quantity("1Gi"), Some(1_073_741_824.0));
        assert_eq!(quantity("128974848"), Some(128_974_848.0));
        assert_eq!(quantity("129e6"), Some(129e6));
        assert_eq!(quantity("1.5G"), Some(1.5e9));
        assert_eq!(quantity("1E"), Some(1e18));
        assert_eq!(quantity("lots"), None);
        assert_eq!(quantity("-1"), None);
    }

    #[test]
    fn requests_count_sidecars_and_the_largest_init_container() {
        let p = json!({"spec": {
            "initContainers": [
                {"name": "setup", "resources": {"requests": {"cpu": "3", "memory": "1Gi"}}},
                {"name": "proxy", "restartPolicy": "Always", "resources": {"requests": {"cpu": "500m"}}}],
            "containers": [{"name": "a", "resources": {"requests": {"cpu": "1", "memory": "2Gi"}}},
                {"name": "b"}]}});
        let r = pod_requests(&p);
        assert!((r.cpu - 3.0).abs() < 1e-9, "{r:?}");
        assert!((r.memory - 2.0 * 1_073_741_824.0).abs() < 1.0);
    }

    #[test]
    fn a_full_cluster_leaves_the_drained_pods_pending() {
        // n1 runs 3 CPU of evictable pods; n2 has 4 CPU of which 3 are taken.
        let nodes = vec![
            node("n1", "app", "4", "16Gi"),
            node("n2", "app", "4", "16Gi"),
        ];
        let pods = vec![
            pod("a", "n1", "2", "1Gi"),
            pod("b", "n1", "1", "1Gi"),
            pod("c", "n2", "3", "1Gi"),
        ];
        let f = findings(nodes.clone(), pods);
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].object, "Node n1");
        assert!(
            f[0].message.contains("leaves 1 pod(s) with nowhere to run")
                && f[0]
                    .message
                    .ends_with("shop/a; add a node or let the roll surge before draining"),
            "{}",
            f[0].message
        );
        // With room to spare on n2, nothing.
        let pods = vec![
            pod("a", "n1", "2", "1Gi"),
            pod("b", "n1", "1", "1Gi"),
            pod("c", "n2", "500m", "1Gi"),
        ];
        assert!(findings(nodes, pods).is_empty());
    }

    #[test]
    fn cordoned_tainted_and_unready_nodes_take_nothing() {
        let mut cordoned = node("n2", "app", "64", "256Gi");
        cordoned["spec"]["unschedulable"] = json!(true);
        let mut tainted = node("n3", "gpu", "64", "256Gi");
        tainted["spec"]["taints"] =
            json!([{"key": "gpu", "value": "true", "effect": "NoSchedule"}]);
        let mut unready = node("n4", "app", "64", "256Gi");
        unready["status"]["conditions"] = json!([{"type": "Ready", "status": "False"}]);
        // Only cordoned, unready and tainted nodes besides n1: no node takes the pod at all,
        // which DRN011 reports; CAP003 is about room.
        let nodes = vec![
            node("n1", "app", "4", "16Gi"),
            cordoned,
            unready,
            tainted.clone(),
        ];
        assert!(findings(nodes.clone(), vec![pod("a", "n1", "1", "1Gi")]).is_empty());
        // A pod that tolerates the taint fits there.
        let mut tolerant = pod("a", "n1", "1", "1Gi");
        tolerant["spec"]["tolerations"] = json!([{"key": "gpu", "operator": "Exists"}]);
        assert!(findings(nodes.clone(), vec![tolerant.clone()]).is_empty());
        // ... unless it is too big for the room left there.
        tolerant["spec"]["containers"][0]["resources"]["requests"]["cpu"] = json!("65");
        let f = findings(nodes, vec![tolerant]);
        assert_eq!(f.len(), 1, "{f:?}");
        assert!(
            f[0].message.contains("(64.00 CPU and 256.0 GiB left on the 1 other Ready, schedulable node(s) they may run on after placing the rest)"),
            "{}",
            f[0].message
        );
    }

    #[test]
    fn daemonset_and_finished_pods_do_not_move() {
        let nodes = vec![
            node("n1", "app", "4", "16Gi"),
            node("n2", "app", "1", "16Gi"),
        ];
        let mut ds = pod("agent", "n1", "3", "1Gi");
        ds["metadata"]["ownerReferences"] =
            json!([{"kind": "DaemonSet", "name": "agent", "controller": true}]);
        let mut done = pod("job", "n1", "3", "1Gi");
        done["status"]["phase"] = json!("Succeeded");
        assert!(findings(nodes, vec![ds, done]).is_empty());
    }
}
