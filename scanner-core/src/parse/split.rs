//! Splits a YAML stream into documents without parsing them.
//!
//! A line that starts with `---` or `...` followed by white space or the line end is a document
//! marker wherever it appears: YAML forbids such lines inside any node, block scalars included
//! (YAML 1.2, `c-forbidden`). Splitting on them is therefore exact, and it lets every document be
//! parsed on its own, so that a syntax error in one never hides its siblings.

use memchr::memchr;

/// One document of a stream, before parsing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RawDocument<'a> {
    /// 0-based index among all documents of the stream, empty ones included.
    pub index: usize,
    /// The document's text: from just after its `---` (or the stream start) to its end.
    pub text: &'a str,
    /// Byte offset of `text` in the stream.
    pub offset: usize,
    /// 1-based line of the first byte of `text`.
    pub first_line: u32,
    /// 1-based line of the first content (not blank, not a comment); `None` for an empty
    /// document.
    pub content_line: Option<u32>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Marker {
    Start,
    End,
}

fn marker(line: &[u8]) -> Option<Marker> {
    let kind = match line.get(..3)? {
        b"---" => Marker::Start,
        b"..." => Marker::End,
        _ => return None,
    };
    match line.get(3) {
        None | Some(b' ' | b'\t' | b'\r' | b'\n') => Some(kind),
        _ => None,
    }
}

/// The starts of the lines that begin with `---` or `...`, in order. Markers are rare, so two
/// vectorised searches over the text replace a look at every line (the search for each line
/// end showed in profiles of large manifests).
fn marker_candidates(bytes: &[u8]) -> Vec<usize> {
    let mut found: Vec<usize> = memchr::memmem::find_iter(bytes, b"\n---")
        .chain(memchr::memmem::find_iter(bytes, b"\n..."))
        .map(|i| i + 1)
        .collect();
    if bytes.starts_with(b"---") || bytes.starts_with(b"...") {
        found.push(0);
    }
    found.sort_unstable();
    found
}

/// Returns the 1-based line of the first content in `text` (which starts on `first_line`), or
/// `None` if it has only blank lines, comments and directives.
fn first_content_line(text: &str, first_line: u32, directives_allowed: bool) -> Option<u32> {
    let bytes = text.as_bytes();
    let mut pos = 0;
    let mut line = first_line;
    while pos < bytes.len() {
        let end = memchr(b'\n', &bytes[pos..]).map_or(bytes.len(), |i| pos + i);
        let content = bytes[pos..end]
            .iter()
            .position(|b| !matches!(b, b' ' | b'\t' | b'\r'))
            .map(|i| bytes[pos + i]);
        match content {
            None | Some(b'#') => {}
            // Directives (`%YAML 1.2`) may only precede a `---`; they are not content.
            Some(b'%') if directives_allowed && bytes[pos] == b'%' => {}
            Some(_) => return Some(line),
        }
        pos = end + 1;
        line += 1;
    }
    None
}

