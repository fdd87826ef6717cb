//! The fast path: reads a document's identity and checks its syntax without a YAML parser, for
//! the regular block-style YAML (and plain JSON) that nearly all manifests are written in.
//!
//! It answers only when it is sure. Any construct outside that regular subset (anchors, tags,
//! aliases, complex keys, multi-line flow collections, tabs in indentation, `items` at the top
//! level, duplicate identity keys, identity values that would not resolve to strings, control
//! characters, ...) makes it give up, and the document goes to the full parser, which also
//! produces the error messages for invalid documents. So the fast path never decides anything
//! the full parser would decide differently: tests compare the two on every fixture, on the
//! real-world sample, and on thousands of randomly damaged documents.
//!
//! Why it is fast: most of a large manifest is nested mappings and block scalars (CRD schemas,
//! descriptions). Block-scalar lines are skipped after an indentation check, other lines get a
//! few byte comparisons and a `memchr` search, and no value is built except the four identity
//! fields.

use memchr::{memchr, memchr2, memchr3};

use super::head::{Element, Head, Items, Located, Scalar};

/// Documents nested deeper than this many collections in block style, or on one line in flow
/// style, are left to the full parser, whose depth budget then decides.
const MAX_DEPTH: usize = 100;

/// The nesting the fast path may accept under a full-parser depth limit of `max_depth`: block
/// nesting and flow nesting on one line are each capped, so together (plus the root) they stay
/// under the limit, and every document the fast path answers for is one the full parser would
/// read too.
pub(crate) fn depth_cap(max_depth: usize) -> usize {
    MAX_DEPTH.min(max_depth.saturating_sub(2) / 2)
}
/// YAML limits implicit keys to 1024 characters; longer ones go to the full parser.
const MAX_KEY: usize = 1000;

/// Give up: the full parser decides.
struct Unsure;

type R<T> = Result<T, Unsure>;

/// The identity fields of one object read by the fast path.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct FastObject {
    /// Value, byte offset of its node (a quote included), 1-based line.
    pub api_version: Option<(String, usize, u32)>,
    pub kind: Option<String>,
    pub name: Option<String>,
    pub namespace: Option<String>,
}

impl FastObject {
    fn head(self, items: Items) -> Head {
        Head {
            api_version: self.api_version.map(|(value, offset, line)| Located {
                value: Scalar::Str(value),
                line,
                offset: Some(offset),
            }),
            kind: self.kind.map(Scalar::Str),
            name: self.name.map(Scalar::Str),
            namespace: self.namespace.map(Scalar::Str),
            items,
            duplicates: Vec::new(),
        }
    }
}

/// An element of the top-level `items` sequence: a mapping (with the line it starts on) or
/// anything else.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum FastItem {
    Mapping(FastObject, u32),
    Other,
}

/// The top-level `items` field.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) enum FastItems {
    #[default]
    Absent,
    NotSequence,
    Sequence(Vec<FastItem>),
}

/// The identity of a document read by the fast path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FastHead {
    pub object: FastObject,
    pub items: FastItems,
}

impl FastHead {
    /// The same [`Head`] the full parser would build for this document (as far as the
    /// documents, objects and positions derived from it go).
    pub fn into_head(self) -> Head {
        let items = match self.items {
            FastItems::Absent => Items::Absent,
            FastItems::NotSequence => Items::NotSequence,
            FastItems::Sequence(elements) => Items::Sequence(
                elements
                    .into_iter()
                    .map(|e| match e {
                        FastItem::Mapping(o, line) => Located {
                            value: Element::Mapping(o.head(Items::Absent)),
                            line,
                            offset: None,
                        },
                        FastItem::Other => Located {
                            value: Element::Other,
                            line: 0,
                            offset: None,
                        },
                    })
                    .collect(),
            ),
        };
        self.object.head(items)
    }
}

/// Reads a document's identity on the fast path; `None` when the full parser must decide.
/// `text` is the document as cut by the splitter (it may start with the rest of a `---` line).
pub(crate) fn skim(text: &str, cap: usize) -> Option<FastHead> {
    let bytes = text.as_bytes();
    if has_special_characters(bytes) {
        return None;
    }
    // The rest of a `---` line may only hold blanks or a comment.
    let first_end = memchr(b'\n', bytes).unwrap_or(bytes.len());
    let first_content = bytes.iter().position(|b| !b.is_ascii_whitespace());
    if first_content.is_some_and(|i| bytes[i] == b'{') {
        return json::skim(bytes, cap).ok();
    }
    let mut s = Skimmer::new(cap);
    let mut pos = 0usize;
    let mut line_no = 1u32;
    if bytes.first().is_some_and(|&b| b == b' ' || b == b'\t') {
        if !only_comment(&bytes[..first_end]) {
            return None;
        }
        pos = first_end + 1;
        line_no = 2;
    }
    while pos < bytes.len() {
        let end = memchr(b'\n', &bytes[pos..]).map_or(bytes.len(), |i| pos + i);
        s.line(&text[pos..end], pos, line_no).ok()?;
        pos = end + 1;
        line_no += 1;
    }
    s.finish().ok()
}

/// Characters YAML does not allow in a stream, and line breaks a line-based reader would miss:
/// left to the full parser.
fn has_special_characters(bytes: &[u8]) -> bool {
    // One pass over whole 64-byte blocks without early exits inside a block, so the compiler
    // vectorises it: this runs over every byte of every document (it showed in profiles). It
    // notes, besides the control characters that settle the answer, whether any `\r` or
    // non-ASCII byte occurs at all; real text rarely has either, and only then are the two
    // slower searches below needed.
    // Bit 0: a control character; bit 1: `\r`; bit 2: a byte of a non-ASCII character.
    let class = |b: u8| {
        u8::from(matches!(b, 0..=8 | 11 | 12 | 14..=31 | 0x7F))
            | (u8::from(b == b'\r') << 1)
            | ((b >> 7) << 2)
    };
    let mut seen = 0u8;
    for block in bytes.chunks(64) {
        seen |= block.iter().fold(0u8, |acc, &b| acc | class(b));
        if seen & 1 != 0 {
            return true;
        }
    }
    let (cr, high) = (seen & 2 != 0, seen & 4 != 0);
    // A carriage return is a line break of its own unless it precedes `\n`.
    if cr {
        let mut pos = 0;
        while let Some(i) = memchr(b'\r', &bytes[pos..]) {
            let at = pos + i;
            if bytes.get(at + 1) != Some(&b'\n') {
                return true;
            }
            pos = at + 1;
        }
    }
    // C1 controls and NEL (U+0080–U+009F), LS/PS (U+2028/2029), BOM and U+FFFE/FFFF.
    if high {
        let mut pos = 0;
        while let Some(i) = memchr3(0xC2, 0xE2, 0xEF, &bytes[pos..]) {
            let at = pos + i;
            let next = bytes.get(at + 1..at + 3).unwrap_or_default();
            let special = match bytes[at] {
                0xC2 => next.first().is_some_and(|b| (0x80..=0x9F).contains(b)),
                0xE2 => matches!(next, [0x80, 0xA8 | 0xA9]),
                _ => matches!(next, [0xBB, 0xBF] | [0xBF, 0xBE | 0xBF]),
            };
            if special {
                return true;
            }
            pos = at + 1;
        }
    }
    false
}

