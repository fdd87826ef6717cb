//! JSON and YAML: the whole report, with its `schema_version`.

use std::io::Write;

use anyhow::{Context, Result};
use serde::Serialize;

/// A report (or a fleet of them) as pretty JSON.
pub fn json<T: Serialize>(report: &T, out: &mut dyn Write) -> Result<()> {
    serde_json::to_writer_pretty(&mut *out, report).context("cannot write the JSON report")?;
    out.write_all(b"\n")?;
    Ok(())
}

/// Streamed like JSON: the whole text in one string took as much memory again as the report.
pub fn yaml<T: Serialize>(report: &T, out: &mut dyn Write) -> Result<()> {
    let mut out = out;
    serde_saphyr::to_io_writer(&mut out, report).context("cannot write the YAML report")?;
    Ok(())
}
