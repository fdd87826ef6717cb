//! Throughput of whole scans (read, split, parse, classify, check, sort) on generated corpora.
//!
//! `cargo bench -p scanner-benches --bench scan` prints time and MB/s per corpus; documents/s
//! follow from the document counts printed at the start.
#![allow(clippy::print_stderr, clippy::unwrap_used)] // a benchmark harness reports on stderr

use std::fmt::Write as _;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use scanner_benches::{Profile, Spec, cached_corpus};
use scanner_core::parse::{parse_documents, parse_documents_full};
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
        // About 1 GB of CRDs from 100 KB to 2 MB.
        (
            "crds-1g",
            Spec {
                files: 1_850,
                seed: 4,
                profile: Profile::LargeCrds,
            },
        ),
        // About 95 MB of `kubectl get -o json` lists, 20 to 400 objects each.
        (
            "json-lists-100",
            Spec {
                files: 100,
                seed: 6,
                profile: Profile::JsonLists,
            },
        ),
        // Larger files than small-*: bundles, CRDs and 5 % JSON lists (about 240 MB).
        (
            "mixed-43k",
            Spec {
                files: 43_000,
                seed: 7,
                profile: Profile::Mixed,
            },
        ),
    ];
    let corpora: Vec<_> = cases
        .iter()
        .map(|(name, spec)| {
            let (dir, written) = cached_corpus(name, *spec).unwrap();
            eprintln!(
                "{name}: {} files, {} documents, {} bytes",
                written.files, written.documents, written.bytes
            );
            (*name, dir, written)
        })
        .collect();
    let pools: Vec<_> = [1, 2]
        .into_iter()
        .map(|n| {
            (
                n,
                rayon::ThreadPoolBuilder::new()
                    .num_threads(n)
                    .build()
                    .unwrap(),
            )
        })
        .collect();
    let scanner = scanner();
    // MB/s, with one and two threads.
    let mut group = c.benchmark_group("scan");
    group.sample_size(10);
    for (name, dir, written) in &corpora {
        group.throughput(Throughput::Bytes(written.bytes));
        for (threads, pool) in &pools {
            group.bench_function(format!("{name}/threads-{threads}"), |b| {
                b.iter(|| pool.install(|| scanner.scan_paths([dir])));
            });
        }
    }
    group.finish();
    // Documents/s, with two threads.
    let mut group = c.benchmark_group("scan-documents");
    group.sample_size(10);
    for (name, dir, written) in &corpora {
        group.throughput(Throughput::Elements(written.documents));
        let pool = &pools[1].1;
        group.bench_function(format!("{name}/threads-2"), |b| {
            b.iter(|| pool.install(|| scanner.scan_paths([dir])));
        });
    }
    group.finish();
}

/// Parse only (split, read identities, check syntax): the fast reader against the full YAML
/// parser on the same texts.
fn parse_only(c: &mut Criterion) {
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
    let lists = tempfile::tempdir().unwrap();
    scanner_benches::generate(
        lists.path(),
        Spec {
            files: 1,
            seed: 9,
            profile: Profile::JsonLists,
        },
    )
    .unwrap();
    let list = std::fs::read_to_string(lists.path().join("d0000/f000000.json")).unwrap();
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
    let mut group = c.benchmark_group("parse");
    for (name, text) in [
        ("large-crd", &crd),
        ("stream-200-small-documents", &stream),
        ("json-list", &list),
    ] {
        group.throughput(Throughput::Bytes(text.len() as u64));
        group.bench_function(format!("{name}/fast"), |b| b.iter(|| parse_documents(text)));
        group.bench_function(format!("{name}/full"), |b| {
            b.iter(|| parse_documents_full(text));
        });
    }
    group.finish();
}

criterion_group!(benches, corpora, parse_only);
criterion_main!(benches);
