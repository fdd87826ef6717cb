//! Snapshots of a large cluster: capture from the read state, write compact JSON, read it
//! back, and diff two snapshots taken across a rolling restart of every workload.
#![allow(clippy::print_stderr, clippy::unwrap_used)] // a benchmark harness reports on stderr

use std::collections::BTreeSet;
use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use scanner_core::checks::{ClusterState, Resource};
use scanner_core::snapshot::{ClusterFacts, DiffOptions, Snapshot, diff};
use serde_json::{Value, json};

const NODES: usize = 2_000;
const DEPLOYMENTS: usize = 10_000;
const PODS_PER_DEPLOYMENT: usize = 5;

/// A cluster: nodes in 20 pools, Deployments with five pods each (two containers); `round`
/// changes every pod name, as a rolling restart does.
fn state(round: u32) -> ClusterState {
    let nodes: Vec<Value> = (0..NODES)
        .map(|i| {
            json!({"metadata": {"name": format!("node-{i:05}"), "labels": {"eks.amazonaws.com/nodegroup": format!("ng-{:02}", i % 20)}},
                   "status": {"nodeInfo": {"kubeletVersion": "v1.29.3-eks-ae9a62a", "containerRuntimeVersion": "containerd://1.7.11", "osImage": "Amazon Linux 2023"},
                              "conditions": [{"type": "Ready", "status": "True"}]}})
        })
        .collect();
    let mut deployments = Vec::with_capacity(DEPLOYMENTS);
    let mut pods = Vec::with_capacity(DEPLOYMENTS * PODS_PER_DEPLOYMENT);
    for d in 0..DEPLOYMENTS {
        let ns = format!("team-{:02}", d % 40);
        let name = format!("svc-{d:05}");
        deployments.push(json!({"metadata": {"name": name, "namespace": ns},
            "spec": {"replicas": PODS_PER_DEPLOYMENT, "template": {"spec": {"containers": [{"name": "app", "image": format!("shop/{name}:1.{round}")}, {"name": "envoy", "image": "envoyproxy/envoy:v1.29.2"}]}}},
            "status": {"readyReplicas": PODS_PER_DEPLOYMENT}}));
        let hash = format!("{:08x}", d * 31 + round as usize);
        for p in 0..PODS_PER_DEPLOYMENT {
            pods.push(json!({"metadata": {"name": format!("{name}-{hash}-{p:05}"), "namespace": ns,
                    "labels": {"pod-template-hash": hash},
                    "ownerReferences": [{"kind": "ReplicaSet", "name": format!("{name}-{hash}"), "controller": true}]},
                "spec": {"nodeName": format!("node-{:05}", (d * 7 + p) % NODES), "containers": [{"name": "app"}, {"name": "envoy"}]},
                "status": {"phase": "Running", "containerStatuses": [{"name": "app", "ready": true, "restartCount": 0}, {"name": "envoy", "ready": true, "restartCount": 1}]}}));
        }
    }
    let mut s = ClusterState::new();
    for r in Resource::ALL {
        s.set(r, Vec::new());
    }
    s.set(Resource::Nodes, nodes);
    s.set(Resource::Deployments, deployments);
    s.set(Resource::Pods, pods);
    s
}

fn snapshots(c: &mut Criterion) {
    let facts = ClusterFacts::default();
    let used = BTreeSet::new();
    let before_state = state(0);
    let after_state = state(1);
    let before = Snapshot::capture(facts.clone(), &before_state, &[], &used, &[]);
    let after = Snapshot::capture(facts.clone(), &after_state, &[], &used, &[]);
    let text = serde_json::to_string(&before).unwrap();
    // One line for the notes: how big a snapshot of this cluster is.
    eprintln!(
        "snapshot of {NODES} nodes, {DEPLOYMENTS} deployments, {} pods: {} bytes of JSON",
        DEPLOYMENTS * PODS_PER_DEPLOYMENT,
        text.len()
    );
    assert!(
        diff(&before, &after, &DiffOptions::default())
            .regressions
            .is_empty()
    );

    let mut group = c.benchmark_group("snapshot");
    group.sample_size(10);
    group.throughput(Throughput::Elements(
        (DEPLOYMENTS * PODS_PER_DEPLOYMENT) as u64,
    ));
    group.bench_function("capture-50k-pods", |b| {
        b.iter(|| Snapshot::capture(facts.clone(), black_box(&before_state), &[], &used, &[]));
    });
    group.bench_function("write-json", |b| {
        b.iter(|| serde_json::to_string(black_box(&before)).unwrap());
    });
    group.bench_function("read-json", |b| {
        b.iter(|| Snapshot::parse(black_box(&text)).unwrap());
    });
    group.bench_function("diff-rolling-restart", |b| {
        b.iter(|| {
            diff(
                black_box(&before),
                black_box(&after),
                &DiffOptions::default(),
            )
        });
    });
    group.finish();
}

criterion_group!(benches, snapshots);
criterion_main!(benches);
