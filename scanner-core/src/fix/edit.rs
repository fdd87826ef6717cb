//! Turns "this object before, and after" into byte edits of its text, touching only what
//! changed: a changed scalar is rewritten in its own quoting, a removed key loses its lines, a
//! new key is written after its predecessor at the mapping's indentation. Comments, key order,
//! quoting and blank lines elsewhere stay byte for byte. JSON stays JSON.

use serde_json::{Map, Value};

use super::tree::{Kind, Node, Style};

/// Replace `text[start..end]` with `text`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Edit {
    pub start: usize,
    pub end: usize,
    pub text: String,
}

/// How the document is written, so new lines look like their neighbours.
#[derive(Debug, Clone)]
pub(crate) struct Layout {
    eol: &'static str,
    /// Indentation step of nested block mappings.
    step: usize,
    /// Block sequences sit at their key's column (`key:\n- a`), as kubectl writes them.
    indentless: bool,
    /// The document is JSON: flow collections, quoted keys.
    json: bool,
    /// One level of JSON indentation ("  "), or `None` when the JSON is on one line.
    json_unit: Option<String>,
}

impl Layout {
    /// Reads the layout of `text` (one document) and its nodes.
    pub(crate) fn detect(text: &str, root: &Node) -> Self {
        let eol = if text.contains("\r\n") { "\r\n" } else { "\n" };
        let json = matches!(text.trim_start().as_bytes().first(), Some(b'{' | b'['));
        let json_unit = if json {
            text.lines()
                .skip(1)
                .map(|l| &l[..l.len() - l.trim_start().len()])
                .find(|w| !w.is_empty())
                .map(str::to_owned)
        } else {
            None
        };
        let mut layout = Layout {
            eol,
            step: 2,
            indentless: false,
            json,
            json_unit,
        };
        let mut seen_step = false;
        let mut seen_seq = false;
        detect_block_style(text, root, &mut layout, &mut seen_step, &mut seen_seq);
        layout
    }
}

fn detect_block_style(
    text: &str,
    node: &Node,
    layout: &mut Layout,
    seen_step: &mut bool,
    seen_seq: &mut bool,
) {
    let Kind::Map {
        flow: false,
        entries,
    } = &node.kind
    else {
        if let Kind::Seq { items, .. } = &node.kind {
            for item in items {
                detect_block_style(text, item, layout, seen_step, seen_seq);
            }
        }
        return;
    };
    for (key, value) in entries {
        let key_col = column(text, key.start);
        match &value.kind {
            Kind::Map {
                flow: false,
                entries: inner,
            } if !*seen_step && starts_line(text, value.start) => {
                if let Some((k, _)) = inner.first() {
                    let col = column(text, k.start);
                    if col > key_col {
                        layout.step = col - key_col;
                        *seen_step = true;
                    }
                }
            }
            Kind::Seq { flow: false, .. } if !*seen_seq => {
                layout.indentless = column(text, value.start) == key_col;
                *seen_seq = true;
            }
            _ => {}
        }
        if *seen_step && *seen_seq {
            return;
        }
        detect_block_style(text, value, layout, seen_step, seen_seq);
    }
}

/// Why a change could not be made in place.
enum Fail {
    /// The node's parent should rewrite the node whole.
    Replace,
    /// No edit is safe: the reason.
    Refuse(String),
}

/// The edits that turn the object at `node` (whose parsed value is `before`) into `after`.
/// Errors say why the change cannot be made safely (an anchor or alias in the way).
pub(crate) fn plan(
    text: &str,
    node: &Node,
    before: &Value,
    after: &Value,
    layout: &Layout,
) -> Result<Vec<Edit>, String> {
    let mut editor = Editor {
        text,
        layout,
        out: Vec::new(),
    };
    match editor.node(node, before, after, "") {
        Ok(()) => {}
        Err(Fail::Refuse(why)) => return Err(why),
        Err(Fail::Replace) => {
            editor.out.clear();
            if node.shared {
                return Err("the object is an anchor or alias; edit it by hand".to_owned());
            }
            let edit = editor.replace_whole(node, after);
            editor.out.push(edit);
        }
    }
    let mut edits = editor.out;
    // Insertions at a point go before a removal starting there.
    edits.sort_by_key(|e| (e.start, e.end));
    Ok(edits)
}

struct Editor<'t> {
    text: &'t str,
    layout: &'t Layout,
    out: Vec<Edit>,
}

