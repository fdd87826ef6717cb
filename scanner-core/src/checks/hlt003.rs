//! HLT003: control-plane and provider health. One check, two sources: the provider's own
//! view (here: EKS health issues of the cluster, its node groups and add-ons, and its
//! upgrade-readiness insights, [`eks_health`]) and the API server's readiness checks (the
//! Kubernetes half, `/readyz?verbose`, in `checks/readyz.rs`). Both feed the same code, so a
//! health problem is one kind of finding wherever it was seen.

use std::fmt::Write as _;

use api_catalog::KubeVersion;

use super::{Check, CheckFinding, CodeInfo, Context, Family, Severity};
use crate::report::provider::{EksCall, EksFacts, EksInsight, EksIssue};

pub static CHECK: Check = Check {
    info: CodeInfo {
        code: "HLT003",
        family: Family::Readiness,
        title: "Control-plane and provider health",
        severity: Severity::Blocker,
        reads: "GET /readyz?verbose (each [+]/[-] readiness check); EKS DescribeCluster, DescribeNodegroup and DescribeAddon (health.issues: code, message, resourceIds); EKS ListInsights (category UPGRADE_READINESS) and DescribeInsight (insightStatus, kubernetesVersion, categorySpecificSummary.deprecationDetails[].clientStats[])",
        applies: "before the first hop; insights at the hop whose Kubernetes version they judge (EKS clusters: provider facts); live only",
        remediation: "Resolve each health issue first (the IAM role, subnets, security groups, KMS key or launch template it names; an add-on's configuration conflict), and each non-passing upgrade insight before the hop it names: for deprecated-API insights, upgrade or reconfigure the client named by its user agent. Insights see 30 days of traffic the scanner cannot, and are refreshed about once a day.",
        explanation: "A control plane or provider that is already unhealthy makes an upgrade fail half-way or hides what breaks after it. The API server reports its own readiness checks at /readyz?verbose (etcd, informer sync, post-start hooks): any failing one is a blocker (behind a load balancer, the instance that answered). EKS reports health issues on the cluster (DescribeCluster.health: a deleted IAM role or subnet, a disabled KMS key: every one stops UpdateClusterVersion, so each is a blocker), on managed node groups and on managed add-ons (blockers when the issue stops the node group's or add-on's own update: missing IAM roles, launch templates, subnets, security groups or AMIs, failed node creation or pod eviction, an unreachable cluster, a configuration conflict or denied admission; the others, such as instance launch failures or too few replicas, are warnings). EKS upgrade insights check the cluster for the next minor: ERROR means the hop is expected to break something (a blocker on that hop), WARNING and UNKNOWN need a look (warnings), PASSING says nothing. The deprecated-API insight names each removed API still called in the last 30 days and the user agents calling it; upcheck lists those clients in the cluster section and on the plan's hop.",
        retired: None,
    },
    needs: &[],
    offline: false,
    needs_kubectl: false,
    uses: &[],
    run,
};

/// Why the EKS facts do not suffice, when they do not: the insights could not be read.
pub(super) fn unavailable(facts: &EksFacts) -> Option<String> {
    facts.insights.as_ref().err().map(|p| p.reason.clone())
}

/// The EKS calls the check needs (health comes with the Describe* calls of the others).
pub(super) const CALLS: &[EksCall] = &[
    EksCall::DescribeCluster,
    EksCall::ListAddons,
    EksCall::DescribeAddon,
    EksCall::ListNodegroups,
    EksCall::DescribeNodegroup,
    EksCall::ListInsights,
    EksCall::DescribeInsight,
];

fn run(ctx: &Context<'_>, out: &mut Vec<CheckFinding>) {
    super::readyz::findings(&CHECK.info, ctx, out);
    eks_health(ctx, out);
}

