//! WL001: Deployments and `StatefulSets` that run a single replica.

use serde_json::Value;

use super::util::{name, namespace, object_ref, text};
use super::{Check, CheckFinding, CodeInfo, Context, Family, Resource, Severity};

/// Fewer replicas than this are down while the node of one of them drains.
const THRESHOLD: i64 = 2;

pub static CHECK: Check = Check {
    info: CodeInfo {
        code: "WL001",
        family: Family::Readiness,
        title: "Single-replica workloads",
        severity: Severity::Warning,
        reads: "Deployment and StatefulSet spec.replicas; HorizontalPodAutoscaler spec.{scaleTargetRef,minReplicas}",
        applies: "every hop that drains or replaces nodes; on manifests too (spec.replicas defaults to 1)",
        remediation: "Run at least 2 replicas (raise the HPA's minReplicas) spread over nodes, with a PodDisruptionBudget that allows one eviction; or book the downtime.",
        explanation: "A workload with one replica has nothing serving while that replica moves: the drain evicts it, and it only comes back once a replacement is scheduled, its image pulled and its readiness probe passing on another node. Every node the upgrade drains can cause such a gap, and a StatefulSet's pod also waits for its volume to detach and attach. An HPA whose minReplicas is 1 lets the workload shrink to that state at any time. Workloads scaled to 0 are left out.",
        retired: None,
    },
    needs: &[
        Resource::Deployments,
        Resource::StatefulSets,
        Resource::HorizontalPodAutoscalers,
    ],
    offline: true,
    needs_kubectl: false,
    uses: &[],
    run,
};

fn run(ctx: &Context<'_>, out: &mut Vec<CheckFinding>) {
    let hpas = ctx.state.list(Resource::HorizontalPodAutoscalers);
    for resource in [Resource::Deployments, Resource::StatefulSets] {
        let kind = resource.kind();
        for w in ctx.state.list(resource) {
            let replicas = w
                .pointer("/spec/replicas")
                .and_then(Value::as_i64)
                .unwrap_or(1);
            if replicas == 0 {
                continue;
            }
            let hpa = hpas.iter().find(|h| {
                namespace(h) == namespace(w)
                    && text(h, "/spec/scaleTargetRef/kind") == Some(kind)
                    && text(h, "/spec/scaleTargetRef/name") == Some(name(w))
            });
            let message = match hpa {
                Some(h) => {
                    let min = h
                        .pointer("/spec/minReplicas")
                        .and_then(Value::as_i64)
                        .unwrap_or(1);
                    (min < THRESHOLD).then(|| {
                        format!(
                            "{} has minReplicas {min}: scaled down to {}, it is down while its node drains",
                            object_ref("HorizontalPodAutoscaler", h),
                            noun(min)
                        )
                    })
                }
                None => (replicas < THRESHOLD)
                    .then(|| format!("has {}: down while its node drains", noun(replicas))),
            };
            if let Some(message) = message {
                out.push(CheckFinding::new(
                    &CHECK,
                    Severity::Warning,
                    object_ref(kind, w),
                    message,
                ));
            }
        }
    }
}

/// `1 replica`, `0 replicas`.
fn noun(n: i64) -> String {
    if n == 1 {
        "1 replica".to_owned()
    } else {
        format!("{n} replicas")
    }
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

    fn state(deployments: Vec<Value>, statefulsets: Vec<Value>, hpas: Vec<Value>) -> ClusterState {
        let mut s = ClusterState::new();
        s.set(Resource::Deployments, deployments);
        s.set(Resource::StatefulSets, statefulsets);
        s.set(Resource::HorizontalPodAutoscalers, hpas);
        s
    }

    fn workload(name: &str, replicas: Option<i64>) -> Value {
        let mut w = json!({"metadata": {"name": name, "namespace": "a"}, "spec": {}});
        if let Some(r) = replicas {
            w["spec"]["replicas"] = json!(r);
        }
        w
    }

    #[test]
    fn single_replicas_and_low_hpa_floors_warn() {
        let f = findings(&state(
            vec![workload("keycloak", None), workload("web", Some(4))],
            vec![workload("pg", Some(1))],
            vec![json!({"metadata": {"name": "web", "namespace": "a"},
                "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "web"}, "minReplicas": 1}})],
        ));
        let f: Vec<(&str, &str)> = f
            .iter()
            .map(|f| (f.object.as_str(), f.message.as_str()))
            .collect();
        assert_eq!(
            f,
            [
                (
                    "Deployment a/keycloak",
                    "has 1 replica: down while its node drains"
                ),
                (
                    "Deployment a/web",
                    "HorizontalPodAutoscaler a/web has minReplicas 1: scaled down to 1 replica, it is down while its node drains"
                ),
                (
                    "StatefulSet a/pg",
                    "has 1 replica: down while its node drains"
                ),
            ]
        );
    }

    #[test]
    fn replicated_and_scaled_to_zero_workloads_pass() {
        let f = findings(&state(
            vec![
                workload("web", Some(3)),
                workload("off", Some(0)),
                workload("auto", Some(1)),
            ],
            vec![workload("pg", Some(2))],
            vec![json!({"metadata": {"name": "auto", "namespace": "a"},
                "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "auto"}, "minReplicas": 2}})],
        ));
        assert!(f.is_empty(), "{f:?}");
    }

    #[test]
    fn recorded_v1_20_cluster() {
        let mut s = state(
            fixture("apps/v1/deployments.json"),
            fixture("apps/v1/statefulsets.json"),
            fixture("autoscaling/v1/horizontalpodautoscalers.json"),
        );
        // frontend (3, HPA min 2), legacy-web (2, HPA min 2), api (3, HPA min 3), db (3).
        assert!(findings(&s).is_empty());
        // Without the HPAs the spec.replicas decide, and every workload has at least 2.
        s.set(Resource::HorizontalPodAutoscalers, vec![]);
        assert!(findings(&s).is_empty());
        // The HPA read through autoscaling/v2beta2 names the same targets.
        s.set(
            Resource::HorizontalPodAutoscalers,
            fixture("autoscaling/v2beta2/horizontalpodautoscalers.json"),
        );
        assert!(findings(&s).is_empty());
    }
}
