//! Throughput of whole scans (read, split, parse, classify, check, sort) on generated corpora.
//!
//! `cargo bench -p scanner-benches --bench scan` prints time and MB/s per corpus; documents/s
//! follow from the document counts printed at the start.
#![allow(clippy::print_stderr, clippy::unwrap_used)] // a benchmark harness reports on stderr

use std::fmt::Write as _;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use scanner_benches::{Profile, Spec, cached_corpus};
use scanner_core::{Catalog, KubeVersion, ScanSettings, Scanner, Targets};

fn scanner() -> Scanner<'static> {
    Scanner::new(
        Catalog::embedded(),
        ScanSettings::new(Targets::kubernetes(KubeVersion::new(1, 33), None)),
    )
}

fn corpora(c: &mut Criterion) {
    let cases = [
        (
            "small-1k",
            Spec {
                files: 1_000,
                seed: 1,
                profile: Profile::SmallFiles,
            },
        ),
        (
            "small-10k",
            Spec {
                files: 10_000,
                seed: 2,
                profile: Profile::SmallFiles,
            },
        ),
        (
            "small-50k",
            Spec {
                files: 50_000,
                seed: 3,
                profile: Profile::SmallFiles,
            },
        ),
        (
            "crds-100",
            Spec {
                files: 100,
                seed: 4,
                profile: Profile::LargeCrds,
            },
        ),
    ];
    let mut group = c.benchmark_group("scan");
    group.sample_size(10);
    for (name, spec) in cases {
        let (dir, written) = cached_corpus(name, spec).unwrap();
        eprintln!(
            "{name}: {} files, {} documents, {} bytes",
            written.files, written.documents, written.bytes
        );
        group.throughput(Throughput::Bytes(written.bytes));
        for threads in [1, 2] {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            let scanner = scanner();
            group.bench_function(format!("{name}/threads-{threads}"), |b| {
                b.iter(|| pool.install(|| scanner.scan_paths([&dir])));
            });
        }
    }
    group.finish();
}

fn single_texts(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    scanner_benches::generate(
        dir.path(),
        Spec {
            files: 1,
            seed: 9,
            profile: Profile::LargeCrds,
        },
    )
    .unwrap();
    let crd = std::fs::read_to_string(dir.path().join("d0000/f000000.yaml")).unwrap();
    let mut group = c.benchmark_group("parse");
    group.throughput(Throughput::Bytes(crd.len() as u64));
    let scanner = scanner();
    group.bench_function("one-large-crd", |b| {
        b.iter(|| scanner.scan_text("crd.yaml", &crd));
    });
    let mut stream = String::new();
    for i in 0..200 {
        let _ = write!(
            stream,
            "apiVersion: {}\nkind: Deployment\nmetadata:\n  name: app-{i}\n  namespace: ns\nspec:\n  replicas: 2\n  template:\n    spec:\n      containers:\n        - name: c\n          image: img:{i}\n---\n",
            if i % 10 == 0 {
                "extensions/v1beta1"
            } else {
                "apps/v1"
            }
        );
    }
    group.throughput(Throughput::Bytes(stream.len() as u64));
    group.bench_function("stream-200-small-documents", |b| {
        b.iter(|| scanner.scan_text("s.yaml", &stream));
    });
    group.finish();
}

criterion_group!(benches, corpora, single_texts);
criterion_main!(benches);