/// Eight bytes from `at`, the first in the lowest byte; `None` near the end.
#[inline]
fn word(b: &[u8], at: usize) -> Option<u64> {
    let chunk: [u8; 8] = b.get(at..at + 8)?.try_into().ok()?;
    Some(u64::from_le_bytes(chunk))
}

const ONES: u64 = u64::from_le_bytes([0x01; 8]);
const HIGHS: u64 = u64::from_le_bytes([0x80; 8]);

/// Marks (in the high bit of each byte) the bytes of `x` that are zero. Bytes above the first
/// marked one may be marked wrongly, so only the lowest mark is exact, which is all the
/// searches below use.
#[inline]
fn zero_bytes(x: u64) -> u64 {
    x.wrapping_sub(ONES) & !x & HIGHS
}

/// The index of the first byte that is not a space from `i` on. Indentation in CRDs and in
/// pretty-printed JSON runs 10 to 60 spaces, so it is counted eight bytes at a time.
#[inline]
fn skip_spaces(b: &[u8], mut i: usize) -> usize {
    const SPACES: u64 = u64::from_le_bytes([b' '; 8]);
    while let Some(w) = word(b, i) {
        let other = w ^ SPACES;
        if other != 0 {
            return i + (other.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while i < b.len() && b[i] == b' ' {
        i += 1;
    }
    i
}

fn is_blank(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// Whether `b` ends a token at a line end (`\n` is never in a line; `\r` only before it).
fn at_end(line: &[u8], i: usize) -> bool {
    i >= line.len() || (line[i] == b'\r' && i + 1 == line.len())
}

/// The rest of a line after a value: only blanks, or blanks and a comment.
fn only_comment(rest: &[u8]) -> bool {
    match rest.iter().position(|&b| !is_blank(b) && b != b'\r') {
        None => true,
        Some(i) => rest[i] == b'#' && i > 0,
    }
}

fn skip_blanks(line: &[u8], mut i: usize) -> usize {
    while i < line.len() && is_blank(line[i]) {
        i += 1;
    }
    i
}

/// Words that YAML resolves to booleans or null (YAML 1.1 and 1.2, as kubectl reads them).
fn is_special_word(v: &str) -> bool {
    matches!(
        v,
        "y" | "Y"
            | "yes"
            | "Yes"
            | "YES"
            | "n"
            | "N"
            | "no"
            | "No"
            | "NO"
            | "true"
            | "True"
            | "TRUE"
            | "false"
            | "False"
            | "FALSE"
            | "on"
            | "On"
            | "ON"
            | "off"
            | "Off"
            | "OFF"
            | "null"
            | "Null"
            | "NULL"
            | "~"
    )
}

/// Whether a plain scalar certainly resolves to a string: not a number, boolean or null.
fn plain_is_string(v: &str) -> bool {
    if v.is_empty() || is_special_word(v) {
        return false;
    }
    let b = v.as_bytes();
    // Anything that starts like a number (`1`, `-1`, `+.5`, `.inf`, `0x1F`) is left to the
    // full parser.
    let first = if matches!(b[0], b'+' | b'-') {
        b.get(1).copied()
    } else {
        Some(b[0])
    };
    !matches!(first, Some(b'0'..=b'9' | b'.'))
}

/// Reads a plain scalar starting at `start` (block context) up to a comment or the line end;
/// returns its end. Gives up on `: ` (a mapping value only the full parser may judge) and on a
/// value that ends with `:`.
fn plain(line: &[u8], start: usize) -> R<usize> {
    let mut end = line.len();
    let mut pos = start;
    while let Some(i) = memchr3(b':', b'#', b'\r', &line[pos..]) {
        let at = pos + i;
        match line[at] {
            b':' => {
                if at + 1 >= line.len() || is_blank(line[at + 1]) || line[at + 1] == b'\r' {
                    return Err(Unsure);
                }
            }
            b'#' => {
                if at > start && is_blank(line[at - 1]) {
                    end = at;
                    break;
                }
            }
            _ => {
                // `\r` only as the line end (checked for the whole document).
                end = at;
                break;
            }
        }
        pos = at + 1;
    }
    while end > start && is_blank(line[end - 1]) {
        end -= 1;
    }
    Ok(end)
}

/// Checks a double-quoted escape (`rest` starts after the backslash); returns how many bytes
/// beyond the escape letter it uses (`\x41` uses 2).
fn escape_len(rest: &[u8]) -> R<usize> {
    let hex = |n: usize| {
        let digits = rest.get(1..=n).ok_or(Unsure)?;
        if digits.iter().all(u8::is_ascii_hexdigit) {
            Ok(n)
        } else {
            Err(Unsure)
        }
    };
    match rest.first() {
        Some(
            b'0' | b'a' | b'b' | b't' | b'\t' | b'n' | b'v' | b'f' | b'r' | b'e' | b' ' | b'"'
            | b'/' | b'\\' | b'N' | b'_' | b'L' | b'P',
        ) => Ok(0),
        Some(b'x') => hex(2),
        // Surrogate code points are not characters: left to the full parser.
        Some(b'u') if !matches!(rest.get(1), Some(b'd' | b'D')) => hex(4),
        Some(b'U') => hex(8),
        _ => Err(Unsure),
    }
}

/// Scans quoted-scalar text from `pos` for the closing quote `q`. Returns the index of the
/// closing quote (`None` when the line ends first) and whether escapes were seen.
fn find_close(line: &[u8], mut pos: usize, q: u8) -> R<(Option<usize>, bool)> {
    let mut escaped = false;
    loop {
        let Some(i) = memchr2(q, b'\\', &line[pos..]) else {
            return Ok((None, escaped));
        };
        let at = pos + i;
        if line[at] == b'\\' {
            if q == b'"' {
                escaped = true;
                if at_end(line, at + 1) {
                    // An escaped line break: the scalar goes on.
                    return Ok((None, escaped));
                }
                pos = at + 2 + escape_len(&line[at + 1..])?;
                if pos > line.len() {
                    return Err(Unsure);
                }
            } else {
                pos = at + 1;
            }
            continue;
        }
        // `''` inside single quotes is an escaped quote.
        if q == b'\'' && line.get(at + 1) == Some(&b'\'') {
            escaped = true;
            pos = at + 2;
            continue;
        }
        return Ok((Some(at), escaped));
    }
}

/// A quoted scalar that closes on this line: the index after the closing quote.
fn quoted(line: &[u8], start: usize) -> R<usize> {
    let (close, _) = find_close(line, start + 1, line[start])?;
    Ok(close.ok_or(Unsure)? + 1)
}

/// The open collections of a flow value, on the stack of the caller: CRD schemas hold a short
/// flow sequence (`enum: [a, b]`) every few lines, and a heap stack cost an allocation each.
struct FlowStack {
    slots: [(u8, bool); MAX_DEPTH],
    len: usize,
}

impl FlowStack {
    fn new() -> Self {
        Self {
            slots: [(0, false); MAX_DEPTH],
            len: 0,
        }
    }

    fn len(&self) -> usize {
        self.len
    }

    fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn push(&mut self, entry: (u8, bool)) -> R<()> {
        *self.slots.get_mut(self.len).ok_or(Unsure)? = entry;
        self.len += 1;
        Ok(())
    }

    fn pop(&mut self) -> Option<(u8, bool)> {
        self.len = self.len.checked_sub(1)?;
        Some(self.slots[self.len])
    }

    fn last_mut(&mut self) -> Option<&mut (u8, bool)> {
        self.slots[..self.len].last_mut()
    }
}

/// Checks a flow collection that opens at `start` and closes on this line; returns the index
/// after it. Accepts plain words, quoted scalars, `key: value` pairs in mappings and nested
/// collections; anything else goes to the full parser.
fn flow(line: &[u8], start: usize, cap: usize) -> R<usize> {
    // Closing bracket per level, and whether the current mapping entry has had its `:`.
    let mut stack = FlowStack::new();
    let mut pos = start;
    // After an opening bracket or a comma, an entry (or a close) is expected.
    let mut expect_entry = true;
    while pos < line.len() {
        let b = line[pos];
        match b {
            b'[' | b'{' => {
                if !expect_entry || stack.len() >= cap {
                    return Err(Unsure);
                }
                stack.push((if b == b'[' { b']' } else { b'}' }, false))?;
                pos += 1;
            }
            b']' | b'}' => {
                if stack.pop().map(|(c, _)| c) != Some(b) {
                    return Err(Unsure);
                }
                pos += 1;
                expect_entry = false;
                if stack.is_empty() {
                    return Ok(pos);
                }
            }
            b',' => {
                if expect_entry {
                    return Err(Unsure);
                }
                if let Some(top) = stack.last_mut() {
                    top.1 = false;
                }
                expect_entry = true;
                pos += 1;
            }
            b' ' => pos += 1,
            b'"' | b'\'' => {
                if !expect_entry {
                    return Err(Unsure);
                }
                pos = quoted(line, pos)?;
                expect_entry = false;
                // A quoted key: `"a": 1`.
                if line.get(pos) == Some(&b':') {
                    let Some(top) = stack.last_mut().filter(|t| t.0 == b'}' && !t.1) else {
                        return Err(Unsure);
                    };
                    top.1 = true;
                    pos += 1;
                    if line.get(pos) != Some(&b' ') {
                        return Err(Unsure);
                    }
                    expect_entry = true;
                }
            }
            b':' => {
                // `key: value` inside a mapping: the one colon after a plain key.
                let Some(top) = stack.last_mut().filter(|t| t.0 == b'}' && !t.1) else {
                    return Err(Unsure);
                };
                if expect_entry || line.get(pos + 1) != Some(&b' ') {
                    return Err(Unsure);
                }
                top.1 = true;
                expect_entry = true;
                pos += 1;
            }
            b'#' | b'&' | b'*' | b'!' | b'|' | b'>' | b'%' | b'@' | b'`' | b'?' | b'\t' | b'\r' => {
                return Err(Unsure);
            }
            _ => {
                if !expect_entry
                    || (matches!(b, b'-' | b'?' | b':')
                        && line
                            .get(pos + 1)
                            .is_none_or(|n| matches!(n, b' ' | b',' | b'[' | b']' | b'{' | b'}')))
                {
                    return Err(Unsure);
                }
                // A plain word: up to a flow indicator or `: `.
                let mut end = pos;
                while end < line.len() {
                    match line[end] {
                        b',' | b'[' | b']' | b'{' | b'}' | b'#' | b'"' | b'\'' => break,
                        b':' if line
                            .get(end + 1)
                            .is_none_or(|n| matches!(n, b' ' | b',' | b']' | b'}')) =>
                        {
                            break;
                        }
                        b'\t' | b'\r' => return Err(Unsure),
                        _ => end += 1,
                    }
                }
                if end < line.len() && matches!(line[end], b'#' | b'"' | b'\'') {
                    return Err(Unsure);
                }
                pos = end;
                expect_entry = false;
            }
        }
    }
    Err(Unsure)
}

/// A value that is complete on its line.
struct Value<'a> {
    /// Its text, for plain and escape-free quoted values.
    text: Option<&'a str>,
    /// Where its node starts (the quote, for quoted values).
    node: usize,
    plain: bool,
    /// A comment follows it on the line (a plain scalar cannot go on after a comment).
    commented: bool,
}

/// What follows `key:` or `- `.
enum Rest<'a> {
    /// Nothing (or a comment): a nested block may follow.
    Empty,
    /// A block scalar header (`|`, `>-`, ...).
    BlockScalar,
    /// A value complete on this line.
    Scalar(Value<'a>),
    /// A quoted scalar that goes on to later lines.
    OpenQuote(u8),
    /// A flow collection on this line.
    Flow,
}

/// Classifies the text after `key:` or `- ` (starting at `start`, blanks already skipped).
/// Indices are at ASCII bytes, so slicing `text` there is always at character boundaries.
fn rest(text: &str, start: usize, cap: usize) -> R<Rest<'_>> {
    let line = text.as_bytes();
    if at_end(line, start) {
        return Ok(Rest::Empty);
    }
    match line[start] {
        b'#' => Ok(Rest::Empty),
        b'|' | b'>' => {
            let mut i = start + 1;
            if matches!(line.get(i), Some(b'+' | b'-')) {
                i += 1;
            }
            if only_comment(&line[i..]) {
                Ok(Rest::BlockScalar)
            } else {
                Err(Unsure)
            }
        }
        q @ (b'"' | b'\'') => {
            let (close, escaped) = find_close(line, start + 1, q)?;
            let Some(close) = close else {
                return Ok(Rest::OpenQuote(q));
            };
            if !only_comment(&line[close + 1..]) {
                return Err(Unsure);
            }
            let value = if escaped {
                None
            } else {
                Some(&text[start + 1..close])
            };
            Ok(Rest::Scalar(Value {
                text: value,
                node: start,
                plain: false,
                commented: false,
            }))
        }
        b'[' | b'{' => {
            let after = flow(line, start, cap)?;
            if only_comment(&line[after..]) {
                Ok(Rest::Flow)
            } else {
                Err(Unsure)
            }
        }
        b'&' | b'*' | b'!' | b'%' | b'@' | b'`' | b',' | b']' | b'}' => Err(Unsure),
        b'-' | b'?' | b':'
            if at_end(line, start + 1)
                || matches!(
                    line[start + 1],
                    b' ' | b'\t' | b',' | b'[' | b']' | b'{' | b'}'
                ) =>
        {
            Err(Unsure)
        }
        _ => {
            let end = plain(line, start)?;
            let commented = !line[end..].iter().all(|&b| is_blank(b) || b == b'\r');
            Ok(Rest::Scalar(Value {
                text: Some(&text[start..end]),
                node: start,
                plain: true,
                commented,
            }))
        }
    }
}

/// Finds a mapping key at `start`: the key text and the index after its `:`. `None` when the
/// line is not a `key:` line (a scalar).
fn key(text: &str, start: usize) -> R<Option<(&str, usize)>> {
    let line = text.as_bytes();
    let first = line[start];
    if first == b'"' || first == b'\'' {
        let (close, escaped) = find_close(line, start + 1, first)?;
        let Some(close) = close else { return Ok(None) };
        let i = skip_blanks(line, close + 1);
        if line.get(i) != Some(&b':') {
            return Ok(None);
        }
        if !(at_end(line, i + 1) || is_blank(line[i + 1])) || escaped || close - start > MAX_KEY {
            return Err(Unsure);
        }
        return Ok(Some((&text[start + 1..close], i + 1)));
    }
    if matches!(
        first,
        b'[' | b'{'
            | b'&'
            | b'*'
            | b'!'
            | b'|'
            | b'>'
            | b'%'
            | b'@'
            | b'`'
            | b'#'
            | b','
            | b']'
            | b'}'
    ) || (matches!(first, b'?' | b':' | b'-')
        && (at_end(line, start + 1) || is_blank(line[start + 1])))
    {
        return Err(Unsure);
    }
    let mut pos = start;
    loop {
        let Some(i) = memchr2(b':', b'#', &line[pos..]) else {
            return Ok(None);
        };
        let at = pos + i;
        if line[at] == b'#' {
            if is_blank(line[at - 1]) {
                // A comment before any `: `: the line is a bare scalar.
                return Ok(None);
            }
            pos = at + 1;
            continue;
        }
        if at_end(line, at + 1) || is_blank(line[at + 1]) {
            let mut end = at;
            while end > start && is_blank(line[end - 1]) {
                end -= 1;
            }
            if end - start > MAX_KEY {
                return Err(Unsure);
            }
            let key = &text[start..end];
            // Flow indicators in a plain key, and the merge key, are for the full parser.
            if key
                .bytes()
                .fold(false, |seen, b| seen | KEY_REFUSED[usize::from(b)])
                || key == "<<"
            {
                return Err(Unsure);
            }
            return Ok(Some((key, at + 1)));
        }
        pos = at + 1;
    }
}

/// Bytes a plain key may not hold on the fast path: flow indicators and tabs. A table and a
/// fold without early exits, since every key of every document passes (it showed in profiles).
static KEY_REFUSED: [bool; 256] = {
    let mut table = [false; 256];
    let mut i = 0;
    while i < 256 {
        #[allow(clippy::cast_possible_truncation)] // i < 256
        let b = i as u8;
        table[i] = matches!(b, b'[' | b']' | b'{' | b'}' | b',' | b'\t');
        i += 1;
    }
    table
};

/// The string value of an identity field, when it certainly is a string.
fn string_value(v: &Value<'_>) -> R<String> {
    let text = v.text.ok_or(Unsure)?;
    if v.plain && !plain_is_string(text) {
        return Err(Unsure);
    }
    Ok(text.to_owned())
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Map,
    Seq,
}

#[derive(Clone, Copy, Debug)]
struct Frame {
    indent: usize,
    kind: Kind,
}

/// Where `metadata` of an object is.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Meta {
    None,
    /// `metadata:` seen; its nested mapping starts on a later line.
    Pending,
    /// Inside `metadata`'s mapping, at this stack depth.
    At(usize),
}

/// An object whose identity is being read: the document, or an item of its `items`.
struct Ctx<'a> {
    /// Stack depth of the object's mapping.
    depth: usize,
    object: FastObject,
    /// Keys of the object's mapping seen so far (all keys for the document, whose duplicates
    /// the full parser warns about; identity keys for items).
    keys: Vec<&'a str>,
    meta_keys: Vec<&'a str>,
    meta: Meta,
}

