//! DRN002: a `PodDisruptionBudget` whose spec can never allow an eviction.

use std::collections::BTreeMap;

use serde_json::Value;

use super::util::{
    controller, int_or_percent, is_finished, name, namespace, object_ref, pods_of, selects, text,
};
use super::{Check, CheckFinding, CodeInfo, Context, Family, Resource, Severity};

pub static CHECK: Check = Check {
    info: CodeInfo {
        code: "DRN002",
        family: Family::Readiness,
        title: "PodDisruptionBudget can never allow an eviction",
        severity: Severity::Blocker,
        reads: "PodDisruptionBudget spec.{selector,minAvailable,maxUnavailable}; Pod labels, phase, metadata.ownerReferences; ReplicaSet metadata.ownerReferences, spec.replicas; Deployment and StatefulSet spec.{replicas,template.metadata.labels}; HorizontalPodAutoscaler spec.{scaleTargetRef,minReplicas}",
        applies: "every hop that drains or replaces nodes; on manifests the budget is measured against the spec.replicas of the workloads whose pod template it selects",
        remediation: "Run more replicas than the budget keeps (raise the HPA's minReplicas with them), or lower minAvailable / set maxUnavailable to at least 1; give bare pods a controller when the budget uses maxUnavailable or a percentage.",
        explanation: "Unlike a budget that is only exhausted at the moment (DRN001), these budgets are written so that no eviction can ever pass: maxUnavailable 0, minAvailable 100%, or a minAvailable that equals or exceeds the replicas the workload runs (percentages round up, so 80% of one replica is that replica). Every drain that meets one of their pods waits on 429 answers until someone edits the budget or deletes the pod by hand, which is how node pools and managed upgrades time out. A budget counted against controllers' scale (maxUnavailable or a percentage) that selects a pod without a controller is equally stuck: the disruption controller cannot compute the scale and allows nothing.",
        retired: None,
    },
    needs: &[
        Resource::PodDisruptionBudgets,
        Resource::Pods,
        Resource::ReplicaSets,
        Resource::Deployments,
        Resource::StatefulSets,
        Resource::HorizontalPodAutoscalers,
    ],
    offline: true,
    needs_kubectl: false,
    uses: &[],
    run,
};

/// What a budget's pods belong to and how many replicas it runs.
struct Owner {
    /// `Deployment team-a/web`, `bare Pod team-a/x`.
    what: String,
    /// `spec.replicas` (1 for a bare pod; the pods seen when the owner itself was not read).
    replicas: i64,
    /// The `minReplicas` of an HPA that targets the owner.
    hpa_min: Option<i64>,
    /// Counted from its pods because the owner object is unknown.
    counted: bool,
    /// A pod with no controller at all.
    bare: bool,
}

impl Owner {
    /// The fewest replicas it may run: its HPA can scale it down to `minReplicas`.
    fn floor(&self) -> i64 {
        self.hpa_min.map_or(self.replicas, |m| m.min(self.replicas))
    }
}

fn run(ctx: &Context<'_>, out: &mut Vec<CheckFinding>) {
    for pdb in ctx.state.list(Resource::PodDisruptionBudgets) {
        let owners = owners(ctx, pdb);
        let total: i64 = owners.values().map(|o| o.replicas).sum();
        let floor: i64 = owners.values().map(Owner::floor).sum();
        let scope = describe(&owners);
        let what = object_ref("PodDisruptionBudget", pdb);
        let mut push = |message: String| {
            out.push(CheckFinding::new(
                &CHECK,
                Severity::Blocker,
                what.clone(),
                message,
            ));
        };
        let bare = owners.values().find(|o| o.bare).map(|o| o.what.clone());
        if let Some(max) = pdb.pointer("/spec/maxUnavailable") {
            if max.as_i64() == Some(0) || percent(max) == Some(0) {
                push(format!(
                    "maxUnavailable {}{scope}: never evictable",
                    show(max)
                ));
            } else if let Some(pod) = bare {
                push(fail_safe("maxUnavailable", max, &pod));
            }
        } else if let Some(min) = pdb.pointer("/spec/minAvailable") {
            let needed = |n: i64| int_or_percent(min, n).unwrap_or(0);
            if percent(min).is_some_and(|p| p >= 100) {
                push(format!(
                    "minAvailable {}{scope}: never evictable",
                    show(min)
                ));
            } else if total > 0 && needed(total) >= total {
                push(format!(
                    "minAvailable {}{scope}: never evictable",
                    of(min, total, needed(total))
                ));
            } else if floor > 0 && floor < total && needed(floor) >= floor {
                push(format!(
                    "minAvailable {} at the HPA's minReplicas{scope}: never evictable once it scales down",
                    of(min, floor, needed(floor))
                ));
            } else if let Some(pod) = bare.filter(|_| percent(min).is_some()) {
                push(fail_safe("minAvailable", min, &pod));
            }
        }
    }
}

