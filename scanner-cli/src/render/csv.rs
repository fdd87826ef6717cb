//! CSV (RFC 4180): a header row and one row per finding. Nothing else goes to stdout, so the
//! output stays machine-readable even when nothing is found.

use std::io::Write;

use anyhow::Result;
use scanner_core::Report;

use super::RenderOptions;
use super::columns;

/// One CSV field (RFC 4180): quoted, with quotes doubled, only when it holds a comma, a quote or
/// a line break. Every CSV upcheck writes (`-o csv`, `upcheck catalog list -o csv`) uses it.
pub(crate) fn field(value: &str) -> String {
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value.to_owned()
    }
}

pub fn render(report: &Report, opts: &RenderOptions, out: &mut dyn Write) -> Result<()> {
    let cols = opts.columns.as_deref().unwrap_or(columns::WIDE);
    if opts.headers {
        let header: Vec<String> = cols.iter().map(|c| field(c.header())).collect();
        write!(out, "{}\r\n", header.join(","))?;
    }
    for f in &report.findings {
        let row: Vec<String> = cols
            .iter()
            .map(|c| field(&c.cell(f).unwrap_or_default()))
            .collect();
        write!(out, "{}\r\n", row.join(","))?;
    }
    Ok(())
}
