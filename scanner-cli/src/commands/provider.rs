//! `--provider`, `--provider-cluster`, `--region`, `--resource-group`, `--subscription`,
//! `--no-provider` and `--rbac --iam`: which provider API `upcheck cluster` reads, told from the
//! arguments or the kubeconfig.

use std::time::Duration;

use anyhow::Result;
use scanner_core::KubeVersion;
use scanner_core::checks::{self, Selection};
use scanner_core::live;
use scanner_core::provider::aks::AksSettings;
use scanner_core::provider::{ContextAuth, detect_aks, detect_eks, eks::EksSettings};

use crate::args::{ConnectionArgs, ProviderApi, ProviderArgs};

/// Where Azure Resource Manager is, instead of the public cloud's (sovereign clouds, tests).
const ARM_ENDPOINT_ENV: &str = "UPCHECK_AZURE_ENDPOINT";
/// A bearer token for Azure Resource Manager to use instead of `azure_identity`'s credentials
/// (`az account get-access-token --query accessToken -o tsv`; tests).
const ARM_TOKEN_ENV: &str = "UPCHECK_AZURE_TOKEN";

/// The kubeconfig context's auth, when one context is chosen (or the current one).
fn context_auth(connection: &ConnectionArgs) -> Option<ContextAuth> {
    let context = match connection.context.as_slice() {
        [one] => Some(one.as_str()),
        _ => None,
    };
    // A kubeconfig that cannot be read fails the Kubernetes scan with its own error.
    live::kubeconfig_auth(connection.kubeconfig.as_deref(), context)
        .ok()
        .flatten()
}

/// The AKS read to make before the scan, or `None`: turned off, no readiness checks (no
/// target), EKS asked for, or neither asked for nor an AKS cluster by its kubeconfig.
pub fn aks_settings(
    args: Option<&ProviderArgs>,
    connection: &ConnectionArgs,
    target: Option<KubeVersion>,
) -> Option<AksSettings> {
    let args = args.filter(|a| !a.no_provider)?;
    let target = target?;
    let detected = match args.provider {
        Some(ProviderApi::Eks) => return None,
        Some(ProviderApi::Aks) => context_auth(connection)
            .and_then(|a| detect_aks(&a))
            .unwrap_or_default(),
        None => context_auth(connection).and_then(|a| detect_aks(&a))?,
    };
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let subscription = args
        .subscription
        .clone()
        .or(detected.subscription)
        .or_else(|| env("AZURE_SUBSCRIPTION_ID"));
    let timeout = Duration::from_secs(connection.timeout.max(1));
    let mut settings = AksSettings::new(
        args.provider_cluster.clone().or(detected.cluster),
        args.resource_group.clone().or(detected.resource_group),
        subscription,
        target,
    )
    .requests(
        connection.retries.saturating_add(1),
        Duration::from_secs(1),
        timeout,
    );
    if let Some(endpoint) = env(ARM_ENDPOINT_ENV) {
        settings = settings.endpoint(endpoint);
    }
    if let Some(token) = env(ARM_TOKEN_ENV) {
        settings = settings.token(token);
    }
    Some(settings)
}

/// The EKS read to make before the scan, or `None`: turned off, no readiness checks (no
/// target), or neither asked for nor an EKS cluster by its kubeconfig.
pub fn eks_settings(
    args: Option<&ProviderArgs>,
    connection: &ConnectionArgs,
    target: Option<KubeVersion>,
) -> Option<EksSettings> {
    read_settings(args, connection, target?)
}

/// The EKS read for `upcheck snapshot save`: node groups and add-ons as they are. A snapshot
/// plans no upgrade, so no later minor's add-on versions are read (a target below every
/// cluster's version has no hops).
pub fn snapshot_eks_settings(
    args: &ProviderArgs,
    connection: &ConnectionArgs,
) -> Option<EksSettings> {
    read_settings(Some(args), connection, KubeVersion::new(1, 0))
}

fn read_settings(
    args: Option<&ProviderArgs>,
    connection: &ConnectionArgs,
    target: KubeVersion,
) -> Option<EksSettings> {
    let args = args.filter(|a| !a.no_provider)?;
    let auth = context_auth(connection);
    // AKS asked for, or an AKS kubeconfig with no provider named: the AKS reader's.
    if args.provider == Some(ProviderApi::Aks)
        || (args.provider.is_none() && auth.as_ref().and_then(detect_aks).is_some())
    {
        return None;
    }
    let detected = auth.and_then(|auth| detect_eks(&auth));
    if args.provider.is_none() && args.provider_cluster.is_none() && detected.is_none() {
        return None;
    }
    let detected = detected.unwrap_or_default();
    let timeout = Duration::from_secs(connection.timeout.max(1));
    Some(
        EksSettings::new(
            args.provider_cluster.clone().or(detected.cluster),
            args.region.clone().or(detected.region),
            target,
        )
        .profile(detected.profile)
        .requests(
            connection.retries.saturating_add(1),
            Duration::from_secs(1),
            timeout,
        ),
    )
}

/// The IAM policy (JSON) that lets the selected checks read EKS: read-only actions only.
pub fn iam_policy(selection: &Selection) -> Result<String> {
    let actions: Vec<&str> = checks::eks_calls(selection)
        .into_iter()
        .map(scanner_core::provider::EksCall::action)
        .collect();
    let policy = serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "UpcheckEksRead",
            "Effect": "Allow",
            "Action": actions,
            "Resource": "*"
        }]
    });
    Ok(serde_json::to_string_pretty(&policy)? + "\n")
}

/// The Azure role (JSON, a custom role definition) that lets the AKS reads run: read-only
/// actions only. `SUBSCRIPTION_ID` is left for the user to scope.
pub fn azure_role() -> Result<String> {
    let actions: Vec<&str> = checks::aks_calls()
        .into_iter()
        .map(scanner_core::provider::AksCall::action)
        .collect();
    let role = serde_json::json!({
        "Name": "upcheck AKS reader",
        "IsCustom": true,
        "Description": "Read-only access upcheck needs to read an AKS cluster, its agent pools and their upgrade profiles.",
        "Actions": actions,
        "NotActions": [],
        "AssignableScopes": ["/subscriptions/SUBSCRIPTION_ID"]
    });
    Ok(serde_json::to_string_pretty(&role)? + "\n")
}
