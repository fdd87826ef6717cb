//! EXT003: CRD versions still listed in `status.storedVersions`, and conversion webhooks
//! without a backend.
//!
//! The stored-version part reuses [`inspect_crd`] (the same reading the live scan reports);
//! deprecation notes on CRD versions are reported there, not here.

use serde_json::Value;

use crate::inspect::crd::{CrdIssue, inspect_crd};

use super::util::{object_ref, service_down};
use super::{Check, CheckFinding, CodeInfo, Context, Family, Resource, Severity};

pub static CHECK: Check = Check {
    info: CodeInfo {
        code: "EXT003",
        family: Family::Readiness,
        title: "CRD stored versions and conversion webhooks",
        severity: Severity::Blocker,
        reads: "CustomResourceDefinition spec.versions[].{name,served,storage}, spec.conversion.{strategy,webhook.clientConfig.service,webhookClientConfig.service}, status.storedVersions; Service spec.type; Endpoints subsets[].addresses",
        applies: "every hop (operators and charts are updated along with the cluster)",
        remediation: "Rewrite every object of the resource at the storage version (a StorageVersionMigration, or get and replace each object), then patch status.storedVersions down to the storage version; bring a conversion webhook's Service back before the hop, or delete the CRD's extra versions if nothing needs them.",
        explanation: "Custom objects sit in etcd at whichever version was the storage version when each one was last written, and the apiserver lists every such version in the CRD's status.storedVersions; nothing takes an entry out again except an explicit migration. A chart or operator release that removes an old version from spec.versions is refused while storedVersions still names it, and that tends to surface in the middle of an upgrade, when add-ons are bumped along with the cluster. A stored version that is already no longer served is one step from that failure. CRDs whose conversion strategy is Webhook need that webhook for every read or write at a version other than the stored one; with no ready endpoint behind its Service those requests fail, and so do the controllers, garbage collection and namespace deletions that touch the resource.",
        retired: None,
    },
    needs: &[
        Resource::CustomResourceDefinitions,
        Resource::Services,
        Resource::Endpoints,
    ],
    offline: true,
    needs_kubectl: false,
    uses: &[],
    run,
};

/// The Service a conversion webhook is called through: `spec.conversion.webhook.clientConfig`
/// in apiextensions.k8s.io/v1, `spec.conversion.webhookClientConfig` in v1beta1.
fn conversion_service(crd: &Value) -> Option<(&str, &str)> {
    let service = crd
        .pointer("/spec/conversion/webhook/clientConfig/service")
        .or_else(|| crd.pointer("/spec/conversion/webhookClientConfig/service"))?;
    let ns = service
        .get("namespace")
        .and_then(Value::as_str)
        .unwrap_or("default");
    let svc = service.get("name").and_then(Value::as_str)?;
    Some((ns, svc))
}

/// The served versions and the stored versions, when the CRD comes from a live cluster (a
/// manifest has no status, so what is stored is unknown).
fn versions(crd: &Value) -> (Vec<&str>, Option<Vec<&str>>) {
    let served = crd
        .pointer("/spec/versions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|v| v.get("served").and_then(Value::as_bool) == Some(true))
        .filter_map(|v| v.get("name").and_then(Value::as_str))
        .collect();
    let stored = crd
        .pointer("/status/storedVersions")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect());
    (served, stored)
}

