//! Reads only what a deprecation scan needs from a document: `apiVersion`, `kind`,
//! `metadata.name`, `metadata.namespace`, and `items` of lists, with positions.
//!
//! Everything else is consumed as `IgnoredAny`: the parser still checks the whole document's
//! syntax, but builds no tree. Duplicate keys keep the last value, as kubectl, `PyYAML` and
//! go-yaml v2 do, and are recorded so the report can warn about them.

use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_saphyr::Spanned;

/// A scalar value, or the fact that the node was not a scalar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Scalar {
    /// A string.
    Str(String),
    /// A number, boolean or null, written as text.
    Other(String),
    /// A mapping or a sequence.
    Collection,
}

impl Scalar {
    /// The node as text, when it was a scalar (names may be numbers).
    pub fn into_text(self) -> Option<String> {
        match self {
            Self::Str(s) | Self::Other(s) => Some(s),
            Self::Collection => None,
        }
    }
}

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Scalar;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any value")
            }
            fn visit_str<E>(self, v: &str) -> Result<Scalar, E> {
                Ok(Scalar::Str(v.to_owned()))
            }
            fn visit_string<E>(self, v: String) -> Result<Scalar, E> {
                Ok(Scalar::Str(v))
            }
            fn visit_bool<E>(self, v: bool) -> Result<Scalar, E> {
                Ok(Scalar::Other(v.to_string()))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Scalar, E> {
                Ok(Scalar::Other(v.to_string()))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Scalar, E> {
                Ok(Scalar::Other(v.to_string()))
            }
            fn visit_i128<E>(self, v: i128) -> Result<Scalar, E> {
                Ok(Scalar::Other(v.to_string()))
            }
            fn visit_u128<E>(self, v: u128) -> Result<Scalar, E> {
                Ok(Scalar::Other(v.to_string()))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Scalar, E> {
                Ok(Scalar::Other(v.to_string()))
            }
            fn visit_unit<E>(self) -> Result<Scalar, E> {
                Ok(Scalar::Other("null".into()))
            }
            fn visit_none<E>(self) -> Result<Scalar, E> {
                Ok(Scalar::Other("null".into()))
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Scalar, D::Error> {
                Scalar::deserialize(d)
            }
            fn visit_bytes<E>(self, _: &[u8]) -> Result<Scalar, E> {
                Ok(Scalar::Other("<binary>".into()))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut s: A) -> Result<Scalar, A::Error> {
                while s.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Scalar::Collection)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Scalar, A::Error> {
                while m.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Scalar::Collection)
            }
        }
        d.deserialize_any(V)
    }
}

/// A value with its position in the document text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Located<T> {
    pub value: T,
    /// 1-based line within the parsed text (0 when unknown).
    pub line: u32,
    /// Byte offset within the parsed text, when the value is written here (not an alias).
    pub offset: Option<usize>,
}

impl<T> Located<T> {
    fn from_spanned(s: Spanned<T>) -> Self {
        let line = u32::try_from(s.referenced.line()).unwrap_or(u32::MAX);
        // A value reached through an alias is written elsewhere: rewriting it in place would
        // be wrong, so it gets no offset.
        let offset = if s.referenced == s.defined {
            s.referenced
                .span()
                .byte_offset()
                .and_then(|o| usize::try_from(o).ok())
        } else {
            None
        };
        Self {
            value: s.value,
            line,
            offset,
        }
    }
}

/// The fields of a mapping that identify an object.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Head {
    pub api_version: Option<Located<Scalar>>,
    pub kind: Option<Scalar>,
    pub name: Option<Scalar>,
    pub namespace: Option<Scalar>,
    /// The `items` field.
    pub items: Items,
    /// Keys given more than once (top level and `metadata`), with the lines seen.
    pub duplicates: Vec<Duplicate>,
}

/// A key written more than once in one mapping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Duplicate {
    /// `apiVersion`, or `metadata.name`.
    pub key: String,
    /// 1-based lines of each occurrence, within the parsed text.
    pub lines: Vec<u32>,
}

/// An element of a sequence (`items` of a list, or a top-level sequence).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Element {
    Mapping(Head),
    Other,
}

/// A whole document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Shape {
    Mapping(Head),
    Sequence(Vec<Located<Element>>),
    Scalar,
    Null,
}

struct KeySeen {
    key: String,
    lines: Vec<u32>,
}

fn note_key(seen: &mut Vec<KeySeen>, key: &str, line: u32) {
    match seen.iter_mut().find(|k| k.key == key) {
        Some(k) => k.lines.push(line),
        None => seen.push(KeySeen {
            key: key.to_owned(),
            lines: vec![line],
        }),
    }
}

fn duplicates(seen: Vec<KeySeen>, prefix: &str) -> impl Iterator<Item = Duplicate> + '_ {
    seen.into_iter()
        .filter(|k| k.lines.len() > 1)
        .map(move |k| Duplicate {
            key: format!("{prefix}{}", k.key),
            lines: k.lines,
        })
}

