//! Which API versions an object was written through.
//!
//! A server returns an object at whatever version the client asked for, so the version of a
//! list response says nothing about how the object is managed. What does say it:
//! `metadata.managedFields[].apiVersion` (recorded per field manager, in the version that
//! manager used) and the `kubectl.kubernetes.io/last-applied-configuration` annotation
//! (what the last client-side `kubectl apply` sent).

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

pub use crate::report::Evidence;

/// The annotation client-side `kubectl apply` keeps the applied object in.
pub const LAST_APPLIED_ANNOTATION: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// An API version an object was written through, with the evidence for it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ApiUse {
    /// The `apiVersion` (`extensions/v1beta1`).
    pub api_version: String,
    /// Every piece of evidence for it, in a stable order.
    pub evidence: Vec<Evidence>,
}

/// What an object's metadata says about the API versions it was written through.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ObjectEvidence {
    /// Each API version used, sorted by version string.
    pub uses: Vec<ApiUse>,
    /// Why part of the metadata could not be read (a malformed last-applied annotation, a
    /// managed-fields entry without `apiVersion`). Reported, never ignored: the object may use
    /// a version this scan cannot see.
    pub problems: Vec<String>,
}

impl ObjectEvidence {
    /// Whether the object carries no write history at all (no managed fields, no
    /// last-applied annotation). Servers before 1.18 and some aggregated APIs do not record
    /// managed fields; such objects can only be judged by the version they are served at.
    pub fn is_empty(&self) -> bool {
        self.uses.is_empty() && self.problems.is_empty()
    }
}

/// Reads the write history of one object (an item of a list response, or a single GET).
pub fn object_evidence(object: &Value) -> ObjectEvidence {
    let mut by_version: BTreeMap<String, Vec<Evidence>> = BTreeMap::new();
    let mut problems = Vec::new();
    let metadata = object.get("metadata");

    match metadata.and_then(|m| m.get("managedFields")) {
        None | Some(Value::Null) => {}
        Some(Value::Array(entries)) => {
            for (i, entry) in entries.iter().enumerate() {
                let text = |key: &str| entry.get(key).and_then(Value::as_str).map(str::to_owned);
                match (text("apiVersion"), text("manager")) {
                    (Some(api_version), manager) => {
                        by_version
                            .entry(api_version)
                            .or_default()
                            .push(Evidence::ManagedFields {
                                // The API server fills in the manager from the user agent
                                // when a client sends none, so empty is rare but possible.
                                manager: manager.unwrap_or_default(),
                                operation: text("operation"),
                                time: text("time"),
                                subresource: text("subresource").filter(|s| !s.is_empty()),
                            });
                    }
                    (None, _) => {
                        problems.push(format!("managedFields[{i}] has no apiVersion"));
                    }
                }
            }
        }
        Some(_) => problems.push("metadata.managedFields is not a list".to_owned()),
    }

    let annotation = metadata
        .and_then(|m| m.get("annotations"))
        .and_then(|a| a.get(LAST_APPLIED_ANNOTATION));
    match annotation {
        None | Some(Value::Null) => {}
        Some(Value::String(text)) => match last_applied_api_version(text) {
            Ok(api_version) => by_version
                .entry(api_version)
                .or_default()
                .push(Evidence::LastApplied),
            Err(reason) => problems.push(format!("{LAST_APPLIED_ANNOTATION}: {reason}")),
        },
        Some(_) => problems.push(format!("{LAST_APPLIED_ANNOTATION} is not a string")),
    }

    let uses = by_version
        .into_iter()
        .map(|(api_version, mut evidence)| {
            evidence.sort();
            evidence.dedup();
            ApiUse {
                api_version,
                evidence,
            }
        })
        .collect();
    ObjectEvidence { uses, problems }
}

/// The `apiVersion` inside a last-applied annotation. Only that field is kept: the rest of
/// the annotation may carry Secret data applied with `kubectl apply`, which must never reach
/// a report.
fn last_applied_api_version(text: &str) -> Result<String, &'static str> {
    #[derive(serde::Deserialize)]
    struct Head {
        #[serde(rename = "apiVersion")]
        api_version: Option<String>,
    }
    let head: Head = serde_json::from_str(text).map_err(|_| "not a JSON object")?;
    head.api_version
        .filter(|v| !v.is_empty())
        .ok_or("no apiVersion in the applied object")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn managed_fields_and_annotation_are_merged_per_version() {
        let obj = json!({"metadata": {
            "annotations": {LAST_APPLIED_ANNOTATION: "{\"apiVersion\":\"extensions/v1beta1\",\"kind\":\"Ingress\"}\n"},
            "managedFields": [
                {"manager": "release-bot", "operation": "Update", "apiVersion": "networking.k8s.io/v1", "time": "t2"},
                {"manager": "kubectl-client-side-apply", "operation": "Update", "apiVersion": "extensions/v1beta1", "time": "t1"},
            ]
        }});
        let ev = object_evidence(&obj);
        assert!(ev.problems.is_empty());
        let versions: Vec<_> = ev.uses.iter().map(|u| u.api_version.as_str()).collect();
        assert_eq!(versions, ["extensions/v1beta1", "networking.k8s.io/v1"]);
        assert_eq!(ev.uses[0].evidence.len(), 2);
        assert_eq!(
            ev.uses[0].evidence[0].describe(),
            "manager kubectl-client-side-apply (Update, t1)"
        );
        assert_eq!(ev.uses[0].evidence[1], Evidence::LastApplied);
    }

    #[test]
    fn broken_metadata_is_reported_without_leaking_the_annotation() {
        let obj = json!({"metadata": {
            "annotations": {LAST_APPLIED_ANNOTATION: "{\"data\":{\"password\":\"hunter2\"}"},
            "managedFields": [{"manager": "x"}]
        }});
        let ev = object_evidence(&obj);
        assert!(ev.uses.is_empty());
        assert_eq!(ev.problems.len(), 2);
        for p in &ev.problems {
            assert!(!p.contains("hunter2"), "{p}");
        }
    }

    #[test]
    fn no_history_is_empty() {
        assert!(object_evidence(&json!({"metadata": {"name": "a"}})).is_empty());
        assert!(object_evidence(&json!({})).is_empty());
    }
}
