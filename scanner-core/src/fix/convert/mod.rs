//! Placeholder until the conversions land: apiVersion only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TypeRef<'a> {
    pub group: &'a str,
    pub version: &'a str,
    pub kind: &'a str,
}
#[derive(Debug, Clone, PartialEq)]
pub enum Conversion {
    Converted {
        object: serde_json::Value,
        notes: Vec<String>,
    },
    Manual {
        reason: String,
    },
}
pub fn convert(object: &serde_json::Value, _from: TypeRef<'_>, to: TypeRef<'_>) -> Conversion {
    let mut o = object.clone();
    o["apiVersion"] = serde_json::Value::String(if to.group.is_empty() {
        to.version.to_owned()
    } else {
        format!("{}/{}", to.group, to.version)
    });
    Conversion::Converted {
        object: o,
        notes: vec![],
    }
}
