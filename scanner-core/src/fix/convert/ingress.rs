//! Ingress `extensions/v1beta1` and `networking.k8s.io/v1beta1` to `networking.k8s.io/v1`.

use serde_json::{Map, Value, json};

use super::{
    Move, Step, as_obj, child_arr, child_obj, child_str, insert_after, insert_before, is_set, odd,
    restructure,
};

const CLASS_ANNOTATION: &str = "kubernetes.io/ingress.class";

pub(super) fn convert(map: &mut Map<String, Value>, notes: &mut Vec<String>) -> Step {
    let class_annotation = annotation(map, CLASS_ANNOTATION)?;
    let Some(spec) = child_obj(map, "spec", "spec")? else {
        return Ok(());
    };
    if let Some(backend) = spec.get_mut("backend")
        && !backend.is_null()
    {
        convert_backend(backend, "spec.backend")?;
        let backend = spec.get("backend").cloned().unwrap_or(Value::Null);
        restructure(
            spec,
            vec![Move::new(&["backend"], "defaultBackend", backend)],
        );
    }
    if let Some(rules) = child_arr(spec, "rules", "spec.rules")? {
        for (index, rule) in rules.iter_mut().enumerate() {
            let rule_path = format!("spec.rules[{index}]");
            let rule = as_obj(rule, &rule_path)?;
            let Some(http) = child_obj(rule, "http", &format!("{rule_path}.http"))? else {
                continue;
            };
            let paths_path = format!("{rule_path}.http.paths");
            let Some(paths) = child_arr(http, "paths", &paths_path)? else {
                continue;
            };
            for (index, path) in paths.iter_mut().enumerate() {
                let path_path = format!("{paths_path}[{index}]");
                let path = as_obj(path, &path_path)?;
                if let Some(backend) = path.get_mut("backend") {
                    convert_backend(backend, &format!("{path_path}.backend"))?;
                }
                if !is_set(path, "pathType") {
                    // v1beta1 defaulted it to ImplementationSpecific; v1 requires it.
                    let value = Value::from("ImplementationSpecific");
                    if path.contains_key("path") {
                        insert_after(path, "path", "pathType", value);
                    } else {
                        insert_before(path, "backend", "pathType", value);
                    }
                }
            }
        }
    }
    if let Some(class) = class_annotation
        && !is_set(spec, "ingressClassName")
    {
        notes.push(format!(
            "The annotation {CLASS_ANNOTATION}: {class} is kept: it still works, and an IngressClass named {class} may \
             not exist. To move to spec.ingressClassName, make sure an IngressClass {class} exists for your \
             controller, then set spec.ingressClassName: {class} and remove the annotation in the same change."
        ));
    }
    Ok(())
}

/// The value of annotation `name`, when it is a string.
fn annotation(map: &mut Map<String, Value>, name: &str) -> Step<Option<String>> {
    let Some(metadata) = child_obj(map, "metadata", "metadata")? else {
        return Ok(None);
    };
    let Some(annotations) = child_obj(metadata, "annotations", "metadata.annotations")? else {
        return Ok(None);
    };
    Ok(child_str(annotations, name, &format!("metadata.annotations[{name}]"))?.map(str::to_owned))
}

/// `serviceName`/`servicePort` to `service: {name, port: {number | name}}`; `resource` backends
/// stay as they are.
fn convert_backend(backend: &mut Value, path: &str) -> Step {
    let backend = as_obj(backend, path)?;
    if !is_set(backend, "serviceName") && !is_set(backend, "servicePort") {
        return Ok(());
    }
    let Some(name) = child_str(backend, "serviceName", &format!("{path}.serviceName"))? else {
        return Err(format!(
            "{path} has a servicePort but no serviceName; add the service name by hand."
        ));
    };
    let port_path = format!("{path}.servicePort");
    let port = match backend.get("servicePort") {
        None | Some(Value::Null) => {
            return Err(format!(
                "{path} has no servicePort, which networking.k8s.io/v1 requires; add the service port by hand."
            ));
        }
        Some(Value::Number(number)) => match number.as_u64() {
            Some(number) if number <= 65535 => json!({"number": number}),
            _ => return Err(odd(&port_path, "a port number")),
        },
        Some(Value::String(text))
            if !text.is_empty() && text.bytes().all(|byte| byte.is_ascii_digit()) =>
        {
            match text.parse::<u16>() {
                Ok(number) => json!({"number": number}),
                Err(_) => return Err(odd(&port_path, "a port number")),
            }
        }
        Some(Value::String(text)) if !text.is_empty() => json!({"name": text}),
        Some(_) => return Err(odd(&port_path, "a port number or name")),
    };
    let service = json!({"name": name, "port": port});
    restructure(
        backend,
        vec![Move::new(
            &["serviceName", "servicePort"],
            "service",
            service,
        )],
    );
    Ok(())
}
