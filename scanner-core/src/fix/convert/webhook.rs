//! Validating and mutating webhook configurations `admissionregistration.k8s.io/v1beta1` to `v1`:
//! the fields v1 requires are filled, and the defaults v1 changed are written out so that
//! behaviour stays.

use serde_json::{Map, Value, json};

use super::{Step, as_obj, child_arr, child_str, is_set};

/// v1beta1 defaults that v1 changed or made required: key, value, and what v1 would do.
fn defaults() -> [(&'static str, Value, &'static str); 4] {
    [
        ("failurePolicy", json!("Ignore"), "v1 defaults to Fail"),
        ("matchPolicy", json!("Exact"), "v1 defaults to Equivalent"),
        ("timeoutSeconds", json!(30), "v1 defaults to 10"),
        (
            "admissionReviewVersions",
            json!(["v1beta1"]),
            "v1 requires it",
        ),
    ]
}

pub(super) fn convert(map: &mut Map<String, Value>, notes: &mut Vec<String>) -> Step {
    let Some(webhooks) = child_arr(map, "webhooks", "webhooks")? else {
        return Ok(());
    };
    // v1 requires unique names within a configuration; v1beta1 did not.
    let mut names: Vec<&str> = webhooks
        .iter()
        .filter_map(|webhook| webhook.get("name")?.as_str())
        .collect();
    names.sort_unstable();
    if let Some(duplicate) = names.windows(2).find_map(|pair| match pair {
        [first, second] if first == second => Some(*first),
        _ => None,
    }) {
        return Err(format!(
            "Two webhooks are named {duplicate}, and v1 requires unique names within a configuration; rename one by hand."
        ));
    }
    for (index, webhook) in webhooks.iter_mut().enumerate() {
        let path = format!("webhooks[{index}]");
        let webhook = as_obj(webhook, &path)?;
        let name = child_str(webhook, "name", &format!("{path}.name"))?
            .unwrap_or("?")
            .to_owned();
        match child_str(webhook, "sideEffects", &format!("{path}.sideEffects"))? {
            None | Some("Unknown") => {
                webhook.insert("sideEffects".to_owned(), json!("None"));
                notes.push(format!(
                    "Webhook {name}: sideEffects set to None (v1 accepts only None or NoneOnDryRun). If the webhook \
                     has side effects, use NoneOnDryRun and make it honour the request's dryRun flag."
                ));
            }
            Some("Some") => {
                return Err(format!(
                    "Webhook {name} declares sideEffects: Some, which v1 does not accept. Make the webhook skip its \
                     side effects on dry-run requests, then set sideEffects: NoneOnDryRun."
                ));
            }
            Some(_) => {}
        }
        let mut written = Vec::new();
        for (key, value, why) in defaults() {
            if !is_set(webhook, key) {
                written.push(format!("{key}: {value} ({why})"));
                webhook.insert(key.to_owned(), value);
            }
        }
        if !written.is_empty() {
            notes.push(format!(
                "Webhook {name}: the v1beta1 defaults written out so behaviour stays: {}.",
                written.join(", ")
            ));
        }
    }
    Ok(())
}
