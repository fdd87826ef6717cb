//! The one registry of codes: every code any command emits (deprecated APIs, readiness checks,
//! plan steps, snapshot differences), each declared once as a [`CodeInfo`] next to what emits
//! it, listed here. `upcheck explain`, `upcheck checks`, SARIF rules, JUnit, the README tables
//! and the docs read this list; a code missing from it cannot be explained, so tests fail on
//! any emitted code that is not here.

use std::sync::LazyLock;

use crate::checks::{self, Check};
use crate::report::code::{self, CodeInfo, Family};
use crate::{code_pattern, plan, snapshot};

static ALL: LazyLock<Vec<&'static CodeInfo>> = LazyLock::new(|| {
    let mut all: Vec<&'static CodeInfo> = vec![&code::DEP001, &code::DEP002, &code::DEP003];
    all.extend(checks::REGISTRY.iter().map(|c| &c.info));
    all.extend(plan::CODES.iter().copied());
    all.extend(snapshot::CODES.iter().copied());
    all.sort_by_key(|c| (c.family, c.code));
    all
});

/// Every code, by family (deprecation, readiness, plan, snapshot) and then code.
pub fn all() -> &'static [&'static CodeInfo] {
    &ALL
}

/// The codes of one family.
pub fn family(family: Family) -> impl Iterator<Item = &'static CodeInfo> {
    ALL.iter().copied().filter(move |c| c.family == family)
}

/// The declaration of `code` (case-insensitive).
pub fn find(code: &str) -> Option<&'static CodeInfo> {
    ALL.iter()
        .copied()
        .find(|c| c.code.eq_ignore_ascii_case(code))
}

/// The readiness check behind `code`, when it is one (what it needs, whether it runs offline).
pub fn check(code: &str) -> Option<&'static Check> {
    checks::find(code)
}

/// Selectors (`--select`, `--ignore`, ignore rules' `codes`) that match no code: typos, to be
/// refused rather than silently matching nothing.
pub fn unmatched(patterns: &[String]) -> Vec<&str> {
    patterns
        .iter()
        .filter(|p| !ALL.iter().any(|c| code_pattern::matches(p, c.code)))
        .map(String::as_str)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_explained() {
        let mut codes: Vec<String> = all().iter().map(|c| c.code.to_ascii_uppercase()).collect();
        let n = codes.len();
        codes.sort();
        codes.dedup();
        assert_eq!(codes.len(), n, "a code is declared twice");
        for c in all() {
            assert!(!c.title.is_empty(), "{} has no title", c.code);
            assert!(
                c.explanation.len() > 60,
                "{} needs a real explanation",
                c.code
            );
        }
        assert!(find("dep001").is_some() && find("DRN001").is_some());
        assert!(find("workload-ready").is_some() && find("SKEW004").is_some());
        assert!(find("XYZ999").is_none());
    }

    #[test]
    fn selectors_that_match_nothing_are_found() {
        let patterns = vec![
            "DRN0001".to_owned(),
            "DEP".to_owned(),
            "drn".to_owned(),
            "*".to_owned(),
        ];
        assert_eq!(unmatched(&patterns), ["DRN0001"]);
    }
}
