//! Conversion tests over the fixtures in `fixtures/fix/`: every converted object must validate
//! against its target schema, and the interesting fields are checked exactly.

use serde_json::{Value, json};

use super::{Conversion, TypeRef, convert};
use crate::fix::validate::{Validation, validate};

fn read(name: &str) -> String {
    let path = format!("{}/../fixtures/fix/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).expect("fixture is readable")
}

fn objects(name: &str) -> Vec<Value> {
    serde_saphyr::from_multiple::<Value>(&read(name))
        .expect("fixture parses")
        .into_iter()
        .filter(|document| !document.is_null())
        .collect()
}

/// The type an object's `apiVersion`/`kind` names.
fn type_of(object: &Value) -> (String, String, String) {
    let api_version = object["apiVersion"]
        .as_str()
        .expect("apiVersion")
        .to_owned();
    let kind = object["kind"].as_str().expect("kind").to_owned();
    let (group, version) = api_version
        .rsplit_once('/')
        .map_or((String::new(), api_version.clone()), |(group, version)| {
            (group.to_owned(), version.to_owned())
        });
    (group, version, kind)
}

/// The replacement of each removed pair the fixtures use (the catalog's, to the newest).
fn target(group: &str, kind: &str) -> (&'static str, &'static str) {
    match (group, kind) {
        ("extensions" | "networking.k8s.io", "Ingress" | "IngressClass" | "NetworkPolicy") => {
            ("networking.k8s.io", "v1")
        }
        ("extensions" | "policy", "PodSecurityPolicy") => ("policy", "v1beta1"),
        ("extensions" | "apps", _) => ("apps", "v1"),
        ("autoscaling", _) => ("autoscaling", "v2"),
        ("apiextensions.k8s.io", _) => ("apiextensions.k8s.io", "v1"),
        ("admissionregistration.k8s.io", _) => ("admissionregistration.k8s.io", "v1"),
        ("apiregistration.k8s.io", _) => ("apiregistration.k8s.io", "v1"),
        ("flowcontrol.apiserver.k8s.io", _) => ("flowcontrol.apiserver.k8s.io", "v1"),
        ("discovery.k8s.io", _) => ("discovery.k8s.io", "v1"),
        ("events.k8s.io", _) => ("events.k8s.io", "v1"),
        ("certificates.k8s.io", _) => ("certificates.k8s.io", "v1"),
        ("node.k8s.io", _) => ("node.k8s.io", "v1"),
        ("policy", _) => ("policy", "v1"),
        ("batch", _) => ("batch", "v1"),
        ("rbac.authorization.k8s.io", _) => ("rbac.authorization.k8s.io", "v1"),
        ("storage.k8s.io", _) => ("storage.k8s.io", "v1"),
        ("scheduling.k8s.io", _) => ("scheduling.k8s.io", "v1"),
        ("coordination.k8s.io", _) => ("coordination.k8s.io", "v1"),
        ("cert-manager.io", _) => ("cert-manager.io", "v1"),
        ("acme.cert-manager.io", _) => ("acme.cert-manager.io", "v1"),
        ("gateway.networking.k8s.io", _) => ("gateway.networking.k8s.io", "v1"),
        _ => panic!("no target for {group} {kind}"),
    }
}

/// Whether the object is served (and so needs converting) as it is.
fn is_current(group: &str, version: &str) -> bool {
    version == "v1" || (group == "autoscaling" && version == "v2")
}

/// Convert one object to its replacement.
fn convert_one(object: &Value) -> Conversion {
    let (group, version, kind) = type_of(object);
    let (to_group, to_version) = target(&group, &kind);
    convert(
        object,
        TypeRef {
            group: &group,
            version: &version,
            kind: &kind,
        },
        TypeRef {
            group: to_group,
            version: to_version,
            kind: &kind,
        },
    )
}

/// Every object of the fixture that needs converting, converted: each must validate (built-in
/// kinds) and must not be of its old version any more.
fn converted(name: &str) -> Vec<(Value, Vec<String>)> {
    let mut out = Vec::new();
    for object in objects(name) {
        let (group, version, _) = type_of(&object);
        if is_current(&group, &version) {
            continue;
        }
        match convert_one(&object) {
            Conversion::Converted {
                object: after,
                notes,
            } => {
                let (after_group, after_version, _) = type_of(&after);
                assert_ne!(
                    (&after_group, &after_version),
                    (&group, &version),
                    "{name}: still the old version"
                );
                let check = validate(&after);
                let builtin =
                    !after_group.contains("cert-manager") && !after_group.starts_with("gateway.");
                if builtin {
                    assert_eq!(check, Validation::Valid, "{name}: {after:#}");
                } else {
                    assert_eq!(check, Validation::Unchecked, "{name}");
                }
                // Converting again from the new version changes nothing more than the version.
                out.push((after, notes));
            }
            Conversion::Manual { reason } => panic!("{name}: unexpected manual step: {reason}"),
        }
    }
    out
}

fn only(name: &str) -> (Value, Vec<String>) {
    let mut all = converted(name);
    assert_eq!(all.len(), 1, "{name}: one object to convert");
    all.remove(0)
}

fn manual(name: &str) -> Vec<String> {
    objects(name)
        .iter()
        .map(|object| match convert_one(object) {
            Conversion::Manual { reason } => reason,
            Conversion::Converted { object, .. } => {
                panic!("{name}: expected a manual step, got {object:#}")
            }
        })
        .collect()
}

#[test]
fn ingress_extensions() {
    let (ingress, notes) = only("ingress-extensions-v1beta1.yaml");
    assert_eq!(ingress["apiVersion"], "networking.k8s.io/v1");
    let spec = &ingress["spec"];
    assert!(spec.get("backend").is_none());
    assert_eq!(
        spec["defaultBackend"],
        json!({"service": {"name": "shop-default", "port": {"number": 80}}})
    );
    assert_eq!(
        spec["rules"][0]["http"]["paths"],
        json!([
            {"path": "/", "pathType": "ImplementationSpecific",
             "backend": {"service": {"name": "shop-web", "port": {"number": 8080}}}},
            {"path": "/api", "pathType": "ImplementationSpecific",
             "backend": {"service": {"name": "shop-api", "port": {"name": "http"}}}},
        ])
    );
    // The aliased host and the annotation are untouched.
    assert_eq!(spec["rules"][0]["host"], "shop.example.com");
    assert_eq!(
        ingress["metadata"]["annotations"]["kubernetes.io/ingress.class"],
        "nginx"
    );
    assert_eq!(notes.len(), 1);
    assert!(
        notes[0].contains("spec.ingressClassName: nginx"),
        "{notes:?}"
    );
}

#[test]
fn ingress_networking_beta() {
    let (ingress, notes) = only("ingress-networking-v1beta1.yaml");
    let paths = &ingress["spec"]["rules"][0]["http"]["paths"];
    assert_eq!(paths[0]["pathType"], "Prefix");
    assert_eq!(
        paths[0]["backend"],
        json!({"service": {"name": "docs", "port": {"number": 8080}}})
    );
    assert_eq!(paths[1]["pathType"], "ImplementationSpecific");
    assert_eq!(paths[1]["backend"]["resource"]["name"], "docs-assets");
    assert!(notes.is_empty(), "{notes:?}");
}

#[test]
fn ingress_in_helm_template_values_form() {
    // The chart's template, with its `{{ }}` lines rendered away, converts like any other.
    let rendered = read("chart/templates/ingress.yaml")
        .lines()
        .filter(|line| !line.trim_start().starts_with("{{"))
        .map(|line| {
            line.replace("{{ $fullName }}", "shop")
                .replace("{{ .host | quote }}", "\"shop.example.com\"")
        })
        .collect::<Vec<_>>()
        .join("\n");
    let object: Value = serde_saphyr::from_str(&rendered).expect("rendered template parses");
    let Conversion::Converted { object, .. } = convert_one(&object) else {
        panic!("converts")
    };
    assert_eq!(
        object["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]["port"],
        json!({"name": "http"})
    );
    assert_eq!(validate(&object), Validation::Valid);
}

#[test]
fn ingress_odd_shapes_are_manual_with_their_path() {
    let object = json!({"apiVersion": "extensions/v1beta1", "kind": "Ingress", "metadata": {"name": "x"},
        "spec": {"rules": [{"http": {"paths": [{"backend": {"serviceName": "a", "servicePort": [1]}}]}}]}});
    let Conversion::Manual { reason } = convert_one(&object) else {
        panic!("manual")
    };
    assert!(
        reason.starts_with("spec.rules[0].http.paths[0].backend.servicePort"),
        "{reason}"
    );
    let object =
        json!({"apiVersion": "extensions/v1beta1", "kind": "Ingress", "spec": {"rules": {"a": 1}}});
    let Conversion::Manual { reason } = convert_one(&object) else {
        panic!("manual")
    };
    assert!(reason.starts_with("spec.rules is not a list"), "{reason}");
    for odd in [
        json!(null),
        json!("text"),
        json!([1, 2]),
        json!({"spec": 3}),
    ] {
        let from = TypeRef {
            group: "extensions",
            version: "v1beta1",
            kind: "Ingress",
        };
        let to = TypeRef {
            group: "networking.k8s.io",
            version: "v1",
            kind: "Ingress",
        };
        assert!(
            matches!(convert(&odd, from, to), Conversion::Manual { .. }),
            "{odd}"
        );
    }
}

#[test]
fn deployment_extensions_json() {
    let (deployment, notes) = only("deployment-extensions.json");
    assert_eq!(deployment["apiVersion"], "apps/v1");
    assert_eq!(
        deployment["spec"]["selector"],
        json!({"matchLabels": {"app": "billing", "tier": "backend"}})
    );
    assert!(deployment["spec"].get("rollbackTo").is_none());
    assert!(
        notes
            .iter()
            .any(|note| note.contains("kubectl rollout undo")),
        "{notes:?}"
    );
    assert!(
        notes
            .iter()
            .any(|note| note.contains("revisionHistoryLimit") && note.contains("unlimited")),
        "{notes:?}"
    );
    assert!(
        notes
            .iter()
            .any(|note| note.contains("progressDeadlineSeconds")),
        "{notes:?}"
    );
    assert!(
        notes
            .iter()
            .any(|note| note.contains("maxSurge and maxUnavailable")),
        "{notes:?}"
    );
}

#[test]
fn deployment_apps_betas() {
    let (deployment, notes) = only("deployment-apps-v1beta1.yaml");
    assert_eq!(
        deployment["spec"]["selector"],
        json!({"matchLabels": {"app": "search"}})
    );
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert!(notes[0].contains("default was 2"), "{notes:?}");
    let (deployment, notes) = only("deployment-apps-v1beta2.yaml");
    assert_eq!(
        deployment["spec"]["selector"],
        json!({"matchLabels": {"app": "worker"}})
    );
    assert!(notes.is_empty(), "{notes:?}");
}

#[test]
fn daemonsets() {
    let (daemonset, notes) = only("daemonset-extensions-v1beta1.yaml");
    assert_eq!(
        daemonset["spec"]["selector"],
        json!({"matchLabels": {"name": "log-shipper"}})
    );
    assert_eq!(
        daemonset["spec"]["updateStrategy"],
        json!({"type": "OnDelete"})
    );
    assert!(daemonset["spec"].get("templateGeneration").is_none());
    assert_eq!(notes.len(), 2, "{notes:?}");
    let (daemonset, notes) = only("daemonset-apps-v1beta2.yaml");
    assert_eq!(
        daemonset["spec"]["updateStrategy"],
        json!({"type": "RollingUpdate"})
    );
    assert!(notes.is_empty(), "{notes:?}");
}

#[test]
fn replicaset_and_statefulsets() {
    let (replicaset, _) = only("replicaset-extensions-v1beta1.yaml");
    assert_eq!(
        replicaset["spec"]["selector"],
        json!({"matchLabels": {"app": "legacy-cache", "role": "cache"}})
    );
    let (statefulset, notes) = only("statefulset-apps-v1beta1.yaml");
    assert_eq!(
        statefulset["spec"]["selector"],
        json!({"matchLabels": {"app": "db"}})
    );
    assert_eq!(
        statefulset["spec"]["updateStrategy"],
        json!({"type": "OnDelete"})
    );
    assert_eq!(notes.len(), 1, "{notes:?}");
    let (statefulset, notes) = only("statefulset-apps-v1beta2.yaml");
    assert!(statefulset["spec"].get("updateStrategy").is_none());
    assert!(notes.is_empty(), "{notes:?}");
}

#[test]
fn workload_without_labels_is_manual() {
    let object = json!({"apiVersion": "extensions/v1beta1", "kind": "Deployment", "metadata": {"name": "x"},
        "spec": {"template": {"spec": {"containers": [{"name": "c", "image": "i"}]}}}});
    let Conversion::Manual { reason } = convert_one(&object) else {
        panic!("manual")
    };
    assert!(
        reason.contains("spec.template.metadata.labels is empty"),
        "{reason}"
    );
}

#[test]
fn hpa_v2beta1_crlf() {
    assert!(read("hpa-v2beta1-crlf.yaml").contains("\r\n"));
    let (hpa, notes) = only("hpa-v2beta1-crlf.yaml");
    assert_eq!(hpa["apiVersion"], "autoscaling/v2");
    assert_eq!(
        hpa["spec"]["metrics"],
        json!([
            {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}}},
            {"type": "Resource", "resource": {"name": "memory", "target": {"type": "AverageValue", "averageValue": "500Mi"}}},
            {"type": "Pods", "pods": {"metric": {"name": "packets-per-second"},
                "target": {"type": "AverageValue", "averageValue": "1k"}}},
            {"type": "Object", "object": {
                "describedObject": {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "name": "main-route"},
                "metric": {"name": "requests-per-second"},
                "target": {"type": "Value", "value": "10k"}}},
            {"type": "External", "external": {
                "metric": {"name": "queue_messages_ready", "selector": {"matchLabels": {"queue": "worker_tasks"}}},
                "target": {"type": "AverageValue", "averageValue": 30}}},
        ])
    );
    assert!(notes.is_empty(), "{notes:?}");
    let (hpa, _) = only("hpa-v2beta2.yaml");
    assert_eq!(
        hpa["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"],
        60
    );
}

