//! Regenerates `api-catalog/data/kubernetes.yaml` from the CSV files in `data/source/`.
//!
//! Run from anywhere in the workspace: `cargo run -p api-catalog --example regenerate`.
//! With `--check` it only verifies that the committed file is current (exit 1 when stale).
#![allow(clippy::print_stderr)] // a command-line tool: it reports on stderr

use std::path::Path;
use std::process::ExitCode;

fn main() -> ExitCode {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("data");
    let read = |name: &str| {
        std::fs::read_to_string(dir.join(name))
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.join(name).display()))
    };
    let apis = read("source/kubernetes-apis.csv");
    let releases = read("source/kubernetes-releases.csv");
    let served = read("source/served-without-lifecycle.csv");
    let version = read("source/VERSION");
    let yaml =
        match api_catalog::import::kubernetes_catalog_yaml(api_catalog::import::KubernetesSources {
            apis_csv: &apis,
            releases_csv: &releases,
            served_without_lifecycle_csv: &served,
            data_version: version.trim(),
        }) {
            Ok(y) => y,
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::FAILURE;
            }
        };
    if let Err(e) = api_catalog::Catalog::from_yaml("generated catalog", &yaml) {
        eprintln!("error: the generated catalog does not validate: {e}");
        return ExitCode::FAILURE;
    }
    let out = dir.join("kubernetes.yaml");
    let current = std::fs::read_to_string(&out).unwrap_or_default();
    if std::env::args().any(|a| a == "--check") {
        if current == yaml {
            eprintln!("{} is current", out.display());
            return ExitCode::SUCCESS;
        }
        eprintln!(
            "{} is stale: run `cargo run -p api-catalog --example regenerate`",
            out.display()
        );
        return ExitCode::FAILURE;
    }
    if let Err(e) = std::fs::write(&out, &yaml) {
        eprintln!("error: cannot write {}: {e}", out.display());
        return ExitCode::FAILURE;
    }
    eprintln!("wrote {} ({} bytes)", out.display(), yaml.len());
    ExitCode::SUCCESS
}
