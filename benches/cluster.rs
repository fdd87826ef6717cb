//! `upcheck cluster` against a generated API server on loopback: 50,000 objects across 20
//! resources, read in pages through the real kube client.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use upcheck_test_server::{Scenario, Server};

fn cluster(c: &mut Criterion) {
    let objects = 50_000;
    let server = Server::generated(objects, Scenario::default()).expect("server starts");
    let dir = tempfile::tempdir().expect("temp dir");
    let kubeconfig = server.kubeconfig(dir.path()).expect("kubeconfig");
    let kubeconfig = kubeconfig.to_string_lossy().into_owned();
    let args = [
        "upcheck",
        "cluster",
        "--kubeconfig",
        kubeconfig.as_str(),
        "-t",
        "1.33",
        "--offline",
    ];
    // Warm the server's page cache so the iterations measure the client.
    let first = scanner_cli::live_report(args).expect("scan runs");
    assert_eq!(
        first.findings.len(),
        500,
        "one object in 100 is written through an old version"
    );

    let mut group = c.benchmark_group("cluster");
    group.sample_size(10);
    group.throughput(Throughput::Elements(objects as u64));
    group.bench_function("50k-objects-20-resources", |b| {
        b.iter(|| scanner_cli::live_report(args).expect("scan runs"));
    });
    group.finish();
}

criterion_group!(benches, cluster);
criterion_main!(benches);
