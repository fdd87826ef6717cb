//! The EKS reader (`scanner_core::provider::eks`, feature `eks`) with the real AWS SDK client
//! against the EKS API served on 127.0.0.1 by the tests' loopback server: shapes, pagination,
//! access denied, throttling (retried) and an unknown cluster.
#![allow(clippy::unwrap_used)] // tests fail loudly on purpose

use std::collections::BTreeSet;
use std::time::Duration;

use scanner_core::KubeVersion;
use scanner_core::live::block_on;
use scanner_core::provider::eks::{Credentials, EksSettings, read};
use scanner_core::provider::{EksFacts, ProviderState};
use scanner_core::report::ErrorKind;
use upcheck_test_server::eks::{
    AddonVersion, ClientStat, Deprecation, Eks, Insight, Issue, Nodegroup,
};
use upcheck_test_server::{Scenario, Server};

fn version(addon: &str, version: &str, compatible: &[(&str, bool)]) -> AddonVersion {
    AddonVersion {
        addon: addon.into(),
        version: version.into(),
        compatible: compatible
            .iter()
            .map(|(m, d)| ((*m).to_owned(), *d))
            .collect(),
    }
}

/// A 1.30 cluster with two node groups (one AL2) and kube-proxy, listed one item per page.
fn prod() -> Eks {
    Eks {
        cluster: "prod".into(),
        version: "1.30".into(),
        addons: vec![
            ("kube-proxy".into(), "v1.30.0-eksbuild.3".into()),
            ("vpc-cni".into(), "v1.18.3-eksbuild.2".into()),
        ],
        addon_versions: vec![
            version("kube-proxy", "v1.31.2-eksbuild.3", &[("1.31", false)]),
            version("kube-proxy", "v1.31.0-eksbuild.5", &[("1.31", true)]),
            version("kube-proxy", "v1.30.0-eksbuild.3", &[("1.30", true)]),
            version(
                "vpc-cni",
                "v1.18.3-eksbuild.2",
                &[("1.30", true), ("1.31", true)],
            ),
        ],
        nodegroups: vec![
            Nodegroup {
                name: "general".into(),
                version: "1.30".into(),
                ami_type: "AL2_x86_64".into(),
            },
            Nodegroup {
                name: "system".into(),
                version: "1.29".into(),
                ami_type: "AL2023_x86_64_STANDARD".into(),
            },
        ],
        page_size: 1,
        ..Eks::default()
    }
}

fn settings(server: &Server, cluster: &str, target: u16) -> EksSettings {
    EksSettings::new(
        Some(cluster.into()),
        Some("eu-west-1".into()),
        KubeVersion::new(1, target),
    )
    .endpoint(Some(server.url()))
    .credentials(Credentials::new(
        "AKIDEXAMPLE",
        "secret",
        None,
        None,
        "test",
    ))
    .requests(3, Duration::from_millis(20), Duration::from_secs(5))
}

fn read_with(eks: Eks, cluster: &str, target: u16) -> (ProviderState, Vec<String>) {
    let server = Server::eks(eks, Scenario::default()).unwrap();
    let state = block_on(None, async {
        Ok(read(&settings(&server, cluster, target)).await)
    })
    .unwrap();
    (state, server.requests())
}

fn facts(state: &ProviderState) -> &EksFacts {
    state.eks().unwrap_or_else(|| panic!("not read: {state:?}"))
}

#[test]
fn reads_addons_versions_per_hop_and_node_groups_across_pages() {
    let (state, requests) = read_with(prod(), "prod", 31);
    let f = facts(&state);
    assert_eq!(f.version.as_deref(), Some("1.30"));
    assert_eq!(f.region, "eu-west-1");
    let addons: Vec<(&str, &str)> = f
        .addons
        .as_ref()
        .unwrap()
        .iter()
        .map(|a| (a.name.as_str(), a.version.as_str()))
        .collect();
    assert_eq!(
        addons,
        [
            ("kube-proxy", "v1.30.0-eksbuild.3"),
            ("vpc-cni", "v1.18.3-eksbuild.2")
        ]
    );
    let at = f
        .addon_versions_at("kube-proxy", KubeVersion::new(1, 31))
        .unwrap();
    assert_eq!(at.compatible, ["v1.31.2-eksbuild.3", "v1.31.0-eksbuild.5"]);
    assert_eq!(at.default.as_deref(), Some("v1.31.0-eksbuild.5"));
    let groups: Vec<(&str, Option<&str>, Option<&str>)> = f
        .nodegroups
        .as_ref()
        .unwrap()
        .iter()
        .map(|g| (g.name.as_str(), g.version.as_deref(), g.ami_type.as_deref()))
        .collect();
    assert_eq!(
        groups,
        [
            ("general", Some("1.30"), Some("AL2_x86_64")),
            ("system", Some("1.29"), Some("AL2023_x86_64_STANDARD"))
        ]
    );
    // One item per page: the second page of each list was asked for with the token.
    assert!(
        requests
            .iter()
            .any(|r| r.starts_with("/clusters/prod/addons?") && r.contains("nextToken=t-1")),
        "{requests:?}"
    );
    assert!(
        requests
            .iter()
            .any(|r| r.starts_with("/clusters/prod/node-groups?") && r.contains("nextToken=t-1")),
        "{requests:?}"
    );
    assert!(
        requests
            .iter()
            .any(|r| r.starts_with("/addons/supported-versions?")
                && r.contains("addonName=kube-proxy")
                && r.contains("kubernetesVersion=1.31")),
        "{requests:?}"
    );
    assert!(state.errors().is_empty());
}

