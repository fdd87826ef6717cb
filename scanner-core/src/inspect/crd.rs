//! Custom resource definitions: deprecated versions and storage that still needs migrating.
//!
//! A CRD version can only be dropped once no object is stored at it. The apiserver records
//! every version objects were ever persisted at in `status.storedVersions`, and nothing removes
//! an entry there except an explicit storage migration: rewriting every object, then
//! patching the status. A stored version that is not the current storage version is therefore
//! work to do before an upgrade (or chart update) drops that version; one that is no longer
//! served at all is already a problem.

use serde_json::Value;

pub use crate::report::{CrdFinding, CrdIssue};

/// Inspects one CRD (`apiextensions.k8s.io/v1` or `v1beta1` shape, as JSON from the API).
pub fn inspect_crd(crd: &Value) -> Vec<CrdFinding> {
    let name = crd
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    let group = crd
        .pointer("/spec/group")
        .and_then(Value::as_str)
        .unwrap_or("");
    let kind = crd
        .pointer("/spec/names/kind")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();

    // v1beta1 CRDs may have a single `spec.version` instead of `spec.versions`.
    let mut versions: Vec<(String, bool, bool, bool, Option<String>)> = Vec::new();
    if let Some(list) = crd.pointer("/spec/versions").and_then(Value::as_array) {
        for v in list {
            let Some(vname) = v.get("name").and_then(Value::as_str) else {
                continue;
            };
            let flag = |k: &str| v.get(k).and_then(Value::as_bool).unwrap_or(false);
            versions.push((
                vname.to_owned(),
                flag("served"),
                flag("storage"),
                flag("deprecated"),
                v.get("deprecationWarning")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
            ));
        }
    } else if let Some(v) = crd.pointer("/spec/version").and_then(Value::as_str) {
        versions.push((v.to_owned(), true, true, false, None));
    }
    let storage_version = versions.iter().find(|v| v.2).map(|v| v.0.clone());

    let gv = |v: &str| format!("{group}/{v}");
    let mut out = Vec::new();
    for (vname, _, _, deprecated, warning) in &versions {
        if *deprecated {
            out.push(CrdFinding {
                crd: name.clone(),
                api_version: gv(vname),
                kind: kind.clone(),
                issue: CrdIssue::DeprecatedVersion {
                    warning: warning.clone(),
                },
            });
        }
    }
    let stored = crd
        .pointer("/status/storedVersions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str);
    for s in stored {
        if storage_version.as_deref() == Some(s) {
            continue;
        }
        let served = versions.iter().any(|v| v.0 == s && v.1);
        out.push(CrdFinding {
            crd: name.clone(),
            api_version: gv(s),
            kind: kind.clone(),
            issue: CrdIssue::StorageMigrationPending {
                served,
                storage_version: storage_version.clone(),
            },
        });
    }
    out.sort();
    out
}

/// A CRD with versions it marks `deprecated`: the objects written through them must be
/// found, which only their own write history (managed fields) can tell.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct DeprecatedCrd {
    /// `widgets.example.com`.
    pub crd: String,
    /// `example.com`.
    pub group: String,
    /// `Widget`.
    pub kind: String,
    /// `widgets`: the resource in URLs.
    pub plural: String,
    /// `apiVersion`s marked deprecated, each with its `deprecationWarning`.
    pub deprecated: Vec<(String, Option<String>)>,
    /// The served version that is not deprecated to list the objects through (the storage
    /// version when it is one), so the list is not itself a deprecated request; `None` when
    /// every served version is deprecated.
    pub list_through: Option<String>,
}

/// The deprecated versions of one CRD; `None` when it marks none.
pub fn deprecated_crd(crd: &Value) -> Option<DeprecatedCrd> {
    let text = |p: &str| crd.pointer(p).and_then(Value::as_str).unwrap_or("");
    let group = text("/spec/group");
    let versions = crd.pointer("/spec/versions").and_then(Value::as_array)?;
    let flag = |v: &Value, k: &str| v.get(k).and_then(Value::as_bool).unwrap_or(false);
    let deprecated: Vec<(String, Option<String>)> = versions
        .iter()
        .filter(|v| flag(v, "deprecated"))
        .filter_map(|v| {
            let name = v.get("name").and_then(Value::as_str)?;
            let warning = v.get("deprecationWarning").and_then(Value::as_str);
            Some((format!("{group}/{name}"), warning.map(str::to_owned)))
        })
        .collect();
    if deprecated.is_empty() || group.is_empty() || text("/spec/names/plural").is_empty() {
        return None;
    }
    // The storage version first: it is what the objects are converted from anyway.
    let current = |storage: bool| {
        versions
            .iter()
            .filter(|v| {
                flag(v, "served") && !flag(v, "deprecated") && flag(v, "storage") == storage
            })
            .find_map(|v| v.get("name").and_then(Value::as_str))
    };
    let list_through = current(true)
        .or_else(|| current(false))
        .map(|v| format!("{group}/{v}"));
    Some(DeprecatedCrd {
        crd: text("/metadata/name").to_owned(),
        group: group.to_owned(),
        kind: text("/spec/names/kind").to_owned(),
        plural: text("/spec/names/plural").to_owned(),
        deprecated,
        list_through,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // tests fail loudly on purpose
    use super::*;
    use serde_json::json;

    #[test]
    fn a_stored_version_that_is_gone_is_reported_as_not_served() {
        let crd = json!({
            "metadata": {"name": "widgets.example.com"},
            "spec": {"group": "example.com", "names": {"kind": "Widget"},
                     "versions": [{"name": "v2", "served": true, "storage": true}]},
            "status": {"storedVersions": ["v1", "v2"]}
        });
        let found = inspect_crd(&crd);
        assert_eq!(found.len(), 1);
        assert_eq!(
            found[0].issue,
            CrdIssue::StorageMigrationPending {
                served: false,
                storage_version: Some("v2".into())
            }
        );
        assert!(found[0].message().contains("no longer served"));
    }

    #[test]
    fn deprecated_versions_are_listed_through_the_served_storage_version() {
        let crd = json!({
            "metadata": {"name": "widgets.example.com"},
            "spec": {"group": "example.com", "names": {"kind": "Widget", "plural": "widgets"},
                     "versions": [
                        {"name": "v1alpha1", "served": true, "storage": false, "deprecated": true,
                         "deprecationWarning": "use v1"},
                        {"name": "v2", "served": true, "storage": false},
                        {"name": "v1", "served": true, "storage": true}]}
        });
        let d = deprecated_crd(&crd).unwrap();
        assert_eq!(
            d.deprecated,
            [("example.com/v1alpha1".to_owned(), Some("use v1".to_owned()))]
        );
        assert_eq!(d.list_through.as_deref(), Some("example.com/v1"));
        assert_eq!(d.plural, "widgets");
        let plain = json!({"metadata": {"name": "a.b"}, "spec": {"group": "b",
            "names": {"kind": "A", "plural": "as"}, "versions": [{"name": "v1", "served": true}]}});
        assert_eq!(deprecated_crd(&plain), None);
    }

    #[test]
    fn single_version_v1beta1_crds_are_understood() {
        let crd = json!({
            "metadata": {"name": "olds.example.com"},
            "spec": {"group": "example.com", "version": "v1", "names": {"kind": "Old"}},
            "status": {"storedVersions": ["v1"]}
        });
        assert!(inspect_crd(&crd).is_empty());
    }
}
