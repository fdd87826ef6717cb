//! The long explanation of any code, from the one registry: what `upcheck explain` prints and
//! what SARIF rules carry as help.

use std::fmt::Write as _;

use scanner_core::registry;
use scanner_core::{Family, Severity};

use crate::exit;

/// The explanation of `code` (case-insensitive), or `None` for a code no command emits.
pub fn explanation(code: &str) -> Option<String> {
    let info = registry::find(code)?;
    let text = match info.family {
        Family::Deprecation => format!(
            "{} · {}\n\n{} Exit code {}.\n",
            info.code,
            info.title,
            info.explanation,
            // Deprecations gate with their own exit code; removed and unknown versions share one.
            if info.severity == Severity::Warning {
                exit::DEPRECATED
            } else {
                exit::REMOVED
            }
        ),
        Family::Readiness => {
            let check = registry::check(info.code)?;
            // `configmaps in kube-system` for a resource read in one namespace only.
            let scoped = |r: &scanner_core::checks::Resource| match r.namespace() {
                Some(ns) => format!("{} in {ns}", r.reference()),
                None => r.reference(),
            };
            let needs: Vec<String> = check
                .needs
                .iter()
                .map(|r| format!("list {}", scoped(r)))
                .chain(
                    check
                        .uses
                        .iter()
                        .map(|r| format!("list {} (when allowed)", scoped(r))),
                )
                .chain(
                    scanner_core::checks::provider_calls(info.code)
                        .iter()
                        .map(|c| c.action().to_owned()),
                )
                .collect();
            // The removal facts the check acts on, each with its source (data, not prose).
            let mut facts = String::new();
            for (i, f) in scanner_core::checks::facts::of(info.code)
                .iter()
                .enumerate()
            {
                if i == 0 {
                    facts.push_str("Facts:\n");
                }
                let _ = writeln!(
                    facts,
                    "  {} {}: {} (source: {})",
                    f.id, f.minor, f.what, f.source
                );
            }
            format!(
                "{} · {} ({})\n\n{}\n\nReads:    {}\nApplies:  {}\nNeeds:    {}\nOffline:  {}\nFix:      {}\n{facts}",
                info.code,
                info.title,
                info.severity.as_str(),
                info.explanation,
                info.reads,
                info.applies,
                if needs.is_empty() {
                    "nothing beyond /version".to_owned()
                } else {
                    needs.join(", ")
                },
                if check.offline {
                    "runs on manifests too (upcheck files --checks)"
                } else {
                    "needs a live cluster"
                },
                info.remediation
            )
        }
        _ => {
            let mut t = format!(
                "{} · {} ({}, reported by upcheck {})\n\n{}\n",
                info.code,
                info.title,
                info.severity.as_str(),
                if info.family == Family::Plan {
                    "plan"
                } else {
                    "snapshot diff"
                },
                info.explanation
            );
            for (label, value) in [
                ("Reads:    ", info.reads),
                ("Applies:  ", info.applies),
                ("Fix:      ", info.remediation),
            ] {
                if !value.is_empty() {
                    if !t.ends_with("\n\n") && label.starts_with("Reads") {
                        t.push('\n');
                    }
                    t.push_str(label);
                    t.push_str(value);
                    t.push('\n');
                }
            }
            t
        }
    };
    let text = match info.retired {
        Some(why) => format!("{text}\nRetired: {why}\n"),
        None => text,
    };
    Some(text)
}

/// Codes that start like `code` does, for a "did you mean" on an unknown code.
pub fn near(code: &str) -> (String, Vec<&'static str>) {
    let prefix: String = code
        .chars()
        .take(3)
        .collect::<String>()
        .to_ascii_uppercase();
    let near = registry::all()
        .iter()
        .map(|c| c.code)
        .filter(|c| c.to_ascii_uppercase().starts_with(&prefix))
        .collect();
    (prefix, near)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_registered_code_explains() {
        for c in registry::all() {
            let text = explanation(c.code).unwrap_or_default();
            assert!(
                text.starts_with(&format!("{} · {}", c.code, c.title))
                    && text.contains(c.explanation),
                "{}: {text}",
                c.code
            );
            assert_eq!(explanation(&c.code.to_ascii_lowercase()), Some(text));
        }
        assert!(explanation("NOPE001").is_none());
        assert_eq!(near("drn9").1.first(), Some(&"DRN001"));
    }
}
