//! Fingerprints: a finding's stable identity across runs, for baselines, SARIF and ignore
//! files. Identity without the line, plus the rank among identical objects of the same input,
//! hashed with FNV-1a so it is the same on every platform and release.

use std::collections::BTreeMap;

use super::Report;
use super::finding::{Finding, Origin};
use super::readiness::CheckFinding;

/// Gives every finding of `report` (readiness findings included) its fingerprint.
pub(crate) fn assign(report: &mut Report) {
    let mut seen: BTreeMap<String, u32> = BTreeMap::new();
    for f in &mut report.findings {
        let id = identity(f);
        let n = seen.entry(id.clone()).or_default();
        f.fingerprint = fingerprint(&format!("{id}\u{1f}{n}"));
        *n += 1;
    }
    if let Some(r) = &mut report.readiness {
        assign_checks(&mut r.findings);
    }
}

/// Fingerprints for readiness findings (identical ones are numbered in order).
pub(crate) fn assign_checks(findings: &mut [CheckFinding]) {
    let mut seen: BTreeMap<String, u32> = BTreeMap::new();
    for f in findings {
        let id = format!(
            "check\u{1f}{}\u{1f}{}\u{1f}{}",
            f.code,
            f.object,
            f.hop.map(|h| h.to_string()).unwrap_or_default()
        );
        let n = seen.entry(id.clone()).or_default();
        f.fingerprint = fingerprint(&format!("{id}\u{1f}{n}"));
        *n += 1;
    }
}

/// The identity of a finding, without its occurrence number.
fn identity(f: &Finding) -> String {
    let sep = '\u{1f}';
    let object = format!(
        "{}{sep}{}{sep}{}{sep}{}{sep}{}",
        f.api_version,
        f.kind,
        f.namespace.as_deref().unwrap_or(""),
        f.name.as_deref().unwrap_or(""),
        f.code.as_str()
    );
    match &f.origin {
        None => format!("file{sep}{}{sep}{object}", normal_path(&f.location.path)),
        Some(Origin::Object { resource, .. }) => format!("object{sep}{resource}{sep}{object}"),
        Some(Origin::Helm {
            release, namespace, ..
        }) => format!("helm{sep}{namespace}/{release}{sep}{object}"),
    }
}

/// `./a//b.yaml` and `a/b.yaml` are the same file; Windows separators count as `/`.
pub(crate) fn normal_path(p: &str) -> String {
    let p = p.replace('\\', "/");
    let parts: Vec<&str> = p
        .split('/')
        .filter(|s| !s.is_empty() && *s != ".")
        .collect();
    parts.join("/")
}

/// 64-bit FNV-1a, printed as 16 hex digits: stable across platforms, releases and runs
/// (the standard library's hashers promise none of that).
fn fingerprint(text: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_compared_in_one_form() {
        assert_eq!(normal_path("./deploy//a.yaml"), "deploy/a.yaml");
        assert_eq!(normal_path("deploy\\a.yaml"), "deploy/a.yaml");
    }

    #[test]
    fn fingerprints_are_stable() {
        // Pinned: a change here invalidates every baseline users have written.
        assert_eq!(fingerprint(""), "cbf29ce484222325");
        assert_eq!(fingerprint("a"), "af63dc4c8601ec8c");
    }
}