#[test]
fn a_denied_call_is_the_reason_and_an_error() {
    let mut eks = prod();
    eks.denied.insert("/addons/supported-versions".into());
    let (state, _) = read_with(eks, "prod", 31);
    let f = facts(&state);
    // The rest was read.
    assert!(f.addons.is_ok() && f.nodegroups.is_ok());
    let p = f.addon_versions.as_ref().unwrap_err();
    assert_eq!(p.kind, ErrorKind::Forbidden);
    assert_eq!(p.reason, "needs eks:DescribeAddonVersions");
    assert!(p.message.contains("AccessDeniedException"), "{}", p.message);
    let errors = state.errors();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].kind, ErrorKind::Forbidden);
}

#[test]
fn throttling_is_retried() {
    let mut eks = prod();
    eks.throttled.insert("/clusters/prod/node-groups".into(), 2);
    let (state, requests) = read_with(eks, "prod", 31);
    assert!(facts(&state).nodegroups.is_ok(), "{state:?}");
    let first_pages = requests
        .iter()
        .filter(|r| {
            r.split('?').next() == Some("/clusters/prod/node-groups") && !r.contains("nextToken")
        })
        .count();
    assert_eq!(
        first_pages, 3,
        "two throttled answers, then the page: {requests:?}"
    );
}

#[test]
fn throttling_past_the_retries_is_reported() {
    let mut eks = prod();
    eks.throttled
        .insert("/clusters/prod/node-groups".into(), 10);
    let (state, _) = read_with(eks, "prod", 31);
    let p = facts(&state).nodegroups.as_ref().unwrap_err();
    assert_eq!(p.kind, ErrorKind::Unavailable, "{p:?}");
}

#[test]
fn an_unknown_cluster_fails_the_read_naming_it() {
    let (state, requests) = read_with(prod(), "staging", 31);
    let ProviderState::Failed(p) = &state else {
        panic!("{state:?}")
    };
    assert_eq!(p.kind, ErrorKind::NotFound);
    assert!(
        p.message
            .contains("\"staging\" not found in region eu-west-1"),
        "{}",
        p.message
    );
    // Nothing else is asked of a cluster that does not exist.
    let paths: BTreeSet<&str> = requests
        .iter()
        .map(|r| r.split('?').next().unwrap())
        .collect();
    assert_eq!(paths.into_iter().collect::<Vec<_>>(), ["/clusters/staging"]);
}

#[test]
fn no_cluster_name_or_region_is_said_before_any_call() {
    let server = Server::eks(prod(), Scenario::default()).unwrap();
    let mut s = settings(&server, "prod", 31);
    s.cluster = None;
    let state = block_on(None, async { Ok(read(&s).await) }).unwrap();
    let ProviderState::Failed(p) = &state else {
        panic!("{state:?}")
    };
    assert!(p.message.contains("--provider-cluster"), "{}", p.message);
    assert!(server.requests().is_empty());
}

fn insight(id: &str, version: &str, status: &str, clients: &[(&str, i32)]) -> Insight {
    Insight {
        id: id.into(),
        name: format!("Deprecated APIs removed in Kubernetes v{version}"),
        kubernetes_version: version.into(),
        status: status.into(),
        reason: "Deprecated API usage detected within last 30 days.".into(),
        deprecations: vec![Deprecation {
            usage: "/apis/flowcontrol.apiserver.k8s.io/v1beta3/flowschemas".into(),
            replaced_with: "/apis/flowcontrol.apiserver.k8s.io/v1/flowschemas".into(),
            stop_serving_version: "1.32".into(),
            start_serving_replacement_version: "1.29".into(),
            clients: clients
                .iter()
                .map(|(ua, n)| ClientStat {
                    user_agent: (*ua).into(),
                    requests: *n,
                    last_request: 1_764_547_200,
                })
                .collect(),
        }],
    }
}

fn issue(code: &str) -> Issue {
    Issue {
        code: code.into(),
        message: format!("{code} happened"),
        resource_ids: vec!["r-2".into(), "r-1".into()],
    }
}

