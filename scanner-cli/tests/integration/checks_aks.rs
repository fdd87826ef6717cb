//! The AKS provider layer end to end: `upcheck cluster` and `upcheck plan` against the recorded
//! Kubernetes server plus Azure Resource Manager on 127.0.0.1 (the tests' loopback server),
//! read by the real reqwest client with a fixed bearer token (`UPCHECK_AZURE_TOKEN`). The
//! Azure environment of the test process is never passed on.
#![allow(clippy::unwrap_used)] // tests fail loudly on purpose

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;
use upcheck_test_server::aks::{Aks, Pool};
use upcheck_test_server::{Scenario, Server};

use crate::common::readiness::fixture;
use crate::common::{RETRY_BACKOFF_MS, Run, empty_cache, workspace};

/// Every variable `azure_identity`'s credentials and upcheck's AKS reader read.
const AZURE_ENV: &[&str] = &[
    "AZURE_SUBSCRIPTION_ID",
    "AZURE_TENANT_ID",
    "AZURE_CLIENT_ID",
    "AZURE_CLIENT_SECRET",
    "AZURE_FEDERATED_TOKEN_FILE",
    "AZURE_AUTHORITY_HOST",
    "UPCHECK_AZURE_ENDPOINT",
    "UPCHECK_AZURE_TOKEN",
];

const SUBSCRIPTION: &str = "11111111-2222-3333-4444-555555555555";
const TOKEN: &str = "arm-test-token";

fn pool(name: &str, mode: &str, sku: &str, version: &str, image: &str, count: u32) -> Pool {
    Pool {
        name: name.into(),
        mode: mode.into(),
        os_type: if sku.starts_with("Windows") {
            "Windows".into()
        } else {
            "Linux".into()
        },
        os_sku: sku.into(),
        version: version.into(),
        current_version: version.into(),
        node_image: image.into(),
        count,
        ..Pool::default()
    }
}

/// An AKS cluster at 1.30.7 with two pools: `system` (Ubuntu, 33% surge, 45-minute drain
/// timeout, Cordon) at 1.30.7 and `win19` (Windows Server 2019, AKS's defaults) at 1.29.9.
/// AKS offers 1.31.2 and 1.31.5 (and 1.32.0 as a preview is not offered from 1.30).
fn prod() -> Aks {
    let mut system = pool(
        "system",
        "System",
        "Ubuntu",
        "1.30.7",
        "AKSUbuntu-2204gen2containerd-202501.12.0",
        3,
    );
    system.max_surge = Some("33%".into());
    system.drain_timeout = Some(45);
    system.undrainable = Some("Cordon".into());
    system.upgrades = vec![("1.30.12".into(), false)];
    let mut win = pool(
        "win19",
        "User",
        "Windows2019",
        "1.29.9",
        "AKSWindows-2019-containerd-17763.6775.250117",
        2,
    );
    win.upgrades = vec![("1.30.7".into(), false)];
    Aks {
        subscription: SUBSCRIPTION.into(),
        resource_group: "rg-prod".into(),
        cluster: "prod".into(),
        version: "1.30".into(),
        current_version: "1.30.7".into(),
        support_plan: "KubernetesOfficial".into(),
        pools: vec![system, win],
        upgrades: vec![
            ("1.30.12".into(), false),
            ("1.31.2".into(), false),
            ("1.31.5".into(), false),
        ],
        // One pool per page: the second comes through nextLink.
        page_size: 1,
        token: TOKEN.into(),
        ..Aks::default()
    }
}

