//! The smaller conversions: `PriorityLevelConfiguration`, `EndpointSlice`,
//! `CertificateSigningRequest`, `RuntimeClass` and `PodDisruptionBudget`.

use serde_json::{Map, Value, json};

use super::{Move, Step, as_obj, child_arr, child_obj, insert_after, is_set, odd, restructure};

/// flowcontrol betas: `assuredConcurrencyShares` became `nominalConcurrencyShares` in v1beta3;
/// in v1 an explicit 0 means 0 instead of the default 30.
pub(super) fn priority_level(
    map: &mut Map<String, Value>,
    from: &str,
    to: &str,
    notes: &mut Vec<String>,
) -> Step {
    let Some(spec) = child_obj(map, "spec", "spec")? else {
        return Ok(());
    };
    let Some(limited) = child_obj(spec, "limited", "spec.limited")? else {
        return Ok(());
    };
    if matches!(from, "v1alpha1" | "v1beta1" | "v1beta2")
        && matches!(to, "v1beta3" | "v1")
        && let Some(shares) = limited.get("assuredConcurrencyShares").cloned()
    {
        restructure(
            limited,
            vec![Move::new(
                &["assuredConcurrencyShares"],
                "nominalConcurrencyShares",
                shares,
            )],
        );
    }
    if to == "v1"
        && limited
            .get("nominalConcurrencyShares")
            .and_then(Value::as_u64)
            == Some(0)
    {
        // The betas read 0 as "unset", defaulted to 30; v1 takes it literally.
        limited.insert("nominalConcurrencyShares".to_owned(), json!(30));
        notes.push(
            "spec.limited.nominalConcurrencyShares: 0 meant the default 30 before v1, where 0 means no seats; 30 is written."
                .to_owned(),
        );
    }
    Ok(())
}

/// discovery betas: each endpoint's `topology` map becomes `nodeName`, `zone` and the rest
/// `deprecatedTopology`.
pub(super) fn endpoint_slice(map: &mut Map<String, Value>) -> Step {
    let Some(endpoints) = child_arr(map, "endpoints", "endpoints")? else {
        return Ok(());
    };
    for (index, endpoint) in endpoints.iter_mut().enumerate() {
        let path = format!("endpoints[{index}]");
        let endpoint = as_obj(endpoint, &path)?;
        let Some(topology) = child_obj(endpoint, "topology", &format!("{path}.topology"))? else {
            endpoint.remove("topology");
            continue;
        };
        let mut rest = topology.clone();
        for (label, value) in &rest {
            if !value.is_string() {
                return Err(odd(&format!("{path}.topology[{label}]"), "a string"));
            }
        }
        let mut moves = Vec::new();
        for (label, field) in [
            ("kubernetes.io/hostname", "nodeName"),
            ("topology.kubernetes.io/zone", "zone"),
        ] {
            if !is_set(endpoint, field)
                && let Some(value) = rest.remove(label)
            {
                moves.push(Move::new(&["topology"], field, value));
            }
        }
        if !rest.is_empty() {
            moves.push(Move::new(
                &["topology"],
                "deprecatedTopology",
                Value::Object(rest),
            ));
        }
        // Every move replaces `topology`: the first takes its place, the others follow.
        place_all(endpoint, "topology", moves);
    }
    Ok(())
}

/// Replace `key` by the new keys of `moves`, in order, at its position.
fn place_all(map: &mut Map<String, Value>, key: &str, moves: Vec<Move>) {
    let mut moves = moves.into_iter();
    let Some(first) = moves.next() else {
        map.remove(key);
        return;
    };
    let mut anchor = first.key.clone();
    restructure(map, vec![first]);
    for next in moves {
        let next_key = next.key.clone();
        insert_after(map, &anchor, &next_key, next.value);
        anchor = next_key;
    }
}

