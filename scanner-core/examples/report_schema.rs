//! Prints the JSON Schema of upcheck's report (`docs/report.schema.json`).

use std::io::Write as _;

fn main() -> std::io::Result<()> {
    std::io::stdout().write_all(scanner_core::Report::json_schema().as_bytes())
}
