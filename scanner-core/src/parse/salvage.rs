//! Best-effort identification of documents that are not valid YAML.
//!
//! Helm templates, Jinja files and half-edited manifests often still say plainly what they are
//! (`apiVersion: extensions/v1beta1` on a line of its own). This module reads such lines without
//! a parser, so a removed API in a chart template is still reported, marked as coming from an
//! unparsed document. It refuses to guess: a templated value (`{{ ... }}`), or two different
//! top-level `apiVersion`s (branches of an `{{ if }}`), give no answer.

/// What could be read from a broken document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Salvaged {
    pub api_version: String,
    /// Byte offset of the `apiVersion` value within the document text.
    pub api_version_offset: usize,
    /// 1-based line of the `apiVersion` key within the document text.
    pub api_version_line: u32,
    pub kind: String,
    pub name: Option<String>,
    pub namespace: Option<String>,
}

struct KeyLine<'a> {
    indent: usize,
    key: &'a str,
    /// The raw value text after the colon, without surrounding blanks.
    value: &'a str,
    /// Byte offset of `value` in the document.
    value_offset: usize,
    line: u32,
}

/// Parses `  key: value` / `  "key": value,` lines; anything else is `None`.
fn key_line(line: &str, line_offset: usize, line_no: u32) -> Option<KeyLine<'_>> {
    let body = line.trim_end_matches(['\r', '\n']);
    let indent = body.len() - body.trim_start_matches([' ', '\t']).len();
    let rest = &body[indent..];
    let (key, after) = if let Some(q) = rest.chars().next().filter(|c| *c == '"' || *c == '\'') {
        let close = rest[1..].find(q)? + 1;
        (&rest[1..close], &rest[close + 1..])
    } else {
        let colon = rest.find(':')?;
        (&rest[..colon], &rest[colon..])
    };
    if key.is_empty() || key.contains([' ', '\t', '{', '}']) {
        return None;
    }
    let after_colon = after.trim_start_matches([' ', '\t']).strip_prefix(':')?;
    // `key:value` without a space is not a mapping key in YAML.
    if !after_colon.is_empty() && !after_colon.starts_with([' ', '\t']) {
        return None;
    }
    let value = after_colon.trim_start_matches([' ', '\t']);
    let value_offset =
        line_offset + (body.len() - after_colon.len()) + (after_colon.len() - value.len());
    Some(KeyLine {
        indent,
        key,
        value: value.trim_end_matches([' ', '\t']),
        value_offset,
        line: line_no,
    })
}

/// A plain value: unquoted, comment and JSON comma removed. `None` for templated or structured
/// values.
fn plain_value(raw: &str) -> Option<&str> {
    let mut v = raw;
    if let Some(stripped) = v.strip_suffix(',') {
        v = stripped.trim_end();
    }
    let v = if let Some(q) = v.chars().next().filter(|c| *c == '"' || *c == '\'') {
        let close = v[1..].find(q)? + 1;
        &v[1..close]
    } else {
        // A comment starts at ` #`.
        match v.find(" #").or_else(|| v.find("\t#")) {
            Some(i) => v[..i].trim_end(),
            None => v,
        }
    };
    if v.is_empty()
        || v.contains("{{")
        || v.contains("{%")
        || v.contains("${")
        || v.contains("<%")
        || v.starts_with(['{', '[', '&', '*', '!', '|', '>', '%', '@', '`'])
    {
        return None;
    }
    Some(v)
}

fn looks_like_api_version(v: &str) -> bool {
    v.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'/' || b == b'-')
        && v.bytes().filter(|&b| b == b'/').count() <= 1
}

