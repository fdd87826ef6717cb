//! Renderers: one file per format. Renderers only present the report: they never filter it and
//! never choose the exit code.

pub mod columns;
mod csv;
mod markdown;
mod serialized;
mod text;

use std::fmt::Write as _;
use std::io::Write;

use anyhow::Result;
use scanner_core::{ApiStatus, Report};

use crate::args::OutputFormat;
use columns::Column;

/// How to render.
#[derive(Debug, Clone)]
pub struct RenderOptions {
    pub format: OutputFormat,
    /// `--columns`, when given.
    pub columns: Option<Vec<Column>>,
    pub headers: bool,
    /// Colour the table (text formats on a terminal only).
    pub color: bool,
}

/// Writes the report to `out` in the chosen format.
pub fn render(report: &Report, opts: &RenderOptions, out: &mut dyn Write) -> Result<()> {
    match opts.format {
        OutputFormat::Text => text::render(
            report,
            opts,
            opts.columns.as_deref().unwrap_or(columns::NORMAL),
            out,
        ),
        OutputFormat::Wide => text::render(
            report,
            opts,
            opts.columns.as_deref().unwrap_or(columns::WIDE),
            out,
        ),
        OutputFormat::Markdown => markdown::render(report, opts, out),
        OutputFormat::Csv => csv::render(report, opts, out),
        OutputFormat::Json => serialized::json(report, out),
        OutputFormat::Yaml => serialized::yaml(report, out),
    }
}

/// "k8s 1.25 (current 1.21)", for every component with a target.
pub fn targets_line(report: &Report) -> String {
    let parts: Vec<String> = report
        .targets
        .iter()
        .map(|(c, t)| match t.current {
            Some(cur) => format!("{c} {} (current {cur})", t.target),
            None => format!("{c} {}", t.target),
        })
        .collect();
    parts.join(", ")
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The closing summary of the table formats.
pub fn summary(report: &Report) -> String {
    let count = |s: ApiStatus| report.findings.iter().filter(|f| f.status == s).count();
    let removed = count(ApiStatus::Removed);
    let deprecated = count(ApiStatus::Deprecated);
    let unknown = count(ApiStatus::Unknown);
    let unavailable = report
        .findings
        .iter()
        .filter(|f| f.replacement_unavailable())
        .count();
    let unparsed = report.findings.iter().filter(|f| !f.parsed).count();
    let s = &report.stats;
    let mut out = String::new();
    if report.findings.is_empty() {
        let _ = write!(
            out,
            "No deprecated or removed API versions found at target {}.",
            targets_line(report)
        );
    } else {
        let parts: Vec<String> = [
            (removed, "removed"),
            (deprecated, "deprecated"),
            (unknown, "unknown"),
        ]
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, what)| format!("{n} {what}"))
        .collect();
        let _ = write!(
            out,
            "{} at target {}: {}",
            plural(report.findings.len(), "finding", "findings"),
            targets_line(report),
            parts.join(", ")
        );
        if unavailable > 0 {
            let _ = write!(
                out,
                "; {} not available yet",
                plural(unavailable, "replacement", "replacements")
            );
        }
        if unparsed > 0 {
            let _ = write!(
                out,
                "; {unparsed} of them in documents that are not valid YAML"
            );
        }
        out.push('.');
    }
    let n = |v: u64| usize::try_from(v).unwrap_or(usize::MAX);
    let _ = write!(
        out,
        " Scanned {}, {}, {}.",
        plural(n(s.files), "file", "files"),
        plural(n(s.documents), "document", "documents"),
        plural(n(s.objects), "object", "objects"),
    );
    if !report.not_judged.is_empty() {
        let parts: Vec<String> = report
            .not_judged
            .iter()
            .map(|n| format!("{} {}", n.objects, n.component))
            .collect();
        let _ = write!(
            out,
            " Not judged (no target version): {} {}; give --target-version NAME=VERSION.",
            parts.join(", "),
            if report.not_judged.iter().map(|n| n.objects).sum::<u64>() == 1 {
                "object"
            } else {
                "objects"
            }
        );
    }
    if s.suppressed > 0 {
        let _ = write!(
            out,
            " {} hidden by --only-removed.",
            plural(n(s.suppressed), "deprecated finding", "deprecated findings")
        );
    }
    if !report.errors.is_empty() {
        let _ = write!(
            out,
            "\nIncomplete scan: {} could not be read or parsed (listed on stderr).",
            plural(report.errors.len(), "input", "inputs")
        );
    }
    out
}
