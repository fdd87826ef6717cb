//! The EKS provider layer end to end: `upcheck cluster` and `upcheck plan` against the recorded
//! Kubernetes server plus an EKS API on 127.0.0.1 (the tests' loopback server), read by the
//! real AWS SDK client. The AWS environment of the test process is never passed on: each run
//! gets fixed credentials, no config files and no instance metadata, so nothing leaves the
//! machine.
#![allow(clippy::unwrap_used)] // tests fail loudly on purpose

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;
use upcheck_test_server::eks::{
    AddonVersion, ClientStat, Deprecation, Eks, Insight, Issue, Nodegroup,
};
use upcheck_test_server::{Scenario, Server};

use crate::common::readiness::fixture;
use crate::common::{RETRY_BACKOFF_MS, Run, empty_cache, workspace};

/// Every variable the AWS SDK's standard chain reads: none of the caller's may leak in.
const AWS_ENV: &[&str] = &[
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_EKS",
    "AWS_ROLE_ARN",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
    "AWS_USE_FIPS_ENDPOINT",
    "AWS_USE_DUALSTACK_ENDPOINT",
];

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

fn group(name: &str, version: &str, ami: &str) -> Nodegroup {
    Nodegroup {
        name: name.into(),
        version: version.into(),
        ami_type: ami.into(),
    }
}

/// An EKS cluster at 1.30: two managed node groups (one AL2), VPC CNI, kube-proxy and `CoreDNS`
/// add-ons, and the versions each minor up to 1.33 lists. vpc-cni's installed version is good
/// up to 1.32; kube-proxy's and `CoreDNS`'s only at 1.30.
fn prod() -> Eks {
    let mut versions = vec![version(
        "vpc-cni",
        "v1.19.2-eksbuild.1",
        &[("1.30", true), ("1.31", true), ("1.32", true)],
    )];
    versions.push(version("vpc-cni", "v1.19.5-eksbuild.3", &[("1.33", true)]));
    for (minor, build) in [("1.30", "1"), ("1.31", "2"), ("1.32", "3"), ("1.33", "4")] {
        let m = minor.trim_start_matches("1.");
        versions.push(version(
            "kube-proxy",
            &format!("v{minor}.0-eksbuild.{build}"),
            &[(minor, true)],
        ));
        versions.push(version(
            "coredns",
            &format!("v1.11.{m}-eksbuild.{build}"),
            &[(minor, true)],
        ));
    }
    Eks {
        cluster: "prod".into(),
        version: "1.30".into(),
        addons: vec![
            ("coredns".into(), "v1.11.30-eksbuild.1".into()),
            ("kube-proxy".into(), "v1.30.0-eksbuild.1".into()),
            ("vpc-cni".into(), "v1.19.2-eksbuild.1".into()),
        ],
        addon_versions: versions,
        nodegroups: vec![
            group("general", "1.30", "AL2_x86_64"),
            group("system", "1.30", "AL2023_x86_64_STANDARD"),
        ],
        page_size: 2,
        ..Eks::default()
    }
}