fn looks_like_kind(v: &str) -> bool {
    v.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// Reads the top-level `apiVersion`, `kind` and `metadata.name`/`namespace` of a document that
/// failed to parse, when they are written plainly and unambiguously.
pub(crate) fn salvage(text: &str) -> Option<Salvaged> {
    let mut lines = Vec::new();
    let mut offset = 0;
    for (i, line) in text.split_inclusive('\n').enumerate() {
        lines.push((offset, u32::try_from(i + 1).unwrap_or(u32::MAX), line));
        offset += line.len();
    }
    // JSON (`{` first) has its top-level keys one level in; YAML at column 0.
    let first = lines
        .iter()
        .find(|(_, _, l)| !l.trim().is_empty() && !l.trim_start().starts_with('#'))?;
    let json = first.2.trim_start().starts_with('{');
    let top_indent = if json {
        let after = lines
            .iter()
            .skip_while(|(o, _, _)| *o <= first.0)
            .find_map(|(o, n, l)| key_line(l, *o, *n))?;
        after.indent
    } else {
        0
    };

    let mut api_version: Option<(&str, usize, u32)> = None;
    let mut kind: Option<&str> = None;
    let mut name = None;
    let mut namespace = None;
    let mut in_metadata = false;
    let mut meta_indent = None;
    for (off, no, line) in &lines {
        let Some(k) = key_line(line, *off, *no) else {
            continue;
        };
        if k.indent == top_indent {
            in_metadata = k.key == "metadata";
            meta_indent = None;
            match k.key {
                "apiVersion" => {
                    let v = plain_value(k.value).filter(|v| looks_like_api_version(v))?;
                    match api_version {
                        Some((prev, _, _)) if prev != v => return None,
                        _ => {
                            let value_start =
                                k.value_offset + usize::from(k.value.starts_with(['"', '\'']));
                            api_version = Some((v, value_start, k.line));
                        }
                    }
                }
                "kind" => {
                    let v = plain_value(k.value).filter(|v| looks_like_kind(v))?;
                    if kind.is_some_and(|prev| prev != v) {
                        return None;
                    }
                    kind = Some(v);
                }
                _ => {}
            }
        } else if in_metadata && k.indent > top_indent {
            let mi = *meta_indent.get_or_insert(k.indent);
            if k.indent == mi {
                match k.key {
                    "name" => name = plain_value(k.value).map(str::to_owned),
                    "namespace" => namespace = plain_value(k.value).map(str::to_owned),
                    _ => {}
                }
            }
        } else if k.indent < top_indent {
            in_metadata = false;
        }
    }
    let (api_version, api_version_offset, api_version_line) = api_version?;
    Some(Salvaged {
        api_version: api_version.to_owned(),
        api_version_offset,
        api_version_line,
        kind: kind?.to_owned(),
        name,
        namespace,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_plain_fields_of_a_helm_template() {
        let t = "apiVersion: extensions/v1beta1\nkind: Deployment\nmetadata:\n  name: {{ template \"x\" . }}\n  namespace: prod # here\nspec:\n  replicas: {{ .Values.n }}\n";
        let s = salvage(t).unwrap();
        assert_eq!(s.api_version, "extensions/v1beta1");
        assert_eq!(
            &t[s.api_version_offset..s.api_version_offset + 18],
            "extensions/v1beta1"
        );
        assert_eq!(s.kind, "Deployment");
        assert_eq!(s.name, None);
        assert_eq!(s.namespace.as_deref(), Some("prod"));
    }

    #[test]
    fn refuses_templated_or_branching_api_versions() {
        assert!(salvage("apiVersion: {{ include \"x.apiVersion\" . }}\nkind: Ingress\n").is_none());
        let branches = "{{- if .Capabilities.APIVersions.Has \"networking.k8s.io/v1\" }}\napiVersion: networking.k8s.io/v1\n{{- else }}\napiVersion: networking.k8s.io/v1beta1\n{{- end }}\nkind: Ingress\n";
        assert!(salvage(branches).is_none());
    }

    #[test]
    fn ignores_nested_api_versions() {
        let t = "kind: VerticalPodAutoscaler\nspec:\n  targetRef:\n    apiVersion: extensions/v1beta1\n";
        assert!(salvage(t).is_none());
    }

    #[test]
    fn reads_pretty_printed_json() {
        let t = "{\n  \"kind\": \"Pod\",\n  \"apiVersion\": \"v1\",\n  \"metadata\": {\n    \"name\": \"p\",\n    \"ownerReferences\": [{\"apiVersion\": \"apps/v1\"}]\n  },\n  \"spec\": {,}\n}\n";
        let s = salvage(t).unwrap();
        assert_eq!(
            (s.api_version.as_str(), s.kind.as_str(), s.name.as_deref()),
            ("v1", "Pod", Some("p"))
        );
        assert_eq!(&t[s.api_version_offset..s.api_version_offset + 2], "v1");
    }
}