impl<'a> Ctx<'a> {
    fn new(depth: usize) -> Self {
        Self {
            depth,
            object: FastObject::default(),
            keys: Vec::new(),
            meta_keys: Vec::new(),
            meta: Meta::None,
        }
    }

    /// A key of this object's own mapping. Identity fields must have the simple shape the full
    /// parser reads the same way. Returns whether the key is an identity field.
    fn own_key(
        &mut self,
        key: &'a str,
        rest: &Rest<'_>,
        line_start: usize,
        line_no: u32,
        all_keys: bool,
    ) -> R<bool> {
        let identity = matches!(key, "apiVersion" | "kind" | "metadata");
        if (all_keys || identity) && self.keys.contains(&key) {
            return Err(Unsure);
        }
        if all_keys || identity {
            self.keys.push(key);
        }
        self.meta = Meta::None;
        match (key, rest) {
            ("apiVersion", Rest::Scalar(v)) => {
                self.object.api_version = Some((string_value(v)?, line_start + v.node, line_no));
            }
            ("kind", Rest::Scalar(v)) => self.object.kind = Some(string_value(v)?),
            ("metadata", Rest::Empty) => self.meta = Meta::Pending,
            ("apiVersion" | "kind" | "metadata", _) => return Err(Unsure),
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// A key of this object's `metadata` mapping.
    fn meta_key(&mut self, key: &'a str, rest: &Rest<'_>) -> R<bool> {
        if !matches!(key, "name" | "namespace") {
            return Ok(false);
        }
        let Rest::Scalar(v) = rest else {
            return Err(Unsure);
        };
        if self.meta_keys.contains(&key) {
            return Err(Unsure);
        }
        self.meta_keys.push(key);
        let value = string_value(v)?;
        if key == "name" {
            self.object.name = Some(value);
        } else {
            self.object.namespace = Some(value);
        }
        Ok(true)
    }
}

/// The document's `items` field, as far as it has been read.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum ItemsState {
    Absent,
    /// `items:` seen; a sequence (or something else) may start on the next line.
    Pending,
    NotSequence,
    /// A block sequence whose frame is at this stack depth.
    Sequence(usize),
    /// `items: []`.
    Empty,
}

/// What the previous value leaves open for the lines after it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum After {
    /// Nothing special.
    Nothing,
    /// `key:` or `- ` with no value yet (its indentation; opened by a key): a nested block, or
    /// a scalar on the next lines, may follow.
    Opened(usize, bool),
    /// A plain scalar whose node is at this indentation: deeper lines continue it.
    Plain(usize),
    /// A finished value at this indentation: deeper lines (other than comments) are errors.
    Closed(usize),
    /// A quoted scalar that has not closed yet (quote, parent indentation).
    Quote(u8, usize),
    /// A block scalar (parent indentation, content indentation once known, spaces of the
    /// all-space lines before the first content line).
    Block(usize, Option<usize>, usize),
}