/// A kubeconfig for `kube` whose user gets its token from an `aws eks get-token` exec plugin
/// (a script in `dir` standing in for the AWS CLI), as `aws eks update-kubeconfig` writes it.
fn eks_kubeconfig(kube: &Server, dir: &Path) -> PathBuf {
    let aws = dir.join("aws");
    std::fs::write(
        &aws,
        "#!/bin/sh\necho '{\"apiVersion\":\"client.authentication.k8s.io/v1beta1\",\"kind\":\"ExecCredential\",\"status\":{\"token\":\"admin-token\"}}'\n",
    )
    .unwrap();
    std::fs::set_permissions(&aws, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let text = format!(
        "apiVersion: v1
kind: Config
clusters:
- name: arn:aws:eks:eu-west-1:111122223333:cluster/prod
  cluster: {{server: '{}'}}
contexts:
- name: arn:aws:eks:eu-west-1:111122223333:cluster/prod
  context: {{cluster: 'arn:aws:eks:eu-west-1:111122223333:cluster/prod', user: eks}}
current-context: arn:aws:eks:eu-west-1:111122223333:cluster/prod
users:
- name: eks
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1beta1
      command: {}
      args: [--region, eu-west-1, eks, get-token, --cluster-name, prod, --output, json]
      interactiveMode: Never
",
        kube.url(),
        aws.display()
    );
    let path = dir.join("kubeconfig");
    std::fs::write(&path, text).unwrap();
    path
}

/// Runs upcheck against the recorded Kubernetes server and `eks`, with fixed AWS credentials
/// and `region` in the environment when given; `exec_plugin` writes the kubeconfig an EKS
/// user has (the cluster named by its `aws eks get-token`), else a plain token one.
fn run_with(eks: Eks, region: Option<&str>, exec_plugin: bool, args: &[&str]) -> Run {
    run_scenario(eks, region, exec_plugin, Scenario::default(), args)
}

/// The recorded Kubernetes side as an EKS 1.30 control plane whose nodes are the two managed
/// node groups' (kubelet 1.30), so a plan starts where the EKS API says the cluster is.
fn eks_1_30() -> Scenario {
    let node = |name: &str, group: &str| {
        serde_json::json!({
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {
                "name": name,
                "labels": {
                    "eks.amazonaws.com/nodegroup": group,
                    "kubernetes.io/os": "linux"
                }
            },
            "status": {
                "conditions": [{"type": "Ready", "status": "True"}],
                "nodeInfo": {
                    "kubeletVersion": "v1.30.4-eks-a737599",
                    "kubeProxyVersion": "v1.30.4-eks-a737599",
                    "containerRuntimeVersion": "containerd://1.7.22",
                    "osImage": "Amazon Linux 2023.5.20240916"
                }
            }
        })
    };
    let mut scenario = Scenario::default();
    scenario.replace.insert(
        "/version".into(),
        serde_json::json!({
            "major": "1", "minor": "30", "gitVersion": "v1.30.4-eks-a737599",
            "gitCommit": "0123456789abcdef", "gitTreeState": "clean",
            "buildDate": "2024-08-26T21:27:41Z", "goVersion": "go1.22.5",
            "compiler": "gc", "platform": "linux/amd64"
        }),
    );
    scenario.replace.insert(
        "/api/v1/nodes".into(),
        serde_json::json!({
            "apiVersion": "v1",
            "kind": "NodeList",
            "metadata": {"resourceVersion": "1"},
            "items": [
                node("ip-10-0-1-10.eu-west-1.compute.internal", "general"),
                node("ip-10-0-2-20.eu-west-1.compute.internal", "system")
            ]
        }),
    );
    scenario
}

fn run_scenario(
    eks: Eks,
    region: Option<&str>,
    exec_plugin: bool,
    scenario: Scenario,
    args: &[&str],
) -> Run {
    let kube = Server::recorded(&fixture(), scenario).unwrap();
    let aws = Server::eks(eks, Scenario::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = if exec_plugin {
        eks_kubeconfig(&kube, dir.path())
    } else {
        kube.kubeconfig(dir.path()).unwrap()
    };
    let nowhere = dir.path().join("no-aws-config");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_upcheck"));
    for k in AWS_ENV {
        cmd.env_remove(k);
    }
    cmd.args(args)
        .args(["--kubeconfig", kubeconfig.to_str().unwrap()])
        .current_dir(workspace())
        .env_remove("NO_COLOR")
        .env_remove("UPCHECK_LOG")
        .env("COLUMNS", "80")
        .env("UPCHECK_CACHE_DIR", empty_cache())
        .env("UPCHECK_TODAY", crate::common::TODAY)
        .env("UPCHECK_RETRY_BACKOFF_MS", RETRY_BACKOFF_MS.to_string())
        .env("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
        .env("AWS_SECRET_ACCESS_KEY", "secret")
        .env("AWS_ENDPOINT_URL_EKS", aws.url())
        .env("AWS_CONFIG_FILE", &nowhere)
        .env("AWS_SHARED_CREDENTIALS_FILE", &nowhere)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .stdin(Stdio::null());
    if let Some(r) = region {
        cmd.env("AWS_REGION", r);
    }
    let out = cmd.output().unwrap();
    Run {
        code: out.status.code().unwrap(),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

fn run(eks: Eks, region: Option<&str>, args: &[&str]) -> Run {
    run_with(eks, region, false, args)
}

fn cluster(eks: Eks, region: Option<&str>, extra: &[&str]) -> (Run, Value) {
    cluster_selected(eks, region, "ADD001,NODE003,SKEW002", extra)
}

/// `upcheck cluster -o json` from 1.30 to 1.33 with the checks `select`.
fn cluster_selected(eks: Eks, region: Option<&str>, select: &str, extra: &[&str]) -> (Run, Value) {
    let mut args = vec![
        "cluster",
        "--no-helm",
        "-o",
        "json",
        "--current",
        "1.30",
        "-t",
        "1.33",
        "--select",
        select,
        "--provider",
        "eks",
        "--provider-cluster",
    ];
    args.extend_from_slice(extra);
    let r = run(eks, region, &args);
    let report =
        serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("{e}\n{}", r.transcript()));
    (r, report)
}

/// "CODE severity object @hop" of every readiness finding.
fn findings(report: &Value) -> Vec<String> {
    report["readiness"]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            format!(
                "{} {} {} @{}",
                f["code"].as_str().unwrap(),
                f["severity"].as_str().unwrap(),
                f["object"].as_str().unwrap(),
                f["hop"].as_str().unwrap_or("-")
            )
        })
        .collect()
}

fn not_run(report: &Value) -> Vec<String> {
    report["readiness"]["not_run"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            format!(
                "{}: {}",
                n["code"].as_str().unwrap(),
                n["reason"].as_str().unwrap()
            )
        })
        .collect()
}

#[test]
fn eks_cluster_to_1_33_reports_addons_al2_and_lagging_groups() {
    let mut eks = prod();
    eks.nodegroups[1].version = "1.29".into();
    let (r, report) = cluster(eks, Some("eu-west-1"), &["prod"]);
    // The recorded Kubernetes side uses APIs removed by 1.33: exit code 3 comes before 5.
    assert_eq!(r.code, 3, "{}", r.transcript());
    assert_eq!(
        findings(&report),
        [
            "ADD001 blocker EKS add-on coredns @1.31",
            "ADD001 blocker EKS add-on kube-proxy @1.31",
            "ADD001 blocker EKS add-on coredns @1.32",
            "ADD001 blocker EKS add-on kube-proxy @1.32",
            "ADD001 blocker EKS add-on coredns @1.33",
            "ADD001 blocker EKS add-on kube-proxy @1.33",
            "ADD001 blocker EKS add-on vpc-cni @1.33",
            "NODE003 blocker EKS node group general @1.33",
            "SKEW002 blocker EKS node group system @1.31",
            // The recorded nodes are EC2 instances (aws:// provider IDs) in no managed node
            // group: self-managed nodes EKS does not update.
            "SKEW002 warning node pool kubelet 1.18 @1.31",
            "SKEW002 warning node pool kubelet 1.19 @1.31",
            "SKEW002 warning node pool kubelet 1.20 @1.31",
        ]
    );
    let text = r.stdout;
    assert!(text.contains("update it to v1.31.0-eksbuild.2"), "{text}");
    assert!(text.contains("update it to v1.19.5-eksbuild.3"), "{text}");
    assert!(
        text.contains("AL2023_x86_64_STANDARD or BOTTLEROCKET_x86_64"),
        "{text}"
    );
    assert!(not_run(&report).is_empty(), "{:?}", not_run(&report));
}

#[test]
fn eks_cluster_ready_for_its_next_minor_has_no_provider_blockers() {
    let mut eks = prod();
    // Current add-ons and no AL2: to 1.31 nothing is in the way.
    eks.addons = vec![("vpc-cni".into(), "v1.19.2-eksbuild.1".into())];
    eks.nodegroups = vec![group("system", "1.30", "BOTTLEROCKET_x86_64")];
    let args = [
        "cluster",
        "--no-helm",
        "-o",
        "json",
        "--current",
        "1.30",
        "-t",
        "1.31",
        "--select",
        "ADD001,NODE003,SKEW002",
        "--provider",
        "eks",
        "--provider-cluster",
        "prod",
        "--region",
        "eu-west-1",
    ];
    let r = run(eks, None, &args);
    let report: Value =
        serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("{e}\n{}", r.transcript()));
    assert_eq!(r.code, 3, "removed APIs only: {}", r.transcript());
    // Nothing from the EKS API; the recorded self-managed EC2 nodes are only warned about.
    assert_eq!(
        findings(&report),
        [
            "SKEW002 warning node pool kubelet 1.18 @1.31",
            "SKEW002 warning node pool kubelet 1.19 @1.31",
            "SKEW002 warning node pool kubelet 1.20 @1.31",
        ]
    );
    let ran = report["readiness"]["ran"].as_array().unwrap();
    assert_eq!(ran.len(), 3, "{ran:?}");
}