/// Node-group issue codes that stop `UpdateNodegroupVersion` (it launches new nodes with the
/// group's role, template, subnets and AMI, then drains the old ones).
const NODEGROUP_BLOCKING: &[&str] = &[
    "AccessDenied",
    "AmiIdNotFound",
    "AutoScalingGroupNotFound",
    "AutoScalingGroupInvalidConfiguration",
    "ClusterUnreachable",
    "Ec2LaunchTemplateNotFound",
    "Ec2LaunchTemplateVersionMismatch",
    "Ec2SecurityGroupNotFound",
    "Ec2SubnetInvalidConfiguration",
    "Ec2SubnetNotFound",
    "IamInstanceProfileNotFound",
    "IamNodeRoleNotFound",
    "InsufficientFreeAddresses",
    "NodeCreationFailure",
    "PodEvictionFailure",
    "SourceEc2LaunchTemplateNotFound",
];

/// Add-on issue codes that stop `UpdateAddon`.
const ADDON_BLOCKING: &[&str] = &[
    "AccessDenied",
    "AddonPermissionFailure",
    "AddonSubscriptionNeeded",
    "AdmissionRequestDenied",
    "ClusterUnreachable",
    "ConfigurationConflict",
    "UnsupportedAddonModification",
];

/// `IamRoleNotFound: the role was deleted (arn:..., sg-...)`.
fn describe(issue: &EksIssue) -> String {
    let mut s = format!("{}: {}", issue.code, issue.message);
    if !issue.resource_ids.is_empty() {
        let _ = write!(s, " ({})", issue.resource_ids.join(", "));
    }
    s
}

/// The provider half: EKS health issues and upgrade insights.
fn eks_health(ctx: &Context<'_>, out: &mut Vec<CheckFinding>) {
    let Some(facts) = ctx.state.provider().eks() else {
        return;
    };
    for issue in &facts.health {
        out.push(CheckFinding::new(
            &CHECK,
            Severity::Blocker,
            format!("EKS cluster {}", facts.cluster),
            format!(
                "EKS reports a cluster health issue, {}: a control-plane update does not start until it is resolved",
                describe(issue)
            ),
        ));
    }
    // Node groups and add-ons: one rule, with each resource's blocking codes and words.
    let groups = facts
        .nodegroups
        .as_deref()
        .unwrap_or_default()
        .iter()
        .map(|g| {
            (
                format!("EKS node group {}", g.name),
                &g.health,
                NODEGROUP_BLOCKING,
                "a node group health issue",
                ": the node group's version update fails until it is resolved",
                ": resolve it before rolling the group",
            )
        });
    let addons = facts.addons.as_deref().unwrap_or_default().iter().map(|a| {
        (
            format!("EKS add-on {}", a.name),
            &a.health,
            ADDON_BLOCKING,
            "an add-on health issue",
            ": updating the add-on fails until it is resolved",
            ": resolve it before updating the add-on",
        )
    });
    for (object, issues, blocking, kind, blocked, otherwise) in groups.chain(addons) {
        for issue in issues {
            let blocks = blocking.contains(&issue.code.as_str());
            out.push(CheckFinding::new(
                &CHECK,
                if blocks {
                    Severity::Blocker
                } else {
                    Severity::Warning
                },
                object.clone(),
                format!(
                    "EKS reports {kind}, {}{}",
                    describe(issue),
                    if blocks { blocked } else { otherwise }
                ),
            ));
        }
    }
    for insight in facts.insights.as_deref().unwrap_or_default() {
        if let Some(f) = insight_finding(ctx, insight) {
            out.push(f);
        }
    }
}

