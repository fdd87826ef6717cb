//! Terminal tables (`text` and `wide`): borderless, kubectl-like, never wrapped so the output
//! is the same on every terminal.

use std::io::Write;

use anyhow::Result;
use comfy_table::{Cell, Color, ContentArrangement, Table, presets};
use scanner_core::{ApiStatus, Report};

use super::columns::{Column, NONE};
use super::{RenderOptions, summary};

/// Writes a borderless table. comfy-table pads the first and last column with a space; trim
/// line ends so the output carries no trailing blanks.
fn write_table(table: &Table, out: &mut dyn Write) -> Result<()> {
    for line in table.to_string().lines() {
        let line = line.trim_end();
        writeln!(out, "{}", line.strip_prefix(' ').unwrap_or(line))?;
    }
    Ok(())
}

pub fn render(
    report: &Report,
    opts: &RenderOptions,
    columns: &[Column],
    out: &mut dyn Write,
) -> Result<()> {
    if !report.findings.is_empty() {
        let mut table = Table::new();
        table
            .load_style(presets::NOTHING)
            .set_content_arrangement(ContentArrangement::Disabled);
        if opts.color {
            table.enforce_styling();
        }
        if opts.headers {
            table.set_header(columns.iter().map(|c| Cell::new(c.header())));
        }
        for f in &report.findings {
            let color = match f.status {
                ApiStatus::Removed | ApiStatus::Unknown => Some(Color::Red),
                ApiStatus::Deprecated => Some(Color::Yellow),
                _ => None,
            };
            table.add_row(columns.iter().map(|c| {
                let cell = Cell::new(c.cell(f).unwrap_or_else(|| NONE.to_owned()));
                match color {
                    Some(col) if opts.color => cell.fg(col),
                    _ => cell,
                }
            }));
        }
        write_table(&table, out)?;
        writeln!(out)?;
    }
    for (title, lines) in super::cluster_sections(report) {
        writeln!(out, "{title}:")?;
        for line in lines {
            writeln!(out, "  {line}")?;
        }
        writeln!(out)?;
    }
    if let Some((title, rows, not_run)) = super::readiness_rows(report) {
        writeln!(out, "{title}:")?;
        if rows.is_empty() {
            writeln!(out, "  nothing found")?;
        } else {
            let mut table = Table::new();
            table
                .load_style(presets::NOTHING)
                .set_content_arrangement(ContentArrangement::Disabled);
            if opts.color {
                table.enforce_styling();
            }
            if opts.headers {
                table.set_header(["SEVERITY", "CODE", "HOP", "OBJECT", "MESSAGE"]);
            }
            for row in rows {
                let color = match row[0].as_str() {
                    "blocker" => Some(Color::Red),
                    "warning" => Some(Color::Yellow),
                    _ => None,
                };
                table.add_row(row.into_iter().map(|c| {
                    let cell = Cell::new(if c.is_empty() { "-".to_owned() } else { c });
                    match color {
                        Some(col) if opts.color => cell.fg(col),
                        _ => cell,
                    }
                }));
            }
            write_table(&table, out)?;
        }
        for n in not_run {
            writeln!(out, "  not run: {n}")?;
        }
        writeln!(out)?;
    }
    writeln!(out, "{}", summary(report))?;
    Ok(())
}