/// The owners of the pods the budget selects, or on manifests (no pods) the workloads whose
/// pod template it selects.
fn owners(ctx: &Context<'_>, pdb: &Value) -> BTreeMap<String, Owner> {
    let state = ctx.state;
    let mut found: BTreeMap<String, Owner> = BTreeMap::new();
    let pods: Vec<&Value> = pods_of(pdb, state.list(Resource::Pods))
        .into_iter()
        .filter(|p| !is_finished(p))
        .collect();
    if pods.is_empty() {
        for resource in [Resource::Deployments, Resource::StatefulSets] {
            for w in state.list(resource).iter().filter(|w| {
                namespace(w) == namespace(pdb)
                    && selects(
                        pdb.pointer("/spec/selector"),
                        w.pointer("/spec/template/metadata/labels"),
                    )
            }) {
                let o = workload(ctx, resource.kind(), w);
                found.insert(o.what.clone(), o);
            }
        }
        return found;
    }
    for pod in pods {
        let o = owner_of(ctx, pod);
        match found.get_mut(&o.what) {
            Some(seen) if seen.counted => seen.replicas += 1,
            Some(_) => {}
            None => {
                found.insert(o.what.clone(), o);
            }
        }
    }
    found
}

/// The top-level owner of a pod: `ReplicaSet` → `Deployment`, `StatefulSet`, or the pod.
fn owner_of(ctx: &Context<'_>, pod: &Value) -> Owner {
    let state = ctx.state;
    let ns = namespace(pod);
    let find = |resource: Resource, n: &str| {
        state
            .list(resource)
            .iter()
            .find(|o| namespace(o) == ns && name(o) == n)
    };
    let counted = |kind: &str, n: &str| Owner {
        what: match ns {
            Some(ns) => format!("{kind} {ns}/{n}"),
            None => format!("{kind} {n}"),
        },
        replicas: 1,
        hpa_min: None,
        counted: true,
        bare: false,
    };
    match controller(pod) {
        None => Owner {
            what: format!("bare {}", object_ref("Pod", pod)),
            replicas: 1,
            hpa_min: None,
            counted: false,
            bare: true,
        },
        Some(("ReplicaSet", rs_name)) => match find(Resource::ReplicaSets, rs_name) {
            Some(rs) => match controller(rs) {
                Some(("Deployment", d)) => find(Resource::Deployments, d).map_or_else(
                    || workload(ctx, "ReplicaSet", rs),
                    |dep| workload(ctx, "Deployment", dep),
                ),
                _ => workload(ctx, "ReplicaSet", rs),
            },
            None => counted("ReplicaSet", rs_name),
        },
        Some(("StatefulSet", s)) => find(Resource::StatefulSets, s).map_or_else(
            || counted("StatefulSet", s),
            |o| workload(ctx, "StatefulSet", o),
        ),
        Some((kind, n)) => counted(kind, n),
    }
}

/// A workload object with its `spec.replicas` (1 when unset) and its HPA's `minReplicas`.
fn workload(ctx: &Context<'_>, kind: &str, object: &Value) -> Owner {
    let hpa_min = ctx
        .state
        .list(Resource::HorizontalPodAutoscalers)
        .iter()
        .find(|h| {
            namespace(h) == namespace(object)
                && text(h, "/spec/scaleTargetRef/kind") == Some(kind)
                && text(h, "/spec/scaleTargetRef/name") == Some(name(object))
        })
        .map(|h| {
            h.pointer("/spec/minReplicas")
                .and_then(Value::as_i64)
                .unwrap_or(1)
        });
    Owner {
        what: object_ref(kind, object),
        replicas: object
            .pointer("/spec/replicas")
            .and_then(Value::as_i64)
            .unwrap_or(1),
        hpa_min,
        counted: false,
        bare: false,
    }
}

/// ` (Deployment team-a/web)`, or nothing when the budget covers nothing known.
fn describe(owners: &BTreeMap<String, Owner>) -> String {
    let mut names: Vec<String> = owners
        .values()
        .take(3)
        .map(|o| match o.hpa_min {
            Some(m) if m < o.replicas => format!("{}, HPA minReplicas {m}", o.what),
            _ => o.what.clone(),
        })
        .collect();
    if owners.len() > 3 {
        names.push(format!("and {} more", owners.len() - 3));
    }
    if names.is_empty() {
        String::new()
    } else {
        format!(" ({})", names.join("; "))
    }
}

