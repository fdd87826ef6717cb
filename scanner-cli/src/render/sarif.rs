//! SARIF 2.1.0, shaped for code scanning (GitHub, GitLab, Azure DevOps): one rule per code
//! with its help text, results pointing at the `apiVersion` value of the object, and partial
//! fingerprints that do not change when lines move.

use std::fmt::Write as _;
use std::io::Write;

use anyhow::Result;
use scanner_core::checks::CheckFinding;
use scanner_core::registry;
use scanner_core::{ApiStatus, Code, Family, Finding, Origin, Report, Severity};
use serde_json::{Value, json};

use super::RenderOptions;

const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";
/// The key of upcheck's own fingerprint in `partialFingerprints`; the suffix is its version.
pub const FINGERPRINT_KEY: &str = "upcheck/v1";

/// A rule: code, name, one line, level.
struct Rule {
    id: String,
    name: String,
    short: String,
    level: &'static str,
}

fn rules() -> Vec<Rule> {
    let dep = Code::ALL.iter().map(|c| Rule {
        id: c.as_str().to_owned(),
        name: c.name().to_owned(),
        short: c.summary().to_owned(),
        level: match c {
            Code::DeprecatedApi => "warning",
            _ => "error",
        },
    });
    let readiness = registry::family(Family::Readiness).map(|c| Rule {
        id: c.code.to_owned(),
        name: c.code.to_ascii_lowercase(),
        short: c.title.to_owned(),
        level: level_of(c.severity),
    });
    dep.chain(readiness).collect()
}

fn level_of(s: Severity) -> &'static str {
    match s {
        Severity::Blocker => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}

/// A path as a relative URI reference: `/` separators, no `./`, reserved characters escaped.
/// Absolute paths become `file://` URIs.
fn uri(path: &str) -> String {
    let unified = path.replace('\\', "/");
    let absolute = unified.starts_with('/');
    let parts: Vec<&str> = unified
        .split('/')
        .filter(|s| !s.is_empty() && *s != ".")
        .collect();
    let mut out = String::with_capacity(path.len() + 8);
    if absolute {
        out.push_str("file:///");
    }
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            out.push('/');
        }
        for b in part.bytes() {
            if b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@".contains(&b) {
                out.push(char::from(b));
            } else {
                let _ = write!(out, "%{b:02X}");
            }
        }
    }
    out
}

fn finding_result(f: &Finding, rule_index: usize) -> Value {
    let location = match &f.origin {
        None => {
            let region = match f.location.api_version_position {
                Some(p) => json!({
                    "startLine": p.line,
                    "startColumn": p.column,
                    "endColumn": p.column as usize + f.api_version.chars().count(),
                }),
                None => json!({ "startLine": f.location.line.max(1) }),
            };
            json!({
                "physicalLocation": {
                    "artifactLocation": { "uri": uri(&f.location.path) },
                    "region": region,
                }
            })
        }
        // The object reference as the scan printed it (`ingresses.networking.k8s.io/ns/name`).
        Some(Origin::Object { .. }) => json!({
            "logicalLocations": [{
                "name": f.object_ref(),
                "fullyQualifiedName": f.location.path,
                "kind": "object",
            }]
        }),
        Some(Origin::Helm {
            release, namespace, ..
        }) => json!({
            "logicalLocations": [{
                "name": f.object_ref(),
                "fullyQualifiedName": format!("helm/{namespace}/{release}/{}", f.object_ref()),
                "kind": "object",
            }]
        }),
    };
    let mut properties = json!({
        "apiVersion": f.api_version,
        "kind": f.kind,
        "status": f.status.as_str(),
        "component": f.component,
    });
    if let Some(r) = &f.replacement {
        properties["replacement"] = json!(match &r.kind {
            Some(k) => format!("{} {k}", r.api_version),
            None => r.api_version.clone(),
        });
    }
    if let Some(v) = f.deprecated_in {
        properties["deprecatedIn"] = json!(v.to_string());
    }
    if let Some(v) = f.removed_in {
        properties["removedIn"] = json!(v.to_string());
    }
    let level = match f.status {
        ApiStatus::Deprecated if !f.replacement_unavailable() => "warning",
        _ => "error",
    };
    json!({
        "ruleId": f.code.as_str(),
        "ruleIndex": rule_index,
        "level": level,
        "message": { "text": format!("{}: {}", f.object_ref(), f.message) },
        "locations": [location],
        "partialFingerprints": { FINGERPRINT_KEY: f.fingerprint },
        "properties": properties,
    })
}

fn check_result(f: &CheckFinding, rule_index: usize) -> Value {
    let mut properties = json!({ "severity": f.severity.as_str() });
    if let Some(h) = f.hop {
        properties["hop"] = json!(h.to_string());
    }
    json!({
        "ruleId": f.code,
        "ruleIndex": rule_index,
        "level": level_of(f.severity),
        "message": { "text": format!("{}: {}", f.object, f.message) },
        "locations": [{
            "logicalLocations": [{ "name": f.object, "fullyQualifiedName": f.object, "kind": "object" }]
        }],
        "partialFingerprints": { FINGERPRINT_KEY: f.fingerprint },
        "properties": properties,
    })
}