struct Skimmer<'a> {
    /// See [`depth_cap`].
    cap: usize,
    stack: Vec<Frame>,
    after: After,
    root_seen: bool,
    root: Ctx<'a>,
    items_state: ItemsState,
    items: Vec<FastItem>,
    /// The item being read, once its mapping has started.
    item: Option<(Ctx<'a>, u32)>,
}

impl<'a> Skimmer<'a> {
    fn new(cap: usize) -> Self {
        Self {
            cap,
            stack: Vec::with_capacity(16),
            after: After::Nothing,
            root_seen: false,
            root: Ctx::new(1),
            items_state: ItemsState::Absent,
            items: Vec::new(),
            item: None,
        }
    }

    /// Closes the item being read, if any.
    fn close_item(&mut self) {
        if let Some((ctx, line)) = self.item.take()
            && let Some(FastItem::Mapping(slot, slot_line)) = self.items.last_mut()
        {
            *slot = ctx.object;
            *slot_line = line;
        }
    }

    fn finish(mut self) -> R<FastHead> {
        if matches!(self.after, After::Quote(..))
            || !self.root_seen
            || self.stack.first().is_some_and(|f| f.kind != Kind::Map)
        {
            return Err(Unsure);
        }
        self.close_item();
        let items = match self.items_state {
            ItemsState::Absent => FastItems::Absent,
            ItemsState::Pending | ItemsState::NotSequence => FastItems::NotSequence,
            ItemsState::Sequence(_) => FastItems::Sequence(self.items),
            ItemsState::Empty => FastItems::Sequence(Vec::new()),
        };
        Ok(FastHead {
            object: self.root.object,
            items,
        })
    }

