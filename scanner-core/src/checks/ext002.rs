//! EXT002: aggregated `APIServices` that are not available.

use std::fmt::Write as _;

use serde_json::Value;

use super::util::{name, object_ref, text};
use super::{Check, CheckFinding, CodeInfo, Context, Family, Resource, Severity};

pub static CHECK: Check = Check {
    info: CodeInfo {
        code: "EXT002",
        family: Family::Readiness,
        title: "Aggregated APIServices not available",
        severity: Severity::Warning,
        reads: "APIService spec.{group,version,service}, status.conditions[type=Available].{status,reason,message}",
        applies: "every hop",
        remediation: "Repair the backend Service (often metrics-server) before the hop, or delete the APIService if nothing serves that group any more.",
        explanation: "An APIService hands a whole group-version to another server behind a Service. While that backend is unavailable, discovery of the group fails: kubectl and controllers that walk discovery report errors, autoscalers relying on metrics.k8s.io stop scaling, and deleting a namespace hangs because the namespace controller cannot confirm that the group holds nothing in it. Upgrade tooling and add-on updates trip over the same discovery errors, so repair or remove the APIService first.",
        retired: None,
    },
    needs: &[Resource::ApiServices],
    offline: false,
    needs_kubectl: false,
    uses: &[],
    run,
};

fn run(ctx: &Context<'_>, out: &mut Vec<CheckFinding>) {
    for api in ctx.state.list(Resource::ApiServices) {
        let available = api
            .pointer("/status/conditions")
            .and_then(Value::as_array)
            .and_then(|cs| {
                cs.iter()
                    .find(|c| c.get("type").and_then(Value::as_str) == Some("Available"))
            });
        if available
            .and_then(|c| c.get("status"))
            .and_then(Value::as_str)
            == Some("True")
        {
            continue;
        }
        let group = text(api, "/spec/group").unwrap_or("core");
        let version = text(api, "/spec/version").unwrap_or("?");
        let backend = match (
            text(api, "/spec/service/namespace"),
            text(api, "/spec/service/name"),
        ) {
            (Some(ns), Some(svc)) => format!(" (served by {ns}/{svc})"),
            _ => String::new(),
        };
        let state = match available {
            Some(c) => {
                let field = |k: &str| c.get(k).and_then(Value::as_str).unwrap_or("");
                let mut s = format!("Available={}", field("status"));
                if !field("reason").is_empty() {
                    let _ = write!(s, ", {}", field("reason"));
                }
                if !field("message").is_empty() {
                    let _ = write!(s, ": {}", field("message"));
                }
                s
            }
            None => "no Available condition reported".to_owned(),
        };
        out.push(CheckFinding::new(
            &CHECK,
            Severity::Warning,
            object_ref("APIService", api),
            format!(
                "{group}/{version}{backend} is not available ({state}): discovery of the group fails for every client and namespace deletion hangs until {} is repaired or removed",
                name(api)
            ),
        ));
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::checks::ClusterState;
    use api_catalog::KubeVersion;
    use serde_json::json;

    use crate::checks::util::recorded_items as fixture;

    fn findings(apis: Vec<Value>) -> Vec<CheckFinding> {
        let mut s = ClusterState::new();
        s.set(Resource::ApiServices, apis);
        let ctx = Context::new(&s, KubeVersion::new(1, 20), KubeVersion::new(1, 22));
        let mut out = Vec::new();
        run(&ctx, &mut out);
        out
    }

    fn api(status: &str) -> Value {
        json!({"metadata": {"name": "v1beta1.custom.metrics.k8s.io"},
            "spec": {"group": "custom.metrics.k8s.io", "version": "v1beta1",
                "service": {"namespace": "monitoring", "name": "adapter"}},
            "status": {"conditions": [{"type": "Available", "status": status, "reason": "FailedDiscoveryCheck"}]}})
    }

    #[test]
    fn unavailable_warns_available_passes() {
        let f = findings(vec![api("False")]);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].severity, Severity::Warning);
        assert_eq!(f[0].object, "APIService v1beta1.custom.metrics.k8s.io");
        assert!(f[0].message.starts_with("custom.metrics.k8s.io/v1beta1 (served by monitoring/adapter) is not available (Available=False, FailedDiscoveryCheck)"));
        assert!(findings(vec![api("True")]).is_empty());
    }

    #[test]
    fn recorded_cluster() {
        for version in ["v1", "v1beta1"] {
            let f = findings(fixture(&format!(
                "apiregistration.k8s.io/{version}/apiservices.json"
            )));
            assert_eq!(f.len(), 1, "{f:?}");
            assert_eq!(f[0].object, "APIService v1beta1.metrics.k8s.io");
            assert!(f[0].message.starts_with(
                "metrics.k8s.io/v1beta1 (served by kube-system/metrics-server) is not available (Available=False, MissingEndpoints: "
            ));
        }
    }
}
