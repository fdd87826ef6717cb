//! Field readers shared by the checks: names, owners, label selectors, readiness, versions.

use std::collections::BTreeSet;

use api_catalog::KubeVersion;
use serde_json::Value;

use super::{ClusterState, Resource};

/// A string at a JSON pointer.
pub fn text<'a>(v: &'a Value, pointer: &str) -> Option<&'a str> {
    v.pointer(pointer).and_then(Value::as_str)
}

/// `metadata.name` (empty when missing).
pub fn name(v: &Value) -> &str {
    text(v, "/metadata/name").unwrap_or("")
}

/// `metadata.namespace`.
pub fn namespace(v: &Value) -> Option<&str> {
    text(v, "/metadata/namespace")
}

/// `Kind namespace/name` or `Kind name`.
pub fn object_ref(kind: &str, v: &Value) -> String {
    match namespace(v) {
        Some(ns) => format!("{kind} {ns}/{}", name(v)),
        None => format!("{kind} {}", name(v)),
    }
}

/// An annotation's value.
pub fn annotation<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get("metadata")?.get("annotations")?.get(key)?.as_str()
}

/// Node labels that name the pool a node belongs to, per provider.
const POOL_LABELS: [&str; 5] = [
    "eks.amazonaws.com/nodegroup",
    "kubernetes.azure.com/agentpool",
    "agentpool",
    "cloud.google.com/gke-nodepool",
    "karpenter.sh/nodepool",
];

/// The pool a node belongs to: its provider's node-group label, `control-plane` for
/// control-plane nodes, else `kubelet <minor>` (nodes upgraded together share a version).
pub fn node_pool(node: &Value) -> String {
    let labels = node.pointer("/metadata/labels");
    if let Some(pool) = POOL_LABELS
        .iter()
        .find_map(|k| labels.and_then(|l| l.get(*k)).and_then(Value::as_str))
    {
        return pool.to_owned();
    }
    if labels.is_some_and(|l| l.get("node-role.kubernetes.io/control-plane").is_some()) {
        return "control-plane".to_owned();
    }
    let kubelet = text(node, "/status/nodeInfo/kubeletVersion").unwrap_or_default();
    let minor: Vec<&str> = kubelet.trim_start_matches('v').split('.').take(2).collect();
    format!("kubelet {}", minor.join("."))
}

/// The words of a container's `command` and `args`, in order.
pub fn command_words(container: &Value) -> Vec<&str> {
    ["command", "args"]
        .into_iter()
        .filter_map(|k| container.get(k).and_then(Value::as_array))
        .flatten()
        .filter_map(Value::as_str)
        .collect()
}

/// The words of a pod's first container (a control-plane static pod's component).
pub fn first_container_words(pod: &Value) -> Vec<&str> {
    pod.pointer("/spec/containers/0")
        .map(command_words)
        .unwrap_or_default()
}

/// The value of `--flag=value` or `--flag value` among `words`.
pub fn flag_value<'a>(words: &[&'a str], flag: &str) -> Option<&'a str> {
    words.iter().enumerate().find_map(|(i, w)| {
        let rest = w.strip_prefix(flag)?;
        match rest.strip_prefix('=') {
            Some(v) => Some(v),
            None if rest.is_empty() => words.get(i + 1).copied(),
            None => None,
        }
    })
}

/// Every `--flag` among `words` with its value (`--a=b`, `--a b`, `--a` with an empty value).
pub fn flags(words: &[&str]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (i, w) in words.iter().enumerate() {
        let Some(flag) = w.strip_prefix("--") else {
            continue;
        };
        if let Some((k, v)) = flag.split_once('=') {
            out.push((format!("--{k}"), v.to_owned()));
        } else {
            let next = words.get(i + 1).filter(|n| !n.starts_with("--")).copied();
            out.push((format!("--{flag}"), next.unwrap_or("").to_owned()));
        }
    }
    out
}

/// The controller owner reference: (kind, name).
pub fn controller(v: &Value) -> Option<(&str, &str)> {
    v.pointer("/metadata/ownerReferences")?
        .as_array()?
        .iter()
        .find(|o| o.get("controller").and_then(Value::as_bool) == Some(true))
        .map(|o| {
            (
                o.get("kind").and_then(Value::as_str).unwrap_or(""),
                o.get("name").and_then(Value::as_str).unwrap_or(""),
            )
        })
}

/// A mirror (static) pod, which drains skip.
pub fn is_mirror_pod(pod: &Value) -> bool {
    annotation(pod, "kubernetes.io/config.mirror").is_some()
}

