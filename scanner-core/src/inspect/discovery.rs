//! What a cluster serves, from its discovery documents, and which resources must be listed.
//!
//! Two questions are answered here without a client:
//! - which served group/version/kinds are deprecated or removed at the target (clients still
//!   calling them will break even if no stored object shows it);
//! - which resources to list so every object that was ever written through a deprecated or
//!   removed version is seen. `managedFields` keeps the version a manager used even after that
//!   version stops being served, so the plan goes by kind, not by what is served today, and
//!   lists each stored resource once, through one served version.

use std::collections::{BTreeMap, BTreeSet};

use api_catalog::{ApiStatus, Catalog, Targets};
use serde::Serialize;
use serde_json::Value;

pub use crate::report::{ServedApi, ServedResource};

/// Why a discovery document could not be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("discovery document {document}: {reason}")]
pub struct DiscoveryError {
    /// The URL path or name of the document.
    pub document: String,
    /// What was wrong.
    pub reason: String,
}

/// Reads an `APIResourceList` (`GET /apis/GROUP/VERSION` or `/api/v1`).
pub fn parse_resource_list(
    document: &str,
    body: &Value,
) -> Result<Vec<ServedResource>, DiscoveryError> {
    let fail = |reason: &str| DiscoveryError {
        document: document.to_owned(),
        reason: reason.to_owned(),
    };
    if body.get("kind").and_then(Value::as_str) != Some("APIResourceList") {
        return Err(fail("not an APIResourceList"));
    }
    let api_version = body
        .get("groupVersion")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| fail("no groupVersion"))?;
    let resources = body
        .get("resources")
        .and_then(Value::as_array)
        .ok_or_else(|| fail("no resources list"))?;
    let mut out = Vec::new();
    for r in resources {
        let text = |k: &str| r.get(k).and_then(Value::as_str);
        let (Some(name), Some(kind)) = (text("name"), text("kind")) else {
            return Err(fail("a resource without name or kind"));
        };
        if name.contains('/') {
            continue;
        }
        out.push(ServedResource {
            api_version: api_version.to_owned(),
            resource: name.to_owned(),
            kind: kind.to_owned(),
            namespaced: r
                .get("namespaced")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            verbs: r
                .get("verbs")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect(),
            storage_version_hash: text("storageVersionHash").map(str::to_owned),
        });
    }
    Ok(out)
}

/// Served APIs that are deprecated or removed at the target, in discovery order sorted by
/// `apiVersion` then resource.
pub fn served_at_risk(
    resources: &[ServedResource],
    catalog: &Catalog,
    targets: &Targets,
) -> Vec<ServedApi> {
    let mut out: Vec<ServedApi> = resources
        .iter()
        .filter_map(|r| {
            let verdict = catalog.assess(&r.api_version, &r.kind, targets);
            if !matches!(verdict.status, ApiStatus::Deprecated | ApiStatus::Removed) {
                return None;
            }
            Some(ServedApi {
                served: r.clone(),
                status: verdict.status,
                deprecated_in: verdict.lifecycle.deprecated_in,
                removed_in: verdict.lifecycle.removed_in,
                // The chosen path when there is one (`v1beta3 ..., then v1 ...`).
                replacement: match verdict.path.as_deref() {
                    Some(steps @ [_, ..]) => Some(
                        steps
                            .iter()
                            .map(api_catalog::MigrationStep::display)
                            .collect::<Vec<_>>()
                            .join(", then "),
                    ),
                    _ => verdict.replacement.map(|rep| match &rep.kind {
                        Some(k) => format!("{} {k}", rep.api_version),
                        None => rep.api_version.clone(),
                    }),
                },
            })
        })
        .collect();
    out.sort_by(|a, b| {
        (&a.served.api_version, &a.served.resource)
            .cmp(&(&b.served.api_version, &b.served.resource))
    });
    out
}

/// One resource to list for write evidence.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ListPlan {
    /// The served resource to list through (the newest-looking served version of the storage).
    pub list: ServedResource,
    /// Every other `apiVersion` the same storage is served at.
    pub also_served_as: Vec<String>,
}