pub fn render(report: &Report, _opts: &RenderOptions, out: &mut dyn Write) -> Result<()> {
    let rules = rules();
    let index = |id: &str| rules.iter().position(|r| r.id == id).unwrap_or(0);
    let rule_values: Vec<Value> = rules
        .iter()
        .map(|r| {
            let help = super::explain::explanation(&r.id).unwrap_or_default();
            // The explanation starts with its own heading line (`DRN001 · title`): bold it.
            let markdown = match help.trim_end().split_once("\n\n") {
                Some((head, rest)) => format!("**{head}**\n\n{rest}"),
                None => help.trim_end().to_owned(),
            };
            json!({
                "id": r.id,
                "name": r.name,
                "shortDescription": { "text": r.short },
                "fullDescription": { "text": r.short },
                "help": { "text": help, "markdown": markdown },
                "helpUri": "https://github.com/upcheck/upcheck#check-codes",
                "defaultConfiguration": { "level": r.level },
                "properties": {
                    "tags": ["kubernetes", if r.id.starts_with("DEP") { "deprecated-api" } else { "upgrade-readiness" }],
                    "precision": "very-high",
                    "problem.severity": match r.level { "note" => "recommendation", l => l },
                },
            })
        })
        .collect();
    // Results are made and written one at a time (below): held as JSON values all at once
    // they took about nine times the memory of the report.
    let results = || {
        report
            .findings
            .iter()
            .map(|f| finding_result(f, index(f.code.as_str())))
            .chain(
                report
                    .readiness
                    .iter()
                    .flat_map(|r| r.findings.iter().map(|f| check_result(f, index(&f.code)))),
            )
    };
    // What could not be read is not a finding, but the run is incomplete: say so where code
    // scanning shows tool problems.
    let notifications: Vec<Value> = report
        .errors
        .iter()
        .map(|e| {
            let mut n = json!({
                "level": "error",
                "message": { "text": e.to_string() },
                "descriptor": { "id": e.kind.as_str() },
            });
            if !e.path.starts_with('<') && e.line.is_some() {
                n["locations"] = json!([{
                    "physicalLocation": {
                        "artifactLocation": { "uri": uri(&e.path) },
                        "region": { "startLine": e.line.unwrap_or(1) },
                    }
                }]);
            }
            n
        })
        .collect();
    let targets: serde_json::Map<String, Value> = report
        .targets
        .iter()
        .map(|(c, t)| (c.to_owned(), json!(t.target.to_string())))
        .collect();
    let sarif = json!({
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {
                "driver": {
                    "name": "upcheck",
                    "version": report.tool.version,
                    "semanticVersion": report.tool.version,
                    "informationUri": "https://github.com/upcheck/upcheck",
                    "rules": rule_values,
                }
            },
            "invocations": [{
                "executionSuccessful": report.errors.is_empty(),
                "toolExecutionNotifications": notifications,
            }],
            "columnKind": "unicodeCodePoints",
            "results": [],
            "properties": {
                "catalogVersion": report.tool.catalog_version,
                "targets": targets,
                "suppressed": report.suppressed.len(),
            },
        }]
    });
    let text = serde_json::to_string_pretty(&sarif)?;
    // The empty `results` array of the run (keys at depth 3, six spaces): no string holds a
    // line break, so this line is that key.
    let mark = "\n      \"results\": []";
    let Some(at) = text.find(mark) else {
        anyhow::bail!("SARIF layout without a results array");
    };
    let (head, tail) = text.split_at(at + mark.len() - 2);
    out.write_all(head.as_bytes())?;
    // The pretty printer's layout of the array at depth 4, one element at a time.
    let mut any = false;
    let mut buf = Vec::new();
    for result in results() {
        buf.clear();
        serde_json::to_writer_pretty(&mut buf, &result)?;
        out.write_all(if any { b",\n" } else { b"[\n" })?;
        any = true;
        for (i, line) in buf.split(|&b| b == b'\n').enumerate() {
            if i > 0 {
                out.write_all(b"\n")?;
            }
            out.write_all(b"        ")?;
            out.write_all(line)?;
        }
    }
    if any {
        out.write_all(b"\n      ]")?;
    } else {
        out.write_all(b"[]")?;
    }
    out.write_all(&tail.as_bytes()[2..])?;
    writeln!(out)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::uri;

    #[test]
    fn uris() {
        assert_eq!(uri("./deploy//web app.yaml"), "deploy/web%20app.yaml");
        assert_eq!(uri("/abs/x#1.yaml"), "file:///abs/x%231.yaml");
        assert_eq!(uri("a\\b.yaml"), "a/b.yaml");
    }
}
