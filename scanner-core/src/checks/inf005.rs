//! INF005: Cluster API (and EKS Anywhere) objects that are not settled before an upgrade: a
//! control plane or machine deployment still rolling, a status older than its spec, machines
//! that are not running or whose node is unhealthy.

use serde_json::Value;

use super::util::{name, namespace, object_ref, text};
use super::{Check, CheckFinding, CodeInfo, Context, Family, Resource, Severity};

pub static CHECK: Check = Check {
    info: CodeInfo {
        code: "INF005",
        family: Family::Readiness,
        title: "Cluster API / EKS Anywhere objects not settled",
        severity: Severity::Blocker,
        reads: "KubeadmControlPlane (controlplane.cluster.x-k8s.io) and MachineDeployment (cluster.x-k8s.io) metadata.generation, spec.replicas, status.{observedGeneration,replicas,updatedReplicas,readyReplicas,conditions}; Machine status.{phase,conditions}",
        applies: "before the first hop, on management clusters (where these objects live); a cluster without Cluster API serves none of them, and a list that is forbidden makes the check not run",
        remediation: "Wait until every KubeadmControlPlane and MachineDeployment has observed its latest generation with all replicas updated and ready, and every Machine is Running with a healthy node; repair or delete failed Machines first. Upgrade the management cluster before the workload clusters it manages.",
        explanation: "On Cluster API and EKS Anywhere the upgrade is a change to the KubeadmControlPlane and MachineDeployment specs, which their controllers roll out machine by machine. Starting a new version while an earlier roll is still going (updated replicas below the desired count), or while a machine is failed or its node unhealthy, stacks one roll on another: the first etcd member that does not come up stops the control plane roll, and the runbooks show the upgrade stuck there. A status is only evidence for the spec it has observed: when status.observedGeneration is behind metadata.generation the controller has not looked at the latest change yet and its Ready condition says nothing about it, so the check says the status is stale instead of trusting it.",
        retired: None,
    },
    needs: &[
        Resource::CapiControlPlanes,
        Resource::CapiMachineDeployments,
        Resource::CapiMachines,
    ],
    offline: false,
    needs_kubectl: false,
    uses: &[],
    run,
};

fn number(v: &Value, pointer: &str) -> Option<u64> {
    v.pointer(pointer).and_then(Value::as_u64)
}

/// The status of condition `kind`, with its message, when the object reports it.
fn condition<'v>(v: &'v Value, kind: &str) -> Option<(&'v str, &'v str)> {
    let list = v.pointer("/status/conditions")?.as_array()?;
    let c = list
        .iter()
        .find(|c| c.get("type").and_then(Value::as_str) == Some(kind))?;
    Some((
        c.get("status").and_then(Value::as_str).unwrap_or(""),
        c.get("message").and_then(Value::as_str).unwrap_or(""),
    ))
}

fn full_name(v: &Value) -> String {
    match namespace(v) {
        Some(ns) => format!("{ns}/{}", name(v)),
        None => name(v).to_owned(),
    }
}

/// What keeps a rolling object (control plane, machine deployment) from being settled.
fn unsettled(object: &Value) -> Option<String> {
    let generation = number(object, "/metadata/generation");
    let observed = number(object, "/status/observedGeneration");
    if let (Some(g), Some(o)) = (generation, observed)
        && o < g
    {
        return Some(format!(
            "its status is stale (observedGeneration {o}, generation {g}): the controller has not acted on the latest change, so its Ready condition is no evidence; wait until it catches up"
        ));
    }
    let wanted = number(object, "/spec/replicas")?;
    let updated = number(object, "/status/updatedReplicas").unwrap_or(0);
    let ready = number(object, "/status/readyReplicas").unwrap_or(0);
    let total = number(object, "/status/replicas").unwrap_or(wanted);
    if updated < wanted || ready < wanted || total > wanted {
        return Some(format!(
            "it is still rolling: {updated} of {wanted} replicas updated, {ready} ready, {total} in all"
        ));
    }
    match condition(object, "Ready") {
        Some(("False", message)) => Some(format!("it is not Ready: {message}")),
        _ => None,
    }
}

