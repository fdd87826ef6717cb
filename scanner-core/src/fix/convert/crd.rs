//! `CustomResourceDefinition` `apiextensions.k8s.io/v1beta1` to `v1`: the top-level schema,
//! subresources and printer columns move into each version, pruning is kept as it was, the
//! conversion webhook is regrouped, and the schema must be structural.

use serde_json::{Map, Value, json};

use super::{Move, Step, as_obj, child_arr, child_obj, child_str, is_set, join, restructure};

pub(super) fn convert(map: &mut Map<String, Value>, notes: &mut Vec<String>) -> Step {
    let Some(spec) = child_obj(map, "spec", "spec")? else {
        return Err("The CustomResourceDefinition has no spec; write it by hand.".to_owned());
    };

    // spec.version alone becomes the one served and stored version.
    if !is_set(spec, "scope") {
        // v1 requires it; v1beta1 defaulted it.
        super::insert_after(spec, "names", "scope", Value::from("Namespaced"));
        notes.push(
            "spec.scope: Namespaced written out (the v1beta1 default; v1 requires it).".to_owned(),
        );
    }
    if is_set(spec, "versions") {
        // v1beta1 required it to equal the first of versions; v1 has no such field.
        spec.remove("version");
    } else {
        let Some(name) = child_str(spec, "version", "spec.version")? else {
            return Err(
                "Neither spec.version nor spec.versions is set; list the versions by hand."
                    .to_owned(),
            );
        };
        let versions = json!([{"name": name, "served": true, "storage": true}]);
        restructure(spec, vec![Move::new(&["version"], "versions", versions)]);
    }

    let schema = match spec.remove("validation") {
        None | Some(Value::Null) => None,
        Some(Value::Object(mut validation)) => validation
            .remove("openAPIV3Schema")
            .filter(|schema| !schema.is_null()),
        Some(_) => return Err(super::odd("spec.validation", "a map")),
    };
    let subresources = spec.remove("subresources").filter(|value| !value.is_null());
    let columns = spec
        .remove("additionalPrinterColumns")
        .filter(|value| !value.is_null());
    // v1beta1's default is true: no pruning. v1 only accepts false, so an unset or true value
    // becomes x-kubernetes-preserve-unknown-fields on each schema root.
    let preserve_unknown = match spec.get("preserveUnknownFields") {
        None | Some(Value::Null | Value::Bool(true)) => {
            spec.remove("preserveUnknownFields");
            true
        }
        Some(Value::Bool(false)) => false,
        Some(_) => return Err(super::odd("spec.preserveUnknownFields", "a boolean")),
    };

    let mut problems = Vec::new();
    let mut without_schema = Vec::new();
    let Some(versions) = child_arr(spec, "versions", "spec.versions")? else {
        return Err("spec.versions is not a list; fix it by hand.".to_owned());
    };
    for (index, version) in versions.iter_mut().enumerate() {
        let path = format!("spec.versions[{index}]");
        let version = as_obj(version, &path)?;
        let name = child_str(version, "name", &format!("{path}.name"))?
            .unwrap_or("?")
            .to_owned();
        if let Some(schema) = &schema
            && !is_set(version, "schema")
        {
            version.insert("schema".to_owned(), json!({"openAPIV3Schema": schema}));
        }
        if let Some(subresources) = &subresources
            && !is_set(version, "subresources")
        {
            version.insert("subresources".to_owned(), subresources.clone());
        }
        if let Some(columns) = &columns
            && !is_set(version, "additionalPrinterColumns")
        {
            version.insert("additionalPrinterColumns".to_owned(), columns.clone());
        }
        if let Some(columns) = child_arr(
            version,
            "additionalPrinterColumns",
            &format!("{path}.additionalPrinterColumns"),
        )? {
            for (index, column) in columns.iter_mut().enumerate() {
                let column_path = format!("{path}.additionalPrinterColumns[{index}]");
                let column = as_obj(column, &column_path)?;
                if let Some(json_path) = column.get("JSONPath").cloned() {
                    restructure(
                        column,
                        vec![Move::new(&["JSONPath"], "jsonPath", json_path)],
                    );
                }
            }
        }
        let root = openapi_schema(version, &path)?;
        let Some(root) = root else {
            // v1 requires a schema for every version; an open one keeps every field.
            let mut schema = Map::new();
            schema.insert("type".to_owned(), Value::from("object"));
            schema.insert(
                "x-kubernetes-preserve-unknown-fields".to_owned(),
                Value::Bool(true),
            );
            version.insert("schema".to_owned(), json!({"openAPIV3Schema": schema}));
            without_schema.push(name);
            continue;
        };
        check_structural(
            root,
            &format!("{path}.schema.openAPIV3Schema"),
            true,
            &mut problems,
        );
        // Checked before marking: the flag would exempt untyped nodes the author left.
        if preserve_unknown {
            keep_unknown_fields(root, true);
        }
    }

    if !problems.is_empty() {
        // A large schema can have hundreds of untyped nodes: the first ones show the pattern.
        const SHOWN: usize = 12;
        let more = problems.len().saturating_sub(SHOWN);
        problems.truncate(SHOWN);
        let tail = if more > 0 {
            format!("; and {more} more")
        } else {
            String::new()
        };
        return Err(format!(
            "The schema is not structural, which apiextensions.k8s.io/v1 requires: {}{tail}. Fix these schema nodes \
             (give each a type), then convert.",
            problems.join("; ")
        ));
    }
    if !without_schema.is_empty() {
        notes.push(format!(
            "Version(s) {} had no schema; v1 requires one, so an open schema {{type: object, \
             x-kubernetes-preserve-unknown-fields: true}} was written. Replace it with the real schema to get validation and pruning.",
            without_schema.join(", ")
        ));
    }
    if preserve_unknown {
        notes.push(
            "spec.preserveUnknownFields (v1beta1 default true: unknown fields kept) is removed, as v1 accepts only false; \
             x-kubernetes-preserve-unknown-fields: true on every object node of the schemas (the flag is not \
             inherited) keeps unknown fields as before. Remove it once the schemas are complete to have unknown \
             fields pruned."
                .to_owned(),
        );
    }
    conversion(spec, notes)
}

