//! Where the scheduler may put a pod: its required node selection and its tolerations against
//! a node. Shared by DRN011 (pods with nowhere to go) and CAP003 (room for a node's pods).

use serde_json::Value;

use super::util::{name, text};

/// Whether one `matchExpressions` (or `matchFields`) requirement holds for `value`.
fn requirement(req: &Value, value: Option<&str>) -> bool {
    let values: Vec<&str> = req
        .get("values")
        .and_then(Value::as_array)
        .map(|v| v.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let number = |s: &str| s.parse::<i64>().ok();
    match req.get("operator").and_then(Value::as_str) {
        Some("In") => value.is_some_and(|v| values.contains(&v)),
        Some("NotIn") => value.is_none_or(|v| !values.contains(&v)),
        Some("Exists") => value.is_some(),
        Some("DoesNotExist") => value.is_none(),
        Some("Gt") => match (
            value.and_then(number),
            values.first().and_then(|v| number(v)),
        ) {
            (Some(a), Some(b)) => a > b,
            _ => false,
        },
        Some("Lt") => match (
            value.and_then(number),
            values.first().and_then(|v| number(v)),
        ) {
            (Some(a), Some(b)) => a < b,
            _ => false,
        },
        _ => false,
    }
}

/// Whether `node` satisfies the pod spec's nodeSelector and required node affinity.
pub fn selects_node(spec: &Value, node: &Value) -> bool {
    let label = |k: &str| {
        node.pointer("/metadata/labels")
            .and_then(|l| l.get(k))
            .and_then(Value::as_str)
    };
    if let Some(sel) = spec.get("nodeSelector").and_then(Value::as_object)
        && !sel.iter().all(|(k, v)| label(k) == v.as_str())
    {
        return false;
    }
    let Some(terms) = spec
        .pointer("/affinity/nodeAffinity/requiredDuringSchedulingIgnoredDuringExecution/nodeSelectorTerms")
        .and_then(Value::as_array)
    else {
        return true;
    };
    // Terms are ORed, requirements inside a term ANDed.
    terms.iter().any(|term| {
        let exprs = term.get("matchExpressions").and_then(Value::as_array);
        let fields = term.get("matchFields").and_then(Value::as_array);
        exprs
            .into_iter()
            .flatten()
            .all(|r| requirement(r, r.get("key").and_then(Value::as_str).and_then(label)))
            && fields.into_iter().flatten().all(|r| {
                let value = (r.get("key").and_then(Value::as_str) == Some("metadata.name"))
                    .then(|| name(node));
                requirement(r, value)
            })
            && (exprs.is_some_and(|e| !e.is_empty()) || fields.is_some_and(|f| !f.is_empty()))
    })
}

/// Whether the pod spec tolerates every `NoSchedule` and `NoExecute` taint of `node`.
pub fn tolerates(spec: &Value, node: &Value) -> bool {
    let tolerations: Vec<&Value> = spec
        .get("tolerations")
        .and_then(Value::as_array)
        .map(|t| t.iter().collect())
        .unwrap_or_default();
    node.pointer("/spec/taints")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|t| matches!(text(t, "/effect"), Some("NoSchedule" | "NoExecute")))
        .all(|taint| {
            tolerations.iter().any(|t| {
                let key = text(t, "/key").unwrap_or("");
                let exists = text(t, "/operator") == Some("Exists");
                let key_ok = (key.is_empty() && exists) || Some(key) == text(taint, "/key");
                let value_ok = exists
                    || text(t, "/value").unwrap_or("") == text(taint, "/value").unwrap_or("");
                let effect_ok = text(t, "/effect")
                    .is_none_or(|e| e.is_empty() || Some(e) == text(taint, "/effect"));
                key_ok && value_ok && effect_ok
            })
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn numeric_and_absent_labels() {
        let gt = json!({"key": "gen", "operator": "Gt", "values": ["3"]});
        assert!(
            requirement(&gt, Some("4")) && !requirement(&gt, Some("3")) && !requirement(&gt, None)
        );
        let not_in = json!({"key": "pool", "operator": "NotIn", "values": ["spot"]});
        assert!(requirement(&not_in, None) && !requirement(&not_in, Some("spot")));
    }
}
