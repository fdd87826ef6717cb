//! INF005 through `upcheck cluster` against the recorded v1.20 server, with Cluster API's
//! groups served: a management cluster mid-roll, with a stale status and a failed machine, and
//! one that is settled.
#![allow(clippy::unwrap_used)] // tests fail loudly on purpose

use crate::common::readiness::{found, run, with_groups};
use serde_json::{Value, json};

const KCP: &str = "/apis/controlplane.cluster.x-k8s.io/v1beta1/kubeadmcontrolplanes";
const MD: &str = "/apis/cluster.x-k8s.io/v1beta1/machinedeployments";
const MACHINES: &str = "/apis/cluster.x-k8s.io/v1beta1/machines";

/// The recorded server with Cluster API's groups served and `objects` in them.
fn capi_cluster(objects: Vec<(&str, Vec<Value>)>) -> Vec<(String, Value)> {
    with_groups(
        &[
            (
                "controlplane.cluster.x-k8s.io",
                "v1beta1",
                &[("kubeadmcontrolplanes", "KubeadmControlPlane")],
            ),
            (
                "cluster.x-k8s.io",
                "v1beta1",
                &[
                    ("machinedeployments", "MachineDeployment"),
                    ("machines", "Machine"),
                ],
            ),
        ],
        objects,
    )
}

fn kcp(generation: u64, observed: u64, updated: u64) -> Value {
    json!({"apiVersion": "controlplane.cluster.x-k8s.io/v1beta1", "kind": "KubeadmControlPlane",
        "metadata": {"name": "mgmt", "namespace": "eksa-system", "generation": generation},
        "spec": {"replicas": 3, "version": "v1.20.2"},
        "status": {"observedGeneration": observed, "replicas": 3, "updatedReplicas": updated,
                   "readyReplicas": 3, "conditions": [{"type": "Ready", "status": "True"}]}})
}

#[test]
fn inf005_cluster_api_objects_not_settled() {
    let failed = json!({"apiVersion": "cluster.x-k8s.io/v1beta1", "kind": "Machine",
        "metadata": {"name": "mgmt-md-0-x7", "namespace": "eksa-system"},
        "status": {"phase": "Failed"}});
    let r = run(
        capi_cluster(vec![
            (KCP, vec![kcp(6, 5, 3)]),
            (MD, vec![]),
            (MACHINES, vec![failed]),
        ]),
        &["-t", "1.21", "--select", "INF005"],
    );
    assert_eq!(
        found(&r, "INF005"),
        [
            "blocker KubeadmControlPlane eksa-system/mgmt",
            "blocker Machine eksa-system/mgmt-md-0-x7"
        ]
    );
    assert!(
        r.stdout.contains("observedGeneration 5, generation 6"),
        "{}",
        r.stdout
    );
    // Settled: the status has seen the latest spec and every replica is updated.
    let settled = run(
        capi_cluster(vec![(KCP, vec![kcp(6, 6, 3)])]),
        &["-t", "1.21", "--select", "INF005"],
    );
    assert!(found(&settled, "INF005").is_empty());
    // No Cluster API at all (the recording): the check runs and finds nothing, no error.
    let none = run(vec![], &["-t", "1.21", "--select", "INF005"]);
    assert!(found(&none, "INF005").is_empty());
    assert_eq!(none.code, 3, "{}", none.transcript());
}