/// Which resources to list: every listable resource whose kind has a deprecated or removed
/// version in the catalog, once per storage. Sorted by `apiVersion`, resource.
pub fn plan_object_lists(resources: &[ServedResource], catalog: &Catalog) -> Vec<ListPlan> {
    let mut kinds_with_history: BTreeSet<&str> = BTreeSet::new();
    let mut wildcard_versions_with_history: BTreeSet<&str> = BTreeSet::new();
    for e in catalog.entries() {
        if e.deprecated_in.is_some() || e.removed_in.is_some() {
            if e.is_wildcard() {
                wildcard_versions_with_history.insert(e.gvk.api_version.as_str());
            } else {
                kinds_with_history.insert(e.gvk.kind.as_str());
            }
        }
    }
    let mut by_storage: BTreeMap<String, Vec<&ServedResource>> = BTreeMap::new();
    for r in resources
        .iter()
        .filter(|r| r.listable() && !made_up_by_the_apiserver(r))
    {
        let lifecycle_kind = kinds_with_history.contains(r.kind.as_str())
            || wildcard_versions_with_history.contains(r.api_version.as_str());
        if !lifecycle_kind {
            continue;
        }
        // Without a hash, resources of one group and name are assumed to share storage,
        // which holds for every built-in and CRD version.
        let key = r
            .storage_version_hash
            .clone()
            .unwrap_or_else(|| format!("{}/{}", r.group(), r.resource));
        by_storage.entry(key).or_default().push(r);
    }
    let mut plans: Vec<ListPlan> = by_storage
        .into_values()
        .map(|mut members| {
            members.sort_by(|a, b| {
                version_rank(&b.api_version)
                    .cmp(&version_rank(&a.api_version))
                    .then(a.api_version.cmp(&b.api_version))
            });
            let list = members[0].clone();
            let mut also: Vec<String> =
                members[1..].iter().map(|m| m.api_version.clone()).collect();
            also.sort();
            ListPlan {
                list,
                also_served_as: also,
            }
        })
        .collect();
    plans.sort_by(|a, b| {
        (&a.list.api_version, &a.list.resource).cmp(&(&b.list.api_version, &b.list.resource))
    });
    plans
}

/// Resources whose objects the API server makes up on every read instead of storing what a
/// client wrote: `ComponentStatus` (deprecated since 1.19, with no other version). Listing it
/// would only add upcheck's own request to `apiserver_requested_deprecated_apis`.
fn made_up_by_the_apiserver(r: &ServedResource) -> bool {
    r.group().is_empty() && r.resource == "componentstatuses"
}

/// Orders versions GA > beta > alpha, then by number: `v2` > `v1` > `v2beta2` > `v1beta1` >
/// `v1alpha1`. The list is read through the most stable one, which outlives the others.
fn version_rank(api_version: &str) -> (u8, u32, u32) {
    let version = api_version.rsplit('/').next().unwrap_or(api_version);
    let Some(rest) = version.strip_prefix('v') else {
        return (0, 0, 0);
    };
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    let major = digits.parse().unwrap_or(0);
    let tail = &rest[digits.len()..];
    let (stability, n) = if tail.is_empty() {
        (3, 0)
    } else if let Some(n) = tail.strip_prefix("beta") {
        (2, n.parse().unwrap_or(0))
    } else if let Some(n) = tail.strip_prefix("alpha") {
        (1, n.parse().unwrap_or(0))
    } else {
        (0, 0)
    };
    (stability, major, n)
}

#[cfg(test)]
mod tests {
    use super::version_rank;

    #[test]
    fn ga_outranks_beta_outranks_alpha() {
        let mut v = [
            "x/v1alpha1",
            "x/v1beta1",
            "x/v2beta2",
            "x/v1",
            "x/v2",
            "x/vfoo",
        ];
        v.sort_by_key(|s| std::cmp::Reverse(version_rank(s)));
        assert_eq!(
            v,
            [
                "x/v2",
                "x/v1",
                "x/v2beta2",
                "x/v1beta1",
                "x/v1alpha1",
                "x/vfoo"
            ]
        );
    }
}