impl Editor<'_> {
    fn node(&mut self, node: &Node, before: &Value, after: &Value, path: &str) -> Result<(), Fail> {
        if before == after {
            return Ok(());
        }
        if node.shared {
            return Err(Fail::Refuse(format!(
                "{} is an anchor or alias (shared with other nodes); change it by hand",
                if path.is_empty() { "the object" } else { path }
            )));
        }
        match (&node.kind, before, after) {
            (Kind::Map { flow, entries }, Value::Object(b), Value::Object(a)) => {
                if *flow {
                    self.flow_map(node, entries, b, a, path)
                } else {
                    self.block_map(entries, b, a, path)
                }
            }
            (Kind::Seq { items, .. }, Value::Array(b), Value::Array(a))
                if b.len() == a.len() && items.len() == b.len() =>
            {
                for (i, ((item, bv), av)) in items.iter().zip(b).zip(a).enumerate() {
                    let sub = format!("{path}[{i}]");
                    match self.node(item, bv, av, &sub) {
                        Err(Fail::Replace) => {
                            let edit = self.replace_whole(item, av);
                            self.out.push(edit);
                        }
                        other => other?,
                    }
                }
                Ok(())
            }
            (Kind::Scalar { style, value }, b, a)
                if is_scalar(b)
                    && is_scalar(a)
                    && !(value.is_empty() && *style == Style::Plain) =>
            {
                if *style == Style::Block {
                    return Err(Fail::Replace);
                }
                let rendered = if self.layout.json {
                    json_compact(a)
                } else {
                    yaml_scalar(a, *style)
                };
                self.out.push(Edit {
                    start: node.start,
                    end: node.end,
                    text: rendered,
                });
                Ok(())
            }
            _ => Err(Fail::Replace),
        }
    }

    fn block_map(
        &mut self,
        entries: &[(Node, Node)],
        b: &Map<String, Value>,
        a: &Map<String, Value>,
        path: &str,
    ) -> Result<(), Fail> {
        let plan = MapPlan::new(entries, b, a);
        // Every key goes: the new ones take the old ones' lines when those start lines (the
        // mapping is not left empty and not on a sequence dash); otherwise it is rewritten.
        let first_starts_line = entries
            .first()
            .is_some_and(|(k, _)| starts_line(self.text, k.start));
        if plan.empties_map() && (plan.added.is_empty() || !first_starts_line) {
            return Err(Fail::Replace);
        }
        for &i in &plan.removed {
            let (key, value) = &entries[i];
            if !starts_line(self.text, key.start) {
                // `- key: v`: the entry shares its line with the sequence dash.
                return Err(Fail::Replace);
            }
            let start = line_start(self.text, key.start);
            let end = self.line_end_after(value);
            self.out.push(Edit {
                start,
                end,
                text: String::new(),
            });
        }
        self.kept_entries(entries, &plan, b, a, path, false)?;
        // New keys, after the entry that precedes them in the converted object.
        let Some((first_key, first_value)) = entries.first() else {
            return Err(Fail::Replace);
        };
        let col = column(self.text, first_key.start);
        for (anchor, keys) in plan.added_groups() {
            let mut body = String::new();
            for k in keys {
                self.write_block_entry(&mut body, k, &a[k.as_str()], col);
            }
            let at = match anchor {
                Some(i) => self.line_end_after(&entries[i].1),
                None if starts_line(self.text, first_key.start) => {
                    line_start(self.text, first_key.start)
                }
                None => self.line_end_after(first_value),
            };
            let text = if at == self.text.len() && !self.text.ends_with('\n') {
                // The file ends without a line break: start one, end without.
                let trimmed = body.strip_suffix(self.layout.eol).unwrap_or(&body);
                format!("{}{trimmed}", self.layout.eol)
            } else {
                body
            };
            self.out.push(Edit {
                start: at,
                end: at,
                text,
            });
        }
        Ok(())
    }

    fn flow_map(
        &mut self,
        node: &Node,
        entries: &[(Node, Node)],
        b: &Map<String, Value>,
        a: &Map<String, Value>,
        path: &str,
    ) -> Result<(), Fail> {
        let plan = MapPlan::new(entries, b, a);
        if plan.empties_map() || entries.is_empty() {
            return Err(Fail::Replace);
        }
        let last = entries.len() - 1;
        // Removed entries go in runs, so that two neighbours never claim the same comma.
        let mut removed = plan.removed.clone();
        removed.sort_unstable();
        let mut k = 0;
        while k < removed.len() {
            let first = removed[k];
            let mut end = first;
            while k + 1 < removed.len() && removed[k + 1] == end + 1 {
                k += 1;
                end += 1;
            }
            k += 1;
            let (start, stop) = if end < last {
                (entries[first].0.start, entries[end + 1].0.start)
            } else {
                // A run at the end takes the comma before it (the map keeps an entry: a
                // mapping emptied whole is rewritten above).
                (entries[first - 1].1.end, entries[end].1.end)
            };
            self.out.push(Edit {
                start,
                end: stop,
                text: String::new(),
            });
        }
        self.kept_entries(entries, &plan, b, a, path, true)?;
        // The whitespace written between entries, as the document has it.
        let sep = if entries.len() > 1 {
            let gap = &self.text[entries[0].1.end..entries[1].0.start];
            gap.split_once(',').map_or(" ", |(_, s)| s).to_owned()
        } else {
            let gap = &self.text[node.start + 1..entries[0].0.start];
            if gap.is_empty() {
                " ".to_owned()
            } else {
                gap.to_owned()
            }
        };
        for (anchor, keys) in plan.added_groups() {
            let indent = line_indent(self.text, entries[0].0.start);
            let mut parts = Vec::new();
            for k in keys {
                parts.push(format!(
                    "{}: {}",
                    self.key_text(k),
                    self.flow_value(&a[k.as_str()], indent)
                ));
            }
            let (at, text) = match anchor {
                Some(i) => (
                    entries[i].1.end,
                    parts.iter().fold(String::new(), |mut s, p| {
                        s.push(',');
                        s.push_str(&sep);
                        s.push_str(p);
                        s
                    }),
                ),
                None => (
                    entries[0].0.start,
                    parts.iter().fold(String::new(), |mut s, p| {
                        s.push_str(p);
                        s.push(',');
                        s.push_str(&sep);
                        s
                    }),
                ),
            };
            self.out.push(Edit {
                start: at,
                end: at,
                text,
            });
        }
        Ok(())
    }

    /// Entries that stay (renamed or not): their key renamed in place, their value edited, or
    /// rewritten whole when it cannot be edited.
    fn kept_entries(
        &mut self,
        entries: &[(Node, Node)],
        plan: &MapPlan,
        b: &Map<String, Value>,
        a: &Map<String, Value>,
        path: &str,
        flow: bool,
    ) -> Result<(), Fail> {
        for (i, (key, value)) in entries.iter().enumerate() {
            let Some(name) = key.scalar() else { continue };
            let (new_name, av) = match plan.renamed.iter().find(|(r, _)| *r == i) {
                Some((_, to)) => {
                    self.out.push(Edit {
                        start: key.start,
                        end: key.end,
                        text: self.key_text(to),
                    });
                    (to.as_str(), &a[to.as_str()])
                }
                None => match a.get(name) {
                    Some(av) => (name, av),
                    None => continue,
                },
            };
            let Some(bv) = b.get(name) else { continue };
            let sub = join(path, new_name);
            match self.node(value, bv, av, &sub) {
                Err(Fail::Replace) if flow => {
                    let text = self.flow_value(av, line_indent(self.text, key.start));
                    self.out.push(Edit {
                        start: value.start,
                        end: value.end,
                        text,
                    });
                }
                Err(Fail::Replace) => {
                    let edit = self.replace_entry_value(key, value, av);
                    self.out.push(edit);
                }
                other => other?,
            }
        }
        Ok(())
    }

    /// Rewrites the value of a block mapping entry whole.
    fn replace_entry_value(&self, key: &Node, value: &Node, after: &Value) -> Edit {
        let col = column(self.text, key.start);
        let empty_value =
            matches!(&value.kind, Kind::Scalar { value: v, style: Style::Plain } if v.is_empty());
        let end = if empty_value {
            // `key:` with nothing after it: the null's position is wherever the next token is.
            let colon = self.text[key.end..]
                .find(':')
                .map_or(key.end, |i| key.end + i);
            colon + 1
        } else {
            value.end
        };
        let mut text = String::from(":");
        self.write_entry_value(&mut text, after, col);
        trim_eol(&mut text, self.layout.eol);
        Edit {
            start: key.end,
            end,
            text,
        }
    }

    /// Rewrites a node whole, in place: a sequence item, or the object itself.
    fn replace_whole(&self, node: &Node, after: &Value) -> Edit {
        let col = column(self.text, node.start);
        let text = if self.layout.json || Self::in_flow(node) {
            self.flow_value(after, line_indent(self.text, node.start))
        } else {
            let mut s = String::new();
            match after {
                Value::Object(m) if !m.is_empty() => {
                    for (k, v) in m {
                        self.write_block_entry(&mut s, k, v, col);
                    }
                }
                Value::Array(items) if !items.is_empty() => {
                    for v in items {
                        self.write_seq_item(&mut s, v, col);
                    }
                }
                other => {
                    return Edit {
                        start: node.start,
                        end: node.end,
                        text: Self::inline(other),
                    };
                }
            }
            trim_eol(&mut s, self.layout.eol);
            // The first line continues where the node started.
            s.split_off(col.min(s.len()))
        };
        Edit {
            start: node.start,
            end: node.end,
            text,
        }
    }

    fn in_flow(node: &Node) -> bool {
        matches!(
            node.kind,
            Kind::Map { flow: true, .. } | Kind::Seq { flow: true, .. }
        )
    }

    fn write_block_entry(&self, out: &mut String, key: &str, value: &Value, col: usize) {
        push_spaces(out, col);
        out.push_str(&self.key_text(key));
        out.push(':');
        self.write_entry_value(out, value, col);
    }

    /// What follows `key:` of an entry whose key sits at `col`: a scalar on the same line, a
    /// collection on the lines below.
    fn write_entry_value(&self, out: &mut String, value: &Value, col: usize) {
        match value {
            Value::Object(m) if !m.is_empty() => {
                out.push_str(self.layout.eol);
                for (k, v) in m {
                    self.write_block_entry(out, k, v, col + self.layout.step);
                }
            }
            Value::Array(items) if !items.is_empty() => {
                out.push_str(self.layout.eol);
                let dash = if self.layout.indentless {
                    col
                } else {
                    col + self.layout.step
                };
                for v in items {
                    self.write_seq_item(out, v, dash);
                }
            }
            other => {
                out.push(' ');
                out.push_str(&Self::inline(other));
                out.push_str(self.layout.eol);
            }
        }
    }

    fn write_seq_item(&self, out: &mut String, value: &Value, col: usize) {
        push_spaces(out, col);
        out.push('-');
        match value {
            Value::Object(m) if !m.is_empty() => {
                // The first entry shares the dash's line.
                let mut inner = String::new();
                for (k, v) in m {
                    self.write_block_entry(&mut inner, k, v, col + 2);
                }
                out.push(' ');
                out.push_str(&inner[col + 2..]);
            }
            other => {
                out.push(' ');
                out.push_str(&Self::inline(other));
                out.push_str(self.layout.eol);
            }
        }
    }

    /// A value on one line of block YAML: a scalar, or an empty or nested collection in flow
    /// style.
    fn inline(value: &Value) -> String {
        match value {
            Value::Object(_) | Value::Array(_) => json_compact(value),
            scalar => yaml_scalar(scalar, Style::Plain),
        }
    }

    /// A value in a flow collection: JSON, indented like the document when it spans lines.
    fn flow_value(&self, value: &Value, indent: &str) -> String {
        match &self.layout.json_unit {
            Some(unit) if self.layout.json && !is_scalar(value) => {
                let mut buf = Vec::new();
                let formatter = serde_json::ser::PrettyFormatter::with_indent(unit.as_bytes());
                let mut ser = serde_json::Serializer::with_formatter(&mut buf, formatter);
                if serde::Serialize::serialize(value, &mut ser).is_err() {
                    return json_compact(value);
                }
                let pretty = String::from_utf8(buf).unwrap_or_default();
                let sep = format!("{}{indent}", self.layout.eol);
                pretty.replace('\n', &sep)
            }
            _ => json_compact(value),
        }
    }

    fn key_text(&self, key: &str) -> String {
        if self.layout.json {
            json_compact(&Value::String(key.to_owned()))
        } else {
            yaml_scalar(&Value::String(key.to_owned()), Style::Plain)
        }
    }

    /// Where the line after a node's last line starts (or the end of the text).
    fn line_end_after(&self, node: &Node) -> usize {
        let end = node.end;
        if end > 0 && self.text.as_bytes()[end - 1] == b'\n' {
            return end;
        }
        self.text[end..]
            .find('\n')
            .map_or(self.text.len(), |i| end + i + 1)
    }
}