#[test]
fn a_denied_eks_call_is_not_run_and_an_error() {
    let mut eks = prod();
    eks.denied.insert("/addons/supported-versions".into());
    let (r, report) = cluster(eks, Some("eu-west-1"), &["prod"]);
    // NODE003 still ran; the denied call makes the scan incomplete (exit code 1).
    assert_eq!(r.code, 1, "{}", r.transcript());
    assert!(findings(&report).contains(&"NODE003 blocker EKS node group general @1.33".to_owned()));
    assert_eq!(
        not_run(&report),
        ["ADD001: needs eks:DescribeAddonVersions"]
    );
    let errors = report["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0]["kind"], "forbidden");
    assert_eq!(
        errors[0]["message"],
        "not checked: needs eks:DescribeAddonVersions (AccessDeniedException: User: arn:aws:iam::111122223333:user/upcheck is not authorized to perform this action on /addons/supported-versions)"
    );
}

#[test]
fn unknown_cluster_and_missing_region_are_one_clear_error_and_kubernetes_findings_stay() {
    for (name, region, says) in [
        (
            "staging",
            Some("eu-west-1"),
            "EKS cluster \"staging\" not found in region eu-west-1",
        ),
        ("prod", None, "no region: give --region R"),
    ] {
        let (r, report) = cluster(prod(), region, &[name]);
        assert_eq!(r.code, 1, "{}", r.transcript());
        let errors = report["errors"].as_array().unwrap();
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(
            errors[0]["message"].as_str().unwrap().contains(says),
            "{errors:?}"
        );
        // The Kubernetes side was still read and judged.
        assert!(!report["findings"].as_array().unwrap().is_empty());
        assert_eq!(not_run(&report).len(), 3, "{:?}", not_run(&report));
    }
}

#[test]
fn told_from_the_kubeconfig_exec_plugin() {
    // No --provider flag: `aws eks get-token --cluster-name prod --region eu-west-1` says it.
    let r = run_with(
        prod(),
        None,
        true,
        &[
            "cluster",
            "--no-helm",
            "-o",
            "json",
            "--current",
            "1.30",
            "-t",
            "1.33",
            "--select",
            "NODE003",
        ],
    );
    let report: Value =
        serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("{e}\n{}", r.transcript()));
    assert_eq!(
        findings(&report),
        ["NODE003 blocker EKS node group general @1.33"]
    );
    // --no-provider turns it off: no EKS facts, so the check applies to nothing and finds
    // nothing, and the EKS API is not called.
    let r = run_with(
        prod(),
        None,
        true,
        &[
            "cluster",
            "--no-helm",
            "-o",
            "json",
            "--current",
            "1.30",
            "-t",
            "1.33",
            "--select",
            "NODE003",
            "--no-provider",
        ],
    );
    let report: Value =
        serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("{e}\n{}", r.transcript()));
    assert!(not_run(&report).is_empty(), "{:?}", not_run(&report));
    assert!(findings(&report).is_empty(), "{}", r.stdout);
}

