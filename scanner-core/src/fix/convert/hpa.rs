//! `HorizontalPodAutoscaler` `autoscaling/v2beta1` to `autoscaling/v2` (and `v2beta2`): every
//! metric target becomes a `target {type, ...}` and every metric name a `metric {name, selector}`.

use serde_json::{Map, Value, json};

use super::{Move, Step, as_obj, child_arr, child_obj, child_str, is_set, restructure};

pub(super) fn convert(map: &mut Map<String, Value>, notes: &mut Vec<String>) -> Step {
    let Some(spec) = child_obj(map, "spec", "spec")? else {
        return Ok(());
    };
    if spec.remove("targetCPUUtilizationPercentage").is_some() {
        // An autoscaling/v1 field: v2beta1 ignored it, so dropping it keeps the behaviour.
        notes.push(
            "spec.targetCPUUtilizationPercentage is removed: it is an autoscaling/v1 field that v2beta1 ignored. \
             To scale on CPU, add a Resource metric with target {type: Utilization, averageUtilization: N}."
                .to_owned(),
        );
    }
    let Some(metrics) = child_arr(spec, "metrics", "spec.metrics")? else {
        return Ok(());
    };
    for (index, metric) in metrics.iter_mut().enumerate() {
        let path = format!("spec.metrics[{index}]");
        let metric = as_obj(metric, &path)?;
        if let Some(source) = child_obj(metric, "resource", &format!("{path}.resource"))? {
            resource(source, &format!("{path}.resource"))?;
        }
        if let Some(source) = child_obj(
            metric,
            "containerResource",
            &format!("{path}.containerResource"),
        )? {
            resource(source, &format!("{path}.containerResource"))?;
        }
        if let Some(source) = child_obj(metric, "pods", &format!("{path}.pods"))? {
            pods(source, &format!("{path}.pods"))?;
        }
        if let Some(source) = child_obj(metric, "object", &format!("{path}.object"))? {
            object(source, &format!("{path}.object"))?;
        }
        if let Some(source) = child_obj(metric, "external", &format!("{path}.external"))? {
            external(source, &format!("{path}.external"))?;
        }
    }
    Ok(())
}

/// `value` of `key`, which a metric of this source requires.
fn required(source: &Map<String, Value>, key: &str, path: &str) -> Step<Value> {
    match source.get(key) {
        None | Some(Value::Null) => Err(format!(
            "{path}.{key} is not set; complete the metric target by hand."
        )),
        Some(value) => Ok(value.clone()),
    }
}

/// `metric {name, selector}` from `metricName` and the selector under `selector_key`.
fn metric_identifier(source: &Map<String, Value>, selector_key: &str, path: &str) -> Step<Value> {
    let Some(name) = child_str(source, "metricName", &format!("{path}.metricName"))? else {
        return Err(format!(
            "{path}.metricName is not set; name the metric by hand."
        ));
    };
    let mut metric = json!({"name": name});
    if let (Some(selector), Value::Object(metric)) = (
        source.get(selector_key).filter(|value| !value.is_null()),
        &mut metric,
    ) {
        metric.insert("selector".to_owned(), selector.clone());
    }
    Ok(metric)
}

fn resource(source: &mut Map<String, Value>, path: &str) -> Step {
    let target = if is_set(source, "targetAverageUtilization") {
        json!({"type": "Utilization", "averageUtilization": required(source, "targetAverageUtilization", path)?})
    } else if is_set(source, "targetAverageValue") {
        json!({"type": "AverageValue", "averageValue": required(source, "targetAverageValue", path)?})
    } else if is_set(source, "target") {
        return Ok(());
    } else {
        return Err(format!(
            "{path} has no target; set targetAverageUtilization or targetAverageValue by hand."
        ));
    };
    restructure(
        source,
        vec![Move::new(
            &["targetAverageUtilization", "targetAverageValue"],
            "target",
            target,
        )],
    );
    Ok(())
}

fn pods(source: &mut Map<String, Value>, path: &str) -> Step {
    if is_set(source, "metric") {
        return Ok(());
    }
    let metric = metric_identifier(source, "selector", path)?;
    let target = json!({"type": "AverageValue", "averageValue": required(source, "targetAverageValue", path)?});
    restructure(
        source,
        vec![
            Move::new(&["metricName", "selector"], "metric", metric),
            Move::new(&["targetAverageValue"], "target", target),
        ],
    );
    Ok(())
}

fn object(source: &mut Map<String, Value>, path: &str) -> Step {
    if is_set(source, "describedObject") {
        return Ok(());
    }
    let described = required(source, "target", path)?;
    let metric = metric_identifier(source, "selector", path)?;
    // As the apiserver converted it: an average value, when given, is the target.
    let target = if is_set(source, "averageValue") {
        json!({"type": "AverageValue", "averageValue": required(source, "averageValue", path)?})
    } else {
        json!({"type": "Value", "value": required(source, "targetValue", path)?})
    };
    restructure(
        source,
        vec![
            Move::new(&["target"], "describedObject", described),
            Move::new(&["metricName", "selector"], "metric", metric),
            Move::new(&["targetValue", "averageValue"], "target", target),
        ],
    );
    Ok(())
}

fn external(source: &mut Map<String, Value>, path: &str) -> Step {
    if is_set(source, "metric") {
        return Ok(());
    }
    let metric = metric_identifier(source, "metricSelector", path)?;
    let target = if is_set(source, "targetAverageValue") {
        json!({"type": "AverageValue", "averageValue": required(source, "targetAverageValue", path)?})
    } else {
        json!({"type": "Value", "value": required(source, "targetValue", path)?})
    };
    restructure(
        source,
        vec![
            Move::new(&["metricName", "metricSelector"], "metric", metric),
            Move::new(&["targetValue", "targetAverageValue"], "target", target),
        ],
    );
    Ok(())
}