#[test]
fn crd_single_version() {
    let (crd, notes) = only("crd-v1beta1.yaml");
    let spec = &crd["spec"];
    for gone in [
        "version",
        "validation",
        "subresources",
        "additionalPrinterColumns",
        "preserveUnknownFields",
    ] {
        assert!(spec.get(gone).is_none(), "{gone}");
    }
    let version = &spec["versions"][0];
    assert_eq!(
        (&version["name"], &version["served"], &version["storage"]),
        (&json!("v1"), &json!(true), &json!(true))
    );
    let schema = &version["schema"]["openAPIV3Schema"];
    assert_eq!(schema["x-kubernetes-preserve-unknown-fields"], true);
    assert_eq!(
        schema["properties"]["spec"]["properties"]["replicas"]["maximum"],
        10
    );
    // The flag is not inherited: every object node carries it, so nothing is pruned, as before.
    assert_eq!(
        schema["properties"]["spec"]["x-kubernetes-preserve-unknown-fields"],
        true
    );
    assert!(
        schema["properties"]["spec"]["properties"]["replicas"]
            .get("x-kubernetes-preserve-unknown-fields")
            .is_none()
    );
    assert_eq!(
        version["subresources"]["scale"]["specReplicasPath"],
        ".spec.replicas"
    );
    assert_eq!(
        version["additionalPrinterColumns"],
        json!([{"name": "Spec", "type": "string", "jsonPath": ".spec.cronSpec"},
               {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}])
    );
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert!(notes[0].contains("preserveUnknownFields"));
}

