//! WL004: replicas that count as ready before they serve. Kept to workloads where readiness
//! gates something during a roll, so it is not a lint over every container.

use serde_json::Value;

use super::util::{name, namespace, object_ref, selects};
use super::{Check, CheckFinding, CodeInfo, Context, Family, Resource, Severity};

pub static CHECK: Check = Check {
    info: CodeInfo {
        code: "WL004",
        family: Family::Readiness,
        title: "Readiness gating of replicas behind a PDB or Service",
        severity: Severity::Info,
        reads: "Deployment and StatefulSet spec.{replicas,minReadySeconds}, spec.template.metadata.labels, spec.template.spec.containers[].{name,readinessProbe}; PodDisruptionBudget spec.selector; Service spec.selector",
        applies: "every hop that drains or replaces nodes, to multi-replica Deployments and StatefulSets behind a PodDisruptionBudget or Service (minReadySeconds: StatefulSets with a PodDisruptionBudget); on manifests too",
        remediation: "Give each serving container a readinessProbe that fails until it can take traffic (not just a TCP port that opens early), and set spec.minReadySeconds on StatefulSets whose members need time to catch up after a restart.",
        explanation: "A pod without a readinessProbe is Ready as soon as its containers start. During a drain, the PodDisruptionBudget counts Ready pods, so it lets the next eviction through while the replacement is still loading, and the Service sends it traffic that it fails. A drain is only as careful as the readiness it sees. WL004 looks only at workloads where this matters during the roll: two or more replicas and something that relies on their readiness (a PodDisruptionBudget or a Service selecting them); single replicas are WL001's. For StatefulSets with a PodDisruptionBudget it also names a minReadySeconds of 0: the StatefulSet controller then restarts the next member as soon as the previous one is Ready, with no time to resynchronise. minReadySeconds does not change what the PodDisruptionBudget counts (it counts Ready pods), so the probe is what protects the drain itself.",
        retired: None,
    },
    needs: &[
        Resource::Deployments,
        Resource::StatefulSets,
        Resource::PodDisruptionBudgets,
        Resource::Services,
    ],
    offline: true,
    needs_kubectl: false,
    uses: &[],
    run,
};

/// What relies on a workload's readiness: its PDB and the Services selecting its pods.
fn gates<'a>(ctx: &'a Context<'_>, w: &Value) -> (Vec<&'a str>, Vec<&'a str>) {
    let ns = namespace(w);
    let labels = w.pointer("/spec/template/metadata/labels");
    let pdbs = ctx
        .state
        .list(Resource::PodDisruptionBudgets)
        .iter()
        .filter(|p| namespace(p) == ns && selects(p.pointer("/spec/selector"), labels))
        .map(name)
        .collect();
    let services = ctx
        .state
        .list(Resource::Services)
        .iter()
        .filter(|s| namespace(s) == ns)
        .filter(|s| {
            // A Service without a selector has its endpoints managed by hand.
            s.pointer("/spec/selector")
                .and_then(Value::as_object)
                .is_some_and(|m| !m.is_empty())
                && selects(
                    Some(&serde_json::json!({"matchLabels": s.pointer("/spec/selector")})),
                    labels,
                )
        })
        .map(name)
        .collect();
    (pdbs, services)
}