/// A non-passing insight: on the hop it judges when that hop is planned, before the upgrade
/// when it judges the running version or cannot be read, and as information when it is about
/// a minor past the target.
fn insight_finding(ctx: &Context<'_>, insight: &EksInsight) -> Option<CheckFinding> {
    let severity = match insight.status.as_str() {
        "PASSING" => return None,
        "ERROR" => Severity::Blocker,
        _ => Severity::Warning,
    };
    let version = insight
        .kubernetes_version
        .as_deref()
        .and_then(|v| v.parse::<KubeVersion>().ok());
    let hop = version.filter(|v| ctx.hops.contains(v));
    let beyond = version.filter(|v| *v > ctx.target);
    let mut message = format!(
        "EKS upgrade insight {:?} is {}",
        insight.name, insight.status
    );
    match (version, hop, beyond) {
        (Some(v), None, Some(_)) => {
            let _ = write!(
                message,
                " for Kubernetes {v}, past the target {}: it does not block this upgrade, it will block the next",
                ctx.target
            );
        }
        (Some(v), ..) => {
            let _ = write!(message, " for Kubernetes {v}");
        }
        (None, ..) => {}
    }
    if let Some(reason) = insight
        .reason
        .as_deref()
        .map(|r| r.trim_end_matches('.'))
        .filter(|r| !r.is_empty())
    {
        let _ = write!(message, ": {reason}");
    }
    for d in &insight.deprecations {
        let _ = write!(message, "; {}", d.usage);
        if let Some(v) = &d.stop_serving_version {
            let _ = write!(message, " (removed in {v}");
            match &d.replaced_with {
                Some(r) => {
                    let _ = write!(message, ", use {r})");
                }
                None => message.push(')'),
            }
        }
        if d.clients.is_empty() {
            message.push_str(", no client named");
        } else {
            let clients: Vec<String> = d
                .clients
                .iter()
                .map(|c| format!("{} ({} in 30 days)", c.user_agent, c.requests_last_30_days))
                .collect();
            let _ = write!(message, " called by {}", clients.join(", "));
        }
    }
    if let Some(r) = insight.recommendation.as_deref().filter(|r| !r.is_empty()) {
        let _ = write!(message, ". EKS recommends: {r}");
    }
    let object = format!("EKS upgrade insight {}", insight.name);
    let finding = match (hop, beyond) {
        (Some(h), _) => CheckFinding::new(&CHECK, severity, object, message).at_hop(h),
        (None, Some(_)) => CheckFinding::new(&CHECK, Severity::Info, object, message),
        (None, None) => CheckFinding::new(&CHECK, severity, object, message),
    };
    Some(finding)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::ClusterState;
    use crate::report::provider::{
        EksAddon, EksClientStat, EksDeprecation, EksNodegroup, ProviderState,
    };
    use std::collections::BTreeMap;

    fn issue(code: &str) -> EksIssue {
        EksIssue {
            code: code.into(),
            message: "something is wrong".into(),
            resource_ids: vec!["sg-0123".into()],
        }
    }

    fn insight(status: &str, version: &str) -> EksInsight {
        EksInsight {
            id: "i-1".into(),
            name: "Deprecated APIs removed in Kubernetes v1.32".into(),
            kubernetes_version: Some(version.into()),
            status: status.into(),
            reason: Some("Deprecated API usage detected within last 30 days".into()),
            description: None,
            recommendation: Some("Update the client".into()),
            deprecations: vec![EksDeprecation {
                usage: "/apis/flowcontrol.apiserver.k8s.io/v1beta3/flowschemas".into(),
                replaced_with: Some("/apis/flowcontrol.apiserver.k8s.io/v1/flowschemas".into()),
                stop_serving_version: Some("1.32".into()),
                start_serving_replacement_version: Some("1.29".into()),
                clients: vec![EksClientStat {
                    user_agent: "flux-helm-controller/v0.37".into(),
                    requests_last_30_days: 42,
                    last_request_time: None,
                }],
            }],
        }
    }

    fn facts() -> EksFacts {
        EksFacts {
            cluster: "prod".into(),
            region: "eu-west-1".into(),
            version: Some("1.30".into()),
            addons: Ok(vec![EksAddon {
                name: "coredns".into(),
                version: "v1.11.1-eksbuild.1".into(),
                health: vec![
                    issue("InsufficientNumberOfReplicas"),
                    issue("ConfigurationConflict"),
                ],
            }]),
            addon_versions: Ok(BTreeMap::new()),
            nodegroups: Ok(vec![EksNodegroup {
                name: "general".into(),
                version: Some("1.30".into()),
                ami_type: Some("AL2023_x86_64_STANDARD".into()),
                health: vec![
                    issue("IamNodeRoleNotFound"),
                    issue("AsgInstanceLaunchFailures"),
                ],
            }]),
            health: vec![issue("KmsKeyDisabled")],
            support_type: None,
            insights: Ok(Vec::new()),
        }
    }

    fn findings(f: EksFacts, target: u16) -> Vec<(Severity, String, Option<KubeVersion>)> {
        let mut s = ClusterState::new();
        s.set_provider(ProviderState::Eks(Box::new(f)));
        let ctx = Context::new(&s, KubeVersion::new(1, 30), KubeVersion::new(1, target));
        let mut out = Vec::new();
        run(&ctx, &mut out);
        out.into_iter()
            .map(|f| (f.severity, f.object, f.hop))
            .collect()
    }

    #[test]
    fn health_issues_block_when_they_stop_an_update() {
        let mut got = findings(facts(), 31);
        got.sort();
        assert_eq!(
            got,
            [
                (Severity::Blocker, "EKS add-on coredns".into(), None),
                (Severity::Blocker, "EKS cluster prod".into(), None),
                (Severity::Blocker, "EKS node group general".into(), None),
                (Severity::Warning, "EKS add-on coredns".into(), None),
                (Severity::Warning, "EKS node group general".into(), None),
            ]
        );
    }

    #[test]
    fn insights_land_on_the_hop_they_judge() {
        let mut f = facts();
        f.health.clear();
        f.addons = Ok(Vec::new());
        f.nodegroups = Ok(Vec::new());
        f.insights = Ok(vec![
            insight("ERROR", "1.32"),
            insight("WARNING", "1.31"),
            insight("UNKNOWN", "1.31"),
            insight("PASSING", "1.31"),
        ]);
        let name = "EKS upgrade insight Deprecated APIs removed in Kubernetes v1.32".to_owned();
        assert_eq!(
            findings(f.clone(), 33),
            [
                (
                    Severity::Blocker,
                    name.clone(),
                    Some(KubeVersion::new(1, 32))
                ),
                (
                    Severity::Warning,
                    name.clone(),
                    Some(KubeVersion::new(1, 31))
                ),
                (
                    Severity::Warning,
                    name.clone(),
                    Some(KubeVersion::new(1, 31))
                ),
            ]
        );
        // To 1.31 only, the 1.32 insight is told, not counted against this upgrade.
        let to_31 = findings(f, 31);
        assert!(to_31.contains(&(Severity::Info, name, None)), "{to_31:?}");
    }

    #[test]
    fn the_message_names_the_api_and_its_clients() {
        let mut f = facts();
        f.health.clear();
        f.insights = Ok(vec![insight("ERROR", "1.32")]);
        let mut s = ClusterState::new();
        s.set_provider(ProviderState::Eks(Box::new(f)));
        let ctx = Context::new(&s, KubeVersion::new(1, 30), KubeVersion::new(1, 33));
        let mut out = Vec::new();
        eks_health(&ctx, &mut out);
        let m = out.last().map(|f| f.message.clone()).unwrap_or_default();
        assert!(
            m.contains("flowschemas (removed in 1.32, use /apis/flowcontrol.apiserver.k8s.io/v1/flowschemas) called by flux-helm-controller/v0.37 (42 in 30 days)"),
            "{m}"
        );
        assert!(m.contains("EKS recommends: Update the client"), "{m}");
    }

    #[test]
    fn without_eks_facts_nothing_is_said() {
        let s = ClusterState::new();
        let ctx = Context::new(&s, KubeVersion::new(1, 30), KubeVersion::new(1, 31));
        let mut out = Vec::new();
        run(&ctx, &mut out);
        assert!(out.is_empty());
    }
}
