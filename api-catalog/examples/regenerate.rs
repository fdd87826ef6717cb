//! Regenerates `api-catalog/data/kubernetes.yaml` and `data/components.yaml` from the files in
//! `data/source/`.
//!
//! Run from anywhere in the workspace: `cargo run -p api-catalog --example regenerate`.
//! With `--check` it only verifies that the committed files are current (exit 1 when stale).
//!
//! With `--upstream DIR...` it first rebuilds `data/source/kubernetes-apis.csv` from checkouts of
//! the Kubernetes API sources at release tags, oldest first (see `api_catalog::upstream`), with
//! `data/source/overrides.csv` applied; `--print-csv` prints that CSV instead of writing it.
#![allow(clippy::print_stderr, clippy::print_stdout)] // a command-line tool

use std::path::Path;
use std::process::ExitCode;

fn main() -> ExitCode {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Some(i) = args.iter().position(|a| a == "--upstream") {
        let dirs: Vec<std::path::PathBuf> = args[i + 1..]
            .iter()
            .filter(|a| !a.starts_with("--"))
            .map(Into::into)
            .collect();
        if dirs.is_empty() {
            eprintln!("error: --upstream needs checkout directories, oldest release first");
            return ExitCode::FAILURE;
        }
        let source = crate_dir.join("data/source");
        let overrides = match std::fs::read_to_string(source.join("overrides.csv")) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("error: cannot read overrides.csv: {e}");
                return ExitCode::FAILURE;
            }
        };
        let csv = match api_catalog::upstream::regenerate(&dirs, &overrides) {
            Ok(c) => c,
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::FAILURE;
            }
        };
        if args.iter().any(|a| a == "--print-csv") {
            print!("{csv}");
            return ExitCode::SUCCESS;
        }
        if let Err(e) = std::fs::write(source.join("kubernetes-apis.csv"), csv) {
            eprintln!("error: cannot write kubernetes-apis.csv: {e}");
            return ExitCode::FAILURE;
        }
        eprintln!("wrote {}", source.join("kubernetes-apis.csv").display());
    }
    let generated = match api_catalog::import::generate_from_dir(crate_dir) {
        Ok(g) => g,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut builder = api_catalog::CatalogBuilder::new();
    let checked = builder
        .add_yaml("generated kubernetes.yaml", &generated.kubernetes_yaml)
        .and_then(|()| builder.add_yaml("generated components.yaml", &generated.components_yaml));
    if let Err(e) = checked.and_then(|()| builder.build().map(|_| ())) {
        eprintln!("error: the generated catalog does not validate: {e}");
        return ExitCode::FAILURE;
    }
    let check = args.iter().any(|a| a == "--check");
    let mut stale = false;
    for (name, text) in [
        ("kubernetes.yaml", &generated.kubernetes_yaml),
        ("components.yaml", &generated.components_yaml),
    ] {
        let out = crate_dir.join("data").join(name);
        let current = std::fs::read_to_string(&out).unwrap_or_default();
        if current == *text {
            eprintln!("{} is current", out.display());
            continue;
        }
        if check {
            eprintln!(
                "{} is stale: run `cargo run -p api-catalog --example regenerate`",
                out.display()
            );
            stale = true;
            continue;
        }
        if let Err(e) = std::fs::write(&out, text) {
            eprintln!("error: cannot write {}: {e}", out.display());
            return ExitCode::FAILURE;
        }
        eprintln!("wrote {} ({} bytes)", out.display(), text.len());
    }
    if stale {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