fn line_of<T>(s: &Spanned<T>) -> u32 {
    u32::try_from(s.referenced.line()).unwrap_or(u32::MAX)
}

/// Reads a mapping's identifying fields. `nested` is true for list items, whose own `items`
/// are not unwrapped (one level only, like kubectl).
fn visit_head<'de, A: MapAccess<'de>>(mut map: A, nested: bool) -> Result<Head, A::Error> {
    let mut head = Head::default();
    let mut seen = Vec::new();
    while let Some(key) = map.next_key::<Scalar>()? {
        let key = match key {
            Scalar::Str(k) | Scalar::Other(k) => k,
            Scalar::Collection => {
                map.next_value::<IgnoredAny>()?;
                continue;
            }
        };
        match key.as_str() {
            "apiVersion" => {
                let v: Spanned<Scalar> = map.next_value()?;
                note_key(&mut seen, &key, line_of(&v));
                head.api_version = Some(Located::from_spanned(v));
            }
            "kind" => {
                let v: Spanned<Scalar> = map.next_value()?;
                note_key(&mut seen, &key, line_of(&v));
                head.kind = Some(v.value);
            }
            "metadata" => {
                let v: Spanned<Metadata> = map.next_value()?;
                note_key(&mut seen, &key, line_of(&v));
                let meta = v.value;
                head.name = meta.name;
                head.namespace = meta.namespace;
                head.duplicates.extend(meta.duplicates);
            }
            "items" if !nested => {
                let v: Spanned<Items> = map.next_value()?;
                note_key(&mut seen, &key, line_of(&v));
                head.items = v.value;
            }
            _ => {
                let v: Spanned<IgnoredAny> = map.next_value()?;
                note_key(&mut seen, &key, line_of(&v));
            }
        }
    }
    let mut dups: Vec<Duplicate> = duplicates(seen, "").collect();
    dups.append(&mut head.duplicates);
    head.duplicates = dups;
    Ok(head)
}

struct Metadata {
    name: Option<Scalar>,
    namespace: Option<Scalar>,
    duplicates: Vec<Duplicate>,
}

impl<'de> Deserialize<'de> for Metadata {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Metadata;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("metadata")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Metadata, A::Error> {
                let mut m = Metadata {
                    name: None,
                    namespace: None,
                    duplicates: Vec::new(),
                };
                let mut seen = Vec::new();
                while let Some(key) = map.next_key::<Scalar>()? {
                    let Some(key) = key.into_text() else {
                        map.next_value::<IgnoredAny>()?;
                        continue;
                    };
                    match key.as_str() {
                        "name" | "namespace" => {
                            let v: Spanned<Scalar> = map.next_value()?;
                            note_key(&mut seen, &key, line_of(&v));
                            if key == "name" {
                                m.name = Some(v.value);
                            } else {
                                m.namespace = Some(v.value);
                            }
                        }
                        _ => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                m.duplicates = duplicates(seen, "metadata.").collect();
                Ok(m)
            }
            // metadata that is not a mapping carries no name; it is not an error here.
            fn visit_seq<A: SeqAccess<'de>>(self, mut s: A) -> Result<Metadata, A::Error> {
                while s.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Metadata {
                    name: None,
                    namespace: None,
                    duplicates: Vec::new(),
                })
            }
            fn visit_unit<E>(self) -> Result<Metadata, E> {
                Ok(Metadata {
                    name: None,
                    namespace: None,
                    duplicates: Vec::new(),
                })
            }
            fn visit_none<E: de::Error>(self) -> Result<Metadata, E> {
                self.visit_unit()
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<Metadata, E> {
                self.visit_unit()
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Metadata, E> {
                self.visit_unit()
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Metadata, E> {
                self.visit_unit()
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Metadata, E> {
                self.visit_unit()
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Metadata, E> {
                self.visit_unit()
            }
        }
        d.deserialize_any(V)
    }
}

/// The `items` field of a mapping.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) enum Items {
    /// No `items` key.
    #[default]
    Absent,
    /// `items` is null, a scalar or a mapping.
    NotSequence,
    /// `items` is a sequence.
    Sequence(Vec<Located<Element>>),
}

impl<'de> Deserialize<'de> for Items {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Items;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("items")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, s: A) -> Result<Items, A::Error> {
                elements(s).map(Items::Sequence)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Items, A::Error> {
                while m.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Items::NotSequence)
            }
            fn visit_unit<E>(self) -> Result<Items, E> {
                Ok(Items::NotSequence)
            }
            fn visit_none<E>(self) -> Result<Items, E> {
                Ok(Items::NotSequence)
            }
            fn visit_str<E>(self, _: &str) -> Result<Items, E> {
                Ok(Items::NotSequence)
            }
            fn visit_bool<E>(self, _: bool) -> Result<Items, E> {
                Ok(Items::NotSequence)
            }
            fn visit_i64<E>(self, _: i64) -> Result<Items, E> {
                Ok(Items::NotSequence)
            }
            fn visit_u64<E>(self, _: u64) -> Result<Items, E> {
                Ok(Items::NotSequence)
            }
            fn visit_f64<E>(self, _: f64) -> Result<Items, E> {
                Ok(Items::NotSequence)
            }
        }
        d.deserialize_any(V)
    }
}