fn run(ctx: &Context<'_>, out: &mut Vec<CheckFinding>) {
    for (resource, what) in [
        (Resource::CapiControlPlanes, "control plane"),
        (Resource::CapiMachineDeployments, "machine deployment"),
    ] {
        for object in ctx.state.list(resource) {
            if let Some(why) = unsettled(object) {
                out.push(CheckFinding::new(
                    &CHECK,
                    Severity::Blocker,
                    object_ref(resource.kind(), object),
                    format!(
                        "{what} {} (version {}): {why}; do not start the upgrade until it is settled",
                        full_name(object),
                        text(object, "/spec/version").unwrap_or("?")
                    ),
                ));
            }
        }
    }
    for machine in ctx.state.list(Resource::CapiMachines) {
        let phase = text(machine, "/status/phase").unwrap_or("");
        let problem = if !phase.is_empty() && phase != "Running" {
            Some(format!("is {phase}, not Running"))
        } else {
            match condition(machine, "NodeHealthy") {
                Some(("False", message)) => Some(format!("has an unhealthy node: {message}")),
                _ => None,
            }
        };
        if let Some(problem) = problem {
            out.push(CheckFinding::new(
                &CHECK,
                Severity::Blocker,
                object_ref("Machine", machine),
                format!(
                    "machine {} {problem}; repair or delete it before the upgrade, or the roll stops at it",
                    full_name(machine)
                ),
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

    fn kcp(generation: u64, observed: u64, updated: u64, ready: u64) -> Value {
        json!({"apiVersion": "controlplane.cluster.x-k8s.io/v1beta1", "kind": "KubeadmControlPlane",
            "metadata": {"name": "mgmt-cp", "namespace": "eksa-system", "generation": generation},
            "spec": {"replicas": 3, "version": "v1.28.3-eks-1-28-9"},
            "status": {"observedGeneration": observed, "replicas": 3, "updatedReplicas": updated,
                       "readyReplicas": ready,
                       "conditions": [{"type": "Ready", "status": "True"}]}})
    }

    fn found(kcps: Vec<Value>, machines: Vec<Value>) -> Vec<String> {
        let mut state = ClusterState::new();
        state.set(Resource::CapiControlPlanes, kcps);
        state.set(Resource::CapiMachineDeployments, vec![]);
        state.set(Resource::CapiMachines, machines);
        let ctx = Context::new(&state, KubeVersion::new(1, 28), KubeVersion::new(1, 29));
        let mut out = Vec::new();
        run(&ctx, &mut out);
        out.into_iter().map(|f| f.message).collect()
    }

    #[test]
    fn a_settled_control_plane_passes() {
        assert!(found(vec![kcp(4, 4, 3, 3)], vec![]).is_empty());
    }

    #[test]
    fn stale_status_rolling_and_failed_machines_block() {
        let stale = found(vec![kcp(5, 4, 3, 3)], vec![]);
        assert_eq!(stale.len(), 1);
        assert!(
            stale[0].contains("observedGeneration 4, generation 5"),
            "{stale:?}"
        );
        let rolling = found(vec![kcp(4, 4, 1, 2)], vec![]);
        assert!(
            rolling[0].contains("1 of 3 replicas updated, 2 ready"),
            "{rolling:?}"
        );
        let failed = json!({"apiVersion": "cluster.x-k8s.io/v1beta1", "kind": "Machine",
            "metadata": {"name": "mgmt-cp-x7", "namespace": "eksa-system"},
            "status": {"phase": "Failed"}});
        let sick = json!({"apiVersion": "cluster.x-k8s.io/v1beta1", "kind": "Machine",
            "metadata": {"name": "mgmt-md-2", "namespace": "eksa-system"},
            "status": {"phase": "Running", "conditions": [{"type": "NodeHealthy", "status": "False", "message": "Node condition Ready is False"}]}});
        let machines = found(vec![], vec![failed, sick]);
        assert_eq!(
            machines,
            [
                "machine eksa-system/mgmt-cp-x7 is Failed, not Running; repair or delete it before the upgrade, or the roll stops at it",
                "machine eksa-system/mgmt-md-2 has an unhealthy node: Node condition Ready is False; repair or delete it before the upgrade, or the roll stops at it",
            ]
        );
    }
}