/// Which keys of a mapping go, stay, are renamed or come.
struct MapPlan {
    /// Entries (by index) whose key is gone and not renamed.
    removed: Vec<usize>,
    /// Entries renamed: index and new key.
    renamed: Vec<(usize, String)>,
    /// New keys (not renames), each with the index of the entry it follows, if any.
    added: Vec<(Option<usize>, String)>,
    survivors: usize,
}

impl MapPlan {
    #[allow(clippy::many_single_char_names)] // b(efore) and a(fter), as everywhere in this file
    fn new(entries: &[(Node, Node)], b: &Map<String, Value>, a: &Map<String, Value>) -> Self {
        let index_of = |k: &str| entries.iter().rposition(|(n, _)| n.scalar() == Some(k));
        // The surviving entry each new key follows in the converted object.
        let mut new_keys: Vec<(Option<usize>, &String)> = Vec::new();
        let mut previous: Option<usize> = None;
        for k in a.keys() {
            if b.contains_key(k) {
                previous = index_of(k).or(previous);
            } else {
                new_keys.push((previous, k));
            }
        }
        let mut removed: Vec<usize> = Vec::new();
        let mut last_kept: Option<usize> = None;
        let mut gone: Vec<(Option<usize>, usize)> = Vec::new();
        for (i, (k, _)) in entries.iter().enumerate() {
            match k.scalar() {
                Some(name) if !a.contains_key(name) => gone.push((last_kept, i)),
                _ => last_kept = Some(i),
            }
        }
        // A key that goes where a new key comes, with a value of the same shape, is a rename
        // (`JSONPath` to `jsonPath`): its value is edited, not rewritten.
        let mut renamed = Vec::new();
        let mut added = Vec::new();
        // Order-independent first: a new key whose value equals exactly one gone key's value.
        let mut i = 0;
        while i < new_keys.len() {
            let k = new_keys[i].1;
            let same: Vec<usize> = gone
                .iter()
                .enumerate()
                .filter(|(_, (_, e))| {
                    entries[*e].0.scalar().and_then(|n| b.get(n)) == Some(&a[k.as_str()])
                })
                .map(|(pos, _)| pos)
                .collect();
            if let [pos] = same[..] {
                let (_, e) = gone.remove(pos);
                renamed.push((e, k.clone()));
                new_keys.remove(i);
            } else {
                i += 1;
            }
        }
        // One key gone and one new, of the same shape (`backend` to `defaultBackend`).
        if let ([(_, e)], [(_, k)]) = (&gone[..], &new_keys[..])
            && entries[*e]
                .0
                .scalar()
                .and_then(|n| b.get(n))
                .is_some_and(|bv| same_shape(bv, &a[k.as_str()]))
        {
            renamed.push((*e, (*k).clone()));
            gone.clear();
            new_keys.clear();
        }
        for (after, k) in new_keys {
            let candidate = gone.iter().position(|&(kept, i)| {
                kept == after
                    && entries[i]
                        .0
                        .scalar()
                        .and_then(|name| b.get(name))
                        .is_some_and(|bv| same_shape(bv, &a[k.as_str()]))
            });
            match candidate {
                Some(pos) => {
                    let (_, i) = gone.remove(pos);
                    renamed.push((i, k.clone()));
                }
                None => added.push((after, k.clone())),
            }
        }
        removed.extend(gone.into_iter().map(|(_, i)| i));
        let survivors = entries.len() - removed.len();
        MapPlan {
            removed,
            renamed,
            added,
            survivors,
        }
    }

