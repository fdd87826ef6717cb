//! Writes a synthetic corpus for measuring upcheck by hand (hyperfine, /usr/bin/time):
//!
//! `cargo run --release -p scanner-benches --bin gen-corpus -- small 50000 /tmp/corpus-small`
//! `cargo run --release -p scanner-benches --bin gen-corpus -- crds 1000 /tmp/corpus-crds`
//! `cargo run --release -p scanner-benches --bin gen-corpus -- json-lists 1000 /tmp/corpus-json`
//! `cargo run --release -p scanner-benches --bin gen-corpus -- mixed 43000 /tmp/corpus-mixed`
#![allow(clippy::print_stderr)] // a command-line tool: it reports on stderr

use std::process::ExitCode;

use scanner_benches::{Profile, Spec, generate};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [p, n, dir] = args.as_slice() else {
        eprintln!(
            "usage: gen-corpus small|crds|json-lists|mixed FILES DIR (seed from UPCHECK_SEED, default 1)"
        );
        return ExitCode::FAILURE;
    };
    let profile = match p.as_str() {
        "small" => Profile::SmallFiles,
        "crds" => Profile::LargeCrds,
        "json-lists" => Profile::JsonLists,
        "mixed" => Profile::Mixed,
        other => {
            eprintln!("error: unknown profile {other:?} (small, crds, json-lists or mixed)");
            return ExitCode::FAILURE;
        }
    };
    let Ok(files) = n.parse::<usize>() else {
        eprintln!("error: {n:?} is not a file count");
        return ExitCode::FAILURE;
    };
    let seed = std::env::var("UPCHECK_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1);
    match generate(
        std::path::Path::new(dir),
        Spec {
            files,
            seed,
            profile,
        },
    ) {
        Ok(w) => {
            eprintln!(
                "{dir}: {} files, {} documents, {} bytes",
                w.files, w.documents, w.bytes
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: cannot write {dir}: {e}");
            ExitCode::FAILURE
        }
    }
}
