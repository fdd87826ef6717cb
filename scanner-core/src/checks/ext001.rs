//! EXT001: fail-closed admission webhooks whose backend is missing or down, or that can lock
//! out the pods they need.

use serde_json::{Value, json};

use super::util::{name, selects, service_down, text};
use super::{Check, CheckFinding, CodeInfo, Context, Family, Resource, Severity};

pub static CHECK: Check = Check {
    info: CodeInfo {
        code: "EXT001",
        family: Family::Readiness,
        title: "Admission webhooks that can wedge the upgrade",
        severity: Severity::Blocker,
        reads: "Validating/MutatingWebhookConfiguration apiVersion, webhooks[].{name,failurePolicy,rules,namespaceSelector,clientConfig.service}; Service spec.type; Endpoints subsets[].addresses",
        applies: "every hop",
        remediation: "Bring the webhook's backend back (or delete the configuration if nothing serves it any more); for webhooks that must stay fail-closed, exclude kube-system and the backend's own namespace with a namespaceSelector, and run the backend with several replicas and a disruption budget.",
        explanation: "The apiserver calls every matching admission webhook on each write. With failurePolicy Fail (the default in admissionregistration.k8s.io/v1) a webhook whose Service is gone or has no ready endpoint rejects every request it matches, so controllers, Helm and the upgrade's own add-on updates fail until it is back. A fail-closed webhook that also catches pod creation in kube-system or in its own namespace can lock itself out: once a drain moves its backend, the pods that would bring it back are themselves refused.",
        retired: None,
    },
    needs: &[
        Resource::ValidatingWebhooks,
        Resource::MutatingWebhooks,
        Resource::Services,
        Resource::Endpoints,
    ],
    offline: false,
    needs_kubectl: false,
    uses: &[],
    run,
};

/// Whether a webhook rejects requests when it cannot be called. The default is `Fail` in
/// admissionregistration.k8s.io/v1 and `Ignore` in v1beta1; objects read from a cluster come at
/// the preferred version with the default filled in, manifests say which version they are.
fn fails_closed(config: &Value, webhook: &Value) -> bool {
    match webhook.get("failurePolicy").and_then(Value::as_str) {
        Some(policy) => policy == "Fail",
        None => text(config, "/apiVersion") != Some("admissionregistration.k8s.io/v1beta1"),
    }
}

