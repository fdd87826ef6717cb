//! A fleet of clusters: the fleet table first, then each cluster's report in the same
//! format as a single scan writes it.

use std::io::Write;

use anyhow::{Result, bail};
use scanner_core::{FleetReport, FleetRow};

use super::{RenderOptions, markdown, serialized, text};
use crate::args::OutputFormat;

const HEADER: [&str; 6] = [
    "CLUSTER",
    "VERSION",
    "REMOVED",
    "DEPRECATED",
    "BLOCKERS",
    "NOT CHECKED",
];

/// The cells of a row; a cluster that could not be scanned shows its error instead of counts.
fn cells(row: &FleetRow) -> Vec<String> {
    let version = row.version.clone().unwrap_or_else(|| "-".to_owned());
    match &row.error {
        Some(e) => vec![
            row.context.clone(),
            version,
            "-".to_owned(),
            "-".to_owned(),
            "-".to_owned(),
            format!("not scanned: {e}"),
        ],
        None => vec![
            row.context.clone(),
            version,
            row.removed.to_string(),
            row.deprecated.to_string(),
            row.blockers.to_string(),
            row.not_checked.to_string(),
        ],
    }
}

/// Writes `fleet` in `opts.format`: text, wide, markdown, JSON or YAML.
pub fn render(fleet: &FleetReport, opts: &RenderOptions, out: &mut dyn Write) -> Result<()> {
    match opts.format {
        OutputFormat::Json => serialized::json(fleet, out),
        OutputFormat::Yaml => serialized::yaml(fleet, out),
        OutputFormat::Text | OutputFormat::Wide => {
            let header = opts
                .headers
                .then(|| HEADER.iter().map(|h| (*h).to_owned()).collect());
            text::write_table(
                header,
                || fleet.fleet.iter().map(|r| (cells(r), None)),
                opts.color,
                out,
            )?;
            for member in &fleet.clusters {
                writeln!(out)?;
                writeln!(out, "=== {} ===", member.context)?;
                match (&member.report, &member.error) {
                    (Some(report), _) => super::render(report, opts, out)?,
                    (None, Some(e)) => writeln!(out, "not scanned: {e}")?,
                    (None, None) => {}
                }
            }
            Ok(())
        }
        OutputFormat::Markdown => {
            writeln!(out, "## Fleet")?;
            writeln!(out)?;
            writeln!(out, "| {} |", HEADER.join(" | "))?;
            writeln!(out, "|{}", "---|".repeat(HEADER.len()))?;
            for row in &fleet.fleet {
                let cells: Vec<String> = cells(row).iter().map(|c| markdown::escape(c)).collect();
                writeln!(out, "| {} |", cells.join(" | "))?;
            }
            for member in &fleet.clusters {
                writeln!(out)?;
                writeln!(out, "# Cluster `{}`", member.context)?;
                writeln!(out)?;
                match (&member.report, &member.error) {
                    (Some(report), _) => super::render(report, opts, out)?,
                    (None, Some(e)) => writeln!(out, "Not scanned: {}", markdown::escape(e))?,
                    (None, None) => {}
                }
            }
            Ok(())
        }
        other => bail!(
            "-o {} is not written for several clusters; use text, wide, markdown, json or yaml",
            other.name()
        ),
    }
}