const PRESERVE: &str = "x-kubernetes-preserve-unknown-fields";

/// Mark the root and every object node under it with `x-kubernetes-preserve-unknown-fields:
/// true`: v1beta1's `preserveUnknownFields` kept unknown fields at every depth, and the flag
/// applies to its own node only. Nodes with `additionalProperties` keep every key anyway, and
/// the root's `metadata` is never pruned.
fn keep_unknown_fields(node: &mut Map<String, Value>, root: bool) {
    let object = node.get("type").and_then(Value::as_str) == Some("object")
        || node.contains_key("properties");
    if (root || object) && !node.contains_key("additionalProperties") && !is_set(node, PRESERVE) {
        node.insert(PRESERVE.to_owned(), Value::Bool(true));
    }
    if let Some(Value::Object(properties)) = node.get_mut("properties") {
        for (name, child) in properties.iter_mut() {
            if let Value::Object(child) = child
                && !(root && name == "metadata")
            {
                keep_unknown_fields(child, false);
            }
        }
    }
    for key in ["items", "additionalProperties"] {
        if let Some(Value::Object(child)) = node.get_mut(key) {
            keep_unknown_fields(child, false);
        }
    }
}

/// `schema.openAPIV3Schema` of a version, when set.
fn openapi_schema<'a>(
    version: &'a mut Map<String, Value>,
    path: &str,
) -> Step<Option<&'a mut Map<String, Value>>> {
    let Some(schema) = child_obj(version, "schema", &format!("{path}.schema"))? else {
        return Ok(None);
    };
    child_obj(
        schema,
        "openAPIV3Schema",
        &format!("{path}.schema.openAPIV3Schema"),
    )
}

