//! `upcheck checks` and `upcheck explain`: the check catalog, from the one registry every
//! format and the docs use.

use std::fmt::Write as _;

use anyhow::{Context, Result, bail};
use scanner_core::Code;
use scanner_core::checks::{self, Check};
use serde_json::{Value, json};

use crate::args::{ChecksArgs, ChecksFormat, ExplainArgs};

fn write_stdout(text: &str) -> Result<u8> {
    super::write_stdout(text.as_bytes())?;
    Ok(crate::exit::OK)
}

fn check_json(c: &Check) -> Value {
    json!({
        "code": c.code,
        "title": c.title,
        "severity": c.severity,
        "reads": c.reads,
        "applies": c.applies,
        "remediation": c.remediation,
        "explanation": c.explanation,
        "needs": c.needs.iter().map(|r| r.reference()).collect::<Vec<_>>(),
        "uses": c.uses.iter().map(|r| r.reference()).collect::<Vec<_>>(),
        "offline": c.offline,
    })
}

/// `upcheck checks`.
pub fn list(args: &ChecksArgs) -> Result<u8> {
    if args.rbac {
        return rbac(args.output);
    }
    let text = match args.output {
        ChecksFormat::Json => {
            let all: Vec<Value> = checks::REGISTRY.iter().map(|c| check_json(c)).collect();
            serde_json::to_string_pretty(&all)? + "\n"
        }
        ChecksFormat::Markdown => {
            let mut t = String::from("| code | severity | check | applies |\n|---|---|---|---|\n");
            for c in checks::REGISTRY {
                let _ = writeln!(
                    t,
                    "| {} | {} | {} | {} |",
                    c.code,
                    c.severity.as_str(),
                    c.title,
                    c.applies
                );
            }
            t
        }
        ChecksFormat::Text => {
            let mut table = comfy_table::Table::new();
            table
                .load_style(comfy_table::presets::NOTHING)
                .set_content_arrangement(comfy_table::ContentArrangement::Disabled)
                .set_header(["CODE", "SEVERITY", "CHECK", "OFFLINE"]);
            for c in checks::REGISTRY {
                table.add_row([
                    c.code,
                    c.severity.as_str(),
                    c.title,
                    if c.offline { "yes" } else { "no" },
                ]);
            }
            let mut t = String::new();
            for line in table.to_string().lines() {
                let line = line.trim_end();
                let _ = writeln!(t, "{}", line.strip_prefix(' ').unwrap_or(line));
            }
            t.push_str("\nDeprecated-API codes: ");
            let deps: Vec<String> = Code::ALL
                .iter()
                .map(|c| format!("{} {}", c.as_str(), c.name()))
                .collect();
            t.push_str(&deps.join(", "));
            t.push_str(
                ".\nupcheck explain CODE prints what a check reads and how to fix what it finds.\n",
            );
            t
        }
        ChecksFormat::Yaml => bail!("-o yaml applies to --rbac only"),
    };
    write_stdout(&text)
}

/// The `ClusterRole` the readiness checks need, and the `Role`s for what they read in one
/// namespace only (kube-system's `ConfigMaps`).
fn rbac(format: ChecksFormat) -> Result<u8> {
    let mut roles = vec![checks::rbac::readiness_role()];
    roles.extend(checks::rbac::readiness_namespaced_roles());
    let text = match format {
        // One document: a List, as kubectl apply takes it.
        ChecksFormat::Json => {
            let list = serde_json::json!({"apiVersion": "v1", "kind": "List", "items": roles});
            serde_json::to_string_pretty(&list)? + "\n"
        }
        ChecksFormat::Yaml | ChecksFormat::Text => {
            let mut text = "# The ClusterRole and the kube-system Role the readiness checks need (read-only).\n".to_owned();
            for (i, role) in roles.iter().enumerate() {
                if i > 0 {
                    text.push_str("---\n");
                }
                text += &serde_saphyr::to_string(role).context("cannot write the role as YAML")?;
            }
            text
        }
        ChecksFormat::Markdown => bail!("--rbac prints yaml (default) or json"),
    };
    write_stdout(&text)
}

/// `upcheck explain CODE`.
pub fn explain(args: &ExplainArgs) -> Result<u8> {
    if let Some(text) = crate::render::explain::explanation(&args.code) {
        return write_stdout(&text);
    }
    unknown_code(&args.code)
}

fn unknown_code(code: &str) -> Result<u8> {
    let (prefix, near) = crate::render::explain::near(code);
    if near.is_empty() {
        bail!("unknown check code {code:?}; `upcheck checks` lists them");
    }
    bail!(
        "unknown check code {code:?}; codes starting with {prefix}: {}",
        near.join(", ")
    )
}