    /// The stack depth of the `items` sequence, if the document has one.
    fn items_depth(&self) -> Option<usize> {
        match self.items_state {
            ItemsState::Sequence(d) => Some(d),
            _ => None,
        }
    }

    /// Places a collection entry of `kind` at `indent` on the stack.
    fn place(&mut self, indent: usize, kind: Kind) -> R<()> {
        if let After::Opened(k, by_key) = self.after
            && (indent > k || (by_key && kind == Kind::Seq && indent == k))
        {
            if self.stack.len() >= self.cap {
                return Err(Unsure);
            }
            self.stack.push(Frame { indent, kind });
            return Ok(());
        }
        while self.stack.last().is_some_and(|f| f.indent > indent) {
            self.stack.pop();
        }
        // An indentless sequence under a key ends at the next key of that mapping.
        let n = self.stack.len();
        if kind == Kind::Map
            && n >= 2
            && self.stack[n - 1].indent == indent
            && self.stack[n - 1].kind == Kind::Seq
            && self.stack[n - 2].indent == indent
        {
            self.stack.pop();
        }
        match self.stack.last() {
            Some(f) if f.indent == indent && f.kind == kind => Ok(()),
            None if !self.root_seen && indent == 0 => {
                self.root_seen = true;
                self.stack.push(Frame { indent, kind });
                Ok(())
            }
            _ => Err(Unsure),
        }
    }

    /// What a value leaves open, for a node at `col`.
    fn after_value(rest: &Rest<'_>, col: usize) -> After {
        match rest {
            Rest::Empty => After::Opened(col, true),
            Rest::BlockScalar => After::Block(col, None, 0),
            Rest::Scalar(v) if v.plain && !v.commented => After::Plain(col),
            Rest::Scalar(_) | Rest::Flow => After::Closed(col),
            Rest::OpenQuote(q) => After::Quote(*q, col),
        }
    }

    /// A `key: ...` line (or the key of a compact mapping after `- `) at column `col`.
    fn key_line(&mut self, text: &'a str, col: usize, line_start: usize, line_no: u32) -> R<()> {
        let line = text.as_bytes();
        let (key, after) = key(text, col)?.ok_or(Unsure)?;
        self.place(col, Kind::Map)?;
        let depth = self.stack.len();
        let value_start = skip_blanks(line, after);
        let rest = rest(text, value_start, self.cap)?;
        if self.items_state == ItemsState::Pending {
            // `items:` followed by a mapping, or by nothing: not a sequence.
            self.items_state = ItemsState::NotSequence;
        }
        let mut identity = false;
        if depth == 1 {
            self.close_item();
            identity = self.root.own_key(key, &rest, line_start, line_no, true)?;
            if key == "items" {
                self.items_state = match &rest {
                    Rest::Empty => ItemsState::Pending,
                    Rest::Flow
                        if line[value_start..].starts_with(b"[]")
                            && only_comment(&line[value_start + 2..]) =>
                    {
                        ItemsState::Empty
                    }
                    Rest::Flow => return Err(Unsure),
                    _ => ItemsState::NotSequence,
                };
            }
        } else if self.items_depth().is_some_and(|d| depth == d + 1)
            && matches!(self.items.last(), Some(FastItem::Mapping(..)))
        {
            // A key of a list item's mapping: its first key starts the item.
            let item = self.item.get_or_insert_with(|| (Ctx::new(depth), line_no));
            identity = item.0.own_key(key, &rest, line_start, line_no, false)?;
        } else {
            for ctx in std::iter::once(&mut self.root).chain(self.item.as_mut().map(|i| &mut i.0)) {
                if ctx.meta == Meta::At(depth) {
                    identity = ctx.meta_key(key, &rest)?;
                }
            }
        }
        self.after = match (identity, &rest) {
            // A continuation line would change an identity value: refuse it.
            (true, Rest::Scalar(_)) => After::Closed(col),
            _ => Self::after_value(&rest, col),
        };
        Ok(())
    }

    /// A line inside a block scalar; `Ok(true)` when it belonged to the scalar.
    fn block_line(&mut self, line: &[u8]) -> R<bool> {
        let After::Block(parent, content, leading) = self.after else {
            return Ok(false);
        };
        let spaces = skip_spaces(line, 0);
        let rest = &line[spaces..];
        if rest.iter().all(|&c| c == b'\r' || c == b'\t') {
            if rest.contains(&b'\t') {
                return Err(Unsure);
            }
            if content.is_none() {
                self.after = After::Block(parent, None, leading.max(spaces));
            }
            return Ok(true);
        }
        match content {
            None if spaces > parent => {
                if leading > spaces {
                    return Err(Unsure);
                }
                self.after = After::Block(parent, Some(spaces), leading);
                Ok(true)
            }
            Some(m) if spaces >= m => Ok(true),
            Some(_) if spaces > parent => Err(Unsure),
            _ => {
                self.after = After::Nothing;
                Ok(false)
            }
        }
    }

