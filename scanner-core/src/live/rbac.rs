//! The `ClusterRole` a live scan needs: read-only, and only what the scan requests.

use std::collections::BTreeSet;

use crate::Catalog;
use serde_json::{Value, json};

/// Name of the printed role.
pub const ROLE_NAME: &str = "upcheck-scanner";

/// The role as a Kubernetes object.
///
/// Lists are needed for every API group whose kinds have a deprecated or removed version
/// (objects are read for their write history), for what the readiness checks read, for Secrets and `ConfigMaps` (Helm release
/// records; RBAC cannot restrict a list to a label selector, but the scan only ever lists them
/// with `owner=helm`), and `get` on discovery, `/version` and `/metrics`.
pub fn cluster_role(catalog: &Catalog) -> Value {
    // The same selection as the scan's list plan: every resource whose kind has a
    // deprecated or removed version in some group, or whose group/version has one.
    let mut kinds: BTreeSet<&str> = BTreeSet::new();
    let mut versions: BTreeSet<&str> = BTreeSet::new();
    for e in catalog.entries() {
        if e.deprecated_in.is_some() || e.removed_in.is_some() {
            if e.is_wildcard() {
                versions.insert(&e.gvk.api_version);
            } else {
                kinds.insert(&e.gvk.kind);
            }
        }
    }
    let mut groups: BTreeSet<String> = BTreeSet::new();
    let mut core: BTreeSet<String> = ["configmaps", "secrets"].map(String::from).into();
    for e in catalog.entries() {
        if !kinds.contains(e.gvk.kind.as_str()) && !versions.contains(e.gvk.api_version.as_str()) {
            continue;
        }
        match e.gvk.group() {
            // Subresource kinds (pods/binding, pods/ephemeralcontainers) are not listed.
            "" if !e.is_wildcard()
                && !matches!(e.gvk.kind.as_str(), "Binding" | "EphemeralContainers") =>
            {
                core.insert(plural(&e.gvk.kind));
            }
            "" => {}
            group => {
                groups.insert(group.to_owned());
            }
        }
    }
    // CRDs are always read, for their deprecated and stored versions.
    groups.insert("apiextensions.k8s.io".to_owned());
    // The readiness checks and snapshots read these lists (nodes, pods, PDBs, workloads,
    // webhooks, ...).
    {
        for r in &crate::checks::Resource::ALL {
            match r.api_versions()[0].split_once('/') {
                Some((group, _)) => {
                    groups.insert(group.to_owned());
                }
                None => {
                    core.insert(r.name().to_owned());
                }
            }
        }
    }
    json!({
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": {
            "name": ROLE_NAME,
            "labels": {"app.kubernetes.io/name": "upcheck"},
        },
        "rules": [
            {"apiGroups": [""], "resources": core, "verbs": ["list"]},
            {"apiGroups": groups, "resources": ["*"], "verbs": ["list"]},
            {"nonResourceURLs": ["/api", "/api/*", "/apis", "/apis/*", "/version", "/metrics"], "verbs": ["get"]},
        ],
    })
}

/// The resource name of a core kind (`ComponentStatus` → `componentstatuses`).
fn plural(kind: &str) -> String {
    let lower = kind.to_ascii_lowercase();
    if lower == "endpoints" {
        lower
    } else if let Some(stem) = lower.strip_suffix('y') {
        format!("{stem}ies")
    } else if lower.ends_with('s') {
        format!("{lower}es")
    } else {
        format!("{lower}s")
    }
}

#[cfg(test)]
mod tests {
    use super::plural;

    #[test]
    fn core_kinds_pluralise_like_the_api() {
        assert_eq!(plural("ComponentStatus"), "componentstatuses");
        assert_eq!(plural("Endpoints"), "endpoints");
        assert_eq!(plural("Pod"), "pods");
        assert_eq!(plural("NetworkPolicy"), "networkpolicies");
    }
}
