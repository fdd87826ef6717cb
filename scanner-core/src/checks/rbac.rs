//! The read-only `ClusterRole`s upcheck prints: the one `upcheck cluster` needs
//! ([`scanner_role`]) and the one the readiness checks need ([`readiness_role`]). Both come
//! from one builder, so they keep one shape; the CLI only prints them.

use std::collections::{BTreeMap, BTreeSet};

use api_catalog::Catalog;
use serde::Serialize;
use serde_json::{Value, json};

use super::{REGISTRY, Resource};

/// Name of the role `upcheck cluster` needs.
pub const SCANNER_ROLE: &str = "upcheck-scanner";

/// Name of the role the readiness checks need.
pub const READINESS_ROLE: &str = "upcheck-readiness";

/// Discovery and `/version`, which every live command reads.
const DISCOVERY: [&str; 5] = ["/api", "/api/*", "/apis", "/apis/*", "/version"];

/// A `ClusterRole` named `name` with `rules`, labelled as upcheck's.
fn role(name: &str, rules: &[Value]) -> Value {
    json!({
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": {
            "name": name,
            "labels": {"app.kubernetes.io/name": "upcheck"},
        },
        "rules": rules,
    })
}

/// `list` on `resources` of `groups`.
fn list(groups: impl Serialize, resources: impl Serialize) -> Value {
    json!({"apiGroups": groups, "resources": resources, "verbs": ["list"]})
}

/// `get` on non-resource URLs.
fn get(urls: &[&str]) -> Value {
    json!({"nonResourceURLs": urls, "verbs": ["get"]})
}

/// Every resource some check needs or uses.
fn read_by_checks() -> BTreeSet<Resource> {
    REGISTRY
        .iter()
        .flat_map(|c| c.needs.iter().chain(c.uses).copied())
        .collect()
}

/// The role the readiness checks need: `list` on every resource some check reads cluster-wide,
/// one rule per API group, and discovery. Resources read in one namespace only are granted by
/// [`readiness_namespaced_roles`].
pub fn readiness_role() -> Value {
    let mut by_group: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for r in read_by_checks()
        .into_iter()
        .filter(|r| r.namespace().is_none())
    {
        by_group.entry(r.group()).or_default().push(r.name());
    }
    let rules: Vec<Value> = by_group
        .into_iter()
        .map(|(group, resources)| list([group], resources))
        .chain([get(&DISCOVERY)])
        .collect();
    role(READINESS_ROLE, &rules)
}

/// The `Role`s the readiness checks need beside [`readiness_role`], one per namespace: `list`
/// on the resources read in that namespace only (kube-system's `ConfigMaps`), so no
/// cluster-wide grant reaches every application's configuration.
pub fn readiness_namespaced_roles() -> Vec<Value> {
    let mut by_namespace: BTreeMap<&str, BTreeMap<&str, Vec<&str>>> = BTreeMap::new();
    for r in read_by_checks() {
        if let Some(ns) = r.namespace() {
            by_namespace
                .entry(ns)
                .or_default()
                .entry(r.group())
                .or_default()
                .push(r.name());
        }
    }
    by_namespace
        .into_iter()
        .map(|(ns, groups)| {
            let rules: Vec<Value> = groups
                .into_iter()
                .map(|(group, resources)| list([group], resources))
                .collect();
            json!({
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "Role",
                "metadata": {
                    "name": READINESS_ROLE,
                    "namespace": ns,
                    "labels": {"app.kubernetes.io/name": "upcheck"},
                },
                "rules": rules,
            })
        })
        .collect()
}

/// The role `upcheck cluster` needs.
///
/// Lists are needed for every API group whose kinds have a deprecated or removed version
/// (objects are read for their write history), for what the readiness checks and snapshots
/// read, and for Secrets and `ConfigMaps` (Helm release records; RBAC cannot restrict a list
/// to a label selector, but the scan only ever lists them with `owner=helm`); `get` on
/// discovery, `/version` and `/metrics`.
pub fn scanner_role(catalog: &Catalog) -> Value {
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
    // The readiness checks and snapshots read every resource of the checks' state.
    for r in Resource::ALL {
        match r.group() {
            "" => core.insert(r.name().to_owned()),
            group => groups.insert(group.to_owned()),
        };
    }
    let mut urls = DISCOVERY.to_vec();
    urls.push("/metrics");
    role(
        SCANNER_ROLE,
        &[list([""], core), list(groups, ["*"]), get(&urls)],
    )
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
    #![allow(clippy::unwrap_used)] // tests fail loudly on purpose
    use super::*;

    #[test]
    fn core_kinds_pluralise_like_the_api() {
        assert_eq!(plural("ComponentStatus"), "componentstatuses");
        assert_eq!(plural("Endpoints"), "endpoints");
        assert_eq!(plural("Pod"), "pods");
        assert_eq!(plural("NetworkPolicy"), "networkpolicies");
    }

    /// The `list` grants of a role as `group/resource` (`*` for every resource of a group).
    fn grants(role: &Value) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        for rule in role["rules"].as_array().unwrap() {
            let Some(groups) = rule["apiGroups"].as_array() else {
                continue;
            };
            for g in groups {
                for r in rule["resources"].as_array().unwrap() {
                    out.insert(format!("{}/{}", g.as_str().unwrap(), r.as_str().unwrap()));
                }
            }
        }
        out
    }

    #[test]
    fn the_scanner_role_grants_what_the_readiness_role_does() {
        let scanner = grants(&scanner_role(Catalog::embedded()));
        let readiness = readiness_role();
        assert_eq!(readiness["metadata"]["name"], READINESS_ROLE);
        let namespaced = readiness_namespaced_roles();
        let mut wanted = grants(&readiness);
        for role in &namespaced {
            wanted.extend(grants(role));
        }
        for grant in wanted {
            let (group, _) = grant.split_once('/').unwrap();
            assert!(
                scanner.contains(&grant) || scanner.contains(&format!("{group}/*")),
                "{grant} is missing from {SCANNER_ROLE}"
            );
        }
    }

    #[test]
    fn kube_system_config_maps_are_granted_in_kube_system_only() {
        assert!(!grants(&readiness_role()).contains("/configmaps"));
        let roles = readiness_namespaced_roles();
        assert_eq!(roles.len(), 1);
        assert_eq!(roles[0]["kind"], "Role");
        assert_eq!(roles[0]["metadata"]["namespace"], "kube-system");
        assert!(grants(&roles[0]).contains("/configmaps"));
    }

    #[test]
    fn both_roles_are_read_only() {
        let mut roles = vec![scanner_role(Catalog::embedded()), readiness_role()];
        roles.extend(readiness_namespaced_roles());
        for role in roles {
            for rule in role["rules"].as_array().unwrap() {
                let verbs = rule["verbs"].as_array().unwrap();
                let allowed = if rule.get("nonResourceURLs").is_some() {
                    "get"
                } else {
                    "list"
                };
                assert!(verbs.iter().all(|v| v == allowed), "{rule}");
            }
        }
    }
}
