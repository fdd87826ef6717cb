//! `upcheck`: find what breaks before a Kubernetes upgrade.

use std::process::ExitCode;

fn main() -> ExitCode {
    ExitCode::from(scanner_cli::main_with_args(std::env::args_os()))
}
