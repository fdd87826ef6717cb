//! Renderers: one file per format. Renderers only present the report: they never filter it and
//! never choose the exit code.

pub mod columns;
pub(crate) mod csv;
pub mod diff;
pub mod explain;
pub mod fleet;
mod github;
mod junit;
mod markdown;
mod sarif;
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
    /// Which findings fail the gate (JUnit failures, GitHub error annotations).
    pub gate: crate::exit::Gate,
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
        OutputFormat::Sarif => sarif::render(report, opts, out),
        OutputFormat::Junit => junit::render(report, opts, out),
        OutputFormat::Github => github::render(report, opts, out),
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

/// The cluster-wide signals beyond objects, as titled lists of lines (text and markdown).
pub fn cluster_sections(report: &Report) -> Vec<(&'static str, Vec<String>)> {
    let Some(c) = &report.cluster else {
        return Vec::new();
    };
    let mut sections = Vec::new();
    if !c.requested_apis.is_empty() {
        sections.push((
            "Deprecated APIs clients still call (apiserver_requested_deprecated_apis)",
            c.requested_apis
                .iter()
                .map(|r| format!("{}: {}", r.status.as_str(), r.message))
                .collect(),
        ));
    }
    if !c.provider_api_clients.is_empty() {
        sections.push((
            "Deprecated APIs clients still call (EKS upgrade insights, last 30 days)",
            c.provider_api_clients
                .iter()
                .map(|r| format!("{}: {}", r.status.as_str(), r.message))
                .collect(),
        ));
    }
    if !c.crds.is_empty() {
        sections.push((
            "Custom resource definitions",
            c.crds
                .iter()
                .map(scanner_core::live::crd::CrdFinding::message)
                .collect(),
        ));
    }
    if !c.not_checked.is_empty() {
        sections.push((
            "Not checked (missing permissions; see upcheck cluster --rbac)",
            c.not_checked
                .iter()
                .map(scanner_core::live::cluster::NotChecked::needs)
                .collect(),
        ));
    }
    if !c.served_at_risk.is_empty() {
        // One line per apiVersion: a 1.20 server serves dozens of old resources.
        let mut lines: Vec<String> = Vec::new();
        let mut current: Option<(&str, Vec<&str>, String)> = None;
        for s in &c.served_at_risk {
            let state = match s.removed_in {
                Some(r) if s.status == ApiStatus::Removed => format!("removed in {r}"),
                Some(r) => format!("deprecated, removed in {r}"),
                None => s.status.as_str().to_owned(),
            };
            match &mut current {
                Some((v, resources, st)) if *v == s.served.api_version && *st == state => {
                    resources.push(&s.served.resource);
                }
                _ => {
                    if let Some((v, resources, st)) = current.take() {
                        lines.push(format!("{v} ({st}): {}", resources.join(", ")));
                    }
                    current = Some((&s.served.api_version, vec![&s.served.resource], state));
                }
            }
        }
        if let Some((v, resources, st)) = current {
            lines.push(format!("{v} ({st}): {}", resources.join(", ")));
        }
        sections.push((
            "Served API versions deprecated or removed at the target",
            lines,
        ));
    }
    sections
}

/// The readiness findings as rows (severity, code, hop, object, message), and the checks that
/// did not run.
pub fn readiness_rows(report: &Report) -> Option<(String, Vec<[String; 5]>, Vec<String>)> {
    let r = report.readiness.as_ref()?;
    let hops: Vec<String> = r.hops.iter().map(ToString::to_string).collect();
    let title = if hops.is_empty() {
        format!("Upgrade readiness at {}", r.target)
    } else {
        format!(
            "Upgrade readiness {} → {} (hops: {})",
            r.current,
            r.target,
            hops.join(" → ")
        )
    };
    let rows = r
        .findings
        .iter()
        .map(|f| {
            [
                f.severity.as_str().to_owned(),
                f.code.clone(),
                f.hop.map_or_else(String::new, |h| h.to_string()),
                f.object.clone(),
                f.message.clone(),
            ]
        })
        .collect();
    let not_run = r
        .not_run
        .iter()
        .map(|n| format!("{}: {}", n.code, n.reason))
        .collect();
    Some((title, rows, not_run))
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
    if let Some(c) = &report.cluster {
        let server = c
            .info
            .server_version
            .as_deref()
            .map_or_else(String::new, |v| format!(" (server {v})"));
        let helm = plural(
            n(c.stats.helm_releases_scanned),
            "Helm release",
            "Helm releases",
        );
        if c.stats.resources_listed == 0 {
            let _ = write!(out, " Read {helm} from context {}{server}.", c.info.context);
        } else {
            let _ = write!(
                out,
                " Read {} in {} and {helm} from context {}{server}.",
                plural(n(c.stats.objects), "object", "objects"),
                plural(n(c.stats.resources_listed), "resource", "resources"),
                c.info.context,
            );
        }
    } else {
        let _ = write!(
            out,
            " Scanned {}, {}, {}.",
            plural(n(s.files), "file", "files"),
            plural(n(s.documents), "document", "documents"),
            plural(n(s.objects), "object", "objects"),
        );
    }
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
    if !report.suppressed.is_empty() {
        let (rules, annotations, baseline) = report.suppressed_counts();
        let parts: Vec<String> = [
            (rules, "by ignore rules"),
            (annotations, "by annotations"),
            (baseline, "by the baseline"),
        ]
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, by)| format!("{n} {by}"))
        .collect();
        let _ = write!(
            out,
            " Suppressed {}: {}.",
            plural(report.suppressed.len(), "finding", "findings"),
            parts.join(", ")
        );
    }
    if let Some(r) = &report.readiness {
        let count = |s: scanner_core::checks::Severity| {
            r.findings.iter().filter(|f| f.severity == s).count()
        };
        let _ = write!(
            out,
            "\nReadiness: {} ran: {}, {}, {}",
            plural(r.ran.len(), "check", "checks"),
            plural(
                count(scanner_core::checks::Severity::Blocker),
                "blocker",
                "blockers"
            ),
            plural(
                count(scanner_core::checks::Severity::Warning),
                "warning",
                "warnings"
            ),
            plural(count(scanner_core::checks::Severity::Info), "note", "notes"),
        );
        if !r.not_run.is_empty() {
            let _ = write!(
                out,
                "; {} not run",
                plural(r.not_run.len(), "check", "checks")
            );
        }
        out.push('.');
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
