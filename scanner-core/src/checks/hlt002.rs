//! HLT002: pods and workloads that are not healthy before the upgrade starts.

use serde_json::Value;

use super::util::{condition, is_finished, namespace, object_ref, pod_ready, text};
use super::{Check, CheckFinding, CodeInfo, Context, Family, Resource, Severity};

pub static CHECK: Check = Check {
    info: CodeInfo {
        code: "HLT002",
        family: Family::Readiness,
        title: "Workload health before you start",
        severity: Severity::Blocker,
        reads: "Pod status.{phase,conditions,containerStatuses[].{ready,restartCount,state.waiting.reason}}; Deployment spec.replicas, status.{availableReplicas,unavailableReplicas}; StatefulSet spec.replicas, status.readyReplicas; DaemonSet status.{numberUnavailable,desiredNumberScheduled}",
        applies: "before the first hop and after each hop",
        remediation: "Fix the failing pods and workloads first (kube-system before anything else), or record them as an accepted baseline so they are not mistaken for damage done by the upgrade.",
        explanation: "Pods that crash, cannot pull their image, cannot start or cannot be scheduled before the upgrade will still be broken after it, but they will be hard to tell apart from what the upgrade broke. They also weaken the drain: a workload with replicas already unavailable has no room left under its disruption budget, and a crash-looping pod moved to a new node only fails again. In kube-system the failing pod is usually DNS, the network, storage or the proxy that every workload relies on, and it will not recover on its own when the nodes are replaced.",
        retired: None,
    },
    needs: &[
        Resource::Pods,
        Resource::Deployments,
        Resource::StatefulSets,
        Resource::DaemonSets,
    ],
    offline: false,
    needs_kubectl: false,
    uses: &[],
    run,
};

/// Waiting reasons that mean a container will not start without a fix.
const BAD_WAITING: [&str; 4] = [
    "CrashLoopBackOff",
    "ImagePullBackOff",
    "ErrImagePull",
    "CreateContainerConfigError",
];

/// The severity for an object in `ns`: kube-system holds the add-ons everything relies on.
fn severity_in(ns: Option<&str>) -> Severity {
    if ns == Some("kube-system") {
        Severity::Blocker
    } else {
        Severity::Warning
    }
}

/// What is wrong with a pod, if anything.
fn pod_problems(pod: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    for list in ["initContainerStatuses", "containerStatuses"] {
        let Some(statuses) = pod
            .pointer(&format!("/status/{list}"))
            .and_then(Value::as_array)
        else {
            continue;
        };
        for c in statuses {
            let Some(reason) = text(c, "/state/waiting/reason").filter(|r| BAD_WAITING.contains(r))
            else {
                continue;
            };
            let container = c.get("name").and_then(Value::as_str).unwrap_or("?");
            let restarts = c.get("restartCount").and_then(Value::as_i64).unwrap_or(0);
            problems.push(format!(
                "container {container} is waiting in {reason} ({restarts} restarts)"
            ));
        }
    }
    match text(pod, "/status/phase") {
        Some("Pending") if condition(pod, "PodScheduled") == Some("False") => {
            let why = pod
                .pointer("/status/conditions")
                .and_then(Value::as_array)
                .and_then(|cs| {
                    cs.iter()
                        .find(|c| c.get("type").and_then(Value::as_str) == Some("PodScheduled"))
                })
                .and_then(|c| c.get("reason").and_then(Value::as_str))
                .unwrap_or("not scheduled");
            problems.push(format!("Pending and not scheduled ({why})"));
        }
        // Scheduled but not started: the kubelet cannot set the pod up (a volume that does not
        // mount, a missing Secret, a sandbox the runtime cannot create), so it waits in
        // ContainerCreating or PodInitializing without a reason listed above. The check has no
        // clock, so like the other states it is reported whenever it is seen.
        Some("Pending") if problems.is_empty() && scheduled(pod) => {
            let waiting = waiting_reasons(pod);
            let node = text(pod, "/spec/nodeName").map_or_else(String::new, |n| format!(" on {n}"));
            problems.push(if waiting.is_empty() {
                format!("Pending: scheduled{node} but not started")
            } else {
                format!(
                    "Pending: scheduled{node} but not started ({})",
                    waiting.join(", ")
                )
            });
        }
        Some("Running") if !pod_ready(pod) => problems.push("Running but not Ready".to_owned()),
        _ => {}
    }
    problems
}