fn run(ctx: &Context<'_>, out: &mut Vec<CheckFinding>) {
    for crd in ctx.state.list(Resource::CustomResourceDefinitions) {
        let object = object_ref("CustomResourceDefinition", crd);
        for found in inspect_crd(crd) {
            let CrdIssue::StorageMigrationPending {
                served,
                storage_version,
            } = &found.issue
            else {
                continue;
            };
            let storage = storage_version.as_deref().unwrap_or("the storage version");
            let (severity, message) = if *served {
                (
                    Severity::Warning,
                    format!(
                        "status.storedVersions still lists {} next to the storage version {storage}: objects may still be stored at it; migrate stored objects to {storage} and remove it from status.storedVersions before a chart or operator drops it",
                        found.api_version
                    ),
                )
            } else {
                (
                    Severity::Blocker,
                    format!(
                        "status.storedVersions still lists {}, which is no longer served: objects may still be stored at a version the CRD is dropping, and removing it from spec.versions is refused until they are migrated to {storage} and it is taken out of status.storedVersions",
                        found.api_version
                    ),
                )
            };
            out.push(CheckFinding::new(&CHECK, severity, object.clone(), message));
        }

        if crd
            .pointer("/spec/conversion/strategy")
            .and_then(Value::as_str)
            != Some("Webhook")
        {
            continue;
        }
        let (served, stored) = versions(crd);
        // Manifests carry no status: whether the backend is up is only known live.
        let Some(stored) = stored else {
            continue;
        };
        let Some((ns, svc)) = conversion_service(crd) else {
            continue; // A URL backend lives outside the cluster.
        };
        let Some(why) = service_down(ctx.state, ns, svc) else {
            continue;
        };
        let mut all: Vec<&str> = served.iter().chain(&stored).copied().collect();
        all.sort_unstable();
        all.dedup();
        if all.len() > 1 {
            out.push(CheckFinding::new(
                &CHECK,
                Severity::Blocker,
                object,
                format!(
                    "converts between {} through a webhook, but {why}: every request for a version other than the one an object is stored at fails until the backend is back",
                    all.join(", ")
                ),
            ));
        } else {
            out.push(CheckFinding::new(
                &CHECK,
                Severity::Warning,
                object,
                format!(
                    "uses a conversion webhook, but {why}: nothing needs converting while it has the single version {}, but the first added version will fail until the backend is back",
                    all.first().copied().unwrap_or("?")
                ),
            ));
        }
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

    fn findings(
        crds: Vec<Value>,
        services: Vec<Value>,
        endpoints: Vec<Value>,
    ) -> Vec<CheckFinding> {
        let mut s = ClusterState::new();
        s.set(Resource::CustomResourceDefinitions, crds);
        s.set(Resource::Services, services);
        s.set(Resource::Endpoints, endpoints);
        let ctx = Context::new(&s, KubeVersion::new(1, 20), KubeVersion::new(1, 22));
        let mut out = Vec::new();
        run(&ctx, &mut out);
        out.sort();
        out
    }

    fn crd(versions: &Value, stored: Option<&[&str]>, strategy: &str) -> Value {
        let mut c = json!({"metadata": {"name": "widgets.example.com"},
            "spec": {"group": "example.com", "names": {"kind": "Widget"}, "versions": versions,
                "conversion": {"strategy": strategy}}});
        if strategy == "Webhook" {
            c["spec"]["conversion"]["webhook"] = json!({"conversionReviewVersions": ["v1"],
                "clientConfig": {"service": {"namespace": "widgets", "name": "converter", "path": "/convert"}}});
        }
        if let Some(stored) = stored {
            c["status"] = json!({"storedVersions": stored});
        }
        c
    }

    fn two_versions() -> Value {
        json!([{"name": "v1alpha1", "served": true, "storage": false},
            {"name": "v1", "served": true, "storage": true}])
    }

    fn service() -> Value {
        json!({"metadata": {"name": "converter", "namespace": "widgets"}, "spec": {"type": "ClusterIP"}})
    }

    fn endpoints(ready: bool) -> Value {
        let addresses = if ready {
            json!([{"ip": "10.0.0.7"}])
        } else {
            json!([])
        };
        json!({"metadata": {"name": "converter", "namespace": "widgets"},
            "subsets": [{"addresses": addresses, "notReadyAddresses": [{"ip": "10.0.0.8"}]}]})
    }

    #[test]
    fn webhook_without_ready_endpoints_blocks() {
        let c = crd(&two_versions(), Some(&["v1"]), "Webhook");
        let f = findings(vec![c.clone()], vec![service()], vec![endpoints(false)]);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].severity, Severity::Blocker);
        assert_eq!(f[0].object, "CustomResourceDefinition widgets.example.com");
        assert!(f[0].message.starts_with(
            "converts between v1, v1alpha1 through a webhook, but service widgets/converter has no ready endpoints"
        ));
        assert!(findings(vec![c.clone()], vec![service()], vec![endpoints(true)]).is_empty());
        let f = findings(vec![c.clone()], vec![], vec![]);
        assert!(
            f[0].message
                .contains("service widgets/converter does not exist")
        );
        // From a manifest (no status) the backend is not judged.
        let mut manifest = c;
        manifest.as_object_mut().unwrap().remove("status");
        assert!(findings(vec![manifest], vec![], vec![]).is_empty());
    }

    #[test]
    fn stored_versions_warn_or_block() {
        let f = findings(
            vec![crd(&two_versions(), Some(&["v1alpha1", "v1"]), "None")],
            vec![],
            vec![],
        );
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].severity, Severity::Warning);
        assert_eq!(
            f[0].message,
            "status.storedVersions still lists example.com/v1alpha1 next to the storage version v1: objects may still be stored at it; migrate stored objects to v1 and remove it from status.storedVersions before a chart or operator drops it"
        );
        let unserved = json!([{"name": "v1alpha1", "served": false, "storage": false},
            {"name": "v1", "served": true, "storage": true}]);
        let f = findings(
            vec![crd(&unserved, Some(&["v1alpha1", "v1"]), "None")],
            vec![],
            vec![],
        );
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].severity, Severity::Blocker);
        assert!(f[0].message.contains("which is no longer served"));
        // Only the storage version stored: nothing to do.
        assert!(
            findings(
                vec![crd(&two_versions(), Some(&["v1"]), "None")],
                vec![],
                vec![]
            )
            .is_empty()
        );
    }

    #[test]
    fn recorded_cluster() {
        for version in ["v1", "v1beta1"] {
            let f = findings(
                fixture(&format!(
                    "apiextensions.k8s.io/{version}/customresourcedefinitions.json"
                )),
                fixture("core/v1/services.json"),
                fixture("core/v1/endpoints.json"),
            );
            assert_eq!(f.len(), 1, "{f:?}");
            assert_eq!(f[0].severity, Severity::Warning);
            assert_eq!(
                f[0].object,
                "CustomResourceDefinition crontabs.stable.example.com"
            );
            assert!(f[0].message.starts_with(
                "status.storedVersions still lists stable.example.com/v1beta1 next to the storage version v1"
            ));
        }
    }
}
