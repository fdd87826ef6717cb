//! JSON and YAML: the whole report, with its `schema_version`.

use std::io::Write;

use anyhow::{Context, Result};
use scanner_core::Report;

pub fn json(report: &Report, out: &mut dyn Write) -> Result<()> {
    serde_json::to_writer_pretty(&mut *out, report).context("cannot write the JSON report")?;
    out.write_all(b"\n")?;
    Ok(())
}

pub fn yaml(report: &Report, out: &mut dyn Write) -> Result<()> {
    let text = serde_saphyr::to_string(report).context("cannot serialize the YAML report")?;
    out.write_all(text.as_bytes())?;
    Ok(())
}