#[test]
fn plan_names_the_addon_versions_per_hop() {
    let r = run_with(
        prod(),
        None,
        true,
        &["plan", "-t", "1.33", "--provider", "eks"],
    );
    let text = &r.stdout;
    for line in [
        "--addon-name kube-proxy --addon-version v1.31.0-eksbuild.2",
        "--addon-name coredns --addon-version v1.11.32-eksbuild.3",
        "--addon-name vpc-cni --addon-version v1.19.5-eksbuild.3",
    ] {
        assert!(text.contains(line), "{line}\n{}", r.transcript());
    }
    assert!(
        text.contains("--cluster-name prod --addon-name"),
        "{}",
        r.transcript()
    );
    // Hops the EKS API lists nothing for keep the placeholder.
    assert!(
        text.contains("--addon-version VERSION"),
        "{}",
        r.transcript()
    );
}

#[test]
fn rbac_iam_prints_the_read_only_policy_of_the_selected_checks() {
    let r = crate::common::upcheck(&["cluster", "--rbac", "--iam"]);
    assert_eq!(r.code, 0, "{}", r.transcript());
    let policy: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(
        policy["Statement"][0]["Action"],
        serde_json::json!([
            "eks:DescribeCluster",
            "eks:ListAddons",
            "eks:DescribeAddon",
            "eks:DescribeAddonVersions",
            "eks:ListNodegroups",
            "eks:DescribeNodegroup",
            "eks:ListInsights",
            "eks:DescribeInsight"
        ])
    );
    let r = crate::common::upcheck(&["cluster", "--rbac", "--iam", "--select", "HLT003"]);
    let policy: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(
        policy["Statement"][0]["Action"],
        serde_json::json!([
            "eks:DescribeCluster",
            "eks:ListAddons",
            "eks:DescribeAddon",
            "eks:ListNodegroups",
            "eks:DescribeNodegroup",
            "eks:ListInsights",
            "eks:DescribeInsight"
        ])
    );
    let r = crate::common::upcheck(&["cluster", "--rbac", "--iam", "--select", "NODE003"]);
    let policy: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(
        policy["Statement"][0]["Action"],
        serde_json::json!(["eks:ListNodegroups", "eks:DescribeNodegroup"])
    );
}

