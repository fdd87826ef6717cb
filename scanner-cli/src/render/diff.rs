//! Unified diffs of `upcheck fix`, in the form `git apply` and `patch -p1` take.
//!
//! Built from the edits the fixer made, not by comparing the texts: the changed lines are
//! known exactly, and a line-by-line comparison of large CRDs with many small changes cost
//! seconds per file.

use std::fmt::Write as _;

use scanner_core::report::{FileFix, TextEdit};

/// Lines of context around each change.
const CONTEXT: usize = 3;

/// The diff of every changed file, in the order given.
pub fn unified(files: &[FileFix]) -> String {
    let mut out = String::new();
    for f in files.iter().filter(|f| f.changed()) {
        let path = f.path.strip_prefix("./").unwrap_or(&f.path);
        let _ = writeln!(out, "--- a/{path}\n+++ b/{path}");
        hunks(&f.original, &f.edits, &mut out);
    }
    out
}

/// Lines `from..to` of the original, and what replaces them.
struct Region {
    from: usize,
    to: usize,
    new: String,
}

fn hunks(original: &str, edits: &[TextEdit], out: &mut String) {
    // Byte offset where each line starts; a final line without a line break counts.
    let mut starts = vec![0];
    starts.extend(
        original
            .match_indices('\n')
            .map(|(i, _)| i + 1)
            .filter(|&i| i < original.len()),
    );
    let lines = if original.is_empty() { 0 } else { starts.len() };
    let start_of = |line: usize| starts.get(line).copied().unwrap_or(original.len());
    let line_of = |byte: usize| starts.partition_point(|&s| s <= byte).saturating_sub(1);

    // Edits grouped into regions of whole lines; edits that share or touch lines join one.
    let mut groups: Vec<(usize, usize, Vec<&TextEdit>)> = Vec::new();
    for e in edits {
        let (from, to) = if e.start == original.len() {
            // At the very end: after the last line, or onto it when it has no line break.
            if original.is_empty() || original.ends_with('\n') {
                (lines, lines)
            } else {
                (lines - 1, lines)
            }
        } else {
            let from = line_of(e.start);
            let to = if e.end > e.start {
                line_of(e.end - 1) + 1
            } else if e.start == start_of(from) {
                from // an insertion before a line
            } else {
                from + 1
            };
            (from, to)
        };
        match groups.last_mut() {
            Some((_, last_to, group)) if from <= *last_to => {
                *last_to = (*last_to).max(to);
                group.push(e);
            }
            _ => groups.push((from, to, vec![e])),
        }
    }
    let regions: Vec<Region> = groups
        .into_iter()
        .map(|(from, to, group)| {
            let base = start_of(from);
            let mut new = String::new();
            let mut at = base;
            for e in group {
                new.push_str(&original[at..e.start]);
                new.push_str(&e.text);
                at = e.end;
            }
            new.push_str(&original[at..start_of(to)]);
            Region { from, to, new }
        })
        .collect();

    let line = |i: usize| &original[start_of(i)..start_of(i + 1)];
    let mut delta: isize = 0;
    let mut i = 0;
    while i < regions.len() {
        // Regions whose context would overlap make one hunk.
        let mut j = i;
        while j + 1 < regions.len() && regions[j + 1].from <= regions[j].to + 2 * CONTEXT {
            j += 1;
        }
        let old_start = regions[i].from.saturating_sub(CONTEXT);
        let old_end = (regions[j].to + CONTEXT).min(lines);
        let mut body = String::new();
        let mut old_count = 0;
        let mut new_count = 0;
        let mut at = old_start;
        for r in &regions[i..=j] {
            for k in at..r.from {
                push_line(&mut body, ' ', line(k));
                old_count += 1;
                new_count += 1;
            }
            for k in r.from..r.to {
                push_line(&mut body, '-', line(k));
                old_count += 1;
            }
            for l in r.new.split_inclusive('\n') {
                push_line(&mut body, '+', l);
                new_count += 1;
            }
            at = r.to;
        }
        for k in at..old_end {
            push_line(&mut body, ' ', line(k));
            old_count += 1;
            new_count += 1;
        }
        let new_start = old_start.saturating_add_signed(delta);
        let _ = writeln!(
            out,
            "@@ -{} +{} @@",
            range(old_start, old_count),
            range(new_start, new_count)
        );
        out.push_str(&body);
        delta += isize::try_from(new_count).unwrap_or(isize::MAX)
            - isize::try_from(old_count).unwrap_or(isize::MAX);
        i = j + 1;
    }
}

/// `start,count` in the unified format: 1-based, and the line before when nothing is there.
fn range(start: usize, count: usize) -> String {
    if count == 0 {
        format!("{start},0")
    } else {
        format!("{},{count}", start + 1)
    }
}

fn push_line(out: &mut String, prefix: char, line: &str) {
    out.push(prefix);
    out.push_str(line);
    if !line.ends_with('\n') {
        out.push_str("\n\\ No newline at end of file\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn diff(original: &str, edits: &[(usize, usize, &str)]) -> String {
        let edits: Vec<TextEdit> = edits
            .iter()
            .map(|&(start, end, text)| {
                let mut e = TextEdit::default();
                e.start = start;
                e.end = end;
                e.text = text.to_owned();
                e
            })
            .collect();
        let mut out = String::new();
        hunks(original, &edits, &mut out);
        out
    }

    #[test]
    fn a_changed_word_is_one_line_with_context() {
        let text = "a\nb\nc\nd\napiVersion: x\ne\nf\ng\nh\n";
        let at = text.find('x').unwrap_or(0);
        assert_eq!(
            diff(text, &[(at, at + 1, "y")]),
            "@@ -2,7 +2,7 @@\n b\n c\n d\n-apiVersion: x\n+apiVersion: y\n e\n f\n g\n"
        );
    }

    #[test]
    fn insertions_removals_and_far_apart_changes_make_separate_hunks() {
        let text = (1..=20).fold(String::new(), |mut s, i| {
            let _ = writeln!(s, "l{i}");
            s
        });
        let line3 = text.find("l3\n").unwrap_or(0);
        let line18 = text.find("l18\n").unwrap_or(0);
        let out = diff(&text, &[(line3, line3, "new\n"), (line18, line18 + 4, "")]);
        assert_eq!(
            out,
            "@@ -1,5 +1,6 @@\n l1\n l2\n+new\n l3\n l4\n l5\n@@ -15,6 +16,5 @@\n l15\n l16\n l17\n-l18\n l19\n l20\n"
        );
    }

    #[test]
    fn a_file_without_a_final_line_break() {
        assert_eq!(
            diff("a\nb", &[(2, 3, "c")]),
            "@@ -1,2 +1,2 @@\n a\n-b\n\\ No newline at end of file\n+c\n\\ No newline at end of file\n"
        );
        // Appending a line to such a file.
        assert_eq!(diff("a\n", &[(2, 2, "b\n")]), "@@ -1,1 +1,2 @@\n a\n+b\n");
        assert_eq!(
            diff("a\nb", &[(3, 3, "\nc")]),
            "@@ -1,2 +1,3 @@\n a\n-b\n\\ No newline at end of file\n+b\n+c\n\\ No newline at end of file\n"
        );
    }
}
