//! WL002: multi-replica workloads without a `PodDisruptionBudget`, and budgets that guard
//! nothing.

use serde_json::Value;

use super::util::{namespace, object_ref, selects};
use super::{Check, CheckFinding, CodeInfo, Context, Family, Resource, Severity};

pub static CHECK: Check = Check {
    info: CodeInfo {
        code: "WL002",
        family: Family::Readiness,
        title: "Missing or empty PodDisruptionBudgets",
        severity: Severity::Info,
        reads: "Deployment and StatefulSet spec.{replicas,template.metadata.labels}; PodDisruptionBudget spec.{selector,minAvailable,maxUnavailable}; Pod metadata.labels",
        applies: "every hop that drains or replaces nodes; on manifests too (pods matched through workload templates)",
        remediation: "Add a PodDisruptionBudget with maxUnavailable: 1 to each workload of 2 or more replicas; give empty budgets a minAvailable or maxUnavailable, and fix or delete budgets whose selector matches nothing.",
        explanation: "Without a PodDisruptionBudget a drain may evict every replica of a workload at once when they share a node, or in quick succession across nodes, so a workload that is redundant on paper goes down during the roll. A budget with neither minAvailable nor maxUnavailable protects nothing, and one whose selector matches no pod usually outlived a relabelled workload: both give a false sense of safety.",
        retired: None,
    },
    needs: &[
        Resource::PodDisruptionBudgets,
        Resource::Deployments,
        Resource::StatefulSets,
        Resource::Pods,
    ],
    offline: true,
    needs_kubectl: false,
    uses: &[],
    run,
};

fn run(ctx: &Context<'_>, out: &mut Vec<CheckFinding>) {
    let pdbs = ctx.state.list(Resource::PodDisruptionBudgets);
    let pods = ctx.state.list(Resource::Pods);
    let workloads: Vec<(Resource, &Value)> = [Resource::Deployments, Resource::StatefulSets]
        .into_iter()
        .flat_map(|r| ctx.state.list(r).iter().map(move |w| (r, w)))
        .collect();
    let selects_labels = |pdb: &Value, ns: Option<&str>, labels: Option<&Value>| {
        namespace(pdb) == ns && selects(pdb.pointer("/spec/selector"), labels)
    };
    for (resource, w) in &workloads {
        let replicas = w
            .pointer("/spec/replicas")
            .and_then(Value::as_i64)
            .unwrap_or(1);
        if replicas < 2 {
            continue;
        }
        let labels = w.pointer("/spec/template/metadata/labels");
        if !pdbs.iter().any(|p| selects_labels(p, namespace(w), labels)) {
            out.push(CheckFinding::new(
                &CHECK,
                Severity::Info,
                object_ref(resource.kind(), w),
                format!("{replicas} replicas and no PodDisruptionBudget: a drain may take them all at once; add one with maxUnavailable: 1"),
            ));
        }
    }
    for pdb in pdbs {
        let spec = pdb.get("spec");
        let set = |k: &str| spec.and_then(|s| s.get(k)).is_some_and(|v| !v.is_null());
        let object = object_ref("PodDisruptionBudget", pdb);
        if !set("minAvailable") && !set("maxUnavailable") {
            out.push(CheckFinding::new(
                &CHECK,
                Severity::Info,
                object,
                "sets neither minAvailable nor maxUnavailable: it protects nothing",
            ));
            continue;
        }
        let matches_pod = pods
            .iter()
            .any(|p| selects_labels(pdb, namespace(p), p.pointer("/metadata/labels")));
        let matches_template = workloads.iter().any(|(_, w)| {
            selects_labels(
                pdb,
                namespace(w),
                w.pointer("/spec/template/metadata/labels"),
            )
        });
        if !matches_pod && !matches_template {
            out.push(CheckFinding::new(
                &CHECK,
                Severity::Info,
                object,
                "its selector matches no pod and no workload template: it guards nothing (a relabelled or deleted workload?)",
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::ClusterState;
    use api_catalog::KubeVersion;
    use serde_json::json;

    #[test]
    fn missing_empty_and_unmatched_budgets() {
        let dep = |name: &str, replicas: i64| {
            json!({"metadata": {"name": name, "namespace": "shop"},
                "spec": {"replicas": replicas, "template": {"metadata": {"labels": {"app": name}}}}})
        };
        let pdb = |name: &str, app: &str, spec: Value| {
            let mut p = json!({"metadata": {"name": name, "namespace": "shop"},
                "spec": {"selector": {"matchLabels": {"app": app}}}});
            for (k, v) in spec.as_object().unwrap() {
                p["spec"][k] = v.clone();
            }
            p
        };
        let mut s = ClusterState::new();
        s.set(
            Resource::Deployments,
            vec![dep("api", 3), dep("cart", 2), dep("admin", 1)],
        );
        s.set(Resource::StatefulSets, vec![]);
        s.set(Resource::Pods, vec![]);
        s.set(
            Resource::PodDisruptionBudgets,
            vec![
                pdb("cart", "cart", json!({"maxUnavailable": 1})),
                pdb("empty", "admin", json!({})),
                pdb("stale", "old-api", json!({"minAvailable": 1})),
            ],
        );
        let ctx = Context::new(&s, KubeVersion::new(1, 29), KubeVersion::new(1, 30));
        let mut out = Vec::new();
        run(&ctx, &mut out);
        let got: Vec<&str> = out.iter().map(|f| f.object.as_str()).collect();
        assert_eq!(
            got,
            [
                "Deployment shop/api",
                "PodDisruptionBudget shop/empty",
                "PodDisruptionBudget shop/stale"
            ]
        );
    }
}