#[test]
fn snapshots_record_node_groups_and_add_ons_and_the_diff_names_what_moved() {
    let dir = tempfile::tempdir().unwrap();
    let save = |eks: Eks, file: &str| {
        let path = dir.path().join(file);
        let r = run(
            eks,
            Some("eu-west-1"),
            &[
                "snapshot",
                "save",
                "--provider",
                "eks",
                "--provider-cluster",
                "prod",
                "-o",
                path.to_str().unwrap(),
            ],
        );
        assert_eq!(r.code, 0, "{}", r.transcript());
        path
    };
    let before = save(prod(), "before.json");
    let mut upgraded = prod();
    upgraded.version = "1.31".into();
    upgraded.nodegroups = vec![group("system", "1.31", "AL2023_x86_64_STANDARD")];
    upgraded.addons[1].1 = "v1.31.0-eksbuild.2".into();
    let after = save(upgraded, "after.json");
    let snap: Value = serde_json::from_str(&std::fs::read_to_string(&before).unwrap()).unwrap();
    assert_eq!(snap["provider"]["cluster"], "prod");
    assert_eq!(snap["provider"]["node_groups"].as_array().unwrap().len(), 2);
    let r = upcheck_diff(&before, &after);
    assert!(
        r.stdout.contains("node group general")
            && r.stdout.contains("node-group-gone")
            && r.stdout.contains("v1.30.0-eksbuild.1 → v1.31.0-eksbuild.2")
            && r.stdout.contains("version 1.30 → 1.31"),
        "{}",
        r.transcript()
    );
    // A lost node group is a regression: the diff gates.
    assert_ne!(r.code, 0, "{}", r.transcript());
}

fn upcheck_diff(before: &Path, after: &Path) -> Run {
    crate::common::upcheck(&[
        "snapshot",
        "diff",
        before.to_str().unwrap(),
        after.to_str().unwrap(),
    ])
}

fn issue(code: &str, message: &str, resource: &str) -> Issue {
    Issue {
        code: code.into(),
        message: message.into(),
        resource_ids: vec![resource.into()],
    }
}