#[test]
fn reads_health_upgrade_policy_and_insights_across_pages() {
    let mut eks = prod();
    eks.support_type = Some("STANDARD".into());
    eks.cluster_health = vec![issue("KmsKeyDisabled")];
    eks.nodegroup_health
        .insert("general".into(), vec![issue("IamNodeRoleNotFound")]);
    eks.addon_health.insert(
        "vpc-cni".into(),
        vec![issue("InsufficientNumberOfReplicas")],
    );
    eks.insights = vec![
        insight("i-2", "1.31", "PASSING", &[]),
        insight(
            "i-1",
            "1.31",
            "ERROR",
            &[("kubectl/v1.28.4", 3), ("helm/v3.14", 70)],
        ),
    ];
    let (state, requests) = read_with(eks, "prod", 31);
    let f = facts(&state);
    assert_eq!(f.support_type.as_deref(), Some("STANDARD"));
    assert_eq!(f.health.len(), 1);
    assert_eq!(f.health[0].code, "KmsKeyDisabled");
    assert_eq!(f.health[0].resource_ids, ["r-1", "r-2"], "sorted");
    let groups = f.nodegroups.as_ref().unwrap();
    assert_eq!(groups[0].health[0].code, "IamNodeRoleNotFound");
    assert!(groups[1].health.is_empty());
    let addons = f.addons.as_ref().unwrap();
    assert_eq!(addons[1].name, "vpc-cni");
    assert_eq!(addons[1].health[0].code, "InsufficientNumberOfReplicas");
    let insights = f.insights.as_ref().unwrap();
    let got: Vec<(&str, &str)> = insights
        .iter()
        .map(|i| (i.id.as_str(), i.status.as_str()))
        .collect();
    assert_eq!(got, [("i-1", "ERROR"), ("i-2", "PASSING")]);
    let d = &insights[0].deprecations[0];
    assert_eq!(d.stop_serving_version.as_deref(), Some("1.32"));
    let clients: Vec<(&str, i64)> = d
        .clients
        .iter()
        .map(|c| (c.user_agent.as_str(), c.requests_last_30_days))
        .collect();
    // Busiest client first.
    assert_eq!(clients, [("helm/v3.14", 70), ("kubectl/v1.28.4", 3)]);
    assert_eq!(
        d.clients[0].last_request_time.as_deref(),
        Some("2025-12-01T00:00:00Z")
    );
    assert_eq!(
        insights[0].recommendation.as_deref(),
        Some("Update the client to a version that uses the replacement API.")
    );
    // One insight per page: ListInsights was called twice (the token is in the POST body),
    // and only the non-passing insight was described.
    let lists = requests
        .iter()
        .filter(|r| *r == "/clusters/prod/insights")
        .count();
    assert_eq!(lists, 2, "{requests:?}");
    assert!(requests.iter().any(|r| r == "/clusters/prod/insights/i-1"));
    assert!(!requests.iter().any(|r| r == "/clusters/prod/insights/i-2"));
    assert!(state.errors().is_empty());
    // The clients, judged at 1.31 (not yet removed) and at 1.32 (removed).
    let at_31 = f.api_clients(KubeVersion::new(1, 31));
    assert_eq!(at_31.len(), 2);
    assert_eq!(at_31[0].status, scanner_core::ApiStatus::Deprecated);
    assert_eq!(
        f.api_clients(KubeVersion::new(1, 32))[0].status,
        scanner_core::ApiStatus::Removed
    );
}

#[test]
fn a_denied_list_insights_is_the_reason() {
    let mut eks = prod();
    eks.denied.insert("/clusters/prod/insights".into());
    let (state, _) = read_with(eks, "prod", 31);
    let p = facts(&state).insights.as_ref().unwrap_err();
    assert_eq!(p.kind, ErrorKind::Forbidden);
    assert_eq!(p.reason, "needs eks:ListInsights");
    assert_eq!(state.errors().len(), 1);
}

#[test]
fn a_denied_describe_insight_is_the_reason() {
    let mut eks = prod();
    eks.insights = vec![insight("i-1", "1.31", "WARNING", &[])];
    eks.denied.insert("/clusters/prod/insights/i-1".into());
    let (state, _) = read_with(eks, "prod", 31);
    let p = facts(&state).insights.as_ref().unwrap_err();
    assert_eq!(p.reason, "needs eks:DescribeInsight");
}

#[test]
fn rejected_credentials_fail_the_read_saying_so() {
    let mut eks = prod();
    eks.bad_credentials = true;
    let (state, requests) = read_with(eks, "prod", 31);
    let ProviderState::Failed(p) = &state else {
        panic!("{state:?}")
    };
    assert_eq!(p.kind, ErrorKind::Forbidden);
    assert!(
        p.message
            .contains("the AWS credentials were rejected by eks:DescribeCluster"),
        "{}",
        p.message
    );
    assert!(
        p.message.contains("UnrecognizedClientException"),
        "{}",
        p.message
    );
    // A refused identity is not retried.
    assert_eq!(requests.len(), 1, "{requests:?}");
}

#[test]
fn throttling_answered_400_is_retried_too() {
    let mut eks = prod();
    eks.throttle_status = 400;
    eks.throttled.insert("/clusters/prod/addons".into(), 2);
    let (state, requests) = read_with(eks, "prod", 31);
    assert!(facts(&state).addons.is_ok(), "{state:?}");
    let first_pages = requests
        .iter()
        .filter(|r| {
            r.split('?').next() == Some("/clusters/prod/addons") && !r.contains("nextToken")
        })
        .count();
    assert_eq!(first_pages, 3, "{requests:?}");
}
