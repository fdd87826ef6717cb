//! The one syntax for choosing codes, used by `--select`, `--ignore`, ignore rules and the
//! `upcheck.io/ignore` annotation: a whole code (`DRN001`), a prefix (`DRN`, `DEP`), or `*`;
//! case-insensitive.

/// Whether `pattern` chooses `code`.
pub fn matches(pattern: &str, code: &str) -> bool {
    let p = pattern.trim();
    p == "*"
        || (!p.is_empty()
            && code.len() >= p.len()
            && code.as_bytes()[..p.len()].eq_ignore_ascii_case(p.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn codes_prefixes_and_everything() {
        assert!(matches("DRN001", "DRN001") && matches("drn", "DRN004") && matches("*", "DEP002"));
        assert!(matches(" DEP ", "DEP001"));
        assert!(
            !matches("DRN0011", "DRN001") && !matches("", "DRN001") && !matches("SKEW", "DRN001")
        );
    }
}