/// `prod()` with an open deprecated-API insight: Flux's helm-controller still calls
/// `flowcontrol.apiserver.k8s.io/v1beta3`, which 1.32 removes; a passing 1.31 insight.
fn prod_with_insight() -> Eks {
    let mut eks = prod();
    eks.support_type = Some("EXTENDED".into());
    eks.insights = vec![
        Insight {
            id: "a1b2c3d4-deprecated-1-32".into(),
            name: "Deprecated APIs removed in Kubernetes v1.32".into(),
            kubernetes_version: "1.32".into(),
            status: "ERROR".into(),
            reason: "Deprecated API usage detected within last 30 days.".into(),
            deprecations: vec![Deprecation {
                usage: "/apis/flowcontrol.apiserver.k8s.io/v1beta3/flowschemas".into(),
                replaced_with: "/apis/flowcontrol.apiserver.k8s.io/v1/flowschemas".into(),
                stop_serving_version: "1.32".into(),
                start_serving_replacement_version: "1.29".into(),
                clients: vec![
                    ClientStat {
                        user_agent: "helm-controller/v0.37.4".into(),
                        requests: 4_312,
                        last_request: 1_764_547_200,
                    },
                    ClientStat {
                        user_agent: "kubectl/v1.28.4 (linux/amd64) kubernetes/bae2c62".into(),
                        requests: 3,
                        last_request: 1_764_201_600,
                    },
                ],
            }],
        },
        Insight {
            id: "e5f6a7b8-kubelet-skew".into(),
            name: "Kubelet version skew".into(),
            kubernetes_version: "1.31".into(),
            status: "PASSING".into(),
            reason: "No kubelet version skew issues detected.".into(),
            deprecations: Vec::new(),
        },
    ];
    // Two pages of insights: the token travels in the request body.
    eks.page_size = 1;
    eks
}

#[test]
fn health_issues_and_insights_are_hlt003_findings() {
    let mut eks = prod_with_insight();
    eks.cluster_health = vec![issue(
        "IamRoleNotFound",
        "The cluster role arn:aws:iam::111122223333:role/eks-prod was not found.",
        "arn:aws:iam::111122223333:role/eks-prod",
    )];
    eks.nodegroup_health.insert(
        "general".into(),
        vec![issue(
            "AsgInstanceLaunchFailures",
            "Could not launch On-Demand Instances. InsufficientInstanceCapacity.",
            "eks-general-1234",
        )],
    );
    eks.addon_health.insert(
        "coredns".into(),
        vec![issue(
            "ConfigurationConflict",
            "Conflicts found when trying to apply. Will not continue due to resolve conflicts mode.",
            "coredns",
        )],
    );
    let (r, report) = cluster_selected(eks, Some("eu-west-1"), "HLT003", &["prod"]);
    assert_eq!(r.code, 3, "{}", r.transcript());
    assert_eq!(
        findings(&report),
        [
            "HLT003 blocker EKS add-on coredns @-",
            "HLT003 blocker EKS cluster prod @-",
            "HLT003 blocker EKS upgrade insight Deprecated APIs removed in Kubernetes v1.32 @1.32",
            "HLT003 warning EKS node group general @-",
        ]
    );
    // The insight's clients are in the cluster section, judged at the target.
    let clients = &report["cluster"]["provider_api_clients"];
    assert_eq!(clients.as_array().unwrap().len(), 2, "{clients}");
    assert_eq!(clients[0]["user_agent"], "helm-controller/v0.37.4");
    assert_eq!(clients[0]["requests_last_30_days"], 4312);
    assert_eq!(clients[0]["last_request_time"], "2025-12-01T00:00:00Z");
    assert_eq!(clients[0]["status"], "removed");
    assert!(not_run(&report).is_empty(), "{:?}", not_run(&report));
}

#[test]
fn cluster_text_names_the_clients_the_insight_saw() {
    let r = run(
        prod_with_insight(),
        Some("eu-west-1"),
        &[
            "cluster",
            "--no-helm",
            "--current",
            "1.30",
            "-t",
            "1.33",
            "--select",
            "HLT003",
            "--provider",
            "eks",
            "--provider-cluster",
            "prod",
        ],
    );
    let title = "Deprecated APIs clients still call (EKS upgrade insights, last 30 days)";
    let section: Vec<&str> = r
        .stdout
        .lines()
        .skip_while(|l| !l.contains(title))
        .take_while(|l| !l.trim().is_empty())
        .collect();
    assert!(!section.is_empty(), "{}", r.transcript());
    insta::assert_snapshot!(section.join("\n"));
}

