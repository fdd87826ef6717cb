//! GitHub Actions workflow commands: each finding becomes an annotation on its file and line
//! (`::error file=...,line=...::message`). Findings that fail the gate are errors, the others
//! warnings (readiness notes are notices); inputs that could not be read are errors.

use std::io::Write;

use anyhow::Result;
use scanner_core::checks::Severity;
use scanner_core::{Origin, Report};

use super::{RenderOptions, summary};
use crate::exit;

/// Escapes the message part of a workflow command.
fn data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a property value (also `:` and `,`, which end a property).
fn property(s: &str) -> String {
    data(s).replace(':', "%3A").replace(',', "%2C")
}

fn command(
    out: &mut dyn Write,
    level: &str,
    file: Option<(&str, u32, Option<u32>)>,
    title: &str,
    message: &str,
) -> std::io::Result<()> {
    let mut props = Vec::new();
    if let Some((path, line, col)) = file {
        props.push(format!("file={}", property(path.trim_start_matches("./"))));
        if line > 0 {
            props.push(format!("line={line}"));
        }
        if let Some(c) = col {
            props.push(format!("col={c}"));
        }
    }
    props.push(format!("title={}", property(title)));
    writeln!(out, "::{level} {}::{}", props.join(","), data(message))
}

pub fn render(report: &Report, opts: &RenderOptions, out: &mut dyn Write) -> Result<()> {
    for e in &report.errors {
        let file = (!e.path.starts_with('<') && !e.path.contains("://"))
            .then(|| (e.path.as_str(), e.line.unwrap_or(0), e.column));
        command(
            out,
            "error",
            file,
            &format!("upcheck: {}", e.kind.as_str()),
            &e.message,
        )?;
    }
    for f in &report.findings {
        let level = if exit::fails(f, opts.gate) {
            "error"
        } else {
            "warning"
        };
        let file = f
            .origin
            .is_none()
            .then_some(match f.location.api_version_position {
                Some(p) => (f.location.path.as_str(), p.line, Some(p.column)),
                None => (f.location.path.as_str(), f.location.line, None),
            });
        let object = f.object_ref();
        let message = match &f.origin {
            None => format!("{object}: {}", f.message),
            Some(Origin::Object { .. }) => format!("{}: {}", f.location.path, f.message),
            Some(Origin::Helm {
                release, namespace, ..
            }) => format!(
                "helm release {namespace}/{release}, {object}: {}",
                f.message
            ),
        };
        command(
            out,
            level,
            file,
            &format!("{} {}", f.code, f.code.name()),
            &message,
        )?;
    }
    if let Some(r) = &report.readiness {
        for f in &r.findings {
            let level = if exit::check_fails(f, opts.gate) {
                "error"
            } else if f.severity == Severity::Info {
                "notice"
            } else {
                "warning"
            };
            command(
                out,
                level,
                None,
                &format!("{} {}", f.code, f.severity.as_str()),
                &format!("{}: {}", f.object, f.message),
            )?;
        }
    }
    command(out, "notice", None, "upcheck", &summary(report))?;
    Ok(())
}
