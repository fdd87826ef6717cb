//! `PodSecurityPolicy` has no replacement API: the manual step is Pod Security Admission, at the
//! Pod Security Standards level the policy corresponds to.

use serde_json::{Map, Value};

/// The volume types the restricted level allows.
const RESTRICTED_VOLUMES: [&str; 8] = [
    "configMap",
    "csi",
    "downwardAPI",
    "emptyDir",
    "ephemeral",
    "persistentVolumeClaim",
    "projected",
    "secret",
];

/// The Pod Security Standards level closest to the policy: `privileged`, `baseline` or `restricted`.
pub(super) fn level(map: &Map<String, Value>) -> &'static str {
    let empty = Map::new();
    let spec = map.get("spec").and_then(Value::as_object).unwrap_or(&empty);
    let flag = |key: &str| spec.get(key) == Some(&Value::Bool(true));
    let list = |key: &str| -> Vec<&str> {
        spec.get(key)
            .and_then(Value::as_array)
            .map(|items| items.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default()
    };
    let host_ports = spec
        .get("hostPorts")
        .and_then(Value::as_array)
        .is_some_and(|ports| !ports.is_empty());
    if flag("privileged")
        || flag("hostNetwork")
        || flag("hostPID")
        || flag("hostIPC")
        || host_ports
        || list("allowedCapabilities").contains(&"*")
        || list("volumes").contains(&"*")
    {
        return "privileged";
    }
    let non_root = spec
        .get("runAsUser")
        .and_then(|rule| rule.get("rule"))
        .and_then(Value::as_str)
        .is_some_and(|rule| rule == "MustRunAsNonRoot")
        || must_run_as_non_zero(spec.get("runAsUser"));
    let drops_all = list("requiredDropCapabilities")
        .iter()
        .any(|capability| capability.eq_ignore_ascii_case("ALL"));
    let no_escalation = spec.get("allowPrivilegeEscalation") == Some(&Value::Bool(false));
    let volumes = list("volumes");
    let limited_volumes = !volumes.is_empty()
        && volumes
            .iter()
            .all(|volume| RESTRICTED_VOLUMES.contains(volume));
    if non_root && drops_all && no_escalation && limited_volumes {
        "restricted"
    } else {
        "baseline"
    }
}

/// `runAsUser: {rule: MustRunAs, ranges}` whose ranges all start above 0: non-root too.
fn must_run_as_non_zero(rule: Option<&Value>) -> bool {
    let Some(rule) = rule else { return false };
    let ranges = rule.get("ranges").and_then(Value::as_array);
    rule.get("rule").and_then(Value::as_str) == Some("MustRunAs")
        && ranges.is_some_and(|ranges| {
            !ranges.is_empty()
                && ranges.iter().all(|range| {
                    range
                        .get("min")
                        .and_then(Value::as_u64)
                        .is_some_and(|min| min > 0)
                })
        })
}

/// The reason and manual step for a `PodSecurityPolicy`.
pub(super) fn manual_step(map: &Map<String, Value>) -> String {
    let level = level(map);
    let name = map
        .get("metadata")
        .and_then(|metadata| metadata.get("name"))
        .and_then(Value::as_str)
        .unwrap_or("this policy");
    format!(
        "PodSecurityPolicy was removed in 1.25 with no replacement API; {name} corresponds to the Pod Security \
         Standards level {level}. Label each namespace whose pods it admitted with \
         pod-security.kubernetes.io/enforce: {level} (try pod-security.kubernetes.io/warn: {level} first), then \
         delete the PodSecurityPolicy and the RBAC (roles and bindings granting `use` on it)."
    )
}
