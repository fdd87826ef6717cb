//! DRN007: pods that may take longer to stop than the platforms wait for a drain.

use std::collections::BTreeMap;

use serde_json::Value;

use super::util::{PodGroup, drain_evicts, names, object_ref, owner_of};
use super::{Check, CheckFinding, CodeInfo, Context, Family, Resource, Severity};

pub static CHECK: Check = Check {
    info: CodeInfo {
        code: "DRN007",
        family: Family::Readiness,
        title: "Slow shutdown vs the drain budget",
        severity: Severity::Warning,
        reads: "Pod spec.{terminationGracePeriodSeconds,nodeName,containers[].lifecycle.preStop}, metadata.{ownerReferences,deletionTimestamp}, annotation kubernetes.io/config.mirror, status.phase; Deployment and StatefulSet spec.template.spec.{terminationGracePeriodSeconds,containers[].lifecycle.preStop}; Node metadata.labels (which platform's drain limit to cite, when nodes were read)",
        applies: "every hop that drains or replaces nodes; on manifests every Deployment, StatefulSet and Pod",
        remediation: "Lower terminationGracePeriodSeconds (and the preStop hook or application drain time inside it) below the platform's drain limit, or raise the limit: AKS drainTimeoutInMinutes, kubectl drain --timeout, the pipeline's own timeout; on EKS managed node groups plan a forced update for these nodes.",
        explanation: "Evicting a pod starts its shutdown: the preStop hook runs, then the containers get SIGTERM, and the kubelet kills them once terminationGracePeriodSeconds (30 by default) has passed. kubectl drain waits for every evicted pod to be gone, so a node takes at least as long to drain as its slowest pod may take to stop. Platforms do not wait forever: EKS managed node groups give up on a node after 15 minutes, AKS fails the upgrade after drainTimeoutInMinutes (30 by default) and CI pipelines have their own timeouts. A grace period above 10 minutes, all the more with a preStop hook that uses it, leaves little or no room inside those limits, before counting budgets that release pods one at a time.",
        retired: None,
    },
    needs: &[
        Resource::Pods,
        Resource::Deployments,
        Resource::StatefulSets,
    ],
    offline: true,
    needs_kubectl: false,
    run,
};

/// Grace periods above this many seconds are reported.
const LIMIT_SECONDS: i64 = 600;
/// The grace period when a pod does not set one.
const DEFAULT_GRACE_SECONDS: i64 = 30;
/// How long EKS managed node groups wait for a node's pods to go.
const EKS_MINUTES: i64 = 15;
/// AKS's default `drainTimeoutInMinutes`.
const AKS_MINUTES: i64 = 30;

/// The managed platform whose drain limit applies, as the node labels show it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Platform {
    Eks,
    Aks,
    /// Anything else (kubeadm, other platforms, or no nodes read): no platform limit to cite.
    Other,
}

/// Told from the nodes' labels when they were read (a manifest scan has none): only the
/// platform the cluster runs on has its limit cited.
fn platform(ctx: &Context<'_>) -> Platform {
    let labels = ctx
        .state
        .list(Resource::Nodes)
        .iter()
        .filter_map(|n| n.pointer("/metadata/labels").and_then(Value::as_object))
        .flat_map(|l| l.keys());
    for label in labels {
        if label.starts_with("eks.amazonaws.com/") {
            return Platform::Eks;
        }
        if label.starts_with("kubernetes.azure.com/") {
            return Platform::Aks;
        }
    }
    Platform::Other
}

/// The limit a drain of `minutes` runs into, on `platform`.
fn against(platform: Platform, minutes: i64) -> String {
    match platform {
        Platform::Eks if minutes > EKS_MINUTES => format!(
            "longer than the {EKS_MINUTES} minutes EKS managed node groups wait per node"
        ),
        Platform::Eks => {
            format!("most of the {EKS_MINUTES} minutes EKS managed node groups wait per node")
        }
        Platform::Aks if minutes > AKS_MINUTES => {
            format!("longer than AKS's default drainTimeoutInMinutes of {AKS_MINUTES}")
        }
        Platform::Aks => {
            format!("a large part of AKS's default drainTimeoutInMinutes of {AKS_MINUTES}")
        }
        Platform::Other => "and the drain of its node waits that long: check it against `kubectl drain --timeout` and your pipeline's own timeout".to_owned(),
    }
}