/// A pod that has finished (drains let it pass).
pub fn is_finished(pod: &Value) -> bool {
    matches!(text(pod, "/status/phase"), Some("Succeeded" | "Failed"))
}

/// What a drain of its node does with a pod: the one rule the drain checks (DRN003, DRN004,
/// DRN005, DRN007, DRN008) share. It follows `kubectl drain --ignore-daemonsets`, checked in
/// this order:
///
/// 1. finished (phase `Succeeded` or `Failed`) or already terminating (a
///    `metadata.deletionTimestamp`): [`Drain::Leaves`], it goes whatever the drain does;
/// 2. a mirror (static) pod, annotated `kubernetes.io/config.mirror`: [`Drain::Skipped`];
/// 3. a live pod that no node runs (a `status.phase` but no `spec.nodeName`):
///    [`Drain::Leaves`], there is no node to drain it from;
/// 4. controlled by a `DaemonSet`: [`Drain::LeftRunning`];
/// 5. anything else: [`Drain::Evicted`], bare pods included (refused without `--force`, deleted
///    for good with it).
///
/// A manifest has no status: its pods count as running on some node, so the checks also judge
/// what a deployment would bring.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Drain {
    /// Finished, terminating, or on no node: nothing for a drain to do.
    Leaves,
    /// A mirror pod: the kubelet runs it from a file and drains skip it.
    Skipped,
    /// A `DaemonSet`'s pod: `--ignore-daemonsets` leaves it running on the cordoned node.
    LeftRunning,
    /// Evicted (or deleted) by the drain.
    Evicted,
}

/// What a drain of its node does with `pod` (see [`Drain`]).
pub fn drain(pod: &Value) -> Drain {
    if is_finished(pod) || pod.pointer("/metadata/deletionTimestamp").is_some() {
        Drain::Leaves
    } else if is_mirror_pod(pod) {
        Drain::Skipped
    } else if text(pod, "/spec/nodeName").is_none() && text(pod, "/status/phase").is_some() {
        // An API server always writes a string phase: a pod without one is a manifest.
        Drain::Leaves
    } else if matches!(controller(pod), Some(("DaemonSet", _))) {
        Drain::LeftRunning
    } else {
        Drain::Evicted
    }
}

/// Whether a drain of its node evicts `pod` (see [`Drain`]).
pub fn drain_evicts(pod: &Value) -> bool {
    drain(pod) == Drain::Evicted
}

/// The pod's `Ready` condition is `True`.
pub fn pod_ready(pod: &Value) -> bool {
    condition(pod, "Ready") == Some("True")
}

/// The status of a condition (`status.conditions[type=...].status`).
pub fn condition<'a>(v: &'a Value, kind: &str) -> Option<&'a str> {
    v.pointer("/status/conditions")?
        .as_array()?
        .iter()
        .find(|c| c.get("type").and_then(Value::as_str) == Some(kind))?
        .get("status")?
        .as_str()
}

/// Whether a label selector (`matchLabels`, `matchExpressions`) selects `labels`. A missing
/// selector selects nothing; an empty one selects everything.
pub fn selects(selector: Option<&Value>, labels: Option<&Value>) -> bool {
    let Some(selector) = selector.filter(|s| !s.is_null()) else {
        return false;
    };
    let label = |k: &str| labels.and_then(|l| l.get(k)).and_then(Value::as_str);
    if let Some(m) = selector.get("matchLabels").and_then(Value::as_object) {
        for (k, v) in m {
            if label(k) != v.as_str() {
                return false;
            }
        }
    }
    if let Some(exprs) = selector.get("matchExpressions").and_then(Value::as_array) {
        for e in exprs {
            let key = e.get("key").and_then(Value::as_str).unwrap_or("");
            let values: Vec<&str> = e
                .get("values")
                .and_then(Value::as_array)
                .map(|v| v.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            let ok = match e.get("operator").and_then(Value::as_str) {
                Some("In") => label(key).is_some_and(|l| values.contains(&l)),
                Some("NotIn") => label(key).is_none_or(|l| !values.contains(&l)),
                Some("Exists") => label(key).is_some(),
                Some("DoesNotExist") => label(key).is_none(),
                _ => false,
            };
            if !ok {
                return false;
            }
        }
    }
    true
}

/// The pods of `pdb`'s namespace its selector selects.
pub fn pods_of<'a>(pdb: &Value, pods: &'a [Value]) -> Vec<&'a Value> {
    let ns = namespace(pdb);
    pods.iter()
        .filter(|p| namespace(p) == ns)
        .filter(|p| selects(pdb.pointer("/spec/selector"), p.pointer("/metadata/labels")))
        .collect()
}

