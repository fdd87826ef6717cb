//! Throughput of `upcheck fix` without writing: scan, convert every finding, plan the edits,
//! re-read each edited document to verify it. On the small-file corpus (about one object in
//! five uses a deprecated or removed version at 1.33).
//!
//! `cargo bench -p scanner-benches --bench fix`
#![allow(clippy::print_stderr, clippy::unwrap_used)] // a benchmark harness reports on stderr

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use scanner_benches::{Profile, Spec, cached_corpus};
use scanner_core::fix::Fixer;
use scanner_core::{Catalog, Input, KubeVersion, ScanSettings, Targets};

fn fix(c: &mut Criterion) {
    let spec = Spec {
        files: 10_000,
        seed: 2,
        profile: Profile::SmallFiles,
    };
    let (dir, written) = cached_corpus("small-10k", spec).unwrap();
    let fixer = Fixer::new(
        Catalog::embedded(),
        ScanSettings::new(Targets::kubernetes(KubeVersion::new(1, 33), None)),
    );
    let report = fixer.fix(vec![Input::Path(dir.clone())]);
    eprintln!(
        "small-10k: {} files, {} documents, {} bytes; {} objects converted in {} files, {} left",
        written.files,
        written.documents,
        written.bytes,
        report.converted(),
        report.files.iter().filter(|f| f.changed()).count(),
        report.left()
    );
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .unwrap();
    let mut group = c.benchmark_group("fix");
    group.sample_size(10);
    group.throughput(Throughput::Bytes(written.bytes));
    group.bench_function("small-10k/threads-2", |b| {
        b.iter(|| pool.install(|| fixer.fix(vec![Input::Path(dir.clone())])));
    });
    group.finish();
}

criterion_group!(benches, fix);
criterion_main!(benches);