    /// A line inside a quoted scalar that opened on an earlier line.
    fn quote_line(&mut self, line: &[u8], q: u8, parent: usize) -> R<()> {
        let spaces = skip_spaces(line, 0);
        if line.get(spaces) == Some(&b'\t') {
            return Err(Unsure);
        }
        if at_end(line, spaces) {
            return Ok(());
        }
        // Continuation lines may be indented any way (the full parser reads quoted scalars in
        // relaxed mode, as kubectl's YAML reader does).
        let (close, _) = find_close(line, spaces, q)?;
        if let Some(close) = close {
            if !only_comment(&line[close + 1..]) {
                return Err(Unsure);
            }
            self.after = After::Closed(parent);
        }
        Ok(())
    }

    fn line(&mut self, text: &'a str, line_start: usize, line_no: u32) -> R<()> {
        let line = text.as_bytes();
        if let After::Quote(q, parent) = self.after {
            return self.quote_line(line, q, parent);
        }
        if self.block_line(line)? {
            return Ok(());
        }
        let indent = skip_spaces(line, 0);
        if at_end(line, indent) {
            return Ok(());
        }
        match line[indent] {
            // Blank lines with tabs, and tab indentation, are for the full parser.
            b'\t' => return Err(Unsure),
            b'#' => {
                // A comment ends a plain scalar: it cannot go on after it.
                if let After::Plain(k) = self.after {
                    self.after = After::Closed(k);
                }
                return Ok(());
            }
            _ => {}
        }
        match self.after {
            After::Plain(k) if indent > k => return plain_continuation(line, indent),
            After::Closed(k) if indent > k => return Err(Unsure),
            After::Opened(k, true) if indent > k && !starts_entry(text, indent)? => {
                // `key:` followed by its scalar value on the next line.
                let rest = rest(text, indent, self.cap)?;
                if matches!(rest, Rest::Empty | Rest::BlockScalar) {
                    return Err(Unsure);
                }
                if self.root.meta == Meta::Pending
                    || self
                        .item
                        .as_ref()
                        .is_some_and(|i| i.0.meta == Meta::Pending)
                {
                    return Err(Unsure);
                }
                if self.items_state == ItemsState::Pending {
                    self.items_state = ItemsState::NotSequence;
                }
                self.after = Self::after_value(&rest, k);
                return Ok(());
            }
            _ => {}
        }
        // `metadata:` with its mapping on the next lines: the mapping is one level deeper.
        let next_depth = self.stack.len() + 1;
        for ctx in std::iter::once(&mut self.root).chain(self.item.as_mut().map(|i| &mut i.0)) {
            if ctx.meta == Meta::Pending {
                ctx.meta = if next_depth == ctx.depth + 1
                    && matches!(self.after, After::Opened(k, true) if indent > k)
                {
                    Meta::At(next_depth)
                } else {
                    Meta::None
                };
            }
        }
        if line[indent] == b'-' && (at_end(line, indent + 1) || line[indent + 1] == b' ') {
            return self.seq_line(text, indent, line_start, line_no);
        }
        if line[indent] == b'-' && line.get(indent + 1) == Some(&b'\t') {
            return Err(Unsure);
        }
        self.key_line(text, indent, line_start, line_no)
    }

    /// A `- ...` sequence entry at `indent`.
    fn seq_line(&mut self, text: &'a str, indent: usize, line_start: usize, line_no: u32) -> R<()> {
        let line = text.as_bytes();
        self.place(indent, Kind::Seq)?;
        if self.stack.len() == 1 {
            // A top-level sequence: left to the full parser (it may hold objects).
            return Err(Unsure);
        }
        if self.items_state == ItemsState::Pending {
            if self.stack.len() != 2 {
                return Err(Unsure);
            }
            self.items_state = ItemsState::Sequence(2);
        }
        let is_item = self.items_depth() == Some(self.stack.len());
        if is_item {
            // A new element of `items`: a mapping until shown otherwise.
            self.close_item();
            self.items
                .push(FastItem::Mapping(FastObject::default(), line_no));
        }
        let after = skip_blanks(line, indent + 1);
        if at_end(line, after) || line[after] == b'#' {
            self.after = After::Opened(indent, false);
            return Ok(());
        }
        let next = line[after];
        if next == b'-' && (at_end(line, after + 1) || is_blank(line[after + 1])) {
            return Err(Unsure);
        }
        if !matches!(next, b'|' | b'>' | b'[' | b'{') && key(text, after)?.is_some() {
            // A compact mapping (`- name: x`) opens at the key's column.
            self.after = After::Opened(indent, false);
            return self.key_line(text, after, line_start, line_no);
        }
        let rest = rest(text, after, self.cap)?;
        if is_item {
            match rest {
                Rest::Empty => {}
                // A flow mapping item would be an object: left to the full parser.
                Rest::Flow if next == b'{' => return Err(Unsure),
                _ => {
                    self.items.pop();
                    self.items.push(FastItem::Other);
                }
            }
        }
        self.after = match rest {
            Rest::Empty => After::Opened(indent, false),
            _ => Self::after_value(&rest, indent),
        };
        Ok(())
    }
}

/// Whether the line at `indent` starts a collection entry (`- ` or `key:`).
fn starts_entry(text: &str, indent: usize) -> R<bool> {
    let line = text.as_bytes();
    if line[indent] == b'-' && (at_end(line, indent + 1) || is_blank(line[indent + 1])) {
        return Ok(true);
    }
    if matches!(line[indent], b'|' | b'>' | b'[' | b'{') {
        return Ok(false);
    }
    Ok(key(text, indent)?.is_some())
}

/// A continuation line of a multi-line plain scalar. Any first character continues it, even an
/// indicator (`- b` after `k: a` reads as `a - b`); `: ` and comments are for the full parser.
fn plain_continuation(line: &[u8], indent: usize) -> R<()> {
    let end = plain(line, indent)?;
    // A comment on a continuation line ends the scalar; left to the full parser.
    if !line[end..].iter().all(|&b| is_blank(b) || b == b'\r') {
        return Err(Unsure);
    }
    Ok(())
}

/// The fast path for JSON documents: a complete JSON syntax check, and the identity fields with
/// their positions, in one pass.
mod json {
    use super::{
        FastHead, FastItem, FastItems, FastObject, HIGHS, MAX_KEY, ONES, R, Unsure, skip_spaces,
        word, zero_bytes,
    };

