//! Unified diffs of `upcheck fix`, in the form `git apply` and `patch -p1` take.

use scanner_core::report::FileFix;
use similar::TextDiff;

/// The diff of every changed file, in the order given.
pub fn unified(files: &[FileFix]) -> String {
    let mut out = String::new();
    for f in files.iter().filter(|f| f.changed()) {
        let path = f.path.strip_prefix("./").unwrap_or(&f.path);
        let diff = TextDiff::from_lines(&f.original, &f.fixed);
        let body = diff
            .unified_diff()
            .context_radius(3)
            .header(&format!("a/{path}"), &format!("b/{path}"))
            .to_string();
        out.push_str(&body);
    }
    out
}