/// certificates v1beta1: v1 requires `signerName` (the old default cannot be requested) and
/// `usages`.
pub(super) fn csr(map: &mut Map<String, Value>, notes: &mut Vec<String>) -> Step {
    let Some(spec) = child_obj(map, "spec", "spec")? else {
        return Err("The CertificateSigningRequest has no spec; write it by hand.".to_owned());
    };
    if !is_set(spec, "signerName") {
        return Err(
            "spec.signerName is not set: the v1beta1 default kubernetes.io/legacy-unknown cannot be requested through \
             certificates.k8s.io/v1. Pick the signer (kubernetes.io/kube-apiserver-client, \
             kubernetes.io/kube-apiserver-client-kubelet, kubernetes.io/kubelet-serving or your own) and set spec.signerName."
                .to_owned(),
        );
    }
    if !is_set(spec, "usages") {
        spec.insert(
            "usages".to_owned(),
            json!(["digital signature", "key encipherment"]),
        );
        notes.push(
            "spec.usages: [digital signature, key encipherment] written out (the v1beta1 default; v1 requires it). \
             Check that the signer allows these usages."
                .to_owned(),
        );
    }
    Ok(())
}

/// node v1alpha1: the fields under `spec` move to the top level, `runtimeHandler` as `handler`.
pub(super) fn runtime_class(map: &mut Map<String, Value>) -> Step {
    let Some(spec) = child_obj(map, "spec", "spec")? else {
        return Ok(());
    };
    let spec = spec.clone();
    let mut moves = Vec::new();
    for (key, value) in spec {
        let key = match key.as_str() {
            "runtimeHandler" => "handler".to_owned(),
            _ => key,
        };
        moves.push(Move::new(&["spec"], &key, value));
    }
    place_all(map, "spec", moves);
    Ok(())
}

/// authorization v1beta1: a review's `spec.group` is renamed `spec.groups`.
pub(super) fn access_review(map: &mut Map<String, Value>) -> Step {
    let Some(spec) = child_obj(map, "spec", "spec")? else {
        return Ok(());
    };
    if let Some(groups) = spec.get("group").cloned() {
        restructure(spec, vec![Move::new(&["group"], "groups", groups)]);
    }
    Ok(())
}

/// rbac v1alpha1: a subject named its `apiVersion`; later versions name its `apiGroup`, which
/// the apiserver derived from the kind.
pub(super) fn rbac_subjects(map: &mut Map<String, Value>) -> Step {
    let Some(subjects) = child_arr(map, "subjects", "subjects")? else {
        return Ok(());
    };
    for (index, subject) in subjects.iter_mut().enumerate() {
        let path = format!("subjects[{index}]");
        let subject = as_obj(subject, &path)?;
        let Some(api_version) = subject.get("apiVersion").cloned() else {
            continue;
        };
        let group = match subject.get("kind").and_then(Value::as_str) {
            Some("User" | "Group") => Some("rbac.authorization.k8s.io".to_owned()),
            Some("ServiceAccount") => None,
            _ => api_version
                .as_str()
                .and_then(|text| text.rsplit_once('/'))
                .map(|(group, _)| group.to_owned()),
        };
        match group {
            Some(group) if !is_set(subject, "apiGroup") => {
                restructure(
                    subject,
                    vec![Move::new(&["apiVersion"], "apiGroup", Value::from(group))],
                );
            }
            _ => {
                subject.remove("apiVersion");
            }
        }
    }
    Ok(())
}

/// events v1beta1: same fields, but v1 accepts only the types Normal and Warning.
pub(super) fn event(map: &mut Map<String, Value>) -> Step {
    match map.get("type") {
        None | Some(Value::Null) => Ok(()),
        Some(Value::String(kind)) if matches!(kind.as_str(), "Normal" | "Warning") => Ok(()),
        Some(Value::String(kind)) => Err(format!(
            "type is {kind}, and events.k8s.io/v1 accepts only Normal or Warning; choose one of those by hand."
        )),
        Some(_) => Err(odd("type", "a string")),
    }
}

/// policy v1beta1: an empty selector selected no pods, and selects every pod of the namespace
/// in v1.
pub(super) fn pdb(map: &mut Map<String, Value>) -> Step {
    let Some(spec) = child_obj(map, "spec", "spec")? else {
        return Ok(());
    };
    if let Some(selector) = child_obj(spec, "selector", "spec.selector")?
        && selector.values().all(|value| {
            value.is_null()
                || value.as_object().is_some_and(Map::is_empty)
                || value.as_array().is_some_and(Vec::is_empty)
        })
    {
        return Err(
            "spec.selector is empty ({}): in policy/v1beta1 it selected no pods, in policy/v1 it selects every pod of \
             the namespace. Set a selector for the pods this budget should protect, or delete the budget if it protected nothing."
                .to_owned(),
        );
    }
    Ok(())
}