/// A version from a kubelet version or an image tag (`v1.27.3-eks-...`, `registry/kube-proxy:v1.27.3`).
pub fn version_of(text: &str) -> Option<KubeVersion> {
    let tag = text.rsplit(':').next().unwrap_or(text);
    tag.parse().ok()
}

/// How many minors a node component may trail the control plane: 3 from 1.25, 2 before
/// (KEP-3935, keyed on the component's own version).
pub fn lag(component: KubeVersion) -> u16 {
    if component >= KubeVersion::new(1, 25) {
        3
    } else {
        2
    }
}

/// An `intOrString` PDB field against a total: integers as they are, percentages rounded up
/// as the disruption controller does.
pub fn int_or_percent(value: &Value, total: i64) -> Option<i64> {
    if let Some(n) = value.as_i64() {
        return Some(n);
    }
    let p: i64 = value.as_str()?.strip_suffix('%')?.trim().parse().ok()?;
    Some((p * total + 99) / 100)
}

/// Why a webhook's Service cannot answer (`None` when it can): missing, or no ready endpoint.
/// An `ExternalName` Service points outside the cluster and counts as reachable.
pub fn service_down(state: &ClusterState, ns: &str, svc: &str) -> Option<String> {
    let same = |o: &&Value| namespace(o) == Some(ns) && name(o) == svc;
    let Some(service) = state.list(Resource::Services).iter().find(same) else {
        return Some(format!("service {ns}/{svc} does not exist"));
    };
    if text(service, "/spec/type") == Some("ExternalName") {
        return None;
    }
    let ready = state
        .list(Resource::Endpoints)
        .iter()
        .find(same)
        .and_then(|e| e.get("subsets").and_then(Value::as_array))
        .is_some_and(|subsets| {
            subsets.iter().any(|s| {
                s.get("addresses")
                    .and_then(Value::as_array)
                    .is_some_and(|a| !a.is_empty())
            })
        });
    (!ready).then(|| format!("service {ns}/{svc} has no ready endpoints"))
}

/// The object a pod is reported under: its Deployment (the `ReplicaSet` name less the
/// `pod-template-hash` label), its other controller, or the pod itself when it has none.
pub fn owner_of(pod: &Value) -> String {
    let qualified = |kind: &str, n: &str| match namespace(pod) {
        Some(ns) => format!("{kind} {ns}/{n}"),
        None => format!("{kind} {n}"),
    };
    match controller(pod) {
        Some(("ReplicaSet", rs)) => {
            let deployment = text(pod, "/metadata/labels/pod-template-hash")
                .and_then(|hash| rs.strip_suffix(hash))
                .and_then(|d| d.strip_suffix('-'))
                .filter(|d| !d.is_empty());
            match deployment {
                Some(d) => qualified("Deployment", d),
                None => qualified("ReplicaSet", rs),
            }
        }
        Some((kind, n)) => qualified(kind, n),
        None => object_ref("Pod", pod),
    }
}

/// The pods of one group (an owner's replicas, so that they make one finding) and the nodes
/// they run on.
#[derive(Debug, Default)]
pub struct PodGroup<'a> {
    /// Pod names, in list order.
    pub pods: Vec<&'a str>,
    /// Their nodes (a manifest's pods have none).
    pub nodes: BTreeSet<&'a str>,
}

impl<'a> PodGroup<'a> {
    /// Adds a pod and its node.
    pub fn add(&mut self, pod: &'a Value) {
        self.pods.push(name(pod));
        self.nodes.extend(text(pod, "/spec/nodeName"));
    }

    /// ` on n1, n2`, or nothing when no node is known.
    pub fn place(&self) -> String {
        if self.nodes.is_empty() {
            String::new()
        } else {
            let nodes: Vec<&str> = self.nodes.iter().copied().collect();
            format!(" on {}", nodes.join(", "))
        }
    }
}

/// Up to five names, then how many more.
pub fn names(list: &[&str]) -> String {
    let shown = list.iter().take(5).copied().collect::<Vec<_>>().join(", ");
    if list.len() > 5 {
        format!("{shown} and {} more", list.len() - 5)
    } else {
        shown
    }
}

/// A node named `name` with `labels`, a kubelet and an OS image, for tests.
#[cfg(test)]
pub fn test_node(name: &str, kubelet: &str, os_image: &str, labels: Value) -> Value {
    let mut node = serde_json::json!({
        "metadata": {"name": name},
        "status": {"nodeInfo": {"kubeletVersion": kubelet, "osImage": os_image}}
    });
    node["metadata"]["labels"] = labels;
    node
}

