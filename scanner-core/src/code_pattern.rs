//! Code patterns, the one syntax every place that picks codes by pattern uses: `--select`,
//! `--ignore`, `upcheck.toml` ignore rules and the `upcheck.io/ignore` annotation.
//!
//! A pattern is a code (`DRN004`), a prefix (`DRN`, `SKEW00`), or either with `*` wildcards
//! (`*`, `SKEW*1`, `DRN00*`); each `*` stands for any run of characters, none included.
//! Every pattern is a prefix: `DRN` and `DRN*` match the same codes. Matching ignores ASCII
//! case and the white space around the pattern; an empty pattern matches nothing.

/// Whether `pattern` matches `code` (see the [module documentation](self)).
///
/// ```
/// use scanner_core::code_pattern::matches;
///
/// assert!(matches("DRN004", "DRN004"));
/// assert!(matches("drn", "DRN004"));
/// assert!(matches("*", "SKEW001"));
/// assert!(matches("SKEW*1", "SKEW001"));
/// assert!(!matches("DRN005", "DRN004"));
/// assert!(!matches("", "DRN004"));
/// ```
pub fn matches(pattern: &str, code: &str) -> bool {
    let pattern = pattern.trim();
    !pattern.is_empty() && prefix_glob(pattern.as_bytes(), code.as_bytes())
}

/// Whether `code` starts with a text `pattern` matches, `*` matching any run of bytes. The
/// walk keeps only the last `*` to fall back to, so it takes at most pattern × code steps
/// whatever the pattern (a backtracking search is exponential in the number of `*`).
fn prefix_glob(pattern: &[u8], code: &[u8]) -> bool {
    let (mut p, mut c) = (0, 0);
    // The last `*` seen and where in the code its run currently ends.
    let mut star: Option<(usize, usize)> = None;
    loop {
        match pattern.get(p) {
            // The pattern is used up: whatever follows in the code is the prefix's tail.
            None => return true,
            Some(b'*') => {
                star = Some((p, c));
                p += 1;
            }
            Some(want)
                if code
                    .get(c)
                    .is_some_and(|got| got.eq_ignore_ascii_case(want)) =>
            {
                p += 1;
                c += 1;
            }
            _ => match star {
                Some((at, end)) if end < code.len() => {
                    star = Some((at, end + 1));
                    p = at + 1;
                    c = end + 1;
                }
                _ => return false,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn codes_prefixes_and_wildcards() {
        for (pattern, code) in [
            ("DRN004", "DRN004"),
            ("DRN", "DRN004"),
            ("drn", "DRN004"),
            (" DEP002 ", "DEP002"),
            ("*", "HLT001"),
            ("DRN*", "DRN004"),
            ("DRN00*", "DRN004"),
            ("SKEW*1", "SKEW001"),
            ("*001", "SKEW001"),
            ("S*W", "SKEW001"),
            ("**", "API002"),
            ("*A*P*I", "API002"),
        ] {
            assert!(matches(pattern, code), "{pattern:?} should match {code:?}");
        }
    }

    #[test]
    fn what_does_not_match() {
        for (pattern, code) in [
            ("DRN005", "DRN004"),
            ("DRN0041", "DRN004"),
            ("", "DRN004"),
            ("  ", "DRN004"),
            ("SKEW*2", "SKEW001"),
            ("*X", "SKEW001"),
            ("HLT", "DRN004"),
            ("DRN004*X", "DRN004"),
        ] {
            assert!(
                !matches(pattern, code),
                "{pattern:?} should not match {code:?}"
            );
        }
    }

    #[test]
    fn many_wildcards_stay_linear() {
        // Each `*` could end at any of the code's bytes: a backtracking search would try
        // about 8^30 ways before giving up here.
        let pattern = format!("{}X", "*S".repeat(30));
        assert!(!matches(&pattern, "SSSSSSS"));
        assert!(matches(&"*S".repeat(7), "SSSSSSS"));
    }
}
