//! Rendering cost per format over a report with many findings.
#![allow(clippy::unwrap_used)]

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use scanner_benches::{Profile, Spec, generate};
use scanner_cli::args::OutputFormat;
use scanner_cli::render::{RenderOptions, render};
use scanner_core::{Catalog, KubeVersion, ScanSettings, Scanner, Targets};

fn formats(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    generate(
        dir.path(),
        Spec {
            files: 2_000,
            seed: 5,
            profile: Profile::SmallFiles,
        },
    )
    .unwrap();
    let settings = ScanSettings::new(Targets::kubernetes(KubeVersion::new(1, 33), None));
    let report = Scanner::new(Catalog::embedded(), settings).scan_paths([dir.path()]);
    let mut group = c.benchmark_group("render");
    group.throughput(Throughput::Elements(report.findings.len() as u64));
    for format in [
        OutputFormat::Text,
        OutputFormat::Wide,
        OutputFormat::Json,
        OutputFormat::Yaml,
        OutputFormat::Markdown,
        OutputFormat::Csv,
        OutputFormat::Sarif,
        OutputFormat::Junit,
        OutputFormat::Github,
    ] {
        let opts = RenderOptions {
            format,
            columns: None,
            headers: true,
            color: false,
            gate: scanner_cli::exit::Gate::default(),
        };
        group.bench_function(format!("{format:?}"), |b| {
            b.iter(|| {
                let mut out = Vec::with_capacity(1 << 20);
                render(&report, &opts, &mut out).unwrap();
                out
            });
        });
    }
    group.finish();
}

criterion_group!(benches, formats);
criterion_main!(benches);