/// The items of a recorded v1.20 list (`core/v1/pods.json`), for tests.
#[cfg(test)]
pub fn recorded_items(file: &str) -> Vec<Value> {
    recorded_items_at("v1.20", file)
}

/// The items of a list of the recording `version` (`v1.34`), for tests.
#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests fail loudly on purpose
pub fn recorded_items_at(version: &str, file: &str) -> Vec<Value> {
    let path = format!(
        "{}/../fixtures/cluster/{version}/list/{file}",
        env!("CARGO_MANIFEST_DIR")
    );
    let list: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    list["items"].as_array().unwrap().clone()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn selectors_follow_the_api_rules() {
        let labels = json!({"app": "web", "tier": "front"});
        assert!(selects(Some(&json!({})), Some(&labels)));
        assert!(!selects(None, Some(&labels)));
        assert!(selects(
            Some(&json!({"matchLabels": {"app": "web"}})),
            Some(&labels)
        ));
        assert!(!selects(
            Some(&json!({"matchLabels": {"app": "db"}})),
            Some(&labels)
        ));
        let expr = json!({"matchExpressions": [
            {"key": "tier", "operator": "In", "values": ["front", "back"]},
            {"key": "canary", "operator": "DoesNotExist"}]});
        assert!(selects(Some(&expr), Some(&labels)));
    }

    #[test]
    fn what_a_drain_does_with_each_pod() {
        let pod = |extra: Value| {
            let mut p = json!({"metadata": {"name": "p", "namespace": "a"},
                "spec": {"nodeName": "n1"}, "status": {"phase": "Running"}});
            json_patch(&mut p, &extra);
            p
        };
        let ds = json!({"metadata": {"ownerReferences": [{"kind": "DaemonSet", "name": "d", "controller": true}]}});
        for (case, p, want) in [
            ("running", pod(json!({})), Drain::Evicted),
            (
                "bare manifest",
                json!({"kind": "Pod", "spec": {}}),
                Drain::Evicted,
            ),
            // A null phase is no live pod's: the pod counts as a manifest.
            (
                "null phase",
                json!({"spec": {}, "status": {"phase": null}}),
                Drain::Evicted,
            ),
            (
                "succeeded",
                pod(json!({"status": {"phase": "Succeeded"}})),
                Drain::Leaves,
            ),
            (
                "failed",
                pod(json!({"status": {"phase": "Failed"}})),
                Drain::Leaves,
            ),
            (
                "terminating",
                pod(json!({"metadata": {"deletionTimestamp": "2026-01-01T00:00:00Z"}})),
                Drain::Leaves,
            ),
            (
                "unscheduled",
                json!({"spec": {}, "status": {"phase": "Pending"}}),
                Drain::Leaves,
            ),
            (
                "mirror",
                pod(json!({"metadata": {"annotations": {"kubernetes.io/config.mirror": "x"}}})),
                Drain::Skipped,
            ),
            ("daemonset", pod(ds.clone()), Drain::LeftRunning),
            (
                "finished daemonset",
                pod(json!({"metadata": ds["metadata"], "status": {"phase": "Failed"}})),
                Drain::Leaves,
            ),
        ] {
            assert_eq!(drain(&p), want, "{case}");
            assert_eq!(drain_evicts(&p), want == Drain::Evicted, "{case}");
        }
    }

    /// Merges `patch` into `target` (objects key by key, anything else replaced).
    fn json_patch(target: &mut Value, patch: &Value) {
        match (target, patch) {
            (Value::Object(t), Value::Object(p)) => {
                for (k, v) in p {
                    json_patch(t.entry(k.clone()).or_insert(Value::Null), v);
                }
            }
            (t, p) => *t = p.clone(),
        }
    }

    #[test]
    fn percentages_round_up() {
        assert_eq!(int_or_percent(&json!("80%"), 1), Some(1));
        assert_eq!(int_or_percent(&json!("80%"), 4), Some(4));
        assert_eq!(int_or_percent(&json!("50%"), 3), Some(2));
        assert_eq!(int_or_percent(&json!(2), 9), Some(2));
    }

    #[test]
    fn versions_from_kubelets_and_images() {
        assert_eq!(
            version_of("v1.30.4-eks-a1b2"),
            Some(KubeVersion::new(1, 30))
        );
        assert_eq!(
            version_of("registry.k8s.io/kube-proxy:v1.27.3"),
            Some(KubeVersion::new(1, 27))
        );
        assert_eq!(lag(KubeVersion::new(1, 24)), 2);
        assert_eq!(lag(KubeVersion::new(1, 25)), 3);
    }
}