fn elements<'de, A: SeqAccess<'de>>(mut s: A) -> Result<Vec<Located<Element>>, A::Error> {
    let mut out = Vec::new();
    while let Some(e) = s.next_element::<Spanned<Element>>()? {
        out.push(Located::from_spanned(e));
    }
    Ok(out)
}

impl<'de> Deserialize<'de> for Element {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Element;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a list element")
            }
            fn visit_map<A: MapAccess<'de>>(self, m: A) -> Result<Element, A::Error> {
                visit_head(m, true).map(Element::Mapping)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut s: A) -> Result<Element, A::Error> {
                while s.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Element::Other)
            }
            fn visit_unit<E>(self) -> Result<Element, E> {
                Ok(Element::Other)
            }
            fn visit_none<E>(self) -> Result<Element, E> {
                Ok(Element::Other)
            }
            fn visit_str<E>(self, _: &str) -> Result<Element, E> {
                Ok(Element::Other)
            }
            fn visit_bool<E>(self, _: bool) -> Result<Element, E> {
                Ok(Element::Other)
            }
            fn visit_i64<E>(self, _: i64) -> Result<Element, E> {
                Ok(Element::Other)
            }
            fn visit_u64<E>(self, _: u64) -> Result<Element, E> {
                Ok(Element::Other)
            }
            fn visit_f64<E>(self, _: f64) -> Result<Element, E> {
                Ok(Element::Other)
            }
        }
        d.deserialize_any(V)
    }
}

impl<'de> Deserialize<'de> for Shape {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Shape;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a YAML document")
            }
            fn visit_map<A: MapAccess<'de>>(self, m: A) -> Result<Shape, A::Error> {
                visit_head(m, false).map(Shape::Mapping)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, s: A) -> Result<Shape, A::Error> {
                elements(s).map(Shape::Sequence)
            }
            fn visit_unit<E>(self) -> Result<Shape, E> {
                Ok(Shape::Null)
            }
            fn visit_none<E>(self) -> Result<Shape, E> {
                Ok(Shape::Null)
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Shape, D::Error> {
                Shape::deserialize(d)
            }
            fn visit_str<E>(self, _: &str) -> Result<Shape, E> {
                Ok(Shape::Scalar)
            }
            fn visit_bool<E>(self, _: bool) -> Result<Shape, E> {
                Ok(Shape::Scalar)
            }
            fn visit_i64<E>(self, _: i64) -> Result<Shape, E> {
                Ok(Shape::Scalar)
            }
            fn visit_u64<E>(self, _: u64) -> Result<Shape, E> {
                Ok(Shape::Scalar)
            }
            fn visit_f64<E>(self, _: f64) -> Result<Shape, E> {
                Ok(Shape::Scalar)
            }
            fn visit_bytes<E: de::Error>(self, _: &[u8]) -> Result<Shape, E> {
                Ok(Shape::Scalar)
            }
        }
        d.deserialize_any(V)
    }
}

/// Builds the same shape from a JSON value (used for JSON streams, which are not YAML).
/// Positions are unknown there; the caller supplies the value's line.
pub(crate) fn shape_from_json(value: serde_json::Value, line: u32) -> Shape {
    use serde_json::Value;
    fn scalar(v: Value) -> Scalar {
        match v {
            Value::String(s) => Scalar::Str(s),
            Value::Array(_) | Value::Object(_) => Scalar::Collection,
            other => Scalar::Other(other.to_string()),
        }
    }
    fn head(mut map: serde_json::Map<String, Value>, nested: bool, line: u32) -> Head {
        let mut h = Head {
            api_version: map.remove("apiVersion").map(|v| Located {
                value: scalar(v),
                line,
                offset: None,
            }),
            kind: map.remove("kind").map(scalar),
            ..Head::default()
        };
        if let Some(Value::Object(mut meta)) = map.remove("metadata") {
            h.name = meta.remove("name").map(scalar);
            h.namespace = meta.remove("namespace").map(scalar);
        }
        if !nested {
            h.items = match map.remove("items") {
                None => Items::Absent,
                Some(Value::Array(elems)) => {
                    Items::Sequence(elems.into_iter().map(|e| element(e, line)).collect())
                }
                Some(_) => Items::NotSequence,
            };
        }
        h
    }
    fn element(v: Value, line: u32) -> Located<Element> {
        let value = match v {
            Value::Object(m) => Element::Mapping(head(m, true, line)),
            _ => Element::Other,
        };
        Located {
            value,
            line,
            offset: None,
        }
    }
    match value {
        Value::Object(m) => Shape::Mapping(head(m, false, line)),
        Value::Array(elems) => {
            Shape::Sequence(elems.into_iter().map(|e| element(e, line)).collect())
        }
        Value::Null => Shape::Null,
        _ => Shape::Scalar,
    }
}
