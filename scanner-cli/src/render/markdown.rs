//! Markdown: a table and summary to paste into the upgrade ticket, with the inputs that could
//! not be scanned (a ticket has no stderr).

use std::io::Write;

use anyhow::Result;
use scanner_core::Report;

use super::columns::{self, NONE};
use super::{RenderOptions, summary, targets_line};

pub(super) fn escape(cell: &str) -> String {
    cell.replace('|', "\\|").replace('\n', " ")
}

pub fn render(report: &Report, opts: &RenderOptions, out: &mut dyn Write) -> Result<()> {
    let cols = opts.columns.as_deref().unwrap_or(columns::WIDE);
    writeln!(out, "## Deprecated and removed Kubernetes API versions")?;
    writeln!(out)?;
    writeln!(
        out,
        "Target: {} · catalog {} · {} {}",
        targets_line(report),
        report.tool.catalog_version,
        report.tool.name,
        report.tool.version
    )?;
    writeln!(out)?;
    if !report.findings.is_empty() {
        if opts.headers {
            let header: Vec<&str> = cols.iter().map(|c| c.header()).collect();
            writeln!(out, "| {} |", header.join(" | "))?;
            writeln!(out, "|{}", "---|".repeat(cols.len()))?;
        }
        for f in &report.findings {
            let cells: Vec<String> = cols
                .iter()
                .map(|c| escape(&c.cell(f).unwrap_or_else(|| NONE.to_owned())))
                .collect();
            writeln!(out, "| {} |", cells.join(" | "))?;
        }
        writeln!(out)?;
    }
    for (title, lines) in super::cluster_sections(report) {
        writeln!(out, "### {title}")?;
        writeln!(out)?;
        for line in lines {
            writeln!(out, "- {}", escape(&line))?;
        }
        writeln!(out)?;
    }
    if let Some((title, rows, not_run)) = super::readiness_rows(report) {
        writeln!(out, "### {title}")?;
        writeln!(out)?;
        if rows.is_empty() {
            writeln!(out, "Nothing found.")?;
        } else {
            writeln!(out, "| severity | code | hop | object | finding |")?;
            writeln!(out, "|---|---|---|---|---|")?;
            for row in rows {
                let cells: Vec<String> = row.iter().map(|c| escape(c)).collect();
                writeln!(out, "| {} |", cells.join(" | "))?;
            }
        }
        writeln!(out)?;
        if !not_run.is_empty() {
            for n in not_run {
                writeln!(out, "- not run: {}", escape(&n))?;
            }
            writeln!(out)?;
        }
    }
    // The summary's stderr pointer does not apply here: the inputs are listed below.
    let summary = summary(report).replace(" (listed on stderr)", " (listed below)");
    for line in summary.lines() {
        writeln!(out, "{line}")?;
        writeln!(out)?;
    }
    if !report.errors.is_empty() {
        writeln!(out, "### Inputs not scanned")?;
        writeln!(out)?;
        for e in &report.errors {
            writeln!(out, "- {}", escape(&e.to_string()))?;
        }
        writeln!(out)?;
    }
    if !report.notes.is_empty() {
        writeln!(out, "### Notes")?;
        writeln!(out)?;
        for n in &report.notes {
            writeln!(out, "- {}", escape(&n.message))?;
        }
        writeln!(out)?;
    }
    if !report.warnings.is_empty() {
        writeln!(out, "### Warnings")?;
        writeln!(out)?;
        for w in &report.warnings {
            writeln!(out, "- {}", escape(&w.to_string()))?;
        }
        writeln!(out)?;
    }
    Ok(())
}
