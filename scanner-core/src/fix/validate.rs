//! Strict schema validation of a converted object against the `k8s-openapi` type of its
//! `apiVersion` and `kind`.
//!
//! `k8s-openapi` is lenient in both directions: it ignores unknown fields, and it fills a missing
//! required field with its default. So the object is deserialized into the typed struct (a wrong
//! type fails there), serialized back, and the two trees are compared: a field of the input that
//! the round trip lost is unknown or misplaced; a field that the round trip added where the input
//! had none is a required field the input lacks (`k8s-openapi` writes optional fields only when
//! they are set, required ones always).

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use k8s_openapi::api;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1 as apiextensions_v1;
use k8s_openapi::kube_aggregator::pkg::apis::apiregistration::v1 as apiregistration_v1;

/// The outcome of [`validate`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Validation {
    /// The object matches the schema of its kind.
    Valid,
    /// No schema known for this kind (custom resources, add-ons).
    Unchecked,
    /// What is wrong, one message a problem, each naming the field path where it can.
    Invalid(Vec<String>),
}

/// Check a converted object against the k8s-openapi type of its apiVersion/kind, strictly.
///
/// A wrong type or an unreadable value is the deserializer's message; a field the typed struct
/// does not know is `unknown field <path>`; a required field that is absent is
/// `missing required field <path>`. `status` is not checked. Kinds without a built-in schema
/// give [`Validation::Unchecked`].
pub fn validate(object: &Value) -> Validation {
    let api_version = object
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or("");
    let kind = object.get("kind").and_then(Value::as_str).unwrap_or("");
    macro_rules! dispatch {
        ($( ($av:literal, $kind:literal) => $ty:ty ),* $(,)?) => {
            match (api_version, kind) {
                $( ($av, $kind) => check::<$ty>(object), )*
                _ => Validation::Unchecked,
            }
        };
    }
    dispatch! {
        ("apps/v1", "Deployment") => api::apps::v1::Deployment,
        ("apps/v1", "DaemonSet") => api::apps::v1::DaemonSet,
        ("apps/v1", "ReplicaSet") => api::apps::v1::ReplicaSet,
        ("apps/v1", "StatefulSet") => api::apps::v1::StatefulSet,
        ("apps/v1", "ControllerRevision") => api::apps::v1::ControllerRevision,
        ("networking.k8s.io/v1", "Ingress") => api::networking::v1::Ingress,
        ("networking.k8s.io/v1", "IngressClass") => api::networking::v1::IngressClass,
        ("networking.k8s.io/v1", "NetworkPolicy") => api::networking::v1::NetworkPolicy,
        ("autoscaling/v2", "HorizontalPodAutoscaler") => api::autoscaling::v2::HorizontalPodAutoscaler,
        ("autoscaling/v1", "HorizontalPodAutoscaler") => api::autoscaling::v1::HorizontalPodAutoscaler,
        ("apiextensions.k8s.io/v1", "CustomResourceDefinition") => apiextensions_v1::CustomResourceDefinition,
        ("admissionregistration.k8s.io/v1", "ValidatingWebhookConfiguration") => api::admissionregistration::v1::ValidatingWebhookConfiguration,
        ("admissionregistration.k8s.io/v1", "MutatingWebhookConfiguration") => api::admissionregistration::v1::MutatingWebhookConfiguration,
        ("apiregistration.k8s.io/v1", "APIService") => apiregistration_v1::APIService,
        ("flowcontrol.apiserver.k8s.io/v1", "FlowSchema") => api::flowcontrol::v1::FlowSchema,
        ("flowcontrol.apiserver.k8s.io/v1", "PriorityLevelConfiguration") => api::flowcontrol::v1::PriorityLevelConfiguration,
        ("discovery.k8s.io/v1", "EndpointSlice") => api::discovery::v1::EndpointSlice,
        ("events.k8s.io/v1", "Event") => api::events::v1::Event,
        ("certificates.k8s.io/v1", "CertificateSigningRequest") => api::certificates::v1::CertificateSigningRequest,
        ("node.k8s.io/v1", "RuntimeClass") => api::node::v1::RuntimeClass,
        ("policy/v1", "PodDisruptionBudget") => api::policy::v1::PodDisruptionBudget,
        ("batch/v1", "CronJob") => api::batch::v1::CronJob,
        ("batch/v1", "Job") => api::batch::v1::Job,
        ("rbac.authorization.k8s.io/v1", "ClusterRole") => api::rbac::v1::ClusterRole,
        ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding") => api::rbac::v1::ClusterRoleBinding,
        ("rbac.authorization.k8s.io/v1", "Role") => api::rbac::v1::Role,
        ("rbac.authorization.k8s.io/v1", "RoleBinding") => api::rbac::v1::RoleBinding,
        ("storage.k8s.io/v1", "StorageClass") => api::storage::v1::StorageClass,
        ("storage.k8s.io/v1", "VolumeAttachment") => api::storage::v1::VolumeAttachment,
        ("storage.k8s.io/v1", "CSIDriver") => api::storage::v1::CSIDriver,
        ("storage.k8s.io/v1", "CSINode") => api::storage::v1::CSINode,
        ("storage.k8s.io/v1", "CSIStorageCapacity") => api::storage::v1::CSIStorageCapacity,
        ("scheduling.k8s.io/v1", "PriorityClass") => api::scheduling::v1::PriorityClass,
        ("coordination.k8s.io/v1", "Lease") => api::coordination::v1::Lease,
        ("v1", "Pod") => api::core::v1::Pod,
        ("v1", "Service") => api::core::v1::Service,
        ("v1", "ConfigMap") => api::core::v1::ConfigMap,
        ("v1", "Secret") => api::core::v1::Secret,
        ("v1", "ServiceAccount") => api::core::v1::ServiceAccount,
        ("v1", "Namespace") => api::core::v1::Namespace,
        ("v1", "PersistentVolumeClaim") => api::core::v1::PersistentVolumeClaim,
        ("v1", "PersistentVolume") => api::core::v1::PersistentVolume,
        ("v1", "ReplicationController") => api::core::v1::ReplicationController,
        ("v1", "Endpoints") => api::core::v1::Endpoints,
        ("v1", "LimitRange") => api::core::v1::LimitRange,
        ("v1", "ResourceQuota") => api::core::v1::ResourceQuota,
    }
}