#[test]
fn a_denied_list_insights_is_hlt003_not_run_and_an_error() {
    let mut eks = prod_with_insight();
    eks.denied.insert("/clusters/prod/insights".into());
    let (r, report) = cluster_selected(eks, Some("eu-west-1"), "HLT003,NODE003", &["prod"]);
    assert_eq!(r.code, 1, "{}", r.transcript());
    assert_eq!(not_run(&report), ["HLT003: needs eks:ListInsights"]);
    let errors = report["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0]["kind"], "forbidden");
    assert!(
        errors[0]["message"]
            .as_str()
            .unwrap()
            .starts_with("not checked: needs eks:ListInsights"),
        "{errors:?}"
    );
    // The other provider checks still ran on what was read.
    assert!(
        findings(&report).contains(&"NODE003 blocker EKS node group general @1.33".to_owned()),
        "{:?}",
        findings(&report)
    );
}

#[test]
fn bad_credentials_are_one_clear_error_and_kubernetes_findings_stay() {
    let mut eks = prod();
    eks.bad_credentials = true;
    let (r, report) = cluster(eks, Some("eu-west-1"), &["prod"]);
    assert_eq!(r.code, 1, "{}", r.transcript());
    let errors = report["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0]["kind"], "forbidden");
    let message = errors[0]["message"].as_str().unwrap();
    assert!(
        message.contains("the AWS credentials were rejected by eks:DescribeCluster")
            && message.contains("UnrecognizedClientException"),
        "{message}"
    );
    assert!(!report["findings"].as_array().unwrap().is_empty());
    assert_eq!(not_run(&report).len(), 3, "{:?}", not_run(&report));
}

#[test]
fn support_window_on_eks_reads_the_eks_calendar() {
    // 2026-12-01: 1.30 left EKS extended support on 2026-07-23; 1.33 is in extended support
    // since 2026-07-29.
    let (_, report) = cluster_selected(prod(), Some("eu-west-1"), "PATH003", &["prod"]);
    let got: Vec<String> = report["readiness"]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            format!(
                "{} {}",
                f["severity"].as_str().unwrap(),
                f["message"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            "warning the running version 1.30 reached the end of EKS extended support on 2026-07-23: EKS upgrades such control planes to the next minor on its own, at a time it does not announce",
            "warning the target version 1.33 is in EKS extended support since 2026-07-29 (billed extra per cluster hour) until 2027-07-29, when EKS upgrades it on its own; pick a newer target",
        ]
    );
}

/// Issue 20's acceptance: a 1.30 EKS cluster with two managed node groups (one AL2), VPC CNI,
/// kube-proxy and `CoreDNS`, and an open deprecated-API insight, planned to 1.33.
#[test]
fn plan_to_1_33_names_addon_versions_the_al2_blocker_and_the_insight_client() {
    let r = run_scenario(
        prod_with_insight(),
        None,
        true,
        eks_1_30(),
        &["plan", "-t", "1.33", "--provider", "eks", "-o", "markdown"],
    );
    let text = &r.stdout;
    // The hop the insight blocks names its client.
    let hop_32 = text
        .split("### Hop 2: 1.31 → 1.32")
        .nth(1)
        .and_then(|t| t.split("### Hop 3").next())
        .unwrap_or_else(|| panic!("{}", r.transcript()));
    assert!(
        hop_32.contains("Find and fix the client: helm-controller/v0.37.4 called /apis/flowcontrol.apiserver.k8s.io/v1beta3/flowschemas 4312 times"),
        "{hop_32}"
    );
    assert!(
        hop_32.contains("[blocker] HLT003 EKS upgrade insight"),
        "{hop_32}"
    );
    let hop_33 = text.split("### Hop 3: 1.32 → 1.33").nth(1).unwrap();
    assert!(
        hop_33.contains("[blocker] NODE003 EKS node group general"),
        "{hop_33}"
    );
    assert!(
        hop_33.contains("--addon-name vpc-cni --addon-version v1.19.5-eksbuild.3"),
        "{hop_33}"
    );
    let port = text.split("127.0.0.1:").nth(1).map(|t| {
        t.chars()
            .take_while(char::is_ascii_digit)
            .collect::<String>()
    });
    let mut shown = r.stdout.clone();
    if let Some(port) = port.filter(|p| !p.is_empty()) {
        shown = shown.replace(&port, "PORT");
    }
    insta::assert_snapshot!(shown);
}