#[test]
fn crd_versions_and_webhook() {
    let (crd, notes) = only("crd-v1beta1-versions.yaml");
    let spec = &crd["spec"];
    assert_eq!(spec["preserveUnknownFields"], false);
    assert_eq!(
        spec["versions"][0]["schema"],
        json!({"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}})
    );
    assert_eq!(
        spec["versions"][1]["additionalPrinterColumns"][0]["jsonPath"],
        ".spec.size"
    );
    assert!(
        spec["versions"][1]["schema"]["openAPIV3Schema"]
            .get("x-kubernetes-preserve-unknown-fields")
            .is_none()
    );
    assert_eq!(
        spec["conversion"],
        json!({"strategy": "Webhook", "webhook": {
            "clientConfig": {"service": {"namespace": "widgets", "name": "widget-conversion", "path": "/convert"}, "caBundle": "Cg=="},
            "conversionReviewVersions": ["v1beta1"]}})
    );
    assert_eq!(notes.len(), 2, "{notes:?}");
}

#[test]
fn crd_not_structural_is_manual() {
    let reasons = manual("crd-v1beta1-not-structural.yaml");
    let reason = &reasons[0];
    assert!(
        reason.contains("spec.versions[0].schema.openAPIV3Schema: the root must have type: object"),
        "{reason}"
    );
    assert!(
        reason.contains("openAPIV3Schema.properties.spec: no type"),
        "{reason}"
    );
    assert!(reason.contains("properties.metadata: only name and generateName may be restricted, not properties.labels"), "{reason}");
}

#[test]
fn webhooks() {
    let (config, notes) = only("validatingwebhook-v1beta1.yaml");
    let first = &config["webhooks"][0];
    assert_eq!(first["sideEffects"], "None");
    assert_eq!(first["failurePolicy"], "Ignore");
    assert_eq!(first["matchPolicy"], "Exact");
    assert_eq!(first["timeoutSeconds"], 30);
    assert_eq!(first["admissionReviewVersions"], json!(["v1beta1"]));
    let second = &config["webhooks"][1];
    assert_eq!(
        (
            &second["sideEffects"],
            &second["failurePolicy"],
            &second["timeoutSeconds"]
        ),
        (&json!("NoneOnDryRun"), &json!("Fail"), &json!(5))
    );
    assert_eq!(second["matchPolicy"], "Exact");
    assert_eq!(notes.len(), 3, "{notes:?}");
    let (config, _) = only("mutatingwebhook-v1beta1.yaml");
    assert_eq!(config["webhooks"][0]["sideEffects"], "None");
    assert_eq!(config["webhooks"][0]["reinvocationPolicy"], "IfNeeded");
    let reasons = manual("mutatingwebhook-v1beta1-side-effects.yaml");
    assert!(reasons[0].contains("sideEffects: Some"), "{reasons:?}");
}

#[test]
fn flowcontrol() {
    let (schema, notes) = only("flowschema-v1beta1.yaml");
    assert_eq!(schema["apiVersion"], "flowcontrol.apiserver.k8s.io/v1");
    assert!(notes.is_empty());
    let (level, _) = only("prioritylevel-v1beta2.yaml");
    assert_eq!(level["spec"]["limited"]["nominalConcurrencyShares"], 10);
    assert!(
        level["spec"]["limited"]
            .get("assuredConcurrencyShares")
            .is_none()
    );
    let (level, _) = only("prioritylevel-v1beta3.yaml");
    assert_eq!(level["spec"]["limited"]["nominalConcurrencyShares"], 5);
}

#[test]
fn endpoint_slice_topology() {
    let (slice, _) = only("endpointslice-v1beta1.yaml");
    let endpoints = &slice["endpoints"];
    assert_eq!(endpoints[0]["nodeName"], "node-a");
    assert_eq!(endpoints[0]["zone"], "eu-west-1a");
    assert_eq!(
        endpoints[0]["deprecatedTopology"],
        json!({"topology.kubernetes.io/region": "eu-west-1"})
    );
    assert!(endpoints[0].get("topology").is_none());
    assert_eq!(endpoints[1]["nodeName"], "node-b");
    assert!(endpoints[1].get("deprecatedTopology").is_none());
}

#[test]
fn csr() {
    let (csr, notes) = only("csr-v1beta1.yaml");
    assert_eq!(
        csr["spec"]["usages"],
        json!(["digital signature", "key encipherment"])
    );
    assert_eq!(notes.len(), 1);
    let reasons = manual("csr-v1beta1-no-signer.yaml");
    assert!(reasons[0].contains("legacy-unknown"), "{reasons:?}");
}

#[test]
fn runtime_class() {
    let (class, _) = only("runtimeclass-v1alpha1.yaml");
    assert!(class.get("spec").is_none());
    assert_eq!(class["handler"], "runsc");
    assert_eq!(class["overhead"]["podFixed"]["cpu"], "250m");
    assert_eq!(
        class["scheduling"]["nodeSelector"]["sandbox.example.com/runtime"],
        "gvisor"
    );
    let (class, _) = only("runtimeclass-v1beta1.yaml");
    assert_eq!(class["handler"], "kata");
}

#[test]
fn pdb() {
    let (pdb, notes) = only("pdb-v1beta1.yaml");
    assert_eq!(pdb["spec"]["minAvailable"], "50%");
    assert!(notes.is_empty());
    let reasons = manual("pdb-v1beta1-empty-selector.yaml");
    assert!(
        reasons[0].contains("selects every pod of the namespace"),
        "{reasons:?}"
    );
}

#[test]
fn psp_levels() {
    let reasons = manual("psp-v1beta1.yaml");
    assert!(
        reasons[0].contains("level restricted")
            && reasons[0].contains("pod-security.kubernetes.io/enforce: restricted"),
        "{reasons:?}"
    );
    assert!(reasons[1].contains("level privileged"), "{reasons:?}");
    assert!(reasons[2].contains("level baseline"), "{reasons:?}");
    assert!(
        reasons
            .iter()
            .all(|reason| reason.contains("delete the PodSecurityPolicy"))
    );
}

#[test]
fn apiversion_only_pairs() {
    for name in [
        "cronjob-v1beta1.yaml",
        "rbac-v1beta1.yaml",
        "storage-v1beta1.yaml",
        "scheduling-coordination-v1beta1.yaml",
        "networking-v1beta1-misc.yaml",
        "event-v1beta1.yaml",
        "gateway-v1alpha2.yaml",
    ] {
        let before: Vec<Value> = objects(name)
            .into_iter()
            .filter(|object| {
                let (g, v, _) = type_of(object);
                !is_current(&g, &v)
            })
            .collect();
        let after = converted(name);
        assert_eq!(before.len(), after.len(), "{name}");
        for (before, (after, notes)) in before.iter().zip(after) {
            let mut expected = before.clone();
            expected["apiVersion"] = after["apiVersion"].clone();
            assert_eq!(after, expected, "{name}: only the apiVersion changes");
            assert!(notes.is_empty(), "{name}: {notes:?}");
        }
    }
}

#[test]
fn stream_with_one_change() {
    let all = objects("stream-one-change.yaml");
    assert_eq!(all.len(), 3);
    let changed = converted("stream-one-change.yaml");
    assert_eq!(changed.len(), 1);
    assert_eq!(changed[0].0["apiVersion"], "batch/v1");
}

#[test]
fn cert_manager() {
    let all = converted("cert-manager-v1alpha2.yaml");
    let certificate = &all[0].0["spec"];
    assert_eq!(
        certificate["privateKey"],
        json!({"algorithm": "ECDSA", "size": 256, "encoding": "PKCS8"})
    );
    assert_eq!(
        certificate["subject"],
        json!({"organizations": ["Example Shop Ltd"]})
    );
    assert_eq!(
        certificate["uris"],
        json!(["spiffe://cluster.local/ns/shop/sa/web"])
    );
    assert_eq!(certificate["emailAddresses"], json!(["ops@example.com"]));
    for gone in [
        "keyAlgorithm",
        "keySize",
        "keyEncoding",
        "organization",
        "uriSANs",
        "emailSANs",
    ] {
        assert!(certificate.get(gone).is_none(), "{gone}");
    }
    let request = &all[1].0["spec"];
    assert!(request.get("csr").is_none());
    assert!(
        request["request"]
            .as_str()
            .is_some_and(|text| text.starts_with("LS0t"))
    );
    assert_eq!(all[2].0["apiVersion"], "cert-manager.io/v1");
}

#[test]
fn broken_fixture_does_not_parse() {
    assert!(serde_saphyr::from_multiple::<Value>(&read("broken.yaml")).is_err());
}

#[test]
fn kind_changes_are_manual() {
    let object = json!({"apiVersion": "v1", "kind": "Endpoints", "metadata": {"name": "x"}});
    let from = TypeRef {
        group: "",
        version: "v1",
        kind: "Endpoints",
    };
    let to = TypeRef {
        group: "discovery.k8s.io",
        version: "v1",
        kind: "EndpointSlice",
    };
    assert!(matches!(
        convert(&object, from, to),
        Conversion::Manual { .. }
    ));
}

#[test]
fn output_is_not_a_from_object_any_more() {
    // Converting the output again, as if it were still the old version, gives the same object:
    // nothing of the old schema is left for the conversion to act on.
    let mut checked = 0;
    for name in fixture_names() {
        for object in objects(&name) {
            let (group, version, kind) = type_of(&object);
            if is_current(&group, &version) {
                continue;
            }
            let (to_group, to_version) = target(&group, &kind);
            let from = TypeRef {
                group: &group,
                version: &version,
                kind: &kind,
            };
            let to = TypeRef {
                group: to_group,
                version: to_version,
                kind: &kind,
            };
            let Conversion::Converted { object: after, .. } = convert(&object, from, to) else {
                continue;
            };
            match convert(&after, from, to) {
                Conversion::Converted { object, .. } => assert_eq!(object, after, "{name}"),
                Conversion::Manual { reason } => panic!("{name}: {reason}"),
            }
            checked += 1;
        }
    }
    assert!(checked > 40, "{checked}");
}

#[test]
fn review_event_istio_and_webhook_names() {
    let review = json!({"apiVersion": "authorization.k8s.io/v1beta1", "kind": "SubjectAccessReview",
        "spec": {"user": "alice", "group": ["dev"], "resourceAttributes": {"verb": "get", "resource": "pods"}}});
    let Conversion::Converted { object, .. } =
        convert_one_to(&review, "authorization.k8s.io", "v1")
    else {
        panic!("converts")
    };
    assert_eq!(object["spec"]["groups"], json!(["dev"]));
    assert!(object["spec"].get("group").is_none());

    let event = json!({"apiVersion": "events.k8s.io/v1beta1", "kind": "Event", "type": "Critical"});
    assert!(matches!(
        convert_one_to(&event, "events.k8s.io", "v1"),
        Conversion::Manual { .. }
    ));

    let policy =
        json!({"apiVersion": "authentication.istio.io/v1alpha1", "kind": "Policy", "spec": {}});
    let Conversion::Manual { reason } = convert_one_to(&policy, "security.istio.io", "v1beta1")
    else {
        panic!("manual")
    };
    assert!(reason.contains("PeerAuthentication"), "{reason}");

    let config = json!({"apiVersion": "admissionregistration.k8s.io/v1beta1", "kind": "ValidatingWebhookConfiguration",
        "webhooks": [{"name": "a.example.com", "sideEffects": "None"}, {"name": "a.example.com", "sideEffects": "None"}]});
    let Conversion::Manual { reason } =
        convert_one_to(&config, "admissionregistration.k8s.io", "v1")
    else {
        panic!("manual")
    };
    assert!(reason.contains("unique names"), "{reason}");
}

#[test]
fn crd_scope_is_written_out() {
    let crd = json!({"apiVersion": "apiextensions.k8s.io/v1beta1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "things.example.com"},
        "spec": {"group": "example.com", "version": "v1", "names": {"plural": "things", "kind": "Thing"},
                 "validation": {"openAPIV3Schema": {"type": "object"}}}});
    let Conversion::Converted { object, notes } =
        convert_one_to(&crd, "apiextensions.k8s.io", "v1")
    else {
        panic!("converts")
    };
    assert_eq!(object["spec"]["scope"], "Namespaced");
    assert!(
        notes.iter().any(|note| note.contains("spec.scope")),
        "{notes:?}"
    );
    assert_eq!(validate(&object), Validation::Valid);
}

/// Convert one object to `group/version` of the same kind.
fn convert_one_to(object: &Value, group: &str, version: &str) -> Conversion {
    let (from_group, from_version, kind) = type_of(object);
    convert(
        object,
        TypeRef {
            group: &from_group,
            version: &from_version,
            kind: &kind,
        },
        TypeRef {
            group,
            version,
            kind: &kind,
        },
    )
}

/// Every YAML and JSON fixture that parses (not the chart template, not `broken.yaml`).
fn fixture_names() -> Vec<String> {
    std::fs::read_dir(format!("{}/../fixtures/fix", env!("CARGO_MANIFEST_DIR")))
        .expect("fixture directory")
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .filter(|name| {
            std::path::Path::new(name)
                .extension()
                .is_some_and(|extension| extension == "yaml" || extension == "json")
                && name != "broken.yaml"
        })
        .collect()
}

/// Every JSON pointer into `value`, the root included.
fn pointers(value: &Value, at: &str, out: &mut Vec<String>) {
    out.push(at.to_owned());
    match value {
        Value::Object(map) => {
            for (key, item) in map {
                let key = key.replace('~', "~0").replace('/', "~1");
                pointers(item, &format!("{at}/{key}"), out);
            }
        }
        Value::Array(items) => {
            for (index, item) in items.iter().enumerate() {
                pointers(item, &format!("{at}/{index}"), out);
            }
        }
        _ => {}
    }
}

#[test]
fn odd_shapes_anywhere_never_panic() {
    let names = fixture_names();
    assert!(names.len() > 30, "{names:?}");
    let odd_values = [
        json!(null),
        json!(7),
        json!(-1.5),
        json!("text"),
        json!([1, "x"]),
        json!({"k": {"j": 1}}),
        json!({}),
    ];
    let mut runs = 0;
    for name in &names {
        for object in objects(name) {
            let (group, version, kind) = type_of(&object);
            if is_current(&group, &version) {
                continue;
            }
            let (to_group, to_version) = target(&group, &kind);
            let from = TypeRef {
                group: &group,
                version: &version,
                kind: &kind,
            };
            let to = TypeRef {
                group: to_group,
                version: to_version,
                kind: &kind,
            };
            let mut all = Vec::new();
            pointers(&object, "", &mut all);
            for pointer in all.iter().skip(1) {
                for odd in &odd_values {
                    let mut mutated = object.clone();
                    if let Some(slot) = mutated.pointer_mut(pointer) {
                        *slot = odd.clone();
                    }
                    if let Conversion::Converted { object, .. } = convert(&mutated, from, to) {
                        let _ = validate(&object);
                    }
                    runs += 1;
                }
            }
        }
    }
    assert!(runs > 5000, "{runs}");
}

/// Whether this build's `serde_json` keeps insertion order (feature `preserve_order`).
fn order_is_kept() -> bool {
    let mut map = serde_json::Map::new();
    map.insert("b".to_owned(), json!(1));
    map.insert("a".to_owned(), json!(2));
    map.keys().next().is_some_and(|key| key == "b")
}

fn keys(value: &Value) -> Vec<&str> {
    value
        .as_object()
        .expect("map")
        .keys()
        .map(String::as_str)
        .collect()
}

#[test]
fn new_keys_take_the_place_of_the_keys_they_replace() {
    if !order_is_kept() {
        // Without `preserve_order` every map is sorted and positions cannot be observed.
        return;
    }
    let (ingress, _) = only("ingress-extensions-v1beta1.yaml");
    assert_eq!(keys(&ingress), ["apiVersion", "kind", "metadata", "spec"]);
    assert_eq!(keys(&ingress["spec"]), ["defaultBackend", "tls", "rules"]);
    let path = &ingress["spec"]["rules"][0]["http"]["paths"][0];
    assert_eq!(keys(path), ["path", "pathType", "backend"]);
    assert_eq!(keys(&path["backend"]["service"]), ["name", "port"]);

    let (hpa, _) = only("hpa-v2beta1-crlf.yaml");
    let object = &hpa["spec"]["metrics"][3]["object"];
    assert_eq!(keys(object), ["describedObject", "metric", "target"]);
    assert_eq!(keys(&object["target"]), ["type", "value"]);

    let (deployment, _) = only("deployment-apps-v1beta1.yaml");
    assert_eq!(
        keys(&deployment["spec"]),
        ["replicas", "strategy", "selector", "template"]
    );

    let (crd, _) = only("crd-v1beta1.yaml");
    assert_eq!(keys(&crd["spec"]), ["group", "versions", "scope", "names"]);
    assert_eq!(
        keys(&crd["spec"]["versions"][0]),
        [
            "name",
            "served",
            "storage",
            "schema",
            "subresources",
            "additionalPrinterColumns"
        ]
    );
    assert_eq!(
        keys(&crd["spec"]["versions"][0]["additionalPrinterColumns"][0]),
        ["name", "type", "jsonPath"]
    );

    let (slice, _) = only("endpointslice-v1beta1.yaml");
    assert_eq!(
        keys(&slice["endpoints"][0]),
        [
            "addresses",
            "conditions",
            "nodeName",
            "zone",
            "deprecatedTopology"
        ]
    );

    let (class, _) = only("runtimeclass-v1alpha1.yaml");
    assert_eq!(
        keys(&class),
        [
            "apiVersion",
            "kind",
            "metadata",
            "handler",
            "overhead",
            "scheduling"
        ]
    );

    let all = converted("cert-manager-v1alpha2.yaml");
    assert_eq!(
        keys(&all[0].0["spec"]),
        [
            "secretName",
            "commonName",
            "dnsNames",
            "uris",
            "emailAddresses",
            "privateKey",
            "subject",
            "issuerRef"
        ]
    );
}

#[test]
fn cert_manager_acme_orders_and_challenges() {
    let order = json!({"apiVersion": "acme.cert-manager.io/v1alpha2", "kind": "Order",
        "spec": {"csr": "LS0t", "issuerRef": {"name": "le"}, "dnsNames": ["a.example"]}});
    let Conversion::Converted { object, .. } = convert_one_to(&order, "acme.cert-manager.io", "v1")
    else {
        panic!("converts")
    };
    assert_eq!(
        object["spec"],
        json!({"request": "LS0t", "issuerRef": {"name": "le"}, "dnsNames": ["a.example"]})
    );
    let challenge = json!({"apiVersion": "acme.cert-manager.io/v1alpha3", "kind": "Challenge",
        "spec": {"authzURL": "https://acme.example/authz/1", "type": "http-01", "token": "t"}});
    let Conversion::Converted { object, .. } =
        convert_one_to(&challenge, "acme.cert-manager.io", "v1")
    else {
        panic!("converts")
    };
    assert_eq!(
        object["spec"],
        json!({"authorizationURL": "https://acme.example/authz/1", "type": "HTTP-01", "token": "t"})
    );
}

#[test]
fn a_step_to_an_intermediate_beta_changes_only_the_api_version() {
    let ingress = &objects("ingress-extensions-v1beta1.yaml")[0];
    let Conversion::Converted { object, .. } =
        convert_one_to(ingress, "networking.k8s.io", "v1beta1")
    else {
        panic!("converts")
    };
    let mut expected = ingress.clone();
    expected["apiVersion"] = json!("networking.k8s.io/v1beta1");
    assert_eq!(object, expected);
    let level = &objects("prioritylevel-v1beta2.yaml")[0];
    let Conversion::Converted { object, .. } =
        convert_one_to(level, "flowcontrol.apiserver.k8s.io", "v1beta3")
    else {
        panic!("converts")
    };
    assert_eq!(object["spec"]["limited"]["nominalConcurrencyShares"], 10);
}

#[test]
fn rbac_alpha_subjects_name_their_group() {
    let binding = json!({"apiVersion": "rbac.authorization.k8s.io/v1alpha1", "kind": "RoleBinding",
        "metadata": {"name": "b", "namespace": "n"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "r"},
        "subjects": [
            {"kind": "User", "apiVersion": "rbac.authorization.k8s.io/v1alpha1", "name": "alice"},
            {"kind": "ServiceAccount", "apiVersion": "v1", "name": "default", "namespace": "n"}]});
    let Conversion::Converted { object, .. } =
        convert_one_to(&binding, "rbac.authorization.k8s.io", "v1")
    else {
        panic!("converts")
    };
    assert_eq!(
        object["subjects"],
        json!([{"kind": "User", "apiGroup": "rbac.authorization.k8s.io", "name": "alice"},
               {"kind": "ServiceAccount", "name": "default", "namespace": "n"}])
    );
    assert_eq!(validate(&object), Validation::Valid);
}