/// Deserialize into `T`, serialize back, and compare.
fn check<T: DeserializeOwned + Serialize>(object: &Value) -> Validation {
    // Read from text that has one field a line, so that the deserializer's line names the path.
    let mut text = String::new();
    let mut paths = vec![String::new()];
    let mut prepared = normalize(object);
    if let Value::Object(map) = &mut prepared {
        // The status is the server's to write: a manifest's stale status is not checked.
        map.remove("status");
    }
    render(&prepared, "", &mut text, &mut paths);
    let typed: T = match serde_json::from_str(&text) {
        Ok(typed) => typed,
        Err(error) => {
            let message = error.to_string();
            let message = message.split(" at line ").next().unwrap_or(&message);
            let path = error
                .line()
                .checked_sub(1)
                .and_then(|line| paths.get(line))
                .filter(|path| !path.is_empty());
            return Validation::Invalid(vec![match path {
                Some(path) => format!("{path}: {message}"),
                None => message.to_owned(),
            }]);
        }
    };
    let back = match serde_json::to_value(&typed) {
        Ok(back) => back,
        Err(error) => return Validation::Invalid(vec![error.to_string()]),
    };
    let mut problems = Vec::new();
    if let (Value::Object(input), Value::Object(output)) = (object, &back) {
        let mut input = input.clone();
        input.remove("status");
        let mut output = output.clone();
        output.remove("status");
        compare_maps(&input, &output, "", &mut problems);
    }
    if problems.is_empty() {
        Validation::Valid
    } else {
        Validation::Invalid(problems)
    }
}

/// A copy read as the apiserver reads it: floats without a fraction (`1.0`, as YAML writers
/// sometimes emit) are integers, and a null field or map entry is absent (Go leaves the zero
/// value, so `annotations: {a: null}` is accepted).
fn normalize(value: &Value) -> Value {
    match value {
        Value::Number(number) if number.is_f64() => {
            let float = number.as_f64().unwrap_or(f64::NAN);
            #[allow(clippy::cast_possible_truncation)] // checked: whole and within i64
            if float.fract() == 0.0 && float.abs() < 9.0e15 {
                Value::from(float as i64)
            } else {
                value.clone()
            }
        }
        Value::Array(items) => Value::Array(items.iter().map(normalize).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(_, item)| !item.is_null())
                .map(|(key, item)| (key.clone(), normalize(item)))
                .collect(),
        ),
        _ => value.clone(),
    }
}