/// `conversion.webhookClientConfig` and `conversion.conversionReviewVersions` move under
/// `conversion.webhook`.
fn conversion(spec: &mut Map<String, Value>, notes: &mut Vec<String>) -> Step {
    let Some(conversion) = child_obj(spec, "conversion", "spec.conversion")? else {
        return Ok(());
    };
    let strategy = child_str(conversion, "strategy", "spec.conversion.strategy")?
        .unwrap_or("None")
        .to_owned();
    if is_set(conversion, "webhook") {
        return Ok(());
    }
    if strategy != "Webhook" {
        // v1 forbids webhook settings unless the strategy is Webhook; v1beta1 ignored them.
        if conversion.remove("webhookClientConfig").is_some()
            | conversion.remove("conversionReviewVersions").is_some()
        {
            notes.push(format!(
                "spec.conversion.webhookClientConfig/conversionReviewVersions removed: the strategy is {strategy}, which ignores them, and v1 rejects them."
            ));
        }
        return Ok(());
    }
    let Some(client_config) = conversion
        .get("webhookClientConfig")
        .filter(|value| !value.is_null())
        .cloned()
    else {
        return Err(
            "spec.conversion.strategy is Webhook but webhookClientConfig is not set; configure the conversion webhook by hand."
                .to_owned(),
        );
    };
    let review_versions = if let Some(versions) = conversion
        .get("conversionReviewVersions")
        .filter(|value| !value.is_null())
    {
        versions.clone()
    } else {
        notes.push(
            "spec.conversion.webhook.conversionReviewVersions: [v1beta1] written out (the v1beta1 default; v1 requires \
             it). Add v1 first once the webhook understands ConversionReview v1."
                .to_owned(),
        );
        json!(["v1beta1"])
    };
    let webhook =
        json!({"clientConfig": client_config, "conversionReviewVersions": review_versions});
    restructure(
        conversion,
        vec![Move::new(
            &["webhookClientConfig", "conversionReviewVersions"],
            "webhook",
            webhook,
        )],
    );
    Ok(())
}

/// Report what makes a schema not structural: a node without `type` (except those marked
/// int-or-string or preserve-unknown-fields), a root that is not an object, and `metadata`
/// restricted beyond `name` and `generateName`.
fn check_structural(node: &Map<String, Value>, path: &str, root: bool, problems: &mut Vec<String>) {
    let exempt = node.get("x-kubernetes-int-or-string") == Some(&Value::Bool(true))
        || node.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(true));
    let node_type = node
        .get("type")
        .and_then(Value::as_str)
        .filter(|text| !text.is_empty());
    if root {
        if node_type != Some("object") {
            problems.push(format!("{path}: the root must have type: object"));
        }
    } else if node_type.is_none() && !exempt {
        problems.push(format!("{path}: no type"));
    }
    if let Some(Value::Object(properties)) = node.get("properties") {
        for (name, property) in properties {
            let property_path = join(&join(path, "properties"), name);
            let Value::Object(property) = property else {
                problems.push(format!("{property_path}: not a schema"));
                continue;
            };
            if root && name == "metadata" {
                check_metadata(property, &property_path, problems);
            }
            check_structural(property, &property_path, false, problems);
        }
    }
    match node.get("items") {
        Some(Value::Object(items)) => {
            check_structural(items, &join(path, "items"), false, problems);
        }
        Some(Value::Array(_)) => problems.push(format!(
            "{}: a list of schemas; v1 needs one schema",
            join(path, "items")
        )),
        _ => {}
    }
    if let Some(Value::Object(additional)) = node.get("additionalProperties") {
        check_structural(
            additional,
            &join(path, "additionalProperties"),
            false,
            problems,
        );
    }
}

fn check_metadata(metadata: &Map<String, Value>, path: &str, problems: &mut Vec<String>) {
    for key in metadata.keys() {
        if !matches!(key.as_str(), "type" | "description" | "properties") {
            problems.push(format!(
                "{path}: only name and generateName may be restricted, not {key}"
            ));
        }
    }
    if let Some(Value::Object(properties)) = metadata.get("properties") {
        for name in properties.keys() {
            if !matches!(name.as_str(), "name" | "generateName") {
                problems.push(format!(
                    "{path}: only name and generateName may be restricted, not properties.{name}"
                ));
            }
        }
    }
}