    struct Reader<'a> {
        b: &'a [u8],
        pos: usize,
        /// See [`super::depth_cap`].
        cap: usize,
        /// A position whose line is known, and that line.
        counted: (usize, u32),
        /// Scratch stack for [`Self::value`].
        open: Vec<bool>,
    }

    /// What a string token was.
    struct Str {
        /// Offset of the opening quote.
        start: usize,
        /// Offset after the closing quote.
        end: usize,
        escaped: bool,
    }

    impl<'a> Reader<'a> {
        fn ws(&mut self) {
            loop {
                match self.b.get(self.pos) {
                    // Pretty-printed JSON is mostly indentation: runs of spaces go eight at
                    // a time.
                    Some(b' ') => self.pos = skip_spaces(self.b, self.pos),
                    Some(b'\t' | b'\n' | b'\r') => self.pos += 1,
                    _ => return,
                }
            }
        }

        /// The first `"`, `\\` or control character from `pos` on, eight bytes at a time:
        /// one pass finds where a string ends and checks that it holds no raw line break.
        fn string_stop(&self, mut pos: usize) -> R<usize> {
            const QUOTES: u64 = ONES * b'"' as u64;
            const BACKSLASHES: u64 = ONES * b'\\' as u64;
            const CONTROLS: u64 = ONES * 0x20;
            while let Some(w) = word(self.b, pos) {
                // Bytes below 0x20 borrow in `w - 0x20..`; bytes with the high bit set
                // (non-ASCII) never count.
                let stops = zero_bytes(w ^ QUOTES)
                    | zero_bytes(w ^ BACKSLASHES)
                    | (w.wrapping_sub(CONTROLS) & !w & HIGHS);
                if stops != 0 {
                    return Ok(pos + (stops.trailing_zeros() / 8) as usize);
                }
                pos += 8;
            }
            self.b[pos..]
                .iter()
                .position(|&c| c == b'"' || c == b'\\' || c < 0x20)
                .map(|i| pos + i)
                .ok_or(Unsure)
        }

        fn peek(&self) -> R<u8> {
            self.b.get(self.pos).copied().ok_or(Unsure)
        }

        fn expect(&mut self, c: u8) -> R<()> {
            self.ws();
            if self.peek()? == c {
                self.pos += 1;
                Ok(())
            } else {
                Err(Unsure)
            }
        }

        fn string(&mut self) -> R<Str> {
            let start = self.pos;
            self.pos += 1;
            let mut escaped = false;
            loop {
                let at = self.string_stop(self.pos)?;
                // Raw control characters (and line breaks) are not allowed in JSON strings.
                if self.b[at] < 0x20 {
                    return Err(Unsure);
                }
                if self.b[at] == b'"' {
                    self.pos = at + 1;
                    return Ok(Str {
                        start,
                        end: self.pos,
                        escaped,
                    });
                }
                escaped = true;
                match self.b.get(at + 1) {
                    Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => {
                        self.pos = at + 2;
                    }
                    Some(b'u') => {
                        let hex = self.b.get(at + 2..at + 6).ok_or(Unsure)?;
                        // Surrogates (pairs included) are left to the full parser.
                        if !hex.iter().all(u8::is_ascii_hexdigit) || matches!(hex[0], b'd' | b'D') {
                            return Err(Unsure);
                        }
                        self.pos = at + 6;
                    }
                    _ => return Err(Unsure),
                }
            }
        }

        fn number(&mut self) -> R<()> {
            let digits = |r: &mut Self| {
                let s = r.pos;
                while r.pos < r.b.len() && r.b[r.pos].is_ascii_digit() {
                    r.pos += 1;
                }
                if r.pos == s { Err(Unsure) } else { Ok(()) }
            };
            if self.peek()? == b'-' {
                self.pos += 1;
            }
            if self.peek()? == b'0' {
                self.pos += 1;
            } else {
                digits(self)?;
            }
            if self.b.get(self.pos) == Some(&b'.') {
                self.pos += 1;
                digits(self)?;
            }
            if matches!(self.b.get(self.pos), Some(b'e' | b'E')) {
                self.pos += 1;
                if matches!(self.b.get(self.pos), Some(b'+' | b'-')) {
                    self.pos += 1;
                }
                digits(self)?;
            }
            Ok(())
        }

        fn literal(&mut self, word: &[u8]) -> R<()> {
            if self.b[self.pos..].starts_with(word) {
                self.pos += word.len();
                Ok(())
            } else {
                Err(Unsure)
            }
        }

        /// Any value, iteratively (no recursion, so no stack limit on depth).
        fn value(&mut self, depth: usize) -> R<()> {
            // The stack of open containers is kept between calls: one allocation per
            // document, not one per nested value.
            let mut open = std::mem::take(&mut self.open);
            open.clear();
            let read = self.value_in(depth, &mut open);
            self.open = open;
            read
        }

        /// [`Self::value`] with `open`, the stack of open containers (true for objects).
        fn value_in(&mut self, depth: usize, open: &mut Vec<bool>) -> R<()> {
            loop {
                self.ws();
                match self.peek()? {
                    b'{' | b'[' => {
                        if depth + open.len() >= self.cap {
                            return Err(Unsure);
                        }
                        let object = self.peek()? == b'{';
                        self.pos += 1;
                        self.ws();
                        let close = if object { b'}' } else { b']' };
                        if self.peek()? == close {
                            self.pos += 1;
                        } else {
                            open.push(object);
                            if object {
                                self.key()?;
                            }
                            continue;
                        }
                    }
                    b'"' => {
                        self.string()?;
                    }
                    b'-' | b'0'..=b'9' => self.number()?,
                    b't' => self.literal(b"true")?,
                    b'f' => self.literal(b"false")?,
                    b'n' => self.literal(b"null")?,
                    _ => return Err(Unsure),
                }
                // After a value: `,` (next entry), or close containers.
                loop {
                    let Some(&object) = open.last() else {
                        return Ok(());
                    };
                    self.ws();
                    match self.peek()? {
                        b',' => {
                            self.pos += 1;
                            if object {
                                self.key()?;
                            }
                            break;
                        }
                        b'}' if object => {
                            self.pos += 1;
                            open.pop();
                        }
                        b']' if !object => {
                            self.pos += 1;
                            open.pop();
                        }
                        _ => return Err(Unsure),
                    }
                }
            }
        }

        /// `"key":` inside an object.
        fn key(&mut self) -> R<Str> {
            self.ws();
            if self.peek()? != b'"' {
                return Err(Unsure);
            }
            let k = self.string()?;
            if k.end - k.start > MAX_KEY {
                return Err(Unsure);
            }
            self.expect(b':')?;
            Ok(k)
        }

        fn text(&self, s: &Str) -> R<String> {
            if s.escaped {
                return Err(Unsure);
            }
            Ok(std::str::from_utf8(&self.b[s.start + 1..s.end - 1])
                .map_err(|_| Unsure)?
                .to_owned())
        }

        /// An identity value: a string without escapes.
        fn identity_string(&mut self) -> R<Str> {
            self.ws();
            if self.peek()? != b'"' {
                return Err(Unsure);
            }
            let s = self.string()?;
            if s.escaped {
                return Err(Unsure);
            }
            Ok(s)
        }

        /// The 1-based line of `at`. Lines are counted forward from the last position asked
        /// about, so the items of a long `List` cost one pass over the text, not one each.
        fn line_at(&mut self, at: usize) -> R<u32> {
            let (from, line) = self.counted;
            let n = memchr::memchr_iter(b'\n', &self.b[from..at]).count();
            let line = line
                .checked_add(u32::try_from(n).map_err(|_| Unsure)?)
                .ok_or(Unsure)?;
            self.counted = (at, line);
            Ok(line)
        }

        /// A key's text. Escaped keys could spell an identity key: left to the full parser.
        fn key_text(&self, k: &Str) -> R<&'a [u8]> {
            if k.escaped {
                return Err(Unsure);
            }
            Ok(&self.b[k.start + 1..k.end - 1])
        }

        /// `metadata`'s object at nesting `depth`: `name` and `namespace` read, everything
        /// checked.
        fn metadata(&mut self, head: &mut FastObject, depth: usize) -> R<()> {
            if depth >= self.cap {
                return Err(Unsure);
            }
            self.expect(b'{')?;
            self.ws();
            if self.peek()? == b'}' {
                self.pos += 1;
                return Ok(());
            }
            let (mut name_seen, mut namespace_seen) = (false, false);
            loop {
                let k = self.key()?;
                match self.key_text(&k)? {
                    b"name" => {
                        if std::mem::replace(&mut name_seen, true) {
                            return Err(Unsure);
                        }
                        let v = self.identity_string()?;
                        head.name = Some(self.text(&v)?);
                    }
                    b"namespace" => {
                        if std::mem::replace(&mut namespace_seen, true) {
                            return Err(Unsure);
                        }
                        let v = self.identity_string()?;
                        head.namespace = Some(self.text(&v)?);
                    }
                    _ => self.value(depth + 1)?,
                }
                self.ws();
                match self.peek()? {
                    b',' => self.pos += 1,
                    b'}' => {
                        self.pos += 1;
                        return Ok(());
                    }
                    _ => return Err(Unsure),
                }
            }
        }

        /// The members of an object whose `{` has just been read, at nesting `depth` (0 for
        /// the document), through its `}`: identity fields read, everything else checked.
        /// `items` is given for the document only: a list's items are unwrapped one level, as
        /// kubectl does, so an item's own `items` is an ordinary value.
        fn members(&mut self, depth: usize, mut items: Option<&mut FastItems>) -> R<FastObject> {
            let mut head = FastObject::default();
            self.ws();
            if self.peek()? == b'}' {
                self.pos += 1;
                return Ok(head);
            }
            let top = items.is_some();
            // The full parser warns about any duplicate key of the document, so the document's
            // keys are all tracked; an item's duplicates are not reported, and only its
            // identity keys matter (their last value would win).
            let mut seen: Vec<&'a [u8]> = Vec::new();
            loop {
                let k = self.key()?;
                let name = self.key_text(&k)?;
                let identity = matches!(name, b"apiVersion" | b"kind" | b"metadata")
                    || (top && name == b"items");
                if top || identity {
                    if seen.contains(&name) {
                        return Err(Unsure);
                    }
                    seen.push(name);
                }
                match name {
                    b"apiVersion" => {
                        let v = self.identity_string()?;
                        let text = self.text(&v)?;
                        let line = self.line_at(v.start)?;
                        head.api_version = Some((text, v.start, line));
                    }
                    b"kind" => {
                        let v = self.identity_string()?;
                        head.kind = Some(self.text(&v)?);
                    }
                    b"metadata" => self.metadata(&mut head, depth + 1)?,
                    b"items" if top => {
                        if let Some(items) = items.as_deref_mut() {
                            *items = self.items(depth + 1)?;
                        }
                    }
                    _ => self.value(depth + 1)?,
                }
                self.ws();
                match self.peek()? {
                    b',' => self.pos += 1,
                    b'}' => {
                        self.pos += 1;
                        return Ok(head);
                    }
                    _ => return Err(Unsure),
                }
            }
        }

        /// The document's `items` at nesting `depth`: a sequence's elements (objects with the
        /// line of their `{`), or the fact that it is something else.
        fn items(&mut self, depth: usize) -> R<FastItems> {
            self.ws();
            if self.peek()? != b'[' {
                self.value(depth)?;
                return Ok(FastItems::NotSequence);
            }
            if depth + 1 >= self.cap {
                return Err(Unsure);
            }
            self.pos += 1;
            let mut out = Vec::new();
            self.ws();
            if self.peek()? == b']' {
                self.pos += 1;
                return Ok(FastItems::Sequence(out));
            }
            loop {
                self.ws();
                if self.peek()? == b'{' {
                    let line = self.line_at(self.pos)?;
                    self.pos += 1;
                    let object = self.members(depth + 1, None)?;
                    out.push(FastItem::Mapping(object, line));
                } else {
                    self.value(depth + 1)?;
                    out.push(FastItem::Other);
                }
                self.ws();
                match self.peek()? {
                    b',' => self.pos += 1,
                    b']' => {
                        self.pos += 1;
                        return Ok(FastItems::Sequence(out));
                    }
                    _ => return Err(Unsure),
                }
            }
        }
    }

    /// Reads a JSON object document, a `List`'s items included.
    pub(super) fn skim(b: &[u8], cap: usize) -> R<FastHead> {
        let mut r = Reader {
            b,
            pos: 0,
            cap,
            counted: (0, 1),
            open: Vec::new(),
        };
        if cap == 0 {
            return Err(Unsure);
        }
        r.expect(b'{')?;
        let mut items = FastItems::Absent;
        let object = r.members(0, Some(&mut items))?;
        r.ws();
        // One object per document; anything after it (a JSON stream) is for the full reader.
        if r.pos != b.len() {
            return Err(Unsure);
        }
        Ok(FastHead { object, items })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The word-at-a-time searches find what they look for at every offset, and the fast path
    /// answers (rather than giving up) for clean text around them.
    #[test]
    fn word_searches_find_every_offset() {
        for len in 0..40 {
            for at in 0..=len {
                let mut b = vec![b' '; len];
                if at < len {
                    b[at] = b'x';
                }
                assert_eq!(skip_spaces(&b, 0), at, "{len} {at}");
            }
        }
        for indent in [1, 7, 8, 9, 23] {
            let pad = " ".repeat(indent);
            let yaml = format!(
                "apiVersion: v1\nkind: S\nmetadata:\n{pad}name: web\nspec:\n{pad}k: [a, [b]]\n{pad}d: |\n{pad}  text\n"
            );
            let head = skim(&yaml, 100).expect("clean YAML is read on the fast path");
            assert_eq!(head.object.name.as_deref(), Some("web"));
            let json = format!(
                "{{\n{pad}\"apiVersion\": \"v1\",\n{pad}\"kind\": \"S\",\n{pad}\"metadata\": {{\"name\": \"a-long-name-é\"}},\n{pad}\"x\": [1, {{\"y\": \"{pad}\\\"q\\\"\\\\\"}}]\n}}\n"
            );
            let head = skim(&json, 100).expect("clean JSON is read on the fast path");
            assert_eq!(head.object.name.as_deref(), Some("a-long-name-é"));
        }
    }
}