/// `value` as JSON with a line break before every field and item; `paths` gets the path of
/// each new line.
fn render(value: &Value, path: &str, out: &mut String, paths: &mut Vec<String>) {
    let line = |out: &mut String, paths: &mut Vec<String>, path: String| {
        out.push('\n');
        paths.push(path);
    };
    match value {
        Value::Object(map) => {
            out.push('{');
            for (index, (key, item)) in map.iter().enumerate() {
                if index > 0 {
                    out.push(',');
                }
                let item_path = join(path, key);
                line(out, paths, item_path.clone());
                out.push_str(&Value::from(key.as_str()).to_string());
                out.push(':');
                render(item, &item_path, out, paths);
            }
            line(out, paths, path.to_owned());
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (index, item) in items.iter().enumerate() {
                if index > 0 {
                    out.push(',');
                }
                let item_path = format!("{path}[{index}]");
                line(out, paths, item_path.clone());
                render(item, &item_path, out, paths);
            }
            line(out, paths, path.to_owned());
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

/// `path.key`, or `path["key"]` for a key that is not a plain name (a label, a dotted key).
fn join(path: &str, key: &str) -> String {
    let plain = !key.is_empty()
        && key
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || byte == b'_' || byte == b'-');
    match (path.is_empty(), plain) {
        (true, true) => key.to_owned(),
        (false, true) => format!("{path}.{key}"),
        (_, false) => format!("{path}[{}]", Value::from(key)),
    }
}

fn compare_maps(
    input: &Map<String, Value>,
    output: &Map<String, Value>,
    path: &str,
    problems: &mut Vec<String>,
) {
    for (key, value) in input {
        if value.is_null() {
            // An explicit null is "not set": the round trip rightly drops it.
            continue;
        }
        match output.get(key) {
            None | Some(Value::Null) => problems.push(format!("unknown field {}", join(path, key))),
            Some(back) => compare(value, back, &join(path, key), problems),
        }
    }
    for (key, value) in output {
        // An object embedded whole (a StatefulSet's volumeClaimTemplates) writes its type's
        // constant apiVersion and kind, which the manifest may leave out.
        let embedded_type = !path.is_empty() && matches!(key.as_str(), "apiVersion" | "kind");
        if !embedded_type && !value.is_null() && input.get(key).is_none_or(Value::is_null) {
            problems.push(format!("missing required field {}", join(path, key)));
        }
    }
}

fn compare(input: &Value, output: &Value, path: &str, problems: &mut Vec<String>) {
    match (input, output) {
        (Value::Object(input), Value::Object(output)) => {
            compare_maps(input, output, path, problems);
        }
        (Value::Array(input), Value::Array(output)) => {
            for (index, item) in input.iter().enumerate() {
                let item_path = format!("{path}[{index}]");
                match output.get(index) {
                    Some(back) => compare(item, back, &item_path, problems),
                    None if item.is_null() => {}
                    None => problems.push(format!("unknown item {item_path}")),
                }
            }
        }
        // A map or list read as something else (a free-form value read as a string, say) lost
        // its structure: every field under it is unknown to the schema.
        (Value::Object(map), _) if !map.is_empty() => {
            problems.push(format!("unknown field {path}"));
        }
        // Scalars: numbers and strings may legitimately change form (1 vs 1.0, a Quantity 1 read
        // as "1", base64 re-encoded); their types were checked by the deserializer.
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn valid_ingress_v1() {
        let ingress = json!({
            "apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
            "metadata": {"name": "web", "creationTimestamp": null, "labels": {}},
            "spec": {"rules": [{"host": "a.example", "http": {"paths": [{
                "path": "/", "pathType": "Prefix",
                "backend": {"service": {"name": "web", "port": {"number": 80}}}}]}}]},
            "status": {"loadBalancer": {"foo": 1}}
        });
        assert_eq!(validate(&ingress), Validation::Valid);
    }

    #[test]
    fn flags_service_name_left_in_v1_ingress() {
        let ingress = json!({
            "apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
            "metadata": {"name": "web"},
            "spec": {"rules": [{"http": {"paths": [{
                "path": "/", "pathType": "Prefix",
                "backend": {"serviceName": "web", "servicePort": 80}}]}}]}
        });
        assert_eq!(
            validate(&ingress),
            Validation::Invalid(vec![
                "unknown field spec.rules[0].http.paths[0].backend.serviceName".to_owned(),
                "unknown field spec.rules[0].http.paths[0].backend.servicePort".to_owned(),
            ])
        );
    }

    #[test]
    fn flags_missing_required_field() {
        let role = json!({
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
            "metadata": {"name": "r"},
            "rules": [{"apiGroups": [""], "resources": ["pods"]}]
        });
        assert_eq!(
            validate(&role),
            Validation::Invalid(vec!["missing required field rules[0].verbs".to_owned()])
        );
    }

    #[test]
    fn flags_wrong_type() {
        let deployment = json!({
            "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
            "spec": {"replicas": "three", "selector": {}, "template": {}}
        });
        assert_eq!(
            validate(&deployment),
            Validation::Invalid(vec![
                "spec.replicas: invalid type: string \"three\", expected i32".to_owned()
            ])
        );
    }

    #[test]
    fn quantities_int_or_string_and_floats_are_not_false_positives() {
        let pod = json!({
            "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
            "spec": {"containers": [{"name": "c", "image": "nginx",
                "resources": {"limits": {"cpu": 1, "memory": "1Gi"}, "requests": {"cpu": 0.5}},
                "ports": [{"containerPort": 80.0}],
                "livenessProbe": {"httpGet": {"port": "http", "path": "/"}},
                "readinessProbe": {"httpGet": {"port": 8080}}}],
                "volumes": [{"name": "v", "emptyDir": {}}]}
        });
        assert_eq!(validate(&pod), Validation::Valid);
    }

    #[test]
    fn wrong_types_deep_down_name_their_path() {
        let deployment = json!({
            "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
            "spec": {"selector": {"matchLabels": {"app": "d"}}, "template": {"metadata": {"labels": {"app": "d"}},
                "spec": {"containers": [{"name": "c", "image": "i", "ports": {"containerPort": 80}}]}}}
        });
        let Validation::Invalid(problems) = validate(&deployment) else {
            panic!("invalid")
        };
        assert!(
            problems[0].starts_with("spec.template.spec.containers[0].ports: invalid type: map"),
            "{problems:?}"
        );
    }

    #[test]
    fn embedded_objects_need_no_type_fields() {
        let statefulset = json!({
            "apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "s"},
            "spec": {"selector": {"matchLabels": {"app": "s"}}, "serviceName": "s",
                "template": {"metadata": {"labels": {"app": "s"}}, "spec": {"containers": [{"name": "c", "image": "i"}]}},
                "volumeClaimTemplates": [{"metadata": {"name": "data"},
                    "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}]}
        });
        assert_eq!(validate(&statefulset), Validation::Valid);
    }

    #[test]
    fn nulls_and_stale_status_are_not_problems() {
        let secret = json!({
            "apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "annotations": {"a": null}},
            "data": {"password": null, "user": "YWRtaW4="},
            "status": {"whatever": 12}
        });
        assert_eq!(validate(&secret), Validation::Valid);
        let hpa = json!({
            "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "h"},
            "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "d"}, "maxReplicas": 3},
            "status": {"lastScaleTime": 12}
        });
        assert_eq!(validate(&hpa), Validation::Valid);
    }

    #[test]
    fn dotted_keys_are_quoted_in_paths() {
        let config = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"},
            "data": {"policy.csv": ["g, admin"]}});
        let Validation::Invalid(problems) = validate(&config) else {
            panic!("invalid")
        };
        assert!(
            problems[0].starts_with("data[\"policy.csv\"]: invalid type: sequence"),
            "{problems:?}"
        );
    }

    #[test]
    fn unknown_kinds_are_unchecked() {
        let object = json!({"apiVersion": "cert-manager.io/v1", "kind": "Certificate", "metadata": {"name": "c"}});
        assert_eq!(validate(&object), Validation::Unchecked);
    }
}