/// Whether the scheduler placed the pod (a bound pod has a node; the condition says so too).
fn scheduled(pod: &Value) -> bool {
    condition(pod, "PodScheduled") == Some("True") || text(pod, "/spec/nodeName").is_some()
}

/// `container X is waiting in Reason` for every container that waits.
fn waiting_reasons(pod: &Value) -> Vec<String> {
    ["initContainerStatuses", "containerStatuses"]
        .iter()
        .filter_map(|list| {
            pod.pointer(&format!("/status/{list}"))
                .and_then(Value::as_array)
        })
        .flatten()
        .filter_map(|c| {
            let reason = text(c, "/state/waiting/reason")?;
            let container = c.get("name").and_then(Value::as_str).unwrap_or("?");
            Some(format!("container {container} is waiting in {reason}"))
        })
        .collect()
}

fn int(v: &Value, pointer: &str) -> Option<i64> {
    v.pointer(pointer).and_then(Value::as_i64)
}

fn run(ctx: &Context<'_>, out: &mut Vec<CheckFinding>) {
    for pod in ctx.state.list(Resource::Pods) {
        if is_finished(pod) || pod.pointer("/metadata/deletionTimestamp").is_some() {
            continue;
        }
        let problems = pod_problems(pod);
        if problems.is_empty() {
            continue;
        }
        out.push(CheckFinding::new(
            &CHECK,
            severity_in(namespace(pod)),
            object_ref("Pod", pod),
            format!(
                "{}: fix it before the upgrade or record it as accepted, or it will be mistaken for upgrade damage",
                problems.join("; ")
            ),
        ));
    }
    for d in ctx.state.list(Resource::Deployments) {
        if d.get("status").is_none() {
            continue;
        }
        let wanted = int(d, "/spec/replicas").unwrap_or(1);
        let available = int(d, "/status/availableReplicas").unwrap_or(0);
        let unavailable = int(d, "/status/unavailableReplicas").unwrap_or(0);
        if unavailable > 0 || available < wanted {
            out.push(CheckFinding::new(
                &CHECK,
                severity_in(namespace(d)),
                object_ref("Deployment", d),
                format!("{available} of {wanted} replicas available ({unavailable} unavailable): a drain has no spare replica to lose"),
            ));
        }
    }
    for s in ctx.state.list(Resource::StatefulSets) {
        if s.get("status").is_none() {
            continue;
        }
        let wanted = int(s, "/spec/replicas").unwrap_or(1);
        let ready = int(s, "/status/readyReplicas").unwrap_or(0);
        if ready < wanted {
            out.push(CheckFinding::new(
                &CHECK,
                severity_in(namespace(s)),
                object_ref("StatefulSet", s),
                format!("{ready} of {wanted} replicas ready: a drain has no spare replica to lose"),
            ));
        }
    }
    for ds in ctx.state.list(Resource::DaemonSets) {
        let unavailable = int(ds, "/status/numberUnavailable").unwrap_or(0);
        if unavailable > 0 {
            let desired = int(ds, "/status/desiredNumberScheduled").unwrap_or(0);
            out.push(CheckFinding::new(
                &CHECK,
                severity_in(namespace(ds)),
                object_ref("DaemonSet", ds),
                format!("{unavailable} of {desired} scheduled pods unavailable: the nodes they run on lack this service now"),
            ));
        }
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

    fn findings(
        pods: Vec<Value>,
        deployments: Vec<Value>,
        sts: Vec<Value>,
        ds: Vec<Value>,
    ) -> Vec<CheckFinding> {
        let mut s = ClusterState::new();
        s.set(Resource::Pods, pods);
        s.set(Resource::Deployments, deployments);
        s.set(Resource::StatefulSets, sts);
        s.set(Resource::DaemonSets, ds);
        let ctx = Context::new(&s, KubeVersion::new(1, 20), KubeVersion::new(1, 22));
        let mut out = Vec::new();
        run(&ctx, &mut out);
        out.sort();
        out
    }

    fn pod(ns: &str, name: &str, phase: &str, ready: &str, waiting: Option<&str>) -> Value {
        let state = match waiting {
            Some(r) => json!({"waiting": {"reason": r}}),
            None => json!({"running": {}}),
        };
        json!({"metadata": {"name": name, "namespace": ns},
            "status": {"phase": phase, "conditions": [{"type": "Ready", "status": ready}],
                "containerStatuses": [{"name": "c", "ready": ready == "True", "restartCount": 4, "state": state}]}})
    }

    #[test]
    fn healthy_pods_and_workloads_pass() {
        let f = findings(
            vec![
                pod("a", "ok", "Running", "True", None),
                pod("a", "done", "Succeeded", "False", None),
            ],
            vec![
                json!({"metadata": {"name": "web", "namespace": "a"}, "spec": {"replicas": 2},
                "status": {"availableReplicas": 2}}),
            ],
            vec![
                json!({"metadata": {"name": "db", "namespace": "a"}, "spec": {"replicas": 3},
                "status": {"readyReplicas": 3}}),
            ],
            vec![
                json!({"metadata": {"name": "agent", "namespace": "a"}, "status": {"numberUnavailable": 0}}),
            ],
        );
        assert!(f.is_empty(), "{f:?}");
    }

    #[test]
    fn broken_pods_warn_and_kube_system_blocks() {
        let f = findings(
            vec![
                pod(
                    "kube-system",
                    "coredns-1",
                    "Running",
                    "False",
                    Some("ImagePullBackOff"),
                ),
                pod("a", "web-1", "Running", "False", None),
            ],
            vec![],
            vec![
                json!({"metadata": {"name": "db", "namespace": "a"}, "spec": {"replicas": 3},
                "status": {"readyReplicas": 2}}),
            ],
            vec![],
        );
        let got: Vec<(&str, Severity)> =
            f.iter().map(|f| (f.object.as_str(), f.severity)).collect();
        assert_eq!(
            got,
            [
                ("Pod kube-system/coredns-1", Severity::Blocker),
                ("Pod a/web-1", Severity::Warning),
                ("StatefulSet a/db", Severity::Warning),
            ]
        );
        assert!(f[0].message.starts_with(
            "container c is waiting in ImagePullBackOff (4 restarts); Running but not Ready"
        ));
    }

    #[test]
    fn recorded_cluster() {
        let f = findings(
            fixture("core/v1/pods.json"),
            fixture("apps/v1/deployments.json"),
            fixture("apps/v1/statefulsets.json"),
            fixture("apps/v1/daemonsets.json"),
        );
        let got: Vec<(&str, Severity)> =
            f.iter().map(|f| (f.object.as_str(), f.severity)).collect();
        assert_eq!(
            got,
            [
                ("DaemonSet monitoring/node-exporter", Severity::Warning),
                ("Deployment team-b/api", Severity::Warning),
                ("Pod default/pending-pod", Severity::Warning),
                ("Pod team-b/api-5f7c8d9b4c-hz6dc", Severity::Warning),
            ]
        );
        assert!(
            f[0].message
                .starts_with("1 of 4 scheduled pods unavailable")
        );
        assert!(
            f[1].message
                .starts_with("2 of 3 replicas available (1 unavailable)")
        );
        assert!(
            f[2].message
                .starts_with("Pending and not scheduled (Unschedulable)")
        );
        assert!(f[3].message.starts_with(
            "container api is waiting in CrashLoopBackOff (23 restarts); Running but not Ready"
        ));
    }

    #[test]
    fn a_scheduled_pod_that_never_starts_is_reported() {
        use crate::checks::util::recorded_items_at;
        let f = findings(
            recorded_items_at("v1.34", "core/v1/pods.json"),
            vec![],
            vec![],
            vec![],
        );
        let git_sync: Vec<&CheckFinding> = f
            .iter()
            .filter(|f| f.object == "Pod legacy/git-sync-legacy")
            .collect();
        assert_eq!(git_sync.len(), 1, "{f:?}");
        assert_eq!(git_sync[0].severity, Severity::Warning);
        assert!(
            git_sync[0].message.starts_with(
                "Pending: scheduled on pool-a-2 but not started (container web is waiting in ContainerCreating)"
            ),
            "{}",
            git_sync[0].message
        );
        // Not yet scheduled stays its own case.
        let mut unscheduled = pod("a", "p", "Pending", "False", Some("ContainerCreating"));
        unscheduled["status"]["conditions"] =
            json!([{"type": "PodScheduled", "status": "False", "reason": "Unschedulable"}]);
        let f = findings(vec![unscheduled], vec![], vec![], vec![]);
        assert_eq!(f.len(), 1);
        assert!(
            f[0].message
                .starts_with("Pending and not scheduled (Unschedulable)")
        );
    }
}