fn strings(v: Option<&Value>) -> Vec<&str> {
    v.and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

/// `CREATE/UPDATE apps deployments, statefulsets; ...`.
fn describe_rules(webhook: &Value) -> String {
    let Some(rules) = webhook.get("rules").and_then(Value::as_array) else {
        return "no rules".to_owned();
    };
    rules
        .iter()
        .map(|r| {
            let groups: Vec<&str> = strings(r.get("apiGroups"))
                .into_iter()
                .map(|g| if g.is_empty() { "core" } else { g })
                .collect();
            format!(
                "{} {} {}",
                strings(r.get("operations")).join("/"),
                groups.join(","),
                strings(r.get("resources")).join(", ")
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// Whether the webhook's rules catch pod creation in namespace `ns`. Namespace labels are not
/// read, so a selector is matched against the `kubernetes.io/metadata.name` label every
/// namespace carries since 1.21; an absent or empty selector matches every namespace.
fn catches_pod_create_in(webhook: &Value, ns: &str) -> bool {
    let rules = webhook.get("rules").and_then(Value::as_array);
    let pods = rules.is_some_and(|rules| {
        rules.iter().any(|r| {
            let ops = strings(r.get("operations"));
            let groups = strings(r.get("apiGroups"));
            let resources = strings(r.get("resources"));
            ops.iter().any(|o| *o == "CREATE" || *o == "*")
                && groups.iter().any(|g| g.is_empty() || *g == "*")
                && resources.iter().any(|r| matches!(*r, "pods" | "*" | "*/*"))
        })
    });
    if !pods {
        return false;
    }
    match webhook.get("namespaceSelector").filter(|s| !s.is_null()) {
        None => true,
        Some(selector) => selects(
            Some(selector),
            Some(&json!({"kubernetes.io/metadata.name": ns})),
        ),
    }
}

fn run(ctx: &Context<'_>, out: &mut Vec<CheckFinding>) {
    let configs = [
        (
            Resource::ValidatingWebhooks,
            "ValidatingWebhookConfiguration",
        ),
        (Resource::MutatingWebhooks, "MutatingWebhookConfiguration"),
    ];
    for (resource, kind) in configs {
        for config in ctx.state.list(resource) {
            let object = format!("{kind} {}", name(config));
            for webhook in config
                .get("webhooks")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if !fails_closed(config, webhook) {
                    continue;
                }
                let Some(service) = webhook.pointer("/clientConfig/service") else {
                    continue; // URL backends live outside the cluster.
                };
                let ns = service
                    .get("namespace")
                    .and_then(Value::as_str)
                    .unwrap_or("default");
                let svc = service.get("name").and_then(Value::as_str).unwrap_or("");
                let hook = webhook.get("name").and_then(Value::as_str).unwrap_or("?");
                if let Some(why) = service_down(ctx.state, ns, svc) {
                    out.push(CheckFinding::new(
                        &CHECK,
                        Severity::Blocker,
                        object.clone(),
                        format!(
                            "webhook {hook} fails closed and {why}: every matching write fails ({}) until it is back",
                            describe_rules(webhook)
                        ),
                    ));
                    continue;
                }
                let mut locked = Vec::new();
                if catches_pod_create_in(webhook, "kube-system") {
                    locked.push("kube-system");
                }
                if ns != "kube-system" && catches_pod_create_in(webhook, ns) {
                    locked.push(ns);
                }
                if !locked.is_empty() {
                    out.push(CheckFinding::new(
                        &CHECK,
                        Severity::Warning,
                        object.clone(),
                        format!(
                            "webhook {hook} fails closed on pod CREATE in {}: while its backend {ns}/{svc} is being drained or rescheduled no pod there can start, including the backend's own pods",
                            locked.join(" and ")
                        ),
                    ));
                }
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::checks::ClusterState;
    use api_catalog::KubeVersion;

    use crate::checks::util::recorded_items as fixture;

    fn findings(
        validating: Vec<Value>,
        mutating: Vec<Value>,
        services: Vec<Value>,
        endpoints: Vec<Value>,
    ) -> Vec<CheckFinding> {
        let mut s = ClusterState::new();
        s.set(Resource::ValidatingWebhooks, validating);
        s.set(Resource::MutatingWebhooks, mutating);
        s.set(Resource::Services, services);
        s.set(Resource::Endpoints, endpoints);
        let ctx = Context::new(&s, KubeVersion::new(1, 29), KubeVersion::new(1, 30));
        let mut out = Vec::new();
        run(&ctx, &mut out);
        out.sort();
        out
    }

    fn config(api_version: &str, policy: Option<&str>, rules: &Value, selector: &Value) -> Value {
        let mut hook = json!({"name": "check.example.com",
            "clientConfig": {"service": {"namespace": "sec", "name": "hook"}},
            "rules": rules, "namespaceSelector": selector});
        if let Some(p) = policy {
            hook["failurePolicy"] = json!(p);
        }
        json!({"apiVersion": api_version, "metadata": {"name": "guard"}, "webhooks": [hook]})
    }

    fn service() -> Value {
        json!({"metadata": {"name": "hook", "namespace": "sec"}, "spec": {"type": "ClusterIP"}})
    }

    fn endpoints(ready: bool) -> Value {
        let addresses = if ready {
            json!([{"ip": "10.0.0.1"}])
        } else {
            json!([])
        };
        json!({"metadata": {"name": "hook", "namespace": "sec"},
            "subsets": [{"addresses": addresses, "notReadyAddresses": [{"ip": "10.0.0.2"}]}]})
    }

    fn deployments() -> Value {
        json!([{"operations": ["CREATE"], "apiGroups": ["apps"], "resources": ["deployments"]}])
    }

    #[test]
    fn fail_closed_without_ready_backend_blocks() {
        let v1 = config(
            "admissionregistration.k8s.io/v1",
            None,
            &deployments(),
            &json!({}),
        );
        let f = findings(
            vec![v1.clone()],
            vec![],
            vec![service()],
            vec![endpoints(false)],
        );
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].severity, Severity::Blocker);
        assert_eq!(f[0].object, "ValidatingWebhookConfiguration guard");
        assert!(
            f[0].message
                .contains("service sec/hook has no ready endpoints")
        );
        let f = findings(vec![], vec![v1], vec![], vec![]);
        assert_eq!(f[0].object, "MutatingWebhookConfiguration guard");
        assert!(f[0].message.contains("service sec/hook does not exist"));
    }

    #[test]
    fn ready_backend_or_fail_open_passes() {
        let v1 = config(
            "admissionregistration.k8s.io/v1",
            Some("Fail"),
            &deployments(),
            &json!({}),
        );
        assert!(findings(vec![v1], vec![], vec![service()], vec![endpoints(true)]).is_empty());
        // v1beta1 defaults to Ignore; an explicit Ignore is fail-open anywhere.
        let beta = config(
            "admissionregistration.k8s.io/v1beta1",
            None,
            &deployments(),
            &json!({}),
        );
        let ignore = config(
            "admissionregistration.k8s.io/v1",
            Some("Ignore"),
            &deployments(),
            &json!({}),
        );
        assert!(findings(vec![beta, ignore], vec![], vec![], vec![]).is_empty());
    }

    #[test]
    fn pod_create_everywhere_warns() {
        let pods =
            json!([{"operations": ["CREATE", "UPDATE"], "apiGroups": [""], "resources": ["pods"]}]);
        let everywhere = config("admissionregistration.k8s.io/v1", None, &pods, &json!({}));
        let f = findings(
            vec![],
            vec![everywhere],
            vec![service()],
            vec![endpoints(true)],
        );
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].severity, Severity::Warning);
        assert!(f[0].message.contains("pod CREATE in kube-system and sec"));
        let excluded = config(
            "admissionregistration.k8s.io/v1",
            None,
            &pods,
            &json!({"matchExpressions": [{"key": "kubernetes.io/metadata.name", "operator": "NotIn", "values": ["kube-system", "sec"]}]}),
        );
        assert!(
            findings(
                vec![],
                vec![excluded],
                vec![service()],
                vec![endpoints(true)]
            )
            .is_empty()
        );
    }

    #[test]
    fn recorded_cluster() {
        let f = findings(
            fixture("admissionregistration.k8s.io/v1/validatingwebhookconfigurations.json"),
            fixture("admissionregistration.k8s.io/v1/mutatingwebhookconfigurations.json"),
            fixture("core/v1/services.json"),
            fixture("core/v1/endpoints.json"),
        );
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].severity, Severity::Blocker);
        assert_eq!(
            f[0].object,
            "ValidatingWebhookConfiguration policy-enforcer"
        );
        assert_eq!(
            f[0].message,
            "webhook enforce.policy.example.com fails closed and service team-b/policy-webhook has no ready endpoints: every matching write fails (CREATE/UPDATE apps deployments, statefulsets) until it is back"
        );
        // The same objects read through v1beta1 give the same answer.
        let beta = findings(
            fixture("admissionregistration.k8s.io/v1beta1/validatingwebhookconfigurations.json"),
            fixture("admissionregistration.k8s.io/v1beta1/mutatingwebhookconfigurations.json"),
            fixture("core/v1/services.json"),
            fixture("core/v1/endpoints.json"),
        );
        assert_eq!(beta, f);
    }
}
