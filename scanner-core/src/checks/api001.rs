//! API001: clients that still call an API a hop removes, as the API server counts them
//! (`apiserver_requested_deprecated_apis` on `/metrics`). Stored objects are judged by DEP002;
//! this sees the controllers, CI jobs and scripts that only read, watch or create and delete.

use api_catalog::KubeVersion;

use super::{Check, CheckFinding, CodeInfo, Context, Family, Severity};
use crate::report::DeprecatedApiRequest;

pub static CHECK: Check = Check {
    info: CodeInfo {
        code: "API001",
        family: Family::Readiness,
        title: "Clients still calling APIs removed at a hop",
        severity: Severity::Blocker,
        reads: "GET /metrics: apiserver_requested_deprecated_apis{group,version,resource,subresource,removed_release}",
        applies: "the hop that removes each called API (blocker); removals after the target (info); live only",
        remediation: "Find the caller in the API server's audit log (annotation k8s.io/deprecated, with the userAgent and user) or in EKS upgrade insights, and upgrade or reconfigure it to the replacement API before the hop that removes the old one. Re-read the metric after each hop: it counts from the API server's start.",
        explanation: "Every kube-apiserver since 1.19 sets apiserver_requested_deprecated_apis to 1 for each deprecated group/version/resource a client requested since the process started, with the release that removes it. A client that still calls an API when it is removed gets 404s: an operator stops reconciling, a CI job fails, a dashboard goes blank, although no stored object used the old version. The metric belongs to one API server process: behind a load balancer one scrape sees only the instance that answered, and a restart resets it, so an empty answer is weaker evidence than a present one. Some built-in controllers keep the gauge set on their own until the upgrade; such entries name the resource, and the audit log tells the caller.",
        retired: None,
    },
    needs: &[],
    offline: false,
    needs_kubectl: false,
    uses: &[],
    run,
};

fn what(r: &DeprecatedApiRequest) -> String {
    match r.subresource.as_str() {
        "" => format!("{} {}", r.api_version(), r.resource),
        sub => format!("{} {}/{sub}", r.api_version(), r.resource),
    }
}

fn run(ctx: &Context<'_>, out: &mut Vec<CheckFinding>) {
    for r in ctx.state.requested_apis() {
        let object = what(r);
        let Ok(removed) = r.removed_release.parse::<KubeVersion>() else {
            out.push(CheckFinding::new(
                &CHECK,
                Severity::Info,
                object,
                "a client still calls this deprecated API; no release removes it yet".to_owned(),
            ));
            continue;
        };
        if removed <= ctx.current {
            // Due for removal at or before the running minor yet still answered: the server
            // kept it past the planned release (or the current version was given, not read).
            out.push(CheckFinding::new(
                &CHECK,
                Severity::Blocker,
                object,
                format!(
                    "a client still calls this API, which upstream removes in {removed}: this server still answers it, but no later one will; move the client now"
                ),
            ));
        } else if let Some(&hop) = ctx.hops.iter().find(|h| **h >= removed) {
            out.push(
                CheckFinding::new(
                    &CHECK,
                    Severity::Blocker,
                    object,
                    format!(
                        "a client still calls this API, which {hop} no longer serves: find the caller in the audit log (k8s.io/deprecated) and move it to the replacement before the hop to {hop}"
                    ),
                )
                .at_hop(hop),
            );
        } else {
            out.push(CheckFinding::new(
                &CHECK,
                Severity::Info,
                object,
                format!(
                    "a client still calls this API, removed in {removed}, after the target {}",
                    ctx.target
                ),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::ClusterState;

    fn request(group: &str, version: &str, resource: &str, removed: &str) -> DeprecatedApiRequest {
        DeprecatedApiRequest {
            group: group.into(),
            version: version.into(),
            resource: resource.into(),
            subresource: String::new(),
            removed_release: removed.into(),
        }
    }

    fn findings(
        current: u16,
        target: u16,
        requests: Vec<DeprecatedApiRequest>,
    ) -> Vec<CheckFinding> {
        let mut state = ClusterState::new();
        state.set_requested_apis(Ok(requests));
        let ctx = Context::new(
            &state,
            KubeVersion::new(1, current),
            KubeVersion::new(1, target),
        );
        let mut out = Vec::new();
        run(&ctx, &mut out);
        out
    }

    #[test]
    fn a_client_of_an_api_a_hop_removes_blocks_that_hop() {
        let f = findings(
            29,
            33,
            vec![request(
                "flowcontrol.apiserver.k8s.io",
                "v1beta3",
                "flowschemas",
                "1.32",
            )],
        );
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].severity, Severity::Blocker);
        assert_eq!(f[0].hop, Some(KubeVersion::new(1, 32)));
        assert_eq!(
            f[0].object,
            "flowcontrol.apiserver.k8s.io/v1beta3 flowschemas"
        );
    }

    #[test]
    fn later_removals_and_open_deprecations_are_info() {
        let f = findings(
            29,
            31,
            vec![
                request(
                    "flowcontrol.apiserver.k8s.io",
                    "v1beta3",
                    "flowschemas",
                    "1.32",
                ),
                request("", "v1", "componentstatuses", ""),
            ],
        );
        assert_eq!(f.len(), 2);
        assert!(
            f.iter()
                .all(|f| f.severity == Severity::Info && f.hop.is_none())
        );
    }

    #[test]
    fn no_calls_no_findings() {
        assert!(findings(29, 33, Vec::new()).is_empty());
    }
}