/// A kubeconfig for `kube` whose user gets its token from a `kubelogin` exec plugin (a script
/// in `dir` standing in for it), as `az aks get-credentials` writes it for Entra ID clusters.
fn aks_kubeconfig(kube: &Server, dir: &Path) -> PathBuf {
    let kubelogin = dir.join("kubelogin");
    std::fs::write(
        &kubelogin,
        "#!/bin/sh\necho '{\"apiVersion\":\"client.authentication.k8s.io/v1beta1\",\"kind\":\"ExecCredential\",\"status\":{\"token\":\"admin-token\"}}'\n",
    )
    .unwrap();
    std::fs::set_permissions(
        &kubelogin,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let text = format!(
        "apiVersion: v1
kind: Config
clusters:
- name: prod
  cluster: {{server: '{}'}}
contexts:
- name: prod
  context: {{cluster: prod, user: clusterUser_rg-prod_prod}}
current-context: prod
users:
- name: clusterUser_rg-prod_prod
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1beta1
      command: {}
      args: [get-token, --login, azurecli, --server-id, 6dae42f8-4368-4678-94ff-3960e28e3630]
      interactiveMode: Never
",
        kube.url(),
        kubelogin.display()
    );
    let path = dir.join("kubeconfig");
    std::fs::write(&path, text).unwrap();
    path
}

/// Runs upcheck against the recorded Kubernetes server and `aks`, with the ARM endpoint and
/// token in the environment; `kubelogin` writes the kubeconfig an AKS user has, else a plain
/// token one.
fn run_on(aks: &Server, kubelogin: bool, args: &[&str]) -> Run {
    run_recorded(&fixture(), aks, kubelogin, args)
}

/// [`run_on`] with the Kubernetes side recorded in `recording`.
fn run_recorded(recording: &Path, aks: &Server, kubelogin: bool, args: &[&str]) -> Run {
    let kube = Server::recorded(recording, Scenario::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = if kubelogin {
        aks_kubeconfig(&kube, dir.path())
    } else {
        kube.kubeconfig(dir.path()).unwrap()
    };
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_upcheck"));
    for k in AZURE_ENV {
        cmd.env_remove(k);
    }
    cmd.args(args)
        .args(["--kubeconfig", kubeconfig.to_str().unwrap()])
        .current_dir(workspace())
        .env_remove("NO_COLOR")
        .env_remove("UPCHECK_LOG")
        .env("COLUMNS", "80")
        .env("UPCHECK_CACHE_DIR", empty_cache())
        .env("UPCHECK_RETRY_BACKOFF_MS", RETRY_BACKOFF_MS.to_string())
        .env("UPCHECK_TODAY", "2026-12-01")
        .env("UPCHECK_AZURE_ENDPOINT", aks.url())
        .env("UPCHECK_AZURE_TOKEN", TOKEN)
        .stdin(Stdio::null());
    let out = cmd.output().unwrap();
    Run {
        code: out.status.code().unwrap(),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

/// `upcheck cluster -o json` from 1.30 to `target` with the AKS checks and `extra` provider
/// arguments.
fn cluster(aks: Aks, target: &str, extra: &[&str]) -> (Run, Value, Server) {
    let server = Server::aks(aks, Scenario::default()).unwrap();
    let mut args = vec![
        "cluster",
        "--no-helm",
        "-o",
        "json",
        "--current",
        "1.30",
        "-t",
        target,
        "--select",
        "NODE003,PATH001,SKEW002",
        "--provider",
        "aks",
    ];
    args.extend_from_slice(extra);
    let r = run_on(&server, false, &args);
    let report =
        serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("{e}\n{}", r.transcript()));
    (r, report, server)
}

const NAMES: &[&str] = &[
    "--provider-cluster",
    "prod",
    "--resource-group",
    "rg-prod",
    "--subscription",
    SUBSCRIPTION,
];

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
fn aks_cluster_to_1_33_reports_lagging_and_retired_pools() {
    let (r, report, server) = cluster(prod(), "1.33", NAMES);
    // The recorded Kubernetes side uses APIs removed by 1.33: exit code 3 comes before 5.
    assert_eq!(r.code, 3, "{}", r.transcript());
    // system is at the control plane's 1.30: it must move before 1.33 too.
    assert_eq!(
        findings(&report),
        [
            "NODE003 blocker AKS node pool win19 @1.33",
            "SKEW002 blocker AKS node pool win19 @1.32",
            "SKEW002 blocker AKS node pool system @1.33",
            "PATH001 info cluster @-",
        ]
    );
    assert!(
        r.stdout.contains("Windows2022 (up to 1.36) or Windows2025"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("az aks nodepool upgrade --resource-group rg-prod --cluster-name prod --name win19 --kubernetes-version 1.30"),
        "{}",
        r.stdout
    );
    assert!(not_run(&report).is_empty(), "{:?}", not_run(&report));
    assert!(report["errors"].as_array().unwrap().is_empty());
    // The pools came in two pages, the second through nextLink; every read had the api-version.
    let requests = server.requests();
    assert_eq!(
        requests
            .iter()
            .filter(|r| r.contains("/agentPools?"))
            .count(),
        2,
        "{requests:?}"
    );
    assert!(
        requests
            .iter()
            .all(|r| r.contains("api-version=2025-01-01"))
    );
}

#[test]
fn aks_cluster_ready_for_its_next_minor_has_no_provider_findings() {
    let mut aks = prod();
    aks.pools.truncate(1);
    let (r, report, _) = cluster(aks, "1.31", NAMES);
    assert_eq!(r.code, 3, "removed APIs only: {}", r.transcript());
    assert!(findings(&report).is_empty(), "{:?}", findings(&report));
    assert_eq!(report["readiness"]["ran"].as_array().unwrap().len(), 3);
}

#[test]
fn a_next_minor_aks_does_not_offer_blocks_the_first_hop() {
    let mut aks = prod();
    aks.pools.truncate(1);
    aks.upgrades = vec![("1.30.12".into(), false), ("1.31.1".into(), true)];
    let (r, report, _) = cluster(aks, "1.31", NAMES);
    assert_eq!(
        findings(&report),
        ["PATH001 blocker AKS cluster prod @1.31"]
    );
    assert!(
        r.stdout.contains("AKS offers 1.31 from 1.30.7 only as a preview (upgradeProfiles/default offers: 1.30.12, 1.31.1 (preview))"),
        "{}",
        r.stdout
    );
}

#[test]
fn a_denied_aks_read_is_not_run_and_an_error() {
    let mut aks = prod();
    aks.denied.insert("/managedClusters/prod/agentPools".into());
    let (r, report, _) = cluster(aks, "1.33", NAMES);
    assert_eq!(r.code, 1, "{}", r.transcript());
    // PATH001 still ran on the upgrade profile.
    assert_eq!(findings(&report), ["PATH001 info cluster @-"]);
    assert_eq!(
        not_run(&report),
        [
            "NODE003: needs Microsoft.ContainerService/managedClusters/agentPools/read",
            "SKEW002: needs Microsoft.ContainerService/managedClusters/agentPools/read",
        ]
    );
    let errors = report["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0]["kind"], "forbidden");
    let message = errors[0]["message"].as_str().unwrap();
    assert!(
        message.starts_with("not checked: needs Microsoft.ContainerService/managedClusters/agentPools/read (AuthorizationFailed: The client 'upcheck@example.com'"),
        "{message}"
    );
}

#[test]
fn throttled_reads_are_retried_after_retry_after() {
    let mut aks = prod();
    aks.throttled.insert("/managedClusters/prod".into(), 1);
    let (r, report, server) = cluster(aks, "1.33", NAMES);
    assert_eq!(r.code, 3, "{}", r.transcript());
    assert!(report["errors"].as_array().unwrap().is_empty());
    let cluster_reads = server
        .requests()
        .iter()
        .filter(|r| {
            r.split('?')
                .next()
                .unwrap()
                .ends_with("/managedClusters/prod")
        })
        .count();
    assert_eq!(cluster_reads, 2);
    // Throttled past the attempts (--retries 0: one attempt): an unavailable error.
    let mut aks = prod();
    aks.throttled.insert("/managedClusters/prod".into(), 5);
    let mut args = NAMES.to_vec();
    args.extend(["--retries", "0"]);
    let (r, report, _) = cluster(aks, "1.33", &args);
    assert_eq!(r.code, 1, "{}", r.transcript());
    let errors = report["errors"].as_array().unwrap();
    assert!(
        errors.iter().any(|e| e["kind"] == "unavailable"
            && e["path"]
                .as_str()
                .unwrap_or_default()
                .starts_with("aks cluster prod")),
        "{errors:?}"
    );
    assert_eq!(not_run(&report).len(), 3, "{:?}", not_run(&report));
}

#[test]
fn unknown_cluster_bad_token_and_missing_names_are_one_clear_error() {
    let cases: [(&[&str], &str); 3] = [
        (
            &[
                "--provider-cluster",
                "staging",
                "--resource-group",
                "rg-prod",
                "--subscription",
                SUBSCRIPTION,
            ],
            "AKS cluster \"staging\" not found in resource group \"rg-prod\"",
        ),
        (
            &["--provider-cluster", "prod", "--subscription", SUBSCRIPTION],
            "AKS: missing the resource group (--resource-group RG)",
        ),
        (
            &["--provider-cluster", "prod", "--resource-group", "rg-prod"],
            "AKS: missing the subscription (--subscription ID or AZURE_SUBSCRIPTION_ID)",
        ),
    ];
    for (extra, says) in cases {
        let (r, report, _) = cluster(prod(), "1.33", extra);
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
    // A token ARM rejects: 401, the reads are not run and say which action they needed.
    let mut aks = prod();
    aks.token = "another-token".into();
    let (r, report, _) = cluster(aks, "1.33", NAMES);
    assert_eq!(r.code, 1, "{}", r.transcript());
    assert_eq!(report["errors"][0]["kind"], "forbidden");
    assert!(
        report["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("InvalidAuthenticationToken"),
        "{}",
        report["errors"]
    );
}

#[test]
fn told_from_the_kubeconfig_kubelogin_plugin() {
    let server = Server::aks(prod(), Scenario::default()).unwrap();
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
        "NODE003",
    ];
    args.extend_from_slice(NAMES);
    // No --provider: the kubelogin exec plugin says AKS.
    let r = run_on(&server, true, &args);
    let report: Value =
        serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("{e}\n{}", r.transcript()));
    assert_eq!(
        findings(&report),
        ["NODE003 blocker AKS node pool win19 @1.33"]
    );
    // --no-provider turns it off: ARM is not called and the check finds nothing.
    let quiet = Server::aks(prod(), Scenario::default()).unwrap();
    let r = run_on(
        &quiet,
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
    assert!(findings(&report).is_empty(), "{}", r.stdout);
    assert!(quiet.requests().is_empty());
}

#[test]
fn plan_names_the_pools_their_surge_and_drain_and_the_commands() {
    // The recorded 1.34 cluster, on AKS at 1.34.2: a system pool with its own surge and drain
    // settings, and a Windows Server 2022 pool at 1.33 on AKS's defaults, to 1.35.
    let mut aks = prod();
    aks.version = "1.34".into();
    aks.current_version = "1.34.2".into();
    aks.upgrades = vec![
        ("1.34.5".into(), false),
        ("1.35.1".into(), false),
        ("1.35.3".into(), false),
    ];
    aks.pools[0].version = "1.34.2".into();
    aks.pools[0].current_version = "1.34.2".into();
    aks.pools[1] = pool(
        "win22",
        "User",
        "Windows2022",
        "1.33.5",
        "AKSWindows-2022-containerd-20348.3091.250117",
        2,
    );
    let server = Server::aks(aks, Scenario::default()).unwrap();
    let mut args = vec!["plan", "-t", "1.35", "--provider", "aks", "-o", "markdown"];
    args.extend_from_slice(NAMES);
    let r = run_recorded(
        &workspace().join("fixtures/cluster/v1.34"),
        &server,
        true,
        &args,
    );
    for line in [
        "`az aks upgrade --resource-group rg-prod --name prod --kubernetes-version 1.35.3 --control-plane-only`",
        "Node pool system (System, 3 nodes; maxSurge 33%, drain timeout 45 min; undrainableNodeBehavior Cordon): `az aks nodepool upgrade --resource-group rg-prod --cluster-name prod --name system --kubernetes-version 1.35.3`",
        "Node pool win22 (User, 2 nodes; maxSurge AKS default (10% on new pools, 1 on older ones), drain timeout 30 min (AKS's default))",
    ] {
        assert!(r.stdout.contains(line), "{line}\n{}", r.transcript());
    }
    // Windows Server 2022 runs up to 1.36 (AKS extended it in 2026): no blocker at 1.35.
    assert!(
        !r.stdout.contains("NODE003 AKS node pool win22"),
        "{}",
        r.transcript()
    );
    insta::assert_snapshot!(r.transcript().replace(&server.url(), "ARM"));
}

#[test]
fn rbac_azure_prints_the_read_only_role() {
    let r = crate::common::upcheck(&["cluster", "--rbac", "--azure"]);
    assert_eq!(r.code, 0, "{}", r.transcript());
    insta::assert_snapshot!(r.stdout);
}