    /// Every entry goes: the mapping is rewritten whole.
    fn empties_map(&self) -> bool {
        self.survivors == 0
    }

    /// New keys grouped by the entry they follow, in order.
    fn added_groups(&self) -> Vec<(Option<usize>, Vec<&String>)> {
        let mut groups: Vec<(Option<usize>, Vec<&String>)> = Vec::new();
        for (anchor, k) in &self.added {
            match groups.iter_mut().find(|(a, _)| a == anchor) {
                Some((_, keys)) => keys.push(k),
                None => groups.push((*anchor, vec![k])),
            }
        }
        groups
    }
}

fn same_shape(a: &Value, b: &Value) -> bool {
    matches!(
        (a, b),
        (Value::Object(_), Value::Object(_)) | (Value::Array(_), Value::Array(_))
    ) || (is_scalar(a) && is_scalar(b))
}

fn is_scalar(v: &Value) -> bool {
    !matches!(v, Value::Object(_) | Value::Array(_))
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

fn json_compact(v: &Value) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

/// A scalar as YAML, in the quoting it had when that is still right.
fn yaml_scalar(v: &Value, style: Style) -> String {
    let Value::String(s) = v else {
        return json_compact(v);
    };
    match style {
        Style::Single if !s.contains('\n') => format!("'{}'", s.replace('\'', "''")),
        Style::Double => json_compact(v),
        _ if plain_is_string(s) => s.clone(),
        _ => json_compact(v),
    }
}

/// Whether `s` written plain reads back as that same string in block context, under YAML 1.2
/// and the 1.1 rules Kubernetes' own YAML library still applies (yes/no/on/off, timestamps).
fn plain_is_string(s: &str) -> bool {
    let Some(first) = s.chars().next() else {
        return false;
    };
    if s.trim() != s
        || "-?:,[]{}#&*!|>'\"%@`".contains(first)
        || s.contains(": ")
        || s.contains(" #")
        || s.ends_with(':')
        || s.chars().any(char::is_control)
    {
        return false;
    }
    let lower = s.to_ascii_lowercase();
    if matches!(
        lower.as_str(),
        "true" | "false" | "yes" | "no" | "y" | "n" | "on" | "off" | "null" | "~"
    ) {
        return false;
    }
    !reads_as_number_or_date(&lower)
}

/// Whether a plain scalar would be read as a number (any YAML 1.1 or 1.2 notation: `80`,
/// `1_000`, `0x1f`, `0o17`, `1e3`, `.5`, `.inf`, `1:30`) or a timestamp; `500Mi` and `1k` are
/// strings.
fn reads_as_number_or_date(lower: &str) -> bool {
    let unsigned = lower.trim_start_matches(['+', '-']);
    let digits =
        |s: &str, ok: fn(char) -> bool| !s.is_empty() && s.chars().all(|c| ok(c) || c == '_');
    if matches!(unsigned, ".inf" | ".nan") {
        return true;
    }
    if let Some(hex) = unsigned.strip_prefix("0x") {
        return digits(hex, |c| c.is_ascii_hexdigit());
    }
    if let Some(oct) = unsigned.strip_prefix("0o") {
        return digits(oct, |c| c.is_digit(8));
    }
    if let Some(bin) = unsigned.strip_prefix("0b") {
        return digits(bin, |c| c == '0' || c == '1');
    }
    let first = unsigned.chars().next();
    if !first.is_some_and(|c| c.is_ascii_digit() || c == '.') {
        return false;
    }
    // Sexagesimal (YAML 1.1) and dates: digits with `:` or a `YYYY-MM-DD` start.
    if unsigned.contains(':')
        && unsigned
            .split(':')
            .all(|p| digits(p, |c| c.is_ascii_digit() || c == '.'))
    {
        return true;
    }
    let bytes = unsigned.as_bytes();
    if bytes.len() >= 8 && bytes[..4].iter().all(u8::is_ascii_digit) && bytes[4] == b'-' {
        return true;
    }
    let plain: String = unsigned.chars().filter(|&c| c != '_').collect();
    plain.parse::<f64>().is_ok()
}

fn push_spaces(out: &mut String, n: usize) {
    out.extend(std::iter::repeat_n(' ', n));
}

fn trim_eol(s: &mut String, eol: &str) {
    if s.ends_with(eol) {
        s.truncate(s.len() - eol.len());
    }
}

fn line_start(text: &str, at: usize) -> usize {
    text[..at].rfind('\n').map_or(0, |i| i + 1)
}

fn column(text: &str, at: usize) -> usize {
    at - line_start(text, at)
}

/// Whether only spaces precede `at` on its line.
fn starts_line(text: &str, at: usize) -> bool {
    text[line_start(text, at)..at]
        .bytes()
        .all(|b| b == b' ' || b == b'\t')
}

/// The leading whitespace of the line holding `at`.
fn line_indent(text: &str, at: usize) -> &str {
    let start = line_start(text, at);
    let line = &text[start..];
    &line[..line.len() - line.trim_start_matches([' ', '\t']).len()]
}

/// Applies sorted, non-overlapping edits.
pub(crate) fn apply(text: &str, edits: &[Edit]) -> String {
    let mut out = String::with_capacity(text.len() + 256);
    let mut at = 0;
    for e in edits {
        if e.start < at {
            continue; // overlaps an earlier edit: `plan` never makes these
        }
        out.push_str(&text[at..e.start]);
        out.push_str(&e.text);
        at = e.end;
    }
    out.push_str(&text[at..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fix::tree;
    use serde_json::json;

    /// Edits `text` so it reads as `change(parsed)`; checks the result reads back as that.
    fn edit(text: &str, change: impl FnOnce(&mut Value)) -> String {
        let before: Value = serde_saphyr::from_str(text).expect("valid YAML");
        let mut after = before.clone();
        change(&mut after);
        let root = tree::parse(text).expect("parses").expect("a document");
        let layout = Layout::detect(text, &root);
        let edits = plan(text, &root, &before, &after, &layout).expect("an edit plan");
        let out = apply(text, &edits);
        let back: Value = serde_saphyr::from_str(&out).expect("the result is valid YAML");
        assert_eq!(
            back, after,
            "the edited text reads back as the converted object:\n{out}"
        );
        out
    }

    #[test]
    fn a_changed_scalar_keeps_its_quotes_and_the_comment_after_it() {
        let text = "apiVersion: \"extensions/v1beta1\" # old\nkind: Ingress\n";
        let out = edit(text, |v| v["apiVersion"] = json!("networking.k8s.io/v1"));
        assert_eq!(
            out,
            "apiVersion: \"networking.k8s.io/v1\" # old\nkind: Ingress\n"
        );
        let single = edit("a: 'x' # c\n", |v| v["a"] = json!("it's"));
        assert_eq!(single, "a: 'it''s' # c\n");
    }

    #[test]
    fn removed_keys_lose_their_lines_and_new_keys_follow_their_predecessor() {
        let text = "\
spec:
  rules:
  # the web rule
  - http:
      paths:
      - path: /   # root
        backend:
          serviceName: web
          servicePort: 80
";
        let out = edit(text, |v| {
            let p = &mut v["spec"]["rules"][0]["http"]["paths"][0];
            p["pathType"] = json!("ImplementationSpecific");
            p["backend"] = json!({"service": {"name": "web", "port": {"number": 80}}});
        });
        assert_eq!(
            out,
            "\
spec:
  rules:
  # the web rule
  - http:
      paths:
      - path: /   # root
        backend:
          service:
            name: web
            port:
              number: 80
        pathType: ImplementationSpecific
"
        );
    }

    #[test]
    fn a_renamed_key_keeps_its_value_and_position() {
        let text =
            "cols:\n- name: Age\n  JSONPath: .metadata.creationTimestamp # when\n  type: date\n";
        let out = edit(text, |v| {
            let c = v["cols"][0].as_object_mut().expect("map");
            let p = c.remove("JSONPath").expect("present");
            c.insert("jsonPath".into(), p);
        });
        assert_eq!(
            out,
            "cols:\n- name: Age\n  jsonPath: .metadata.creationTimestamp # when\n  type: date\n"
        );
    }

    #[test]
    fn crlf_files_get_crlf_lines() {
        let text = "a:\r\n  b: 1\r\n  c: 2\r\n";
        let out = edit(text, |v| v["a"]["d"] = json!({"e": "f"}));
        assert_eq!(out, "a:\r\n  b: 1\r\n  c: 2\r\n  d:\r\n    e: f\r\n");
    }

    #[test]
    fn json_stays_json_with_its_indentation() {
        let text = "{\n    \"apiVersion\": \"extensions/v1beta1\",\n    \"spec\": {\n        \"replicas\": 1\n    }\n}\n";
        let out = edit(text, |v| {
            v["apiVersion"] = json!("apps/v1");
            v["spec"]["selector"] = json!({"matchLabels": {"app": "x"}});
        });
        assert_eq!(
            out,
            "{\n    \"apiVersion\": \"apps/v1\",\n    \"spec\": {\n        \"replicas\": 1,\n        \"selector\": {\n            \"matchLabels\": {\n                \"app\": \"x\"\n            }\n        }\n    }\n}\n"
        );
        let removed = edit("{\"a\": 1, \"b\": 2, \"c\": 3}", |v| {
            v.as_object_mut().expect("map").remove("c");
        });
        assert_eq!(removed, "{\"a\": 1, \"b\": 2}");
        let trailing = edit("{\"a\": 1, \"b\": 2, \"c\": 3}", |v| {
            let m = v.as_object_mut().expect("map");
            m.remove("b");
            m.remove("c");
        });
        assert_eq!(
            trailing, "{\"a\": 1}",
            "two neighbours at the end share no comma"
        );
        let first = edit("{\"a\": 1, \"b\": 2}", |v| {
            v.as_object_mut().expect("map").remove("a");
        });
        assert_eq!(first, "{\"b\": 2}");
    }

    #[test]
    fn a_key_on_a_sequence_dash_line_rewrites_its_item() {
        let text = "items:\n- serviceName: a # x\n  other: 1\n- keep: 2\n";
        let out = edit(text, |v| {
            v["items"][0] = json!({"other": 1, "service": {"name": "a"}});
        });
        assert_eq!(
            out,
            "items:\n- other: 1\n  service:\n    name: a\n- keep: 2\n"
        );
    }

    #[test]
    fn changes_inside_an_anchor_or_alias_are_refused() {
        let text = "a: &x\n  b: 1\nc: *x\n";
        let before: Value = serde_saphyr::from_str(text).expect("valid");
        let mut after = before.clone();
        after["c"]["b"] = json!(2);
        let root = tree::parse(text).expect("parses").expect("doc");
        let layout = Layout::detect(text, &root);
        let why = plan(text, &root, &before, &after, &layout).expect_err("refused");
        assert!(why.contains("anchor or alias"), "{why}");
    }

    #[test]
    fn strings_that_would_read_back_as_something_else_are_quoted() {
        for s in [
            "true",
            "1",
            "1.5",
            "null",
            "yes",
            "-x",
            "a: b",
            "",
            " x",
            "2024-01-01",
            "~",
        ] {
            assert!(!plain_is_string(s), "{s:?} must be quoted");
        }
        for s in [
            "ImplementationSpecific",
            "web",
            "networking.k8s.io/v1",
            "a-b",
            "x:y",
        ] {
            assert!(plain_is_string(s), "{s:?} can stay plain");
        }
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use crate::fix::tree;
    use proptest::prelude::*;

    fn scalar() -> impl Strategy<Value = Value> {
        prop_oneof![
            "[a-z][a-z0-9./-]{0,8}".prop_map(Value::String),
            Just(Value::String("true".into())),
            Just(Value::String("80".into())),
            Just(Value::String("a: b".into())),
            (0u32..1000).prop_map(Value::from),
            any::<bool>().prop_map(Value::Bool),
        ]
    }

    fn value() -> impl Strategy<Value = Value> {
        scalar().prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 1..4).prop_map(Value::Array),
                prop::collection::btree_map("[a-e]{1,2}", inner, 1..5)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    /// A random edit somewhere in the tree: a scalar changed, a key removed, added or
    /// renamed, a value replaced by another shape.
    fn mutate(v: &mut Value, choice: &[u8], replacement: &Value) {
        let Some((&c, rest)) = choice.split_first() else {
            return;
        };
        match v {
            Value::Object(m) if !m.is_empty() => {
                let keys: Vec<String> = m.keys().cloned().collect();
                let k = &keys[usize::from(c) % keys.len()];
                match c % 6 {
                    0 if m.len() > 1 => {
                        m.remove(k);
                    }
                    5 if m.len() > 2 => {
                        // Two neighbours at once (the last two, often).
                        let next = keys[(usize::from(c) + 1) % keys.len()].clone();
                        m.remove(k);
                        m.remove(&next);
                    }
                    1 => {
                        m.insert(format!("new{c}"), replacement.clone());
                    }
                    2 => {
                        let moved = m.remove(k).unwrap_or(Value::Null);
                        m.insert(format!("{k}X"), moved);
                    }
                    _ => mutate(m.get_mut(k).expect("present"), rest, replacement),
                }
            }
            Value::Array(items) if !items.is_empty() => {
                let i = usize::from(c) % items.len();
                mutate(&mut items[i], rest, replacement);
            }
            other => *other = replacement.clone(),
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1000))]
        /// Whatever the change, the edited text reads back as exactly the changed value, or
        /// the editor refuses; nothing else is ever written.
        #[test]
        fn edits_read_back_as_the_changed_value(
            mut before in prop::collection::btree_map("[a-e]{1,2}", value(), 1..5)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
            choice in prop::collection::vec(any::<u8>(), 1..5),
            replacement in value(),
            json in any::<bool>(),
        ) {
            before["kind"] = Value::String("Thing".into());
            let text = if json {
                serde_json::to_string_pretty(&before).expect("serializes")
            } else {
                serde_saphyr::to_string(&before).expect("serializes")
            };
            let parsed: Value = serde_saphyr::from_str(&text).expect("reads back");
            let mut after = parsed.clone();
            mutate(&mut after, &choice, &replacement);
            let root = tree::parse(&text).expect("parses").expect("a document");
            let layout = Layout::detect(&text, &root);
            if let Ok(edits) = plan(&text, &root, &parsed, &after, &layout) {
                let out = apply(&text, &edits);
                let back: Value = serde_saphyr::from_str(&out)
                    .map_err(|e| TestCaseError::fail(format!("{e}\n{out}")))?;
                prop_assert_eq!(back, after, "{}", out);
            }
        }
    }
}