/// The grace period and whether a container has a preStop hook, for a pod spec.
fn shutdown(spec: &Value) -> (i64, bool) {
    let grace = spec
        .get("terminationGracePeriodSeconds")
        .and_then(Value::as_i64)
        .unwrap_or(DEFAULT_GRACE_SECONDS);
    let pre_stop = spec
        .get("containers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .any(|c| c.pointer("/lifecycle/preStop").is_some());
    (grace, pre_stop)
}

/// One workload (or bare pod) that is slow to stop.
#[derive(Default)]
struct Slow<'a> {
    grace: i64,
    pre_stop: bool,
    group: PodGroup<'a>,
}

/// Seconds as minutes, rounded up (`601` → `11 min`).
fn minutes(seconds: i64) -> i64 {
    (seconds + 59) / 60
}

fn run(ctx: &Context<'_>, out: &mut Vec<CheckFinding>) {
    let mut slow: BTreeMap<String, Slow<'_>> = BTreeMap::new();
    for resource in [Resource::Deployments, Resource::StatefulSets] {
        for w in ctx.state.list(resource) {
            let Some(spec) = w.pointer("/spec/template/spec") else {
                continue;
            };
            let (grace, pre_stop) = shutdown(spec);
            if grace > LIMIT_SECONDS {
                slow.insert(
                    object_ref(resource.kind(), w),
                    Slow {
                        grace,
                        pre_stop,
                        ..Slow::default()
                    },
                );
            }
        }
    }
    for pod in ctx.state.list(Resource::Pods) {
        // Only what a drain evicts waits for its grace period during the drain.
        if !drain_evicts(pod) {
            continue;
        }
        let Some(spec) = pod.get("spec") else {
            continue;
        };
        let (grace, pre_stop) = shutdown(spec);
        let owner = owner_of(pod);
        if grace <= LIMIT_SECONDS && !slow.contains_key(&owner) {
            continue;
        }
        let entry = slow.entry(owner).or_default();
        if grace > LIMIT_SECONDS {
            entry.grace = entry.grace.max(grace);
            entry.pre_stop |= pre_stop;
        }
        entry.group.add(pod);
    }
    let platform = platform(ctx);
    for (object, s) in slow {
        let Slow {
            grace,
            pre_stop,
            group,
        } = s;
        let pods = &group.pods;
        let subject = match pods.as_slice() {
            [] => "its pods".to_owned(),
            [pod] => format!("pod {pod}"),
            _ => format!("{} pods ({})", pods.len(), names(pods)),
        };
        let place = group.place();
        let hook = if pre_stop { " with a preStop hook" } else { "" };
        let m = minutes(grace);
        let against = against(platform, m);
        out.push(CheckFinding::new(
            &CHECK,
            Severity::Warning,
            object,
            format!("terminationGracePeriodSeconds {grace}{hook}: {subject}{place} may take up to {m} min to stop once evicted, {against}"),
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

    use crate::checks::util::recorded_items as fixture;

    fn findings(pods: Vec<Value>, deployments: Vec<Value>, sts: Vec<Value>) -> Vec<CheckFinding> {
        findings_on(
            &json!({"eks.amazonaws.com/nodegroup": "ng-1"}),
            pods,
            deployments,
            sts,
        )
    }

    /// On nodes with `labels`.
    fn findings_on(
        labels: &Value,
        pods: Vec<Value>,
        deployments: Vec<Value>,
        sts: Vec<Value>,
    ) -> Vec<CheckFinding> {
        let mut s = ClusterState::new();
        s.set(
            Resource::Nodes,
            vec![json!({"metadata": {"name": "n1", "labels": labels}})],
        );
        s.set(Resource::Pods, pods);
        s.set(Resource::Deployments, deployments);
        s.set(Resource::StatefulSets, sts);
        let ctx = Context::new(&s, KubeVersion::new(1, 29), KubeVersion::new(1, 30));
        let mut out = Vec::new();
        run(&ctx, &mut out);
        out
    }

    fn pod(name: &str, owner: Option<(&str, &str)>, node: &str, grace: Option<i64>) -> Value {
        let refs: Vec<Value> = owner
            .map(|(kind, n)| json!({"kind": kind, "name": n, "controller": true}))
            .into_iter()
            .collect();
        let mut p = json!({"metadata": {"name": name, "namespace": "ml", "ownerReferences": refs},
            "spec": {"nodeName": node, "containers": [{"name": "c"}]}, "status": {"phase": "Running"}});
        if let Some(g) = grace {
            p["spec"]["terminationGracePeriodSeconds"] = json!(g);
        }
        p
    }

    #[test]
    fn long_grace_periods_warn_per_workload() {
        let mut predictor = json!({"metadata": {"name": "predictor", "namespace": "ml"},
            "spec": {"template": {"spec": {"terminationGracePeriodSeconds": 1200,
                "containers": [{"name": "c", "lifecycle": {"preStop": {"exec": {"command": ["sleep", "1100"]}}}}]}}}});
        let f = findings(
            vec![
                pod("worker", None, "n3", Some(3600)),
                pod("short", None, "n3", None),
                pod(
                    "exporter",
                    Some(("DaemonSet", "exporter")),
                    "n3",
                    Some(3600),
                ),
                pod("db-0", Some(("StatefulSet", "db")), "n1", Some(1200)),
            ],
            vec![predictor.clone()],
            vec![],
        );
        let got: Vec<(&str, &str)> = f
            .iter()
            .map(|f| (f.object.as_str(), f.message.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                (
                    "Deployment ml/predictor",
                    "terminationGracePeriodSeconds 1200 with a preStop hook: its pods may take up to 20 min to stop once evicted, longer than the 15 minutes EKS managed node groups wait per node"
                ),
                (
                    "Pod ml/worker",
                    "terminationGracePeriodSeconds 3600: pod worker on n3 may take up to 60 min to stop once evicted, longer than the 15 minutes EKS managed node groups wait per node"
                ),
                (
                    "StatefulSet ml/db",
                    "terminationGracePeriodSeconds 1200: pod db-0 on n1 may take up to 20 min to stop once evicted, longer than the 15 minutes EKS managed node groups wait per node"
                ),
            ]
        );
        // The Deployment's pods join its finding instead of making their own.
        let replica = |n: &str, node: &str| {
            let mut p = pod(n, Some(("ReplicaSet", "predictor-6d5f")), node, Some(1200));
            p["metadata"]["labels"] = json!({"pod-template-hash": "6d5f"});
            p
        };
        let f = findings(
            vec![
                replica("predictor-6d5f-a", "n1"),
                replica("predictor-6d5f-b", "n2"),
            ],
            vec![predictor.clone()],
            vec![],
        );
        assert_eq!(f.len(), 1);
        assert!(f[0].message.contains(
            "with a preStop hook: 2 pods (predictor-6d5f-a, predictor-6d5f-b) on n1, n2 may take up to 20 min"
        ));
        // Ten minutes or less passes.
        predictor["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] = json!(600);
        assert!(
            findings(
                vec![pod("a", None, "n1", Some(600))],
                vec![predictor],
                vec![]
            )
            .is_empty()
        );
    }

    #[test]
    fn eleven_minutes_uses_most_of_the_eks_limit() {
        let f = findings(vec![pod("a", None, "n1", Some(660))], vec![], vec![]);
        assert_eq!(f.len(), 1);
        assert!(f[0].message.ends_with("may take up to 11 min to stop once evicted, most of the 15 minutes EKS managed node groups wait per node"));
    }

    #[test]
    fn recorded_cluster() {
        // Every recorded pod and template keeps the default 30 seconds.
        let f = findings(
            fixture("core/v1/pods.json"),
            fixture("apps/v1/deployments.json"),
            fixture("apps/v1/statefulsets.json"),
        );
        assert!(f.is_empty(), "{f:?}");
    }

    #[test]
    fn only_the_platform_the_nodes_show_is_cited() {
        let pods = || vec![pod("a", None, "n1", Some(3600))];
        let aks = findings_on(
            &json!({"kubernetes.azure.com/agentpool": "np1"}),
            pods(),
            vec![],
            vec![],
        );
        assert!(
            aks[0]
                .message
                .ends_with("longer than AKS's default drainTimeoutInMinutes of 30"),
            "{}",
            aks[0].message
        );
        // A kubeadm cluster (or none read): no provider's limit, the generic advice.
        let kubeadm = findings_on(
            &json!({"node-role.kubernetes.io/control-plane": ""}),
            pods(),
            vec![],
            vec![],
        );
        let m = &kubeadm[0].message;
        assert!(!m.contains("EKS") && !m.contains("AKS"), "{m}");
        assert!(m.ends_with("and the drain of its node waits that long: check it against `kubectl drain --timeout` and your pipeline's own timeout"), "{m}");
    }
}
