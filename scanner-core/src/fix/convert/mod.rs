//! Field conversions from a removed API version to its replacement: pure knowledge, no I/O.
//!
//! [`convert`] takes a whole manifest object and returns the whole converted object, or the
//! reason it cannot be converted safely. New keys take the position of the keys they replace
//! (visible when `serde_json` keeps insertion order), so that an editor that places a new key
//! after its preceding sibling gets a natural layout.

use serde_json::{Map, Value};

mod certmanager;
mod crd;
mod hpa;
mod ingress;
mod misc;
mod psp;
mod webhook;
mod workload;

#[cfg(test)]
mod tests;

/// An API version of a kind: what an object is, and what it becomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TypeRef<'a> {
    /// The API group; empty for the core group.
    pub group: &'a str,
    /// The version within the group (`v1beta1`).
    pub version: &'a str,
    /// The kind (`Ingress`).
    pub kind: &'a str,
}

impl TypeRef<'_> {
    /// The `apiVersion` string of this type: `group/version`, or `version` for the core group.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.to_owned()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }
}

/// The outcome of [`convert`].
#[derive(Debug, Clone, PartialEq)]
pub enum Conversion {
    /// The whole converted object (apiVersion set to the target; every other field converted),
    /// plus notes for the reviewer (a default written out so behaviour stays, an annotation to review...).
    Converted {
        /// The converted object.
        object: Value,
        /// What the reviewer should know, one sentence or two each.
        notes: Vec<String>,
    },
    /// No safe automatic conversion: why, and the manual step (one or two sentences, imperative).
    Manual {
        /// Why, and what to do by hand.
        reason: String,
    },
}

/// Convert `object` (a whole manifest object, as parsed; `apiVersion` is `from`) to `to`.
///
/// `to` may be several steps ahead of `from` (flowcontrol v1beta1 -> v1): the conversion is
/// direct. Odd shapes (a map where a list belongs, a number where a name belongs) give
/// [`Conversion::Manual`] with the field path; nothing panics.
pub fn convert(object: &Value, from: TypeRef<'_>, to: TypeRef<'_>) -> Conversion {
    let Value::Object(map) = object else {
        return Conversion::Manual {
            reason: "The document is not a map of fields; fix it by hand.".to_owned(),
        };
    };
    if from.kind != to.kind {
        return Conversion::Manual {
            reason: format!(
                "{} {} is replaced by a different kind, {} {}, with its own schema; write the new object by hand.",
                from.api_version(),
                from.kind,
                to.api_version(),
                to.kind
            ),
        };
    }
    let mut map = map.clone();
    let mut notes = Vec::new();
    match convert_fields(&mut map, from, to, &mut notes) {
        Ok(()) => {
            restructure(
                &mut map,
                vec![Move::new(
                    &["apiVersion"],
                    "apiVersion",
                    Value::String(to.api_version()),
                )],
            );
            Conversion::Converted {
                object: Value::Object(map),
                notes,
            }
        }
        Err(reason) => Conversion::Manual { reason },
    }
}

/// A conversion step: `Err` holds the reason the object needs a human.
pub(super) type Step<T = ()> = Result<T, String>;

/// The field conversions of one pair; the `apiVersion` is set afterwards.
fn convert_fields(
    map: &mut Map<String, Value>,
    from: TypeRef<'_>,
    to: TypeRef<'_>,
    notes: &mut Vec<String>,
) -> Step {
    let (fg, fv, kind) = (from.group, from.version, from.kind);
    // Most conversions are to the GA version; a step to an intermediate beta (for an old
    // cluster) keeps the old schema and changes only the apiVersion.
    let to_ga = to.version == "v1";
    match kind {
        "PodSecurityPolicy" => Err(psp::manual_step(map)),
        "Ingress"
            if matches!(fg, "extensions" | "networking.k8s.io") && fv == "v1beta1" && to_ga =>
        {
            ingress::convert(map, notes)
        }
        "Deployment" | "DaemonSet" | "ReplicaSet" | "StatefulSet"
            if matches!(fg, "extensions" | "apps") && fv != "v1" =>
        {
            workload::convert(map, from, notes)
        }
        "HorizontalPodAutoscaler"
            if fg == "autoscaling" && fv == "v2beta1" && matches!(to.version, "v2" | "v2beta2") =>
        {
            hpa::convert(map, notes)
        }
        "CustomResourceDefinition" if fg == "apiextensions.k8s.io" && fv == "v1beta1" && to_ga => {
            crd::convert(map, notes)
        }
        "ValidatingWebhookConfiguration" | "MutatingWebhookConfiguration"
            if fg == "admissionregistration.k8s.io" && fv == "v1beta1" && to_ga =>
        {
            webhook::convert(map, notes)
        }
        "PriorityLevelConfiguration" if fg == "flowcontrol.apiserver.k8s.io" => {
            misc::priority_level(map, fv, to.version, notes)
        }
        "EndpointSlice" if fg == "discovery.k8s.io" && fv != "v1" && to_ga => {
            misc::endpoint_slice(map)
        }
        "CertificateSigningRequest" if fg == "certificates.k8s.io" && fv == "v1beta1" => {
            misc::csr(map, notes)
        }
        "RuntimeClass" if fg == "node.k8s.io" && fv == "v1alpha1" => misc::runtime_class(map),
        "PodDisruptionBudget" if fg == "policy" && fv == "v1beta1" => misc::pdb(map),
        "SubjectAccessReview" | "LocalSubjectAccessReview"
            if fg == "authorization.k8s.io" && fv == "v1beta1" =>
        {
            misc::access_review(map)
        }
        "Event" if fg == "events.k8s.io" && fv == "v1beta1" => misc::event(map),
        "RoleBinding" | "ClusterRoleBinding"
            if fg == "rbac.authorization.k8s.io" && fv == "v1alpha1" =>
        {
            misc::rbac_subjects(map)
        }
        _ if matches!(fg, "authentication.istio.io" | "rbac.istio.io") => Err(format!(
            "Istio's {fg} {kind} has no one-to-one replacement: its settings become security.istio.io/v1beta1 \
             PeerAuthentication, RequestAuthentication or AuthorizationPolicy objects with another schema; write \
             those by hand (Istio's guide to migrating alpha policies), then delete this object."
        )),
        _ if certmanager::is_cert_manager(fg) => certmanager::convert(map, from, to, notes),
        // Every other pair in the catalog kept its schema: only the apiVersion changes.
        _ => Ok(()),
    }
}