/// The template's containers without a readiness probe (init containers do not serve).
fn without_probe(w: &Value) -> Vec<&str> {
    w.pointer("/spec/template/spec/containers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|c| c.get("readinessProbe").is_none_or(Value::is_null))
        .map(|c| c.get("name").and_then(Value::as_str).unwrap_or("?"))
        .collect()
}

fn run(ctx: &Context<'_>, out: &mut Vec<CheckFinding>) {
    for resource in [Resource::Deployments, Resource::StatefulSets] {
        for w in ctx.state.list(resource) {
            let replicas = w
                .pointer("/spec/replicas")
                .and_then(Value::as_i64)
                .unwrap_or(1);
            if replicas < 1 {
                continue;
            }
            let (pdbs, services) = gates(ctx, w);
            let mut why = Vec::new();
            let missing = without_probe(w);
            if replicas >= 2 && !missing.is_empty() && !(pdbs.is_empty() && services.is_empty()) {
                let mut behind = Vec::new();
                if !pdbs.is_empty() {
                    behind.push(format!("PodDisruptionBudget {}", pdbs.join(", ")));
                }
                if !services.is_empty() {
                    behind.push(format!("Service {}", services.join(", ")));
                }
                why.push(format!(
                    "container {} has no readinessProbe though {replicas} replicas sit behind {}: each pod is Ready as soon as it starts, so drains move on and traffic arrives before it serves",
                    missing.join(", "),
                    behind.join(" and ")
                ));
            }
            let min_ready = w
                .pointer("/spec/minReadySeconds")
                .and_then(Value::as_i64)
                .unwrap_or(0);
            if resource == Resource::StatefulSets && min_ready == 0 && !pdbs.is_empty() {
                why.push(format!(
                    "minReadySeconds is {} with PodDisruptionBudget {}: its rolling restarts move to the next member as soon as one is Ready",
                    if w.pointer("/spec/minReadySeconds").is_some() { "0" } else { "unset" },
                    pdbs.join(", ")
                ));
            }
            if !why.is_empty() {
                out.push(CheckFinding::new(
                    &CHECK,
                    Severity::Info,
                    object_ref(resource.kind(), w),
                    why.join("; "),
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

    fn workload(name: &str, replicas: i64, probe: bool) -> Value {
        let mut c = json!({"name": "app", "image": "i:1"});
        if probe {
            c["readinessProbe"] = json!({"httpGet": {"path": "/ready", "port": 8080}});
        }
        json!({"metadata": {"name": name, "namespace": "a"},
            "spec": {"replicas": replicas,
                "template": {"metadata": {"labels": {"app": name, "tier": "x"}},
                    "spec": {"initContainers": [{"name": "init", "image": "i:1"}], "containers": [c]}}}})
    }

    fn pdb(selects: &str) -> Value {
        json!({"metadata": {"name": format!("{selects}-pdb"), "namespace": "a"},
            "spec": {"maxUnavailable": 1, "selector": {"matchLabels": {"app": selects}}}})
    }

    fn service(selects: &str) -> Value {
        json!({"metadata": {"name": selects, "namespace": "a"}, "spec": {"selector": {"app": selects}}})
    }

    fn findings(
        deployments: Vec<Value>,
        statefulsets: Vec<Value>,
        pdbs: Vec<Value>,
        services: Vec<Value>,
    ) -> Vec<CheckFinding> {
        let mut s = ClusterState::new();
        s.set(Resource::Deployments, deployments);
        s.set(Resource::StatefulSets, statefulsets);
        s.set(Resource::PodDisruptionBudgets, pdbs);
        s.set(Resource::Services, services);
        let ctx = Context::new(&s, KubeVersion::new(1, 30), KubeVersion::new(1, 31));
        let mut out = Vec::new();
        run(&ctx, &mut out);
        out
    }

    #[test]
    fn probes_missing_behind_a_pdb_or_service() {
        let f = findings(
            vec![
                workload("web", 3, false),
                workload("probed", 3, true),
                workload("single", 1, false),
                workload("alone", 3, false),
            ],
            vec![],
            vec![pdb("web"), pdb("probed"), pdb("single")],
            vec![service("web"), service("probed")],
        );
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].object, "Deployment a/web");
        assert_eq!(
            f[0].message,
            "container app has no readinessProbe though 3 replicas sit behind PodDisruptionBudget web-pdb and Service web: each pod is Ready as soon as it starts, so drains move on and traffic arrives before it serves"
        );
        // A Service alone is enough; one without a selector selects nothing.
        let f = findings(
            vec![workload("web", 2, false)],
            vec![],
            vec![],
            vec![service("web")],
        );
        assert_eq!(f.len(), 1);
        let manual = json!({"metadata": {"name": "web", "namespace": "a"}, "spec": {}});
        assert!(
            findings(
                vec![workload("web", 2, false)],
                vec![],
                vec![],
                vec![manual]
            )
            .is_empty()
        );
    }

    #[test]
    fn statefulsets_with_a_pdb_and_no_min_ready_seconds() {
        let mut set = workload("db", 3, true);
        let f = findings(vec![], vec![set.clone()], vec![pdb("db")], vec![]);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].object, "StatefulSet a/db");
        assert!(
            f[0].message
                .starts_with("minReadySeconds is unset with PodDisruptionBudget db-pdb")
        );
        set["spec"]["minReadySeconds"] = json!(10);
        assert!(findings(vec![], vec![set.clone()], vec![pdb("db")], vec![]).is_empty());
        // Without a PDB nothing relies on it.
        set["spec"]["minReadySeconds"] = json!(0);
        assert!(findings(vec![], vec![set.clone()], vec![], vec![]).is_empty());
        // A Deployment's minReadySeconds is not judged.
        assert!(
            findings(
                vec![workload("db", 3, true)],
                vec![],
                vec![pdb("db")],
                vec![]
            )
            .is_empty()
        );
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
        s.set(
            Resource::PodDisruptionBudgets,
            recorded_items("policy/v1beta1/poddisruptionbudgets.json"),
        );
        s.set(Resource::Services, recorded_items("core/v1/services.json"));
        let ctx = Context::new(&s, KubeVersion::new(1, 20), KubeVersion::new(1, 21));
        let mut out = Vec::new();
        run(&ctx, &mut out);
        let objects: Vec<&str> = out.iter().map(|f| f.object.as_str()).collect();
        // No recorded container has a readiness probe; every multi-replica workload is behind
        // a Service, and db also has a PDB.
        assert_eq!(
            objects,
            [
                "Deployment default/frontend",
                "Deployment team-a/legacy-web",
                "Deployment team-b/api",
                "StatefulSet team-b/db"
            ]
        );
        assert!(out[3].message.contains("minReadySeconds is unset"));
    }
}