/// The percentage of an `intOrString` value (`"80%"` → 80).
fn percent(value: &Value) -> Option<i64> {
    value.as_str()?.strip_suffix('%')?.trim().parse().ok()
}

/// The value as written: `2`, `80%`.
fn show(value: &Value) -> String {
    value
        .as_str()
        .map_or_else(|| value.to_string(), str::to_owned)
}

/// `2 of 2 replicas`, or `80% of 1 replica = 1` for a percentage.
fn of(value: &Value, total: i64, needed: i64) -> String {
    let noun = if total == 1 { "replica" } else { "replicas" };
    if percent(value).is_some() {
        format!("{} of {total} {noun} = {needed}", show(value))
    } else {
        format!("{} of {total} {noun}", show(value))
    }
}

/// The message for a scale-based budget that selects a pod without a controller.
fn fail_safe(field: &str, value: &Value, pod: &str) -> String {
    format!(
        "{field} {} is measured against each pod's controller, but it selects {pod}, which has none: the disruption controller allows no evictions",
        show(value)
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::checks::{ClusterState, Context};
    use api_catalog::KubeVersion;
    use serde_json::json;

    use crate::checks::util::recorded_items as fixture;

    fn findings(s: &ClusterState) -> Vec<CheckFinding> {
        let ctx = Context::new(s, KubeVersion::new(1, 29), KubeVersion::new(1, 30));
        let mut out = Vec::new();
        run(&ctx, &mut out);
        out
    }

    fn pdb(spec: &Value) -> Value {
        let mut spec = spec.clone();
        spec["selector"] = json!({"matchLabels": {"app": "web"}});
        json!({"metadata": {"name": "web", "namespace": "a"}, "spec": spec})
    }

    /// A Deployment `a/web` of `replicas` with its `ReplicaSet` and running pods, plus an
    /// optional HPA.
    fn live(budget: &Value, replicas: i64, hpa_min: Option<i64>) -> ClusterState {
        let mut s = ClusterState::new();
        s.set(Resource::PodDisruptionBudgets, vec![pdb(budget)]);
        s.set(
            Resource::Deployments,
            vec![json!({"metadata": {"name": "web", "namespace": "a"},
                "spec": {"replicas": replicas, "template": {"metadata": {"labels": {"app": "web"}}}}})],
        );
        s.set(
            Resource::ReplicaSets,
            vec![json!({"metadata": {"name": "web-1", "namespace": "a",
                "ownerReferences": [{"kind": "Deployment", "name": "web", "controller": true}]},
                "spec": {"replicas": replicas}})],
        );
        s.set(
            Resource::Pods,
            (0..replicas)
                .map(|i| json!({"metadata": {"name": format!("web-1-{i}"), "namespace": "a", "labels": {"app": "web"},
                    "ownerReferences": [{"kind": "ReplicaSet", "name": "web-1", "controller": true}]},
                    "status": {"phase": "Running"}}))
                .collect(),
        );
        s.set(Resource::StatefulSets, vec![]);
        s.set(
            Resource::HorizontalPodAutoscalers,
            hpa_min
                .map(|m| json!({"metadata": {"name": "web", "namespace": "a"},
                    "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "web"}, "minReplicas": m}}))
                .into_iter()
                .collect(),
        );
        s
    }

    #[test]
    fn budgets_that_keep_every_replica_block() {
        let f = findings(&live(&json!({"minAvailable": 2}), 2, None));
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].object, "PodDisruptionBudget a/web");
        assert_eq!(
            f[0].message,
            "minAvailable 2 of 2 replicas (Deployment a/web): never evictable"
        );
        let f = findings(&live(&json!({"minAvailable": "80%"}), 1, None));
        assert_eq!(
            f[0].message,
            "minAvailable 80% of 1 replica = 1 (Deployment a/web): never evictable"
        );
        assert_eq!(
            findings(&live(&json!({"maxUnavailable": "0%"}), 3, None)).len(),
            1
        );
        assert_eq!(
            findings(&live(&json!({"maxUnavailable": 0}), 3, None)).len(),
            1
        );
        assert_eq!(
            findings(&live(&json!({"minAvailable": "100%"}), 3, None)).len(),
            1
        );
    }

    #[test]
    fn budgets_that_leave_room_pass() {
        assert!(findings(&live(&json!({"minAvailable": 2}), 3, None)).is_empty());
        assert!(findings(&live(&json!({"minAvailable": "50%"}), 3, None)).is_empty());
        assert!(findings(&live(&json!({"maxUnavailable": 1}), 3, None)).is_empty());
        assert!(findings(&live(&json!({"maxUnavailable": "10%"}), 3, None)).is_empty());
    }

    #[test]
    fn an_hpa_that_scales_down_to_the_budget_blocks() {
        let f = findings(&live(&json!({"minAvailable": 2}), 4, Some(2)));
        assert_eq!(f.len(), 1);
        assert_eq!(
            f[0].message,
            "minAvailable 2 of 2 replicas at the HPA's minReplicas (Deployment a/web, HPA minReplicas 2): never evictable once it scales down"
        );
        assert!(findings(&live(&json!({"minAvailable": 2}), 4, Some(3))).is_empty());
    }

    #[test]
    fn manifests_are_measured_against_the_workload_spec() {
        let mut s = live(&json!({"minAvailable": 3}), 3, None);
        s.set(Resource::Pods, vec![]);
        s.set(Resource::ReplicaSets, vec![]);
        let f = findings(&s);
        assert_eq!(
            f[0].message,
            "minAvailable 3 of 3 replicas (Deployment a/web): never evictable"
        );
        let mut s = live(&json!({"minAvailable": 1}), 2, None);
        s.set(Resource::Pods, vec![]);
        assert!(findings(&s).is_empty());
    }

    #[test]
    fn a_scale_based_budget_over_a_bare_pod_blocks() {
        let mut s = ClusterState::new();
        s.set(
            Resource::PodDisruptionBudgets,
            vec![pdb(&json!({"maxUnavailable": 1}))],
        );
        s.set(
            Resource::Pods,
            vec![
                json!({"metadata": {"name": "solo", "namespace": "a", "labels": {"app": "web"}}, "status": {"phase": "Running"}}),
                json!({"metadata": {"name": "solo-2", "namespace": "a", "labels": {"app": "web"}}, "status": {"phase": "Running"}}),
            ],
        );
        let f = findings(&s);
        assert_eq!(f.len(), 1);
        assert!(
            f[0].message.contains("bare Pod a/solo, which has none"),
            "{}",
            f[0].message
        );
        // An integer minAvailable counts pods and needs no controller: 1 of 2 leaves room.
        s.set(
            Resource::PodDisruptionBudgets,
            vec![pdb(&json!({"minAvailable": 1}))],
        );
        assert!(findings(&s).is_empty());
    }

    #[test]
    fn recorded_v1_20_cluster() {
        let mut s = ClusterState::new();
        s.set(
            Resource::PodDisruptionBudgets,
            fixture("policy/v1beta1/poddisruptionbudgets.json"),
        );
        s.set(Resource::Pods, fixture("core/v1/pods.json"));
        s.set(Resource::ReplicaSets, fixture("apps/v1/replicasets.json"));
        s.set(Resource::Deployments, fixture("apps/v1/deployments.json"));
        s.set(Resource::StatefulSets, fixture("apps/v1/statefulsets.json"));
        s.set(
            Resource::HorizontalPodAutoscalers,
            fixture("autoscaling/v1/horizontalpodautoscalers.json"),
        );
        let mut f: Vec<(String, String)> = findings(&s)
            .into_iter()
            .map(|f| (f.object, f.message))
            .collect();
        f.sort();
        assert_eq!(
            f,
            [
                (
                    "PodDisruptionBudget legacy-apps/batch-runner".to_owned(),
                    "minAvailable 1 of 1 replica (bare Pod legacy-apps/batch-runner): never evictable".to_owned()
                ),
                (
                    "PodDisruptionBudget team-a/legacy-web-pdb".to_owned(),
                    "minAvailable 2 of 2 replicas (Deployment team-a/legacy-web): never evictable".to_owned()
                ),
                (
                    "PodDisruptionBudget team-b/db-pdb".to_owned(),
                    "minAvailable 3 of 3 replicas (StatefulSet team-b/db): never evictable".to_owned()
                ),
            ]
        );
        // The same budgets read as manifests (no pods, no ReplicaSets) against the workloads'
        // spec.replicas: the bare pod is gone, the two workload budgets still block.
        s.set(Resource::Pods, vec![]);
        s.set(Resource::ReplicaSets, vec![]);
        let mut objects: Vec<String> = findings(&s).into_iter().map(|f| f.object).collect();
        objects.sort();
        assert_eq!(
            objects,
            [
                "PodDisruptionBudget team-a/legacy-web-pdb",
                "PodDisruptionBudget team-b/db-pdb"
            ]
        );
    }
}
