//! Catalog lookups: the per-object cost of judging an apiVersion/kind.
#![allow(clippy::unwrap_used)]

use std::hint::black_box;

use api_catalog::{Catalog, KubeVersion, Targets};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

fn lookups(c: &mut Criterion) {
    let catalog = Catalog::embedded();
    let targets = Targets::kubernetes(KubeVersion::new(1, 33), Some(KubeVersion::new(1, 29)));
    let objects = [
        ("apps/v1", "Deployment"),
        ("extensions/v1beta1", "Ingress"),
        ("flowcontrol.apiserver.k8s.io/v1beta2", "FlowSchema"),
        ("v1", "ConfigMap"),
        ("monitoring.coreos.com/v1", "ServiceMonitor"),
        ("apps/v1beta3", "Deployment"),
        ("v1", "List"),
    ];
    let mut group = c.benchmark_group("catalog");
    group.throughput(Throughput::Elements(objects.len() as u64));
    group.bench_function("assess-7-objects", |b| {
        b.iter(|| {
            for (api, kind) in objects {
                black_box(catalog.assess(black_box(api), black_box(kind), &targets));
            }
        });
    });
    group.finish();
    c.bench_function("catalog/load-embedded-yaml", |b| {
        b.iter(|| Catalog::from_yaml("embedded", black_box(api_catalog::KUBERNETES_YAML)).unwrap());
    });
}

criterion_group!(benches, lookups);
criterion_main!(benches);