// ---------------------------------------------------------------------------------------------
// Helpers shared by the conversions: typed access that reports odd shapes with their path, and
// key moves that keep positions.

/// The reason for an odd shape at `path`.
pub(super) fn odd(path: &str, expected: &str) -> String {
    format!("{path} is not {expected} as the schema expects; correct it by hand, then convert.")
}

/// `key` of `map` as a map: `None` when absent or null.
pub(super) fn child_obj<'a>(
    map: &'a mut Map<String, Value>,
    key: &str,
    path: &str,
) -> Step<Option<&'a mut Map<String, Value>>> {
    match map.get_mut(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(child)) => Ok(Some(child)),
        Some(_) => Err(odd(path, "a map")),
    }
}

/// `key` of `map` as a list: `None` when absent or null.
pub(super) fn child_arr<'a>(
    map: &'a mut Map<String, Value>,
    key: &str,
    path: &str,
) -> Step<Option<&'a mut Vec<Value>>> {
    match map.get_mut(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(child)) => Ok(Some(child)),
        Some(_) => Err(odd(path, "a list")),
    }
}

/// `key` of `map` as a string: `None` when absent or null.
pub(super) fn child_str<'a>(
    map: &'a Map<String, Value>,
    key: &str,
    path: &str,
) -> Step<Option<&'a str>> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => Ok(Some(text)),
        Some(_) => Err(odd(path, "a string")),
    }
}

/// `value` as a map.
pub(super) fn as_obj<'a>(value: &'a mut Value, path: &str) -> Step<&'a mut Map<String, Value>> {
    match value {
        Value::Object(map) => Ok(map),
        _ => Err(odd(path, "a map")),
    }
}

/// Whether `key` is set (present and not null).
pub(super) fn is_set(map: &Map<String, Value>, key: &str) -> bool {
    map.get(key).is_some_and(|value| !value.is_null())
}

/// `path.key`, or `key` at the root.
pub(super) fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

/// One new key built from old ones: it takes the position of the first of `sources` present
/// (appended when none is), and every source key is removed.
pub(super) struct Move {
    sources: Vec<String>,
    key: String,
    value: Value,
}

impl Move {
    pub(super) fn new(sources: &[&str], key: &str, value: Value) -> Self {
        Move {
            sources: sources.iter().map(|source| (*source).to_owned()).collect(),
            key: key.to_owned(),
            value,
        }
    }
}

/// Apply `moves` to `map`, keeping the order of every other key. A move whose new key already
/// exists should list it among its sources.
pub(super) fn restructure(map: &mut Map<String, Value>, moves: Vec<Move>) {
    let old = std::mem::take(map);
    let all_sources: Vec<String> = moves
        .iter()
        .flat_map(|done| done.sources.iter().cloned())
        .collect();
    let mut pending: Vec<Option<Move>> = moves.into_iter().map(Some).collect();
    for (key, value) in old {
        let slot = pending.iter_mut().find(|slot| {
            slot.as_ref()
                .is_some_and(|next| next.sources.contains(&key))
        });
        if let Some(slot) = slot {
            if let Some(done) = slot.take() {
                map.insert(done.key, done.value);
            }
        } else if !all_sources.contains(&key) {
            map.insert(key, value);
        }
        // Else: a further source of a move already placed; it is folded into the new key.
    }
    for done in pending.into_iter().flatten() {
        map.insert(done.key, done.value);
    }
}

/// Insert `key` right before `before` (appended when `before` is absent). An existing `key` is
/// replaced in place.
pub(super) fn insert_before(map: &mut Map<String, Value>, before: &str, key: &str, value: Value) {
    if map.contains_key(key) || !map.contains_key(before) {
        map.insert(key.to_owned(), value);
        return;
    }
    let old = std::mem::take(map);
    let mut value = Some(value);
    for (existing, item) in old {
        if existing == before
            && let Some(value) = value.take()
        {
            map.insert(key.to_owned(), value);
        }
        map.insert(existing, item);
    }
}

/// Insert `key` right after `after` (appended when `after` is absent). An existing `key` is
/// replaced in place.
pub(super) fn insert_after(map: &mut Map<String, Value>, after: &str, key: &str, value: Value) {
    if map.contains_key(key) || !map.contains_key(after) {
        map.insert(key.to_owned(), value);
        return;
    }
    let old = std::mem::take(map);
    let mut value = Some(value);
    for (existing, item) in old {
        let anchor = existing == after;
        map.insert(existing, item);
        if anchor && let Some(value) = value.take() {
            map.insert(key.to_owned(), value);
        }
    }
}