/// Splits `text` into documents, numbering them as YAML loaders do: a document that starts with
/// `---` exists even when empty; text before the first marker, or after a `...`, is a document
/// only when it has content.
pub(crate) fn split_documents(text: &str) -> Vec<RawDocument<'_>> {
    fn close<'a>(
        docs: &mut Vec<RawDocument<'a>>,
        text: &'a str,
        from: usize,
        to: usize,
        first: u32,
        explicit: bool,
    ) {
        let body = &text[from..to];
        let content_line = first_content_line(body, first, !explicit);
        if explicit || content_line.is_some() {
            docs.push(RawDocument {
                index: docs.len(),
                text: body,
                offset: from,
                first_line: first,
                content_line,
            });
        }
    }

    let bytes = text.as_bytes();
    let mut docs = Vec::new();
    // The document being collected: start offset, its first line, whether it began with `---`.
    let mut start = 0usize;
    let mut start_line = 1u32;
    let mut explicit = false;
    // Lines are counted only up to the markers: a position and its 1-based line.
    let mut counted = (0usize, 1u32);
    let mut line_of = |at: usize| {
        let (from, line) = counted;
        let n = memchr::memchr_iter(b'\n', &bytes[from..at]).count();
        let line = line.saturating_add(u32::try_from(n).unwrap_or(u32::MAX));
        counted = (at, line);
        line
    };

    for pos in marker_candidates(bytes) {
        let Some(m) = marker(&bytes[pos..]) else {
            continue;
        };
        let line = line_of(pos);
        close(&mut docs, text, start, pos, start_line, explicit);
        match m {
            Marker::Start => {
                // Content may follow the marker on the same line (`--- {a: 1}`).
                start = pos + 3;
                start_line = line;
                explicit = true;
            }
            Marker::End => {
                let end = memchr(b'\n', &bytes[pos..]).map_or(bytes.len(), |i| pos + i);
                start = (end + 1).min(bytes.len());
                start_line = line + 1;
                explicit = false;
            }
        }
    }
    close(
        &mut docs,
        text,
        start.min(bytes.len()),
        bytes.len(),
        start_line,
        explicit,
    );
    docs
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(text: &str) -> Vec<(usize, Option<u32>, &str)> {
        split_documents(text)
            .into_iter()
            .map(|d| (d.index, d.content_line, d.text))
            .collect()
    }

    #[test]
    fn single_document_without_markers() {
        assert_eq!(shape("a: 1\nb: 2\n"), vec![(0, Some(1), "a: 1\nb: 2\n")]);
    }

    #[test]
    fn leading_marker_and_comments_before_it_are_not_documents() {
        assert_eq!(
            shape("# header\n---\na: 1\n"),
            vec![(0, Some(3), "\na: 1\n")]
        );
    }

    #[test]
    fn empty_documents_between_markers_count() {
        let docs = shape("---\n---\napiVersion: v1\n---\n");
        assert_eq!(docs.len(), 3);
        assert_eq!(docs[0].1, None);
        assert_eq!(docs[1].1, Some(3));
        assert_eq!(docs[2].1, None);
    }

    #[test]
    fn trailing_comment_only_document_after_marker_counts() {
        let docs = shape("a: 1\n---\n# nothing\n");
        assert_eq!(docs.len(), 2);
        assert!(docs[1].1.is_none());
    }

    #[test]
    fn document_end_marker_then_comments_is_not_a_document() {
        let docs = shape("a: 1\n...\n# trailing\n");
        assert_eq!(docs.len(), 1);
        let docs = shape("a: 1\n...\nb: 2\n");
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[1].1, Some(3));
    }

    #[test]
    fn marker_needs_whitespace_or_line_end_after_it() {
        assert_eq!(shape("a: |\n  x\n----\n").len(), 1);
        assert_eq!(shape("a: 1\n--- \nb: 2\n").len(), 2);
        assert_eq!(shape("a: 1\r\n---\r\nb: 2\r\n").len(), 2);
        assert_eq!(shape("  ---\n").len(), 1);
    }

    #[test]
    fn content_on_the_marker_line_stays_in_the_document() {
        let docs = split_documents("--- {a: 1}\n--- !!map\nb: 2\n");
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[0].text, " {a: 1}\n");
        assert_eq!(docs[0].content_line, Some(1));
        assert_eq!(docs[1].first_line, 2);
        assert_eq!(docs[1].offset, 14);
    }

    #[test]
    fn directive_before_marker_is_not_content() {
        let docs = shape("%YAML 1.2\n---\na: 1\n");
        assert_eq!(docs.len(), 1);
        assert_eq!(docs[0].1, Some(3));
    }

    /// The splitter as it was written first, looking at every line: the marker search must
    /// cut every text the same way.
    fn split_line_by_line(text: &str) -> Vec<RawDocument<'_>> {
        let bytes = text.as_bytes();
        let mut docs = Vec::new();
        let (mut start, mut start_line, mut explicit) = (0usize, 1u32, false);
        let mut out: Vec<(usize, usize, u32, bool)> = Vec::new();
        let (mut pos, mut line) = (0usize, 1u32);
        while pos < bytes.len() {
            let end = memchr(b'\n', &bytes[pos..]).map_or(bytes.len(), |i| pos + i);
            if let Some(m) = marker(&bytes[pos..end]) {
                out.push((start, pos, start_line, explicit));
                if m == Marker::Start {
                    (start, start_line, explicit) = (pos + 3, line, true);
                } else {
                    (start, start_line, explicit) = ((end + 1).min(bytes.len()), line + 1, false);
                }
            }
            pos = end + 1;
            line += 1;
        }
        out.push((start.min(bytes.len()), bytes.len(), start_line, explicit));
        for (from, to, first, explicit) in out {
            let body = &text[from..to];
            let content_line = first_content_line(body, first, !explicit);
            if explicit || content_line.is_some() {
                docs.push(RawDocument {
                    index: docs.len(),
                    text: body,
                    offset: from,
                    first_line: first,
                    content_line,
                });
            }
        }
        docs
    }

    #[test]
    fn marker_search_cuts_as_a_line_by_line_reading_does() {
        let pieces = [
            "---",
            "...",
            "--- ",
            "...\t",
            "---\r",
            "----",
            "..",
            "-",
            ".",
            "a: 1",
            "# c",
            "%YAML 1.2",
            " ---",
            "b: |",
            "  x",
            "--- {a: 1}",
            "\n",
            "\r\n",
            "",
        ];
        // Every sequence of three pieces, each ended by a line break or not.
        let mut texts = vec![String::new()];
        for _ in 0..3 {
            let mut next = Vec::new();
            for t in &texts {
                for p in &pieces {
                    next.push(format!("{t}{p}\n"));
                    next.push(format!("{t}{p}"));
                }
            }
            texts = next;
        }
        for t in &texts {
            assert_eq!(split_documents(t), split_line_by_line(t), "{t:?}");
        }
    }

    #[test]
    fn empty_stream_has_no_documents() {
        assert!(shape("").is_empty());
        assert!(shape("\n\n# c\n").is_empty());
    }
}
