//! `Deployment`, `DaemonSet`, `ReplicaSet` and `StatefulSet` from `extensions/v1beta1`, `apps/v1beta1`
//! and `apps/v1beta2` to `apps/v1`.

use serde_json::{Map, Value, json};

use super::{Step, TypeRef, child_obj, insert_after, insert_before, is_set, odd};

pub(super) fn convert(
    map: &mut Map<String, Value>,
    from: TypeRef<'_>,
    notes: &mut Vec<String>,
) -> Step {
    let kind = from.kind;
    let from_api = from.api_version();
    let Some(spec) = child_obj(map, "spec", "spec")? else {
        return Err(format!(
            "The {kind} has no spec; apps/v1 requires spec.selector and spec.template. Write them by hand."
        ));
    };
    if !is_set(spec, "selector") {
        // The betas defaulted the selector to the template's labels; apps/v1 requires it written.
        let labels = template_labels(spec)?;
        let Some(labels) = labels.filter(|labels| !labels.is_empty()) else {
            return Err(format!(
                "spec.selector is required in apps/v1 and spec.template.metadata.labels is empty, so there is \
                 nothing to select the {kind}'s pods by; add pod labels and a matching spec.selector by hand."
            ));
        };
        insert_before(spec, "template", "selector", json!({"matchLabels": labels}));
    }
    if spec.remove("rollbackTo").is_some() {
        notes.push(
            "spec.rollbackTo is removed (apps/v1 has no such field): roll back with `kubectl rollout undo` instead."
                .to_owned(),
        );
    }
    if kind == "DaemonSet" && spec.remove("templateGeneration").is_some() {
        notes.push(
            "spec.templateGeneration is removed (apps/v1 has no such field; the controller tracks revisions itself)."
                .to_owned(),
        );
    }
    match (from_api.as_str(), kind) {
        ("extensions/v1beta1", "DaemonSet") if !is_set(spec, "updateStrategy") => {
            insert_after(
                spec,
                "template",
                "updateStrategy",
                json!({"type": "OnDelete"}),
            );
            notes.push(
                "spec.updateStrategy: {type: OnDelete} written out: it was the extensions/v1beta1 default, and apps/v1 \
                 defaults to RollingUpdate. Remove it to have pods replaced on every template change."
                    .to_owned(),
            );
        }
        ("apps/v1beta1", "StatefulSet") if !is_set(spec, "updateStrategy") => {
            insert_after(
                spec,
                "template",
                "updateStrategy",
                json!({"type": "OnDelete"}),
            );
            notes.push(
                "spec.updateStrategy: {type: OnDelete} written out: it was the apps/v1beta1 default, and apps/v1 \
                 defaults to RollingUpdate. Remove it to have pods replaced on every template change."
                    .to_owned(),
            );
        }
        ("extensions/v1beta1", "Deployment") => deployment_defaults(spec, true, notes)?,
        ("apps/v1beta1", "Deployment") => deployment_defaults(spec, false, notes)?,
        _ => {}
    }
    Ok(())
}

/// `spec.template.metadata.labels`, cloned.
fn template_labels(spec: &mut Map<String, Value>) -> Step<Option<Map<String, Value>>> {
    let Some(template) = child_obj(spec, "template", "spec.template")? else {
        return Ok(None);
    };
    let Some(metadata) = child_obj(template, "metadata", "spec.template.metadata")? else {
        return Ok(None);
    };
    Ok(
        child_obj(metadata, "labels", "spec.template.metadata.labels")?
            .map(|labels| labels.clone()),
    )
}

/// Notes for the Deployment defaults that apps/v1 changed; they are not written out, as the new
/// defaults are what most want.
fn deployment_defaults(
    spec: &mut Map<String, Value>,
    extensions: bool,
    notes: &mut Vec<String>,
) -> Step {
    if !is_set(spec, "revisionHistoryLimit") {
        let old = if extensions { "unlimited" } else { "2" };
        notes.push(format!(
            "spec.revisionHistoryLimit is not set: the default was {old} and is 10 in apps/v1; set it to keep the old number of ReplicaSets."
        ));
    }
    if !extensions {
        return Ok(());
    }
    if !is_set(spec, "progressDeadlineSeconds") {
        notes.push(
            "spec.progressDeadlineSeconds is not set: extensions/v1beta1 had no deadline, apps/v1 defaults to 600 \
             seconds, after which a stalled rollout is reported as failed."
                .to_owned(),
        );
    }
    let recreate = match spec.get("strategy") {
        Some(Value::Object(strategy)) => {
            strategy.get("type").and_then(Value::as_str) == Some("Recreate")
        }
        None | Some(Value::Null) => false,
        Some(_) => return Err(odd("spec.strategy", "a map")),
    };
    if !recreate {
        let rolling = spec
            .get("strategy")
            .and_then(|strategy| strategy.get("rollingUpdate"))
            .and_then(Value::as_object);
        let unset: Vec<&str> = ["maxSurge", "maxUnavailable"]
            .into_iter()
            .filter(|key| !rolling.is_some_and(|rolling| is_set(rolling, key)))
            .collect();
        if !unset.is_empty() {
            notes.push(format!(
                "spec.strategy.rollingUpdate {} not set: the default was 1 and is 25% in apps/v1; set {} to 1 to keep the old pace.",
                if unset.len() == 1 { format!("{} is", unset[0]) } else { "maxSurge and maxUnavailable are".to_owned() },
                if unset.len() == 1 { "it" } else { "them" },
            ));
        }
    }
    Ok(())
}
