//! A document's nodes with their byte ranges: what the editor needs to change one field and
//! leave every other byte (comments, quoting, key order, blank lines) as it was.

use serde_saphyr::granit_parser::{Event, Parser, ScalarStyle, StructureStyle};

/// One node of a parsed document.
#[derive(Debug)]
pub(crate) struct Node {
    /// Byte offset of the node's first content byte (for a quoted scalar, its opening quote).
    pub start: usize,
    /// Byte offset just past the node's last content byte (a flow collection's closing
    /// bracket; a block collection's last descendant).
    pub end: usize,
    pub kind: Kind,
    /// The node defines an anchor or is an alias: edits inside it would change other nodes
    /// too (or none), so the editor does not make them.
    pub shared: bool,
}

#[derive(Debug)]
pub(crate) enum Kind {
    Scalar {
        style: Style,
        value: String,
    },
    Map {
        flow: bool,
        entries: Vec<(Node, Node)>,
    },
    Seq {
        flow: bool,
        items: Vec<Node>,
    },
}

/// How a scalar is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Style {
    Plain,
    Single,
    Double,
    Block,
}

impl Node {
    /// The value of a mapping entry by key.
    pub(crate) fn get(&self, key: &str) -> Option<&Node> {
        match &self.kind {
            Kind::Map { entries, .. } => entries
                .iter()
                .rev() // the last of duplicate keys wins, as in the parsed value
                .find(|(k, _)| k.scalar() == Some(key))
                .map(|(_, v)| v),
            _ => None,
        }
    }

    /// The text of a scalar node.
    pub(crate) fn scalar(&self) -> Option<&str> {
        match &self.kind {
            Kind::Scalar { value, .. } => Some(value),
            _ => None,
        }
    }
}

/// Why a document could not be read into nodes.
#[derive(Debug)]
pub(crate) struct TreeError(pub String);

/// Reads the first document of `text` into nodes. Offsets are bytes into `text`.
pub(crate) fn parse(text: &str) -> Result<Option<Node>, TreeError> {
    let mut parser = Parser::new_from_str(text);
    let mut stack: Vec<Frame> = Vec::new();
    let mut root = None;
    while let Some(next) = parser.next_event() {
        let (event, span) = next.map_err(|e| TreeError(e.to_string()))?;
        let start = span.start.byte_offset().unwrap_or(0);
        let end = span.end.byte_offset().unwrap_or(start);
        let node = match event {
            Event::DocumentEnd if root.is_some() => break,
            Event::Scalar(value, style, anchor, _) => Some(Node {
                start,
                end,
                kind: Kind::Scalar {
                    style: match style {
                        ScalarStyle::Plain => Style::Plain,
                        ScalarStyle::SingleQuoted => Style::Single,
                        ScalarStyle::DoubleQuoted => Style::Double,
                        _ => Style::Block,
                    },
                    value: value.into_owned(),
                },
                shared: anchor != 0,
            }),
            Event::Alias(_) => Some(Node {
                start,
                end,
                // The alias's own value is not needed: nothing inside it is ever edited.
                kind: Kind::Scalar {
                    style: Style::Plain,
                    value: String::new(),
                },
                shared: true,
            }),
            Event::MappingStart(style, anchor, _) => {
                stack.push(Frame {
                    start,
                    flow: style == StructureStyle::Flow,
                    shared: anchor != 0,
                    map: true,
                    children: Vec::new(),
                });
                None
            }
            Event::SequenceStart(style, anchor, _) => {
                let flow = style == StructureStyle::Flow;
                stack.push(Frame {
                    // A block sequence starts at its first dash, not its first item.
                    start: if flow {
                        start
                    } else {
                        dash_before(text, start)
                    },
                    flow,
                    shared: anchor != 0,
                    map: false,
                    children: Vec::new(),
                });
                None
            }
            Event::MappingEnd | Event::SequenceEnd => {
                let frame = stack
                    .pop()
                    .ok_or_else(|| TreeError("unbalanced collection events".to_owned()))?;
                Some(frame.finish(end)?)
            }
            _ => None,
        };
        if let Some(node) = node {
            match stack.last_mut() {
                Some(parent) => parent.children.push(node),
                None => root = Some(node),
            }
        }
    }
    Ok(root)
}

/// The `-` that introduces the item at `at` (or `at` when there is none on its line).
fn dash_before(text: &str, at: usize) -> usize {
    let head = &text[..at];
    let trimmed = head.trim_end_matches([' ', '\t']);
    if trimmed.ends_with('-') {
        trimmed.len() - 1
    } else {
        at
    }
}

struct Frame {
    start: usize,
    flow: bool,
    shared: bool,
    map: bool,
    children: Vec<Node>,
}

impl Frame {
    fn finish(self, end_event_end: usize) -> Result<Node, TreeError> {
        // A flow collection ends at its bracket; a block one at its last descendant (its end
        // event sits wherever the next token starts, comments and blank lines included).
        let end = if self.flow {
            end_event_end
        } else {
            self.children.last().map_or(self.start, |c| c.end)
        };
        let kind = if self.map {
            if !self.children.len().is_multiple_of(2) {
                return Err(TreeError("a mapping with a key and no value".to_owned()));
            }
            let mut entries = Vec::with_capacity(self.children.len() / 2);
            let mut it = self.children.into_iter();
            while let (Some(k), Some(v)) = (it.next(), it.next()) {
                entries.push((k, v));
            }
            Kind::Map {
                flow: self.flow,
                entries,
            }
        } else {
            Kind::Seq {
                flow: self.flow,
                items: self.children,
            }
        };
        Ok(Node {
            start: self.start,
            end,
            kind,
            shared: self.shared,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slice<'a>(text: &'a str, n: &Node) -> &'a str {
        &text[n.start..n.end]
    }

    #[test]
    fn spans_cover_scalars_with_their_quotes_and_collections_to_their_last_child() {
        let text = "a: 1 # c\nb:\n  c: 'x'\n  d: [1, \"é\", 3]\n  # trailing\ne:\n- f: g\n  h: i\n";
        let root = parse(text).expect("parses").expect("a document");
        assert_eq!(slice(text, root.get("a").expect("a")), "1");
        let b = root.get("b").expect("b");
        assert_eq!(slice(text, b), "c: 'x'\n  d: [1, \"é\", 3]");
        assert_eq!(slice(text, b.get("c").expect("c")), "'x'");
        assert_eq!(slice(text, b.get("d").expect("d")), "[1, \"é\", 3]");
        let e = root.get("e").expect("e");
        assert_eq!(slice(text, e), "- f: g\n  h: i");
        let Kind::Seq { items, .. } = &e.kind else {
            panic!("sequence")
        };
        assert_eq!(slice(text, &items[0]), "f: g\n  h: i");
    }

    #[test]
    fn anchors_and_aliases_are_marked_shared() {
        let text = "a: &x {b: 1}\nc: *x\nd: 2\n";
        let root = parse(text).expect("parses").expect("a document");
        assert!(root.get("a").expect("a").shared);
        assert!(root.get("c").expect("c").shared);
        assert!(!root.get("d").expect("d").shared);
    }
}
